// Op files: export then import reproduces the store; broken files are refused clearly.
#include <catch2/catch.hpp>
#include <fstream>
#include <random>

#include "node/op_file.h"
#include "support/fixtures.h"

using namespace anwang;
using anwang::test::TempDir;

TEST_CASE("export then import into a new store gives an identical store", "[op_file]") {
  TempDir dir;
  std::mt19937_64 rng(3);
  auto history = test::random_history(rng, 300, 5);
  auto source = test::open_store(dir.path() / "a");
  Hash32 expected = test::ingest_all(*source, test::bytes_of(history));
  auto exported = node::export_ops(*source, dir.path() / "ops.bin");
  REQUIRE(exported.is_ok());
  CHECK(*exported == history.size());
  auto target = test::open_store(dir.path() / "b");
  std::uint64_t last_progress = 0;
  auto report = node::import_ops(*target, dir.path() / "ops.bin", [&](std::uint64_t read) { last_progress = read; });
  REQUIRE(report.is_ok());
  CHECK(report->accepted == history.size());
  CHECK(report->refused == 0);
  CHECK(report->pending == 0);
  CHECK(last_progress == history.size());
  CHECK(*target->digest() == expected);
  auto again = node::import_ops(*target, dir.path() / "ops.bin");
  REQUIRE(again.is_ok());
  CHECK(again->duplicate == history.size());
}

TEST_CASE("ops imported children-first are held and then all accepted", "[op_file]") {
  TempDir dir;
  std::mt19937_64 rng(4);
  auto history = test::random_history(rng, 100, 3);
  std::vector<Bytes> reversed = test::bytes_of(history);
  std::reverse(reversed.begin(), reversed.end());
  REQUIRE(node::write_op_file(dir.path() / "rev.bin", reversed).is_ok());
  auto store = test::open_store(dir.path() / "s");
  auto report = node::import_ops(*store, dir.path() / "rev.bin");
  REQUIRE(report.is_ok());
  CHECK(report->accepted == history.size());
  CHECK(report->pending == 0);
}

TEST_CASE("a file that is not an op file, or is cut short, is refused with a sentence", "[op_file]") {
  TempDir dir;
  auto store = test::open_store(dir.path() / "s");
  std::ofstream(dir.path() / "junk.bin") << "hello world, not ops";
  auto junk = node::import_ops(*store, dir.path() / "junk.bin");
  REQUIRE_FALSE(junk.is_ok());
  CHECK_THAT(junk.status().message(), Catch::Contains("not an anwang op file"));
  test::OpFactory factory;
  REQUIRE(node::write_op_file(dir.path() / "ok.bin", {factory.genesis().bytes}).is_ok());
  auto size = std::filesystem::file_size(dir.path() / "ok.bin");
  std::filesystem::resize_file(dir.path() / "ok.bin", size - 5);
  auto cut = node::import_ops(*store, dir.path() / "ok.bin");
  REQUIRE_FALSE(cut.is_ok());
  CHECK_THAT(cut.status().message(), Catch::Contains("ends in the middle"));
  CHECK_FALSE(node::import_ops(*store, dir.path() / "missing.bin").is_ok());
}
