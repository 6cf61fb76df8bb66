// Issue 20, finding 2: ops by keys with no role were stored and relayed without limit, and each
// junk delegation joined the authority graph (10k, 20k and 40k of them added 54, 115 and 266 MiB
// of RSS on each node). Now an op whose author no office named in its own past is refused at
// ingest (no_office): the flood costs each node a signature check per op and nothing more.
#include <catch2/catch.hpp>

#include <chrono>
#include <fstream>
#include <string>

#include "crdt/hash.h"
#include "crdt/hlc.h"
#include "node/store.h"
#include "support/fixtures.h"

using namespace anwang;
using anwang::test::OpFactory;
using anwang::test::TempDir;
using anwang::test::test_key;

namespace {

std::uint64_t rss_kib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6));
  return 0;
}

// `count` county-wide appointments, each by its own throwaway key appointing itself, naming the
// network's authority heads; one in eight dated just below the ceiling of every timestamp.
std::vector<Bytes> junk_delegations(const OpFactory& factory, const std::vector<Hash32>& heads, std::uint64_t floor,
                                    std::size_t count) {
  std::vector<Bytes> out;
  out.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    Hash32 seed = blake2b_256(as_bytes("junk key " + std::to_string(i)));
    KeyPair junk = KeyPair::from_seed(seed.view());
    OpFields f;
    f.network = factory.network();
    f.author = junk.public_key();
    f.author_seq = 1;
    f.parents = heads;
    f.hlc = i % 8 == 0 ? kHlcCeiling - 1 : floor + 1 + i;
    f.scope = test::kCounty;
    f.object = named_object_id("grant", junk.public_key().hex());
    f.payload = DelegationPayload{junk.public_key(), "county_admin", {}};
    auto op = sign_op(f, junk);
    REQUIRE(op.is_ok());
    out.push_back(std::move(op->bytes));
  }
  return out;
}

void flood(std::size_t count) {
  TempDir dir;
  auto store = test::open_store(dir.path());
  OpFactory factory;
  KeyPair town = test_key(10);
  Op grant = factory.make(test_key(0), "150430100", named_object_id("grant", "town"),
                          DelegationPayload{town.public_key(), "township_station", {}}, {factory.genesis().id});
  test::ingest_all(*store, {factory.genesis().bytes, grant.bytes});
  std::vector<Bytes> junk = junk_delegations(factory, {grant.id}, grant.fields.hlc, count);
  std::uint64_t rss_before = rss_kib();
  auto stats_before = store->stats();
  REQUIRE(stats_before.is_ok());
  auto start = std::chrono::steady_clock::now();
  std::size_t refused = 0;
  for (std::size_t at = 0; at < junk.size(); at += limits::ingest_batch_ops_max) {
    std::size_t end = std::min(junk.size(), at + limits::ingest_batch_ops_max);
    auto report = store->ingest(std::span<const Bytes>(junk.data() + at, end - at));
    REQUIRE(report.is_ok());
    for (const node::IngestOutcome& outcome : report->outcomes) {
      REQUIRE(outcome.kind == node::IngestOutcome::Kind::kRefused);
      REQUIRE(outcome.reason == Refusal::kNoOffice);
      ++refused;
    }
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::uint64_t rss_after = rss_kib();
  CHECK(refused == count);
  // Nothing of the flood is stored, waits, or joins the authority graph.
  auto stats = store->stats();
  REQUIRE(stats.is_ok());
  CHECK(stats->ops == stats_before->ops);
  CHECK(stats->pending == 0);
  auto state = store->authority();
  REQUIRE(state.is_ok());
  CHECK((*state)->graph().size() == 2);
  // Honest work goes on: the township appoints a village head, stamped at its own time.
  ManualClock wall(test::kTestTimeMs + 60'000);
  node::OpDraft appoint{"150430100201", Hash32{}, DelegationPayload{test_key(20).public_key(), "village_head", {}}, {},
                        node::DraftTarget::kNewRecord};
  auto appointed = store->author(town, appoint, wall);
  INFO(appointed.status().message());
  REQUIRE(appointed.is_ok());
  CHECK(appointed->fields.hlc < hlc_from_ms(test::kTestTimeMs + 3'600'000));
  CHECK(store->verdict(*appointed)->effective);
  WARN(count << " junk appointments refused in " << seconds << " s (" << static_cast<std::uint64_t>(count / seconds)
             << " ops/s); RSS " << rss_before / 1024 << " MiB before, " << rss_after / 1024 << " MiB after (the junk's "
             << junk.size() * junk.front().size() / (1024 * 1024) << " MiB of bytes held by the test itself); store "
             << stats->ops << " ops");
}

}  // namespace

TEST_CASE("a flood of appointments by keys no office named is refused, stores nothing and stops nobody",
          "[store][issue20]") {
  flood(20'000);
}

// The acceptance figure; about a minute. Run: build/tests/node_tests "[.flood]"
TEST_CASE("400,000 junk appointments from one compromised node", "[.flood][issue20]") { flood(400'000); }
