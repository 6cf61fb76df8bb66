// tcp.h — the edge between sync sessions and real sockets (standalone Asio, blocking calls).
//
// TcpTransport adapts a connected socket to node::Transport with a receive timeout, so a peer
// that stalls (or drips a byte a second) cannot hold a session forever. Used by `anwang sync`
// and by anwangd, one session per thread at a time.
#pragma once

#include <asio.hpp>
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
  Status write(ByteView bytes) override;
  Result<Bytes> read_some() override;
  void set_receive_timeout_ms(int timeout_ms) override;

 private:
  asio::ip::tcp::socket socket_;
};

Result<std::unique_ptr<TcpTransport>> tcp_connect(asio::io_context& io, const Endpoint& endpoint, int timeout_ms);

// Fresh randomness for a handshake's ephemeral key.
std::array<std::uint8_t, 32> fresh_seed();

}  // namespace anwang::node
