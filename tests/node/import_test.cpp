// Importing a ledger (node/import.h) and the store's batch authoring beneath it
// (Store::author_batch, Store::judge_batch), on a store: the command line and real files are
// tested in tests/import.
#include <catch2/catch.hpp>

#include "crdt/hash.h"
#include "node/import.h"
#include "support/fixtures.h"

using namespace anwang;
using anwang::test::OpFactory;
using anwang::test::TempDir;
using anwang::test::test_key;

namespace {

constexpr const char* kVillage = "150430100201";
constexpr const char* kOtherVillage = "150430100202";
constexpr const char* kGrid = "150430100201-01";

// A township with two villages and a grid, a township station and the head of the first village.
class County {
 public:
  KeyPair root = test_key(0), town = test_key(10), head = test_key(20);
  ManualClock clock{test::kTestTimeMs};

  County() : store_(test::open_store(dir_.path())) {
    ingest(factory_.genesis());
    appoint(root, town, "township_station", "150430100");
    appoint(town, head, "village_head", kVillage);
    for (auto [code, name] : {std::pair{"150430100", "新惠镇"}, std::pair{kVillage, "东井村"},
                              std::pair{kOtherVillage, "西井村"}, std::pair{kGrid, "第一网格"}}) {
      Op op = factory_.region(root, code, name, heads_);
      ingest(op);
      heads_ = {op.id};
    }
  }
  node::Store& store() { return *store_; }
  std::uint64_t ops() { return store_->stats()->ops; }

 private:
  void ingest(const Op& op) {
    auto report = store_->ingest(std::vector<Bytes>{op.bytes});
    REQUIRE(report.is_ok());
    REQUIRE(report->outcomes[0].kind == node::IngestOutcome::Kind::kAccepted);
  }
  void appoint(const KeyPair& by, const KeyPair& to, const std::string& role, const std::string& scope) {
    Op op = factory_.make(by, scope, named_object_id("grant", to.public_key().hex()),
                          DelegationPayload{to.public_key(), role, {}, std::nullopt}, heads_);
    ingest(op);
    heads_ = {op.id};
  }

  TempDir dir_;
  std::unique_ptr<node::Store> store_;
  OpFactory factory_;
  std::vector<Hash32> heads_;
};

node::OpDraft unit_add(const std::string& scope, const std::string& name) {
  return {scope, Hash32{}, RecordPayload{"unit", "add", {{"name", name}}, {}, {}}, {}, node::DraftTarget::kNewRecord};
}

node::Table ledger(std::vector<std::vector<std::string>> rows) {
  node::Table table{"CSV", "UTF-8", {"单位名称", "统一社会信用代码", "地址", "网格", "村"}, 1, {}};
  for (std::size_t i = 0; i < rows.size(); ++i) table.rows.push_back({i + 2, rows[i]});
  return table;
}

}  // namespace

TEST_CASE("a batch writes in one transaction the drafts the rules allow, and names the one they refuse", "[import]") {
  County county;
  const std::uint64_t before = county.ops();
  std::vector<node::OpDraft> drafts = {unit_add(kVillage, "红砖厂"), unit_add(kOtherVillage, "西井加油站"),
                                       unit_add(kGrid, "惠民超市"), unit_add(kVillage, "")};
  auto judged = county.store().judge_batch(county.head.public_key(), drafts, county.clock);
  REQUIRE(judged.is_ok());
  REQUIRE(judged->size() == 4);
  CHECK(((*judged)[0].is_ok() && (*judged)[0]->effective));
  CHECK(((*judged)[1].is_ok() && !(*judged)[1]->effective));
  CHECK(((*judged)[2].is_ok() && (*judged)[2]->effective));
  CHECK(((*judged)[3].is_ok() && !(*judged)[3]->effective));
  CHECK(county.ops() == before);  // judging writes nothing

  auto written = county.store().author_batch(county.head, drafts, county.clock);
  REQUIRE(written.is_ok());
  REQUIRE(written->size() == 4);
  CHECK((*written)[0].is_ok());
  REQUIRE_FALSE((*written)[1].is_ok());
  CHECK_THAT((*written)[1].status().message(), Catch::Contains("does not contain 150430100202"));
  CHECK((*written)[2].is_ok());
  CHECK_FALSE((*written)[3].is_ok());
  CHECK(county.ops() == before + 2);
  // Each op follows the one before it by the same key, as author() would number them.
  CHECK((*written)[2]->fields.author_seq == (*written)[0]->fields.author_seq + 1);
  CHECK((*written)[2]->fields.hlc > (*written)[0]->fields.hlc);
  auto report = county.store().verify();
  REQUIRE(report.is_ok());
  CHECK(report->ok());
}

TEST_CASE("an import plans adds, then edits of the changed fields only, then nothing", "[import]") {
  County county;
  node::ImportOptions options;
  options.judge_every_row = true;
  auto table = ledger({{"红砖厂", "91150430MA0N00001A", "北沟", kGrid, ""},
                       {"惠民超市", "", "村口", "", "东井村"},
                       {"西井加油站", "", "公路边", "", kOtherVillage},
                       {"红砖厂", "91150430MA0N00001A", "北沟二号", kGrid, ""}});
  auto plan = node::plan_import(county.store(), table, options, county.head.public_key(), county.clock);
  REQUIRE(plan.is_ok());
  CHECK(plan->steps.size() == 2);
  REQUIRE(plan->refused.size() == 2);
  CHECK(plan->refused[0].line == 4);
  CHECK_THAT(plan->refused[0].reason, Catch::Contains("out of scope"));
  CHECK(plan->refused[1].line == 5);
  CHECK_THAT(plan->refused[1].reason, Catch::Contains("duplicate") && Catch::Contains("line 2"));
  CHECK(plan->steps[1].draft.scope == kVillage);  // the village named 东井村

  const std::uint64_t before = county.ops();
  node::ImportWritten written = node::write_import(county.store(), county.head, *plan, county.clock, {});
  CHECK(written.status.is_ok());
  CHECK(written.added == 2);
  CHECK(county.ops() == before + 2);

  table = ledger({{"红砖厂", "91150430MA0N00001A", "北沟二号", kGrid, ""}, {"惠民超市", "", "村口", "", "东井村"}});
  plan = node::plan_import(county.store(), table, options, county.head.public_key(), county.clock);
  REQUIRE(plan.is_ok());
  CHECK(plan->unchanged == 1);
  REQUIRE(plan->steps.size() == 1);
  CHECK(plan->steps[0].edit);
  const auto& edit = std::get<RecordPayload>(plan->steps[0].draft.payload);
  CHECK(edit.action == "edit");
  CHECK(edit.fields == std::vector<std::pair<std::string, std::string>>{{"address", "北沟二号"}});
  written = node::write_import(county.store(), county.head, *plan, county.clock, {});
  CHECK(written.changed == 1);
  plan = node::plan_import(county.store(), table, options, county.head.public_key(), county.clock);
  REQUIRE(plan.is_ok());
  CHECK(plan->steps.empty());
  CHECK(plan->unchanged == 2);
}
