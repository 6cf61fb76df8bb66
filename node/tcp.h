// tcp.h — the edge between sync sessions and real sockets (standalone Asio, blocking calls).
//
// TcpTransport adapts a connected socket to node::Transport. Every read and write waits at most
// the receive timeout, and at most until the deadline when one is set (Transport::set_deadline_ms),
// so a peer that stalls cannot hold a session forever and one that drips a byte a second is cut
// off when the handshake's time is up. The socket is non-blocking underneath and waits in poll():
// Asio's blocking calls retry on a socket timeout and would wait for ever. Used by `anwang sync`
// and by anwangd, one transport per thread; shutdown() may be called from another thread to end a
// session at once (the daemon stopping).
#pragma once

#include <asio.hpp>
#include <chrono>
#include <memory>
#include <string>

#include "node/sync.h"

namespace anwang::node {

struct Endpoint {
  std::string host;
  std::uint16_t port = 0;
};

// Parses "HOST:PORT". Errors name the rule.
Result<Endpoint> parse_endpoint(const std::string& text);

class TcpTransport final : public Transport {
 public:
  TcpTransport(asio::ip::tcp::socket socket, int receive_timeout_ms);
  TcpTransport(const TcpTransport&) = delete;
  TcpTransport& operator=(const TcpTransport&) = delete;
  Status write(ByteView bytes) override;
  Result<Bytes> read_some() override;
  void set_receive_timeout_ms(int timeout_ms) override { timeout_ms_ = timeout_ms; }
  void set_deadline_ms(int timeout_ms) override;
  void linger(int timeout_ms) override;
  // The socket's descriptor, for ::shutdown() from another thread.
  int native_handle() { return socket_.native_handle(); }

 private:
  // Waits until the socket is ready for `events` (POLLIN, POLLOUT) within this call's time.
  Status wait(short events);
  asio::ip::tcp::socket socket_;
  int timeout_ms_;
  int deadline_ms_ = 0;  // 0: none
  std::chrono::steady_clock::time_point deadline_;
};

// Connects within `timeout_ms` (an unreachable host does not hold the caller for minutes).
Result<std::unique_ptr<TcpTransport>> tcp_connect(asio::io_context& io, const Endpoint& endpoint, int timeout_ms);

// Fresh randomness for a handshake's ephemeral key.
std::array<std::uint8_t, 32> fresh_seed();

// One session with the node at `endpoint`, dialled as `anwang sync` does it: a fresh connection
// (within limits::sync_receive_timeout_ms) for each attempt of sync_dialled, so a node of the
// previous release is met in wire version 2.
Result<SyncReport> dial_and_sync(asio::io_context& io, const Endpoint& endpoint, Store& store, const KeyPair& node_key,
                                 const SyncOptions& options);

}  // namespace anwang::node
