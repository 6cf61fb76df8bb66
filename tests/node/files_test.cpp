// Files anwang writes (node/atomic_file.h) and attachments arriving in chunks (issue 20, item 10:
// exports followed planted links and were readable by all; blob chunks were taken for blobs no op
// referenced, with whatever size the sender declared).
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "crdt/hash.h"
#include "crdt/limits.h"
#include "node/atomic_file.h"
#include "node/bundle.h"
#include "node/op_file.h"
#include "support/fixtures.h"
#include "support/pipes.h"

using namespace anwang;
using anwang::test::OpFactory;
using anwang::test::TempDir;
using anwang::test::test_key;

namespace fs = std::filesystem;

namespace {

constexpr const char* kVillage = "150430100201";
constexpr const char* kGrid = "150430100201-01";

std::string contents(const fs::path& file) {
  std::stringstream text;
  text << std::ifstream(file, std::ios::binary).rdbuf();
  return text.str();
}

unsigned mode_of(const fs::path& file) {
  struct stat seen {};
  REQUIRE(::lstat(file.c_str(), &seen) == 0);
  return seen.st_mode & 07777;
}

// Sets the process umask for a scope: the permissive one most systems give users.
struct Umask {
  mode_t before;
  explicit Umask(mode_t mask) : before(::umask(mask)) {}
  ~Umask() { ::umask(before); }
};

// A store holding a genesis, a county node and a village node enrolled, and a hazard at a grid
// of that village with `photo` attached (the store does not hold the photo itself).
struct County {
  OpFactory factory;
  KeyPair root = test_key(0);
  test::Node county{100}, village{102};
  std::vector<Op> ops;
  Attachment photo;

  explicit County(const Bytes& photo_bytes) {
    photo = Attachment{blake2b_256(photo_bytes), photo_bytes.size(), "image/jpeg"};
    ops.push_back(factory.genesis());
    ops.push_back(factory.make(root, test::kCounty, node_object_id(county.key.public_key()),
                               EnrolmentPayload{county.key.public_key()}, {ops.back().id}));
    ops.push_back(factory.make(root, kVillage, node_object_id(village.key.public_key()),
                               EnrolmentPayload{village.key.public_key()}, {ops.back().id}));
    HazardPayload report;
    report.action = "report";
    report.text = "仓库消防通道堵塞";
    report.category = "fire";
    report.severity = "general";
    report.photos = {photo};
    ops.push_back(factory.make(root, kGrid, authored_object_id(root.public_key(), factory.next_seq(root)), report,
                               {ops.back().id}));
    for (test::Node* node : {&county, &village}) test::ingest_all(*node->store, test::bytes_of(ops));
  }
};

Bytes photo_of(std::size_t bytes) {
  Bytes photo(bytes);
  for (std::size_t i = 0; i < bytes; ++i) photo[i] = static_cast<std::uint8_t>(i * 7 + i / 251);
  return photo;
}

// Puts `photo` into `store` chunk by chunk as a sync session does.
Status put_in_chunks(node::Store& store, const Attachment& declared, const Bytes& photo) {
  for (std::size_t at = 0; at < photo.size(); at += limits::blob_chunk_bytes) {
    std::size_t length = std::min(limits::blob_chunk_bytes, photo.size() - at);
    if (Status s = store.put_blob_chunk(declared, at, ByteView(photo.data() + at, length)); !s) return s;
  }
  return Status::ok();
}

}  // namespace

TEST_CASE("an export never writes through a link planted at its unfinished file or its target", "[files]") {
  Umask permissive(022);
  TempDir dir;
  auto store = test::open_store(dir.path() / "store");
  OpFactory factory;
  test::ingest_all(*store, {factory.genesis().bytes});
  fs::path victim = dir.path() / "victim.txt";
  std::ofstream(victim) << "not anwang's";

  SECTION("a link at the unfinished file: refused, the link's target untouched") {
    fs::create_symlink(victim, dir.path() / "out.ops.partial");
    auto exported = node::export_ops(*store, dir.path() / "out.ops");
    REQUIRE_FALSE(exported.is_ok());
    CHECK_THAT(exported.status().message(), Catch::Contains("is in the way") && Catch::Contains("remove it"));
    CHECK(contents(victim) == "not anwang's");
    CHECK_FALSE(fs::exists(dir.path() / "out.ops"));
  }
  SECTION("a link at the target: replaced by the export, its target untouched") {
    fs::create_symlink(victim, dir.path() / "out.ops");
    REQUIRE(node::export_ops(*store, dir.path() / "out.ops").is_ok());
    CHECK(contents(victim) == "not anwang's");
    CHECK_FALSE(fs::is_symlink(dir.path() / "out.ops"));
    CHECK(mode_of(dir.path() / "out.ops") == 0600);
  }
  SECTION("a hard link at the unfinished file: refused, the other name's file untouched") {
    fs::create_hard_link(victim, dir.path() / "out.ops.partial");
    REQUIRE_FALSE(node::export_ops(*store, dir.path() / "out.ops").is_ok());
    CHECK(contents(victim) == "not anwang's");
  }
  SECTION("a link at the target of a file written without overwriting: refused") {
    fs::create_symlink(victim, dir.path() / "new.key");
    CHECK_FALSE(node::write_file_atomically(dir.path() / "new.key", as_bytes("seed"), node::ExistingFile::kRefuse).is_ok());
    CHECK(contents(victim) == "not anwang's");
    fs::create_symlink(dir.path() / "nowhere", dir.path() / "dangling.key");
    CHECK_FALSE(
        node::write_file_atomically(dir.path() / "dangling.key", as_bytes("seed"), node::ExistingFile::kRefuse).is_ok());
    CHECK_FALSE(fs::exists(dir.path() / "nowhere"));
  }
}

TEST_CASE("exports are written 0600 and a stale unfinished file left by a crash is replaced", "[files]") {
  Umask permissive(022);
  TempDir dir;
  auto store = test::open_store(dir.path() / "store");
  OpFactory factory;
  test::ingest_all(*store, {factory.genesis().bytes});
  // An op file of an export that died midway: a plain file of this user's, held by no writer.
  std::ofstream(dir.path() / "out.ops.partial") << "half an export";
  auto exported = node::export_ops(*store, dir.path() / "out.ops");
  INFO(exported.status().message());
  REQUIRE(exported.is_ok());
  CHECK(*exported == 1);
  CHECK(mode_of(dir.path() / "out.ops") == 0600);
  CHECK_FALSE(fs::exists(dir.path() / "out.ops.partial"));
  auto read = node::read_op_file(dir.path() / "out.ops");
  REQUIRE(read.is_ok());
  CHECK(read->size() == 1);
  // write_op_file (tests and tools) goes the same way.
  REQUIRE(node::write_op_file(dir.path() / "two.ops", *read).is_ok());
  CHECK(mode_of(dir.path() / "two.ops") == 0600);
  // A writer still at work holds its unfinished file: a second one is refused, not let in.
  auto first = node::AtomicFile::create(dir.path() / "busy.ops");
  REQUIRE(first.is_ok());
  auto second = node::AtomicFile::create(dir.path() / "busy.ops");
  REQUIRE_FALSE(second.is_ok());
  CHECK_THAT(second.status().message(), Catch::Contains("wait for it to finish"));
  REQUIRE((*first)->write(as_bytes("whole")).is_ok());
  REQUIRE((*first)->commit().is_ok());
  CHECK(contents(dir.path() / "busy.ops") == "whole");
}

TEST_CASE("a bundle export never writes through a link planted at out.bundle.partial and is 0600", "[files][bundle]") {
  Umask permissive(022);
  County c(photo_of(100));
  TempDir dir;
  fs::path victim = dir.path() / "victim.txt";
  std::ofstream(victim) << "not anwang's";
  fs::create_symlink(victim, dir.path() / "out.bundle.partial");
  node::BundleExportOptions options;
  options.recipient = c.village.key.public_key();
  auto refused = node::export_bundle(*c.county.store, c.county.key, options, dir.path() / "out.bundle");
  REQUIRE_FALSE(refused.is_ok());
  CHECK(contents(victim) == "not anwang's");
  fs::remove(dir.path() / "out.bundle.partial");
  auto exported = node::export_bundle(*c.county.store, c.county.key, options, dir.path() / "out.bundle");
  INFO(exported.status().message());
  REQUIRE(exported.is_ok());
  CHECK(mode_of(dir.path() / "out.bundle") == 0600);
}

TEST_CASE("a blob chunk is taken only for a blob a held op references, with the size that op gives", "[blobs]") {
  Bytes photo = photo_of(3 * limits::blob_chunk_bytes + 1000);
  County c(photo);
  node::Store& store = *c.village.store;
  // A blob no op references: nothing of it is kept.
  Bytes stray = photo_of(1000);
  Attachment unreferenced{blake2b_256(stray), stray.size(), "image/jpeg"};
  Status refused = store.put_blob_chunk(unreferenced, 0, stray);
  CHECK(refused.code() == Status::Code::kRefused);
  CHECK_FALSE(*store.has_blob(unreferenced.hash));
  CHECK(*store.blob_bytes_held(unreferenced.hash) == 0);
  // The referenced blob declared with another size than its op's: refused at the first chunk.
  Attachment wrong_size = c.photo;
  wrong_size.size = limits::blob_chunk_bytes;
  CHECK(store.put_blob_chunk(wrong_size, 0, ByteView(photo.data(), limits::blob_chunk_bytes)).code() ==
        Status::Code::kRefused);
  CHECK(*store.blob_bytes_held(c.photo.hash) == 0);
  // A chunk past the declared size: refused.
  CHECK(store.put_blob_chunk(c.photo, 4 * limits::blob_chunk_bytes, ByteView(photo.data(), 10)).code() ==
        Status::Code::kRefused);
  // The bytes of another blob under its hash: dropped when shown wrong, nothing left of them.
  Bytes forged = photo;
  forged[5] ^= 1;
  CHECK(put_in_chunks(store, c.photo, forged).code() == Status::Code::kRefused);
  CHECK_FALSE(*store.has_blob(c.photo.hash));
  CHECK(*store.blob_bytes_held(c.photo.hash) == 0);
  // The honest blob: two chunks, then (the node restarted) the rest, checked by a running hash
  // rebuilt from the chunks held.
  REQUIRE(store.put_blob_chunk(c.photo, 0, ByteView(photo.data(), limits::blob_chunk_bytes)).is_ok());
  REQUIRE(store.put_blob_chunk(c.photo, limits::blob_chunk_bytes,
                               ByteView(photo.data() + limits::blob_chunk_bytes, limits::blob_chunk_bytes))
              .is_ok());
  fs::path village_dir = c.village.dir.path();
  c.village.store.reset();
  c.village.store = test::open_store(village_dir);
  REQUIRE(put_in_chunks(*c.village.store, c.photo, photo).is_ok());
  CHECK(*c.village.store->has_blob(c.photo.hash));
  Bytes back;
  REQUIRE(c.village.store->read_blob(c.photo.hash, [&back](ByteView chunk) { back.insert(back.end(), chunk.begin(), chunk.end()); })
              .is_ok());
  CHECK(back == photo);
  // Held now: a further chunk of it is not taken again.
  CHECK(c.village.store->put_blob_chunk(c.photo, 0, ByteView(photo.data(), limits::blob_chunk_bytes)).code() ==
        Status::Code::kRefused);
}

TEST_CASE("a photo of several chunks syncs whole to the village that holds its hazard", "[blobs][sync]") {
  Bytes photo = photo_of(5 * limits::blob_chunk_bytes + 77);
  County c(photo);
  auto stored = c.county.store->put_blob(photo, "image/jpeg");
  REQUIRE(stored.is_ok());
  REQUIRE(stored->hash == c.photo.hash);
  auto [ra, rb] = test::sync(c.village, c.county);
  INFO(ra.status().message() << " / " << rb.status().message());
  REQUIRE(ra.is_ok());
  REQUIRE(rb.is_ok());
  CHECK(ra->blobs_received == 1);
  CHECK(ra->blobs_refused == 0);
  CHECK(*c.village.store->has_blob(c.photo.hash));
}
