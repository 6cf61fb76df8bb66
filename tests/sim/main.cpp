// anwang_sim — runs the deterministic simulator (simulator.h) over a range of seeds.
//
//   anwang_sim --seeds 1000 --first-seed 1      CI: 1,000 seeds, a line per failure, totals
//   anwang_sim --seed 4242 --trace              one seed, every event printed
//   anwang_sim --seeds 20000 --ops 10000        a soak
// A failing seed prints the command that repeats it exactly; a run of one seed twice gives the
// same trace hash (--twice checks it).
#include <malloc.h>
#include <sodium.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>

#include "sim/simulator.h"

namespace {

// The faults a run went through, as the per-seed lines and the totals print them.
std::string fault_counts(const anwang::sim::SimStats& st) {
  return std::to_string(st.bundles_carried) + " bundles, " + std::to_string(st.crashes) + " crashes, " +
         std::to_string(st.clock_jumps) + " clock jumps, " + std::to_string(st.partitions) + " partitions, " +
         std::to_string(st.store_full_refusals) + " full-store refusals";
}

// The closed loop (闭环) as the workload ran it: accepted steps by action, and hazards archived.
std::string loop_counts(const anwang::sim::SimStats& st) {
  std::string out;
  for (const auto& [action, count] : st.hazard_steps) out += (out.empty() ? "" : ", ") + action + " " + std::to_string(count);
  return out + "; " + std::to_string(st.hazards_archived) + " hazards archived";
}

// A compromised enrolled node's sessions (issue 20, findings 6 and 7), each refused or bounded.
std::string compromised_counts(const anwang::sim::SimStats& st) {
  std::uint64_t all = 0;
  std::string out;
  for (const auto& [attack, count] : st.compromised_sessions) {
    all += count;
    out += (out.empty() ? "" : ", ") + attack + " " + std::to_string(count);
  }
  return std::to_string(all) + " sessions of a stolen node key held off (" + (out.empty() ? "none" : out) + ")";
}

// Hostile and careless actors (issue 19), and how many honest steps the liveness check judged.
std::string hostile_counts(const anwang::sim::SimStats& st) {
  return std::to_string(st.notes_anywhere) + " notes by anyone on any object, " + std::to_string(st.cross_scope_ops) +
         " ops by hand with a parent in another scope, " + std::to_string(st.junk_ops_refused) +
         " ops by keys no office named refused (some dated at the ceiling), " + compromised_counts(st) + ", " +
         std::to_string(st.restores) +
         " nodes restored from a backup, " +
         std::to_string(st.borrowed_key_ops) + " ops with a key borrowed on a second node, " +
         std::to_string(st.reaffirmations) + " reaffirmations, " + std::to_string(st.orphaned_by_restore) +
         " ops left waiting for a parent lost with a restored node; liveness: " + std::to_string(st.liveness_steps_checked) +
         " honest steps with their whole history in view, every one effective or voided by a named rule";
}

// A run long enough to close hazards must have taken every step of the loop; one that did not
// exercised less than it claims (the simulator once refused its own steps and passed).
std::string loop_not_run(const anwang::sim::SimStats& st) {
  if (st.ops_authored < 10'000) return "";
  for (const char* action : {"report", "escalate", "receive", "assign", "handled", "verify", "fix", "signoff", "notice",
                             "list_supervision", "stop_work", "reclassify", "close", "comment"})
    if (st.hazard_steps.count(action) == 0) return std::string("no '") + action + "' step was accepted";
  if (st.hazards_archived == 0) return "no hazard was archived";
  return "";
}

}  // namespace

int main(int argc, char** argv) {
  anwang::sim::seed_deterministic_randomness(0);
  if (sodium_init() < 0) return 2;
  // Every simulated restart opens an LMDB environment, which callocs a 2 MiB dirty-page list and
  // frees it on close, thousands of times a run. Keep freed memory in the process rather than
  // handing it back to the kernel to fault in again: 9 % fewer page faults over five seeds, though
  // no time difference this virtual machine could measure.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 512 << 20);
  CLI::App app{"anwang deterministic simulator: N nodes in one process under seeded faults"};
  std::uint64_t seed = 0, first = 1, seeds = 1, ops = 2000;
  int nodes = 0;
  bool trace = false, twice = false, verbose = false;
  std::string work_dir = std::filesystem::exists("/dev/shm") ? "/dev/shm" : std::filesystem::temp_directory_path().string();
  app.add_option("--seed", seed, "Run this one seed");
  app.add_option("--first-seed", first, "First seed of the range");
  app.add_option("--seeds", seeds, "How many seeds, from --first-seed");
  app.add_option("--ops", ops, "Signed ops the workload authors per seed, at least")->check(CLI::Range(1, 10'000'000));
  app.add_option("--nodes", nodes, "Nodes per seed (3–7; default: drawn from the seed)")->check(CLI::Range(3, 7));
  app.add_option("--work-dir", work_dir, "Directory for the nodes' stores (default /dev/shm)");
  app.add_flag("--trace", trace, "Print every event of the run");
  app.add_flag("--twice", twice, "Run each seed twice and require the same trace hash");
  app.add_flag("--verbose", verbose, "Print a line per seed");
  CLI11_PARSE(app, argc, argv);
  if (seed != 0) {
    first = seed;
    seeds = 1;
    verbose = true;
  }
  std::filesystem::path dir = std::filesystem::path(work_dir) / ("anwang-sim-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  auto started = std::chrono::steady_clock::now();
  anwang::sim::SimStats total;
  std::uint64_t failed = 0;
  for (std::uint64_t s = first; s < first + seeds; ++s) {
    anwang::sim::SimOptions options;
    options.seed = s;
    options.nodes = nodes;
    options.min_ops = ops;
    options.print_trace = trace;
    options.work_dir = dir;
    anwang::sim::SimOutcome outcome = anwang::sim::run_simulation(options);
    if (outcome.ok && twice) {
      anwang::sim::SimOutcome again = anwang::sim::run_simulation(options);
      if (again.trace_hash != outcome.trace_hash) {
        outcome.ok = false;
        outcome.failure = "the same seed gave two different traces: " + outcome.trace_hash.hex() + " and " +
                          again.trace_hash.hex();
      }
    }
    const anwang::sim::SimStats& st = outcome.stats;
    total.add(st);
    if (verbose || !outcome.ok)
      std::printf("seed %llu: %s, %d nodes, %llu ops (%llu forged), %llu refused, %llu sessions (%llu failed), %s; "
                  "trace %s\n",
                  static_cast<unsigned long long>(s), outcome.ok ? "ok" : "FAILED", st.nodes,
                  static_cast<unsigned long long>(st.ops_authored), static_cast<unsigned long long>(st.forged),
                  static_cast<unsigned long long>(st.ops_refused), static_cast<unsigned long long>(st.sessions),
                  static_cast<unsigned long long>(st.sessions_failed), fault_counts(st).c_str(),
                  outcome.trace_hash.hex().substr(0, 16).c_str());
    if (!outcome.ok) {
      ++failed;
      std::printf("  %s\n  reproduce with: %s --seed %llu --ops %llu%s --trace\n", outcome.failure.c_str(), argv[0],
                  static_cast<unsigned long long>(s), static_cast<unsigned long long>(ops),
                  nodes ? (" --nodes " + std::to_string(nodes)).c_str() : "");
    }
    std::fflush(stdout);
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf("%llu seeds from %llu: %llu failed; %llu signed ops authored (%llu forged, %llu refused at the source), "
              "%llu sessions (%llu cut or refused, %.1f MB on the wire), %s; %.1f s\n"
              "hazard steps accepted: %s\nhostile and careless: %s\n",
              static_cast<unsigned long long>(seeds), static_cast<unsigned long long>(first),
              static_cast<unsigned long long>(failed), static_cast<unsigned long long>(total.ops_authored),
              static_cast<unsigned long long>(total.forged), static_cast<unsigned long long>(total.ops_refused),
              static_cast<unsigned long long>(total.sessions), static_cast<unsigned long long>(total.sessions_failed),
              static_cast<double>(total.bytes_on_wire) / 1e6, fault_counts(total).c_str(), seconds,
              loop_counts(total).c_str(), hostile_counts(total).c_str());
  if (std::string why = loop_not_run(total); !why.empty()) {
    std::printf("the workload did not run the closed loop: %s\n", why.c_str());
    return 1;
  }
  return failed == 0 ? 0 : 1;
}
