// anwangd — the anwang node daemon. Thin: parse arguments, open the node home, wire the sync
// service to the event loop, run until SIGTERM/SIGINT.
//
// Threads. One event loop thread accepts connections, keeps each neighbour's dial schedule and
// watches for local writes (another process — the CLI — may write the same store). Every sync
// session, accepted or dialled, runs on a thread of its own, because a session blocks on its
// socket. Sessions share the one Store under one mutex, held around each store call and never
// across network I/O (LMDB allows one environment per process, and a Store is used by one thread
// at a time); so a slow or hostile peer holds up only its own session.
//
// Bounds against hostile peers (crdt/limits.h): at most connections_unauthenticated_max accepted
// connections may still be in the handshake, and connections_unauthenticated_per_prefix_max from
// one network prefix (/24, /64: node/slots.h) — beyond that the oldest of the prefix, or of the
// fullest prefix, is closed to make room, or the newcomer is closed at once; the peer's hello must
// arrive within handshake_first_message_ms_max and the whole handshake within handshake_ms_max
// however slowly its bytes trickle in, with small frames until then; at most
// sessions_max authenticated sessions run at once, one per peer node. Sessions commit batch by
// batch, so stopping mid-session loses at most the batch in flight; SIGTERM ends every session
// at its next network wait.
#include <sodium.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <CLI/CLI.hpp>
#include <asio.hpp>
#include <condition_variable>
#include <cstdlib>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "crdt/limits.h"
#include "node/atomic_file.h"
#include "node/home.h"
#include "node/slots.h"
#include "node/standing.h"
#include "node/tcp.h"
#include "node/web_api.h"
#include "node/web_server.h"

namespace {

using anwang::Status;
using anwang::node::Store;
using anwang::node::SyncRole;
using anwang::node::TcpTransport;

class Daemon {
 public:
  // `wire_version`: the version it dials in and the highest it answers (tests set 2 to play a node
  // of the previous release).
  Daemon(asio::io_context& io, Store& store, anwang::KeyPair node_key, const anwang::node::NodeHome& home,
         const anwang::PhysicalClock& clock, std::uint8_t wire_version)
      : io_(io), store_(store), node_key_(std::move(node_key)), home_(home), clock_(clock), wire_version_(wire_version),
        watch_(io), accept_retry_(io) {}
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;
  ~Daemon() { join(); }

  // Held around every use of the store, by the sync sessions and by the web API alike.
  std::mutex& store_mutex() { return store_mutex_; }

  Status listen(const std::string& address) {
    auto endpoint = anwang::node::parse_endpoint(address);
    if (!endpoint) return endpoint.status();
    asio::error_code ec;
    auto ip = asio::ip::make_address(endpoint->host, ec);
    if (ec) return Status::invalid("listen address " + address + " must be an IP address and port");
    acceptor_ = std::make_unique<asio::ip::tcp::acceptor>(io_);
    asio::ip::tcp::endpoint at(ip, endpoint->port);
    acceptor_->open(at.protocol(), ec);
    if (!ec) acceptor_->set_option(asio::ip::tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor_->bind(at, ec);
    if (!ec) acceptor_->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return Status::io_error("cannot listen on " + address + ": " + ec.message());
    spdlog::info("listening for peers on {}", address);
    accept();
    return Status::ok();
  }

  void add_neighbour(const anwang::node::Config::Neighbour& config) {
    auto endpoint = anwang::node::parse_endpoint(config.address);
    if (!endpoint) {
      spdlog::error("neighbour {}: {}", config.address, endpoint.status().message());
      return;
    }
    neighbours_.push_back(std::make_unique<Neighbour>(Neighbour{config.address, *endpoint, asio::steady_timer(io_), 0,
                                                                config.blob_budget_bytes, config.key, false, false}));
    schedule(*neighbours_.back(), std::chrono::seconds(0));
  }

  void watch_local_writes(int interval_s) {
    interval_s_ = interval_s;
    last_ops_ = op_count().value_or(0);
    watch_.expires_after(std::chrono::seconds(1));
    watch_.async_wait([this](const std::error_code& ec) {
      if (ec) return;
      auto now = op_count();
      if (now && *now != last_ops_) {
        last_ops_ = *now;
        for (auto& neighbour : neighbours_) schedule(*neighbour, std::chrono::seconds(0));
      }
      watch_local_writes(interval_s_);
    });
  }

  // On the loop thread: accept and dial no more, and end every session at its next network wait.
  void stop() {
    std::error_code ignored;
    if (acceptor_) acceptor_->close(ignored);
    watch_.cancel();
    accept_retry_.cancel();
    for (auto& neighbour : neighbours_) neighbour->timer.cancel();
    std::lock_guard<std::mutex> lock(sessions_mutex_);
    stopping_ = true;
    for (auto& [id, session] : sessions_)
      if (session.fd >= 0) ::shutdown(session.fd, SHUT_RDWR);
    session_ended_.notify_all();
  }

  // After the loop has returned: waits for every session thread.
  void join() {
    std::vector<std::thread> threads;
    {
      std::lock_guard<std::mutex> lock(sessions_mutex_);
      for (auto& [id, session] : sessions_)
        if (session.thread.joinable()) threads.push_back(std::move(session.thread));
      sessions_.clear();
    }
    for (std::thread& thread : threads) thread.join();
  }

 private:
  struct Neighbour {
    std::string address;
    anwang::node::Endpoint endpoint;
    asio::steady_timer timer;
    int failures;
    std::uint64_t blob_budget_bytes;
    std::optional<anwang::PublicKey> key;  // pinned: the node expected at the address
    bool dialling;  // a session with it is running
    bool again;     // local writes arrived meanwhile: dial again when it ends
  };

  // One session thread and what the bounds need to know of it. Guarded by sessions_mutex_.
  struct Session {
    std::thread thread;
    std::string from;  // the peer's address (accepted) or the neighbour's (dialled)
    bool inbound = false;
    bool authenticated = false;
    std::optional<anwang::PublicKey> peer;
    int fd = -1;  // while its socket is open
  };

  void accept() {
    acceptor_->async_accept([this](const std::error_code& ec, asio::ip::tcp::socket socket) {
      if (ec == asio::error::operation_aborted) return;  // closed on shutdown
      if (ec) {
        // Out of descriptors, say: try again shortly rather than spin.
        spdlog::warn("accepting a connection failed: {}", ec.message());
        accept_retry_.expires_after(std::chrono::milliseconds(100));
        accept_retry_.async_wait([this](const std::error_code& e) {
          if (!e) accept();
        });
        return;
      }
      std::error_code peer_ec;
      auto remote = socket.remote_endpoint(peer_ec);  // a peer may already be gone: never throw
      if (peer_ec) return accept();
      std::string from = remote.address().to_string();
      bool evicted = false;
      auto id = admit(from, anwang::node::address_prefix(remote.address()), socket.native_handle(), evicted);
      if (!id || evicted) note_crowding(from, !id);
      if (!id) {
        std::error_code ignored;
        socket.close(ignored);  // closed at once: the bound on connections before authentication
      } else {
        start(*id, [this, id = *id, from, socket = std::move(socket)]() mutable {
          auto transport = std::make_unique<TcpTransport>(std::move(socket), anwang::limits::sync_receive_timeout_ms);
          serve(id, std::move(transport), nullptr, from, 0, std::nullopt);
        });
      }
      accept();
    });
  }

  // Registers an accepted connection if the bounds allow it (node/slots.h); the connection that
  // gives way to it, if any, is closed.
  std::optional<std::uint64_t> admit(const std::string& from, const std::string& prefix, int fd, bool& evicted) {
    std::lock_guard<std::mutex> lock(sessions_mutex_);
    if (stopping_) return std::nullopt;
    std::uint64_t id = next_session_;
    auto admission = slots_.admit(id, prefix);
    if (!admission.admitted) return std::nullopt;
    ++next_session_;
    if (admission.evicted) {
      auto closed = sessions_.find(*admission.evicted);
      if (closed != sessions_.end() && closed->second.fd >= 0) ::shutdown(closed->second.fd, SHUT_RDWR);
      evicted = true;
    }
    sessions_[id].from = from;
    sessions_[id].inbound = true;
    sessions_[id].fd = fd;  // until its thread ends: eviction closes it
    return id;
  }

  // Logged at most once a second, with a count: a flood must not flood the log too.
  // `refused`: the new connection was closed at once; otherwise an older one gave way to it.
  void note_crowding(const std::string& from, bool refused) {
    ++(refused ? refused_ : evicted_);
    auto now = std::chrono::steady_clock::now();
    if (now - refused_logged_ < std::chrono::seconds(1)) return;
    spdlog::warn("too many peers in the handshake from the same networks: closed {} new connection(s) at once and {} "
                 "older one(s) still in the handshake (latest from {})",
                 refused_, evicted_, from);
    refused_ = 0;
    evicted_ = 0;
    refused_logged_ = now;
  }

  template <typename Body>
  void start(std::uint64_t id, Body body) {
    std::lock_guard<std::mutex> lock(sessions_mutex_);
    sessions_[id].thread = std::thread(std::move(body));
  }

  // How a session ended, for the dial schedule.
  // kCutOff: failed after the handshake proved the peer. kSyncedPartly: synced, and this node left
  // work for the next session to stay within its session budget.
  enum class Outcome { kSynced, kSyncedPartly, kCutOff, kFailed };

  // Session thread: one sync session, then its bookkeeping. Accepted: `accepted` is the
  // connection. Dialled: `endpoint` is the neighbour, dialled as sync_dialled does (a node of the
  // previous release is met in wire version 2).
  Outcome serve(std::uint64_t id, std::unique_ptr<TcpTransport> accepted, const anwang::node::Endpoint* endpoint,
                const std::string& who, std::uint64_t blob_budget_bytes, std::optional<anwang::PublicKey> pinned) {
    anwang::node::SyncOptions options;
    options.blob_budget_bytes = blob_budget_bytes;
    options.expected_peer = pinned;
    options.store_mutex = &store_mutex_;
    options.clock = &clock_;
    options.wire_version = wire_version_;
    if (auto keys = home_.list_keys())
      for (const auto& key : *keys) options.keyring_keys.push_back(key.public_key);
    bool reached_peer = false;
    options.on_authenticated = [this, id, &reached_peer](const anwang::PublicKey& peer) {
      Status admitted = authenticated(id, peer);
      reached_peer = admitted.is_ok();
      return admitted;
    };
    // One session over `transport`, its socket known to stop() while it runs.
    SyncRole role = accepted ? SyncRole::kResponder : SyncRole::kInitiator;
    auto over = [this, id, role](TcpTransport& transport, const anwang::node::SyncOptions& attempt) {
      {
        std::lock_guard<std::mutex> lock(sessions_mutex_);
        auto it = sessions_.find(id);
        if (stopping_ || it == sessions_.end())
          return anwang::Result<anwang::node::SyncReport>(Status::error(Status::Code::kUnavailable, "the node is stopping"));
        it->second.fd = transport.native_handle();
      }
      auto seed = anwang::node::fresh_seed();
      auto report = anwang::node::run_sync(store_, node_key_, transport, role, seed, attempt);
      sodium_memzero(seed.data(), seed.size());  // the handshake's ephemeral secret derives from it
      std::lock_guard<std::mutex> lock(sessions_mutex_);
      // Before the socket closes: stop() never touches a reused descriptor.
      if (auto it = sessions_.find(id); it != sessions_.end()) it->second.fd = -1;
      return report;
    };
    anwang::Result<anwang::node::SyncReport> report = Status::error(Status::Code::kUnavailable, "not run");
    if (accepted) {
      report = over(*accepted, options);
    } else {
      report = anwang::node::sync_dialled(
          [&](const anwang::node::SyncOptions& attempt) -> anwang::Result<anwang::node::SyncReport> {
            auto transport = anwang::node::tcp_connect(io_, *endpoint, anwang::limits::sync_receive_timeout_ms);
            if (!transport) return transport.status();
            return over(**transport, attempt);
          },
          options);
    }
    finish(id);
    accepted.reset();
    asio::post(io_, [this, id] { reap(id); });
    if (!report) {
      spdlog::warn("sync with {} failed: {}", who, report.status().message());
      return reached_peer ? Outcome::kCutOff : Outcome::kFailed;
    }
    {
      std::lock_guard<std::mutex> lock(store_mutex_);
      if (Status s = anwang::node::record_peer(store_, report->peer, &*report, clock_.now_ms()); !s)
        spdlog::warn("recording the session with {}: {}", who, s.message());
    }
    spdlog::info("synced with {} ({} at {}): sent {} ops, received {} ops{}, {} B out, {} B in{}{}", who,
                 report->peer.short_hex(), report->peer_scope, report->ops_sent, report->ops_received,
                 report->ops_refused > 0
                     ? fmt::format(", refused {} ({})", report->ops_refused, report->refusals_said())
                     : std::string(),
                 report->bytes_sent, report->bytes_received,
                 report->orphans_dropped > 0
                     ? fmt::format(", dropped {} of its ops still waiting for parents", report->orphans_dropped)
                     : std::string(),
                 report->wire_version < anwang::net::kWireVersionLatest
                     ? fmt::format(", wire protocol version {} (the peer runs an earlier anwang release)",
                                   report->wire_version)
                     : std::string());
    if (report->restored_mark_cleared)
      spdlog::info("this node was restored from a backup; {} ({}) answered for every key of its keyring, so its keys "
                   "sign again where they are not behind",
                   who, report->peer.short_hex());
    if (!report->budget_reached.empty())
      spdlog::info("session with {} ({}): this node {}; the next session goes on from there", who,
                   report->peer.short_hex(), report->budget_reached);
    log_what_is_off(who, *report);
    return report->budget_reached.empty() ? Outcome::kSynced : Outcome::kSyncedPartly;
  }

  // After a session: what it found off, in the log. The peer's clock off this node's time; ops
  // stamped far ahead of it (by author); this node's own clock off (when that changes); keys of the
  // keyring behind what other nodes hold, or equivocating (once each).
  void log_what_is_off(const std::string& who, const anwang::node::SyncReport& report) {
    std::lock_guard<std::mutex> lock(store_mutex_);
    auto clock = store_.clock_state(clock_);
    if (!clock) return;
    auto keys = home_.list_keys();
    auto name_of = [&](const anwang::PublicKey& key) {
      if (keys)
        for (const auto& info : *keys)
          if (info.public_key == key) return info.name + " (" + key.short_hex() + ")";
      return key.short_hex();
    };
    if (report.peer_clock_offset_ms)
      if (auto off = anwang::node::peer_clock_off(*clock, *report.peer_clock_offset_ms))
        spdlog::warn("the clock of node {} ({} at {}) is {}", report.peer.short_hex(), report.peer_scope, who,
                     anwang::describe_offset(*off, "this node's time"));
    for (const auto& ahead : report.ahead_authors)
      spdlog::warn("received {} op(s) from {} by key {} stamped up to {}, more than 5 minutes ahead of this node's time: "
                   "not taken before then (their sender keeps them); check that node's clock",
                   ahead.ops, who, name_of(ahead.author), anwang::hlc_display(ahead.newest_hlc, anwang::TimeShown::kSeconds));
    std::string own = anwang::node::clock_warning(*clock);
    if (own != clock_logged_) {
      if (!own.empty()) spdlog::warn("{}", own);
      else if (!clock_logged_.empty()) spdlog::info("this node's clock agrees with its peers' again");
      clock_logged_ = own;
    }
    if (!keys) return;
    for (const auto& info : *keys) {
      auto standing = store_.key_standing(info.public_key);
      if (!standing) continue;
      if (!standing->behind.empty() && keys_logged_.insert(standing->behind).second)
        spdlog::warn("{}", anwang::node::with_key_name(standing->behind, info.public_key, info.name));
      for (std::uint64_t seq : standing->equivocations) {
        std::string advice = anwang::node::equivocation_advice(info.name, info.public_key, seq);
        if (keys_logged_.insert(advice).second) spdlog::warn("{}", advice);
      }
    }
  }

  // The handshake proved the peer's key: it leaves the unauthenticated bound, if the session
  // bounds let it in.
  Status authenticated(std::uint64_t id, const anwang::PublicKey& peer) {
    std::unique_lock<std::mutex> lock(sessions_mutex_);
    // A peer that reconnects at once may find its previous session still winding down on its
    // thread: wait for it (limits::session_handover_ms_max) rather than refuse an honest peer.
    auto busy = [&] {
      for (const auto& [other, session] : sessions_)
        if (other != id && session.peer == peer) return true;
      return false;
    };
    session_ended_.wait_for(lock, std::chrono::milliseconds(anwang::limits::session_handover_ms_max), [&] { return stopping_ || !busy(); });
    // Each reason is one sentence the peer is told (wire version 3), so it names both nodes.
    std::string self = "node " + node_key_.public_key().short_hex();
    if (stopping_) return Status::error(Status::Code::kUnavailable, self + " is stopping; try again later");
    if (busy())
      return Status::error(Status::Code::kRefused, self + " is already in a session with node " + peer.short_hex() +
                                                       "; try again when it ends");
    if (authenticated_ >= anwang::limits::sessions_max)
      return Status::error(Status::Code::kRefused, self + " has too many sessions at once (" +
                                                       std::to_string(anwang::limits::sessions_max) + "); try again later");
    Session& session = sessions_.at(id);
    release_unauthenticated(id);
    session.authenticated = true;
    session.peer = peer;
    ++authenticated_;
    return Status::ok();
  }

  // REQUIRES: sessions_mutex_ held.
  void release_unauthenticated(std::uint64_t id) { slots_.release(id); }

  void finish(std::uint64_t id) {
    std::lock_guard<std::mutex> lock(sessions_mutex_);
    auto it = sessions_.find(id);
    if (it == sessions_.end()) return;
    Session& session = it->second;
    session.fd = -1;
    release_unauthenticated(id);
    if (session.authenticated) --authenticated_;
    session.inbound = false;
    session.authenticated = false;
    session.peer.reset();
    session_ended_.notify_all();
  }

  // Loop thread: the session thread has ended (or is about to): join it. What the session
  // received is passed on at once to every other neighbour — a township relays a village's hazard
  // to the county now, not at its next scheduled sync (up to a minute away at each hop) — but it
  // is not a local write, so it is not sent back to where it came from.
  void reap(std::uint64_t id) {
    std::thread thread;
    std::string from;
    {
      std::lock_guard<std::mutex> lock(sessions_mutex_);
      auto it = sessions_.find(id);
      if (it == sessions_.end()) return;
      thread = std::move(it->second.thread);
      from = it->second.from;
      sessions_.erase(it);
    }
    if (thread.joinable()) thread.join();
    auto now = op_count();
    if (!now) return;
    if (*now > last_ops_ && !stopping())
      for (auto& neighbour : neighbours_)
        if (neighbour->address != from) schedule(*neighbour, std::chrono::seconds(0));
    last_ops_ = *now;
  }

  bool stopping() {
    std::lock_guard<std::mutex> lock(sessions_mutex_);
    return stopping_;
  }

  std::optional<std::uint64_t> op_count() {
    std::lock_guard<std::mutex> lock(store_mutex_);
    auto stats = store_.stats();
    if (!stats) return std::nullopt;
    return stats->ops;
  }

  void schedule(Neighbour& neighbour, std::chrono::seconds delay) {
    if (neighbour.dialling) {
      neighbour.again = true;
      return;
    }
    neighbour.timer.expires_after(delay);
    neighbour.timer.async_wait([this, &neighbour](const std::error_code& ec) {
      if (!ec) dial(neighbour);
    });
  }

  void dial(Neighbour& neighbour) {
    std::uint64_t id = 0;
    {
      std::lock_guard<std::mutex> lock(sessions_mutex_);
      if (stopping_) return;
      id = next_session_++;
      sessions_[id].from = neighbour.address;
    }
    neighbour.dialling = true;
    neighbour.again = false;
    start(id, [this, id, &neighbour] {
      Outcome outcome =
          serve(id, nullptr, &neighbour.endpoint, neighbour.address, neighbour.blob_budget_bytes, neighbour.key);
      asio::post(io_, [this, &neighbour, outcome] { dialled(neighbour, outcome); });
    });
  }

  // Loop thread: a session with a neighbour ended; when to dial it next.
  void dialled(Neighbour& neighbour, Outcome outcome) {
    neighbour.dialling = false;
    // A session cut off after the handshake reached the peer: the peer is there and the link
    // works between drops (a flapping 2G link), so the backoff starts over — retry within 2 s and
    // resume. Counting such drops would push retries out to minutes on a link that is up most of
    // the time (found by tests/multiprocess/emulated_2g.sh).
    const bool synced = outcome == Outcome::kSynced || outcome == Outcome::kSyncedPartly;
    if (synced) neighbour.failures = 0;
    else if (outcome == Outcome::kCutOff) neighbour.failures = 1;
    else ++neighbour.failures;
    // A session that stopped at its budget goes on at once with the next.
    int delay_s = neighbour.again || outcome == Outcome::kSyncedPartly ? 0 : interval_s_;
    if (!synced) {
      // Exponential backoff with jitter: 2, 4, 8 … seconds, up to the maximum.
      int base = std::min(anwang::limits::sync_backoff_s_max, 1 << std::min(neighbour.failures, 10));
      delay_s = base / 2 + static_cast<int>(randombytes_uniform(static_cast<std::uint32_t>(base / 2 + 1)));
    }
    neighbour.again = false;
    schedule(neighbour, std::chrono::seconds(delay_s));
  }

  asio::io_context& io_;
  Store& store_;
  std::mutex store_mutex_;  // every use of store_, by any thread
  anwang::KeyPair node_key_;
  const anwang::node::NodeHome& home_;   // the keyring, read at each session (the CLI may add keys)
  const anwang::PhysicalClock& clock_;
  std::uint8_t wire_version_;
  std::string clock_logged_;             // what the log last said about this node's clock (store_mutex_)
  std::set<std::string> keys_logged_;    // key warnings already logged (store_mutex_)
  std::unique_ptr<asio::ip::tcp::acceptor> acceptor_;
  std::vector<std::unique_ptr<Neighbour>> neighbours_;
  asio::steady_timer watch_;
  asio::steady_timer accept_retry_;
  std::uint64_t last_ops_ = 0;
  int interval_s_ = anwang::limits::sync_interval_s_default;
  std::uint64_t refused_ = 0;  // connections closed at once, since the last log line (loop thread)
  std::uint64_t evicted_ = 0;  // older connections closed to make room, since then
  std::chrono::steady_clock::time_point refused_logged_{};

  std::mutex sessions_mutex_;  // the members below
  std::condition_variable session_ended_;  // notified when a session lets go of its peer
  std::map<std::uint64_t, Session> sessions_;
  std::uint64_t next_session_ = 0;
  anwang::node::UnauthenticatedSlots slots_{anwang::limits::connections_unauthenticated_max,
                                            anwang::limits::connections_unauthenticated_per_prefix_max};
  int authenticated_ = 0;
  bool stopping_ = false;
};

}  // namespace

int main(int argc, char** argv) {
  anwang::node::pretend_earlier_release_from_environment();
  CLI::App app{"anwangd: the anwang (安网) node daemon"};
  std::string home_dir;
  std::string listen;
  std::optional<std::string> web_listen;
  app.add_option("--home", home_dir, "Node home directory (default: $ANWANG_HOME, else ~/.anwang)");
  app.add_option("--config", home_dir, "Alias of --home: the node home holding anwang.toml");
  app.add_option("--listen", listen, "HOST:PORT to listen on for peers (overrides anwang.toml)");
  app.add_option("--web-listen", web_listen,
                 "HOST:PORT of the web UI (overrides anwang.toml's [web] listen; \"\" for none; port 0 picks one)");
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
  auto home = anwang::node::NodeHome::open(home_dir);
  if (!home) {
    spdlog::critical("{}", home.status().message());
    return 1;
  }
  spdlog::set_level(spdlog::level::from_str(home->config().log_level));
  anwang::node::ProcessClock clock;  // the wall clock; ANWANG_FAKE_NOW_MS in tests
  auto store = home->open_store(&clock);
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
  // A clock already known to be off says so at start, as after every session that finds it so.
  if (auto state = (*store)->clock_state(clock))
    if (std::string warning = anwang::node::clock_warning(*state); !warning.empty()) spdlog::warn("{}", warning);

  asio::io_context io;
  // Tests only: ANWANG_TEST_WIRE_VERSION=2 or 3 plays a node of an earlier release.
  const char* test_version = std::getenv("ANWANG_TEST_WIRE_VERSION");
  std::uint8_t wire_version = anwang::net::kWireVersionLatest;
  if (test_version != nullptr && (std::string(test_version) == "2" || std::string(test_version) == "3"))
    wire_version = static_cast<std::uint8_t>(test_version[0] - '0');
  Daemon daemon(io, **store, std::move(*node_key), *home, clock, wire_version);
  std::string address = listen.empty() ? home->config().listen : listen;
  if (!address.empty())
    if (auto s = daemon.listen(address); !s) {
      spdlog::critical("{}", s.message());
      return 1;
    }
  // The web UI and its API (node/web_api.h), on a thread of its own, sharing the store's mutex.
  const auto& config = home->config();
  const bool web_configured = web_listen.has_value() || config.web_listen.has_value();
  std::string web_address = web_listen ? *web_listen : config.web_listen.value_or("127.0.0.1:8088");
  anwang::node::WebApiOptions web_options;
  // Tests only: sessions that expire after this many ms without a request.
  if (const char* idle = std::getenv("ANWANG_TEST_WEB_SESSION_IDLE_MS"); idle != nullptr)
    web_options.session_idle_ms = std::strtoull(idle, nullptr, 10);
  anwang::node::WebApi web_api(**store, daemon.store_mutex(), *home, clock, web_options);
  std::unique_ptr<anwang::node::WebServer> web;
  if (!web_address.empty()) {
    auto started = anwang::node::WebServer::start({web_address, config.web_tls_certificate, config.web_tls_key}, web_api);
    if (started) {
      web = std::move(*started);
      web_api.set_web_url(web->url());
      spdlog::info("web UI 网页 at {}", web->url());
      // For `anwang status`: where the UI is while this process runs (removed at stop).
      std::string line = web->url() + "\n";
      if (Status s = anwang::node::write_file_atomically(
              home->dir() / "web-url", anwang::ByteView(reinterpret_cast<const std::uint8_t*>(line.data()), line.size()),
              anwang::node::ExistingFile::kReplace);
          !s)
        spdlog::warn("writing {}: {}", (home->dir() / "web-url").string(), s.message());
    } else if (web_configured) {
      spdlog::critical("{}", started.status().message());
      return 1;
    } else {
      // The default address, not asked for: another node on this machine may hold it already.
      spdlog::warn("{}; going on without the web UI (set [web] listen in anwang.toml)", started.status().message());
    }
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
  if (web) {
    web->stop();
    std::error_code ignored;
    std::filesystem::remove(home->dir() / "web-url", ignored);
  }
  daemon.join();
  spdlog::info("stopped cleanly");
  return 0;
}
