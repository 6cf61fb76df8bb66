// web_server.h — the HTTP edge of a node: the local JSON API and the web UI's files, served to the
// people of one office (the committee PC, phones on the village LAN).
//
// What it is. A small HTTP/1.1 server (Boost.Beast over Boost.Asio, from Debian's
// libboost1.81-dev) running on a thread of its own beside anwangd's sync loop. It only moves bytes:
// it reads a request within its bounds, hands it whole to an HttpHandler (node/web_api.h: parse,
// authenticate, call the node functions the CLI calls, map the result to JSON), and writes the
// handler's response. It decides nothing about authority and never builds HTML.
//
// Bounds (crdt/limits.h, "The local web API and UI"), against a careless or hostile device on the
// LAN: connections in total and per address (beyond them a new connection is closed at once); a
// request head must arrive whole within web_request_head_ms_max however slowly its bytes trickle
// (slowloris), and be at most web_request_head_bytes_max; a body no larger than the handler allows
// for that request (body_limit: JSON, photos), refused with 413 before it is read; a body within
// web_request_body_ms_max; an idle kept-alive connection closed after web_idle_ms_max. Every
// response carries a strict Content-Security-Policy and no-sniff headers.
//
// TLS is optional: with a certificate and key (PEM files named in anwang.toml) it serves HTTPS
// only. Phones on a LAN usually reach the node over plain HTTP; the UI works without a secure
// context (node/web/API.md).
//
// Threads: handle() runs on the server's one thread, one request at a time; the handler guards
// the store itself. stop() (or the destructor) closes the listener and every connection and joins
// the thread.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "crdt/status.h"

namespace anwang::node {

struct HttpRequest {
  std::string method;   // GET, POST, PUT, DELETE, …
  std::string target;   // as sent: /api/v1/hazards?state=assigned
  std::string path;     // the target before '?', percent-decoded
  std::map<std::string, std::string> query;    // decoded; a repeated name keeps its last value
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
  std::string remote;   // the peer's address
  bool secure = false;  // it came over TLS
  // The header's value, or empty.
  const std::string& header(const std::string& lower_name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // more headers: Set-Cookie, ETag, …
};

class HttpHandler {
 public:
  virtual ~HttpHandler() = default;
  // After the head is read: the largest body this request may have (0: none), or an error
  // response to send at once (wrong method, unknown path) without reading the body.
  struct BodyLimit {
    std::uint64_t bytes = 0;
    std::optional<HttpResponse> refuse;
  };
  virtual BodyLimit body_limit(const HttpRequest& head) = 0;
  virtual HttpResponse handle(const HttpRequest& request) = 0;
  // A response for a request the server refused itself (head too large, body too large, bad
  // syntax): status and an English sentence, to be rendered as the handler renders errors.
  virtual HttpResponse refusal(int status, const std::string& code, const std::string& message) = 0;
};

struct WebServerOptions {
  std::string listen = "127.0.0.1:8088";  // HOST:PORT; port 0 picks a free one (tests)
  std::string tls_certificate_file;       // PEM; both or neither
  std::string tls_key_file;
};

class WebServer {
 public:
  // Listens and starts the server thread. Errors: a bad address, the port in use, unreadable TLS
  // files — each one sentence naming the setting.
  static Result<std::unique_ptr<WebServer>> start(const WebServerOptions& options, HttpHandler& handler);
  ~WebServer();
  WebServer(const WebServer&) = delete;
  WebServer& operator=(const WebServer&) = delete;

  // http://127.0.0.1:8088/ — with the port actually bound.
  std::string url() const;
  void stop();

  struct Impl;

 private:
  explicit WebServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Percent-decoding of a URL component ('+' is a space in a query). Returns nullopt for a bad
// escape or a decoded NUL.
std::optional<std::string> percent_decode(const std::string& text, bool query);

}  // namespace anwang::node
