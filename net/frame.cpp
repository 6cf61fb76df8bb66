#include "net/frame.h"

#include <cassert>

#include "crdt/limits.h"

namespace anwang::net {

void append_frame(Bytes& out, ByteView body) {
  assert(body.size() <= limits::frame_bytes_max);
  append_u32_le(out, static_cast<std::uint32_t>(body.size()));
  out.insert(out.end(), body.begin(), body.end());
}

void FrameDecoder::set_frame_bytes_max(std::size_t frame_bytes_max) {
  assert(frame_bytes_max <= limits::frame_bytes_max);
  frame_bytes_max_ = frame_bytes_max;
}

Status FrameDecoder::feed(ByteView bytes) {
  if (failed_) return Status::error(Status::Code::kRefused, "the connection already sent an oversized frame");
  buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
  return parse();
}

// One frame at a time: the next frame is taken from the buffer only when it is asked for, so a
// cap changed in between (after the handshake) applies to every frame after.
Status FrameDecoder::parse() {
  while (frames_.empty() && buffer_.size() - start_ >= kFrameHeaderBytes) {
    std::uint32_t length = read_u32_le(buffer_.data() + start_);
    if (length > frame_bytes_max_) {
      failed_ = true;
      buffer_.clear();
      start_ = 0;
      return Status::error(Status::Code::kRefused, "peer declared a frame of " + std::to_string(length) +
                                                       " bytes; the limit is " + std::to_string(frame_bytes_max_));
    }
    if (buffer_.size() - start_ - kFrameHeaderBytes < length) break;
    auto begin = buffer_.begin() + static_cast<std::ptrdiff_t>(start_ + kFrameHeaderBytes);
    frames_.emplace_back(begin, begin + length);
    start_ += kFrameHeaderBytes + length;
  }
  // Drop what was taken once it is most of the buffer: each byte moves at most once on average.
  if (start_ == buffer_.size()) {
    buffer_.clear();
    start_ = 0;
  } else if (start_ > buffer_.size() / 2) {
    buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(start_));
    start_ = 0;
  }
  return Status::ok();
}

std::optional<Bytes> FrameDecoder::next() {
  if (frames_.empty()) (void)parse();  // an oversized frame leaves the decoder failed
  if (frames_.empty()) return std::nullopt;
  Bytes frame = std::move(frames_.front());
  frames_.pop_front();
  return frame;
}

}  // namespace anwang::net
