// pipe_transport.h — an in-memory byte stream (one Pipe per direction) and a node::Transport
// over two of them, for running both ends of a sync session in one process on two threads.
// Header-only and free of Catch2, so benchmarks and tools can use it too.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>

#include "node/sync.h"

namespace anwang::test {

// One direction of an in-memory stream.
class Pipe {
 public:
  // `timeout`: how long a read waits for bytes before it fails.
  explicit Pipe(std::chrono::seconds timeout = std::chrono::seconds(120)) : timeout_(timeout) {}
  void write(ByteView bytes) {
    std::lock_guard<std::mutex> lock(mutex_);
    buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
    ready_.notify_all();
  }
  Result<Bytes> read() {
    std::unique_lock<std::mutex> lock(mutex_);
    if (!ready_.wait_for(lock, timeout_, [this] { return !buffer_.empty() || closed_; }))
      return Status::error(Status::Code::kUnavailable, "timed out");
    if (buffer_.empty()) return Status::error(Status::Code::kUnavailable, "closed");
    Bytes out(buffer_.begin(), buffer_.end());
    buffer_.clear();
    return out;
  }
  void close() {
    std::lock_guard<std::mutex> lock(mutex_);
    closed_ = true;
    ready_.notify_all();
  }

 private:
  std::chrono::seconds timeout_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::uint8_t> buffer_;
  bool closed_ = false;
};

class PipeTransport final : public node::Transport {
 public:
  PipeTransport(Pipe& in, Pipe& out) : in_(in), out_(out) {}
  Status write(ByteView bytes) override {
    out_.write(bytes);
    return Status::ok();
  }
  Result<Bytes> read_some() override { return in_.read(); }

 private:
  Pipe& in_;
  Pipe& out_;
};

}  // namespace anwang::test
