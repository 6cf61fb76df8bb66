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
// Against hostile peers: frames stay small (limits::handshake_frame_bytes_max) until the peer is
// authenticated, and the handshake and channel set-up must finish within
// limits::handshake_ms_max (Transport::set_deadline_ms); ops the two nodes may not both hold
// are refused; a peer's ops waiting for parents may fill at most limits::pending_ops_per_peer_max
// of the pending area (the excess is set aside and asked for again once reconciliation has
// brought everything else, so the bound limits memory, never progress) and those still waiting
// when the session ends are dropped.
#pragma once

#include <functional>
#include <mutex>
#include <string>

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
};

struct SyncReport {
  PublicKey peer;
  std::string peer_scope;
  std::uint64_t items = 0;          // ops both may hold, on this side
  std::uint64_t ops_sent = 0;
  std::uint64_t ops_received = 0;   // stored: accepted, or waited for parents and released by them in this session
  std::uint64_t ops_duplicate = 0;
  std::uint64_t ops_refused = 0;
  std::uint64_t bytes_sent = 0;
  std::uint64_t bytes_received = 0;
  std::uint64_t handshake_bytes = 0;   // both ways, until the encrypted channel is up
  std::uint64_t op_bytes_sent = 0;      // the ops' own bytes among bytes_sent
  std::uint64_t op_bytes_received = 0;
  std::uint64_t blobs_received = 0;     // attachments completed in this session
  std::uint64_t blob_bytes_received = 0;
  std::uint64_t blobs_deferred = 0;     // left for a later session by the byte budget
  std::uint64_t orphans_dropped = 0;    // the peer's ops still waiting for parents at the end: not received
  int reconcile_rounds = 0;
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

struct SyncOptions {
  std::function<void(const SyncReport&)> progress;
  // At most this many attachment bytes are fetched in this session (0: no limit).
  std::uint64_t blob_budget_bytes = 0;
  // When set, held around every use of the store (sessions on several threads sharing it).
  std::mutex* store_mutex = nullptr;
  // Called once the handshake has authenticated the peer, before the channel is set up; an
  // error ends the session (anwangd: one session per peer node, a bound on sessions).
  std::function<Status(const PublicKey& peer)> on_authenticated;
};

Result<SyncReport> run_sync(Store& store, const KeyPair& node_key, Transport& transport, SyncRole role,
                            const std::array<std::uint8_t, 32>& ephemeral_seed, const SyncOptions& options);

// Records a session's outcome for `anwang status`: last contact, last successful sync, and ops
// and bytes each way (this node's own bookkeeping; no correctness depends on it).
Status record_peer(Store& store, const PublicKey& peer, const SyncReport* report, std::uint64_t now_ms);

}  // namespace anwang::node
