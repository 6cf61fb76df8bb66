// Issue 19: the holes an adversarial review found, one scenario per class, through the command line
// (and real anwangd processes where the class needs them). Each scenario is what a careless user
// or an adversary did with the released CLI; each fails on the code before its fix.
#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>

#include "crdt/hash.h"
#include "crdt/limits.h"
#include "node/op_file.h"
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

namespace {

// A person key from the county's keyring, as the test needs it to sign ops by hand.
KeyPair key_from_keyring(const fs::path& home, const std::string& name) {
  std::ifstream in(home / "keys" / (name + ".key"));
  std::string magic, seed_hex;
  std::getline(in, magic);
  std::getline(in, seed_hex);
  auto seed = from_hex(seed_hex);
  REQUIRE(seed);
  return KeyPair::from_seed(*seed);
}

// A new node for `scope`, enrolled by the county and given what it may hold by a bundle.
fs::path join_node(County& c, const std::string& name, const std::string& scope) {
  fs::path home = c.dir.path() / name;
  std::string node_key = ok_json(home, {"init"})["node_key"];
  c.as("root", {"node", "enroll", node_key, "--scope", scope});
  fs::path bundle = c.dir.path() / (name + ".bundle");
  ok(c.home, {"bundle", "export", bundle.string(), "--for", node_key});
  ok(home, {"bundle", "import", bundle.string()});
  return home;
}

}  // namespace

// Class 2. Ops in village B's scope whose parents are village-A ops were made by the ordinary CLI
// (`note add --scope B --object A's hazard`) and by hand; every node stored them and offered them to
// village B on every session. B could never complete them; once 10,000 waited upstream, every
// session to B died at the per-peer pending cap, and a new, legitimate hazard for B never arrived.
TEST_CASE("class 2: ten thousand ops village B can never complete do not starve it of its new hazard",
          "[integrity][class2]") {
  County c;
  fs::path village_b = join_node(c, "village-b", County::kOtherVillage);
  std::string hazard_a = c.report("member");
  // The ordinary CLI now refuses a note in B's scope on A's hazard, saying where to write it.
  test::CliRun misplaced = c.try_as("member2", {"note", "add", "--scope", County::kOtherVillage, "--object", hazard_a,
                                                "--text", "隔壁村的隐患"});
  CHECK(misplaced.exit_code == 3);
  CHECK_THAT(misplaced.err, Catch::Contains(County::kGrid));
  // By hand: 10,001 notes at B, each naming A's report as its parent, imported at the county.
  json report_op = c.hazard(hazard_a)["history"][0];
  Hash32 report_id = *Hash32::from_hex(report_op["op"].get<std::string>());
  json shown = ok_json(c.home, {"show", report_op["op"]});
  std::uint64_t hlc = shown["hlc"].get<std::uint64_t>();
  Hash32 network = *Hash32::from_hex(ok_json(c.home, {"status"})["network_id"].get<std::string>());
  KeyPair outsider = key_from_keyring(c.home, "outsider");
  std::vector<Bytes> unreachable;
  std::optional<Hash32> prev;
  for (std::uint64_t i = 0; i < limits::pending_ops_per_peer_max + 1; ++i) {
    OpFields f;
    f.network = network;
    f.author = outsider.public_key();
    f.author_seq = i + 1;
    f.author_prev = prev;
    f.parents = {report_id};
    f.hlc = hlc + i + 1;
    f.scope = County::kOtherVillage;
    f.object = *Hash32::from_hex(hazard_a);
    f.payload = NotePayload{"看不到的父节点 " + std::to_string(i)};
    auto op = sign_op(f, outsider);
    REQUIRE(op.is_ok());
    prev = op->id;
    unreachable.push_back(op->bytes);
  }
  fs::path file = c.dir.path() / "unreachable.ops";
  REQUIRE(node::write_op_file(file, unreachable).is_ok());
  ok(c.home, {"op", "import", file.string()});
  // The county's daemon; a new, legitimate hazard for village B appears there.
  test::DaemonProcess county(c.home, c.dir.path() / "county.log", test::free_loopback_port());
  REQUIRE(county.start().is_ok());
  std::string hazard_b = c.report("member2", "general", "fire", std::string(County::kOtherVillage) + "-01");
  json synced = ok_json(village_b, {"sync", county.address()});
  CHECK(synced["ops_refused"] == 0);
  CHECK(synced["pending"] == 0);
  ok(village_b, {"hazard", "show", hazard_b});
  // Nothing the village could never complete was offered to it or is waiting there.
  CHECK(ok_json(village_b, {"status"})["pending"] == 0);
  CHECK(test::run_cli(village_b, {"show", unreachable.empty() ? "" : blake2b_256(unreachable.front()).hex()}).exit_code == 4);
  // And a second session moves nothing.
  json again = ok_json(village_b, {"sync", county.address()});
  CHECK(again["ops_received"] == 0);
  CHECK(county.stop().is_ok());
}

namespace {

// A copy of a node home, as a second machine holding the same ops (for concurrent work).
fs::path copy_home(const fs::path& from, const fs::path& to) {
  fs::copy(from, to, fs::copy_options::recursive);
  return to;
}

// Carries every op of `from` to `to` with `op export` / `op import` (the CLI alone).
void carry_ops(const fs::path& from, const fs::path& to) {
  fs::path file = from.parent_path() / (from.filename().string() + "-carried.ops");
  ok(from, {"op", "export", file.string()});
  test::CliRun run = test::run_cli(to, {"op", "import", file.string()});
  INFO(run.err);
  CHECK((run.exit_code == 0 || run.exit_code == 1));
}

}  // namespace

// Class 5. On one node the fire department marked a hazard handled, and the reporter archived it;
// at the same time, on another node, the township reclassified it to traffic. After the merge the
// fire department's step stood (archived, category traffic, assignee fire) with no flag. The same
// department could also re-inspect and archive its own handling.
TEST_CASE("class 5: a handling concurrent with a reclassification out of the department's categories is void",
          "[integrity][class5]") {
  County c;
  std::string id = c.report("member");
  c.as("head", {"hazard", "escalate", id});
  c.as("town", {"hazard", "receive", id});
  c.as("town", {"hazard", "assign", id, "--department", "fire"});
  fs::path township = copy_home(c.home, c.dir.path() / "township");
  c.as("fire", {"hazard", "handled", id, "--text", "已清理"});
  // Separation of duties: the fire department does not re-inspect its own handling.
  test::CliRun own = c.try_as("fire", {"hazard", "verify", id, "--pass"});
  CHECK(own.exit_code == 3);
  CHECK_THAT(own.err, Catch::Contains("someone other than who handled"));
  c.as("member", {"hazard", "verify", id, "--pass"});
  CHECK(c.state(id) == "archived");
  ok(township, {"--as", "town", "hazard", "reclassify", id, "--category", "traffic"});
  carry_ops(township, c.home);
  json merged = c.hazard(id);
  CHECK(merged["category"] == "traffic");
  CHECK(merged["state"] == "assigned");
  bool fire_void = false;
  for (const json& step : merged["history"])
    if (step["action"] == "handled")
      fire_void = step["effective"] == false && step["reason"].get<std::string>().find("reclassified") != std::string::npos;
  CHECK(fire_void);
  // It went to the traffic department: in its inbox, and its handling counts.
  json inbox = ok_json(c.home, {"--as", "traffic", "inbox"});
  REQUIRE(inbox.size() == 1);
  CHECK(inbox[0]["id"] == id);
  c.as("traffic", {"hazard", "handled", id});
  c.as("member", {"hazard", "verify", id, "--pass"});
  CHECK(c.state(id) == "archived");
}

// Class 6. Two keys of one holder counted as two signers, and a village head could appoint a
// second key of his own as safety officer and sign off with both; a repeated sign-off by one key
// was written silently.
TEST_CASE("class 6: 双签 needs two persons, neither appointed by the other", "[integrity][class6]") {
  County c;
  ok(c.home, {"key", "new", "head-phone"});
  ok(c.home, {"key", "new", "head-deputy"});
  c.as("town", {"delegate", "--to", "head-phone", "--role", "village_safety_officer", "--scope", County::kVillage,
                "--holder", "head"});
  c.as("head", {"delegate", "--to", "head-deputy", "--role", "village_safety_officer", "--scope", County::kVillage});
  std::string id = c.report("member", "major", "chemicals");
  c.as("head", {"hazard", "signoff", id});
  test::CliRun twice = c.try_as("head", {"hazard", "signoff", id});
  CHECK(twice.exit_code == 3);
  CHECK_THAT(twice.err, Catch::Contains("already signed off"));
  test::CliRun phone = c.try_as("head-phone", {"hazard", "signoff", id});
  CHECK(phone.exit_code == 3);
  c.as("head-deputy", {"hazard", "signoff", id});
  CHECK(c.hazard(id)["signoffs"] == 1);
  test::CliRun early = c.try_as("head", {"hazard", "escalate", id});
  CHECK(early.exit_code == 3);
  CHECK_THAT(early.err, Catch::Contains("neither appointed by the other"));
  c.as("officer", {"hazard", "signoff", id});
  CHECK(c.hazard(id)["signoffs"] == 2);
  c.as("head", {"hazard", "escalate", id});
  CHECK(c.state(id) == "escalated");
}

// Class 9 (one of its messages): a closure that concurrent evidence overrode was shown as an
// effective step with no word that it did not close the hazard.
TEST_CASE("class 9: a closure overridden by a concurrent escalation says so in hazard show", "[integrity][class9]") {
  County c;
  std::string id = c.report("member");
  std::ofstream(c.dir.path() / "after.jpg") << "after-photo";
  c.as("member", {"hazard", "fix", id, "--photo", (c.dir.path() / "after.jpg").string()});
  fs::path other = copy_home(c.home, c.dir.path() / "other");
  c.as("member", {"hazard", "verify", id, "--pass"});
  ok(other, {"--as", "head", "hazard", "escalate", id});
  carry_ops(other, c.home);
  json shown = c.hazard(id);
  CHECK(shown["state"] == "escalated");
  json verify;
  for (const json& step : shown["history"])
    if (step["action"] == "verify") verify = step;
  REQUIRE(verify.is_object());
  CHECK(verify["effective"] == true);
  CHECK(verify["overridden_by"].is_string());
  CHECK_THAT(ok(c.home, {"hazard", "show", id}).out, Catch::Contains("overridden by"));
}

// Class 7. The county revoked township station T while T, offline, revoked village head V as
// compromised. After the merge V kept working, and no view told the county that a compromise
// report about V was voided and needs a decision; `audit unauthorised` gave a wrong reason
// ("holds no role that allows 'revoke'").
TEST_CASE("class 7: a voided compromise report is surfaced for review with its true reason", "[integrity][class7]") {
  County c;
  std::string head_key;
  for (const json& key : ok_json(c.home, {"key", "list"}))
    if (key["name"] == "head") head_key = key["public_key"];
  REQUIRE(head_key.size() == 64);
  fs::path township = copy_home(c.home, c.dir.path() / "township");
  c.as("root", {"revoke", "--key", "town", "--reason", "left"});
  ok(township, {"--as", "town", "revoke", "--key", "head", "--reason", "compromised"});
  carry_ops(township, c.home);
  // V keeps working: the report is void.
  std::string id = c.report("member");
  c.as("head", {"hazard", "escalate", id});
  // The true reason.
  json inert = ok_json(c.home, {"audit", "unauthorised"});
  bool true_reason = false;
  for (const json& op : inert)
    if (op["kind"] == "revocation")
      true_reason = op["reason"].get<std::string>().find("was itself revoked") != std::string::npos;
  CHECK(true_reason);
  // Flagged for review: in audit, in who beside V, in the inbox of the office above.
  json reviews = ok_json(c.home, {"audit", "reviews"});
  REQUIRE(reviews.size() == 1);
  CHECK(reviews[0]["key"] == head_key);
  json who = ok_json(c.home, {"who", "--scope", County::kVillage});
  bool flagged = false;
  for (const json& role : who)
    if (role["key"] == head_key) flagged = role["review"].is_object();
  CHECK(flagged);
  CHECK_THAT(ok(c.home, {"who"}).out, Catch::Contains("REVIEW 待复核"));
  json inbox = ok_json(c.home, {"--as", "root", "inbox"});
  CHECK(std::any_of(inbox.begin(), inbox.end(), [](const json& item) { return item.value("kind", "") == "compromise_review"; }));
  CHECK(ok_json(c.home, {"--as", "member", "inbox"}).empty());
  // Deciding either way settles it: keeping V (reaffirm) on one copy, revoking V here.
  fs::path kept = copy_home(c.home, c.dir.path() / "kept");
  ok(kept, {"--as", "root", "reaffirm", "--key", "head"});
  CHECK(ok_json(kept, {"audit", "reviews"}).empty());
  c.as("root", {"revoke", "--key", "head", "--reason", "compromised"});
  CHECK(ok_json(c.home, {"audit", "reviews"}).empty());
  CHECK(c.try_as("head", {"hazard", "close", id, "--text", "x"}).exit_code == 3);
}
