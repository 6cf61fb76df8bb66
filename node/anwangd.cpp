// anwangd — the anwang node daemon. Thin: parse arguments, open the node home, wire the sync
// service to the event loop, run until SIGTERM/SIGINT.
//
// One event loop thread owns everything. It accepts enrolled peers and serves one sync session
// at a time; it dials each neighbour in anwang.toml on a schedule, at once when local ops are
// written (another process — the CLI — may write the same store), and with exponential backoff
// and jitter after failures. Sessions commit batch by batch, so stopping mid-session loses at
// most the batch in flight; SIGTERM lets the running session finish its current step.
#include <sodium.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <asio.hpp>
#include <cstdlib>

#include "crdt/limits.h"
#include "node/home.h"
#include "node/tcp.h"

namespace {

using anwang::node::NodeHome;
using anwang::node::Store;

class Daemon {
 public:
  Daemon(asio::io_context& io, NodeHome& home, Store& store, anwang::KeyPair node_key)
      : io_(io), home_(home), store_(store), node_key_(std::move(node_key)), watch_(io) {}

  anwang::Status listen(const std::string& address) {
    auto endpoint = anwang::node::parse_endpoint(address);
    if (!endpoint) return endpoint.status();
    asio::error_code ec;
    auto ip = asio::ip::make_address(endpoint->host, ec);
    if (ec) return anwang::Status::invalid("listen address " + address + " must be an IP address and port");
    acceptor_ = std::make_unique<asio::ip::tcp::acceptor>(io_);
    asio::ip::tcp::endpoint at(ip, endpoint->port);
    acceptor_->open(at.protocol(), ec);
    if (!ec) acceptor_->set_option(asio::ip::tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor_->bind(at, ec);
    if (!ec) acceptor_->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return anwang::Status::io_error("cannot listen on " + address + ": " + ec.message());
    spdlog::info("listening for peers on {}", address);
    accept();
    return anwang::Status::ok();
  }

  void add_neighbour(const anwang::node::Config::Neighbour& config) {
    auto endpoint = anwang::node::parse_endpoint(config.address);
    if (!endpoint) {
      spdlog::error("neighbour {}: {}", config.address, endpoint.status().message());
      return;
    }
    neighbours_.push_back(std::make_unique<Neighbour>(
        Neighbour{config.address, *endpoint, asio::steady_timer(io_), 0, config.blob_budget_bytes}));
    schedule(*neighbours_.back(), std::chrono::seconds(0));
  }

  void watch_local_writes(int interval_s) {
    interval_s_ = interval_s;
    auto stats = store_.stats();
    last_ops_ = stats ? stats->ops : 0;
    watch_.expires_after(std::chrono::seconds(1));
    watch_.async_wait([this](const std::error_code& ec) {
      if (ec) return;
      auto now = store_.stats();
      if (now && now->ops != last_ops_) {
        last_ops_ = now->ops;
        for (auto& neighbour : neighbours_) schedule(*neighbour, std::chrono::seconds(0));
      }
      watch_local_writes(interval_s_);
    });
  }

  void stop() {
    std::error_code ignored;
    if (acceptor_) acceptor_->close(ignored);
    watch_.cancel();
    for (auto& neighbour : neighbours_) neighbour->timer.cancel();
  }

 private:
  struct Neighbour {
    std::string address;
    anwang::node::Endpoint endpoint;
    asio::steady_timer timer;
    int failures;
    std::uint64_t blob_budget_bytes;
  };

  void accept() {
    acceptor_->async_accept([this](const std::error_code& ec, asio::ip::tcp::socket socket) {
      if (ec == asio::error::operation_aborted) return;  // closed on shutdown
      if (ec) {
        spdlog::warn("accepting a connection failed: {}", ec.message());
        return accept();
      }
      std::error_code peer_ec;
      auto remote = socket.remote_endpoint(peer_ec);  // a peer may already be gone: never throw
      std::string from = peer_ec ? std::string("a peer that left") : remote.address().to_string();
      anwang::node::TcpTransport transport(std::move(socket), anwang::limits::sync_receive_timeout_ms);
      session(transport, anwang::node::SyncRole::kResponder, from);
      accept();
    });
  }

  void schedule(Neighbour& neighbour, std::chrono::seconds delay) {
    neighbour.timer.expires_after(delay);
    neighbour.timer.async_wait([this, &neighbour](const std::error_code& ec) {
      if (ec) return;
      auto transport = anwang::node::tcp_connect(io_, neighbour.endpoint, anwang::limits::sync_receive_timeout_ms);
      bool ok = transport.is_ok() &&
                session(**transport, anwang::node::SyncRole::kInitiator, neighbour.address, neighbour.blob_budget_bytes);
      if (!transport) spdlog::warn("neighbour {}: {}", neighbour.address, transport.status().message());
      neighbour.failures = ok ? 0 : neighbour.failures + 1;
      int delay_s = interval_s_;
      if (!ok) {
        // Exponential backoff with jitter: 2, 4, 8 … seconds, up to the maximum.
        int base = std::min(anwang::limits::sync_backoff_s_max, 1 << std::min(neighbour.failures, 10));
        delay_s = base / 2 + static_cast<int>(randombytes_uniform(static_cast<std::uint32_t>(base / 2 + 1)));
      }
      schedule(neighbour, std::chrono::seconds(delay_s));
    });
  }

  bool session(anwang::node::Transport& transport, anwang::node::SyncRole role, const std::string& who,
               std::uint64_t blob_budget_bytes = 0) {
    anwang::node::SystemClock clock;
    auto report =
        anwang::node::run_sync(store_, node_key_, transport, role, anwang::node::fresh_seed(), {}, blob_budget_bytes);
    if (!report) {
      spdlog::warn("sync with {} failed: {}", who, report.status().message());
      return false;
    }
    anwang::node::record_peer(store_, report->peer, &*report, clock.now_ms());
    auto stats = store_.stats();
    last_ops_ = stats ? stats->ops : last_ops_;
    spdlog::info("synced with {} ({} at {}): sent {} ops, received {} ops, {} B out, {} B in", who,
                 report->peer.short_hex(), report->peer_scope, report->ops_sent, report->ops_received,
                 report->bytes_sent, report->bytes_received);
    return true;
  }

  asio::io_context& io_;
  NodeHome& home_;
  Store& store_;
  anwang::KeyPair node_key_;
  std::unique_ptr<asio::ip::tcp::acceptor> acceptor_;
  std::vector<std::unique_ptr<Neighbour>> neighbours_;
  asio::steady_timer watch_;
  std::uint64_t last_ops_ = 0;
  int interval_s_ = anwang::limits::sync_interval_s_default;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"anwangd: the anwang (安网) node daemon"};
  std::string home_dir;
  std::string listen;
  app.add_option("--home", home_dir, "Node home directory (default: $ANWANG_HOME, else ~/.anwang)");
  app.add_option("--config", home_dir, "Alias of --home: the node home holding anwang.toml");
  app.add_option("--listen", listen, "HOST:PORT to listen on (overrides anwang.toml)");
  CLI11_PARSE(app, argc, argv);

  auto logger = spdlog::stderr_color_mt("anwangd");
  spdlog::set_default_logger(logger);
  if (sodium_init() < 0) {
    spdlog::critical("libsodium failed to initialise");
    return 1;
  }
  if (home_dir.empty()) {
    const char* env = std::getenv("ANWANG_HOME");
    const char* user_home = std::getenv("HOME");
    home_dir = env != nullptr && *env != '\0' ? env : std::string(user_home != nullptr ? user_home : ".") + "/.anwang";
  }
  auto home = NodeHome::open(home_dir);
  if (!home) {
    spdlog::critical("{}", home.status().message());
    return 1;
  }
  spdlog::set_level(spdlog::level::from_str(home->config().log_level));
  auto store = home->open_store();
  auto node_key = home->load_node_key();
  if (!store || !node_key) {
    spdlog::critical("{}", !store ? store.status().message() : node_key.status().message());
    return 1;
  }
  auto stats = (*store)->stats();
  if (!stats) {
    spdlog::critical("{}", stats.status().message());
    return 1;
  }
  if ((*store)->stale_readers_cleared() > 0)
    spdlog::warn("cleared {} stale store readers left by crashed processes", (*store)->stale_readers_cleared());
  spdlog::info("node {} ready: home {}, network {}, {} ops, {} pending", home->node_key().short_hex(),
               home->dir().string(), stats->network_id ? stats->network_id->short_hex() : "(none)", stats->ops,
               stats->pending);

  asio::io_context io;
  Daemon daemon(io, *home, **store, std::move(*node_key));
  std::string address = listen.empty() ? home->config().listen : listen;
  if (!address.empty())
    if (auto s = daemon.listen(address); !s) {
      spdlog::critical("{}", s.message());
      return 1;
    }
  for (const auto& neighbour : home->config().neighbours) daemon.add_neighbour(neighbour);
  daemon.watch_local_writes(home->config().sync_interval_s);
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&io, &daemon](const std::error_code&, int signal) {
    spdlog::info("signal {} received: shutting down", signal);
    daemon.stop();
    io.stop();
  });
  io.run();
  spdlog::info("stopped cleanly");
  return 0;
}
