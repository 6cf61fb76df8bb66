#include "node/sync.h"

#include <algorithm>
#include <deque>
#include <map>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "crdt/hash.h"
#include "crdt/id_set.h"
#include "crdt/limits.h"
#include "net/frame.h"
#include "net/reconcile.h"
#include "node/home.h"

namespace anwang::node {

namespace {

enum Message : std::uint8_t {
  kReconcile = 1, kOps = 2, kNeed = 3, kReconciled = 4, kDone = 5, kReconcilePart = 6,
  kCommitted = 7,  // a batch was committed: keeps a long transfer from looking like a silent peer
  kBlobWant = 8,   // hash, offset: send this blob from this byte
  kBlobData = 9,   // hash, offset, bytes (one chunk)
  kBlobNone = 10,  // hash: not held here (or not yours to see)
  kNotOps = 11,    // (kind, id) pairs: a blob to fetch with kBlobWant, or an id not held here
  // Version 3 (net/PROTOCOL.md):
  kHello = 12,     // the sender's first message: its trusted time (u64), the keys it asks about
                   // (u8 count, 32 bytes each) and, from the initiator, its first reconciliation message
  kKeyHeads = 13,  // for each key asked: key, seq, hlc, id (80 bytes; hlc and id zero when not shared)
  kRefused = 14,   // the sender refuses or ends the session: why, one sentence (UTF-8)
};

// A kKeyHeads entry: key (32) ‖ seq (8) ‖ hlc (8) ‖ id (32).
constexpr std::size_t kKeyHeadBytes = 80;

// In an `ops` message's count: more `ops` messages of this burst follow at once, so the
// receiver may gather them into one commit.
constexpr std::uint32_t kMoreOps = 0x8000'0000;

// kNotOps entry kinds.
constexpr std::uint8_t kOfferBlob = 1;  // a whole attachment the receiver lacks and may fetch
constexpr std::uint8_t kNotHeld = 2;    // asked for, but not held (or not the asker's to see)

// A need names each id by its first 8 bytes (a quarter of the id; among the items of one
// session a collision is harmless: both ops are sent).
constexpr std::size_t kNeedPrefixBytes = 8;

// Attachments take part in reconciliation as items with this timestamp (no op has it: op
// timestamps are bounded far below), the blob's hash as the id: held blobs that differ show up
// as differences, and blobs neither side holds cost nothing.
constexpr std::uint64_t kBlobItemTime = ~std::uint64_t{0};

// A reconciliation message larger than a frame travels in parts (kReconcilePart …, kReconcile).
constexpr std::size_t kReconcilePartBytes = limits::op_bytes_max - 64;

// Frames over a transport, counting bytes.
class Framed {
 public:
  explicit Framed(Transport& transport, SyncReport& report) : transport_(transport), report_(report) {}
  Status send(ByteView body) {
    Bytes frame;
    net::append_frame(frame, body);
    report_.bytes_sent += frame.size();
    return transport_.write(frame);
  }
  // Frames declared longer than this fail the session (small until the peer is authenticated).
  void set_frame_bytes_max(std::size_t frame_bytes_max) { decoder_.set_frame_bytes_max(frame_bytes_max); }
  Result<Bytes> receive() {
    while (true) {
      if (auto frame = decoder_.next()) {
        delivered_bytes_ += frame->size() + 4;
        return std::move(*frame);
      }
      if (decoder_.failed()) return decoder_.feed({});  // the next frame was declared over the cap
      auto bytes = transport_.read_some();
      if (!bytes) return bytes.status();
      report_.bytes_received += bytes->size();
      if (Status s = decoder_.feed(*bytes); !s) return s;
    }
  }

  // Bytes of the frames handed out so far (a read may bring more, not yet acted on).
  std::uint64_t delivered_bytes() const { return delivered_bytes_; }

 private:
  Transport& transport_;
  SyncReport& report_;
  net::FrameDecoder decoder_;
  std::uint64_t delivered_bytes_ = 0;
};

// Incidents first, then major hazards, then everything else (DESIGN §7).
int priority_of(const Op& op) {
  if (const auto* record = std::get_if<RecordPayload>(&op.fields.payload); record && record->kind == "incident") return 0;
  if (const auto* hazard = std::get_if<HazardPayload>(&op.fields.payload); hazard && hazard->severity == "major") return 1;
  return 2;
}

// The order ops are sent in: parents before children, so an honest peer's ops need not wait
// for parents. An op's parents are the heads of its own object and of the authority graph, so
// authority ops go first, then every object's ops together in time order, objects by the most
// urgent of their ops being sent.
void sort_for_sending(std::vector<std::shared_ptr<const Op>>& ops) {
  std::unordered_map<Hash32, int> object_priority;
  for (const auto& op : ops) {
    auto [at, fresh] = object_priority.try_emplace(op->fields.object, priority_of(*op));
    if (!fresh) at->second = std::min(at->second, priority_of(*op));
  }
  // Each op's sort key once.
  struct Key {
    int rank;
    std::uint64_t hlc;
    const Hash32* id;
    std::size_t index;
  };
  std::vector<Key> keys;
  keys.reserve(ops.size());
  for (std::size_t i = 0; i < ops.size(); ++i) {
    const Op& op = *ops[i];
    int rank = is_authority_payload(op.fields.payload) ? -1 : object_priority.at(op.fields.object);
    keys.push_back(Key{rank, op.fields.hlc, &op.id, i});
  }
  std::sort(keys.begin(), keys.end(), [](const Key& a, const Key& b) {
    return std::tie(a.rank, a.hlc, *a.id) < std::tie(b.rank, b.hlc, *b.id);
  });
  std::vector<std::shared_ptr<const Op>> sorted;
  sorted.reserve(ops.size());
  for (const Key& key : keys) sorted.push_back(std::move(ops[key.index]));
  ops.swap(sorted);
}

class Session {
 public:
  Session(Store& store, std::mutex* store_mutex, Framed& framed, net::ChannelSender& sender,
          net::ChannelReceiver& receiver, SyncReport& report, std::string my_scope,
          const std::function<void(const SyncReport&)>& progress, std::uint64_t blob_budget, std::uint8_t version,
          const PhysicalClock& clock, std::vector<PublicKey> keyring_keys, const SessionBudget& budget)
      : store_(store), store_mutex_(store_mutex), framed_(framed), sender_(sender), receiver_(receiver), report_(report),
        my_scope_(std::move(my_scope)), progress_(progress), version_(version), clock_(clock),
        keyring_keys_(std::move(keyring_keys)), blob_budget_(blob_budget), budget_(budget),
        started_ms_(clock.now_ms()) {
    keyring_whole_ = keyring_keys_.size() <= limits::key_heads_asked_max;
    if (!keyring_whole_) keyring_keys_.resize(limits::key_heads_asked_max);
  }

  Status run(SyncRole role) {
    // Version 3: the responder says hello first; the initiator's hello carries its first
    // reconciliation message (one frame, so the clock costs a d = 0 session 9 bytes, not a frame).
    if (version_ >= 3)
      if (Status s = prepare_hello(); !s) return s;
    if (version_ >= 3 && role == SyncRole::kResponder)
      if (Status s = send(kHello, hello_); !s) return s;
    std::vector<net::ItemKey> items;
    auto lock = lock_store();
    // From the store's indexes alone: no op is decoded to list what both may hold.
    Status s = store_.for_each_item([&](const Reach& reach, std::uint64_t hlc, const Hash32& id) {
      if (!visible_to(reach, report_.peer_scope) || !visible_to(reach, my_scope_)) return;
      items.push_back(net::item_key(hlc, id));
    });
    // Sized once: growing it op by op rehashed it a dozen times a session on a county node.
    visible_.reserve(items.size());
    for (const net::ItemKey& item : items) visible_.insert(net::item_id(item));
    if (s)
      s = store_.for_each_attachment_ref([&](const Hash32& blob, const Hash32& op, bool complete) {
        if (complete && visible_.contains(op) && visible_blobs_.insert(blob).second)
          items.push_back(net::item_key(kBlobItemTime, blob));
      });
    lock = {};
    if (!s) return s;
    net::sort_item_keys(items);  // the store lists in time order, or scope by scope (a large store)
    report_.items = items.size();
    reconciler_ = std::make_unique<net::Reconciler>(std::move(items), budget_.fetch_ids);
    if (role == SyncRole::kInitiator) {
      Bytes first = reconciler_->initiate();
      if (version_ >= 3 && hello_.size() + first.size() <= kReconcilePartBytes) {
        hello_.insert(hello_.end(), first.begin(), first.end());
        if (Status sent = send(kHello, hello_); !sent) return sent;
      } else {
        if (version_ >= 3)
          if (Status sent = send(kHello, hello_); !sent) return sent;
        if (Status sent = send_reconcile(first); !sent) return sent;
      }
    }
    while (!(done_sent_ && done_received_)) {
      auto frame = framed_.receive();
      if (!frame) return frame.status();
      if (Status within = check_budget(); !within) return within;
      auto plain = receiver_.open(*frame);
      if (!plain) return plain.status();
      if (plain->empty()) return Status::error(Status::Code::kRefused, "the peer sent an empty message");
      // Gathered ops are committed before anything else the peer says is acted on.
      if ((*plain)[0] != kOps)
        if (Status committed = commit_buffered(); !committed) return committed;
      if (Status handled = handle((*plain)[0], ByteView(*plain).subspan(1), role); !handled) return handled;
      if (reconciled_ && outstanding_.empty() && !blobs_requested_)
        if (Status asked = ask_again_for_deferred(); !asked) return asked;
      if (reconciled_ && outstanding_.empty() && !blobs_requested_)
        if (Status requested = request_blobs(); !requested) return requested;
      if (reconciled_ && outstanding_.empty() && blobs_requested_ && wanted_.empty() && !done_sent_) {
        if (Status sent = send(kDone, {}); !sent) return sent;
        done_sent_ = true;
      }
      if (progress_) progress_(report_);
    }
    report_.reconcile_rounds = reconciler_->rounds();
    return Status::ok();
  }

  // The budgets a peer can push this side past (bytes received, wall time): beyond one, what
  // arrived is committed and the session ends, saying which.
  Status check_budget() {
    // Counted by whole frames handed out: the frames before the one over the budget are acted on.
    if (framed_.delivered_bytes() > budget_.bytes_received)
      return over_budget(budget_.bytes_received % (1 << 20) == 0
                             ? std::to_string(budget_.bytes_received >> 20) + " MiB received from the peer"
                             : std::to_string(budget_.bytes_received) + " bytes received from the peer");
    // A wall clock set back mid-session counts as no time passed (the transport's deadline, on a
    // steady clock, still holds).
    const std::uint64_t now_ms = clock_.now_ms();
    if (now_ms > started_ms_ && now_ms - started_ms_ > budget_.ms)
      return over_budget(std::to_string(budget_.ms / 60'000) + " minutes");
    return Status::ok();
  }

  Status over_budget(const std::string& what) {
    if (Status committed = commit_buffered(); !committed) return committed;
    return Status::error(Status::Code::kRefused, "the session reached its limit of " + what +
                                                     ": what arrived is kept, and the next session goes on from there");
  }

  // This side left work for the next session to stay within its budget: said once, in the report.
  void note_budget(const std::string& what) {
    if (report_.budget_reached.empty()) report_.budget_reached = what;
  }

  // Version 3: tells the peer why this node refuses or ends the session, before it closes.
  void refuse(const std::string& sentence) { (void)send(kRefused, as_bytes(net::cut_sentence(sentence, limits::refusal_bytes_max))); }
  // Whether a failure is worth a refusal to the peer: not one the peer sent, nor a broken link.
  bool peer_may_hear(const Status& failure) const {
    return version_ >= 3 && !peer_refused_ && failure.code() != Status::Code::kUnavailable;
  }


  // Ends the session's claim on the pending area: its ops still waiting for parents are dropped
  // (the peer offers them again in a later session), and those their parents released since are
  // counted as received. Returns how many were dropped, with those set aside and not fetched again.
  Result<std::size_t> drop_orphans() {
    auto settled = settle_orphans();
    if (!settled) return settled.status();
    std::vector<Hash32> ids(orphans_.begin(), orphans_.end());
    auto lock = lock_store();
    auto dropped = store_.drop_pending(ids);
    if (!dropped) return dropped.status();
    orphans_.clear();
    std::size_t set_aside = deferred_.size();
    deferred_.clear();
    return *dropped + set_aside;
  }

 private:
  // Version 3: the hello's head, this node's trusted time and the keys of its keyring it asks the
  // peer about.
  Status prepare_hello() {
    auto lock = lock_store();
    auto state = store_.clock_state(clock_);
    lock = {};
    if (!state) return state.status();
    correction_ms_ = state->time.correction_ms;
    hello_.clear();
    append_u64_be(hello_, state->time.trusted_ms);
    hello_.push_back(static_cast<std::uint8_t>(keyring_keys_.size()));
    for (const PublicKey& key : keyring_keys_) hello_.insert(hello_.end(), key.bytes.begin(), key.bytes.end());
    return Status::ok();
  }

  // The peer's hello: its time (its offset from this node's clock is kept: Store::record_peer_clock),
  // the keys it asks about (answered), and from the initiator its first reconciliation message.
  Status receive_hello(ByteView body, SyncRole role) {
    if (body.size() < 9 || hello_received_) return Status::error(Status::Code::kRefused, "malformed hello");
    hello_received_ = true;
    std::uint64_t peer_ms = read_u64_be(body.data());
    std::size_t asked = body[8];
    if (asked > limits::key_heads_asked_max || body.size() < 9 + 32 * asked)
      return Status::error(Status::Code::kRefused, "malformed hello");
    std::uint64_t local_ms = clock_.now_ms();
    report_.peer_clock_offset_ms = static_cast<std::int64_t>(peer_ms - local_ms);
    {
      // Bookkeeping: a store too full to keep it still serves the session.
      auto lock = lock_store();
      if (Status s = store_.record_peer_clock(report_.peer, peer_ms, local_ms); !s && s.code() != Status::Code::kStoreFull)
        return s;
    }
    if (asked > 0)
      if (Status s = answer_key_heads(body.subspan(9, 32 * asked)); !s) return s;
    ByteView reconcile = body.subspan(9 + 32 * asked);
    if (reconcile.empty()) return Status::ok();
    if (role != SyncRole::kResponder) return Status::error(Status::Code::kRefused, "malformed hello");
    return handle(kReconcile, reconcile, role);
  }

  // The peer asks for this node's latest op by each of its keys: the number, and the op's id and
  // time only where the peer may hold the op.
  Status answer_key_heads(ByteView body) {
    std::vector<PublicKey> keys;
    for (std::size_t at = 0; at < body.size(); at += 32) keys.push_back(*Hash32::from_view(body.subspan(at, 32)));
    auto lock = lock_store();
    auto heads = store_.key_heads(keys, report_.peer_scope);
    lock = {};
    if (!heads) return heads.status();
    Bytes answer;
    for (const KeyHead& head : *heads) {
      answer.insert(answer.end(), head.key.bytes.begin(), head.key.bytes.end());
      append_u64_be(answer, head.seq);
      append_u64_be(answer, head.id ? head.hlc : 0);
      Hash32 id = head.id ? *head.id : Hash32{};
      answer.insert(answer.end(), id.bytes.begin(), id.bytes.end());
    }
    return send(kKeyHeads, answer);
  }

  // The peer's latest ops by this node's keyring keys: kept as known key heads (a key whose known
  // head is beyond what this store holds does not sign: Store::author).
  Status receive_key_heads(ByteView body) {
    if (body.size() % kKeyHeadBytes != 0) return Status::error(Status::Code::kRefused, "malformed key heads");
    std::vector<KeyHead> heads;
    for (std::size_t at = 0; at < body.size(); at += kKeyHeadBytes) {
      PublicKey key = *Hash32::from_view(body.subspan(at, 32));
      if (std::find(keyring_keys_.begin(), keyring_keys_.end(), key) == keyring_keys_.end()) continue;  // not asked
      answered_.insert(key);
      KeyHead head{key, read_u64_be(body.data() + at + 32), std::nullopt, read_u64_be(body.data() + at + 40)};
      Hash32 id = *Hash32::from_view(body.subspan(at + 48, 32));
      if (id != Hash32{}) head.id = id;
      if (head.seq > 0) heads.push_back(head);
    }
    report_.key_heads_noted += heads.size();
    for (const KeyHead& head : heads)
      if (head.id) claimed_.push_back(head);
    auto lock = lock_store();
    // A store too full to keep them still serves the session (and signs nothing meanwhile).
    Status noted = store_.note_key_heads(heads);
    return noted.code() == Status::Code::kStoreFull ? Status::ok() : noted;
  }

 public:
  // Whether the peer answered, in this session, for every key of this node's keyring (version 3;
  // a keyring longer than limits::key_heads_asked_max is never asked about whole).
  bool learnt_every_key_head() const {
    return version_ >= 3 && keyring_whole_ &&
           std::all_of(keyring_keys_.begin(), keyring_keys_.end(),
                       [this](const PublicKey& key) { return answered_.contains(key); });
  }

  // After a session that ran to its end: a head the peer named by id (so this node may hold that
  // op) was sent by an honest peer in the session. One this store still lacks was never the peer's
  // to name: forgotten, so a lying peer cannot stop a key from signing. (A head outside this node's
  // scope cannot be checked; it stands until the key's head is adopted.)
  Status forget_unfounded_heads() {
    if (claimed_.empty()) return Status::ok();
    auto lock = lock_store();
    for (const KeyHead& head : claimed_) {
      auto held = store_.get(*head.id);
      if (!held) return held.status();
      if (*held) continue;
      Status forgotten = store_.forget_key_head(head);
      if (!forgotten && forgotten.code() != Status::Code::kStoreFull) return forgotten;
      if (forgotten) ++report_.key_heads_unfounded;
    }
    return Status::ok();
  }

 private:

  // After a committed batch: ops stamped far ahead of this node's trusted time are counted by
  // author, and ops by keyring keys that wait for parents are known heads of those keys.
  Status note_stamps(const std::vector<IngestStamp>& stamps) {
    CorrectedClock trusted(clock_, correction_ms_);
    std::uint64_t ahead_after = hlc_from_ms(trusted.now_ms() + limits::clock_skew_ms_max) | 0xffff;
    std::vector<KeyHead> heads;
    for (const IngestStamp& stamp : stamps) {
      if (stamp.waiting && !stamp.held_back &&
          std::find(keyring_keys_.begin(), keyring_keys_.end(), stamp.author) != keyring_keys_.end())
        heads.push_back(KeyHead{stamp.author, stamp.author_seq, stamp.id, stamp.hlc});
      if (stamp.hlc <= ahead_after || !ahead_counted_.insert(stamp.id).second) continue;
      ++report_.ops_ahead;
      auto at = std::find_if(report_.ahead_authors.begin(), report_.ahead_authors.end(),
                             [&](const SyncReport::AheadAuthor& a) { return a.author == stamp.author; });
      if (at == report_.ahead_authors.end())
        at = report_.ahead_authors.insert(report_.ahead_authors.end(), SyncReport::AheadAuthor{stamp.author, 0, 0});
      ++at->ops;
      at->newest_hlc = std::max(at->newest_hlc, stamp.hlc);
    }
    if (heads.empty()) return Status::ok();
    auto lock = lock_store();
    Status noted = store_.note_key_heads(heads);
    return noted.code() == Status::Code::kStoreFull ? Status::ok() : noted;
  }

  // Held around every use of the store when sessions share it; never across network I/O.
  std::unique_lock<std::mutex> lock_store() const {
    return store_mutex_ != nullptr ? std::unique_lock<std::mutex>(*store_mutex_) : std::unique_lock<std::mutex>();
  }

  // Sends a reconciliation message, in parts when it is larger than a frame.
  Status send_reconcile(ByteView body) {
    while (body.size() > kReconcilePartBytes) {
      if (Status s = send(kReconcilePart, body.first(kReconcilePartBytes)); !s) return s;
      body = body.subspan(kReconcilePartBytes);
    }
    return send(kReconcile, body);
  }

  Status send(Message type, ByteView body) {
    Bytes plain(1 + body.size());
    plain[0] = type;
    std::copy(body.begin(), body.end(), plain.begin() + 1);
    return framed_.send(sender_.seal(plain));
  }

  Status handle(std::uint8_t type, ByteView body, SyncRole role) {
    if (version_ >= 3) {
      switch (type) {
        case kHello: return receive_hello(body, role);
        case kKeyHeads: return receive_key_heads(body);
        case kRefused:
          peer_refused_ = true;
          return Status::error(Status::Code::kRefused, "refused by the peer: " + net::refusal_sentence(body));
        default: break;
      }
    }
    switch (type) {
      case kReconcilePart:
        if (partial_.size() + body.size() > limits::reconcile_message_bytes_max)
          return Status::error(Status::Code::kRefused, "the peer's reconciliation message is too large");
        partial_.insert(partial_.end(), body.begin(), body.end());
        return Status::ok();
      case kReconcile: {
        Bytes whole;
        if (!partial_.empty()) {
          whole.swap(partial_);
          whole.insert(whole.end(), body.begin(), body.end());
          body = whole;
        }
        // The responder answers every reconciliation message, empty when all its ranges settled,
        // so the initiator always learns when it is finished.
        if (body.empty() && role == SyncRole::kInitiator) {
          reconciled_ = true;
          return send(kReconciled, {});
        }
        auto reply = reconciler_->on_message(body);
        if (!reply) return reply.status();
        if (reconciler_->fetch_budget_reached())
          note_budget("fetched its limit of " + std::to_string(budget_.fetch_ids) + " ids listed by the peer");
        if (Status s = flush_differences(); !s) return s;
        if (role == SyncRole::kResponder) return send_reconcile(*reply);
        if (!reply->empty()) return send_reconcile(*reply);
        reconciled_ = true;
        return send(kReconciled, {});
      }
      case kReconciled:
        reconciled_ = true;
        return Status::ok();
      case kNeed: return answer_need(body);
      case kOps: return receive_ops(body);
      case kDone:
        done_received_ = true;
        return Status::ok();
      case kCommitted:
        return Status::ok();
      case kBlobWant: return answer_blob(body);
      case kBlobData: return receive_blob(body);
      case kNotOps: return receive_not_ops(body);
      case kBlobNone:
        if (body.size() != 32) return Status::error(Status::Code::kRefused, "malformed blob reply");
        wanted_.erase(*Hash32::from_view(body));
        return Status::ok();
    }
    return Status::error(Status::Code::kRefused, "the peer sent an unknown message type " + std::to_string(type));
  }

  // After a reconciliation step: send what the peer lacks, ask for what this node lacks.
  Status flush_differences() {
    const auto& have = reconciler_->to_send();
    std::vector<Hash32> to_send(have.begin() + static_cast<std::ptrdiff_t>(sent_upto_), have.end());
    sent_upto_ = have.size();
    if (Status s = send_ops(to_send); !s) return s;
    if (Status s = send_offers(to_send); !s) return s;
    const auto& need = reconciler_->to_fetch();
    Bytes ids;
    for (std::size_t i = asked_upto_; i < need.size(); ++i) {
      ids.insert(ids.end(), need[i].bytes.begin(), need[i].bytes.begin() + kNeedPrefixBytes);
      outstanding_.insert(need[i]);
      if (ids.size() >= kNeedPrefixBytes * limits::ingest_batch_ops_max) {
        if (Status s = send(kNeed, ids); !s) return s;
        ids.clear();
      }
    }
    asked_upto_ = need.size();
    if (!ids.empty()) return send(kNeed, ids);
    return Status::ok();
  }

  // A need names ids by their first 8 bytes: every op or attachment both may hold that matches
  // is sent (a second match is a harmless extra), and a prefix matching nothing is answered
  // `not held` so the asker stops waiting.
  //
  // Bounded: one need names at most limits::ingest_batch_ops_max ids (as every release sends
  // them), a session at most budget_.need_ids; each id is answered once a session (a prefix asked
  // again is answered `not held`), and once this side has sent its budget of ops, the rest are
  // answered `not held` too (the peer finds them in its next session).
  Status answer_need(ByteView body) {
    if (body.size() % kNeedPrefixBytes != 0) return Status::error(Status::Code::kRefused, "malformed need list");
    const std::size_t asked = body.size() / kNeedPrefixBytes;
    if (asked > limits::ingest_batch_ops_max)
      return Status::error(Status::Code::kRefused, "the peer asked for more than " +
                                                       std::to_string(limits::ingest_batch_ops_max) + " ops in one need list");
    need_asked_ += asked;
    if (need_asked_ > budget_.need_ids)
      return over_budget(std::to_string(budget_.need_ids) + " ops asked for by the peer");
    if (by_prefix_.empty()) {
      by_prefix_.reserve(visible_.size() + visible_blobs_.size());
      visible_.for_each([&](const Hash32& id) { by_prefix_.emplace(prefix_of(id.bytes.data()), id); });
      for (const Hash32& id : visible_blobs_) by_prefix_.emplace(prefix_of(id.bytes.data()), id);
    }
    std::vector<Hash32> ids;
    Bytes not_held;
    auto answer_not_held = [&](std::uint64_t prefix) {
      Hash32 padded{};
      for (std::size_t i = 0; i < kNeedPrefixBytes; ++i)
        padded.bytes[i] = static_cast<std::uint8_t>(prefix >> (8 * (kNeedPrefixBytes - 1 - i)));
      add_not_ops_entry(not_held, kNotHeld, padded);
    };
    for (std::size_t at = 0; at < body.size(); at += kNeedPrefixBytes) {
      const std::uint64_t prefix = prefix_of(body.data() + at);
      auto [begin, end] = by_prefix_.equal_range(prefix);
      if (begin == end || !answered_prefixes_.insert(prefix).second) {
        answer_not_held(prefix);
        continue;
      }
      for (auto it = begin; it != end; ++it) ids.push_back(it->second);
    }
    std::vector<Hash32> left;  // beyond this side's budget of ops: for the next session
    if (Status s = send_ops(ids, &left); !s) return s;
    for (const Hash32& id : left) answer_not_held(prefix_of(id.bytes.data()));
    if (Status s = send_offers(ids); !s) return s;
    return send_not_ops(not_held);
  }

  static std::uint64_t prefix_of(const std::uint8_t* id) { return read_u64_be(id); }

  static void add_not_ops_entry(Bytes& entries, std::uint8_t kind, const Hash32& id) {
    entries.push_back(kind);
    entries.insert(entries.end(), id.bytes.begin(), id.bytes.end());
  }

  // Of `ids`, the attachments this node holds whole and the peer may fetch: offered to it.
  Status send_offers(const std::vector<Hash32>& ids) {
    Bytes entries;
    for (const Hash32& id : ids)
      if (visible_blobs_.count(id)) add_not_ops_entry(entries, kOfferBlob, id);
    return send_not_ops(entries);
  }

  // Sends `not ops` entries (33 bytes each) in messages under the frame cap.
  Status send_not_ops(ByteView entries) {
    constexpr std::size_t kPartBytes = (limits::op_bytes_max - 64) / 33 * 33;
    for (std::size_t at = 0; at < entries.size(); at += kPartBytes)
      if (Status s = send(kNotOps, entries.subspan(at, std::min(kPartBytes, entries.size() - at))); !s) return s;
    return Status::ok();
  }

  Status receive_not_ops(ByteView body) {
    if (body.size() % 33 != 0) return Status::error(Status::Code::kRefused, "malformed not-ops list");
    for (std::size_t at = 0; at < body.size(); at += 33) {
      if (body[at] != kNotHeld && body[at] != kOfferBlob)
        return Status::error(Status::Code::kRefused, "malformed not-ops list");
      Hash32 id = *Hash32::from_view(body.subspan(at + 1, 32));
      if (body[at] == kNotHeld) {
        // Named by the 8-byte prefix this node asked with (zero-padded): nothing matching it comes.
        for (auto it = outstanding_.lower_bound(id);
             it != outstanding_.end() && prefix_of(it->bytes.data()) == prefix_of(id.bytes.data());)
          it = outstanding_.erase(it);
        continue;
      }
      outstanding_.erase(id);
      // Only blobs this node's ops reference and it lacks are kept, so a peer cannot grow the list.
      auto lock = lock_store();
      auto missing = store_.missing_blob(id);
      lock = {};
      if (!missing) return missing.status();
      if (*missing) offered_.emplace(id, **missing);
    }
    return Status::ok();
  }

  // Sends ops (only ones the peer may hold), by priority, in frames under the cap, within this
  // side's budget of ops and op bytes for the session; those beyond it are left for the next
  // session (and added to `left` when given).
  Status send_ops(const std::vector<Hash32>& ids, std::vector<Hash32>* left = nullptr) {
    std::vector<Hash32> wanted;
    wanted.reserve(ids.size());
    for (const Hash32& id : ids)
      if (visible_.contains(id)) wanted.push_back(id);
    auto lock = lock_store();
    auto read = store_.get_many(wanted);
    lock = {};
    if (!read) return read.status();
    std::vector<std::shared_ptr<const Op>> ops = std::move(*read);
    sort_for_sending(ops);
    Bytes batch;
    std::uint32_t count = 0;
    auto flush = [&](bool more) -> Status {
      if (count == 0) return Status::ok();
      Bytes body;
      append_u32_le(body, count | (more ? kMoreOps : 0));
      body.insert(body.end(), batch.begin(), batch.end());
      batch.clear();
      report_.ops_sent += count;
      count = 0;
      return send(kOps, body);
    };
    for (const auto& held : ops) {
      const Op& op = *held;
      if (report_.ops_sent + count >= budget_.ops || report_.op_bytes_sent >= budget_.op_bytes_sent) {
        if (report_.budget_reached.empty())
          note_budget("sent its limit of " + (report_.ops_sent + count >= budget_.ops
                                                  ? std::to_string(budget_.ops) + " ops"
                                                  : std::to_string(budget_.op_bytes_sent) + " op bytes"));
        if (left != nullptr) left->push_back(op.id);
        continue;
      }
      if (batch.size() + op.bytes.size() + 4 > limits::op_bytes_max - 64 || count == limits::ingest_batch_ops_max)
        if (Status s = flush(/*more=*/true); !s) return s;
      append_u32_le(batch, static_cast<std::uint32_t>(op.bytes.size()));
      batch.insert(batch.end(), op.bytes.begin(), op.bytes.end());
      report_.op_bytes_sent += op.bytes.size();
      ++count;
    }
    return flush(/*more=*/false);
  }

  // After the ops: ask for the attachments this node lacks, within the byte budget.
  Status request_blobs() {
    blobs_requested_ = true;
    std::vector<Bytes> requests;
    if (Status s = plan_blob_requests(requests); !s) return s;
    for (const Bytes& body : requests)
      if (Status s = send(kBlobWant, body); !s) return s;
    return Status::ok();
  }

  // The attachments to ask for (hash, offset held), under the store lock: those the peer
  // offered (it holds them whole, this node's ops reference them, this node lacks them).
  Status plan_blob_requests(std::vector<Bytes>& requests) {
    auto lock = lock_store();
    std::uint64_t planned = 0;
    for (const auto& [hash, a] : offered_) {
      auto complete = store_.has_blob(hash);
      if (!complete) return complete.status();
      if (*complete) continue;
      auto held = store_.blob_bytes_held(a.hash);
      if (!held) return held.status();
      std::uint64_t remaining = a.size - std::min(a.size, *held);
      // The budget bounds a session's attachment bytes, except that a session always fetches at
      // least one: an attachment larger than the budget would otherwise never arrive (found by
      // the simulator). Whatever the budget, they fit what is left of the session's byte budget
      // (with a frame's overhead per chunk): the peer's answers never take it past that.
      const bool over_link = blob_budget_ != 0 && planned + remaining > blob_budget_ && !requests.empty();
      const bool over_session = received_after(planned + remaining) > budget_.bytes_received;
      if (over_link || over_session) {
        ++report_.blobs_deferred;
        if (!over_link) note_budget("left attachments beyond its byte limit for the next session");
        continue;
      }
      planned += remaining;
      Bytes body(a.hash.bytes.begin(), a.hash.bytes.end());
      append_u64_be(body, *held);
      wanted_.emplace(a.hash, a);
      requests.push_back(std::move(body));
    }
    return Status::ok();
  }

  // Each attachment is sent at most once a session: asked again, it is `none` (a peer cannot make
  // this node send a 32 MiB photo over and over for 40 bytes each).
  // What this session will have received once `blob_bytes` of attachments more have arrived, with
  // each chunk's framing (its hash and offset, the message type, the seal, the frame length).
  std::uint64_t received_after(std::uint64_t blob_bytes) const {
    return framed_.delivered_bytes() + blob_bytes + (blob_bytes / limits::blob_chunk_bytes + 1) * 128;
  }

  Status answer_blob(ByteView body) {
    if (body.size() != 40) return Status::error(Status::Code::kRefused, "malformed blob request");
    Hash32 hash = *Hash32::from_view(body.first(32));
    std::uint64_t offset = read_u64_be(body.data() + 32);
    auto lock = lock_store();
    auto held = store_.has_blob(hash);
    lock = {};
    if (!held) return held.status();
    if (!*held || !visible_blobs_.count(hash) || !answered_blobs_.insert(hash).second)
      return send(kBlobNone, hash.view());
    // One chunk at a time: neither the store lock nor a read transaction is held while sending.
    while (true) {
      Bytes data;
      lock = lock_store();
      Status s = store_.read_blob_from(hash, offset, [&](std::uint64_t at, ByteView chunk) {
        if (!data.empty() || at < offset) return;
        data.assign(hash.bytes.begin(), hash.bytes.end());
        append_u64_be(data, at);
        data.insert(data.end(), chunk.begin(), chunk.end());
      });
      lock = {};
      if (!s) return s;
      if (data.size() <= 40) return Status::ok();  // no chunk from `offset` on
      offset = read_u64_be(data.data() + 32) + (data.size() - 40);
      if (Status sent = send(kBlobData, data); !sent) return sent;
    }
  }

  Status receive_blob(ByteView body) {
    if (body.size() < 40) return Status::error(Status::Code::kRefused, "malformed blob data");
    Hash32 hash = *Hash32::from_view(body.first(32));
    auto it = wanted_.find(hash);
    if (it == wanted_.end()) {
      // The rest of a blob this node stopped taking (shown wrong part-way): read past.
      if (dropped_blobs_.count(hash)) return Status::ok();
      return Status::error(Status::Code::kRefused, "the peer sent a blob this node did not ask for");
    }
    std::uint64_t offset = read_u64_be(body.data() + 32);
    ByteView bytes = body.subspan(40);
    auto lock = lock_store();
    Status s = store_.put_blob_chunk(it->second, offset, bytes);
    lock = {};
    report_.blob_bytes_received += bytes.size();
    if (!s) {
      wanted_.erase(it);
      if (s.code() != Status::Code::kRefused) return s;
      // A bad blob is dropped at its first bad chunk (node/STORE.md, "Attachments"); the session
      // goes on, and what the peer still sends of it is read past.
      dropped_blobs_.insert(hash);
      ++report_.blobs_refused;
      return Status::ok();
    }
    if (offset + bytes.size() >= it->second.size) {
      ++report_.blobs_received;
      wanted_.erase(it);
    }
    return Status::ok();
  }

  // Takes one batch from the peer. Ops the two nodes may not both hold are refused without
  // touching the store; the rest are gathered into ingest batches of up to 1,024 ops or 512 KiB
  // (one commit each: commits, not ops, cost the disk most). What was gathered is verified and
  // committed when a batch without the more-follows flag arrives, when the limit is reached, and
  // before any other message is handled.
  Status receive_ops(ByteView body) {
    if (body.size() < 4) return Status::error(Status::Code::kRefused, "malformed op batch");
    std::uint32_t header = read_u32_le(body.data());
    std::uint32_t count = header & ~kMoreOps;
    bool more = (header & kMoreOps) != 0;
    if (count > limits::ingest_batch_ops_max) return Status::error(Status::Code::kRefused, "op batch too large");
    ops_taken_ += count;
    if (ops_taken_ > budget_.ops) return over_budget(std::to_string(budget_.ops) + " ops received from the peer");
    if (buffered_.size() + count > limits::ingest_batch_ops_max)
      if (Status s = commit_buffered(); !s) return s;
    std::size_t at = 4;
    for (std::uint32_t i = 0; i < count; ++i) {
      if (body.size() - at < 4) return Status::error(Status::Code::kRefused, "malformed op batch");
      std::uint32_t length = read_u32_le(body.data() + at);
      at += 4;
      if (length > body.size() - at) return Status::error(Status::Code::kRefused, "malformed op batch");
      ByteView bytes = body.subspan(at, length);
      report_.op_bytes_received += length;
      at += length;
      // The scope is read without the signature check (ingest does that); bytes that do not
      // decode are left to ingest, which refuses them with their reason.
      std::optional<Op> scoped = decode_op_scope(bytes);
      if (!scoped)
        if (auto decoded = decode_op(bytes, DecodeMode::kTrusted); std::holds_alternative<Op>(decoded))
          scoped = std::move(std::get<Op>(decoded));
      if (scoped && !(visible_to(*scoped, report_.peer_scope) && visible_to(*scoped, my_scope_))) {
        outstanding_.erase(blake2b_256(bytes));
        ++report_.ops_refused;
        ++report_.refused_by_reason[refusal_name(Refusal::kOutOfScope)];
        continue;
      }
      buffered_.emplace_back(bytes.begin(), bytes.end());
      buffered_bytes_ += length;
    }
    if (!more && buffered_.empty()) return send(kCommitted, {});  // all refused: the batch is settled
    if (!more || buffered_.size() == limits::ingest_batch_ops_max || buffered_bytes_ >= limits::sync_commit_bytes_max)
      return commit_buffered();
    return Status::ok();
  }

  // Verifies and commits the gathered ops in one write transaction.
  Status commit_buffered() {
    if (buffered_.empty()) return Status::ok();
    std::vector<Bytes> ops;
    ops.swap(buffered_);
    buffered_bytes_ = 0;
    if (Status s = make_room_for_orphans(ops.size()); !s) return s;
    return ingest_and_count(ops);
  }

  // A batch that does not fit a nearly full store is retried in halves, so the store takes all
  // that fits before the session ends with "the store is full".
  Status ingest_and_count(std::span<const Bytes> ops) {
    auto lock = lock_store();
    auto report = store_.ingest(ops);
    lock = {};
    if (!report && report.status().code() == Status::Code::kStoreFull && ops.size() > 1) {
      if (Status s = ingest_and_count(ops.first(ops.size() / 2)); !s) return s;
      return ingest_and_count(ops.subspan(ops.size() / 2));
    }
    if (!report) return report.status();
    if (Status s = note_stamps(report->stamps); !s) return s;
    if (Status s = send(kCommitted, {}); !s) return s;
    for (const IngestOutcome& outcome : report->outcomes) {
      if (outcome.id) outstanding_.erase(*outcome.id);
      // An op waiting for its parents is not received yet: it counts once its parents release it
      // in this session (settle_orphans), and not at all if it is dropped when the session ends.
      if (outcome.kind == IngestOutcome::Kind::kPending) {
        if (outcome.id) orphans_.insert(*outcome.id);
      } else if (outcome.kind == IngestOutcome::Kind::kAccepted) {
        ++report_.ops_received;
        ++accepted_;
      } else if (outcome.kind == IngestOutcome::Kind::kDuplicate) {
        ++report_.ops_duplicate;
      } else {
        ++report_.ops_refused;
        ++report_.refused_by_reason[refusal_name(outcome.reason)];
      }
    }
    accepted_ += report->released_from_pending;
    return Status::ok();
  }

  // Of this session's ops that went waiting for parents, those since released are received:
  // counted, and no longer this session's claim on the pending area. Returns how many still wait.
  Result<std::size_t> settle_orphans() {
    if (orphans_.empty()) return std::size_t{0};
    std::vector<Hash32> ids(orphans_.begin(), orphans_.end());
    auto lock = lock_store();
    auto waiting = store_.still_pending(ids);
    lock = {};
    if (!waiting) return waiting.status();
    report_.ops_received += orphans_.size() - waiting->size();
    orphans_ = std::set<Hash32>(waiting->begin(), waiting->end());
    return orphans_.size();
  }

  // The peer's ops waiting for parents stay within its share of the pending area, which bounds
  // memory, never progress: when the share would overflow, waiting ops are taken out of the
  // pending area and set aside by id (up to limits::sync_deferred_ops_max), to be asked for
  // again once reconciliation has brought everything else — their parents, if the peer holds them
  // (an honest peer's ops wait only until a later round finds their parents).
  Status make_room_for_orphans(std::size_t incoming) {
    if (orphans_.size() + incoming <= limits::pending_ops_per_peer_max) return Status::ok();
    if (auto settled = settle_orphans(); !settled) return settled.status();
    if (orphans_.size() + incoming <= limits::pending_ops_per_peer_max) return Status::ok();
    std::size_t excess = orphans_.size() + incoming - limits::pending_ops_per_peer_max;
    std::vector<Hash32> out;
    while (out.size() < excess && !orphans_.empty()) {
      auto last = std::prev(orphans_.end());
      out.push_back(*last);
      orphans_.erase(last);
    }
    auto lock = lock_store();
    auto dropped = store_.drop_pending(out);
    lock = {};
    if (!dropped) return dropped.status();
    for (const Hash32& id : out)
      if (deferred_.size() < limits::sync_deferred_ops_max) deferred_.insert(id);
    return Status::ok();
  }

  // Once everything reconciliation found has arrived: asks again for the ops set aside above,
  // as long as the last time brought progress (an op accepted since), at most
  // limits::sync_retry_rounds_max times.
  Status ask_again_for_deferred() {
    if (deferred_.empty() || retry_rounds_ >= limits::sync_retry_rounds_max) return Status::ok();
    if (retry_rounds_ > 0 && accepted_ == accepted_at_last_retry_) return Status::ok();
    ++retry_rounds_;
    accepted_at_last_retry_ = accepted_;
    Bytes ids;
    for (const Hash32& id : deferred_) {
      ids.insert(ids.end(), id.bytes.begin(), id.bytes.begin() + kNeedPrefixBytes);
      outstanding_.insert(id);
      if (ids.size() >= kNeedPrefixBytes * limits::ingest_batch_ops_max) {
        if (Status s = send(kNeed, ids); !s) return s;
        ids.clear();
      }
    }
    deferred_.clear();
    if (!ids.empty()) return send(kNeed, ids);
    return Status::ok();
  }

  Store& store_;
  std::mutex* store_mutex_;
  Framed& framed_;
  net::ChannelSender& sender_;
  net::ChannelReceiver& receiver_;
  SyncReport& report_;
  std::string my_scope_;
  const std::function<void(const SyncReport&)>& progress_;
  std::uint8_t version_;
  const PhysicalClock& clock_;
  std::vector<PublicKey> keyring_keys_;
  bool keyring_whole_ = true;                 // keyring_keys_ is the whole keyring, not its first part
  std::set<PublicKey> answered_;              // keys the peer reported a head for (seq 0: none)
  std::int64_t correction_ms_ = 0;            // this node's clock correction at the session's start
  std::set<Hash32> ahead_counted_;            // ops counted in report_.ops_ahead
  std::vector<KeyHead> claimed_;              // heads the peer named by id (forget_unfounded_heads)
  bool peer_refused_ = false;
  Bytes hello_;                               // this side's hello (version 3)
  bool hello_received_ = false;
  std::unique_ptr<net::Reconciler> reconciler_;
  IdSet visible_;                             // ops both may hold
  std::set<Hash32> outstanding_;
  std::unordered_set<Hash32> visible_blobs_;  // whole attachments of ops both may hold
  std::unordered_multimap<std::uint64_t, Hash32> by_prefix_;  // both of the above, by 8-byte prefix (built on the first need)
  std::map<Hash32, Attachment> wanted_;       // blobs requested and not complete
  std::map<Hash32, Attachment> offered_;      // blobs the peer offered that this node lacks
  std::unordered_set<Hash32> dropped_blobs_;  // blobs asked for and then refused (at most those asked for)
  std::set<Hash32> orphans_;                 // ops of this session that went pending (some since released)
  std::set<Hash32> deferred_;                // ops taken out of the pending area to stay within the share
  std::uint64_t accepted_ = 0;               // ops this session's batches stored (released ones too)
  std::uint64_t accepted_at_last_retry_ = 0;
  std::size_t retry_rounds_ = 0;
  std::uint64_t blob_budget_ = 0;
  SessionBudget budget_;
  std::uint64_t started_ms_;                 // by clock_
  std::uint64_t ops_taken_ = 0;              // ops in the peer's `ops` messages
  std::size_t need_asked_ = 0;               // ids the peer asked for with `need`
  std::unordered_set<std::uint64_t> answered_prefixes_;  // need prefixes answered
  std::unordered_set<Hash32> answered_blobs_;            // attachments sent
  bool blobs_requested_ = false;
  std::vector<Bytes> buffered_;     // received ops not yet committed
  std::size_t buffered_bytes_ = 0;
  Bytes partial_;  // parts of a reconciliation message still arriving
  std::size_t sent_upto_ = 0;
  std::size_t asked_upto_ = 0;
  bool reconciled_ = false;
  bool done_sent_ = false;
  bool done_received_ = false;
};

// The local counter holding the highest wire version of a session this node finished with `peer`.
std::string highest_version_counter(const PublicKey& peer) { return "peer/" + peer.hex() + "/wire_version_max"; }

// A refusal in a plain frame before the channel is up (version 3): kPlainRefusal, then the
// sentence, cut to the frame cap of that moment and never 24 bytes long in all (a channel header's
// length, which it replaces).
Bytes plain_refusal(const std::string& sentence) {
  Bytes frame{net::kPlainRefusal};
  std::string text = net::cut_sentence(sentence, limits::handshake_frame_bytes_max - 2);
  frame.insert(frame.end(), text.begin(), text.end());
  if (frame.size() == crypto_secretstream_xchacha20poly1305_HEADERBYTES) frame.push_back(' ');
  return frame;
}

}  // namespace

Result<SyncReport> run_sync(Store& store, const KeyPair& node_key, Transport& transport, SyncRole role,
                            const std::array<std::uint8_t, 32>& ephemeral_seed,
                            const std::function<void(const SyncReport&)>& progress, std::uint64_t blob_budget_bytes) {
  SyncOptions options;
  options.progress = progress;
  options.blob_budget_bytes = blob_budget_bytes;
  return run_sync(store, node_key, transport, role, ephemeral_seed, options);
}

Result<SyncReport> run_sync(Store& store, const KeyPair& node_key, Transport& transport, SyncRole role,
                            const std::array<std::uint8_t, 32>& ephemeral_seed, const SyncOptions& options) {
  SyncReport report;
  SyncAttempt unused;
  SyncAttempt& attempt = options.attempt != nullptr ? *options.attempt : unused;
  SystemClock system_clock;
  const PhysicalClock& clock = options.clock != nullptr ? *options.clock : system_clock;
  auto lock = options.store_mutex != nullptr ? std::unique_lock<std::mutex>(*options.store_mutex)
                                             : std::unique_lock<std::mutex>();
  auto stats = store.stats();
  if (!stats) return stats.status();
  auto arrival = store.last_arrival();
  if (!arrival) return arrival.status();
  report.arrival_at_start = *arrival;
  if (!stats->network_id) return Status::invalid("this node belongs to no network yet: import a bundle first");
  auto authority = store.authority();  // immutable: used below without the lock
  lock = {};
  if (!authority) return authority.status();
  auto my_scopes = (*authority)->node_scopes(node_key.public_key());
  if (my_scopes.empty())
    return Status::invalid("this node (" + node_key.public_key().hex() + ") is not enrolled in its network");
  const net::Handshake* running = nullptr;  // the handshake below, once made
  // The peer is who it should be: never this node itself (a neighbour's address that leads back
  // here, in either role), and the pinned node when one is expected. The initiator checks the key
  // the responder proved before it sends anything more.
  const PublicKey self = node_key.public_key();
  auto accept = [&](const PublicKey& peer) -> Status {
    if (peer == self)
      return Status::error(Status::Code::kRefused, "node " + self.short_hex() +
                                                       " reached itself: the address leads back to this node; "
                                                       "sync with a neighbour's address instead");
    if (role == SyncRole::kInitiator && options.expected_peer && peer != *options.expected_peer)
      return Status::error(Status::Code::kRefused,
                           "the peer is node " + peer.hex() + ", not the expected node " + options.expected_peer->hex() +
                               ": nothing was exchanged; check the address, or the key pinned for it");
    auto scopes = (*authority)->node_scopes(peer);
    if (scopes.empty()) return Status::invalid("node " + peer.hex() + " is not enrolled in this network");
    // Downgrade: a peer that has finished a session of version 4 with this node is not met in an
    // older version, which shows node keys (net/PROTOCOL.md, "Downgrade"). Checked before this
    // node shows anything of itself in that version (a responder, before message 2; an
    // initiator, before its signature).
    if (running->version() < net::kWireVersionHidden) {
      auto relock = options.store_mutex != nullptr ? std::unique_lock<std::mutex>(*options.store_mutex)
                                                   : std::unique_lock<std::mutex>();
      auto highest = store.local_counter(highest_version_counter(peer));
      if (!highest) return highest.status();
      if (*highest >= net::kWireVersionHidden)
        return Status::error(Status::Code::kRefused,
                             "node " + peer.short_hex() + " has synced with this node in wire protocol version " +
                                 std::to_string(*highest) + " before and now uses version " +
                                 std::to_string(running->version()) +
                                 ": someone between the two may be forcing an older protocol, or that node was put "
                                 "back to an older anwang release (upgrade it again)");
    }
    report.peer_scope = scopes.front();
    return Status::ok();
  };
  // Until the peer has proved its key and the channel is up: small frames, one deadline for
  // everything (a half-open or dripping peer is cut off), no store access but the above.
  Framed framed(transport, report);
  framed.set_frame_bytes_max(limits::handshake_frame_bytes_max);
  transport.set_receive_timeout_ms(limits::handshake_ms_max);
  // A responder's peer speaks first: its hello must come soon (limits::handshake_first_message_ms_max),
  // and the rest of the handshake within what is left of limits::handshake_ms_max.
  transport.set_deadline_ms(role == SyncRole::kResponder ? limits::handshake_first_message_ms_max
                                                         : limits::handshake_ms_max);
  bool first_message = role == SyncRole::kResponder;
  net::Handshake handshake(role == SyncRole::kInitiator ? net::Handshake::Role::kInitiator
                                                        : net::Handshake::Role::kResponder,
                           node_key, *stats->network_id, ephemeral_seed, accept, options.wire_version);
  running = &handshake;
  if (role == SyncRole::kInitiator) {
    if (Status s = framed.send(handshake.start()); !s) return s;
    attempt.hello_sent = true;
  }
  while (!handshake.done()) {
    auto frame = framed.receive();
    if (!frame) return frame.status();
    if (first_message) {
      first_message = false;
      transport.set_deadline_ms(limits::handshake_ms_max - limits::handshake_first_message_ms_max);
    }
    auto reply = handshake.on_message(*frame);
    attempt.hello_answered = handshake.hello_answered();
    if (!reply) {
      // A version-3 peer refused at the hello is told why (a version-2 one only sees the close).
      if (!handshake.refusal().empty() && framed.send(handshake.refusal()))
        transport.linger(limits::refusal_linger_ms);
      return reply.status();
    }
    if (!reply->empty())
      if (Status s = framed.send(*reply); !s) return s;
  }
  report.peer = handshake.keys().peer;
  report.wire_version = handshake.version();
  const bool version_3 = handshake.version() >= 3;
  // The session bounds (anwangd: one session per peer node, at most so many) are checked before
  // the channel is set up. In version 3 a refusal takes the place of the channel header: a plain
  // frame, kPlainRefusal then why, never as long as a header (24 bytes).
  net::ChannelSender sender;
  net::ChannelReceiver receiver;
  if (options.on_authenticated)
    if (Status s = options.on_authenticated(report.peer); !s) {
      if (handshake.version() >= net::kWireVersionHidden) {
        // Version 4: sealed, as the first message of the channel (a plain frame would show an
        // observer what the handshake hid, e.g. the node keys a refusal names).
        Bytes why{kRefused};
        std::string text = net::cut_sentence(s.message(), limits::refusal_bytes_max);
        why.insert(why.end(), text.begin(), text.end());
        if (framed.send(sender.start(handshake.keys().send)) && framed.send(sender.seal(why)))
          transport.linger(limits::refusal_linger_ms);
      } else if (version_3 && framed.send(plain_refusal(s.message()))) {
        transport.linger(limits::refusal_linger_ms);
      }
      return s;
    }
  if (Status s = framed.send(sender.start(handshake.keys().send)); !s) return s;
  auto header = framed.receive();
  if (!header) return header.status();
  if (version_3 && header->size() != crypto_secretstream_xchacha20poly1305_HEADERBYTES && !header->empty() &&
      (*header)[0] == net::kPlainRefusal)
    return Status::error(Status::Code::kRefused,
                         "refused by the peer: " + net::refusal_sentence(ByteView(*header).subspan(1)));
  if (Status s = receiver.start(handshake.keys().receive, *header); !s) return s;
  handshake.forget_keys();  // the channel's states hold them now
  report.handshake_bytes = report.bytes_sent + report.bytes_received;
  framed.set_frame_bytes_max(limits::frame_bytes_max);
  // The session's wall time (its budget) holds while the transport waits, too.
  transport.set_deadline_ms(static_cast<int>(std::min<std::uint64_t>(options.budget.ms, limits::sync_session_ms_max)));
  transport.set_receive_timeout_ms(limits::sync_receive_timeout_ms);
  Session session(store, options.store_mutex, framed, sender, receiver, report, my_scopes.front(), options.progress,
                  options.blob_budget_bytes, handshake.version(), clock, options.keyring_keys, options.budget);
  Status outcome = session.run(role);
  auto dropped = session.drop_orphans();
  if (!outcome) {
    // Version 3: the peer hears why this node ends the session (a full store, say), rather than
    // only that the connection closed.
    if (session.peer_may_hear(outcome)) {
      session.refuse("node " + node_key.public_key().short_hex() + " ended the session: " + outcome.message());
      transport.linger(limits::refusal_linger_ms);
    }
    return outcome;
  }
  if (!dropped) return dropped.status();
  report.orphans_dropped = *dropped;
  if (Status s = session.forget_unfounded_heads(); !s) return s;
  // A store restored from a backup signs again once a session that left nothing for later has
  // told it every key's head: from then on the known heads decide (Store::mark_restored).
  if (report.budget_reached.empty() && session.learnt_every_key_head()) {
    auto relock = options.store_mutex != nullptr ? std::unique_lock<std::mutex>(*options.store_mutex)
                                                 : std::unique_lock<std::mutex>();
    auto cleared = store.clear_restored();
    if (!cleared && cleared.status().code() != Status::Code::kStoreFull) return cleared.status();
    report.restored_mark_cleared = cleared && *cleared;
  }
  if (handshake.version() >= net::kWireVersionHidden) {
    // Remembered for the downgrade check above (and shown by `anwang status`).
    auto relock = options.store_mutex != nullptr ? std::unique_lock<std::mutex>(*options.store_mutex)
                                                 : std::unique_lock<std::mutex>();
    std::string name = highest_version_counter(report.peer);
    auto highest = store.local_counter(name);
    if (!highest) return highest.status();
    if (*highest < handshake.version())
      if (Status s = store.set_local_counter(name, handshake.version()); !s) return s;
  }
  return report;
}

bool retry_in_version_2(std::uint8_t version, const SyncAttempt& attempt, const Status& outcome) {
  return !outcome.is_ok() && version > net::kWireVersionOldest && attempt.hello_sent && !attempt.hello_answered;
}

Result<SyncReport> sync_dialled(const std::function<Result<SyncReport>(const SyncOptions&)>& attempt,
                                SyncOptions options) {
  while (true) {
    SyncAttempt tried;
    options.attempt = &tried;
    auto outcome = attempt(options);
    if (!retry_in_version_2(options.wire_version, tried, outcome ? Status::ok() : outcome.status())) return outcome;
    // The peer closed at the hello: most likely a node of an earlier release, which does not
    // speak this version. Once more, one version lower (4, then 3, then 2); the last failure is
    // reported.
    options.wire_version = static_cast<std::uint8_t>(options.wire_version - 1);
  }
}

std::string SyncReport::refusals_said() const {
  std::string out;
  for (const auto& [reason, count] : refused_by_reason)
    out += (out.empty() ? "" : ", ") + std::to_string(count) + " " + reason;
  return out;
}

Status record_peer(Store& store, const PublicKey& peer, const SyncReport* report, std::uint64_t now_ms) {
  std::string prefix = "peer/" + peer.hex() + "/";
  if (Status s = store.set_local_counter(prefix + "last_contact_ms", now_ms); !s) return s;
  if (report == nullptr) return Status::ok();
  if (Status s = store.set_local_counter(prefix + "last_sync_ms", now_ms); !s) return s;
  auto add = [&](const char* name, std::uint64_t value) -> Status {
    auto current = store.local_counter(prefix + name);
    if (!current) return current.status();
    return store.set_local_counter(prefix + name, *current + value);
  };
  for (auto [name, value] : {std::pair{"ops_sent", report->ops_sent}, std::pair{"ops_received", report->ops_received},
                             std::pair{"bytes_sent", report->bytes_sent},
                             std::pair{"bytes_received", report->bytes_received}})
    if (Status s = add(name, value); !s) return s;
  if (report->budget_reached.empty()) {
    auto synced = store.local_counter(prefix + "synced_arrival");
    if (!synced) return synced.status();
    if (report->arrival_at_start > *synced)
      if (Status s = store.set_local_counter(prefix + "synced_arrival", report->arrival_at_start); !s) return s;
  }
  return Status::ok();
}

}  // namespace anwang::node
