// Sync figures, measured: n ops already shared, d differences. Prints a table; run with
//   ctest --test-dir build -L figures --verbose
// ANWANG_FIGURES_N sets n (default 100,000).
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>

#include "crdt/hash.h"
#include "support/fixtures.h"
#include "support/pipes.h"

using namespace anwang;
using anwang::test::Node;
using anwang::test::OpFactory;
using anwang::test::test_key;

namespace {

constexpr const char* kVillage = "150430100201-03";

struct Figures {
  OpFactory factory;
  KeyPair reporter = test_key(0);
  std::vector<Op> authority;
  Hash32 head;
  std::uint64_t next_hlc = (test::kTestTimeMs + 1000) << 16;

  Figures(Node& county, Node& village) {
    authority.push_back(factory.genesis());
    head = factory.genesis().id;
    enrol(county, "150430");
    enrol(village, "150430100201");
  }
  void enrol(Node& node, const std::string& scope) {
    authority.push_back(factory.make(reporter, scope, node_object_id(node.key.public_key()),
                                     EnrolmentPayload{node.key.public_key()}, {head}));
    head = authority.back().id;
  }
  // A hazard report at the village, stamped `hlc` (defaults to the next tick).
  Op hazard(std::optional<std::uint64_t> hlc = std::nullopt) {
    HazardPayload h;
    h.action = "report";
    h.category = "fire";
    h.severity = "general";
    h.text = "巡查发现: 仓库消防通道堵塞, 灭火器过期";
    std::uint64_t seq = factory.next_seq(reporter);
    std::uint64_t stamp = hlc.value_or(next_hlc += 1 << 16);
    return factory.make(reporter, kVillage, authored_object_id(reporter.public_key(), seq), h, {head}, stamp);
  }
};

struct Row {
  std::string name;
  node::SyncReport a, b;
  double seconds;
};

Row measure(const std::string& name, Node& a, Node& b) {
  auto start = std::chrono::steady_clock::now();
  auto [ra, rb] = test::sync(a, b);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  INFO(ra.status().message() << " / " << rb.status().message());
  REQUIRE(ra.is_ok());
  REQUIRE(rb.is_ok());
  return Row{name, *ra, *rb, seconds};
}

void print(const Row& row, std::size_t differences) {
  std::uint64_t op_bytes = row.a.op_bytes_sent + row.a.op_bytes_received;
  std::uint64_t beyond_handshake = row.a.bytes_sent + row.a.bytes_received - row.a.handshake_bytes;
  std::printf("%-34s rounds %3d | A→B %9llu B | B→A %9llu B | handshake %4llu B | ops %6llu | op bytes %9llu",
              row.name.c_str(), row.a.reconcile_rounds,
              static_cast<unsigned long long>(row.a.bytes_sent), static_cast<unsigned long long>(row.a.bytes_received),
              static_cast<unsigned long long>(row.a.handshake_bytes),
              static_cast<unsigned long long>(row.a.ops_sent + row.a.ops_received),
              static_cast<unsigned long long>(op_bytes));
  if (differences > 0)
    std::printf(" | %.1f B/difference beyond op bytes | total ÷ op bytes %.3f",
                static_cast<double>(beyond_handshake - op_bytes) / static_cast<double>(differences),
                static_cast<double>(beyond_handshake) / static_cast<double>(op_bytes));
  std::printf(" | %.2f s\n", row.seconds);
}

}  // namespace

TEST_CASE("sync figures: d = 0, 10, 1,000 scattered, 1,000 recent, and a full sync", "[figures]") {
  const char* env = std::getenv("ANWANG_FIGURES_N");
  std::size_t n = env != nullptr ? std::strtoull(env, nullptr, 10) : 100'000;
  Node county(100), village(101), fresh(101);
  Figures f(county, village);
  std::vector<Bytes> shared = test::bytes_of(f.authority);
  for (std::size_t i = 0; i < n; ++i) shared.push_back(f.hazard().bytes);
  auto ingest_start = std::chrono::steady_clock::now();
  test::ingest_all(*county.store, shared, 1024);
  double ingest_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - ingest_start).count();
  test::ingest_all(*village.store, shared, 1024);
  test::ingest_all(*fresh.store, test::bytes_of(f.authority));
  std::printf("\nn = %zu shared hazard ops (ingest %.0f ops/s on one store)\n", n, static_cast<double>(n) / ingest_seconds);

  Row zero = measure("d=0", village, county);
  print(zero, 0);
  CHECK(zero.a.reconcile_rounds == 1);
  CHECK(zero.a.ops_received + zero.a.ops_sent == 0);

  std::vector<Bytes> ten;
  for (int i = 0; i < 10; ++i) ten.push_back(f.hazard().bytes);
  test::ingest_all(*county.store, ten);
  Row d10 = measure("d=10 recent", village, county);
  print(d10, 10);
  CHECK(d10.a.ops_received == 10);

  std::mt19937_64 rng(7);
  std::uint64_t low = (test::kTestTimeMs + 2000) << 16, high = f.next_hlc;
  std::vector<Bytes> scattered;
  for (int i = 0; i < 1000; ++i) scattered.push_back(f.hazard(low + rng() % (high - low)).bytes);
  test::ingest_all(*county.store, scattered);
  Row d1000 = measure("d=1,000 scattered", village, county);
  print(d1000, 1000);
  CHECK(d1000.a.ops_received == 1000);

  std::vector<Bytes> recent;
  for (int i = 0; i < 1000; ++i) recent.push_back(f.hazard().bytes);
  test::ingest_all(*county.store, recent);
  Row r1000 = measure("d=1,000 recent", village, county);
  print(r1000, 1000);
  CHECK(r1000.a.ops_received == 1000);

  Row full = measure("full sync into a fresh village", fresh, county);
  print(full, full.a.ops_received);
  CHECK(full.a.ops_received == n + 2010);
  std::printf("\n");
}
