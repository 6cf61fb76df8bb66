#include "net/frame.h"

#include <cassert>

#include "crdt/limits.h"

namespace anwang::net {

void append_frame(Bytes& out, ByteView body) {
  assert(body.size() <= limits::frame_bytes_max);
  append_u32_le(out, static_cast<std::uint32_t>(body.size()));
  out.insert(out.end(), body.begin(), body.end());
}

Status FrameDecoder::feed(ByteView bytes) {
  if (failed_) return Status::error(Status::Code::kRefused, "the connection already sent an oversized frame");
  buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
  return parse();
}

Status FrameDecoder::parse() {
  std::size_t offset = 0;
  while (buffer_.size() - offset >= kFrameHeaderBytes) {
    std::uint32_t length = read_u32_le(buffer_.data() + offset);
    if (length > limits::frame_bytes_max) {
      failed_ = true;
      buffer_.clear();
      return Status::error(Status::Code::kRefused, "peer declared a frame of " + std::to_string(length) +
                                                       " bytes; the limit is " + std::to_string(limits::frame_bytes_max));
    }
    if (buffer_.size() - offset - kFrameHeaderBytes < length) break;
    auto begin = buffer_.begin() + static_cast<std::ptrdiff_t>(offset + kFrameHeaderBytes);
    frames_.emplace_back(begin, begin + length);
    offset += kFrameHeaderBytes + length;
  }
  buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(offset));
  return Status::ok();
}

std::optional<Bytes> FrameDecoder::next() {
  if (frames_.empty()) return std::nullopt;
  Bytes frame = std::move(frames_.front());
  frames_.pop_front();
  return frame;
}

}  // namespace anwang::net
