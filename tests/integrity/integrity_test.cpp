// Issue 19: the holes an adversarial review found, one scenario per class, through the command line
// (and real anwangd processes where the class needs them). Each scenario is what a careless user
// or an adversary did with the released CLI; each fails on the code before its fix.
#include <sys/stat.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "crdt/hash.h"
#include "crdt/hlc.h"
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
      ok(home, {"key", "new", name, "--no-passphrase"});
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
  // After every step, a note from each of the three: the previous release stopped the hazard
  // at whichever step came after the first note it accepted.
  auto notes = [&] {
    for (const char* who : {"outsider", "head2", "member"}) note(who);
  };
  notes();
  c.as("head", {"hazard", "escalate", id});
  notes();
  c.as("town", {"hazard", "receive", id});
  notes();
  c.as("town", {"hazard", "assign", id, "--department", "fire"});
  notes();
  c.as("fire", {"hazard", "handled", id, "--text", "已清理"});
  notes();
  c.as("member", {"hazard", "verify", id, "--pass"});
  notes();
  json shown = c.hazard(id);
  CHECK(shown["state"] == "archived");
  for (const json& step : shown["history"]) CHECK(step["effective"] == true);
  ok(c.home, {"verify"});
}

namespace {

// A person key from the county's keyring, as the test needs it to sign ops by hand: the seed is
// the second line of a v1 key file, the line "seed HEX" of a v2 one (node/KEYRING.md).
KeyPair key_from_keyring(const fs::path& home, const std::string& name) {
  std::ifstream in(home / "keys" / (name + ".key"));
  std::string magic, seed_hex;
  std::getline(in, magic);
  std::getline(in, seed_hex);
  if (seed_hex.rfind("seed ", 0) == 0) seed_hex = seed_hex.substr(5);
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
  // By hand: 10,001 notes at B, each naming A's report as its parent, imported at the county. Their
  // author is B's grid member: a key no office ever named is refused at ingest now (issue 20).
  json report_op = c.hazard(hazard_a)["history"][0];
  Hash32 report_id = *Hash32::from_hex(report_op["op"].get<std::string>());
  json shown = ok_json(c.home, {"show", report_op["op"]});
  std::uint64_t hlc = shown["hlc"].get<std::uint64_t>();
  Hash32 network = *Hash32::from_hex(ok_json(c.home, {"status"})["network_id"].get<std::string>());
  KeyPair writer = key_from_keyring(c.home, "member2");
  std::vector<Bytes> unreachable;
  std::optional<Hash32> prev;
  for (std::uint64_t i = 0; i < limits::pending_ops_per_peer_max + 1; ++i) {
    OpFields f;
    f.network = network;
    f.author = writer.public_key();
    f.author_seq = i + 1;
    f.author_prev = prev;
    f.parents = {report_id};
    f.hlc = hlc + i + 1;
    f.scope = County::kOtherVillage;
    f.object = *Hash32::from_hex(hazard_a);
    f.payload = NotePayload{"看不到的父节点 " + std::to_string(i)};
    auto op = sign_op(f, writer);
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

unsigned mode_of(const fs::path& path) {
  struct stat st {};
  REQUIRE(stat(path.c_str(), &st) == 0);
  return st.st_mode & 0777;
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

json key_listed(const fs::path& home, const std::string& name) {
  for (const json& key : ok_json(home, {"key", "list"}))
    if (key["name"] == name) return key;
  FAIL("no key " << name << " in the keyring of " << home);
  return {};
}

// All of `from`'s ops into `to`, through the ordinary op files.
void merge_ops(const fs::path& from, const fs::path& to, const fs::path& file) {
  ok(from, {"op", "export", file.string()});
  ok(to, {"op", "import", file.string()});
  fs::remove(file);
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
  ok(c.home, {"key", "new", "head-phone", "--no-passphrase"});
  ok(c.home, {"key", "new", "head-deputy", "--no-passphrase"});
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

// Class 3, one key on two nodes. A key file (HOME/keys/NAME.key) copied by hand to another
// node's home signed there at once; the officer's ops on the two nodes then shared sequence
// numbers, the key was flagged as equivocating, its office suspended, and nothing warned anyone.
TEST_CASE(
    "class 3: a key file copied by hand to another node is refused there, naming both nodes, and "
    "nothing is written",
    "[integrity][class3]") {
  County c;
  fs::path village = join_node(c, "village", County::kVillage);
  std::string county_node = ok_json(c.home, {"status"})["node_key"];
  std::string village_node = ok_json(village, {"status"})["node_key"];
  fs::copy_file(c.home / "keys" / "officer.key", village / "keys" / "officer.key");
  std::uint64_t ops_before = ok_json(village, {"status"})["ops"];
  std::string before_listed = ok(village, {"key", "list"}).out;
  for (const std::vector<std::string>& who :
       {std::vector<std::string>{"--as", "officer"}, std::vector<std::string>{}}) {
    // With --as, and as the keyring's only key.
    std::vector<std::string> args = who;
    for (const char* arg : {"hazard", "report", "--grid", County::kGrid, "--category", "fire",
                            "--severity", "general", "--text", "复制的密钥"})
      args.push_back(arg);
    test::CliRun refused = test::run_cli(village, args);
    CHECK(refused.exit_code == 3);
    CHECK(refused.err == "anwang: key officer belongs to node " + county_node + ", not this node " +
                             village_node +
                             ": a key signs on one node only; to move it here, run 'anwang key "
                             "export officer FILE' on "
                             "node " +
                             county_node + " and 'anwang key import FILE' here\n");
    CHECK(refused.out.empty());
  }
  CHECK(ok_json(village, {"status"})["ops"] == ops_before);
  CHECK(read_text(village / "keys" / "officer.key") == read_text(c.home / "keys" / "officer.key"));
  CHECK(ok(village, {"key", "list"}).out == before_listed);
  json listed = key_listed(village, "officer");
  CHECK(listed["binding"] == "other_node");
  CHECK(listed["node"] == county_node);
  // On its own node the key signs as before.
  c.report("officer");
  CHECK(key_listed(c.home, "officer")["binding"] == "this_node");
}

TEST_CASE(
    "class 3: a key moved with key export and key import signs on from its next number on the new "
    "node, and no more "
    "on the old",
    "[integrity][class3]") {
  County c;
  fs::path village = join_node(c, "village", County::kVillage);
  // The officer keeps working at the county node after the village joined: the village node
  // holds none of these ops, so its own view of the key's numbers is behind.
  c.report("officer");
  std::string last_at_county = c.report("officer");
  json last_op = ok_json(c.home, {"show", c.hazard(last_at_county)["history"][0]["op"]});
  fs::path move = c.dir.path() / "officer.move";
  test::CliRun exported = ok(c.home, {"key", "export", "officer", move.string()});
  CHECK(mode_of(move) == 0600);
  CHECK_THAT(exported.out, Catch::Contains("secret"));
  // The old node refuses to sign with it, saying where it went; its key file holds no seed now.
  test::CliRun refused =
      c.try_as("officer", {"hazard", "report", "--grid", County::kGrid, "--category", "fire",
                           "--severity", "general", "--text", "旧节点"});
  CHECK(refused.exit_code == 3);
  CHECK_THAT(refused.err, Catch::Contains("key officer was moved to " + move.string()) &&
                              Catch::Contains("no longer signs on this node"));
  CHECK(read_text(c.home / "keys" / "officer.key").find("seed") == std::string::npos);
  json moved = key_listed(c.home, "officer");
  CHECK(moved["binding"] == "moved");
  CHECK(moved["moved_to"] == move.string());
  CHECK_THAT(ok(c.home, {"key", "list"}).out, Catch::Contains("moved away"));
  // The new node takes it and continues the key's chain after the county's last op, which it
  // does not hold.
  CHECK(test::run_cli(village, {"show", last_op["id"]}).exit_code == 4);
  ok(village, {"key", "import", move.string(), "--no-passphrase"});
  CHECK(key_listed(village, "officer")["binding"] == "this_node");
  CHECK(mode_of(village / "keys" / "officer.key") == 0600);
  std::string at_village = ok_json(
      village, {"--as", "officer", "hazard", "report", "--grid", County::kGrid, "--category",
                "fire", "--severity", "general", "--text", "新节点上报"})["id"];
  json village_op = ok_json(
      village, {"show", ok_json(village, {"hazard", "show", at_village})["history"][0]["op"]});
  CHECK(village_op["author_seq"] == last_op["author_seq"].get<std::uint64_t>() + 1);
  CHECK(village_op["author_prev"] == last_op["id"]);
  CHECK(village_op["hlc"].get<std::uint64_t>() > last_op["hlc"].get<std::uint64_t>());
  // The two nodes' ops meet: no equivocation anywhere, and the new report stands.
  merge_ops(c.home, village, c.dir.path() / "county.ops");
  merge_ops(village, c.home, c.dir.path() / "village.ops");
  CHECK(ok_json(c.home, {"audit", "equivocations"}) == json::array());
  CHECK(ok_json(village, {"audit", "equivocations"}) == json::array());
  CHECK(c.state(at_village) == "reported");
  for (const json& step : c.hazard(at_village)["history"]) CHECK(step["effective"] == true);
  CHECK(c.state(last_at_county) == "reported");
  // And the county still cannot sign with it after the merge.
  CHECK(c.try_as("officer", {"note", "add", "--scope", County::kVillage, "--text", "再试"})
            .exit_code == 3);
}

TEST_CASE(
    "class 3: an earlier release's key file is bound to its node the first time it signs, and "
    "works",
    "[integrity][class3]") {
  County c;
  fs::path key_file = c.home / "keys" / "member.key";
  KeyPair member = key_from_keyring(c.home, "member");
  auto seed = member.seed();
  fs::remove(key_file);
  {
    std::ofstream out(key_file);
    out << "anwang-ed25519-v1\n" << to_hex(ByteView(seed.data(), seed.size())) << "\n";
  }
  fs::permissions(key_file, fs::perms::owner_read | fs::perms::owner_write);
  CHECK(key_listed(c.home, "member")["binding"] == "unbound");
  std::string id = c.report("member");
  CHECK(c.state(id) == "reported");
  std::string county_node = ok_json(c.home, {"status"})["node_key"];
  CHECK(read_text(key_file) == "anwang-ed25519-v2\nseed " +
                                   to_hex(ByteView(seed.data(), seed.size())) + "\nnode " +
                                   county_node + "\n");
  CHECK(mode_of(key_file) == 0600);
  json listed = key_listed(c.home, "member");
  CHECK(listed["binding"] == "this_node");
  CHECK(listed["public_key"] == member.public_key().hex());
  c.report("member");
  // Bound now: a copy on another node is refused there.
  fs::path village = join_node(c, "village", County::kVillage);
  fs::copy_file(key_file, village / "keys" / "member.key");
  test::CliRun refused =
      test::run_cli(village, {"--as", "member", "hazard", "report", "--grid", County::kGrid,
                              "--category", "fire", "--severity", "general", "--text", "复制"});
  CHECK(refused.exit_code == 3);
  CHECK_THAT(refused.err, Catch::Contains("belongs to node " + county_node));
}

namespace {

// An environment variable set for the processes a test starts (the CLI runs through popen, anwangd
// through posix_spawn: both inherit this process's environment), unset again at the end.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) { setenv(name, value.c_str(), 1); }
  ~ScopedEnv() { unsetenv(name_); }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
};

constexpr std::uint64_t kDayMs = 86'400'000;
constexpr std::uint64_t kPiBootMs = 12'000;  // a Raspberry Pi without a real-time clock, 12 s after boot

std::uint64_t wall_ms() {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
}

// A new node for `scope` whose keyring holds one person key, `key_name`, appointed to `role` at
// `role_scope` by `appointer` (a key of the county's keyring); enrolled and given what it may hold.
fs::path join_node_with_key(County& c, const std::string& name, const std::string& scope, const std::string& key_name,
                            const std::string& appointer, const std::string& role, const std::string& role_scope) {
  fs::path home = c.dir.path() / name;
  std::string node_key = ok_json(home, {"init"})["node_key"];
  std::string key = ok_json(home, {"key", "new", key_name, "--no-passphrase"})["public_key"];
  c.as(appointer, {"delegate", "--to", key, "--role", role, "--scope", role_scope});
  c.as("root", {"node", "enroll", node_key, "--scope", scope});
  fs::path bundle = c.dir.path() / (name + ".bundle");
  ok(c.home, {"bundle", "export", bundle.string(), "--for", node_key});
  ok(home, {"bundle", "import", bundle.string()});
  return home;
}

std::string date_of_ms(std::uint64_t ms) { return hlc_display(hlc_from_ms(ms), TimeShown::kDate); }

// A TCP relay between `anwang sync` and a daemon that cuts the link after the daemon has sent
// `frames` whole frames (a 2G link dropping early in a session): it forwards nothing more either
// way, closes the daemon's side, and reads what the client still sends until it closes or a second
// passes. One connection; runs on its own thread.
class CuttingRelay {
 public:
  CuttingRelay(int daemon_port, int frames) : daemon_port_(daemon_port), frames_(frames) {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in at{};
    at.sin_family = AF_INET;
    at.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(listener_, reinterpret_cast<sockaddr*>(&at), sizeof at) == 0);
    socklen_t length = sizeof at;
    REQUIRE(::getsockname(listener_, reinterpret_cast<sockaddr*>(&at), &length) == 0);
    port_ = ntohs(at.sin_port);
    REQUIRE(::listen(listener_, 1) == 0);
    thread_ = std::thread([this] { run(); });
  }
  ~CuttingRelay() {
    ::shutdown(listener_, SHUT_RDWR);
    if (thread_.joinable()) thread_.join();
    ::close(listener_);
  }
  CuttingRelay(const CuttingRelay&) = delete;
  CuttingRelay& operator=(const CuttingRelay&) = delete;
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  int frames_forwarded() const { return forwarded_; }

 private:
  void run() {
    int client = ::accept(listener_, nullptr, nullptr);
    if (client < 0) return;
    int daemon = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(static_cast<std::uint16_t>(daemon_port_));
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(daemon, reinterpret_cast<sockaddr*>(&to), sizeof to) == 0) relay(client, daemon);
    ::close(daemon);
    // Cut: whatever the client still sends is read and dropped, so its writes do not fail before
    // it has read what came through.
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    std::uint8_t buffer[65536];
    while (std::chrono::steady_clock::now() < until) {
      pollfd ready{client, POLLIN, 0};
      if (::poll(&ready, 1, 100) != 1) continue;
      if (::recv(client, buffer, sizeof buffer, 0) <= 0) break;
    }
    ::close(client);
  }

  void relay(int client, int daemon) {
    Bytes from_daemon;  // bytes of the daemon's next frame, not yet forwarded
    std::uint8_t buffer[65536];
    while (forwarded_ < frames_) {
      pollfd ready[2] = {{client, POLLIN, 0}, {daemon, POLLIN, 0}};
      if (::poll(ready, 2, 10'000) <= 0) return;
      if (ready[0].revents != 0) {
        ssize_t n = ::recv(client, buffer, sizeof buffer, 0);
        if (n <= 0 || ::send(daemon, buffer, static_cast<std::size_t>(n), MSG_NOSIGNAL) != n) return;
      }
      if (ready[1].revents != 0) {
        ssize_t n = ::recv(daemon, buffer, sizeof buffer, 0);
        if (n <= 0) return;
        from_daemon.insert(from_daemon.end(), buffer, buffer + n);
        // Forward whole frames only (u32 little-endian length, then the body), up to the cut.
        while (forwarded_ < frames_ && from_daemon.size() >= 4) {
          std::size_t length = std::size_t{from_daemon[0]} | std::size_t{from_daemon[1]} << 8 |
                               std::size_t{from_daemon[2]} << 16 | std::size_t{from_daemon[3]} << 24;
          if (from_daemon.size() < 4 + length) break;
          if (::send(client, from_daemon.data(), 4 + length, MSG_NOSIGNAL) != static_cast<ssize_t>(4 + length)) return;
          from_daemon.erase(from_daemon.begin(), from_daemon.begin() + static_cast<std::ptrdiff_t>(4 + length));
          ++forwarded_;
        }
      }
    }
  }

  int daemon_port_;
  int frames_;
  int listener_ = -1;
  int port_ = 0;
  std::atomic<int> forwarded_{0};
  std::thread thread_;
};

}  // namespace

// Class 4. A Raspberry Pi without a real-time clock boots at 1970. Its `hazard notice --days 15`
// had the deadline 1970-01-16: overdue at once, on every node. And nothing said its clock was wrong.
TEST_CASE("class 4: a Pi at 1970 issues a 15-day notice due 15 days after the hazard, and once synced stamps its "
          "peers' time",
          "[integrity][class4]") {
  County c;
  std::string hazard = c.report("member");
  fs::path pi = join_node_with_key(c, "pi", County::kVillage, "pihead", "town", "village_head", County::kVillage);
  json report_op = ok_json(c.home, {"show", c.hazard(hazard)["history"][0]["op"]});
  std::uint64_t reported_ms = hlc_ms(report_op["hlc"].get<std::uint64_t>());
  {
    ScopedEnv at_1970("ANWANG_FAKE_NOW_MS", std::to_string(kPiBootMs));
    // Before any sync: its clock is known wrong, and every signing command says so.
    json status = ok_json(pi, {"status"});
    CHECK(status["clock"]["verdict"] == "behind");
    CHECK(status["clock"]["known"] == false);
    test::CliRun notice = ok(pi, {"--as", "pihead", "hazard", "notice", hazard, "--days", "15", "--responsible", "张三",
                                  "--measures", "清理通道"});
    CHECK_THAT(notice.err, Catch::Contains("warning: this machine's clock reads 1970-01-01"));
    json shown = ok_json(pi, {"hazard", "show", hazard});
    CHECK(shown["state"] == "noticed");
    CHECK(shown["deadline"] == date_of_ms(reported_ms + 15 * kDayMs));
    CHECK(std::find(shown["flags"].begin(), shown["flags"].end(), "overdue") == shown["flags"].end());
    // A deadline before the notice itself, as the old `--days 15` made it, is refused in one sentence.
    test::CliRun before = test::run_cli(pi, {"--as", "pihead", "hazard", "notice", hazard, "--deadline", "1970-01-16",
                                             "--responsible", "张三"});
    CHECK(before.exit_code == 3);
    CHECK_THAT(before.err, Catch::Contains("the deadline 1970-01-16 is before the notice itself"));
  }
  // On a node with a true clock, --deadline in the past is refused at once.
  test::CliRun past = c.try_as("head", {"hazard", "notice", hazard, "--deadline", "2026-01-02", "--responsible", "张三"});
  CHECK(past.exit_code == 3);
  CHECK_THAT(past.err, Catch::Contains("--deadline 2026-01-02 is already past"));
  // The county's daemon (a true clock) receives the notice: not overdue there either.
  test::DaemonProcess county(c.home, c.dir.path() / "county.log", test::free_loopback_port());
  REQUIRE(county.start().is_ok());
  {
    ScopedEnv at_1970("ANWANG_FAKE_NOW_MS", std::to_string(kPiBootMs));
    ok(pi, {"sync", county.address()});
    json status = ok_json(pi, {"status"});
    CHECK(status["clock"]["verdict"] == "behind");
    CHECK(status["clock"]["known"] == true);
    std::uint64_t before_ms = wall_ms();
    test::CliRun note = ok(pi, {"--as", "pihead", "note", "add", "--scope", County::kVillage, "--text", "村委会例会"});
    CHECK_THAT(note.err, Catch::Contains("using theirs instead"));
    json op = ok_json(pi, {"show", note.out.substr(0, 64)});
    std::uint64_t stamped_ms = hlc_ms(op["hlc"].get<std::uint64_t>());
    CHECK(stamped_ms + 60'000 >= before_ms);  // the county's time, not 1970
    CHECK(stamped_ms <= wall_ms() + 60'000);
  }
  json at_county = ok_json(c.home, {"hazard", "show", hazard});
  CHECK(at_county["deadline"] == date_of_ms(reported_ms + 15 * kDayMs));
  CHECK(ok_json(c.home, {"hazard", "list", "--overdue"}).empty());
  CHECK(county.stop().is_ok());
  CHECK_THAT(county.log_since_start(), Catch::Contains("days behind this node's time"));
}

// Class 4. A node a year ahead made every open notice in the county overdue, a brand-new 30-day one
// included: "overdue" was judged against the newest timestamp any node had sent.
TEST_CASE("class 4: one op from a node a year ahead makes no other notice overdue, and status says whose clock is off",
          "[integrity][class4]") {
  County c;
  std::string fifteen = c.report("member");
  c.as("head", {"hazard", "notice", fifteen, "--days", "15", "--responsible", "张三"});
  std::string thirty = c.report("member");
  c.as("head", {"hazard", "notice", thirty, "--days", "30", "--responsible", "李四"});
  fs::path ahead = join_node_with_key(c, "ahead", County::kOtherVillage, "smember", "head2", "grid_member",
                                      std::string(County::kOtherVillage) + "-01");
  std::string ahead_node = ok_json(ahead, {"status"})["node_key"];
  test::DaemonProcess county(c.home, c.dir.path() / "county.log", test::free_loopback_port());
  REQUIRE(county.start().is_ok());
  // The node's one op, stamped by its clock a year ahead (signed here by hand with its key, so that
  // the same op reaches the county whatever release signs it).
  std::uint64_t year_ahead_ms = wall_ms() + 365 * kDayMs + 3'600'000;
  KeyPair smember = key_from_keyring(ahead, "smember");
  OpFields f;
  f.network = *Hash32::from_hex(ok_json(ahead, {"status"})["network_id"].get<std::string>());
  f.author = smember.public_key();
  for (const json& role : ok_json(ahead, {"who"}))  // its grant in the op's past: it holds an office
    if (role["key"] == smember.public_key().hex()) f.parents = {*Hash32::from_hex(role["grant"].get<std::string>())};
  REQUIRE(f.parents.size() == 1);
  f.hlc = hlc_from_ms(year_ahead_ms);
  f.scope = County::kOtherVillage;
  f.object = named_object_id("note", "明年");
  f.payload = NotePayload{"明年的记录"};
  auto op = sign_op(f, smember);
  REQUIRE(op.is_ok());
  fs::path file = c.dir.path() / "ahead.ops";
  REQUIRE(node::write_op_file(file, {op->bytes}).is_ok());
  {
    ScopedEnv year_ahead("ANWANG_FAKE_NOW_MS", std::to_string(year_ahead_ms));
    ok(ahead, {"op", "import", file.string()});  // taken by its own node, whose clock reads that year
    ok(ahead, {"sync", county.address()});
    // The node a year ahead learns it is: it corrects itself to the county's time.
    json status = ok_json(ahead, {"status"});
    CHECK(status["clock"]["verdict"] == "ahead");
  }
  CHECK(ok_json(c.home, {"hazard", "list", "--overdue"}).empty());
  CHECK(ok_json(c.home, {"hazard", "show", thirty})["state"] == "noticed");
  // Issue 20: the county does not take the op before its time; the node a year ahead keeps it.
  CHECK(test::run_cli(c.home, {"show", op->id.hex()}).exit_code == 4);
  ok(ahead, {"show", op->id.hex()});
  json status = ok_json(c.home, {"status"});
  CHECK(status["clock"]["verdict"] == "ok");
  bool named = false;
  for (const json& peer : status["clock"]["peers"])
    if (peer["node"] == ahead_node) {
      named = true;
      CHECK(peer["off"] == true);
      CHECK(peer["off_by_ms"].get<std::int64_t>() > static_cast<std::int64_t>(364 * kDayMs));
    }
  CHECK(named);
  test::CliRun human = ok(c.home, {"status"});
  CHECK_THAT(human.out, Catch::Contains("node " + ahead_node.substr(0, 12) + "'s clock is 365 days ahead"));
  CHECK(county.stop().is_ok());
  std::string log = county.log_since_start();
  CHECK_THAT(log, Catch::Contains("is 365 days ahead of this node's time"));
  CHECK_THAT(log, Catch::Contains("refused 1 (1 ahead_of_clock)"));  // the daemon says why it refused
  CHECK_THAT(log, Catch::Contains("more than 5 minutes ahead of this node's time"));
}

// Class 3. A village node restored from an older copy of its home signed with numbers the network
// had already seen: the key forked, and nothing warned anyone.
namespace {

// A county node running anwangd, and a village node joined to it whose village head's key `vhead`
// has signed one note and synced it: where the class 3 scenarios begin.
struct VillageOfCounty {
  County c;
  fs::path village = join_node_with_key(c, "village", County::kVillage, "vhead", "town", "village_head", County::kVillage);
  test::DaemonProcess county{c.home, c.dir.path() / "county.log", test::free_loopback_port()};
  VillageOfCounty() {
    REQUIRE(county.start().is_ok());
    ok(village, {"--as", "vhead", "note", "add", "--scope", County::kVillage, "--text", "第一次记录"});
    ok(village, {"sync", county.address()});
  }
};

}  // namespace

TEST_CASE("class 3: a restored node refuses to sign with a key behind its neighbour, says so, and signs again once "
          "caught up",
          "[integrity][class3]") {
  VillageOfCounty v;
  County& c = v.c;
  fs::path& village = v.village;
  test::DaemonProcess& county = v.county;
  // The copy, then more work, which reaches the county; then the copy is restored.
  fs::path copy = c.dir.path() / "village-copy";
  fs::copy(village, copy, fs::copy_options::recursive);
  std::string hazard = ok_json(village, {"--as", "vhead", "hazard", "report", "--grid", County::kGrid, "--category",
                                         "fire", "--severity", "general", "--text", "备份之后的隐患"})["id"];
  ok(village, {"--as", "vhead", "note", "add", "--scope", County::kVillage, "--text", "备份之后"});
  ok(village, {"sync", county.address()});
  fs::remove_all(village);
  fs::rename(copy, village);
  // The link drops right after the session's first messages: the node has heard of the key's ops,
  // but not received them.
  {
    // The daemon's frames: handshake messages 2 and 4 (wire version 4), its channel header, its
    // hello, the key heads.
    CuttingRelay relay(county.port(), 5);
    test::CliRun cut = test::run_cli(village, {"sync", relay.address()});
    CHECK(cut.exit_code != 0);
  }
  test::CliRun refused = test::run_cli(village, {"--as", "vhead", "note", "add", "--scope", County::kVillage, "--text", "恢复之后"});
  CHECK(refused.exit_code == 3);
  CHECK_THAT(refused.err, Catch::Contains("key vhead has signed op number 3 on another node or before this node was "
                                          "restored, and this node holds only up to 1: sync with a neighbour"));
  json status = ok_json(village, {"status"});
  REQUIRE(status["keys"].size() == 1);
  CHECK(status["keys"][0]["behind"] == true);
  CHECK_THAT(ok(village, {"status"}).out, Catch::Contains("Key behind"));
  // Caught up by a whole session: the key signs again, after the ops it signed before the restore.
  ok(village, {"sync", county.address()});
  std::string again = ok(village, {"--as", "vhead", "note", "add", "--scope", County::kVillage, "--text", "恢复之后"}).out;
  CHECK(ok_json(village, {"show", again.substr(0, 64)})["author_seq"] == 4);
  ok(village, {"hazard", "show", hazard});
  ok(village, {"sync", county.address()});
  CHECK(ok_json(village, {"audit", "equivocations"}).empty());
  CHECK(ok_json(c.home, {"audit", "equivocations"}).empty());
  CHECK(ok_json(village, {"status"})["keys"][0]["behind"] == false);
  CHECK(county.stop().is_ok());
}

// Issue 23: the same, through `anwang backup` and `anwang restore`. The backup is taken while the
// village's anwangd runs and another process signs ops one after another; the village then signs
// more, which reach the county; its SD card dies, and the backup is restored on a new card. The
// restored node must not sign before a session has told it what the county holds of its key — it
// cannot know yet, having met no one — and then signs the next number, with no equivocation.
namespace {

std::uint64_t held_seq(const fs::path& home) {
  json status = ok_json(home, {"status"});
  REQUIRE(status["keys"].size() == 1);
  return status["keys"][0]["held_seq"].get<std::uint64_t>();
}

std::uint64_t signed_seq(const fs::path& home, const std::string& text) {
  std::string id = ok(home, {"--as", "vhead", "note", "add", "--scope", County::kVillage, "--text", text}).out;
  return ok_json(home, {"show", id.substr(0, 64)})["author_seq"].get<std::uint64_t>();
}

void check_refuses_until_synced(const fs::path& restored) {
  test::CliRun refused =
      test::run_cli(restored, {"--as", "vhead", "note", "add", "--scope", County::kVillage, "--text", "恢复之后"});
  CHECK(refused.exit_code == 3);
  CHECK_THAT(refused.err, Catch::Contains("key vhead does not sign yet: this node was restored from a backup and has "
                                          "not finished a sync session with a neighbour since"));
  json status = ok_json(restored, {"status"});
  CHECK(!status["restored_at"].is_null());
  CHECK(status["keys"][0]["behind"] == true);
  CHECK_THAT(ok(restored, {"status"}).out, Catch::Contains("Restored 已从备份恢复"));
}

}  // namespace

TEST_CASE("class 3: a node restored with anwang restore from a backup taken while it ran signs nothing until it has "
          "synced, then the next number, and nothing equivocates",
          "[integrity][class3][backup]") {
  VillageOfCounty v;
  County& c = v.c;
  fs::path& village = v.village;
  test::DaemonProcess& county = v.county;
  test::DaemonProcess village_daemon(village, c.dir.path() / "village.log", test::free_loopback_port());
  REQUIRE(village_daemon.start().is_ok());
  fs::path county_key = c.dir.path() / "county.backupkey";
  std::string backup_key = ok_json(c.home, {"backup", "key", "new", county_key.string()})["public_key"];

  // The backup, while anwangd runs and another process signs one op after another.
  std::atomic<bool> stop{false};
  std::atomic<int> written{0}, failed{0};
  std::thread writer([&] {
    while (!stop.load()) {
      test::CliRun run = test::run_cli(village, {"--as", "vhead", "note", "add", "--scope", County::kVillage, "--text",
                                                 "备份时的记录 " + std::to_string(written.load())});
      (run.exit_code == 0 ? written : failed)++;
    }
  });
  while (written.load() < 2) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  fs::path backup = c.dir.path() / "village.bak";
  json taken = ok_json(village, {"backup", backup.string(), "--to-key", backup_key});
  while (written.load() < 4) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  stop = true;
  writer.join();
  CHECK(failed.load() == 0);
  CHECK(taken["sealed"] == "backup_key");
  CHECK(taken["files"].size() == 4);  // anwang.toml, keys/vhead.key, node.key, store/data.mdb
  // Never over an existing file.
  test::CliRun again = test::run_cli(village, {"backup", backup.string(), "--to-key", backup_key});
  CHECK(again.exit_code == 3);
  CHECK_THAT(again.err, Catch::Contains("already exists"));

  // More work after the backup, which reaches the county; then the card dies.
  std::string hazard = ok_json(village, {"--as", "vhead", "hazard", "report", "--grid", County::kGrid, "--category",
                                         "fire", "--severity", "general", "--text", "备份之后的隐患"})["id"];
  ok(village, {"--as", "vhead", "note", "add", "--scope", County::kVillage, "--text", "备份之后"});
  ok(village, {"sync", county.address()});
  const std::uint64_t last_before_loss = held_seq(village);
  CHECK(village_daemon.stop().is_ok());

  // The new card: restored from the backup, which verifies, and which signs nothing yet.
  fs::path restored = c.dir.path() / "village-restored";
  test::CliRun wrong_key = test::run_cli(restored, {"restore", backup.string()});
  CHECK(wrong_key.exit_code == 2);
  CHECK_THAT(wrong_key.err, Catch::Contains("--key-file"));
  CHECK(!fs::exists(restored));
  json report = ok_json(restored, {"restore", backup.string(), "--key-file", county_key.string()});
  CHECK(report["replaced"].empty());
  ok(restored, {"verify"});
  const std::uint64_t in_backup = held_seq(restored);
  CHECK(in_backup >= 3);                   // the first note and at least two written during the backup
  CHECK(in_backup < last_before_loss);     // older than what the county holds
  check_refuses_until_synced(restored);

  // One whole session: the ops signed after the backup arrive, and the key signs after them.
  test::CliRun synced = ok(restored, {"sync", county.address()});
  CHECK_THAT(synced.out, Catch::Contains("restored from a backup, has now heard from a neighbour"));
  CHECK(ok_json(restored, {"status"})["restored_at"].is_null());
  CHECK(signed_seq(restored, "恢复之后") == last_before_loss + 1);
  ok(restored, {"hazard", "show", hazard});
  ok(restored, {"sync", county.address()});
  CHECK(ok_json(restored, {"audit", "equivocations"}).empty());
  CHECK(ok_json(c.home, {"audit", "equivocations"}).empty());
  CHECK(ok_json(restored, {"status"})["keys"][0]["behind"] == false);
  ok(restored, {"verify"});
  CHECK(county.stop().is_ok());
}

TEST_CASE("class 3: a node restored from a passphrase backup whose neighbour holds nothing newer signs after its first "
          "sync",
          "[integrity][class3][backup]") {
  VillageOfCounty v;
  County& c = v.c;
  fs::path& village = v.village;
  test::DaemonProcess& county = v.county;
  ok(village, {"--as", "vhead", "note", "add", "--scope", County::kVillage, "--text", "第二次记录"});
  ok(village, {"sync", county.address()});
  fs::path passphrase = c.dir.path() / "backup-passphrase";
  std::ofstream(passphrase) << "村委会备份密码 2026\n";
  fs::path backup = c.dir.path() / "village.bak";
  ok(village, {"--passphrase-file", passphrase.string(), "backup", backup.string()});
  const std::uint64_t in_backup = held_seq(village);

  // Restored over the same home (its card was cloned badly, say): refused without --force, then
  // the old files are moved aside and named.
  fs::path wrong = c.dir.path() / "wrong-passphrase";
  std::ofstream(wrong) << "not the passphrase\n";
  test::CliRun refused = test::run_cli(village, {"--passphrase-file", passphrase.string(), "restore", backup.string()});
  CHECK(refused.exit_code == 3);
  CHECK_THAT(refused.err, Catch::Contains("already holds a node"));
  test::CliRun wrong_passphrase =
      test::run_cli(village, {"--passphrase-file", wrong.string(), "restore", backup.string(), "--force"});
  CHECK(wrong_passphrase.exit_code == 1);
  CHECK_THAT(wrong_passphrase.err, Catch::Contains("wrong passphrase for the backup"));
  json report = ok_json(village, {"--passphrase-file", passphrase.string(), "restore", backup.string(), "--force"});
  CHECK(report["replaced"] == json::array({"anwang.toml", "keys", "node.key", "store"}));
  CHECK(fs::exists(fs::path(report["replaced_to"].get<std::string>()) / "node.key"));
  ok(village, {"verify"});
  check_refuses_until_synced(village);

  ok(village, {"sync", county.address()});
  CHECK(signed_seq(village, "恢复之后") == in_backup + 1);
  ok(village, {"sync", county.address()});
  CHECK(ok_json(village, {"audit", "equivocations"}).empty());
  CHECK(ok_json(c.home, {"audit", "equivocations"}).empty());
  CHECK(county.stop().is_ok());
}

// Wire protocol 4 must still sync with nodes of the previous releases (version 3, and version 2
// before it), either way round.
TEST_CASE("upgrading: a node of this release and one of a previous release (wire version 3 or 2) still sync",
          "[integrity][upgrade]") {
  County c;
  for (std::string version : {"3", "2"}) {
    INFO("the previous release speaks wire version " << version);
    // A village of its own for each: once two nodes have synced in version 4, they refuse to meet
    // in an older version (a downgrade).
    fs::path village = join_node(c, "village" + version, County::kVillage);
    std::string first = c.report("member");
    {
      ScopedEnv older("ANWANG_TEST_WIRE_VERSION", version);  // the county's daemon plays the previous release
      test::DaemonProcess county(c.home, c.dir.path() / "county.log", test::free_loopback_port());
      REQUIRE(county.start().is_ok());
      unsetenv("ANWANG_TEST_WIRE_VERSION");  // the CLI of this release
      json synced = ok_json(village, {"sync", county.address()});
      CHECK(synced["wire_version"] == std::stoi(version));
      ok(village, {"hazard", "show", first});
      CHECK(county.stop().is_ok());
    }
    std::string second = c.report("member");
    test::DaemonProcess county(c.home, c.dir.path() / "county.log", test::free_loopback_port());
    REQUIRE(county.start().is_ok());
    {
      ScopedEnv older("ANWANG_TEST_WIRE_VERSION", version);  // now the village plays the previous release
      json synced = ok_json(village, {"sync", county.address()});
      CHECK(synced["wire_version"] == std::stoi(version));
    }
    ok(village, {"hazard", "show", second});
    json current = ok_json(village, {"sync", county.address()});
    CHECK(current["wire_version"] == 4);
    CHECK(county.stop().is_ok());
  }
}

// Issue 23: a county cannot upgrade in a day. A township of the release before profiles and
// trainings (it knows the record kinds unit, inspection, tip, incident and notice) sits between a
// village and the county of this release: it keeps the village's training record, passes it on
// to the county byte for byte, names it in status, and reads it once it is upgraded.
TEST_CASE("upgrading: a township of an earlier release relays a kind of op it does not know, and reads it once upgraded",
          "[integrity][upgrade]") {
  County c;
  fs::path township = join_node(c, "township", "150430100");
  fs::path village = join_node_with_key(c, "village", County::kVillage, "vhead", "town", "village_head", County::kVillage);
  const char* kEarlierKinds = "unit,inspection,tip,incident,notice";
  json recorded = json::parse(ok(village, {"--as", "vhead", "training", "record", "--scope", County::kVillage, "--date",
                                           "2026-12-01", "--topic", "冬季防火", "--hours", "2", "--attendees", "张晓梅",
                                           "--json"})
                                  .out);
  std::string training = recorded["id"], training_op = recorded["op"];
  json written = ok_json(village, {"show", training_op});
  std::string unit = ok_json(village, {"--as", "vhead", "unit", "add", "--grid", County::kGrid, "--name", "新惠粮库"})["id"];
  test::DaemonProcess daemon(township, c.dir.path() / "township.log", test::free_loopback_port());
  {
    ScopedEnv earlier("ANWANG_TEST_RECORD_KINDS", kEarlierKinds);  // the township's anwangd
    REQUIRE(daemon.start().is_ok());
  }
  ok(c.home, {"sync", daemon.address()});  // the township learns of the village's enrolment
  ok(village, {"sync", daemon.address()});
  {
    // The township keeps it, unjudged, and says so; what it knows it reads as before.
    ScopedEnv earlier("ANWANG_TEST_RECORD_KINDS", kEarlierKinds);  // the township's anwang
    json status = ok_json(township, {"status"});
    REQUIRE(status["needs_newer_release"].size() == 1);
    CHECK(status["needs_newer_release"][0]["id"] == training_op);
    CHECK(status["needs_newer_release"][0]["what"] == "record step 'training record'");
    CHECK_THAT(ok(township, {"status"}).out, Catch::Contains("needs a newer release"));
    CHECK(ok_json(township, {"unit", "show", unit})["fields"]["name"]["value"] == "新惠粮库");
    CHECK(test::run_cli(township, {"training", "show", training}).exit_code != 0);
    CHECK(ok_json(township, {"verify"})["ok"] == true);
  }
  // The county, of this release, takes it from the township.
  ok(c.home, {"sync", daemon.address()});
  CHECK(daemon.stop().is_ok());
  json relayed = ok_json(c.home, {"show", training_op});
  CHECK(relayed == written);
  CHECK(ok_json(c.home, {"training", "show", training})["fields"]["topic"]["value"] == "冬季防火");
  // The township upgraded: the op is judged, listed and shown; nothing waits for a newer release.
  CHECK(ok_json(township, {"status"})["needs_newer_release"].empty());
  CHECK(ok_json(township, {"training", "show", training})["fields"]["hours"]["value"] == "2");
  CHECK(ok_json(township, {"training", "list"}).size() == 1);
  CHECK(ok_json(township, {"verify"})["ok"] == true);
}

// Class 9. A sync refused by the peer said only "the peer closed the connection".
TEST_CASE("class 9: a refused sync reports the peer's reason", "[integrity][class9]") {
  County c;
  fs::path village = join_node(c, "village", County::kVillage);
  test::DaemonProcess village_daemon(village, c.dir.path() / "village.log", test::free_loopback_port());
  REQUIRE(village_daemon.start().is_ok());
  // A node the county enrols after the village last synced: the village does not know it yet.
  fs::path newcomer = join_node(c, "newcomer", County::kOtherVillage);
  std::string newcomer_key = ok_json(newcomer, {"status"})["node_key"];
  test::CliRun refused = test::run_cli(newcomer, {"sync", village_daemon.address()});
  CHECK(refused.exit_code != 0);
  CHECK_THAT(refused.err, Catch::Contains("refused by the peer: node " + newcomer_key + " is not enrolled in this network"));
  CHECK_THAT(refused.err, !Catch::Contains("closed the connection"));
  CHECK(village_daemon.stop().is_ok());
}

// Class 3. A key used twice with one number (here: a restored node signing before it has synced,
// which no node can tell in advance) was flagged as equivocating, its office suspended, and nothing
// warned the officer.
TEST_CASE("class 3: a key that signed twice with one number is named plainly in status and the log, with what to do",
          "[integrity][class3]") {
  County c;
  fs::path village = join_node_with_key(c, "village", County::kVillage, "vhead", "town", "village_head", County::kVillage);
  test::DaemonProcess county(c.home, c.dir.path() / "county.log", test::free_loopback_port());
  REQUIRE(county.start().is_ok());
  ok(village, {"--as", "vhead", "note", "add", "--scope", County::kVillage, "--text", "第一次记录"});
  fs::path copy = c.dir.path() / "village-copy";
  fs::copy(village, copy, fs::copy_options::recursive);
  ok(village, {"--as", "vhead", "note", "add", "--scope", County::kVillage, "--text", "备份之后"});
  ok(village, {"sync", county.address()});
  CHECK(county.stop().is_ok());
  fs::remove_all(village);
  fs::rename(copy, village);
  // Used at once, before any sync: nothing can know yet.
  ok(village, {"--as", "vhead", "note", "add", "--scope", County::kVillage, "--text", "恢复之后立即"});
  test::DaemonProcess village_daemon(village, c.dir.path() / "village.log", test::free_loopback_port());
  REQUIRE(village_daemon.start().is_ok());
  ok(c.home, {"sync", village_daemon.address()});
  json status = ok_json(village, {"status"});
  REQUIRE(status["keys"].size() == 1);
  REQUIRE(status["keys"][0]["equivocations"].size() == 1);
  CHECK(status["keys"][0]["equivocations"][0]["seq"] == 2);
  std::string human = ok(village, {"status"}).out;
  CHECK_THAT(human, Catch::Contains("key vhead has signed two different ops numbered 2 (most likely this node was "
                                    "restored from an old copy, or the key was used on two nodes)"));
  CHECK_THAT(human, Catch::Contains("anwang reaffirm --key"));
  CHECK(village_daemon.stop().is_ok());
  CHECK_THAT(village_daemon.log_since_start(), Catch::Contains("key vhead has signed two different ops numbered 2"));
}

// Issue 20, finding 3 and its acceptance: a revoked node is refused everywhere after one sync
// round. The county revokes a village's node (stolen); the township hears of it in its next
// session with the county, and then refuses the village node at the handshake, as the county
// does. The township's own work goes on.
TEST_CASE("issue 20: a revoked node is refused by every peer after one sync round", "[integrity][issue20]") {
  County c;
  fs::path township = join_node(c, "township", "150430100");
  fs::path village = join_node(c, "village", County::kVillage);
  std::string village_node = ok_json(village, {"status"})["node_key"];
  test::DaemonProcess county(c.home, c.dir.path() / "county.log", test::free_loopback_port());
  test::DaemonProcess station(township, c.dir.path() / "township.log", test::free_loopback_port());
  REQUIRE(county.start().is_ok());
  REQUIRE(station.start().is_ok());
  ok(township, {"sync", county.address()});
  ok(village, {"sync", station.address()});  // enrolled: it syncs
  // The village node is stolen: the county revokes its enrolment.
  c.as("root", {"revoke", "--key", village_node, "--reason", "compromised", "--frontier", "none"});
  CHECK(ok_json(c.home, {"status"})["ops"].get<int>() > 0);
  // One round: the township syncs with the county and learns of it.
  ok(township, {"sync", county.address()});
  for (const std::string& peer : {station.address(), county.address()}) {
    test::CliRun refused = test::run_cli(village, {"sync", peer});
    INFO(peer);
    CHECK(refused.exit_code != 0);
    CHECK_THAT(refused.err, Catch::Contains("not enrolled"));
  }
  // Honest work goes on: a new hazard at the county reaches the township.
  std::string hazard = c.report("member");
  ok(township, {"sync", county.address()});
  ok(township, {"hazard", "show", hazard});
  CHECK(county.stop().is_ok());
  CHECK(station.stop().is_ok());
}
