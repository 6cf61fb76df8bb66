#include "node/sync.h"

#include <algorithm>
#include <deque>
#include <map>
#include <set>

#include "crdt/limits.h"
#include "net/frame.h"
#include "net/reconcile.h"

namespace anwang::node {

namespace {

enum Message : std::uint8_t {
  kReconcile = 1, kOps = 2, kNeed = 3, kReconciled = 4, kDone = 5, kReconcilePart = 6,
  kCommitted = 7,  // a batch was committed: keeps a long transfer from looking like a silent peer
  kBlobWant = 8,   // hash, offset: send this blob from this byte
  kBlobData = 9,   // hash, offset, bytes (one chunk)
  kBlobNone = 10,  // hash: not held here (or not yours to see)
};

const std::vector<Attachment>* attachments_of(const Op& op) {
  if (const auto* h = std::get_if<HazardPayload>(&op.fields.payload)) return &h->photos;
  if (const auto* r = std::get_if<RecordPayload>(&op.fields.payload)) return &r->photos;
  return nullptr;
}

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
  Result<Bytes> receive() {
    while (true) {
      if (auto frame = decoder_.next()) return std::move(*frame);
      auto bytes = transport_.read_some();
      if (!bytes) return bytes.status();
      report_.bytes_received += bytes->size();
      if (Status s = decoder_.feed(*bytes); !s) return s;
    }
  }

 private:
  Transport& transport_;
  SyncReport& report_;
  net::FrameDecoder decoder_;
};

// Incidents first, then major hazards, then everything else (DESIGN §7).
int priority_of(const Op& op) {
  if (const auto* record = std::get_if<RecordPayload>(&op.fields.payload); record && record->kind == "incident") return 0;
  if (const auto* hazard = std::get_if<HazardPayload>(&op.fields.payload); hazard && hazard->severity == "major") return 1;
  return 2;
}

class Session {
 public:
  Session(Store& store, Framed& framed, net::ChannelSender& sender, net::ChannelReceiver& receiver, SyncReport& report,
          std::string my_scope, const std::function<void(const SyncReport&)>& progress, std::uint64_t blob_budget)
      : store_(store), framed_(framed), sender_(sender), receiver_(receiver), report_(report),
        my_scope_(std::move(my_scope)), progress_(progress), blob_budget_(blob_budget) {}

  Status run(SyncRole role) {
    std::vector<net::ItemKey> items;
    Status s = store_.for_each_op([&](const Op& op) {
      if (const auto* photos = attachments_of(op))
        for (const Attachment& a : *photos) referenced_.emplace(a.hash, a);
      if (visible_to(op, report_.peer_scope) && visible_to(op, my_scope_)) {
        items.push_back(net::item_key(op.fields.hlc, op.id));
        visible_.insert(op.id);
        if (const auto* photos = attachments_of(op))
          for (const Attachment& a : *photos) visible_blobs_.insert(a.hash);
      }
    });
    if (!s) return s;
    std::sort(items.begin(), items.end());
    report_.items = items.size();
    reconciler_ = std::make_unique<net::Reconciler>(std::move(items));
    if (role == SyncRole::kInitiator)
      if (Status sent = send_reconcile(reconciler_->initiate()); !sent) return sent;
    while (!(done_sent_ && done_received_)) {
      auto frame = framed_.receive();
      if (!frame) return frame.status();
      auto plain = receiver_.open(*frame);
      if (!plain) return plain.status();
      if (plain->empty()) return Status::error(Status::Code::kRefused, "the peer sent an empty message");
      if (Status handled = handle((*plain)[0], ByteView(*plain).subspan(1), role); !handled) return handled;
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

 private:
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
    const auto& need = reconciler_->to_fetch();
    Bytes ids;
    for (std::size_t i = asked_upto_; i < need.size(); ++i) {
      ids.insert(ids.end(), need[i].bytes.begin(), need[i].bytes.end());
      outstanding_.insert(need[i]);
      if (ids.size() >= 32 * limits::ingest_batch_ops_max) {
        if (Status s = send(kNeed, ids); !s) return s;
        ids.clear();
      }
    }
    asked_upto_ = need.size();
    if (!ids.empty()) return send(kNeed, ids);
    return Status::ok();
  }

  Status answer_need(ByteView body) {
    if (body.size() % 32 != 0) return Status::error(Status::Code::kRefused, "malformed need list");
    std::vector<Hash32> ids;
    for (std::size_t at = 0; at < body.size(); at += 32) ids.push_back(*Hash32::from_view(body.subspan(at, 32)));
    return send_ops(ids);
  }

  // Sends ops (only ones the peer may hold), by priority, in frames under the cap.
  Status send_ops(const std::vector<Hash32>& ids) {
    std::vector<Op> ops;
    for (const Hash32& id : ids) {
      if (!visible_.count(id)) continue;
      auto op = store_.get(id);
      if (!op) return op.status();
      if (*op) ops.push_back(std::move(**op));
    }
    std::stable_sort(ops.begin(), ops.end(), [](const Op& a, const Op& b) {
      return std::make_tuple(priority_of(a), a.fields.hlc, a.id) < std::make_tuple(priority_of(b), b.fields.hlc, b.id);
    });
    Bytes batch;
    std::uint32_t count = 0;
    auto flush = [&]() -> Status {
      if (count == 0) return Status::ok();
      Bytes body;
      append_u32_le(body, count);
      body.insert(body.end(), batch.begin(), batch.end());
      batch.clear();
      report_.ops_sent += count;
      count = 0;
      return send(kOps, body);
    };
    for (const Op& op : ops) {
      if (batch.size() + op.bytes.size() + 4 > limits::op_bytes_max - 64 || count == limits::ingest_batch_ops_max)
        if (Status s = flush(); !s) return s;
      append_u32_le(batch, static_cast<std::uint32_t>(op.bytes.size()));
      batch.insert(batch.end(), op.bytes.begin(), op.bytes.end());
      report_.op_bytes_sent += op.bytes.size();
      ++count;
    }
    return flush();
  }

  // After the ops: ask for the attachments this node lacks, within the byte budget.
  Status request_blobs() {
    blobs_requested_ = true;
    // Attachments of ops received in this session are asked for too (they were not in the scan).
    for (const Hash32& id : received_)
      if (auto op = store_.get(id); op && *op)
        if (const auto* photos = attachments_of(**op))
          for (const Attachment& a : *photos) referenced_.emplace(a.hash, a);
    std::uint64_t planned = 0;
    for (const auto& [hash, a] : referenced_) {
      auto complete = store_.has_blob(hash);
      if (!complete) return complete.status();
      if (*complete) continue;
      auto held = store_.blob_bytes_held(a.hash);
      if (!held) return held.status();
      std::uint64_t remaining = a.size - std::min(a.size, *held);
      if (blob_budget_ != 0 && planned + remaining > blob_budget_) {
        ++report_.blobs_deferred;
        continue;
      }
      planned += remaining;
      Bytes body(a.hash.bytes.begin(), a.hash.bytes.end());
      append_u64_be(body, *held);
      wanted_.emplace(a.hash, a);
      if (Status s = send(kBlobWant, body); !s) return s;
    }
    return Status::ok();
  }

  Status answer_blob(ByteView body) {
    if (body.size() != 40) return Status::error(Status::Code::kRefused, "malformed blob request");
    Hash32 hash = *Hash32::from_view(body.first(32));
    std::uint64_t offset = read_u64_be(body.data() + 32);
    auto held = store_.has_blob(hash);
    if (!held) return held.status();
    if (!*held || !visible_blobs_.count(hash)) return send(kBlobNone, hash.view());
    Status failed;
    Status s = store_.read_blob_from(hash, offset, [&](std::uint64_t at, ByteView chunk) {
      if (!failed.is_ok() || at < offset) return;
      Bytes data(hash.bytes.begin(), hash.bytes.end());
      append_u64_be(data, at);
      data.insert(data.end(), chunk.begin(), chunk.end());
      failed = send(kBlobData, data);
    });
    if (!s) return s;
    return failed;
  }

  Status receive_blob(ByteView body) {
    if (body.size() < 40) return Status::error(Status::Code::kRefused, "malformed blob data");
    Hash32 hash = *Hash32::from_view(body.first(32));
    auto it = wanted_.find(hash);
    if (it == wanted_.end()) return Status::error(Status::Code::kRefused, "the peer sent a blob this node did not ask for");
    std::uint64_t offset = read_u64_be(body.data() + 32);
    ByteView bytes = body.subspan(40);
    Status s = store_.put_blob_chunk(it->second, offset, bytes);
    report_.blob_bytes_received += bytes.size();
    if (!s) {
      wanted_.erase(it);
      return s.code() == Status::Code::kRefused ? Status::ok() : s;  // a bad blob is dropped, the session goes on
    }
    if (offset + bytes.size() >= it->second.size) {
      ++report_.blobs_received;
      wanted_.erase(it);
    }
    return Status::ok();
  }

  // Verifies and commits one batch as it arrives.
  Status receive_ops(ByteView body) {
    if (body.size() < 4) return Status::error(Status::Code::kRefused, "malformed op batch");
    std::uint32_t count = read_u32_le(body.data());
    if (count > limits::ingest_batch_ops_max) return Status::error(Status::Code::kRefused, "op batch too large");
    std::vector<Bytes> ops;
    std::size_t at = 4;
    for (std::uint32_t i = 0; i < count; ++i) {
      if (body.size() - at < 4) return Status::error(Status::Code::kRefused, "malformed op batch");
      std::uint32_t length = read_u32_le(body.data() + at);
      at += 4;
      if (length > body.size() - at) return Status::error(Status::Code::kRefused, "malformed op batch");
      ops.emplace_back(body.begin() + static_cast<std::ptrdiff_t>(at), body.begin() + static_cast<std::ptrdiff_t>(at + length));
      report_.op_bytes_received += length;
      at += length;
    }
    auto report = store_.ingest(ops);
    if (!report) return report.status();
    if (Status s = send(kCommitted, {}); !s) return s;
    for (const IngestOutcome& outcome : report->outcomes) {
      if (outcome.id) outstanding_.erase(*outcome.id);
      if (outcome.id && outcome.kind == IngestOutcome::Kind::kAccepted) received_.push_back(*outcome.id);
      if (outcome.kind == IngestOutcome::Kind::kAccepted || outcome.kind == IngestOutcome::Kind::kPending)
        ++report_.ops_received;
      else if (outcome.kind == IngestOutcome::Kind::kDuplicate)
        ++report_.ops_duplicate;
      else
        ++report_.ops_refused;
    }
    return Status::ok();
  }

  Store& store_;
  Framed& framed_;
  net::ChannelSender& sender_;
  net::ChannelReceiver& receiver_;
  SyncReport& report_;
  std::string my_scope_;
  const std::function<void(const SyncReport&)>& progress_;
  std::unique_ptr<net::Reconciler> reconciler_;
  std::set<Hash32> visible_;
  std::set<Hash32> outstanding_;
  std::set<Hash32> visible_blobs_;           // attachments of ops the peer may hold
  std::map<Hash32, Attachment> wanted_;      // blobs requested and not complete
  std::map<Hash32, Attachment> referenced_;  // attachments of every op this node holds
  std::vector<Hash32> received_;             // ops accepted in this session
  std::uint64_t blob_budget_ = 0;
  bool blobs_requested_ = false;
  Bytes partial_;  // parts of a reconciliation message still arriving
  std::size_t sent_upto_ = 0;
  std::size_t asked_upto_ = 0;
  bool reconciled_ = false;
  bool done_sent_ = false;
  bool done_received_ = false;
};

}  // namespace

Result<SyncReport> run_sync(Store& store, const KeyPair& node_key, Transport& transport, SyncRole role,
                            const std::array<std::uint8_t, 32>& ephemeral_seed,
                            const std::function<void(const SyncReport&)>& progress, std::uint64_t blob_budget_bytes) {
  SyncReport report;
  auto stats = store.stats();
  if (!stats) return stats.status();
  if (!stats->network_id) return Status::invalid("this node belongs to no network yet: import a bundle first");
  auto authority = store.authority();
  if (!authority) return authority.status();
  auto my_scopes = (*authority)->node_scopes(node_key.public_key());
  if (my_scopes.empty())
    return Status::invalid("this node (" + node_key.public_key().hex() + ") is not enrolled in its network");
  auto accept = [&](const PublicKey& peer) -> Status {
    auto scopes = (*authority)->node_scopes(peer);
    if (scopes.empty()) return Status::invalid("node " + peer.hex() + " is not enrolled in this network");
    report.peer_scope = scopes.front();
    return Status::ok();
  };
  Framed framed(transport, report);
  transport.set_receive_timeout_ms(limits::handshake_ms_max);  // a half-open or dripping peer is cut off
  net::Handshake handshake(role == SyncRole::kInitiator ? net::Handshake::Role::kInitiator
                                                        : net::Handshake::Role::kResponder,
                           node_key, *stats->network_id, ephemeral_seed, accept);
  if (role == SyncRole::kInitiator)
    if (Status s = framed.send(handshake.start()); !s) return s;
  while (!handshake.done()) {
    auto frame = framed.receive();
    if (!frame) return frame.status();
    auto reply = handshake.on_message(*frame);
    if (!reply) return reply.status();
    if (!reply->empty())
      if (Status s = framed.send(*reply); !s) return s;
  }
  report.peer = handshake.keys().peer;
  net::ChannelSender sender;
  net::ChannelReceiver receiver;
  if (Status s = framed.send(sender.start(handshake.keys().send)); !s) return s;
  auto header = framed.receive();
  if (!header) return header.status();
  if (Status s = receiver.start(handshake.keys().receive, *header); !s) return s;
  report.handshake_bytes = report.bytes_sent + report.bytes_received;
  transport.set_receive_timeout_ms(limits::sync_receive_timeout_ms);
  Session session(store, framed, sender, receiver, report, my_scopes.front(), progress, blob_budget_bytes);
  if (Status s = session.run(role); !s) return s;
  return report;
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
  return Status::ok();
}

}  // namespace anwang::node
