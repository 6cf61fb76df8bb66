// simulator.cpp — see simulator.h.
#include "sim/simulator.h"

#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "crdt/causal.h"
#include "crdt/hash.h"
#include "crdt/hlc.h"
#include "crdt/scope.h"
#include "net/frame.h"
#include "net/handshake.h"
#include "node/bundle.h"
#include "node/constitution.h"
#include "node/store.h"
#include "node/sync.h"
#include "sim/fiber.h"
#include "support/hostile_lister.h"

namespace anwang::sim {

namespace fs = std::filesystem;

// ---- deterministic randomness -------------------------------------------------------------------

namespace {

std::uint64_t splitmix(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

std::uint64_t sodium_state = 0;
const char* sodium_name() { return "anwang-sim"; }
std::uint32_t sodium_random() { return static_cast<std::uint32_t>(splitmix(sodium_state)); }
void sodium_stir() {}
void sodium_buf(void* const buf, const size_t size) {
  auto* out = static_cast<std::uint8_t*>(buf);
  for (size_t i = 0; i < size; i += 8) {
    std::uint64_t word = splitmix(sodium_state);
    std::memcpy(out + i, &word, std::min<size_t>(8, size - i));
  }
}
int sodium_close() { return 0; }
randombytes_implementation sodium_impl = {sodium_name, sodium_random, sodium_stir, nullptr, sodium_buf, sodium_close};

}  // namespace

void seed_deterministic_randomness(std::uint64_t seed) {
  // Every node of a seed runs in this process: a signature the process made is not checked again,
  // and any other valid one once, not once per node that receives it (keys.h, SignatureMemo).
  // Forged, damaged and bit-flipped bytes are checked by libsodium every time. Cleared per seed.
  static SignatureMemo memo(1 << 20);
  static bool installed = false;
  if (!installed) {
    randombytes_set_implementation(&sodium_impl);
    set_signature_memo(&memo);
    installed = true;
  }
  memo.clear();
  sodium_state = seed ^ 0x5eed5eed5eed5eedull;
}

namespace {

class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() { return splitmix(state_); }
  std::uint64_t below(std::uint64_t n) { return n == 0 ? 0 : next() % n; }
  std::uint64_t between(std::uint64_t lo, std::uint64_t hi) { return lo + below(hi - lo + 1); }
  bool chance(double p) { return static_cast<double>(next() >> 11) * 0x1.0p-53 < p; }
  double unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  template <typename T>
  const T& pick(const std::vector<T>& items) { return items[below(items.size())]; }

 private:
  std::uint64_t state_;
};

constexpr std::uint64_t kStartMs = 1'790'000'000'000;  // late 2026
constexpr std::uint64_t kDayMs = 86'400'000;
constexpr std::uint64_t kNever = ~0ull;
constexpr std::uint64_t kMapBytes = 256ull << 20;  // sparse on tmpfs
constexpr const char* kCounty = "150430";

KeyPair sim_key(const std::string& name) {
  return KeyPair::from_seed(blake2b_256(as_bytes("anwang sim key " + name)).view());
}

class SimClock final : public PhysicalClock {
 public:
  SimClock(const std::uint64_t& now, const std::int64_t& offset) : now_(now), offset_(offset) {}
  std::uint64_t now_ms() const override {
    std::int64_t t = static_cast<std::int64_t>(now_) + offset_;
    return t < 0 ? 0 : static_cast<std::uint64_t>(t);
  }

 private:
  const std::uint64_t& now_;
  const std::int64_t& offset_;
};

struct Person {
  std::string name;
  KeyPair key = sim_key("unset");
  std::string role;      // empty: an outsider who holds nothing
  std::string scope;
  int node = 0;
  std::string category;  // departments
  int grantor = -1;      // the person who appointed this one (-1: root or none)
  int second_node = -1;  // a careless officer who also signs on this node (one key, two nodes)
};

struct SimNode {
  int index = 0;
  std::string name, scope;
  KeyPair key = sim_key("unset");
  fs::path dir;
  std::uint64_t map_bytes = kMapBytes;
  std::int64_t offset_ms = 0;
  std::unique_ptr<node::Store> store;
  std::uint64_t down_until = 0;  // a crashed node is back at this step
  std::unique_ptr<SimClock> clock;
  std::vector<int> people;
  std::set<Hash32> acknowledged;  // ops this node's store acknowledged (authored or committed)
  // A copy of the store taken during the run, to restore the node from later (as a careless
  // technician restores an old backup), and what it had acknowledged then.
  fs::path snapshot;
  std::set<Hash32> snapshot_acknowledged;
  bool restored = false;
};

struct Link {
  int a = 0, b = 0;
  bool up[2] = {true, true};  // [0]: a may dial b, [1]: b may dial a
  std::uint64_t heal_at = kNever;
  std::uint64_t rate_bps = 80'000;
  std::uint64_t delay_ms = 650;
};

struct Carried {
  fs::path file;
  int from = 0, to = 0;
  std::uint64_t deliver_at = 0;
};

// One direction of a simulated connection.
struct Stream {
  Bytes bytes;
  std::size_t head = 0;
  bool closed = false;
  std::uint64_t written = 0;
  std::uint64_t cut_at = kNever;   // the connection resets when this many bytes were written
  std::uint64_t flip_at = kNever;  // this byte arrives with one bit flipped
  std::size_t available() const { return bytes.size() - head; }
};

struct Wire {
  Stream dir[2];
  bool reset = false;
  std::uint64_t moved = 0;  // progress counter for deadlock detection
};

class SimTransport final : public node::Transport {
 public:
  // `now`: the simulation's time, which serves as the steady clock of the real transport's
  // deadline (node/tcp.cpp): it holds even when a node's wall clock is stuck (a Pi at 1970 set
  // back further reads 0), as anwangd's does.
  SimTransport(Wire& wire, int out, Rng& rng, const std::uint64_t& now) : wire_(wire), out_(out), rng_(rng), now_(now) {}

  void set_deadline_ms(int timeout_ms) override {
    deadline_ms_ = timeout_ms;
    deadline_at_ = now_ + static_cast<std::uint64_t>(timeout_ms > 0 ? timeout_ms : 0);
  }

  Status write(ByteView data) override {
    Stream& s = wire_.dir[out_];
    if (wire_.reset) return Status::error(Status::Code::kUnavailable, "connection reset");
    if (s.closed) return Status::error(Status::Code::kUnavailable, "connection closed");
    // The bytes before the cut, if it falls in this write, arrive; the one at flip_at is damaged.
    auto within = [&](std::uint64_t at, std::size_t n) { return at >= s.written && at - s.written < n; };
    bool cut = within(s.cut_at, data.size());
    std::size_t take = cut ? static_cast<std::size_t>(s.cut_at - s.written) : data.size();
    std::size_t start = s.bytes.size();
    s.bytes.insert(s.bytes.end(), data.begin(), data.begin() + static_cast<std::ptrdiff_t>(take));
    if (within(s.flip_at, take))
      s.bytes[start + static_cast<std::size_t>(s.flip_at - s.written)] ^= static_cast<std::uint8_t>(1u << (s.flip_at % 8));
    s.written += take;
    if (cut) {
      wire_.reset = true;
      return Status::error(Status::Code::kUnavailable, "connection reset");
    }
    wire_.moved += data.size();
    return Status::ok();
  }

  Result<Bytes> read_some() override {
    Stream& s = wire_.dir[1 - out_];
    for (;;) {
      if (deadline_ms_ > 0 && now_ >= deadline_at_)
        return Status::error(Status::Code::kUnavailable, "the peer did not finish within " + std::to_string(deadline_ms_) + " ms");
      if (s.available() > 0) {
        std::size_t n = s.available();
        std::size_t take = rng_.chance(0.5) ? n : static_cast<std::size_t>(rng_.between(1, n));
        Bytes out(s.bytes.begin() + static_cast<std::ptrdiff_t>(s.head),
                  s.bytes.begin() + static_cast<std::ptrdiff_t>(s.head + take));
        s.head += take;
        if (s.head == s.bytes.size()) {
          s.bytes.clear();
          s.head = 0;
        }
        wire_.moved += take;
        return out;
      }
      if (wire_.reset) return Status::error(Status::Code::kUnavailable, "connection reset");
      if (s.closed) return Status::error(Status::Code::kUnavailable, "connection closed");
      Fiber::yield();
    }
  }

 private:
  Wire& wire_;
  int out_;
  Rng& rng_;
  const std::uint64_t& now_;
  int deadline_ms_ = 0;
  std::uint64_t deadline_at_ = 0;
};

std::string short_id(const Hash32& id) { return id.hex().substr(0, 10); }

// Message types of the sealed channel (net/PROTOCOL.md, node/sync.cpp).
constexpr std::uint8_t kMsgReconcile = 1, kMsgOps = 2, kMsgNeed = 3, kMsgReconciled = 4, kMsgReconcilePart = 6,
                       kMsgCommitted = 7, kMsgNotOps = 11, kMsgHello = 12, kMsgRefused = 14;

// The compromised node's end of a session, spoken by hand (net/PROTOCOL.md) over a simulated stream
// with a stolen node key: the handshake in the latest version, the channel, then whatever the
// attack sends. Its reads yield to the other fiber, as SimTransport's do.
class HandPeer {
 public:
  HandPeer(node::Transport& transport, const KeyPair& key, const Hash32& network, const std::array<std::uint8_t, 32>& seed)
      : transport_(transport), key_(key), network_(network), seed_(seed) {}

  // As initiator: the handshake, both channel headers and the responder's hello. False when the
  // responder refused.
  bool connect() {
    net::Handshake handshake(net::Handshake::Role::kInitiator, key_, network_, seed_,
                             [](const PublicKey&) { return Status::ok(); });
    if (!send_frame(handshake.start())) return false;
    while (!handshake.done()) {
      auto frame = receive_frame();
      if (!frame) return false;
      auto reply = handshake.on_message(*frame);
      if (!reply) return false;
      if (!reply->empty() && !send_frame(*reply)) return false;
    }
    if (!send_frame(sender_.start(handshake.keys().send))) return false;
    auto header = receive_frame();
    if (!header || !receiver_.start(handshake.keys().receive, *header)) return false;
    auto hello = receive();
    return hello && !hello->empty() && (*hello)[0] == kMsgHello;
  }
  // As responder: answers the handshake. Whether the initiator went on to send anything after it
  // (its channel header).
  bool answer() {
    net::Handshake handshake(net::Handshake::Role::kResponder, key_, network_, seed_,
                             [](const PublicKey&) { return Status::ok(); });
    while (!handshake.done()) {
      auto frame = receive_frame();
      if (!frame) return false;
      auto reply = handshake.on_message(*frame);
      if (!reply) return false;
      if (!reply->empty() && !send_frame(*reply)) return false;
    }
    (void)send_frame(sender_.start(handshake.keys().send));
    return receive_frame().has_value();
  }
  // Version 3's hello: a time, no keys asked about, then (from an initiator) a reconciliation message.
  bool send_hello(std::uint64_t time_ms, ByteView reconcile = {}) {
    Bytes body;
    append_u64_be(body, time_ms);
    body.push_back(0);
    body.insert(body.end(), reconcile.begin(), reconcile.end());
    return send(kMsgHello, body);
  }
  bool send(std::uint8_t type, ByteView body) {
    Bytes plain{type};
    plain.insert(plain.end(), body.begin(), body.end());
    return send_frame(sender_.seal(plain));
  }
  // A reconciliation message, in parts when it is larger than a frame.
  bool send_reconcile(ByteView body) {
    constexpr std::size_t kPart = limits::op_bytes_max - 64;
    for (; body.size() > kPart; body = body.subspan(kPart))
      if (!send(kMsgReconcilePart, body.first(kPart))) return false;
    return send(kMsgReconcile, body);
  }
  // The next message (type first), its reconciliation parts gathered; nothing once the stream ends.
  std::optional<Bytes> receive() {
    Bytes parts;
    while (auto frame = receive_frame()) {
      auto plain = receiver_.open(*frame);
      if (!plain || plain->empty()) return std::nullopt;
      if ((*plain)[0] != kMsgReconcilePart) {
        if ((*plain)[0] == kMsgReconcile && !parts.empty()) (*plain).insert(plain->begin() + 1, parts.begin(), parts.end());
        return std::move(*plain);
      }
      parts.insert(parts.end(), plain->begin() + 1, plain->end());
    }
    return std::nullopt;
  }

 private:
  bool send_frame(ByteView body) {
    Bytes frame;
    net::append_frame(frame, body);
    return transport_.write(frame).is_ok();
  }
  std::optional<Bytes> receive_frame() {
    while (true) {
      if (auto frame = decoder_.next()) return frame;
      if (decoder_.failed()) return std::nullopt;
      auto bytes = transport_.read_some();
      if (!bytes || !decoder_.feed(*bytes)) return std::nullopt;
    }
  }

  node::Transport& transport_;
  const KeyPair& key_;
  Hash32 network_;
  std::array<std::uint8_t, 32> seed_;
  net::FrameDecoder decoder_;
  net::ChannelSender sender_;
  net::ChannelReceiver receiver_;
};

class Simulation {
 public:
  explicit Simulation(const SimOptions& options)
      : options_(options), rng_(options.seed), wire_rng_(options.seed * 0x2545F4914F6CDD1Dull + 7) {}

  SimOutcome run() {
    SimOutcome outcome;
    if (fail_.empty()) setup();
    if (fail_.empty()) bootstrap();
    std::uint64_t step_cap = options_.min_ops * 25 + 1000;
    while (fail_.empty() && stats_.ops_authored < options_.min_ops) {
      if (stats_.steps >= step_cap) {
        failure("the workload starved: " + std::to_string(stats_.ops_authored) + " ops in " +
                std::to_string(stats_.steps) + " steps");
        break;
      }
      step();
    }
    if (fail_.empty()) heal();
    if (fail_.empty()) check_final();
    if (fail_.empty() && still_moving_) failure("still moving ops after 12 healing rounds");
    for (SimNode& n : nodes_) n.store.reset();
    std::error_code ignored;
    fs::remove_all(root_, ignored);
    outcome.ok = fail_.empty();
    outcome.failure = fail_;
    trace_line("end " + std::string(outcome.ok ? "ok" : "FAILED"));
    outcome.trace_hash = trace_.finish();
    outcome.stats = stats_;
    return outcome;
  }

 private:
  // ---- bookkeeping ------------------------------------------------------------------------------

  void trace_line(const std::string& line) {
    trace_.update(line);
    trace_.update(std::string_view("\n"));
    if (options_.print_trace) std::printf("[%llu] %s\n", static_cast<unsigned long long>(stats_.steps), line.c_str());
  }
  void failure(const std::string& what) {
    if (fail_.empty()) fail_ = "step " + std::to_string(stats_.steps) + ": " + what;
    trace_line("FAIL " + what);
  }
  bool check(bool condition, const std::string& what) {
    if (!condition) failure(what);
    return condition;
  }
  template <typename T>
  bool ok(const Result<T>& result, const std::string& what) {
    if (!result) failure(what + ": " + result.status().message());
    return result.is_ok();
  }
  bool ok(const Status& status, const std::string& what) {
    if (!status) failure(what + ": " + status.message());
    return status.is_ok();
  }

  Status open_store(SimNode& n) {
    // One thread: the simulation is single-threaded. Commits need not reach the disk: a crash
    // here is the Store object destroyed, which loses what was not committed, as a power cut
    // would; what was committed stays in memory either way.
    node::StoreOptions options;
    options.dir = n.dir;
    options.map_bytes = n.map_bytes;
    options.verify_threads = 1;
    options.durable_commits = false;
    auto store = node::Store::open(options);
    if (!store) return store.status();
    n.store = std::move(*store);
    return Status::ok();
  }

  bool is_up(const SimNode& n) const { return n.store && n.down_until <= stats_.steps; }

  // ---- the county -------------------------------------------------------------------------------

  void setup() {
    root_ = options_.work_dir / ("seed-" + std::to_string(options_.seed));
    std::error_code ignored;
    fs::remove_all(root_, ignored);
    fs::create_directories(root_);
    int count = options_.nodes > 0 ? options_.nodes : static_cast<int>(rng_.between(3, 7));
    stats_.nodes = count;
    int townships = count >= 5 ? 2 : 1;
    int villages = count - 1 - townships;
    auto add_node = [&](const std::string& name, const std::string& scope) {
      SimNode n;
      n.index = static_cast<int>(nodes_.size());
      n.name = name;
      n.scope = scope;
      n.key = sim_key("node " + name);
      n.dir = root_ / name;
      fs::create_directories(n.dir);
      // Wrong clocks: most within minutes, some a day or a month off.
      std::int64_t spread = rng_.chance(0.2) ? static_cast<std::int64_t>(30 * kDayMs) : 600'000;
      n.offset_ms = static_cast<std::int64_t>(rng_.below(2 * spread)) - spread;
      nodes_.push_back(std::move(n));
    };
    add_node("county", kCounty);
    for (int t = 0; t < townships; ++t) add_node("township" + std::to_string(t), std::string(kCounty) + std::to_string(100 + t));
    for (int v = 0; v < villages; ++v) {
      const std::string& township = nodes_[1 + v % townships].scope;
      add_node("village" + std::to_string(v), township + std::to_string(201 + v / townships));
    }
    // Sometimes one village's store is small enough to fill during the run.
    if (rng_.chance(0.25) && villages > 0) {
      SimNode& small = nodes_[nodes_.size() - 1];
      small.map_bytes = (1ull << 20) + rng_.below(3) * (1ull << 20);
      trace_line("small store at " + small.name + ": " + std::to_string(small.map_bytes) + " bytes");
    }
    for (SimNode& n : nodes_) {
      n.clock = std::make_unique<SimClock>(now_, n.offset_ms);
      if (Status s = open_store(n); !ok(s, "open " + n.name)) return;
      trace_line("node " + n.name + " scope " + n.scope + " offset " + std::to_string(n.offset_ms));
    }
    // Links: each township to the county, each village to its township, sometimes a village
    // straight to the county.
    for (const SimNode& n : nodes_) {
      if (n.index == 0) continue;
      int parent = scope_level(n.scope) == ScopeLevel::kTownship ? 0 : township_of(n);
      add_link(parent, n.index);
      if (parent != 0 && rng_.chance(0.3)) add_link(0, n.index);
    }
    // People.
    add_person("root", "county_admin", kCounty, 0);
    add_person("fire", "department", kCounty, 0, "fire");
    for (const SimNode& n : nodes_) {
      if (scope_level(n.scope) == ScopeLevel::kTownship) add_person("station-" + n.name, "township_station", n.scope, n.index);
      if (scope_level(n.scope) != ScopeLevel::kVillage) continue;
      add_person("head-" + n.name, "village_head", n.scope, n.index);
      add_person("officer-" + n.name, "village_safety_officer", n.scope, n.index);
      add_person("member1-" + n.name, "grid_member", n.scope + "-01", n.index);
      add_person("member2-" + n.name, "grid_member", n.scope + "-02", n.index);
      add_person("outsider-" + n.name, "", n.scope, n.index);
    }
    // Sometimes a careless grid member also signs on the township's node (one key, two nodes).
    for (const SimNode& n : nodes_)
      if (borrower_ < 0 && scope_level(n.scope) == ScopeLevel::kVillage && rng_.chance(0.3)) {
        borrower_ = person("member1-" + n.name);
        people_[static_cast<std::size_t>(borrower_)].second_node = township_of(n);
        trace_line("careless key " + people_[static_cast<std::size_t>(borrower_)].name + " also at " +
                   nodes_[static_cast<std::size_t>(township_of(n))].name);
      }
  }

  int township_of(const SimNode& village) const {
    for (const SimNode& n : nodes_)
      if (n.scope == scope_parent(village.scope)) return n.index;
    return 0;
  }
  void add_link(int a, int b) {
    Link link;
    link.a = a;
    link.b = b;
    // 2G (80 kbit/s, 650 ms) to a Wi-Fi bridge; only simulated time depends on it.
    link.rate_bps = rng_.chance(0.5) ? 80'000 : 2'000'000;
    link.delay_ms = rng_.chance(0.5) ? 650 : 20;
    links_.push_back(link);
  }
  void add_person(const std::string& name, const std::string& role, const std::string& scope, int node,
                  const std::string& category = "") {
    Person p;
    p.name = name;
    p.key = sim_key(name);
    p.role = role;
    p.scope = scope;
    p.node = node;
    p.category = category;
    people_.push_back(std::move(p));
    nodes_[static_cast<std::size_t>(node)].people.push_back(static_cast<int>(people_.size() - 1));
  }
  int person(const std::string& name) const {
    for (std::size_t i = 0; i < people_.size(); ++i)
      if (people_[i].name == name) return static_cast<int>(i);
    return -1;
  }
  int holder_of(const std::string& role, const std::string& scope) const {
    for (std::size_t i = 0; i < people_.size(); ++i)
      if (people_[i].role == role && people_[i].scope == scope) return static_cast<int>(i);
    return -1;
  }

  // ---- authoring --------------------------------------------------------------------------------

  std::optional<Op> author(int node, int who, node::OpDraft draft, const std::string& what, bool forged = false) {
    SimNode& n = nodes_[static_cast<std::size_t>(node)];
    const Person& p = people_[static_cast<std::size_t>(who)];
    if (forged) draft.admit = node::DraftAdmit::kEvenIfNotEffective;
    auto op = n.store->author(p.key, draft, *n.clock);
    if (!op) {
      Status::Code code = op.status().code();
      ++stats_.ops_refused;
      if (code == Status::Code::kStoreFull) ++stats_.store_full_refusals;
      trace_line("refused " + what + " by " + p.name + " at " + n.name + " (" + std::to_string(static_cast<int>(code)) + ")");
      if (code != Status::Code::kInvalidArgument && code != Status::Code::kStoreFull)
        failure("authoring " + what + " at " + n.name + " failed unexpectedly: " + op.status().message());
      return std::nullopt;
    }
    ++stats_.ops_authored;
    n.acknowledged.insert(op->id);
    if (forged) {
      ++stats_.forged;
      forged_.insert(op->id);
    } else if (const auto* h = std::get_if<HazardPayload>(&op->fields.payload)) {
      ++stats_.hazard_steps[h->action];
    }
    // Accepted as effective at its source: the final liveness check judges it again.
    if (draft.admit == node::DraftAdmit::kEffectiveOnly) honest_.insert(op->id);
    trace_line("op " + short_id(op->id) + " " + what + " by " + p.name + " at " + n.name + " hlc " +
               std::to_string(op->fields.hlc));
    return std::move(*op);
  }

  // Drafts by name: a step on an existing record, or a new record.
  static node::OpDraft step_on(const std::string& scope, const Hash32& object, Payload payload) {
    node::OpDraft draft;
    draft.scope = scope;
    draft.object = object;
    draft.payload = std::move(payload);
    return draft;
  }
  static node::OpDraft new_record(const std::string& scope, Payload payload) {
    node::OpDraft draft;
    draft.scope = scope;
    draft.payload = std::move(payload);
    draft.target = node::DraftTarget::kNewRecord;
    return draft;
  }

  void appoint(int node, int by, int to) {
    const Person& p = people_[static_cast<std::size_t>(to)];
    DelegationPayload grant{p.key.public_key(), p.role,
                            p.category.empty() ? std::vector<std::string>{} : std::vector<std::string>{p.category}};
    node::OpDraft draft = new_record(p.scope, grant);
    if (author(node, by, draft, "appoint " + p.name)) people_[static_cast<std::size_t>(to)].grantor = by;
  }

  // Writes a bundle from `from` for `to` and puts it in someone's pocket; false when it could not
  // be written (the sender's store is full, say).
  bool carry_bundle(int from, int to, bool since_last) {
    SimNode& a = nodes_[static_cast<std::size_t>(from)];
    fs::path file = root_ / ("bundle-" + std::to_string(bundle_counter_++));
    node::BundleExportOptions options;
    options.recipient = nodes_[static_cast<std::size_t>(to)].key.public_key();
    options.since_last = since_last;
    auto report = node::export_bundle(*a.store, a.key, options, file);
    if (!report) {
      trace_line("bundle " + a.name + "→" + nodes_[static_cast<std::size_t>(to)].name + " not written: " +
                 report.status().message());
      return false;
    }
    carried_.push_back({file, from, to, stats_.steps});
    ++stats_.bundles_carried;
    trace_line("bundle " + a.name + "→" + nodes_[static_cast<std::size_t>(to)].name + " " + std::to_string(report->ops) + " ops");
    return true;
  }
  void deliver(const Carried& c) {
    SimNode& b = nodes_[static_cast<std::size_t>(c.to)];
    if (!is_up(b)) return;
    std::vector<Hash32> before = held(b);
    node::BundleImportOptions options;
    options.staging_dir = root_ / ("staging-" + b.name);  // a joining node's scratch store
    options.staging_map_bytes = b.map_bytes;
    auto report = node::import_bundle(*b.store, b.key, c.file, options);
    if (!report) {
      trace_line("bundle at " + b.name + " refused: " + std::to_string(static_cast<int>(report.status().code())));
      if (report.status().code() != Status::Code::kStoreFull && report.status().code() != Status::Code::kRefused &&
          report.status().code() != Status::Code::kInvalidArgument)
        failure("importing a bundle at " + b.name + " failed unexpectedly: " + report.status().message());
      return;
    }
    // What was committed before a failure part-way is acknowledged like the rest.
    for (const Hash32& id : held(b))
      if (!holds(before, id)) b.acknowledged.insert(id);
    // Bundles here are never damaged (the stick is lost or not), and a node may hold every op
    // a bundle for it carries.
    if (report->damage) failure("a bundle at " + b.name + " is damaged: " + *report->damage);
    if (report->ops.refused > 0)
      for (const node::IngestOutcome& refused : report->ops.refusals)
        if (refused.reason == Refusal::kOutOfScope) failure("a bundle at " + b.name + " carried " + refused.detail);
    if (!report->store_failure) {
      trace_line("bundle at " + b.name + " stopped: " + std::to_string(static_cast<int>(report->store_failure.code())));
      if (report->store_failure.code() != Status::Code::kStoreFull)
        failure("importing a bundle at " + b.name + " failed unexpectedly: " + report->store_failure.message());
    }
    trace_line("bundle at " + b.name + " accepted " + std::to_string(report->ops.accepted));
  }

  // The ops a node's store holds, sorted; holds() looks one up.
  std::vector<Hash32> held(const SimNode& n) {
    auto ids = n.store->op_ids();
    if (!ok(ids, "listing " + n.name)) return {};
    return std::move(*ids);
  }
  static bool holds(const std::vector<Hash32>& held, const Hash32& id) {
    return std::binary_search(held.begin(), held.end(), id);
  }

  void bootstrap() {
    SimNode& county = nodes_[0];
    int root = person("root");
    GenesisPayload genesis{kCounty, "敖汉旗", {people_[static_cast<std::size_t>(root)].key.public_key()}, 1,
                           default_constitution_};
    if (!author(0, root, node::OpDraft{kCounty, named_object_id("network", kCounty), genesis, {}}, "genesis")) {
      failure("no genesis");
      return;
    }
    for (const SimNode& n : nodes_) {
      if (n.index == 0) continue;
      author(0, root, node::OpDraft{kCounty, named_object_id("region", n.scope), RegionPayload{n.scope, n.name, ""}, {}},
             "region " + n.scope);
    }
    for (const SimNode& n : nodes_)
      author(0, root, node::OpDraft{n.scope, node_object_id(n.key.public_key()), EnrolmentPayload{n.key.public_key()}, {}},
             "enrol " + n.name);
    appoint(0, root, person("fire"));
    // The key that writes ops by hand holds an office, a grid member's of a grid nothing else uses,
    // so its ops elsewhere stay inert: a key no office ever named is refused at ingest (issue 20).
    for (const SimNode& n : nodes_)
      if (scope_level(n.scope) == ScopeLevel::kVillage) {
        author(0, root, new_record(n.scope + "-99", DelegationPayload{hand_.public_key(), "grid_member", {}}),
               "appoint hand");
        break;
      }
    for (const SimNode& n : nodes_)
      if (scope_level(n.scope) == ScopeLevel::kTownship) appoint(0, root, person("station-" + n.name));
    // The county's bundle to each township; townships appoint their village heads and officers;
    // their bundles to the villages; heads appoint grid members.
    for (SimNode& n : nodes_)
      if (scope_level(n.scope) == ScopeLevel::kTownship) {
        if (!carry_bundle(0, n.index, false)) return failure("no bootstrap bundle for " + n.name);
        deliver(carried_.back());
        carried_.pop_back();
        for (const SimNode& v : nodes_)
          if (scope_level(v.scope) == ScopeLevel::kVillage && scope_parent(v.scope) == n.scope) {
            int station = person("station-" + n.name);
            appoint(n.index, station, person("head-" + v.name));
            appoint(n.index, station, person("officer-" + v.name));
          }
      }
    for (SimNode& v : nodes_)
      if (scope_level(v.scope) == ScopeLevel::kVillage) {
        int township = township_of(v);
        if (!carry_bundle(township, v.index, false)) return failure("no bootstrap bundle for " + v.name);
        deliver(carried_.back());
        carried_.pop_back();
        appoint(v.index, person("head-" + v.name), person("member1-" + v.name));
        appoint(v.index, person("head-" + v.name), person("member2-" + v.name));
      }
    (void)county;
    // Fault intensities for this seed.
    loss_ = rng_.unit() * 0.3;
    flip_ = rng_.chance(0.5) ? rng_.unit() * 0.05 : 0.0;
    trace_line("faults: reset " + std::to_string(loss_) + " flip " + std::to_string(flip_));
  }

  // ---- one step ---------------------------------------------------------------------------------

  void step() {
    ++stats_.steps;
    now_ += rng_.between(1'000, 120'000);
    // Crashed nodes come back.
    for (SimNode& n : nodes_)
      if (!n.store && n.down_until <= stats_.steps) restart(n);
    // Partitions heal.
    for (Link& l : links_)
      if (l.heal_at <= stats_.steps) {
        l.up[0] = l.up[1] = true;
        l.heal_at = kNever;
        trace_line("heal " + nodes_[static_cast<std::size_t>(l.a)].name + "–" + nodes_[static_cast<std::size_t>(l.b)].name);
      }
    // Bundles arrive.
    for (std::size_t i = 0; i < carried_.size();) {
      if (carried_[i].deliver_at <= stats_.steps) {
        Carried c = carried_[i];
        carried_.erase(carried_.begin() + static_cast<std::ptrdiff_t>(i));
        deliver(c);
        if (rng_.chance(0.2)) deliver(c);  // imported twice
      } else {
        ++i;
      }
    }
    std::uint64_t r = rng_.below(1000);
    if (r < 760) {
      work();
    } else if (r < 900) {
      session(static_cast<int>(rng_.below(links_.size())), true);
    } else if (r < 925) {
      bundle_event();
    } else if (r < 935) {
      crash(static_cast<int>(rng_.below(nodes_.size())));
    } else if (r < 942) {
      clock_jump(static_cast<int>(rng_.below(nodes_.size())));
    } else if (r < 960) {
      partition(static_cast<int>(rng_.below(links_.size())));
    } else if (r < 990) {
      churn();
    } else {
      careless();
    }
  }

  void restart(SimNode& n) {
    if (Status s = open_store(n); !ok(s, "restarting " + n.name)) return;
    trace_line("restart " + n.name + " stale readers cleared " + std::to_string(n.store->stale_readers_cleared()));
    // Nothing acknowledged may be gone.
    std::vector<Hash32> ids = held(n);
    for (const Hash32& id : n.acknowledged)
      if (!holds(ids, id)) return failure(n.name + " lost acknowledged op " + id.hex() + " across a restart");
  }

  void crash(int index) {
    SimNode& n = nodes_[static_cast<std::size_t>(index)];
    if (!n.store) return;
    n.store.reset();
    n.down_until = stats_.steps + rng_.between(1, 60);
    ++stats_.crashes;
    trace_line("crash " + n.name);
  }

  void clock_jump(int index) {
    SimNode& n = nodes_[static_cast<std::size_t>(index)];
    static const std::int64_t kJumps[] = {static_cast<std::int64_t>(kDayMs), -static_cast<std::int64_t>(kDayMs),
                                          static_cast<std::int64_t>(3 * kDayMs), static_cast<std::int64_t>(365 * kDayMs),
                                          -static_cast<std::int64_t>(365 * kDayMs), -3'600'000};
    std::uint64_t which = rng_.below(8);
    if (which == 6) {
      n.offset_ms = -static_cast<std::int64_t>(now_) + static_cast<std::int64_t>(rng_.below(kDayMs));  // a Pi booted at 1970
    } else if (which == 7) {
      n.offset_ms = 0;  // the clock set right again
    } else {
      n.offset_ms += kJumps[which];
    }
    ++stats_.clock_jumps;
    trace_line("clock " + n.name + " offset " + std::to_string(n.offset_ms));
  }

  void partition(int index) {
    Link& l = links_[static_cast<std::size_t>(index)];
    int way = static_cast<int>(rng_.below(3));  // one way, the other, or both
    if (way != 1) l.up[0] = false;
    if (way != 0) l.up[1] = false;
    l.heal_at = stats_.steps + rng_.between(5, 300);
    ++stats_.partitions;
    trace_line("partition " + nodes_[static_cast<std::size_t>(l.a)].name + "–" + nodes_[static_cast<std::size_t>(l.b)].name +
               " way " + std::to_string(way));
  }

  void bundle_event() {
    const Link& l = links_[rng_.below(links_.size())];
    bool down = rng_.chance(0.5);
    int from = down ? l.a : l.b, to = down ? l.b : l.a;
    if (!is_up(nodes_[static_cast<std::size_t>(from)])) return;
    // Most sticks carry what is new since the last bundle to that node; one in five carries the
    // whole log the recipient may hold (a new node, or after a stick was lost). A whole-log
    // bundle is mostly ops the recipient holds already: it costs the simulator a quarter of its
    // time at one in two and tests nothing more.
    if (!carry_bundle(from, to, !rng_.chance(0.2))) return;
    if (rng_.chance(0.1)) {  // the stick is lost
      carried_.pop_back();
      ++stats_.bundles_lost;
      trace_line("bundle lost");
      return;
    }
    carried_.back().deliver_at = stats_.steps + rng_.between(1, 200);
  }

  // ---- sessions ---------------------------------------------------------------------------------

  // Runs the two ends of a connection over `wire` as fibers, end A writing direction 0, until both
  // return, in an order drawn from wire_rng_. When both wait to read and nothing moves, the wire is
  // reset to unwind them, as the real transport's deadline would (`timed_out`); without a flipped
  // byte to blame, that is a protocol deadlock (`deadlock`).
  struct Ran {
    bool deadlock = false;
    bool timed_out = false;
  };
  Ran run_ends(Wire& wire, const std::function<void(node::Transport&)>& end_a,
               const std::function<void(node::Transport&)>& end_b) {
    SimTransport ta(wire, 0, wire_rng_, now_), tb(wire, 1, wire_rng_, now_);
    Fiber fa([&] {
      end_a(ta);
      wire.dir[0].closed = true;
    });
    Fiber fb([&] {
      end_b(tb);
      wire.dir[1].closed = true;
    });
    Ran ran;
    while (!fa.done() || !fb.done()) {
      std::uint64_t before = wire.moved;
      bool a_first = wire_rng_.chance(0.5);
      Fiber& first = a_first ? fa : fb;
      Fiber& second = a_first ? fb : fa;
      int done_before = fa.done() + fb.done();
      if (!first.done()) first.resume();
      if (!second.done()) second.resume();
      if (wire.moved == before && fa.done() + fb.done() == done_before && !wire.reset) {
        // Both ends wait to read. After a flipped bit that is expected (a damaged length field
        // makes one end wait for bytes that never come) and the real transport's deadline ends
        // it; without one it is a protocol deadlock.
        bool flipped = wire.dir[0].flip_at < wire.dir[0].written || wire.dir[1].flip_at < wire.dir[1].written;
        if (!flipped) ran.deadlock = true;
        ran.timed_out = true;
        wire.reset = true;  // unwind both ends, as the deadline would
      }
    }
    return ran;
  }

  // One sync session over link `index`; with faults when `faulty`. Returns the ops and blobs
  // that moved (both ways), or nothing when the session could not run.
  std::uint64_t session(int index, bool faulty) {
    Link& l = links_[static_cast<std::size_t>(index)];
    int dir = static_cast<int>(rng_.below(2));
    if (!l.up[dir]) {
      dir = 1 - dir;
      if (!l.up[dir]) return 0;
    }
    SimNode& a = nodes_[static_cast<std::size_t>(dir == 0 ? l.a : l.b)];
    SimNode& b = nodes_[static_cast<std::size_t>(dir == 0 ? l.b : l.a)];
    if (!is_up(a) || !is_up(b)) return 0;
    Wire wire;
    if (faulty) {
      for (Stream& s : wire.dir) {
        if (rng_.chance(loss_)) s.cut_at = rng_.below(1ull << rng_.between(6, 20));
        if (rng_.chance(flip_)) s.flip_at = rng_.below(1ull << rng_.between(6, 18));
      }
    }
    std::array<std::uint8_t, 32> seed_a{}, seed_b{};
    randombytes_buf(seed_a.data(), seed_a.size());
    randombytes_buf(seed_b.data(), seed_b.size());
    std::vector<Hash32> before_a = faulty ? std::vector<Hash32>{} : held(a);
    std::vector<Hash32> before_b = faulty ? std::vector<Hash32>{} : held(b);
    Result<node::SyncReport> ra = Status::error(Status::Code::kUnavailable, "not run");
    Result<node::SyncReport> rb = Status::error(Status::Code::kUnavailable, "not run");
    std::uint64_t budget = rng_.chance(0.3) ? rng_.between(1, 200'000) : 0;
    // Each end's own (simulated, possibly wrong) clock: sessions exchange clocks (wire version 3).
    node::SyncOptions options_a, options_b;
    options_a.blob_budget_bytes = options_b.blob_budget_bytes = budget;
    options_a.clock = a.clock.get();
    options_b.clock = b.clock.get();
    // Neighbours are pinned by key ([[neighbour]] key): a node answering in b's place is refused
    // (compromised_session tries it).
    options_a.expected_peer = b.key.public_key();
    auto [deadlock, timed_out] = run_ends(
        wire, [&](node::Transport& ta) { ra = node::run_sync(*a.store, a.key, ta, node::SyncRole::kInitiator, seed_a, options_a); },
        [&](node::Transport& tb) { rb = node::run_sync(*b.store, b.key, tb, node::SyncRole::kResponder, seed_b, options_b); });
    ++stats_.sessions;
    std::uint64_t bytes = wire.dir[0].written + wire.dir[1].written;
    stats_.bytes_on_wire += bytes;
    now_ += l.delay_ms * 2 * 6 + bytes * 8 * 1000 / l.rate_bps;
    auto describe = [](const Result<node::SyncReport>& r) {
      if (!r) return std::string("error ") + std::to_string(static_cast<int>(r.status().code()));
      return "ok +" + std::to_string(r->ops_received) + " -" + std::to_string(r->ops_sent) + " blobs " +
             std::to_string(r->blobs_received);
    };
    trace_line("session " + a.name + "→" + b.name + " " + std::to_string(wire.dir[0].written) + "/" +
               std::to_string(wire.dir[1].written) + " B, blob budget " + std::to_string(budget) +
               (wire.dir[0].flip_at < wire.dir[0].written || wire.dir[1].flip_at < wire.dir[1].written ? ", bit flipped" : "") +
               (timed_out ? ", timed out" : "") + ": " + describe(ra) + " / " + describe(rb));
    if (deadlock) failure("session " + a.name + "→" + b.name + " deadlocked: both ends waiting to read");
    if (!ra || !rb) ++stats_.sessions_failed;
    bool clean = wire.dir[0].cut_at == kNever && wire.dir[1].cut_at == kNever && wire.dir[0].flip_at == kNever &&
                 wire.dir[1].flip_at == kNever;
    if (clean && (!ra || !rb)) {
      // A full store ends the session on its side; the other side sees the connection close.
      bool full = (!ra && ra.status().code() == Status::Code::kStoreFull) ||
                  (!rb && rb.status().code() == Status::Code::kStoreFull);
      if (!full)
        failure("a clean session " + a.name + "→" + b.name + " failed: " +
                (!ra ? ra.status().message() : rb.status().message()));
    }
    // What each side committed is acknowledged.
    std::uint64_t moved = 0;
    for (auto* side : {&ra, &rb})
      if (*side) moved += (*side)->ops_received + (*side)->blobs_received + (*side)->blob_bytes_received;
    if (!faulty) {
      for (const Hash32& id : held(a))
        if (!holds(before_a, id)) a.acknowledged.insert(id);
      for (const Hash32& id : held(b))
        if (!holds(before_b, id)) b.acknowledged.insert(id);
    }
    check_sample(a);
    check_sample(b);
    // Power cut at one end just as its connection broke: whatever it had not committed is gone.
    if (wire.reset && rng_.chance(0.2)) crash(rng_.chance(0.5) ? a.index : b.index);
    return moved;
  }

  // ---- the workload -----------------------------------------------------------------------------

  void work() {
    SimNode& n = nodes_[rng_.below(nodes_.size())];
    if (!is_up(n)) return;
    std::uint64_t r = rng_.below(100);
    if (r < 22) {
      report_hazard(n);
    } else if (r < 66) {
      hazard_step(n);
    } else if (r < 84) {
      record_step(n);
    } else if (r < 88) {
      notice_step(n);
    } else {
      forged_step(n);
    }
  }

  // A person at node `n` (not the outsider), preferring one holding `role`.
  int someone_at(const SimNode& n, const std::string& role = "") {
    std::vector<int> candidates;
    for (int p : n.people)
      if (!people_[static_cast<std::size_t>(p)].role.empty() && (role.empty() || people_[static_cast<std::size_t>(p)].role == role))
        candidates.push_back(p);
    if (candidates.empty()) {
      for (int p : n.people)
        if (!people_[static_cast<std::size_t>(p)].role.empty()) candidates.push_back(p);
    }
    return candidates.empty() ? -1 : rng_.pick(candidates);
  }

  // A grid or village under `n`'s scope.
  std::string place_under(const SimNode& n) {
    std::vector<std::string> places;
    for (const SimNode& v : nodes_)
      if (scope_level(v.scope) == ScopeLevel::kVillage && scope_contains(n.scope, v.scope)) {
        places.push_back(v.scope);
        places.push_back(v.scope + "-01");
        places.push_back(v.scope + "-02");
      }
    return places.empty() ? n.scope : rng_.pick(places);
  }

  std::vector<Attachment> photo(SimNode& n) {
    // Photos are small thumbnails, except on the node with the small store, whose camera takes
    // full-size pictures (so its map fills within the run).
    bool small_store = n.map_bytes != kMapBytes;
    Bytes bytes(static_cast<std::size_t>(small_store ? rng_.between(40'000, 250'000) : rng_.between(100, 3000)));
    for (auto& b : bytes) b = static_cast<std::uint8_t>(rng_.next());
    auto attachment = n.store->put_blob(bytes, "image/jpeg");
    if (!attachment) {
      if (attachment.status().code() != Status::Code::kStoreFull) failure("put_blob at " + n.name + ": " + attachment.status().message());
      return {};
    }
    return {*attachment};
  }

  void report_hazard(SimNode& n) {
    int who = someone_at(n, rng_.chance(0.7) ? "grid_member" : "");
    if (who < 0) return;
    HazardPayload h;
    h.action = "report";
    h.text = "隐患 " + std::to_string(stats_.steps);
    static const std::vector<std::string> kCategories = {"fire", "traffic", "electrical", "construction"};
    h.category = rng_.pick(kCategories);
    h.severity = rng_.chance(0.15) ? "major" : "general";
    if (rng_.chance(0.3)) h.photos = photo(n);
    const Person& p = people_[static_cast<std::size_t>(who)];
    std::string where = scope_level(p.scope) == ScopeLevel::kGrid || scope_level(p.scope) == ScopeLevel::kVillage
                            ? p.scope
                            : place_under(n);
    auto op = author(n.index, who, new_record(where, h), "report " + h.severity);
    if (op) {
      hazards_.push_back({op->fields.object, where});
      check_hazard(n, op->fields.object);
    }
  }

  struct Known {
    Hash32 id;
    std::string scope;
  };

  std::optional<Known> known_at(const SimNode& n, const std::vector<Known>& all) {
    std::vector<const Known*> visible;
    // Prefer recent ones: they are the ones still moving.
    std::size_t from = all.size() > 60 ? all.size() - 60 : 0;
    if (rng_.chance(0.2)) from = 0;
    for (std::size_t i = from; i < all.size(); ++i)
      if (scope_contains(n.scope, all[i].scope)) visible.push_back(&all[i]);
    if (visible.empty()) return std::nullopt;
    return *visible[rng_.below(visible.size())];
  }

  void hazard_step(SimNode& n) {
    auto known = known_at(n, hazards_);
    if (!known) return;
    auto state = hazard_at(n, known->id);
    if (!state) return;
    HazardPayload h;
    std::string role;
    const std::string& s = state->state;
    bool at_village = state->level == ScopeLevel::kVillage;
    std::string level_role = at_village ? "village_head" : state->level == ScopeLevel::kTownship ? "township_station" : "county_admin";
    if (s == "reported" || s == "awaiting_signoff" || s == "noticed") {
      std::uint64_t r = rng_.below(6);
      if (state->severity == "major" && at_village && r < 3) {
        h.action = rng_.chance(0.6) ? "signoff" : "escalate";
        role = rng_.chance(0.5) ? "village_head" : "village_safety_officer";
      } else if (r == 0 && state->severity == "general") {
        h.action = "fix";
        role = "grid_member";
      } else if (r == 1) {
        h.action = "notice";
        role = level_role;
      } else if (r <= 3) {
        h.action = "escalate";
        role = at_village ? "village_head" : level_role;
      } else if (r == 4) {
        h.action = "reclassify";
        role = level_role;
      } else {
        h.action = "comment";
        role = "";
      }
    } else if (s == "escalated") {
      h.action = rng_.chance(0.85) ? "receive" : "escalate";
      role = level_role;
    } else if (s == "received") {
      // Mostly assigned (交办); sometimes listed for supervision (挂牌督办), a stop-work order
      // (停产整改) or sent up again.
      std::uint64_t r = rng_.below(20);
      h.action = r < 16 ? "assign" : r < 18 ? "list_supervision" : r < 19 ? "stop_work" : "escalate";
      role = level_role;
    } else if (s == "assigned" || s == "rejected") {
      h.action = "handled";
      role = rng_.chance(0.5) ? "department" : level_role;
    } else if (s == "handled" || s == "fixed_on_site") {
      h.action = "verify";
      role = rng_.chance(0.5) ? level_role : "grid_member";
    } else {  // archived: new evidence or a comment
      h.action = "comment";
      role = "";
    }
    int who = someone_at(n, role);
    if (who < 0) return;
    if (h.action == "fix" || h.action == "handled" || (h.action == "comment" && rng_.chance(0.3))) h.photos = photo(n);
    if (h.action == "escalate") h.to_level = at_village ? "township" : "county";
    if (h.action == "assign") {
      if (rng_.chance(0.7)) {
        h.department = state->category.empty() ? "fire" : state->category;
      } else {
        h.assignee = people_[static_cast<std::size_t>(who)].key.public_key();
      }
    }
    if (h.action == "verify") h.pass = rng_.chance(0.7);
    if (h.action == "notice") {
      h.deadline_days = static_cast<std::uint16_t>(rng_.between(1, 30));  // counted from the notice's own time
      h.responsible = "负责人";
      h.measures = "整改措施";
    }
    if (h.action == "reclassify") {
      h.category = rng_.chance(0.5) ? "fire" : "traffic";
      h.severity = rng_.chance(0.3) ? "major" : "general";
    }
    if (h.action == "comment" || h.action == "close") h.text = "说明";
    if (rng_.chance(0.05)) {  // sometimes the office closes it instead
      h = HazardPayload{};
      h.action = "close";
      h.text = "不构成隐患";
    }
    if (author(n.index, who, step_on(state->scope, known->id, h), h.action + " " + short_id(known->id)))
      check_hazard(n, known->id);
  }

  void record_step(SimNode& n) {
    int who = someone_at(n, rng_.chance(0.5) ? "grid_member" : "");
    if (who < 0) return;
    const Person& p = people_[static_cast<std::size_t>(who)];
    std::string where = scope_level(p.scope) == ScopeLevel::kGrid || scope_level(p.scope) == ScopeLevel::kVillage
                            ? p.scope
                            : place_under(n);
    std::uint64_t r = rng_.below(10);
    RecordPayload payload;
    node::OpDraft draft = new_record(where, RecordPayload{});  // an edit or confirmation below is not
    if (r < 3 || units_.empty()) {
      payload.kind = "unit";
      payload.action = "add";
      payload.fields = {{"industry", rng_.chance(0.5) ? "餐饮" : "加油站"},
                        {"key_supervision", rng_.chance(0.3) ? "true" : "false"},
                        {"name", "单位 " + std::to_string(stats_.steps)}};
      draft.target = node::DraftTarget::kNewRecord;
    } else if (r < 6) {
      auto unit = known_at(n, units_);
      if (!unit) return;
      payload.kind = "inspection";
      payload.action = "record";
      payload.fields = {{"items", rng_.chance(0.8) ? "fire_exits:pass" : "fire_exits:fail:堵塞"}, {"text", "巡查"}};
      payload.refs = {unit->id};
      draft.scope = unit->scope;
      draft.target = node::DraftTarget::kNewRecord;
    } else if (r < 8) {
      auto unit = known_at(n, units_);
      if (!unit) return;
      payload.kind = "unit";
      payload.action = rng_.chance(0.8) ? "edit" : "confirm";
      if (payload.action == "edit")
        payload.fields = {{"contacts", "电话 " + std::to_string(rng_.below(10000))}};
      else
        payload.fields = {{"by", rng_.chance(0.5) ? "unit" : "grid_leader"}};
      draft = step_on(unit->scope, unit->id, RecordPayload{});
    } else if (r < 9) {
      payload.kind = "tip";
      payload.action = "enter";
      payload.fields = {{"source", "电话"}, {"text", "群众举报"}};
      draft.target = node::DraftTarget::kNewRecord;
    } else {
      payload.kind = "incident";
      payload.action = "report";
      payload.fields = {{"deaths", "0"}, {"injuries", std::to_string(rng_.below(3))}, {"text", "事故"}};
      draft.target = node::DraftTarget::kNewRecord;
    }
    draft.payload = payload;
    auto op = author(n.index, who, draft, payload.kind + " " + payload.action);
    if (op && payload.kind == "unit" && payload.action == "add") units_.push_back({op->fields.object, draft.scope});
    if (op && draft.target == node::DraftTarget::kExisting) check_record(n, op->fields.object);
  }

  void notice_step(SimNode& n) {
    if (scope_level(n.scope) == ScopeLevel::kVillage) {
      auto notice = known_at_notice(n);
      if (!notice) return;
      int who = someone_at(n, "village_head");
      if (who < 0) return;
      RecordPayload payload{"notice", "acknowledge", {{"recipient", n.scope}}, {}, {}};
      author(n.index, who, step_on(notice->scope, notice->id, payload), "acknowledge notice");
      return;
    }
    int who = someone_at(n, n.index == 0 ? "county_admin" : "township_station");
    if (who < 0) return;
    std::string recipients;
    for (const SimNode& v : nodes_)
      if (scope_level(v.scope) == ScopeLevel::kVillage && scope_contains(n.scope, v.scope) && rng_.chance(0.7))
        recipients += (recipients.empty() ? "" : ",") + v.scope;
    if (recipients.empty()) return;
    RecordPayload payload{"notice", "send", {{"recipients", recipients}, {"text", "文件"}, {"title", "通知"}}, {}, {}};
    auto op = author(n.index, who, new_record(n.scope, payload), "notice to " + recipients);
    if (op) notices_.push_back({op->fields.object, n.scope, recipients});
  }
  struct Notice {
    Hash32 id;
    std::string scope, recipients;
  };
  std::optional<Notice> known_at_notice(const SimNode& n) {
    std::vector<const Notice*> mine;
    for (const Notice& x : notices_)
      if (x.recipients.find(n.scope) != std::string::npos) mine.push_back(&x);
    if (mine.empty()) return std::nullopt;
    return *mine[rng_.below(mine.size())];
  }

  // Steps by keys that may not take them: an outsider with no role, a grid member assigning, a
  // village head receiving at the township. Written anyway (as a forger would); never effective.
  void forged_step(SimNode& n) {
    auto known = known_at(n, hazards_);
    if (!known) return;
    auto state = hazard_at(n, known->id);
    if (!state) return;
    std::vector<int> forgers;
    for (int p : n.people) {
      const std::string& role = people_[static_cast<std::size_t>(p)].role;
      if (role.empty() || role == "grid_member" || role == "village_safety_officer") forgers.push_back(p);
    }
    if (forgers.empty()) return;
    int who = rng_.pick(forgers);
    HazardPayload h;
    static const std::vector<std::string> kPrivileged = {"assign", "receive", "list_supervision", "close", "stop_work"};
    h.action = people_[static_cast<std::size_t>(who)].role.empty() ? rng_.pick(std::vector<std::string>{"verify", "close", "assign", "fix"})
                                                                  : rng_.pick(kPrivileged);
    if (h.action == "verify") h.pass = true;
    if (h.action == "assign") h.department = "fire";
    if (h.action == "close") h.text = "伪造";
    if (h.action == "fix") h.photos = {Attachment{blake2b_256(as_bytes("forged")), 10, "image/jpeg"}};
    if (author(n.index, who, step_on(state->scope, known->id, h), "FORGED " + h.action + " " + short_id(known->id), true))
      check_hazard(n, known->id);
  }

  // Appointments come and go: a village head lets a grid member go and appoints them again, a
  // township revokes and re-appoints a village officer.
  void churn() {
    std::vector<int> villages;
    for (const SimNode& v : nodes_)
      if (scope_level(v.scope) == ScopeLevel::kVillage && is_up(v)) villages.push_back(v.index);
    if (villages.empty()) return;
    const SimNode& v = nodes_[static_cast<std::size_t>(rng_.pick(villages))];
    bool member = rng_.chance(0.6);
    int target = person((member ? (rng_.chance(0.5) ? "member1-" : "member2-") : "officer-") + v.name);
    int by_node = member ? v.index : township_of(v);
    if (!is_up(nodes_[static_cast<std::size_t>(by_node)])) return;
    int by = member ? person("head-" + v.name) : person("station-" + nodes_[static_cast<std::size_t>(by_node)].name);
    SimNode& n = nodes_[static_cast<std::size_t>(by_node)];
    const Person& t = people_[static_cast<std::size_t>(target)];
    if (rng_.chance(0.5)) {
      RevocationPayload revocation{t.key.public_key(), rng_.chance(0.9) ? "left" : "compromised", 0, std::nullopt};
      auto head = n.store->author_head(t.key.public_key());
      if (!ok(head, "author head")) return;
      if (*head) {
        revocation.frontier_seq = (*head)->seq;
        revocation.frontier = (*head)->id;
      }
      author(by_node, by, step_on(t.scope, key_object_id(t.key.public_key()), revocation),
             "revoke " + t.name);
    } else {
      appoint(by_node, by, target);
    }
  }

  // ---- hostile and careless actors (issue 19) -----------------------------------------------------

  void careless() {
    std::uint64_t r = rng_.below(100);
    if (r < 37) {
      note_anywhere();
    } else if (r < 45) {
      compromised_session();
    } else if (r < 55) {
      cross_scope_op();
    } else if (r < 62) {
      junk_op();
    } else if (r < 72) {
      borrowed_key_op();
    } else if (r < 85) {
      reaffirm_suspended();
    } else {
      snapshot_or_restore();
    }
  }

  // A note by anyone at a node — an outsider with no role, a grid member, an officer — on any
  // object the run knows of, held here or not, at a place under the node. Notes never cut a
  // record's chain, never change its state, and never stop its steps (the liveness check below).
  void note_anywhere() {
    SimNode& n = nodes_[rng_.below(nodes_.size())];
    if (!is_up(n) || n.people.empty()) return;
    int who = rng_.pick(n.people);
    std::vector<Hash32> objects;
    for (const Known& k : hazards_) objects.push_back(k.id);
    for (const Known& k : units_) objects.push_back(k.id);
    for (const Notice& k : notices_) objects.push_back(k.id);
    if (objects.empty()) return;
    node::OpDraft draft = step_on(place_under(n), rng_.pick(objects), NotePayload{"看过了 " + std::to_string(stats_.steps)});
    draft.admit = node::DraftAdmit::kEvenIfNotEffective;  // written whether or not the author may
    if (author(n.index, who, draft, "note on " + short_id(draft.object))) ++stats_.notes_anywhere;
  }

  // An op written by hand at a node holding two villages: a note at village B naming a step of
  // village A's hazard as its parent. Every node may store it where both are held; no session may
  // offer it to a node holding only one of them, and it must never starve that node.
  void cross_scope_op() {
    std::vector<int> hubs;
    for (const SimNode& n : nodes_)
      if (scope_level(n.scope) != ScopeLevel::kVillage && is_up(n)) hubs.push_back(n.index);
    if (hubs.empty()) return;
    SimNode& n = nodes_[static_cast<std::size_t>(rng_.pick(hubs))];
    auto known = known_at(n, hazards_);
    if (!known) return;
    std::vector<std::string> others;
    for (const SimNode& v : nodes_)
      if (scope_level(v.scope) == ScopeLevel::kVillage && scope_contains(n.scope, v.scope) &&
          !scope_contains(v.scope, known->scope))
        others.push_back(v.scope);
    if (others.empty()) return;
    auto ops = n.store->ops_of_object(known->id);
    if (!ok(ops, "ops of object") || ops->empty()) return;
    const Op& parent = ops->back();
    auto head = n.store->author_head(hand_.public_key());
    if (!ok(head, "author head")) return;
    OpFields f;
    auto stats = n.store->stats();
    if (!ok(stats, "stats")) return;
    f.network = stats->network_id;
    f.author = hand_.public_key();
    f.author_seq = *head ? (*head)->seq + 1 : 1;
    std::uint64_t floor = parent.fields.hlc;
    if (*head) {
      f.author_prev = (*head)->id;
      auto prev = n.store->get((*head)->id);
      if (!ok(prev, "previous op") || !*prev) return;
      floor = std::max(floor, (*prev)->fields.hlc);
    }
    f.parents = {parent.id};
    f.hlc = std::max(floor + 1, hlc_from_ms(n.clock->now_ms()));
    f.scope = rng_.pick(others);
    f.object = known->id;
    f.payload = NotePayload{"隔壁村写的 " + std::to_string(stats_.steps)};
    auto op = sign_op(f, hand_);
    if (!ok(op, "signing a cross-scope op")) return;
    auto report = n.store->ingest(std::vector<Bytes>{op->bytes});
    if (!report) {
      if (report.status().code() != Status::Code::kStoreFull) failure("ingest at " + n.name + ": " + report.status().message());
      return;
    }
    if (report->outcomes[0].kind != node::IngestOutcome::Kind::kAccepted)
      return failure("a hand-made op at " + n.name + " was " + node::outcome_name(report->outcomes[0].kind) + ": " +
                     report->outcomes[0].detail);
    n.acknowledged.insert(op->id);
    forged_.insert(op->id);
    ++stats_.cross_scope_ops;
    trace_line("op " + short_id(op->id) + " by hand at " + n.name + " scope " + f.scope + " parent " + short_id(parent.id));
  }

  // A compromised enrolled node (issue 20, findings 1 and 2; 6 and 7 are compromised_session's): a
  // throwaway key appoints itself county administrator,
  // naming the node's authority heads, dated now or just below the ceiling of every timestamp
  // (once, one such op at 2^64-1 stopped every write in the county). Every node refuses it at
  // ingest as no_office: it is never stored or relayed, and no later op is stamped after it (the
  // honest authoring that follows checks that).
  void junk_op() {
    std::vector<int> up;
    for (const SimNode& n : nodes_)
      if (is_up(n)) up.push_back(n.index);
    if (up.empty()) return;
    SimNode& n = nodes_[static_cast<std::size_t>(rng_.pick(up))];
    auto stats = n.store->stats();
    auto state = n.store->authority();
    if (!ok(stats, "stats") || !ok(state, "authority")) return;
    std::vector<Hash32> heads = (*state)->graph().heads();
    if (heads.size() > limits::op_parents_max) heads.resize(limits::op_parents_max);
    std::uint64_t floor = 0;
    for (const Hash32& head : heads)
      floor = std::max(floor, (*state)->graph().op(*(*state)->graph().index_of(head)).fields.hlc);
    KeyPair junk = sim_key("junk " + std::to_string(stats_.steps));
    OpFields f;
    f.network = stats->network_id;
    f.author = junk.public_key();
    f.author_seq = 1;
    f.parents = heads;
    f.hlc = rng_.chance(0.5) ? kHlcCeiling - 1 : std::max(floor + 1, hlc_from_ms(n.clock->now_ms()));
    f.scope = kCounty;
    f.object = named_object_id("grant", junk.public_key().hex());
    f.payload = DelegationPayload{junk.public_key(), "county_admin", {}};
    auto op = sign_op(f, junk);
    if (!ok(op, "signing a junk op")) return;
    auto report = n.store->ingest(std::vector<Bytes>{op->bytes});
    if (!report) {
      if (report.status().code() != Status::Code::kStoreFull) failure("ingest at " + n.name + ": " + report.status().message());
      return;
    }
    const node::IngestOutcome& outcome = report->outcomes[0];
    if (outcome.kind != node::IngestOutcome::Kind::kRefused || outcome.reason != Refusal::kNoOffice)
      return failure("a junk op at " + n.name + " was " + node::outcome_name(outcome.kind) + ": " + outcome.detail);
    ++stats_.junk_ops_refused;
    trace_line("junk op " + short_id(op->id) + " refused at " + n.name);
  }

  // A compromised enrolled node in sessions (issue 20, findings 6 and 7): a village node's key is
  // stolen (a laptop, a copy of its store). The thief, speaking the protocol by hand (HandPeer):
  // - reflects a node's own dial back to it, and connects to the village's node with its own key
  //   (finding 6, reflection): both refused as "reached itself", nothing exchanged;
  // - answers a node's dial in place of the neighbour it meant (finding 6, an unpinned neighbour):
  //   the dialling node, which pins its neighbours' keys, refuses it before anything is exchanged;
  // - floods reconciliation with full id lists (tests/support/hostile_lister.h), asks for one op a
  //   thousand times in one need and then sends an oversized need, and holds a session open with
  //   `committed` (finding 7): each victim fetches at most its budget of ids within its round limit,
  //   sends the op once, ends the session at the oversized need and at its hour.
  // Each attack must leave the victim's ops as they were; honest sessions go on converging (a clean
  // session right after, and the final checks).
  void compromised_session() {
    std::vector<int> villages, up;
    for (const SimNode& n : nodes_) {
      if (!is_up(n)) continue;
      up.push_back(n.index);
      if (scope_level(n.scope) == ScopeLevel::kVillage) villages.push_back(n.index);
    }
    if (villages.empty() || up.size() < 2) return;
    const SimNode& stolen = nodes_[static_cast<std::size_t>(rng_.pick(villages))];
    std::vector<int> others;
    for (int i : up)
      if (i != stolen.index) others.push_back(i);
    SimNode& victim = nodes_[static_cast<std::size_t>(rng_.pick(others))];
    auto stats = victim.store->stats();
    if (!ok(stats, "stats") || !stats->network_id) return;
    const std::uint64_t ops_before = stats->ops, pending_before = stats->pending;
    std::string what;
    switch (rng_.below(6)) {
      case 0: what = reflect(victim); break;
      case 1: what = own_key_at(nodes_[static_cast<std::size_t>(stolen.index)], *stats->network_id); break;
      case 2: what = impersonate(victim, stolen, *stats->network_id); break;
      case 3: what = flood_reconciliation(victim, stolen, *stats->network_id); break;
      case 4: what = flood_need(victim, stolen, *stats->network_id); break;
      default: what = keep_open(victim, stolen, *stats->network_id); break;
    }
    if (what.empty() || !fail_.empty()) return;
    ++stats_.compromised_sessions[what];
    // Safety: nothing the thief sent was stored, and nothing waits for it.
    SimNode& hit = what == "own key" ? nodes_[static_cast<std::size_t>(stolen.index)] : victim;
    auto after = hit.store->stats();
    if (!ok(after, "stats")) return;
    if (&hit == &victim &&
        !check(after->ops == ops_before && after->pending == pending_before,
               what + " at " + hit.name + " changed its store: " + std::to_string(ops_before) + " → " +
                   std::to_string(after->ops) + " ops, " + std::to_string(pending_before) + " → " +
                   std::to_string(after->pending) + " pending"))
      return;
    // Liveness: the victim's next clean session with a neighbour still runs to its end.
    std::vector<int> links;
    for (std::size_t i = 0; i < links_.size(); ++i)
      if ((links_[i].a == hit.index || links_[i].b == hit.index) && (links_[i].up[0] || links_[i].up[1]))
        links.push_back(static_cast<int>(i));
    if (!links.empty()) session(rng_.pick(links), false);
  }

  std::array<std::uint8_t, 32> fresh_seed() {
    std::array<std::uint8_t, 32> seed{};
    randombytes_buf(seed.data(), seed.size());
    return seed;
  }
  node::SyncOptions victim_options(const SimNode& n) {
    node::SyncOptions options;
    options.clock = n.clock.get();
    return options;
  }
  // The trace line and the deadlock check every hostile session gets.
  void hostile_trace(const std::string& what, const SimNode& victim, const Wire& wire, const Ran& ran,
                     const Result<node::SyncReport>& outcome) {
    stats_.bytes_on_wire += wire.dir[0].written + wire.dir[1].written;
    trace_line("thief: " + what + " at " + victim.name + " " + std::to_string(wire.dir[0].written) + "/" +
               std::to_string(wire.dir[1].written) + " B: " +
               (outcome ? std::string("ok") : outcome.status().message()));
    if (ran.deadlock) failure("a hostile session (" + what + ") at " + victim.name + " deadlocked");
  }

  // Finding 6: a node's dial, reflected back to its own listener.
  std::string reflect(SimNode& n) {
    Wire wire;
    std::array<std::uint8_t, 32> seed_a = fresh_seed(), seed_b = fresh_seed();
    Result<node::SyncReport> ra = Status::error(Status::Code::kUnavailable, "not run"), rb = ra;
    node::SyncOptions options_a = victim_options(n), options_b = victim_options(n);
    Ran ran = run_ends(
        wire, [&](node::Transport& t) { ra = node::run_sync(*n.store, n.key, t, node::SyncRole::kInitiator, seed_a, options_a); },
        [&](node::Transport& t) { rb = node::run_sync(*n.store, n.key, t, node::SyncRole::kResponder, seed_b, options_b); });
    hostile_trace("reflection", n, wire, ran, ra);
    if (!check(!ra && !rb, "a session of " + n.name + " with itself was not refused")) return "";
    if (!check(ra.status().message().find("reached itself") != std::string::npos &&
                   rb.status().message().find("reached itself") != std::string::npos,
               "a session of " + n.name + " with itself failed otherwise: " + ra.status().message() + " / " +
                   rb.status().message()))
      return "";
    return "reflection";
  }

  // Finding 6: the thief connects to the village's own node with the village's key.
  std::string own_key_at(SimNode& owner, const Hash32& network) {
    Wire wire;
    std::array<std::uint8_t, 32> seed_a = fresh_seed(), seed_b = fresh_seed();
    bool connected = false;
    Result<node::SyncReport> rb = Status::error(Status::Code::kUnavailable, "not run");
    node::SyncOptions options = victim_options(owner);
    std::uint64_t ops_before = owner.store->stats()->ops;
    Ran ran = run_ends(
        wire, [&](node::Transport& t) { connected = HandPeer(t, owner.key, network, seed_a).connect(); },
        [&](node::Transport& t) { rb = node::run_sync(*owner.store, owner.key, t, node::SyncRole::kResponder, seed_b, options); });
    hostile_trace("own key", owner, wire, ran, rb);
    if (!check(!connected && !rb && rb.status().message().find("reached itself") != std::string::npos,
               owner.name + " took a session with its own key: " + (rb ? "ok" : rb.status().message())))
      return "";
    if (!check(owner.store->stats()->ops == ops_before, owner.name + " stored ops from a session with its own key"))
      return "";
    return "own key";
  }

  // Finding 6: the victim dials a neighbour, pinned by key; the thief answers in its place.
  std::string impersonate(SimNode& victim, const SimNode& stolen, const Hash32& network) {
    std::vector<int> neighbours;
    for (const Link& l : links_) {
      int other = l.a == victim.index ? l.b : l.b == victim.index ? l.a : -1;
      if (other >= 0 && other != stolen.index) neighbours.push_back(other);
    }
    if (neighbours.empty()) return "";
    const SimNode& meant = nodes_[static_cast<std::size_t>(rng_.pick(neighbours))];
    Wire wire;
    std::array<std::uint8_t, 32> seed_a = fresh_seed(), seed_b = fresh_seed();
    bool went_on = false;
    Result<node::SyncReport> ra = Status::error(Status::Code::kUnavailable, "not run");
    node::SyncOptions options = victim_options(victim);
    options.expected_peer = meant.key.public_key();
    Ran ran = run_ends(
        wire, [&](node::Transport& t) { ra = node::run_sync(*victim.store, victim.key, t, node::SyncRole::kInitiator, seed_a, options); },
        [&](node::Transport& t) { went_on = HandPeer(t, stolen.key, network, seed_b).answer(); });
    hostile_trace("impersonation of " + meant.name, victim, wire, ran, ra);
    if (!check(!ra && ra.status().message().find("not the expected node") != std::string::npos,
               victim.name + " took " + stolen.name + "'s key in place of " + meant.name + ": " +
                   (ra ? "ok" : ra.status().message())))
      return "";
    if (!check(!went_on, victim.name + " went on past the handshake with a node it did not expect")) return "";
    return "impersonation";
  }

  // Runs the thief as initiator against `victim`'s responder: `attack` gets the opened peer, and
  // whether the victim's session has ended.
  Result<node::SyncReport> thief_session(SimNode& victim, const SimNode& stolen, const Hash32& network,
                                         const std::string& what,
                                         const std::function<void(HandPeer&, const bool& victim_done)>& attack,
                                         node::SyncOptions options) {
    Wire wire;
    std::array<std::uint8_t, 32> seed_a = fresh_seed(), seed_b = fresh_seed();
    Result<node::SyncReport> rb = Status::error(Status::Code::kUnavailable, "not run");
    bool connected = false, victim_done = false;
    Ran ran = run_ends(
        wire,
        [&](node::Transport& t) {
          HandPeer peer(t, stolen.key, network, seed_a);
          connected = peer.connect();
          if (connected) attack(peer, victim_done);
        },
        [&](node::Transport& t) {
          rb = node::run_sync(*victim.store, victim.key, t, node::SyncRole::kResponder, seed_b, options);
          victim_done = true;
        });
    hostile_trace(what, victim, wire, ran, rb);
    if (!connected) failure(victim.name + " refused the enrolled node " + stolen.name + "'s key: " + (rb ? "ok" : rb.status().message()));
    return rb;
  }

  // Finding 7: full id lists, 4,096 a range and 512 KiB a message, for as long as the victim answers.
  std::string flood_reconciliation(SimNode& victim, const SimNode& stolen, const Hash32& network) {
    std::uint64_t needed = 0, victim_messages = 0;
    std::size_t largest_need = 0;
    test::HostileLister lister(rng_.next());
    lister.merge_lists();  // a village's store is small: the victim lists its ranges
    auto outcome = thief_session(victim, stolen, network, "reconciliation flood", [&](HandPeer& peer, const bool&) {
      if (!peer.send_hello(now_, lister.first(1'000'000))) return;
      for (std::size_t round = 0; round < 2 * limits::reconcile_rounds_max; ++round) {
        auto message = peer.receive();
        if (!message || message->empty() || (*message)[0] == kMsgRefused) return;
        if ((*message)[0] == kMsgNeed) {
          needed += (message->size() - 1) / 8;
          largest_need = std::max(largest_need, (message->size() - 1) / 8);
        }
        if ((*message)[0] != kMsgReconcile) continue;
        ++victim_messages;
        if (message->size() == 1) {  // the victim has settled every range: its needs came before
          peer.send(kMsgReconciled, {});
          return;  // and the thief never sends what it listed
        }
        auto answer = lister.answer(ByteView(*message).subspan(1));
        if (!answer || !peer.send_reconcile(*answer)) return;
      }
    }, victim_options(victim));
    trace_line("thief: " + victim.name + " asked for " + std::to_string(needed) + " listed ids in " +
               std::to_string(victim_messages) + " reconciliation messages");
    if (!check(needed <= limits::reconcile_fetch_ids_max && largest_need <= limits::ingest_batch_ops_max,
               victim.name + " asked the thief for " + std::to_string(needed) + " ids (largest need " +
                   std::to_string(largest_need) + "), over its fetch budget"))
      return "";
    if (!check(victim_messages <= limits::reconcile_rounds_max,
               victim.name + " sent " + std::to_string(victim_messages) + " reconciliation messages to the thief"))
      return "";
    (void)outcome;  // it ends when the thief hangs up: an error, or done
    // A victim that shares more than one listed range with the thief reaches its fetch budget.
    return needed == limits::reconcile_fetch_ids_max ? "reconciliation flood to the fetch budget" : "reconciliation flood";
  }

  // Finding 7: one op asked for a thousand times in one need, then a need over the list limit.
  std::string flood_need(SimNode& victim, const SimNode& stolen, const Hash32& network) {
    std::uint64_t ops = 0, not_held = 0;
    auto outcome = thief_session(victim, stolen, network, "need flood", [&](HandPeer& peer, const bool&) {
      if (!peer.send_hello(now_)) return;
      Bytes need;
      for (int i = 0; i < 1000; ++i) need.insert(need.end(), network.bytes.begin(), network.bytes.begin() + 8);  // the genesis
      if (!peer.send(kMsgNeed, need)) return;
      while (auto message = peer.receive()) {
        if (message->empty()) return;
        if ((*message)[0] == kMsgOps && message->size() >= 5) ops += read_u32_le(message->data() + 1) & 0x7fff'ffffu;
        if ((*message)[0] == kMsgNotOps) {
          not_held += (message->size() - 1) / 33;
          break;
        }
      }
      Bytes oversized;
      for (std::size_t i = 0; i <= limits::ingest_batch_ops_max; ++i) {
        std::uint64_t prefix = rng_.next();
        for (int b = 0; b < 8; ++b) oversized.push_back(static_cast<std::uint8_t>(prefix >> (8 * b)));
      }
      if (!peer.send(kMsgNeed, oversized)) return;
      while (auto message = peer.receive())
        if (message->empty() || (*message)[0] == kMsgRefused) return;
    }, victim_options(victim));
    if (!check(ops == 1 && not_held == 999, victim.name + " answered one op asked 1,000 times with " + std::to_string(ops) +
                                                " ops and " + std::to_string(not_held) + " not held"))
      return "";
    if (!check(!outcome && outcome.status().message().find("ops in one need list") != std::string::npos,
               victim.name + " did not end the session at an oversized need: " +
                   (outcome ? "ok" : outcome.status().message())))
      return "";
    return "need flood";
  }

  // Finding 7: `committed` every 59 s, to hold the session open past the receive timeout.
  std::string keep_open(SimNode& victim, const SimNode& stolen, const Hash32& network) {
    const std::uint64_t started = now_;
    std::uint64_t sent = 0;
    auto outcome = thief_session(victim, stolen, network, "keep-alive", [&](HandPeer& peer, const bool& victim_done) {
      if (!peer.send_hello(now_)) return;
      while (!victim_done && sent < 2 * limits::sync_session_ms_max / 59'000) {
        now_ += 59'000;
        if (!peer.send(kMsgCommitted, {})) return;
        ++sent;
        Fiber::yield();  // the victim reads it at this time
      }
    }, victim_options(victim));
    // Cut by the session's wall-clock budget, or (a wall clock stuck at 1970 cannot measure it) by
    // the transport's deadline on the steady clock.
    if (!check(!outcome && (outcome.status().message().find("minutes") != std::string::npos ||
                            outcome.status().message().find("did not finish within") != std::string::npos),
               victim.name + " kept a session of `committed` open: " + (outcome ? "ok" : outcome.status().message())))
      return "";
    if (!check(sent <= limits::sync_session_ms_max / 59'000 + 2,
               victim.name + " took " + std::to_string(sent) + " keep-alives over " +
                   std::to_string((now_ - started) / 60'000) + " minutes"))
      return "";
    return "keep-alive";
  }

  // A careless officer's key used on a second node: a report at the township's node by a grid
  // member whose own node is the village's. Both nodes number the key's ops; when they meet, the
  // key has equivocated and its privileged acts are suspended until an office reaffirms it.
  void borrowed_key_op() {
    if (borrower_ < 0) return;
    Person& p = people_[static_cast<std::size_t>(borrower_)];
    SimNode& n = nodes_[static_cast<std::size_t>(p.second_node)];
    if (!is_up(n)) return;
    HazardPayload h;
    h.action = "report";
    h.text = "借用密钥上报 " + std::to_string(stats_.steps);
    h.category = "fire";
    h.severity = "general";
    auto op = author(n.index, borrower_, new_record(p.scope, h), "report with a borrowed key");
    if (op) {
      hazards_.push_back({op->fields.object, p.scope});
      ++stats_.borrowed_key_ops;
    }
  }

  // An office above lifts the suspension of a key that equivocated (anwang reaffirm): the
  // township for its villages' people, the county for townships'.
  void reaffirm_suspended() {
    std::vector<int> hubs;
    for (const SimNode& n : nodes_)
      if (scope_level(n.scope) != ScopeLevel::kVillage && is_up(n)) hubs.push_back(n.index);
    if (hubs.empty()) return;
    SimNode& n = nodes_[static_cast<std::size_t>(rng_.pick(hubs))];
    auto state = n.store->authority();
    if (!ok(state, "authority")) return;
    for (const Equivocation& e : (*state)->equivocations()) {
    const PublicKey& key = e.key;
    const std::uint64_t seq = e.seq;
      if (!reaffirmed_.insert({key, seq}).second) continue;
      int person_index = -1;
      for (std::size_t i = 0; i < people_.size(); ++i)
        if (people_[i].key.public_key() == key) person_index = static_cast<int>(i);
      if (person_index < 0 || people_[static_cast<std::size_t>(person_index)].role.empty()) continue;
      const Person& p = people_[static_cast<std::size_t>(person_index)];
      int office = n.index == 0 ? person("root") : holder_of("township_station", n.scope);
      if (office < 0 || !scope_contains(n.scope, p.scope)) continue;
      if (author(n.index, office, step_on(p.scope, key_object_id(key), ReaffirmationPayload{key, seq}),
                 "reaffirm " + p.name + " at " + std::to_string(seq)))
        ++stats_.reaffirmations;
      return;
    }
  }

  // Copies the files of store directory `from` to `to`, keeping the holes of the sparse LMDB map
  // (a plain copy writes all of its 256 MiB, and /dev/shm keeps them in memory): only the data
  // segments (SEEK_DATA / SEEK_HOLE) are copied.
  static Status copy_store_dir(const fs::path& from, const fs::path& to) {
    std::error_code ec;
    fs::create_directories(to, ec);
    if (ec) return Status::io_error("creating " + to.string() + ": " + ec.message());
    for (const fs::directory_entry& entry : fs::directory_iterator(from, ec)) {
      int in = ::open(entry.path().c_str(), O_RDONLY);
      if (in < 0) return Status::io_error("opening " + entry.path().string());
      int out = ::open((to / entry.path().filename()).c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      off_t size = ::lseek(in, 0, SEEK_END);
      bool fine = out >= 0 && size >= 0 && ::ftruncate(out, size) == 0;
      for (off_t at = 0; fine && at < size;) {
        off_t data = ::lseek(in, at, SEEK_DATA);
        if (data < 0) break;  // only a hole is left
        off_t hole = ::lseek(in, data, SEEK_HOLE);
        if (hole < 0) hole = size;
        off_t in_at = data, out_at = data;
        while (fine && in_at < hole) {
          ssize_t n = ::copy_file_range(in, &in_at, out, &out_at, static_cast<std::size_t>(hole - in_at), 0);
          fine = n > 0;
        }
        at = hole;
      }
      if (out >= 0) ::close(out);
      ::close(in);
      if (!fine) return Status::io_error("copying " + entry.path().string());
    }
    if (ec) return Status::io_error("listing " + from.string() + ": " + ec.message());
    return Status::ok();
  }

  // A village technician copies the store (a backup), and later restores the node from it: what
  // the node acknowledged since is gone from it, and its people's keys number their ops again from
  // where the copy was.
  void snapshot_or_restore() {
    std::vector<int> villages;
    for (const SimNode& v : nodes_)
      if (scope_level(v.scope) == ScopeLevel::kVillage && is_up(v) && !v.restored) villages.push_back(v.index);
    if (villages.empty()) return;
    SimNode& n = nodes_[static_cast<std::size_t>(rng_.pick(villages))];
    bool restore = !n.snapshot.empty();
    n.store.reset();
    std::error_code ec;
    if (!restore) {
      n.snapshot = root_ / (n.name + "-backup");
      if (Status copied = copy_store_dir(n.dir, n.snapshot); !ok(copied, "copying " + n.name + "'s store")) return;
      n.snapshot_acknowledged = n.acknowledged;
      trace_line("backup " + n.name);
    } else {
      fs::remove_all(n.dir, ec);
      if (Status copied = copy_store_dir(n.snapshot, n.dir); !ok(copied, "restoring " + n.name + "'s store")) return;
      fs::remove_all(n.snapshot, ec);
      n.acknowledged = n.snapshot_acknowledged;
      n.restored = true;
      ++stats_.restores;
      trace_line("restore " + n.name + " from its backup");
    }
    if (Status opened = open_store(n); !ok(opened, "reopening " + n.name)) return;
  }

  // ---- invariants -------------------------------------------------------------------------------

  // The hazard as node `n` sees it; nothing when the node does not hold it (yet).
  std::optional<HazardState> hazard_at(SimNode& n, const Hash32& id) {
    auto state = n.store->hazard(id);
    if (!state) {
      if (state.status().code() != Status::Code::kNotFound) failure("hazard at " + n.name + ": " + state.status().message());
      return std::nullopt;
    }
    if (!state->exists) return std::nullopt;
    return std::move(*state);
  }

  void check_hazard(SimNode& n, const Hash32& id) {
    auto state = hazard_at(n, id);
    if (!state) return;
    static const std::set<std::string> kStates = {"none",     "reported", "awaiting_signoff", "fixed_on_site", "noticed",
                                                  "escalated", "received", "assigned",        "handled",       "rejected",
                                                  "archived"};
    check(kStates.count(state->state) == 1, "hazard " + short_id(id) + " in unknown state " + state->state);
    bool closure = false;
    for (const HazardStep& step : state->history) {
      if (forged_.count(step.id) && step.verdict.effective)
        return failure("forged step " + short_id(step.id) + " (" + step.action + ") is effective at " + n.name);
      for (int p : outsiders())
        if (step.author == people_[static_cast<std::size_t>(p)].key.public_key() && step.verdict.effective)
          return failure("a step by an outsider is effective at " + n.name);
      if (step.verdict.effective && (step.action == "verify" || step.action == "close")) closure = true;
    }
    if (state->state == "archived") check(closure, "hazard " + short_id(id) + " archived without an effective closure at " + n.name);
  }

  void check_record(SimNode& n, const Hash32& id) {
    auto record = n.store->record(id);
    ok(record, "record at " + n.name);
  }

  std::vector<int> outsiders() const {
    std::vector<int> out;
    for (std::size_t i = 0; i < people_.size(); ++i)
      if (people_[i].role.empty()) out.push_back(static_cast<int>(i));
    return out;
  }

  // After every session: a few hazards on each side still satisfy the invariants.
  void check_sample(SimNode& n) {
    if (!n.store) return;
    for (int i = 0; i < 2; ++i) {
      auto known = known_at(n, hazards_);
      if (!known) return;
      check_hazard(n, known->id);
    }
  }

  // ---- healing and the final checks -------------------------------------------------------------

  void heal() {
    trace_line("heal all");
    for (SimNode& n : nodes_) {
      if (!n.store) restart(n);
      n.down_until = 0;
      if (n.map_bytes != kMapBytes) {  // the officer enlarges the full store's map
        n.store.reset();
        n.map_bytes = kMapBytes;
        if (Status s = open_store(n); !ok(s, "enlarging " + n.name)) return;
        trace_line("enlarged " + n.name);
      }
    }
    for (Link& l : links_) l.up[0] = l.up[1] = true;
    for (const Carried& c : carried_) deliver(c);
    carried_.clear();
    if (!fail_.empty()) return;
    for (int round = 0; round < 12; ++round) {
      ++stats_.healing_rounds;
      std::uint64_t moved = 0;
      for (std::size_t i = 0; i < links_.size() && fail_.empty(); ++i) moved += session(static_cast<int>(i), false);
      if (!fail_.empty()) return;
      if (moved == 0) return;
    }
    still_moving_ = true;  // reported after the final checks, which say more about why
  }

  // Liveness: every step an authorised actor took (accepted as effective at its source) with the
  // whole history of its record in view — no step of the same record concurrent with it, and every
  // step before it that was effective at its source still effective — is effective at the end,
  // unless a rule named in its verdict voids it: a revocation reaching forward ("void: …"), an
  // equivocation of its author, or a reclassification out of its department's categories ("void:
  // …"). Notes and other ops on the record are not steps of it and never count as concurrent. So no
  // forged, careless or out-of-scope op blocks legitimate work.
  bool check_honest_steps(const std::map<Hash32, Op>& all, const std::unordered_map<Hash32, Verdict>& verdicts) {
    std::unordered_map<Hash32, std::vector<const Op*>> by_object;
    for (const auto& [id, op] : all) by_object[op.fields.object].push_back(&op);
    for (auto& [object, ops] : by_object)
      std::sort(ops.begin(), ops.end(),
                [](const Op* a, const Op* b) { return std::tie(a->fields.hlc, a->id) < std::tie(b->fields.hlc, b->id); });
    auto voided_by_rule = [](const Verdict& v) {
      return v.reason.rfind("void:", 0) == 0 || v.reason.find("equivocated") != std::string::npos;
    };
    // Keys whose appointment (accepted as effective where it was written) is inert at the end: a
    // rule voided it since (its grantor equivocated or was revoked before its frontier), and with it
    // what the key did under it.
    std::set<PublicKey> appointment_voided;
    for (const Hash32& id : honest_) {
      auto found = all.find(id);
      if (found == all.end()) continue;
      if (const auto* d = std::get_if<DelegationPayload>(&found->second.fields.payload))
        if (!verdicts.at(id).effective) appointment_voided.insert(d->grantee);
    }
    std::unordered_map<Hash32, CausalOrder> orders;
    for (const Hash32& id : honest_) {
      auto found = all.find(id);
      if (found == all.end()) continue;  // lost with a restored node before it reached another
      const Op& step = found->second;
      bool hazard = std::holds_alternative<HazardPayload>(step.fields.payload);
      bool record = std::holds_alternative<RecordPayload>(step.fields.payload);
      const Verdict& verdict = verdicts.at(id);
      if (!hazard && !record) {
        // Authority ops are judged in their own view: only the forward rules may void them.
        if (!verdict.effective && !voided_by_rule(verdict))
          return check(false, "honest " + std::string(payload_kind(step.fields.payload)) + " " + id.hex() +
                                  " is inert at the end: " + verdict.reason);
        continue;
      }
      const std::vector<const Op*>& ops = by_object[step.fields.object];
      auto at = orders.try_emplace(step.fields.object, ops).first;
      const CausalOrder& order = at->second;
      std::size_t self = static_cast<std::size_t>(std::find(ops.begin(), ops.end(), &step) - ops.begin());
      bool whole_history = true;
      for (std::size_t k = 0; k < ops.size() && whole_history; ++k) {
        if (k == self || ops[k]->fields.payload.index() != step.fields.payload.index()) continue;
        if (!order.before(k, self) && !order.before(self, k)) whole_history = false;  // concurrent
        if (order.before(k, self) && honest_.count(ops[k]->id) && !verdicts.at(ops[k]->id).effective)
          whole_history = false;  // built on a step voided since
      }
      if (!whole_history) continue;
      if (!verdict.effective && appointment_voided.count(step.fields.author)) continue;
      ++stats_.liveness_steps_checked;
      if (!verdict.effective && !voided_by_rule(verdict)) {
        std::string action = hazard ? std::get<HazardPayload>(step.fields.payload).action
                                    : std::get<RecordPayload>(step.fields.payload).kind + " " +
                                          std::get<RecordPayload>(step.fields.payload).action;
        return check(false, "honest step " + id.hex() + " (" + action + ") was taken with the whole history of its record "
                            "in view, yet is inert at the end: " + verdict.reason);
      }
    }
    return true;
  }

  // The reason a node gives for an op's verdict (for failure messages).
  std::string reason_at(std::size_t node, const Op& op) {
    auto verdict = nodes_[node].store->verdict(op);
    if (!verdict) return verdict.status().message();
    return verdict->effective ? "effective" : verdict->reason;
  }

  void check_final() {
    // The county's ops: the union of every node's. One pass over each node's ops gives its
    // holdings, every op's verdict there and its effective digest.
    std::map<Hash32, Op> all;
    std::vector<std::unordered_set<Hash32>> holdings(nodes_.size());
    std::vector<std::vector<std::pair<Hash32, bool>>> judged(nodes_.size());  // each op's id and whether effective
    std::vector<Hash32> digests(nodes_.size());
    std::unordered_map<Hash32, Verdict> final_verdicts;  // as the first node holding the op judged it
    for (SimNode& n : nodes_) {
      auto i = static_cast<std::size_t>(n.index);
      auto digest = n.store->effective_digest([&](const Op& op, const Verdict& v) {
        if (all.try_emplace(op.id, op).second) final_verdicts.emplace(op.id, v);
        holdings[i].insert(op.id);
        judged[i].emplace_back(op.id, v.effective);
      });
      if (!ok(digest, "judging at " + n.name)) return;
      digests[i] = *digest;
    }
    stats_.ops_total = all.size();
    std::unordered_map<Hash32, std::pair<bool, std::size_t>> verdicts;  // first node's verdict, and its index
    // Liveness: every op within a node's scope whose causal past is within that scope (worked out
    // here from the ops themselves, independently of the store's reach rows) has reached it.
    std::vector<const Op*> by_time;
    for (const auto& [id, op] : all) by_time.push_back(&op);
    std::sort(by_time.begin(), by_time.end(),
              [](const Op* a, const Op* b) { return std::tie(a->fields.hlc, a->id) < std::tie(b->fields.hlc, b->id); });
    for (SimNode& n : nodes_) {
      const std::unordered_set<Hash32>& mine = holdings[static_cast<std::size_t>(n.index)];
      std::unordered_set<Hash32> completable;
      for (const Op* op : by_time)
        if (visible_to(*op, n.scope) &&
            std::all_of(op->fields.parents.begin(), op->fields.parents.end(),
                        [&](const Hash32& parent) { return completable.count(parent) != 0; }))
          completable.insert(op->id);
      // Exactly what its scope may hold: everything completable there, nothing invisible.
      for (const auto& [id, op] : all) {
        bool visible = visible_to(op, n.scope);
        if (completable.count(id) && !mine.count(id)) {
          std::string parents;
          for (const Hash32& parent : op.fields.parents) {
            auto p = all.find(parent);
            parents += " " + short_id(parent) + (mine.count(parent) ? " held" : " missing") +
                       (p == all.end() ? " nowhere"
                                       : std::string(" ") + payload_kind(p->second.fields.payload) + "@" + p->second.fields.scope +
                                             (visible_to(p->second, n.scope) ? " visible" : " not visible"));
          }
          return failure(n.name + " lacks op " + id.hex() + " (" + payload_kind(op.fields.payload) + " at " + op.fields.scope +
                         ") after healing; parents:" + parents);
        }
        if (!visible && mine.count(id)) return failure(n.name + " holds op " + id.hex() + " outside its scope");
        // Independently of visible_to: no village holds another village's records.
        if (mine.count(id) && !is_authority_payload(op.fields.payload) &&
            !std::holds_alternative<RecordPayload>(op.fields.payload) && !scope_contains(n.scope, op.fields.scope))
          return failure(n.name + " holds a foreign hazard " + id.hex());
      }
      for (const Hash32& id : n.acknowledged)
        if (!mine.count(id)) return failure(n.name + " lost acknowledged op " + id.hex());
      auto stats = n.store->stats();
      if (!ok(stats, "stats")) return;
      // Nothing waits for a parent some node holds. An op may wait for good only for a parent no
      // node holds any more: one a node restored from an old copy lost before it left (its child
      // went out in a bundle); `anwang pending purge` is for those.
      std::string waiting_for_held;
      std::uint64_t orphans = 0;
      Status listed = n.store->for_each_pending([&](const Op& op, const std::vector<Hash32>& missing) {
        ++orphans;
        for (const Hash32& parent : missing)
          if (all.count(parent) && waiting_for_held.empty())
            waiting_for_held = "op " + op.id.hex() + " waits for parent " + parent.hex() + ", which a node holds";
      });
      if (!ok(listed, "listing the pending area")) return;
      if (!check(waiting_for_held.empty(), n.name + " still has " + std::to_string(stats->pending) +
                                               " pending ops: " + waiting_for_held))
        return;
      if (orphans > 0) {
        if (!check(stats_.restores > 0, n.name + " has " + std::to_string(orphans) + " ops waiting for parents no node holds"))
          return;
        stats_.orphaned_by_restore += orphans;
      }
      auto missing = n.store->missing_blobs();
      if (!ok(missing, "missing blobs")) return;
      // An attachment may be missing only when no node has it (a forger's made-up photo).
      for (const Attachment& a : *missing)
        for (SimNode& other : nodes_) {
          auto has = other.store->has_blob(a.hash);
          if (!ok(has, "has_blob")) return;
          if (*has) return failure(n.name + " still lacks attachment " + a.hash.hex() + " that " + other.name + " holds");
        }
      auto verify = n.store->verify();
      if (!ok(verify, "verify")) return;
      if (!check(verify->ok(), n.name + " fails verify: " + (verify->problems.empty() ? "" : verify->problems[0]))) return;
      // Same verdict for every op on every node that holds it.
      for (const auto& [id, effective] : judged[static_cast<std::size_t>(n.index)]) {
        if (forged_.count(id) && effective) return failure("forged op " + id.hex() + " effective at " + n.name);
        auto [it, fresh] = verdicts.emplace(id, std::make_pair(effective, static_cast<std::size_t>(n.index)));
        if (!fresh && it->second.first != effective)
          return failure("op " + id.hex() + " (" + payload_kind(all.at(id).fields.payload) + ") is " +
                         (effective ? "effective" : "not effective") + " at " + n.name + " but not at " +
                         nodes_[it->second.second].name + " (there: " + reason_at(it->second.second, all.at(id)) +
                         "; here: " + reason_at(static_cast<std::size_t>(n.index), all.at(id)) + ")");
      }
    }
    if (!check_honest_steps(all, final_verdicts)) return;
    // Nodes with the same scope hold the same digest; every hazard looks the same everywhere.
    for (std::size_t i = 0; i < nodes_.size(); ++i)
      for (std::size_t j = i + 1; j < nodes_.size(); ++j)
        if (nodes_[i].scope == nodes_[j].scope) {
          auto a = nodes_[i].store->digest(), b = nodes_[j].store->digest();
          if (!ok(a, "digest") || !ok(b, "digest")) return;
          if (!check(*a == *b, nodes_[i].name + " and " + nodes_[j].name + " differ")) return;
        }
    for (const Known& h : hazards_) {
      std::optional<HazardState> first;
      std::string first_node;
      for (SimNode& n : nodes_) {
        if (!scope_contains(n.scope, h.scope)) continue;
        auto state = hazard_at(n, h.id);
        if (!fail_.empty()) return;
        if (!state) {
          if (first) return failure("hazard " + h.id.hex() + " is at " + first_node + " but not at " + n.name);
          continue;
        }
        check_hazard(n, h.id);
        if (n.index == 0 && state->state == "archived") ++stats_.hazards_archived;
        if (!first) {
          first = *state;
          first_node = n.name;
          continue;
        }
        auto same = [&](const HazardState& a, const HazardState& b) {
          return a.state == b.state && a.level == b.level && a.severity == b.severity && a.category == b.category &&
                 a.returns == b.returns && a.signoffs == b.signoffs && a.listed == b.listed &&
                 a.assignees.size() == b.assignees.size() && a.history.size() == b.history.size();
        };
        if (!same(*first, *state))
          return failure("hazard " + h.id.hex() + " is " + first->state + " at " + first_node + " but " + state->state + " at " +
                         n.name);
      }
      if (first) trace_line("hazard " + short_id(h.id) + " " + first->state + " " + level_id(first->level));
    }
    for (SimNode& n : nodes_)
      trace_line("final " + n.name + " " + std::to_string(holdings[static_cast<std::size_t>(n.index)].size()) + " ops " +
                 digests[static_cast<std::size_t>(n.index)].hex());
  }

  SimOptions options_;
  Rng rng_;
  Rng wire_rng_;
  Blake2b trace_;
  std::string fail_;
  SimStats stats_;
  fs::path root_;
  std::uint64_t now_ = kStartMs;
  std::vector<SimNode> nodes_;
  std::vector<Link> links_;
  std::vector<Person> people_;
  std::vector<Carried> carried_;
  std::vector<Known> hazards_, units_;
  std::vector<Notice> notices_;
  std::set<Hash32> forged_;
  std::set<Hash32> honest_;  // drafts accepted as effective at their source
  std::set<std::pair<PublicKey, std::uint64_t>> reaffirmed_;
  KeyPair hand_ = sim_key("hand-made ops");  // signs only the ops written by hand, so it never forks
  int borrower_ = -1;                        // the person whose key is also used on a second node
  int bundle_counter_ = 0;
  double loss_ = 0, flip_ = 0;
  bool still_moving_ = false;
  Constitution default_constitution_ = node::default_constitution();
};

}  // namespace

SimOutcome run_simulation(const SimOptions& options) {
  seed_deterministic_randomness(options.seed);
  Simulation simulation(options);
  return simulation.run();
}

}  // namespace anwang::sim
