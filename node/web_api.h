// web_api.h — the local JSON API (/api/v1/, documented with an example per endpoint in
// node/web/API.md) and the web UI's files, as an HttpHandler for node/web_server.h.
//
// An edge, like the sync service's TCP edge: it parses a request, finds the session, and calls the
// same node functions the CLI calls (node/hazard_steps.h, Store::author, Store::judge_draft); the
// authority rules decide in the store, never here. A refused step is one JSON error with a stable
// code, an English and a Chinese sentence and the field at fault, and nothing is written.
//
// Sessions. A person signs in with the name of their key on this node and its passphrase
// (node/KEYRING.md, version 3): the key is unlocked into this process's memory for that session
// only, and wiped on sign-out, idle expiry, the session's end and restart. The session is an
// HttpOnly, SameSite=Strict cookie; every request that changes anything also carries the session's
// CSRF token in X-CSRF-Token. A session acts only as its own key. Wrong passphrases are counted
// per key and per address (crdt/limits.h).
//
// Threads: called on the web server's thread; every use of the store holds `store_mutex`, the
// mutex anwangd's sync sessions hold, and never across a network wait.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <nlohmann/json.hpp>
#include <string>

#include "crdt/limits.h"
#include "node/home.h"
#include "node/people.h"
#include "node/map.h"
#include "node/mbtiles.h"
#include "node/store.h"
#include "node/web_server.h"

namespace anwang::node {

struct WebApiOptions {
  std::uint64_t session_idle_ms = limits::web_session_idle_ms_max;
  std::uint64_t session_ms = limits::web_session_ms_max;
  std::string web_url;  // shown by /api/v1/node
};

class WebApi final : public HttpHandler {
 public:
  WebApi(Store& store, std::mutex& store_mutex, const NodeHome& home, const PhysicalClock& clock, WebApiOptions options);
  ~WebApi() override;

  BodyLimit body_limit(const HttpRequest& head) override;
  HttpResponse handle(const HttpRequest& request) override;
  HttpResponse refusal(int status, const std::string& code, const std::string& message) override;

  void set_web_url(std::string url) { options_.web_url = std::move(url); }
  std::size_t sessions() const { return sessions_.size(); }

  struct Session;

 private:
  HttpResponse api(const HttpRequest& request);
  HttpResponse asset(const HttpRequest& request);

  HttpResponse node_info();
  HttpResponse sign_in(const HttpRequest& request);
  HttpResponse me(Session& session);
  HttpResponse inbox(Session& session, const HttpRequest& request);
  HttpResponse hazard_list(Session& session, const HttpRequest& request);
  HttpResponse hazard_show(Session& session, const std::string& id);
  HttpResponse hazard_report(Session& session, const HttpRequest& request);
  HttpResponse hazard_step(Session& session, const std::string& id, const std::string& action, const HttpRequest& request);
  HttpResponse blob_put(Session& session, const HttpRequest& request);
  HttpResponse blob_get(Session& session, const std::string& hash);
  HttpResponse upload_open(Session& session, const HttpRequest& request);
  HttpResponse upload_piece(Session& session, const std::string& id, const HttpRequest& request);
  HttpResponse upload_state(Session& session, const std::string& id);
  HttpResponse regions();
  HttpResponse units(const HttpRequest& request);
  HttpResponse record_list(Session& session, const HttpRequest& request);
  HttpResponse record_show(Session& session, const std::string& id);
  HttpResponse record_write(Session& session, const std::string& id, const std::string& action, const HttpRequest& request);
  HttpResponse patrols_due_list(const HttpRequest& request);
  HttpResponse people(Session& session, const HttpRequest& request);
  // A person record as JSON (`out`), its phone blanked unless this person may see it (false then).
  Result<bool> hide_phone_unless_visible(nlohmann::json& out, const RecordState& r, Session& session);
  HttpResponse map_view(const HttpRequest& request);
  HttpResponse tile(const std::string& z, const std::string& x, const std::string& y);
  HttpResponse sync_panel();

  Session* session_of(const HttpRequest& request);
  void expire_sessions();
  bool signin_blocked(const std::string& key_name, const std::string& address);
  void count_failure(const std::string& key_name, const std::string& address);
  std::uint64_t steady_ms() const;

  // Ops that arrived after every neighbour's synced mark: not yet passed on (待同步).
  struct Outbox;
  Result<Outbox> outbox();
  // Who a key is: the name on its person's profile, else the keyring's name for it, else "".
  // REQUIRES: store_mutex_ held.
  using KeyNamer = std::function<std::string(const PublicKey&)>;
  Result<KeyNamer> key_names();
  // The profiles (node/people.h), loaded again only when ops have arrived since. REQUIRES:
  // store_mutex_ held.
  Result<std::shared_ptr<const People>> current_people();
  // The region names by code (region_names), walked again only when ops have arrived since the
  // last walk: every page asks for them, and the walk reads every op. REQUIRES: store_mutex_ held.
  Result<std::map<std::string, std::string>> current_region_names();
  // The regions with their boundaries (region_infos), from the same walk. REQUIRES: store_mutex_ held.
  Result<const std::map<std::string, RegionInfo>*> current_regions();
  // The basemap's tiles ([web] mbtiles in anwang.toml), opened at the first use; nullptr: none.
  MbTiles* basemap();

  Store& store_;
  std::mutex& store_mutex_;
  const NodeHome& home_;
  const PhysicalClock& clock_;
  WebApiOptions options_;
  std::map<std::string, std::unique_ptr<Session>> sessions_;  // by the cookie's token
  std::map<std::string, std::deque<std::uint64_t>> failures_by_key_, failures_by_address_;
  // Photos arriving in pieces (PUT uploads/ID), by their random id; bounded by
  // limits::web_uploads_max and limits::web_upload_bytes_total_max (each counts its whole declared
  // size from the start).
  struct Upload {
    PublicKey owner;  // only the person who opened it adds to it
    std::string bytes;
    std::uint64_t size = 0;
    std::string media_type;
    std::uint64_t touched_ms = 0;
    std::uint64_t opened = 0;  // the order uploads were opened in: of two touched in one ms, the older goes first
  };
  std::map<std::string, Upload> uploads_;
  std::map<std::string, std::string> region_names_;
  std::map<std::string, RegionInfo> regions_;
  std::optional<std::uint64_t> region_names_arrival_;  // the last arrival when they were walked
  std::shared_ptr<const People> people_;
  std::optional<std::uint64_t> people_arrival_;
  std::unique_ptr<MbTiles> tiles_;
  bool tiles_opened_ = false;  // tried once; a file that fails to open is logged and not tried again
  std::uint64_t uploads_opened_ = 0;
  std::uint64_t upload_bytes_reserved_ = 0;
};

}  // namespace anwang::node
