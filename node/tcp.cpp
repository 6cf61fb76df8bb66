#include "node/tcp.h"

#include <sodium.h>
#include <sys/socket.h>

#include <charconv>

namespace anwang::node {

Result<Endpoint> parse_endpoint(const std::string& text) {
  auto colon = text.rfind(':');
  Endpoint endpoint;
  unsigned port = 0;
  if (colon == std::string::npos || colon == 0 ||
      std::from_chars(text.data() + colon + 1, text.data() + text.size(), port).ec != std::errc() || port == 0 ||
      port > 65535)
    return Status::invalid("'" + text + "' must be HOST:PORT, e.g. 127.0.0.1:7400");
  endpoint.host = text.substr(0, colon);
  endpoint.port = static_cast<std::uint16_t>(port);
  return endpoint;
}

namespace {
void set_timeouts(asio::ip::tcp::socket& socket, int timeout_ms) {
  timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(socket.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}
}  // namespace

TcpTransport::TcpTransport(asio::ip::tcp::socket socket, int receive_timeout_ms) : socket_(std::move(socket)) {
  set_timeouts(socket_, receive_timeout_ms);
  asio::error_code ignored;
  socket_.set_option(asio::ip::tcp::no_delay(true), ignored);
}

void TcpTransport::set_receive_timeout_ms(int timeout_ms) { set_timeouts(socket_, timeout_ms); }

Status TcpTransport::write(ByteView bytes) {
  asio::error_code ec;
  asio::write(socket_, asio::buffer(bytes.data(), bytes.size()), ec);
  if (ec) return Status::error(Status::Code::kUnavailable, "the connection failed while sending: " + ec.message());
  return Status::ok();
}

Result<Bytes> TcpTransport::read_some() {
  Bytes buffer(64 * 1024);
  asio::error_code ec;
  std::size_t n = socket_.read_some(asio::buffer(buffer), ec);
  if (ec == asio::error::eof) return Status::error(Status::Code::kUnavailable, "the peer closed the connection");
  if (ec == asio::error::would_block || ec == asio::error::try_again || ec == asio::error::timed_out)
    return Status::error(Status::Code::kUnavailable, "the peer went silent (receive timeout)");
  if (ec) return Status::error(Status::Code::kUnavailable, "the connection failed while receiving: " + ec.message());
  buffer.resize(n);
  return buffer;
}

Result<std::unique_ptr<TcpTransport>> tcp_connect(asio::io_context& io, const Endpoint& endpoint, int timeout_ms) {
  asio::error_code ec;
  asio::ip::tcp::resolver resolver(io);
  auto results = resolver.resolve(endpoint.host, std::to_string(endpoint.port), ec);
  if (ec) return Status::error(Status::Code::kUnavailable, "cannot resolve " + endpoint.host + ": " + ec.message());
  asio::ip::tcp::socket socket(io);
  asio::connect(socket, results, ec);
  if (ec)
    return Status::error(Status::Code::kUnavailable,
                         "cannot connect to " + endpoint.host + ":" + std::to_string(endpoint.port) + ": " + ec.message());
  return std::make_unique<TcpTransport>(std::move(socket), timeout_ms);
}

std::array<std::uint8_t, 32> fresh_seed() {
  std::array<std::uint8_t, 32> seed{};
  randombytes_buf(seed.data(), seed.size());
  return seed;
}

}  // namespace anwang::node
