// frame.h — length-prefixed frames, the unit every anwang link carries.
//
// A frame on the wire is: u32 little-endian body length, then the body (first byte: frame
// type). FrameDecoder is sans-IO: feed it whatever bytes arrived, take out whole frames. The
// declared length is checked against limits::frame_bytes_max before anything is allocated, and
// a decoder that saw a bad length stays failed (the connection must be closed).
// Owned by one connection, used from one thread.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>

#include "crdt/bytes.h"
#include "crdt/status.h"

namespace anwang::net {

inline constexpr std::size_t kFrameHeaderBytes = 4;

// Appends one frame holding `body` to `out`. REQUIRES: body.size() <= limits::frame_bytes_max.
void append_frame(Bytes& out, ByteView body);

class FrameDecoder {
 public:
  // Takes in received bytes. Returns an error (and stays failed) when a frame is over the cap.
  Status feed(ByteView bytes);
  // The next whole frame body, if one has arrived.
  std::optional<Bytes> next();
  bool failed() const { return failed_; }
  std::size_t buffered_bytes() const { return buffer_.size(); }

 private:
  Status parse();
  Bytes buffer_;
  std::deque<Bytes> frames_;
  bool failed_ = false;
};

}  // namespace anwang::net
