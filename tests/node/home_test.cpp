// Node home: keys on disk are private, the keyring resolves names and hex, config is checked.
#include <sodium.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <chrono>
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

// Issue 20, item 6: a neighbour may be pinned to the node key expected at its address.
TEST_CASE("a neighbour may pin its node key; a malformed key is named", "[home][peers]") {
  TempDir dir;
  auto write = [&](const std::string& text) { std::ofstream(dir.path() / "anwang.toml") << text; };
  std::string key = test::test_key(7).public_key().hex();
  write("[[neighbour]]\naddress = \"192.0.2.10:7400\"\nkey = \"" + key +
        "\"\n[[neighbour]]\naddress = \"192.0.2.11:7400\"\n");
  auto config = node::load_config(dir.path());
  REQUIRE(config.is_ok());
  REQUIRE(config->neighbours.size() == 2);
  REQUIRE(config->neighbours[0].key);
  CHECK(config->neighbours[0].key->hex() == key);
  CHECK_FALSE(config->neighbours[1].key);
  write("[[neighbour]]\naddress = \"192.0.2.10:7400\"\nkey = \"" + key.substr(0, 12) + "\"\n");
  auto bad = node::load_config(dir.path());
  REQUIRE_FALSE(bad.is_ok());
  CHECK_THAT(bad.status().message(), Catch::Contains("192.0.2.10:7400") && Catch::Contains("64 hex digits"));
}

// Key files version 2 and move files (node/KEYRING.md).
namespace {

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_text(const std::filesystem::path& path, const std::string& text) {
  std::filesystem::remove(path);
  std::ofstream(path, std::ios::binary) << text;
  std::filesystem::permissions(path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
}

std::string seed_hex_of(const KeyPair& key) {
  auto seed = key.seed();
  return to_hex(ByteView(seed.data(), seed.size()));
}

// One sentence: one line, naming `file`.
void check_one_sentence(const Status& status, const std::filesystem::path& file) {
  CHECK_FALSE(status.is_ok());
  CHECK(status.message().find('\n') == std::string::npos);
  CHECK_THAT(status.message(), Catch::Contains(file.string()));
}

}  // namespace

TEST_CASE("a new key file is version 2, bound to its node's key", "[home][keys]") {
  TempDir dir;
  CountingRandom random;
  auto home = node::NodeHome::init(dir.path(), random);
  REQUIRE(home.is_ok());
  auto alice = home->new_key("alice", random);
  REQUIRE(alice.is_ok());
  auto loaded = home->load_key("alice");
  REQUIRE(loaded.is_ok());
  CHECK(read_text(dir.path() / "keys" / "alice.key") ==
        "anwang-ed25519-v2\nseed " + seed_hex_of(*loaded) + "\nnode " + home->node_key().hex() + "\n");
  auto info = home->key_info("alice");
  REQUIRE(info.is_ok());
  CHECK(info->binding == node::KeyBinding::kThisNode);
  CHECK(*info->node == home->node_key());
  // The node key itself stays a v1 file: it is bound to its home, not to a node.
  CHECK(read_text(dir.path() / "node.key").rfind("anwang-ed25519-v1\n", 0) == 0);
}

TEST_CASE("a v1 key file is listed as unbound and bound to this node when it first signs here",
          "[home][keys]") {
  TempDir dir;
  CountingRandom random;
  auto home = node::NodeHome::init(dir.path(), random);
  REQUIRE(home.is_ok());
  KeyPair old = KeyPair::from_seed(blake2b_256(as_bytes("an old key")).view());
  std::filesystem::path file = dir.path() / "keys" / "old.key";
  write_text(file, "anwang-ed25519-v1\n" + seed_hex_of(old) + "\n");
  auto listed = home->list_keys();
  REQUIRE(listed.is_ok());
  REQUIRE(listed->size() == 1);
  CHECK((*listed)[0].binding == node::KeyBinding::kUnbound);
  CHECK((*listed)[0].public_key == old.public_key());
  CHECK(read_text(file).rfind("anwang-ed25519-v1\n", 0) == 0);  // listing rewrites nothing
  CHECK(*home->resolve_public_key("old") == old.public_key());
  CHECK(read_text(file).rfind("anwang-ed25519-v1\n", 0) == 0);  // nor does resolving a name
  auto loaded = home->load_key("old");
  REQUIRE(loaded.is_ok());
  CHECK(loaded->public_key() == old.public_key());
  CHECK(read_text(file) ==
        "anwang-ed25519-v2\nseed " + seed_hex_of(old) + "\nnode " + home->node_key().hex() + "\n");
  CHECK(mode_of(file) == 0600);
  CHECK(home->key_info("old")->binding == node::KeyBinding::kThisNode);
  // No temporary file is left beside it.
  CHECK(std::distance(std::filesystem::directory_iterator(dir.path() / "keys"), {}) == 1);
}

TEST_CASE("a key file bound to another node is refused with one sentence naming both nodes and the move",
          "[home][keys]") {
  TempDir dir;
  CountingRandom random;
  auto here = node::NodeHome::init(dir.path() / "here", random);
  auto there = node::NodeHome::init(dir.path() / "there", random);
  REQUIRE(here.is_ok());
  REQUIRE(there.is_ok());
  REQUIRE(there->new_key("li", random).is_ok());
  std::filesystem::copy_file(dir.path() / "there" / "keys" / "li.key", dir.path() / "here" / "keys" / "li.key");
  std::string copied = read_text(dir.path() / "here" / "keys" / "li.key");
  auto loaded = here->load_key("li");
  REQUIRE_FALSE(loaded.is_ok());
  CHECK(loaded.status().code() == Status::Code::kInvalidArgument);
  CHECK(loaded.status().message() ==
        "key li belongs to node " + there->node_key().hex() + ", not this node " + here->node_key().hex() +
            ": a key signs on one node only; to move it here, run 'anwang key export li FILE' on node " +
            there->node_key().hex() + " and 'anwang key import FILE' here");
  CHECK(read_text(dir.path() / "here" / "keys" / "li.key") == copied);
  CHECK(here->key_info("li")->binding == node::KeyBinding::kOtherNode);
  // Its public key still names the person (for delegate --to and the like).
  CHECK(here->resolve_public_key("li").is_ok());
}

TEST_CASE("export writes a secret move file and leaves a marker without the seed; import binds the key to the new node",
          "[home][keys]") {
  TempDir dir;
  CountingRandom random;
  auto a = node::NodeHome::init(dir.path() / "a", random);
  auto b = node::NodeHome::init(dir.path() / "b", random);
  REQUIRE(a.is_ok());
  REQUIRE(b.is_ok());
  REQUIRE(a->new_key("li", random).is_ok());
  PublicKey li = a->load_key("li")->public_key();
  ManualClock clock(1'795'000'000'000);
  node::KeyChainHead head{7, blake2b_256(as_bytes("op 7")), hlc_from_ms(1'794'999'000'000)};
  std::filesystem::path move = dir.path() / "li.move";
  auto moved = a->export_key("li", move, head, clock);
  REQUIRE(moved.is_ok());
  CHECK(moved->binding == node::KeyBinding::kMovedAway);
  CHECK(mode_of(move) == 0600);
  CHECK(read_text(move).rfind("anwang-key-move-v1\nname li\npublic " + li.hex() + "\nseed ", 0) == 0);
  std::string marker = read_text(dir.path() / "a" / "keys" / "li.key");
  CHECK(marker == "anwang-ed25519-v2\npublic " + li.hex() + "\nnode " + a->node_key().hex() + "\nmoved-to " +
                      move.string() + "\nmoved-at " + moved->moved_at + "\n");
  auto refused = a->load_key("li");
  REQUIRE_FALSE(refused.is_ok());
  CHECK(refused.status().message() == "key li was moved to " + move.string() + " at " + moved->moved_at +
                                          " and no longer signs on this node; to bring it back, run 'anwang key "
                                          "import " + move.string() + "' here");
  CHECK(a->key_info("li")->binding == node::KeyBinding::kMovedAway);
  // A move file is written new, never over another file; a moved key is not exported twice.
  CHECK(a->export_key("li", dir.path() / "again.move", head, clock).status().code() ==
        Status::Code::kInvalidArgument);
  CHECK_FALSE(std::filesystem::exists(dir.path() / "again.move"));

  auto read = node::read_move_file(move);
  REQUIRE(read.is_ok());
  CHECK(read->name == "li");
  CHECK(read->key.public_key() == li);
  CHECK(read->from_node == a->node_key());
  REQUIRE(read->head);
  CHECK(read->head->seq == 7);
  CHECK(read->head->id == head.id);
  CHECK(read->head->hlc == head.hlc);
  // Another key named li on b: the name is refused, --name chooses another.
  REQUIRE(b->new_key("li", random).is_ok());
  CHECK(b->check_import(*read, "li").code() == Status::Code::kAlreadyExists);
  auto imported = b->import_key(*read, "li-a");
  REQUIRE(imported.is_ok());
  CHECK(b->load_key("li-a")->public_key() == li);
  CHECK(b->key_info("li-a")->binding == node::KeyBinding::kThisNode);
  CHECK(mode_of(dir.path() / "b" / "keys" / "li-a.key") == 0600);
  // Once it signs here, importing it again is refused under any name.
  CHECK(b->check_import(*read, "li-b").code() == Status::Code::kAlreadyExists);
  // Back on a, the same move file replaces the marker: the key comes home.
  REQUIRE(a->import_key(*read, "li").is_ok());
  CHECK(a->load_key("li").is_ok());
}

TEST_CASE("damaged or foreign key files are refused with one sentence naming the file", "[home][keys]") {
  TempDir dir;
  CountingRandom random;
  auto home = node::NodeHome::init(dir.path(), random);
  REQUIRE(home.is_ok());
  std::string seed(64, 'a');
  std::string node = home->node_key().hex();
  std::string binary("anwang-ed25519-v2\nseed \0\x01\xff", 27);
  const std::vector<std::string> bad = {
      "",
      "anwang-ed25519-v1\n",
      "anwang-ed25519-v1\n" + seed.substr(1) + "\n",
      "anwang-ed25519-v1\n" + std::string(64, 'z') + "\n",
      "anwang-ed25519-v1\n" + seed + "\n" + seed + "\n",
      "anwang-ed25519-v3\nseed " + seed + "\nnode " + node + "\n",
      "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI\n",
      "anwang-ed25519-v2\nseed " + seed + "\n",
      "anwang-ed25519-v2\nseed " + seed + "\nnode " + node.substr(2) + "\n",
      "anwang-ed25519-v2\nseed " + seed + "\nseed " + seed + "\nnode " + node + "\n",
      "anwang-ed25519-v2\nseed " + seed + "\nnode " + node + "\ncolour blue\n",
      "anwang-ed25519-v2\nseed " + seed + "\nnode " + node + "\npublic " + node + "\n",
      "anwang-ed25519-v2\n" + seed + "\nnode " + node + "\n",
      "anwang-ed25519-v2\npublic " + node + "\nnode " + node + "\nmoved-to /x\n",
      binary,
      "anwang-ed25519-v2\nseed " + seed + "\nnode " + node + "\n" + std::string(node::key_file_bytes_max, '#'),
  };
  std::filesystem::path file = dir.path() / "keys" / "bad.key";
  for (const std::string& text : bad) {
    CAPTURE(text.substr(0, 120));
    write_text(file, text);
    check_one_sentence(home->load_key("bad").status(), file);
    check_one_sentence(home->list_keys().status(), file);
    CHECK(read_text(file) == text);  // nothing rewritten
  }
  // A damaged node key: the home does not open, and says which file.
  write_text(dir.path() / "node.key", "anwang-ed25519-v2\nseed " + seed + "\nnode " + node + "\n");
  check_one_sentence(node::NodeHome::open(dir.path()).status(), dir.path() / "node.key");
}

TEST_CASE("damaged, cut or altered move files are refused with one sentence naming the file", "[home][keys]") {
  TempDir dir;
  CountingRandom random;
  auto home = node::NodeHome::init(dir.path() / "a", random);
  REQUIRE(home.is_ok());
  REQUIRE(home->new_key("li", random).is_ok());
  ManualClock clock(1'795'000'000'000);
  std::filesystem::path move = dir.path() / "li.move";
  REQUIRE(home->export_key("li", move, std::nullopt, clock).is_ok());
  std::string good = read_text(move);
  auto read = node::read_move_file(move);
  REQUIRE(read.is_ok());
  CHECK_FALSE(read->head);  // the key never signed
  auto line_of = [&good](const std::string& label) {
    std::size_t at = good.find("\n" + label + " ") + 1;
    return good.substr(at, good.find('\n', at) - at);
  };
  auto with = [&good, &line_of](const std::string& label, const std::string& line) {
    std::string text = good;
    std::string old = line_of(label);
    return text.replace(text.find(old), old.size(), line);
  };
  std::string other_public = blake2b_256(as_bytes("someone else")).hex();
  std::string id = blake2b_256(as_bytes("op")).hex();
  const std::vector<std::string> bad = {
      "",
      good.substr(0, good.size() - 1),   // cut in its last line
      good.substr(0, good.size() / 2),   // cut in the middle
      "anwang-key-move-v2" + good.substr(good.find('\n')),
      with("public", "public " + other_public),
      with("seed", "seed " + std::string(63, 'a')),
      with("name", "name ../escape"),
      with("from", "from nowhere"),
      with("head", "head 0 " + id + " 5"),
      with("head", "head 3 " + id),
      with("head", "head 3 " + id + " 5 6"),
      with("head", "head 99999999999999999999 " + id + " 5"),
      with("head", "head -1 " + id + " 5"),
      with("head", "head 3 " + id.substr(1) + " 5"),
      with("moved-at", "colour blue"),
      good + "name li\n",
      good + std::string("\0\0\0\n", 4),
      good + std::string(node::key_file_bytes_max, '#') + "\n",
  };
  std::filesystem::path file = dir.path() / "bad.move";
  for (const std::string& text : bad) {
    CAPTURE(text.substr(0, 200));
    write_text(file, text);
    auto refused = node::read_move_file(file);
    check_one_sentence(refused.status(), file);
    CHECK(refused.status().code() == Status::Code::kInvalidArgument);
  }
  check_one_sentence(node::read_move_file(dir.path() / "missing.move").status(), dir.path() / "missing.move");
  // A head with a real number reads back.
  write_text(file, with("head", "head 3 " + id + " 5"));
  auto headed = node::read_move_file(file);
  REQUIRE(headed.is_ok());
  CHECK(headed->head->seq == 3);
}

// Key files version 3: protected by the holder's passphrase (node/KEYRING.md).
namespace {

constexpr std::string_view kPassphrase = "correct horse battery staple";

// The value of `label` in a key file's text.
std::string line_value(const std::string& text, const std::string& label) {
  std::size_t at = text.find("\n" + label + " ");
  REQUIRE(at != std::string::npos);
  at += label.size() + 2;
  return text.substr(at, text.find('\n', at) - at);
}

// `text` with the value of `label` replaced by `value`.
std::string with_value(std::string text, const std::string& label, const std::string& value) {
  std::string old = line_value(text, label);
  std::size_t at = text.find("\n" + label + " ") + label.size() + 2;
  return text.replace(at, old.size(), value);
}

// `text` with its `check` line computed anew, as someone altering the file on purpose would.
std::string with_check_recomputed(const std::string& text) {
  std::string covered = "anwang-ed25519-v3\n";
  for (const char* label : {"public", "node", "kdf", "opslimit", "memlimit", "salt", "nonce", "sealed"})
    covered += std::string(label) + " " + line_value(text, label) + "\n";
  std::array<std::uint8_t, 16> check{};
  crypto_generichash(check.data(), check.size(), reinterpret_cast<const unsigned char*>(covered.data()),
                     covered.size(), nullptr, 0);
  return with_value(text, "check", to_hex(ByteView(check.data(), check.size())));
}

// One hex digit of `label`'s value changed.
std::string with_digit_flipped(const std::string& text, const std::string& label) {
  std::string value = line_value(text, label);
  value[value.size() / 2] = value[value.size() / 2] == '0' ? '1' : '0';
  return with_value(text, label, value);
}

}  // namespace

TEST_CASE("a key protected by a passphrase signs only with it, a wrong one is refused and nothing is rewritten",
          "[home][keys][passphrase]") {
  TempDir dir;
  CountingRandom random;
  auto home = node::NodeHome::init(dir.path(), random);
  REQUIRE(home.is_ok());
  auto li = home->new_key("li", random, kPassphrase);
  REQUIRE(li.is_ok());
  CHECK(li->is_protected);
  std::filesystem::path file = dir.path() / "keys" / "li.key";
  CHECK(mode_of(file) == 0600);
  std::string text = read_text(file);
  CHECK(text.rfind("anwang-ed25519-v3\npublic " + li->public_key.hex() + "\nnode " + home->node_key().hex() +
                       "\nkdf argon2id13\nopslimit 2\nmemlimit 67108864\nsalt ",
                   0) == 0);
  CHECK(text.find("seed") == std::string::npos);
  auto info = home->key_info("li");
  REQUIRE(info.is_ok());
  CHECK(info->is_protected);
  CHECK(info->binding == node::KeyBinding::kThisNode);
  CHECK(*home->resolve_public_key("li") == li->public_key);  // the name resolves without it

  auto locked = home->load_key("li");
  REQUIRE_FALSE(locked.is_ok());
  CHECK(locked.status().code() == Status::Code::kRefused);
  CHECK(node::is_passphrase_needed(locked.status()));
  CHECK_FALSE(node::is_wrong_passphrase(locked.status()));
  CHECK_THAT(locked.status().message(), Catch::StartsWith("key li is protected by a passphrase: give it") &&
                                            Catch::Contains("--passphrase-file"));
  CHECK(locked.status().message().find('\n') == std::string::npos);

  for (std::string_view wrong : {std::string_view("correct horse battery stapler"), std::string_view("x")}) {
    auto refused = home->load_key("li", wrong);
    REQUIRE_FALSE(refused.is_ok());
    CHECK(refused.status().code() == Status::Code::kRefused);
    CHECK(node::is_wrong_passphrase(refused.status()));
    CHECK_THAT(refused.status().message(), Catch::StartsWith("wrong passphrase for key li"));
  }
  CHECK(home->load_key("li", "").status().message() == "a passphrase must not be empty");
  CHECK(read_text(file) == text);

  auto unlocked = home->load_key("li", kPassphrase);
  REQUIRE(unlocked.is_ok());
  CHECK(unlocked->public_key() == li->public_key);
  CHECK(read_text(file) == text);  // loading rewrites nothing
  auto listed = home->list_keys();
  REQUIRE(listed.is_ok());
  REQUIRE(listed->size() == 1);
  CHECK((*listed)[0].is_protected);

  // A passphrase given for a plain key is not needed, and the key loads.
  auto plain = home->new_key("wang", random);
  REQUIRE(plain.is_ok());
  CHECK_FALSE(plain->is_protected);
  CHECK(home->load_key("wang", kPassphrase)->public_key() == plain->public_key);
  CHECK_FALSE(home->key_info("wang")->is_protected);
}

TEST_CASE("a new passphrase must be 8 to 1,024 bytes and a bad one writes nothing", "[home][keys][passphrase]") {
  TempDir dir;
  CountingRandom random;
  auto home = node::NodeHome::init(dir.path(), random);
  REQUIRE(home.is_ok());
  CHECK(home->new_key("li", random, "").status().message() == "a passphrase must not be empty");
  CHECK_THAT(home->new_key("li", random, "7 bytes").status().message(), Catch::Contains("8 to 1024 bytes"));
  std::string long_one(node::passphrase_bytes_max + 1, 'p');
  CHECK(home->new_key("li", random, long_one).status().code() == Status::Code::kInvalidArgument);
  CHECK(std::distance(std::filesystem::directory_iterator(dir.path() / "keys"), {}) == 0);
  CHECK(home->new_key("li", random, "八个字节").is_ok());  // 12 bytes of UTF-8
  CHECK(home->load_key("li", "八个字节").is_ok());
  CHECK(home->new_key("max", random, std::string(node::passphrase_bytes_max, 'p')).is_ok());
}

TEST_CASE("a protected key file altered in any line is refused as damaged, not as a wrong passphrase",
          "[home][keys][passphrase]") {
  TempDir dir;
  CountingRandom random;
  auto home = node::NodeHome::init(dir.path(), random);
  REQUIRE(home.is_ok());
  auto li = home->new_key("li", random, kPassphrase);
  REQUIRE(li.is_ok());
  std::filesystem::path file = dir.path() / "keys" / "li.key";
  const std::string good = read_text(file);
  std::string other_public = home->new_key("other", random)->public_key.hex();
  std::vector<std::string> damaged;
  // One digit changed in a line: the check says the file is damaged before anything is derived.
  for (const char* label : {"public", "salt", "nonce", "sealed", "check"})
    damaged.push_back(with_digit_flipped(good, label));
  damaged.push_back(with_value(good, "kdf", "argon2i13"));
  damaged.push_back(with_value(good, "opslimit", "3"));
  damaged.push_back(good.substr(0, good.size() - 20));  // cut short
  damaged.push_back(good + "seed " + std::string(64, 'a') + "\n");
  // Altered on purpose, the check computed anew: another key's public key fails the comparison
  // with the sealed seed.
  damaged.push_back(with_check_recomputed(with_value(good, "public", other_public)));
  damaged.push_back(with_check_recomputed(with_value(good, "salt", std::string(31, 'a'))));
  for (const std::string& text : damaged) {
    CAPTURE(text);
    write_text(file, text);
    auto refused = home->load_key("li", kPassphrase);
    check_one_sentence(refused.status(), file);
    CHECK(refused.status().code() == Status::Code::kCorruption);
    CHECK_FALSE(node::is_wrong_passphrase(refused.status()));
    CHECK(read_text(file) == text);  // a damaged key file is never rewritten
  }
  // Its sealed seed or salt altered with the check computed anew: the secretbox refuses to open,
  // which the holder sees as a wrong passphrase; the key is never unlocked.
  for (const char* label : {"sealed", "salt", "nonce"}) {
    write_text(file, with_check_recomputed(with_digit_flipped(good, label)));
    CHECK(node::is_wrong_passphrase(home->load_key("li", kPassphrase).status()));
  }
  write_text(file, good);
  CHECK(home->load_key("li", kPassphrase)->public_key() == li->public_key);
}

TEST_CASE("a key file asking for more memory or passes than allowed is refused before any is allocated",
          "[home][keys][passphrase]") {
  TempDir dir;
  CountingRandom random;
  auto home = node::NodeHome::init(dir.path(), random);
  REQUIRE(home.is_ok());
  REQUIRE(home->new_key("li", random, kPassphrase).is_ok());
  std::filesystem::path file = dir.path() / "keys" / "li.key";
  const std::string good = read_text(file);
  const std::vector<std::pair<std::string, std::string>> hostile = {
      {"memlimit", "1099511627776"},                                     // 1 TiB
      {"memlimit", std::to_string(node::key_kdf_memory_bytes_max + 1)},  // just over the maximum
      {"memlimit", "18446744073709551615"},
      {"memlimit", "99999999999999999999999"},
      {"memlimit", "1024"},  // below Argon2id's minimum
      {"opslimit", std::to_string(node::key_kdf_passes_max + 1)},
      {"opslimit", "4294967296000"},
      {"opslimit", "0"},
      {"opslimit", "-2"},
  };
  for (const auto& [label, value] : hostile) {
    CAPTURE(label, value);
    std::string text = with_check_recomputed(with_value(good, label, value));
    write_text(file, text);
    auto started = std::chrono::steady_clock::now();
    auto refused = home->load_key("li", kPassphrase);
    auto took = std::chrono::steady_clock::now() - started;
    check_one_sentence(refused.status(), file);
    CHECK(refused.status().code() == Status::Code::kCorruption);
    CHECK_THAT(refused.status().message(), Catch::Contains("'" + label + "' must be a number"));
    CHECK(took < std::chrono::milliseconds(150));  // nothing derived: 2 passes over 64 MiB take ~80 ms here, more take longer
    check_one_sentence(home->list_keys().status(), file);
    CHECK(read_text(file) == text);
  }
}

TEST_CASE("protect turns a plain key into a protected one that signs as the same key", "[home][keys][passphrase]") {
  TempDir dir;
  CountingRandom random;
  auto home = node::NodeHome::init(dir.path(), random);
  REQUIRE(home.is_ok());
  auto li = home->new_key("li", random);
  REQUIRE(li.is_ok());
  auto before = home->load_key("li");
  REQUIRE(before.is_ok());
  ByteView message = as_bytes("a report");
  CHECK(home->protect_key("li", "short", random).status().code() == Status::Code::kInvalidArgument);
  CHECK_FALSE(home->key_info("li")->is_protected);

  auto protected_li = home->protect_key("li", kPassphrase, random);
  REQUIRE(protected_li.is_ok());
  CHECK(protected_li->is_protected);
  CHECK(protected_li->public_key == li->public_key);
  std::filesystem::path file = dir.path() / "keys" / "li.key";
  CHECK(mode_of(file) == 0600);
  CHECK(read_text(file).rfind("anwang-ed25519-v3\n", 0) == 0);
  CHECK(std::distance(std::filesystem::directory_iterator(dir.path() / "keys"), {}) == 1);
  CHECK(node::is_passphrase_needed(home->load_key("li").status()));
  auto after = home->load_key("li", kPassphrase);
  REQUIRE(after.is_ok());
  CHECK(after->public_key() == li->public_key);
  CHECK(after->sign(message) == before->sign(message));  // the same seed: Ed25519 is deterministic
  // Protected already: refused, the file as it was.
  std::string text = read_text(file);
  CHECK(home->protect_key("li", "another passphrase", random).status().code() == Status::Code::kAlreadyExists);
  CHECK(read_text(file) == text);

  // A v1 key file of an earlier release is bound to this node by the same rewrite.
  KeyPair old = KeyPair::from_seed(blake2b_256(as_bytes("an old key")).view());
  write_text(dir.path() / "keys" / "old.key", "anwang-ed25519-v1\n" + seed_hex_of(old) + "\n");
  auto protected_old = home->protect_key("old", kPassphrase, random);
  REQUIRE(protected_old.is_ok());
  CHECK(protected_old->binding == node::KeyBinding::kThisNode);
  CHECK(line_value(read_text(dir.path() / "keys" / "old.key"), "node") == home->node_key().hex());
  CHECK(home->load_key("old", kPassphrase)->public_key() == old.public_key());
  CHECK(home->protect_key("nobody", kPassphrase, random).status().code() == Status::Code::kNotFound);
}

TEST_CASE("protect refuses a key moved away or bound to another node, and writes nothing", "[home][keys][passphrase]") {
  TempDir dir;
  CountingRandom random;
  auto here = node::NodeHome::init(dir.path() / "here", random);
  auto there = node::NodeHome::init(dir.path() / "there", random);
  REQUIRE(here.is_ok());
  REQUIRE(there.is_ok());
  REQUIRE(there->new_key("li", random).is_ok());
  std::filesystem::copy_file(dir.path() / "there" / "keys" / "li.key", dir.path() / "here" / "keys" / "li.key");
  std::string copied = read_text(dir.path() / "here" / "keys" / "li.key");
  auto other = here->protect_key("li", kPassphrase, random);
  CHECK_THAT(other.status().message(), Catch::StartsWith("key li belongs to node " + there->node_key().hex()));
  CHECK(read_text(dir.path() / "here" / "keys" / "li.key") == copied);

  ManualClock clock(1'795'000'000'000);
  REQUIRE(there->export_key("li", dir.path() / "li.move", std::nullopt, clock).is_ok());
  std::string marker = read_text(dir.path() / "there" / "keys" / "li.key");
  auto moved = there->protect_key("li", kPassphrase, random);
  CHECK_THAT(moved.status().message(), Catch::StartsWith("key li was moved to "));
  CHECK(read_text(dir.path() / "there" / "keys" / "li.key") == marker);
}

TEST_CASE("a protected key moves with its passphrase: export needs it, the move file is as before, and import protects it anew",
          "[home][keys][passphrase]") {
  TempDir dir;
  CountingRandom random;
  auto a = node::NodeHome::init(dir.path() / "a", random);
  auto b = node::NodeHome::init(dir.path() / "b", random);
  REQUIRE(a.is_ok());
  REQUIRE(b.is_ok());
  auto li = a->new_key("li", random, kPassphrase);
  REQUIRE(li.is_ok());
  ManualClock clock(1'795'000'000'000);
  std::filesystem::path move = dir.path() / "li.move";
  std::string text = read_text(dir.path() / "a" / "keys" / "li.key");
  CHECK(node::is_passphrase_needed(a->export_key("li", move, std::nullopt, clock).status()));
  CHECK(node::is_wrong_passphrase(a->export_key("li", move, std::nullopt, clock, "not it at all").status()));
  CHECK_FALSE(std::filesystem::exists(move));
  CHECK(read_text(dir.path() / "a" / "keys" / "li.key") == text);
  REQUIRE(a->export_key("li", move, std::nullopt, clock, kPassphrase).is_ok());
  CHECK(a->key_info("li")->binding == node::KeyBinding::kMovedAway);
  CHECK_FALSE(a->key_info("li")->is_protected);  // the marker holds no seed, sealed or not
  auto read = node::read_move_file(move);
  REQUIRE(read.is_ok());
  CHECK(read->key.public_key() == li->public_key);

  CHECK(b->import_key(*read, "li", "short", random).status().code() == Status::Code::kInvalidArgument);
  CHECK_FALSE(std::filesystem::exists(dir.path() / "b" / "keys" / "li.key"));
  auto imported = b->import_key(*read, "li", "a new passphrase on b", random);
  REQUIRE(imported.is_ok());
  CHECK(imported->is_protected);
  CHECK(mode_of(dir.path() / "b" / "keys" / "li.key") == 0600);
  CHECK(node::is_wrong_passphrase(b->load_key("li", kPassphrase).status()));
  CHECK(b->load_key("li", "a new passphrase on b")->public_key() == li->public_key);
}
