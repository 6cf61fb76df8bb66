// pipes.h — two sync sessions between test stores in one process (two threads), over the
// in-memory streams of pipe_transport.h.
#pragma once

#include <thread>

#include "crdt/hash.h"
#include "node/sync.h"
#include "support/fixtures.h"
#include "support/pipe_transport.h"

namespace anwang::test {

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
