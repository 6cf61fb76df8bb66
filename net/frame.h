// frame.h — length-prefixed frames, the unit every anwang link carries.
//
// A frame on the wire is: u32 little-endian body length, then the body (first byte: frame
// type). FrameDecoder is sans-IO: feed it whatever bytes arrived, take out whole frames. The
// declared length is checked against the decoder's cap (limits::frame_bytes_max, or a smaller
// one before the peer is authenticated) before anything is allocated, and a decoder that saw a
// bad length stays failed (the connection must be closed).
// Owned by one connection, used from one thread.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>

#include "crdt/bytes.h"
#include "crdt/limits.h"
#include "crdt/status.h"

namespace anwang::net {

inline constexpr std::size_t kFrameHeaderBytes = 4;

// Appends one frame holding `body` to `out`. REQUIRES: body.size() <= limits::frame_bytes_max.
void append_frame(Bytes& out, ByteView body);

class FrameDecoder {
 public:
  FrameDecoder() = default;
  explicit FrameDecoder(std::size_t frame_bytes_max) : frame_bytes_max_(frame_bytes_max) {}
  // Frames declared longer than this fail the decoder. REQUIRES: at most limits::frame_bytes_max.
  void set_frame_bytes_max(std::size_t frame_bytes_max);
  // Takes in received bytes. Returns an error (and stays failed) when a frame is over the cap.
  // Frames are taken from the bytes one at a time, each checked against the cap in force when
  // it is asked for (so the cap may change between frames).
  Status feed(ByteView bytes);
  // The next whole frame body, if one has arrived. Afterwards failed() tells whether the bytes
  // after it declared a frame over the cap.
  std::optional<Bytes> next();
  bool failed() const { return failed_; }
  std::size_t buffered_bytes() const { return buffer_.size() - start_; }

 private:
  Status parse();
  Bytes buffer_;
  std::size_t start_ = 0;  // bytes of buffer_ already taken out as frames
  std::deque<Bytes> frames_;
  std::size_t frame_bytes_max_ = limits::frame_bytes_max;
  bool failed_ = false;
};

}  // namespace anwang::net
