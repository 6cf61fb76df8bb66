// The hazard closed loop as a CRDT: scenario tests for the merge rules and a property test that
// every delivery order of concurrent histories gives one hazard state.
#include <catch2/catch.hpp>

#include <algorithm>
#include <random>
#include <set>

#include "crdt/hash.h"
#include "crdt/limits.h"
#include "node/map.h"
#include "node/store.h"
#include "support/fixtures.h"

using namespace anwang;
using anwang::test::OpFactory;
using anwang::test::TempDir;
using anwang::test::test_key;

namespace {

constexpr const char* kTownship = "150430100";
constexpr const char* kVillage = "150430100201";
constexpr const char* kGrid = "150430100201-03";

// A county with the people of the loop appointed, and helpers to write hazard steps with
// exactly the causal parents a scenario needs.
class Loop {
 public:
  KeyPair root = test_key(0), town = test_key(10), head = test_key(20), officer = test_key(21), member = test_key(30),
          fire = test_key(40), traffic = test_key(41);

  Loop() : store_(test::open_store(dir_.path())) {
    ingest(factory_.genesis());
    appoint(root, town, "township_station", kTownship);
    appoint(town, head, "village_head", kVillage);
    appoint(town, officer, "village_safety_officer", kVillage);
    appoint(head, member, "grid_member", kGrid);
    appoint(root, fire, "department", test::kCounty, {"fire"});
    appoint(root, traffic, "department", test::kCounty, {"traffic"});
  }

  node::Store& store() { return *store_; }
  OpFactory& factory() { return factory_; }
  const std::vector<Hash32>& authority_heads() const { return authority_heads_; }

  void ingest(const Op& op) {
    auto report = store_->ingest(std::vector<Bytes>{op.bytes});
    REQUIRE(report.is_ok());
    INFO(report->outcomes[0].detail);
    REQUIRE(report->outcomes[0].kind == node::IngestOutcome::Kind::kAccepted);
  }

  Op report(const KeyPair& by, const std::string& severity, const std::string& category = "fire") {
    HazardPayload h;
    h.action = "report";
    h.text = "仓库消防通道堵塞";
    h.category = category;
    h.severity = severity;
    Op op = step_op(by, authored_object_id(by.public_key(), next_seq(by)), h, {});
    return op;
  }
  // A step on `hazard` by `by` that has seen `seen` (ops on the hazard).
  Op step(const KeyPair& by, const Hash32& hazard, HazardPayload h, std::vector<Hash32> seen) {
    return step_op(by, hazard, std::move(h), std::move(seen));
  }
  static HazardPayload action(const std::string& name) {
    HazardPayload h;
    h.action = name;
    if (name == "escalate") h.to_level = "township";
    if (name == "assign") h.department = "fire";
    if (name == "fix" || name == "handled") h.photos = {Attachment{blake2b_256(as_bytes("photo")), 5, "image/jpeg"}};
    return h;
  }
  static HazardPayload verify(bool pass) {
    HazardPayload h = action("verify");
    h.pass = pass;
    return h;
  }

  HazardState state(const Hash32& hazard) {
    auto s = store_->hazard(hazard);
    REQUIRE(s.is_ok());
    return *s;
  }
  Verdict verdict(const Op& op) {
    auto v = store_->verdict(op);
    REQUIRE(v.is_ok());
    return *v;
  }

  void revoke(const KeyPair& by, const KeyPair& key) {
    Op op = factory_.make(by, kVillage, key_object_id(key.public_key()),
                          RevocationPayload{key.public_key(), "left", 0, std::nullopt}, authority_heads_);
    ingest(op);
    authority_heads_ = {op.id};
  }
  void appoint(const KeyPair& by, const KeyPair& to, const std::string& role, const std::string& scope,
               std::vector<std::string> categories = {}, std::optional<PublicKey> holder = std::nullopt) {
    Op op = factory_.make(by, scope, named_object_id("grant", to.public_key().hex() + role),
                          DelegationPayload{to.public_key(), role, categories, holder}, authority_heads_);
    ingest(op);
    authority_heads_ = {op.id};
  }

 private:
  std::uint64_t next_seq(const KeyPair& key) {
    auto latest = store_->author_head(key.public_key());
    REQUIRE(latest.is_ok());
    std::uint64_t seq = *latest ? (*latest)->seq : 0;
    return std::max(seq, issued_[key.public_key()]) + 1;
  }
  Op step_op(const KeyPair& by, const Hash32& hazard, HazardPayload h, std::vector<Hash32> seen) {
    seen.insert(seen.end(), authority_heads_.begin(), authority_heads_.end());
    Op op = factory_.make(by, kGrid, hazard, std::move(h), seen);
    issued_[by.public_key()] = op.fields.author_seq;
    return op;
  }

  TempDir dir_;
  std::unique_ptr<node::Store> store_;
  OpFactory factory_;
  std::vector<Hash32> authority_heads_;
  std::map<PublicKey, std::uint64_t> issued_;
};

}  // namespace

TEST_CASE("the full loop: escalate, receive, assign to fire, handled, rejected once, then archived", "[hazard]") {
  Loop loop;
  Op r = loop.report(loop.member, "general");
  loop.ingest(r);
  Hash32 id = r.fields.object;
  std::vector<Hash32> seen{r.id};
  auto next = [&](const KeyPair& by, HazardPayload h) {
    Op op = loop.step(by, id, std::move(h), seen);
    loop.ingest(op);
    INFO(op.id.short_hex() << " " << std::get<HazardPayload>(op.fields.payload).action << ": "
                           << loop.verdict(op).reason);
    REQUIRE(loop.verdict(op).effective);
    seen = {op.id};
    return op;
  };
  next(loop.head, Loop::action("escalate"));
  CHECK(loop.state(id).state == "escalated");
  CHECK(loop.state(id).level == ScopeLevel::kTownship);
  next(loop.town, Loop::action("receive"));
  next(loop.town, Loop::action("assign"));
  CHECK(loop.state(id).state == "assigned");
  next(loop.fire, Loop::action("handled"));
  next(loop.member, Loop::verify(false));
  HazardState rejected = loop.state(id);
  CHECK(rejected.state == "rejected");
  CHECK(rejected.returns == 1);
  next(loop.fire, Loop::action("handled"));
  next(loop.member, Loop::verify(true));
  HazardState archived = loop.state(id);
  CHECK(archived.state == "archived");
  CHECK(archived.returns == 1);
  CHECK(archived.assignees.size() == 1);
  CHECK(archived.history.size() == 8);
}

TEST_CASE("actions by roles that may not take them are inert", "[hazard]") {
  Loop loop;
  Op r = loop.report(loop.member, "general");
  loop.ingest(r);
  Hash32 id = r.fields.object;
  // A grid member assigning; a traffic officer handling a fire hazard; the village closing a
  // township-level hazard.
  Op member_assign = loop.step(loop.member, id, Loop::action("assign"), {r.id});
  loop.ingest(member_assign);
  CHECK_FALSE(loop.verdict(member_assign).effective);
  Op up = loop.step(loop.head, id, Loop::action("escalate"), {r.id});
  loop.ingest(up);
  Op receive = loop.step(loop.town, id, Loop::action("receive"), {up.id});
  loop.ingest(receive);
  Op assign = loop.step(loop.town, id, Loop::action("assign"), {receive.id});
  loop.ingest(assign);
  Op traffic = loop.step(loop.traffic, id, Loop::action("handled"), {assign.id});
  loop.ingest(traffic);
  Verdict traffic_verdict = loop.verdict(traffic);
  CHECK_FALSE(traffic_verdict.effective);
  CHECK_THAT(traffic_verdict.reason, Catch::Contains("traffic"));
  Op village_close = loop.step(loop.head, id, Loop::action("close"), {assign.id});
  loop.ingest(village_close);
  Verdict close_verdict = loop.verdict(village_close);
  CHECK_FALSE(close_verdict.effective);
  CHECK_THAT(close_verdict.reason, Catch::Contains("township"));
  CHECK(loop.state(id).state == "assigned");
}

TEST_CASE("a closure concurrent with an escalation leaves the hazard escalated", "[hazard][merge]") {
  Loop loop;
  Op r = loop.report(loop.member, "general");
  loop.ingest(r);
  Hash32 id = r.fields.object;
  Op fix = loop.step(loop.member, id, Loop::action("fix"), {r.id});
  loop.ingest(fix);
  // Concurrently: the reporter passes the fix; the village head escalates (not having seen it).
  Op pass = loop.step(loop.member, id, Loop::verify(true), {fix.id});
  Op up = loop.step(loop.head, id, Loop::action("escalate"), {r.id});
  loop.ingest(pass);
  loop.ingest(up);
  CHECK(loop.verdict(pass).effective);
  CHECK(loop.verdict(up).effective);
  CHECK(loop.state(id).state == "escalated");
}

TEST_CASE("an archive concurrent with a rejection leaves the hazard rejected", "[hazard][merge]") {
  Loop loop;
  Op r = loop.report(loop.member, "general");
  loop.ingest(r);
  Hash32 id = r.fields.object;
  HazardPayload n = Loop::action("notice");
  n.deadline_ms = test::kTestTimeMs + 86'400'000;
  n.responsible = "张三";
  n.acceptor = loop.officer.public_key();
  Op notice = loop.step(loop.head, id, n, {r.id});
  loop.ingest(notice);
  Op handled = loop.step(loop.head, id, Loop::action("handled"), {notice.id});
  loop.ingest(handled);
  Op pass = loop.step(loop.member, id, Loop::verify(true), {handled.id});   // the reporter passes
  Op fail = loop.step(loop.officer, id, Loop::verify(false), {handled.id}); // the acceptor rejects
  loop.ingest(fail);
  loop.ingest(pass);
  HazardState s = loop.state(id);
  CHECK(s.state == "rejected");
  CHECK(s.returns == 1);
}

TEST_CASE("a major hazard leaves the village only with two sign-offs by two persons", "[hazard][merge]") {
  Loop loop;
  Op r = loop.report(loop.member, "major", "chemicals");
  loop.ingest(r);
  Hash32 id = r.fields.object;
  CHECK(loop.state(id).state == "awaiting_signoff");
  Op one = loop.step(loop.head, id, Loop::action("signoff"), {r.id});
  loop.ingest(one);
  Op early = loop.step(loop.head, id, Loop::action("escalate"), {one.id});
  loop.ingest(early);
  CHECK_FALSE(loop.verdict(early).effective);
  Op same_person = loop.step(loop.head, id, Loop::action("signoff"), {r.id});
  loop.ingest(same_person);
  CHECK(loop.state(id).signoffs == 1);
  Op two = loop.step(loop.officer, id, Loop::action("signoff"), {r.id});  // concurrent with the first: same version
  loop.ingest(two);
  CHECK(loop.state(id).signoffs == 2);
  Op up = loop.step(loop.head, id, Loop::action("escalate"), {one.id, two.id, same_person.id});
  loop.ingest(up);
  CHECK(loop.verdict(up).effective);
  CHECK(loop.state(id).state == "escalated");
  // On-site fix is for general hazards only.
  Op fix = loop.step(loop.member, id, Loop::action("fix"), {up.id});
  loop.ingest(fix);
  CHECK_FALSE(loop.verdict(fix).effective);
}

TEST_CASE("a signer revoked concurrently with the sign-off puts the hazard back to awaiting sign-off",
          "[hazard][merge]") {
  Loop loop;
  Op r = loop.report(loop.member, "major", "chemicals");
  loop.ingest(r);
  Hash32 id = r.fields.object;
  std::vector<Hash32> before_revocation = loop.authority_heads();
  // The township revokes the safety officer's key as compromised (frontier: nothing of theirs
  // seen; only a compromised key is voided back to no frontier, crdt/AUTHORITY.md).
  Op revocation = loop.factory().make(loop.town, test::kCounty, key_object_id(loop.officer.public_key()),
                                      RevocationPayload{loop.officer.public_key(), "compromised", 0, std::nullopt},
                                      before_revocation);
  Op one = loop.step(loop.head, id, Loop::action("signoff"), {r.id});
  Op two = loop.step(loop.officer, id, Loop::action("signoff"), {r.id});
  Op up = loop.step(loop.head, id, Loop::action("escalate"), {one.id, two.id});
  loop.ingest(one);
  loop.ingest(two);
  loop.ingest(up);
  CHECK(loop.state(id).state == "escalated");
  loop.ingest(revocation);
  HazardState s = loop.state(id);
  CHECK_FALSE(loop.verdict(two).effective);
  CHECK_FALSE(loop.verdict(up).effective);
  CHECK(s.state == "awaiting_signoff");
  CHECK(s.level == ScopeLevel::kVillage);
}

TEST_CASE("concurrent assignments both stand and the higher office's is primary", "[hazard][merge]") {
  Loop loop;
  Op r = loop.report(loop.member, "general");
  loop.ingest(r);
  Hash32 id = r.fields.object;
  Op up = loop.step(loop.head, id, Loop::action("escalate"), {r.id});
  loop.ingest(up);
  Op receive = loop.step(loop.town, id, Loop::action("receive"), {up.id});
  loop.ingest(receive);
  HazardPayload to_fire = Loop::action("assign");
  HazardPayload to_traffic = Loop::action("assign");
  to_traffic.department = "traffic";
  Op a = loop.step(loop.town, id, to_fire, {receive.id});
  Op b = loop.step(loop.root, id, to_traffic, {receive.id});
  loop.ingest(a);
  loop.ingest(b);
  HazardState s = loop.state(id);
  REQUIRE(s.assignees.size() == 2);
  for (const auto& assignee : s.assignees) CHECK(assignee.primary == (assignee.department == "traffic"));
}

TEST_CASE("concurrent severity writes keep the higher; concurrent category writes keep both visible",
          "[hazard][merge]") {
  Loop loop;
  Op r = loop.report(loop.member, "general");
  loop.ingest(r);
  Hash32 id = r.fields.object;
  Op up = loop.step(loop.head, id, Loop::action("escalate"), {r.id});
  loop.ingest(up);
  HazardPayload major = Loop::action("reclassify");
  major.severity = "major";
  major.category = "chemicals";
  HazardPayload other = Loop::action("reclassify");
  other.category = "electrical";
  Op a = loop.step(loop.town, id, major, {up.id});
  Op b = loop.step(loop.root, id, other, {up.id});
  loop.ingest(a);
  loop.ingest(b);
  HazardState s = loop.state(id);
  CHECK(s.severity == "major");
  CHECK(s.category_conflicts.size() == 1);
  CHECK(std::find(s.flags.begin(), s.flags.end(), "conflict") != s.flags.end());
}

TEST_CASE("a store keeps evaluated hazards only under its current authority state", "[hazard]") {
  Loop loop;
  Op a = loop.report(loop.member, "general");
  loop.ingest(a);
  Op b = loop.report(loop.member, "general", "traffic");
  loop.ingest(b);
  CHECK(loop.state(a.fields.object).state == "reported");
  CHECK(loop.state(b.fields.object).state == "reported");
  auto before = loop.store().authority();
  REQUIRE(before.is_ok());
  std::weak_ptr<const AuthorityState> old_state = *before;
  std::size_t old_size = (*before)->graph().size();
  before = Status::not_found("dropped");
  // A new appointment: the next read computes a new state. Hazard b, not read again, must not
  // keep the old state (and its authority graph) alive. (Held by nobody else, the old state is
  // extended in place and so becomes the new one; the cache's entries hold no state.)
  loop.appoint(loop.root, test_key(50), "department", test::kCounty, {"traffic"});
  CHECK(loop.state(a.fields.object).state == "reported");
  auto after = loop.store().authority();
  REQUIRE(after.is_ok());
  CHECK((old_state.expired() || old_state.lock() == *after));
  CHECK((*after)->graph().size() == old_size + 1);
  CHECK(loop.state(b.fields.object).state == "reported");
}

namespace {

// Delivers `arriving` to a store holding `setup`, in `orders` shuffled orders and batches of one
// to three, reading hazard `id` after every batch: each read must equal a fresh store's single
// read of the same ops. Returns the states the orders ended in.
std::set<std::string> reads_agree_with_fresh_stores(const std::vector<Bytes>& setup, const std::vector<Bytes>& arriving,
                                                    const Hash32& id, std::uint64_t seed, int orders) {
  auto fresh_read = [&](const std::vector<Bytes>& delivered) -> std::optional<HazardState> {
    TempDir dir;
    auto store = test::open_store(dir.path());
    test::ingest_all(*store, setup, 64);
    test::ingest_all(*store, delivered, 64);
    auto s = store->hazard(id);
    if (!s.is_ok()) {
      REQUIRE(s.status().code() == Status::Code::kNotFound);
      return std::nullopt;
    }
    return *s;
  };
  std::mt19937_64 rng(seed);
  std::set<std::string> final_states;
  for (int order = 0; order < orders; ++order) {
    std::vector<Bytes> shuffled = arriving;
    std::shuffle(shuffled.begin(), shuffled.end(), rng);
    TempDir dir;
    auto store = test::open_store(dir.path());
    test::ingest_all(*store, setup, 64);
    std::vector<Bytes> delivered;
    std::size_t batch = 1 + rng() % 3;
    for (std::size_t at = 0; at < shuffled.size(); at += batch) {
      std::size_t end = std::min(shuffled.size(), at + batch);
      std::vector<Bytes> part(shuffled.begin() + static_cast<std::ptrdiff_t>(at), shuffled.begin() + static_cast<std::ptrdiff_t>(end));
      test::ingest_all(*store, part, batch);
      delivered.insert(delivered.end(), part.begin(), part.end());
      auto read = store->hazard(id);
      std::optional<HazardState> expected = fresh_read(delivered);
      CAPTURE(order, at);
      REQUIRE(read.is_ok() == expected.has_value());
      if (!expected) continue;
      CHECK(read->state == expected->state);
      CHECK(read->level == expected->level);
      CHECK(read->signoffs == expected->signoffs);
      REQUIRE(read->history.size() == expected->history.size());
      for (std::size_t i = 0; i < read->history.size(); ++i) {
        CHECK(read->history[i].verdict.effective == expected->history[i].verdict.effective);
        CHECK(read->history[i].verdict.reason == expected->history[i].verdict.reason);
      }
    }
    auto last = store->hazard(id);
    REQUIRE(last.is_ok());
    final_states.insert(last->state);
  }
  return final_states;
}

std::vector<Bytes> ops_held(node::Store& store) {
  std::vector<Bytes> ops;
  REQUIRE(store.for_each_op([&](const Op& op) { ops.push_back(op.bytes); }).is_ok());
  return ops;
}

}  // namespace

TEST_CASE("hazard reads between arrivals of authority ops agree with a store that never read it", "[hazard][property]") {
  // A store keeps evaluated hazards across a new authority state when that state only extends
  // the old one (a new appointment); a revocation starts over. Here both arrive, shuffled among
  // the hazard's steps, and the hazard is read after every batch.
  Loop loop;
  std::vector<Bytes> setup = ops_held(loop.store());
  Op r = loop.report(loop.member, "major", "chemicals");
  Hash32 id = r.fields.object;
  // The township revokes the safety officer's key as compromised, concurrently with the
  // officer's sign-off.
  Op revocation = loop.factory().make(loop.town, test::kCounty, key_object_id(loop.officer.public_key()),
                                      RevocationPayload{loop.officer.public_key(), "compromised", 0, std::nullopt},
                                      loop.authority_heads());
  Op one = loop.step(loop.head, id, Loop::action("signoff"), {r.id});
  Op two = loop.step(loop.officer, id, Loop::action("signoff"), {r.id});
  Op up = loop.step(loop.head, id, Loop::action("escalate"), {one.id, two.id});
  // A new officer is appointed and signs off; the head escalates again on that.
  KeyPair second = test_key(22);
  loop.appoint(loop.town, second, "village_safety_officer", kVillage);
  Bytes appointment;
  REQUIRE(loop.store().for_each_op([&](const Op& op) {
    if (const auto* d = std::get_if<DelegationPayload>(&op.fields.payload); d && d->grantee == second.public_key())
      appointment = op.bytes;
  }).is_ok());
  REQUIRE_FALSE(appointment.empty());
  Op three = loop.step(second, id, Loop::action("signoff"), {one.id});
  Op again = loop.step(loop.head, id, Loop::action("escalate"), {one.id, three.id});
  std::vector<Bytes> arriving{r.bytes, revocation.bytes, one.bytes, two.bytes, up.bytes, appointment, three.bytes, again.bytes};
  // Every order ends the same: the revoked officer's sign-off and the first escalation are void,
  // the new officer's sign-off and the second escalation stand.
  CHECK(reads_agree_with_fresh_stores(setup, arriving, id, 77, 12) == std::set<std::string>{"escalated"});
}

TEST_CASE("hazard reads between arrivals of an equivocation and its reaffirmation agree with a fresh store",
          "[hazard][property]") {
  // An equivocation changes no authority op, only the list of equivocated keys: the judgments of
  // steps already read must still be made again. The village head signs off and escalates, and
  // also signs a second op numbered like the sign-off (proof of equivocation), which voids both
  // steps; the township reaffirms the head, and the head's sign-off and escalation made after the
  // reaffirmation stand.
  Loop loop;
  Op r = loop.report(loop.member, "major", "chemicals");
  Hash32 id = r.fields.object;
  Op one = loop.step(loop.head, id, Loop::action("signoff"), {r.id});
  Op two = loop.step(loop.officer, id, Loop::action("signoff"), {r.id});
  Op up = loop.step(loop.head, id, Loop::action("escalate"), {one.id, two.id});
  OpFields fields = one.fields;
  fields.payload = NotePayload{"the same number twice"};
  fields.object = named_object_id("note", "twin");
  Op twin = loop.factory().make_raw(loop.head, fields);
  Op reaffirmation = loop.factory().make(loop.town, test::kCounty, key_object_id(loop.head.public_key()),
                                         ReaffirmationPayload{loop.head.public_key(), one.fields.author_seq},
                                         loop.authority_heads());
  std::vector<Bytes> setup = ops_held(loop.store());
  // After the reaffirmation (in their causal past): a new sign-off and escalation by the head.
  Op one_again = loop.factory().make(loop.head, kGrid, id, Loop::action("signoff"), {r.id, reaffirmation.id});
  Op up_again = loop.factory().make(loop.head, kGrid, id, Loop::action("escalate"), {one_again.id, two.id});
  std::vector<Bytes> steps{r.bytes, one.bytes, two.bytes, up.bytes};
  // Without the twin the first escalation stands; with it, the head's sign-off and escalation are
  // void and the major hazard awaits its sign-offs again, in every order: the equivocation matters.
  CHECK(reads_agree_with_fresh_stores(setup, steps, id, 5, 1) == std::set<std::string>{"escalated"});
  std::vector<Bytes> with_twin = steps;
  with_twin.push_back(twin.bytes);
  CHECK(reads_agree_with_fresh_stores(setup, with_twin, id, 6, 6) == std::set<std::string>{"awaiting_signoff"});
  // Everything, in any order: the steps made after the reaffirmation carry the hazard up.
  std::vector<Bytes> arriving = with_twin;
  arriving.insert(arriving.end(), {reaffirmation.bytes, one_again.bytes, up_again.bytes});
  CHECK(reads_agree_with_fresh_stores(setup, arriving, id, 78, 12) == std::set<std::string>{"escalated"});
}

TEST_CASE("an overdue flag comes from the newest op's time, not a wall clock", "[hazard]") {
  Loop loop;
  Op r = loop.report(loop.member, "general");
  loop.ingest(r);
  Hash32 id = r.fields.object;
  HazardPayload n = Loop::action("notice");
  n.deadline_ms = test::kTestTimeMs + 1000;
  n.responsible = "李四";
  Op notice = loop.step(loop.head, id, n, {r.id});
  loop.ingest(notice);
  auto flags = [&] { return loop.state(id).flags; };
  CHECK(std::find(flags().begin(), flags().end(), "overdue") == flags().end());
  // Some later op anywhere (here: a note two days on) moves "now" past the deadline.
  Op later = loop.factory().make(loop.root, test::kCounty, named_object_id("note", "later"), NotePayload{"later"}, {},
                                 (test::kTestTimeMs + 2 * 86'400'000ull) << 16);
  loop.ingest(later);
  auto now = flags();
  CHECK(std::find(now.begin(), now.end(), "overdue") != now.end());
}

namespace {

// Independent check of the closure law on a history: archived iff an effective closure follows
// every effective escalation, rejection and new evidence.
bool closure_law_holds(const std::vector<Op>& ops, const HazardState& s) {
  std::map<Hash32, std::set<Hash32>> past;
  for (const Op& op : ops) {  // ops are in causal order
    std::set<Hash32>& mine = past[op.id];
    for (const Hash32& parent : op.fields.parents)
      if (past.count(parent)) {
        mine.insert(parent);
        mine.insert(past[parent].begin(), past[parent].end());
      }
    if (op.fields.author_prev && past.count(*op.fields.author_prev)) {
      mine.insert(*op.fields.author_prev);
      mine.insert(past[*op.fields.author_prev].begin(), past[*op.fields.author_prev].end());
    }
  }
  std::map<Hash32, bool> effective;
  for (const HazardStep& step : s.history) effective[step.id] = step.verdict.effective;
  bool closed = false;
  for (const Op& c : ops) {
    const auto& h = std::get<HazardPayload>(c.fields.payload);
    if (!effective[c.id] || !((h.action == "verify" && h.pass) || h.action == "close")) continue;
    bool follows_all = true;
    for (const Op& e : ops) {
      const auto& g = std::get<HazardPayload>(e.fields.payload);
      bool reopener = g.action == "escalate" || (g.action == "verify" && !g.pass) || (g.action == "comment" && !g.photos.empty());
      if (effective[e.id] && reopener && !past[c.id].count(e.id)) follows_all = false;
    }
    closed = closed || follows_all;
  }
  return closed == (s.state == "archived");
}

}  // namespace

TEST_CASE("random concurrent hazard histories give one state in every delivery order", "[hazard][property]") {
  std::mt19937_64 rng(4242);
  std::map<std::string, int> final_states;
  std::size_t effective_steps = 0;
  for (int round = 0; round < 25; ++round) {
    Loop loop;
    std::vector<const KeyPair*> people{&loop.root, &loop.town, &loop.head, &loop.officer, &loop.member, &loop.fire};
    Op r = loop.report(loop.member, rng() % 4 == 0 ? "major" : "general");
    loop.ingest(r);
    Hash32 id = r.fields.object;
    std::vector<Op> ops{r};
    static const std::vector<std::string> kActions = {"fix", "notice", "escalate", "receive", "assign", "handled",
                                                      "verify", "verify", "reclassify", "comment", "signoff",
                                                      "list_supervision", "stop_work", "close", "escalate", "handled"};
    for (int i = 0; i < 30; ++i) {
      // An author acting on a random earlier moment: one or two of the ops so far.
      std::vector<Hash32> seen{ops[rng() % ops.size()].id};
      if (rng() % 3 == 0) seen.push_back(ops[rng() % ops.size()].id);
      std::sort(seen.begin(), seen.end());
      seen.erase(std::unique(seen.begin(), seen.end()), seen.end());
      HazardPayload h = Loop::action(kActions[rng() % kActions.size()]);
      if (h.action == "verify") h.pass = rng() % 2 == 0;
      if (h.action == "escalate" && rng() % 2) h.to_level = "county";
      if (h.action == "notice") {
        h.deadline_ms = test::kTestTimeMs + rng() % 1000;
        h.responsible = "王五";
      }
      if (h.action == "reclassify") h.severity = rng() % 2 ? "major" : "general";
      if (h.action == "comment" && rng() % 2) h.photos = {Attachment{blake2b_256(as_bytes("e")), 1, "image/png"}};
      Op op = loop.step(*people[rng() % people.size()], id, h, seen);
      loop.ingest(op);
      ops.push_back(op);
    }
    HazardState expected = loop.state(id);
    final_states[expected.state]++;
    for (const HazardStep& step : expected.history) effective_steps += step.verdict.effective;
    CHECK(closure_law_holds(ops, expected));
    std::vector<Bytes> bytes;
    for (const Op& op : ops) bytes.push_back(op.bytes);
    for (int order = 0; order < 3; ++order) {
      std::vector<Bytes> shuffled = bytes;
      for (int i = 0; i < 5; ++i) shuffled.push_back(bytes[rng() % bytes.size()]);
      std::shuffle(shuffled.begin(), shuffled.end(), rng);
      TempDir dir;
      auto store = test::open_store(dir.path());
      std::vector<Bytes> setup;
      std::vector<Op> setup_ops;
      loop.store().for_each_op([&](const Op& op) {
        if (!std::holds_alternative<HazardPayload>(op.fields.payload)) setup.push_back(op.bytes);
      });
      test::ingest_all(*store, setup, 64);
      // The hazard is read after every batch, so the store's cached evaluations of earlier
      // states are there to be (wrongly) reused when the last one is read.
      std::size_t batch = 1 + rng() % 8;
      for (std::size_t at = 0; at < shuffled.size(); at += batch) {
        std::vector<Bytes> part(shuffled.begin() + static_cast<std::ptrdiff_t>(at),
                                shuffled.begin() + static_cast<std::ptrdiff_t>(std::min(shuffled.size(), at + batch)));
        test::ingest_all(*store, part, batch);
        auto partial = store->hazard(id);
        REQUIRE((partial.is_ok() || partial.status().code() == Status::Code::kNotFound));
      }
      auto s = store->hazard(id);
      REQUIRE(s.is_ok());
      CAPTURE(round, order);
      CHECK(s->state == expected.state);
      CHECK(s->severity == expected.severity);
      CHECK(s->level == expected.level);
      CHECK(s->category == expected.category);
      CHECK(s->returns == expected.returns);
      CHECK(s->signoffs == expected.signoffs);
      CHECK(s->assignees.size() == expected.assignees.size());
      REQUIRE(s->history.size() == expected.history.size());
      for (std::size_t i = 0; i < s->history.size(); ++i)
        CHECK(s->history[i].verdict.effective == expected.history[i].verdict.effective);
    }
  }
  // The histories reach more than one outcome, and many steps take effect.
  CAPTURE(final_states.size(), effective_steps);
  CHECK(final_states.size() >= 3);
  CHECK(effective_steps > 100);
}

// Store::author judges a hazard or record step before it signs it, and refuses an inert draft
// unsigned. Here each draft refused that way is authored again with kEvenIfNotEffective: signed
// and stored, it must be inert for the reason the refusal gave. Each draft accepted must be
// effective. Authors with and without the roles, hazards in every state, notes on hazards (which
// once made the judgment before signing see steps the stored op does not), tips, and a
// revocation halfway (the simulator's commonest refusal is a role lost to one).
TEST_CASE("a draft refused before it is signed is inert, for the same reason, once signed", "[hazard][property]") {
  std::mt19937_64 rng(7707);
  static const std::vector<std::string> kActions = {"fix",     "notice",     "escalate", "receive",   "assign",
                                                    "handled", "verify",     "verify",   "reclassify", "comment",
                                                    "signoff", "stop_work",  "close",    "escalate",  "list_supervision"};
  std::size_t refused = 0, accepted = 0, record_refusals = 0;
  std::set<std::string> reasons;
  for (int round = 0; round < 4; ++round) {
    Loop loop;
    KeyPair outsider = test_key(90);
    // A grid member of another grid: a key no office ever named is refused at ingest (issue 20),
    // so the outsider holds a role that covers none of these steps.
    loop.appoint(loop.head, outsider, "grid_member", "150430100201-09");
    std::vector<const KeyPair*> people{&loop.root, &loop.town,   &loop.head,    &loop.officer,
                                       &loop.member, &loop.fire, &loop.traffic, &outsider};
    ManualClock wall(test::kTestTimeMs + 10'000);
    std::vector<Hash32> hazards, tips;
    for (int i = 0; i < 80; ++i) {
      wall.advance_ms(1000);
      if (i == 40) loop.revoke(loop.head, loop.member);
      const KeyPair& by = *people[rng() % people.size()];
      node::OpDraft draft;
      draft.scope = kGrid;
      if (!hazards.empty() && rng() % 8 == 0) {
        // A note on a hazard (`anwang note add --object`): an op of the hazard's object that is
        // not a hazard step, so it is no link between the steps before and after it.
        node::OpDraft note{kGrid, hazards[rng() % hazards.size()], NotePayload{"现场照片已补"}, {},
                           node::DraftTarget::kExisting, node::DraftAdmit::kEvenIfNotEffective};
        REQUIRE(loop.store().author(by, note, wall).is_ok());
        continue;
      }
      bool tip = rng() % 5 == 0;
      if (tip) {
        if (tips.empty() || rng() % 3 == 0) {
          draft.payload = RecordPayload{"tip", "enter", {{"text", "有人私存烟花"}}, {}, {}};
          draft.target = node::DraftTarget::kNewRecord;
        } else {
          std::vector<std::pair<std::string, std::string>> fields{{"outcome", "dismissed"}};
          if (rng() % 2) fields.emplace_back("reason", "查无此事");
          draft.payload = RecordPayload{"tip", "verify", fields, {}, {}};
          draft.object = tips[rng() % tips.size()];
        }
      } else if (hazards.empty() || rng() % 6 == 0) {
        HazardPayload h;
        h.action = "report";
        h.text = "仓库消防通道堵塞";
        h.category = rng() % 2 ? "fire" : "traffic";
        h.severity = rng() % 4 == 0 ? "major" : "general";
        draft.payload = h;
        draft.target = node::DraftTarget::kNewRecord;
      } else {
        HazardPayload h = Loop::action(kActions[rng() % kActions.size()]);
        if (h.action == "verify") h.pass = rng() % 2 == 0;
        if (h.action == "escalate" && rng() % 2) h.to_level = "county";
        if (h.action == "assign" && rng() % 2) h.department = "traffic";
        if (h.action == "notice") {
          h.deadline_ms = test::kTestTimeMs + 86'400'000;
          h.responsible = "王五";
        }
        if (h.action == "reclassify") h.severity = "major";
        draft.payload = h;
        draft.object = hazards[rng() % hazards.size()];
      }
      auto remember = [&](const Op& op) {
        if (draft.target != node::DraftTarget::kNewRecord) return;
        (tip ? tips : hazards).push_back(op.fields.object);
      };
      auto op = loop.store().author(by, draft, wall);
      if (op.is_ok()) {
        ++accepted;
        CHECK(loop.verdict(*op).effective);
        remember(*op);
        continue;
      }
      REQUIRE(op.status().code() == Status::Code::kInvalidArgument);
      ++refused;
      if (tip) ++record_refusals;
      draft.admit = node::DraftAdmit::kEvenIfNotEffective;
      auto signed_op = loop.store().author(by, draft, wall);
      REQUIRE(signed_op.is_ok());
      Verdict verdict = loop.verdict(*signed_op);
      CHECK_FALSE(verdict.effective);
      CHECK(op.status().message() == "refused, nothing written: " + verdict.reason);
      reasons.insert(verdict.reason.substr(0, 24));
    }
  }
  CAPTURE(accepted, refused, record_refusals, reasons.size());
  CHECK(accepted > 60);
  CHECK(refused > 60);
  CHECK(record_refusals > 5);
  CHECK(reasons.size() > 8);
}

// Issue 19, class 1: a note on a hazard's object (`anwang note add --object HAZARD`) by anyone —
// an outsider with no role (inert), a grid member, another village's head — becomes a head of
// the object, and the next step names it as its parent. The note links the steps before it to
// those after it; it never cuts the chain, so the loop goes on and every step stays effective.
TEST_CASE("notes on a hazard by anyone never stop its steps", "[hazard][class1]") {
  Loop loop;
  KeyPair outsider = test_key(91);
  // A grid member of another grid, whose notes here are inert: a key no office ever named is
  // refused at ingest (issue 20), as the first check below shows.
  loop.appoint(loop.head, outsider, "grid_member", "150430100201-09");
  ManualClock wall(test::kTestTimeMs + 10'000);
  auto author = [&](const KeyPair& by, const Hash32& object, Payload payload,
                    node::DraftAdmit admit = node::DraftAdmit::kEffectiveOnly) {
    wall.advance_ms(1000);
    node::OpDraft draft{kGrid, object, std::move(payload), {}, node::DraftTarget::kExisting, admit};
    auto op = loop.store().author(by, draft, wall);
    INFO(op.status().message());
    REQUIRE(op.is_ok());
    return *op;
  };
  HazardPayload report;
  report.action = "report";
  report.text = "仓库消防通道堵塞";
  report.category = "fire";
  report.severity = "general";
  node::OpDraft first{kGrid, Hash32{}, report, {}, node::DraftTarget::kNewRecord};
  auto reported = loop.store().author(loop.member, first, wall);
  REQUIRE(reported.is_ok());
  Hash32 id = reported->fields.object;
  std::vector<Op> notes;
  auto note_and_step = [&](const KeyPair& noter, const KeyPair& by, HazardPayload h, const std::string& state) {
    notes.push_back(author(noter, id, NotePayload{"看过了"}, node::DraftAdmit::kEvenIfNotEffective));
    Op op = author(by, id, std::move(h));
    CHECK(loop.verdict(op).effective);
    CHECK(loop.state(id).state == state);
  };
  // A key no office ever named cannot even write a note: refused before anything is written.
  KeyPair nobody = test_key(92);
  node::OpDraft by_nobody{kGrid, id, NotePayload{"路过"}, {}, node::DraftTarget::kExisting,
                          node::DraftAdmit::kEvenIfNotEffective};
  auto refused = loop.store().author(nobody, by_nobody, wall);
  REQUIRE_FALSE(refused.is_ok());
  CHECK_THAT(refused.status().message(), Catch::Contains("holds no role, root key or enrolment"));
  note_and_step(outsider, loop.head, Loop::action("escalate"), "escalated");
  note_and_step(loop.member, loop.town, Loop::action("receive"), "received");
  note_and_step(outsider, loop.town, Loop::action("assign"), "assigned");
  note_and_step(loop.head, loop.fire, Loop::action("handled"), "handled");
  note_and_step(outsider, loop.member, Loop::verify(true), "archived");
  CHECK_FALSE(loop.verdict(notes[0]).effective);  // the outsider's notes are inert, and harmless
  HazardState s = loop.state(id);
  CHECK(s.history.size() == 6);  // the notes are not steps of the hazard
  for (const HazardStep& step : s.history) CHECK(step.verdict.effective);
  // A fresh store that receives the same ops in another order agrees.
  TempDir other_dir;
  auto other = test::open_store(other_dir.path());
  std::vector<Bytes> all;
  REQUIRE(loop.store().for_each_op([&](const Op& op) { all.push_back(op.bytes); }).is_ok());
  std::reverse(all.begin(), all.end());
  test::ingest_all(*other, all, 3);
  auto there = other->hazard(id);
  REQUIRE(there.is_ok());
  CHECK(there->state == "archived");
}

// Issue 19, class 3: a key that signs twice with one number under the object ids of earlier
// releases makes two reports on one object. The earliest stands; the other is inert, so the
// hazard keeps one report's text and category, and its state does not go back.
TEST_CASE("two reports on one object: the earliest stands, the other is inert", "[hazard][class3]") {
  Loop loop;
  Op first = loop.report(loop.member, "general", "fire");
  loop.ingest(first);
  Hash32 id = first.fields.object;
  Op up = loop.step(loop.head, id, Loop::action("escalate"), {first.id});
  loop.ingest(up);
  Op receive = loop.step(loop.town, id, Loop::action("receive"), {up.id});
  loop.ingest(receive);
  // The same key, the same number, the same (legacy) object id, other content.
  HazardPayload h;
  h.action = "report";
  h.text = "配电箱裸露";
  h.category = "electrical";
  h.severity = "general";
  OpFields twin = first.fields;
  twin.payload = h;
  twin.hlc = receive.fields.hlc + 5;
  Op second = loop.factory().make_raw(loop.member, twin);
  loop.ingest(second);
  HazardState s = loop.state(id);
  CHECK(s.state == "received");
  CHECK(s.description == "仓库消防通道堵塞");
  CHECK(s.category == "fire");
  CHECK_FALSE(loop.verdict(second).effective);
  CHECK_THAT(loop.verdict(second).reason, Catch::Contains("created this hazard first"));
}

namespace {

// A general fire hazard reported by the grid member, escalated, received and assigned to the fire
// department; returns the hazard and the assignment (the step the next ones follow).
std::pair<Hash32, Op> assigned_to_fire(Loop& loop) {
  Op r = loop.report(loop.member, "general", "fire");
  loop.ingest(r);
  Hash32 id = r.fields.object;
  Op up = loop.step(loop.head, id, Loop::action("escalate"), {r.id});
  loop.ingest(up);
  Op receive = loop.step(loop.town, id, Loop::action("receive"), {up.id});
  loop.ingest(receive);
  Op assign = loop.step(loop.town, id, Loop::action("assign"), {receive.id});  // to fire
  loop.ingest(assign);
  return {id, assign};
}

}  // namespace

// Issue 19, class 5: a department's closing step concurrent with a reclassification out of its
// categories is void, and the hazard goes to the new category's department.
TEST_CASE("a department's handling concurrent with a reclassification out of its categories is void",
          "[hazard][class5]") {
  Loop loop;
  auto [id, assign] = assigned_to_fire(loop);
  // On one node the fire department handles it and the reporter re-inspects and archives; on
  // another, at the same time, the township reclassifies it to traffic.
  Op handled = loop.step(loop.fire, id, Loop::action("handled"), {assign.id});
  Op pass = loop.step(loop.member, id, Loop::verify(true), {handled.id});
  HazardPayload to_traffic = Loop::action("reclassify");
  to_traffic.category = "traffic";
  Op reclassify = loop.step(loop.town, id, to_traffic, {assign.id});
  for (const Op* op : {&handled, &pass, &reclassify}) loop.ingest(*op);
  HazardState s = loop.state(id);
  CHECK(s.category == "traffic");
  CHECK(s.state == "assigned");
  CHECK_FALSE(loop.verdict(handled).effective);
  CHECK_THAT(loop.verdict(handled).reason, Catch::Contains("reclassified to 'traffic'"));
  CHECK_FALSE(loop.verdict(pass).effective);
  // The hazard went to the traffic department, which may now handle it; fire no longer may.
  REQUIRE(s.assignees.size() == 2);
  CHECK(s.assignees[0].superseded);
  CHECK(s.assignees[1].department == "traffic");
  CHECK(s.assignees[1].primary);
  Op traffic = loop.step(loop.traffic, id, Loop::action("handled"), {handled.id, pass.id, reclassify.id});
  loop.ingest(traffic);
  CHECK(loop.verdict(traffic).effective);
  CHECK(loop.state(id).state == "handled");
  // A reclassification made after seeing the handling leaves it standing.
  Loop later_loop;
  auto [id2, assign2] = assigned_to_fire(later_loop);
  Op handled2 = later_loop.step(later_loop.fire, id2, Loop::action("handled"), {assign2.id});
  later_loop.ingest(handled2);
  Op after = later_loop.step(later_loop.town, id2, to_traffic, {handled2.id});
  later_loop.ingest(after);
  CHECK(later_loop.verdict(handled2).effective);
  CHECK(later_loop.state(id2).state == "handled");
}

// Issue 19, class 5: whoever handled a hazard does not re-inspect it; the reporter's own on-site
// fix stays self-archivable.
TEST_CASE("re-inspection is by someone other than who handled the hazard", "[hazard][class5]") {
  Loop loop;
  auto [id, assign] = assigned_to_fire(loop);
  Op handled = loop.step(loop.fire, id, Loop::action("handled"), {assign.id});
  loop.ingest(handled);
  Op own = loop.step(loop.fire, id, Loop::verify(true), {handled.id});
  loop.ingest(own);
  CHECK_FALSE(loop.verdict(own).effective);
  CHECK_THAT(loop.verdict(own).reason, Catch::Contains("someone other than who handled"));
  Op town_handled = loop.step(loop.town, id, Loop::action("handled"), {own.id});
  loop.ingest(town_handled);
  Op town_verify = loop.step(loop.town, id, Loop::verify(true), {town_handled.id});
  loop.ingest(town_verify);
  CHECK_FALSE(loop.verdict(town_verify).effective);
  Op reporter = loop.step(loop.member, id, Loop::verify(true), {town_verify.id});
  loop.ingest(reporter);
  CHECK(loop.verdict(reporter).effective);
  CHECK(loop.state(id).state == "archived");
  // On-site fixes: the reporter's own is self-archivable; the safety officer's is not.
  Op r2 = loop.report(loop.member, "general", "fire");
  loop.ingest(r2);
  Op fix = loop.step(loop.member, r2.fields.object, Loop::action("fix"), {r2.id});
  loop.ingest(fix);
  Op self = loop.step(loop.member, r2.fields.object, Loop::verify(true), {fix.id});
  loop.ingest(self);
  CHECK(loop.verdict(self).effective);
  Op r3 = loop.report(loop.member, "general", "fire");
  loop.ingest(r3);
  Op officer_fix = loop.step(loop.officer, r3.fields.object, Loop::action("fix"), {r3.id});
  loop.ingest(officer_fix);
  Op officer_verify = loop.step(loop.officer, r3.fields.object, Loop::verify(true), {officer_fix.id});
  loop.ingest(officer_verify);
  CHECK_FALSE(loop.verdict(officer_verify).effective);
  Op member_verify = loop.step(loop.member, r3.fields.object, Loop::verify(true), {officer_verify.id});
  loop.ingest(member_verify);
  CHECK(loop.verdict(member_verify).effective);
}

// Issue 19, class 6: 双签 needs two independent signers — two persons (holders), neither appointed
// to the signing office by the other; a person's second sign-off is inert.
TEST_CASE("two sign-offs count only from two persons, neither appointed by the other", "[hazard][class6]") {
  Loop loop;
  KeyPair head_phone = test_key(22), head_deputy = test_key(23);
  // The head's phone: a second key of the same person (the grant names the head as its holder).
  loop.appoint(loop.town, head_phone, "village_safety_officer", kVillage, {}, loop.head.public_key());
  // A second key the head appoints himself as safety officer.
  loop.appoint(loop.head, head_deputy, "village_safety_officer", kVillage);
  Op r = loop.report(loop.member, "major", "chemicals");
  loop.ingest(r);
  Hash32 id = r.fields.object;
  Op head = loop.step(loop.head, id, Loop::action("signoff"), {r.id});
  loop.ingest(head);
  Op again = loop.step(loop.head, id, Loop::action("signoff"), {head.id});
  loop.ingest(again);
  CHECK_FALSE(loop.verdict(again).effective);
  CHECK_THAT(loop.verdict(again).reason, Catch::Contains("already signed off"));
  Op phone = loop.step(head_phone, id, Loop::action("signoff"), {head.id});
  loop.ingest(phone);
  CHECK_FALSE(loop.verdict(phone).effective);  // the same person, on his phone
  CHECK_THAT(loop.verdict(phone).reason, Catch::Contains("already signed off"));
  CHECK(loop.state(id).signoffs == 1);
  Op deputy = loop.step(head_deputy, id, Loop::action("signoff"), {r.id});
  loop.ingest(deputy);
  CHECK(loop.verdict(deputy).effective);
  CHECK(loop.state(id).signoffs == 1);  // appointed by the other signer: not independent
  Op early = loop.step(loop.head, id, Loop::action("escalate"), {head.id, again.id, phone.id, deputy.id});
  loop.ingest(early);
  CHECK_FALSE(loop.verdict(early).effective);
  CHECK_THAT(loop.verdict(early).reason, Catch::Contains("neither appointed by the other"));
  // The safety officer appointed by the township is independent of the head.
  Op officer = loop.step(loop.officer, id, Loop::action("signoff"), {r.id});
  loop.ingest(officer);
  CHECK(loop.state(id).signoffs == 2);
  Op up = loop.step(loop.head, id, Loop::action("escalate"), {head.id, again.id, phone.id, deputy.id, early.id, officer.id});
  loop.ingest(up);
  CHECK(loop.verdict(up).effective);
}

TEST_CASE("a hazard's location: the report's, corrected by a later comment, concurrent ones by time", "[hazard][map]") {
  Loop loop;
  HazardPayload h = Loop::action("report");
  h.text = "变压器围栏倒塌";
  h.category = "electrical";
  h.severity = "general";
  h.location = "119.9665,42.2441";
  Op r = loop.step(loop.member, authored_object_id(loop.member.public_key(), loop.factory().next_seq(loop.member)), h, {});
  loop.ingest(r);
  Hash32 id = r.fields.object;
  CHECK(loop.state(id).location == "119.9665,42.2441");
  auto comment = [](const char* location) {
    HazardPayload c = Loop::action("comment");
    c.location = location;
    return c;
  };
  // Two comments that do not see each other: the later by (time, id) stands, whoever signed it.
  Op a = loop.step(loop.member, id, comment("119.9670,42.2445"), {r.id});
  Op b = loop.step(loop.head, id, comment("119.9600,42.2400"), {r.id});
  loop.ingest(a);
  loop.ingest(b);
  const Op& later = std::tie(a.fields.hlc, a.id) > std::tie(b.fields.hlc, b.id) ? a : b;
  CHECK(loop.state(id).location == std::get<HazardPayload>(later.fields.payload).location);
  // A step that has seen both and gives none keeps it; a comment after them corrects it; the state
  // is untouched by either (a comment without photos is no new evidence).
  Op escalated = loop.step(loop.head, id, Loop::action("escalate"), {a.id, b.id});
  loop.ingest(escalated);
  CHECK(loop.state(id).location == std::get<HazardPayload>(later.fields.payload).location);
  Op fixed = loop.step(loop.member, id, comment("119.9666,42.2442"), {escalated.id});
  loop.ingest(fixed);
  CHECK(loop.state(id).location == "119.9666,42.2442");
  CHECK(loop.state(id).state == "escalated");
}

TEST_CASE("the map lists the located hazards and units within its scope, at most web_map_points_max, and says so", "[map]") {
  Loop loop;
  std::vector<Hash32> hazards;
  for (const char* where : {"119.93,42.24", ""}) {
    HazardPayload h = Loop::action("report");
    h.text = "x";
    h.category = "fire";
    h.severity = "general";
    h.location = where;
    Op r = loop.step(loop.member, authored_object_id(loop.member.public_key(), loop.factory().next_seq(loop.member)), h, {});
    loop.ingest(r);
    hazards.push_back(r.fields.object);
  }
  // More located units than the map shows, and one in another village.
  std::vector<Bytes> batch;
  const std::size_t units = limits::web_map_points_max + 5;
  for (std::size_t i = 0; i <= units; ++i) {
    const char* scope = i == units ? "150430100202" : kGrid;
    RecordPayload unit{"unit", "add", {{"location", "119.94,42.25"}, {"name", "单位" + std::to_string(i)}}, {}, {}};
    Op op = loop.factory().make(loop.root, scope, authored_object_id(loop.root.public_key(), loop.factory().next_seq(loop.root)),
                                unit, loop.authority_heads());
    batch.push_back(op.bytes);
    if (batch.size() == limits::ingest_batch_ops_max || i == units) {
      REQUIRE(loop.store().ingest(batch).is_ok());
      batch.clear();
    }
  }
  auto regions = node::region_infos(loop.store());
  REQUIRE(regions.is_ok());
  auto data = node::map_data(loop.store(), *regions, kVillage);
  REQUIRE(data.is_ok());
  CHECK(data->hazards.size() == 1);
  CHECK(data->hazards[0].id == hazards[0]);
  CHECK(data->points_total == 1 + units);
  CHECK(data->hazards.size() + data->units.size() == limits::web_map_points_max);
  CHECK(data->points_capped);
  nlohmann::json out = node::map_json(*data);
  CHECK(out["points_capped"] == true);
  CHECK(out["hazards"][0]["location"] == "119.93,42.24");
  auto township = node::map_data(loop.store(), *regions, "150430100202");
  REQUIRE(township.is_ok());
  CHECK(township->units.size() == 1);
  CHECK_FALSE(township->points_capped);
}
