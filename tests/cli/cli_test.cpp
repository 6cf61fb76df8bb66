// The `anwang` command as a user runs it: real processes on a real node home.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>

#include "node/constitution.h"
#include "crdt/hash.h"
#include "crdt/hlc.h"
#include "crdt/limits.h"
#include "node/home.h"
#include "node/op_file.h"
#include "crdt/scope.h"
#include "support/hand_bundle.h"
#include "support/fixtures.h"

using namespace anwang;
using anwang::test::TempDir;
using nlohmann::json;

namespace {

struct Run {
  int exit_code;
  std::string out;
  std::string err;
};

std::string quote(const std::string& arg) {
  std::string out = "'";
  for (char c : arg) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

Run anwang_cli(const std::filesystem::path& home, const std::vector<std::string>& args) {
  std::string command = quote(ANWANG_CLI_PATH) + " --home " + quote(home.string());
  for (const auto& arg : args) command += " " + quote(arg);
  std::filesystem::path err_file = home.parent_path() / "stderr.txt";
  command += " 2>" + quote(err_file.string()) + " </dev/null";  // never a terminal: nothing prompts
  FILE* pipe = popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string out;
  char buffer[4096];
  while (std::size_t n = fread(buffer, 1, sizeof buffer, pipe)) out.append(buffer, n);
  int status = pclose(pipe);
  std::stringstream err;
  err << std::ifstream(err_file).rdbuf();
  return Run{WIFEXITED(status) ? WEXITSTATUS(status) : -1, out, err.str()};
}

Run ok(const std::filesystem::path& home, const std::vector<std::string>& args) {
  Run run = anwang_cli(home, args);
  INFO("anwang " << args.at(0) << " said: " << run.err);
  REQUIRE(run.exit_code == 0);
  return run;
}

std::uint64_t op_count(const std::filesystem::path& home) {
  return json::parse(ok(home, {"status", "--json"}).out)["ops"].get<std::uint64_t>();
}

}  // namespace

TEST_CASE("a county is created from the command line and its log shows the genesis", "[cli]") {
  TempDir dir;
  auto home = dir.path() / "county";
  json init = json::parse(ok(home, {"init", "--json"}).out);
  CHECK(init["node_key"].get<std::string>().size() == 64);
  ok(home, {"key", "new", "root1", "--no-passphrase"});
  ok(home, {"key", "new", "root2", "--no-passphrase"});
  json keys = json::parse(ok(home, {"key", "list", "--json"}).out);
  REQUIRE(keys.size() == 2);
  CHECK(keys[0]["name"] == "root1");
  CHECK(keys[0]["public_key"].get<std::string>().size() == 64);
  json genesis = json::parse(
      ok(home, {"genesis", "--county", "150430", "--name", "敖汉旗", "--root", "root1,root2", "--threshold", "2", "--json"})
          .out);
  std::string id = genesis["id"];
  json status = json::parse(ok(home, {"status", "--json"}).out);
  CHECK(status["network_id"] == id);
  CHECK(status["ops"] == 2);  // the genesis and this node's enrolment at the county
  CHECK(status["node_key"] == init["node_key"]);
  json log = json::parse(ok(home, {"log", "--json"}).out);
  REQUIRE(log.size() == 2);
  CHECK(log[0]["kind"] == "genesis");
  CHECK(log[0]["payload"]["threshold"] == 2);
  CHECK(log[1]["kind"] == "enrolment");
  CHECK(log[1]["payload"]["node_key"] == init["node_key"]);
  json shown = json::parse(ok(home, {"show", id.substr(0, 10), "--json"}).out);
  CHECK(shown["id"] == id);
  CHECK(ok(home, {"log"}).out.find("敖汉旗") != std::string::npos);
  ok(home, {"verify"});
}

TEST_CASE("bad input is one sentence, a meaningful exit code, and nothing written", "[cli]") {
  TempDir dir;
  auto home = dir.path() / "n";
  ok(home, {"init"});
  ok(home, {"key", "new", "root", "--no-passphrase"});
  Run bad_county = anwang_cli(home, {"genesis", "--county", "15043", "--name", "x", "--root", "root"});
  CHECK(bad_county.exit_code == 3);
  CHECK_THAT(bad_county.err, Catch::Contains("--county"));
  CHECK(std::count(bad_county.err.begin(), bad_county.err.end(), '\n') == 1);
  Run bad_threshold =
      anwang_cli(home, {"genesis", "--county", "150430", "--name", "x", "--root", "root", "--threshold", "2"});
  CHECK(bad_threshold.exit_code == 3);
  CHECK_THAT(bad_threshold.err, Catch::Contains("--threshold"));
  Run unknown_key = anwang_cli(home, {"genesis", "--county", "150430", "--name", "x", "--root", "nobody"});
  CHECK(unknown_key.exit_code == 4);
  Run no_network = anwang_cli(home, {"note", "add", "--scope", "150430", "--text", "x"});
  CHECK(no_network.exit_code == 3);
  CHECK_THAT(no_network.err, Catch::Contains("no network"));
  CHECK(op_count(home) == 0);
  Run usage = anwang_cli(home, {"frobnicate"});
  CHECK(usage.exit_code == 2);
  Run no_home = anwang_cli(dir.path() / "nowhere", {"status"});
  CHECK(no_home.exit_code == 4);
  CHECK_THAT(no_home.err, Catch::Contains("anwang init"));
}

TEST_CASE("importing 1,000 good ops and 10 tampered ones accepts 1,000 and refuses 10", "[cli]") {
  TempDir dir;
  // Keys 0 to 6 are root keys of this network: the point is tampering, not authority (a key no
  // office named would be refused as no_office, crdt/OP_FORMAT.md).
  test::OpFactory factory = test::mechanics_factory();
  std::vector<Bytes> ops{factory.genesis().bytes};
  std::vector<Hash32> recent{factory.genesis().id};
  for (int i = 1; i < 1000; ++i) {
    KeyPair author = test::test_key(i % 7);
    Op op = factory.note(author, i % 2 ? "150430100201" : "150430100", "巡查记录 patrol " + std::to_string(i),
                         {recent[static_cast<std::size_t>(i) % recent.size()]});
    recent.push_back(op.id);
    ops.push_back(op.bytes);
  }
  std::vector<Bytes> file = ops;
  for (int i = 0; i < 10; ++i) {
    Bytes tampered = ops[static_cast<std::size_t>(100 * i + 5)];
    tampered[tampered.size() / 3 + static_cast<std::size_t>(i)] ^= 0x04;
    file.insert(file.begin() + 37 * (i + 1), tampered);
  }
  REQUIRE(file.size() == 1010);
  REQUIRE(node::write_op_file(dir.path() / "ops.bin", file).is_ok());
  auto home = dir.path() / "n";
  ok(home, {"init"});
  Run import = anwang_cli(home, {"op", "import", (dir.path() / "ops.bin").string(), "--json"});
  CHECK(import.exit_code == 1);  // some ops were refused
  json report = json::parse(import.out);
  CHECK(report["accepted"] == 1000);
  CHECK(report["refused"] == 10);
  CHECK(report["pending"] == 0);
  REQUIRE(report["refusals"].size() == 10);
  for (const auto& refusal : report["refusals"]) {
    CHECK_FALSE(refusal["reason"].get<std::string>().empty());
    CHECK_FALSE(refusal["detail"].get<std::string>().empty());
  }
  ok(home, {"verify"});
  Run human = anwang_cli(home, {"op", "import", (dir.path() / "ops.bin").string()});
  CHECK_THAT(human.out, Catch::Contains("duplicate 重复 1000"));
  CHECK_THAT(human.out, Catch::Contains("refused 拒收 10"));
  // A stored op corrupted on disk: verify names it and exits 1.
  test::corrupt_stored_op(home / "store", 500);
  Run corrupted = anwang_cli(home, {"verify", "--json"});
  CHECK(corrupted.exit_code == 1);
  json verdict = json::parse(corrupted.out);
  CHECK(verdict["ok"] == false);
  CHECK(verdict["problems"].size() == 1);
}

TEST_CASE("op export and import carry a node's log to another node", "[cli]") {
  TempDir dir;
  auto a = dir.path() / "a";
  auto b = dir.path() / "b";
  ok(a, {"init"});
  ok(a, {"key", "new", "root", "--no-passphrase"});
  ok(a, {"genesis", "--county", "150430", "--name", "敖汉旗", "--root", "root"});
  ok(a, {"region", "add", "150430100", "--name", "新惠镇"});
  std::string note = json::parse(ok(a, {"note", "add", "--scope", "150430100", "--text", "消防通道堵塞", "--json"}).out)["id"];
  ok(a, {"op", "export", (dir.path() / "a.ops").string()});
  ok(b, {"init"});
  json report = json::parse(ok(b, {"op", "import", (dir.path() / "a.ops").string(), "--json"}).out);
  CHECK(report["accepted"] == 4);
  CHECK(json::parse(ok(b, {"show", note, "--json"}).out)["payload"]["text"] == "消防通道堵塞");
  CHECK(json::parse(ok(a, {"status", "--json"}).out)["network_id"] ==
        json::parse(ok(b, {"status", "--json"}).out)["network_id"]);
}

TEST_CASE("appointing, asking and revoking from the command line", "[cli][authority]") {
  TempDir dir;
  auto home = dir.path() / "county";
  ok(home, {"init"});
  for (const char* name : {"root", "town", "head", "member"}) ok(home, {"key", "new", name, "--no-passphrase"});
  ok(home, {"--as", "root", "genesis", "--county", "150430", "--name", "敖汉旗", "--root", "root"});
  ok(home, {"--as", "root", "region", "add", "150430100", "--name", "新惠镇"});
  ok(home, {"--as", "root", "delegate", "--to", "town", "--role", "township_station", "--scope", "150430100"});
  ok(home, {"--as", "town", "delegate", "--to", "head", "--role", "village_head", "--scope", "150430100201"});
  json grant = json::parse(ok(home, {"--as", "head", "delegate", "--to", "member", "--role", "grid_member", "--scope",
                                     "150430100201-03", "--json"})
                               .out);
  CHECK(grant["id"].get<std::string>().size() == 64);
  std::uint64_t ops_before = op_count(home);

  // Refused by the CLI with one sentence, exit 3, nothing written.
  Run wider = anwang_cli(home, {"--as", "head", "delegate", "--to", "member", "--role", "village_head", "--scope",
                                "150430100201"});
  CHECK(wider.exit_code == 3);
  CHECK_THAT(wider.err, Catch::Contains("may not delegate 'village_head'"));
  CHECK(std::count(wider.err.begin(), wider.err.end(), '\n') == 1);
  Run elsewhere = anwang_cli(home, {"--as", "member", "note", "add", "--scope", "150430100202", "--text", "x"});
  CHECK(elsewhere.exit_code == 3);
  CHECK(op_count(home) == ops_before);

  // `can` answers with exit codes and reasons.
  Run yes = anwang_cli(home, {"can", "member", "note", "150430100201-03"});
  CHECK(yes.exit_code == 0);
  CHECK_THAT(yes.out, Catch::Contains("via"));
  Run no = anwang_cli(home, {"can", "member", "delegate", "150430100201"});
  CHECK(no.exit_code == 1);
  CHECK_THAT(no.out, Catch::Contains("does not allow 'delegate'"));
  json no_json = json::parse(anwang_cli(home, {"can", "member", "note", "150430100202", "--json"}).out);
  CHECK(no_json["allowed"] == false);
  CHECK_THAT(no_json["reason"].get<std::string>(), Catch::Contains("150430100202"));
  json chain = json::parse(ok(home, {"can", "member", "note", "150430100201-03", "--json"}).out)["chain"];
  CHECK(chain.size() == 4);

  // Who holds what, then the village head retires: the grid member keeps working.
  json who = json::parse(ok(home, {"who", "--scope", "150430100201", "--json"}).out);
  auto holds = [&who](const std::string& name, const std::string& role) {
    return std::any_of(who.begin(), who.end(), [&](const json& r) { return r["name"] == name && r["role"] == role; });
  };
  CHECK(holds("head", "village_head"));
  CHECK(holds("member", "grid_member"));
  ok(home, {"--as", "town", "revoke", "--key", "head", "--reason", "left"});
  who = json::parse(ok(home, {"who", "--scope", "150430100201", "--json"}).out);
  CHECK_FALSE(holds("head", "village_head"));
  CHECK(holds("member", "grid_member"));
  ok(home, {"--as", "member", "note", "add", "--scope", "150430100201-03", "--text", "巡查正常"});
  Run peer = anwang_cli(home, {"--as", "member", "revoke", "--key", "town", "--reason", "left"});
  CHECK(peer.exit_code == 3);
  // Regions with a boundary, and node enrolment by the township station.
  std::ofstream(dir.path() / "b.json") << R"({"type":"Polygon","coordinates":[[[119.9,42.2],[120.0,42.2],[119.9,42.2]]]})";
  std::ofstream(dir.path() / "bad.json") << R"({"type":"Point","coordinates":[1,2]})";
  ok(home, {"--as", "town", "region", "add", "150430100201", "--name", "一村", "--boundary", (dir.path() / "b.json").string()});
  CHECK(anwang_cli(home, {"--as", "town", "region", "add", "150430100202", "--name", "二村", "--boundary",
                          (dir.path() / "bad.json").string()})
            .exit_code == 3);
  json regions = json::parse(ok(home, {"region", "list", "--json"}).out);
  CHECK(regions.size() == 3);
  std::string village_node(64, 'a');
  ok(home, {"--as", "town", "node", "enroll", village_node, "--scope", "150430100201"});
  CHECK(anwang_cli(home, {"--as", "member", "node", "enroll", village_node, "--scope", "150430100201"}).exit_code == 3);
  ok(home, {"verify"});
  json log = json::parse(ok(home, {"log", "--json"}).out);
  for (const auto& entry : log) CHECK(entry["effective"] == true);
}

TEST_CASE("revoke --frontier none needs --reason compromised; a key that left keeps what it did up to its frontier",
          "[cli][authority]") {
  // crdt/AUTHORITY.md, "Revocation" (issue 20, finding 10): only a key reported compromised is
  // voided back to no frontier; a 'left' revocation names the key's latest op this node holds.
  namespace fs = std::filesystem;
  TempDir dir;
  auto home = dir.path() / "county";
  ok(home, {"init"});
  for (const char* name : {"root", "town", "head", "member", "member2"}) ok(home, {"key", "new", name, "--no-passphrase"});
  ok(home, {"--as", "root", "genesis", "--county", "150430", "--name", "敖汉旗", "--root", "root"});
  ok(home, {"--as", "root", "delegate", "--to", "town", "--role", "township_station", "--scope", "150430100"});
  ok(home, {"--as", "town", "delegate", "--to", "head", "--role", "village_head", "--scope", "150430100201"});

  // Offline, on a copy of the node home, the village head appoints a grid member (carried to the
  // township before it revokes the head) and then another (made after, unaware of the revocation).
  auto offline = dir.path() / "offline";
  fs::copy(home, offline, fs::copy_options::recursive);
  auto appoint = [&](const std::string& who, const std::string& grid) {
    return json::parse(ok(offline, {"--as", "head", "delegate", "--to", who, "--role", "grid_member", "--scope", grid,
                                    "--json"})
                           .out)["id"]
        .get<std::string>();
  };
  std::string first = appoint("member", "150430100201-03");
  ok(offline, {"op", "export", (dir.path() / "first.ops").string()});
  std::string second = appoint("member2", "150430100201-04");
  ok(offline, {"op", "export", (dir.path() / "both.ops").string()});

  // A key that left is not voided back to no frontier: one sentence naming --reason compromised,
  // exit 3, nothing written.
  std::uint64_t before = op_count(home);
  Run left_none =
      anwang_cli(home, {"--as", "town", "revoke", "--key", "head", "--reason", "left", "--frontier", "none"});
  CHECK(left_none.exit_code == 3);
  CHECK_THAT(left_none.err, Catch::Contains("--reason compromised"));
  CHECK(std::count(left_none.err.begin(), left_none.err.end(), '\n') == 1);
  CHECK(op_count(home) == before);

  // A node that holds no op of the key names no frontier and says what that does.
  auto unseen = dir.path() / "unseen";
  fs::copy(home, unseen, fs::copy_options::recursive);
  Run warned = anwang_cli(unseen, {"--as", "town", "revoke", "--key", "head", "--reason", "left", "--json"});
  CHECK(warned.exit_code == 0);
  CHECK_THAT(warned.err, Catch::Contains("holds no op of key") && Catch::Contains("sync with that node first") &&
                             Catch::Contains("nothing the key signs without knowing of it is void"));
  std::string unseen_revocation = json::parse(warned.out)["id"].get<std::string>();
  json unseen_payload = json::parse(ok(unseen, {"show", unseen_revocation, "--json"}).out)["payload"];
  CHECK(unseen_payload["frontier"].is_null());
  // Both appointments the head made without knowing of it arrive: a 'left' revocation with no
  // frontier voids neither (issue 20: earlier releases voided every act of the key from op 0).
  ok(unseen, {"op", "import", (dir.path() / "both.ops").string()});
  CHECK(anwang_cli(unseen, {"can", "member", "note", "150430100201-03"}).exit_code == 0);
  CHECK(anwang_cli(unseen, {"can", "member2", "note", "150430100201-04"}).exit_code == 0);
  CHECK(anwang_cli(unseen, {"can", "head", "delegate", "150430100201"}).exit_code == 1);  // her office ended

  // The same node, revoking two ways (each on its own copy), after the first appointment arrived.
  ok(home, {"op", "import", (dir.path() / "first.ops").string()});
  auto left = dir.path() / "left";
  auto compromised = dir.path() / "compromised";
  fs::copy(home, left, fs::copy_options::recursive);
  fs::copy(home, compromised, fs::copy_options::recursive);
  std::string left_id =
      json::parse(ok(left, {"--as", "town", "revoke", "--key", "head", "--reason", "left", "--json"}).out)["id"];
  std::string compromised_id = json::parse(ok(compromised, {"--as", "town", "revoke", "--key", "head", "--reason",
                                                            "compromised", "--frontier", "none", "--json"})
                                               .out)["id"];
  json left_payload = json::parse(ok(left, {"show", left_id, "--json"}).out)["payload"];
  CHECK(left_payload["frontier"] == first);  // --frontier auto: the key's latest op this node holds
  json compromised_payload = json::parse(ok(compromised, {"show", compromised_id, "--json"}).out)["payload"];
  CHECK(compromised_payload["frontier"].is_null());
  CHECK(compromised_payload["frontier_seq"] == 0);
  for (const auto& node_home : {left, compromised})
    ok(node_home, {"op", "import", (dir.path() / "both.ops").string()});  // the second appointment arrives
  auto verdict_of = [](const fs::path& node_home, const std::string& op) {
    json log = json::parse(ok(node_home, {"log", "--json"}).out);
    for (const auto& entry : log)
      if (entry["id"] == op) return entry;
    FAIL("op " << op << " is not in the log");
    return json();
  };
  // Left: what the head did up to its frontier stands; what it did after is void.
  CHECK(verdict_of(left, first)["effective"] == true);
  CHECK(anwang_cli(left, {"can", "member", "note", "150430100201-03"}).exit_code == 0);
  CHECK(verdict_of(left, second)["effective"] == false);
  CHECK(anwang_cli(left, {"can", "member2", "note", "150430100201-04"}).exit_code == 1);
  // Compromised, no frontier: every privileged act of the key is void, both appointments.
  for (const std::string& op : {first, second}) {
    json voided = verdict_of(compromised, op);
    CHECK(voided["effective"] == false);
    CHECK_FALSE(voided["reason"].get<std::string>().empty());
  }
  CHECK(anwang_cli(compromised, {"can", "member", "note", "150430100201-03"}).exit_code == 1);
  // Either way the head's office ended.
  for (const auto& node_home : {left, compromised}) {
    INFO(node_home);
    CHECK(anwang_cli(node_home, {"can", "head", "delegate", "150430100201"}).exit_code == 1);
    json who = json::parse(ok(node_home, {"who", "--json"}).out);
    for (const auto& held : who) CHECK(held["role"] != "village_head");
    ok(node_home, {"verify"});
  }
}

TEST_CASE("forged ops are kept inert and listed for auditors", "[cli][authority]") {
  TempDir dir;
  test::OpFactory factory;  // root key: test_key(0)
  KeyPair root = test::test_key(0);
  // A village's node key is named by its enrolment, but holds no role: its appointment of itself
  // as village head is stored (it is history, and verifiable) and inert.
  KeyPair village_node = test::test_key(77);
  Op office = factory.make(root, "150430100201", node_object_id(village_node.public_key()),
                           EnrolmentPayload{village_node.public_key()}, {factory.genesis().id});
  Op forged = factory.make(village_node, "150430100201", named_object_id("grant", "x"),
                           DelegationPayload{village_node.public_key(), "village_head", {}}, {office.id});
  // A key no office ever named is refused outright as no_office (issue 20): nothing of it stored.
  KeyPair stranger = test::test_key(78);
  Op unnamed = factory.make(stranger, "150430100201", named_object_id("grant", "y"),
                            DelegationPayload{stranger.public_key(), "village_head", {}}, {office.id});
  Op fine = factory.note(root, "150430", "根密钥的备注", {office.id});
  REQUIRE(node::write_op_file(dir.path() / "ops.bin",
                              {factory.genesis().bytes, office.bytes, forged.bytes, unnamed.bytes, fine.bytes})
              .is_ok());
  auto home = dir.path() / "n";
  ok(home, {"init"});
  Run import = anwang_cli(home, {"op", "import", (dir.path() / "ops.bin").string(), "--json"});
  CHECK(import.exit_code == 1);  // one op refused
  json report = json::parse(import.out);
  CHECK(report["accepted"] == 4);  // the forged one among them: it is history, and verifiable
  CHECK(report["refused"] == 1);
  CHECK(report["pending"] == 0);
  REQUIRE(report["refusals"].size() == 1);
  CHECK(report["refusals"][0]["id"] == unnamed.id.hex());
  CHECK(report["refusals"][0]["reason"] == "no_office");
  CHECK(op_count(home) == 4);
  CHECK(anwang_cli(home, {"show", unnamed.id.hex()}).exit_code == 4);  // not found: never stored
  json inert = json::parse(ok(home, {"audit", "unauthorised", "--json"}).out);
  REQUIRE(inert.size() == 1);
  CHECK(inert[0]["id"] == forged.id.hex());
  CHECK_THAT(inert[0]["reason"].get<std::string>(), Catch::Contains("holds no role"));
  CHECK(json::parse(ok(home, {"who", "--json"}).out).size() == 1);  // only the root
  CHECK_THAT(ok(home, {"log"}).out, Catch::Contains("INERT"));
  // Offered again, the unnamed key's op is refused again: no import makes it stored.
  REQUIRE(node::write_op_file(dir.path() / "again.bin", {unnamed.bytes}).is_ok());
  json again = json::parse(anwang_cli(home, {"op", "import", (dir.path() / "again.bin").string(), "--json"}).out);
  CHECK(again["refused"] == 1);
  CHECK(op_count(home) == 4);
}

TEST_CASE("a constitution amendment from the command line needs k of n root keys", "[cli][authority]") {
  TempDir dir;
  auto home = dir.path() / "county";
  ok(home, {"init"});
  for (const char* name : {"r1", "r2", "r3"}) ok(home, {"key", "new", name, "--no-passphrase"});
  ok(home, {"--as", "r1", "genesis", "--county", "150430", "--name", "敖汉旗", "--root", "r1,r2,r3", "--threshold", "2"});
  std::ofstream(dir.path() / "c.toml") << node::default_constitution_text() << "\n";
  std::uint64_t before = op_count(home);
  Run alone = anwang_cli(home, {"--as", "r1", "constitution", "amend", (dir.path() / "c.toml").string()});
  CHECK(alone.exit_code == 3);
  CHECK_THAT(alone.err, Catch::Contains("needs 2"));
  CHECK(op_count(home) == before);
  ok(home, {"--as", "r1", "constitution", "amend", (dir.path() / "c.toml").string(), "--cosign", "r2"});
  CHECK(op_count(home) == before + 1);
  json shown = json::parse(ok(home, {"constitution", "show", "--json"}).out);
  CHECK(shown["roles"].size() == 8);
}

namespace {

// A county on one node with the people of the hazard loop, each key in the keyring.
std::filesystem::path loop_county(const TempDir& dir) {
  auto home = dir.path() / "county";
  ok(home, {"init"});
  for (const char* name : {"root", "town", "head", "officer", "member", "fire", "traffic"}) ok(home, {"key", "new", name, "--no-passphrase"});
  ok(home, {"--as", "root", "genesis", "--county", "150430", "--name", "敖汉旗", "--root", "root"});
  ok(home, {"--as", "root", "delegate", "--to", "town", "--role", "township_station", "--scope", "150430100"});
  ok(home, {"--as", "town", "delegate", "--to", "head", "--role", "village_head", "--scope", "150430100201"});
  ok(home, {"--as", "town", "delegate", "--to", "officer", "--role", "village_safety_officer", "--scope", "150430100201"});
  ok(home, {"--as", "head", "delegate", "--to", "member", "--role", "grid_member", "--scope", "150430100201-03"});
  ok(home, {"--as", "root", "delegate", "--to", "fire", "--role", "department", "--scope", "150430", "--category", "fire"});
  ok(home, {"--as", "root", "delegate", "--to", "traffic", "--role", "department", "--scope", "150430", "--category",
            "traffic"});
  return home;
}

std::string hazard_state(const std::filesystem::path& home, const std::string& id) {
  return json::parse(ok(home, {"hazard", "show", id, "--json"}).out)["state"];
}

}  // namespace

TEST_CASE("the closed loop of seeds 000 and 003 through the command line", "[cli][hazard]") {
  TempDir dir;
  auto home = loop_county(dir);
  std::ofstream(dir.path() / "before.jpg") << "before-photo";
  std::ofstream(dir.path() / "after.jpg") << "after-photo";
  auto as = [&](const char* who, std::vector<std::string> args) {
    args.insert(args.begin(), {"--as", who});
    return ok(home, args);
  };
  // 1. Report → on-site fix → archived.
  std::string first = json::parse(as("member", {"hazard", "report", "--grid", "150430100201-03", "--category", "fire",
                                                "--severity", "general", "--text", "灭火器过期", "--photo",
                                                (dir.path() / "before.jpg").string(), "--json"})
                                      .out)["id"];
  as("member", {"hazard", "fix", first, "--text", "已更换", "--photo", (dir.path() / "after.jpg").string()});
  CHECK(hazard_state(home, first) == "fixed_on_site");
  as("member", {"hazard", "verify", first, "--pass"});
  CHECK(hazard_state(home, first) == "archived");

  // 2. Report → village escalates → township receives → assigns to 消防 → handled → reporter
  //    re-inspects → fail (驳回) → handled → pass → archived.
  std::string second = json::parse(as("member", {"hazard", "report", "--grid", "150430100201-03", "--category", "fire",
                                                 "--severity", "general", "--text", "仓库堆放易燃物", "--json"})
                                       .out)["id"];
  json inbox = json::parse(as("head", {"inbox", "--json"}).out);
  CHECK(std::any_of(inbox.begin(), inbox.end(), [&](const json& item) { return item["id"] == second; }));
  as("head", {"hazard", "escalate", second, "--text", "村级无法整改"});
  CHECK(hazard_state(home, second) == "escalated");
  as("town", {"hazard", "receive", second});
  as("town", {"hazard", "assign", second, "--department", "fire"});
  CHECK(hazard_state(home, second) == "assigned");
  Run traffic = anwang_cli(home, {"--as", "traffic", "hazard", "handled", second});
  CHECK(traffic.exit_code == 3);
  CHECK_THAT(traffic.err, Catch::Contains("not 'fire'"));
  inbox = json::parse(as("fire", {"inbox", "--json"}).out);
  REQUIRE(inbox.size() == 1);
  CHECK(inbox[0]["id"] == second);
  as("fire", {"hazard", "handled", second, "--text", "已清理"});
  as("member", {"hazard", "verify", second, "--fail", "--text", "未清理干净"});
  json rejected = json::parse(ok(home, {"hazard", "show", second, "--json"}).out);
  CHECK(rejected["state"] == "rejected");
  CHECK(rejected["returns"] == 1);
  as("fire", {"hazard", "handled", second});
  as("member", {"hazard", "verify", second, "--pass"});
  json archived = json::parse(ok(home, {"hazard", "show", second, "--json"}).out);
  CHECK(archived["state"] == "archived");
  CHECK(archived["returns"] == 1);
  CHECK(archived["level"] == "township");
  CHECK(archived["category"] == "fire");
  CHECK(archived["assignees"].size() == 1);
  CHECK(archived["history"].size() == 8);
  for (const char* field : {"id", "state", "severity", "level", "category", "assignees", "returns", "flags", "history"})
    CHECK(archived.contains(field));

  // 3. A major hazard cannot leave the village with one sign-off and can with two.
  std::string major = json::parse(as("member", {"hazard", "report", "--grid", "150430100201-03", "--category",
                                                "chemicals", "--severity", "major", "--text", "液化气站泄漏", "--json"})
                                      .out)["id"];
  CHECK(hazard_state(home, major) == "awaiting_signoff");
  as("head", {"hazard", "signoff", major});
  Run early = anwang_cli(home, {"--as", "head", "hazard", "escalate", major});
  CHECK(early.exit_code == 3);
  CHECK_THAT(early.err, Catch::Contains("two sign-offs"));
  as("officer", {"hazard", "signoff", major});
  as("head", {"hazard", "escalate", major});
  CHECK(hazard_state(home, major) == "escalated");

  // Refusals, one sentence each, nothing written.
  std::uint64_t before = op_count(home);
  CHECK(anwang_cli(home, {"--as", "member", "hazard", "assign", major, "--department", "fire"}).exit_code == 3);
  CHECK(anwang_cli(home, {"--as", "head", "hazard", "close", major, "--text", "x"}).exit_code == 3);
  CHECK(anwang_cli(home, {"--as", "member", "hazard", "report", "--grid", "150430100201-03", "--category", "nuclear",
                          "--severity", "general", "--text", "x"})
            .exit_code == 3);
  CHECK(op_count(home) == before);

  // Lists and attachments.
  json listed = json::parse(ok(home, {"hazard", "list", "--state", "archived", "--json"}).out);
  CHECK(listed.size() == 2);
  std::string photo = json::parse(ok(home, {"hazard", "show", first, "--json"}).out)["photos"][1]["hash"];
  ok(home, {"blob", "get", photo, (dir.path() / "back.jpg").string()});
  std::stringstream back;
  back << std::ifstream(dir.path() / "back.jpg").rdbuf();
  CHECK(back.str() == "after-photo");
  ok(home, {"verify"});
}

TEST_CASE("a new village node joins by bundle and sees only its own village", "[cli][bundle]") {
  TempDir dir;
  auto county = loop_county(dir);
  std::ofstream(dir.path() / "p.jpg") << "photo-bytes";
  // Village A's hazard with a photo, village B's hazard.
  std::string in_a = json::parse(ok(county, {"--as", "member", "hazard", "report", "--grid", "150430100201-03", "--category",
                                             "fire", "--severity", "general", "--text", "一村隐患", "--photo",
                                             (dir.path() / "p.jpg").string(), "--json"})
                                     .out)["id"];
  ok(county, {"key", "new", "head-b", "--no-passphrase"});
  ok(county, {"--as", "town", "delegate", "--to", "head-b", "--role", "village_head", "--scope", "150430100202"});
  std::string in_b = json::parse(ok(county, {"--as", "head-b", "hazard", "report", "--grid", "150430100202", "--category",
                                             "traffic", "--severity", "general", "--text", "二村隐患", "--json"})
                                     .out)["id"];
  // A new node for village A: init, enrolment by the township, a bundle carried over.
  auto village = dir.path() / "village-a";
  std::string village_key = json::parse(ok(village, {"init", "--json"}).out)["node_key"];
  auto bundle = (dir.path() / "a.bundle").string();
  Run not_enrolled = anwang_cli(county, {"bundle", "export", bundle, "--for", village_key});
  CHECK(not_enrolled.exit_code == 3);
  CHECK_THAT(not_enrolled.err, Catch::Contains("not enrolled"));
  ok(county, {"--as", "town", "node", "enroll", village_key, "--scope", "150430100201"});
  json exported = json::parse(ok(county, {"bundle", "export", bundle, "--for", village_key, "--json"}).out);
  CHECK(exported["blobs"] == 1);
  json imported = json::parse(ok(village, {"bundle", "import", bundle, "--json"}).out);
  CHECK(imported["refused"] == 0);
  CHECK(imported["pending"] == 0);
  CHECK(imported["blobs"] == 1);
  CHECK(json::parse(ok(village, {"hazard", "show", in_a, "--json"}).out)["state"] == "reported");
  CHECK(anwang_cli(village, {"hazard", "show", in_b}).exit_code == 4);  // village B's hazard never arrives
  CHECK(json::parse(ok(village, {"status", "--json"}).out)["network_id"] ==
        json::parse(ok(county, {"status", "--json"}).out)["network_id"]);
  std::string photo = json::parse(ok(village, {"hazard", "show", in_a, "--json"}).out)["photos"][0]["hash"];
  ok(village, {"blob", "get", photo, (dir.path() / "copy.jpg").string()});
  ok(village, {"verify"});
  // Since-last carries only what is new; a bundle for another node is refused; tampering too.
  ok(county, {"--as", "head", "hazard", "escalate", in_a});
  json delta = json::parse(ok(county, {"bundle", "export", bundle, "--for", village_key, "--since-last", "--json"}).out);
  CHECK(delta["ops"] == 1);
  ok(village, {"bundle", "import", bundle});
  CHECK(json::parse(ok(village, {"hazard", "show", in_a, "--json"}).out)["state"] == "escalated");
  auto other = dir.path() / "other";
  ok(other, {"init"});
  Run wrong = anwang_cli(other, {"bundle", "import", bundle});
  CHECK(wrong.exit_code == 1);
  CHECK_THAT(wrong.err, Catch::Contains("not for this node"));
  std::string bytes;
  {
    std::stringstream content;
    content << std::ifstream(bundle, std::ios::binary).rdbuf();
    bytes = content.str();
  }
  bytes[bytes.size() - 20] ^= 1;
  std::ofstream(bundle, std::ios::binary | std::ios::trunc) << bytes;
  Run tampered = anwang_cli(village, {"bundle", "import", bundle});
  CHECK(tampered.exit_code == 1);
  CHECK_THAT(tampered.err, Catch::Contains("altered"));
}

namespace {

// The ops a node holds, in (timestamp, id) order, read back with `anwang op export`.
std::vector<Op> held_ops(const std::filesystem::path& home) {
  auto file = home.parent_path() / (home.filename().string() + "-held.ops");
  ok(home, {"op", "export", file.string()});
  auto bytes = node::read_op_file(file);
  REQUIRE(bytes.is_ok());
  std::vector<Op> ops;
  for (const Bytes& op : *bytes) {
    auto decoded = decode_op(op);
    REQUIRE(std::holds_alternative<Op>(decoded));
    ops.push_back(std::move(std::get<Op>(decoded)));
  }
  return ops;
}

std::set<Hash32> ids_of(const std::vector<Op>& ops) {
  std::set<Hash32> ids;
  for (const Op& op : ops) ids.insert(op.id);
  return ids;
}

// The ops of `ops` that `held` lacks, in order.
std::vector<Op> not_in(const std::vector<Op>& ops, const std::set<Hash32>& held) {
  std::vector<Op> out;
  for (const Op& op : ops)
    if (held.count(op.id) == 0) out.push_back(op);
  return out;
}

// The loop county on one node (with a head for village B too), and village A's new node, enrolled
// for 150430100201 and joined by an exported bundle.
struct CountyAndVillage {
  std::filesystem::path county, village;
  PublicKey village_node;
  KeyPair county_node = test::test_key(0);  // replaced by the county node's own key
};

CountyAndVillage county_and_village_a(const TempDir& dir) {
  CountyAndVillage out;
  out.county = loop_county(dir);
  ok(out.county, {"key", "new", "head-b", "--no-passphrase"});
  ok(out.county, {"--as", "town", "delegate", "--to", "head-b", "--role", "village_head", "--scope", "150430100202"});
  out.village = dir.path() / "village-a";
  std::string village_key = json::parse(ok(out.village, {"init", "--json"}).out)["node_key"];
  out.village_node = *Hash32::from_view(*from_hex(village_key));
  ok(out.county, {"--as", "town", "node", "enroll", village_key, "--scope", "150430100201"});
  auto join = (dir.path() / "join.bundle").string();
  ok(out.county, {"bundle", "export", join, "--for", village_key});
  ok(out.village, {"bundle", "import", join});
  auto home = node::NodeHome::open(out.county);
  REQUIRE(home.is_ok());
  auto key = home->load_node_key();
  REQUIRE(key.is_ok());
  out.county_node = std::move(*key);
  return out;
}

std::string report_hazard(const std::filesystem::path& county, const char* as, const char* grid, const std::string& text,
                          const std::vector<std::string>& extra = {}) {
  std::vector<std::string> args{"--as", as, "hazard", "report", "--grid", grid, "--category", "fire", "--severity",
                                "general", "--text", text, "--json"};
  args.insert(args.end(), extra.begin(), extra.end());
  return json::parse(ok(county, args).out)["id"];
}

}  // namespace

TEST_CASE("a hand-made bundle of village B's hazards to village A's node: each refused as out of scope", "[cli][bundle][class8]") {
  TempDir dir;
  CountyAndVillage t = county_and_village_a(dir);
  std::ofstream(dir.path() / "a.jpg") << "photo of village A";
  std::ofstream(dir.path() / "b.jpg") << "photo of village B";
  std::vector<std::string> in_a, in_b;
  for (int i = 0; i < 3; ++i) {
    in_a.push_back(report_hazard(t.county, "member", "150430100201-03", "一村隐患 " + std::to_string(i),
                                 i == 0 ? std::vector<std::string>{"--photo", (dir.path() / "a.jpg").string()}
                                        : std::vector<std::string>{}));
    in_b.push_back(report_hazard(t.county, "head-b", "150430100202", "二村隐患 " + std::to_string(i),
                                 i == 0 ? std::vector<std::string>{"--photo", (dir.path() / "b.jpg").string()}
                                        : std::vector<std::string>{}));
  }
  ok(t.county, {"--as", "head-b", "hazard", "comment", in_b[1], "--text", "二村处理中"});
  // Every op of the county node, signed by the county node (an enrolled sender), with both
  // photos: what a careless or hostile export for village A's node would carry.
  std::vector<Op> before = held_ops(t.village);
  std::vector<Op> everything = held_ops(t.county);
  test::HandBundle hand(t.village_node, t.county_node.public_key(), t.county_node);
  // Village B's records; its head's appointment is an authority op, which every node holds.
  std::set<Hash32> of_b, of_others;
  for (const Op& op : everything) {
    hand.add_op(op.bytes);
    bool of_village_b = scope_contains("150430100202", op.fields.scope) &&
                        !std::holds_alternative<DelegationPayload>(op.fields.payload);
    (of_village_b ? of_b : of_others).insert(op.id);
  }
  REQUIRE(of_b.size() == 4);  // three reports and a comment
  for (const char* photo : {"a.jpg", "b.jpg"}) {
    std::stringstream content;
    content << std::ifstream(dir.path() / photo, std::ios::binary).rdbuf();
    std::string text = content.str();
    hand.add_blob(Bytes(text.begin(), text.end()), "image/jpeg");
  }
  hand.add_end();
  auto file = dir.path() / "hand.bundle";
  hand.write(file);

  Run run = anwang_cli(t.village, {"bundle", "import", file.string(), "--json"});
  CHECK(run.exit_code == 1);  // some ops refused
  json report = json::parse(run.out);
  CHECK(report["damaged"] == false);
  CHECK(report["ops_read"] == everything.size());
  CHECK(report["refused"] == of_b.size());
  std::set<Hash32> refused;
  for (const auto& refusal : report["refusals"]) {
    CHECK(refusal["reason"] == "out_of_scope");
    CHECK_THAT(refusal["detail"].get<std::string>(), Catch::Contains("150430100202"));
    refused.insert(*Hash32::from_view(*from_hex(refusal["id"].get<std::string>())));
  }
  CHECK(refused == of_b);
  // Village A's store holds what it held and the ops of its own and the authority's, no more.
  std::set<Hash32> expected = ids_of(before);
  expected.insert(of_others.begin(), of_others.end());
  CHECK(ids_of(held_ops(t.village)) == expected);
  for (const std::string& id : in_b) CHECK(anwang_cli(t.village, {"hazard", "show", id}).exit_code == 4);
  for (const std::string& id : in_a) CHECK(json::parse(ok(t.village, {"hazard", "show", id, "--json"}).out)["state"] == "reported");
  // A's photo is kept; B's, referenced by no op the village holds, is refused, read past and
  // counted as such (not as a blob held already).
  CHECK(report["blobs"] == 1);
  CHECK(report["blobs_unreferenced"] == 1);
  CHECK(report["blobs_skipped"] == 0);
  std::string photo_a = json::parse(ok(t.village, {"hazard", "show", in_a[0], "--json"}).out)["photos"][0]["hash"];
  std::string photo_b = json::parse(ok(t.county, {"hazard", "show", in_b[0], "--json"}).out)["photos"][0]["hash"];
  ok(t.village, {"blob", "get", photo_a, (dir.path() / "a-copy.jpg").string()});
  CHECK(anwang_cli(t.village, {"blob", "get", photo_b, (dir.path() / "b-copy.jpg").string()}).exit_code != 0);
  ok(t.village, {"verify"});
  // The human report names each refusal.
  Run human = anwang_cli(t.village, {"bundle", "import", file.string()});
  CHECK(human.exit_code == 1);
  CHECK_THAT(human.out, Catch::Contains("out_of_scope"));
}

TEST_CASE("a bundle signed by no enrolled node, or naming a sender that did not sign it, is refused and nothing is written",
          "[cli][bundle][class8]") {
  TempDir dir;
  CountyAndVillage t = county_and_village_a(dir);
  std::set<Hash32> held = ids_of(held_ops(t.village));
  for (int i = 0; i < 3; ++i)
    ok(t.county, {"--as", "head", "note", "add", "--scope", "150430100201", "--text", "巡查 " + std::to_string(i)});
  std::vector<Op> fresh = not_in(held_ops(t.county), held);
  REQUIRE(fresh.size() == 3);
  KeyPair stranger = test::test_key(91);  // a key of no node of this network
  auto refused_with = [&](const test::HandBundle& hand, const std::string& reason) {
    auto file = dir.path() / "forged.bundle";
    hand.write(file);
    Run run = anwang_cli(t.village, {"bundle", "import", file.string(), "--json"});
    CHECK(run.exit_code == 1);
    CHECK_THAT(run.err, Catch::Contains(reason));
    CHECK(std::count(run.err.begin(), run.err.end(), '\n') == 1);
    CHECK(ids_of(held_ops(t.village)) == held);
  };
  auto with_fresh_ops = [&](test::HandBundle hand) {
    for (const Op& op : fresh) hand.add_op(op.bytes);
    hand.add_end();
    return hand;
  };
  // Signed by a key that is no enrolled node, naming itself as sender.
  refused_with(with_fresh_ops(test::HandBundle(t.village_node, stranger.public_key(), stranger)),
               "which is not an enrolled node of this network");
  // Naming the county node as sender, signed by another key.
  refused_with(with_fresh_ops(test::HandBundle(t.village_node, t.county_node.public_key(), stranger)),
               "is not signed by the node it names as its sender");
  // Naming the village's own key, signed by another: the same.
  refused_with(with_fresh_ops(test::HandBundle(t.village_node, t.village_node, t.county_node)),
               "is not signed by the node it names as its sender");
  // The same ops signed by the county node are imported.
  auto file = dir.path() / "signed.bundle";
  with_fresh_ops(test::HandBundle(t.village_node, t.county_node.public_key(), t.county_node)).write(file);
  CHECK(json::parse(ok(t.village, {"bundle", "import", file.string(), "--json"}).out)["accepted"] == 3);

  // A new node judges the sender by the bundle's own authority ops: the county's whole log,
  // signed by a stranger, is refused, and the new node holds nothing.
  auto newcomer = dir.path() / "village-a2";
  std::string newcomer_key = json::parse(ok(newcomer, {"init", "--json"}).out)["node_key"];
  ok(t.county, {"--as", "town", "node", "enroll", newcomer_key, "--scope", "150430100201"});
  PublicKey newcomer_node = *Hash32::from_view(*from_hex(newcomer_key));
  test::HandBundle forged(newcomer_node, stranger.public_key(), stranger);
  for (const Op& op : held_ops(t.county)) forged.add_op(op.bytes);
  forged.add_end();
  forged.write(dir.path() / "newcomer.bundle");
  Run joining = anwang_cli(newcomer, {"bundle", "import", (dir.path() / "newcomer.bundle").string()});
  CHECK(joining.exit_code == 1);
  CHECK_THAT(joining.err, Catch::Contains("not an enrolled node of the network the bundle carries"));
  CHECK(op_count(newcomer) == 0);
  CHECK_FALSE(std::filesystem::exists(newcomer / "bundle-staging"));
  ok(t.county, {"bundle", "export", (dir.path() / "newcomer.bundle").string(), "--for", newcomer_key});
  json joined = json::parse(ok(newcomer, {"bundle", "import", (dir.path() / "newcomer.bundle").string(), "--json"}).out);
  CHECK(joined["refused"] == 0);
  CHECK(op_count(newcomer) == joined["accepted"].get<std::uint64_t>());
}

TEST_CASE("a bundle cut short or altered part-way commits exactly the ops before the damage and says so", "[cli][bundle][class8]") {
  TempDir dir;
  CountyAndVillage t = county_and_village_a(dir);
  std::set<Hash32> held = ids_of(held_ops(t.village));
  for (int i = 0; i < 20; ++i)
    ok(t.county, {"--as", "head", "note", "add", "--scope", "150430100201", "--text", "巡查 " + std::to_string(i)});
  std::vector<Op> fresh = not_in(held_ops(t.county), held);
  REQUIRE(fresh.size() == 20);
  test::HandBundle hand(t.village_node, t.county_node.public_key(), t.county_node);
  for (const Op& op : fresh) hand.add_op(op.bytes);
  hand.add_end();
  const Bytes& whole = hand.bytes();
  const std::vector<std::size_t>& ends = hand.record_ends();  // ends[i]: just past record i + 1
  auto file = dir.path() / "damaged.bundle";

  // Each damaged copy in turn, each reaching further than the one before: the report counts
  // exactly the ops before the damage, and the village holds exactly those of the 20.
  std::uint64_t committed = 0;
  auto import_damaged = [&](const Bytes& bytes, std::uint64_t ops_before_damage, const std::string& says) {
    INFO("expecting " << ops_before_damage << " ops and: " << says);
    std::ofstream(file, std::ios::binary | std::ios::trunc)
        .write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    Run run = anwang_cli(t.village, {"bundle", "import", file.string(), "--json"});
    CHECK(run.exit_code == 1);
    json report = json::parse(run.out);
    CHECK(report["damaged"] == true);
    CHECK_THAT(report["damage"].get<std::string>(), Catch::Contains(says));
    CHECK_THAT(run.err, Catch::Contains(says));
    CHECK(report["ops_read"] == ops_before_damage);
    CHECK(report["accepted"] == ops_before_damage - committed);
    CHECK(report["duplicate"] == committed);
    CHECK(report["pending"] == 0);
    CHECK(report["refused"] == 0);
    std::set<Hash32> now = ids_of(held_ops(t.village));
    for (std::size_t i = 0; i < fresh.size(); ++i) CHECK((now.count(fresh[i].id) == 1) == (i < ops_before_damage));
    committed = ops_before_damage;
  };
  auto cut = [&](std::size_t bytes) { return Bytes(whole.begin(), whole.begin() + static_cast<std::ptrdiff_t>(bytes)); };
  import_damaged(cut(hand.header_bytes() + 2), 0, "cut short inside record 1");
  import_damaged(cut(ends[4]), 5, "cut short: it ends after record 5, without its end record");
  import_damaged(cut(ends[9] - 7), 9, "cut short inside record 10");
  Bytes flipped = whole;
  flipped[(ends[13] + ends[14]) / 2] ^= 0x20;  // the middle of record 15
  import_damaged(flipped, 14, "record 15 of the bundle was altered or damaged");
  import_damaged(cut(ends[19]), 20, "cut short: it ends after record 20, without its end record");
  Run human = anwang_cli(t.village, {"bundle", "import", file.string()});
  CHECK(human.exit_code == 1);
  CHECK_THAT(human.out, Catch::Contains("duplicate 重复 20"));
  CHECK_THAT(human.err, Catch::Contains("the 20 ops before it were imported as counted, and the rest was not read"));
  // The whole bundle: nothing new, no damage.
  hand.write(file);
  json whole_report = json::parse(ok(t.village, {"bundle", "import", file.string(), "--json"}).out);
  CHECK(whole_report["damaged"] == false);
  CHECK(whole_report["duplicate"] == 20);
  ok(t.village, {"verify"});
}

TEST_CASE("a version-1 bundle is refused: it carries no proof of its sender", "[cli][bundle][class8]") {
  TempDir dir;
  CountyAndVillage t = county_and_village_a(dir);
  std::set<Hash32> held = ids_of(held_ops(t.village));
  ok(t.county, {"--as", "head", "note", "add", "--scope", "150430100201", "--text", "旧版数据包"});
  test::HandBundle old(t.village_node, t.county_node.public_key(), t.county_node, /*version=*/1);
  for (const Op& op : not_in(held_ops(t.county), held)) old.add_op(op.bytes);
  old.add_end();
  auto file = dir.path() / "old.bundle";
  old.write(file);
  Run run = anwang_cli(t.village, {"bundle", "import", file.string()});
  CHECK(run.exit_code == 3);
  CHECK_THAT(run.err, Catch::Contains("was made by an older anwang: it carries no proof of its sender; export it again with "
                                      "this release"));
  CHECK(std::count(run.err.begin(), run.err.end(), '\n') == 1);
  CHECK(ids_of(held_ops(t.village)) == held);
}

namespace {

// An anwangd process on loopback, stopped with SIGTERM when the test ends. With `listen` false it
// only dials the neighbours in its anwang.toml.
class Daemon {
 public:
  Daemon(const std::filesystem::path& home, const std::filesystem::path& log, bool listen = true) {
    static int instances = 0;  // daemons of one test process take different ports
    const int instance = instances++;
    for (int attempt = 0; attempt < 5 && pid_ <= 0; ++attempt) {
      port_ = 20000 + static_cast<int>((getpid() * 7 + attempt * 131 + instance * 17) % 30000);
      std::error_code ignored;
      const std::uintmax_t logged_before = std::filesystem::exists(log) ? std::filesystem::file_size(log, ignored) : 0;
      std::string command = quote(ANWANGD_PATH) + " --home " + quote(home.string()) +
                            (listen ? " --listen 127.0.0.1:" + std::to_string(port_) : std::string()) + " >> " +
                            quote(log.string()) + " 2>&1 & echo $!";
      FILE* pipe = popen(command.c_str(), "r");
      REQUIRE(pipe != nullptr);
      int pid = 0;
      REQUIRE(fscanf(pipe, "%d", &pid) == 1);
      pclose(pipe);
      const char* ready = listen ? "listening for peers" : " ready: ";
      for (int wait = 0; wait < 100; ++wait) {
        std::stringstream text;
        text << std::ifstream(log).rdbuf();
        const std::string started = text.str().size() > logged_before ? text.str().substr(logged_before) : "";
        if (started.find(ready) != std::string::npos) {
          pid_ = pid;
          break;
        }
        if (started.find("cannot listen") != std::string::npos) break;
        usleep(50'000);
      }
      if (pid_ <= 0) kill(pid, SIGKILL);
    }
    REQUIRE(pid_ > 0);
  }
  ~Daemon() { stop(SIGTERM); }
  void stop(int signal) {
    if (pid_ <= 0) return;
    kill(pid_, signal);
    int status = 0;
    for (int wait = 0; wait < 100 && waitpid(pid_, &status, WNOHANG) == 0; ++wait) usleep(50'000);
    pid_ = 0;
  }
  int pid() const { return pid_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  int pid_ = 0;
  int port_ = 0;
};

}  // namespace

namespace {

// `anwang digest --json` of a node: {scope, ops, ops_digest, verdicts_digest}.
json digest_of(const std::filesystem::path& home, const std::vector<std::string>& more = {}) {
  std::vector<std::string> args{"digest", "--json"};
  args.insert(args.end(), more.begin(), more.end());
  return json::parse(ok(home, args).out);
}

}  // namespace

TEST_CASE("two nodes holding the same ops of a scope print the same digests, whatever the order", "[cli][digest][class9]") {
  TempDir dir;
  auto a = dir.path() / "a";
  auto b = dir.path() / "b";
  PublicKey key_a = *Hash32::from_hex(json::parse(ok(a, {"init", "--json"}).out)["node_key"].get<std::string>());
  PublicKey key_b = *Hash32::from_hex(json::parse(ok(b, {"init", "--json"}).out)["node_key"].get<std::string>());
  test::OpFactory factory;
  KeyPair root = test::test_key(0);
  std::vector<Op> ops{factory.genesis()};
  ops.push_back(factory.make(root, "150430100201", node_object_id(key_a), EnrolmentPayload{key_a}, {ops.back().id}));
  ops.push_back(factory.make(root, "150430100201", node_object_id(key_b), EnrolmentPayload{key_b}, {ops.back().id}));
  // Notes in two villages, and a forged appointment (kept inert), so the verdicts differ by op.
  // The forger holds an office (a grid member's, which appoints nobody): since issue 20 the ops of
  // a key no office ever named are refused, not kept inert.
  KeyPair member = test::test_key(77);
  ops.push_back(factory.make(root, "150430100201-03", named_object_id("grant", "member"),
                             DelegationPayload{member.public_key(), "grid_member", {}}, {ops.back().id}));
  ops.push_back(factory.make(member, "150430100201", named_object_id("grant", "x"),
                             DelegationPayload{member.public_key(), "village_head", {}}, {ops.back().id}));
  const Hash32 forged = ops.back().id;
  // And an op of a key no office ever named: both nodes refuse it, whatever the order it comes in
  // (one that comes before its parents waits for them, then is refused).
  KeyPair stranger = test::test_key(78);
  Op unnamed = factory.note(stranger, "150430100201", "无人任命", {forged});
  // Each note follows the last one of its own village (an op goes only where its parents go).
  std::map<std::string, Hash32> last;
  for (int i = 0; i < 30; ++i) {
    std::string village = i % 3 ? "150430100201" : "150430100202";
    Hash32 parent = last.count(village) ? last[village] : forged;
    ops.push_back(factory.note(root, village, "巡查 " + std::to_string(i), {parent}));
    last[village] = ops.back().id;
  }
  std::vector<Bytes> in_order = test::bytes_of(ops);
  in_order.push_back(unnamed.bytes);
  std::vector<Bytes> shuffled = in_order;
  std::mt19937_64 rng(20261122);
  std::shuffle(shuffled.begin(), shuffled.end(), rng);
  REQUIRE(node::write_op_file(dir.path() / "in_order.ops", in_order).is_ok());
  REQUIRE(node::write_op_file(dir.path() / "shuffled.ops", shuffled).is_ok());
  for (const auto& [home, file] : {std::pair{a, "in_order.ops"}, std::pair{b, "shuffled.ops"}}) {
    Run import = anwang_cli(home, {"op", "import", (dir.path() / file).string(), "--json"});
    INFO(file << ": " << import.out << import.err);
    CHECK(import.exit_code == 1);  // the unnamed key's op, refused
    json report = json::parse(import.out);
    CHECK(report["accepted"] == ops.size());
    REQUIRE(report["refusals"].size() == 1);
    CHECK(report["refusals"][0]["id"] == unnamed.id.hex());
    CHECK(report["refusals"][0]["reason"] == "no_office");
  }
  REQUIRE(json::parse(ok(b, {"status", "--json"}).out)["pending"] == 0);

  // The default scope is the node's own: both are enrolled for village one.
  json village_a = digest_of(a);
  json village_b = digest_of(b);
  CHECK(village_a["scope"] == "150430100201");
  // The authority ops, the grid member's office and the forged appointment (one more op than before
  // issue 20: the forger's office), village one's notes; the unnamed key's note is not stored.
  CHECK(village_a["ops"] == 3 + 2 + 20);
  CHECK(village_a == village_b);
  CHECK(village_a["ops_digest"].get<std::string>().size() == 64);
  CHECK(village_a["verdicts_digest"] != village_a["ops_digest"]);
  CHECK(digest_of(a, {"--scope", "150430100202"}) == digest_of(b, {"--scope", "150430100202"}));
  CHECK(digest_of(a, {"--scope", "150430100202"})["ops"] == 5 + 10);  // + the office, in the notes' past
  Run human = ok(a, {"digest"});
  CHECK_THAT(human.out, Catch::Contains(village_a["ops_digest"].get<std::string>()));
  CHECK_THAT(human.out, Catch::Contains("Verdicts digest"));

  // One more op in village two: village one's digests stay equal, village two's differ.
  Op extra = factory.note(root, "150430100202", "只在 b", {last["150430100202"]});
  REQUIRE(node::write_op_file(dir.path() / "extra.ops", {extra.bytes}).is_ok());
  ok(b, {"op", "import", (dir.path() / "extra.ops").string()});
  CHECK(digest_of(a) == digest_of(b));
  json two_a = digest_of(a, {"--scope", "150430100202"});
  json two_b = digest_of(b, {"--scope", "150430100202"});
  CHECK(two_b["ops"] == two_a["ops"].get<int>() + 1);
  CHECK(two_a["ops_digest"] != two_b["ops_digest"]);
  CHECK(two_a["verdicts_digest"] != two_b["verdicts_digest"]);
  // The county sees both villages.
  CHECK(digest_of(a, {"--scope", "150430"})["ops"] == ops.size());

  // A node enrolled nowhere has no scope of its own; a bad code is refused.
  auto stranger_home = dir.path() / "stranger";
  ok(stranger_home, {"init"});
  Run no_scope = anwang_cli(stranger_home, {"digest"});
  CHECK(no_scope.exit_code == 3);
  CHECK_THAT(no_scope.err, Catch::Contains("--scope"));
  CHECK(anwang_cli(a, {"digest", "--scope", "15043"}).exit_code == 3);
}

TEST_CASE("ops imported without their parents are listed with the parents they lack, and purged", "[cli][pending][class9]") {
  TempDir dir;
  test::OpFactory factory;
  KeyPair root = test::test_key(0);
  Op region = factory.region(root, "150430100", "新惠镇", {factory.genesis().id});
  Op first = factory.note(root, "150430100", "等镇的定义", {region.id});
  Op second = factory.note(root, "150430100", "等第一条", {first.id});
  Op third = factory.note(test::test_key(3), "150430100", "也等镇的定义", {region.id});
  REQUIRE(node::write_op_file(dir.path() / "ops.bin", {factory.genesis().bytes, first.bytes, second.bytes, third.bytes})
              .is_ok());
  auto home = dir.path() / "n";
  ok(home, {"init"});
  json imported = json::parse(ok(home, {"op", "import", (dir.path() / "ops.bin").string(), "--json"}).out);
  REQUIRE(imported["pending"] == 3);

  json listed = json::parse(ok(home, {"pending", "list", "--json"}).out);
  REQUIRE(listed.size() == 3);
  std::map<std::string, json> by_id;
  for (const auto& entry : listed) by_id[entry["id"]] = entry;
  REQUIRE(by_id.count(first.id.hex()));
  CHECK(by_id[first.id.hex()]["missing"] == json::array({region.id.hex()}));
  CHECK(by_id[second.id.hex()]["missing"] == json::array({first.id.hex()}));
  CHECK(by_id[third.id.hex()]["missing"] == json::array({region.id.hex()}));
  CHECK(by_id[first.id.hex()]["kind"] == "note");
  CHECK(by_id[first.id.hex()]["scope"] == "150430100");
  CHECK(by_id[first.id.hex()]["author"] == root.public_key().hex());
  CHECK(by_id[third.id.hex()]["author"] == test::test_key(3).public_key().hex());
  CHECK(by_id[first.id.hex()]["time"].get<std::string>().find('+') == std::string::npos);
  Run human = ok(home, {"pending", "list"});
  CHECK(std::count(human.out.begin(), human.out.end(), '\n') == 3);
  CHECK_THAT(human.out, Catch::Contains(first.id.short_hex()));
  CHECK_THAT(human.out, Catch::Contains(region.id.short_hex()));

  // Bad input: nothing purged.
  Run bad = anwang_cli(home, {"pending", "purge", "xyz"});
  CHECK(bad.exit_code == 3);
  CHECK(std::count(bad.err.begin(), bad.err.end(), '\n') == 1);
  CHECK(anwang_cli(home, {"pending", "purge"}).exit_code == 2);
  CHECK(anwang_cli(home, {"pending", "purge", "--all", first.id.hex()}).exit_code == 2);
  CHECK(json::parse(ok(home, {"status", "--json"}).out)["pending"] == 3);

  // One named by a prefix, and one id that is not pending (the genesis is stored): reported.
  Run some = anwang_cli(home, {"pending", "purge", first.id.hex().substr(0, 12), factory.genesis().id.hex(), "--json"});
  CHECK(some.exit_code == 1);
  json purged = json::parse(some.out);
  CHECK(purged["purged"] == 1);
  CHECK(purged["not_pending"] == json::array({factory.genesis().id.hex()}));
  CHECK(json::parse(ok(home, {"pending", "list", "--json"}).out).size() == 2);
  Run rest = ok(home, {"pending", "purge", "--all"});
  CHECK_THAT(rest.out, Catch::Contains("2"));
  CHECK(json::parse(ok(home, {"pending", "list", "--json"}).out) == json::array());
  CHECK_THAT(ok(home, {"pending", "list"}).out, Catch::Contains("No ops wait for parents"));
  json status = json::parse(ok(home, {"status", "--json"}).out);
  CHECK(status["pending"] == 0);
  CHECK(status["ops"] == 1);
  ok(home, {"verify"});
  // The parent arriving now releases nothing: the purged ops are gone (a peer may send them again).
  REQUIRE(node::write_op_file(dir.path() / "region.ops", {region.bytes}).is_ok());
  json later = json::parse(ok(home, {"op", "import", (dir.path() / "region.ops").string(), "--json"}).out);
  CHECK(later["accepted"] == 1);
  CHECK(json::parse(ok(home, {"status", "--json"}).out)["ops"] == 2);
  ok(home, {"verify"});
}

TEST_CASE("every op an import refuses is named by its id, well-formed or not", "[cli][class9]") {
  // 100 ops in one batch: with two or more cores the store checks them on its parallel decoder.
  static_assert(anwang::limits::verify_parallel_ops_min <= 100);
  TempDir dir;
  test::OpFactory factory;
  KeyPair root = test::test_key(0);
  std::vector<Bytes> file{factory.genesis().bytes};
  std::vector<Hash32> flipped;
  Hash32 last = factory.genesis().id;
  for (int i = 1; i < 100; ++i) {
    Op note = factory.note(root, "150430100201", "巡查 " + std::to_string(i), {last});
    last = note.id;
    if (i % 10 == 3) {
      file.push_back(test::with_signature_bit_flipped(note, i));
      flipped.push_back(blake2b_256(file.back()));
    } else {
      file.push_back(note.bytes);
    }
  }
  REQUIRE(flipped.size() == 10);
  REQUIRE(node::write_op_file(dir.path() / "ops.bin", file).is_ok());
  auto home = dir.path() / "n";
  ok(home, {"init"});
  Run import = anwang_cli(home, {"op", "import", (dir.path() / "ops.bin").string(), "--json"});
  CHECK(import.exit_code == 1);
  json report = json::parse(import.out);
  CHECK(report["refused"] == 10);
  REQUIRE(report["refusals"].size() == 10);
  std::set<std::string> named;
  for (const auto& refusal : report["refusals"]) {
    CHECK(refusal["reason"] == "bad_signature");
    REQUIRE(refusal["id"].is_string());
    named.insert(refusal["id"].get<std::string>());
  }
  std::set<std::string> expected;
  for (const Hash32& id : flipped) expected.insert(id.hex());
  CHECK(named == expected);
  // As people read it: each refusal names its op; only bytes that are no op are "undecodable".
  auto fresh = dir.path() / "fresh";
  ok(fresh, {"init"});
  Run human = anwang_cli(fresh, {"op", "import", (dir.path() / "ops.bin").string()});
  CHECK(human.exit_code == 1);
  for (const Hash32& id : flipped) CHECK_THAT(human.out, Catch::Contains("refused 拒收 " + id.short_hex() + ": bad_signature"));
  CHECK_THAT(human.out, !Catch::Contains("undecodable"));
  REQUIRE(node::write_op_file(dir.path() / "junk.bin", {Bytes(3, 1)}).is_ok());
  Run junk = anwang_cli(fresh, {"op", "import", (dir.path() / "junk.bin").string()});
  CHECK_THAT(junk.out, Catch::Contains(blake2b_256(Bytes(3, 1)).short_hex() + " (undecodable"));
}

TEST_CASE("progress is written only to a terminal, never into a log file", "[cli][class9]") {
  TempDir dir;
  test::OpFactory factory = test::mechanics_factory();  // test_key(1) is one of its root keys
  std::vector<Bytes> ops{factory.genesis().bytes};
  for (int i = 0; i < 1500; ++i)  // two batches: progress after each
    ops.push_back(factory.note(test::test_key(1), "150430100", "巡查 " + std::to_string(i), {factory.genesis().id}).bytes);
  REQUIRE(node::write_op_file(dir.path() / "ops.bin", ops).is_ok());
  auto home = dir.path() / "n";
  ok(home, {"init"});
  Run import = ok(home, {"op", "import", (dir.path() / "ops.bin").string()});  // stderr goes to a file
  CHECK_THAT(import.out, Catch::Contains("accepted 接收 1501"));
  CHECK(import.err.find('\r') == std::string::npos);
  CHECK(import.err.empty());
}

TEST_CASE("empty lists say so in one line, and print [] as JSON", "[cli][class9]") {
  TempDir dir;
  auto home = dir.path() / "county";
  ok(home, {"init"});
  CHECK_THAT(ok(home, {"region", "list"}).out, Catch::Contains("No jurisdictions"));
  CHECK_THAT(ok(home, {"pending", "list"}).out, Catch::Contains("No ops wait for parents"));
  ok(home, {"key", "new", "root", "--no-passphrase"});
  ok(home, {"genesis", "--county", "150430", "--name", "敖汉旗", "--root", "root"});
  const std::vector<std::pair<std::vector<std::string>, std::string>> lists = {
      {{"hazard", "list"}, "No hazards 无隐患."},
      {{"hazard", "list", "--state", "archived"}, "No hazards match"},
      {{"unit", "list"}, "No units"},
      {{"tip", "list"}, "No tips"},
      {{"incident", "list"}, "No incidents"},
      {{"notice", "list"}, "No notices"},
      {{"patrol", "due"}, "No units due"},
      {{"patrol", "quota"}, "No one here has a patrol quota"},
      {{"audit", "unauthorised"}, "No inert ops"},
      {{"audit", "unauthorised", "--flagged"}, "No inert or flagged ops"},
      {{"audit", "equivocations"}, "No equivocation"},
      {{"pending", "list"}, "No ops wait for parents"},
  };
  for (const auto& [args, says] : lists) {
    INFO("anwang " << args[0] << " " << args[1]);
    Run human = ok(home, args);
    CHECK_THAT(human.out, Catch::Contains(says));
    CHECK(std::count(human.out.begin(), human.out.end(), '\n') == 1);
    std::vector<std::string> with_json = args;
    with_json.push_back("--json");
    CHECK(json::parse(ok(home, with_json).out) == json::array());
  }
}

TEST_CASE("times print as people read them, without the clock's counter", "[cli][class9]") {
  TempDir dir;
  test::OpFactory factory;
  KeyPair root = test::test_key(0);
  // Two ops in one millisecond: the second carries the clock's counter (+1).
  std::uint64_t stamped = hlc_from_ms(test::kTestTimeMs + 5) + 1;
  HazardPayload report;
  report.action = "report";
  report.category = "fire";
  report.severity = "general";
  report.text = "仓库堆放易燃物";
  Op hazard = factory.make(root, "150430100201", authored_object_id(root.public_key(), factory.next_seq(root)), report,
                           {factory.genesis().id}, stamped);
  REQUIRE(node::write_op_file(dir.path() / "ops.bin", {factory.genesis().bytes, hazard.bytes}).is_ok());
  auto home = dir.path() / "n";
  ok(home, {"init"});
  ok(home, {"op", "import", (dir.path() / "ops.bin").string()});
  const std::string iso = "2026-09-21T14:13:20.005Z";
  json log = json::parse(ok(home, {"log", "--json"}).out);
  REQUIRE(log.size() == 2);
  CHECK(log[1]["time"] == iso);
  json shown = json::parse(ok(home, {"show", hazard.id.hex(), "--json"}).out);
  CHECK(shown["time"] == iso);
  CHECK(shown["hlc"] == stamped);  // the exact timestamp stays, as an integer
  json state = json::parse(ok(home, {"hazard", "show", hazard.fields.object.hex(), "--json"}).out);
  CHECK(state["reported_at"] == iso);
  CHECK(state["history"][0]["time"] == iso);
  CHECK_THAT(ok(home, {"log"}).out, Catch::Contains("2026-09-21 14:13:20  hazard"));
  std::string human = ok(home, {"hazard", "show", hazard.fields.object.hex()}).out;
  CHECK_THAT(human, Catch::Contains("2026-09-21 14:13:20  report"));
  CHECK(human.find("Z+") == std::string::npos);
}

TEST_CASE("a village node joins by bundle, then syncs with the county's anwangd over loopback", "[cli][sync]") {
  TempDir dir;
  auto county = loop_county(dir);
  Daemon daemon(county, dir.path() / "anwangd.log");
  auto village = dir.path() / "village-a";
  std::string village_key = json::parse(ok(village, {"init", "--json"}).out)["node_key"];
  std::string person = json::parse(ok(village, {"key", "new", "villager", "--json", "--no-passphrase"}).out)["public_key"];
  ok(county, {"--as", "town", "node", "enroll", village_key, "--scope", "150430100201"});
  ok(county, {"--as", "head", "delegate", "--to", person, "--role", "grid_member", "--scope", "150430100201-03"});
  ok(county, {"bundle", "export", (dir.path() / "join.bundle").string(), "--for", village_key});
  ok(village, {"bundle", "import", (dir.path() / "join.bundle").string()});

  // Peers that connect and vanish, or send garbage, do not take the daemon down.
  for (const char* junk : {"", "GET / HTTP/1.0\r\n\r\n", "\xff\xff\xff\xff"}) {
    std::string port = daemon.address().substr(daemon.address().find(':') + 1);
    std::string command = "exec 3<>/dev/tcp/127.0.0.1/" + port + " && printf '%s' " + quote(junk) + " >&3; exec 3>&-";
    CHECK(std::system(("bash -c " + quote(command)).c_str()) == 0);
  }

  // The county writes (the CLI beside the running daemon); the village syncs and sees it.
  std::string from_county = json::parse(ok(county, {"--as", "member", "hazard", "report", "--grid", "150430100201-03",
                                                    "--category", "fire", "--severity", "general", "--text", "县里录入",
                                                    "--json"})
                                            .out)["id"];
  json first = json::parse(ok(village, {"sync", daemon.address(), "--json"}).out);
  CHECK(first["ops_received"].get<int>() >= 1);
  CHECK(first["ops_refused"] == 0);
  CHECK(json::parse(ok(village, {"hazard", "show", from_county, "--json"}).out)["state"] == "reported");
  // The village reports; the county (through its daemon) receives it.
  std::string from_village = json::parse(ok(village, {"--as", "villager", "hazard", "report", "--grid",
                                                      "150430100201-03", "--category", "fire", "--severity", "general",
                                                      "--text", "村里发现", "--json"})
                                              .out)["id"];
  json second = json::parse(ok(village, {"sync", daemon.address(), "--json"}).out);
  CHECK(second["ops_sent"].get<int>() >= 1);
  CHECK(json::parse(ok(county, {"hazard", "show", from_village, "--json"}).out)["state"] == "reported");
  // Photos travel after the ops, within the byte budget: a session always fetches at least one
  // attachment (one larger than the budget would otherwise never arrive) and defers the rest.
  std::ofstream(dir.path() / "photo.jpg") << std::string(150'000, 'p');
  std::ofstream(dir.path() / "photo2.jpg") << std::string(120'000, 'q');
  ok(county, {"--as", "member", "hazard", "comment", from_village, "--text", "现场照片", "--photo",
              (dir.path() / "photo.jpg").string(), "--photo", (dir.path() / "photo2.jpg").string(), "--json"});
  json deferred = json::parse(ok(village, {"sync", daemon.address(), "--blob-budget", "1000", "--json"}).out);
  CHECK(deferred["ops_received"] == 1);
  CHECK(deferred["blobs_received"] == 1);
  CHECK(deferred["blobs_deferred"] == 1);
  json shown = json::parse(ok(village, {"hazard", "show", from_village, "--json"}).out);
  REQUIRE(shown["photos"].size() == 2);
  int missing = 0;
  for (const auto& photo : shown["photos"])
    if (anwang_cli(village, {"blob", "get", photo["hash"], (dir.path() / "got.jpg").string()}).exit_code == 4) ++missing;
  CHECK(missing == 1);
  json fetched = json::parse(ok(village, {"sync", daemon.address(), "--json"}).out);
  CHECK(fetched["blobs_received"] == 1);
  for (const auto& photo : shown["photos"]) {
    ok(village, {"blob", "get", photo["hash"], (dir.path() / "got.jpg").string()});
    std::uint64_t size = std::filesystem::file_size(dir.path() / "got.jpg");
    CHECK((size == 150'000 || size == 120'000));
  }
  // Nothing left: one reconciliation round, no ops either way.
  json third = json::parse(ok(village, {"sync", daemon.address(), "--json"}).out);
  CHECK(third["ops_sent"] == 0);
  CHECK(third["ops_received"] == 0);
  CHECK(third["reconcile_rounds"] == 1);
  // Without --json, with stderr going to a file (as under a scheduler's log): no "\r" progress
  // lines pile up there, and the summary still goes to stdout.
  Run logged = ok(village, {"sync", daemon.address()});
  CHECK_THAT(logged.out, Catch::Contains("Synced 同步完成"));
  CHECK(logged.err.find('\r') == std::string::npos);
  json status = json::parse(ok(village, {"status", "--json"}).out);
  REQUIRE(status["peers"].size() == 1);
  CHECK(status["peers"][0]["ops_received"].get<int>() >= 1);
  CHECK(status["blobs_missing"] == 0);
  CHECK(status["peers"][0].contains("last_sync"));

  // A bundle carried from the village to the county has the same effect as a network sync.
  std::string carried = json::parse(ok(village, {"--as", "villager", "hazard", "report", "--grid", "150430100201-03",
                                                 "--category", "fire", "--severity", "general", "--text", "U盘带回",
                                                 "--json"})
                                         .out)["id"];
  std::string county_key = json::parse(ok(county, {"status", "--json"}).out)["node_key"];
  ok(village, {"bundle", "export", (dir.path() / "up.bundle").string(), "--for", county_key, "--since-last"});
  json carried_in = json::parse(ok(county, {"bundle", "import", (dir.path() / "up.bundle").string(), "--json"}).out);
  CHECK(carried_in["accepted"].get<int>() >= 1);
  CHECK(json::parse(ok(county, {"hazard", "show", carried, "--json"}).out)["state"] == "reported");

  // A node holding a copy of the network but never enrolled is refused at the handshake.
  auto stranger = dir.path() / "stranger";
  ok(stranger, {"init"});
  ok(county, {"op", "export", (dir.path() / "all.ops").string()});
  ok(stranger, {"op", "import", (dir.path() / "all.ops").string()});
  Run refused = anwang_cli(stranger, {"sync", daemon.address()});
  CHECK(refused.exit_code != 0);
  CHECK_THAT(refused.err, Catch::Contains("not enrolled"));
}

TEST_CASE("a township's anwangd relays a village's new hazard to the county at once", "[cli][sync]") {
  TempDir dir;
  auto county = loop_county(dir);
  auto township = dir.path() / "township";
  auto village = dir.path() / "village";
  std::string township_key = json::parse(ok(township, {"init", "--json"}).out)["node_key"];
  std::string village_key = json::parse(ok(village, {"init", "--json"}).out)["node_key"];
  std::string person = json::parse(ok(village, {"key", "new", "villager", "--json", "--no-passphrase"}).out)["public_key"];
  ok(county, {"--as", "root", "node", "enroll", township_key, "--scope", "150430100"});
  ok(county, {"--as", "town", "node", "enroll", village_key, "--scope", "150430100201"});
  ok(county, {"--as", "head", "delegate", "--to", person, "--role", "grid_member", "--scope", "150430100201-03"});
  ok(county, {"bundle", "export", (dir.path() / "township.bundle").string(), "--for", township_key});
  ok(township, {"bundle", "import", (dir.path() / "township.bundle").string()});
  ok(county, {"bundle", "export", (dir.path() / "village.bundle").string(), "--for", village_key});
  ok(village, {"bundle", "import", (dir.path() / "village.bundle").string()});
  Daemon county_daemon(county, dir.path() / "county.log");
  // The township syncs with the county once an hour unless something happens.
  {
    std::stringstream config;
    config << std::ifstream(township / "anwang.toml").rdbuf();
    std::string text = config.str();
    auto at = text.find("interval_s = 60");
    REQUIRE(at != std::string::npos);
    text.replace(at, std::strlen("interval_s = 60"), "interval_s = 3600");
    std::ofstream(township / "anwang.toml") << text << "\n[[neighbour]]\naddress = \"" << county_daemon.address() << "\"\n";
  }
  Daemon township_daemon(township, dir.path() / "township.log");
  auto county_holds = [&](const std::string& id) {
    return anwang_cli(county, {"hazard", "show", id, "--json"}).exit_code == 0;
  };
  // The township's first session with the county, at start, settles what both hold.
  for (int wait = 0; wait < 100; ++wait) {
    std::stringstream log;
    log << std::ifstream(dir.path() / "township.log").rdbuf();
    if (log.str().find("received ") != std::string::npos) break;
    usleep(100'000);
  }
  std::string id = json::parse(ok(village, {"--as", "villager", "hazard", "report", "--grid", "150430100201-03",
                                            "--category", "fire", "--severity", "general", "--text", "村里发现",
                                            "--json"})
                                   .out)["id"];
  CHECK(json::parse(ok(village, {"sync", township_daemon.address(), "--json"}).out)["ops_sent"].get<int>() >= 1);
  // The township passes it on now, not in an hour.
  auto start = std::chrono::steady_clock::now();
  while (!county_holds(id) && std::chrono::steady_clock::now() - start < std::chrono::seconds(20)) usleep(100'000);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  INFO("the county held the hazard " << seconds << " s after the village's session ended");
  CHECK(county_holds(id));
  CHECK(seconds < 10);
}

TEST_CASE("a township killed mid-transfer resumes without re-receiving what it committed", "[cli][sync]") {
  const char* env = std::getenv("ANWANG_RESUME_N");
  std::size_t n = env != nullptr ? std::strtoull(env, nullptr, 10) : 20'000;
  TempDir dir;
  auto county = dir.path() / "county";
  auto township = dir.path() / "township";
  PublicKey county_key = *Hash32::from_hex(json::parse(ok(county, {"init", "--json"}).out)["node_key"].get<std::string>());
  PublicKey township_key =
      *Hash32::from_hex(json::parse(ok(township, {"init", "--json"}).out)["node_key"].get<std::string>());
  test::OpFactory factory;
  KeyPair root = test::test_key(0);
  std::vector<Op> authority{factory.genesis()};
  authority.push_back(factory.make(root, "150430", node_object_id(county_key), EnrolmentPayload{county_key}, {authority.back().id}));
  authority.push_back(
      factory.make(root, "150430100", node_object_id(township_key), EnrolmentPayload{township_key}, {authority.back().id}));
  std::vector<Bytes> all = test::bytes_of(authority);
  for (std::size_t i = 0; i < n; ++i) {
    HazardPayload h;
    h.action = "report";
    h.category = "fire";
    h.severity = i % 50 == 0 ? "major" : "general";
    h.text = "巡查发现隐患 " + std::to_string(i);
    std::uint64_t seq = factory.next_seq(root);
    all.push_back(factory.make(root, "150430100201", authored_object_id(root.public_key(), seq), h, {authority.back().id}).bytes);
  }
  REQUIRE(node::write_op_file(dir.path() / "all.ops", all).is_ok());
  REQUIRE(node::write_op_file(dir.path() / "authority.ops", test::bytes_of(authority)).is_ok());
  ok(county, {"op", "import", (dir.path() / "all.ops").string()});
  ok(township, {"op", "import", (dir.path() / "authority.ops").string()});
  Daemon county_daemon(county, dir.path() / "county.log");
  std::ofstream(township / "anwang.toml", std::ios::app) << "[[neighbour]]\naddress = \"" << county_daemon.address() << "\"\n";
  auto township_ops = [&] { return json::parse(ok(township, {"status", "--json"}).out)["ops"].get<std::size_t>(); };

  std::size_t at_kill = 0;
  {
    Daemon township_daemon(township, dir.path() / "township.log", /*listen=*/false);
    for (int wait = 0; wait < 2000 && at_kill < 3 + n / 10; ++wait) {
      at_kill = township_ops();
      usleep(10'000);
    }
    township_daemon.stop(SIGKILL);  // a power cut in the middle of the transfer
  }
  at_kill = township_ops();
  INFO("ops when killed: " << at_kill);
  CHECK(at_kill > 3);
  CHECK(at_kill < n + 3);
  ok(township, {"verify"});  // what was committed is intact
  Daemon restarted(township, dir.path() / "township2.log", /*listen=*/false);
  for (int wait = 0; wait < 3000 && township_ops() < n + 3; ++wait) usleep(20'000);
  CHECK(township_ops() == n + 3);
  // The resumed session received only what was still missing. It logs that when it ends, a moment
  // after its last commit: wait for the line (reading the log at once made this test flaky).
  std::string log;
  for (int wait = 0; wait < 1000 && log.find("received ") == std::string::npos; ++wait) {
    if (wait > 0) usleep(20'000);
    std::stringstream read;
    read << std::ifstream(dir.path() / "township2.log").rdbuf();
    log = read.str();
  }
  INFO("the restarted township's log:\n" << log);
  auto at = log.find("received ");
  REQUIRE(at != std::string::npos);
  std::size_t received = std::stoull(log.substr(at + 9));
  CHECK(received == n + 3 - at_kill);
  // Memory of the node now holding n ops: right after the transfer, and a fresh process idle.
  auto memory = [n](int pid, const char* when) {
    std::ifstream proc("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(proc, line))
      if (line.rfind("VmHWM", 0) == 0 || line.rfind("VmRSS", 0) == 0 || line.rfind("RssAnon", 0) == 0)
        WARN("anwangd holding " << n << " ops, " << when << ": " << line);
  };
  memory(restarted.pid(), "after receiving them");
  restarted.stop(SIGTERM);
  std::filesystem::remove(township / "anwang.toml");  // no neighbours: an idle node
  Daemon idle(township, dir.path() / "township3.log", /*listen=*/false);
  sleep(2);
  memory(idle.pid(), "idle after a restart");
}

// Person keys protected by the holder's passphrase (issue 21, node/KEYRING.md version 3).
namespace {

std::string write_passphrase(const std::filesystem::path& file, const std::string& line) {
  std::ofstream(file) << line << "\n";
  return file.string();
}

std::string read_text(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

bool keyring_empty(const std::filesystem::path& home) {
  return std::filesystem::directory_iterator(home / "keys") == std::filesystem::directory_iterator();
}

}  // namespace

TEST_CASE("key new without a terminal and without a passphrase option fails with exit 2 and writes nothing",
          "[cli][passphrase]") {
  TempDir dir;
  auto home = dir.path() / "n";
  ok(home, {"init"});
  Run refused = anwang_cli(home, {"key", "new", "li"});
  CHECK(refused.exit_code == 2);
  CHECK_THAT(refused.err, Catch::Contains("--passphrase-file FILE") && Catch::Contains("--no-passphrase"));
  CHECK(std::count(refused.err.begin(), refused.err.end(), '\n') == 1);
  CHECK(keyring_empty(home));
  CHECK(json::parse(ok(home, {"key", "list", "--json"}).out) == json::array());
  std::string pass = write_passphrase(dir.path() / "pass.txt", "correct horse battery staple");
  CHECK(anwang_cli(home, {"key", "new", "li", "--no-passphrase", "--passphrase-file", pass}).exit_code == 2);
  Run short_one = anwang_cli(home, {"key", "new", "li", "--passphrase-file",
                                    write_passphrase(dir.path() / "short.txt", "7 bytes")});
  CHECK(short_one.exit_code == 3);
  CHECK_THAT(short_one.err, Catch::Contains("8 to 1024 bytes"));
  CHECK(anwang_cli(home, {"key", "new", "li", "--passphrase-file", (dir.path() / "missing.txt").string()})
            .exit_code == 4);
  CHECK(keyring_empty(home));
  // key protect and key import need a passphrase source too.
  ok(home, {"key", "new", "li", "--no-passphrase"});
  std::string plain = read_text(home / "keys" / "li.key");
  Run protect = anwang_cli(home, {"key", "protect", "li"});
  CHECK(protect.exit_code == 2);
  CHECK_THAT(protect.err, Catch::Contains("--passphrase-file FILE"));
  CHECK(read_text(home / "keys" / "li.key") == plain);
  auto other = dir.path() / "other";
  ok(other, {"init"});
  std::string move = (dir.path() / "li.move").string();
  ok(home, {"key", "export", "li", move});
  CHECK(anwang_cli(other, {"key", "import", move}).exit_code == 2);
  CHECK(keyring_empty(other));
  json imported = json::parse(ok(other, {"key", "import", move, "--passphrase-file", pass, "--json"}).out);
  CHECK(imported["protected"] == true);
  CHECK(json::parse(ok(other, {"key", "list", "--json"}).out)[0]["protected"] == true);
}

TEST_CASE("a passphrase file protects keys for key new and key protect, and unlocks them to sign with --as",
          "[cli][passphrase]") {
  TempDir dir;
  auto home = dir.path() / "county";
  ok(home, {"init"});
  std::string pass = write_passphrase(dir.path() / "pass.txt", "correct horse battery staple");
  std::string wrong = write_passphrase(dir.path() / "wrong.txt", "correct horse battery");
  json li = json::parse(ok(home, {"key", "new", "li", "--passphrase-file", pass, "--json"}).out);
  CHECK(li["protected"] == true);
  CHECK(read_text(home / "keys" / "li.key").rfind("anwang-ed25519-v3\n", 0) == 0);
  for (const char* name : {"root", "town", "head", "member"}) ok(home, {"key", "new", name, "--no-passphrase"});
  json keys = json::parse(ok(home, {"key", "list", "--json"}).out);
  REQUIRE(keys.size() == 5);
  for (const json& key : keys) CHECK(key["protected"] == (key["name"] == "li"));
  CHECK_THAT(ok(home, {"key", "list"}).out, Catch::Contains("protected by a passphrase"));

  ok(home, {"--as", "root", "genesis", "--county", "150430", "--name", "敖汉旗", "--root", "root"});
  ok(home, {"--as", "root", "region", "add", "150430100", "--name", "新惠镇"});
  ok(home, {"--as", "root", "delegate", "--to", "town", "--role", "township_station", "--scope", "150430100"});
  ok(home, {"--as", "town", "delegate", "--to", "head", "--role", "village_head", "--scope", "150430100201"});
  ok(home, {"--as", "head", "delegate", "--to", "member", "--role", "grid_member", "--scope", "150430100201-03"});
  const std::vector<std::string> report = {"hazard", "report", "--grid", "150430100201-03", "--category", "fire",
                                           "--severity", "general", "--text", "仓库灭火器过期", "--as", "member"};
  auto with = [&report](std::vector<std::string> more) {
    std::vector<std::string> args = report;
    args.insert(args.end(), more.begin(), more.end());
    return args;
  };
  std::string first = json::parse(ok(home, with({"--json"})).out)["op"];
  std::uint64_t first_seq = json::parse(ok(home, {"show", first, "--json"}).out)["author_seq"];

  // The member protects the key: the same public key, its numbers continue.
  std::string member_public;
  for (const json& key : json::parse(ok(home, {"key", "list", "--json"}).out))
    if (key["name"] == "member") member_public = key["public_key"];
  ok(home, {"key", "protect", "member", "--passphrase-file", pass});
  CHECK(anwang_cli(home, {"key", "protect", "member", "--passphrase-file", pass}).exit_code == 3);  // already
  std::uint64_t ops_before = op_count(home);
  Run locked = anwang_cli(home, report);
  CHECK(locked.exit_code == 1);
  CHECK_THAT(locked.err, Catch::StartsWith("anwang: key member is protected by a passphrase: give it with "
                                           "--passphrase-file FILE"));
  Run mistyped = anwang_cli(home, with({"--passphrase-file", wrong}));
  CHECK(mistyped.exit_code == 1);
  CHECK(mistyped.err == "anwang: wrong passphrase for key member\n");
  CHECK(op_count(home) == ops_before);

  std::string second = json::parse(ok(home, with({"--passphrase-file", pass, "--json"})).out)["op"];
  json signed_op = json::parse(ok(home, {"show", second, "--json"}).out);
  CHECK(signed_op["author"] == member_public);
  CHECK(signed_op["author_seq"] == first_seq + 1);
  CHECK(signed_op["author_prev"] == first);
  // Or the file named by ANWANG_PASSPHRASE_FILE.
  setenv("ANWANG_PASSPHRASE_FILE", pass.c_str(), 1);
  Run from_environment = anwang_cli(home, with({"--json"}));
  unsetenv("ANWANG_PASSPHRASE_FILE");
  REQUIRE(from_environment.exit_code == 0);
  CHECK(json::parse(ok(home, {"show", json::parse(from_environment.out)["op"], "--json"}).out)["author_seq"] ==
        first_seq + 2);
  ok(home, {"verify"});

  // Moving a protected key out needs its passphrase; the move file is written only then.
  std::string move = (dir.path() / "li.move").string();
  CHECK(anwang_cli(home, {"key", "export", "li", move}).exit_code == 1);
  CHECK_FALSE(std::filesystem::exists(move));
  ok(home, {"key", "export", "li", move, "--passphrase-file", pass});
  CHECK(std::filesystem::exists(move));
}

TEST_CASE("hazard list cuts a long Chinese description at whole characters", "[cli][hazard]") {
  TempDir dir;
  auto home = loop_county(dir);
  const std::string text = "砖厂取土边坡出现裂缝雨后有滑坡迹象下方有民房三户需要尽快撤离并设置警示标志";
  ok(home, {"--as", "member", "hazard", "report", "--grid", "150430100201-03", "--category", "geological",
            "--severity", "general", "--text", text});
  std::string out = ok(home, {"hazard", "list"}).out;
  // Valid UTF-8 throughout: every lead byte followed by exactly its continuation bytes.
  for (std::size_t i = 0; i < out.size();) {
    auto lead = static_cast<unsigned char>(out[i]);
    std::size_t length = lead < 0x80 ? 1 : (lead >> 5) == 0x6 ? 2 : (lead >> 4) == 0xE ? 3 : (lead >> 3) == 0x1E ? 4 : 0;
    INFO("byte " << i << " of: " << out);
    REQUIRE(length != 0);
    REQUIRE(i + length <= out.size());
    for (std::size_t k = 1; k < length; ++k) REQUIRE((static_cast<unsigned char>(out[i + k]) & 0xC0) == 0x80);
    i += length;
  }
  // 40 columns: 19 Chinese characters (two columns each) and the ellipsis.
  CHECK(out.find(text.substr(0, 19 * 3) + "…") != std::string::npos);
  CHECK(out.find(text.substr(0, 20 * 3)) == std::string::npos);
}

TEST_CASE("the ledger, a patrol, a tip, an incident and a notice through the command line", "[cli][records]") {
  TempDir dir;
  auto home = loop_county(dir);
  auto as = [&](const char* who, std::vector<std::string> args) {
    args.insert(args.begin(), {"--as", who});
    return ok(home, args);
  };
  auto id_of = [](const Run& run) { return json::parse(run.out)["id"].get<std::string>(); };
  std::string unit = id_of(as("head", {"unit", "add", "--grid", "150430100201-03", "--name", "红砖厂", "--key", "true", "--json"}));
  as("head", {"unit", "edit", unit, "--address", "东井村北沟"});
  json shown = json::parse(ok(home, {"unit", "show", unit, "--json"}).out);
  CHECK(shown["fields"]["address"]["value"] == "东井村北沟");
  CHECK(shown["scope"] == "150430100201-03");

  // A patrol takes its unit's place; a malformed checklist line is refused with nothing written.
  std::uint64_t before = op_count(home);
  Run bad = anwang_cli(home, {"--as", "member", "inspect", unit, "--item", "灭火器:maybe"});
  CHECK(bad.exit_code != 0);
  CHECK(bad.err.find("--item") != std::string::npos);
  CHECK(op_count(home) == before);
  std::string patrol = id_of(as("member", {"inspect", unit, "--item", "灭火器:pass", "--item", "疏散通道:fail:堆放杂物", "--json"}));
  json patrolled = json::parse(ok(home, {"patrol", "due", "--json"}).out);
  CHECK(std::none_of(patrolled.begin(), patrolled.end(), [&](const json& d) { return d["unit"] == unit && d["overdue"].get<bool>(); }));

  std::string tip = id_of(as("head", {"tip", "enter", "--grid", "150430100201", "--text", "有人反映砖厂夜间生产", "--json"}));
  CHECK(anwang_cli(home, {"--as", "head", "tip", "verify", tip}).exit_code != 0);  // neither --hazard nor --dismiss
  as("head", {"tip", "verify", tip, "--dismiss", "现场核实：夜间未生产"});
  CHECK(json::parse(ok(home, {"tip", "show", tip, "--json"}).out)["fields"]["outcome"]["value"] == "dismissed");

  std::string incident = id_of(as("head", {"incident", "report", "--grid", "150430100201", "--text", "砖厂一名工人摔伤", "--injuries", "1", "--json"}));
  as("head", {"incident", "update", incident, "--status", "controlled"});
  CHECK(json::parse(ok(home, {"incident", "show", incident, "--json"}).out)["fields"]["status"]["value"] == "controlled");

  std::string notice = id_of(as("town", {"notice", "send", "--scope", "150430100", "--title", "关于开展汛前检查的通知", "--to",
                                         "150430100201", "--json"}));
  as("head", {"notice", "ack", notice, "--as-recipient", "150430100201"});
  json received = json::parse(ok(home, {"notice", "show", notice, "--json"}).out);
  CHECK(received["acknowledged"] == json::array({"150430100201"}));
  (void)patrol;
}

namespace {

// A GeoJSON Feature: code and name under the given keys, a square ring around (lng, lat).
json square_feature(const json& properties, double lng, double lat, double side = 0.01) {
  json ring = json::array({{lng, lat}, {lng + side, lat}, {lng + side, lat + side}, {lng, lat + side}, {lng, lat}});
  return {{"type", "Feature"}, {"properties", properties}, {"geometry", {{"type", "Polygon"}, {"coordinates", {ring}}}}};
}

void write_json(const std::filesystem::path& file, const json& value) { std::ofstream(file) << value.dump(1); }

}  // namespace

TEST_CASE("region import writes every feature's boundary in one batch, and again writes nothing", "[cli][map]") {
  TempDir dir;
  auto home = loop_county(dir);
  const std::string sample = std::string(ANWANG_SOURCE_DIR) + "/docs/map/sample-regions.geojson";
  std::uint64_t before = op_count(home);
  Run dry = ok(home, {"--as", "root", "region", "import", sample, "--dry-run", "--json"});
  CHECK(json::parse(dry.out)["to_write"].size() == 6);
  CHECK(op_count(home) == before);
  json imported = json::parse(ok(home, {"--as", "root", "region", "import", sample, "--json"}).out);
  REQUIRE(imported["written"].size() == 6);
  CHECK(imported["refused"].empty());
  CHECK(op_count(home) == before + 6);
  json regions = json::parse(ok(home, {"region", "list", "--json"}).out);
  CHECK(std::any_of(regions.begin(), regions.end(), [](const json& r) { return r["code"] == "150430100201-03" && r["name"] == "东井村三组"; }));
  json log = json::parse(ok(home, {"log", "--json"}).out);
  std::size_t with_boundary = 0;
  for (const json& op : log)
    if (op["kind"] == "region" && !op["payload"]["boundary"].get<std::string>().empty()) {
      json boundary = json::parse(op["payload"]["boundary"].get<std::string>());
      CHECK(boundary["type"] == "Polygon");
      ++with_boundary;
    }
  CHECK(with_boundary == 6);
  // The six ops are one author's consecutive ops, each after the one before it.
  for (std::size_t i = log.size() - 5; i < log.size(); ++i) CHECK(log[i]["author_seq"] == log[i - 1]["author_seq"].get<int>() + 1);

  // Again: nothing to write. A rename without a boundary keeps the boundary.
  Run again = ok(home, {"--as", "root", "region", "import", sample});
  CHECK_THAT(again.out, Catch::Contains("Nothing to write"));
  CHECK(op_count(home) == before + 6);
  ok(home, {"--as", "root", "region", "add", "150430100202", "--name", "西井新村"});
  json renamed = json::parse(ok(home, {"--as", "root", "region", "import", sample, "--json"}).out);
  CHECK(renamed["written"].size() == 1);
  CHECK(renamed["written"][0]["code"] == "150430100202");
  CHECK(renamed["unchanged"].size() == 5);
  ok(home, {"verify"});
}

TEST_CASE("region import refuses a file with a bad feature, naming each, and writes nothing", "[cli][map]") {
  TempDir dir;
  auto home = loop_county(dir);
  json big_ring = json::array();
  for (int i = 0; i < 2000; ++i) big_ring.push_back({119.9 + i * 1e-6, 42.2 + (i % 7) * 1e-5});
  big_ring.push_back(big_ring[0]);
  json point = square_feature({{"code", "150430100203"}, {"name", "点"}}, 119.9, 42.2);
  point["geometry"] = {{"type", "Point"}, {"coordinates", {119.9, 42.2}}};
  json huge = square_feature({{"code", "150430100204"}, {"name", "太大的村"}}, 119.9, 42.2);
  huge["geometry"]["coordinates"] = json::array({big_ring});
  json features = json::array({
      square_feature({{"adcode", 150430100}, {"名称", "新惠镇"}}, 119.9, 42.2),        // 1: good (a number, 名称)
      square_feature({{"code", "15043010"}, {"name", "八位"}}, 119.9, 42.2),           // 2: not a code
      square_feature({{"code", "150430"}, {"name", "敖汉旗"}}, 119.9, 42.2),           // 3: the county
      point,                                                                          // 4: a Point
      square_feature({{"CODE", "150430100205"}, {"NAME", "经纬颠倒"}}, 42.2, 119.9),   // 5: latitude 119.9
      huge,                                                                           // 6: over 32 KiB
      square_feature({{"code", "150430100206"}}, 119.9, 42.2),                         // 7: no name
      square_feature({{"区划代码", "150430100"}, {"name", "又一个"}}, 119.9, 42.2),     // 8: code given twice
  });
  write_json(dir.path() / "bad.geojson", {{"type", "FeatureCollection"}, {"features", features}});
  std::uint64_t before = op_count(home);
  Run bad = anwang_cli(home, {"--as", "root", "region", "import", (dir.path() / "bad.geojson").string()});
  CHECK(bad.exit_code == 3);
  CHECK(op_count(home) == before);
  CHECK_THAT(bad.out, Catch::Contains("nothing written"));
  for (const char* words : {"feature 2 (15043010)", "feature 3 (150430): code 150430 is a county", "feature 4 (150430100203): its geometry is a Point",
                            "feature 5 (150430100205): position", "out of range", "feature 6 (150430100204): its boundary is",
                            "simplify it with a GIS tool", "feature 7 (150430100206): its properties give no name",
                            "feature 8 (150430100): code 150430100 was given already by feature 1"}) {
    CAPTURE(words);
    CHECK_THAT(bad.out, Catch::Contains(words));
  }
  CHECK(bad.out.find("feature 1 ") == std::string::npos);
  // The one good feature alone goes in.
  write_json(dir.path() / "good.geojson", {{"type", "FeatureCollection"}, {"features", json::array({features[0]})}});
  ok(home, {"--as", "root", "region", "import", (dir.path() / "good.geojson").string()});
  CHECK(op_count(home) == before + 1);
  // Not GeoJSON at all.
  std::ofstream(dir.path() / "not.geojson") << "{\"type\": \"Topology\"}";
  Run topology = anwang_cli(home, {"--as", "root", "region", "import", (dir.path() / "not.geojson").string()});
  CHECK(topology.exit_code == 3);
  CHECK_THAT(topology.err, Catch::Contains("FeatureCollection"));
}

TEST_CASE("region import refuses regions outside the signer's authority, and writes none of the file", "[cli][map]") {
  TempDir dir;
  auto home = loop_county(dir);
  const std::string sample = std::string(ANWANG_SOURCE_DIR) + "/docs/map/sample-regions.geojson";
  std::uint64_t before = op_count(home);
  // The village head may define the village and its grids, not the township or the other village.
  Run head = anwang_cli(home, {"--as", "head", "region", "import", sample, "--json"});
  CHECK(head.exit_code == 3);
  json out = json::parse(head.out);
  std::set<std::string> refused;
  for (const json& f : out["refused"]) refused.insert(f["code"].get<std::string>());
  CHECK(refused == std::set<std::string>{"150430100", "150430100202"});
  CHECK_THAT(out["refused"][0]["error"].get<std::string>(), Catch::Contains("may not define region"));
  CHECK(op_count(home) == before);
}

TEST_CASE("a hazard and a unit carry a location from the command line, and a malformed one writes nothing", "[cli][map]") {
  TempDir dir;
  auto home = loop_county(dir);
  std::uint64_t before = op_count(home);
  for (const char* bad : {"119.9", "42.2779,119.9236", "119.9236, 42.2779", "abc,def"}) {
    CAPTURE(bad);
    Run refused = anwang_cli(home, {"--as", "member", "hazard", "report", "--grid", "150430100201-03", "--category", "fire",
                                    "--severity", "general", "--text", "x", "--location", bad});
    CHECK(refused.exit_code == 3);
    CHECK_THAT(refused.err, Catch::Contains("--location"));
  }
  CHECK(op_count(home) == before);
  std::string id = json::parse(ok(home, {"--as", "member", "hazard", "report", "--grid", "150430100201-03", "--category", "fire",
                                         "--severity", "general", "--text", "加油站消防通道堵塞", "--location", "119.9665,42.2441", "--json"})
                                   .out)["id"];
  CHECK(json::parse(ok(home, {"hazard", "show", id, "--json"}).out)["location"] == "119.9665,42.2441");
  // A comment corrects it; another step may not carry one.
  CHECK(anwang_cli(home, {"--as", "head", "hazard", "escalate", id}).exit_code == 0);
  ok(home, {"--as", "member", "hazard", "comment", id, "--location", "119.9670,42.2445", "--text", "位置更正"});
  CHECK(json::parse(ok(home, {"hazard", "show", id, "--json"}).out)["location"] == "119.9670,42.2445");
  std::string unit = json::parse(ok(home, {"--as", "head", "unit", "add", "--grid", "150430100201-03", "--name", "加油站",
                                           "--location", "119.9668,42.2443", "--json"})
                                     .out)["id"];
  CHECK(json::parse(ok(home, {"unit", "show", unit, "--json"}).out)["fields"]["location"]["value"] == "119.9668,42.2443");
  before = op_count(home);
  Run bad_unit = anwang_cli(home, {"--as", "head", "unit", "edit", unit, "--location", "119.9668,91"});
  CHECK(bad_unit.exit_code == 3);
  CHECK_THAT(bad_unit.err, Catch::Contains("--location"));
  CHECK(op_count(home) == before);
}

TEST_CASE("profiles name people in the history and the inbox; phones by scope; trainings and the notebook", "[cli][people]") {
  TempDir dir;
  auto home = loop_county(dir);
  auto as = [&](const char* who, std::vector<std::string> args) {
    args.insert(args.begin(), {"--as", who});
    return ok(home, args);
  };
  auto key_of = [&](const char* name) {
    for (const json& k : json::parse(ok(home, {"key", "list", "--json"}).out))
      if (k["name"] == name) return k["public_key"].get<std::string>();
    FAIL("no key " << name);
    return std::string();
  };
  ok(home, {"key", "new", "sib", "--no-passphrase"});
  as("head", {"delegate", "--to", "sib", "--role", "grid_member", "--scope", "150430100201-04"});
  std::string profile = json::parse(as("head", {"person", "add", "--scope", "150430100201-03", "--name", "张晓梅", "--phone",
                                                "13947100301", "--office", "网格员", "--key", key_of("member"), "--json"})
                                        .out)["id"];
  // The history and the inbox name the reporter; the key's fingerprint is gone.
  std::string hazard = json::parse(as("member", {"hazard", "report", "--grid", "150430100201-03", "--category", "fire",
                                                 "--severity", "general", "--text", "灭火器过期", "--json"})
                                       .out)["id"];
  std::string shown = as("head", {"hazard", "show", hazard}).out;
  CHECK(shown.find("report  by 张晓梅") != std::string::npos);
  CHECK(json::parse(as("head", {"hazard", "show", hazard, "--json"}).out)["history"][0]["author_name"] == "张晓梅");
  CHECK(as("head", {"inbox"}).out.find("张晓梅") != std::string::npos);
  CHECK(as("head", {"who"}).out.find("张晓梅") != std::string::npos);
  // The village head sees the phone; a member of the sibling grid does not.
  json head_view = json::parse(as("head", {"person", "list", "--json"}).out);
  json sib_view = json::parse(as("sib", {"person", "list", "--json"}).out);
  REQUIRE(head_view.size() == 1);
  CHECK(head_view[0]["phone"] == "13947100301");
  REQUIRE(sib_view.size() == 1);
  CHECK(sib_view[0]["phone"].is_null());
  CHECK(sib_view[0]["phone_hidden"] == true);
  CHECK(as("sib", {"person", "show", profile}).out.find("13947100301") == std::string::npos);
  // The person changes their own phone, not their office; nothing is written for the refusal.
  as("member", {"person", "edit", profile, "--phone", "13900000000"});
  std::uint64_t before = op_count(home);
  CHECK(anwang_cli(home, {"--as", "member", "person", "edit", profile, "--office", "村长"}).exit_code == 3);
  CHECK(op_count(home) == before);
  CHECK(json::parse(as("head", {"person", "show", key_of("member"), "--json"}).out)["phone"] == "13900000000");
  // A training names its attendees by profile where one matches, and keeps other names as written.
  std::string training = json::parse(as("head", {"training", "record", "--scope", "150430100201", "--date", "2026-12-01",
                                                 "--topic", "冬季防火", "--hours", "1.5", "--attendees", "张晓梅, 周某",
                                                 "--json"})
                                         .out)["id"];
  json trained = json::parse(ok(home, {"training", "show", training, "--json"}).out);
  CHECK(trained["fields"]["attendees"]["value"] == profile + ",周某");
  CHECK(anwang_cli(home, {"--as", "head", "training", "record", "--scope", "150430100201", "--date", "2026-13-01",
                          "--topic", "t", "--hours", "1", "--attendees", "张晓梅"})
            .exit_code == 3);
  CHECK(anwang_cli(home, {"--as", "member", "training", "record", "--scope", "150430100201-03", "--date", "2026-12-01",
                          "--topic", "t", "--hours", "1", "--attendees", "张晓梅"})
            .exit_code == 3);
  as("member", {"notebook", "record", "--scope", "150430100201-03", "--date", "2026-12-02", "--text", "巡查三组"});
  as("officer", {"meeting", "record", "--scope", "150430100201", "--date", "2026-12-03", "--minutes", "布置冬防",
                 "--attendees", "张晓梅"});
  CHECK(json::parse(ok(home, {"notebook", "list", "--json"}).out).size() == 1);
  CHECK(json::parse(ok(home, {"meeting", "list", "--json"}).out).size() == 1);
  // The patrol quota names the person.
  CHECK(as("head", {"patrol", "quota"}).out.find("张晓梅") != std::string::npos);
}

// Issue 23: a node upgraded from the previous release (store schema 4) opens its store, copies it
// to HOME/store.schema4 before migrating it, and reads everything as that release did: the same
// hazards, units, trainings and digests (tests/node/fixtures/make-schema4-county.sh made the
// store and recorded what the previous release read from it).
TEST_CASE("a store written by the previous release opens, is copied, migrated and reads as before", "[cli][upgrade]") {
  TempDir dir;
  std::filesystem::path fixtures = std::filesystem::path(ANWANG_SOURCE_DIR) / "tests/node/fixtures";
  // The node home as the previous release left it (git keeps no file modes: a home's are 0600).
  auto place = [&](const std::filesystem::path& to) {
    std::filesystem::copy(fixtures / "schema4-county", to, std::filesystem::copy_options::recursive);
    for (const auto& entry : std::filesystem::recursive_directory_iterator(to))
      std::filesystem::permissions(entry.path(), entry.is_directory() ? std::filesystem::perms::owner_all
                                                                      : std::filesystem::perms::owner_read |
                                                                            std::filesystem::perms::owner_write);
  };
  std::filesystem::path home = dir.path() / "home";
  place(home);
  json expected = json::parse(std::ifstream(fixtures / "schema4-county.json"));
  setenv("ANWANG_FAKE_NOW_MS", "1790000000000", 1);  // the time the previous release read it at
  CHECK(json::parse(ok(home, {"verify", "--json"}).out)["ok"] == true);
  CHECK(std::filesystem::exists(home / "store.schema4/data.mdb"));
  CHECK(json::parse(ok(home, {"digest", "--json"}).out) == expected["digest"]);
  CHECK(json::parse(ok(home, {"hazard", "list", "--json"}).out) == expected["hazards"]);
  CHECK(json::parse(ok(home, {"unit", "list", "--json"}).out) == expected["units"]);
  CHECK(json::parse(ok(home, {"training", "list", "--json"}).out) == expected["trainings"]);
  // The copy holds the store as the previous release left it: schema 4 still (opening it copies it
  // once more), and it reads the same.
  std::filesystem::path copy = dir.path() / "copy";
  place(copy);
  std::filesystem::copy_file(home / "store.schema4/data.mdb", copy / "store/data.mdb",
                             std::filesystem::copy_options::overwrite_existing);
  CHECK(json::parse(ok(copy, {"digest", "--json"}).out) == expected["digest"]);
  CHECK(std::filesystem::exists(copy / "store.schema4/data.mdb"));
  unsetenv("ANWANG_FAKE_NOW_MS");
}
