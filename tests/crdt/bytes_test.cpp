#include <catch2/catch.hpp>

#include "crdt/bytes.h"
#include "crdt/hash.h"

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
