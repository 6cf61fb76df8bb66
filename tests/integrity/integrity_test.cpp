// Issue 19: the holes an adversarial review found, one scenario per class, through the command line
// (and real anwangd processes where the class needs them). Each scenario is what a careless user
// or an adversary did with the released CLI; each fails on the code before its fix.
#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>

#include "support/fixtures.h"
#include "support/processes.h"

using namespace anwang;
using anwang::test::TempDir;
using nlohmann::json;

namespace {

namespace fs = std::filesystem;

test::CliRun ok(const fs::path& home, const std::vector<std::string>& args) {
  test::CliRun run = test::run_cli(home, args);
  INFO("anwang " << args.at(0) << (args.size() > 2 ? " " + args[2] : "") << " said: " << run.err);
  REQUIRE(run.exit_code == 0);
  return run;
}

json ok_json(const fs::path& home, std::vector<std::string> args) {
  args.push_back("--json");
  return json::parse(ok(home, args).out);
}

// A county on one node with the people of the loop, a second village with its own head and grid
// member, and an outsider who holds no role. Every key is in this node's keyring.
struct County {
  TempDir dir;
  fs::path home = dir.path() / "county";

  static constexpr const char* kVillage = "150430100201";
  static constexpr const char* kGrid = "150430100201-03";
  static constexpr const char* kOtherVillage = "150430100202";

  County() {
    ok(home, {"init"});
    for (const char* name : {"root", "town", "head", "officer", "member", "fire", "traffic", "head2", "member2", "outsider"})
      ok(home, {"key", "new", name});
    as("root", {"genesis", "--county", "150430", "--name", "敖汉旗", "--root", "root"});
    as("root", {"delegate", "--to", "town", "--role", "township_station", "--scope", "150430100"});
    as("town", {"delegate", "--to", "head", "--role", "village_head", "--scope", kVillage});
    as("town", {"delegate", "--to", "officer", "--role", "village_safety_officer", "--scope", kVillage});
    as("head", {"delegate", "--to", "member", "--role", "grid_member", "--scope", kGrid});
    as("town", {"delegate", "--to", "head2", "--role", "village_head", "--scope", kOtherVillage});
    as("head2", {"delegate", "--to", "member2", "--role", "grid_member", "--scope", std::string(kOtherVillage) + "-01"});
    as("root", {"delegate", "--to", "fire", "--role", "department", "--scope", "150430", "--category", "fire"});
    as("root", {"delegate", "--to", "traffic", "--role", "department", "--scope", "150430", "--category", "traffic"});
  }

  test::CliRun as(const std::string& who, std::vector<std::string> args) {
    args.insert(args.begin(), {"--as", who});
    return ok(home, args);
  }
  test::CliRun try_as(const std::string& who, std::vector<std::string> args) {
    args.insert(args.begin(), {"--as", who});
    return test::run_cli(home, args);
  }
  std::string report(const std::string& who, const std::string& severity = "general", const std::string& category = "fire",
                     const std::string& where = kGrid) {
    return ok_json(home, {"--as", who, "hazard", "report", "--grid", where, "--category", category, "--severity", severity,
                          "--text", "仓库消防通道堵塞"})["id"];
  }
  json hazard(const std::string& id) { return ok_json(home, {"hazard", "show", id}); }
  std::string state(const std::string& id) { return hazard(id)["state"]; }
};

}  // namespace

// Class 1. `anwang note add --object HAZARD` was accepted from anyone, even a key with no role
// (as an inert op); after it every step on the hazard was refused with "no effective report of
// this hazard is in its causal past".
TEST_CASE("class 1: notes on a hazard by an outsider, another village's head and a grid member never stop it",
          "[integrity][class1]") {
  County c;
  std::string id = c.report("member");
  auto note = [&](const std::string& who) {
    // The outsider's note is inert (exit 3 when refused outright is also fine: nothing written).
    test::CliRun run = c.try_as(who, {"note", "add", "--scope", County::kGrid, "--object", id, "--text", "我来看看"});
    CHECK((run.exit_code == 0 || run.exit_code == 3));
  };
  note("outsider");
  c.as("head", {"hazard", "escalate", id});
  note("head2");
  c.as("town", {"hazard", "receive", id});
  note("member");
  c.as("town", {"hazard", "assign", id, "--department", "fire"});
  note("outsider");
  c.as("fire", {"hazard", "handled", id, "--text", "已清理"});
  note("outsider");
  c.as("member", {"hazard", "verify", id, "--pass"});
  json shown = c.hazard(id);
  CHECK(shown["state"] == "archived");
  for (const json& step : shown["history"]) CHECK(step["effective"] == true);
  ok(c.home, {"verify"});
}
