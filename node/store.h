// store.h — a node's LMDB store: the op log, its indexes, pending ops and metadata.
//
// The tables and their keys are described in node/STORE.md. Every op enters through ingest():
// decode → canonical → version and payload → fields → signature → network → parents present?
// (else pending) → author chain and clock → store → index, many ops per write transaction, and
// a batch is acknowledged only after its commit returned. A refused op leaves nothing behind.
// author() is the one way this node creates ops: it picks sequence number, previous op, parents
// and timestamp inside the same write transaction that ingests the op, so two processes sharing
// a store never sign two ops with one sequence number.
//
// A Store may be used by several processes at once (LMDB serializes writers). It caches nothing
// another writer could change: decoded ops are named by the hash of their bytes, and the sync
// listing and authority graph only grow, caught up from the tables when they have grown. One
// Store object is used from one thread at a time.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "crdt/authority.h"
#include "crdt/hash.h"
#include "crdt/hazard.h"
#include "crdt/record.h"
#include "crdt/hlc.h"
#include "crdt/op.h"
#include "crdt/trusted_time.h"
#include "node/lmdb.h"

namespace anwang::node {

// 2 added the reach, attachments and blobs_missing tables, 3 the items table, 4 reach rows for
// ops whose parents do not go everywhere they go (Reach::within); an older store gains what it
// lacks at open.
inline constexpr std::uint32_t kStoreSchemaVersion = 5;

struct StoreOptions {
  std::filesystem::path dir;
  std::uint64_t map_bytes = 0;  // 0: the default from limits.h
  // Threads that decode and check signatures of a large ingest batch while the (single) writer
  // stores the ops already checked; the writer is one of them. 0: one per core, at most
  // limits::verify_threads_max.
  unsigned verify_threads = 0;
  // false: a commit is not flushed to disk and pages are written through the map (MDB_NOSYNC |
  // MDB_WRITEMAP). What a process committed survives it being killed, but not a power cut. Only
  // for the simulator, whose crashes are in-process and whose stores live in memory.
  bool durable_commits = true;
  // This node's clock, for overdue flags: "now" for them is the newest op timestamp held, but
  // never more than the node's trusted time plus limits::clock_skew_ms_max (crdt/HAZARD.md).
  // nullptr: the newest op timestamp alone (tests of the merge rules, the simulator). Not owned;
  // it must outlive the store.
  const PhysicalClock* clock = nullptr;
};

// What happened to one op of an ingested batch.
struct IngestOutcome {
  enum class Kind { kAccepted, kDuplicate, kPending, kRefused };
  Kind kind = Kind::kRefused;
  // The hash of the op's bytes, for every outcome of ingest(), refusals too (whether or not the
  // bytes decode).
  std::optional<Hash32> id;
  Refusal reason = Refusal::kMalformed;
  std::string detail;        // for kRefused: why; for kPending: which parent is missing
};

// An op an ingest batch stored, set waiting for its parents or held back as dated ahead of this
// node's time: who signed it, its number and its time (a sync session counts ops stamped far
// ahead, and notes the heads of keyring keys).
struct IngestStamp {
  Hash32 id;
  PublicKey author;
  std::uint64_t author_seq = 0;
  std::uint64_t hlc = 0;
  bool waiting = false;    // set waiting for parents (else stored)
  bool held_back = false;  // refused as ahead_of_clock: not stored, its sender keeps it
};
const char* outcome_name(IngestOutcome::Kind kind);

struct IngestReport {
  std::vector<IngestOutcome> outcomes;  // one per op of the batch, in batch order
  std::size_t released_from_pending = 0;  // older pending ops this batch completed
  std::vector<IngestStamp> stamps;        // every op stored (released ones too), set waiting or held back
};

// Whether a draft starts a new record or is a step on the record `object`, and whether author()
// refuses it unless it is effective. Enums, not bools: as positional bools, a `true` meant for
// the one was once read as the other, and every hazard step the simulator drafted became a new
// record (refused, so the closed loop never ran there).
enum class DraftTarget : std::uint8_t { kExisting, kNewRecord };
enum class DraftAdmit : std::uint8_t { kEffectiveOnly, kEvenIfNotEffective };

// What a caller wants to write; author() fills in the rest.
struct OpDraft {
  std::string scope;
  Hash32 object;
  Payload payload;
  std::vector<Hash32> extra_parents;
  // kNewRecord: the op creates a new record; its object id becomes
  // authored_object_id(author, author_seq) and `object` is ignored.
  DraftTarget target = DraftTarget::kExisting;
  // kEffectiveOnly: refuse (and write nothing) unless the new op is effective under the
  // authority rules.
  DraftAdmit admit = DraftAdmit::kEffectiveOnly;
};

struct StoreStats {
  std::optional<Hash32> network_id;
  std::string county_code;
  std::uint64_t ops = 0;
  std::uint64_t pending = 0;
  std::uint64_t deferred = 0;  // held ops of a kind this release does not know (DeferredOp)
  std::uint64_t file_bytes = 0;
  std::uint64_t map_bytes = 0;
  std::uint64_t hlc_last = 0;
  // When this store was restored from a backup, while no sync session has cleared the mark since
  // (Store::mark_restored).
  std::optional<std::uint64_t> restored_ms;
};

// This node's clock as its peers see it (crdt/trusted_time.h): for `anwang status`, the CLI's
// warnings and anwangd's log.
struct ClockState {
  TrustedTime time;
  std::vector<PeerClockOffset> peers;  // each peer's latest offset, newest observation first
};

// A key's latest op: its sequence number and, when known, its id and timestamp.
struct KeyHead {
  PublicKey key;
  std::uint64_t seq = 0;
  std::optional<Hash32> id;  // absent when the op may not be held by the node asking
  std::uint64_t hlc = 0;
};

// Where a person key of this node's keyring stands against what other nodes have seen of it.
struct KeyStanding {
  std::uint64_t held_seq = 0;          // the latest op by it this store holds (0: none)
  std::optional<Hash32> held_id;
  std::optional<KeyHead> known;        // the highest head other nodes reported (node/STORE.md, key_head/)
  std::optional<KeyHead> adopted;      // a head taken over without holding it (Store::adopt_key_head)
  // Why author() refuses to sign with it (empty: it signs). Names the key by its short hex.
  std::string behind;
  std::vector<std::uint64_t> equivocations;  // sequence numbers at which this store holds two ops by it
};

// A held op of a payload kind or record step this release does not know (crdt/OP_FORMAT.md,
// "Compatibility"), or one that became known at an upgrade and broke the rules of this release.
struct DeferredOp {
  Hash32 id;
  std::string scope;
  std::string what;   // "payload variant 10", "record step 'report monthly'"
  bool void_here = false;  // known now, and refused by this release's rules: inert for good
};

struct VerifyReport {
  std::uint64_t ops_checked = 0;
  std::vector<std::string> problems;  // one sentence each
  bool ok() const { return problems.empty(); }
};

class Store {
 public:
  static Result<std::unique_ptr<Store>> open(const StoreOptions& options);
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Ingests a batch in one write transaction. REQUIRES: batch.size() <= limits::ingest_batch_ops_max.
  // An error Status (store full, I/O) means nothing of the batch was kept.
  Result<IngestReport> ingest(std::span<const Bytes> batch);
  // Of `ids`, those still waiting for parents in the pending area.
  Result<std::vector<Hash32>> still_pending(std::span<const Hash32> ids) const;
  // Removes these ops from the pending area, in one write transaction; ids not pending are
  // skipped. Used for a sync session's orphans when it ends: the peer offers them again in a
  // later session, after their parents. Returns how many were removed.
  Result<std::size_t> drop_pending(std::span<const Hash32> ids);

  // Creates, signs and ingests one op by `key`, stamped with `clock` corrected to this node's
  // trusted time (clock_state). Errors: invalid draft, no network yet (for anything but a
  // genesis), a key behind what other nodes have seen of it (KeyStanding::behind: it would sign
  // with numbers the network has seen), store full. A notice drafted with deadline_days gets
  // deadline_ms = its own time + those days.
  Result<Op> author(const KeyPair& key, const OpDraft& draft, const PhysicalClock& clock);
  // What the rules would say if `author` signed `draft` now, exactly as `author` would judge it
  // (the same parents, time and state), with nothing signed or written: for showing a person only
  // the actions they may take. A draft that is no hazard or record step is judged effective here;
  // the authority rules judge it when it is signed. Errors as for `author`.
  Result<Verdict> judge_draft(const PublicKey& author, const OpDraft& draft, const PhysicalClock& clock);
  // author() for several drafts by one key in one write transaction: each is signed after the ones
  // before it (its sequence number, parents and time follow theirs), and either every one is
  // written or none is (the first refusal is returned). For `anwang region import`.
  // REQUIRES: 1 to limits::ingest_batch_ops_max drafts.
  Result<std::vector<Op>> author_all(const KeyPair& key, std::span<const OpDraft> drafts, const PhysicalClock& clock);
  // author() for several drafts by one key in one write transaction, where a refusal of one does
  // not stop the others: each draft's slot holds its op, or why it was refused before its op was
  // written (the rules' verdict, a bad field). For `anwang import` (node/import.h), where a county's
  // ledger is 50,000 rows, some of them wrong, and a transaction per op would spend most of its
  // time flushing to disk. An error Status means nothing of the batch was kept: the store or disk
  // failed, or a draft was refused after its op was written into the transaction (it cannot be
  // taken out alone), in which case the caller may author the drafts one by one.
  // REQUIRES: drafts.size() <= limits::ingest_batch_ops_max.
  Result<std::vector<Result<Op>>> author_batch(const KeyPair& key, std::span<const OpDraft> drafts,
                                               const PhysicalClock& clock);
  // What the rules would say of each of `drafts` if `author` signed them now, as judge_draft does,
  // all in one write transaction that is never committed (nothing is written): for a dry run of
  // an import, which judges every row. A draft that cannot be judged (a bad field) has its error
  // in its slot. REQUIRES: drafts.size() <= limits::ingest_batch_ops_max.
  Result<std::vector<Result<Verdict>>> judge_batch(const PublicKey& author, std::span<const OpDraft> drafts,
                                                   const PhysicalClock& clock);

  // Clocks (crdt/trusted_time.h). The trusted time of a node whose clock is `clock`, with its
  // peers' offsets as recorded.
  Result<ClockState> clock_state(const PhysicalClock& clock) const;
  // Records what a session saw of a peer's clock: its time `peer_ms` when this node's clock read
  // `local_ms`. One row per peer, at most limits::clock_peers_max (the oldest observation goes).
  Status record_peer_clock(const PublicKey& peer, std::uint64_t peer_ms, std::uint64_t local_ms);
  // "Now" for overdue flags: the newest op timestamp held, but no more than the trusted time (by
  // StoreOptions::clock) plus limits::clock_skew_ms_max, so one op stamped a year ahead never makes
  // a county's notices overdue. Without a clock, or with one that reads before 2026 and no peer
  // to correct it, the newest op timestamp alone.
  Result<std::uint64_t> deadline_now_hlc() const;

  // Key heads (node/STORE.md, `local`). For each key, the latest op this store holds by it (seq 0:
  // none); its id and timestamp only when a node of `scope` may hold that op.
  Result<std::vector<KeyHead>> key_heads(std::span<const PublicKey> keys, const std::string& scope) const;
  // Records heads other nodes hold of keys of this node's keyring; a key's known head only moves up.
  Status note_key_heads(std::span<const KeyHead> heads);
  // Forgets the key's known head if it is still `head` (a peer named it and never sent it).
  Status forget_key_head(const KeyHead& head);
  // Takes `seq` (op `id`, timestamp `hlc`) as the key's latest op without holding it: its next op
  // names it as authorPrev (no causal parent: crdt/OP_FORMAT.md). For moving a key between nodes,
  // an explicit act. Invalid when the store already holds an op by the key numbered `seq` or later.
  Status adopt_key_head(const PublicKey& key, std::uint64_t seq, const Hash32& id, std::uint64_t hlc);
  Result<KeyStanding> key_standing(const PublicKey& key) const;

  // Backups (node/BACKUP.md). A compacting copy of the whole store to `fd` (a file or a pipe) from
  // one read transaction: a consistent snapshot while other writers, in this process or another,
  // go on. Blocks until written. May run on a thread of its own while no other call uses this
  // Store object.
  Status copy_compact_to(int fd) const;
  // The bytes of the store's pages in use: about what copy_compact_to writes, for progress.
  std::uint64_t used_bytes() const;
  // Marks a store restored from a backup (`local` "restored", this node's own, never replicated):
  // until clear_restored, no key signs (key_standing says why), since the key may have signed
  // after the backup was taken. A sync session that learnt the head of every key of the keyring
  // from a neighbour clears it (node/sync.h); from then on the known heads rule.
  Status mark_restored(std::uint64_t now_ms);
  // True when there was a mark to remove.
  Result<bool> clear_restored();

  Result<std::optional<Op>> get(const Hash32& id) const;
  // The stored ops among `ids`, in the order given, read in one transaction; ids not stored
  // are skipped. The ops are shared with the store's cache of decoded ops.
  Result<std::vector<std::shared_ptr<const Op>>> get_many(std::span<const Hash32> ids) const;
  // The op whose id starts with `hex_prefix` (at least 8 hex digits). Not found when none or
  // several match.
  Result<Hash32> resolve_id(const std::string& hex_prefix) const;
  // Every stored op in (timestamp, id) order: parents before children.
  Status for_each_op(const std::function<void(const Op&)>& visit) const;
  // Every stored op's reach (who may hold it), timestamp and id, from the indexes alone (no op
  // is decoded): what a sync session offers. In no set order. Kept in memory between calls
  // (up to limits::store_items_listed_max ops): a call reads only the ops that arrived since.
  // `visit` must not call for_each_item again.
  // The id of every op held, in id order (the ids table's own order: nothing is decoded or sorted).
  Result<std::vector<Hash32>> op_ids() const;
  Status for_each_item(const std::function<void(const Reach&, std::uint64_t hlc, const Hash32& id)>& visit) const;
  // Every attachment reference of a stored op: (blob hash, op id), and whether this node holds
  // the whole blob.
  Status for_each_attachment_ref(
      const std::function<void(const Hash32& blob, const Hash32& op, bool complete)>& visit) const;
  // Ops touching one object, in timestamp order.
  Result<std::vector<Op>> ops_of_object(const Hash32& object) const;

  Result<StoreStats> stats() const;
  // The held ops of kinds this release does not know, and those judged void at an upgrade
  // (DeferredOp), in id order, at most limits::deferred_listed_max.
  Result<std::vector<DeferredOp>> deferred_ops() const;
  // BLAKE2b-256 over the replicated content of every table: equal on two nodes that hold the
  // same set of ops, whatever order they arrived in.
  Result<Hash32> digest() const;
  // Re-reads and re-verifies every stored op and its index entries.
  Result<VerifyReport> verify() const;

  int stale_readers_cleared() const { return env_->stale_readers_cleared(); }

  // Authority: the verdicts of every authority op, and judging any stored op.
  Result<std::shared_ptr<const AuthorityState>> authority() const;
  Result<Verdict> verdict(const Op& op) const;
  // Every stored op with its verdict, in (timestamp, id) order.
  Status for_each_judged(const std::function<void(const Op&, const Verdict&)>& visit) const;
  // BLAKE2b over every op's id and verdict: equal on nodes holding the same set of ops. `visit`,
  // when given, also sees every op with its verdict (as for_each_judged: one pass for both).
  Result<Hash32> effective_digest(const std::function<void(const Op&, const Verdict&)>& visit = {}) const;
  // Hazards: every hazard's id, and one hazard judged and derived from its ops.
  Result<std::vector<Hash32>> hazards() const;
  Result<HazardState> hazard(const Hash32& id) const;
  // Other records (ledger units, inspections, tips, incidents, notices) by kind, and one record.
  Result<std::vector<Hash32>> records(const std::string& kind) const;
  Result<RecordState> record(const Hash32& id) const;
  // The newest op timestamp this node has seen (for "now" in overdue flags, deadline_now_hlc).
  Result<std::uint64_t> newest_hlc() const;

  // Blobs (photos, scanned forms), content-addressed by BLAKE2b-256, stored in chunks.
  Result<Attachment> put_blob(ByteView data, const std::string& media_type);
  Result<bool> has_blob(const Hash32& hash) const;
  // Calls `chunk` with the blob's bytes in order. Not found when this node lacks the blob.
  Status read_blob(const Hash32& hash, const std::function<void(ByteView)>& chunk) const;

  // Ops in the order this node received them (its own bookkeeping, not replicated): for
  // "what is new since the last bundle". `visit` gets each op's arrival number, for every op
  // whose reach `wanted` accepts (the others are not decoded); all in one read transaction.
  // The op is shared with the store's cache of decoded ops. Returns the last arrival number
  // walked (`after` when nothing arrived since).
  Result<std::uint64_t> for_each_arrival_after(
      std::uint64_t after, const std::function<bool(const Reach&)>& wanted,
      const std::function<void(std::uint64_t, std::shared_ptr<const Op>)>& visit) const;
  // Small named values of this node's own (not replicated): what the web API remembers of a
  // submitted draft (its idempotency key), …
  Result<std::optional<std::string>> local_value(const std::string& name) const;
  Status set_local_value(const std::string& name, const std::string& value);
  // The arrival number of the latest op this node received or wrote (0: none yet).
  Result<std::uint64_t> last_arrival() const;
  // Small named counters of this node's own (not replicated): last bundle sent to a node, …
  Result<std::uint64_t> local_counter(const std::string& name) const;
  Status set_local_counter(const std::string& name, std::uint64_t value);
  // Every local counter whose name starts with `prefix`.
  Result<std::vector<std::pair<std::string, std::uint64_t>>> local_counters(const std::string& prefix) const;

  // Resumable blob transfer: bytes of `hash` already held (whole chunks from the start), a chunk
  // at `offset` (which must be exactly that many bytes), and blobs referenced by held ops but not
  // (completely) held. A chunk is taken only for a blob a held op references and this node lacks,
  // declared with the size that op gives, and only within that size (refused otherwise). Chunks
  // are hashed as they arrive (a running hash, kept between calls); when the last arrives the
  // blob is checked against its hash: on mismatch its chunks are dropped and kRefused returned.
  Result<std::uint64_t> blob_bytes_held(const Hash32& hash) const;
  Status put_blob_chunk(const Attachment& declared, std::uint64_t offset, ByteView bytes);
  Result<std::vector<Attachment>> missing_blobs() const;
  // The attachment record of a blob referenced by a held op and not completely held here.
  Result<std::optional<Attachment>> missing_blob(const Hash32& hash) const;
  Status read_blob_from(const Hash32& hash, std::uint64_t offset, const std::function<void(std::uint64_t, ByteView)>& chunk) const;

  struct AuthorHead {
    std::uint64_t seq = 0;
    Hash32 id;
  };
  // The latest op this store holds by `key`, if any.
  Result<std::optional<AuthorHead>> author_head(const PublicKey& key) const;

 private:
  struct Tables {
    MDB_dbi meta, local, ops, ids, objects, heads, authors, pending, pending_missing, auth_past, authority,
        equivocations, records, blobs, blob_meta, arrivals, reach, attachments, blobs_missing, items, deferred;
  };
  // The schema-2 rows of one op: its reach (unless scope alone says it), its attachment
  // references, and the blobs it references that this node lacks.
  // `reach`: the op's effective reach (its row is written when the scope alone does not say it).
  // author (signer set) and judge_draft (judged set): one path, so the two never disagree.
  Result<std::vector<Op>> author_or_judge(const PublicKey& author_key, const KeyPair* signer,
                                          std::span<const OpDraft> drafts, const PhysicalClock& clock,
                                          std::optional<Verdict>* judged);
  static Status index_reach_and_blobs(Txn& txn, const Tables& tables, const Op& op, const Reach& reach);
  static Status migrate_effective_reach(Txn& txn, const Tables& tables);
  static Status index_record(Txn& txn, const Tables& tables, const Op& op);
  // At open: judges the held ops of kinds an earlier release of this node did not know, now that
  // it may (crdt/OP_FORMAT.md, "Compatibility"). Returns the ids that stay inert for good.
  static Result<std::set<Hash32>> judge_deferred(Txn& txn, const Tables& tables);
  // Before a schema migration: a compacted copy of the store as it was (STORE.md, "Upgrades").
  static Status copy_before_migration(LmdbEnv& env, const std::filesystem::path& dir, std::uint64_t schema);
  Result<HazardState> hazard_in(const Txn& txn, const Hash32& id) const;
  TrustedTime trusted_time_in(const Txn& txn, std::uint64_t local_ms) const;
  Result<std::vector<PeerClockOffset>> peer_clocks_in(const Txn& txn) const;
  Result<std::uint64_t> deadline_now_in(const Txn& txn) const;
  Result<KeyStanding> key_standing_in(const Txn& txn, const PublicKey& key) const;
  // The parents a new op of reach `own` on `object` names: the object's heads when each goes
  // everywhere the op goes, else the newest of the object's ops that do. Invalid when none does
  // (the op is written in a scope that does not hold the object).
  // Heads dated at or after `dated_before` (ahead of the trusted time) are passed over as well.
  Result<std::vector<Hash32>> covering_heads(const Txn& txn, const Hash32& object, const Reach& own,
                                             std::uint64_t dated_before) const;
  // The authority heads a new op of reach `own` names: all of them, but for narrowed ones, inert
  // ones (they authorise nothing) and ones dated at or after `dated_before`; in place of each of
  // those, the nearest authority ops before it that qualify.
  Result<std::vector<Hash32>> covering_authority_heads(const Txn& txn, const AuthorityGraph& graph,
                                                       const AuthorityState& state, const Reach& own,
                                                       std::uint64_t dated_before) const;
  // The hazard `id` as the ops in `txn` make it under `state`, without time: kept from an earlier
  // evaluation or evaluated (and kept when `state` is state_). `ids`: the object's ops in `txn`
  // (object_op_ids). Null when `txn` holds no hazard step of it.
  Result<std::shared_ptr<const TimelessHazard>> timeless_hazard_in(const Txn& txn, const Hash32& id,
                                                                  const std::vector<Hash32>& ids,
                                                                  const std::shared_ptr<const AuthorityState>& state) const;
  Result<RecordState> record_in(const Txn& txn, const Hash32& id) const;
  // The ids of the ops of `object`, in (hlc, id) order, from the index alone.
  Result<std::vector<Hash32>> object_op_ids(const Txn& txn, const Hash32& object) const;
  // The ops `ids`, each with its authority frontier, as the steps judging takes (HazardOp,
  // RecordOp): their bytes are left out. Ops of other payloads come too, as links between the
  // steps. Empty when none of them is a P.
  template <typename P, typename Step>
  Result<std::vector<Step>> ops_of(const Txn& txn, std::span<const Hash32> ids) const;
  // The authority graph as of `txn`: reloaded when the authority table holds more ops than it
  // (another writer, perhaps another process, added some). Copied before mutation while an
  // AuthorityState shares it.
  Status ensure_graph(const Txn& txn) const;
  // For a revocation about to join `graph` with the authority past `auth_frontier`: its frontier op
  // when that op is not an authority op and lies in the revocation's causal past, found by walking
  // back from where records enter that past (find_in_past, limits::revocation_frontier_walk_ops_max);
  // nothing otherwise. A function of the revocation and its causal past (crdt/AUTHORITY.md).
  Result<std::optional<HeldFrontier>> held_frontier_in(const Txn& txn, const AuthorityGraph& graph, const Op& op,
                                                      const std::vector<Hash32>& auth_frontier) const;
  Result<AuthorityGraph*> graph_for_write(const Txn& txn);
  // After a failed write: the in-memory graph back to the `count` ops the store holds.
  void rollback_graph(std::size_t count) const;
  // After a write transaction commits: makes the state state_in computed in it state_, so the
  // next read need not compute it again.
  void adopt_written_state() const;
  Result<std::shared_ptr<const AuthorityState>> state_in(const Txn& txn) const;
  Result<std::optional<Op>> get_in(const Txn& txn, const Hash32& id) const;
  // The op stored under `id` with the stored bytes `bytes`, decoded, or kept from an earlier
  // decoding. The caller has found `id` in the store; an id names its bytes, so a kept op never
  // goes stale.
  Result<std::shared_ptr<const Op>> stored_op(const Hash32& id, ByteView bytes) const;
  // The op `id`, which `txn` is known to hold (an index row names it): kept, or read and decoded.
  Result<std::shared_ptr<const Op>> held_op(const Txn& txn, const Hash32& id) const;
  // The same, with its ops table key (place and id) already known.
  Result<std::shared_ptr<const Op>> op_at(const Txn& txn, const Hash32& id, ByteView key) const;
  Result<std::shared_ptr<const Op>> decode_and_keep(const Hash32& id, ByteView bytes) const;
  void keep_decoded(std::shared_ptr<const Op> op) const;
  // The items table beside the reach table: each op's key and its reach row, if it has one.
  Status walk_items(const Txn& txn, const std::function<Status(ByteView key, const ByteView* row)>& visit) const;
  // for_each_item's listing brought up to `count` items, the items table's size in `txn`.
  Status update_listing(const Txn& txn, std::uint64_t count) const;
  Status list_item(ByteView key, const ByteView* row) const;
  Status for_each_op_in(const Txn& txn, const std::function<void(const Op&)>& visit) const;
  Result<Verdict> verdict_in(const Txn& txn, const Op& op) const;
  class IngestTxn;
  // The verdict a hazard or record step with `fields` would get if stored in `txn`, before it is
  // signed; nothing for other payloads. REQUIRES: `fields` are a draft authored in `txn`.
  Result<std::optional<Verdict>> draft_verdict_in(const Txn& txn, const IngestTxn& ingest, const OpFields& fields) const;
  // One draft of author_or_judge's batch, in its transaction: signed and ingested (or judged only).
  // On failure the caller abandons the transaction and undoes the graph. `wrote`, when given,
  // becomes true once the op may be in `txn` (before that, a failure left only the timestamp it
  // drew, and draft_batch goes on with the next draft).
  Result<Op> author_in(Txn& txn, AuthorityGraph& graph, IngestTxn& ingest, const PublicKey& author_key,
                       const KeyPair* signer, const OpDraft& draft, const PhysicalClock& clock,
                       std::optional<Verdict>* judged, bool* wrote = nullptr);
  // author_batch (signer set: committed) and judge_batch (signer null: each draft judged only, the
  // transaction abandoned): the drafts one after another in one write transaction, a draft refused
  // before it was written leaving the others to go on.
  struct DraftOutcome {
    Result<Op> op;
    std::optional<Verdict> verdict;  // judged only
  };
  Result<std::vector<DraftOutcome>> draft_batch(const PublicKey& author_key, const KeyPair* signer,
                                                std::span<const OpDraft> drafts, const PhysicalClock& clock);
  Store(std::unique_ptr<LmdbEnv> env, Tables tables, unsigned verify_threads, const PhysicalClock* clock)
      : env_(std::move(env)), tables_(tables), verify_threads_(verify_threads), clock_(clock) {}
  // Indexes of the ops of `batch` this store neither holds nor has waiting (a read transaction).
  Result<std::vector<std::size_t>> not_held(std::span<const Bytes> batch) const;
  // The chunks of `hash` held from the start on, in order, up to the first gap.
  Status read_blob_from_chunks(const Hash32& hash, const std::function<void(ByteView)>& chunk) const;

  std::unique_ptr<LmdbEnv> env_;
  Tables tables_;
  unsigned verify_threads_ = 1;
  const PhysicalClock* clock_ = nullptr;  // StoreOptions::clock
  mutable std::shared_ptr<AuthorityGraph> graph_;
  mutable std::shared_ptr<const AuthorityState> state_;
  mutable std::size_t state_graph_size_ = 0;     // authority ops behind state_
  mutable std::size_t state_equivocations_ = 0;  // equivocation rows behind state_
  // The state state_in last computed in a write transaction (it may hold uncommitted authority
  // ops), with the graph size and equivocation rows behind it.
  mutable std::shared_ptr<const AuthorityState> written_state_;
  mutable std::size_t written_graph_size_ = 0;
  mutable std::size_t written_equivocations_ = 0;
  // Hazards evaluated, by object. An evaluation is a function of the authority judgments and the
  // object's ops alone (time is applied after), so it holds while both are the ones it was made
  // from: the judgments of generation `judgments_` and the list of op ids. A new state_ whose
  // judgments of the old ops may differ (AuthorityState::extension_keeps_judgments) starts a
  // new generation and empties the cache. Only evaluations under state_ are kept or looked up;
  // an entry holds no state alive, so state_ can be extended in place. Emptied too when it
  // reaches limits::store_hazards_cached_max.
  struct CachedHazard {
    std::uint64_t judgments = 0;
    std::vector<Hash32> ops;
    std::shared_ptr<const TimelessHazard> hazard;
  };
  mutable std::uint64_t judgments_ = 0;
  mutable std::unordered_map<Hash32, CachedHazard> hazards_;
  // Ops decoded from this store, by id: hazard and record views, sync sessions, bundle exports
  // and listings read the same ops again and again. Emptied when it reaches
  // limits::store_ops_cached_max ops or limits::store_ops_cached_bytes_max of their bytes.
  // `anwang verify` never reads it: it decodes and checks every stored byte itself.
  mutable std::unordered_map<Hash32, std::shared_ptr<const Op>> decoded_;
  // Ops kept while their kind was unknown that broke this release's rules once it knew it
  // (judge_deferred, at open): read as DeferredPayload, judged by nothing.
  std::set<Hash32> void_deferred_;
  // Blobs arriving in chunks (put_blob_chunk): the running hash of each one's bytes held so far,
  // and how many those are. At most limits::blobs_arriving_max; emptied when full (a transfer whose
  // entry is gone hashes its held chunks once again).
  struct BlobIntake {
    std::uint64_t offset = 0;
    Blake2b hasher;
  };
  std::unordered_map<Hash32, BlobIntake> blob_intake_;
  mutable std::size_t decoded_bytes_ = 0;  // the kept ops' bytes
  // for_each_item's listing while the store holds at most limits::store_items_listed_max ops:
  // each op's timestamp, id and reach (an index into `reaches`, one per distinct scope and reach
  // row), in (timestamp, id) order; `last_arrival` is the arrival number of the newest op in it.
  // Ops are never removed, so the ops that arrived after it are the ones to add; a listing whose
  // size then differs from the items table's is made again from the table.
  struct Listing {
    struct Item {
      std::uint64_t hlc = 0;
      Hash32 id;
      std::uint32_t reach = 0;
    };
    bool ready = false;
    std::uint64_t last_arrival = 0;
    std::vector<Item> items;
    std::vector<Reach> reaches;
    std::unordered_map<std::string, std::uint32_t> reach_index;
  };
  mutable Listing listing_;

 public:
  // The pending area (node/STORE.md): every op waiting for its parents, decoded, with the ids it
  // still waits for (parents this store does not hold, and the genesis while the store has
  // none), in id order, all from one read transaction. For `anwang pending list`; drop_pending
  // removes them. `visit` must not write to the store.
  Status for_each_pending(const std::function<void(const Op&, const std::vector<Hash32>& missing)>& visit) const;

};

}  // namespace anwang::node
