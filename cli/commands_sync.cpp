// anwang sync HOST:PORT — one sync session with a peer, without the daemon.
#include <iostream>

#include "cli/context.h"
#include "crdt/limits.h"
#include "node/tcp.h"

namespace anwang::cli {

namespace {

void run_sync(Context& ctx, const std::string& address, std::uint64_t blob_budget) {
  auto endpoint = node::parse_endpoint(address);
  if (!endpoint) return ctx.fail(endpoint.status());
  auto opened = open_all(ctx);
  if (!opened) return ctx.fail(opened.status());
  auto node_key = opened->home.load_node_key();
  if (!node_key) return ctx.fail(node_key.status());
  asio::io_context io;
  auto transport = node::tcp_connect(io, *endpoint, limits::sync_receive_timeout_ms);
  if (!transport) return ctx.fail(transport.status());
  node::SystemClock clock;
  // Progress only to a terminal: in a log file each "\r" line would stay.
  bool progress = !ctx.json && progress_to_terminal();
  auto report = node::run_sync(*opened->store, *node_key, **transport, node::SyncRole::kInitiator, node::fresh_seed(),
                               [progress](const node::SyncReport& r) {
                                 if (progress)
                                   std::cerr << "\rsent " << r.ops_sent << " ops / " << r.bytes_sent << " B, received "
                                             << r.ops_received << " ops / " << r.bytes_received << " B" << std::flush;
                               },
                               blob_budget);
  if (progress) std::cerr << "\n";
  if (!report) return ctx.fail(report.status());
  node::record_peer(*opened->store, report->peer, &*report, clock.now_ms());
  auto stats = opened->store->stats();
  if (ctx.json)
    return ctx.print({{"peer", report->peer.hex()}, {"peer_scope", report->peer_scope}, {"ops_sent", report->ops_sent},
                      {"ops_received", report->ops_received}, {"ops_duplicate", report->ops_duplicate},
                      {"ops_refused", report->ops_refused}, {"bytes_sent", report->bytes_sent},
                      {"bytes_received", report->bytes_received}, {"reconcile_rounds", report->reconcile_rounds},
                      {"blobs_received", report->blobs_received}, {"blobs_deferred", report->blobs_deferred},
                      {"pending", stats ? stats->pending : 0}});
  std::cout << "Synced 同步完成 with node " << report->peer.short_hex() << " (" << report->peer_scope << "): sent "
            << report->ops_sent << " ops, received " << report->ops_received << " ops (" << report->ops_duplicate
            << " duplicate, " << report->ops_refused << " refused), " << report->bytes_sent << " B out, "
            << report->bytes_received << " B in, " << report->reconcile_rounds << " reconciliation rounds, "
            << report->blobs_received << " attachments received";
  if (report->blobs_deferred > 0) std::cout << " (" << report->blobs_deferred << " left for later by --blob-budget)";
  if (stats && stats->pending > 0) std::cout << "; " << stats->pending << " ops still wait for parents";
  std::cout << "\n";
  if (report->ops_refused > 0) ctx.exit_code = kExitCheckFailed;
}

}  // namespace

void add_sync_commands(CLI::App& app, Context& ctx) {
  auto address = std::make_shared<std::string>();
  auto budget = std::make_shared<std::uint64_t>(0);
  auto* sync = app.add_subcommand("sync", "Sync once with a peer node (同步), without the daemon");
  sync->add_option("HOST:PORT", *address, "The peer's address, e.g. 127.0.0.1:7400")->required();
  sync->add_option("--blob-budget", *budget, "Fetch at most this many bytes of photos this time, but always at least one photo (0: no limit); ops always go");
  sync->callback([&ctx, address, budget] { run_sync(ctx, *address, *budget); });
}

}  // namespace anwang::cli
