#include "node/tcp.h"

#include <sodium.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include <charconv>

#include "crdt/limits.h"

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

constexpr std::size_t kReadBytes = 64 * 1024;

Status unavailable(const std::string& what) { return Status::error(Status::Code::kUnavailable, what); }

bool would_block(const asio::error_code& ec) {
  return ec == asio::error::would_block || ec == asio::error::try_again;
}

}  // namespace

TcpTransport::TcpTransport(asio::ip::tcp::socket socket, int receive_timeout_ms)
    : socket_(std::move(socket)), timeout_ms_(receive_timeout_ms) {
  asio::error_code ignored;
  socket_.set_option(asio::ip::tcp::no_delay(true), ignored);
  socket_.non_blocking(true, ignored);
}

void TcpTransport::set_deadline_ms(int timeout_ms) {
  deadline_ms_ = timeout_ms;
  deadline_ = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
}

void TcpTransport::linger(int timeout_ms) {
  asio::error_code ignored;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  std::uint8_t buffer[16 * 1024];
  while (true) {
    asio::error_code ec;
    socket_.read_some(asio::buffer(buffer), ec);
    if (ec && !would_block(ec)) return;  // the peer closed (or reset): nothing more to wait for
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now()).count();
    if (left <= 0) return;
    if (!ec) continue;
    pollfd ready{socket_.native_handle(), POLLIN, 0};
    if (::poll(&ready, 1, static_cast<int>(left)) < 0 && errno != EINTR) return;
  }
}

Status TcpTransport::wait(short events) {
  while (true) {
    int wait_ms = timeout_ms_;
    bool deadline_first = false;
    if (deadline_ms_ > 0) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - std::chrono::steady_clock::now());
      if (left.count() <= 0) return unavailable("the peer did not finish within " + std::to_string(deadline_ms_) + " ms");
      if (left.count() < wait_ms) {
        wait_ms = static_cast<int>(left.count());
        deadline_first = true;
      }
    }
    pollfd ready{socket_.native_handle(), events, 0};
    int rc = ::poll(&ready, 1, wait_ms);
    if (rc > 0) return Status::ok();
    if (rc < 0 && errno == EINTR) continue;
    if (rc < 0) return unavailable(std::string("waiting on the connection failed: ") + std::strerror(errno));
    if (deadline_first) continue;  // reported at the top
    return unavailable(events == POLLIN ? "the peer went silent (receive timeout)" : "the peer stopped reading (send timeout)");
  }
}

Status TcpTransport::write(ByteView bytes) {
  while (!bytes.empty()) {
    asio::error_code ec;
    std::size_t n = socket_.write_some(asio::buffer(bytes.data(), bytes.size()), ec);
    if (!ec) {
      bytes = bytes.subspan(n);
      continue;
    }
    if (!would_block(ec)) return unavailable("the connection failed while sending: " + ec.message());
    if (Status s = wait(POLLOUT); !s) return s;
  }
  return Status::ok();
}

Result<Bytes> TcpTransport::read_some() {
  if (deadline_ms_ > 0 && std::chrono::steady_clock::now() >= deadline_)
    return unavailable("the peer did not finish within " + std::to_string(deadline_ms_) + " ms");
  Bytes buffer(kReadBytes);
  while (true) {
    asio::error_code ec;
    std::size_t n = socket_.read_some(asio::buffer(buffer), ec);
    if (!ec) {
      buffer.resize(n);
      return buffer;
    }
    if (ec == asio::error::eof) return unavailable("the peer closed the connection");
    if (!would_block(ec)) return unavailable("the connection failed while receiving: " + ec.message());
    if (Status s = wait(POLLIN); !s) return s;
  }
}

Result<std::unique_ptr<TcpTransport>> tcp_connect(asio::io_context& io, const Endpoint& endpoint, int timeout_ms) {
  asio::error_code ec;
  asio::ip::tcp::resolver resolver(io);
  auto results = resolver.resolve(endpoint.host, std::to_string(endpoint.port), ec);
  if (ec) return unavailable("cannot resolve " + endpoint.host + ": " + ec.message());
  std::string where = endpoint.host + ":" + std::to_string(endpoint.port);
  for (const auto& entry : results) {
    asio::ip::tcp::socket socket(io);
    socket.open(entry.endpoint().protocol(), ec);
    if (!ec) socket.non_blocking(true, ec);
    if (!ec) socket.connect(entry.endpoint(), ec);
    if (ec == asio::error::in_progress || would_block(ec)) {
      pollfd ready{socket.native_handle(), POLLOUT, 0};
      int rc = 0;
      do rc = ::poll(&ready, 1, timeout_ms);
      while (rc < 0 && errno == EINTR);
      int error = rc > 0 ? 0 : ETIMEDOUT;
      socklen_t length = sizeof error;
      if (rc > 0) getsockopt(socket.native_handle(), SOL_SOCKET, SO_ERROR, &error, &length);
      ec = asio::error_code(error, asio::system_category());
    }
    if (!ec) return std::make_unique<TcpTransport>(std::move(socket), timeout_ms);
  }
  return unavailable("cannot connect to " + where + ": " + ec.message());
}

Result<SyncReport> dial_and_sync(asio::io_context& io, const Endpoint& endpoint, Store& store, const KeyPair& node_key,
                                 const SyncOptions& options) {
  return sync_dialled(
      [&](const SyncOptions& attempt) -> Result<SyncReport> {
        auto transport = tcp_connect(io, endpoint, limits::sync_receive_timeout_ms);
        if (!transport) return transport.status();
        auto seed = fresh_seed();
        auto report = run_sync(store, node_key, **transport, SyncRole::kInitiator, seed, attempt);
        sodium_memzero(seed.data(), seed.size());  // the handshake's ephemeral secret derives from it
        return report;
      },
      options);
}

std::array<std::uint8_t, 32> fresh_seed() {
  std::array<std::uint8_t, 32> seed{};
  randombytes_buf(seed.data(), seed.size());
  return seed;
}

}  // namespace anwang::node
