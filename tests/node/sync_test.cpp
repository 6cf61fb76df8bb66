// Sync sessions between two stores over in-memory pipes (one thread each).
#include <catch2/catch.hpp>


#include "crdt/hash.h"
#include "node/constitution.h"
#include "node/sync.h"
#include "support/fixtures.h"
#include "support/pipes.h"

using namespace anwang;
using anwang::test::OpFactory;
using anwang::test::TempDir;
using anwang::test::test_key;
using anwang::test::Node;
using anwang::test::sync;

namespace {

// A county with a township and two villages; node keys enrolled; some records in each village.
struct World {
  OpFactory factory;
  KeyPair root = test_key(0);
  Node county{100}, township{101}, village_a{102}, village_b{103}, stranger{104};
  std::vector<Op> all;

  World() {
    all.push_back(factory.genesis());
    enrol(county, "150430");
    enrol(township, "150430100");
    enrol(village_a, "150430100201");
    enrol(village_b, "150430100202");
    Hash32 last_a = all.back().id, last_b = all.back().id;
    for (int i = 0; i < 30; ++i) {
      all.push_back(factory.note(root, "150430100201", "一村 " + std::to_string(i), {last_a}));
      last_a = all.back().id;
      all.push_back(factory.note(root, "150430100202", "二村 " + std::to_string(i), {last_b}));
      last_b = all.back().id;
    }
    for (Node* node : {&county, &township, &village_a, &village_b, &stranger})
      test::ingest_all(*node->store, {factory.genesis().bytes});
  }
  void enrol(Node& node, const std::string& scope) {
    all.push_back(factory.make(root, scope, node_object_id(node.key.public_key()), EnrolmentPayload{node.key.public_key()},
                               {all.back().id}));
  }
  void give_everything_to(Node& node) { test::ingest_all(*node.store, test::bytes_of(all)); }
  std::uint64_t ops_in(const Node& node) { return node.store->stats()->ops; }
  // Does the node hold records (not authority ops, which every node holds) of `scope`?
  bool holds_scope(const Node& node, const std::string& scope) {
    bool found = false;
    node.store->for_each_op([&](const Op& op) {
      found = found || (op.fields.scope == scope && !is_authority_payload(op.fields.payload));
    });
    return found;
  }
};

}  // namespace

TEST_CASE("a village syncing with the county receives its own village and the authority graph only", "[sync]") {
  World w;
  w.give_everything_to(w.county);
  // A new village node that holds the authority graph (from its joining bundle, in practice).
  Node fresh(102);
  std::vector<Bytes> authority;
  for (const Op& op : w.all)
    if (is_authority_payload(op.fields.payload)) authority.push_back(op.bytes);
  test::ingest_all(*fresh.store, authority);
  auto [ra, rb] = sync(fresh, w.county);
  INFO(ra.status().message() << " / " << rb.status().message());
  REQUIRE(ra.is_ok());
  REQUIRE(rb.is_ok());
  CHECK(ra->peer == w.county.key.public_key());
  CHECK(ra->ops_received == 30);
  CHECK(ra->ops_refused == 0);
  CHECK(w.holds_scope(fresh, "150430100201"));
  CHECK_FALSE(w.holds_scope(fresh, "150430100202"));
  // Nothing left: a second session moves no ops and settles in one round.
  auto [again, again_b] = sync(fresh, w.county);
  REQUIRE(again.is_ok());
  CHECK(again->ops_received == 0);
  CHECK(again->ops_sent == 0);
  CHECK(again->reconcile_rounds == 1);
}

TEST_CASE("a village's new records go up to the township, and the township relays them to the county", "[sync]") {
  World w;
  std::vector<Bytes> authority;
  for (const Op& op : w.all)
    if (is_authority_payload(op.fields.payload)) authority.push_back(op.bytes);
  for (Node* node : {&w.county, &w.township, &w.village_a}) test::ingest_all(*node->store, authority);
  std::vector<Bytes> village_records;
  for (const Op& op : w.all)
    if (op.fields.scope == "150430100201" && !is_authority_payload(op.fields.payload)) village_records.push_back(op.bytes);
  test::ingest_all(*w.village_a.store, village_records);
  REQUIRE(sync(w.village_a, w.township).first.is_ok());
  REQUIRE(sync(w.township, w.county).first.is_ok());
  CHECK(w.holds_scope(w.county, "150430100201"));
  CHECK(*w.county.store->digest() != Hash32{});
  std::uint64_t county_ops = w.ops_in(w.county);
  CHECK(county_ops == authority.size() + village_records.size());
}

TEST_CASE("a node that is not enrolled is refused at the handshake", "[sync]") {
  World w;
  w.give_everything_to(w.county);
  test::ingest_all(*w.stranger.store, test::bytes_of(w.all));
  auto [ra, rb] = sync(w.stranger, w.county);
  CHECK_FALSE(ra.is_ok());
  CHECK_FALSE(rb.is_ok());
  CHECK_THAT(ra.status().message() + rb.status().message(), Catch::Contains("not enrolled"));
}
