#include "node/store.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cassert>
#include <cstring>
#include <deque>
#include <map>
#include <set>
#include <thread>
#include <unordered_map>

#include "crdt/causal.h"
#include "crdt/hash.h"
#include "crdt/id_set.h"
#include "crdt/limits.h"
#include "crdt/text.h"

namespace anwang::node {

namespace {

constexpr unsigned kTablesMax = 24;
constexpr std::string_view kMetaSchemaVersion = "schema_version";
// A `deferred` row whose op became known at an upgrade and broke this release's rules.
constexpr std::string_view kVoidHere = "void: ";
constexpr std::string_view kMetaNetworkId = "network_id";
constexpr std::string_view kMetaCountyCode = "county_code";
constexpr std::string_view kLocalHlcLast = "hlc_last";
constexpr std::string_view kLocalHlcSeen = "hlc_seen";
// Set when the store was restored from a backup (node/BACKUP.md): u64 ms, when. While it is there
// no key of the keyring signs; a sync session that learnt every key's head removes it.
constexpr std::string_view kLocalRestored = "restored";
// Rows of `local` (node/STORE.md), each followed by a key in hex: a peer's clock offset, a key's
// head as other nodes hold it, a key's head adopted without holding it.
constexpr std::string_view kLocalClock = "clock/";
constexpr std::string_view kLocalKeyHead = "key_head/";
constexpr std::string_view kLocalKeyAdopted = "key_adopted/";

Bytes local_key(std::string_view prefix, const PublicKey& key) {
  std::string name(prefix);
  name += key.hex();
  return Bytes(name.begin(), name.end());
}

Bytes concat_u64(std::uint64_t a, std::uint64_t b) {
  Bytes out;
  append_u64_be(out, a);
  append_u64_be(out, b);
  return out;
}

// A key_head/ or key_adopted/ row: seq ‖ hlc, then the op id when known.
Bytes key_head_value(const KeyHead& head) {
  Bytes out = concat_u64(head.seq, head.hlc);
  if (head.id) out.insert(out.end(), head.id->bytes.begin(), head.id->bytes.end());
  return out;
}

Bytes concat(std::initializer_list<ByteView> parts) {
  Bytes out;
  for (ByteView part : parts) out.insert(out.end(), part.begin(), part.end());
  return out;
}

Bytes u64_be(std::uint64_t value) {
  Bytes out;
  append_u64_be(out, value);
  return out;
}

// (scope, 0x00, hlc) — the ids table's value and the prefix of the op's key in the ops table.
Bytes scope_time(const OpFields& fields) {
  Bytes out(fields.scope.begin(), fields.scope.end());
  out.push_back(0);
  append_u64_be(out, fields.hlc);
  return out;
}

Bytes op_key(const Op& op) { return concat({scope_time(op.fields), op.id.view()}); }

std::uint64_t hlc_of_scope_time(ByteView value) {
  assert(value.size() >= 9);
  return read_u64_be(value.data() + value.size() - 8);
}

// The scope of an `ids` value (scope ‖ 0x00 ‖ hlc).
std::string scope_of_scope_time(ByteView value) {
  assert(value.size() >= 9);
  return std::string(value.begin(), value.end() - 9);
}

std::string short_id(const Hash32& id) { return id.short_hex(); }

// The reach table's value: kind byte (1 everywhere, 2 notice) then a notice's recipients,
// comma-separated; or kind 3 for an op whose parents do not cover its own reach (Reach::within:
// ops written by hand or by releases before 19): its own reach, then each reach it lies within.
// Ops whose scope alone decides have no row.
constexpr std::uint8_t kReachEverywhere = 1;
constexpr std::uint8_t kReachNotice = 2;
constexpr std::uint8_t kReachWithin = 3;

bool needs_row(const Reach& reach) { return reach.everywhere || reach.notice || !reach.within.empty(); }

void append_text16(Bytes& out, std::string_view text) {
  out.push_back(static_cast<std::uint8_t>(text.size() >> 8));
  out.push_back(static_cast<std::uint8_t>(text.size()));
  out.insert(out.end(), text.begin(), text.end());
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) out += (i > 0 ? "," : "") + items[i];
  return out;
}

Bytes encode_reach(const Reach& reach) {
  if (reach.within.empty()) {
    Bytes out{reach.everywhere ? kReachEverywhere : kReachNotice};
    std::string recipients = joined(reach.recipients);
    out.insert(out.end(), recipients.begin(), recipients.end());
    return out;
  }
  // 3, then the own part: flags (1 everywhere, 2 notice), u16 recipients; a count; then for each
  // reach it lies within: u16 scope, flags, u16 recipients.
  Bytes out{kReachWithin};
  auto part = [&out](const Reach& r) {
    out.push_back(static_cast<std::uint8_t>((r.everywhere ? 1 : 0) | (r.notice ? 2 : 0)));
    append_text16(out, joined(r.recipients));
  };
  part(reach);
  out.push_back(static_cast<std::uint8_t>(reach.within.size()));
  for (const Reach& w : reach.within) {
    append_text16(out, w.scope);
    part(w);
  }
  return out;
}

// Reads what encode_reach wrote into `reach`, whose scope is set already.
bool decode_reach(ByteView value, Reach& reach) {
  if (value.empty()) return false;
  if (value[0] == kReachEverywhere || value[0] == kReachNotice) {
    reach.everywhere = value[0] == kReachEverywhere;
    reach.notice = value[0] == kReachNotice;
    reach.recipients = split_commas(std::string_view(reinterpret_cast<const char*>(value.data() + 1), value.size() - 1));
    return true;
  }
  if (value[0] != kReachWithin) return false;
  std::size_t at = 1;
  auto text16 = [&](std::string& out) {
    if (value.size() - at < 2) return false;
    std::size_t length = static_cast<std::size_t>(value[at]) << 8 | value[at + 1];
    at += 2;
    if (value.size() - at < length) return false;
    out.assign(reinterpret_cast<const char*>(value.data() + at), length);
    at += length;
    return true;
  };
  auto part = [&](Reach& r) {
    if (at >= value.size()) return false;
    r.everywhere = (value[at] & 1) != 0;
    r.notice = (value[at] & 2) != 0;
    ++at;
    std::string recipients;
    if (!text16(recipients)) return false;
    r.recipients = split_commas(recipients);
    return true;
  };
  if (!part(reach) || at >= value.size()) return false;
  std::size_t count = value[at++];
  reach.within.assign(count, Reach{});
  for (Reach& w : reach.within)
    if (!text16(w.scope) || !part(w)) return false;
  return at == value.size();
}

// The reach of the op stored under `key` (an ops/items key), from its reach row if it has one.
// False for a malformed key or row.
bool reach_at(ByteView key, const ByteView* row, Reach& reach) {
  if (key.size() < 41 || key[key.size() - 41] != 0) return false;
  reach.scope.assign(reinterpret_cast<const char*>(key.data()), key.size() - 41);
  reach.everywhere = reach.notice = false;
  reach.recipients.clear();
  reach.within.clear();
  return row == nullptr || decode_reach(*row, reach);
}

// The reach of the stored op `id`, from the indexes: not found when the store does not hold it.
Result<Reach> stored_reach(const Txn& txn, MDB_dbi ids, MDB_dbi reach_table, const Hash32& id) {
  auto where = txn.get(ids, id.view());
  if (!where) return where.status();
  if (!*where) return Status::not_found("op " + id.hex() + " is not in this store");
  Bytes key = concat({**where, id.view()});
  auto row = txn.get(reach_table, key);
  if (!row) return row.status();
  Reach reach;
  if (!reach_at(key, *row ? &**row : nullptr, reach)) return Status::corruption("the reach row of op " + id.hex() + " is malformed");
  return reach;
}

// An op's effective reach: its own, narrowed to where each of its parents goes (Reach::within).
// REQUIRES: every parent is stored.
Result<Reach> effective_reach(const Txn& txn, MDB_dbi ids, MDB_dbi reach_table, const Op& op) {
  Reach reach = reach_of(op);
  for (const Hash32& parent : op.fields.parents) {
    auto of_parent = stored_reach(txn, ids, reach_table, parent);
    if (!of_parent) return of_parent.status();
    narrow_reach(reach, *of_parent);
  }
  return reach;
}

// blobs_missing's value and blob_meta's: size (u64) then media type.
Bytes blob_meta_value(const Attachment& a) {
  Bytes meta = u64_be(a.size);
  meta.insert(meta.end(), a.media_type.begin(), a.media_type.end());
  return meta;
}

// Whether an op is stored (`ids`), waiting for parents (`pending`) or neither.
enum class Held { kNo, kStored, kWaiting };
Result<Held> held_as(const Txn& txn, MDB_dbi ids, MDB_dbi pending, const Hash32& id) {
  auto known = txn.get(ids, id.view());
  if (!known) return known.status();
  if (*known) return Held::kStored;
  auto waiting = txn.get(pending, id.view());
  if (!waiting) return waiting.status();
  return *waiting ? Held::kWaiting : Held::kNo;
}

// Parents an op must have before it applies: its causal parents. The author's previous op is
// not one of them unless listed: a township officer's previous op may be in another village,
// which a node of this village never holds (partial replication). Equivocation is still caught
// by (author, sequence number).
const std::vector<Hash32>& required_parents(const OpFields& fields) { return fields.parents; }

// Decodes bytes this store verified before writing them (under `id`, when the caller knows it).
Op must_decode(ByteView bytes, const Hash32* id = nullptr) {
  auto decoded = id ? decode_stored_op(bytes, *id) : decode_op(bytes, DecodeMode::kTrusted);
  assert(std::holds_alternative<Op>(decoded) && "an op we stored no longer decodes");
  return std::move(std::get<Op>(decoded));
}

}  // namespace

const char* outcome_name(IngestOutcome::Kind kind) {
  switch (kind) {
    case IngestOutcome::Kind::kAccepted: return "accepted";
    case IngestOutcome::Kind::kDuplicate: return "duplicate";
    case IngestOutcome::Kind::kPending: return "pending";
    case IngestOutcome::Kind::kRefused: return "refused";
  }
  return "unknown";
}

// One write transaction's worth of ingest. Holds the network id read at its start.
// Lists a hazard (at its report) or a record (at its first op) by kind: "hazard", "unit",
// "inspection", "tip", "incident", "notice", … (the `records` table).
Status Store::index_record(Txn& txn, const Tables& tables, const Op& op) {
  const OpFields& f = op.fields;
  std::string kind;
  if (const auto* hazard = std::get_if<HazardPayload>(&f.payload); hazard && hazard->action == "report") kind = "hazard";
  if (const auto* record = std::get_if<RecordPayload>(&f.payload); record && creates_object(f.payload))
    kind = record->kind;
  if (kind.empty()) return Status::ok();
  Bytes key(kind.begin(), kind.end());
  key.push_back(0);
  return txn.put(tables.records, concat({key, f.object.view()}), as_bytes(f.scope));
}

class Store::IngestTxn {
 public:
  using ResolvedFn = std::function<void(const Hash32&, const IngestOutcome&)>;

  IngestTxn(const Store& store, Txn& txn, const Tables& tables, AuthorityGraph& graph, ResolvedFn on_resolved)
      : store_(store), txn_(txn), tables_(tables), graph_(graph), on_resolved_(std::move(on_resolved)) {}

  Status load_network() {
    auto value = txn_.get(tables_.meta, as_bytes(kMetaNetworkId));
    if (!value) return value.status();
    if (*value) network_ = Hash32::from_view(**value);
    return Status::ok();
  }
  const std::optional<Hash32>& network() const { return network_; }
  std::size_t released() const { return released_; }
  // Where to list the ops stored and set waiting (IngestReport::stamps); none by default.
  void list_stamps(std::vector<IngestStamp>* stamps) { stamps_ = stamps; }

  Result<IngestOutcome> ingest_bytes(ByteView bytes) {
    // An op already stored or waiting is known by its id (the hash of its bytes) before the
    // costly decoding and signature check.
    Hash32 id = blake2b_256(bytes);
    auto held = already_held(id);
    if (!held) return held.status();
    if (*held) return std::move(**held);
    auto decoded = decode_op_with_id(bytes, id);
    if (auto* refused = std::get_if<RefusedOp>(&decoded)) return refusal(id, *refused);
    return admit(std::move(std::get<Op>(decoded)));
  }
  // The same, for bytes already decoded and verified outside the transaction (ParallelDecoder),
  // whose hash is `id`: a refusal names the bytes it refused, decodable or not.
  Result<IngestOutcome> ingest_decoded(const Hash32& id, std::variant<Op, RefusedOp> decoded) {
    if (auto* refused = std::get_if<RefusedOp>(&decoded)) return refusal(id, *refused);
    Op& op = std::get<Op>(decoded);
    auto held = already_held(op.id);  // another writer may have stored it since
    if (!held) return held.status();
    if (*held) return std::move(**held);
    return admit(std::move(op));
  }
  // An op this node has just signed: decoded from its bytes and checked exactly as a peer will
  // (decode_op_with_id), so that this node never stores or sends an op its peers refuse.
  Result<IngestOutcome> ingest_signed(const Op& op) {
    auto decoded = decode_op_with_id(op.bytes, op.id);
    if (auto* refused = std::get_if<RefusedOp>(&decoded)) return refusal(op.id, *refused);
    assert(std::get<Op>(decoded).fields == op.fields && "an op reads back as it was signed");
    return ingest_decoded(op.id, std::move(decoded));
  }

  // The authority frontier an op with these fields has once stored (its auth_past row).
  Result<std::vector<Hash32>> frontier_of(const Op& op) const { return auth_frontier(op); }

  Result<std::optional<std::uint64_t>> hlc_of(const Hash32& id) const {
    auto value = txn_.get(tables_.ids, id.view());
    if (!value) return value.status();
    if (!*value) return std::optional<std::uint64_t>();
    return std::optional<std::uint64_t>(hlc_of_scope_time(**value));
  }

 private:
  static IngestOutcome refusal(std::optional<Hash32> id, RefusedOp refused) {
    return IngestOutcome{IngestOutcome::Kind::kRefused, id, refused.reason, std::move(refused.detail)};
  }

  // The outcome for an op this store already holds or has waiting for its parents, if so.
  Result<std::optional<IngestOutcome>> already_held(const Hash32& id) const {
    auto held = held_as(txn_, tables_.ids, tables_.pending, id);
    if (!held) return held.status();
    if (*held == Held::kStored)
      return std::optional<IngestOutcome>(IngestOutcome{IngestOutcome::Kind::kDuplicate, id, {}, ""});
    if (*held == Held::kWaiting)
      return std::optional<IngestOutcome>(
          IngestOutcome{IngestOutcome::Kind::kPending, id, {}, "already waiting for its parents"});
    return std::optional<IngestOutcome>();
  }

  // Decoded and signature-checked, neither stored nor waiting (or released from waiting): now
  // the checks that need the store.
  Result<IngestOutcome> admit(Op op) {
    if (auto refused = check_network(op)) return refusal(op.id, *refused);
    if (auto refused = check_not_ahead(op)) {
      if (stamps_ != nullptr)
        stamps_->push_back(IngestStamp{op.id, op.fields.author, op.fields.author_seq, op.fields.hlc, false, true});
      return refusal(op.id, *refused);
    }
    auto missing = missing_parents(op);
    if (!missing) return missing.status();
    if (!missing->empty()) return hold(op, *missing);
    auto refused = check_with_parents(op);
    if (!refused) return refused.status();
    if (*refused) return refusal(op.id, **refused);
    if (Status s = write(op); !s) return s;
    if (Status s = release_waiters(op.id); !s) return s;
    return IngestOutcome{IngestOutcome::Kind::kAccepted, op.id, {}, ""};
  }

  std::optional<RefusedOp> check_network(const Op& op) const {
    if (std::holds_alternative<GenesisPayload>(op.fields.payload)) {
      if (network_ && *network_ != op.id)
        return RefusedOp{Refusal::kWrongNetwork, "this store already belongs to network " + short_id(*network_) +
                                                     "; a genesis of another network is refused"};
      return std::nullopt;
    }
    if (network_ && *op.fields.network != *network_)
      return RefusedOp{Refusal::kWrongNetwork, "op belongs to network " + short_id(*op.fields.network) +
                                                   ", this store to network " + short_id(*network_)};
    return std::nullopt;
  }

  // An op stamped more than limits::clock_skew_ms_max after this node's trusted time is not taken
  // yet: its sender keeps it and offers it again, and it is taken once the time has come
  // (crdt/OP_FORMAT.md, "Time"). Without a trusted time (a Pi at 1970 that no peer has corrected)
  // only the ceiling applies. Stored ops never become future ops by this rule, and a child is
  // always later than its parent, so no stored op waits for a held-back one.
  std::optional<RefusedOp> check_not_ahead(const Op& op) {
    if (!ahead_cap_) {
      ahead_cap_ = kHlcCeiling;
      if (store_.clock_ != nullptr) {
        TrustedTime trusted = store_.trusted_time_in(txn_, store_.clock_->now_ms());
        if (trusted.known) ahead_cap_ = std::min(kHlcCeiling, hlc_from_ms(trusted.trusted_ms + limits::clock_skew_ms_max));
      }
    }
    if (op.fields.hlc < *ahead_cap_) return std::nullopt;
    return RefusedOp{Refusal::kAheadOfClock,
                     "op is dated " + hlc_display(op.fields.hlc, TimeShown::kSeconds) + ", after this node's time " +
                         hlc_display(*ahead_cap_, TimeShown::kSeconds) +
                         " (5 minutes' leeway): it is taken once that time has come; check the author's clock"};
  }

  // Who may write at all: the author is a root key, or a delegation's grantee or an enrolment's
  // node in the op's own view (effective or not: a revoked grantee's ops are judged, and stand
  // or are void by the revocation rules). A key nobody ever named is refused and never relayed,
  // so ops of throwaway keys cost the county nothing. Decided from the op's causal past alone.
  Result<std::optional<RefusedOp>> check_author_office(const Op& op) const {
    if (std::holds_alternative<GenesisPayload>(op.fields.payload)) return std::optional<RefusedOp>();
    auto frontier = auth_frontier(op);
    if (!frontier) return frontier.status();
    std::vector<Hash32> view = std::move(*frontier);
    if (graph_.genesis()) view.push_back(graph_.op(*graph_.genesis()).id);
    if (graph_.names_in_view(op.fields.author, view)) return std::optional<RefusedOp>();
    return std::optional<RefusedOp>(RefusedOp{
        Refusal::kNoOffice, "key " + op.fields.author.short_hex() +
                                " holds no role, root key or enrolment in the op's causal past, so no node takes its ops"});
  }

  Result<std::vector<Hash32>> missing_parents(const Op& op) const {
    std::vector<Hash32> missing;
    if (op.fields.network && !network_) missing.push_back(*op.fields.network);  // the genesis itself
    for (const Hash32& parent : required_parents(op.fields)) {
      auto known = txn_.get(tables_.ids, parent.view());
      if (!known) return known.status();
      if (!*known) missing.push_back(parent);
    }
    return missing;
  }

  // Every rule that needs the op's parents, with every parent present: the same whether the op
  // came after its parents or waited for them.
  Result<std::optional<RefusedOp>> check_with_parents(const Op& op) const {
    auto refused = check_against_parents(op);
    if (!refused || *refused) return refused;
    return check_author_office(op);
  }

  // Author chain and clock rules, with every parent present.
  Result<std::optional<RefusedOp>> check_against_parents(const Op& op) const {
    for (const Hash32& parent : required_parents(op.fields)) {
      auto hlc = hlc_of(parent);
      if (!hlc) return hlc.status();
      if (**hlc >= op.fields.hlc)
        return std::optional<RefusedOp>(RefusedOp{Refusal::kClockNotAfterParents,
                                                  "op timestamp is not later than its parent " + short_id(parent)});
    }
    // The author chain is checked when the previous op is also a causal parent (then it is
    // present on every node that holds this op, and the verdict is the same everywhere).
    if (!op.fields.author_prev ||
        !std::binary_search(op.fields.parents.begin(), op.fields.parents.end(), *op.fields.author_prev))
      return std::optional<RefusedOp>();
    auto prev_key = txn_.get(tables_.ids, op.fields.author_prev->view());
    if (!prev_key) return prev_key.status();
    auto prev_bytes = txn_.get(tables_.ops, concat({**prev_key, op.fields.author_prev->view()}));
    if (!prev_bytes) return prev_bytes.status();
    if (!*prev_bytes) return Status::corruption("op " + short_id(*op.fields.author_prev) + " is indexed but missing");
    Op prev = must_decode(**prev_bytes, &*op.fields.author_prev);
    if (prev.fields.author != op.fields.author || prev.fields.author_seq + 1 != op.fields.author_seq)
      return std::optional<RefusedOp>(RefusedOp{
          Refusal::kBadAuthorChain, "previous op " + short_id(prev.id) + " is not this author's op number " +
                                        std::to_string(op.fields.author_seq - 1)});
    return std::optional<RefusedOp>();
  }

  Result<IngestOutcome> hold(const Op& op, const std::vector<Hash32>& missing) {
    if (txn_.entries(tables_.pending) >= limits::pending_ops_max)
      return IngestOutcome{IngestOutcome::Kind::kRefused, op.id, Refusal::kPendingFull,
                           "the pending area is full (" + std::to_string(limits::pending_ops_max) +
                               " ops waiting for parents); send the parents first"};
    if (Status s = txn_.put(tables_.pending, op.id.view(), op.bytes); !s) return s;
    for (const Hash32& parent : missing)
      if (Status s = txn_.put(tables_.pending_missing, concat({parent.view(), op.id.view()}), {}); !s) return s;
    if (stamps_ != nullptr)
      stamps_->push_back(IngestStamp{op.id, op.fields.author, op.fields.author_seq, op.fields.hlc, true});
    return IngestOutcome{IngestOutcome::Kind::kPending, op.id, {},
                         "waiting for " + std::to_string(missing.size()) + " parent(s), first " + short_id(missing[0])};
  }

  Status write(const Op& op) {
    // Kept decoded at once: the op is read back soon (its hazard's or record's view, sessions,
    // bundles). Should the transaction fail, the entry names an op the store does not hold,
    // which no read asks for.
    store_.keep_decoded(std::make_shared<const Op>(op));
    const OpFields& f = op.fields;
    if (stamps_ != nullptr) stamps_->push_back(IngestStamp{op.id, f.author, f.author_seq, f.hlc, false});
    Bytes where = scope_time(f);
    Bytes hlc = u64_be(f.hlc);
    Bytes stored_at = concat({where, op.id.view()});
    if (Status s = txn_.put(tables_.ops, stored_at, op.bytes); !s) return s;
    if (Status s = txn_.put(tables_.items, stored_at, {}); !s) return s;
    if (Status s = txn_.put(tables_.ids, op.id.view(), where); !s) return s;
    if (Status s = txn_.put(tables_.objects, concat({f.object.view(), hlc, op.id.view()}), {}); !s) return s;
    for (const Hash32& parent : required_parents(f))
      if (Status s = txn_.del(tables_.heads, concat({f.object.view(), parent.view()})); !s) return s;
    if (Status s = txn_.put(tables_.heads, concat({f.object.view(), op.id.view()}), hlc); !s) return s;
    if (Status s = txn_.put(tables_.authors, concat({f.author.view(), u64_be(f.author_seq), op.id.view()}), {}); !s)
      return s;
    if (Status s = note_equivocation(op); !s) return s;
    if (Status s = write_authority(op); !s) return s;
    auto reach = effective_reach(txn_, tables_.ids, tables_.reach, op);
    if (!reach) return reach.status();
    if (Status s = index_reach_and_blobs(txn_, tables_, op, *reach); !s) return s;
    if (Status s = index_record(txn_, tables_, op); !s) return s;
    // An op of a kind this release does not know: listed, to be judged once it is upgraded.
    if (const auto* deferred = std::get_if<DeferredPayload>(&f.payload))
      if (Status s = txn_.put(tables_.deferred, op.id.view(), as_bytes(deferred->what)); !s) return s;
    // Arrival order, this node's own: the next number after the last key.
    {
      auto cursor = Cursor::open(txn_, tables_.arrivals);
      if (!cursor) return cursor.status();
      std::uint64_t next = cursor->last() ? read_u64_be(cursor->key().data()) + 1 : 1;
      if (Status s = txn_.put(tables_.arrivals, u64_be(next), op.id.view(), MDB_APPEND); !s) return s;
    }
    auto seen = txn_.get(tables_.local, as_bytes(kLocalHlcSeen));
    if (!seen) return seen.status();
    if (!*seen || (*seen)->size() != 8 || read_u64_be((*seen)->data()) < f.hlc)
      if (Status s = txn_.put(tables_.local, as_bytes(kLocalHlcSeen), u64_be(f.hlc)); !s) return s;
    if (const auto* genesis = std::get_if<GenesisPayload>(&f.payload); genesis && !network_) {
      if (Status s = txn_.put(tables_.meta, as_bytes(kMetaNetworkId), op.id.view()); !s) return s;
      if (Status s = txn_.put(tables_.meta, as_bytes(kMetaCountyCode), as_bytes(genesis->county_code)); !s) return s;
      network_ = op.id;
      if (Status s = refuse_pending_of_other_networks(); !s) return s;
    }
    return Status::ok();
  }

  // Ops that arrived before the genesis waited for it like for a missing parent. Once the
  // genesis is here, those of another network can never apply: refuse them now, as they would
  // have been refused had they come after it, so what the store holds does not depend on the
  // order of arrival (found by tests/fuzz/ingest_fuzz).
  Status refuse_pending_of_other_networks() {
    std::vector<Op> foreign;
    {
      auto cursor = Cursor::open(txn_, tables_.pending);
      if (!cursor) return cursor.status();
      for (bool ok = cursor->first(); ok; ok = cursor->next()) {
        Hash32 waiting_id = *Hash32::from_view(cursor->key());
        Op waiting = must_decode(cursor->value(), &waiting_id);
        if (waiting.fields.network && *waiting.fields.network != *network_) foreign.push_back(std::move(waiting));
      }
    }
    for (const Op& waiting : foreign) {
      std::vector<Hash32> waited_for = required_parents(waiting.fields);
      waited_for.push_back(*waiting.fields.network);
      for (const Hash32& parent : waited_for)
        if (Status s = txn_.del(tables_.pending_missing, concat({parent.view(), waiting.id.view()})); !s) return s;
      if (Status s = txn_.del(tables_.pending, waiting.id.view()); !s) return s;
      auto refused = check_network(waiting);
      assert(refused.has_value());
      on_resolved_(waiting.id, refusal(waiting.id, *refused));
    }
    return Status::ok();
  }

  // Ops that waited for `arrived` may now be complete. Worklist, not recursion: a long chain of
  // pending ops must not overflow the stack.
  Status release_waiters(const Hash32& arrived) {
    std::deque<Hash32> queue{arrived};
    while (!queue.empty()) {
      Hash32 id = queue.front();
      queue.pop_front();
      std::vector<Hash32> waiters;
      {
        auto cursor = Cursor::open(txn_, tables_.pending_missing);
        if (!cursor) return cursor.status();
        for (bool ok = cursor->seek(id.view()); ok && starts_with(cursor->key(), id.view()); ok = cursor->next())
          waiters.push_back(*Hash32::from_view(cursor->key().subspan(32)));
      }
      for (const Hash32& waiter : waiters) {
        if (Status s = txn_.del(tables_.pending_missing, concat({id.view(), waiter.view()})); !s) return s;
        auto released = try_release(waiter);
        if (!released) return released.status();
        if (*released) queue.push_back(waiter);
      }
    }
    return Status::ok();
  }

  // True when `waiter` left the pending area and was written.
  Result<bool> try_release(const Hash32& waiter) {
    auto bytes = txn_.get(tables_.pending, waiter.view());
    if (!bytes) return bytes.status();
    if (!*bytes) return false;
    Op op = must_decode(**bytes, &waiter);
    auto missing = missing_parents(op);
    if (!missing) return missing.status();
    if (!missing->empty()) return false;
    if (Status s = txn_.del(tables_.pending, waiter.view()); !s) return s;
    if (auto refused = check_network(op)) {
      on_resolved_(op.id, refusal(op.id, *refused));
      return false;
    }
    auto refused = check_with_parents(op);
    if (!refused) return refused.status();
    if (*refused) {
      on_resolved_(op.id, refusal(op.id, **refused));
      return false;
    }
    if (Status s = write(op); !s) return s;
    ++released_;
    on_resolved_(op.id, IngestOutcome{IngestOutcome::Kind::kAccepted, op.id, {}, ""});
    return true;
  }

  // The maximal authority ops in the op's causal past: from its parents (and the genesis,
  // which every op of the network has in its past).
  Result<std::vector<Hash32>> auth_frontier(const Op& op) const {
    std::vector<Hash32> candidates;
    if (op.fields.network) candidates.push_back(*op.fields.network);
    for (const Hash32& parent : required_parents(op.fields)) {
      if (graph_.contains(parent)) {
        candidates.push_back(parent);
        continue;
      }
      auto past = txn_.get(tables_.auth_past, parent.view());
      if (!past) return past.status();
      if (!*past || (*past)->size() % 32 != 0) return Status::corruption("op " + short_id(parent) + " has no authority past");
      for (std::size_t at = 0; at < (*past)->size(); at += 32) candidates.push_back(*Hash32::from_view((*past)->subspan(at, 32)));
    }
    return graph_.maximal(candidates);
  }

  Status write_authority(const Op& op) {
    auto frontier = auth_frontier(op);
    if (!frontier) return frontier.status();
    Bytes past;
    for (const Hash32& id : *frontier) past.insert(past.end(), id.bytes.begin(), id.bytes.end());
    if (Status s = txn_.put(tables_.auth_past, op.id.view(), past); !s) return s;
    if (is_authority_payload(op.fields.payload)) {
      if (Status s = txn_.put(tables_.authority, concat({u64_be(op.fields.hlc), op.id.view()}), {}); !s) return s;
      auto held_frontier = store_.held_frontier_in(txn_, graph_, op, *frontier);
      if (!held_frontier) return held_frontier.status();
      graph_.add(op, *frontier, *held_frontier);
    }
    return Status::ok();
  }

  // Two ops with one author and one sequence number prove equivocation: index both.
  Status note_equivocation(const Op& op) {
    Bytes prefix = concat({op.fields.author.view(), u64_be(op.fields.author_seq)});
    std::vector<Hash32> others;
    {
      auto cursor = Cursor::open(txn_, tables_.authors);
      if (!cursor) return cursor.status();
      for (bool ok = cursor->seek(prefix); ok && starts_with(cursor->key(), prefix); ok = cursor->next()) {
        Hash32 id = *Hash32::from_view(cursor->key().subspan(40));
        if (id != op.id) others.push_back(id);
      }
    }
    if (others.empty()) return Status::ok();
    others.push_back(op.id);
    for (const Hash32& id : others)
      if (Status s = txn_.put(tables_.equivocations, concat({prefix, id.view()}), {}); !s) return s;
    return Status::ok();
  }

  const Store& store_;
  std::optional<std::uint64_t> ahead_cap_;  // check_not_ahead: the first hlc not taken yet
  Txn& txn_;
  const Tables& tables_;
  AuthorityGraph& graph_;
  ResolvedFn on_resolved_;
  std::optional<Hash32> network_;
  std::size_t released_ = 0;
  std::vector<IngestStamp>* stamps_ = nullptr;
};

Result<std::unique_ptr<Store>> Store::open(const StoreOptions& options) {
  std::uint64_t map_bytes = options.map_bytes == 0 ? limits::store_map_bytes_default : options.map_bytes;
  if (map_bytes < limits::store_map_bytes_min || map_bytes > limits::store_map_bytes_max)
    return Status::invalid("store map size must be between 1 MiB and 1 TiB");
  auto env = LmdbEnv::open(options.dir, map_bytes, kTablesMax, options.durable_commits);
  if (!env) return env.status();
  {
    // The schema this store was written with, read before anything is migrated: a store of an
    // earlier schema is copied first (an upgrade that fails, or a release that misbehaves, can be
    // undone from the copy), and a newer one is refused before anything is written.
    auto read = Txn::begin(**env, Txn::Mode::kRead);
    if (!read) return read.status();
    MDB_dbi meta = 0;
    std::optional<std::uint64_t> found;
    if (mdb_dbi_open(read->get(), "meta", 0, &meta) == 0) {
      auto version = read->get(meta, as_bytes(kMetaSchemaVersion));
      if (!version) return version.status();
      if (*version && (*version)->size() == 8) found = read_u64_be((*version)->data());
    }
    read->abort();
    if (found && *found > kStoreSchemaVersion)
      return Status::error(Status::Code::kUnavailable,
                           "the store in " + options.dir.string() + " was written by a newer release of anwang (store schema " +
                               std::to_string(*found) + "; this release reads schemas up to " +
                               std::to_string(kStoreSchemaVersion) +
                               "): install that release or a later one; this release changes nothing in it");
    if (found && *found < kStoreSchemaVersion)
      if (Status s = copy_before_migration(**env, options.dir, *found); !s) return s;
  }
  auto txn = Txn::begin(**env, Txn::Mode::kWrite);
  if (!txn) return txn.status();
  Tables tables{};
  struct Named { const char* name; MDB_dbi* dbi; };
  for (Named table : {Named{"meta", &tables.meta}, Named{"local", &tables.local}, Named{"ops", &tables.ops},
                      Named{"ids", &tables.ids}, Named{"objects", &tables.objects}, Named{"heads", &tables.heads},
                      Named{"authors", &tables.authors}, Named{"pending", &tables.pending},
                      Named{"pending_missing", &tables.pending_missing}, Named{"auth_past", &tables.auth_past},
                      Named{"authority", &tables.authority}, Named{"equivocations", &tables.equivocations},
                      Named{"records", &tables.records}, Named{"blobs", &tables.blobs},
                      Named{"blob_meta", &tables.blob_meta}, Named{"arrivals", &tables.arrivals},
                      Named{"reach", &tables.reach}, Named{"attachments", &tables.attachments},
                      Named{"blobs_missing", &tables.blobs_missing}, Named{"items", &tables.items},
                      Named{"deferred", &tables.deferred}}) {
    if (int rc = mdb_dbi_open(txn->get(), table.name, MDB_CREATE, table.dbi); rc != 0)
      return lmdb_status(rc, std::string("opening table ") + table.name);
  }
  auto version = txn->get(tables.meta, as_bytes(kMetaSchemaVersion));
  if (!version) return version.status();
  if (*version) {
    if ((*version)->size() != 8) return Status::corruption("the store's schema version is unreadable");
    std::uint64_t found = read_u64_be((*version)->data());
    assert(found <= kStoreSchemaVersion && "a newer schema is refused before the write transaction");
    if (found < 2) {
      // Version 1 → 2: index every op's reach and attachments (one pass, in the open transaction).
      auto cursor = Cursor::open(*txn, tables.ops);
      if (!cursor) return cursor.status();
      for (bool ok = cursor->first(); ok; ok = cursor->next()) {
        Op op_read = must_decode(cursor->value());
        if (Status s = index_reach_and_blobs(*txn, tables, op_read, reach_of(op_read)); !s) return s;
      }
    }
    if (found < 3) {
      // Version 2 → 3: the keys of the ops table alone, in the same order, for listing items
      // without reading the ops (one pass, in the open transaction).
      auto cursor = Cursor::open(*txn, tables.ops);
      if (!cursor) return cursor.status();
      for (bool ok = cursor->first(); ok; ok = cursor->next())
        if (Status s = txn->put(tables.items, cursor->key(), {}); !s) return s;
    }
    if (found < 4)
      if (Status s = migrate_effective_reach(*txn, tables); !s) return s;
    // Version 4 → 5: the `deferred` table, empty (a release of schema 4 refused what it did not know).
    if (found != kStoreSchemaVersion)
      if (Status s = txn->put(tables.meta, as_bytes(kMetaSchemaVersion), u64_be(kStoreSchemaVersion)); !s) return s;
  } else if (Status s = txn->put(tables.meta, as_bytes(kMetaSchemaVersion), u64_be(kStoreSchemaVersion)); !s) {
    return s;
  }
  auto void_here = judge_deferred(*txn, tables);
  if (!void_here) return void_here.status();
  if (Status s = txn->commit(); !s) return s;
  unsigned threads = options.verify_threads;
  if (threads == 0) threads = std::clamp(std::thread::hardware_concurrency(), 1u, limits::verify_threads_max);
  auto store = std::unique_ptr<Store>(new Store(std::move(*env), tables, threads, options.clock));
  store->void_deferred_ = std::move(*void_here);
  return store;
}

// Version 3 → 4: every op's reach row says where the op and its whole causal past may go
// (Reach::within). Arrival order puts every op after its parents, so each op's parents have their
// new rows when it is reached. One pass over the ops, in the open transaction.
Status Store::migrate_effective_reach(Txn& txn, const Tables& tables) {
  auto arrivals = Cursor::open(txn, tables.arrivals);
  if (!arrivals) return arrivals.status();
  for (bool ok = arrivals->first(); ok; ok = arrivals->next()) {
    auto id = Hash32::from_view(arrivals->value());
    if (!id) return Status::corruption("an arrivals row is malformed");
    auto where = txn.get(tables.ids, id->view());
    if (!where) return where.status();
    if (!*where) continue;  // `anwang verify` reports it
    Bytes key = concat({**where, id->view()});
    auto bytes = txn.get(tables.ops, key);
    if (!bytes) return bytes.status();
    if (!*bytes) return Status::corruption("op " + id->hex() + " is indexed but missing");
    Op op = must_decode(**bytes, &*id);
    auto reach = effective_reach(txn, tables.ids, tables.reach, op);
    if (!reach) return reach.status();
    if (reach->within.empty()) continue;  // its row (or none) is already right
    if (Status s = txn.put(tables.reach, key, encode_reach(*reach)); !s) return s;
  }
  return Status::ok();
}

Status Store::copy_before_migration(LmdbEnv& env, const std::filesystem::path& dir, std::uint64_t schema) {
  std::filesystem::path copy = dir.parent_path() / (dir.filename().string() + ".schema" + std::to_string(schema));
  std::error_code ec;
  std::filesystem::create_directories(copy, ec);
  if (ec) return Status::io_error("cannot create " + copy.string() + " for the copy taken before the upgrade: " + ec.message());
  std::filesystem::path file = copy / "data.mdb", partial = copy / "data.mdb.partial";
  // A copy left by an earlier attempt is of this same schema and no newer than the store: kept.
  if (std::filesystem::exists(file, ec)) return Status::ok();
  std::filesystem::remove(partial, ec);
  if (Status s = env.copy_compacted(partial); !s)
    return Status::io_error("the store was not upgraded: the copy taken before it failed (" + s.message() +
                            "); free some disk space and start again");
  std::filesystem::rename(partial, file, ec);
  if (ec) return Status::io_error("cannot rename " + partial.string() + ": " + ec.message());
  return Status::ok();
}

Result<std::set<Hash32>> Store::judge_deferred(Txn& txn, const Tables& tables) {
  std::set<Hash32> void_here;
  std::vector<std::pair<Hash32, std::string>> rows;
  {
    auto cursor = Cursor::open(txn, tables.deferred);
    if (!cursor) return cursor.status();
    for (bool ok = cursor->first(); ok; ok = cursor->next()) {
      auto id = Hash32::from_view(cursor->key());
      if (!id) return Status::corruption("a deferred row is malformed");
      rows.emplace_back(*id, std::string(cursor->value().begin(), cursor->value().end()));
    }
  }
  for (const auto& [id, what] : rows) {
    if (what.starts_with(kVoidHere)) {
      void_here.insert(id);
      continue;
    }
    auto where = txn.get(tables.ids, id.view());
    if (!where) return where.status();
    if (!*where) return Status::corruption("deferred op " + id.hex() + " is not held");
    auto bytes = txn.get(tables.ops, concat({**where, id.view()}));
    if (!bytes) return bytes.status();
    if (!*bytes) return Status::corruption("deferred op " + id.hex() + " is indexed but missing");
    // Checked in full, as from a peer: the rules of its kind are known now.
    auto decoded = decode_op_with_id(**bytes, id);
    std::string refused;
    if (auto* refusal = std::get_if<RefusedOp>(&decoded)) refused = refusal->detail;
    const Op* op = std::get_if<Op>(&decoded);
    if (op && std::holds_alternative<DeferredPayload>(op->fields.payload)) continue;  // still unknown
    if (op && is_authority_payload(op->fields.payload))
      refused = "an authority op cannot come as a kind added later (crdt/OP_FORMAT.md, \"Compatibility\")";
    if (!refused.empty()) {
      if (Status s = txn.put(tables.deferred, id.view(), as_bytes(std::string(kVoidHere) + refused)); !s) return s;
      void_here.insert(id);
      continue;
    }
    auto reach = effective_reach(txn, tables.ids, tables.reach, *op);
    if (!reach) return reach.status();
    if (Status s = index_reach_and_blobs(txn, tables, *op, *reach); !s) return s;
    if (Status s = index_record(txn, tables, *op); !s) return s;
    if (Status s = txn.del(tables.deferred, id.view()); !s) return s;
  }
  return void_here;
}

Status Store::index_reach_and_blobs(Txn& txn, const Tables& tables, const Op& op, const Reach& reach) {
  if (needs_row(reach))
    if (Status s = txn.put(tables.reach, op_key(op), encode_reach(reach)); !s) return s;
  const std::vector<Attachment>* photos = attachments_of(op.fields.payload);
  if (photos == nullptr) return Status::ok();
  for (const Attachment& a : *photos) {
    if (Status s = txn.put(tables.attachments, concat({a.hash.view(), op.id.view()}), {}); !s) return s;
    auto held = txn.get(tables.blob_meta, a.hash.view());
    if (!held) return held.status();
    if (!*held)
      if (Status s = txn.put(tables.blobs_missing, a.hash.view(), blob_meta_value(a)); !s) return s;
  }
  return Status::ok();
}

namespace {

// Decodes and verifies ops of a batch on helper threads while the single writer stores the
// earlier ones: signature checks (the costly part) overlap the writes. The writer takes results
// in batch order; when the one it needs is not ready it decodes the next unclaimed op itself
// rather than wait idle.
class ParallelDecoder {
 public:
  ParallelDecoder(std::span<const Bytes> batch, std::vector<std::size_t> todo, unsigned helpers)
      : batch_(batch), todo_(std::move(todo)), slots_(todo_.size()), slot_of_(batch.size(), kNone) {
    for (std::size_t k = 0; k < todo_.size(); ++k) slot_of_[todo_[k]] = k;
    for (unsigned h = 0; h < helpers; ++h)
      threads_.emplace_back([this] {
        while (decode_next()) {
        }
      });
  }
  ~ParallelDecoder() {
    stop_.store(true);
    for (std::thread& thread : threads_) thread.join();
  }
  ParallelDecoder(const ParallelDecoder&) = delete;
  ParallelDecoder& operator=(const ParallelDecoder&) = delete;

  // The decoded op at batch index i with the hash of its bytes, if i was given to decode.
  struct Decoded {
    Hash32 id;
    std::variant<Op, RefusedOp> op;
  };
  std::optional<Decoded> take(std::size_t i) {
    if (slot_of_[i] == kNone) return std::nullopt;
    Slot& slot = slots_[slot_of_[i]];
    while (!slot.done.load(std::memory_order_acquire))
      if (!decode_next()) slot.done.wait(false, std::memory_order_acquire);
    return std::move(slot.result);
  }

 private:
  static constexpr std::size_t kNone = ~std::size_t{0};
  struct Slot {
    std::atomic<bool> done{false};
    std::optional<Decoded> result;
  };

  // Claims and decodes the next op; false when none is left (or the writer gave up).
  bool decode_next() {
    if (stop_.load(std::memory_order_relaxed)) return false;
    std::size_t k = next_.fetch_add(1);
    if (k >= slots_.size()) return false;
    ByteView bytes = batch_[todo_[k]];
    Hash32 id = blake2b_256(bytes);
    slots_[k].result = Decoded{id, decode_op_with_id(bytes, id)};
    slots_[k].done.store(true, std::memory_order_release);
    slots_[k].done.notify_all();
    return true;
  }

  std::span<const Bytes> batch_;
  std::vector<std::size_t> todo_;
  std::vector<Slot> slots_;
  std::vector<std::size_t> slot_of_;
  std::atomic<std::size_t> next_{0};
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
};

}  // namespace

Result<std::vector<std::size_t>> Store::not_held(std::span<const Bytes> batch) const {
  std::vector<std::size_t> todo;
  auto txn = Txn::begin(*env_, Txn::Mode::kRead);
  if (!txn) return txn.status();
  for (std::size_t i = 0; i < batch.size(); ++i) {
    auto held = held_as(*txn, tables_.ids, tables_.pending, blake2b_256(batch[i]));
    if (!held) return held.status();
    if (*held == Held::kNo) todo.push_back(i);
  }
  return todo;
}

Result<IngestReport> Store::ingest(std::span<const Bytes> batch) {
  assert(batch.size() <= limits::ingest_batch_ops_max);
  // Signature checks on helper threads, overlapping the single writer's transaction; only for
  // ops this store neither holds nor has waiting (duplicates cost a lookup, not a check).
  std::optional<ParallelDecoder> decoder;
  if (verify_threads_ > 1 && batch.size() >= limits::verify_parallel_ops_min) {
    auto todo = not_held(batch);
    if (!todo) return todo.status();
    if (todo->size() >= limits::verify_parallel_ops_min) decoder.emplace(batch, std::move(*todo), verify_threads_ - 1);
  }
  auto txn = Txn::begin(*env_, Txn::Mode::kWrite);
  if (!txn) return txn.status();
  auto graph = graph_for_write(*txn);
  if (!graph) return graph.status();
  IngestReport report;
  std::unordered_map<Hash32, std::size_t> waiting;  // batch ops that went pending, by id
  IngestTxn ingest(*this, *txn, tables_, **graph, [&](const Hash32& id, const IngestOutcome& outcome) {
    if (auto it = waiting.find(id); it != waiting.end()) report.outcomes[it->second] = outcome;
  });
  if (Status s = ingest.load_network(); !s) return s;
  ingest.list_stamps(&report.stamps);
  // A failure below may leave the in-memory graph ahead of the store: undo its additions.
  auto fail = [this, graph_size = (*graph)->size()](Status status) {
    rollback_graph(graph_size);
    return status;
  };
  for (std::size_t i = 0; i < batch.size(); ++i) {
    std::optional<ParallelDecoder::Decoded> decoded;
    if (decoder) decoded = decoder->take(i);
    auto outcome = decoded ? ingest.ingest_decoded(decoded->id, std::move(decoded->op)) : ingest.ingest_bytes(batch[i]);
    if (!outcome) return fail(outcome.status());
    if (outcome->kind == IngestOutcome::Kind::kPending && outcome->id) waiting[*outcome->id] = report.outcomes.size();
    report.outcomes.push_back(std::move(*outcome));
  }
  if (Status s = txn->commit(); !s) return fail(s);
  std::size_t batch_released = 0;
  for (const auto& [id, index] : waiting)
    if (report.outcomes[index].kind != IngestOutcome::Kind::kPending) ++batch_released;
  report.released_from_pending = ingest.released() - batch_released;
  return report;
}

Result<std::vector<Hash32>> Store::still_pending(std::span<const Hash32> ids) const {
  auto txn = Txn::begin(*env_, Txn::Mode::kRead);
  if (!txn) return txn.status();
  std::vector<Hash32> waiting;
  for (const Hash32& id : ids) {
    auto bytes = txn->get(tables_.pending, id.view());
    if (!bytes) return bytes.status();
    if (*bytes) waiting.push_back(id);
  }
  return waiting;
}

Result<std::size_t> Store::drop_pending(std::span<const Hash32> ids) {
  auto txn = Txn::begin(*env_, Txn::Mode::kWrite);
  if (!txn) return txn.status();
  std::size_t dropped = 0;
  for (const Hash32& id : ids) {
    auto bytes = txn->get(tables_.pending, id.view());
    if (!bytes) return bytes.status();
    if (!*bytes) continue;
    Op op = must_decode(**bytes, &id);
    // Its rows in pending_missing: one per parent (and the genesis) still missing when it was held.
    std::vector<Hash32> parents = required_parents(op.fields);
    if (op.fields.network) parents.push_back(*op.fields.network);
    for (const Hash32& parent : parents)
      if (Status s = txn->del(tables_.pending_missing, concat({parent.view(), id.view()})); !s) return s;
    if (Status s = txn->del(tables_.pending, id.view()); !s) return s;
    ++dropped;
  }
  if (Status s = txn->commit(); !s) return s;
  return dropped;
}

Result<Op> Store::author(const KeyPair& key, const OpDraft& draft, const PhysicalClock& clock) {
  auto ops = author_or_judge(key.public_key(), &key, std::span<const OpDraft>(&draft, 1), clock, nullptr);
  if (!ops) return ops.status();
  return std::move(ops->front());
}

Result<std::vector<Op>> Store::author_all(const KeyPair& key, std::span<const OpDraft> drafts, const PhysicalClock& clock) {
  assert(!drafts.empty() && drafts.size() <= limits::ingest_batch_ops_max);
  return author_or_judge(key.public_key(), &key, drafts, clock, nullptr);
}

Result<Verdict> Store::judge_draft(const PublicKey& author, const OpDraft& draft, const PhysicalClock& clock) {
  std::optional<Verdict> verdict;
  auto judged = author_or_judge(author, nullptr, std::span<const OpDraft>(&draft, 1), clock, &verdict);
  if (verdict) return *verdict;  // the path stopped after judging, on purpose
  if (judged) return Status::error(Status::Code::kCorruption, "a judged draft was signed");  // unreachable
  return judged.status();
}

Result<std::vector<Op>> Store::author_or_judge(const PublicKey& author_key, const KeyPair* signer,
                                               std::span<const OpDraft> drafts, const PhysicalClock& clock,
                                               std::optional<Verdict>* judged) {
  auto txn = Txn::begin(*env_, Txn::Mode::kWrite);
  if (!txn) return txn.status();
  auto graph = graph_for_write(*txn);
  if (!graph) return graph.status();
  // A refused draft may have added itself (or the batch's earlier drafts) to the in-memory graph:
  // undo that. The state judged with it goes first, so that it does not hold the graph
  // (rollback_graph cuts a graph back only when nothing else holds it).
  written_state_.reset();
  auto fail = [this, graph_size = (*graph)->size()](Status status) {
    written_state_.reset();
    rollback_graph(graph_size);
    return status;
  };
  IngestTxn ingest(*this, *txn, tables_, **graph, [](const Hash32&, const IngestOutcome&) {});
  if (Status s = ingest.load_network(); !s) return s;
  // Each draft in turn in the one transaction, each seeing the ones before it (the author's
  // sequence, the heads, the authority graph): all are written, or none.
  std::vector<Op> ops;
  for (const OpDraft& draft : drafts) {
    auto op = author_in(*txn, **graph, ingest, author_key, signer, draft, clock, judged);
    if (!op) return fail(op.status());
    ops.push_back(std::move(*op));
  }
  if (Status s = txn->commit(); !s) return fail(s);
  adopt_written_state();
  return ops;
}

Result<std::vector<Result<Op>>> Store::author_batch(const KeyPair& key, std::span<const OpDraft> drafts,
                                                    const PhysicalClock& clock) {
  auto outcomes = draft_batch(key.public_key(), &key, drafts, clock);
  if (!outcomes) return outcomes.status();
  std::vector<Result<Op>> out;
  for (DraftOutcome& outcome : *outcomes) out.push_back(std::move(outcome.op));
  return out;
}

Result<std::vector<Result<Verdict>>> Store::judge_batch(const PublicKey& author, std::span<const OpDraft> drafts,
                                                        const PhysicalClock& clock) {
  auto outcomes = draft_batch(author, nullptr, drafts, clock);
  if (!outcomes) return outcomes.status();
  std::vector<Result<Verdict>> out;
  for (DraftOutcome& outcome : *outcomes) {
    if (outcome.verdict) out.emplace_back(std::move(*outcome.verdict));  // the path stopped after judging
    else out.emplace_back(outcome.op ? Status::corruption("a judged draft was signed") : outcome.op.status());
  }
  return out;
}

Result<std::vector<Store::DraftOutcome>> Store::draft_batch(const PublicKey& author_key, const KeyPair* signer,
                                                            std::span<const OpDraft> drafts, const PhysicalClock& clock) {
  assert(drafts.size() <= limits::ingest_batch_ops_max);
  auto txn = Txn::begin(*env_, Txn::Mode::kWrite);
  if (!txn) return txn.status();
  auto graph = graph_for_write(*txn);
  if (!graph) return graph.status();
  written_state_.reset();
  const std::size_t batch_graph_size = (*graph)->size();
  auto abandon = [this, batch_graph_size](Status status) {
    written_state_.reset();
    rollback_graph(batch_graph_size);
    return status;
  };
  IngestTxn ingest(*this, *txn, tables_, **graph, [](const Hash32&, const IngestOutcome&) {});
  if (Status s = ingest.load_network(); !s) return s;
  std::vector<DraftOutcome> out;
  out.reserve(drafts.size());
  for (const OpDraft& draft : drafts) {
    const std::size_t graph_size = (*graph)->size();
    std::optional<Verdict> verdict;
    bool wrote = false;
    auto op = author_in(*txn, **graph, ingest, author_key, signer, draft, clock, signer ? nullptr : &verdict, &wrote);
    if (!op && wrote)  // its op is in the transaction already and cannot be taken out alone
      return abandon(Status::error(op.status().code(), "a draft of the batch was refused after it was written (" +
                                                           op.status().message() + "); nothing of the batch was kept"));
    if (!op) {
      // Refused (or only judged) before its op was written: only the timestamp it drew stays, and
      // a later one follows it. The others go on.
      written_state_.reset();
      rollback_graph(graph_size);
    }
    out.push_back({std::move(op), std::move(verdict)});
  }
  if (signer == nullptr) {
    abandon(Status::ok());  // judged only: the transaction is abandoned, nothing of it kept
    return out;
  }
  if (Status s = txn->commit(); !s) return abandon(s);
  adopt_written_state();
  return out;
}

Result<Op> Store::author_in(Txn& txn, AuthorityGraph& graph, IngestTxn& ingest, const PublicKey& author_key,
                            const KeyPair* signer, const OpDraft& draft, const PhysicalClock& clock,
                            std::optional<Verdict>* judged, bool* wrote) {
  OpFields fields;
  fields.author = author_key;
  fields.scope = draft.scope;
  fields.object = draft.object;
  fields.payload = draft.payload;
  bool is_genesis = std::holds_alternative<GenesisPayload>(draft.payload);
  if (!is_genesis) {
    if (!ingest.network())
      return Status::error(Status::Code::kUnavailable,
                           "this node belongs to no network yet: create one with 'anwang genesis' or import a bundle");
    fields.network = *ingest.network();
  } else if (ingest.network()) {
    return Status::error(Status::Code::kAlreadyExists, "this node already belongs to network " + ingest.network()->hex());
  }
  // The author's latest op: the last key with the author's prefix in the authors table.
  {
    auto cursor = Cursor::open(txn, tables_.authors);
    if (!cursor) return cursor.status();
    Bytes after = concat({author_key.view(), u64_be(~0ull)});
    bool positioned = cursor->seek(after) ? cursor->prev() : cursor->last();
    if (positioned && starts_with(cursor->key(), author_key.view())) {
      fields.author_seq = read_u64_be(cursor->key().data() + 32) + 1;
      fields.author_prev = Hash32::from_view(cursor->key().subspan(40));
    }
  }
  // A key that other nodes have seen sign further than this store holds (a node restored from an
  // old copy, a key used on two nodes) would sign numbers the network has seen: refused until the
  // store holds that op, or has adopted it as the key's head (which it then follows).
  auto standing = key_standing_in(txn, author_key);
  if (!standing) return standing.status();
  if (!standing->behind.empty()) return Status::error(Status::Code::kUnavailable, standing->behind);
  // Ops dated after the trusted time and its leeway, which this store would not take now
  // (check_not_ahead), are no parents of a new op (nor is the author's previous op or this node's
  // last timestamp a floor for it): a wrong clock or a forged date never drags the new op's time
  // along. Without a trusted time (a Pi at 1970 that no peer has corrected), or in a store that
  // keeps no clock (StoreOptions::clock: the simulator's), only the ceiling bounds them.
  const TrustedTime trusted_now = trusted_time_in(txn, clock.now_ms());
  const bool bounded = clock_ != nullptr && trusted_now.known;
  const std::uint64_t dated_before =
      bounded ? std::min(kHlcCeiling, hlc_from_ms(trusted_now.trusted_ms + limits::clock_skew_ms_max)) : kHlcCeiling;
  std::optional<std::uint64_t> adopted_hlc;  // the previous op's time, when it is adopted rather than held
  if (standing->adopted && standing->adopted->seq >= fields.author_seq) {
    fields.author_seq = standing->adopted->seq + 1;
    fields.author_prev = standing->adopted->id;
    adopted_hlc = standing->adopted->hlc;
  }
  // A new record's object id is derived from the finished op (created_object_id, below): it has
  // no heads yet.
  if (draft.target == DraftTarget::kNewRecord) fields.object = Hash32{};
  // Parents: the object's heads and whatever the caller adds, each going everywhere the new op
  // goes (a node that holds the op must be able to hold its parents: crdt/OP_FORMAT.md).
  const Reach own = reach_of(fields);
  if (draft.target == DraftTarget::kExisting) {
    auto heads = covering_heads(txn, fields.object, own, dated_before);
    if (!heads) return heads.status();
    fields.parents = std::move(*heads);
  }
  for (const Hash32& extra : draft.extra_parents) {
    auto reach = stored_reach(txn, tables_.ids, tables_.reach, extra);
    if (!reach) return reach.status();
    if (!reach_covers(*reach, own))
      return Status::invalid("parent op " + extra.short_hex() + " does not go everywhere this op goes (scope " + own.scope + ")");
    fields.parents.push_back(extra);
  }
  // The authority heads, so the grants that authorise this op are in its causal past. If there
  // are more than the parent bound allows, the newest are kept.
  auto state_now = state_in(txn);
  if (!state_now) return state_now.status();
  auto covering_authority = covering_authority_heads(txn, graph, **state_now, own, dated_before);
  if (!covering_authority) return covering_authority.status();
  std::vector<Hash32> authority_heads = std::move(*covering_authority);
  std::size_t room = limits::op_parents_max > fields.parents.size() ? limits::op_parents_max - fields.parents.size() : 0;
  if (authority_heads.size() > room) {
    std::sort(authority_heads.begin(), authority_heads.end(), [&](const Hash32& a, const Hash32& b) {
      const Op& x = graph.op(*graph.index_of(a));
      const Op& y = graph.op(*graph.index_of(b));
      return std::tie(y.fields.hlc, y.id) < std::tie(x.fields.hlc, x.id);
    });
    authority_heads.resize(room);
  }
  fields.parents.insert(fields.parents.end(), authority_heads.begin(), authority_heads.end());
  std::uint64_t floor = 0;
  if (adopted_hlc && *adopted_hlc < dated_before) floor = *adopted_hlc;
  for (const Hash32& parent : fields.parents) {
    auto hlc = ingest.hlc_of(parent);
    if (!hlc) return hlc.status();
    if (!*hlc) return Status::not_found("parent op " + parent.hex() + " is not in this store");
    floor = std::max(floor, **hlc);
  }
  if (fields.author_prev && !adopted_hlc) {  // later than the author's last op too, unless that is ahead
    auto hlc = ingest.hlc_of(*fields.author_prev);
    if (!hlc) return hlc.status();
    if (*hlc && **hlc < dated_before) floor = std::max(floor, **hlc);
  }
  auto last = txn.get(tables_.local, as_bytes(kLocalHlcLast));
  if (!last) return last.status();
  std::uint64_t last_hlc = *last && (*last)->size() == 8 ? read_u64_be((*last)->data()) : 0;
  // This node's own last timestamp, when it was ahead (its clock was wrong, and its peers have
  // told it so since), is no floor either: the new op is stamped at the trusted time.
  if (bounded && last_hlc >= dated_before) last_hlc = hlc_from_ms(trusted_now.trusted_ms);
  // Stamped with the trusted time: this node's clock corrected by its peers' (a Pi at 1970 that
  // has synced once stamps its ops with their time).
  CorrectedClock trusted(clock, trusted_now.correction_ms);
  HybridClock hybrid(trusted, last_hlc);
  auto stamped = hybrid.next(floor);
  if (!stamped)
    return Status::invalid("this op cannot be stamped: a parent or this node's clock is at " + hlc_display(kHlcCeiling) +
                           ", the ceiling of every timestamp; check the machine's clock");
  fields.hlc = *stamped;
  if (Status s = txn.put(tables_.local, as_bytes(kLocalHlcLast), u64_be(fields.hlc)); !s) return s;
  // A deadline in days counts from the notice's own timestamp, never from the signer's wall clock.
  if (auto* hazard = std::get_if<HazardPayload>(&fields.payload); hazard && hazard->deadline_days != 0)
    hazard->deadline_ms = hlc_ms(fields.hlc) + hazard->deadline_days * kDeadlineDayMs;
  if (draft.target == DraftTarget::kNewRecord) {
    normalize_parents(fields);  // as sign_op will: the id covers the body as signed
    fields.object = created_object_id(fields);
  }
  // A hazard or record step is judged before it is signed: a refused draft costs no signature
  // and no writes. The judgment made again once the op is stored (below) is the one that counts.
  if (draft.admit == DraftAdmit::kEffectiveOnly || judged != nullptr) {
    normalize_parents(fields);  // as sign_op will
    if (Status s = check_op_fields(fields); !s) return s;
    auto verdict = draft_verdict_in(txn, ingest, fields);
    if (!verdict) return verdict.status();
    // Judged only (judge_draft): the verdict, nothing signed, the transaction abandoned. A draft
    // that is no hazard or record step is judged by the authority rules alone when it is stored.
    if (judged != nullptr) {
      *judged = *verdict ? **verdict : Verdict{true, {}, {}, {}};
      return Status::error(Status::Code::kUnavailable, "judged only, nothing signed");
    }
    if (*verdict && !(*verdict)->effective) return Status::invalid("refused, nothing written: " + (*verdict)->reason);
  }
  if (signer == nullptr) return Status::invalid("no key to sign with");
  auto op = sign_op(std::move(fields), *signer);
  if (!op) return op.status();
  if (wrote != nullptr) *wrote = true;  // from here on the transaction may hold some of the op
  auto outcome = ingest.ingest_signed(*op);
  if (!outcome) return outcome.status();
  if (outcome->kind != IngestOutcome::Kind::kAccepted)
    return Status::invalid(std::string("the new op was ") + outcome_name(outcome->kind) + ": " + outcome->detail);
  if (draft.admit == DraftAdmit::kEffectiveOnly) {
    auto verdict = verdict_in(txn, *op);
    if (!verdict) return verdict.status();
    if (!verdict->effective) return Status::invalid("refused, nothing written: " + verdict->reason);
  }
  return std::move(*op);
}

Result<std::vector<Hash32>> Store::covering_heads(const Txn& txn, const Hash32& object, const Reach& own,
                                                  std::uint64_t dated_before) const {
  std::vector<Hash32> heads;
  bool all_cover = true;
  {
    auto cursor = Cursor::open(txn, tables_.heads);
    if (!cursor) return cursor.status();
    for (bool ok = cursor->seek(object.view()); ok && starts_with(cursor->key(), object.view()); ok = cursor->next()) {
      heads.push_back(*Hash32::from_view(cursor->key().subspan(32)));
      all_cover = all_cover && cursor->value().size() == 8 && read_u64_be(cursor->value().data()) < dated_before;
    }
  }
  for (const Hash32& head : heads) {
    auto reach = stored_reach(txn, tables_.ids, tables_.reach, head);
    if (!reach) return reach.status();
    auto op = held_op(txn, head);
    if (!op) return op.status();
    all_cover = all_cover && reach_covers(*reach, own) && !std::holds_alternative<DeferredPayload>((*op)->fields.payload);
  }
  if (all_cover) return heads;
  // A head that does not go where the new op goes: an op written in another scope on this object
  // (by hand, or a note of a release before 19). The new op follows the newest of the object's
  // ops that do go there, and never names the others.
  auto ids = object_op_ids(txn, object);
  if (!ids) return ids.status();
  std::vector<std::shared_ptr<const Op>> ops;
  std::vector<const Op*> pointers;
  std::vector<std::size_t> covering;
  for (const Hash32& id : *ids) {
    auto op = held_op(txn, id);
    if (!op) return op.status();
    auto reach = stored_reach(txn, tables_.ids, tables_.reach, id);
    if (!reach) return reach.status();
    // An op of a kind this release does not know is never named: it may break rules this release
    // cannot check, and a peer that knows them would then never take the new op.
    if (reach_covers(*reach, own) && (*op)->fields.hlc < dated_before &&
        !std::holds_alternative<DeferredPayload>((*op)->fields.payload))
      covering.push_back(ops.size());
    pointers.push_back(op->get());
    ops.push_back(std::move(*op));
  }
  std::vector<std::size_t> order(ops.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return std::tie(ops[a]->fields.hlc, ops[a]->id) < std::tie(ops[b]->fields.hlc, ops[b]->id);
  });
  if (covering.empty() && ops[order[0]]->fields.hlc >= dated_before)
    return Status::error(Status::Code::kUnavailable,
                         "object " + object.short_hex() + " was created at " +
                             hlc_display(ops[order[0]]->fields.hlc, TimeShown::kSeconds) +
                             ", after this node's time: its author's clock was ahead; a step on it can be written once "
                             "that time has come");
  if (covering.empty())
    return Status::invalid("object " + object.short_hex() + " lives at " + ops[order[0]]->fields.scope + ", which scope " +
                           own.scope + " does not hold: write this op at " + ops[order[0]]->fields.scope);
  std::vector<const Op*> sorted;
  std::vector<std::size_t> place(ops.size());
  for (std::size_t k = 0; k < order.size(); ++k) {
    place[order[k]] = k;
    sorted.push_back(pointers[order[k]]);
  }
  CausalOrder causal(sorted);
  std::vector<std::size_t> subset;
  for (std::size_t i : covering) subset.push_back(place[i]);
  std::vector<Hash32> out;
  for (std::size_t k : causal.maximal(subset, [](std::size_t) { return true; })) out.push_back(sorted[k]->id);
  return out;
}

Result<std::vector<Hash32>> Store::covering_authority_heads(const Txn& txn, const AuthorityGraph& graph,
                                                            const AuthorityState& state, const Reach& own,
                                                            std::uint64_t dated_before) const {
  // Authority ops go everywhere, but for one written by hand or by a release before 19 on top of
  // a scoped op: in its place, its own authority parents (the newest authority ops that do). So
  // for an inert head (a void delegation, a revoked key's late act: it authorises nothing) and a
  // head dated ahead of the trusted time, so that neither an attacker's op nor a wrong clock
  // becomes every new op's parent (issue 20: one delegation at hlc 2^64-1 once froze a county).
  std::vector<Hash32> todo = graph.heads(), out;
  std::set<Hash32> seen(todo.begin(), todo.end());
  while (!todo.empty()) {
    Hash32 id = todo.back();
    todo.pop_back();
    auto reach = stored_reach(txn, tables_.ids, tables_.reach, id);
    if (!reach) return reach.status();
    std::size_t index = *graph.index_of(id);
    if (reach_covers(*reach, own) && graph.op(index).fields.hlc < dated_before &&
        (state.verdict_of(index).effective || graph.genesis() == index)) {
      out.push_back(id);
      continue;
    }
    for (const Hash32& parent : graph.auth_parents(index))
      if (seen.insert(parent).second) todo.push_back(parent);
  }
  return graph.maximal(out);
}

Result<std::optional<Op>> Store::get(const Hash32& id) const {
  auto txn = Txn::begin(*env_, Txn::Mode::kRead);
  if (!txn) return txn.status();
  return get_in(*txn, id);
}

Result<std::vector<std::shared_ptr<const Op>>> Store::get_many(std::span<const Hash32> ids) const {
  auto txn = Txn::begin(*env_, Txn::Mode::kRead);
  if (!txn) return txn.status();
  std::vector<std::shared_ptr<const Op>> ops;
  ops.reserve(ids.size());
  for (const Hash32& id : ids) {
    auto where = txn->get(tables_.ids, id.view());
    if (!where) return where.status();
    if (!*where) continue;
    auto op = op_at(*txn, id, concat({**where, id.view()}));
    if (!op) return op.status();
    ops.push_back(std::move(*op));
  }
  return ops;
}

Result<std::optional<Op>> Store::get_in(const Txn& txn, const Hash32& id) const {
  auto where = txn.get(tables_.ids, id.view());
  if (!where) return where.status();
  if (!*where) return std::optional<Op>();
  auto op = op_at(txn, id, concat({**where, id.view()}));
  if (!op) return op.status();
  return std::optional<Op>(**op);
}

Result<std::shared_ptr<const Op>> Store::stored_op(const Hash32& id, ByteView bytes) const {
  if (auto kept = decoded_.find(id); kept != decoded_.end()) return kept->second;
  return decode_and_keep(id, bytes);
}

Result<std::shared_ptr<const Op>> Store::decode_and_keep(const Hash32& id, ByteView bytes) const {
  auto decoded = decode_stored_op(bytes, id);
  if (auto* refused = std::get_if<RefusedOp>(&decoded))
    return Status::corruption("stored op " + id.hex() + " fails its checks: " + refused->detail);
  // An op kept while its kind was unknown that breaks this release's rules is read as what it
  // was: judged by nothing (judge_deferred).
  if (void_deferred_.count(id) != 0)
    std::get<Op>(decoded).fields.payload = DeferredPayload{"an op that breaks this release's rules"};
  auto op = std::make_shared<const Op>(std::move(std::get<Op>(decoded)));
  keep_decoded(op);
  return op;
}

void Store::keep_decoded(std::shared_ptr<const Op> op) const {
  // Bounded by count and by the ops' bytes (an op may be up to limits::op_bytes_max, and its
  // decoded fields repeat its text).
  if (decoded_.size() >= limits::store_ops_cached_max ||
      decoded_bytes_ + op->bytes.size() > limits::store_ops_cached_bytes_max) {
    decoded_.clear();
    decoded_bytes_ = 0;
  }
  Hash32 id = op->id;
  decoded_bytes_ += op->bytes.size();
  if (auto [at, fresh] = decoded_.try_emplace(id, std::move(op)); !fresh) decoded_bytes_ -= at->second->bytes.size();
}

Result<std::shared_ptr<const Op>> Store::held_op(const Txn& txn, const Hash32& id) const {
  if (auto kept = decoded_.find(id); kept != decoded_.end()) return kept->second;
  auto where = txn.get(tables_.ids, id.view());
  if (!where) return where.status();
  if (!*where) return Status::corruption("op " + id.hex() + " is indexed but missing");
  return op_at(txn, id, concat({**where, id.view()}));
}

Result<std::shared_ptr<const Op>> Store::op_at(const Txn& txn, const Hash32& id, ByteView key) const {
  if (auto kept = decoded_.find(id); kept != decoded_.end()) return kept->second;
  auto bytes = txn.get(tables_.ops, key);
  if (!bytes) return bytes.status();
  if (!*bytes) return Status::corruption("op " + id.hex() + " is indexed but missing");
  return decode_and_keep(id, **bytes);
}

Result<Hash32> Store::resolve_id(const std::string& hex_prefix) const {
  if (auto full = Hash32::from_hex(hex_prefix)) return *full;
  if (hex_prefix.size() < 8 || hex_prefix.size() > 64 || !from_hex(hex_prefix.substr(0, hex_prefix.size() & ~1ull)))
    return Status::invalid("op id '" + hex_prefix + "' must be at least 8 hex digits of an op id");
  std::string lower = hex_prefix;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  Bytes seek = *from_hex(lower.substr(0, lower.size() & ~1ull));
  auto txn = Txn::begin(*env_, Txn::Mode::kRead);
  if (!txn) return txn.status();
  auto cursor = Cursor::open(*txn, tables_.ids);
  if (!cursor) return cursor.status();
  std::vector<Hash32> matches;
  for (bool ok = cursor->seek(seek); ok && starts_with(cursor->key(), seek) && matches.size() < 2; ok = cursor->next()) {
    Hash32 id = *Hash32::from_view(cursor->key());
    if (id.hex().compare(0, lower.size(), lower) == 0) matches.push_back(id);
  }
  if (matches.empty()) return Status::not_found("no op with id " + hex_prefix + " in this store");
  if (matches.size() > 1) return Status::invalid("op id prefix " + hex_prefix + " matches several ops; give more digits");
  return matches[0];
}

Result<std::vector<Hash32>> Store::op_ids() const {
  auto txn = Txn::begin(*env_, Txn::Mode::kRead);
  if (!txn) return txn.status();
  auto cursor = Cursor::open(*txn, tables_.ids);
  if (!cursor) return cursor.status();
  std::vector<Hash32> ids;
  ids.reserve(txn->entries(tables_.ids));
  for (bool ok = cursor->first(); ok; ok = cursor->next()) {
    auto id = Hash32::from_view(cursor->key());
    if (!id) return Status::corruption("an ids table key is malformed");
    ids.push_back(*id);
  }
  return ids;
}

Status Store::for_each_op(const std::function<void(const Op&)>& visit) const {
  auto txn = Txn::begin(*env_, Txn::Mode::kRead);
  if (!txn) return txn.status();
  return for_each_op_in(*txn, visit);
}

Status Store::for_each_op_in(const Txn& txn, const std::function<void(const Op&)>& visit) const {
  // The values stay where the cursor found them until the transaction writes or ends: nothing
  // writes while the ops are visited.
  struct Entry { std::uint64_t hlc; Hash32 id; ByteView bytes; };
  std::vector<Entry> entries;
  entries.reserve(txn.entries(tables_.ops));
  {
    auto cursor = Cursor::open(txn, tables_.ops);
    if (!cursor) return cursor.status();
    for (bool ok = cursor->first(); ok; ok = cursor->next()) {
      ByteView key = cursor->key();
      if (key.size() < 41) return Status::corruption("an ops table key is too short");
      entries.push_back({read_u64_be(key.data() + key.size() - 40), *Hash32::from_view(key.subspan(key.size() - 32)),
                         cursor->value()});
    }
  }
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return std::tie(a.hlc, a.id) < std::tie(b.hlc, b.id); });
  for (const Entry& entry : entries) {
    auto op = stored_op(entry.id, entry.bytes);
    if (!op) return op.status();
    visit(**op);
  }
  return Status::ok();
}

Status Store::for_each_item(const std::function<void(const Reach&, std::uint64_t, const Hash32&)>& visit) const {
  auto txn = Txn::begin(*env_, Txn::Mode::kRead);
  if (!txn) return txn.status();
  std::uint64_t count = txn->entries(tables_.items);
  if (count > limits::store_items_listed_max) {
    listing_ = Listing{};
    return walk_items(*txn, [&](ByteView key, const ByteView* row) -> Status {
      Reach reach;
      if (!reach_at(key, row, reach)) return Status::corruption("an items key or its reach row is malformed");
      visit(reach, read_u64_be(key.data() + key.size() - 40), *Hash32::from_view(key.subspan(key.size() - 32)));
      return Status::ok();
    });
  }
  if (Status s = update_listing(*txn, count); !s) {
    listing_ = Listing{};
    return s;
  }
  for (const Listing::Item& item : listing_.items) visit(listing_.reaches[item.reach], item.hlc, item.id);
  return Status::ok();
}

Status Store::walk_items(const Txn& txn, const std::function<Status(ByteView key, const ByteView* row)>& visit) const {
  // The items table holds the ops table's keys alone: walking it reads no op.
  auto items = Cursor::open(txn, tables_.items);
  if (!items) return items.status();
  auto reach_rows = Cursor::open(txn, tables_.reach);
  if (!reach_rows) return reach_rows.status();
  // Both tables are keyed by the op key: walk them side by side.
  bool reach_ok = reach_rows->first();
  for (bool ok = items->first(); ok; ok = items->next()) {
    ByteView key = items->key();
    auto cmp = [&] { return std::lexicographical_compare(reach_rows->key().begin(), reach_rows->key().end(), key.begin(), key.end()); };
    while (reach_ok && cmp()) reach_ok = reach_rows->next();
    ByteView row;
    bool has_row = reach_ok && std::equal(key.begin(), key.end(), reach_rows->key().begin(), reach_rows->key().end());
    if (has_row) row = reach_rows->value();
    if (Status s = visit(key, has_row ? &row : nullptr); !s) return s;
  }
  return Status::ok();
}

Status Store::list_item(ByteView key, const ByteView* row) const {
  if (key.size() < 41) return Status::corruption("an items key is too short");
  // Ops with the same scope and reach row share one Reach.
  std::string name(reinterpret_cast<const char*>(key.data()), key.size() - 40);
  if (row != nullptr) name.append(reinterpret_cast<const char*>(row->data()), row->size());
  auto [at, fresh] = listing_.reach_index.try_emplace(std::move(name), static_cast<std::uint32_t>(listing_.reaches.size()));
  if (fresh) {
    Reach reach;
    if (!reach_at(key, row, reach)) return Status::corruption("an items key or its reach row is malformed");
    listing_.reaches.push_back(std::move(reach));
  }
  listing_.items.push_back(
      Listing::Item{read_u64_be(key.data() + key.size() - 40), *Hash32::from_view(key.subspan(key.size() - 32)), at->second});
  return Status::ok();
}

Status Store::update_listing(const Txn& txn, std::uint64_t count) const {
  auto by_time = [](const Listing::Item& a, const Listing::Item& b) { return std::tie(a.hlc, a.id) < std::tie(b.hlc, b.id); };
  if (listing_.ready && listing_.items.size() == count) return Status::ok();
  if (listing_.ready && listing_.items.size() < count) {
    // Ops are never removed: those that arrived since the listing was made are the new ones.
    std::size_t old_size = listing_.items.size();
    auto arrivals = Cursor::open(txn, tables_.arrivals);
    if (!arrivals) return arrivals.status();
    for (bool ok = arrivals->seek(u64_be(listing_.last_arrival + 1)); ok; ok = arrivals->next()) {
      if (arrivals->key().size() != 8) return Status::corruption("an arrivals key is malformed");
      listing_.last_arrival = read_u64_be(arrivals->key().data());
      auto id = Hash32::from_view(arrivals->value());
      if (!id) return Status::corruption("an arrivals row is malformed");
      auto where = txn.get(tables_.ids, id->view());
      if (!where) return where.status();
      if (!*where) break;  // an arrival of an op not stored (`anwang verify` reports it): list from the table
      Bytes key = concat({**where, id->view()});
      auto row = txn.get(tables_.reach, key);
      if (!row) return row.status();
      if (Status s = list_item(key, *row ? &**row : nullptr); !s) return s;
    }
    auto middle = listing_.items.begin() + static_cast<std::ptrdiff_t>(old_size);
    std::sort(middle, listing_.items.end(), by_time);
    std::inplace_merge(listing_.items.begin(), middle, listing_.items.end(), by_time);
    if (listing_.items.size() == count) return Status::ok();
  }
  // First use, or the listing does not add up: made again from the items table.
  listing_ = Listing{};
  listing_.items.reserve(count);
  if (Status s = walk_items(txn, [&](ByteView key, const ByteView* row) { return list_item(key, row); }); !s) return s;
  std::sort(listing_.items.begin(), listing_.items.end(), by_time);
  auto arrivals = Cursor::open(txn, tables_.arrivals);
  if (!arrivals) return arrivals.status();
  listing_.last_arrival = arrivals->last() ? read_u64_be(arrivals->key().data()) : 0;
  listing_.ready = true;
  return Status::ok();
}

Status Store::for_each_attachment_ref(
    const std::function<void(const Hash32& blob, const Hash32& op, bool complete)>& visit) const {
  auto txn = Txn::begin(*env_, Txn::Mode::kRead);
  if (!txn) return txn.status();
  auto cursor = Cursor::open(*txn, tables_.attachments);
  if (!cursor) return cursor.status();
  std::optional<Hash32> last;
  bool complete = false;
  for (bool ok = cursor->first(); ok; ok = cursor->next()) {
    if (cursor->key().size() != 64) return Status::corruption("an attachments table key is malformed");
    Hash32 blob = *Hash32::from_view(cursor->key().first(32));
    if (blob != last) {
      auto meta = txn->get(tables_.blob_meta, blob.view());
      if (!meta) return meta.status();
      complete = meta->has_value();
      last = blob;
    }
    visit(blob, *Hash32::from_view(cursor->key().subspan(32)), complete);
  }
  return Status::ok();
}

Result<std::vector<Op>> Store::ops_of_object(const Hash32& object) const {
  std::vector<Hash32> ids;
  {
    auto txn = Txn::begin(*env_, Txn::Mode::kRead);
    if (!txn) return txn.status();
    auto cursor = Cursor::open(*txn, tables_.objects);
    if (!cursor) return cursor.status();
    for (bool ok = cursor->seek(object.view()); ok && starts_with(cursor->key(), object.view()); ok = cursor->next())
      ids.push_back(*Hash32::from_view(cursor->key().subspan(40)));
  }
  std::vector<Op> out;
  for (const Hash32& id : ids) {
    auto op = get(id);
    if (!op) return op.status();
    if (*op) out.push_back(std::move(**op));
  }
  return out;
}

Result<std::vector<DeferredOp>> Store::deferred_ops() const {
  auto txn = Txn::begin(*env_, Txn::Mode::kRead);
  if (!txn) return txn.status();
  std::vector<DeferredOp> out;
  auto cursor = Cursor::open(*txn, tables_.deferred);
  if (!cursor) return cursor.status();
  for (bool ok = cursor->first(); ok && out.size() < limits::deferred_listed_max; ok = cursor->next()) {
    auto id = Hash32::from_view(cursor->key());
    if (!id) return Status::corruption("a deferred row is malformed");
    std::string what(cursor->value().begin(), cursor->value().end());
    bool void_here = what.starts_with(kVoidHere);
    if (void_here) what.erase(0, kVoidHere.size());
    auto where = txn->get(tables_.ids, id->view());
    if (!where) return where.status();
    std::string scope;
    if (*where) scope = scope_of_scope_time(**where);
    out.push_back(DeferredOp{*id, std::move(scope), std::move(what), void_here});
  }
  return out;
}

Result<StoreStats> Store::stats() const {
  auto txn = Txn::begin(*env_, Txn::Mode::kRead);
  if (!txn) return txn.status();
  StoreStats stats;
  auto network = txn->get(tables_.meta, as_bytes(kMetaNetworkId));
  if (!network) return network.status();
  if (*network) stats.network_id = Hash32::from_view(**network);
  auto county = txn->get(tables_.meta, as_bytes(kMetaCountyCode));
  if (!county) return county.status();
  if (*county) stats.county_code.assign((*county)->begin(), (*county)->end());
  auto last = txn->get(tables_.local, as_bytes(kLocalHlcLast));
  if (!last) return last.status();
  if (*last && (*last)->size() == 8) stats.hlc_last = read_u64_be((*last)->data());
  stats.ops = txn->entries(tables_.ops);
  stats.pending = txn->entries(tables_.pending);
  stats.deferred = txn->entries(tables_.deferred);
  stats.file_bytes = env_->file_bytes();
  stats.map_bytes = env_->map_bytes();
  auto restored = txn->get(tables_.local, as_bytes(kLocalRestored));
  if (!restored) return restored.status();
  if (*restored && (*restored)->size() == 8) stats.restored_ms = read_u64_be((*restored)->data());
  return stats;
}

Status Store::copy_compact_to(int fd) const { return env_->copy_compact_to(fd); }

std::uint64_t Store::used_bytes() const { return env_->used_bytes(); }

Status Store::mark_restored(std::uint64_t now_ms) {
  auto txn = Txn::begin(*env_, Txn::Mode::kWrite);
  if (!txn) return txn.status();
  Bytes when;
  append_u64_be(when, now_ms);
  if (Status s = txn->put(tables_.local, as_bytes(kLocalRestored), when); !s) return s;
  return txn->commit();
}

Result<bool> Store::clear_restored() {
  auto txn = Txn::begin(*env_, Txn::Mode::kWrite);
  if (!txn) return txn.status();
  auto restored = txn->get(tables_.local, as_bytes(kLocalRestored));
  if (!restored) return restored.status();
  if (!*restored) return false;  // nothing to write: the transaction is aborted
  if (Status s = txn->del(tables_.local, as_bytes(kLocalRestored)); !s) return s;
  if (Status s = txn->commit(); !s) return s;
  return true;
}

Result<Hash32> Store::digest() const {
  auto txn = Txn::begin(*env_, Txn::Mode::kRead);
  if (!txn) return txn.status();
  Blake2b hasher;
  hasher.update(std::string_view("anwang/store-digest/v1"));
  // `local` is this node's own bookkeeping (its clock) and is not replicated: left out.
  struct Named { const char* name; MDB_dbi dbi; };
  for (Named table : {Named{"meta", tables_.meta}, Named{"ops", tables_.ops}, Named{"ids", tables_.ids},
                      Named{"objects", tables_.objects}, Named{"heads", tables_.heads},
                      Named{"authors", tables_.authors}, Named{"pending", tables_.pending},
                      Named{"pending_missing", tables_.pending_missing}, Named{"auth_past", tables_.auth_past},
                      Named{"authority", tables_.authority}, Named{"equivocations", tables_.equivocations},
                      Named{"records", tables_.records}}) {
    hasher.update(std::string_view(table.name, std::strlen(table.name) + 1));
    auto cursor = Cursor::open(*txn, table.dbi);
    if (!cursor) return cursor.status();
    for (bool ok = cursor->first(); ok; ok = cursor->next()) {
      Bytes lengths;
      append_u32_le(lengths, static_cast<std::uint32_t>(cursor->key().size()));
      append_u32_le(lengths, static_cast<std::uint32_t>(cursor->value().size()));
      hasher.update(lengths);
      hasher.update(cursor->key());
      hasher.update(cursor->value());
    }
  }
  return hasher.finish();
}

Result<VerifyReport> Store::verify() const {
  auto txn = Txn::begin(*env_, Txn::Mode::kRead);
  if (!txn) return txn.status();
  VerifyReport report;
  auto network_value = txn->get(tables_.meta, as_bytes(kMetaNetworkId));
  if (!network_value) return network_value.status();
  std::optional<Hash32> network;
  if (*network_value) network = Hash32::from_view(**network_value);
  auto cursor = Cursor::open(*txn, tables_.ops);
  if (!cursor) return cursor.status();
  std::uint64_t reach_rows = 0, deferred_ops = 0;
  for (bool ok = cursor->first(); ok; ok = cursor->next()) {
    ++report.ops_checked;
    ByteView key = cursor->key();
    std::string where = key.size() >= 32 ? "stored op " + Hash32::from_view(key.subspan(key.size() - 32))->hex()
                                         : "a stored op with a short key";
    auto decoded = decode_op(cursor->value());
    // An op kept while its kind was unknown that broke the rules once known (judge_deferred) fails
    // them still: kept on purpose, read as deferred, and its indexes checked like any op's.
    bool void_here = key.size() >= 32 && void_deferred_.count(*Hash32::from_view(key.subspan(key.size() - 32))) != 0;
    if (void_here && std::holds_alternative<RefusedOp>(decoded)) decoded = decode_op(cursor->value(), DecodeMode::kTrusted);
    if (auto* op = std::get_if<Op>(&decoded); op && void_here)
      op->fields.payload = DeferredPayload{"an op that breaks this release's rules"};
    if (auto* refused = std::get_if<RefusedOp>(&decoded)) {
      report.problems.push_back(where + " fails its checks (" + refusal_name(refused->reason) + "): " + refused->detail);
      continue;
    }
    const Op& op = std::get<Op>(decoded);
    Bytes expected_key = op_key(op);
    if (!std::equal(key.begin(), key.end(), expected_key.begin(), expected_key.end())) {
      report.problems.push_back(where + " is stored under a key that does not match its id, scope or time");
      continue;
    }
    auto listed = txn->get(tables_.items, key);
    if (!listed) return listed.status();
    if (!*listed) report.problems.push_back(where + " is missing from the items index");
    auto indexed = txn->get(tables_.ids, op.id.view());
    if (!indexed) return indexed.status();
    Bytes where_expected = scope_time(op.fields);
    if (!*indexed || !std::equal((*indexed)->begin(), (*indexed)->end(), where_expected.begin(), where_expected.end()))
      report.problems.push_back(where + " is missing from the id index or indexed elsewhere");
    auto reach = effective_reach(*txn, tables_.ids, tables_.reach, op);
    if (!reach) {
      report.problems.push_back(where + ": its reach cannot be worked out from its parents (" + reach.status().message() + ")");
      continue;
    }
    if (needs_row(*reach)) {
      ++reach_rows;
      auto row = txn->get(tables_.reach, key);
      if (!row) return row.status();
      Bytes expected = encode_reach(*reach);
      if (!*row || !std::equal((*row)->begin(), (*row)->end(), expected.begin(), expected.end()))
        report.problems.push_back(where + " is missing from the reach index or indexed wrongly");
    }
    if (const std::vector<Attachment>* photos = attachments_of(op.fields.payload))
      for (const Attachment& a : *photos) {
        auto row = txn->get(tables_.attachments, concat({a.hash.view(), op.id.view()}));
        if (!row) return row.status();
        if (!*row) report.problems.push_back(where + " is missing from the attachments index");
      }
    if (std::holds_alternative<DeferredPayload>(op.fields.payload)) {
      ++deferred_ops;
      auto row = txn->get(tables_.deferred, op.id.view());
      if (!row) return row.status();
      if (!*row) report.problems.push_back(where + " is of a kind this release does not know and is missing from the deferred index");
    }
    bool is_genesis = std::holds_alternative<GenesisPayload>(op.fields.payload);
    const Hash32& op_network = is_genesis ? op.id : *op.fields.network;
    if (!network || op_network != *network)
      report.problems.push_back(where + " belongs to another network than the store");
  }
  // Ops of kinds still unknown and ops judged void at an upgrade, each with its row.
  if (txn->entries(tables_.deferred) != deferred_ops)
    report.problems.push_back("the deferred index holds " + std::to_string(txn->entries(tables_.deferred)) + " entries for " +
                              std::to_string(deferred_ops) + " ops read as deferred");
  if (txn->entries(tables_.reach) != reach_rows)
    report.problems.push_back("the reach index holds " + std::to_string(txn->entries(tables_.reach)) + " entries for " +
                              std::to_string(reach_rows) + " ops that need one");
  if (txn->entries(tables_.items) != report.ops_checked)
    report.problems.push_back("the items index holds " + std::to_string(txn->entries(tables_.items)) + " entries for " +
                              std::to_string(report.ops_checked) + " stored ops");
  const std::uint64_t ids_held = txn->entries(tables_.ids);
  if (ids_held != report.ops_checked)
    report.problems.push_back("the id index holds " + std::to_string(ids_held) + " entries for " +
                              std::to_string(report.ops_checked) + " stored ops");
  // Every stored op arrived once: a bundle export since the last one walks the arrival order, and
  // an op missing from it would never be carried on a USB stick.
  auto arrivals = Cursor::open(*txn, tables_.arrivals);
  if (!arrivals) return arrivals.status();
  IdSet arrived;
  arrived.reserve(report.ops_checked);
  for (bool ok = arrivals->first(); ok; ok = arrivals->next()) {
    std::string where = arrivals->key().size() == 8 ? "arrival " + std::to_string(read_u64_be(arrivals->key().data()))
                                                    : "an arrival with a malformed number";
    std::optional<Hash32> id = Hash32::from_view(arrivals->value());
    if (!id) {
      report.problems.push_back(where + " does not name an op");
      continue;
    }
    auto held = txn->get(tables_.ids, id->view());
    if (!held) return held.status();
    if (!*held)
      report.problems.push_back(where + " names op " + id->hex() + ", which the store does not hold");
    else if (!arrived.insert(*id))
      report.problems.push_back("op " + id->hex() + " arrived twice (again at " + where + ")");
  }
  if (arrived.size() != ids_held)
    report.problems.push_back("the arrival order lists " + std::to_string(arrived.size()) + " of the " +
                              std::to_string(ids_held) + " stored ops");
  return report;
}

Status Store::ensure_graph(const Txn& txn) const {
  // The authority table and the graph only grow, and every op in one is in the other: a graph
  // holding as many ops as the table is the table's (other writes, of any process, leave it so).
  std::uint64_t authority_ops = txn.entries(tables_.authority);
  if (graph_ && graph_->size() == authority_ops) return Status::ok();
  auto graph = std::make_shared<AuthorityGraph>();
  auto cursor = Cursor::open(txn, tables_.authority);
  if (!cursor) return cursor.status();
  for (bool ok = cursor->first(); ok; ok = cursor->next()) {
    Hash32 id = *Hash32::from_view(cursor->key().subspan(8));
    auto op = held_op(txn, id);
    if (!op) return op.status();
    auto past = txn.get(tables_.auth_past, id.view());
    if (!past) return past.status();
    std::vector<Hash32> frontier;
    if (*past)
      for (std::size_t at = 0; at + 32 <= (*past)->size(); at += 32) frontier.push_back(*Hash32::from_view((*past)->subspan(at, 32)));
    for (const Hash32& parent : frontier)
      if (!graph->contains(parent)) return Status::corruption("authority op " + id.hex() + " precedes its own past");
    auto held_frontier = held_frontier_in(txn, *graph, **op, frontier);
    if (!held_frontier) return held_frontier.status();
    graph->add(**op, frontier, *held_frontier);
  }
  graph_ = std::move(graph);
  return Status::ok();
}

Result<std::optional<HeldFrontier>> Store::held_frontier_in(const Txn& txn, const AuthorityGraph& graph, const Op& op,
                                                            const std::vector<Hash32>& auth_frontier) const {
  const auto* revocation = std::get_if<RevocationPayload>(&op.fields.payload);
  // An authority op named as the frontier is judged from the view (crdt/authority.cpp).
  if (revocation == nullptr || !revocation->frontier || graph.contains(*revocation->frontier))
    return std::optional<HeldFrontier>();
  auto where = txn.get(tables_.ids, revocation->frontier->view());
  if (!where) return where.status();
  if (!*where) return std::optional<HeldFrontier>();  // not held, so not in the past of an op held
  auto frontier = op_at(txn, *revocation->frontier, concat({**where, revocation->frontier->view()}));
  if (!frontier) return frontier.status();
  // Records enter the revocation's past through its own parents that are not authority ops, and
  // through those of the authority ops in its past (their own pasts are walked from there).
  std::vector<Hash32> starts = graph.record_parents_in(graph.closure(auth_frontier));
  for (const Hash32& parent : required_parents(op.fields))
    if (!graph.contains(parent)) starts.push_back(parent);
  if (starts.empty()) return std::optional<HeldFrontier>();
  Status failed = Status::ok();
  auto step = [&](const Hash32& id) -> std::optional<PastStep> {
    if (graph.contains(id) || !failed) return std::nullopt;
    auto held = held_op(txn, id);
    if (!held) {
      failed = held.status();
      return std::nullopt;
    }
    return PastStep{(*held)->fields.hlc, required_parents((*held)->fields)};
  };
  PastSearch found = find_in_past(std::move(starts), *revocation->frontier, (*frontier)->fields.hlc, step,
                                  limits::revocation_frontier_walk_ops_max);
  if (!failed) return failed;
  if (found != PastSearch::kFound) return std::optional<HeldFrontier>();
  return std::optional<HeldFrontier>(HeldFrontier{(*frontier)->fields.author, (*frontier)->fields.author_seq});
}

Result<AuthorityGraph*> Store::graph_for_write(const Txn& txn) {
  if (Status s = ensure_graph(txn); !s) return s;
  if (graph_.use_count() > 1) graph_ = std::make_shared<AuthorityGraph>(*graph_);  // shared with a state
  return graph_.get();
}

void Store::rollback_graph(std::size_t count) const {
  if (!graph_ || graph_->size() == count) return;
  if (graph_.use_count() == 1)
    graph_->truncate(count);
  else
    graph_.reset();  // a state made during the write still holds it: reload next time
}

Result<std::shared_ptr<const AuthorityState>> Store::state_in(const Txn& txn) const {
  if (!txn.is_write())
    if (Status s = ensure_graph(txn); !s) return s;
  // The state depends only on the authority graph and the equivocations, and both only grow in
  // committed data: a state computed from committed data with as many of each is the same state.
  // (A write transaction's uncommitted additions make the graph larger, so they never match.)
  std::size_t equivocation_count = txn.entries(tables_.equivocations);
  if (state_ && state_graph_size_ == graph_->size() && state_equivocations_ == equivocation_count) return state_;
  // In a write transaction, the state it computed already, while its graph has not grown: a
  // draft is judged before it is signed and again once stored. (author() drops written_state_
  // when it begins and when it fails, so it never outlives its transaction.)
  if (txn.is_write() && written_state_ && &written_state_->graph() == graph_.get() &&
      written_graph_size_ == graph_->size() && written_equivocations_ == equivocation_count)
    return written_state_;
  // Each equivocation with where each of its ops goes (rows are author, number, op id: the twins
  // of one number are neighbours).
  std::vector<Equivocation> equivocations;
  auto cursor = Cursor::open(txn, tables_.equivocations);
  if (!cursor) return cursor.status();
  for (bool ok = cursor->first(); ok; ok = cursor->next()) {
    ByteView key = cursor->key();
    if (key.size() != 72) return Status::corruption("an equivocations row is malformed");
    PublicKey author = *Hash32::from_view(key.subspan(0, 32));
    std::uint64_t seq = read_u64_be(key.data() + 32);
    auto reach = stored_reach(txn, tables_.ids, tables_.reach, *Hash32::from_view(key.subspan(40, 32)));
    if (!reach) return reach.status();
    if (equivocations.empty() || equivocations.back().key != author || equivocations.back().seq != seq)
      equivocations.push_back(Equivocation{author, seq, {}});
    equivocations.back().twins.push_back(std::move(*reach));
  }
  // May reflect uncommitted writes: state_ stays as it was, and the new state waits for the
  // commit (adopt_written_state).
  if (txn.is_write()) {
    written_state_ = AuthorityState::extend(state_, graph_, std::move(equivocations));
    written_graph_size_ = graph_->size();
    written_equivocations_ = equivocation_count;
    return written_state_;
  }
  if (!state_ || !state_->extension_keeps_judgments(*graph_, equivocations)) {
    hazards_.clear();  // evaluated under judgments that may have changed
    ++judgments_;
  }
  // Handed over, so that a state nobody else holds is extended in place.
  state_ = AuthorityState::extend(std::move(state_), graph_, std::move(equivocations));
  state_graph_size_ = graph_->size();
  state_equivocations_ = equivocation_count;
  return state_;
}

void Store::adopt_written_state() const {
  std::shared_ptr<const AuthorityState> written = std::move(written_state_);
  written_state_.reset();
  // Only a state of the committed graph as it is now (nothing added after it was computed).
  if (!written || !graph_ || &written->graph() != graph_.get() || written_graph_size_ != graph_->size()) return;
  if (!state_ || !state_->extension_keeps_judgments(*graph_, written->equivocations())) {
    hazards_.clear();  // evaluated under judgments that may have changed
    ++judgments_;
  }
  state_ = std::move(written);
  state_graph_size_ = graph_->size();
  state_equivocations_ = written_equivocations_;
}

// Why a verdict worked out before signing is the verdict the signed op gets: the op's id (the
// hash of its signed bytes) is all the draft lacks, and a step's verdict does not depend on it.
// Verdicts depend on the step's fields, its authority frontier and the steps before it; the id
// only breaks ties between concurrent ops of one object, and the draft has none: its parents
// are its object's heads, so every stored op of the object is in its causal past, and its
// timestamp is later than all of theirs, so it is the last step in (hlc, id) order. (Judging
// sees only the steps of the draft's kind, and the links between them: see the hazard case.) The
// authority judgment uses the author's sequence number, not the id. A locally authored op
// cannot equivocate (its sequence number is the author's next) and cannot release a waiting op
// (no op can name an id not yet made).
Result<std::optional<Verdict>> Store::draft_verdict_in(const Txn& txn, const IngestTxn& ingest, const OpFields& fields) const {
  bool hazard = std::holds_alternative<HazardPayload>(fields.payload);
  if (!hazard && !std::holds_alternative<RecordPayload>(fields.payload)) return std::optional<Verdict>();
  Op draft;  // unsigned: no bytes, no signature, a zero id
  draft.fields = fields;
  auto frontier = ingest.frontier_of(draft);
  if (!frontier) return frontier.status();
  auto state = state_in(txn);
  if (!state) return state.status();
  auto ids = object_op_ids(txn, fields.object);
  if (!ids) return ids.status();
  if (hazard) {
    // The hazard as it stands is usually kept already (it was read to decide on the step). It is
    // what the draft acts on when every op of the object is a hazard step: then each is linked
    // to the draft through hazard steps. Any other op on the object (a note) is no such link, so
    // then the hazard is evaluated with the draft added, as it will be once the draft is stored.
    auto before = timeless_hazard_in(txn, fields.object, *ids, *state);
    if (!before) return before.status();
    if (*before ? (*before)->state.history.size() == ids->size() : ids->empty())
      return std::optional<Verdict>(
          judge_next_step(*before ? **before : TimelessHazard{}, HazardOp{std::move(draft), std::move(*frontier)}, **state));
    auto ops = ops_of<HazardPayload, HazardOp>(txn, *ids);
    if (!ops) return ops.status();
    ops->push_back(HazardOp{std::move(draft), std::move(*frontier)});
    TimelessHazard evaluated = evaluate_hazard_timeless(*ops, **state);
    return std::optional<Verdict>(std::move(evaluated.state.history.back().verdict));
  }
  auto ops = ops_of<RecordPayload, RecordOp>(txn, *ids);
  if (!ops) return ops.status();
  ops->push_back(RecordOp{std::move(draft), std::move(*frontier)});
  RecordState evaluated = evaluate_record(*ops, **state);
  return std::optional<Verdict>(std::move(evaluated.history.back().verdict));
}

Result<Verdict> Store::verdict_in(const Txn& txn, const Op& op) const {
  if (std::holds_alternative<HazardPayload>(op.fields.payload)) {
    auto hazard = hazard_in(txn, op.fields.object);
    if (!hazard) return hazard.status();
    for (const HazardStep& step : hazard->history)
      if (step.id == op.id) return step.verdict;
    return Status::corruption("op " + op.id.hex() + " is missing from its hazard's history");
  }
  if (std::holds_alternative<RecordPayload>(op.fields.payload)) {
    auto record = record_in(txn, op.fields.object);
    if (!record) return record.status();
    for (const RecordStep& step : record->history)
      if (step.id == op.id) return step.verdict;
    return Status::corruption("op " + op.id.hex() + " is missing from its record's history");
  }
  auto state = state_in(txn);
  if (!state) return state.status();
  auto past = txn.get(tables_.auth_past, op.id.view());
  if (!past) return past.status();
  std::vector<Hash32> frontier;
  if (*past)
    for (std::size_t at = 0; at + 32 <= (*past)->size(); at += 32) frontier.push_back(*Hash32::from_view((*past)->subspan(at, 32)));
  return (*state)->judge(op, frontier);
}

Result<std::shared_ptr<const AuthorityState>> Store::authority() const {
  auto txn = Txn::begin(*env_, Txn::Mode::kRead);
  if (!txn) return txn.status();
  return state_in(*txn);
}

Result<Verdict> Store::verdict(const Op& op) const {
  auto txn = Txn::begin(*env_, Txn::Mode::kRead);
  if (!txn) return txn.status();
  return verdict_in(*txn, op);
}

Status Store::for_each_judged(const std::function<void(const Op&, const Verdict&)>& visit) const {
  // One read transaction for the listing and every verdict: all from one snapshot of the store.
  auto txn = Txn::begin(*env_, Txn::Mode::kRead);
  if (!txn) return txn.status();
  // A hazard's or record's steps are judged together: evaluate each object once, not once per op.
  std::unordered_map<Hash32, std::unordered_map<Hash32, Verdict>> by_object;
  auto object_verdicts = [&](const Op& op) -> Result<const std::unordered_map<Hash32, Verdict>*> {
    auto [at, fresh] = by_object.try_emplace(op.fields.object);
    if (fresh) {
      // Not [&at]: clang 14 (the fuzz build) cannot capture a structured binding.
      auto* verdicts = &at->second;
      auto fill = [verdicts](const auto& history) {
        for (const auto& step : history) verdicts->emplace(step.id, step.verdict);
      };
      if (std::holds_alternative<HazardPayload>(op.fields.payload)) {
        auto state = hazard_in(*txn, op.fields.object);
        if (!state) return state.status();
        fill(state->history);
      } else {
        auto state = record_in(*txn, op.fields.object);
        if (!state) return state.status();
        fill(state->history);
      }
    }
    return &at->second;
  };
  Status failure;
  Status s = for_each_op_in(*txn, [&](const Op& op) {
    if (!failure.is_ok()) return;
    if (std::holds_alternative<HazardPayload>(op.fields.payload) || std::holds_alternative<RecordPayload>(op.fields.payload)) {
      auto verdicts = object_verdicts(op);
      if (!verdicts) {
        failure = verdicts.status();
        return;
      }
      auto found = (*verdicts)->find(op.id);
      if (found == (*verdicts)->end()) {
        failure = Status::corruption("op " + op.id.hex() + " is missing from its object's history");
        return;
      }
      visit(op, found->second);
      return;
    }
    auto verdict = verdict_in(*txn, op);
    if (!verdict) {
      failure = verdict.status();
      return;
    }
    visit(op, *verdict);
  });
  if (!s) return s;
  return failure;
}

Result<Hash32> Store::effective_digest(const std::function<void(const Op&, const Verdict&)>& visit) const {
  std::vector<std::pair<Hash32, std::string>> entries;
  Status s = for_each_judged([&](const Op& op, const Verdict& verdict) {
    if (visit) visit(op, verdict);
    std::string summary = verdict.effective ? "effective" : "inert";
    for (const std::string& flag : verdict.flags) summary += ";" + flag;
    entries.emplace_back(op.id, summary);
  });
  if (!s) return s;
  std::sort(entries.begin(), entries.end());
  Blake2b hasher;
  hasher.update(std::string_view("anwang/effective-digest/v1"));
  for (const auto& [id, summary] : entries) {
    hasher.update(id.view());
    hasher.update(summary + "\n");
  }
  return hasher.finish();
}

Result<std::vector<Hash32>> Store::object_op_ids(const Txn& txn, const Hash32& object) const {
  std::vector<Hash32> ids;
  auto cursor = Cursor::open(txn, tables_.objects);
  if (!cursor) return cursor.status();
  for (bool ok = cursor->seek(object.view()); ok && starts_with(cursor->key(), object.view()); ok = cursor->next())
    ids.push_back(*Hash32::from_view(cursor->key().subspan(40)));
  return ids;
}

// The ops of `ids`, in the order given, with their authority pasts, for judging: without their
// bytes, which judging does not read (copying them was a tenth of a hazard read). Ops of another
// payload than P come too: judging does not judge them, but they carry causality between the
// steps (a note on a hazard never cuts its chain). Empty when none of them is a P.
template <typename P, typename Step>
Result<std::vector<Step>> Store::ops_of(const Txn& txn, std::span<const Hash32> ids) const {
  std::vector<Step> out;
  bool any = false;
  for (const Hash32& op_id : ids) {
    auto held = held_op(txn, op_id);
    if (!held) return held.status();
    any = any || std::holds_alternative<P>((*held)->fields.payload);
    Op op;
    op.id = (*held)->id;
    op.fields = (*held)->fields;
    op.signature = (*held)->signature;
    auto past = txn.get(tables_.auth_past, op_id.view());
    if (!past) return past.status();
    std::vector<Hash32> frontier;
    if (*past)
      for (std::size_t at = 0; at + 32 <= (*past)->size(); at += 32) frontier.push_back(*Hash32::from_view((*past)->subspan(at, 32)));
    out.push_back(Step{std::move(op), std::move(frontier)});
  }
  if (!any) out.clear();
  return out;
}

Result<HazardState> Store::hazard_in(const Txn& txn, const Hash32& id) const {
  auto state = state_in(txn);
  if (!state) return state.status();
  auto now_hlc = deadline_now_in(txn);
  if (!now_hlc) return now_hlc.status();
  auto ids = object_op_ids(txn, id);
  if (!ids) return ids.status();
  auto hazard = timeless_hazard_in(txn, id, *ids, *state);
  if (!hazard) return hazard.status();
  if (!*hazard) return Status::not_found("no hazard " + id.hex() + " in this store");
  return (*hazard)->at_time(*now_hlc);
}

Result<std::shared_ptr<const TimelessHazard>> Store::timeless_hazard_in(
    const Txn& txn, const Hash32& id, const std::vector<Hash32>& ids, const std::shared_ptr<const AuthorityState>& state) const {
  if (auto cached = hazards_.find(id);
      state == state_ && cached != hazards_.end() && cached->second.judgments == judgments_ && cached->second.ops == ids)
    return cached->second.hazard;
  auto ops = ops_of<HazardPayload, HazardOp>(txn, ids);
  if (!ops) return ops.status();
  if (ops->empty()) return std::shared_ptr<const TimelessHazard>();
  auto evaluated = std::make_shared<const TimelessHazard>(evaluate_hazard_timeless(*ops, *state));
  // Only evaluations under state_ are kept (a write transaction's state may include uncommitted
  // authority ops).
  if (state == state_) {
    if (hazards_.size() >= limits::store_hazards_cached_max) hazards_.clear();
    hazards_[id] = CachedHazard{judgments_, ids, evaluated};
  }
  return evaluated;
}

Result<RecordState> Store::record_in(const Txn& txn, const Hash32& id) const {
  auto state = state_in(txn);
  if (!state) return state.status();
  auto ids = object_op_ids(txn, id);
  if (!ids) return ids.status();
  auto ops = ops_of<RecordPayload, RecordOp>(txn, *ids);
  if (!ops) return ops.status();
  if (ops->empty()) return Status::not_found("no record " + id.hex() + " in this store");
  return evaluate_record(*ops, **state);
}

Result<RecordState> Store::record(const Hash32& id) const {
  auto txn = Txn::begin(*env_, Txn::Mode::kRead);
  if (!txn) return txn.status();
  return record_in(*txn, id);
}

Result<std::vector<Hash32>> Store::records(const std::string& kind) const {
  auto txn = Txn::begin(*env_, Txn::Mode::kRead);
  if (!txn) return txn.status();
  Bytes prefix(kind.begin(), kind.end());
  prefix.push_back(0);
  std::vector<Hash32> out;
  auto cursor = Cursor::open(*txn, tables_.records);
  if (!cursor) return cursor.status();
  for (bool ok = cursor->seek(prefix); ok && starts_with(cursor->key(), prefix); ok = cursor->next())
    if (cursor->key().size() == prefix.size() + 32) out.push_back(*Hash32::from_view(cursor->key().subspan(prefix.size())));
  return out;
}

Result<Attachment> Store::put_blob(ByteView data, const std::string& media_type) {
  if (data.size() > limits::blob_bytes_max)
    return Status::invalid("the file is " + std::to_string(data.size()) + " bytes; an attachment may be at most " +
                           std::to_string(limits::blob_bytes_max));
  if (media_type.empty() || media_type.size() > limits::identifier_bytes_max)
    return Status::invalid("an attachment needs a media type of at most 64 bytes");
  Attachment attachment{blake2b_256(data), data.size(), media_type};
  auto txn = Txn::begin(*env_, Txn::Mode::kWrite);
  if (!txn) return txn.status();
  auto known = txn->get(tables_.blob_meta, attachment.hash.view());
  if (!known) return known.status();
  if (*known) return attachment;
  for (std::size_t offset = 0, chunk = 0; offset < data.size(); offset += limits::blob_chunk_bytes, ++chunk) {
    Bytes key(attachment.hash.bytes.begin(), attachment.hash.bytes.end());
    append_u64_be(key, chunk);
    std::size_t length = std::min(limits::blob_chunk_bytes, data.size() - offset);
    if (Status s = txn->put(tables_.blobs, key, data.subspan(offset, length)); !s) return s;
  }
  if (Status s = txn->put(tables_.blob_meta, attachment.hash.view(), blob_meta_value(attachment)); !s) return s;
  if (Status s = txn->del(tables_.blobs_missing, attachment.hash.view()); !s) return s;
  if (Status s = txn->commit(); !s) return s;
  return attachment;
}

Result<bool> Store::has_blob(const Hash32& hash) const {
  auto txn = Txn::begin(*env_, Txn::Mode::kRead);
  if (!txn) return txn.status();
  auto known = txn->get(tables_.blob_meta, hash.view());
  if (!known) return known.status();
  return known->has_value();
}

Status Store::read_blob(const Hash32& hash, const std::function<void(ByteView)>& chunk) const {
  auto txn = Txn::begin(*env_, Txn::Mode::kRead);
  if (!txn) return txn.status();
  auto meta = txn->get(tables_.blob_meta, hash.view());
  if (!meta) return meta.status();
  if (!*meta) return Status::not_found("this node does not hold blob " + hash.hex() + " (yet)");
  std::uint64_t size = read_u64_be((*meta)->data());
  auto cursor = Cursor::open(*txn, tables_.blobs);
  if (!cursor) return cursor.status();
  Blake2b hasher;
  std::uint64_t seen = 0;
  for (bool ok = cursor->seek(hash.view()); ok && starts_with(cursor->key(), hash.view()); ok = cursor->next()) {
    hasher.update(cursor->value());
    seen += cursor->value().size();
    chunk(cursor->value());
  }
  if (seen != size || hasher.finish() != hash) return Status::corruption("blob " + hash.hex() + " is damaged in the store");
  return Status::ok();
}

Result<std::uint64_t> Store::blob_bytes_held(const Hash32& hash) const {
  auto txn = Txn::begin(*env_, Txn::Mode::kRead);
  if (!txn) return txn.status();
  auto meta = txn->get(tables_.blob_meta, hash.view());
  if (!meta) return meta.status();
  if (*meta) return read_u64_be((*meta)->data());
  auto cursor = Cursor::open(*txn, tables_.blobs);
  if (!cursor) return cursor.status();
  std::uint64_t held = 0, expected = 0;
  for (bool ok = cursor->seek(hash.view()); ok && starts_with(cursor->key(), hash.view()); ok = cursor->next()) {
    if (read_u64_be(cursor->key().data() + 32) != expected) break;  // a gap: resume from there
    held += cursor->value().size();
    ++expected;
  }
  return held;
}

Status Store::put_blob_chunk(const Attachment& declared, std::uint64_t offset, ByteView bytes) {
  // Only an attachment a held op references, with the size that op's author signed: the
  // blobs_missing row (node/STORE.md, "Attachments").
  auto referenced = missing_blob(declared.hash);
  if (!referenced) return referenced.status();
  if (!*referenced)
    return Status::error(Status::Code::kRefused, "blob " + declared.hash.hex() +
                                                     " is referenced by no op this node holds, or is held already: not taken");
  const Attachment& attachment = **referenced;
  if (declared.size != attachment.size)
    return Status::error(Status::Code::kRefused, "blob " + declared.hash.hex() + " was offered as " +
                                                     std::to_string(declared.size) + " bytes; the op naming it says " +
                                                     std::to_string(attachment.size));
  // The first byte past the declared size refuses the chunk.
  if (attachment.size > limits::blob_bytes_max || offset % limits::blob_chunk_bytes != 0 ||
      bytes.size() > limits::blob_chunk_bytes || offset + bytes.size() > attachment.size ||
      (bytes.size() != limits::blob_chunk_bytes && offset + bytes.size() != attachment.size))
    return Status::error(Status::Code::kRefused, "a blob chunk does not fit its blob");
  auto held = blob_bytes_held(attachment.hash);
  if (!held) return held.status();
  if (*held != offset) return Status::ok();  // already held, or out of order: ignored
  // The running hash of the bytes before this chunk: kept from the previous chunk, or (a transfer
  // resumed, perhaps by another process) read once from the chunks held.
  BlobIntake intake;
  if (auto it = blob_intake_.find(attachment.hash); it != blob_intake_.end() && it->second.offset == offset) {
    intake = it->second;
  } else {
    intake.offset = 0;
    Status read = read_blob_from_chunks(attachment.hash, [&intake](ByteView chunk) {
      intake.hasher.update(chunk);
      intake.offset += chunk.size();
    });
    if (!read) return read;
    if (intake.offset != offset) return Status::ok();  // another writer moved on meanwhile: ignored
  }
  intake.hasher.update(bytes);
  intake.offset += bytes.size();
  bool last = intake.offset == attachment.size;
  auto txn = Txn::begin(*env_, Txn::Mode::kWrite);
  if (!txn) return txn.status();
  Bytes key(attachment.hash.bytes.begin(), attachment.hash.bytes.end());
  append_u64_be(key, offset / limits::blob_chunk_bytes);
  if (last && intake.hasher.finish() != attachment.hash) {
    blob_intake_.erase(attachment.hash);
    auto cursor = Cursor::open(*txn, tables_.blobs);
    if (!cursor) return cursor.status();
    std::vector<Bytes> keys;
    for (bool ok = cursor->seek(attachment.hash.view()); ok && starts_with(cursor->key(), attachment.hash.view());
         ok = cursor->next())
      keys.emplace_back(cursor->key().begin(), cursor->key().end());
    for (const Bytes& k : keys)
      if (Status s = txn->del(tables_.blobs, k); !s) return s;
    if (Status s = txn->commit(); !s) return s;
    return Status::error(Status::Code::kRefused, "blob " + attachment.hash.hex() + " did not match its hash; dropped");
  }
  if (Status s = txn->put(tables_.blobs, key, bytes); !s) return s;
  if (last) {
    if (Status s = txn->put(tables_.blob_meta, attachment.hash.view(), blob_meta_value(attachment)); !s) return s;
    if (Status s = txn->del(tables_.blobs_missing, attachment.hash.view()); !s) return s;
  }
  if (Status s = txn->commit(); !s) {
    blob_intake_.erase(attachment.hash);
    return s;
  }
  if (last) {
    blob_intake_.erase(attachment.hash);
  } else {
    if (blob_intake_.size() >= limits::blobs_arriving_max && !blob_intake_.count(attachment.hash)) blob_intake_.clear();
    blob_intake_[attachment.hash] = intake;
  }
  return Status::ok();
}

Status Store::read_blob_from_chunks(const Hash32& hash, const std::function<void(ByteView)>& chunk) const {
  auto txn = Txn::begin(*env_, Txn::Mode::kRead);
  if (!txn) return txn.status();
  auto cursor = Cursor::open(*txn, tables_.blobs);
  if (!cursor) return cursor.status();
  std::uint64_t expected = 0;
  for (bool ok = cursor->seek(hash.view()); ok && starts_with(cursor->key(), hash.view()); ok = cursor->next(), ++expected) {
    if (read_u64_be(cursor->key().data() + 32) != expected) break;  // a gap: the bytes held end there
    chunk(cursor->value());
  }
  return Status::ok();
}

namespace {

Result<Attachment> missing_row(ByteView key, ByteView value) {
  if (key.size() != 32 || value.size() < 8) return Status::corruption("a blobs_missing row is malformed");
  return Attachment{*Hash32::from_view(key), read_u64_be(value.data()),
                    std::string(reinterpret_cast<const char*>(value.data() + 8), value.size() - 8)};
}

}  // namespace

Result<std::vector<Attachment>> Store::missing_blobs() const {
  auto txn = Txn::begin(*env_, Txn::Mode::kRead);
  if (!txn) return txn.status();
  auto cursor = Cursor::open(*txn, tables_.blobs_missing);
  if (!cursor) return cursor.status();
  std::vector<Attachment> out;
  for (bool ok = cursor->first(); ok; ok = cursor->next()) {
    auto row = missing_row(cursor->key(), cursor->value());
    if (!row) return row.status();
    out.push_back(std::move(*row));
  }
  return out;
}

Result<std::optional<Attachment>> Store::missing_blob(const Hash32& hash) const {
  auto txn = Txn::begin(*env_, Txn::Mode::kRead);
  if (!txn) return txn.status();
  auto value = txn->get(tables_.blobs_missing, hash.view());
  if (!value) return value.status();
  if (!*value) return std::optional<Attachment>();
  auto row = missing_row(hash.view(), **value);
  if (!row) return row.status();
  return std::optional<Attachment>(std::move(*row));
}

Status Store::read_blob_from(const Hash32& hash, std::uint64_t offset,
                             const std::function<void(std::uint64_t, ByteView)>& chunk) const {
  auto txn = Txn::begin(*env_, Txn::Mode::kRead);
  if (!txn) return txn.status();
  auto meta = txn->get(tables_.blob_meta, hash.view());
  if (!meta) return meta.status();
  if (!*meta) return Status::not_found("this node does not hold blob " + hash.hex());
  Bytes start(hash.bytes.begin(), hash.bytes.end());
  append_u64_be(start, offset / limits::blob_chunk_bytes);
  auto cursor = Cursor::open(*txn, tables_.blobs);
  if (!cursor) return cursor.status();
  for (bool ok = cursor->seek(start); ok && starts_with(cursor->key(), hash.view()); ok = cursor->next())
    chunk(read_u64_be(cursor->key().data() + 32) * limits::blob_chunk_bytes, cursor->value());
  return Status::ok();
}

Result<HazardState> Store::hazard(const Hash32& id) const {
  auto txn = Txn::begin(*env_, Txn::Mode::kRead);
  if (!txn) return txn.status();
  return hazard_in(*txn, id);
}

Result<std::vector<Hash32>> Store::hazards() const { return records("hazard"); }

Result<std::uint64_t> Store::newest_hlc() const {
  auto txn = Txn::begin(*env_, Txn::Mode::kRead);
  if (!txn) return txn.status();
  auto now = txn->get(tables_.local, as_bytes(kLocalHlcSeen));
  if (!now) return now.status();
  return *now && (*now)->size() == 8 ? read_u64_be((*now)->data()) : std::uint64_t{0};
}

Result<std::uint64_t> Store::for_each_arrival_after(std::uint64_t after, const std::function<bool(const Reach&)>& wanted,
                                                    const std::function<void(std::uint64_t, std::shared_ptr<const Op>)>& visit) const {
  auto txn = Txn::begin(*env_, Txn::Mode::kRead);
  if (!txn) return txn.status();
  auto cursor = Cursor::open(*txn, tables_.arrivals);
  if (!cursor) return cursor.status();
  Reach reach;
  std::uint64_t last = after;
  for (bool ok = cursor->seek(u64_be(after + 1)); ok; ok = cursor->next()) {
    std::uint64_t seq = read_u64_be(cursor->key().data());
    last = seq;
    auto id = Hash32::from_view(cursor->value());
    if (!id) return Status::corruption("an arrivals row is malformed");
    auto where = txn->get(tables_.ids, id->view());
    if (!where) return where.status();
    if (!*where) continue;  // not stored (any more)
    Bytes key = concat({**where, id->view()});
    auto reach_row = txn->get(tables_.reach, key);
    if (!reach_row) return reach_row.status();
    if (!reach_at(key, *reach_row ? &**reach_row : nullptr, reach))
      return Status::corruption("an ops key or its reach row is malformed");
    if (!wanted(reach)) continue;
    auto op = op_at(*txn, *id, key);
    if (!op) return op.status();
    visit(seq, std::move(*op));
  }
  return last;
}

Result<std::optional<std::string>> Store::local_value(const std::string& name) const {
  auto txn = Txn::begin(*env_, Txn::Mode::kRead);
  if (!txn) return txn.status();
  auto value = txn->get(tables_.local, as_bytes("value/" + name));
  if (!value) return value.status();
  if (!*value) return std::optional<std::string>();
  return std::optional<std::string>(std::string((*value)->begin(), (*value)->end()));
}

Status Store::set_local_value(const std::string& name, const std::string& value) {
  auto txn = Txn::begin(*env_, Txn::Mode::kWrite);
  if (!txn) return txn.status();
  if (Status s = txn->put(tables_.local, as_bytes("value/" + name), as_bytes(value)); !s) return s;
  return txn->commit();
}

Result<std::uint64_t> Store::last_arrival() const {
  auto txn = Txn::begin(*env_, Txn::Mode::kRead);
  if (!txn) return txn.status();
  auto cursor = Cursor::open(*txn, tables_.arrivals);
  if (!cursor) return cursor.status();
  if (!cursor->last()) return std::uint64_t{0};
  return read_u64_be(cursor->key().data());
}

Result<std::uint64_t> Store::local_counter(const std::string& name) const {
  auto txn = Txn::begin(*env_, Txn::Mode::kRead);
  if (!txn) return txn.status();
  auto value = txn->get(tables_.local, as_bytes("counter/" + name));
  if (!value) return value.status();
  return *value && (*value)->size() == 8 ? read_u64_be((*value)->data()) : std::uint64_t{0};
}

Status Store::set_local_counter(const std::string& name, std::uint64_t value) {
  auto txn = Txn::begin(*env_, Txn::Mode::kWrite);
  if (!txn) return txn.status();
  if (Status s = txn->put(tables_.local, as_bytes("counter/" + name), u64_be(value)); !s) return s;
  return txn->commit();
}

Result<std::vector<std::pair<std::string, std::uint64_t>>> Store::local_counters(const std::string& prefix) const {
  auto txn = Txn::begin(*env_, Txn::Mode::kRead);
  if (!txn) return txn.status();
  std::string full = "counter/" + prefix;
  std::vector<std::pair<std::string, std::uint64_t>> out;
  auto cursor = Cursor::open(*txn, tables_.local);
  if (!cursor) return cursor.status();
  for (bool ok = cursor->seek(as_bytes(full)); ok && starts_with(cursor->key(), as_bytes(full)); ok = cursor->next())
    if (cursor->value().size() == 8)
      out.emplace_back(std::string(cursor->key().begin() + 8, cursor->key().end()), read_u64_be(cursor->value().data()));
  return out;
}

Result<std::optional<Store::AuthorHead>> Store::author_head(const PublicKey& key) const {
  auto txn = Txn::begin(*env_, Txn::Mode::kRead);
  if (!txn) return txn.status();
  auto cursor = Cursor::open(*txn, tables_.authors);
  if (!cursor) return cursor.status();
  Bytes after = concat({key.view(), u64_be(~0ull)});
  bool positioned = cursor->seek(after) ? cursor->prev() : cursor->last();
  if (!positioned || !starts_with(cursor->key(), key.view())) return std::optional<AuthorHead>();
  return std::optional<AuthorHead>(AuthorHead{read_u64_be(cursor->key().data() + 32), *Hash32::from_view(cursor->key().subspan(40))});
}

// ---- clocks and key heads (this node's own rows of `local`; node/STORE.md) --------------------

namespace {

std::optional<KeyHead> key_head_from(const PublicKey& key, ByteView value) {
  if (value.size() != 16 && value.size() != 48) return std::nullopt;
  KeyHead head{key, read_u64_be(value.data()), std::nullopt, read_u64_be(value.data() + 8)};
  if (value.size() == 48) head.id = Hash32::from_view(value.subspan(16));
  return head;
}

}  // namespace

Result<std::vector<PeerClockOffset>> Store::peer_clocks_in(const Txn& txn) const {
  std::vector<PeerClockOffset> peers;
  auto cursor = Cursor::open(txn, tables_.local);
  if (!cursor) return cursor.status();
  ByteView prefix = as_bytes(kLocalClock);
  for (bool ok = cursor->seek(prefix); ok && starts_with(cursor->key(), prefix); ok = cursor->next()) {
    std::string hex(reinterpret_cast<const char*>(cursor->key().data()) + prefix.size(), cursor->key().size() - prefix.size());
    auto peer = Hash32::from_hex(hex);
    if (!peer || cursor->value().size() != 16) continue;  // not a row this release wrote: ignored
    peers.push_back(PeerClockOffset{*peer, static_cast<std::int64_t>(read_u64_be(cursor->value().data())),
                                    read_u64_be(cursor->value().data() + 8)});
  }
  std::sort(peers.begin(), peers.end(),
            [](const PeerClockOffset& a, const PeerClockOffset& b) { return a.observed_ms > b.observed_ms; });
  return peers;
}

TrustedTime Store::trusted_time_in(const Txn& txn, std::uint64_t local_ms) const {
  auto peers = peer_clocks_in(txn);
  // Unreadable rows count as none: the node's own clock, as before it met a peer.
  return trusted_time(local_ms, peers ? std::span<const PeerClockOffset>(*peers) : std::span<const PeerClockOffset>());
}

Result<ClockState> Store::clock_state(const PhysicalClock& clock) const {
  auto txn = Txn::begin(*env_, Txn::Mode::kRead);
  if (!txn) return txn.status();
  auto peers = peer_clocks_in(*txn);
  if (!peers) return peers.status();
  ClockState state{trusted_time(clock.now_ms(), *peers), std::move(*peers)};
  return state;
}

Status Store::record_peer_clock(const PublicKey& peer, std::uint64_t peer_ms, std::uint64_t local_ms) {
  auto txn = Txn::begin(*env_, Txn::Mode::kWrite);
  if (!txn) return txn.status();
  auto peers = peer_clocks_in(*txn);
  if (!peers) return peers.status();
  std::int64_t offset = static_cast<std::int64_t>(peer_ms - local_ms);  // two's complement: peer − local
  // The same offset seen lately: nothing to write (limits::clock_offset_rewrite_ms).
  for (const PeerClockOffset& known : *peers)
    if (known.peer == peer) {
      std::int64_t moved = known.offset_ms - offset;
      std::uint64_t age = local_ms > known.observed_ms ? local_ms - known.observed_ms : known.observed_ms - local_ms;
      if ((moved < 0 ? -moved : moved) <= static_cast<std::int64_t>(limits::clock_offset_jitter_ms) &&
          age <= limits::clock_offset_rewrite_ms)
        return Status::ok();
    }
  // At most limits::clock_peers_max rows: the oldest observations of other peers go.
  std::size_t others = 0;
  for (const PeerClockOffset& known : *peers) {
    if (known.peer == peer) continue;
    if (++others < limits::clock_peers_max) continue;
    if (Status s = txn->del(tables_.local, local_key(kLocalClock, known.peer)); !s) return s;
  }
  if (Status s = txn->put(tables_.local, local_key(kLocalClock, peer), concat_u64(static_cast<std::uint64_t>(offset), local_ms));
      !s)
    return s;
  return txn->commit();
}

Result<std::uint64_t> Store::deadline_now_in(const Txn& txn) const {
  auto seen = txn.get(tables_.local, as_bytes(kLocalHlcSeen));
  if (!seen) return seen.status();
  std::uint64_t now_hlc = *seen && (*seen)->size() == 8 ? read_u64_be((*seen)->data()) : 0;
  if (clock_ == nullptr) return now_hlc;
  TrustedTime trusted = trusted_time_in(txn, clock_->now_ms());
  // A clock at 1970 that no peer has corrected is no bound at all: then the ops' time alone.
  if (!trusted.known) return now_hlc;
  std::uint64_t cap = hlc_from_ms(trusted.trusted_ms + limits::clock_skew_ms_max) | 0xffff;
  return std::min(now_hlc, cap);
}

Result<std::uint64_t> Store::deadline_now_hlc() const {
  auto txn = Txn::begin(*env_, Txn::Mode::kRead);
  if (!txn) return txn.status();
  return deadline_now_in(*txn);
}

Result<std::vector<KeyHead>> Store::key_heads(std::span<const PublicKey> keys, const std::string& scope) const {
  auto txn = Txn::begin(*env_, Txn::Mode::kRead);
  if (!txn) return txn.status();
  std::vector<KeyHead> out;
  auto cursor = Cursor::open(*txn, tables_.authors);
  if (!cursor) return cursor.status();
  for (const PublicKey& key : keys) {
    KeyHead head{key, 0, std::nullopt, 0};
    Bytes after = concat({key.view(), u64_be(~0ull)});
    bool positioned = cursor->seek(after) ? cursor->prev() : cursor->last();
    if (positioned && starts_with(cursor->key(), key.view()) && cursor->key().size() == 72) {
      head.seq = read_u64_be(cursor->key().data() + 32);
      Hash32 id = *Hash32::from_view(cursor->key().subspan(40));
      auto reach = stored_reach(*txn, tables_.ids, tables_.reach, id);
      if (!reach) return reach.status();
      if (visible_to(*reach, scope)) {
        auto where = txn->get(tables_.ids, id.view());
        if (!where) return where.status();
        if (!*where) return Status::corruption("op " + id.hex() + " is in the authors index but not stored");
        head.id = id;
        head.hlc = hlc_of_scope_time(**where);
      }
    }
    out.push_back(std::move(head));
  }
  return out;
}

Status Store::note_key_heads(std::span<const KeyHead> heads) {
  if (heads.empty()) return Status::ok();
  auto txn = Txn::begin(*env_, Txn::Mode::kWrite);
  if (!txn) return txn.status();
  bool wrote = false;
  for (const KeyHead& head : heads) {
    if (head.seq == 0) continue;
    Bytes name = local_key(kLocalKeyHead, head.key);
    auto row = txn->get(tables_.local, name);
    if (!row) return row.status();
    std::optional<KeyHead> known = *row ? key_head_from(head.key, **row) : std::nullopt;
    if (known && (known->seq > head.seq || (known->seq == head.seq && (known->id || !head.id)))) continue;
    if (Status s = txn->put(tables_.local, name, key_head_value(head)); !s) return s;
    wrote = true;
  }
  return wrote ? txn->commit() : Status::ok();  // nothing written: the transaction is aborted
}

Status Store::forget_key_head(const KeyHead& head) {
  auto txn = Txn::begin(*env_, Txn::Mode::kWrite);
  if (!txn) return txn.status();
  Bytes name = local_key(kLocalKeyHead, head.key);
  auto row = txn->get(tables_.local, name);
  if (!row) return row.status();
  if (!*row) return Status::ok();
  std::optional<KeyHead> known = key_head_from(head.key, **row);
  if (!known || known->seq != head.seq || known->id != head.id) return Status::ok();
  if (Status s = txn->del(tables_.local, name); !s) return s;
  return txn->commit();
}

Status Store::adopt_key_head(const PublicKey& key, std::uint64_t seq, const Hash32& id, std::uint64_t hlc) {
  auto txn = Txn::begin(*env_, Txn::Mode::kWrite);
  if (!txn) return txn.status();
  auto standing = key_standing_in(*txn, key);
  if (!standing) return standing.status();
  if (seq == 0 || seq <= standing->held_seq)
    return Status::invalid("this node already holds op number " + std::to_string(standing->held_seq) + " by key " +
                           key.short_hex() + "; a head to adopt must come after it");
  if (standing->adopted && standing->adopted->seq >= seq) return Status::ok();  // an adopted head never goes back
  if (Status s = txn->put(tables_.local, local_key(kLocalKeyAdopted, key), key_head_value(KeyHead{key, seq, id, hlc})); !s)
    return s;
  return txn->commit();
}

Result<KeyStanding> Store::key_standing(const PublicKey& key) const {
  auto txn = Txn::begin(*env_, Txn::Mode::kRead);
  if (!txn) return txn.status();
  return key_standing_in(*txn, key);
}

Result<KeyStanding> Store::key_standing_in(const Txn& txn, const PublicKey& key) const {
  KeyStanding standing;
  {
    auto cursor = Cursor::open(txn, tables_.authors);
    if (!cursor) return cursor.status();
    Bytes after = concat({key.view(), u64_be(~0ull)});
    bool positioned = cursor->seek(after) ? cursor->prev() : cursor->last();
    if (positioned && starts_with(cursor->key(), key.view()) && cursor->key().size() == 72) {
      standing.held_seq = read_u64_be(cursor->key().data() + 32);
      standing.held_id = Hash32::from_view(cursor->key().subspan(40));
    }
  }
  for (auto [prefix, into] : {std::pair{kLocalKeyHead, &standing.known}, std::pair{kLocalKeyAdopted, &standing.adopted}}) {
    auto row = txn.get(tables_.local, local_key(prefix, key));
    if (!row) return row.status();
    if (*row) *into = key_head_from(key, **row);
  }
  {
    auto cursor = Cursor::open(txn, tables_.equivocations);
    if (!cursor) return cursor.status();
    for (bool ok = cursor->seek(key.view()); ok && starts_with(cursor->key(), key.view()); ok = cursor->next()) {
      std::uint64_t seq = read_u64_be(cursor->key().data() + 32);
      if (standing.equivocations.empty() || standing.equivocations.back() != seq) standing.equivocations.push_back(seq);
    }
  }
  std::string name = "key " + key.short_hex();
  // Restored from a backup and not synced since: the key may have signed after the backup was
  // taken, and no neighbour has said so yet.
  auto restored = txn.get(tables_.local, as_bytes(kLocalRestored));
  if (!restored) return restored.status();
  if (*restored) {
    standing.behind = name +
                      " does not sign yet: this node was restored from a backup and has not finished a sync session "
                      "with a neighbour since, so it cannot know what the key signed after the backup was taken; sync "
                      "with a neighbour (anwang sync HOST:PORT), then sign again";
    return standing;
  }
  std::uint64_t own = standing.held_seq;
  if (standing.adopted && standing.adopted->seq > own) own = standing.adopted->seq;
  if (!standing.known || standing.known->seq < own) return standing;
  const KeyHead& known = *standing.known;
  if (known.seq > own) {
    if (known.id)
      standing.behind = name + " has signed op number " + std::to_string(known.seq) +
                        " on another node or before this node was restored, and this node holds only up to " +
                        std::to_string(own) +
                        ": sync with a neighbour (anwang sync HOST:PORT) until it holds them, then sign again";
    else
      standing.behind = name + " has signed op number " + std::to_string(known.seq) +
                        " on another node, in a scope this node may not hold, and this node holds only up to " +
                        std::to_string(own) +
                        ": the key has moved; it signs here again only once its head is adopted here (moving a key "
                        "between nodes is an explicit act)";
    return standing;
  }
  // The same number: other nodes hold a different op with it that this store lacks (the key
  // signed twice with one number). Refused until this store holds that op too.
  if (!known.id || known.id == standing.held_id || (standing.adopted && standing.adopted->id == known.id))
    return standing;
  auto held = txn.get(tables_.ids, known.id->view());
  if (!held) return held.status();
  if (!*held)
    standing.behind = name + " signed op number " + std::to_string(known.seq) +
                      " twice, here and on another node (restored from an old copy, or the key used on two nodes): "
                      "sync with a neighbour (anwang sync HOST:PORT) until this node holds the other op, then sign again";
  return standing;
}

Status Store::for_each_pending(const std::function<void(const Op&, const std::vector<Hash32>& missing)>& visit) const {
  auto txn = Txn::begin(*env_, Txn::Mode::kRead);
  if (!txn) return txn.status();
  auto network = txn->get(tables_.meta, as_bytes(kMetaNetworkId));
  if (!network) return network.status();
  bool has_network = network->has_value();
  auto cursor = Cursor::open(*txn, tables_.pending);
  if (!cursor) return cursor.status();
  for (bool ok = cursor->first(); ok; ok = cursor->next()) {
    auto id = Hash32::from_view(cursor->key());
    if (!id) return Status::corruption("a key of the pending table is not an op id");
    // Verified before it was held: decoded as stored, but a damaged row is reported, not asserted.
    auto decoded = decode_stored_op(cursor->value(), *id);
    if (auto* refused = std::get_if<RefusedOp>(&decoded))
      return Status::corruption("pending op " + id->hex() + " no longer decodes: " + refused->detail);
    const Op& op = std::get<Op>(decoded);
    std::vector<Hash32> missing;
    if (op.fields.network && !has_network) missing.push_back(*op.fields.network);
    for (const Hash32& parent : required_parents(op.fields)) {
      auto known = txn->get(tables_.ids, parent.view());
      if (!known) return known.status();
      if (!*known) missing.push_back(parent);
    }
    visit(op, missing);
  }
  return Status::ok();
}


}  // namespace anwang::node
