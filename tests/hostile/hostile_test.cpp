// Hostile peers against a real anwangd on loopback (issue 6, item 5): bit flips in every
// handshake message and in sealed frames, a recorded session replayed byte for byte, frames over
// the cap, 1,000 half-open connections, a peer dripping a byte a second, a flood of ops whose
// parents never arrive, 10,000 forged or mis-signed ops, a flood of delegations by throwaway keys
// no office named (issue 20), an equivocating author, and a peer that authenticates and goes
// silent. After each, the daemon is still up, its store holds nothing it should not, and a good
// peer still syncs.
//
// The hostile peer is this test process speaking the wire protocol by hand (net/PROTOCOL.md)
// with an enrolled node key of its own. Figures measured are printed with WARN.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <thread>
#include <cstdio>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>

#include "crdt/hash.h"
#include "crdt/limits.h"
#include "net/frame.h"
#include "net/handshake.h"
#include "node/op_file.h"
#include "support/fixtures.h"

using namespace anwang;
using anwang::test::TempDir;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

// Message types of the sealed channel (net/PROTOCOL.md).
constexpr std::uint8_t kOps = 2, kNeed = 3, kReconciled = 4, kDone = 5, kCommitted = 7;

constexpr const char* kTownship = "150430100";
constexpr const char* kVillage = "150430100201";

std::string quote(const std::string& arg) {
  std::string out = "'";
  for (char c : arg) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

struct Run {
  int exit_code;
  std::string out;
};

Run anwang_cli(const std::filesystem::path& home, const std::vector<std::string>& args) {
  std::string command = quote(ANWANG_CLI_PATH) + " --home " + quote(home.string());
  for (const auto& arg : args) command += " " + quote(arg);
  command += " 2>>" + quote((home.parent_path() / "cli-stderr.txt").string());
  FILE* pipe = popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string out;
  char buffer[4096];
  while (std::size_t n = fread(buffer, 1, sizeof buffer, pipe)) out.append(buffer, n);
  int status = pclose(pipe);
  return Run{WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

json cli_json(const std::filesystem::path& home, const std::vector<std::string>& args) {
  std::vector<std::string> with = args;
  with.push_back("--json");
  Run run = anwang_cli(home, with);
  INFO("anwang " << args.at(0) << " exited " << run.exit_code);
  REQUIRE(run.exit_code == 0);
  return json::parse(run.out);
}

std::string read_file(const std::filesystem::path& path) {
  std::stringstream text;
  text << std::ifstream(path).rdbuf();
  return text.str();
}

std::size_t count_of(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

std::uint64_t rss_kib(int pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6));
  return 0;
}

// An anwangd process listening on loopback, stopped with SIGTERM at the end.
class Daemon {
 public:
  Daemon(const std::filesystem::path& home, const std::filesystem::path& log) : log_(log) {
    static int started = 0;  // each daemon of this process on a port of its own
    for (int attempt = 0; attempt < 5 && pid_ <= 0; ++attempt) {
      port_ = 20000 + static_cast<int>((getpid() * 13 + ++started * 137) % 30000);
      std::string command = quote(ANWANGD_PATH) + " --home " + quote(home.string()) + " --listen 127.0.0.1:" +
                            std::to_string(port_) + " >> " + quote(log.string()) + " 2>&1 & echo $!";
      // The log is appended to: read only what this attempt wrote (an earlier attempt's "cannot
      // listen" must not end this one).
      std::size_t offset = read_file(log).size();
      FILE* pipe = popen(command.c_str(), "r");
      REQUIRE(pipe != nullptr);
      int pid = 0;
      REQUIRE(fscanf(pipe, "%d", &pid) == 1);
      pclose(pipe);
      for (int wait = 0; wait < 400; ++wait) {  // up to 20 s: start-up is slow on a loaded machine
        std::string text = read_file(log);
        text = text.size() > offset ? text.substr(offset) : std::string();
        if (text.find("listening for peers") != std::string::npos) {
          pid_ = pid;
          break;
        }
        if (text.find("cannot listen") != std::string::npos) break;
        usleep(50'000);
      }
      if (pid_ <= 0) kill(pid, SIGKILL);
    }
    REQUIRE(pid_ > 0);
  }
  ~Daemon() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    for (int wait = 0; wait < 100 && alive(); ++wait) usleep(50'000);
  }
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  int pid() const { return pid_; }
  int port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  // Not a child of this process (started through the shell): its /proc entry tells.
  bool alive() const {
    std::string status = read_file("/proc/" + std::to_string(pid_) + "/status");
    return status.find("State:\tZ") == std::string::npos && status.find("State:\tX") == std::string::npos &&
           !status.empty();
  }
  std::string log() const { return read_file(log_); }
  // Waits until the log holds `n` lines with `needle`.
  bool wait_for_log(const std::string& needle, std::size_t n, int timeout_ms = 15'000) const {
    for (int waited = 0; waited < timeout_ms; waited += 20) {
      if (count_of(log(), needle) >= n) return true;
      usleep(20'000);
    }
    return false;
  }

 private:
  std::filesystem::path log_;
  int pid_ = 0;
  int port_ = 0;
};

// A raw TCP connection to the daemon, from `source` (any 127.x.y.z address works on loopback).
class Connection {
 public:
  explicit Connection(int port, const std::string& source = "127.0.0.1", bool wait_connected = true) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_in from{};
    from.sin_family = AF_INET;
    inet_pton(AF_INET, source.c_str(), &from.sin_addr);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&from), sizeof from) == 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(static_cast<std::uint16_t>(port));
    inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    int rc = ::connect(fd_, reinterpret_cast<sockaddr*>(&to), sizeof to);
    REQUIRE((rc == 0 || errno == EINPROGRESS));
    if (wait_connected) {
      pollfd ready{fd_, POLLOUT, 0};
      REQUIRE(::poll(&ready, 1, 5'000) == 1);
    }
  }
  ~Connection() {
    if (fd_ >= 0) ::close(fd_);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  int fd() const { return fd_; }
  // False when the daemon has closed the connection.
  bool send(ByteView bytes) {
    while (!bytes.empty()) {
      ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        pollfd ready{fd_, POLLOUT, 0};
        if (::poll(&ready, 1, 5'000) != 1) return false;
        continue;
      }
      if (n <= 0) return false;
      bytes = bytes.subspan(static_cast<std::size_t>(n));
    }
    return true;
  }
  // The next whole frame, or nothing when the daemon closed the connection or `timeout_ms` passed.
  std::optional<Bytes> receive_frame(int timeout_ms = 5'000) {
    auto until = Clock::now() + std::chrono::milliseconds(timeout_ms);
    while (true) {
      if (auto frame = decoder_.next()) return frame;
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
      if (left <= 0 || closed_) return std::nullopt;
      pollfd ready{fd_, POLLIN, 0};
      if (::poll(&ready, 1, static_cast<int>(left)) != 1) continue;
      std::uint8_t buffer[65536];
      ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) continue;
      if (n <= 0) {
        closed_ = true;
        continue;
      }
      received_ += static_cast<std::size_t>(n);
      if (!decoder_.feed(ByteView(buffer, static_cast<std::size_t>(n)))) return std::nullopt;
    }
  }
  // Stops sending, then waits for the daemon to close its end. True when it did in time.
  bool finish(int timeout_ms = 15'000) {
    ::shutdown(fd_, SHUT_WR);
    return closed_by_daemon(timeout_ms);
  }
  bool closed_by_daemon(int timeout_ms) {
    auto until = Clock::now() + std::chrono::milliseconds(timeout_ms);
    while (!closed_) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
      if (left <= 0) return false;
      pollfd ready{fd_, POLLIN, 0};
      if (::poll(&ready, 1, static_cast<int>(left)) != 1) continue;
      std::uint8_t buffer[4096];
      ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) continue;
      if (n > 0) {
        received_ += static_cast<std::size_t>(n);
        continue;
      }
      closed_ = true;
    }
    return true;
  }
  std::size_t bytes_received() const { return received_; }

 private:
  int fd_ = -1;
  net::FrameDecoder decoder_;
  bool closed_ = false;
  std::size_t received_ = 0;
};

Bytes framed(ByteView body) {
  Bytes out;
  out.reserve(body.size() + 4);
  append_u32_le(out, static_cast<std::uint32_t>(body.size()));
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

// The initiator's side of a session, by hand. Every frame it sends passes through `tamper`
// (numbered 0: message 1, 1: message 3, 2: the channel header, 3…: sealed messages) and is
// recorded, so a session can be altered or replayed.
class HostilePeer {
 public:
  using Tamper = std::function<void(int frame, Bytes& bytes)>;

  HostilePeer(int port, const KeyPair& key, const Hash32& network, int seed, Tamper tamper = {})
      : connection_(port), key_(key), network_(network), tamper_(std::move(tamper)) {
    seed_ = blake2b_256(as_bytes("hostile " + std::to_string(seed))).bytes;
  }

  // Handshake and channel. False when the daemon refused (or the tampering broke it).
  bool open() {
    // Wire version 2, as these hostile peers were written for: the daemon answers it as the
    // previous release did (refusals close the connection without a word).
    net::Handshake handshake(net::Handshake::Role::kInitiator, key_, network_, seed_,
                             [](const PublicKey&) { return Status::ok(); }, net::kWireVersionOldest);
    if (!send_frame(handshake.start())) return false;
    auto message2 = connection_.receive_frame(reply_timeout_ms());
    if (!message2) return false;
    auto message3 = handshake.on_message(*message2);
    if (!message3 || !send_frame(*message3)) return false;
    if (!send_frame(sender_.start(handshake.keys().send))) return false;
    auto header = connection_.receive_frame(reply_timeout_ms());
    if (!header) return false;
    return receiver_.start(handshake.keys().receive, *header).is_ok();
  }
  bool send_message(std::uint8_t type, ByteView body) {
    Bytes plain{type};
    plain.insert(plain.end(), body.begin(), body.end());
    return send_frame(sender_.seal(plain));
  }
  // The next sealed message from the daemon (type first).
  std::optional<Bytes> receive_message(int timeout_ms = 10'000) {
    auto frame = connection_.receive_frame(timeout_ms);
    if (!frame) return std::nullopt;
    auto plain = receiver_.open(*frame);
    if (!plain) return std::nullopt;
    return std::move(*plain);
  }
  // Sends ops as one `ops` message and waits for the daemon's `committed`. False when the daemon
  // ended the session instead.
  bool push_ops(const std::vector<Bytes>& ops) {
    Bytes body;
    append_u32_le(body, static_cast<std::uint32_t>(ops.size()));
    for (const Bytes& op : ops) {
      append_u32_le(body, static_cast<std::uint32_t>(op.size()));
      body.insert(body.end(), op.begin(), op.end());
    }
    REQUIRE(body.size() + 1 + crypto_secretstream_xchacha20poly1305_ABYTES <= limits::frame_bytes_max);
    if (!send_message(kOps, body)) return false;
    while (auto reply = receive_message()) {
      if (!reply->empty() && (*reply)[0] == kCommitted) return true;
    }
    return false;
  }
  Connection& connection() { return connection_; }
  const Bytes& sent() const { return sent_; }

 private:
  // A frame whose length was altered may leave the daemon waiting for bytes that never come:
  // then the reply is not waited for long (the caller stops sending and the daemon sees the end).
  int reply_timeout_ms() const { return last_tampered_ ? 300 : 10'000; }

  bool send_frame(ByteView body) {
    Bytes frame = framed(body);
    Bytes original = frame;
    if (tamper_) tamper_(frames_, frame);
    last_tampered_ = frame != original;
    ++frames_;
    sent_.insert(sent_.end(), frame.begin(), frame.end());
    return connection_.send(frame);
  }

  Connection connection_;
  const KeyPair& key_;
  Hash32 network_;
  std::array<std::uint8_t, 32> seed_{};
  Tamper tamper_;
  net::ChannelSender sender_;
  net::ChannelReceiver receiver_;
  int frames_ = 0;
  bool last_tampered_ = false;
  Bytes sent_;
};

// Keys that sign the notes of these tests. Since issue 20 an op whose author holds no office in its
// causal past is refused at ingest (no_office), so the network is a mechanics network
// (test::mechanics_factory) and these are among its root keys: the tests here are about
// handshakes, frames, slots, the pending area, signatures and equivocation, and their ops are
// admitted exactly as the ops of test keys 40 and 51 to 55 (no office then) were before. Each test
// writes with its own key, so no two authors' sequences meet.
constexpr int kGoodAuthor = 1;        // good_sync's notes (was test key 40)
constexpr int kCarrierAuthor = 2;     // notes a hostile peer carries (was 51)
constexpr int kOrphanAuthor = 3;      // orphans whose parents never arrive (was 52)
constexpr int kAuthor = 4;            // the flood of parents and children, mis-signed ops (was 53)
constexpr int kForger = 5;            // forged ops (was 54)
constexpr int kEquivocator = 6;       // two ops with one number (was 55)
constexpr int kHonestAuthor = 7;      // an honest op amid a flood of junk authority ops

// A county node under a running anwangd, an enrolled hostile node (a township's), and a good
// village node that syncs with it by `anwang sync`.
class Network {
 public:
  Network() {
    county_ = dir_.path() / "county";
    village_ = dir_.path() / "village";
    PublicKey county_key = node_key_of(county_);
    PublicKey village_key = node_key_of(village_);
    KeyPair root = test::test_key(0);
    authority_.push_back(factory_.genesis());
    for (auto [key, scope] : {std::pair{county_key, test::kCounty}, std::pair{village_key, kVillage},
                              std::pair{hostile_.public_key(), kTownship}})
      authority_.push_back(
          factory_.make(root, scope, node_object_id(key), EnrolmentPayload{key}, {authority_.back().id}));
    REQUIRE(node::write_op_file(dir_.path() / "authority.ops", test::bytes_of(authority_)).is_ok());
    for (const auto& home : {county_, village_})
      REQUIRE(anwang_cli(home, {"op", "import", (dir_.path() / "authority.ops").string()}).exit_code == 0);
    daemon_ = std::make_unique<Daemon>(county_, dir_.path() / "anwangd.log");
  }

  Daemon& daemon() { return *daemon_; }
  const KeyPair& hostile_key() const { return hostile_; }
  const Hash32& network() const { return factory_.network(); }
  const Op& authority_head() const { return authority_.back(); }
  test::OpFactory& factory() { return factory_; }
  const std::filesystem::path& county() const { return county_; }
  const std::filesystem::path& village() const { return village_; }

  json county_status() { return cli_json(county_, {"status"}); }
  // A good peer: a new op reaches the county (beside the daemon), the village node syncs with the
  // daemon and receives it. Returns the village's report.
  json good_sync() {
    Op fresh = note(test::test_key(kGoodAuthor), "good " + std::to_string(++good_syncs_));
    auto file = dir_.path() / "good.ops";
    REQUIRE(node::write_op_file(file, {fresh.bytes}).is_ok());
    REQUIRE(anwang_cli(county_, {"op", "import", file.string()}).exit_code == 0);
    json report = cli_json(village_, {"sync", daemon_->address()});
    CHECK(anwang_cli(village_, {"show", fresh.id.hex()}).exit_code == 0);
    return report;
  }

  // A note by `author` in the village, valid in every way.
  Op note(const KeyPair& author, const std::string& text) {
    return factory_.make(author, kVillage, named_object_id("note", text), NotePayload{text}, {authority_.back().id});
  }

 private:
  static PublicKey node_key_of(const std::filesystem::path& home) {
    json init = cli_json(home, {"init"});
    return *Hash32::from_hex(init["node_key"].get<std::string>());
  }

  TempDir dir_;
  std::filesystem::path county_, village_;
  test::OpFactory factory_ = test::mechanics_factory();
  KeyPair hostile_ = test::test_key(50);
  std::vector<Op> authority_;
  std::unique_ptr<Daemon> daemon_;
  int good_syncs_ = 0;
};

}  // namespace

TEST_CASE("a bit flipped in any handshake message or sealed frame fails that session only", "[hostile]") {
  Network net;
  Daemon& daemon = net.daemon();
  std::uint64_t ops_before = net.county_status()["ops"];
  // The control: unaltered, the same exchange delivers an op.
  Op control = net.note(test::test_key(kCarrierAuthor), "control");
  {
    HostilePeer peer(daemon.port(), net.hostile_key(), net.network(), 0);
    REQUIRE(peer.open());
    REQUIRE(peer.push_ops({control.bytes}));
  }
  REQUIRE(net.county_status()["ops"] == ops_before + 1);

  // Every byte of message 1, message 3 and the channel header, and of a sealed `ops` message
  // carrying a new op, with one bit flipped (a different bit for each byte).
  Op carried = net.note(test::test_key(kCarrierAuthor), "carried");
  Bytes ops_body;
  append_u32_le(ops_body, 1);
  append_u32_le(ops_body, static_cast<std::uint32_t>(carried.bytes.size()));
  ops_body.insert(ops_body.end(), carried.bytes.begin(), carried.bytes.end());
  const std::size_t frame_sizes[] = {4 + 97, 4 + 64, 4 + 24, 4 + 17 + 1 + ops_body.size()};
  std::size_t sessions = 0;
  auto started = Clock::now();
  for (int target = 0; target < 4; ++target) {
    for (std::size_t at = 0; at < frame_sizes[target]; ++at) {
      int bit = static_cast<int>(at % 8);
      HostilePeer peer(daemon.port(), net.hostile_key(), net.network(), static_cast<int>(sessions + 1),
                       [target, at, bit](int frame, Bytes& bytes) {
                         if (frame == target) bytes.at(at) ^= static_cast<std::uint8_t>(1u << bit);
                       });
      if (peer.open()) peer.send_message(kOps, ops_body);
      INFO("frame " << target << ", byte " << at << ", bit " << bit);
      REQUIRE(peer.connection().finish());
      ++sessions;
    }
  }
  double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  WARN(sessions << " sessions with one flipped bit each in " << seconds << " s");
  // Each ended in failure (as did the control, which stopped without reconciling), none
  // delivered the op, the daemon is still up and serves a good peer.
  CHECK(daemon.wait_for_log("sync with 127.0.0.1 failed", sessions + 1));
  CHECK(count_of(daemon.log(), "synced with") == 0);
  CHECK(daemon.alive());
  CHECK(net.county_status()["ops"] == ops_before + 1);
  CHECK(anwang_cli(net.county(), {"show", carried.id.hex()}).exit_code == 4);
  json good = net.good_sync();
  CHECK(good["ops_received"].get<int>() >= 1);
  CHECK(anwang_cli(net.county(), {"verify"}).exit_code == 0);
}

TEST_CASE("a recorded session replayed byte for byte is refused at the handshake", "[hostile]") {
  Network net;
  Daemon& daemon = net.daemon();
  Bytes recorded;
  {
    HostilePeer peer(daemon.port(), net.hostile_key(), net.network(), 1);
    REQUIRE(peer.open());
    REQUIRE(peer.push_ops({net.note(test::test_key(kCarrierAuthor), "recorded").bytes}));
    REQUIRE(peer.send_message(kDone, {}));
    recorded = peer.sent();
  }
  REQUIRE(daemon.wait_for_log("sync with 127.0.0.1 failed", 1));  // ended without reconciling
  std::uint64_t ops_before = net.county_status()["ops"];
  Connection replay(daemon.port());
  REQUIRE(replay.send(recorded));
  CHECK(replay.finish());
  // The daemon answered message 1 (with a fresh ephemeral key), refused message 3 and never set
  // up a channel: message 2 is all it sent.
  CHECK(replay.bytes_received() <= 4 + 1 + 32 + 32 + 64);
  CHECK(daemon.wait_for_log("sync with 127.0.0.1 failed", 2));
  CHECK_THAT(daemon.log(), Catch::Contains("the initiator's signature does not verify"));
  CHECK(net.county_status()["ops"] == ops_before);
  CHECK(daemon.alive());
  CHECK(net.good_sync()["ops_received"].get<int>() >= 1);
}

TEST_CASE("frames over the cap close the connection at once, before or after authentication", "[hostile]") {
  Network net;
  Daemon& daemon = net.daemon();
  auto closed_at_once = [](Connection& connection, ByteView bytes) {
    auto started = Clock::now();
    connection.send(bytes);
    bool closed = connection.closed_by_daemon(3'000);  // far below the 10 s handshake deadline
    double ms = std::chrono::duration<double, std::milli>(Clock::now() - started).count();
    INFO("closed after " << ms << " ms");
    return closed && ms < 2'000;
  };
  Bytes header;
  // Before authentication the cap is small: a frame of 257 bytes is refused, as is 4 GiB.
  for (std::uint32_t declared : {std::uint32_t(limits::handshake_frame_bytes_max + 1), std::uint32_t(0xffffffff)}) {
    Connection connection(daemon.port());
    header.clear();
    append_u32_le(header, declared);
    CHECK(closed_at_once(connection, header));
  }
  // After: one byte over frame_bytes_max.
  {
    HostilePeer peer(daemon.port(), net.hostile_key(), net.network(), 1);
    REQUIRE(peer.open());
    header.clear();
    append_u32_le(header, static_cast<std::uint32_t>(limits::frame_bytes_max + 1));
    CHECK(closed_at_once(peer.connection(), header));
  }
  // A frame of exactly the cap that is not a sealed message of this channel.
  {
    HostilePeer peer(daemon.port(), net.hostile_key(), net.network(), 2);
    REQUIRE(peer.open());
    Bytes junk(limits::frame_bytes_max, 0xa5);
    CHECK(closed_at_once(peer.connection(), framed(junk)));
  }
  CHECK(daemon.wait_for_log("sync with 127.0.0.1 failed", 4));
  CHECK_THAT(daemon.log(), Catch::Contains("the limit is 256"));
  CHECK(daemon.alive());
  CHECK(net.good_sync()["ops_received"].get<int>() >= 1);
}

TEST_CASE("1,000 half-open connections: memory stays bounded, all close by the deadline, a good peer syncs after",
          "[hostile]") {
  rlimit files{};
  getrlimit(RLIMIT_NOFILE, &files);
  files.rlim_cur = std::max<rlim_t>(files.rlim_cur, std::min<rlim_t>(files.rlim_max, 4096));
  setrlimit(RLIMIT_NOFILE, &files);
  REQUIRE(files.rlim_cur >= 1100);
  Network net;
  Daemon& daemon = net.daemon();
  usleep(300'000);
  std::uint64_t rss_before = rss_kib(daemon.pid());
  // 1,000 connections that send nothing, 8 from each of 125 loopback networks (the per-network
  // bound alone would otherwise turn most away).
  constexpr int kConnections = 1'000;
  std::vector<std::unique_ptr<Connection>> connections;
  std::vector<double> closed_after_s(kConnections, -1);
  auto started = Clock::now();
  for (int i = 0; i < kConnections; ++i)
    connections.push_back(std::make_unique<Connection>(daemon.port(), "127.0." + std::to_string(1 + i / 8) + ".2", false));
  double opened_s = std::chrono::duration<double>(Clock::now() - started).count();
  std::uint64_t rss_peak = 0;
  int open = kConnections;
  int held_past_1s = 0;
  while (open > 0 && Clock::now() - started < std::chrono::seconds(20)) {
    std::vector<pollfd> fds;
    std::vector<int> which;
    for (int i = 0; i < kConnections; ++i)
      if (closed_after_s[i] < 0) {
        fds.push_back(pollfd{connections[i]->fd(), POLLIN, 0});
        which.push_back(i);
      }
    ::poll(fds.data(), fds.size(), 50);
    double now_s = std::chrono::duration<double>(Clock::now() - started).count();
    for (std::size_t k = 0; k < fds.size(); ++k)
      if (fds[k].revents != 0) {
        closed_after_s[which[k]] = now_s;
        connections[which[k]].reset();
        --open;
        if (now_s > 1.0 + opened_s) ++held_past_1s;
      }
    rss_peak = std::max(rss_peak, rss_kib(daemon.pid()));
  }
  double last_s = *std::max_element(closed_after_s.begin(), closed_after_s.end());
  WARN("1,000 half-open connections (opened in " << opened_s << " s): VmRSS " << rss_before << " KiB before, peak "
                                                 << rss_peak << " KiB (+" << (rss_peak - rss_before) << " KiB); "
                                                 << held_past_1s << " held past 1 s; the last closed after " << last_s
                                                 << " s");
  CHECK(open == 0);
  CHECK(*std::min_element(closed_after_s.begin(), closed_after_s.end()) >= 0);
  CHECK(last_s < limits::handshake_ms_max / 1000.0 + opened_s + 2.0);
  CHECK(held_past_1s <= limits::connections_unauthenticated_max);
  CHECK(rss_peak - rss_before < 16 * 1024);  // 16 MiB: 64 threads, each with a 64 KiB receive buffer
  CHECK(daemon.alive());
  auto sync_started = Clock::now();
  json good = net.good_sync();
  WARN("a good peer synced " << std::chrono::duration<double>(Clock::now() - sync_started).count()
                             << " s after the last half-open connection closed");
  CHECK(good["ops_received"].get<int>() >= 1);
}

TEST_CASE("a flood of half-open connections from one host does not keep a peer elsewhere out", "[hostile]") {
  Network net;
  Daemon& daemon = net.daemon();
  // 100 half-open connections from 127.0.1.2: its network (127.0.1.0/24) holds at most 16 slots at
  // once, each newcomer beyond taking the oldest one's (closed at once).
  std::vector<std::unique_ptr<Connection>> flood;
  for (int i = 0; i < 100; ++i) flood.push_back(std::make_unique<Connection>(daemon.port(), "127.0.1.2", false));
  usleep(500'000);  // well within the first-message deadline (3 s)
  int closed_at_once = 0;
  for (auto& connection : flood) closed_at_once += connection->closed_by_daemon(50) ? 1 : 0;
  CHECK(closed_at_once == 100 - limits::connections_unauthenticated_per_prefix_max);
  // During the flood, the village node (from 127.0.0.1) syncs.
  auto started = Clock::now();
  json good = net.good_sync();
  WARN("a good peer synced in " << std::chrono::duration<double>(Clock::now() - started).count()
                                << " s during a flood from one host");
  CHECK(good["ops_received"].get<int>() >= 1);
  CHECK(daemon.alive());
}

TEST_CASE("a peer dripping one byte a second is cut at the first message's deadline", "[hostile]") {
  Network net;
  Daemon& daemon = net.daemon();
  net::Handshake handshake(net::Handshake::Role::kInitiator, net.hostile_key(), net.network(),
                           blake2b_256(as_bytes("drip")).bytes, [](const PublicKey&) { return Status::ok(); });
  Bytes message1 = framed(handshake.start());
  Connection connection(daemon.port());
  auto started = Clock::now();
  std::size_t sent = 0;
  bool cut = false;
  while (sent < message1.size() && Clock::now() - started < std::chrono::seconds(20)) {
    if (!connection.send(ByteView(&message1[sent], 1))) break;
    ++sent;
    if (connection.closed_by_daemon(1'000)) {
      cut = true;
      break;
    }
  }
  double cut_s = std::chrono::duration<double>(Clock::now() - started).count();
  WARN("dripping peer cut after " << cut_s << " s, " << sent << " bytes");
  // Its hello (message 1) never arrives whole: cut at the first message's deadline (issue 20,
  // item 8), well before the whole handshake's.
  CHECK(cut);
  CHECK(cut_s > limits::handshake_first_message_ms_max / 1000.0 - 1.0);
  CHECK(cut_s < limits::handshake_first_message_ms_max / 1000.0 + 1.5);
  CHECK(daemon.wait_for_log("did not finish within", 1));
  CHECK(daemon.alive());
  CHECK(net.good_sync()["ops_received"].get<int>() >= 1);
}

TEST_CASE("a peer that authenticates and goes silent does not hold up a good peer", "[hostile]") {
  Network net;
  Daemon& daemon = net.daemon();
  HostilePeer silent(daemon.port(), net.hostile_key(), net.network(), 1);
  REQUIRE(silent.open());
  // The same node cannot open a second session beside it.
  HostilePeer twin(daemon.port(), net.hostile_key(), net.network(), 2);
  CHECK_FALSE(twin.open());
  auto started = Clock::now();
  json good = net.good_sync();
  double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  WARN("a good peer synced in " << seconds << " s beside a silent authenticated session");
  CHECK(good["ops_received"].get<int>() >= 1);
  CHECK(seconds < 5.0);
  CHECK_THAT(daemon.log(), Catch::Contains("already in a session"));
  CHECK(silent.connection().finish());
}

TEST_CASE("a flood of ops whose parents never arrive fills only the peer's share of the pending area", "[hostile]") {
  // The share bounds memory, never progress (issue 19): ops beyond it are taken out of the pending
  // area and asked for again later, instead of ending the session (an honest peer whose ops come
  // before their parents, found in a later round, would never get through otherwise).
  Network net;
  Daemon& daemon = net.daemon();
  KeyPair author = test::test_key(kOrphanAuthor);
  // Orphans: signed, valid, each naming a parent no one holds; 100 to a frame.
  constexpr std::size_t kPerFrame = 100;
  std::size_t frames_in_share = limits::pending_ops_per_peer_max / kPerFrame;
  std::vector<std::vector<Bytes>> frames(frames_in_share + 1);
  std::optional<Hash32> prev;
  for (std::size_t i = 0; i < frames.size() * kPerFrame; ++i) {
    OpFields fields;
    fields.network = net.network();
    fields.author = author.public_key();
    fields.author_seq = i + 1;
    fields.author_prev = prev;
    fields.parents = {blake2b_256(as_bytes("never sent " + std::to_string(i)))};
    fields.hlc = (test::kTestTimeMs + 60'000 + i) << 16;
    fields.scope = kVillage;
    fields.object = named_object_id("note", "orphan " + std::to_string(i));
    fields.payload = NotePayload{"orphan " + std::to_string(i)};
    Op op = net.factory().make_raw(author, std::move(fields));
    prev = op.id;
    frames[i / kPerFrame].push_back(op.bytes);
  }
  HostilePeer peer(daemon.port(), net.hostile_key(), net.network(), 1);
  REQUIRE(peer.open());
  for (std::size_t f = 0; f < frames_in_share; ++f) REQUIRE(peer.push_ops(frames[f]));
  std::uint64_t pending_full_share = net.county_status()["pending"];
  // One frame more would take it past its share: taken, but the pending area stays at the share
  // (the excess is set aside by id).
  CHECK(peer.push_ops(frames.back()));
  CHECK(net.county_status()["pending"] == limits::pending_ops_per_peer_max);
  // The peer ends its session: everything it left waiting is dropped.
  CHECK(peer.connection().finish());
  json after = net.county_status();
  for (int i = 0; i < 50 && after["pending"] != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    after = net.county_status();
  }
  WARN("pending ops from one peer: " << pending_full_share << " at its share, " << after["pending"].get<int>()
                                     << " after its session ended");
  CHECK(pending_full_share == limits::pending_ops_per_peer_max);
  CHECK(after["pending"] == 0);
  CHECK(daemon.alive());
  CHECK(net.good_sync()["ops_received"].get<int>() >= 1);
  CHECK(anwang_cli(net.county(), {"verify"}).exit_code == 0);
}

// The pending share bounds memory, never progress (issue 19, class 2): ops sent before their
// parents, beyond the share, are set aside and asked for again once the parents are in; they then
// arrive. Here the peer sends 10,100 children first, then their parents.
TEST_CASE("ops set aside beyond the pending share are asked for again and arrive after their parents",
          "[hostile][class2]") {
  Network net;
  Daemon& daemon = net.daemon();
  KeyPair author = test::test_key(kAuthor);
  constexpr std::size_t kPerFrame = 100;
  std::size_t count = limits::pending_ops_per_peer_max + kPerFrame;
  std::vector<Op> parents, children;
  for (std::size_t i = 0; i < count; ++i)
    parents.push_back(net.note(author, "parent " + std::to_string(i)));
  for (std::size_t i = 0; i < count; ++i)
    children.push_back(net.factory().make(author, kVillage, named_object_id("note", "child " + std::to_string(i)),
                                          NotePayload{"child " + std::to_string(i)}, {parents[i].id}));
  std::uint64_t ops_before = net.county_status()["ops"];
  HostilePeer peer(daemon.port(), net.hostile_key(), net.network(), 3);
  REQUIRE(peer.open());
  auto push_all = [&](const std::vector<Op>& ops) {
    for (std::size_t at = 0; at < ops.size(); at += kPerFrame) {
      std::vector<Bytes> frame;
      for (std::size_t i = at; i < std::min(ops.size(), at + kPerFrame); ++i) frame.push_back(ops[i].bytes);
      REQUIRE(peer.push_ops(frame));
    }
  };
  push_all(children);
  CHECK(net.county_status()["pending"] == limits::pending_ops_per_peer_max);
  push_all(parents);  // releases the 10,000 waiting
  CHECK(net.county_status()["pending"] == 0);
  // Reconciliation over: the daemon asks again for the 100 it set aside.
  REQUIRE(peer.send_message(kReconciled, {}));
  std::map<std::uint64_t, const Op*> by_prefix;
  for (const Op& op : children) by_prefix[read_u64_be(op.id.bytes.data())] = &op;
  std::vector<Bytes> asked;
  bool done = false;
  while (!done) {
    auto message = peer.receive_message();
    REQUIRE(message);
    REQUIRE_FALSE(message->empty());
    if ((*message)[0] == kNeed) {
      std::vector<Bytes> now;
      for (std::size_t at = 1; at + 8 <= message->size(); at += 8) {
        auto found = by_prefix.find(read_u64_be(message->data() + at));
        REQUIRE(found != by_prefix.end());
        now.push_back(found->second->bytes);
      }
      for (std::size_t at = 0; at < now.size(); at += kPerFrame)
        REQUIRE(peer.push_ops(std::vector<Bytes>(now.begin() + static_cast<std::ptrdiff_t>(at),
                                                 now.begin() + static_cast<std::ptrdiff_t>(std::min(now.size(), at + kPerFrame)))));
      asked.insert(asked.end(), now.begin(), now.end());
    }
    done = (*message)[0] == kDone;
  }
  // At least the 100 beyond the share; a few hundred more were set aside while the first frames
  // of parents came in (a batch is counted as if all of it would wait).
  CHECK(asked.size() >= kPerFrame);
  CHECK(asked.size() < 10 * kPerFrame);
  REQUIRE(peer.send_message(kDone, {}));
  CHECK(peer.connection().finish());
  json after = net.county_status();
  CHECK(after["ops"].get<std::uint64_t>() == ops_before + 2 * count);
  CHECK(after["pending"] == 0);
  CHECK(anwang_cli(net.county(), {"verify"}).exit_code == 0);
}

TEST_CASE("10,000 forged or mis-signed ops, and ops outside the peers' scopes, are all refused", "[hostile]") {
  Network net;
  Daemon& daemon = net.daemon();
  json before = net.county_status();
  KeyPair author = test::test_key(kAuthor);
  KeyPair forger = test::test_key(kForger);
  std::vector<Bytes> hostile;
  std::vector<Hash32> ids;
  for (int i = 0; i < 10'000; ++i) {
    Op op = net.note(i % 2 == 0 ? author : forger, "forged " + std::to_string(i));
    ids.push_back(op.id);
    Bytes bytes = op.bytes;
    if (i % 2 == 0) {
      // Mis-signed: one bit of the signature flipped.
      auto at = std::search(bytes.begin(), bytes.end(), op.signature.begin(), op.signature.end());
      REQUIRE(at != bytes.end());
      at[i % 64] ^= static_cast<std::uint8_t>(1u << (i % 8));
    } else {
      // Forged: the signer's key replaced by the root key's, the signature left as it was.
      PublicKey root = test::test_key(0).public_key();
      auto at = std::search(bytes.begin(), bytes.end(), op.fields.author.bytes.begin(), op.fields.author.bytes.end());
      REQUIRE(at != bytes.end());
      std::copy(root.bytes.begin(), root.bytes.end(), at);
    }
    hostile.push_back(std::move(bytes));
  }
  // Valid, but in another township: neither the county's daemon session nor this peer may carry
  // them between them.
  for (int i = 0; i < 10; ++i) {
    Op op = net.factory().make(author, "150430200001", named_object_id("note", "elsewhere" + std::to_string(i)),
                               NotePayload{"elsewhere"}, {net.authority_head().id});
    ids.push_back(op.id);
    hostile.push_back(op.bytes);
  }
  HostilePeer peer(daemon.port(), net.hostile_key(), net.network(), 1);
  REQUIRE(peer.open());
  auto started = Clock::now();
  for (std::size_t at = 0; at < hostile.size(); at += 100) {
    std::vector<Bytes> frame(hostile.begin() + static_cast<std::ptrdiff_t>(at),
                             hostile.begin() + static_cast<std::ptrdiff_t>(std::min(at + 100, hostile.size())));
    bool pushed = peer.push_ops(frame);
    if (!pushed) usleep(200'000);  // for the log
    INFO("after " << at << " ops, the daemon's log: " << daemon.log());
    REQUIRE(pushed);
  }
  WARN("10,010 hostile ops checked and refused in " << std::chrono::duration<double>(Clock::now() - started).count()
                                                    << " s");
  CHECK(peer.connection().finish());
  json after = net.county_status();
  CHECK(after["ops"] == before["ops"]);
  CHECK(after["pending"] == 0);
  for (std::size_t i = 0; i < ids.size(); i += 1'001) CHECK(anwang_cli(net.county(), {"show", ids[i].hex()}).exit_code == 4);
  CHECK(anwang_cli(net.county(), {"show", ids.back().hex()}).exit_code == 4);
  CHECK(anwang_cli(net.county(), {"verify"}).exit_code == 0);
  CHECK(daemon.alive());
  CHECK(net.good_sync()["ops_received"].get<int>() >= 1);
}

// Issue 20's acceptance, "nothing unauthorised travels": an enrolled node, compromised, floods the
// county's daemon with authority ops signed by throwaway keys no office ever named: delegations of
// county_admin, township_station and village_head, half of them to the hostile node's own key, half
// to other throwaway keys, and then ops by those grantees naming the junk grants as parents. Each
// costs the county a signature check and nothing more: refused as no_office, never stored (the
// grantees' ops wait for parents that never come and are dropped with the session), never relayed
// to the village that syncs from the county, while an honest op carried amid the junk in the same
// session reaches the village. The refusal rate and the daemon's RSS growth are printed.
TEST_CASE("a flood of delegations by keys no office named is refused as no_office and reaches no other node",
          "[hostile][no_office]") {
  Network net;
  Daemon& daemon = net.daemon();
  constexpr int kJunk = 4'000;
  constexpr int kChain = 100;         // ops by grantees of junk grants, each naming its grant as parent
  constexpr std::size_t kPerFrame = 100;
  struct Office {
    const char* scope;
    const char* role;
  };
  const Office offices[] = {{test::kCounty, "county_admin"}, {kTownship, "township_station"}, {kVillage, "village_head"}};
  auto grantee_of = [&net](int i) {
    return i % 2 == 0 ? net.hostile_key().public_key() : test::test_key(30'000 + i).public_key();
  };
  std::vector<Op> junk;
  for (int i = 0; i < kJunk; ++i) {
    const Office& office = offices[i % 3];
    PublicKey grantee = grantee_of(i);
    junk.push_back(net.factory().make(test::test_key(20'000 + i), office.scope,
                                      named_object_id("grant", grantee.hex() + office.role + office.scope),
                                      DelegationPayload{grantee, office.role, {}}, {net.authority_head().id}));
  }
  std::vector<Op> chain;  // grantees (odd i: throwaway keys) acting on their junk grants
  for (int i = 1; i < 2 * kChain; i += 2)
    chain.push_back(net.factory().make(test::test_key(30'000 + i), kVillage,
                                       named_object_id("note", "by junk grant " + std::to_string(i)),
                                       NotePayload{"by junk grant " + std::to_string(i)}, {junk[i].id}));
  // The honest op: a note by a key of the genesis, carried in the middle of the flood.
  Op honest = net.note(test::test_key(kHonestAuthor), "honest amid the junk");
  std::vector<Bytes> flood;
  for (const Op& op : junk) flood.push_back(op.bytes);
  flood.insert(flood.begin() + kJunk / 2, honest.bytes);
  for (const Op& op : chain) flood.push_back(op.bytes);

  usleep(300'000);
  std::uint64_t rss_before = rss_kib(daemon.pid());
  json county_before = net.county_status();
  std::uint64_t village_before = cli_json(net.village(), {"status"})["ops"];
  HostilePeer peer(daemon.port(), net.hostile_key(), net.network(), 11);
  REQUIRE(peer.open());
  std::uint64_t rss_peak = rss_before;
  auto started = Clock::now();
  for (std::size_t at = 0; at < flood.size(); at += kPerFrame) {
    std::vector<Bytes> frame(flood.begin() + static_cast<std::ptrdiff_t>(at),
                             flood.begin() + static_cast<std::ptrdiff_t>(std::min(at + kPerFrame, flood.size())));
    INFO("after " << at << " ops");
    REQUIRE(peer.push_ops(frame));
    rss_peak = std::max(rss_peak, rss_kib(daemon.pid()));
  }
  double flood_s = std::chrono::duration<double>(Clock::now() - started).count();
  // Taken: the honest op. Waiting: the grantees' ops, whose parents (the junk grants) no node holds.
  json during = net.county_status();
  CHECK(during["ops"].get<std::uint64_t>() == county_before["ops"].get<std::uint64_t>() + 1);
  CHECK(during["pending"] == kChain);
  CHECK(peer.connection().finish());
  json after = net.county_status();
  for (int i = 0; i < 50 && after["pending"] != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    after = net.county_status();
  }
  std::uint64_t rss_after = rss_kib(daemon.pid());
  WARN(kJunk << " delegations by throwaway keys (and " << kChain << " ops by their grantees) refused in " << flood_s
             << " s: " << static_cast<int>(kJunk / flood_s) << " ops/s; county anwangd VmRSS " << rss_before
             << " KiB before, peak " << rss_peak << " KiB (+" << (rss_peak - rss_before) << " KiB), "
             << rss_after << " KiB after");
  // Nothing of the flood is stored: the honest op alone, nothing waiting once the session ended.
  CHECK(after["ops"].get<std::uint64_t>() == county_before["ops"].get<std::uint64_t>() + 1);
  CHECK(after["pending"] == 0);
  CHECK(rss_peak - rss_before < 16 * 1024);  // 16 MiB: a few ingest batches of 1,024 ops in flight, no more
  for (std::size_t i = 0; i < junk.size(); i += 499)
    CHECK(anwang_cli(net.county(), {"show", junk[i].id.hex()}).exit_code == 4);
  CHECK(anwang_cli(net.county(), {"show", chain.back().id.hex()}).exit_code == 4);
  CHECK(anwang_cli(net.county(), {"show", honest.id.hex()}).exit_code == 0);
  // Why: the county's store refuses each of them as no_office (the daemon's log does not give
  // reasons, so a sample of the same ops is offered to it through `anwang op import`).
  std::vector<Bytes> sample;
  for (std::size_t i = 0; i < junk.size(); i += 97) sample.push_back(junk[i].bytes);
  auto sample_file = net.county().parent_path() / "junk-sample.ops";
  REQUIRE(node::write_op_file(sample_file, sample).is_ok());
  Run import = anwang_cli(net.county(), {"op", "import", sample_file.string(), "--json"});
  json imported = json::parse(import.out);
  CHECK(imported["accepted"] == 0);
  CHECK(imported["refused"] == sample.size());
  REQUIRE(imported["refusals"].size() == sample.size());
  for (const json& refusal : imported["refusals"]) CHECK(refusal["reason"] == "no_office");
  CHECK(net.county_status()["ops"] == after["ops"]);
  // The village syncs from the county: it receives the honest op and good_sync's, no junk.
  json good = net.good_sync();
  CHECK(good["ops_received"] == 2);
  CHECK(good["ops_refused"] == 0);
  CHECK(cli_json(net.village(), {"status"})["ops"].get<std::uint64_t>() == village_before + 2);
  CHECK(anwang_cli(net.village(), {"show", honest.id.hex()}).exit_code == 0);
  for (std::size_t i = 0; i < junk.size(); i += 499)
    CHECK(anwang_cli(net.village(), {"show", junk[i].id.hex()}).exit_code == 4);
  CHECK(anwang_cli(net.county(), {"verify"}).exit_code == 0);
  CHECK(daemon.alive());
}

TEST_CASE("an author who signs two ops with one number is caught and the proof is kept and passed on", "[hostile]") {
  Network net;
  Daemon& daemon = net.daemon();
  KeyPair author = test::test_key(kEquivocator);
  auto with_seq_1 = [&](const std::string& text) {
    OpFields fields;
    fields.network = net.network();
    fields.author = author.public_key();
    fields.author_seq = 1;
    fields.parents = {net.authority_head().id};
    fields.hlc = (test::kTestTimeMs + 120'000) << 16;
    fields.scope = kVillage;
    fields.object = named_object_id("note", text);
    fields.payload = NotePayload{text};
    return net.factory().make_raw(author, std::move(fields));
  };
  Op first = with_seq_1("本人签字 A");
  Op second = with_seq_1("本人签字 B");
  HostilePeer peer(daemon.port(), net.hostile_key(), net.network(), 1);
  REQUIRE(peer.open());
  REQUIRE(peer.push_ops({first.bytes}));
  REQUIRE(peer.push_ops({second.bytes}));
  CHECK(peer.connection().finish());
  json caught = cli_json(net.county(), {"audit", "equivocations"});  // one entry per (key, number)
  REQUIRE(caught.size() == 1);
  CHECK(caught[0]["key"] == author.public_key().hex());
  CHECK(caught[0]["seq"] == 1);
  // Both ops are kept: together they are the proof.
  CHECK(anwang_cli(net.county(), {"show", first.id.hex()}).exit_code == 0);
  CHECK(anwang_cli(net.county(), {"show", second.id.hex()}).exit_code == 0);
  // A good peer syncing afterwards receives the proof and reaches the same finding.
  CHECK(net.good_sync()["ops_received"].get<int>() >= 2);
  json at_village = cli_json(net.village(), {"audit", "equivocations"});
  REQUIRE(at_village.size() == 1);
  CHECK(at_village[0]["key"] == author.public_key().hex());
  CHECK(daemon.alive());
}

// Issue 20, item 8: slots were counted per exact address, 8 each, 64 in all. Eight addresses of
// one network, or one host with many IPv6 addresses, took every slot and closed every other
// peer's connection at once. Now one network holds at most a quarter of the slots, a full network
// gives up its oldest to a newcomer from it (villages behind one carrier-grade NAT), and a full
// table gives up the fullest network's oldest to a newcomer from elsewhere.
TEST_CASE("half-open floods from eight addresses of one network, or from eight networks, keep no good peer out",
          "[hostile][slots]") {
  Network net;
  Daemon& daemon = net.daemon();
  auto flood_then_sync = [&](const std::function<std::string(int)>& source) {
    std::vector<std::unique_ptr<Connection>> flood;
    for (int i = 0; i < limits::connections_unauthenticated_max; ++i)
      flood.push_back(std::make_unique<Connection>(daemon.port(), source(i), false));
    usleep(200'000);
    auto started = Clock::now();
    json good = net.good_sync();  // from 127.0.0.1, at once (no retry)
    WARN("a good peer synced in " << std::chrono::duration<double>(Clock::now() - started).count() << " s");
    CHECK(good["ops_received"].get<int>() >= 1);
  };
  SECTION("eight addresses of the good peer's own network (127.0.0.0/24), eight connections each") {
    flood_then_sync([](int i) { return "127.0.0." + std::to_string(2 + i / 8); });
  }
  SECTION("eight other networks, eight connections each: every slot taken") {
    flood_then_sync([](int i) { return "127.0." + std::to_string(10 + i / 8) + ".2"; });
  }
  CHECK(daemon.alive());
}

TEST_CASE("a connection that never says hello is closed at the first message's deadline", "[hostile][slots]") {
  Network net;
  Daemon& daemon = net.daemon();
  Connection silent(daemon.port(), "127.0.3.3");
  auto started = Clock::now();
  REQUIRE(silent.closed_by_daemon(limits::handshake_ms_max + 2'000));
  double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  WARN("a silent connection was closed after " << seconds << " s");
  CHECK(seconds < limits::handshake_first_message_ms_max / 1000.0 + 1.0);
}

// Issue 20, item 7: `need` answers were neither deduplicated nor capped: one 8-byte prefix asked a
// thousand times made the node send the op a thousand times. Each id is answered once a session,
// a need list holds at most 1,024 ids, and a session's need lists at most
// limits::sync_session_need_ids_max.
TEST_CASE("a peer asking for one op a thousand times gets it once, and an oversized need list ends its session",
          "[hostile][budget]") {
  Network net;
  Daemon& daemon = net.daemon();
  HostilePeer peer(daemon.port(), net.hostile_key(), net.network(), 9);
  REQUIRE(peer.open());
  Bytes need;
  for (int i = 0; i < 1000; ++i)
    need.insert(need.end(), net.authority_head().id.bytes.begin(), net.authority_head().id.bytes.begin() + 8);
  REQUIRE(peer.send_message(kNeed, need));
  constexpr std::uint8_t kNotOps = 11;
  std::uint64_t ops = 0, not_held = 0;
  while (auto message = peer.receive_message(3'000)) {
    REQUIRE_FALSE(message->empty());
    if ((*message)[0] == kOps) ops += read_u32_le(message->data() + 1) & 0x7fff'ffff;
    if ((*message)[0] == kNotOps) {
      not_held += (message->size() - 1) / 33;
      break;  // answered after the ops
    }
  }
  WARN("a need of one prefix 1,000 times: " << ops << " op(s) sent, " << not_held << " answered not held");
  CHECK(ops == 1);
  CHECK(not_held == 999);
  // 1,025 ids in one need list: no release sends that many; the session ends.
  Bytes oversized;
  for (int i = 0; i < 1025; ++i) {
    Hash32 id = blake2b_256(as_bytes("asked " + std::to_string(i)));
    oversized.insert(oversized.end(), id.bytes.begin(), id.bytes.begin() + 8);
  }
  REQUIRE(peer.send_message(kNeed, oversized));
  CHECK(peer.connection().closed_by_daemon(5'000));
  CHECK(daemon.wait_for_log("more than 1024 ops in one need list", 1));
  CHECK(daemon.alive());
  CHECK(net.good_sync()["ops_received"].get<int>() >= 1);
}

// Issue 20, item 6: `anwang sync` to the node's own anwangd reported "Synced with node <its own
// key>", and any enrolled node answering at a neighbour's address was accepted.
TEST_CASE("anwang sync refuses the node's own daemon, and --peer refuses any node but the one named", "[hostile][peers]") {
  Network net;
  Daemon& daemon = net.daemon();
  auto stderr_text = [&] { return read_file(net.village().parent_path() / "cli-stderr.txt"); };
  Run self = anwang_cli(net.county(), {"sync", daemon.address()});
  CHECK(self.exit_code != 0);
  CHECK(self.out.find("Synced") == std::string::npos);
  CHECK_THAT(stderr_text(), Catch::Contains("reached itself"));
  CHECK(daemon.wait_for_log("reached itself", 1));
  std::string county_key = net.county_status()["node_key"];
  std::string other = net.hostile_key().public_key().hex();
  std::uint64_t village_ops = cli_json(net.village(), {"status"})["ops"];
  Run wrong = anwang_cli(net.village(), {"sync", daemon.address(), "--peer", other});
  CHECK(wrong.exit_code != 0);
  CHECK_THAT(stderr_text(), Catch::Contains(county_key) && Catch::Contains(other) && Catch::Contains("nothing was exchanged"));
  CHECK(cli_json(net.village(), {"status"})["ops"].get<std::uint64_t>() == village_ops);
  json right = cli_json(net.village(), {"sync", daemon.address(), "--peer", county_key});
  CHECK(right["peer"] == county_key);
  CHECK(daemon.alive());
}
