#include <catch2/catch.hpp>

#include <random>
#include <set>
#include <string>

#include "crdt/bytes.h"
#include "crdt/hash.h"
#include "crdt/id_set.h"

using namespace anwang;

TEST_CASE("hex round-trips and rejects bad digits", "[bytes]") {
  Hash32 id = blake2b_256(as_bytes("x"));
  CHECK(Hash32::from_hex(id.hex()) == id);
  CHECK_FALSE(Hash32::from_hex("zz"));
  CHECK_FALSE(Hash32::from_hex(id.hex().substr(2)));
  CHECK(to_hex(Bytes{0x00, 0xab, 0xff}) == "00abff");
}

TEST_CASE("big-endian keys sort like numbers", "[bytes]") {
  Bytes a, b;
  append_u64_be(a, 255);
  append_u64_be(b, 256);
  CHECK(a < b);
  CHECK(read_u64_be(b.data()) == 256);
}

TEST_CASE("named object ids are stable and distinct by kind", "[bytes]") {
  CHECK(named_object_id("region", "150430100") == named_object_id("region", "150430100"));
  CHECK(named_object_id("region", "150430100") != named_object_id("note", "150430100"));
  CHECK(authored_object_id(Hash32{}, 1) != authored_object_id(Hash32{}, 2));
}

TEST_CASE("an id set holds each id once, including ids that share long prefixes", "[bytes]") {
  IdSet set;
  // Reserved for fewer than it will hold, after a first id: it keeps what it held and still grows.
  SECTION("grown as it goes") {}
  SECTION("reserved part of the way") {
    CHECK(set.insert(blake2b_256(as_bytes("0"))));
    set.reserve(3000);
    CHECK(set.contains(blake2b_256(as_bytes("0"))));
    CHECK(set.size() == 1);
    CHECK(set.capacity() >= 3000);
    std::size_t reserved = set.capacity();
    set.reserve(10);  // smaller than it has room for: nothing changes
    CHECK(set.size() == 1);
    CHECK(set.capacity() == reserved);
    // Up to the reserved count, inserting never grows it.
    for (int i = 1; i < 3000; ++i) set.insert(blake2b_256(as_bytes("r" + std::to_string(i))));
    CHECK(set.capacity() == reserved);
    CHECK(set.size() == 3000);
  }
  std::set<Hash32> model;  // starts as what the section left in the set
  set.for_each([&](const Hash32& id) { model.insert(id); });
  std::mt19937_64 rng(3);
  for (int i = 0; i < 5000; ++i) {
    Hash32 id;
    if (i % 2 == 0) {
      id = blake2b_256(as_bytes(std::to_string(rng() % 4000)));
    } else {  // ids that differ only in their last bytes, as tests build them
      id.bytes[30] = static_cast<std::uint8_t>(rng() % 40);
      id.bytes[31] = static_cast<std::uint8_t>(rng());
    }
    CHECK(set.insert(id) == model.insert(id).second);
  }
  CHECK(set.size() == model.size());
  for (const Hash32& id : model) CHECK(set.contains(id));
  CHECK_FALSE(set.contains(blake2b_256(as_bytes("never inserted"))));
  std::set<Hash32> visited;
  set.for_each([&](const Hash32& id) { CHECK(visited.insert(id).second); });
  CHECK(visited == model);
  IdSet empty;
  CHECK_FALSE(empty.contains(Hash32{}));
  CHECK(empty.insert(Hash32{}));
  CHECK(empty.contains(Hash32{}));
}
