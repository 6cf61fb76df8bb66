// Backups (node/backup.h, node/BACKUP.md): a home backed up and restored whole; sealed by a
// passphrase or to the county's backup key; a backup cut, altered or reordered restores nothing;
// a home in use is refused unless forced; a backup taken while another process writes restores to
// a store that verifies; and a restored store signs nothing until a sync session clears its mark.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <random>

#include "crdt/limits.h"
#include "node/backup.h"
#include "support/fixtures.h"

using namespace anwang;
using anwang::test::TempDir;
namespace fs = std::filesystem;

namespace {

// libsodium's randomness, but each test's own backup key files differ anyway.
node::SystemRandom system_random;

// A cheap Argon2id cost, so tests do not each spend 256 MiB and a second.
node::BackupOptions cheap(std::string_view passphrase) {
  node::BackupOptions options;
  options.passphrase = passphrase;
  options.kdf_passes = crypto_pwhash_argon2id_OPSLIMIT_MIN;
  options.kdf_memory_bytes = 8 << 20;
  options.now_ms = test::kTestTimeMs;
  return options;
}

node::RestoreOptions with_passphrase(std::string_view passphrase) {
  node::RestoreOptions options;
  options.passphrase = passphrase;
  options.now_ms = test::kTestTimeMs + 1000;
  return options;
}

// A node home with two keys and a store holding a random history.
struct Node {
  TempDir dir;
  fs::path home_dir = dir.path() / "home";
  std::optional<node::NodeHome> home;
  std::unique_ptr<node::Store> store;
  std::vector<Op> history;

  // `ops` of a history of `ops + more` are ingested; the rest wait in `history` too.
  explicit Node(std::size_t ops = 300, std::size_t more = 0) {
    auto made = node::NodeHome::init(home_dir, system_random);
    REQUIRE(made.is_ok());
    home.emplace(std::move(*made));
    REQUIRE(home->new_key("alice", system_random).is_ok());
    REQUIRE(home->new_key("bob", system_random, std::string_view("a long passphrase")).is_ok());
    auto opened = home->open_store();
    REQUIRE(opened.is_ok());
    store = std::move(*opened);
    std::mt19937_64 rng(7);
    history = test::random_history(rng, ops + more, 4);
    std::vector<Bytes> bytes = test::bytes_of(history);
    bytes.resize(ops);
    test::ingest_all(*store, bytes);
  }
};

Bytes file_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void write_bytes(const fs::path& path, ByteView bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

// Where each record of a backup starts (after its plain header of `header_bytes`).
std::vector<std::size_t> record_offsets(const Bytes& file, std::size_t header_bytes) {
  std::vector<std::size_t> at;
  for (std::size_t offset = header_bytes; offset + 4 <= file.size();) {
    at.push_back(offset);
    offset += 4 + read_u32_le(file.data() + offset);
  }
  return at;
}

constexpr std::size_t kPassphraseHeaderBytes = 126;  // node/BACKUP.md

}  // namespace

TEST_CASE("a backup restores the node key, keyring, configuration and store, marked restored", "[backup]") {
  Node n;
  fs::path file = n.dir.path() / "node.bak";
  auto report = node::write_backup(*n.home, *n.store, file, cheap("backup passphrase"), system_random);
  REQUIRE(report.is_ok());
  CHECK(report->files == std::vector<std::string>{"anwang.toml", "keys/alice.key", "keys/bob.key", "node.key", "store/data.mdb"});
  CHECK(report->store_bytes > 0);
  CHECK(report->file_bytes == fs::file_size(file));
  struct stat st {};
  REQUIRE(::stat(file.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  // No plain copy of the store was staged anywhere.
  CHECK(!fs::exists(n.dir.path() / "node.bak.partial"));

  fs::path restored_dir = n.dir.path() / "restored";
  auto restored = node::restore_backup(file, restored_dir, with_passphrase("backup passphrase"));
  REQUIRE(restored.is_ok());
  CHECK(restored->node == n.home->node_key());
  CHECK(restored->ops == n.store->stats().value().ops);
  CHECK(restored->created_ms == test::kTestTimeMs);
  CHECK(!fs::exists(restored_dir / "restore.partial"));
  auto home = node::NodeHome::open(restored_dir);
  REQUIRE(home.is_ok());
  CHECK(home->node_key() == n.home->node_key());
  auto keys = home->list_keys();
  REQUIRE(keys.is_ok());
  REQUIRE(keys->size() == 2);
  CHECK(home->load_key("alice").is_ok());
  CHECK(home->load_key("bob", std::string_view("a long passphrase")).is_ok());  // still sealed by its holder
  CHECK(file_bytes(restored_dir / "anwang.toml") == file_bytes(n.home_dir / "anwang.toml"));
  auto store = home->open_store();
  REQUIRE(store.is_ok());
  CHECK((*store)->digest().value() == n.store->digest().value());
  auto verified = (*store)->verify();
  REQUIRE(verified.is_ok());
  CHECK(verified->ok());
  // Restored: no key of the keyring signs until a sync session clears the mark.
  auto stats = (*store)->stats();
  REQUIRE(stats.is_ok());
  CHECK(stats->restored_ms == test::kTestTimeMs + 1000);
  auto standing = (*store)->key_standing(keys->front().public_key);
  REQUIRE(standing.is_ok());
  CHECK_THAT(standing->behind, Catch::Contains("does not sign yet: this node was restored from a backup"));
  REQUIRE((*store)->clear_restored().value());
  CHECK((*store)->key_standing(keys->front().public_key).value().behind.empty());
  CHECK(!(*store)->clear_restored().value());  // nothing left to clear
}

TEST_CASE("a backup sealed to the county's backup key opens with that key's file only", "[backup]") {
  Node n(50);
  TempDir keys;
  auto county = node::create_backup_key_file(keys.path() / "county.backupkey", system_random);
  auto other = node::create_backup_key_file(keys.path() / "other.backupkey", system_random);
  REQUIRE(county.is_ok());
  REQUIRE(other.is_ok());
  struct stat st {};
  REQUIRE(::stat((keys.path() / "county.backupkey").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  // Never over another file.
  CHECK(node::create_backup_key_file(keys.path() / "county.backupkey", system_random).status().code() ==
        Status::Code::kAlreadyExists);

  node::BackupOptions options;
  options.to_key = *county;
  fs::path file = n.dir.path() / "node.bak";
  REQUIRE(node::write_backup(*n.home, *n.store, file, options, system_random).is_ok());
  auto header = node::read_backup_header(file);
  REQUIRE(header.is_ok());
  CHECK(header->seal == node::BackupSeal::kBackupKey);
  CHECK(header->to_key == *county);

  auto wrong = node::read_backup_key_file(keys.path() / "other.backupkey");
  REQUIRE(wrong.is_ok());
  node::RestoreOptions restore;
  restore.key = wrong->get();
  auto refused = node::restore_backup(file, n.dir.path() / "r", restore);
  REQUIRE(!refused.is_ok());
  CHECK_THAT(refused.status().message(), Catch::Contains("is sealed to the backup key"));
  CHECK(!fs::exists(n.dir.path() / "r"));
  node::RestoreOptions no_key;
  CHECK(node::restore_backup(file, n.dir.path() / "r", no_key).status().message().find("--key-file") != std::string::npos);

  auto right = node::read_backup_key_file(keys.path() / "county.backupkey");
  REQUIRE(right.is_ok());
  restore.key = right->get();
  auto restored = node::restore_backup(file, n.dir.path() / "r", restore);
  REQUIRE(restored.is_ok());
  CHECK(restored->ops == n.store->stats().value().ops);

  // A key file altered by hand is refused before anything is read.
  write_bytes(keys.path() / "bad.backupkey", as_bytes("anwang-backup-key-v1\npublic 00\nsecret 11\n"));
  CHECK(!node::read_backup_key_file(keys.path() / "bad.backupkey").is_ok());
  CHECK(!node::parse_backup_public_key("xyz").has_value());
}

TEST_CASE("a wrong passphrase restores nothing and says so", "[backup]") {
  Node n(20);
  fs::path file = n.dir.path() / "node.bak";
  REQUIRE(node::write_backup(*n.home, *n.store, file, cheap("the right one"), system_random).is_ok());
  auto refused = node::restore_backup(file, n.dir.path() / "r", with_passphrase("the wrong one"));
  REQUIRE(!refused.is_ok());
  CHECK(refused.status().code() == Status::Code::kRefused);
  CHECK_THAT(refused.status().message(), Catch::StartsWith("wrong passphrase for the backup"));
  CHECK(!fs::exists(n.dir.path() / "r"));
}

TEST_CASE("a backup cut short, altered, reordered or extended restores nothing", "[backup]") {
  Node n(200);
  fs::path file = n.dir.path() / "node.bak";
  REQUIRE(node::write_backup(*n.home, *n.store, file, cheap("backup passphrase"), system_random).is_ok());
  const Bytes whole = file_bytes(file);
  std::vector<std::size_t> records = record_offsets(whole, kPassphraseHeaderBytes);
  REQUIRE(records.size() >= 8);
  REQUIRE(records.back() + 4 + read_u32_le(whole.data() + records.back()) == whole.size());

  std::vector<std::pair<std::string, Bytes>> damaged;
  damaged.emplace_back("cut inside its header", Bytes(whole.begin(), whole.begin() + 40));
  damaged.emplace_back("cut after its header", Bytes(whole.begin(), whole.begin() + kPassphraseHeaderBytes));
  damaged.emplace_back("cut inside a record", Bytes(whole.begin(), whole.begin() + static_cast<std::ptrdiff_t>(records[3] + 9)));
  damaged.emplace_back("cut before its end record",
                       Bytes(whole.begin(), whole.begin() + static_cast<std::ptrdiff_t>(records.back())));
  damaged.emplace_back("cut one byte short", Bytes(whole.begin(), whole.end() - 1));
  {
    Bytes flipped = whole;
    flipped[records[4] + 20] ^= 0x01;
    damaged.emplace_back("a byte of a record flipped", flipped);
  }
  {
    Bytes header_changed = whole;
    header_changed[kPassphraseHeaderBytes - 30] ^= 0x01;  // within the key check: a wrong key
    damaged.emplace_back("its key check altered", header_changed);
    Bytes created_changed = whole;
    created_changed[44] ^= 0x01;  // the time it says it was taken: additional data of every record
    damaged.emplace_back("its header's time altered", created_changed);
  }
  {
    // Records 2 and 3 (the first file's bytes and the next file's name) swapped.
    Bytes swapped(whole.begin(), whole.begin() + static_cast<std::ptrdiff_t>(records[1]));
    swapped.insert(swapped.end(), whole.begin() + static_cast<std::ptrdiff_t>(records[2]),
                   whole.begin() + static_cast<std::ptrdiff_t>(records[3]));
    swapped.insert(swapped.end(), whole.begin() + static_cast<std::ptrdiff_t>(records[1]),
                   whole.begin() + static_cast<std::ptrdiff_t>(records[2]));
    swapped.insert(swapped.end(), whole.begin() + static_cast<std::ptrdiff_t>(records[3]), whole.end());
    REQUIRE(swapped.size() == whole.size());
    damaged.emplace_back("two records swapped", swapped);
    // A record repeated.
    Bytes repeated(whole.begin(), whole.begin() + static_cast<std::ptrdiff_t>(records[3]));
    repeated.insert(repeated.end(), whole.begin() + static_cast<std::ptrdiff_t>(records[2]), whole.end());
    damaged.emplace_back("a record repeated", repeated);
  }
  {
    Bytes extended = whole;
    extended.push_back(0);
    damaged.emplace_back("a byte after its end", extended);
  }
  for (const auto& [what, bytes] : damaged) {
    INFO(what);
    fs::path bad = n.dir.path() / "bad.bak";
    write_bytes(bad, bytes);
    fs::path target = n.dir.path() / "target";
    auto restored = node::restore_backup(bad, target, with_passphrase("backup passphrase"));
    REQUIRE(!restored.is_ok());
    INFO(restored.status().message());
    CHECK(!fs::exists(target));
    // An existing empty home stays empty.
    fs::create_directory(target);
    CHECK(!node::restore_backup(bad, target, with_passphrase("backup passphrase")).is_ok());
    CHECK(fs::is_empty(target));
    fs::remove(target);
  }
  // And the whole one still restores.
  CHECK(node::restore_backup(file, n.dir.path() / "target", with_passphrase("backup passphrase")).is_ok());
}

TEST_CASE("restore refuses a home that holds a node unless forced, and then moves it aside", "[backup]") {
  Node n(30);
  fs::path file = n.dir.path() / "node.bak";
  REQUIRE(node::write_backup(*n.home, *n.store, file, cheap("backup passphrase"), system_random).is_ok());
  // Another node's home.
  fs::path other = n.dir.path() / "other";
  REQUIRE(node::NodeHome::init(other, system_random).is_ok());
  Bytes other_key = file_bytes(other / "node.key");
  auto refused = node::restore_backup(file, other, with_passphrase("backup passphrase"));
  REQUIRE(!refused.is_ok());
  CHECK(refused.status().code() == Status::Code::kAlreadyExists);
  CHECK_THAT(refused.status().message(), Catch::Contains("already holds a node (anwang.toml, keys, node.key, store)"));
  CHECK(file_bytes(other / "node.key") == other_key);
  // A directory holding something else is no empty home either.
  fs::path busy = n.dir.path() / "busy";
  fs::create_directory(busy);
  write_bytes(busy / "notes.txt", as_bytes("hello"));
  CHECK_THAT(node::restore_backup(file, busy, with_passphrase("backup passphrase")).status().message(),
             Catch::Contains("is not empty (it holds notes.txt)"));

  node::RestoreOptions force = with_passphrase("backup passphrase");
  force.force = true;
  auto restored = node::restore_backup(file, other, force);
  REQUIRE(restored.is_ok());
  CHECK(restored->replaced == std::vector<std::string>{"anwang.toml", "keys", "node.key", "store"});
  CHECK(file_bytes(restored->replaced_to / "node.key") == other_key);  // moved aside, not deleted
  CHECK(file_bytes(other / "node.key") == file_bytes(n.home_dir / "node.key"));
  CHECK(restored->replaced_to.filename().string().rfind("replaced-", 0) == 0);
}

TEST_CASE("backup never writes over a file unless forced", "[backup]") {
  Node n(10);
  fs::path file = n.dir.path() / "node.bak";
  write_bytes(file, as_bytes("not mine"));
  auto refused = node::write_backup(*n.home, *n.store, file, cheap("backup passphrase"), system_random);
  REQUIRE(!refused.is_ok());
  CHECK(refused.status().code() == Status::Code::kAlreadyExists);
  CHECK(file_bytes(file) == Bytes(as_bytes("not mine").begin(), as_bytes("not mine").end()));
  node::BackupOptions force = cheap("backup passphrase");
  force.existing = node::ExistingFile::kReplace;
  REQUIRE(node::write_backup(*n.home, *n.store, file, force, system_random).is_ok());
  CHECK(node::read_backup_header(file).is_ok());
}

TEST_CASE("a backup taken while another process writes ops restores to a store that verifies", "[backup]") {
  // The rest of the history is written by a child process through its own store while the backup
  // runs, in small commits.
  Node n(100, 3000);
  std::vector<Bytes> more_bytes = test::bytes_of(n.history);
  more_bytes.erase(more_bytes.begin(), more_bytes.begin() + 100);
  std::uint64_t before = n.store->stats().value().ops;
  REQUIRE(before == 100);
  fs::path started = n.dir.path() / "writer-started";
  pid_t writer = ::fork();
  REQUIRE(writer >= 0);
  if (writer == 0) {
    auto store = n.home->open_store();
    if (!store) ::_exit(2);
    bool told = false;
    for (std::size_t at = 0; at < more_bytes.size(); at += 8) {
      std::size_t end = std::min(more_bytes.size(), at + 8);
      if (!(*store)->ingest(std::span<const Bytes>(more_bytes.data() + at, end - at))) ::_exit(3);
      if (!told) {
        std::ofstream(started) << "1";
        told = true;
      }
    }
    ::_exit(0);
  }
  while (!fs::exists(started)) ::usleep(1000);
  fs::path file = n.dir.path() / "node.bak";
  auto report = node::write_backup(*n.home, *n.store, file, cheap("backup passphrase"), system_random);
  int status = 0;
  REQUIRE(::waitpid(writer, &status, 0) == writer);
  REQUIRE(report.is_ok());
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  auto restored = node::restore_backup(file, n.dir.path() / "r", with_passphrase("backup passphrase"));
  REQUIRE(restored.is_ok());
  CHECK(restored->ops >= before);
  CHECK(restored->ops <= n.history.size());
  auto home = node::NodeHome::open(n.dir.path() / "r");
  REQUIRE(home.is_ok());
  auto store = home->open_store();
  REQUIRE(store.is_ok());
  auto verified = (*store)->verify();
  REQUIRE(verified.is_ok());
  for (const std::string& problem : verified->problems) INFO(problem);
  CHECK(verified->ok());
}
