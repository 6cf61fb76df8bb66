// Ledger units, patrols, tips, incidents and notices: field registers, confirmations, schedules.
#include <catch2/catch.hpp>

#include "crdt/hash.h"
#include "node/store.h"
#include "support/fixtures.h"

using namespace anwang;
using anwang::test::OpFactory;
using anwang::test::TempDir;
using anwang::test::test_key;

namespace {

constexpr const char* kVillage = "150430100201";
constexpr const char* kGrid = "150430100201-03";

class Grid {
 public:
  KeyPair root = test_key(0), town = test_key(10), head = test_key(20), member = test_key(30), member2 = test_key(31);

  Grid() : store_(test::open_store(dir_.path())) {
    ingest(factory_.genesis());
    appoint(root, town, "township_station", "150430100");
    appoint(town, head, "village_head", kVillage);
    appoint(head, member, "grid_member", kGrid);
    appoint(head, member2, "grid_member", kGrid);
  }
  node::Store& store() { return *store_; }

  void ingest(const Op& op) {
    auto report = store_->ingest(std::vector<Bytes>{op.bytes});
    REQUIRE(report.is_ok());
    REQUIRE(report->outcomes[0].kind == node::IngestOutcome::Kind::kAccepted);
  }
  Op create(const KeyPair& by, const std::string& scope, RecordPayload r, std::optional<std::uint64_t> hlc = {}) {
    std::uint64_t seq = factory_.next_seq(by);
    Op op = factory_.make(by, scope, authored_object_id(by.public_key(), seq), std::move(r), heads_, hlc);
    ingest(op);
    return op;
  }
  Op step(const KeyPair& by, const Op& on, RecordPayload r, std::vector<Hash32> seen,
          std::optional<std::uint64_t> hlc = {}) {
    seen.insert(seen.end(), heads_.begin(), heads_.end());
    Op op = factory_.make(by, on.fields.scope, on.fields.object, std::move(r), seen, hlc);
    ingest(op);
    return op;
  }
  RecordState record(const Op& created) {
    auto r = store_->record(created.fields.object);
    REQUIRE(r.is_ok());
    return *r;
  }

 private:
  void appoint(const KeyPair& by, const KeyPair& to, const std::string& role, const std::string& scope) {
    Op op = factory_.make(by, scope, named_object_id("grant", to.public_key().hex()),
                          DelegationPayload{to.public_key(), role, {}}, heads_);
    ingest(op);
    heads_ = {op.id};
  }

  TempDir dir_;
  std::unique_ptr<node::Store> store_;
  OpFactory factory_;
  std::vector<Hash32> heads_;
};

RecordPayload unit_step(const std::string& action, std::vector<std::pair<std::string, std::string>> fields) {
  std::sort(fields.begin(), fields.end());
  return RecordPayload{"unit", action, fields, {}, {}};
}

}  // namespace

TEST_CASE("concurrent edits of a unit's field keep the losing value visible until resolved", "[record]") {
  Grid grid;
  Op added = grid.create(grid.head, kGrid, unit_step("add", {{"name", "红星加油站"}, {"address", "一村"}}));
  Op a = grid.step(grid.head, added, unit_step("edit", {{"address", "一村东头"}}), {added.id});
  Op b = grid.step(grid.town, added, unit_step("edit", {{"address", "一村村口"}}), {added.id});
  RecordState conflicted = grid.record(added);
  REQUIRE(conflicted.fields.count("address") == 1);
  CHECK(conflicted.fields["address"].conflicts.size() == 1);
  CHECK(std::find(conflicted.flags.begin(), conflicted.flags.end(), "conflict") != conflicted.flags.end());
  CHECK(conflicted.field("name") == "红星加油站");
  Op resolved = grid.step(grid.head, added, unit_step("edit", {{"address", "一村东头 12 号"}}), {a.id, b.id});
  RecordState after = grid.record(added);
  CHECK(after.field("address") == "一村东头 12 号");
  CHECK(after.fields["address"].conflicts.empty());
  CHECK(after.flags.empty());
  (void)resolved;
}

TEST_CASE("a confirmation counts only for the entry it saw", "[record]") {
  Grid grid;
  Op added = grid.create(grid.head, kGrid, unit_step("add", {{"name", "一村小卖部"}, {"three_small", "true"}}));
  Op by_unit = grid.step(grid.head, added, unit_step("confirm", {{"by", "unit"}}), {added.id});
  Op by_leader = grid.step(grid.head, added, unit_step("confirm", {{"by", "grid_leader"}}), {by_unit.id});
  RecordState confirmed = grid.record(added);
  CHECK(confirmed.confirmed_by_unit);
  CHECK(confirmed.confirmed_by_grid_leader);
  grid.step(grid.head, added, unit_step("edit", {{"contacts", "王五"}}), {by_leader.id});
  RecordState edited = grid.record(added);
  CHECK_FALSE(edited.confirmed_by_unit);
  CHECK_FALSE(edited.confirmed_by_grid_leader);
}

TEST_CASE("a grid member may not review a unit as grid leader, nor close one outside their grid", "[record]") {
  Grid grid;
  Op added = grid.create(grid.member, kGrid, unit_step("add", {{"name", "砖厂"}}));
  Op review = grid.step(grid.member, added, unit_step("confirm", {{"by", "grid_leader"}}), {added.id});
  RecordState r = grid.record(added);
  CHECK_FALSE(r.confirmed_by_grid_leader);
  CHECK_FALSE(r.history[1].verdict.effective);
  Op bad_status = grid.step(grid.member, added, unit_step("edit", {{"status", "closed"}}), {added.id});
  CHECK_FALSE(grid.record(added).history[2].verdict.effective);
  Op closed = grid.step(grid.member, added, unit_step("close", {{"status", "moved_out"}}), {added.id});
  CHECK(grid.record(added).field("status") == "moved_out");
  (void)review;
  (void)bad_status;
  (void)closed;
}

TEST_CASE("patrols are due weekly for key units, every 15 days otherwise, and quotas count this month", "[record]") {
  Grid grid;
  constexpr std::uint64_t kDay = 86'400'000;
  std::uint64_t t0 = test::kTestTimeMs + 10 * kDay;
  Op key_unit = grid.create(grid.head, kGrid, unit_step("add", {{"name", "加油站"}, {"key_supervision", "true"}}), t0 << 16);
  Op plain = grid.create(grid.head, kGrid, unit_step("add", {{"name", "小卖部"}}), (t0 + 1) << 16);
  RecordPayload patrol{"inspection", "record", {{"items", "消防通道:pass"}}, {}, {key_unit.fields.object}};
  Op inspected = grid.create(grid.member, kGrid, patrol, (t0 + 3 * kDay) << 16);
  std::vector<RecordState> units{grid.record(key_unit), grid.record(plain)};
  std::vector<RecordState> inspections{grid.record(inspected)};
  auto authority = grid.store().authority();
  REQUIRE(authority.is_ok());
  auto due = patrols_due(units, inspections, (*authority)->constitution(), t0 + 12 * kDay);
  REQUIRE(due.size() == 2);
  // The key unit: patrolled on day 3, due on day 10, overdue on day 12.
  auto key_due = std::find_if(due.begin(), due.end(), [&](const PatrolDue& d) { return d.unit == key_unit.fields.object; });
  CHECK(key_due->due_ms == t0 + 10 * kDay);
  CHECK(key_due->overdue);
  auto plain_due = std::find_if(due.begin(), due.end(), [&](const PatrolDue& d) { return d.unit == plain.fields.object; });
  CHECK(plain_due->last_ms == 0);
  CHECK(plain_due->due_ms == t0 + 1 + 15 * kDay);
  CHECK_FALSE(plain_due->overdue);
  auto counts = inspections_in_month(inspections, t0 + 3 * kDay);
  CHECK(counts[grid.member.public_key()] == 1);
  CHECK(counts[grid.member2.public_key()] == 0);
}

TEST_CASE("tips are verified into hazards or dismissed with a reason; notices collect receipts", "[record]") {
  Grid grid;
  Op tip = grid.create(grid.member, kGrid, RecordPayload{"tip", "enter", {{"text", "有人私存烟花"}}, {}, {}});
  Op no_reason = grid.step(grid.member, tip, RecordPayload{"tip", "verify", {{"outcome", "dismissed"}}, {}, {}}, {tip.id});
  CHECK_FALSE(grid.record(tip).history[1].verdict.effective);
  grid.step(grid.member, tip, RecordPayload{"tip", "verify", {{"outcome", "dismissed"}, {"reason", "查无此事"}}, {}, {}},
            {tip.id});
  CHECK(grid.record(tip).field("outcome") == "dismissed");
  Op notice = grid.create(grid.town, "150430100",
                          RecordPayload{"notice", "send", {{"recipients", "150430100201,150430100202"}, {"title", "防火"}},
                                        {}, {}});
  grid.step(grid.head, notice, RecordPayload{"notice", "acknowledge", {{"recipient", kVillage}}, {}, {}}, {notice.id});
  Op wrong = grid.step(grid.head, notice, RecordPayload{"notice", "acknowledge", {{"recipient", "150430100202"}}, {}, {}},
                       {notice.id});
  RecordState n = grid.record(notice);
  CHECK(n.acknowledged == std::set<std::string>{kVillage});
  CHECK_FALSE(n.history.back().verdict.effective);
  Op incident = grid.create(grid.head, kVillage, RecordPayload{"incident", "report", {{"injuries", "1"}, {"text", "起火"}}, {}, {}});
  grid.step(grid.head, incident, RecordPayload{"incident", "update", {{"status", "controlled"}}, {}, {}}, {incident.id});
  CHECK(grid.record(incident).field("status") == "controlled");
  (void)no_reason;
  (void)wrong;
}
