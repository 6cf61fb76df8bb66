// anwang_bench — measures anwang against its physical limits (issue 7): ingest beside
// the raw Ed25519 verify rate of the same ops, the store's footprint, ingest scaling, and sync
// bytes and round trips. Prints a table; `--json FILE` writes the figures.
//
//   anwang_bench [--quick] [--million] [--no-photos] [--village-only] [--json FILE] [--dir DIR]
//
// First, a typical village (County::village_day: about 20 ops and 2 photos a day) over a year (a
// month in quick mode): bytes written to disk per op and per day, and its backup's size;
// --village-only stops there.
// --quick: n = 10,000 (CI runs this so it cannot rot). Default: n = 100,000. --million adds
// n = 1,000,000 to the ingest scaling and footprint, and runs the sync difference cases again
// between the 1,000,000-op store and a copy of it. Stores go in DIR (default /tmp: a real disk
// on the machines measured, not tmpfs). Hazard reports and handled steps carry a photo reference
// (the blob itself is held by no node in this program, and costs a sync session nothing);
// --no-photos mints them without one (then every hazard takes the township path: a fix on the
// spot needs an after-photo). `--rss-probe STORE_DIR` is internal: a child process that
// opens a store, reads its stats and prints its memory, standing in for an idle node; then
// loads the authority state and lists a session's items, and prints its memory again.
//
// The workload is minted here, in memory, like tests/support/fixtures.h's OpFactory does (this
// program has no Catch2): a county of 8 townships x 12 villages x 2 grids; appointments of
// township stations, village heads, safety officers and grid members, a fire department and three
// node enrolments; then ledger units and their edits, patrols (inspections referring to units),
// tips, hazards through the loop (report -> fix -> verify, or report -> escalate -> receive ->
// assign -> handled -> verify), and now and then a new grid member appointed.
#include <sodium.h>
#include <unistd.h>
#include <sys/wait.h>
#include <capnp/message.h>
#include <capnp/serialize.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "crdt/hash.h"
#include "crdt/limits.h"
#include "crdt/op.capnp.h"
#include "crdt/op.h"
#include "node/backup.h"
#include "node/constitution.h"
#include "node/store.h"
#include "net/reconcile.h"
#include "node/sync.h"
#include "support/pipe_transport.h"

using namespace anwang;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::uint64_t kStartMs = 1'790'000'000'000;  // late 2026
constexpr const char* kCounty = "150430";
constexpr std::uint64_t kMapBytes = 16ULL << 30;

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "anwang_bench: %s\n", what.c_str());
  std::exit(1);
}

KeyPair bench_key(int n) {
  Hash32 seed = blake2b_256(as_bytes("anwang bench key " + std::to_string(n)));
  return KeyPair::from_seed(seed.view());
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// ---- minting ops --------------------------------------------------------------------------------

class Mint {
 public:
  Mint() {
    KeyPair& root = key(0);
    OpFields fields;
    fields.author = root.public_key();
    fields.author_seq = 1;
    fields.hlc = kStartMs << 16;
    fields.scope = kCounty;
    fields.object = named_object_id("network", kCounty);
    fields.payload = GenesisPayload{kCounty, "测试旗 bench county", {root.public_key()}, 1, node::default_constitution()};
    Op genesis = sign(root, std::move(fields));
    network_ = genesis.id;
    authors_[root.public_key()] = {1, genesis.id};
    clock_ = genesis.fields.hlc;
    push(std::move(genesis));
  }

  KeyPair& key(int n) {
    auto it = keys_.find(n);
    if (it == keys_.end()) it = keys_.emplace(n, bench_key(n)).first;
    return it->second;
  }
  std::uint64_t next_seq(const KeyPair& author) { return authors_[author.public_key()].seq + 1; }
  std::uint64_t clock() const { return clock_; }
  std::uint64_t hlc_of(const Hash32& id) const { return hlc_of_.at(id); }
  // Ops minted in all, including those taken.
  std::size_t minted() const { return hlc_of_.size(); }

  // Signs and appends one op. Stamped ~30 s after the previous op of the county (or after its
  // parents and the author's previous op, whichever is later) unless `hlc` is given.
  const Op& make(const KeyPair& author, const std::string& scope, const Hash32& object, Payload payload,
                 std::vector<Hash32> parents, std::optional<std::uint64_t> hlc = std::nullopt) {
    AuthorState& state = authors_[author.public_key()];
    OpFields fields;
    fields.network = network_;
    fields.author = author.public_key();
    fields.author_seq = state.seq + 1;
    fields.author_prev = state.prev;
    std::sort(parents.begin(), parents.end());
    parents.erase(std::unique(parents.begin(), parents.end()), parents.end());
    std::uint64_t floor = 0;
    if (state.prev) floor = std::max(floor, hlc_of_.at(*state.prev));
    for (const Hash32& parent : parents) floor = std::max(floor, hlc_of_.at(parent));
    fields.parents = std::move(parents);
    if (hlc) {
      fields.hlc = *hlc;
    } else {
      clock_ = std::max<std::uint64_t>(clock_ + (std::uint64_t{30'000} << 16), floor + 1);
      fields.hlc = clock_;
    }
    fields.scope = scope;
    fields.object = object;
    fields.payload = std::move(payload);
    Op op = sign(author, std::move(fields));
    state.seq = op.fields.author_seq;
    state.prev = op.id;
    return push(std::move(op));
  }

  std::vector<Bytes>& ops() { return ops_; }
  // Drops the ops minted so far from memory (their ids and stamps stay known as parents).
  std::vector<Bytes> take() { return std::exchange(ops_, {}); }

 private:
  struct AuthorState {
    std::uint64_t seq = 0;
    std::optional<Hash32> prev;
  };
  Op sign(const KeyPair& author, OpFields fields) {
    auto op = sign_op(std::move(fields), author);
    if (!op) die("sign_op: " + op.status().message());
    return std::move(*op);
  }
  const Op& push(Op op) {
    hlc_of_[op.id] = op.fields.hlc;
    ops_.push_back(op.bytes);
    last_ = std::move(op);
    return last_;
  }

  std::map<int, KeyPair> keys_;
  std::map<PublicKey, AuthorState> authors_;
  std::unordered_map<Hash32, std::uint64_t> hlc_of_;
  std::vector<Bytes> ops_;
  Hash32 network_;
  std::uint64_t clock_ = 0;
  Op last_;
};

Attachment photo(std::uint64_t n) {
  return Attachment{blake2b_256(as_bytes("bench photo " + std::to_string(n))), 180'000 + n % 90'000, "image/jpeg"};
}

RecordPayload record(std::string kind, std::string action, std::vector<std::pair<std::string, std::string>> fields,
                     std::vector<Hash32> refs = {}) {
  std::sort(fields.begin(), fields.end());
  return RecordPayload{std::move(kind), std::move(action), std::move(fields), {}, std::move(refs)};
}

// A county's mix of ops, minted in causal order (every prefix is causally closed).
class County {
 public:
  static constexpr int kTownships = 8, kVillagesPerTownship = 12, kGridsPerVillage = 2;
  // Node keys enrolled at the county (for the sync measurements).
  static constexpr int kNodeA = 9001, kNodeB = 9002, kNodeFresh = 9003;

  County(std::uint64_t seed, bool photos) : rng_(seed), photos_on_(photos) {
    KeyPair& root = mint_.key(0);
    fire_ = 5;
    appoint(root, fire_, "department", kCounty, {"fire"});
    for (int t = 0; t < kTownships; ++t) {
      Township township;
      township.code = std::string(kCounty) + std::to_string(101 + t);
      township.station = 100 + t;
      appoint(root, township.station, "township_station", township.code);
      townships_.push_back(township);
      for (int v = 0; v < kVillagesPerTownship; ++v) {
        Village village;
        village.township = t;
        village.code = township.code + std::to_string(201 + v);
        int base = 1000 + 10 * static_cast<int>(villages_.size());
        village.head = base;
        village.officer = base + 1;
        appoint(mint_.key(township.station), village.head, "village_head", village.code);
        appoint(mint_.key(township.station), village.officer, "village_safety_officer", village.code);
        for (int g = 0; g < kGridsPerVillage; ++g) {
          village.grids.push_back(village.code + "-0" + std::to_string(g + 1));
          village.members.push_back(base + 2 + g);
          appoint(mint_.key(village.head), base + 2 + g, "grid_member", village.grids.back());
        }
        villages_.push_back(village);
      }
    }
    for (int node : {kNodeA, kNodeB, kNodeFresh}) {
      const KeyPair& key = mint_.key(node);
      const Op& op = mint_.make(root, kCounty, node_object_id(key.public_key()), EnrolmentPayload{key.public_key()},
                                {authority_head_});
      authority_head_ = op.id;
    }
    authority_prefix_ = mint_.ops().size();
    authority_clock_ = mint_.clock();
  }

  Mint& mint() { return mint_; }
  // Ops minted before the workload: genesis, appointments, enrolments.
  std::size_t authority_prefix() const { return authority_prefix_; }
  std::uint64_t authority_clock() const { return authority_clock_; }
  KeyPair& node_key(int node) { return mint_.key(node); }

  // Mints ops until `count` exist in all.
  void grow_to(std::size_t count) {
    while (mint_.minted() < count) step();
  }

  // One op stamped at a random time in [low, high): a patrol in a random grid, by its member,
  // with only the member's appointment as parent. For "d = 1,000 scattered".
  void scattered_patrol(std::uint64_t low, std::uint64_t high) {
    Village& village = villages_[rng_() % villages_.size()];
    std::size_t g = rng_() % village.grids.size();
    KeyPair& member = mint_.key(village.members[g]);
    const Hash32& appointment = appointment_.at(village.members[g]);
    std::uint64_t floor = std::max(low, mint_.hlc_of(appointment) + 1);
    std::uint64_t stamp = floor + rng_() % (std::max(high, floor + 1) - floor);
    std::uint64_t seq = mint_.next_seq(member);
    mint_.make(member, village.grids[g], authored_object_id(member.public_key(), seq),
               record("inspection", "record", {{"items", "消防通道:pass\n灭火器:pass"}, {"text", "补录巡查"}}),
               {appointment}, stamp);
  }

 private:
  struct Township {
    std::string code;
    int station = 0;
  };
  struct Hazard {
    Hash32 id;
    Hash32 last;  // the latest op on it
    int stage = 0;
    bool escalated = false;
    std::size_t grid = 0;
  };
  struct Village {
    int township = 0;
    std::string code;
    int head = 0, officer = 0;
    std::vector<std::string> grids;
    std::vector<int> members;
    std::vector<std::pair<Hash32, Hash32>> units;  // (unit, latest op on it)
    std::vector<Hazard> hazards;                   // open ones
  };

  void appoint(const KeyPair& by, int to, const std::string& role, const std::string& scope,
               std::vector<std::string> categories = {}) {
    std::vector<Hash32> parents;
    if (appointments_ > 0) parents.push_back(authority_head_);
    const PublicKey grantee = mint_.key(to).public_key();
    const Op& op = mint_.make(by, scope, named_object_id("grant", grantee.hex() + role),
                              DelegationPayload{grantee, role, std::move(categories)}, parents);
    authority_head_ = op.id;
    appointment_[to] = op.id;
    ++appointments_;
  }
  void appoint_member(Village& village, std::size_t g, int n) {
    appoint(mint_.key(village.head), n, "grid_member", village.grids[g]);
    village.members[g] = n;
  }

  void step() {
    Village& village = villages_[rng_() % villages_.size()];
    std::size_t g = rng_() % village.grids.size();
    int roll = static_cast<int>(rng_() % 1000);
    if (roll < 2) {  // a new grid member replaces the old one
      appoint_member(village, g, next_member_++);
    } else if (roll < 80 || village.units.empty()) {
      add_unit(village, g);
    } else if (roll < 120) {
      edit_unit(village, g);
    } else if (roll < 560) {
      patrol(village, g);
    } else if (roll < 590) {
      tip(village, g);
    } else if (roll < 720 || village.hazards.empty()) {
      report_hazard(village, g);
    } else {
      advance_hazard(village, rng_() % village.hazards.size());
    }
  }

  // A ledger unit (生产经营单位).
  void add_unit(Village& village, std::size_t g) {
    KeyPair& head = mint_.key(village.head);
    std::uint64_t seq = mint_.next_seq(head);
    std::string n = std::to_string(++units_);
    const Op& op = mint_.make(head, village.grids[g], authored_object_id(head.public_key(), seq),
                              record("unit", "add",
                                     {{"name", "红星加油站 " + n},
                                      {"address", village.code + " 村东头 " + n + " 号"},
                                      {"industry", rng_() % 3 == 0 ? "hazardous_chemicals" : "retail"},
                                      {"contacts", "张三 13800000000"},
                                      {"key_supervision", rng_() % 4 == 0 ? "true" : "false"}}),
                              {authority_head_});
    village.units.emplace_back(op.fields.object, op.id);
  }

  // An edit or a confirmation of a unit.
  void edit_unit(Village& village, std::size_t g) {
    auto& [unit, last] = village.units[rng_() % village.units.size()];
    KeyPair& head = mint_.key(village.head);
    RecordPayload r = rng_() % 2 == 0 ? record("unit", "edit", {{"contacts", "李四 139" + std::to_string(rng_() % 100000000)}})
                                      : record("unit", "confirm", {{"by", "unit"}});
    const Op& op = mint_.make(head, village.grids[g], unit, std::move(r), {authority_head_, last});
    last = op.id;
  }

  // A patrol (巡查) of a unit.
  void patrol(Village& village, std::size_t g) {
    KeyPair& member = mint_.key(village.members[g]);
    std::uint64_t seq = mint_.next_seq(member);
    const auto& unit = village.units[rng_() % village.units.size()].first;
    bool fail = rng_() % 5 == 0;
    mint_.make(member, village.grids[g], authored_object_id(member.public_key(), seq),
               record("inspection", "record",
                      {{"items", fail ? "消防通道:fail:堵塞\n灭火器:pass\n用电:pass" : "消防通道:pass\n灭火器:pass\n用电:pass"},
                       {"text", fail ? "通道堆放杂物" : "正常"}},
                      {unit}),
               {authority_head_});
  }

  // A tip (群众举报).
  void tip(Village& village, std::size_t g) {
    KeyPair& member = mint_.key(village.members[g]);
    std::uint64_t seq = mint_.next_seq(member);
    mint_.make(member, village.grids[g], authored_object_id(member.public_key(), seq),
               record("tip", "enter", {{"text", "有人私存烟花爆竹"}, {"source", "电话"}}), {authority_head_});
  }

  void report_hazard(Village& village, std::size_t g) {
    KeyPair& member = mint_.key(village.members[g]);
    std::uint64_t seq = mint_.next_seq(member);
    HazardPayload h;
    h.action = "report";
    h.category = "fire";
    h.severity = "general";
    h.text = "巡查发现: 仓库消防通道堵塞, 灭火器过期";
    if (photos_on_) h.photos = {photo(++photos_)};
    h.unit = village.units[rng_() % village.units.size()].first;
    const Op& op = mint_.make(member, village.grids[g], authored_object_id(member.public_key(), seq), h, {authority_head_});
    // One in four goes up to the township; without photos all do (a fix needs an after-photo).
    bool escalate = rng_() % 4 == 0 || !photos_on_;
    village.hazards.push_back(Hazard{op.fields.object, op.id, 0, escalate, g});
  }

  // The next step of the open hazard `i`.
  void advance_hazard(Village& village, std::size_t i) {
    Hazard& hazard = village.hazards[i];
    const std::string& scope = village.grids[hazard.grid];
    HazardPayload h;
    int by = 0;
    bool done = false;
    if (!hazard.escalated) {
      if (hazard.stage == 0) {
        h.action = "fix";
        h.text = "已现场整改";
        h.photos = {photo(++photos_)};
        by = village.members[hazard.grid];
      } else {
        h.action = "verify";
        h.pass = true;
        by = village.officer;
        done = true;
      }
    } else {
      static const char* kSteps[] = {"escalate", "receive", "assign", "handled", "verify"};
      h.action = kSteps[hazard.stage];
      if (hazard.stage == 0) h.to_level = "township";
      if (hazard.stage == 2) h.department = "fire";
      if (hazard.stage == 3 && photos_on_) h.photos = {photo(++photos_)};
      if (hazard.stage == 4) h.pass = true;
      by = hazard.stage == 0 ? village.head : hazard.stage == 3 ? fire_ : townships_[village.township].station;
      done = hazard.stage == 4;
    }
    const Op& op = mint_.make(mint_.key(by), scope, hazard.id, h, {authority_head_, hazard.last});
    hazard.last = op.id;
    ++hazard.stage;
    if (done) village.hazards.erase(village.hazards.begin() + static_cast<std::ptrdiff_t>(i));
  }

 public:
  // A typical village's day (issue 23; the assumption, from the seed documents): 2 basic grids of
  // 75 units each (001: 50–100 units a basic grid), every unit patrolled every 15 days (000) — 10
  // patrols a day; one hazard found a day (a patrol in ten), each open hazard taken one step a day
  // through its loop (one in four escalates to the township: 3 or 6 ops in all); the ledger
  // checked every month (001): 5 unit edits or confirmations a day; one tip or other record a day.
  // About 20 ops and 2 photos a day. village_ledger adds its 150 units first.
  static constexpr int kVillageUnits = 150, kVillagePatrolsPerDay = 10, kVillageHazardsPerDay = 1,
                       kVillageUnitEditsPerDay = 5, kVillageOtherRecordsPerDay = 1;
  void village_ledger(std::size_t v) {
    Village& village = villages_[v];
    while (village.units.size() < static_cast<std::size_t>(kVillageUnits)) add_unit(village, village.units.size() % 2);
  }
  // Mints one day of village `v`; returns the photos its ops cite.
  std::uint64_t village_day(std::size_t v) {
    Village& village = villages_[v];
    std::uint64_t photos_before = photos_;
    for (std::size_t i = village.hazards.size(); i-- > 0;) advance_hazard(village, i);
    for (int i = 0; i < kVillagePatrolsPerDay; ++i) patrol(village, static_cast<std::size_t>(i) % village.grids.size());
    for (int i = 0; i < kVillageHazardsPerDay; ++i) report_hazard(village, rng_() % village.grids.size());
    for (int i = 0; i < kVillageUnitEditsPerDay; ++i) edit_unit(village, rng_() % village.grids.size());
    for (int i = 0; i < kVillageOtherRecordsPerDay; ++i) tip(village, rng_() % village.grids.size());
    return photos_ - photos_before;
  }

 private:
  Mint mint_;
  std::mt19937_64 rng_;
  std::vector<Township> townships_;
  std::vector<Village> villages_;
  Hash32 authority_head_{};
  std::map<int, Hash32> appointment_;
  int appointments_ = 0;
  std::size_t authority_prefix_ = 0;
  std::uint64_t authority_clock_ = 0;
  int fire_ = 0;
  int next_member_ = 50'000;
  std::uint64_t units_ = 0, photos_ = 0;
  bool photos_on_ = true;
};

// ---- raw verification ---------------------------------------------------------------------------

struct SignedMessage {
  Bytes message;
  Signature signature{};
  PublicKey author;
};

SignedMessage signed_message(const Bytes& bytes) {
  kj::Array<capnp::word> words = kj::heapArray<capnp::word>((bytes.size() + 7) / 8);
  std::memcpy(words.begin(), bytes.data(), bytes.size());
  kj::ArrayPtr<const capnp::word> segments[1] = {words.asPtr()};
  capnp::SegmentArrayMessageReader reader(kj::arrayPtr(segments, 1));
  auto signed_op = reader.getRoot<schema::SignedOp>();
  auto body = capnp::canonicalize(signed_op.getBody());
  auto body_bytes = body.asBytes();
  SignedMessage out;
  out.message = op_signature_message(ByteView(body_bytes.begin(), body_bytes.size()));
  auto signature = signed_op.getSignature();
  std::memcpy(out.signature.data(), signature.begin(), out.signature.size());
  auto author = signed_op.getBody().getAuthor();
  std::memcpy(out.author.bytes.data(), author.begin(), 32);
  return out;
}

// Verifies messages[begin, end) and returns how many verified.
std::size_t verify_range(const std::vector<SignedMessage>& messages, std::size_t begin, std::size_t end) {
  std::size_t good = 0;
  for (std::size_t i = begin; i < end; ++i) {
    const SignedMessage& m = messages[i];
    if (crypto_sign_verify_detached(m.signature.data(), m.message.data(), m.message.size(), m.author.bytes.data()) == 0)
      ++good;
  }
  return good;
}

// ---- process figures ----------------------------------------------------------------------------

std::uint64_t proc_value(const std::string& file, const std::string& key) {
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key, 0) == 0) return std::strtoull(line.c_str() + key.size(), nullptr, 10);
  }
  return 0;
}
std::uint64_t write_bytes() { return proc_value("/proc/self/io", "write_bytes:"); }
// What the process handed to write(2), pwrite(2) and their kin: LMDB's pages, before the file
// system adds its journal and metadata.
std::uint64_t write_chars() { return proc_value("/proc/self/io", "wchar:"); }
std::uint64_t rss_kib() { return proc_value("/proc/self/status", "VmRSS:"); }
std::uint64_t hwm_kib() { return proc_value("/proc/self/status", "VmHWM:"); }
// Resident anonymous memory: the heap, without the store's pages read through the map (which
// count as private while no other process maps them, but are page cache the kernel may drop).
std::uint64_t anon_kib() { return proc_value("/proc/self/status", "RssAnon:"); }
std::uint64_t private_kib() {
  return proc_value("/proc/self/smaps_rollup", "Private_Clean:") + proc_value("/proc/self/smaps_rollup", "Private_Dirty:");
}
void reset_hwm() {
  std::ofstream out("/proc/self/clear_refs");
  out << "5";  // resets VmHWM to the current RSS (Linux ≥ 4.0)
}
double mib(std::uint64_t kib) { return static_cast<double>(kib) / 1024.0; }

// ---- ingest -------------------------------------------------------------------------------------

std::unique_ptr<node::Store> open_store(const fs::path& dir, unsigned verify_threads = 0) {
  auto store = node::Store::open(node::StoreOptions{dir, kMapBytes, verify_threads});
  if (!store) die("opening " + dir.string() + ": " + store.status().message());
  return std::move(*store);
}

// Ingests ops[0, n) in batches as a sync session commits them: up to 1,024 ops or 512 KiB.
void ingest_batches(node::Store& store, const std::vector<Bytes>& ops, std::size_t begin, std::size_t end) {
  std::vector<Bytes> batch;
  std::size_t batch_bytes = 0;
  auto flush = [&] {
    if (batch.empty()) return;
    auto report = store.ingest(batch);
    if (!report) die("ingest: " + report.status().message());
    for (const auto& outcome : report->outcomes)
      if (outcome.kind != node::IngestOutcome::Kind::kAccepted)
        die(std::string("an op was not accepted: ") + node::outcome_name(outcome.kind) + " " + outcome.detail);
    batch.clear();
    batch_bytes = 0;
  };
  for (std::size_t i = begin; i < end; ++i) {
    if (batch.size() == limits::ingest_batch_ops_max || batch_bytes >= limits::sync_commit_bytes_max) flush();
    batch_bytes += ops[i].size();
    batch.push_back(ops[i]);
  }
  flush();
}

struct IngestRun {
  std::size_t n = 0;
  double seconds = 0;
  double ops_per_s = 0;
  std::uint64_t written = 0;
  std::uint64_t file_bytes = 0;
  std::uint64_t rss_before_kib = 0, hwm_kib = 0, rss_closed_kib = 0;
  double op_bytes_mean = 0;
};

IngestRun ingest_run(const fs::path& dir, const std::vector<Bytes>& ops, std::size_t n, bool keep_open,
                     std::unique_ptr<node::Store>* kept, unsigned verify_threads = 1) {
  fs::remove_all(dir);
  fs::create_directories(dir);
  IngestRun run;
  run.n = n;
  std::uint64_t op_bytes = 0;
  for (std::size_t i = 0; i < n; ++i) op_bytes += ops[i].size();
  run.op_bytes_mean = static_cast<double>(op_bytes) / static_cast<double>(n);
  run.rss_before_kib = rss_kib();
  reset_hwm();
  std::uint64_t written_before = write_bytes();
  auto store = open_store(dir, verify_threads);
  auto start = Clock::now();
  ingest_batches(*store, ops, 0, n);
  run.seconds = seconds_since(start);
  run.ops_per_s = static_cast<double>(n) / run.seconds;
  run.written = write_bytes() - written_before;
  run.hwm_kib = hwm_kib();
  auto stats = store->stats();
  if (!stats) die(stats.status().message());
  if (stats->ops != n) die("the store holds " + std::to_string(stats->ops) + " ops, not " + std::to_string(n));
  run.file_bytes = fs::file_size(dir / "data.mdb");
  store.reset();
  run.rss_closed_kib = rss_kib();
  if (keep_open) *kept = open_store(dir);
  return run;
}

// An idle node, approximated: a fresh process that opens the store and reads its stats.
struct Probe {
  std::uint64_t rss_kib = 0, hwm_kib = 0, private_kib = 0;  // idle: the store open, its stats read
  // Then the work a node does when it serves a sync: the authority graph loaded and judged, and
  // the list of items a session reconciles (all of them: a county talking to a county).
  std::uint64_t busy_rss_kib = 0, busy_hwm_kib = 0, busy_private_kib = 0, busy_anon_kib = 0;
  std::uint64_t authority_ops = 0, items = 0;
};

Probe probe(const std::string& self, const fs::path& dir) {
  int fds[2];
  if (pipe(fds) != 0) die("pipe");
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], 1);
    close(fds[0]);
    execl(self.c_str(), self.c_str(), "--rss-probe", dir.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  close(fds[1]);
  std::string out;
  char buffer[256];
  ssize_t got;
  while ((got = read(fds[0], buffer, sizeof buffer)) > 0) out.append(buffer, static_cast<std::size_t>(got));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  Probe p;
  if (std::sscanf(out.c_str(), "%lu %lu %lu %lu %lu %lu %lu %lu %lu", &p.rss_kib, &p.hwm_kib, &p.private_kib, &p.busy_rss_kib,
                  &p.busy_hwm_kib, &p.busy_private_kib, &p.busy_anon_kib, &p.authority_ops, &p.items) != 9)
    die("rss probe failed: " + out);
  return p;
}

int rss_probe_main(const char* dir) {
  if (sodium_init() < 0) return 1;
  auto store = open_store(dir);
  auto stats = store->stats();
  if (!stats) return 1;
  std::printf("%lu %lu %lu ", static_cast<unsigned long>(rss_kib()), static_cast<unsigned long>(hwm_kib()),
              static_cast<unsigned long>(private_kib()));
  auto authority = store->authority();
  if (!authority) return 1;
  std::vector<net::ItemKey> items;
  Status listed = store->for_each_item(
      [&](const Reach&, std::uint64_t hlc, const Hash32& id) { items.push_back(net::item_key(hlc, id)); });
  if (!listed) return 1;
  std::sort(items.begin(), items.end());
  std::printf("%lu %lu %lu %lu %lu %lu\n", static_cast<unsigned long>(rss_kib()), static_cast<unsigned long>(hwm_kib()),
              static_cast<unsigned long>(private_kib()), static_cast<unsigned long>(anon_kib()),
              static_cast<unsigned long>((*authority)->graph().size()),
              static_cast<unsigned long>(items.size()));
  return 0;
}

// ---- sync ---------------------------------------------------------------------------------------

struct SyncRow {
  std::string name;
  std::size_t differences = 0;
  node::SyncReport a;
  double seconds = 0;
  std::string error;  // the session failed: why (its figures are then meaningless)
  std::uint64_t beyond_handshake() const { return a.bytes_sent + a.bytes_received - a.handshake_bytes; }
  std::uint64_t op_bytes() const { return a.op_bytes_sent + a.op_bytes_received; }
  double per_difference() const {
    return differences == 0 ? 0
                            : (static_cast<double>(beyond_handshake()) - static_cast<double>(op_bytes())) /
                                  static_cast<double>(differences);
  }
};

SyncRow sync_row(const std::string& name, std::size_t differences, node::Store& a, const KeyPair& a_key,
                 node::Store& b, const KeyPair& b_key) {
  test::Pipe a_to_b(std::chrono::seconds(300)), b_to_a(std::chrono::seconds(300));
  test::PipeTransport ta(b_to_a, a_to_b), tb(a_to_b, b_to_a);
  Result<node::SyncReport> rb = Status::error(Status::Code::kUnavailable, "not run");
  auto start = Clock::now();
  std::thread responder([&] {
    rb = node::run_sync(b, b_key, tb, node::SyncRole::kResponder, blake2b_256(as_bytes("b")).bytes);
    b_to_a.close();
  });
  auto ra = node::run_sync(a, a_key, ta, node::SyncRole::kInitiator, blake2b_256(as_bytes("a")).bytes);
  a_to_b.close();
  responder.join();
  SyncRow row{name, differences, {}, seconds_since(start), {}};
  if (!ra || !rb) {
    row.error = (ra ? "" : ra.status().message()) + " / " + (rb ? "" : rb.status().message());
    return row;
  }
  row.a = *ra;
  if (row.a.ops_received + row.a.ops_sent != differences)
    row.error = "moved " + std::to_string(row.a.ops_received + row.a.ops_sent) + " ops, expected " +
                std::to_string(differences);
  return row;
}

// The difference cases on two stores that hold the same ops: d = 0, then new ops for A only —
// 10 recent, 1,000 scattered over the whole history, 1,000 recent. The new ops continue
// `source`'s workload, which must stand where the stores' ops end.
// `d0_growth_kib`: how far this process's peak RSS rose during the d = 0 session (both ends).
std::vector<SyncRow> difference_cases(County& source, node::Store& a, const KeyPair& key_a, node::Store& b,
                                      const KeyPair& key_b, std::uint64_t* d0_growth_kib = nullptr) {
  std::vector<SyncRow> rows;
  std::uint64_t rss_before = rss_kib();
  reset_hwm();
  rows.push_back(sync_row("d=0", 0, b, key_b, a, key_a));
  if (d0_growth_kib) *d0_growth_kib = hwm_kib() > rss_before ? hwm_kib() - rss_before : 0;
  source.grow_to(source.mint().minted() + 10);
  std::vector<Bytes> recent = source.mint().take();
  ingest_batches(a, recent, 0, recent.size());
  rows.push_back(sync_row("d=10 recent", recent.size(), b, key_b, a, key_a));
  std::uint64_t low = source.authority_clock() + 1, high = source.mint().clock();
  for (int i = 0; i < 1000; ++i) source.scattered_patrol(low, high);
  std::vector<Bytes> scattered = source.mint().take();
  ingest_batches(a, scattered, 0, scattered.size());
  rows.push_back(sync_row("d=1,000 scattered", scattered.size(), b, key_b, a, key_a));
  source.grow_to(source.mint().minted() + 1000);
  recent = source.mint().take();
  ingest_batches(a, recent, 0, recent.size());
  rows.push_back(sync_row("d=1,000 recent", recent.size(), b, key_b, a, key_a));
  return rows;
}

void print_sync_rows(const std::vector<SyncRow>& rows) {
  std::printf("%-28s %6s %10s %10s %9s %10s %12s %10s %8s\n", "case", "rounds", "sent B", "recv B", "hs B", "ops", "op bytes",
              "B/diff", "s");
  for (const SyncRow& row : rows)
    if (!row.error.empty())
      std::printf("%-28s FAILED after %.2f s: %s\n", row.name.c_str(), row.seconds, row.error.c_str());
    else
      std::printf("%-28s %6d %10llu %10llu %9llu %10llu %12llu %10.1f %8.2f\n", row.name.c_str(), row.a.reconcile_rounds,
                  static_cast<unsigned long long>(row.a.bytes_sent), static_cast<unsigned long long>(row.a.bytes_received),
                  static_cast<unsigned long long>(row.a.handshake_bytes),
                  static_cast<unsigned long long>(row.a.ops_sent + row.a.ops_received),
                  static_cast<unsigned long long>(row.op_bytes()), row.per_difference(), row.seconds);
}

nlohmann::json sync_json(const std::vector<SyncRow>& rows) {
  nlohmann::json out = nlohmann::json::array();
  for (const SyncRow& row : rows)
    out.push_back({{"case", row.name},
                   {"differences", row.differences},
                   {"rounds", row.a.reconcile_rounds},
                   {"bytes_sent", row.a.bytes_sent},
                   {"bytes_received", row.a.bytes_received},
                   {"handshake_bytes", row.a.handshake_bytes},
                   {"op_bytes", row.op_bytes()},
                   {"bytes_per_difference_beyond_ops", row.per_difference()},
                   {"seconds", row.seconds},
                   {"error", row.error}});
  return out;
}

// ---- output -------------------------------------------------------------------------------------

std::string with_commas(double value) {
  std::string digits = std::to_string(static_cast<long long>(value + 0.5));
  std::string out;
  int count = 0;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
    if (count > 0 && count % 3 == 0) out.insert(out.begin(), ',');
    out.insert(out.begin(), *it);
    ++count;
  }
  return out;
}

const char* verdict(bool met) { return met ? "met" : "MISSED"; }

}  // namespace

// ---- a village's disk writes and backup (issue 23) -----------------------------------------------

struct VillageFigures {
  int days = 0;                      // days of the village's work held at the end
  double ops_per_day = 0;            // over the measured days
  double photos_per_day = 0;
  double written_per_op_authored = 0;  // one op a transaction, as `anwang` and the web UI write them
  double handed_per_op_authored = 0;   // of which LMDB handed to write calls (wchar)
  double written_per_op_synced = 0;    // a day's ops in one transaction, as a sync session commits them
  double written_per_photo = 0;        // Store::put_blob of one photo
  double photo_bytes_mean = 0;
  double written_per_day = 0;          // ops authored one a transaction, and the day's photos
  std::uint64_t store_file_bytes = 0;  // data.mdb at the end
  std::uint64_t backup_bytes = 0;      // `anwang backup` of the home at the end
  std::uint64_t backup_store_bytes = 0;  // of which the compacted store
};

// A village node over `days` days of a typical village (County::village_day), the county's
// appointments held first as every node holds them. The last two weeks are measured with
// /proc/self/io write_bytes: the first week each day's ops committed as one batch (as a sync
// session brings a day's ops from the township), the second week one op a commit (as the village's
// own people write them), each day's photos stored as the CLI and the web UI store them. Then the
// home is backed up as `anwang backup` does it, sealed to a backup key.
VillageFigures village_figures(const fs::path& dir, int days) {
  constexpr int kMeasuredDays = 7;
  if (days < 2 * kMeasuredDays) die("the village needs at least two weeks");
  County county(43, true);
  node::SystemRandom random;
  auto home = node::NodeHome::init(dir / "home", random);
  if (!home) die("village home: " + home.status().message());
  auto opened = home->open_store();
  if (!opened) die("village store: " + opened.status().message());
  node::Store& store = **opened;
  county.village_ledger(0);
  std::vector<Bytes> setup = county.mint().take();
  ingest_batches(store, setup, 0, setup.size());
  std::mt19937_64 rng(7);
  auto put_photos = [&](std::uint64_t count, std::uint64_t& bytes) {
    for (std::uint64_t i = 0; i < count; ++i) {
      Bytes photo(180'000 + rng() % 90'000);  // as photo() sizes them: incompressible, as JPEG is
      for (std::size_t at = 0; at < photo.size(); at += 8) {
        std::uint64_t word = rng();
        std::memcpy(photo.data() + at, &word, std::min<std::size_t>(8, photo.size() - at));
      }
      if (!store.put_blob(photo, "image/jpeg")) die("put_blob");
      bytes += photo.size();
    }
  };
  VillageFigures figures;
  figures.days = days;
  std::uint64_t synced_ops = 0, synced_written = 0, authored_ops = 0, authored_written = 0, authored_handed = 0,
                photos = 0, photo_bytes = 0, photo_written = 0;
  for (int day = 1; day <= days; ++day) {
    std::uint64_t day_photos = county.village_day(0);
    std::vector<Bytes> ops = county.mint().take();
    bool synced_week = day > days - 2 * kMeasuredDays && day <= days - kMeasuredDays;
    bool authored_week = day > days - kMeasuredDays;
    std::uint64_t before = write_bytes(), handed_before = write_chars();
    if (authored_week) {
      for (std::size_t i = 0; i < ops.size(); ++i) ingest_batches(store, ops, i, i + 1);
      authored_written += write_bytes() - before;
      authored_handed += write_chars() - handed_before;
      authored_ops += ops.size();
    } else {
      ingest_batches(store, ops, 0, ops.size());
      if (synced_week) {
        synced_written += write_bytes() - before;
        synced_ops += ops.size();
      }
    }
    std::uint64_t photos_before = write_bytes(), bytes = 0;
    put_photos(day_photos, bytes);
    if (authored_week) {
      photo_written += write_bytes() - photos_before;
      photos += day_photos;
      photo_bytes += bytes;
    }
  }
  figures.ops_per_day = static_cast<double>(authored_ops) / kMeasuredDays;
  figures.photos_per_day = static_cast<double>(photos) / kMeasuredDays;
  figures.written_per_op_authored = static_cast<double>(authored_written) / static_cast<double>(authored_ops);
  figures.handed_per_op_authored = static_cast<double>(authored_handed) / static_cast<double>(authored_ops);
  figures.written_per_op_synced = static_cast<double>(synced_written) / static_cast<double>(synced_ops);
  figures.written_per_photo = photos == 0 ? 0 : static_cast<double>(photo_written) / static_cast<double>(photos);
  figures.photo_bytes_mean = photos == 0 ? 0 : static_cast<double>(photo_bytes) / static_cast<double>(photos);
  figures.written_per_day = static_cast<double>(authored_written + photo_written) / kMeasuredDays;
  figures.store_file_bytes = fs::file_size(dir / "home" / "store" / "data.mdb");
  std::array<std::uint8_t, 32> secret{}, county_key{};
  random.fill(secret.data(), secret.size());
  crypto_scalarmult_base(county_key.data(), secret.data());
  node::BackupOptions options;
  options.to_key = county_key;
  auto backup = node::write_backup(*home, store, dir / "village.bak", options, random);
  if (!backup) die("backup: " + backup.status().message());
  figures.backup_bytes = backup->file_bytes;
  figures.backup_store_bytes = backup->store_bytes;
  return figures;
}

void print_village(const VillageFigures& v) {
  std::printf("\n== A typical village's disk writes and backup (%d days: %.1f ops and %.1f photos a day) ==\n", v.days,
              v.ops_per_day, v.photos_per_day);
  std::printf("written per op, one op a commit (authored)   %10.0f B  (/proc/self/io write_bytes)\n", v.written_per_op_authored);
  std::printf("  of which LMDB handed to write calls         %10.0f B  (/proc/self/io wchar; the rest is the file system's)\n",
              v.handed_per_op_authored);
  std::printf("written per op, a day's ops in one commit    %10.0f B  (as a sync session brings them)\n", v.written_per_op_synced);
  std::printf("written per photo (mean photo %.0f B)       %10.0f B\n", v.photo_bytes_mean, v.written_per_photo);
  std::printf("written per day, ops authored + photos      %10.0f B = %.1f MiB\n", v.written_per_day,
              v.written_per_day / (1 << 20));
  std::printf("written per day, ops alone                  %10.0f B\n", v.written_per_op_authored * v.ops_per_day);
  std::printf("store after %d days                          %10s B (data.mdb)\n", v.days,
              with_commas(static_cast<double>(v.store_file_bytes)).c_str());
  std::printf("backup after %d days                         %10s B (of which the compacted store %s B)\n", v.days,
              with_commas(static_cast<double>(v.backup_bytes)).c_str(),
              with_commas(static_cast<double>(v.backup_store_bytes)).c_str());
}

nlohmann::json village_json(const VillageFigures& v) {
  return {{"days", v.days},
          {"ops_per_day", v.ops_per_day},
          {"photos_per_day", v.photos_per_day},
          {"written_bytes_per_op_authored", v.written_per_op_authored},
          {"handed_bytes_per_op_authored", v.handed_per_op_authored},
          {"written_bytes_per_op_synced", v.written_per_op_synced},
          {"written_bytes_per_photo", v.written_per_photo},
          {"photo_bytes_mean", v.photo_bytes_mean},
          {"written_bytes_per_day", v.written_per_day},
          {"written_bytes_per_day_ops_alone", v.written_per_op_authored * v.ops_per_day},
          {"store_file_bytes", v.store_file_bytes},
          {"backup_bytes", v.backup_bytes},
          {"backup_store_bytes", v.backup_store_bytes}};
}

int main(int argc, char** argv) {
  if (argc == 3 && std::strcmp(argv[1], "--rss-probe") == 0) return rss_probe_main(argv[2]);
  bool quick = false, million = false, photos = true, village_only = false;
  std::string json_path;
  fs::path base = "/tmp";
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--quick") {
      quick = true;
    } else if (arg == "--no-photos") {
      photos = false;
    } else if (arg == "--million") {
      million = true;
    } else if (arg == "--village-only") {
      village_only = true;
    } else if (arg == "--json" && i + 1 < argc) {
      json_path = argv[++i];
    } else if (arg == "--dir" && i + 1 < argc) {
      base = argv[++i];
    } else {
      std::fprintf(stderr, "usage: anwang_bench [--quick] [--million] [--no-photos] [--village-only] [--json FILE] [--dir DIR]\n");
      return 2;
    }
  }
  if (sodium_init() < 0) die("sodium_init");
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // progress shows when redirected to a file
  std::string self = fs::canonical("/proc/self/exe").string();

  const std::size_t n = quick ? 10'000 : 100'000;
  std::vector<std::size_t> scale = quick ? std::vector<std::size_t>{1'000, 10'000} : std::vector<std::size_t>{10'000, 100'000};
  if (million) scale.push_back(1'000'000);
  const std::size_t max_n = scale.back();

  char dir_template[] = "anwang-bench-XXXXXX";
  fs::path work = base / dir_template;
  std::string work_string = work.string();
  if (mkdtemp(work_string.data()) == nullptr) die("cannot make a directory under " + base.string());
  work = work_string;

  nlohmann::json json;
  json["mode"] = quick ? "quick" : million ? "full+million" : "full";
  json["photos"] = photos;
  json["n"] = n;
  json["cores"] = std::thread::hardware_concurrency();
  json["store_dir"] = work.string();

  std::printf("anwang_bench (%s): n = %s, stores under %s\n", quick ? "quick" : "full", with_commas(static_cast<double>(n)).c_str(),
              work.c_str());

  // A typical village's disk writes per op and per day, and its backup after a year (a month in
  // quick mode).
  VillageFigures village = village_figures(work / "village", quick ? 30 : 365);
  print_village(village);
  json["village"] = village_json(village);
  fs::remove_all(work / "village");
  if (village_only) {
    if (!json_path.empty()) std::ofstream(json_path) << json.dump(2) << "\n";
    fs::remove_all(work);
    return 0;
  }

  // Mint the county's ops.
  auto mint_start = Clock::now();
  County county(42, photos);
  county.grow_to(max_n);
  std::vector<Bytes> ops = county.mint().take();
  double mint_seconds = seconds_since(mint_start);
  std::printf("minted %s ops in %.1f s (%s signs/s, incl. encoding)\n", with_commas(static_cast<double>(ops.size())).c_str(),
              mint_seconds, with_commas(static_cast<double>(ops.size()) / mint_seconds).c_str());

  // 1. Raw verification of the same ops (the first n), one thread and two.
  std::vector<SignedMessage> messages;
  messages.reserve(n);
  for (std::size_t i = 0; i < n; ++i) messages.push_back(signed_message(ops[i]));
  auto verify_start = Clock::now();
  std::size_t good = verify_range(messages, 0, n);
  double verify_seconds = seconds_since(verify_start);
  if (good != n) die("raw verification failed for " + std::to_string(n - good) + " ops");
  double raw_rate = static_cast<double>(n) / verify_seconds;
  std::size_t good2[2] = {0, 0};
  auto verify2_start = Clock::now();
  std::thread second([&] { good2[1] = verify_range(messages, n / 2, n); });
  good2[0] = verify_range(messages, 0, n / 2);
  second.join();
  double raw2_rate = static_cast<double>(n) / seconds_since(verify2_start);
  if (good2[0] + good2[1] != n) die("raw verification (two threads) failed");
  messages.clear();
  messages.shrink_to_fit();

  // 1 + 2 + 3. Ingest into fresh stores at each n; footprint of the store of n ops.
  std::unique_ptr<node::Store> store_a;
  std::vector<IngestRun> runs;
  IngestRun main_run;
  for (std::size_t size : scale) {
    bool is_main = size == n;
    IngestRun run = ingest_run(work / ("ingest-" + std::to_string(size)), ops, size, is_main, &store_a);
    runs.push_back(run);
    if (is_main) main_run = run;
  }
  // The same n with signatures checked on two threads before the single writer stores them.
  IngestRun two_threads = ingest_run(work / "ingest-2threads", ops, n, false, nullptr, 2);
  fs::remove_all(work / "ingest-2threads");
  double ratio2 = two_threads.ops_per_s / raw_rate;
  Probe idle = probe(self, work / ("ingest-" + std::to_string(n)));
  std::optional<Probe> idle_million;
  if (million) idle_million = probe(self, work / "ingest-1000000");
  double ratio = main_run.ops_per_s / raw_rate;

  std::printf("\n== Ingest (n = %s, batches of <= 1,024 ops / 512 KiB as sync commits them, mean op %.0f B) ==\n",
              with_commas(static_cast<double>(n)).c_str(), main_run.op_bytes_mean);
  std::printf("raw crypto_sign_verify_detached, 1 thread   %10s ops/s\n", with_commas(raw_rate).c_str());
  std::printf("raw crypto_sign_verify_detached, 2 threads  %10s ops/s\n", with_commas(raw2_rate).c_str());
  std::printf("Store::ingest (full path), 1 thread %10s ops/s = %.2f x raw 1-thread verify (target >= 0.85: %s)\n",
              with_commas(main_run.ops_per_s).c_str(), ratio, verdict(ratio >= 0.85));
  std::printf("Store::ingest, 2 verify threads    %10s ops/s = %.2f x raw 1-thread verify (target >= 1.6: %s)\n",
              with_commas(two_threads.ops_per_s).c_str(), ratio2, verdict(ratio2 >= 1.6));

  std::printf("\n== Footprint (store of n = %s ops) ==\n", with_commas(static_cast<double>(n)).c_str());
  double per_op = static_cast<double>(main_run.file_bytes) / static_cast<double>(n);
  double written_per_op = static_cast<double>(main_run.written) / static_cast<double>(n);
  std::printf("data.mdb                          %12s B = %.0f B/op (op itself %.0f B)\n",
              with_commas(static_cast<double>(main_run.file_bytes)).c_str(), per_op, main_run.op_bytes_mean);
  std::printf("written to disk during ingest     %12s B = %.0f B/op (/proc/self/io write_bytes)\n",
              with_commas(static_cast<double>(main_run.written)).c_str(), written_per_op);
  std::printf("bench process RSS before ingest   %8.1f MiB (holds the minted ops)\n", mib(main_run.rss_before_kib));
  std::printf("bench process peak RSS in ingest  %8.1f MiB (VmHWM, reset before ingest)\n", mib(main_run.hwm_kib));
  std::printf("bench process RSS, store closed   %8.1f MiB\n", mib(main_run.rss_closed_kib));
  std::printf("idle node proxy (fresh process opens the %s-op store, reads stats):\n"
              "                                  RSS %.1f MiB, peak %.1f MiB, private %.1f MiB (village target <= 30 MiB idle: %s)\n",
              with_commas(static_cast<double>(n)).c_str(), mib(idle.rss_kib), mib(idle.hwm_kib), mib(idle.private_kib),
              quick ? "n/a in quick mode" : verdict(mib(idle.rss_kib) <= 30));
  std::printf("  then its authority state and a session's item list (%s authority ops, %s items):\n"
              "                                  RSS %.1f MiB, peak %.1f MiB, private %.1f MiB, of it heap %.1f MiB\n",
              with_commas(static_cast<double>(idle.authority_ops)).c_str(), with_commas(static_cast<double>(idle.items)).c_str(),
              mib(idle.busy_rss_kib), mib(idle.busy_hwm_kib), mib(idle.busy_private_kib), mib(idle.busy_anon_kib));
  if (idle_million) {
    std::printf("county proxy, 1,000,000 ops:      RSS %.1f MiB, private %.1f MiB (target <= 128 MiB private: %s)\n",
                mib(idle_million->rss_kib), mib(idle_million->private_kib), verdict(mib(idle_million->private_kib) <= 128));
    std::printf("  then its authority state and a session's item list (%s authority ops, %s items):\n"
                "                                  RSS %.1f MiB, peak %.1f MiB, private %.1f MiB, of it heap %.1f MiB (target: %s)\n",
                with_commas(static_cast<double>(idle_million->authority_ops)).c_str(),
                with_commas(static_cast<double>(idle_million->items)).c_str(), mib(idle_million->busy_rss_kib),
                mib(idle_million->busy_hwm_kib), mib(idle_million->busy_private_kib), mib(idle_million->busy_anon_kib),
                verdict(mib(idle_million->busy_private_kib) <= 128));
  }

  std::printf("\n== Scaling: ingest into a fresh store ==\n");
  for (const IngestRun& run : runs)
    std::printf("n = %9s  %8.2f s  %10s ops/s  %6.0f B/op on disk  %6.0f B/op written\n",
                with_commas(static_cast<double>(run.n)).c_str(), run.seconds, with_commas(run.ops_per_s).c_str(),
                static_cast<double>(run.file_bytes) / static_cast<double>(run.n),
                static_cast<double>(run.written) / static_cast<double>(run.n));
  double linearity = runs.back().ops_per_s / runs.front().ops_per_s;
  bool linear = linearity >= 0.8;
  std::printf("ops/s at n = %s is %.2f x that at n = %s: %s\n", with_commas(static_cast<double>(runs.back().n)).c_str(),
              linearity, with_commas(static_cast<double>(runs.front().n)).c_str(),
              linear ? "ingest stays linear (per-op cost within 20 %)" : "ingest is NOT linear: per-op cost grows with n");

  // 4. Sync: B holds the same n ops as A; then A gets new ops.
  std::printf("\n== Sync (n = %s shared, in-process pipes, real handshake + channel + reconciliation) ==\n",
              with_commas(static_cast<double>(n)).c_str());
  fs::path dir_b = work / "sync-b", dir_fresh = work / "sync-fresh";
  fs::create_directories(dir_b);
  fs::create_directories(dir_fresh);
  auto store_b = open_store(dir_b);
  ingest_batches(*store_b, ops, 0, n);
  auto store_fresh = open_store(dir_fresh);
  ingest_batches(*store_fresh, ops, 0, county.authority_prefix());
  const KeyPair& key_a = county.node_key(County::kNodeA);
  const KeyPair& key_b = county.node_key(County::kNodeB);
  const KeyPair& key_fresh = county.node_key(County::kNodeFresh);

  // New ops for A only. They continue the workload from op n: when the scaling went beyond n,
  // the same county is minted again (same seed, same first n ops) and continued from there.
  std::optional<County> again;
  County* source = &county;
  if (max_n != n) {
    again.emplace(42, photos);
    again->grow_to(n);
    again->mint().take();
    source = &*again;
  }
  std::vector<SyncRow> rows = difference_cases(*source, *store_a, key_a, *store_b, key_b);
  auto held_by_a = store_a->stats();
  if (!held_by_a) die(held_by_a.status().message());
  rows.push_back(sync_row("full sync into a fresh node", held_by_a->ops - county.authority_prefix(), *store_fresh, key_fresh,
                          *store_a, key_a));
  print_sync_rows(rows);
  const SyncRow& zero = rows.front();
  const SyncRow& scatter = rows[2];
  const SyncRow& full = rows.back();
  double full_ratio = full.error.empty() ? static_cast<double>(full.beyond_handshake()) / static_cast<double>(full.op_bytes()) : 0;
  std::printf("d=0: %d round trip(s), %llu B beyond the handshake, both ways together (target 1 round trip and <= 100 B each way: %s)\n",
              zero.a.reconcile_rounds, static_cast<unsigned long long>(zero.beyond_handshake()),
              zero.a.reconcile_rounds == 1 && zero.beyond_handshake() <= 100 ? "met"
              : zero.a.reconcile_rounds == 1 && zero.beyond_handshake() <= 200 ? "cannot tell per direction"
                                                                              : "MISSED");
  std::printf("d=1,000 scattered: %d round trips, %.1f B per difference beyond op bytes (target <= 4 and <= 100 B: %s)\n",
              scatter.a.reconcile_rounds, scatter.per_difference(),
              verdict(scatter.a.reconcile_rounds <= 4 && scatter.per_difference() <= 100));
  if (full.error.empty())
    std::printf("full sync: total beyond handshake / op bytes = %.3f, %d round trips, %.1f s (target <= 1.05: %s)\n", full_ratio,
                full.a.reconcile_rounds, full.seconds, verdict(full_ratio <= 1.05));
  else
    std::printf("full sync: FAILED (%s): target <= 1.05 MISSED\n", full.error.c_str());

  // The same cases at n = 1,000,000: A is the scaling run's store, B a copy of it.
  std::vector<SyncRow> million_rows;
  std::uint64_t million_d0_growth_kib = 0;
  if (million) {
    std::printf("\n== Sync (n = 1,000,000 shared: the scaling run's store and a copy of it) ==\n");
    fs::path dir_ma = work / "ingest-1000000", dir_mb = work / "sync-b-million";
    fs::create_directories(dir_mb);
    fs::copy_file(dir_ma / "data.mdb", dir_mb / "data.mdb");
    auto store_ma = open_store(dir_ma);
    auto store_mb = open_store(dir_mb);
    million_rows = difference_cases(county, *store_ma, key_a, *store_mb, key_b, &million_d0_growth_kib);
    print_sync_rows(million_rows);
    std::printf("peak RSS growth during the d=0 session, both ends in this process: %.1f MiB\n",
                mib(million_d0_growth_kib));
  }

  // JSON.
  json["ingest"] = {{"raw_verify_ops_per_s_1_thread", raw_rate},
                    {"raw_verify_ops_per_s_2_threads", raw2_rate},
                    {"store_ingest_ops_per_s", main_run.ops_per_s},
                    {"ratio_to_raw_verify", ratio},
                    {"store_ingest_ops_per_s_2_verify_threads", two_threads.ops_per_s},
                    {"ratio_to_raw_verify_2_verify_threads", ratio2},
                    {"mean_op_bytes", main_run.op_bytes_mean},
                    {"mint_signs_per_s", static_cast<double>(ops.size()) / mint_seconds}};
  json["footprint"] = {{"data_mdb_bytes", main_run.file_bytes},
                       {"store_bytes_per_op", per_op},
                       {"written_bytes", main_run.written},
                       {"written_bytes_per_op", written_per_op},
                       {"bench_rss_before_ingest_mib", mib(main_run.rss_before_kib)},
                       {"bench_peak_rss_ingest_mib", mib(main_run.hwm_kib)},
                       {"bench_rss_store_closed_mib", mib(main_run.rss_closed_kib)},
                       {"idle_probe_rss_mib", mib(idle.rss_kib)},
                       {"idle_probe_peak_rss_mib", mib(idle.hwm_kib)},
                       {"idle_probe_private_mib", mib(idle.private_kib)},
                       {"busy_probe_private_mib", mib(idle.busy_private_kib)},
                       {"busy_probe_peak_rss_mib", mib(idle.busy_hwm_kib)},
                       {"busy_probe_heap_mib", mib(idle.busy_anon_kib)}};
  if (idle_million)
    json["footprint"]["million_probe"] = {{"rss_mib", mib(idle_million->rss_kib)},
                                          {"private_mib", mib(idle_million->private_kib)},
                                          {"busy_private_mib", mib(idle_million->busy_private_kib)},
                                          {"busy_peak_rss_mib", mib(idle_million->busy_hwm_kib)},
                                          {"busy_heap_mib", mib(idle_million->busy_anon_kib)},
                                          {"authority_ops", idle_million->authority_ops},
                                          {"d0_session_peak_growth_mib_both_ends", mib(million_d0_growth_kib)}};
  for (const IngestRun& run : runs)
    json["scaling"].push_back({{"n", run.n},
                               {"seconds", run.seconds},
                               {"ops_per_s", run.ops_per_s},
                               {"store_bytes_per_op", static_cast<double>(run.file_bytes) / static_cast<double>(run.n)},
                               {"written_bytes_per_op", static_cast<double>(run.written) / static_cast<double>(run.n)}});
  json["scaling_linear"] = linear;
  json["sync"] = sync_json(rows);
  if (million) json["sync_million"] = sync_json(million_rows);
  json["targets"] = {{"ingest_ratio_1_core", ratio >= 0.85},
                     {"ingest_ratio_2_cores", ratio2 >= 1.6},
                     {"d0_one_round", zero.a.reconcile_rounds == 1},
                     {"d0_beyond_handshake_bytes", zero.beyond_handshake()},
                     {"d1000_scattered", scatter.a.reconcile_rounds <= 4 && scatter.per_difference() <= 100},
                     {"full_sync_ratio", full_ratio},
                     {"full_sync_error", full.error}};
  if (!json_path.empty()) {
    std::ofstream out(json_path);
    out << json.dump(2) << "\n";
    if (!out) die("cannot write " + json_path);
    std::printf("\nJSON written to %s\n", json_path.c_str());
  }

  store_a.reset();
  store_b.reset();
  store_fresh.reset();
  fs::remove_all(work);
  return 0;
}
