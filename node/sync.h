// sync.h — one sync session between two nodes over a byte stream.
//
// The session: handshake (net/handshake.h; both nodes must be enrolled in this network), an
// encrypted channel each way, then range-based reconciliation (net/reconcile.h) over the ops
// both nodes may hold — the authority graph and the records of the narrower of their two scopes,
// never anything else — then the ops each lacks, incidents first, then major hazards, then the
// rest, in batches that are verified and committed as they arrive; then the attachments (photos)
// each lacks, fetched by hash from the byte where an earlier session stopped. Nothing depends on earlier
// sessions: after a drop, the next session finds only what is still missing.
//
// The stream is injected (Transport), so tests run sessions over in-memory pipes and the
// daemon over TCP. A session runs on the calling thread and blocks on the transport. Several
// sessions may share one Store when they share a mutex (SyncOptions::store_mutex): each holds
// it around every use of the store and never across network I/O.
//
// Versions (net/PROTOCOL.md): a session speaks wire version 3 or 2, whichever the initiator's hello
// names and the responder speaks. In version 3 each side first sends its trusted time (the
// receiver records the offset: Store::record_peer_clock) and asks about the person keys of its
// keyring (the peer answers with its latest op by each; the asker records them as known key
// heads: Store::note_key_heads); and a side that refuses the session, or ends it for a reason,
// says why before it closes. An initiator that dials (sync_dialled) says hello in version 3 and,
// when the responder closes without answering (a node of the previous release), once more in 2.
//
// Against hostile peers: frames stay small (limits::handshake_frame_bytes_max) until the peer is
// authenticated, a responder's peer must say hello within limits::handshake_first_message_ms_max,
// and the handshake and channel set-up must finish within limits::handshake_ms_max
// (Transport::set_deadline_ms); ops the two nodes may not both hold
// are refused; a peer's ops waiting for parents may fill at most limits::pending_ops_per_peer_max
// of the pending area (the excess is set aside and asked for again once reconciliation has
// brought everything else, so the bound limits memory, never progress) and those still waiting
// when the session ends are dropped.
//
// Every session has a budget (SessionBudget, from crdt/limits.h): ops sent and received, bytes
// received, ids fetched, ids the peer may ask for, wall time, and the reconciliation's rounds. This
// side paces itself within it — it offers at most so many ops and op bytes, asks for attachments
// only within what is left of the byte budget, and ends reconciliation when its peer's lists name
// more ids than it fetches in one session — so an honest session ends as usual (SyncReport::
// budget_reached says so) and the next session finds the rest. Each op and attachment is sent in
// answer to `need` or a blob request at most once a session. A peer that goes beyond a budget is
// cut off with a sentence saying which, after what arrived is committed.
//
// Peers are who they should be: a node refuses a session with its own key (either role), and an
// initiator given SyncOptions::expected_peer (a pinned [[neighbour]] key, `anwang sync --peer`)
// fails at the handshake, before anything is exchanged, when the peer proves another key.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "crdt/limits.h"
#include "net/handshake.h"
#include "node/store.h"

namespace anwang::node {

class Transport {
 public:
  virtual ~Transport() = default;
  virtual Status write(ByteView bytes) = 0;
  // Some bytes (at least one), or an error (closed, timed out).
  virtual Result<Bytes> read_some() = 0;
  // How long read_some may wait from now on. The handshake runs under a short deadline.
  virtual void set_receive_timeout_ms(int /*timeout_ms*/) {}
  // Everything from now on must arrive within `timeout_ms` in all, however it trickles in (a
  // peer dripping a byte a second); 0 lifts the deadline. The handshake runs under one.
  virtual void set_deadline_ms(int /*timeout_ms*/) {}
  // After this side has sent a refusal: stops sending and reads (and drops) what the peer still
  // sends until it closes, for at most `timeout_ms`, so that closing does not reset the connection
  // before the peer has read the refusal.
  virtual void linger(int /*timeout_ms*/) {}
};

struct SyncReport {
  PublicKey peer;
  std::string peer_scope;
  std::uint64_t items = 0;          // ops both may hold, on this side
  std::uint64_t ops_sent = 0;
  std::uint64_t ops_received = 0;   // stored: accepted, or waited for parents and released by them in this session
  std::uint64_t ops_duplicate = 0;
  std::uint64_t ops_refused = 0;
  // The refused ops by reason (refusal_name: "no_office", "ahead_of_clock", "out_of_scope", …).
  std::map<std::string, std::uint64_t> refused_by_reason;
  std::uint64_t bytes_sent = 0;
  std::uint64_t bytes_received = 0;
  std::uint64_t handshake_bytes = 0;   // both ways, until the encrypted channel is up
  // "3 no_office, 1 ahead_of_clock": the refusals in a few words, for people and logs.
  std::string refusals_said() const;
  std::uint64_t op_bytes_sent = 0;      // the ops' own bytes among bytes_sent
  std::uint64_t op_bytes_received = 0;
  std::uint64_t blobs_received = 0;     // attachments completed in this session
  std::uint64_t blobs_refused = 0;      // attachments dropped part-way: not referenced as declared, or not matching their hash
  std::uint64_t blob_bytes_received = 0;
  std::uint64_t blobs_deferred = 0;     // left for a later session by the byte budget
  std::uint64_t orphans_dropped = 0;    // the peer's ops still waiting for parents at the end: not received
  int reconcile_rounds = 0;
  std::uint8_t wire_version = 0;        // the version the session spoke
  // Version 3: the peer's trusted time minus this node's clock, as the session saw it.
  std::optional<std::int64_t> peer_clock_offset_ms;
  // Received ops stamped more than limits::clock_skew_ms_max ahead of this node's trusted time, by
  // author: held back (ahead_of_clock, not stored; their sender offers them again), or, in a store
  // that keeps no clock, stored without moving "now" for overdue flags past that time.
  struct AheadAuthor {
    PublicKey author;
    std::uint64_t ops = 0;
    std::uint64_t newest_hlc = 0;
  };
  std::uint64_t ops_ahead = 0;
  std::vector<AheadAuthor> ahead_authors;
  std::uint64_t key_heads_noted = 0;    // version 3: heads of this node's keyring keys the peer reported
  std::uint64_t key_heads_unfounded = 0;  // of those, named by id and never sent: forgotten at the end
  // This store was restored from a backup (Store::mark_restored) and this session, which left
  // nothing for later, told it the head of every key of its keyring: its keys sign again.
  bool restored_mark_cleared = false;
  // Not empty when this side left work for the next session to stay within its budget (it sent its
  // limit of ops, fetched its limit of ids, or left attachments for later): what, in a few words.
  std::string budget_reached;
  // The arrival number of this node's latest op when the session began (Store::last_arrival): a
  // session that ends without reaching its budget has offered the peer every op up to it that the
  // peer may hold (record_peer keeps it for the web UI's 已同步 / 待同步).
  std::uint64_t arrival_at_start = 0;
};

// What one session may cost this node (crdt/limits.h, "Session budgets", has each reason). Tests
// set smaller budgets to show that sessions still converge.
struct SessionBudget {
  std::uint64_t ops = limits::sync_session_ops_max;                      // sent, and received
  std::uint64_t op_bytes_sent = limits::sync_session_op_bytes_sent_max;  // this side's pace
  std::uint64_t bytes_received = limits::sync_session_bytes_max;
  std::size_t fetch_ids = limits::reconcile_fetch_ids_max;
  std::size_t need_ids = limits::sync_session_need_ids_max;
  std::uint64_t ms = limits::sync_session_ms_max;  // by SyncOptions::clock, and the transport's deadline
};

enum class SyncRole { kInitiator, kResponder };

// `ephemeral_seed`: fresh randomness for the handshake (injected).
// `blob_budget_bytes`: at most this many attachment bytes are fetched in this session (0: no
// limit), but always at least one attachment, so one larger than the budget still arrives; the
// rest wait for a later session. Ops always go. A blob cut off mid-way resumes from
// its last whole chunk next time.
Result<SyncReport> run_sync(Store& store, const KeyPair& node_key, Transport& transport, SyncRole role,
                            const std::array<std::uint8_t, 32>& ephemeral_seed,
                            const std::function<void(const SyncReport&)>& progress = {},
                            std::uint64_t blob_budget_bytes = 0);

// How far an initiator's session got.
struct SyncAttempt {
  bool hello_sent = false;      // the connection was up and the hello (handshake message 1) went out
  bool hello_answered = false;  // the responder answered it: message 2, or a refusal saying why
};

struct SyncOptions {
  std::function<void(const SyncReport&)> progress;
  // At most this many attachment bytes are fetched in this session (0: no limit).
  std::uint64_t blob_budget_bytes = 0;
  // When set, held around every use of the store (sessions on several threads sharing it).
  std::mutex* store_mutex = nullptr;
  // Called once the handshake has authenticated the peer, before the channel is set up; an error
  // ends the session and, in version 3, is sent to the peer as the reason, in place of the channel
  // header; in version 4, sealed, as the first message of the channel (anwangd: one session per
  // peer node, a bound on sessions).
  std::function<Status(const PublicKey& peer)> on_authenticated;
  // This node's clock (nullptr: the system clock): version 3 sends the peer this node's trusted
  // time and records the peer's offset by it.
  const PhysicalClock* clock = nullptr;
  // The public keys of the person keys in this node's keyring: version 3 asks the peer about the
  // first limits::key_heads_asked_max of them.
  std::vector<PublicKey> keyring_keys;
  // Initiator: the version of its hello. Responder: the highest version it answers (it answers 2
  // up to this). Tests set 2 or 3 to play a node of an earlier release.
  std::uint8_t wire_version = net::kWireVersionLatest;
  // When set, told how far an initiator's session got, whether or not it succeeds (sync_dialled).
  SyncAttempt* attempt = nullptr;
  // Initiator: the node it means to reach (a [[neighbour]]'s pinned key, `anwang sync --peer`). A
  // peer proving another key fails the handshake before anything is exchanged.
  std::optional<PublicKey> expected_peer;
  SessionBudget budget;
};

// Whether an initiator whose hello in `version` ended as `attempt` and `outcome` is to try once
// more one version lower (down to 2; the name is that of the release that added it): it failed
// after its hello went out and before any answer, as a node of an earlier release closes on a
// version it does not know.
bool retry_in_version_2(std::uint8_t version, const SyncAttempt& attempt, const Status& outcome);

// An initiator's session as `anwang sync` and anwangd dial it: `attempt` connects afresh and runs
// run_sync as initiator with the options it is given; first with `options` (wire version 4), and
// each time retry_in_version_2 says so, once more one version lower (3, then 2).
Result<SyncReport> sync_dialled(const std::function<Result<SyncReport>(const SyncOptions&)>& attempt,
                                SyncOptions options);

Result<SyncReport> run_sync(Store& store, const KeyPair& node_key, Transport& transport, SyncRole role,
                            const std::array<std::uint8_t, 32>& ephemeral_seed, const SyncOptions& options);

// Records a session's outcome for `anwang status`: last contact, last successful sync, and ops
// and bytes each way (this node's own bookkeeping; no correctness depends on it). A session that
// did not stop at its budget also moves the peer's "synced_arrival" counter to the session's
// arrival_at_start: every op this node held then, that the peer may hold, went there.
Status record_peer(Store& store, const PublicKey& peer, const SyncReport* report, std::uint64_t now_ms);

}  // namespace anwang::node
