// web_api.cpp — see web_api.h; the endpoints, with an example each, are in node/web/API.md.
#include "node/web_api.h"

#include <sodium.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <set>

#include "crdt/hash.h"
#include "crdt/hlc.h"
#include "crdt/scope.h"
#include "crdt/text.h"
#include "node/hazard_steps.h"
#include "node/op_json.h"
#include "node/reasons_zh.h"
#include "node/record_steps.h"
#include "node/web_assets.h"

namespace anwang::node {

using nlohmann::json;

struct WebApi::Session {
  std::string key_name;
  KeyPair key;
  std::string csrf;
  std::uint64_t started_ms = 0;
  std::uint64_t last_ms = 0;
};

struct WebApi::Outbox {
  std::set<Hash32> objects;   // objects with an op not yet passed on
  std::uint64_t hazards = 0;  // of them: hazards, records by kind, other ops, photos
  std::map<std::string, std::uint64_t> records;
  std::uint64_t other_ops = 0;
  std::uint64_t photos = 0;
  bool ever_synced = false;
};

namespace {

constexpr const char* kCookie = "anwang_session";

// Every error code the API gives, with its Chinese sentence: the client shows message_zh (or
// message in English), and may act on the code. The English sentence is the node's own, which
// often says more (the rule that refused a step).
const std::map<std::string, std::string>& messages_zh() {
  static const std::map<std::string, std::string> zh = {
      {"bad_request", "请求格式不正确。"},
      {"bad_path", "请求地址不正确。"},
      {"bad_query", "请求参数不正确。"},
      {"head_too_large", "请求头太大。"},
      {"body_too_large", "内容太大（照片最大 8 MB）。"},
      {"invalid_json", "提交的内容不是有效的 JSON。"},
      {"invalid", "填写有误，请检查标出的项目。"},
      {"refused", "按权限规则，不能进行此操作；未做任何更改。"},
      {"not_signed_in", "请先登录。"},
      {"session_expired", "登录已过期，请重新登录。"},
      {"csrf", "页面已过期，请刷新后重试。"},
      {"wrong_passphrase", "口令不正确。"},
      {"too_many_attempts", "口令错误次数过多，请 15 分钟后再试。"},
      {"key_not_protected", "此密钥未设口令，不能用于网页登录；请先在电脑上运行 anwang key protect 设置口令。"},
      {"unknown_key", "本节点没有这个人员的密钥。"},
      {"too_many_sessions", "登录人数已满，请稍后再试。"},
      {"not_found", "未找到。"},
      {"method_not_allowed", "不支持此请求方式。"},
      {"unavailable", "节点暂时无法完成此操作，请稍后再试。"},
      {"store", "节点存储出错，未做任何更改。"},
      {"internal", "节点内部出错。"},
  };
  return zh;
}

HttpResponse json_response(int status, const json& body) {
  HttpResponse r;
  r.status = status;
  r.body = body.dump();
  return r;
}

HttpResponse error_response(int status, const std::string& code, const std::string& message, const std::string& field = "") {
  const auto& zh = messages_zh();
  auto it = zh.find(code);
  std::string message_zh = it != zh.end() ? it->second : "出错了。";
  // A rule's refusal says which rule, in Chinese where the table knows the sentence.
  if (code == "refused" || code == "invalid" || code == "unavailable")
    if (std::string reason = reason_zh(message); !reason.empty()) message_zh = reason + "未做任何更改。";
  json error = {{"code", code}, {"message", message}, {"message_zh", message_zh}};
  if (!field.empty()) error["field"] = field;
  return json_response(status, {{"error", error}});
}

// A node Status as an API error: the status code's class, and the node's sentence.
HttpResponse status_response(const Status& s, const std::string& field = "") {
  switch (s.code()) {
    case Status::Code::kInvalidArgument:
      if (s.message().rfind("refused, nothing written", 0) == 0) return error_response(403, "refused", s.message());
      return error_response(422, field.empty() ? "refused" : "invalid", s.message(), field);
    case Status::Code::kNotFound: return error_response(404, "not_found", s.message());
    case Status::Code::kRefused: return error_response(403, "refused", s.message());
    case Status::Code::kUnavailable: return error_response(503, "unavailable", s.message());
    case Status::Code::kStoreFull:
    case Status::Code::kIoError:
    case Status::Code::kCorruption: return error_response(500, "store", s.message());
    default: return error_response(422, "refused", s.message());
  }
}

std::string random_hex(std::size_t bytes) {
  std::vector<std::uint8_t> buffer(bytes);
  randombytes_buf(buffer.data(), buffer.size());
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (std::uint8_t b : buffer) {
    out.push_back(digits[b >> 4]);
    out.push_back(digits[b & 15]);
  }
  sodium_memzero(buffer.data(), buffer.size());
  return out;
}

std::string cookie_value(const std::string& header, const std::string& name) {
  std::size_t at = 0;
  while (at < header.size()) {
    std::size_t end = header.find(';', at);
    if (end == std::string::npos) end = header.size();
    std::string pair = header.substr(at, end - at);
    std::size_t start = pair.find_first_not_of(' ');
    if (start != std::string::npos) pair = pair.substr(start);
    if (pair.rfind(name + "=", 0) == 0) return pair.substr(name.size() + 1);
    at = end + 1;
  }
  return {};
}

bool equal_secret(const std::string& a, const std::string& b) {
  return a.size() == b.size() && !a.empty() && sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

// Reads one JSON object's fields, remembering the first one at fault.
class Fields {
 public:
  explicit Fields(const json& body) : body_(body) {}
  std::string string(const char* name, bool required, std::size_t max_bytes = 4096) {
    if (!body_.contains(name) || body_[name].is_null()) {
      if (required) fail(name, std::string(name) + " must be given");
      return {};
    }
    if (!body_[name].is_string()) {
      fail(name, std::string(name) + " must be text");
      return {};
    }
    std::string value = body_[name].get<std::string>();
    if (value.size() > max_bytes) fail(name, std::string(name) + " is longer than " + std::to_string(max_bytes) + " bytes");
    return value;
  }
  std::optional<bool> boolean(const char* name) {
    if (!body_.contains(name) || body_[name].is_null()) return std::nullopt;
    if (!body_[name].is_boolean()) {
      fail(name, std::string(name) + " must be true or false");
      return std::nullopt;
    }
    return body_[name].get<bool>();
  }
  int integer(const char* name, int low, int high) {
    if (!body_.contains(name) || body_[name].is_null()) return 0;
    if (!body_[name].is_number_integer() || body_[name].get<long long>() < low || body_[name].get<long long>() > high) {
      fail(name, std::string(name) + " must be a whole number from " + std::to_string(low) + " to " + std::to_string(high));
      return 0;
    }
    return body_[name].get<int>();
  }
  void fail(const std::string& field, const std::string& message) {
    if (field_.empty()) {
      field_ = field;
      message_ = message;
    }
  }
  bool ok() const { return field_.empty(); }
  HttpResponse error() const { return error_response(422, "invalid", message_, field_); }

 private:
  const json& body_;
  std::string field_, message_;
};

// The photos a request cites: attachments this node holds, [{hash, media_type}].
Result<std::vector<Attachment>> cited_photos(const Store& store, const json& body, Fields& fields) {
  std::vector<Attachment> out;
  if (!body.contains("photos") || body["photos"].is_null()) return out;
  if (!body["photos"].is_array() || body["photos"].size() > limits::attachments_per_op_max) {
    fields.fail("photos", "photos must be a list of at most " + std::to_string(limits::attachments_per_op_max) + " uploaded photos");
    return out;
  }
  for (const json& item : body["photos"]) {
    std::string hex = item.is_object() && item.contains("hash") && item["hash"].is_string() ? item["hash"].get<std::string>() : "";
    auto hash = Hash32::from_hex(hex);
    if (!hash) {
      fields.fail("photos", "each photo must be {\"hash\": the hash /api/v1/blobs gave}");
      return out;
    }
    auto held = store.has_blob(*hash);
    if (!held) return held.status();
    if (!*held) {
      fields.fail("photos", "photo " + hash->short_hex() + " is not on this node: upload it first");
      return out;
    }
    auto size = store.blob_bytes_held(*hash);
    if (!size) return size.status();
    std::string type = item.contains("media_type") && item["media_type"].is_string() ? item["media_type"].get<std::string>() : "image/jpeg";
    if (type != "image/jpeg" && type != "image/png" && type != "image/webp" && type != "application/pdf") type = "image/jpeg";
    out.push_back(Attachment{*hash, *size, type});
  }
  return out;
}

const char* capability_action(const std::string& capability) {
  static const std::map<std::string, const char*> actions = {
      {"hazard.signoff", "signoff"}, {"hazard.escalate", "escalate"}, {"hazard.receive", "receive"},
      {"hazard.assign", "assign"},   {"hazard.handle", "handled"},    {"hazard.verify", "verify"}};
  auto it = actions.find(capability);
  return it == actions.end() ? "" : it->second;
}

// The page a list request asks for by `page` and `page_size` (whole numbers, the size 1 to
// limits::web_page_size_max), or the 422 answer to a bad one.
struct Page {
  std::size_t number = 0;
  std::size_t size = limits::web_page_size_default;
  std::size_t first = 0;  // the index of the page's first item
};
struct PageOrRefusal {
  Page page;
  std::optional<HttpResponse> refusal;
  explicit operator bool() const { return !refusal; }
  const Page* operator->() const { return &page; }
};

PageOrRefusal page_of(const HttpRequest& request) {
  PageOrRefusal out;
  auto number = [&](const char* name, std::size_t& value) {
    auto it = request.query.find(name);
    if (it == request.query.end() || it->second.empty()) return true;
    if (it->second.size() > 9 || it->second.find_first_not_of("0123456789") != std::string::npos) return false;
    value = std::stoul(it->second);
    return true;
  };
  if (!number("page", out.page.number) || !number("page_size", out.page.size)) {
    out.refusal = error_response(422, "invalid", "page and page_size must be whole numbers", "page");
    return out;
  }
  if (out.page.size == 0 || out.page.size > limits::web_page_size_max) {
    out.refusal = error_response(422, "invalid", "page_size must be 1 to " + std::to_string(limits::web_page_size_max), "page_size");
    return out;
  }
  out.page.first = out.page.number * out.page.size;  // both under 10^9: no overflow in 64 bits
  return out;
}

// An Idempotency-Key names a submission (a phone's draft, sent again after a cut) so that the
// node answers it once: empty (none) or up to 100 letters, digits, - and _.
bool idempotency_key_ok(const std::string& key) {
  return key.size() <= 100 &&
         key.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") == std::string::npos;
}

std::string idempotency_slot(const PublicKey& author, const std::string& key) {
  return "web/idem/" + author.hex() + "/" + key;
}

// The first answer to a submission made before with the same key, marked repeated; none when
// there was none (or no key).
Result<std::optional<HttpResponse>> repeated_answer(const Store& store, const PublicKey& author, const std::string& key) {
  if (key.empty()) return std::optional<HttpResponse>();
  auto earlier = store.local_value(idempotency_slot(author, key));
  if (!earlier) return earlier.status();
  if (!*earlier) return std::optional<HttpResponse>();
  json answer = json::parse(**earlier, nullptr, false);
  if (answer.is_discarded()) return std::optional<HttpResponse>();
  answer["repeated"] = true;
  return std::optional<HttpResponse>(json_response(200, answer));
}

void remember_answer(Store& store, const PublicKey& author, const std::string& key, const json& answer) {
  if (key.empty()) return;
  if (Status s = store.set_local_value(idempotency_slot(author, key), answer.dump()); !s)
    spdlog::warn("web: remembering a submitted draft: {}", s.message());
}

// The office each effective step was signed in: the role and scope of the grant its verdict used
// (the county's root key signs as its root), read once per grant.
class OfficeNames {
 public:
  explicit OfficeNames(const Store& store) : store_(store) {}
  Result<json> of(const Verdict& verdict) {
    if (!verdict.effective || verdict.chain.empty()) return json(nullptr);
    const Hash32& grant = verdict.chain.front();
    if (auto it = offices_.find(grant); it != offices_.end()) return it->second;
    auto op = store_.get(grant);
    if (!op) return op.status();
    json office = nullptr;
    if (*op) {
      if (const auto* d = std::get_if<DelegationPayload>(&(*op)->fields.payload))
        office = {{"role", d->role}, {"scope", (*op)->fields.scope}, {"categories", d->categories}};
      else if (const auto* g = std::get_if<GenesisPayload>(&(*op)->fields.payload))
        office = {{"role", "root"}, {"scope", g->county_code}, {"categories", json::array()}};
    }
    return offices_[grant] = office;
  }

 private:
  const Store& store_;
  std::map<Hash32, json> offices_;
};

}  // namespace

WebApi::WebApi(Store& store, std::mutex& store_mutex, const NodeHome& home, const PhysicalClock& clock,
               WebApiOptions options)
    : store_(store), store_mutex_(store_mutex), home_(home), clock_(clock), options_(std::move(options)) {}

WebApi::~WebApi() = default;  // each session's KeyPair wipes its secret as it goes

std::uint64_t WebApi::steady_ms() const {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch()).count());
}

HttpResponse WebApi::refusal(int status, const std::string& code, const std::string& message) {
  return error_response(status, code, message);
}

HttpHandler::BodyLimit WebApi::body_limit(const HttpRequest& head) {
  BodyLimit limit;
  const bool api = head.path.rfind("/api/", 0) == 0;
  if (head.method == "GET" || head.method == "HEAD") return limit;
  if (!api) {
    limit.refuse = error_response(405, "method_not_allowed", "the web UI's files are only read (GET)");
    return limit;
  }
  if (head.method != "POST" && head.method != "PUT" && head.method != "DELETE") {
    limit.refuse = error_response(405, "method_not_allowed", head.method + " is not used by this API");
    return limit;
  }
  const bool photo = head.path == "/api/v1/blobs" || (head.method == "PUT" && head.path.rfind("/api/v1/uploads/", 0) == 0);
  limit.bytes = photo ? limits::web_photo_bytes_max : limits::web_json_body_bytes_max;
  return limit;
}

HttpResponse WebApi::handle(const HttpRequest& request) {
  if (request.path.rfind("/api/", 0) == 0) return api(request);
  return asset(request);
}

HttpResponse WebApi::asset(const HttpRequest& request) {
  std::string path = request.path == "/" ? "/index.html" : request.path;
  for (const WebAsset& file : web_assets()) {
    if (path != file.path) continue;
    HttpResponse r;
    r.content_type = file.media_type;
    // Revalidated each time (a cheap 304): an upgraded node's UI is never mixed with the old.
    r.headers.emplace_back("Cache-Control", "no-cache");
    r.headers.emplace_back("ETag", file.etag);
    if (request.header("if-none-match") == file.etag) {
      r.status = 304;
      return r;
    }
    if (request.method != "HEAD") r.body.assign(reinterpret_cast<const char*>(file.data), file.size);
    return r;
  }
  return error_response(404, "not_found", "no file " + request.path + " in the web UI");
}

WebApi::Session* WebApi::session_of(const HttpRequest& request) {
  expire_sessions();
  std::string token = cookie_value(request.header("cookie"), kCookie);
  if (token.empty()) return nullptr;
  auto it = sessions_.find(token);
  if (it == sessions_.end()) return nullptr;
  it->second->last_ms = steady_ms();
  return it->second.get();
}

void WebApi::expire_sessions() {
  std::uint64_t now = steady_ms();
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    const Session& s = *it->second;
    if (now - s.last_ms > options_.session_idle_ms || now - s.started_ms > options_.session_ms) it = sessions_.erase(it);
    else ++it;
  }
}

HttpResponse WebApi::api(const HttpRequest& request) {
  const std::string& path = request.path;
  const std::string& method = request.method;
  std::vector<std::string> parts;  // /api/v1/hazards/ID/escalate → api, v1, hazards, ID, escalate
  for (std::size_t at = 1; at <= path.size();) {
    std::size_t end = path.find('/', at);
    if (end == std::string::npos) end = path.size();
    parts.push_back(path.substr(at, end - at));
    at = end + 1;
  }
  if (parts.size() < 3 || parts[1] != "v1")
    return error_response(404, "not_found", "no endpoint " + path + "; this node speaks /api/v1/");
  const std::string& what = parts[2];
  if (what == "node" && parts.size() == 3 && method == "GET") return node_info();
  if (what == "session" && parts.size() == 3 && method == "POST") return sign_in(request);

  Session* session = session_of(request);
  if (session == nullptr) {
    bool had_cookie = !cookie_value(request.header("cookie"), kCookie).empty();
    return had_cookie ? error_response(401, "session_expired", "the session has ended: sign in again")
                      : error_response(401, "not_signed_in", "sign in first (POST /api/v1/session)");
  }
  if (method != "GET" && method != "HEAD" && !equal_secret(request.header("x-csrf-token"), session->csrf))
    return error_response(403, "csrf", "this request lacks the session's X-CSRF-Token: reload the page");

  if (what == "session" && parts.size() == 3 && method == "DELETE") {
    sessions_.erase(cookie_value(request.header("cookie"), kCookie));  // the key's secret is wiped with it
    HttpResponse r = json_response(200, {{"signed_out", true}});
    r.headers.emplace_back("Set-Cookie", std::string(kCookie) + "=; Max-Age=0; Path=/; HttpOnly; SameSite=Strict");
    return r;
  }
  if (what == "me" && parts.size() == 3 && method == "GET") return me(*session);
  if (what == "inbox" && parts.size() == 3 && method == "GET") return inbox(*session, request);
  if (what == "hazards") {
    if (parts.size() == 3 && method == "GET") return hazard_list(*session, request);
    if (parts.size() == 3 && method == "POST") return hazard_report(*session, request);
    if (parts.size() == 4 && method == "GET") return hazard_show(*session, parts[3]);
    if (parts.size() == 5 && method == "POST") return hazard_step(*session, parts[3], parts[4], request);
  }
  if (what == "blobs") {
    if (parts.size() == 3 && method == "POST") return blob_put(*session, request);
    if (parts.size() == 4 && method == "GET") return blob_get(*session, parts[3]);
  }
  if (what == "uploads") {
    if (parts.size() == 3 && method == "POST") return upload_open(*session, request);
    if (parts.size() == 4 && method == "PUT") return upload_piece(*session, parts[3], request);
    if (parts.size() == 4 && method == "GET") return upload_state(*session, parts[3]);
  }
  if (what == "regions" && parts.size() == 3 && method == "GET") return regions();
  if (what == "units" && parts.size() == 3 && method == "GET") return units(request);
  if (what == "records") {
    if (parts.size() == 3 && method == "GET") return record_list(*session, request);
    if (parts.size() == 3 && method == "POST") return record_write(*session, "", "", request);
    if (parts.size() == 4 && method == "GET") return record_show(*session, parts[3]);
    if (parts.size() == 5 && method == "POST") return record_write(*session, parts[3], parts[4], request);
  }
  if (what == "patrols" && parts.size() == 4 && parts[3] == "due" && method == "GET") return patrols_due_list(request);
  if (what == "people" && parts.size() == 3 && method == "GET") return people(*session, request);
  if (what == "sync" && parts.size() == 3 && method == "GET") return sync_panel();
  if (what == "map" && parts.size() == 3 && method == "GET") return map_view(request);
  if (what == "tiles" && parts.size() == 6 && method == "GET") return tile(parts[3], parts[4], parts[5]);
  return error_response(404, "not_found", "no endpoint " + method + " " + path);
}

HttpResponse WebApi::node_info() {
  std::lock_guard<std::mutex> lock(store_mutex_);
  json out = {{"node", home_.node_key().hex()}, {"web_url", options_.web_url}, {"api", "v1"}};
  auto authority = store_.authority();
  if (!authority) return status_response(authority.status());
  auto scopes = (*authority)->node_scopes(home_.node_key());
  std::string scope = scopes.empty() ? "" : scopes.front();
  out["scope"] = scope;
  auto names = current_region_names();
  if (!names) return status_response(names.status());
  out["scope_name"] = names->count(scope) ? (*names)[scope] : "";
  // The people who may sign in here: the keys of this node's keyring that sign here.
  json keys = json::array();
  auto list = home_.list_keys();
  if (!list) return status_response(list.status());
  for (const KeyInfo& info : *list) {
    if (info.binding != KeyBinding::kThisNode && info.binding != KeyBinding::kUnbound) continue;
    keys.push_back({{"name", info.name}, {"public_key", info.public_key.hex()}, {"protected", info.is_protected}});
  }
  out["keys"] = keys;
  return json_response(200, out);
}

bool WebApi::signin_blocked(const std::string& key_name, const std::string& address) {
  std::uint64_t now = steady_ms();
  auto prune = [now](std::deque<std::uint64_t>& times) {
    while (!times.empty() && now - times.front() > limits::web_signin_window_ms) times.pop_front();
    return times.size();
  };
  return prune(failures_by_key_[key_name]) >= static_cast<std::size_t>(limits::web_signin_failures_per_key_max) ||
         prune(failures_by_address_[address]) >= static_cast<std::size_t>(limits::web_signin_failures_per_address_max);
}

void WebApi::count_failure(const std::string& key_name, const std::string& address) {
  failures_by_key_[key_name].push_back(steady_ms());
  failures_by_address_[address].push_back(steady_ms());
}

HttpResponse WebApi::sign_in(const HttpRequest& request) {
  json body = json::parse(request.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) return error_response(400, "invalid_json", "the body must be a JSON object");
  Fields fields(body);
  std::string name = fields.string("key", true, 128);
  std::string passphrase = fields.string("passphrase", true, 1024);
  if (!fields.ok()) return fields.error();
  // A map of failure counts must not itself grow without bound from made-up names.
  if (failures_by_key_.size() > 10'000) failures_by_key_.clear();
  if (failures_by_address_.size() > 10'000) failures_by_address_.clear();
  if (signin_blocked(name, request.remote))
    return error_response(429, "too_many_attempts", "too many wrong passphrases for this key or from this address; wait 15 minutes");
  auto info = home_.key_info(name);
  if (!info) return error_response(404, "unknown_key", "no key named '" + name + "' on this node", "key");
  if (!info->is_protected)
    return error_response(403, "key_not_protected",
                          "key " + name + " has no passphrase and cannot sign in on the web: run 'anwang key protect " + name + "'",
                          "key");
  auto key = home_.load_key(name, passphrase);
  sodium_memzero(passphrase.data(), passphrase.size());
  if (!key) {
    if (is_wrong_passphrase(key.status())) {
      count_failure(name, request.remote);
      spdlog::warn("web: wrong passphrase for key {} from {}", name, request.remote);
      return error_response(401, "wrong_passphrase", "wrong passphrase for key " + name, "passphrase");
    }
    return status_response(key.status());
  }
  expire_sessions();
  if (sessions_.size() >= limits::web_sessions_max)
    return error_response(503, "too_many_sessions", "too many people are signed in on this node; try again later");
  auto session = std::make_unique<Session>(Session{name, std::move(*key), random_hex(32), steady_ms(), steady_ms()});
  std::string token = random_hex(32);
  std::string csrf = session->csrf;
  sessions_[token] = std::move(session);
  spdlog::info("web: {} signed in from {}", name, request.remote);
  HttpResponse r = me(*sessions_[token]);
  r.headers.emplace_back("Set-Cookie", std::string(kCookie) + "=" + token + "; Path=/; HttpOnly; SameSite=Strict" +
                                           (request.secure ? "; Secure" : ""));
  return r;
}

Result<std::shared_ptr<const People>> WebApi::current_people() {
  auto arrival = store_.last_arrival();
  if (!arrival) return arrival.status();
  if (!people_ || people_arrival_ != *arrival) {
    auto people = People::load(store_);
    if (!people) return people.status();
    people_ = std::make_shared<const People>(std::move(*people));
    people_arrival_ = *arrival;
  }
  return people_;
}

Result<WebApi::KeyNamer> WebApi::key_names() {
  auto people = current_people();
  if (!people) return people.status();
  std::map<PublicKey, std::string> keyring;
  if (auto keys = home_.list_keys())
    for (const KeyInfo& info : *keys) keyring[info.public_key] = info.name;
  return KeyNamer([people = *people, keyring = std::move(keyring)](const PublicKey& key) {
    std::string name = people->name_of(key);
    if (!name.empty()) return name;
    auto it = keyring.find(key);
    return it == keyring.end() ? std::string() : it->second;
  });
}

HttpResponse WebApi::me(Session& session) {
  std::lock_guard<std::mutex> lock(store_mutex_);
  auto authority = store_.authority();
  if (!authority) return status_response(authority.status());
  const PublicKey& key = session.key.public_key();
  json roles = json::array();
  std::set<std::string> scopes;
  for (const EffectiveRole& role : (*authority)->who("")) {
    if (!(role.key == key)) continue;
    roles.push_back({{"role", role.role}, {"scope", role.scope}, {"categories", role.categories}, {"root", role.root}});
    scopes.insert(role.scope);
  }
  // What this person may start anywhere in their scopes (the UI shows only those screens); a step on
  // one hazard is judged on that hazard (GET /api/v1/hazards/ID gives "actions").
  json can = json::object();
  for (const char* capability : {"hazard.report", "unit.edit", "inspect", "tip.enter", "incident.report", "notice.send",
                                 "delegate", "training.record", "meeting.record", "notebook.write"}) {
    bool allowed = false;
    for (const std::string& scope : scopes)
      allowed = allowed || (*authority)->can(Action{key, 0, capability, scope, "", capability_class(capability), std::nullopt}).effective;
    can[capability] = allowed;
  }
  auto people = current_people();
  if (!people) return status_response(people.status());
  const Profile* profile = (*people)->of_key(key);
  return json_response(200, {{"key", session.key_name}, {"public_key", key.hex()}, {"csrf", session.csrf},
                             {"roles", roles}, {"can", can}, {"name", profile ? profile->name : ""},
                             {"person", profile ? json(profile->id.hex()) : json(nullptr)}});
}

Result<WebApi::Outbox> WebApi::outbox() {
  Outbox out;
  auto marks = store_.local_counters("peer/");
  if (!marks) return marks.status();
  std::uint64_t mark = 0;
  for (const auto& [name, value] : *marks)
    if (name.size() > 15 && name.compare(name.size() - 15, 15, "/synced_arrival") == 0) {
      mark = std::max(mark, value);
      out.ever_synced = true;
    }
  std::set<Hash32> photos;
  auto walked = store_.for_each_arrival_after(mark, [](const Reach&) { return true; }, [&](std::uint64_t, std::shared_ptr<const Op> op) {
    const OpFields& f = op->fields;
    bool fresh = out.objects.insert(f.object).second;
    if (const auto* hazard = std::get_if<HazardPayload>(&f.payload)) {
      if (fresh) ++out.hazards;
      for (const Attachment& a : hazard->photos) photos.insert(a.hash);
    } else if (const auto* record = std::get_if<RecordPayload>(&f.payload)) {
      if (fresh) ++out.records[record->kind];
      for (const Attachment& a : record->photos) photos.insert(a.hash);
    } else {
      ++out.other_ops;
    }
  });
  if (!walked) return walked.status();
  out.photos = photos.size();
  return out;
}

HttpResponse WebApi::inbox(Session& session, const HttpRequest& request) {
  auto page = page_of(request);
  if (!page) return *page.refusal;
  auto action_it = request.query.find("action");
  const std::string action = action_it == request.query.end() ? std::string() : action_it->second;
  static const std::set<std::string> steps = {"signoff", "escalate", "receive", "assign", "handled", "verify"};
  if (!action.empty() && !steps.count(action))
    return error_response(422, "invalid", "action must be one of signoff, escalate, receive, assign, handled, verify", "action");
  std::lock_guard<std::mutex> lock(store_mutex_);
  auto items = hazard_inbox(store_, session.key.public_key());
  if (!items) return status_response(items.status());
  auto waiting = outbox();
  if (!waiting) return status_response(waiting.status());
  // Counts for every step, then the page of the asked one: the overdue first, then the newest.
  json counts = json::object();
  std::vector<const InboxItem*> matched;
  for (const InboxItem& item : *items) {
    const std::string step = capability_action(item.capability);
    counts[step] = counts.value(step, 0) + 1;
    if (action.empty() || step == action) matched.push_back(&item);
  }
  auto overdue = [](const InboxItem* item) {
    return std::find(item->hazard.flags.begin(), item->hazard.flags.end(), "overdue") != item->hazard.flags.end();
  };
  std::sort(matched.begin(), matched.end(), [&](const InboxItem* a, const InboxItem* b) {
    return std::make_tuple(overdue(b), b->hazard.reported_hlc, b->hazard.id) <
           std::make_tuple(overdue(a), a->hazard.reported_hlc, a->hazard.id);
  });
  auto names = key_names();
  if (!names) return status_response(names.status());
  json out = json::array();
  for (std::size_t i = page->first; i < matched.size() && i < page->first + page->size; ++i) {
    json entry = hazard_json(matched[i]->hazard, false);
    entry["reporter_name"] = (*names)(matched[i]->hazard.reporter);
    entry["action"] = capability_action(matched[i]->capability);
    entry["synced"] = !waiting->objects.count(matched[i]->hazard.id) && waiting->ever_synced;
    out.push_back(entry);
  }
  return json_response(200, {{"items", out}, {"total", matched.size()}, {"counts", counts},
                             {"page", page->number}, {"page_size", page->size}});
}

HttpResponse WebApi::hazard_list(Session&, const HttpRequest& request) {
  auto get = [&](const char* name) {
    auto it = request.query.find(name);
    return it == request.query.end() ? std::string() : it->second;
  };
  std::string scope = get("scope"), state = get("state");
  bool overdue = get("overdue") == "1" || get("overdue") == "true";
  if (!scope.empty())
    if (Status s = check_scope(scope); !s) return error_response(422, "invalid", "scope: " + s.message(), "scope");
  auto page = page_of(request);
  if (!page) return *page.refusal;
  std::lock_guard<std::mutex> lock(store_mutex_);
  auto ids = store_.hazards();
  if (!ids) return status_response(ids.status());
  auto waiting = outbox();
  if (!waiting) return status_response(waiting.status());
  std::vector<HazardState> matched;
  for (const Hash32& id : *ids) {
    auto s = store_.hazard(id);
    if (!s) return status_response(s.status());
    if (!s->exists) continue;
    if (!scope.empty() && !scope_contains(scope, s->scope)) continue;
    if (!state.empty() && s->state != state) continue;
    if (overdue && std::find(s->flags.begin(), s->flags.end(), "overdue") == s->flags.end()) continue;
    matched.push_back(std::move(*s));
  }
  // Newest first.
  std::sort(matched.begin(), matched.end(), [](const HazardState& a, const HazardState& b) {
    return std::tie(b.reported_hlc, b.id) < std::tie(a.reported_hlc, a.id);
  });
  auto names = key_names();
  if (!names) return status_response(names.status());
  json items = json::array();
  for (std::size_t i = page->first; i < matched.size() && i < page->first + page->size; ++i) {
    json entry = hazard_json(matched[i], false);
    entry["reporter_name"] = (*names)(matched[i].reporter);
    entry["synced"] = !waiting->objects.count(matched[i].id) && waiting->ever_synced;
    items.push_back(entry);
  }
  return json_response(200, {{"items", items}, {"total", matched.size()}, {"page", page->number}, {"page_size", page->size}});
}

HttpResponse WebApi::hazard_show(Session& session, const std::string& id_text) {
  auto id = Hash32::from_hex(id_text);
  if (!id) return error_response(404, "not_found", "a hazard id is 64 hex digits");
  std::lock_guard<std::mutex> lock(store_mutex_);
  auto s = store_.hazard(*id);
  if (!s) return status_response(s.status());
  if (!s->exists) return error_response(404, "not_found", "no hazard " + id->short_hex() + " on this node");
  json out = hazard_json(*s, true);
  // Each step's note and photos, and who signed it by keyring name where this node knows it.
  auto ops = store_.ops_of_object(*id);
  if (!ops) return status_response(ops.status());
  std::map<Hash32, const Op*> by_id;
  auto names = key_names();  // the keyring and the profiles read once, not once per step
  if (!names) return status_response(names.status());
  const KeyNamer& name_of = *names;
  for (const Op& op : *ops) by_id[op.id] = &op;
  OfficeNames offices(store_);
  for (std::size_t i = 0; i < out["history"].size() && i < s->history.size(); ++i) {
    json& step = out["history"][i];
    if (!s->history[i].verdict.reason.empty()) step["reason_zh"] = reason_zh(s->history[i].verdict.reason);
    auto office = offices.of(s->history[i].verdict);
    if (!office) return status_response(office.status());
    step["office"] = *office;
    auto op_id = Hash32::from_hex(step["op"].get<std::string>());
    if (!op_id || !by_id.count(*op_id)) continue;
    const Op& op = *by_id[*op_id];
    step["author_name"] = name_of(op.fields.author);
    if (const auto* h = std::get_if<HazardPayload>(&op.fields.payload)) {
      step["text"] = h->text;
      step["photos"] = attachments_to_json(h->photos);
      // What the step decided, for the timeline to say in words.
      if (h->action == "verify") step["pass"] = h->pass;
      if (!h->department.empty()) step["department"] = h->department;
      if (!h->to_level.empty()) step["to_level"] = h->to_level;
      if (h->deadline_ms != 0) step["deadline"] = hlc_display(hlc_from_ms(h->deadline_ms), TimeShown::kDate);
      if (!h->responsible.empty()) step["responsible"] = h->responsible;
      if (!h->measures.empty()) step["measures"] = h->measures;
      if (!h->location.empty()) step["location"] = h->location;
      if (h->action == "reclassify") {
        if (!h->category.empty()) step["category"] = h->category;
        if (!h->severity.empty()) step["severity"] = h->severity;
      }
    }
  }
  out["reporter_name"] = name_of(s->reporter);
  auto waiting = outbox();
  if (!waiting) return status_response(waiting.status());
  out["synced"] = !waiting->objects.count(*id) && waiting->ever_synced;
  // The steps this person may take now, judged by the store exactly as it would judge them signed
  // (Store::judge_draft). A step that needs input (a deadline, a department) is judged with a
  // plausible one; the real input is judged again when it is submitted.
  json actions = json::array();
  auto clock = store_.clock_state(clock_);
  if (!clock) return status_response(clock.status());
  for (const std::string& action : hazard_step_actions()) {
    if (action == "comment") continue;  // anyone in scope may comment; not a step to offer as a button
    HazardStepInput input;
    input.action = action;
    if (action == "assign") input.department = s->category;
    if (action == "verify") input.pass = true;
    if (action == "notice") {
      input.days = 7;
      input.responsible = "-";
    }
    if (action == "reclassify") input.severity = s->severity == "major" ? "general" : "major";
    if (action == "fix") input.photos.push_back(Attachment{Hash32{}, 1, "image/jpeg"});
    auto draft = hazard_step_draft(*s, input, clock->time.trusted_ms, [](const char* f) { return std::string(f); });
    if (!draft) continue;
    auto verdict = store_.judge_draft(session.key.public_key(), *draft, clock_);
    if (verdict && verdict->effective) actions.push_back(action);
  }
  out["actions"] = actions;
  return json_response(200, out);
}

HttpResponse WebApi::hazard_report(Session& session, const HttpRequest& request) {
  json body = json::parse(request.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) return error_response(400, "invalid_json", "the body must be a JSON object");
  const std::string idempotency = request.header("idempotency-key");
  if (!idempotency_key_ok(idempotency))
    return error_response(422, "invalid", "Idempotency-Key must be up to 100 letters, digits, - or _", "idempotency_key");
  std::lock_guard<std::mutex> lock(store_mutex_);
  // Submitted before (the phone retried after a cut): the same answer, nothing new.
  auto repeated = repeated_answer(store_, session.key.public_key(), idempotency);
  if (!repeated) return status_response(repeated.status());
  if (*repeated) return std::move(**repeated);
  Fields fields(body);
  HazardReportInput input;
  input.grid = fields.string("grid", true, 64);
  input.category = fields.string("category", true, 64);
  input.severity = fields.string("severity", true, 16);
  input.text = fields.string("text", true, limits::note_bytes_max);
  input.location = fields.string("location", false, limits::location_bytes_max);  // checked by hazard_report_draft
  std::string unit = fields.string("unit", false, 64);
  std::string captured_at = fields.string("captured_at", false, 32);  // the phone's time of capture, shown in the text
  auto fix = fields.boolean("fixed_on_site");
  std::string fix_text = fields.string("fix_text", false, limits::note_bytes_max);
  if (!unit.empty()) {
    auto id = Hash32::from_hex(unit);
    if (!id) fields.fail("unit", "unit must be a unit id (64 hex digits) from the ledger");
    else input.unit = *id;
  }
  auto photos = cited_photos(store_, body, fields);
  if (!photos) return status_response(photos.status());
  input.photos = *photos;
  std::vector<Attachment> after;
  if (fix && *fix) {
    json after_body = {{"photos", body.contains("fix_photos") ? body["fix_photos"] : json()}};
    Fields after_fields(after_body);
    auto cited = cited_photos(store_, after_body, after_fields);
    if (!cited) return status_response(cited.status());
    if (!after_fields.ok()) fields.fail("fix_photos", "fix_photos: each must be an uploaded photo");
    after = *cited;
    if (after.empty()) fields.fail("fix_photos", "a hazard fixed on the spot needs an after-photo (整改后照片)");
  }
  if (!fields.ok()) return fields.error();
  if (!captured_at.empty()) input.text += "（手机记录于 " + captured_at + "）";
  std::string field_named;
  auto name_field = [&field_named](const char* f) {
    if (field_named.empty()) field_named = f;
    return std::string(f);
  };
  auto draft = hazard_report_draft(input, name_field);
  if (!draft) return error_response(422, "invalid", draft.status().message(), field_named);
  auto op = store_.author(session.key, *draft, clock_);
  if (!op) return status_response(op.status());
  json answer = {{"id", op->fields.object.hex()}, {"op", op->id.hex()}};
  if (fix && *fix) {
    auto state = store_.hazard(op->fields.object);
    if (!state) return status_response(state.status());
    HazardStepInput step;
    step.action = "fix";
    step.text = fix_text;
    step.photos = after;
    auto clock = store_.clock_state(clock_);
    if (!clock) return status_response(clock.status());
    auto fix_draft = hazard_step_draft(*state, step, clock->time.trusted_ms, [](const char* f) { return std::string(f); });
    if (!fix_draft) return status_response(fix_draft.status());
    auto fixed = store_.author(session.key, *fix_draft, clock_);
    // The report stands either way; the answer says whether the fix went with it.
    if (fixed) answer["fix_op"] = fixed->id.hex();
    else answer["fix_error"] = fixed.status().message();
  }
  remember_answer(store_, session.key.public_key(), idempotency, answer);
  return json_response(201, answer);
}

HttpResponse WebApi::hazard_step(Session& session, const std::string& id_text, const std::string& action,
                                 const HttpRequest& request) {
  auto id = Hash32::from_hex(id_text);
  if (!id) return error_response(404, "not_found", "a hazard id is 64 hex digits");
  json body = request.body.empty() ? json::object() : json::parse(request.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) return error_response(400, "invalid_json", "the body must be a JSON object");
  const auto& actions = hazard_step_actions();
  if (std::find(actions.begin(), actions.end(), action) == actions.end())
    return error_response(404, "not_found", "no hazard action '" + action + "'");
  std::lock_guard<std::mutex> lock(store_mutex_);
  auto state = store_.hazard(*id);
  if (!state) return status_response(state.status());
  if (!state->exists) return error_response(404, "not_found", "no hazard " + id->short_hex() + " on this node");
  Fields fields(body);
  HazardStepInput input;
  input.action = action;
  input.text = fields.string("text", false, limits::note_bytes_max);
  input.to_level = fields.string("to_level", false, 16);
  input.department = fields.string("department", false, 64);
  input.pass = fields.boolean("pass");
  input.category = fields.string("category", false, 64);
  input.severity = fields.string("severity", false, 16);
  input.deadline = fields.string("deadline", false, 16);
  input.days = fields.integer("days", 0, static_cast<int>(limits::notice_deadline_days_max));
  input.responsible = fields.string("responsible", false, 256);
  input.measures = fields.string("measures", false, limits::note_bytes_max);
  input.location = fields.string("location", false, limits::location_bytes_max);
  for (auto [name, target] : {std::pair{"assignee", &input.assignee}, std::pair{"acceptor", &input.acceptor}}) {
    std::string text = fields.string(name, false, 128);
    if (text.empty()) continue;
    auto key = home_.resolve_public_key(text);
    if (!key) fields.fail(name, std::string(name) + ": " + key.status().message());
    else *target = *key;
  }
  auto photos = cited_photos(store_, body, fields);
  if (!photos) return status_response(photos.status());
  input.photos = *photos;
  if (!fields.ok()) return fields.error();
  auto clock = store_.clock_state(clock_);
  if (!clock) return status_response(clock.status());
  std::string field_named;
  auto draft = hazard_step_draft(*state, input, clock->time.trusted_ms, [&field_named](const char* f) {
    if (field_named.empty()) field_named = f;
    return std::string(f);
  });
  if (!draft) return error_response(422, "invalid", draft.status().message(), field_named);
  auto op = store_.author(session.key, *draft, clock_);
  if (!op) return status_response(op.status());
  return json_response(201, {{"id", id->hex()}, {"op", op->id.hex()}});
}

HttpResponse WebApi::blob_put(Session&, const HttpRequest& request) {
  std::string type = request.header("content-type");
  type = type.substr(0, type.find(';'));
  if (type != "image/jpeg" && type != "image/png" && type != "image/webp" && type != "application/pdf")
    return error_response(415, "invalid", "a photo must be sent as image/jpeg, image/png, image/webp or application/pdf",
                          "content_type");
  if (request.body.empty()) return error_response(422, "invalid", "the photo is empty", "body");
  std::lock_guard<std::mutex> lock(store_mutex_);
  auto attachment = store_.put_blob(ByteView(reinterpret_cast<const std::uint8_t*>(request.body.data()), request.body.size()), type);
  if (!attachment) return status_response(attachment.status());
  return json_response(201, {{"hash", attachment->hash.hex()}, {"size", attachment->size}, {"media_type", attachment->media_type}});
}

namespace {

bool photo_type(const std::string& type) {
  return type == "image/jpeg" || type == "image/png" || type == "image/webp" || type == "application/pdf";
}

// A whole number from the query (digits only, at most 15 of them), or none.
std::optional<std::uint64_t> query_number(const HttpRequest& request, const char* name) {
  auto it = request.query.find(name);
  if (it == request.query.end() || it->second.empty() || it->second.size() > 15 ||
      it->second.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  return std::stoull(it->second);
}

}  // namespace

// A photo in pieces, for a phone whose Wi-Fi drops mid-photo: POST uploads {size, media_type}
// opens one (its id is random, and only the person who opened it may add to it); PUT uploads/ID
// ?offset=N adds the bytes from N; GET uploads/ID says how many the node holds. The pieces wait in
// the node's memory until the photo is whole, then it is stored as POST blobs stores it. A piece
// that does not start where the node's bytes end is refused (409) with the offset to go on from.
HttpResponse WebApi::upload_open(Session& session, const HttpRequest& request) {
  json body = json::parse(request.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) return error_response(400, "invalid_json", "the body must be a JSON object");
  Fields fields(body);
  std::string type = fields.string("media_type", true, 64);
  if (!fields.ok()) return fields.error();
  if (!photo_type(type))
    return error_response(415, "invalid", "a photo must be image/jpeg, image/png, image/webp or application/pdf", "media_type");
  if (!body.contains("size") || !body["size"].is_number_unsigned() || body["size"].get<std::uint64_t>() == 0 ||
      body["size"].get<std::uint64_t>() > limits::web_photo_bytes_max)
    return error_response(422, "invalid", "size must be the photo's whole size, 1 to " + std::to_string(limits::web_photo_bytes_max) + " bytes", "size");
  const std::uint64_t size = body["size"].get<std::uint64_t>();
  const std::uint64_t now = steady_ms();
  for (auto it = uploads_.begin(); it != uploads_.end();) {  // forget the abandoned ones
    if (now - it->second.touched_ms > limits::web_upload_idle_ms_max) {
      upload_bytes_reserved_ -= it->second.size;
      it = uploads_.erase(it);
    } else {
      ++it;
    }
  }
  // A person's third upload drops their own oldest.
  std::vector<std::map<std::string, Upload>::iterator> mine;
  for (auto it = uploads_.begin(); it != uploads_.end(); ++it)
    if (it->second.owner == session.key.public_key()) mine.push_back(it);
  std::sort(mine.begin(), mine.end(), [](const auto& a, const auto& b) {
    return std::tie(a->second.touched_ms, a->second.opened) < std::tie(b->second.touched_ms, b->second.opened);
  });
  for (std::size_t i = 0; i + limits::web_uploads_per_person_max <= mine.size(); ++i) {
    upload_bytes_reserved_ -= mine[i]->second.size;
    uploads_.erase(mine[i]);
  }
  if (uploads_.size() >= limits::web_uploads_max || upload_bytes_reserved_ + size > limits::web_upload_bytes_total_max)
    return error_response(503, "unavailable", "the node is taking in too many photos at once; try again in a minute");
  std::string id = random_hex(16);
  uploads_.emplace(id, Upload{session.key.public_key(), std::string(), size, type, now, ++uploads_opened_});
  upload_bytes_reserved_ += size;
  return json_response(201, {{"upload", id}, {"offset", 0}, {"size", size}});
}

HttpResponse WebApi::upload_piece(Session& session, const std::string& id, const HttpRequest& request) {
  auto it = uploads_.find(id);
  if (it == uploads_.end() || !(it->second.owner == session.key.public_key()))
    return error_response(404, "not_found", "no upload " + id.substr(0, 12) + " here (it may have been dropped after an hour, or at a restart): open a new one");
  Upload& upload = it->second;
  auto offset = query_number(request, "offset");
  if (!offset) return error_response(422, "invalid", "offset must be a whole number of bytes", "offset");
  if (*offset != upload.bytes.size()) {
    json body = {{"error", {{"code", "offset"},
                            {"message", "this node holds the photo's first " + std::to_string(upload.bytes.size()) + " bytes: send from there"},
                            {"message_zh", "照片已部分上传，请从断点继续。"},
                            {"field", "offset"}}},
                 {"offset", upload.bytes.size()}};
    return json_response(409, body);
  }
  if (upload.bytes.size() + request.body.size() > upload.size)
    return error_response(422, "invalid", "the pieces are longer than the size given when the upload was opened", "size");
  upload.bytes += request.body;
  upload.touched_ms = steady_ms();
  if (upload.bytes.size() < upload.size)
    return json_response(200, {{"upload", id}, {"offset", upload.bytes.size()}, {"size", upload.size}, {"complete", false}});
  std::string bytes = std::move(upload.bytes);
  std::string type = upload.media_type;
  upload_bytes_reserved_ -= upload.size;
  uploads_.erase(it);
  std::lock_guard<std::mutex> lock(store_mutex_);
  auto attachment = store_.put_blob(ByteView(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()), type);
  if (!attachment) return status_response(attachment.status());
  return json_response(201, {{"hash", attachment->hash.hex()}, {"size", attachment->size}, {"media_type", type}, {"complete", true}});
}

HttpResponse WebApi::upload_state(Session& session, const std::string& id) {
  auto it = uploads_.find(id);
  if (it == uploads_.end() || !(it->second.owner == session.key.public_key()))
    return error_response(404, "not_found", "no upload " + id.substr(0, 12) + " here (it may have been dropped after an hour, or at a restart): open a new one");
  return json_response(200, {{"upload", id}, {"offset", it->second.bytes.size()}, {"size", it->second.size}, {"complete", false}});
}

HttpResponse WebApi::blob_get(Session&, const std::string& hash_text) {
  auto hash = Hash32::from_hex(hash_text);
  if (!hash) return error_response(404, "not_found", "an attachment is named by its 64-hex-digit hash");
  std::lock_guard<std::mutex> lock(store_mutex_);
  HttpResponse r;
  Status s = store_.read_blob(*hash, [&r](ByteView chunk) { r.body.append(reinterpret_cast<const char*>(chunk.data()), chunk.size()); });
  if (!s) return status_response(s);
  // Content-addressed: the bytes behind a hash never change.
  r.content_type = "application/octet-stream";
  if (r.body.size() > 3 && static_cast<unsigned char>(r.body[0]) == 0xFF && static_cast<unsigned char>(r.body[1]) == 0xD8) r.content_type = "image/jpeg";
  else if (r.body.rfind("\x89PNG", 0) == 0) r.content_type = "image/png";
  else if (r.body.rfind("RIFF", 0) == 0) r.content_type = "image/webp";
  else if (r.body.rfind("%PDF", 0) == 0) r.content_type = "application/pdf";
  r.headers.emplace_back("Cache-Control", "private, max-age=31536000, immutable");
  return r;
}

Result<const std::map<std::string, RegionInfo>*> WebApi::current_regions() {
  auto arrival = store_.last_arrival();
  if (!arrival) return arrival.status();
  if (region_names_arrival_ != *arrival) {
    auto infos = region_infos(store_);
    if (!infos) return infos.status();
    regions_ = std::move(*infos);
    region_names_.clear();
    for (const auto& [code, info] : regions_) region_names_[code] = info.name;
    region_names_arrival_ = *arrival;
  }
  return &regions_;
}

Result<std::map<std::string, std::string>> WebApi::current_region_names() {
  auto regions = current_regions();
  if (!regions) return regions.status();
  return region_names_;
}

HttpResponse WebApi::regions() {
  std::lock_guard<std::mutex> lock(store_mutex_);
  auto names = current_region_names();
  if (!names) return status_response(names.status());
  json out = json::array();
  for (const auto& [code, name] : *names)
    out.push_back({{"code", code}, {"name", name}, {"level", scope_level_name(scope_level(code))}, {"parent", scope_parent(code)}});
  return json_response(200, {{"items", out}});
}

HttpResponse WebApi::units(const HttpRequest& request) {
  auto it = request.query.find("grid");
  std::string grid = it == request.query.end() ? "" : it->second;
  if (!grid.empty())
    if (Status s = check_scope(grid); !s) return error_response(422, "invalid", "grid: " + s.message(), "grid");
  std::lock_guard<std::mutex> lock(store_mutex_);
  auto ids = store_.records("unit");
  if (!ids) return status_response(ids.status());
  json out = json::array();
  for (const Hash32& id : *ids) {
    auto r = store_.record(id);
    if (!r) return status_response(r.status());
    if (!r->exists || (!grid.empty() && !scope_contains(grid, r->scope))) continue;
    out.push_back({{"id", id.hex()}, {"scope", r->scope}, {"name", r->field("name")}, {"address", r->field("address")},
                   {"industry", r->field("industry")}, {"key_supervision", r->field("key_supervision") == "true"},
                   {"status", r->field("status")}, {"location", r->field("location")}});
  }
  return json_response(200, {{"items", out}});
}

HttpResponse WebApi::sync_panel() {
  std::lock_guard<std::mutex> lock(store_mutex_);
  auto counters = store_.local_counters("peer/");
  if (!counters) return status_response(counters.status());
  std::map<std::string, json> peers;
  for (const auto& [name, value] : *counters) {
    // "peer/<64 hex>/<counter>"
    if (name.size() < 5 + 64 + 2) continue;
    std::string hex = name.substr(5, 64);
    std::string counter = name.substr(5 + 64 + 1);
    peers[hex]["node"] = hex;
    if (counter == "last_contact_ms" || counter == "last_sync_ms")
      peers[hex][counter == "last_contact_ms" ? "last_contact" : "last_sync"] = hlc_display(hlc_from_ms(value), TimeShown::kSeconds);
    peers[hex][counter] = value;
  }
  // Each neighbour named by the place its node serves (its enrolment), as people know it.
  auto authority = store_.authority();
  if (!authority) return status_response(authority.status());
  auto names = current_region_names();
  if (!names) return status_response(names.status());
  json neighbours = json::array();
  for (auto& [hex, peer] : peers) {
    if (auto key = PublicKey::from_hex(hex)) {
      auto scopes = (*authority)->node_scopes(*key);
      if (!scopes.empty()) {
        peer["scope"] = scopes.front();
        auto name = names->find(scopes.front());
        peer["scope_name"] = name == names->end() ? std::string() : name->second;
      }
    }
    neighbours.push_back(peer);
  }
  json configured = json::array();
  for (const auto& n : home_.config().neighbours) configured.push_back({{"address", n.address}, {"key", n.key ? n.key->hex() : ""}});
  auto waiting = outbox();
  if (!waiting) return status_response(waiting.status());
  auto stats = store_.stats();
  if (!stats) return status_response(stats.status());
  return json_response(200, {{"peers", neighbours},
                             {"neighbours", configured},
                             {"now_ms", clock_.now_ms()},
                             {"ops", stats->ops},
                             {"needs_newer_release", stats->deferred},
                             {"waiting", {{"hazards", waiting->hazards}, {"records", waiting->records},
                                          {"photos", waiting->photos}, {"other_ops", waiting->other_ops},
                                          {"ever_synced", waiting->ever_synced}}}});
}

namespace {

// The fields a person may give for each kind of record (crdt/RECORDS.md), so that a careless or
// hostile client cannot write names the UI never shows.
const std::set<std::string>& record_field_names(const std::string& kind) {
  static const std::map<std::string, std::set<std::string>> names = [] {
    std::map<std::string, std::set<std::string>> out;
    for (const std::string& name : unit_field_names()) out["unit"].insert(name);
    out["unit"].insert({"by", "status"});
    out["inspection"] = {"items", "text"};
    out["tip"] = {"text", "source", "outcome", "reason"};
    out["incident"] = {"text", "deaths", "injuries", "status"};
    out["notice"] = {"title", "text", "recipients", "recipient"};
    out["person"] = {"name", "phone", "office", "grid", "holder"};
    out["training"] = {"date", "topic", "hours", "attendees", "text"};
    out["meeting"] = {"date", "topic", "attendees", "minutes"};
    out["notebook"] = {"date", "text"};
    return out;
  }();
  static const std::set<std::string> none;
  auto it = names.find(kind);
  return it == names.end() ? none : it->second;
}

// A query's scope filter: empty, or a code; else the 422 answer.
std::optional<HttpResponse> bad_scope_filter(const HttpRequest& request, std::string& scope) {
  auto it = request.query.find("scope");
  scope = it == request.query.end() ? "" : it->second;
  if (scope.empty()) return std::nullopt;
  if (Status s = check_scope(scope); !s) return error_response(422, "invalid", "scope: " + s.message(), "scope");
  return std::nullopt;
}

}  // namespace

Result<bool> WebApi::hide_phone_unless_visible(json& out, const RecordState& r, Session& session) {
  auto people = current_people();
  if (!people) return people.status();
  const Profile* p = (*people)->by_id(r.id);
  if (p != nullptr && (*people)->phone_visible(*p, session.key.public_key())) return true;
  if (out.contains("fields") && out["fields"].contains("phone")) out["fields"]["phone"] = {{"value", nullptr}, {"hidden", true}};
  if (out.contains("history"))
    for (json& step : out["history"])
      if (step.contains("fields") && step["fields"].contains("phone")) step["fields"]["phone"] = nullptr;
  return false;
}

HttpResponse WebApi::record_list(Session& session, const HttpRequest& request) {
  auto kind_it = request.query.find("kind");
  const std::string kind = kind_it == request.query.end() ? "" : kind_it->second;
  if (!record_actions().count(kind))
    return error_response(422, "invalid", "kind must be unit, inspection, tip, incident, notice, person, training, meeting or notebook", "kind");
  std::string scope;
  if (auto bad = bad_scope_filter(request, scope)) return *bad;
  auto page = page_of(request);
  if (!page) return *page.refusal;
  std::lock_guard<std::mutex> lock(store_mutex_);
  auto records = load_records(store_, kind);
  if (!records) return status_response(records.status());
  auto waiting = outbox();
  if (!waiting) return status_response(waiting.status());
  std::vector<const RecordState*> matched;
  for (const RecordState& r : *records)
    if (scope.empty() || scope_contains(scope, r.scope)) matched.push_back(&r);
  std::sort(matched.begin(), matched.end(), [](const RecordState* a, const RecordState* b) {
    return std::tie(b->created_hlc, b->id) < std::tie(a->created_hlc, a->id);
  });
  auto names = key_names();
  if (!names) return status_response(names.status());
  json items = json::array();
  for (std::size_t i = page->first; i < matched.size() && i < page->first + page->size; ++i) {
    json entry = record_json(*matched[i], false);
    if (kind == "person") {
      auto shown = hide_phone_unless_visible(entry, *matched[i], session);
      if (!shown) return status_response(shown.status());
    }
    entry["creator_name"] = (*names)(matched[i]->creator);
    entry["synced"] = !waiting->objects.count(matched[i]->id) && waiting->ever_synced;
    items.push_back(entry);
  }
  return json_response(200, {{"items", items}, {"total", matched.size()}, {"page", page->number}, {"page_size", page->size}});
}

HttpResponse WebApi::record_show(Session& session, const std::string& id_text) {
  auto id = Hash32::from_hex(id_text);
  if (!id) return error_response(404, "not_found", "a record id is 64 hex digits");
  std::lock_guard<std::mutex> lock(store_mutex_);
  auto r = store_.record(*id);
  if (!r) return status_response(r.status());
  if (!r->exists) return error_response(404, "not_found", "no record " + id->short_hex() + " on this node");
  json out = record_json(*r, true);
  auto names = key_names();
  if (!names) return status_response(names.status());
  const KeyNamer& name_of = *names;
  OfficeNames offices(store_);
  for (std::size_t i = 0; i < out["history"].size() && i < r->history.size(); ++i) {
    json& step = out["history"][i];
    step["author_name"] = name_of(r->history[i].author);
    if (!r->history[i].verdict.reason.empty()) step["reason_zh"] = reason_zh(r->history[i].verdict.reason);
    auto office = offices.of(r->history[i].verdict);
    if (!office) return status_response(office.status());
    step["office"] = *office;
  }
  auto ops = store_.ops_of_object(*id);
  if (!ops) return status_response(ops.status());
  std::map<Hash32, const Op*> by_id;
  for (const Op& op : *ops) by_id[op.id] = &op;
  for (json& step : out["history"]) {
    auto op_id = Hash32::from_hex(step["op"].get<std::string>());
    if (!op_id || !by_id.count(*op_id)) continue;
    if (const auto* payload = std::get_if<RecordPayload>(&by_id[*op_id]->fields.payload)) {
      json fields = json::object();
      for (const auto& [name, value] : payload->fields) fields[name] = value;
      step["fields"] = fields;
      step["photos"] = attachments_to_json(payload->photos);
    }
  }
  out["creator_name"] = name_of(r->creator);
  if (r->kind == "person") {
    auto shown = hide_phone_unless_visible(out, *r, session);
    if (!shown) return status_response(shown.status());
  }
  auto waiting = outbox();
  if (!waiting) return status_response(waiting.status());
  out["synced"] = !waiting->objects.count(*id) && waiting->ever_synced;
  // The steps this person may take on it, judged as Store::author would judge them. A notice is
  // signed for (签收) per recipient place: "acknowledge_for" lists the places this person may sign
  // for that have not signed yet.
  auto judged = [&](RecordStepInput input) {
    input.target = *id;
    auto draft = record_step_draft(store_, input, [](const char* f) { return std::string(f); });
    if (!draft) return false;
    auto verdict = store_.judge_draft(session.key.public_key(), *draft, clock_);
    return verdict && verdict->effective;
  };
  json actions = json::array();
  json acknowledge_for = json::array();
  if (r->kind == "unit") {
    if (judged({"unit", "edit", "", {}, {{"name", r->field("name")}}, {}, {}})) actions.push_back("edit");
    if (judged({"unit", "confirm", "", {}, {{"by", "grid_leader"}}, {}, {}})) actions.push_back("confirm");
    if (judged({"unit", "close", "", {}, {{"status", "closed"}}, {}, {}})) actions.push_back("close");
  } else if (r->kind == "tip") {
    if (r->field("outcome").empty() && judged({"tip", "verify", "", {}, {{"outcome", "dismissed"}, {"reason", "-"}}, {}, {}}))
      actions.push_back("verify");
  } else if (r->kind == "incident") {
    if (judged({"incident", "update", "", {}, {{"text", "-"}}, {}, {}})) actions.push_back("update");
  } else if (r->kind == "person") {
    // An office edits any field; the person themselves only their name and phone.
    if (judged({"person", "edit", "", {}, {{"office", r->field("office") + " "}}, {}, {}})) actions.push_back("edit");
    else if (judged({"person", "edit", "", {}, {{"phone", "0"}}, {}, {}})) actions.push_back("edit_self");
    auto people = current_people();
    if (!people) return status_response(people.status());
    if (const Profile* p = (*people)->by_id(r->id))
      out["profile"] = profile_json(*p, (*people)->phone_visible(*p, session.key.public_key()));
  } else if (r->kind == "notice") {
    for (const std::string& place : split_commas(r->field("recipients"))) {
      if (r->acknowledged.count(place)) continue;
      if (judged({"notice", "acknowledge", "", {}, {{"recipient", place}}, {}, {}})) acknowledge_for.push_back(place);
    }
    if (!acknowledge_for.empty()) actions.push_back("acknowledge");
  }
  out["actions"] = actions;
  out["acknowledge_for"] = acknowledge_for;
  return json_response(200, out);
}

HttpResponse WebApi::record_write(Session& session, const std::string& id_text, const std::string& action,
                                  const HttpRequest& request) {
  json body = request.body.empty() ? json::object() : json::parse(request.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) return error_response(400, "invalid_json", "the body must be a JSON object");
  const std::string idempotency = request.header("idempotency-key");
  if (!idempotency_key_ok(idempotency))
    return error_response(422, "invalid", "Idempotency-Key must be up to 100 letters, digits, - or _", "idempotency_key");
  std::optional<Hash32> target;
  if (!id_text.empty()) {
    target = Hash32::from_hex(id_text);
    if (!target) return error_response(404, "not_found", "a record id is 64 hex digits");
  }
  std::lock_guard<std::mutex> lock(store_mutex_);
  auto repeated = repeated_answer(store_, session.key.public_key(), idempotency);
  if (!repeated) return status_response(repeated.status());
  if (*repeated) return std::move(**repeated);

  Fields fields(body);
  RecordStepInput input;
  if (target) {
    auto r = store_.record(*target);
    if (!r) return status_response(r.status());
    if (!r->exists) return error_response(404, "not_found", "no record " + target->short_hex() + " on this node");
    input.kind = r->kind;
    input.action = action;
    input.target = target;
    const auto& actions = record_actions().at(r->kind);
    if (std::find(actions.begin(), actions.end(), action) == actions.end() || record_action_creates(r->kind, action))
      return error_response(404, "not_found", "a " + r->kind + " has no step '" + action + "'");
  } else {
    input.kind = fields.string("kind", true, 32);
    if (!fields.ok()) return fields.error();
    if (!record_actions().count(input.kind))
      return error_response(422, "invalid", "kind must be unit, inspection, tip, incident, notice, person, training, meeting or notebook", "kind");
    input.action = record_actions().at(input.kind).front();
    input.scope = fields.string("scope", input.kind != "inspection", 64);
  }
  // Field values: text; a patrol's checklist may come as a list of ITEM:pass|fail|na[:note] lines.
  if (body.contains("fields") && !body["fields"].is_null()) {
    if (!body["fields"].is_object()) return error_response(422, "invalid", "fields must be an object of texts", "fields");
    const auto& allowed = record_field_names(input.kind);
    for (const auto& [name, value] : body["fields"].items()) {
      if (!allowed.count(name)) return error_response(422, "invalid", "a " + input.kind + " has no field '" + name + "'", name);
      std::string text;
      if (value.is_string()) {
        text = value.get<std::string>();
      } else if (name == "items" && value.is_array()) {
        for (const auto& line : value) {
          if (!line.is_string()) return error_response(422, "invalid", "items must be texts", "items");
          text += (text.empty() ? "" : "\n") + line.get<std::string>();
        }
      } else {
        return error_response(422, "invalid", name + " must be text", name);
      }
      if (text.size() > limits::note_bytes_max)
        return error_response(422, "invalid", name + " is longer than " + std::to_string(limits::note_bytes_max) + " bytes", name);
      input.fields[name] = text;
    }
  }
  // References: a patrol's unit and the hazards it found; the hazard a tip became.
  auto cite = [&](const char* name, bool many) {
    if (!body.contains(name) || body[name].is_null()) return;
    json list = many ? body[name] : json::array({body[name]});
    if (!list.is_array() || list.size() > 64) return fields.fail(name, std::string(name) + " must be ids (64 hex digits)");
    for (const auto& item : list) {
      auto ref = item.is_string() ? Hash32::from_hex(item.get<std::string>()) : std::nullopt;
      if (!ref) return fields.fail(name, std::string(name) + " must be ids (64 hex digits)");
      input.refs.push_back(*ref);
    }
  };
  cite("unit", false);
  cite("hazard", false);
  cite("hazards", true);
  auto photos = cited_photos(store_, body, fields);
  if (!photos) return status_response(photos.status());
  input.photos = *photos;
  if (!fields.ok()) return fields.error();
  std::string field_named;
  auto draft = record_step_draft(store_, input, [&field_named](const char* f) {
    if (field_named.empty()) field_named = f;
    return std::string(f);
  });
  if (!draft) return error_response(422, "invalid", draft.status().message(), field_named);
  auto op = store_.author(session.key, *draft, clock_);
  if (!op) return status_response(op.status());
  json answer = {{"id", op->fields.object.hex()}, {"op", op->id.hex()}};
  remember_answer(store_, session.key.public_key(), idempotency, answer);
  return json_response(201, answer);
}

HttpResponse WebApi::patrols_due_list(const HttpRequest& request) {
  std::string scope;
  if (auto bad = bad_scope_filter(request, scope)) return *bad;
  std::lock_guard<std::mutex> lock(store_mutex_);
  auto units = load_records(store_, "unit");
  if (!units) return status_response(units.status());
  auto inspections = load_records(store_, "inspection");
  if (!inspections) return status_response(inspections.status());
  auto authority = store_.authority();
  if (!authority) return status_response(authority.status());
  auto now = store_.deadline_now_hlc();
  if (!now) return status_response(now.status());
  json items = json::array();
  for (const PatrolDue& d : patrols_due(*units, *inspections, (*authority)->constitution(), hlc_ms(*now))) {
    if (!scope.empty() && !scope_contains(scope, d.scope)) continue;
    items.push_back({{"unit", d.unit.hex()}, {"name", d.name}, {"scope", d.scope}, {"key_supervision", d.key_unit},
                     {"last", d.last_ms ? json(hlc_display(hlc_from_ms(d.last_ms))) : json(nullptr)},
                     {"due", hlc_display(hlc_from_ms(d.due_ms), TimeShown::kDate)}, {"overdue", d.overdue}});
  }
  return json_response(200, {{"items", items}});
}

HttpResponse WebApi::people(Session& session, const HttpRequest& request) {
  std::string scope;
  if (auto bad = bad_scope_filter(request, scope)) return *bad;
  std::lock_guard<std::mutex> lock(store_mutex_);
  auto authority = store_.authority();
  if (!authority) return status_response(authority.status());
  auto regions = current_region_names();
  if (!regions) return status_response(regions.status());
  auto people = current_people();
  if (!people) return status_response(people.status());
  auto names = key_names();
  if (!names) return status_response(names.status());
  const PublicKey viewer = session.key.public_key();
  auto place_of = [&](const std::string& code) {
    auto place = regions->find(code);
    return place == regions->end() ? std::string() : place->second;
  };
  // Every office held here, each with its person's profile where one is bound (the phone only
  // where the rules let this person see it: crdt/RECORDS.md, "Profiles").
  json items = json::array();
  for (const EffectiveRole& role : (*authority)->who(scope)) {
    json entry = {{"key", role.key.hex()},  {"name", (*names)(role.key)}, {"role", role.role},
                  {"scope", role.scope},    {"scope_name", place_of(role.scope)},
                  {"categories", role.categories}, {"root", role.root}};
    const Profile* p = (*people)->of_key(role.key);
    entry["person"] = p == nullptr ? json(nullptr) : json(p->id.hex());
    entry["office"] = p == nullptr ? "" : p->office;
    bool phone = p != nullptr && (*people)->phone_visible(*p, viewer);
    entry["phone"] = phone ? json(p->phone) : json(nullptr);
    items.push_back(entry);
  }
  // The profiles at or under the scope, bound or not yet bound to a key.
  json profiles = json::array();
  for (const Profile& p : (*people)->profiles()) {
    if (!scope.empty() && !scope_contains(scope, p.scope) && !scope_contains(p.scope, scope)) continue;
    json entry = profile_json(p, (*people)->phone_visible(p, viewer));
    entry["scope_name"] = place_of(p.scope);
    profiles.push_back(entry);
  }
  // May this person add and edit profiles somewhere (the page offers the form only then)?
  bool may_edit = false;
  for (const EffectiveRole& role : (*authority)->who(""))
    if ((*people)->holder_of(role.key) == (*people)->holder_of(viewer))
      may_edit = may_edit || (*authority)->can(Action{viewer, 0, capability::kDelegate, role.scope, "",
                                                      ActionClass::kPrivileged, std::nullopt}).effective;
  const Profile* me = (*people)->of_key(viewer);
  return json_response(200, {{"items", items}, {"profiles", profiles}, {"may_edit", may_edit},
                             {"me", me == nullptr ? json(nullptr) : json(me->id.hex())}});
}

HttpResponse WebApi::map_view(const HttpRequest& request) {
  std::string scope;
  if (auto bad = bad_scope_filter(request, scope)) return *bad;
  std::lock_guard<std::mutex> lock(store_mutex_);
  // The node's own scope unless another is asked for: what this node holds is what it serves.
  if (scope.empty()) {
    auto authority = store_.authority();
    if (!authority) return status_response(authority.status());
    auto scopes = (*authority)->node_scopes(home_.node_key());
    auto stats = store_.stats();
    if (!stats) return status_response(stats.status());
    scope = scopes.empty() ? stats->county_code : scopes.front();
    if (scope.empty()) return error_response(404, "not_found", "this node belongs to no network yet");
  }
  auto regions = current_regions();
  if (!regions) return status_response(regions.status());
  auto data = map_data(store_, **regions, scope);
  if (!data) return status_response(data.status());
  json out = map_json(*data);
  MbTiles* tiles = basemap();
  out["basemap"] = tiles == nullptr ? json(nullptr)
                                    : json{{"name", tiles->name()}, {"format", tiles->format()}, {"bounds", tiles->bounds()},
                                           {"minzoom", tiles->min_zoom()}, {"maxzoom", tiles->max_zoom()}};
  return json_response(200, out);
}

MbTiles* WebApi::basemap() {
  if (!tiles_opened_) {
    tiles_opened_ = true;
    const std::string& path = home_.config().web_mbtiles;
    if (!path.empty()) {
      auto opened = MbTiles::open(path);
      if (opened) tiles_ = std::move(*opened);
      else spdlog::warn("web: no basemap: {}", opened.status().message());
    }
  }
  return tiles_.get();
}

HttpResponse WebApi::tile(const std::string& z_text, const std::string& x_text, const std::string& y_text) {
  // Whole numbers of at most 8 digits (2^22 has 7), so nothing overflows before the bounds are checked.
  auto number = [](const std::string& text) -> long long {
    if (text.empty() || text.size() > 8 || text.find_first_not_of("0123456789") != std::string::npos) return -1;
    return std::stoll(text);
  };
  const long long z = number(z_text), x = number(x_text), y = number(y_text);
  if (z < 0 || x < 0 || y < 0)
    return error_response(422, "invalid", "a tile is tiles/Z/X/Y in whole numbers", z < 0 ? "z" : x < 0 ? "x" : "y");
  if (z > limits::web_tile_zoom_max)
    return error_response(422, "invalid", "zoom is 0 to " + std::to_string(limits::web_tile_zoom_max), "z");
  if (x >= (1LL << z) || y >= (1LL << z))
    return error_response(422, "invalid", "at zoom " + std::to_string(z) + " a tile's x and y are 0 to " + std::to_string((1LL << z) - 1),
                          x >= (1LL << z) ? "x" : "y");
  std::lock_guard<std::mutex> lock(store_mutex_);  // the web server's one thread, and the tiles file with it
  MbTiles* tiles = basemap();
  if (tiles == nullptr) return error_response(404, "not_found", "this node has no basemap ([web] mbtiles in anwang.toml)");
  auto found = tiles->tile(static_cast<int>(z), x, y);
  // A tile that is there but cannot be drawn (a vector tile, one over the size bound) is none to the map.
  if (!found && found.status().code() == Status::Code::kInvalidArgument)
    return error_response(404, "not_found", found.status().message());
  if (!found) return status_response(found.status());
  if (!*found) return error_response(404, "not_found", "the basemap has no tile " + z_text + "/" + x_text + "/" + y_text);
  HttpResponse r;
  r.content_type = (*found)->media_type;
  r.body = std::move((*found)->bytes);
  r.headers.emplace_back("Cache-Control", "private, max-age=86400");
  return r;
}

}  // namespace anwang::node
