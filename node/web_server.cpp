// web_server.cpp — see web_server.h. Boost.Beast's asynchronous server pattern on one thread:
// every connection is a chain of completion handlers holding it alive; a timer on its stream (the
// tcp_stream's expiry) bounds each wait.
#include "node/web_server.h"

#include <spdlog/spdlog.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <functional>
#include <limits>
#include <thread>

#include "crdt/limits.h"

namespace anwang::node {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

const std::string& HttpRequest::header(const std::string& lower_name) const {
  static const std::string none;
  auto it = headers.find(lower_name);
  return it == headers.end() ? none : it->second;
}

std::optional<std::string> percent_decode(const std::string& text, bool query) {
  std::string out;
  out.reserve(text.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      int hi = hex(text[i + 1]), lo = hex(text[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      c = static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (c == '+' && query) {
      c = ' ';
    }
    if (c == '\0') return std::nullopt;
    out.push_back(c);
  }
  return out;
}

namespace {

// The headers every response carries. The UI loads nothing from elsewhere and runs no inline
// script: a page that somehow rendered foreign text still could not run it or send data away.
constexpr const char* kContentSecurityPolicy =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

}  // namespace

struct WebServer::Impl {
  explicit Impl(HttpHandler& h) : handler(h) {}
  HttpHandler& handler;
  net::io_context io{1};
  tcp::acceptor acceptor{io};
  std::optional<net::ssl::context> tls;
  std::string url;
  std::thread thread;
  bool stopped = false;
  // Connections (loop thread only).
  int connections = 0;
  std::map<std::string, int> per_address;
  std::uint64_t next_id = 0;
  std::map<std::uint64_t, std::function<void()>> closers;  // close each live connection on stop

  void accept();
  template <class Stream>
  void serve(Stream stream, std::string remote);
};

namespace {

template <class Stream>
class Connection : public std::enable_shared_from_this<Connection<Stream>> {
 public:
  Connection(WebServer::Impl& impl, Stream stream, std::string remote, std::uint64_t id, bool secure)
      : impl_(impl), stream_(std::move(stream)), remote_(std::move(remote)), id_(id), secure_(secure) {
    ++impl_.connections;
    ++impl_.per_address[remote_];
  }
  ~Connection() {
    impl_.closers.erase(id_);
    --impl_.connections;
    if (--impl_.per_address[remote_] <= 0) impl_.per_address.erase(remote_);
  }

  void start() {
    std::weak_ptr<Connection> weak = this->shared_from_this();
    impl_.closers[id_] = [weak] {
      if (auto self = weak.lock()) {
        beast::error_code ignored;
        beast::get_lowest_layer(self->stream_).socket().close(ignored);
      }
    };
    if constexpr (std::is_same_v<Stream, beast::ssl_stream<beast::tcp_stream>>) {
      beast::get_lowest_layer(stream_).expires_after(std::chrono::milliseconds(limits::web_request_head_ms_max));
      stream_.async_handshake(net::ssl::stream_base::server, [self = this->shared_from_this()](beast::error_code ec) {
        if (!ec) self->read_head();
      });
    } else {
      read_head();
    }
  }

 private:
  void read_head() {
    parser_.emplace();
    parser_->header_limit(limits::web_request_head_bytes_max);
    // The body's limit is the handler's, set once the head is read (Beast's default would refuse a
    // large Content-Length while the head is read, before the handler can answer 413).
    parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    // The first request's head within the head deadline; a later one on a kept-alive connection
    // may wait up to the idle time first.
    beast::get_lowest_layer(stream_).expires_after(
        std::chrono::milliseconds(first_ ? limits::web_request_head_ms_max : limits::web_idle_ms_max));
    http::async_read_header(stream_, buffer_, *parser_, [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
      self->on_head(ec);
    });
  }

  void on_head(beast::error_code ec) {
    if (ec == http::error::header_limit) return refuse(431, "head_too_large", "the request's headers are too large");
    if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == net::error::operation_aborted) return close();
    if (ec) return refuse(400, "bad_request", "the request is not valid HTTP");
    const auto& head = parser_->get();
    request_ = HttpRequest{};
    request_.method = std::string(head.method_string());
    request_.target = std::string(head.target());
    request_.remote = remote_;
    request_.secure = secure_;
    for (const auto& field : head) {
      std::string name(field.name_string());
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      request_.headers[name] = std::string(field.value());
    }
    std::string raw_path = request_.target.substr(0, request_.target.find('?'));
    auto path = percent_decode(raw_path, false);
    if (!path || path->empty() || (*path)[0] != '/') return refuse(400, "bad_path", "the request's path is not valid");
    request_.path = *path;
    if (auto q = request_.target.find('?'); q != std::string::npos) {
      std::string query = request_.target.substr(q + 1);
      std::size_t at = 0;
      while (at <= query.size()) {
        std::size_t end = query.find('&', at);
        if (end == std::string::npos) end = query.size();
        std::string pair = query.substr(at, end - at);
        if (!pair.empty()) {
          std::size_t eq = pair.find('=');
          auto name = percent_decode(pair.substr(0, eq), true);
          auto value = percent_decode(eq == std::string::npos ? "" : pair.substr(eq + 1), true);
          if (!name || !value) return refuse(400, "bad_query", "the request's query is not valid");
          request_.query[*name] = *value;
        }
        at = end + 1;
      }
    }
    HttpHandler::BodyLimit limit = impl_.handler.body_limit(request_);
    const bool has_body = parser_->content_length().value_or(0) > 0 || parser_->chunked();
    if (limit.refuse) return send(std::move(*limit.refuse), !has_body && head.keep_alive());
    if (auto length = parser_->content_length(); length && *length > limit.bytes)
      return refuse(413, "body_too_large",
                    "the request's body is " + std::to_string(*length) + " bytes; at most " + std::to_string(limit.bytes) +
                        " are taken here");
    parser_->body_limit(limit.bytes);
    beast::get_lowest_layer(stream_).expires_after(std::chrono::milliseconds(limits::web_request_body_ms_max));
    http::async_read(stream_, buffer_, *parser_, [self = this->shared_from_this()](beast::error_code e, std::size_t) {
      self->on_body(e);
    });
  }

  void on_body(beast::error_code ec) {
    if (ec == http::error::body_limit) return refuse(413, "body_too_large", "the request's body is too large");
    if (ec) return close();
    request_.body = std::move(parser_->get().body());
    const bool keep_alive = parser_->get().keep_alive();
    HttpResponse response;
    try {
      response = impl_.handler.handle(request_);
    } catch (const std::exception& e) {  // a bug in a handler must not take the node down
      spdlog::error("web request {} {} failed: {}", request_.method, request_.path, e.what());
      response = impl_.handler.refusal(500, "internal", "the node could not answer this request");
    }
    request_ = HttpRequest{};
    send(std::move(response), keep_alive);
  }

  void refuse(int status, const std::string& code, const std::string& message) {
    send(impl_.handler.refusal(status, code, message), false);
  }

  // After a refusal sent before the body was read: what the client still sends is read and
  // dropped, for at most limits::web_refusal_linger_ms, before the connection closes. Closing with
  // unread bytes resets the connection, and a browser whose upload was reset reports a network
  // error instead of the refusal (and a phone's outbox would keep retrying a photo that can never
  // go).
  void linger() {
    beast::error_code ignored;
    beast::get_lowest_layer(stream_).socket().shutdown(tcp::socket::shutdown_send, ignored);
    if (!lingering_) {
      lingering_ = true;
      beast::get_lowest_layer(stream_).expires_after(std::chrono::milliseconds(limits::web_refusal_linger_ms));
    }
    drain_.resize(64 * 1024);
    beast::get_lowest_layer(stream_).async_read_some(
        net::buffer(drain_), [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
          if (ec) return self->close();
          self->linger();
        });
  }

  void send(HttpResponse response, bool keep_alive) {
    auto res = std::make_shared<http::response<http::string_body>>(static_cast<http::status>(response.status), 11);
    res->set(http::field::server, "anwangd");
    res->set(http::field::content_type, response.content_type);
    res->set("Content-Security-Policy", kContentSecurityPolicy);
    res->set("X-Content-Type-Options", "nosniff");
    res->set("X-Frame-Options", "DENY");
    res->set("Referrer-Policy", "no-referrer");
    bool cache_set = false;
    for (auto& [name, value] : response.headers) {
      res->insert(name, value);
      if (beast::iequals(name, "Cache-Control")) cache_set = true;
    }
    if (!cache_set) res->set(http::field::cache_control, "no-store");
    res->body() = std::move(response.body);
    res->keep_alive(keep_alive);
    res->prepare_payload();
    beast::get_lowest_layer(stream_).expires_after(std::chrono::milliseconds(limits::web_request_body_ms_max));
    const bool body_unread = parser_ && !parser_->is_done();
    http::async_write(stream_, *res, [self = this->shared_from_this(), res, keep_alive, body_unread](beast::error_code ec, std::size_t) {
      if (!ec && body_unread) return self->linger();
      if (ec || !keep_alive) return self->close();
      self->first_ = false;
      self->read_head();
    });
  }

  void close() {
    beast::error_code ignored;
    beast::get_lowest_layer(stream_).socket().shutdown(tcp::socket::shutdown_send, ignored);
    beast::get_lowest_layer(stream_).close();
  }

  WebServer::Impl& impl_;
  Stream stream_;
  std::string remote_;
  std::uint64_t id_;
  bool secure_;
  bool first_ = true;
  bool lingering_ = false;
  std::vector<char> drain_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  HttpRequest request_;
};

}  // namespace

template <class Stream>
void WebServer::Impl::serve(Stream stream, std::string remote) {
  auto connection = std::make_shared<Connection<Stream>>(*this, std::move(stream), std::move(remote), next_id++,
                                                         tls.has_value());
  connection->start();
}

void WebServer::Impl::accept() {
  acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || stopped) return;
    if (ec) {
      // Out of descriptors, say: go on accepting (the failed connection is gone).
      spdlog::warn("web: accepting a connection failed: {}", ec.message());
      return accept();
    }
    beast::error_code peer_ec;
    auto endpoint = socket.remote_endpoint(peer_ec);
    if (peer_ec) return accept();
    std::string remote = endpoint.address().to_string();
    auto it = per_address.find(remote);
    if (connections >= limits::web_connections_max ||
        (it != per_address.end() && it->second >= limits::web_connections_per_address_max)) {
      beast::error_code ignored;
      socket.close(ignored);  // closed at once: the bound on connections
      return accept();
    }
    if (tls) serve(beast::ssl_stream<beast::tcp_stream>(beast::tcp_stream(std::move(socket)), *tls), std::move(remote));
    else serve(beast::tcp_stream(std::move(socket)), std::move(remote));
    accept();
  });
}

WebServer::WebServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

WebServer::~WebServer() { stop(); }

Result<std::unique_ptr<WebServer>> WebServer::start(const WebServerOptions& options, HttpHandler& handler) {
  auto impl = std::make_unique<Impl>(handler);
  std::size_t colon = options.listen.rfind(':');
  if (colon == std::string::npos || colon == 0)
    return Status::invalid("web listen address '" + options.listen + "' must be HOST:PORT, e.g. 127.0.0.1:8088");
  std::string host = options.listen.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  int port = -1;
  try {
    std::size_t used = 0;
    port = std::stoi(options.listen.substr(colon + 1), &used);
    if (used != options.listen.size() - colon - 1) port = -1;
  } catch (const std::exception&) {
    port = -1;
  }
  if (port < 0 || port > 65535)
    return Status::invalid("web listen address '" + options.listen + "' must end in a port number (0–65535)");
  beast::error_code ec;
  auto address = net::ip::make_address(host, ec);
  if (ec) return Status::invalid("web listen address '" + options.listen + "' must be an IP address and port");
  if (options.tls_certificate_file.empty() != options.tls_key_file.empty())
    return Status::invalid("web TLS needs both a certificate file and a key file, or neither");
  if (!options.tls_certificate_file.empty()) {
    impl->tls.emplace(net::ssl::context::tls_server);
    impl->tls->set_options(net::ssl::context::default_workarounds | net::ssl::context::no_sslv2 |
                           net::ssl::context::no_sslv3 | net::ssl::context::no_tlsv1 | net::ssl::context::no_tlsv1_1);
    impl->tls->use_certificate_chain_file(options.tls_certificate_file, ec);
    if (ec) return Status::invalid("web TLS certificate " + options.tls_certificate_file + ": " + ec.message());
    impl->tls->use_private_key_file(options.tls_key_file, net::ssl::context::pem, ec);
    if (ec) return Status::invalid("web TLS key " + options.tls_key_file + ": " + ec.message());
  }
  tcp::endpoint at(address, static_cast<unsigned short>(port));
  impl->acceptor.open(at.protocol(), ec);
  if (!ec) impl->acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) impl->acceptor.bind(at, ec);
  if (!ec) impl->acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) return Status::io_error("cannot listen for the web UI on " + options.listen + ": " + ec.message());
  auto bound = impl->acceptor.local_endpoint(ec);
  std::string shown = bound.address().is_v6() ? "[" + bound.address().to_string() + "]" : bound.address().to_string();
  impl->url = std::string(impl->tls ? "https://" : "http://") + shown + ":" + std::to_string(bound.port()) + "/";
  impl->accept();
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->io.run(); });
  return std::unique_ptr<WebServer>(new WebServer(std::move(impl)));
}

std::string WebServer::url() const { return impl_->url; }

void WebServer::stop() {
  if (!impl_ || impl_->stopped) return;
  Impl* impl = impl_.get();
  net::post(impl->io, [impl] {
    impl->stopped = true;
    beast::error_code ignored;
    impl->acceptor.close(ignored);
    auto closers = impl->closers;  // a closer may end its connection, which erases itself
    for (auto& [id, close] : closers) close();
  });
  if (impl->thread.joinable()) impl->thread.join();
  impl->stopped = true;
}

}  // namespace anwang::node
