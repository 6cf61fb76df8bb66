// simulator.h — the deterministic simulator: a county of 3–7 nodes in one process, under faults
// drawn from one seed.
//
// Every node is the real thing — a node::Store in its own directory, sync sessions through
// node::run_sync (the real handshake, channel and reconciliation), bundles through
// node::export_bundle / import_bundle — with time, network and randomness simulated: each node's
// clock is simulated time plus an offset that can jump by days or a year; a session's two ends run
// as fibers on one thread with the simulator choosing who runs and how many bytes arrive; faults
// cut streams mid-frame, flip bits, partition links one way, crash and restart nodes, carry
// bundles late, twice or never, and fill a node's store. libsodium's randomness is replaced by a
// generator seeded from the seed (main.cpp), so the same seed gives the same run, byte for byte,
// and the same trace hash.
//
// The workload is the grid's work: appointments and revocations, ledger units, patrols, tips,
// incidents, notices, and hazards through the whole closed loop, with conflicting concurrent steps
// wherever nodes act on partial views, plus hostile and careless actors: forged steps by keys that
// hold no role for them, notes by anyone on any object, ops written by hand whose parents lie in
// another scope, a node restored from an old copy, a key used on two nodes, clocks at 1970 and a
// year ahead; and a compromised enrolled node (issue 20): junk authority ops at the timestamp
// ceiling, and sessions with a stolen node key — reflection, impersonation of a pinned neighbour,
// reconciliation and need floods, a session held open — each refused or held within its budget.
// Invariants are checked as the run goes; after healing, the run checks that every node holds
// exactly the ops its scope may hold, no acknowledged op is lost, nodes agree on every verdict and
// every hazard's state, no forged step is effective anywhere, and every store verifies; and two
// liveness properties: every op within a node's scope whose causal past is within that scope has
// reached it, and every step an authorised actor took with the whole history of its record in view
// is effective, unless a rule named in its verdict voids it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

#include "crdt/bytes.h"

namespace anwang::sim {

struct SimOptions {
  std::uint64_t seed = 1;
  int nodes = 0;                  // 0: drawn from the seed, 3–7
  std::uint64_t min_ops = 2000;   // signed ops authored by the workload, at least
  bool print_trace = false;
  std::filesystem::path work_dir; // the nodes' stores live under here (tmpfs is fastest)
};

struct SimStats {
  int nodes = 0;
  std::uint64_t steps = 0;
  std::uint64_t ops_authored = 0;       // acknowledged by the authoring node's store
  std::uint64_t ops_refused = 0;        // refused at the source (no right, wrong state, store full)
  std::uint64_t forged = 0;             // ops by keys without the right, written on purpose
  std::uint64_t sessions = 0;
  std::uint64_t sessions_failed = 0;    // cut, corrupted, refused
  std::uint64_t bytes_on_wire = 0;
  std::uint64_t bundles_carried = 0;
  std::uint64_t bundles_lost = 0;
  std::uint64_t crashes = 0;
  std::uint64_t clock_jumps = 0;
  std::uint64_t partitions = 0;
  std::uint64_t store_full_refusals = 0;
  std::uint64_t ops_total = 0;          // distinct ops in the county at the end
  std::uint64_t healing_rounds = 0;
  std::map<std::string, std::uint64_t> hazard_steps;  // steps accepted at their source, by action (not forged)
  std::uint64_t hazards_archived = 0;                 // hazards archived (办结归档) at the end, as the county sees them
  // Hostile and careless actors (issue 19).
  std::uint64_t notes_anywhere = 0;       // notes by anyone (outsiders, other villages) on any known object
  std::uint64_t cross_scope_ops = 0;      // ops written by hand at one scope naming a parent of another
  std::uint64_t junk_ops_refused = 0;     // ops by keys no office named, some dated at the ceiling (issue 20)
  // Sessions of a compromised enrolled node (issue 20, findings 6 and 7) whose victim held, by attack.
  std::map<std::string, std::uint64_t> compromised_sessions;
  std::uint64_t restores = 0;             // nodes restored from an old copy of their store
  std::uint64_t borrowed_key_ops = 0;     // ops by a person's key on a second node
  std::uint64_t reaffirmations = 0;       // suspensions lifted by an office above
  std::uint64_t liveness_steps_checked = 0;  // honest steps the final liveness check judged
  std::uint64_t orphaned_by_restore = 0;  // ops left waiting for a parent only a restored node had, and lost

  void add(const SimStats& other) {
    steps += other.steps;
    ops_authored += other.ops_authored;
    ops_refused += other.ops_refused;
    forged += other.forged;
    sessions += other.sessions;
    sessions_failed += other.sessions_failed;
    bytes_on_wire += other.bytes_on_wire;
    bundles_carried += other.bundles_carried;
    bundles_lost += other.bundles_lost;
    crashes += other.crashes;
    clock_jumps += other.clock_jumps;
    partitions += other.partitions;
    store_full_refusals += other.store_full_refusals;
    ops_total += other.ops_total;
    healing_rounds += other.healing_rounds;
    for (const auto& [action, count] : other.hazard_steps) hazard_steps[action] += count;
    hazards_archived += other.hazards_archived;
    notes_anywhere += other.notes_anywhere;
    cross_scope_ops += other.cross_scope_ops;
    junk_ops_refused += other.junk_ops_refused;
    for (const auto& [attack, count] : other.compromised_sessions) compromised_sessions[attack] += count;
    restores += other.restores;
    borrowed_key_ops += other.borrowed_key_ops;
    reaffirmations += other.reaffirmations;
    liveness_steps_checked += other.liveness_steps_checked;
    orphaned_by_restore += other.orphaned_by_restore;
  }
};

struct SimOutcome {
  bool ok = false;
  std::string failure;  // the first broken check, in one sentence
  Hash32 trace_hash;
  SimStats stats;
};

SimOutcome run_simulation(const SimOptions& options);

// Replaces libsodium's randomness with a generator seeded by `seed` (call before sodium_init and
// again at the start of every run).
void seed_deterministic_randomness(std::uint64_t seed);

}  // namespace anwang::sim
