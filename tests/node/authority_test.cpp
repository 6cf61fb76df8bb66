// Authority without a centre: scenario tests named after what happens in a county, and the
// property that every delivery order gives the same verdicts. Ops are built by hand so the
// causal parents (what each author had seen) are exactly what the scenario says.
#include <catch2/catch.hpp>

#include <algorithm>
#include <functional>
#include <map>
#include <random>
#include <set>

#include "crdt/hash.h"
#include "crdt/limits.h"
#include "node/constitution.h"
#include "node/store.h"
#include "support/fixtures.h"

using namespace anwang;
using anwang::test::OpFactory;
using anwang::test::TempDir;
using anwang::test::test_key;

namespace {

constexpr const char* kTownship = "150430100";
constexpr const char* kVillageA = "150430100201";
constexpr const char* kVillageB = "150430100202";
constexpr const char* kGridA = "150430100201-03";

// One node's store plus an op factory; `act` writes online (seeing every authority op so far),
// `offline` builds an op whose author saw only `seen`.
class County {
 public:
  County() : store_(test::open_store(dir_.path())) { ingest(factory_.genesis()); }

  const KeyPair& root() const { return root_; }
  OpFactory& factory() { return factory_; }
  node::Store& store() { return *store_; }

  std::vector<Hash32> heads() {
    auto state = store_->authority();
    REQUIRE(state.is_ok());
    return (*state)->graph().heads();
  }

  void ingest(const Op& op) {
    auto report = store_->ingest(std::vector<Bytes>{op.bytes});
    REQUIRE(report.is_ok());
    INFO(report->outcomes[0].detail);
    REQUIRE(report->outcomes[0].kind == node::IngestOutcome::Kind::kAccepted);
  }

  Op build(const KeyPair& by, const std::string& scope, const Hash32& object, Payload payload,
           std::vector<Hash32> seen, std::optional<std::uint64_t> hlc = std::nullopt) {
    return factory_.make(by, scope, object, std::move(payload), std::move(seen), hlc);
  }
  Op act(const KeyPair& by, const std::string& scope, const Hash32& object, Payload payload) {
    Op op = build(by, scope, object, std::move(payload), heads());
    ingest(op);
    return op;
  }

  static Hash32 grant_object(const KeyPair& to, const std::string& role, const std::string& scope) {
    return named_object_id("grant", to.public_key().hex() + role + scope);
  }
  Op delegation(const KeyPair& by, const KeyPair& to, const std::string& role, const std::string& scope,
                std::vector<Hash32> seen, std::vector<std::string> categories = {}) {
    return build(by, scope, grant_object(to, role, scope), DelegationPayload{to.public_key(), role, categories},
                 std::move(seen));
  }
  Op delegate(const KeyPair& by, const KeyPair& to, const std::string& role, const std::string& scope,
              std::vector<std::string> categories = {}) {
    Op op = delegation(by, to, role, scope, heads(), std::move(categories));
    ingest(op);
    return op;
  }
  Op note(const KeyPair& by, const std::string& scope, const std::string& text, std::vector<Hash32> seen) {
    return build(by, scope, named_object_id("note", scope + text), NotePayload{text}, std::move(seen));
  }
  // Revocation of `key` by `by`, naming `frontier` (the key's latest op `by` has seen).
  Op revoke(const KeyPair& by, const KeyPair& key, const std::string& reason, const std::optional<Op>& frontier,
            const std::string& scope = test::kCounty) {
    std::vector<Hash32> seen = heads();
    RevocationPayload payload{key.public_key(), reason, 0, std::nullopt};
    if (frontier) {
      payload.frontier_seq = frontier->fields.author_seq;
      payload.frontier = frontier->id;
      seen.push_back(frontier->id);
    }
    Op op = build(by, scope, key_object_id(key.public_key()), payload, seen);
    ingest(op);
    return op;
  }

  // Whether `key` is a root key, or the grantee of a delegation or the node of an enrolment among
  // the authority ops in the past of `seen`: worked out here by walking the ops, apart from the
  // store's own index.
  // A delegation names its grantee when a chain of appointments by roles that may delegate leads
  // from a root key to it, each in the past of the next (crdt/AUTHORITY.md).
  bool named_in(const KeyPair& key, const std::vector<Hash32>& seen) {
    auto state = store_->authority();
    REQUIRE(state.is_ok());
    const AuthorityGraph& graph = (*state)->graph();
    const auto& roots = std::get<GenesisPayload>(factory_.genesis().fields.payload).root_keys;
    auto is_root = [&](const PublicKey& k) { return std::find(roots.begin(), roots.end(), k) != roots.end(); };
    if (is_root(key.public_key())) return true;
    std::map<std::size_t, bool> memo;
    std::function<bool(std::size_t)> names = [&](std::size_t i) -> bool {
      if (auto at = memo.find(i); at != memo.end()) return at->second;
      const Op& d = graph.op(i);
      bool result = is_root(d.fields.author);
      for (std::size_t j = 0; !result && j < graph.size(); ++j) {
        const auto* by = std::get_if<DelegationPayload>(&graph.op(j).fields.payload);
        if (j == i || by == nullptr || by->grantee != d.fields.author || !graph.closure(graph.auth_parents(i)).has(j)) continue;
        const RoleDef* role = node::default_constitution().role(by->role);
        result = role != nullptr && role->has_capability("delegate") && names(j);
      }
      return memo[i] = result;
    };
    AuthoritySet past = graph.closure(seen);
    for (std::size_t i = 0; i < graph.size(); ++i) {
      if (!past.has(i)) continue;
      const Payload& payload = graph.op(i).fields.payload;
      if (const auto* d = std::get_if<DelegationPayload>(&payload); d && d->grantee == key.public_key() && names(i))
        return true;
      if (const auto* e = std::get_if<EnrolmentPayload>(&payload); e && e->node_key == key.public_key()) return true;
    }
    return false;
  }
  // Ingests `op`, written by `by` on the view `seen`: accepted when `by` is named in that view,
  // else refused as no_office (issue 20). Whether it was taken.
  bool offer(const Op& op, const KeyPair& by, const std::vector<Hash32>& seen) {
    bool named = named_in(by, seen);
    auto report = store_->ingest(std::vector<Bytes>{op.bytes});
    REQUIRE(report.is_ok());
    INFO(report->outcomes[0].detail);
    CHECK(report->outcomes[0].kind == (named ? node::IngestOutcome::Kind::kAccepted : node::IngestOutcome::Kind::kRefused));
    if (!named) CHECK(report->outcomes[0].reason == Refusal::kNoOffice);
    return named;
  }

  Verdict verdict(const Op& op) {
    auto verdict = store_->verdict(op);
    REQUIRE(verdict.is_ok());
    return *verdict;
  }
  bool effective(const Op& op) { return verdict(op).effective; }

 private:
  TempDir dir_;
  std::unique_ptr<node::Store> store_;
  OpFactory factory_;
  KeyPair root_ = test_key(0);
};

bool has_flag(const Verdict& verdict, const std::string& flag) {
  return std::find(verdict.flags.begin(), verdict.flags.end(), flag) != verdict.flags.end();
}

// Keys of the people in the scenarios.
struct People {
  KeyPair town = test_key(10);
  KeyPair town2 = test_key(11);
  KeyPair head_a = test_key(20);
  KeyPair head_b = test_key(21);
  KeyPair member = test_key(30);
  KeyPair member2 = test_key(31);
  KeyPair fire = test_key(40);
};

}  // namespace

TEST_CASE("the default constitution holds the stable role and category ids", "[authority]") {
  const Constitution& c = node::default_constitution();
  for (const char* role : {"county_admin", "department", "township_station", "village_head", "village_safety_officer",
                           "grid_member", "group_liaison", "auditor"})
    CHECK(c.role(role) != nullptr);
  for (const char* category : {"fire", "traffic", "construction", "chemicals", "electrical", "food", "geological",
                               "special_equipment", "other"})
    CHECK(c.category(category) != nullptr);
  CHECK(c.role("grid_member")->name_zh == "网格员");
  CHECK(c.setting("patrol_quota_per_month_village_safety_officer", 0) == 4);
}

TEST_CASE("a chain of delegations from the root authorises a grid member's note", "[authority]") {
  County county;
  People p;
  Op town = county.delegate(county.root(), p.town, "township_station", kTownship);
  Op head = county.delegate(p.town, p.head_a, "village_head", kVillageA);
  Op member = county.delegate(p.head_a, p.member, "grid_member", kGridA);
  Op note = county.note(p.member, kGridA, "仓库消防通道堵塞", county.heads());
  county.ingest(note);
  Verdict verdict = county.verdict(note);
  CHECK(verdict.effective);
  CHECK(verdict.chain == std::vector<Hash32>{member.id, head.id, town.id, county.factory().genesis().id});
}

TEST_CASE("a revoked village head's offline privileged action is void", "[authority][scenario]") {
  County county;
  People p;
  county.delegate(county.root(), p.town, "township_station", kTownship);
  county.delegate(p.town, p.head_a, "village_head", kVillageA);
  Op first = county.delegate(p.head_a, p.member, "grid_member", kGridA);
  std::vector<Hash32> before_revocation = county.heads();
  county.revoke(p.town, p.head_a, "left", first);
  // Offline for weeks, the head appoints another member: parents from before the revocation.
  Op late = county.delegation(p.head_a, p.member2, "grid_member", kGridA, before_revocation);
  county.ingest(late);
  Verdict verdict = county.verdict(late);
  CHECK_FALSE(verdict.effective);
  CHECK_THAT(verdict.reason, Catch::Contains("void"));
  CHECK(county.effective(first));  // inside the frontier: stands
}

TEST_CASE("a revoked key's offline safety-positive action stands, flagged", "[authority][scenario]") {
  County county;
  People p;
  county.delegate(county.root(), p.town, "township_station", kTownship);
  county.delegate(p.town, p.head_a, "village_head", kVillageA);
  Op seen = county.note(p.head_a, kVillageA, "巡查: 正常", county.heads());
  county.ingest(seen);
  std::vector<Hash32> before_revocation = county.heads();
  county.revoke(p.town, p.head_a, "left", seen);
  // Offline, after the frontier and unaware of the revocation, the head reports a hazard.
  Op report = county.note(p.head_a, kVillageA, "发现隐患: 液化气瓶露天存放", before_revocation);
  county.ingest(report);
  Verdict verdict = county.verdict(report);
  CHECK(verdict.effective);
  CHECK(has_flag(verdict, "after_revocation"));
  CHECK_FALSE(has_flag(verdict, "compromised_key"));
  CHECK_FALSE(has_flag(county.verdict(seen), "after_revocation"));  // inside the frontier
}

// Issue 20, finding 10: a `left` revocation with no frontier (by hand, or by `--frontier auto` on
// a node that holds no op of the key) applied the forward rule from op 0 and voided every
// privileged act the key ever signed: one office could void years of a person's work.
TEST_CASE("a village head who left, revoked with no frontier, keeps every act the revocation did not know of",
          "[authority][issue20]") {
  for (const std::string reason : {"left", "compromised"}) {
    CAPTURE(reason);
    County county;
    People p;
    county.delegate(county.root(), p.town, "township_station", kTownship);
    county.delegate(p.town, p.head_a, "village_head", kVillageA);
    std::vector<Hash32> township_view = county.heads();
    // The village's node, which the township has not synced with for months: the head appoints a
    // grid member, who patrols, and notes a hazard herself.
    Op appointed = county.delegate(p.head_a, p.member, "grid_member", kGridA);
    Op patrol = county.note(p.member, kGridA, "巡查: 正常", county.heads());
    county.ingest(patrol);
    Op hazard = county.note(p.head_a, kVillageA, "发现隐患", county.heads());
    county.ingest(hazard);
    std::vector<Hash32> village_view = county.heads();
    // The township, holding none of her ops, revokes her with no frontier.
    Op revocation = county.build(p.town, test::kCounty, key_object_id(p.head_a.public_key()),
                                 RevocationPayload{p.head_a.public_key(), reason, 0, std::nullopt}, township_view);
    county.ingest(revocation);
    CHECK(county.effective(revocation));
    // Offline still, unaware of the revocation, she appoints another member.
    Op unaware = county.delegation(p.head_a, p.member2, "grid_member", kGridA, village_view);
    county.ingest(unaware);
    // Once she knows of it, her office is gone: an appointment with the revocation in view is void.
    Op aware = county.delegation(p.head_a, p.member2, "grid_member", "150430100201-04", county.heads());
    county.ingest(aware);
    CHECK_FALSE(county.effective(aware));
    CHECK_THAT(county.verdict(aware).reason, Catch::Contains("lost role 'village_head'"));
    if (reason == "left") {
      // What the revocation did not know of stands, unflagged: her appointments and their acts.
      for (const Op& op : {appointed, patrol, hazard, unaware}) {
        Verdict verdict = county.verdict(op);
        CHECK(verdict.effective);
        CHECK(verdict.flags.empty());
      }
    } else {
      // A stolen key: every privileged act is void, and what rests on it; its reports stand, flagged.
      for (const Op& op : {appointed, patrol, unaware}) CHECK_FALSE(county.effective(op));
      CHECK_THAT(county.verdict(appointed).reason, Catch::Contains("void"));
      Verdict report = county.verdict(hazard);
      CHECK(report.effective);
      CHECK(has_flag(report, "after_revocation"));
      CHECK(has_flag(report, "compromised_key"));
    }
    // The same verdicts from a store that receives the ops in the reverse order.
    std::vector<Bytes> all;
    REQUIRE(county.store().for_each_op([&](const Op& op) { all.push_back(op.bytes); }).is_ok());
    std::reverse(all.begin(), all.end());
    TempDir dir;
    auto fresh = test::open_store(dir.path());
    test::ingest_all(*fresh, all, 3);
    auto a = county.store().authority();
    auto b = fresh->authority();
    REQUIRE(a.is_ok());
    REQUIRE(b.is_ok());
    CHECK((*a)->digest() == (*b)->digest());
    CHECK(*county.store().effective_digest() == *fresh->effective_digest());
  }
}

// Issue 20, finding 10: "the frontier id is never checked". A frontier op in the revocation's
// view was checked, but a frontier op that is a record (a patrol, a hazard step) in the
// revocation's causal past was not, though every node holding the revocation holds it.
TEST_CASE("a frontier op in the revocation's causal past must be the revoked key's op of that number",
          "[authority][issue20]") {
  County county;
  People p;
  county.delegate(county.root(), p.town, "township_station", kTownship);
  county.delegate(p.town, p.head_a, "village_head", kVillageA);
  county.delegate(p.head_a, p.member, "grid_member", kGridA);
  Op first = county.note(p.head_a, kVillageA, "巡查 1", county.heads());
  county.ingest(first);
  Op second = county.note(p.head_a, kVillageA, "巡查 2", county.heads());
  county.ingest(second);
  Op members = county.note(p.member, kGridA, "巡查", county.heads());
  county.ingest(members);
  // A record of the member's on the head's second patrol (an op written by hand may name any
  // parent): the head's patrol is in the past of whatever names this one.
  Op on_top = county.build(p.member, kGridA, second.fields.object, NotePayload{"复查"}, {second.id});
  county.ingest(on_top);
  // An appointment by the township that names the head's first patrol as a parent, as an op
  // written by hand may: that patrol is in the past of every later authority op.
  std::vector<Hash32> with_first = county.heads();
  with_first.push_back(first.id);
  Op appointment_by_hand = county.build(p.town, kVillageB, County::grant_object(p.head_b, "village_head", kVillageB),
                                        DelegationPayload{p.head_b.public_key(), "village_head", {}}, with_first);
  std::vector<Hash32> seen = county.heads();  // every revocation below is concurrent with the others
  auto revocation = [&](const Op& frontier, std::uint64_t seq, std::vector<Hash32> parents) {
    Op op = county.build(p.town, test::kCounty, key_object_id(p.head_a.public_key()),
                         RevocationPayload{p.head_a.public_key(), "left", seq, frontier.id}, std::move(parents));
    county.ingest(op);
    return op;
  };
  auto with = [&](std::vector<Hash32> ids) {
    ids.insert(ids.begin(), seen.begin(), seen.end());
    return ids;
  };
  // The frontier op a parent, as releases before issue 19 wrote it: the right number stands.
  Op right = revocation(second, second.fields.author_seq, with({second.id}));
  CHECK(county.effective(right));
  // A parent, with another number: void. So is another key's op.
  Op lower = revocation(second, first.fields.author_seq, with({second.id}));
  CHECK_FALSE(county.effective(lower));
  CHECK_THAT(county.verdict(lower).reason,
             Catch::Contains("is not key " + p.head_a.public_key().short_hex() + "'s op number " +
                             std::to_string(first.fields.author_seq)));
  Op other_key = revocation(members, members.fields.author_seq, with({members.id}));
  CHECK_FALSE(county.effective(other_key));
  // Deeper in the past: behind another record, or behind an authority op that names it.
  Op behind_record = revocation(second, first.fields.author_seq, with({on_top.id}));
  CHECK_FALSE(county.effective(behind_record));
  county.ingest(appointment_by_hand);
  Op behind_authority = revocation(first, second.fields.author_seq, {appointment_by_hand.id});
  CHECK_FALSE(county.effective(behind_authority));
  Op behind_authority_right = revocation(first, first.fields.author_seq, {appointment_by_hand.id});
  CHECK(county.effective(behind_authority_right));
  // Named and not in its past, the frontier op is not checked: a node that does not hold it (a
  // node of another village) must judge the revocation as this one does.
  Op named_only = revocation(second, first.fields.author_seq, seen);
  CHECK(county.effective(named_only));

  // The same verdicts from a store that receives the ops in another order, and once more when it
  // loads its authority graph from its tables.
  std::vector<Bytes> all;
  REQUIRE(county.store().for_each_op([&](const Op& op) { all.push_back(op.bytes); }).is_ok());
  std::reverse(all.begin(), all.end());
  TempDir dir;
  Hash32 before_reopen;
  {
    auto fresh = test::open_store(dir.path());
    test::ingest_all(*fresh, all, 5);
    auto state = fresh->authority();
    REQUIRE(state.is_ok());
    before_reopen = (*state)->digest();
    for (const Op* op : {&right, &lower, &other_key, &behind_record, &behind_authority, &behind_authority_right, &named_only})
      CHECK(fresh->verdict(*op)->effective == county.effective(*op));
  }
  auto reopened = test::open_store(dir.path());
  auto state = reopened->authority();
  auto here = county.store().authority();
  REQUIRE(state.is_ok());
  REQUIRE(here.is_ok());
  CHECK((*state)->digest() == before_reopen);
  CHECK((*state)->digest() == (*here)->digest());
}

TEST_CASE("a frontier op deeper than the walk's bound is not checked, alike in every order of arrival",
          "[authority][issue20]") {
  County county;
  People p;
  county.delegate(county.root(), p.town, "township_station", kTownship);
  county.delegate(p.town, p.head_a, "village_head", kVillageA);
  county.delegate(p.head_a, p.member, "grid_member", kGridA);
  Op patrol = county.note(p.head_a, kVillageA, "巡查", county.heads());
  county.ingest(patrol);
  // A chain of records written by hand on top of the head's patrol, longer than the bound.
  std::vector<Op> chain;
  std::vector<Bytes> bytes;
  for (std::size_t i = 0; i < limits::revocation_frontier_walk_ops_max + 50; ++i) {
    chain.push_back(county.build(p.member, kGridA, patrol.fields.object, NotePayload{"复查 " + std::to_string(i)},
                                 {i == 0 ? patrol.id : chain.back().id}));
    bytes.push_back(chain.back().bytes);
  }
  test::ingest_all(county.store(), bytes, 256);
  std::vector<Hash32> seen = county.heads();
  auto revocation_on = [&](const Op& top) {
    std::vector<Hash32> parents = seen;
    parents.push_back(top.id);
    Op op = county.build(p.town, test::kCounty, key_object_id(p.head_a.public_key()),
                         RevocationPayload{p.head_a.public_key(), "left", patrol.fields.author_seq + 1, patrol.id}, parents);
    county.ingest(op);
    return op;
  };
  // Within the bound, the wrong number is found; past it, the walk gives up and the frontier is
  // not checked.
  Op within = revocation_on(chain[limits::revocation_frontier_walk_ops_max - 24]);
  Op beyond = revocation_on(chain.back());
  CHECK_FALSE(county.effective(within));
  CHECK(county.effective(beyond));
  std::vector<Bytes> all;
  REQUIRE(county.store().for_each_op([&](const Op& op) { all.push_back(op.bytes); }).is_ok());
  std::shuffle(all.begin(), all.end(), std::mt19937_64(20));
  TempDir dir;
  {
    auto fresh = test::open_store(dir.path());
    test::ingest_all(*fresh, all, 100);
    CHECK_FALSE(fresh->verdict(within)->effective);
    CHECK(fresh->verdict(beyond)->effective);
  }
  auto reopened = test::open_store(dir.path());
  CHECK_FALSE(reopened->verdict(within)->effective);
  CHECK(reopened->verdict(beyond)->effective);
}

TEST_CASE("find_in_past reads the same ops whatever the order of its starts, and stops at its bound",
          "[authority][issue20]") {
  // A little history: ops 1..40, each naming one or two earlier ones; op k stamped k.
  std::map<Hash32, PastStep> ops;
  std::vector<Hash32> id(41);
  std::mt19937_64 rng(9);
  for (std::size_t k = 1; k <= 40; ++k) {
    id[k] = blake2b_256(as_bytes("op " + std::to_string(k)));
    PastStep op{k, {}};
    if (k > 1) op.parents.push_back(id[1 + rng() % (k - 1)]);
    if (k > 2) op.parents.push_back(id[1 + rng() % (k - 1)]);
    ops[id[k]] = op;
  }
  auto search = [&](std::vector<Hash32> starts, std::size_t target, std::size_t reads_max, std::vector<Hash32>* read) {
    return find_in_past(std::move(starts), id[target], target, [&](const Hash32& at) -> std::optional<PastStep> {
      read->push_back(at);
      return ops.at(at);
    }, reads_max);
  };
  // The truth, from the parents: what lies in the past of ops 38, 39 and 40.
  std::set<std::size_t> past;
  std::vector<std::size_t> todo{38, 39, 40};
  while (!todo.empty()) {
    std::size_t k = todo.back();
    todo.pop_back();
    if (!past.insert(k).second) continue;
    for (const Hash32& parent : ops[id[k]].parents)
      todo.push_back(static_cast<std::size_t>(std::find(id.begin(), id.end(), parent) - id.begin()));
  }
  for (std::size_t target = 1; target <= 37; ++target) {
    CAPTURE(target);
    std::vector<Hash32> read_one, read_other;
    PastSearch one = search({id[38], id[39], id[40]}, target, 1000, &read_one);
    PastSearch other = search({id[40], id[38], id[39], id[40]}, target, 1000, &read_other);
    CHECK(one == (past.count(target) ? PastSearch::kFound : PastSearch::kAbsent));
    CHECK(other == one);
    CHECK(read_one == read_other);
    // With a bound, the search stops at the same op either way.
    std::vector<Hash32> bounded_one, bounded_other;
    PastSearch b1 = search({id[38], id[39], id[40]}, target, 5, &bounded_one);
    PastSearch b2 = search({id[39], id[40], id[38]}, target, 5, &bounded_other);
    CHECK(b1 == b2);
    CHECK(bounded_one == bounded_other);
    CHECK(bounded_one.size() <= 5);
    if (read_one.size() > 5) CHECK((b1 == PastSearch::kTooDeep || b1 == PastSearch::kFound));
  }
}

TEST_CASE("a compromised township key's appointments after its frontier are void, earlier ones survive",
          "[authority][scenario]") {
  County county;
  People p;
  county.delegate(county.root(), p.town, "township_station", kTownship);
  Op early = county.delegate(p.town, p.head_a, "village_head", kVillageA);
  std::vector<Hash32> attacker_view = county.heads();
  county.revoke(county.root(), p.town, "compromised", early);
  // The attacker, holding the stolen key, appoints a grid member who then acts.
  Op forged_grant = county.delegation(p.town, p.member, "grid_member", kGridA, attacker_view);
  county.ingest(forged_grant);
  std::vector<Hash32> member_view = attacker_view;
  member_view.push_back(forged_grant.id);
  Op member_note = county.note(p.member, kGridA, "forged", member_view);
  county.ingest(member_note);
  CHECK_FALSE(county.effective(forged_grant));
  CHECK_FALSE(county.effective(member_note));
  CHECK(county.effective(early));
  Op head_note = county.note(p.head_a, kVillageA, "the village head keeps working", county.heads());
  county.ingest(head_note);
  CHECK(county.effective(head_note));
}

TEST_CASE("two ops with one sequence number are proof: privileges suspended until reaffirmed",
          "[authority][scenario]") {
  County county;
  People p;
  county.delegate(county.root(), p.town, "township_station", kTownship);
  county.delegate(p.town, p.head_a, "village_head", kVillageA);
  Op one = county.note(p.head_a, kVillageA, "one", county.heads());
  county.ingest(one);
  // A second op numbered like `one`, signed by the same key.
  OpFields twin = one.fields;
  twin.payload = NotePayload{"two"};
  twin.object = named_object_id("note", "twin");
  Op two = county.factory().make_raw(p.head_a, twin);
  county.ingest(two);
  auto state = county.store().authority();
  REQUIRE(state.is_ok());
  REQUIRE((*state)->equivocations().size() == 1);
  CHECK((*state)->equivocations()[0].twins.size() == 2);
  CHECK((*state)->equivocations()[0].key == p.head_a.public_key());
  CHECK((*state)->equivocations()[0].seq == one.fields.author_seq);
  // The twins are village A's notes: the proof suspends the key's privileged acts where it goes
  // (ops of village A); a county-wide op (an appointment goes everywhere) is judged alike on nodes
  // that never hold the twins, so the twins alone do not suspend it (crdt/AUTHORITY.md).
  Op in_village = county.note(p.head_a, kVillageA, "after", county.heads());
  county.ingest(in_village);
  Op assign_like = county.delegation(p.head_a, p.member, "grid_member", kGridA, county.heads());
  county.ingest(assign_like);
  CHECK(county.effective(assign_like));
  // Twins that go everywhere (two appointments numbered alike) suspend its appointments.
  Op first_grant = county.delegation(p.head_a, p.member2, "grid_member", kGridA, county.heads());
  county.ingest(first_grant);
  OpFields grant_twin = first_grant.fields;
  grant_twin.payload = DelegationPayload{p.member.public_key(), "grid_member", {}};
  grant_twin.object = named_object_id("grant", "twin");
  Op second_grant = county.factory().make_raw(p.head_a, grant_twin);
  county.ingest(second_grant);
  Op suspended = county.delegation(p.head_a, p.member, "grid_member", kGridA, county.heads());
  county.ingest(suspended);
  Verdict verdict = county.verdict(suspended);
  CHECK_FALSE(verdict.effective);
  CHECK_THAT(verdict.reason, Catch::Contains("equivocated"));
  std::uint64_t grant_seq = first_grant.fields.author_seq;
  // The township station (an office above) reaffirms; the head's next appointment stands.
  county.act(p.town, test::kCounty, key_object_id(p.head_a.public_key()),
             ReaffirmationPayload{p.head_a.public_key(), grant_seq});
  Op after = county.delegation(p.head_a, p.member2, "grid_member", kGridA, county.heads());
  county.ingest(after);
  CHECK(county.effective(after));
  CHECK_FALSE(county.effective(suspended));  // a denial once applied stays
}

TEST_CASE("a village head cannot delegate township scope or a role the constitution withholds",
          "[authority][scenario]") {
  County county;
  People p;
  county.delegate(county.root(), p.town, "township_station", kTownship);
  county.delegate(p.town, p.head_a, "village_head", kVillageA);
  Op wider = county.delegation(p.head_a, p.member, "grid_member", kTownship, county.heads());
  county.ingest(wider);
  Verdict wider_verdict = county.verdict(wider);
  CHECK_FALSE(wider_verdict.effective);
  Op station = county.delegation(p.head_a, p.member, "township_station", kVillageA, county.heads());
  county.ingest(station);
  Verdict station_verdict = county.verdict(station);
  CHECK_FALSE(station_verdict.effective);
  CHECK_THAT(station_verdict.reason, Catch::Contains("township_station"));
  Op department = county.delegation(p.head_a, p.fire, "department", test::kCounty, county.heads(), {"fire"});
  county.ingest(department);
  CHECK_FALSE(county.effective(department));
}

TEST_CASE("a department acts only in its categories", "[authority][scenario]") {
  County county;
  People p;
  Op grant = county.delegate(county.root(), p.fire, "department", test::kCounty, {"fire"});
  CHECK(county.effective(grant));
  auto state = county.store().authority();
  REQUIRE(state.is_ok());
  Action handle_fire{p.fire.public_key(), 1, "hazard.handle", kVillageA, "fire", ActionClass::kPrivileged, std::nullopt};
  CHECK((*state)->can(handle_fire).effective);
  Action handle_traffic = handle_fire;
  handle_traffic.category = "traffic";
  Verdict no = (*state)->can(handle_traffic);
  CHECK_FALSE(no.effective);
  CHECK_THAT(no.reason, Catch::Contains("traffic"));
  Op missing_category = county.delegation(county.root(), p.member, "department", test::kCounty, county.heads());
  county.ingest(missing_category);
  CHECK_FALSE(county.effective(missing_category));
}

TEST_CASE("a village A head acting in village B is unauthorised", "[authority][scenario]") {
  County county;
  People p;
  county.delegate(county.root(), p.town, "township_station", kTownship);
  county.delegate(p.town, p.head_a, "village_head", kVillageA);
  Op in_b = county.note(p.head_a, kVillageB, "not my village", county.heads());
  county.ingest(in_b);
  Verdict verdict = county.verdict(in_b);
  CHECK_FALSE(verdict.effective);
  CHECK_THAT(verdict.reason, Catch::Contains(kVillageB));
  Op region_b = county.build(p.head_a, kVillageB, named_object_id("region", kVillageB),
                             RegionPayload{kVillageB, "二村", ""}, county.heads());
  county.ingest(region_b);
  CHECK_FALSE(county.effective(region_b));
}

TEST_CASE("an op from another county's network is refused at ingest", "[authority][scenario]") {
  County county;
  OpFactory other("150421", 9);
  auto report = county.store().ingest(std::vector<Bytes>{other.genesis().bytes, other.note(test_key(9), "150421", "x").bytes});
  REQUIRE(report.is_ok());
  for (const auto& outcome : report->outcomes) {
    CHECK(outcome.kind == node::IngestOutcome::Kind::kRefused);
    CHECK(outcome.reason == Refusal::kWrongNetwork);
  }
}

TEST_CASE("two township stations revoking each other: neither revocation takes effect", "[authority][scenario]") {
  County county;
  People p;
  Op first = county.delegate(county.root(), p.town, "township_station", kTownship);
  Op second = county.delegate(county.root(), p.town2, "township_station", kTownship);
  Op one = county.revoke(p.town, p.town2, "left", std::nullopt);
  Op two = county.revoke(p.town2, p.town, "left", std::nullopt);
  CHECK_FALSE(county.effective(one));
  CHECK_FALSE(county.effective(two));
  CHECK_THAT(county.verdict(one).reason, Catch::Contains("peers at one level"));
  auto state = county.store().authority();
  REQUIRE(state.is_ok());
  CHECK((*state)->who(kTownship).size() == 3);  // the root and both stations
}

TEST_CASE("a village head retires and the grid members they appointed keep working", "[authority][scenario]") {
  County county;
  People p;
  county.delegate(county.root(), p.town, "township_station", kTownship);
  county.delegate(p.town, p.head_a, "village_head", kVillageA);
  Op member = county.delegate(p.head_a, p.member, "grid_member", kGridA);
  county.revoke(p.town, p.head_a, "left", member);
  Op note = county.note(p.member, kGridA, "巡查: 正常", county.heads());
  county.ingest(note);
  CHECK(county.effective(member));
  CHECK(county.effective(note));
  // The new head may revoke the old head's appointees: an office above them at that scope.
  county.delegate(p.town, p.head_b, "village_head", kVillageA);
  Op revoke = county.revoke(p.head_b, p.member, "left", std::nullopt, kVillageA);
  CHECK(county.effective(revoke));
}

TEST_CASE("an action that arrives before the grant in its causal past waits, then is effective",
          "[authority][scenario]") {
  County county;
  People p;
  county.delegate(county.root(), p.town, "township_station", kTownship);
  Op grant = county.delegation(p.town, p.head_a, "village_head", kVillageA, county.heads());
  std::vector<Hash32> seen = county.heads();
  seen.push_back(grant.id);
  Op action = county.note(p.head_a, kVillageA, "after my appointment", seen);
  auto early = county.store().ingest(std::vector<Bytes>{action.bytes});
  REQUIRE(early.is_ok());
  CHECK(early->outcomes[0].kind == node::IngestOutcome::Kind::kPending);
  county.ingest(grant);
  auto stored = county.store().get(action.id);
  REQUIRE(stored.is_ok());
  REQUIRE(stored->has_value());
  CHECK(county.effective(action));
}

TEST_CASE("a constitution amendment needs k of the n root keys", "[authority][scenario]") {
  TempDir dir;
  auto store = test::open_store(dir.path());
  KeyPair r1 = test_key(1), r2 = test_key(2), r3 = test_key(3);
  std::vector<PublicKey> roots{r1.public_key(), r2.public_key(), r3.public_key()};
  std::sort(roots.begin(), roots.end());
  OpFactory factory;  // only for its bookkeeping; this county has its own genesis
  OpFields genesis_fields;
  genesis_fields.author = r1.public_key();
  genesis_fields.hlc = test::kTestTimeMs << 16;
  genesis_fields.scope = test::kCounty;
  genesis_fields.object = named_object_id("network", test::kCounty);
  genesis_fields.payload = GenesisPayload{test::kCounty, "敖汉旗", roots, 2, node::default_constitution()};
  Op genesis = factory.make_raw(r1, genesis_fields);
  REQUIRE(store->ingest(std::vector<Bytes>{genesis.bytes}).is_ok());
  Constitution amended = node::default_constitution();
  amended.settings.push_back(Setting{"z_new_setting", 7});
  auto amend = [&](std::vector<const KeyPair*> cosigners, std::uint64_t seq, std::optional<Hash32> prev) {
    AmendmentPayload payload{1, amended, {}};
    Bytes message = amendment_message(genesis.id, 1, amended);
    for (const KeyPair* k : cosigners) payload.cosignatures.push_back({k->public_key(), k->sign(message)});
    std::sort(payload.cosignatures.begin(), payload.cosignatures.end(),
              [](const Cosignature& a, const Cosignature& b) { return a.key < b.key; });
    OpFields fields;
    fields.network = genesis.id;
    fields.author = r1.public_key();
    fields.author_seq = seq;
    fields.author_prev = prev;
    fields.parents = {genesis.id};
    fields.hlc = genesis.fields.hlc + seq;
    fields.scope = test::kCounty;
    fields.object = constitution_object_id(test::kCounty);
    fields.payload = payload;
    return factory.make_raw(r1, fields);
  };
  Op alone = amend({}, 2, genesis.id);
  REQUIRE(store->ingest(std::vector<Bytes>{alone.bytes}).is_ok());
  auto alone_verdict = store->verdict(alone);
  REQUIRE(alone_verdict.is_ok());
  CHECK_FALSE(alone_verdict->effective);
  CHECK_THAT(alone_verdict->reason, Catch::Contains("needs 2"));
  Op cosigned = amend({&r3}, 3, alone.id);
  REQUIRE(store->ingest(std::vector<Bytes>{cosigned.bytes}).is_ok());
  auto cosigned_verdict = store->verdict(cosigned);
  REQUIRE(cosigned_verdict.is_ok());
  CHECK(cosigned_verdict->effective);
  auto state = store->authority();
  REQUIRE(state.is_ok());
  CHECK((*state)->constitution().setting("z_new_setting", 0) == 7);
  // A cosignature that does not verify is refused at ingest like any bad signature.
  OpFields forged = cosigned.fields;
  auto& payload = std::get<AmendmentPayload>(forged.payload);
  payload.cosignatures[0].signature[0] ^= 1;
  forged.author_seq = 4;
  forged.author_prev = cosigned.id;
  forged.hlc += 10;
  Op bad = factory.make_raw(r1, forged);
  auto refused = store->ingest(std::vector<Bytes>{bad.bytes});
  REQUIRE(refused.is_ok());
  CHECK(refused->outcomes[0].reason == Refusal::kBadSignature);
}

TEST_CASE("a node's clock 30 days ahead or a year behind changes no verdict", "[authority][scenario]") {
  constexpr std::uint64_t kDayTicks = 86'400'000ull << 16;
  auto run = [](std::uint64_t revoker_skew, bool revoker_behind) {
    County county;
    People p;
    county.delegate(county.root(), p.town, "township_station", kTownship);
    county.delegate(p.town, p.head_a, "village_head", kVillageA);
    Op first = county.note(p.head_a, kVillageA, "巡查", county.heads());
    county.ingest(first);
    std::vector<Hash32> before = county.heads();
    // The revoker's clock is off; its revocation must still be later than its parents. Its
    // frontier is the head's first op.
    std::vector<Hash32> seen = county.heads();
    std::uint64_t floor = 0;
    for (const Hash32& id : seen) floor = std::max(floor, county.store().get(id)->value().fields.hlc);
    std::uint64_t stamp = revoker_behind ? floor + 1 : floor + revoker_skew;
    Op revocation =
        county.build(p.town, test::kCounty, key_object_id(p.head_a.public_key()),
                     RevocationPayload{p.head_a.public_key(), "left", first.fields.author_seq, first.id}, seen, stamp);
    county.ingest(revocation);
    // The revoked head's offline op, stamped 30 days ahead of everything.
    Op late = county.delegation(p.head_a, p.member, "grid_member", kGridA, before);
    Op ahead = county.build(p.head_a, kGridA, named_object_id("note", "ahead"), NotePayload{"ahead"}, {late.id},
                            late.fields.hlc + 30 * kDayTicks);
    county.ingest(late);
    county.ingest(ahead);
    return std::make_tuple(county.effective(revocation), county.effective(late), county.effective(ahead),
                           county.verdict(ahead).flags);
  };
  auto normal = run(1, false);
  auto ahead = run(30 * kDayTicks, false);
  auto behind = run(0, true);  // a year-behind clock is raised to its parents' time by the HLC
  CHECK(normal == ahead);
  CHECK(normal == behind);
  CHECK(std::get<0>(normal));
  CHECK_FALSE(std::get<1>(normal));
}

TEST_CASE("every delivery order of delegations, revocations and actions gives one authority state",
          "[authority][property]") {
  std::mt19937_64 rng(31337);
  std::size_t effective_revocations = 0, inert = 0, flagged = 0, effective_notes = 0, no_office = 0;
  for (int round = 0; round < 6; ++round) {
    std::vector<Op> refused;  // by keys no office named in their view: refused in every order
    County reference;
    std::vector<KeyPair> keys;
    for (int i = 0; i < 8; ++i) keys.push_back(test_key(200 + i));
    static const std::vector<std::pair<std::string, std::string>> kGrants = {
        {"township_station", kTownship}, {"village_head", kVillageA}, {"village_head", kVillageB},
        {"grid_member", kGridA}, {"village_safety_officer", kVillageA}, {"county_admin", test::kCounty}};
    std::vector<Op> ops{reference.factory().genesis()};
    std::vector<std::vector<Hash32>> views{reference.heads()};
    for (int step = 0; step < 60; ++step) {
      // Each author acts on a random earlier view: concurrency and offline work.
      const std::vector<Hash32>& seen = views[rng() % views.size()];
      const KeyPair& by = rng() % 3 == 0 ? reference.root() : keys[rng() % keys.size()];
      const KeyPair& to = keys[rng() % keys.size()];
      Op op;
      switch (rng() % 4) {
        case 0:
        case 1: {
          const auto& [role, scope] = kGrants[rng() % kGrants.size()];
          op = reference.delegation(by, to, role, scope, seen);
          break;
        }
        case 2:
          op = reference.build(by, test::kCounty, key_object_id(to.public_key()),
                               RevocationPayload{to.public_key(), rng() % 2 ? "left" : "compromised", 0, std::nullopt},
                               seen);
          break;
        default:
          op = reference.note(by, rng() % 2 ? kGridA : kVillageB, "n" + std::to_string(step), seen);
      }
      if (reference.offer(op, by, seen)) {
        ops.push_back(op);
      } else {
        refused.push_back(op);
        ++no_office;
      }
      views.push_back(reference.heads());
    }
    auto reference_state = reference.store().authority();
    REQUIRE(reference_state.is_ok());
    Hash32 authority_digest = (*reference_state)->digest();
    // The digest's visitor sees each op once, with the verdict the store gives it alone.
    std::map<Hash32, bool> visited;
    std::size_t visits = 0;
    auto effective_digest = reference.store().effective_digest([&](const Op& op, const Verdict& v) {
      visited.emplace(op.id, v.effective);
      ++visits;
    });
    REQUIRE(effective_digest.is_ok());
    CHECK(*reference.store().effective_digest() == *effective_digest);
    CHECK(visits == visited.size());
    for (const Op& op : ops) {
      Verdict v = reference.verdict(op);
      REQUIRE(visited.count(op.id) == 1);
      CHECK(visited[op.id] == v.effective);
      inert += v.effective ? 0 : 1;
      flagged += v.flags.empty() ? 0 : 1;
      effective_revocations += v.effective && std::holds_alternative<RevocationPayload>(op.fields.payload);
      effective_notes += v.effective && std::holds_alternative<NotePayload>(op.fields.payload);
    }
    std::vector<Bytes> bytes = test::bytes_of(ops);
    for (const Op& op : refused) bytes.push_back(op.bytes);
    for (int order = 0; order < 3; ++order) {
      std::vector<Bytes> shuffled = bytes;
      for (int i = 0; i < 10; ++i) shuffled.push_back(bytes[rng() % bytes.size()]);
      std::shuffle(shuffled.begin(), shuffled.end(), rng);
      TempDir dir;
      auto store = test::open_store(dir.path());
      test::ingest_all(*store, shuffled, 1 + rng() % 16);
      auto state = store->authority();
      REQUIRE(state.is_ok());
      CAPTURE(round, order);
      CHECK((*state)->digest() == authority_digest);
      CHECK(*store->effective_digest() == *effective_digest);
      auto stats = store->stats();
      REQUIRE(stats.is_ok());
      CHECK(stats->ops == ops.size());  // the refused ones are refused in every order
    }
  }
  // The histories exercise every rule: some revocations bite, some ops are inert or flagged,
  // some are refused outright.
  CAPTURE(effective_revocations, inert, flagged, effective_notes, no_office);
  CHECK(no_office > 0);
  CHECK(effective_revocations > 0);
  CHECK(inert > 0);
  CHECK(flagged > 0);
  CHECK(effective_notes > 0);
}

TEST_CASE("a state extended by new authority ops equals one computed from scratch", "[authority][property]") {
  std::mt19937_64 rng(4711);
  std::size_t extended = 0, recomputed = 0, left_without_frontier = 0, with_frontier = 0;
  for (int round = 0; round < 4; ++round) {
    County county;
    std::vector<KeyPair> keys;
    for (int i = 0; i < 8; ++i) keys.push_back(test_key(300 + i));
    static const std::vector<std::pair<std::string, std::string>> kGrants = {
        {"township_station", kTownship}, {"village_head", kVillageA}, {"grid_member", kGridA},
        {"village_safety_officer", kVillageA}, {"county_admin", test::kCounty}};
    std::vector<std::vector<Hash32>> views{county.heads()};
    std::vector<Op> taken;  // ops by the keys (not the root) taken so far
    for (int step = 0; step < 50; ++step) {
      const std::vector<Hash32>& seen = views[rng() % views.size()];
      const KeyPair& by = rng() % 3 == 0 ? county.root() : keys[rng() % keys.size()];
      const KeyPair& to = keys[rng() % keys.size()];
      Op op;
      if (rng() % 5 == 0) {
        // Half name no frontier, `left` (no forward rule) or `compromised` (voids from op 0); half
        // name one of a key's ops as the frontier, seen or not.
        RevocationPayload revocation{to.public_key(), rng() % 2 ? "left" : "compromised", 0, std::nullopt};
        if (!taken.empty() && rng() % 2 == 0) {
          const Op& frontier = taken[rng() % taken.size()];
          revocation.key = frontier.fields.author;
          revocation.frontier_seq = frontier.fields.author_seq;
          revocation.frontier = frontier.id;
        }
        op = county.build(by, test::kCounty, key_object_id(revocation.key), revocation, seen);
      } else {
        const auto& [role, scope] = kGrants[rng() % kGrants.size()];
        op = county.delegation(by, to, role, scope, seen);
      }
      if (county.offer(op, by, seen)) {
        if (&by != &county.root()) taken.push_back(op);
        if (const auto* r = std::get_if<RevocationPayload>(&op.fields.payload)) {
          left_without_frontier += r->reason == "left" && !r->frontier;
          with_frontier += r->frontier.has_value();
        }
      }
      views.push_back(county.heads());
      // The store extends its last state when it can; the result must be the full computation's.
      auto state = county.store().authority();
      REQUIRE(state.is_ok());
      (*state)->extended() ? ++extended : ++recomputed;
      AuthorityState fresh(std::make_shared<AuthorityGraph>((*state)->graph()), (*state)->equivocations());
      REQUIRE(fresh.graph().size() == (*state)->graph().size());
      CAPTURE(round, step);
      for (std::size_t i = 0; i < fresh.graph().size(); ++i) {
        const Verdict& a = (*state)->verdict_of(i);
        const Verdict& b = fresh.verdict_of(i);
        CHECK(a.effective == b.effective);
        CHECK(a.reason == b.reason);
        CHECK(a.chain == b.chain);
        CHECK(a.flags == b.flags);
      }
      CHECK((*state)->digest() == fresh.digest());
    }
  }
  // Both paths ran: delegations extend the state, revocations force a full computation; and the
  // revocations took every form, `left` ones without a frontier among them (issue 20).
  CAPTURE(extended, recomputed, left_without_frontier, with_frontier);
  CHECK(extended > 20);
  CHECK(recomputed > 20);
  CHECK(left_without_frontier > 5);
  CHECK(with_frontier > 5);
}

TEST_CASE("a graph cut back after a failed write is the graph that never had those ops", "[authority]") {
  County county;
  People p;
  county.delegate(county.root(), p.town, "township_station", kTownship);
  county.delegate(p.town, p.head_a, "village_head", kVillageA);
  county.delegate(p.town, p.head_b, "village_head", kVillageB);
  // A revocation whose frontier op (a record) is also a parent, as earlier releases wrote it.
  Op patrol = county.note(p.head_b, kVillageB, "巡查", county.heads());
  county.ingest(patrol);
  county.revoke(county.root(), p.head_b, "left", patrol);
  county.delegate(p.head_a, p.member, "grid_member", kGridA);
  auto state = county.store().authority();
  REQUIRE(state.is_ok());
  const AuthorityGraph& full = (*state)->graph();
  REQUIRE(full.size() == 6);
  REQUIRE(full.held_frontier(4) == HeldFrontier{p.head_b.public_key(), patrol.fields.author_seq});
  REQUIRE(full.record_parents(4) == std::vector<Hash32>{patrol.id});
  for (std::size_t keep = 0; keep <= full.size(); ++keep) {
    CAPTURE(keep);
    AuthorityGraph prefix;
    for (std::size_t i = 0; i < keep; ++i) prefix.add(full.op(i), full.auth_parents(i), full.held_frontier(i));
    AuthorityGraph cut = full;
    cut.truncate(keep);
    CHECK(cut.size() == keep);
    CHECK(cut.heads() == prefix.heads());
    CHECK(cut.genesis() == prefix.genesis());
    for (std::size_t i = 0; i < full.size(); ++i) CHECK(cut.contains(full.op(i).id) == (i < keep));
    for (std::size_t a = 0; a < keep; ++a) {
      CHECK(cut.record_parents(a) == prefix.record_parents(a));
      CHECK(cut.held_frontier(a) == prefix.held_frontier(a));
      for (std::size_t b = 0; b < keep; ++b) CHECK(cut.precedes_or_equal(a, b) == prefix.precedes_or_equal(a, b));
    }
    CHECK(cut.record_parents_in(cut.closure(cut.heads())) == prefix.record_parents_in(prefix.closure(prefix.heads())));
    if (keep > 0) {
      AuthorityState from_cut(std::make_shared<AuthorityGraph>(cut), {});
      AuthorityState from_prefix(std::make_shared<AuthorityGraph>(prefix), {});
      CHECK(from_cut.digest() == from_prefix.digest());
    }
    // Adding the rest again gives the whole graph back.
    for (std::size_t i = keep; i < full.size(); ++i) cut.add(full.op(i), full.auth_parents(i), full.held_frontier(i));
    CHECK(cut.heads() == full.heads());
    AuthorityState again(std::make_shared<AuthorityGraph>(cut), {});
    CHECK(again.digest() == (*state)->digest());
  }
}

TEST_CASE("a refused appointment leaves the store's authority as it was", "[authority]") {
  County county;
  People p;
  county.delegate(county.root(), p.town, "township_station", kTownship);
  auto before = county.store().authority();
  REQUIRE(before.is_ok());
  ManualClock wall(test::kTestTimeMs + 1000);
  // A grid member with no role appoints a village head: written into the transaction, judged not
  // effective, refused; nothing of it may stay behind in memory.
  node::OpDraft draft{kVillageA, County::grant_object(p.head_a, "village_head", kVillageA),
                      DelegationPayload{p.head_a.public_key(), "village_head", {}}, {}};
  auto refused = county.store().author(p.member, draft, wall);
  REQUIRE_FALSE(refused.is_ok());
  auto after = county.store().authority();
  REQUIRE(after.is_ok());
  CHECK((*after)->graph().size() == (*before)->graph().size());
  CHECK((*after)->digest() == (*before)->digest());
  // The store goes on as if the refused draft had never been made.
  Op head = county.delegate(p.town, p.head_a, "village_head", kVillageA);
  CHECK(county.effective(head));
  auto authored = county.store().author(p.town, node::OpDraft{kVillageB, County::grant_object(p.head_b, "village_head", kVillageB),
                                                              DelegationPayload{p.head_b.public_key(), "village_head", {}}, {}},
                                        wall);
  REQUIRE(authored.is_ok());
  auto last = county.store().authority();
  REQUIRE(last.is_ok());
  CHECK((*last)->graph().size() == (*before)->graph().size() + 2);
  CHECK((*last)->verdict_of((*last)->graph().size() - 1).effective);
}

TEST_CASE("the authority a store keeps after authoring equals one computed afresh", "[authority]") {
  // Store::author judges its new op inside the write transaction (it must be effective), and
  // keeps the authority state computed there once the commit succeeds; appointments extend it,
  // a revocation makes it anew. A hazard read before the revocation must not survive it.
  County county;
  People p;
  ManualClock wall(test::kTestTimeMs + 1000);
  auto same_as_fresh = [&] {
    auto kept = county.store().authority();
    REQUIRE(kept.is_ok());
    AuthorityState afresh(std::make_shared<AuthorityGraph>((*kept)->graph()), (*kept)->equivocations());
    CHECK((*kept)->digest() == afresh.digest());
  };
  auto author = [&](const KeyPair& by, const std::string& scope, const Hash32& object, Payload payload,
                    node::DraftTarget target = node::DraftTarget::kExisting) {
    auto op = county.store().author(by, node::OpDraft{scope, object, std::move(payload), {}, target,
                                                      node::DraftAdmit::kEffectiveOnly},
                                    wall);
    INFO(op.status().message());
    REQUIRE(op.is_ok());
    same_as_fresh();
    return *op;
  };
  // What a store that never read anything says of the hazard.
  auto fresh_hazard = [&](const Hash32& id) {
    std::vector<Bytes> all;
    REQUIRE(county.store().for_each_op([&](const Op& op) { all.push_back(op.bytes); }).is_ok());
    TempDir dir;
    auto store = test::open_store(dir.path());
    test::ingest_all(*store, all, 64);
    auto state = store->hazard(id);
    REQUIRE(state.is_ok());
    return *state;
  };
  author(county.root(), kTownship, County::grant_object(p.town, "township_station", kTownship),
         DelegationPayload{p.town.public_key(), "township_station", {}});
  author(p.town, kVillageA, County::grant_object(p.head_a, "village_head", kVillageA),
         DelegationPayload{p.head_a.public_key(), "village_head", {}});
  Op member = author(p.head_a, kVillageA, County::grant_object(p.member, "grid_member", kVillageA),
                     DelegationPayload{p.member.public_key(), "grid_member", {}});
  HazardPayload h;
  h.action = "report";
  h.text = "仓库消防通道堵塞";
  h.category = "fire";
  h.severity = "general";
  Op report = author(p.member, kVillageA, Hash32{}, h, node::DraftTarget::kNewRecord);
  auto read = county.store().hazard(report.fields.object);
  REQUIRE(read.is_ok());
  CHECK(read->exists);
  // Another appointment: the kept state extends the last one.
  author(p.town, kVillageB, County::grant_object(p.head_b, "village_head", kVillageB),
         DelegationPayload{p.head_b.public_key(), "village_head", {}});
  read = county.store().hazard(report.fields.object);
  REQUIRE(read.is_ok());
  CHECK(read->exists);
  // The township revokes the village head's key as compromised, from before any of her ops: her
  // appointment of the grid member, and so the member's report, are void.
  author(p.town, test::kCounty, key_object_id(p.head_a.public_key()),
         RevocationPayload{p.head_a.public_key(), "compromised", 0, std::nullopt});
  CHECK_FALSE(county.effective(member));
  read = county.store().hazard(report.fields.object);
  REQUIRE(read.is_ok());
  HazardState fresh = fresh_hazard(report.fields.object);
  CHECK(read->exists == fresh.exists);
  CHECK_FALSE(read->exists);
  REQUIRE(read->history.size() == fresh.history.size());
  for (std::size_t i = 0; i < read->history.size(); ++i)
    CHECK(read->history[i].verdict.effective == fresh.history[i].verdict.effective);
  // A refused draft leaves the kept state as it was.
  auto before = county.store().authority();
  REQUIRE(before.is_ok());
  auto refused = county.store().author(p.member2, node::OpDraft{kVillageB, County::grant_object(p.member2, "village_head", kVillageB),
                                                                DelegationPayload{p.member2.public_key(), "village_head", {}}, {}},
                                       wall);
  REQUIRE_FALSE(refused.is_ok());
  auto after = county.store().authority();
  REQUIRE(after.is_ok());
  CHECK((*after)->digest() == (*before)->digest());
  same_as_fresh();
}

namespace {

std::vector<std::string> enrolled_at(County& county, const KeyPair& node) {
  auto state = county.store().authority();
  REQUIRE(state.is_ok());
  return (*state)->node_scopes(node.public_key());
}

Op enrol(County& county, const KeyPair& by, const KeyPair& node, const std::string& scope,
         std::optional<std::vector<Hash32>> seen = std::nullopt) {
  Op op = county.build(by, scope, node_object_id(node.public_key()), EnrolmentPayload{node.public_key()},
                       seen ? *seen : county.heads());
  county.ingest(op);
  return op;
}

}  // namespace

// Issue 20, finding 3: revocation looked only at delegations and node_scopes ignored revocations,
// so a stolen or retired node kept syncing for ever.
TEST_CASE("a node's enrolment is revoked like a role, and a revoked node is enrolled nowhere", "[authority][issue20]") {
  County county;
  People p;
  KeyPair node = test_key(500);
  county.delegate(county.root(), p.town, "township_station", kTownship);
  county.delegate(county.root(), p.town2, "township_station", "150430101");
  county.delegate(p.town, p.head_a, "village_head", kVillageA);
  Op enrolment = enrol(county, p.town, node, kVillageA);
  CHECK(enrolled_at(county, node) == std::vector<std::string>{kVillageA});
  // Another township may not revoke it: its office does not enclose the enrolment's scope.
  Op by_other_town = county.build(p.town2, "150430101", key_object_id(node.public_key()),
                                  RevocationPayload{node.public_key(), "compromised", 0, std::nullopt}, county.heads());
  county.ingest(by_other_town);
  CHECK_FALSE(county.effective(by_other_town));
  CHECK(enrolled_at(county, node) == std::vector<std::string>{kVillageA});
  // The township that enrolled it revokes it: enrolled nowhere, so every peer refuses it.
  Op revoked = county.build(p.town, kTownship, key_object_id(node.public_key()),
                            RevocationPayload{node.public_key(), "compromised", 0, std::nullopt}, county.heads());
  county.ingest(revoked);
  CHECK(county.effective(revoked));
  CHECK(enrolled_at(county, node).empty());
  // Liveness: an enrolment after the revocation (in whose past it is) stands; the county may also
  // revoke a node any township enrolled.
  enrol(county, p.town, node, kVillageA);
  CHECK(enrolled_at(county, node) == std::vector<std::string>{kVillageA});
  Op by_county = county.build(county.root(), test::kCounty, key_object_id(node.public_key()),
                              RevocationPayload{node.public_key(), "left", 0, std::nullopt}, county.heads());
  county.ingest(by_county);
  CHECK(county.effective(by_county));
  CHECK(enrolled_at(county, node).empty());
}

// Issue 20, finding 4: several enrolments per key were allowed and the shortest code won, so a
// township station enrolled another township's village node at its own township.
TEST_CASE("one township cannot re-scope another township's node; the county can, and a node has one enrolment",
          "[authority][issue20]") {
  County county;
  People p;
  KeyPair node = test_key(501);
  county.delegate(county.root(), p.town, "township_station", kTownship);
  county.delegate(county.root(), p.town2, "township_station", "150430101");
  enrol(county, p.town, node, kVillageA);
  // Township 2, seeing the enrolment, enrols the node at itself: void, and the node stays put.
  Op grab = enrol(county, p.town2, node, "150430101");
  CHECK_FALSE(county.effective(grab));
  CHECK_THAT(county.verdict(grab).reason, Catch::Contains("already enrolled at " + std::string(kVillageA)));
  CHECK(enrolled_at(county, node) == std::vector<std::string>{kVillageA});
  // The township that enrolled it moves it within its township: the later enrolment replaces it.
  enrol(county, p.town, node, kVillageB);
  CHECK(enrolled_at(county, node) == std::vector<std::string>{kVillageB});
  // The county encloses every enrolment: it may move the node anywhere.
  enrol(county, county.root(), node, "150430101201");
  CHECK(enrolled_at(county, node) == std::vector<std::string>{"150430101201"});
}

TEST_CASE("two enrolments made without knowing of each other: one counts, the same on every node", "[authority][issue20]") {
  County county;
  People p;
  KeyPair node = test_key(502);
  county.delegate(county.root(), p.town, "township_station", kTownship);
  county.delegate(county.root(), p.town2, "township_station", "150430101");
  std::vector<Hash32> before = county.heads();
  Op a = enrol(county, p.town, node, kVillageA, before);
  Op b = enrol(county, p.town2, node, "150430101", before);
  CHECK(county.effective(a));
  CHECK(county.effective(b));
  // The narrower scope counts (it shows a node the least), whatever the order of arrival.
  CHECK(enrolled_at(county, node) == std::vector<std::string>{kVillageA});
}

// Issue 20, finding 2, found by a review of the first fix: a key that any op named could name
// throwaway keys in turn, with delegations that were inert but stored, and their ops travelled.
// Only a chain of appointments by roles that may delegate names a key now.
TEST_CASE("a key named only by an office that may not delegate writes nothing", "[authority][issue20]") {
  County county;
  People p;
  county.delegate(county.root(), p.town, "township_station", kTownship);
  county.delegate(p.town, p.head_a, "village_head", kVillageA);
  county.delegate(p.head_a, p.member, "grid_member", kGridA);
  KeyPair throwaway = test_key(600), appointed = test_key(601);
  // The grid member may not delegate: its appointment is stored, inert, and names nobody.
  Op by_member = county.delegation(p.member, throwaway, "grid_member", kGridA, county.heads());
  CHECK(county.offer(by_member, p.member, county.heads()));
  CHECK_FALSE(county.effective(by_member));
  std::vector<Hash32> seen = county.heads();
  CHECK_FALSE(county.offer(county.note(throwaway, kGridA, "junk", seen), throwaway, seen));
  // The village head may: its appointee writes.
  county.delegate(p.head_a, appointed, "grid_member", kGridA);
  seen = county.heads();
  CHECK(county.offer(county.note(appointed, kGridA, "巡查", seen), appointed, seen));
}
