// Frames: reassembled across reads; an oversized length is refused before allocation.
#include <catch2/catch.hpp>

#include "crdt/limits.h"
#include "net/frame.h"

using namespace anwang;

TEST_CASE("frames split across reads come out whole and in order", "[frame]") {
  Bytes wire;
  net::append_frame(wire, as_bytes("first"));
  net::append_frame(wire, as_bytes(""));
  net::append_frame(wire, as_bytes("third frame"));
  net::FrameDecoder decoder;
  for (std::uint8_t byte : wire) REQUIRE(decoder.feed(ByteView(&byte, 1)).is_ok());
  CHECK(decoder.next() == Bytes(as_bytes("first").begin(), as_bytes("first").end()));
  CHECK(decoder.next() == Bytes{});
  CHECK(decoder.next() == Bytes(as_bytes("third frame").begin(), as_bytes("third frame").end()));
  CHECK_FALSE(decoder.next());
  CHECK(decoder.buffered_bytes() == 0);
}

TEST_CASE("a frame declared over the cap fails the decoder at once", "[frame]") {
  Bytes header;
  append_u32_le(header, static_cast<std::uint32_t>(limits::frame_bytes_max + 1));
  net::FrameDecoder decoder;
  Status s = decoder.feed(header);
  CHECK_FALSE(s.is_ok());
  CHECK(decoder.failed());
  CHECK(decoder.buffered_bytes() == 0);
  CHECK_FALSE(decoder.feed(as_bytes("more")).is_ok());
}
