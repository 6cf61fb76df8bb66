// Node home: keys on disk are private, the keyring resolves names and hex, config is checked.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <fstream>

#include "node/home.h"
#include "support/fixtures.h"

using namespace anwang;
using anwang::test::TempDir;

namespace {

// Deterministic randomness: a counter run through BLAKE2b.
class CountingRandom final : public node::RandomSource {
 public:
  void fill(std::uint8_t* out, std::size_t size) override {
    Hash32 block = blake2b_256(as_bytes("random " + std::to_string(counter_++)));
    for (std::size_t i = 0; i < size; ++i) out[i] = block.bytes[i % 32];
  }

 private:
  int counter_ = 0;
};

unsigned mode_of(const std::filesystem::path& path) {
  struct stat st {};
  REQUIRE(stat(path.c_str(), &st) == 0);
  return st.st_mode & 0777;
}

}  // namespace

TEST_CASE("init creates a node key readable only by its owner, and is idempotent", "[home]") {
  TempDir dir;
  CountingRandom random;
  auto home = node::NodeHome::init(dir.path() / "n", random);
  REQUIRE(home.is_ok());
  CHECK(mode_of(dir.path() / "n" / "node.key") == 0600);
  auto again = node::NodeHome::init(dir.path() / "n", random);
  REQUIRE(again.is_ok());
  CHECK(again->node_key() == home->node_key());
}

TEST_CASE("the keyring creates, lists, loads and resolves keys", "[home]") {
  TempDir dir;
  CountingRandom random;
  auto home = node::NodeHome::init(dir.path(), random);
  REQUIRE(home.is_ok());
  auto alice = home->new_key("alice", random);
  auto bob = home->new_key("bob", random);
  REQUIRE(alice.is_ok());
  REQUIRE(bob.is_ok());
  CHECK(mode_of(dir.path() / "keys" / "alice.key") == 0600);
  auto keys = home->list_keys();
  REQUIRE(keys.is_ok());
  REQUIRE(keys->size() == 2);
  CHECK((*keys)[0].name == "alice");
  CHECK((*keys)[1].public_key == bob->public_key);
  auto loaded = home->load_key("alice");
  REQUIRE(loaded.is_ok());
  CHECK(loaded->public_key() == alice->public_key);
  CHECK(*home->resolve_public_key("bob") == bob->public_key);
  CHECK(*home->resolve_public_key(bob->public_key.hex()) == bob->public_key);
  CHECK_FALSE(home->resolve_public_key("carol").is_ok());
  CHECK(home->new_key("alice", random).status().code() == Status::Code::kAlreadyExists);
}

TEST_CASE("bad key names are refused before anything is written", "[home]") {
  TempDir dir;
  CountingRandom random;
  auto home = node::NodeHome::init(dir.path(), random);
  REQUIRE(home.is_ok());
  for (const char* bad : {"", "../escape", ".hidden", "-flag", "a/b", "with space"}) {
    CAPTURE(bad);
    CHECK(home->new_key(bad, random).status().code() == Status::Code::kInvalidArgument);
  }
  CHECK(std::distance(std::filesystem::directory_iterator(dir.path() / "keys"), {}) == 0);
}

TEST_CASE("opening a directory that is no node home says to run init", "[home]") {
  TempDir dir;
  auto home = node::NodeHome::open(dir.path());
  REQUIRE_FALSE(home.is_ok());
  CHECK_THAT(home.status().message(), Catch::Contains("anwang init"));
}

TEST_CASE("the config file is read and its mistakes are named", "[home]") {
  TempDir dir;
  auto write = [&](const std::string& text) { std::ofstream(dir.path() / "anwang.toml") << text; };
  write("[store]\nmap_size_mib = 64\n[node]\nlisten = \"127.0.0.1:7400\"\nlog_level = \"debug\"\n");
  auto config = node::load_config(dir.path());
  REQUIRE(config.is_ok());
  CHECK(config->map_bytes == 64ull << 20);
  CHECK(config->listen == "127.0.0.1:7400");
  CHECK(config->log_level == "debug");
  write("[store]\nmap_size_mib = 0\n");
  CHECK_THAT(node::load_config(dir.path()).status().message(), Catch::Contains("map_size_mib"));
  write("[node]\nlog_level = \"loud\"\n");
  CHECK_THAT(node::load_config(dir.path()).status().message(), Catch::Contains("log_level"));
  write("[store\n");
  CHECK_THAT(node::load_config(dir.path()).status().message(), Catch::Contains("not valid TOML"));
}
