// anwang sync HOST:PORT — one sync session with a peer, without the daemon.
#include <cstdlib>
#include <iostream>

#include "cli/context.h"
#include "crdt/hlc.h"
#include "crdt/limits.h"
#include "crdt/trusted_time.h"
#include "node/tcp.h"

namespace anwang::cli {

namespace {

// Names of the keyring's keys, by public key: for what a session learned about them.
std::vector<node::KeyInfo> keyring(const node::NodeHome& home) {
  auto keys = home.list_keys();
  return keys ? *keys : std::vector<node::KeyInfo>{};
}

std::string key_label(const std::vector<node::KeyInfo>& keys, const PublicKey& key) {
  for (const node::KeyInfo& info : keys)
    if (info.public_key == key) return info.name + " (" + key.short_hex() + ")";
  return key.short_hex();
}

// What the session found wrong with clocks and keys, one line each on stderr: the peer's clock
// off this node's time, ops stamped far ahead, this node's own clock off, keys of the keyring
// behind what the peer holds.
void say_what_is_off(Context& ctx, const Opened& opened, const node::SyncReport& report,
                     const std::vector<node::KeyInfo>& keys) {
  auto clock = opened.store->clock_state(ctx.clock);
  if (!clock) return;
  if (report.peer_clock_offset_ms)
    if (auto off = node::peer_clock_off(*clock, *report.peer_clock_offset_ms))
      std::cerr << "anwang: warning: the clock of node " << report.peer.short_hex() << " (" << report.peer_scope << ") is "
                << describe_offset(*off, "this node's time") << "\n";
  for (const auto& ahead : report.ahead_authors)
    std::cerr << "anwang: warning: received " << ahead.ops << " op(s) by key " << key_label(keys, ahead.author)
              << " stamped up to " << hlc_display(ahead.newest_hlc, TimeShown::kSeconds)
              << ", more than 5 minutes ahead of this node's time: not taken before then (their sender keeps them); "
                 "check that node's clock\n";
  if (std::string warning = node::clock_warning(*clock); !warning.empty())
    std::cerr << "anwang: warning: " << warning << "\n";
  for (const node::KeyInfo& info : keys) {
    auto standing = opened.store->key_standing(info.public_key);
    if (!standing) continue;
    if (!standing->behind.empty())
      std::cerr << "anwang: warning: " << node::with_key_name(standing->behind, info.public_key, info.name) << "\n";
    for (std::uint64_t seq : standing->equivocations)
      std::cerr << "anwang: warning: " << node::equivocation_advice(info.name, info.public_key, seq) << "\n";
  }
}

void run_sync(Context& ctx, const std::string& address, std::uint64_t blob_budget, const std::string& peer) {
  auto endpoint = node::parse_endpoint(address);
  if (!endpoint) return ctx.fail(endpoint.status());
  std::optional<PublicKey> expected_peer;
  if (!peer.empty()) {
    expected_peer = Hash32::from_hex(peer);
    if (!expected_peer)
      return ctx.fail(Status::invalid("--peer must be the peer's node key, 64 hex digits (as `anwang status` shows it "
                                      "on that node)"));
  }
  auto opened = open_all(ctx);
  if (!opened) return ctx.fail(opened.status());
  auto node_key = opened->home.load_node_key();
  if (!node_key) return ctx.fail(node_key.status());
  asio::io_context io;
  // Progress only to a terminal: in a log file each "\r" line would stay.
  bool progress = !ctx.json && progress_to_terminal();
  std::vector<node::KeyInfo> keys = keyring(opened->home);
  node::SyncOptions options;
  options.progress = [progress](const node::SyncReport& r) {
    if (progress)
      std::cerr << "\rsent " << r.ops_sent << " ops / " << r.bytes_sent << " B, received " << r.ops_received << " ops / "
                << r.bytes_received << " B" << std::flush;
  };
  options.blob_budget_bytes = blob_budget;
  options.expected_peer = expected_peer;
  options.clock = &ctx.clock;
  for (const node::KeyInfo& info : keys) options.keyring_keys.push_back(info.public_key);
  // Tests only: play a node of an earlier release.
  if (const char* version = std::getenv("ANWANG_TEST_WIRE_VERSION");
      version != nullptr && (std::string(version) == "2" || std::string(version) == "3"))
    options.wire_version = static_cast<std::uint8_t>(version[0] - '0');
  auto report = node::dial_and_sync(io, *endpoint, *opened->store, *node_key, options);
  if (progress) std::cerr << "\n";
  if (!report) return ctx.fail(report.status());
  node::record_peer(*opened->store, report->peer, &*report, ctx.clock.now_ms());
  say_what_is_off(ctx, *opened, *report, keys);
  auto stats = opened->store->stats();
  if (ctx.json)
    return ctx.print({{"peer", report->peer.hex()}, {"peer_scope", report->peer_scope}, {"ops_sent", report->ops_sent},
                      {"ops_received", report->ops_received}, {"ops_duplicate", report->ops_duplicate},
                      {"ops_refused", report->ops_refused}, {"refused_by_reason", report->refused_by_reason},
                      {"bytes_sent", report->bytes_sent},
                      {"bytes_received", report->bytes_received}, {"reconcile_rounds", report->reconcile_rounds},
                      {"blobs_received", report->blobs_received}, {"blobs_deferred", report->blobs_deferred},
                      {"pending", stats ? stats->pending : 0}, {"wire_version", report->wire_version},
                      {"peer_clock_offset_ms", report->peer_clock_offset_ms ? nlohmann::json(*report->peer_clock_offset_ms)
                                                                             : nlohmann::json(nullptr)},
                      {"ops_ahead", report->ops_ahead}, {"budget_reached", report->budget_reached},
                      {"restored_mark_cleared", report->restored_mark_cleared}});
  std::cout << "Synced 同步完成 with node " << report->peer.short_hex() << " (" << report->peer_scope << "): sent "
            << report->ops_sent << " ops, received " << report->ops_received << " ops (" << report->ops_duplicate
            << " duplicate, " << report->ops_refused << " refused"
            << (report->ops_refused > 0 ? ": " + report->refusals_said() : std::string()) << "), "
            << report->bytes_sent << " B out, "
            << report->bytes_received << " B in, " << report->reconcile_rounds << " reconciliation rounds, "
            << report->blobs_received << " attachments received";
  if (report->blobs_deferred > 0) std::cout << " (" << report->blobs_deferred << " left for later by --blob-budget)";
  if (stats && stats->pending > 0) std::cout << "; " << stats->pending << " ops still wait for parents";
  if (report->wire_version < anwang::net::kWireVersionLatest)
    std::cout << "; the peer speaks wire protocol version " << int{report->wire_version} << " (an earlier anwang release)";
  if (!report->budget_reached.empty())
    std::cout << "; this node " << report->budget_reached << " in this session: sync again for the rest";
  if (report->restored_mark_cleared)
    std::cout << "; this node, restored from a backup, has now heard from a neighbour of every key of its keyring, "
                 "and its keys sign again where they are not behind";
  std::cout << "\n";
  if (report->ops_refused > 0) ctx.exit_code = kExitCheckFailed;
}

}  // namespace

void add_sync_commands(CLI::App& app, Context& ctx) {
  auto address = std::make_shared<std::string>();
  auto budget = std::make_shared<std::uint64_t>(0);
  auto peer = std::make_shared<std::string>();
  auto* sync = app.add_subcommand("sync", "Sync once with a peer node (同步), without the daemon");
  sync->add_option("HOST:PORT", *address, "The peer's address, e.g. 127.0.0.1:7400")->required();
  sync->add_option("--blob-budget", *budget, "Fetch at most this many bytes of photos this time, but always at least one photo (0: no limit); ops always go");
  sync->add_option("--peer", *peer,
                   "The node key expected at HOST:PORT (64 hex digits): any other node is refused before anything is "
                   "exchanged");
  sync->callback([&ctx, address, budget, peer] { run_sync(ctx, *address, *budget, *peer); });
}

}  // namespace anwang::cli
