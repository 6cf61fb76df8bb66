// pipes.h — in-memory byte streams for running two sync sessions in one process (two threads).
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "crdt/hash.h"
#include "node/sync.h"
#include "support/fixtures.h"

namespace anwang::test {

// One direction of an in-memory stream.
class Pipe {
 public:
  void write(ByteView bytes) {
    std::lock_guard<std::mutex> lock(mutex_);
    buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
    ready_.notify_all();
  }
  Result<Bytes> read() {
    std::unique_lock<std::mutex> lock(mutex_);
    if (!ready_.wait_for(lock, std::chrono::seconds(120), [this] { return !buffer_.empty() || closed_; }))
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

struct Node {
  KeyPair key;
  TempDir dir;
  std::unique_ptr<node::Store> store;
  explicit Node(int n) : key(test_key(n)), store(test::open_store(dir.path())) {}
};

inline std::pair<Result<node::SyncReport>, Result<node::SyncReport>> sync(Node& a, Node& b) {
  Pipe a_to_b, b_to_a;
  PipeTransport ta(b_to_a, a_to_b), tb(a_to_b, b_to_a);
  Result<node::SyncReport> rb = Status::error(Status::Code::kUnavailable, "not run");
  std::thread responder([&] {
    rb = node::run_sync(*b.store, b.key, tb, node::SyncRole::kResponder, blake2b_256(as_bytes("b")).bytes);
    b_to_a.close();
  });
  auto ra = node::run_sync(*a.store, a.key, ta, node::SyncRole::kInitiator, blake2b_256(as_bytes("a")).bytes);
  a_to_b.close();
  responder.join();
  return {ra, rb};
}

}  // namespace anwang::test
