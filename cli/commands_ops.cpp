// anwang genesis | region add | note add | log | show | status | verify | op export | op import
#include <algorithm>
#include <fstream>
#include <map>
#include <iostream>

#include "cli/context.h"
#include "crdt/hash.h"
#include "crdt/hlc.h"
#include "crdt/scope.h"
#include "crdt/text.h"
#include "crdt/limits.h"
#include "crdt/trusted_time.h"
#include "node/constitution.h"
#include "node/op_file.h"
#include "node/op_json.h"

namespace anwang::cli {

namespace {

void print_created(Context& ctx, const Op& op) {
  if (ctx.json) {
    ctx.print({{"id", op.id.hex()}, {"kind", payload_kind(op.fields.payload)}});
    return;
  }
  std::cout << op.id.hex() << "\n";
}

// Signs and writes one op by the acting key.
void author_and_print(Context& ctx, Opened& opened, const KeyPair& key, const node::OpDraft& draft) {
  auto op = author_op(ctx, opened, key, draft);
  if (!op) return ctx.fail(op.status());
  print_created(ctx, *op);
}

struct GenesisArgs {
  std::string county, name, roots, constitution;
  unsigned threshold = 1;
};

void run_genesis(Context& ctx, const GenesisArgs& args) {
  auto opened = open_all(ctx);
  if (!opened) return ctx.fail(opened.status());
  GenesisPayload genesis{args.county, args.name, {}, 0, node::default_constitution()};
  if (!args.constitution.empty()) {
    auto constitution = node::load_constitution_file(args.constitution);
    if (!constitution) return ctx.fail(constitution.status());
    genesis.constitution = std::move(*constitution);
  }
  if (Status s = check_scope(args.county); !s) return ctx.fail(Status::invalid("--county: " + s.message()));
  if (scope_level(args.county) != ScopeLevel::kCounty)
    return ctx.fail(Status::invalid("--county must be a 6-digit county code, e.g. 150430"));
  std::vector<std::string> names = split_commas(args.roots);
  if (names.empty()) return ctx.fail(Status::invalid("--root must name at least one key"));
  for (const std::string& name : names) {
    auto key = opened->home.resolve_public_key(name);
    if (!key) return ctx.fail(Status(key.status()));
    genesis.root_keys.push_back(*key);
  }
  std::sort(genesis.root_keys.begin(), genesis.root_keys.end());
  if (std::adjacent_find(genesis.root_keys.begin(), genesis.root_keys.end()) != genesis.root_keys.end())
    return ctx.fail(Status::invalid("--root names the same key twice"));
  if (args.threshold < 1 || args.threshold > genesis.root_keys.size())
    return ctx.fail(Status::invalid("--threshold must be between 1 and the number of root keys (" +
                                    std::to_string(genesis.root_keys.size()) + ")"));
  genesis.threshold = static_cast<std::uint8_t>(args.threshold);
  // The signer: --as, else the first root key held in this keyring.
  Result<KeyPair> signer = Status::not_found("none of the --root keys is in this node's keyring, so none can sign");
  if (!ctx.acting_key_name.empty()) {
    signer = ctx.load_key(opened->home, ctx.acting_key_name);
  } else {
    for (const std::string& name : names) {
      auto key = ctx.load_key(opened->home, name);
      bool locked = node::is_passphrase_needed(key.status()) || node::is_wrong_passphrase(key.status());
      if (key || locked) {  // a protected root key held here says why it did not sign
        signer = std::move(key);
        if (signer) break;
      }
    }
  }
  if (!signer) return ctx.fail(signer.status());
  if (!std::binary_search(genesis.root_keys.begin(), genesis.root_keys.end(), signer->public_key()))
    return ctx.fail(Status::invalid("the signer of a genesis must be one of its --root keys"));
  node::OpDraft draft{args.county, named_object_id("network", args.county), genesis, {}};
  author_and_print(ctx, *opened, *signer, draft);
  if (ctx.exit_code != kExitOk) return;
  // This node serves the county: enrol it, so it can sync and make bundles for others.
  node::OpDraft enrolment{args.county, node_object_id(opened->home.node_key()), EnrolmentPayload{opened->home.node_key()}, {}};
  auto enrolled = author_op(ctx, *opened, *signer, enrolment);
  if (!enrolled) return ctx.fail(enrolled.status());
}

// Reads a GeoJSON Polygon or MultiPolygon geometry and returns it compact.
Result<std::string> read_boundary(const std::string& file) {
  std::ifstream in(file);
  if (!in) return Status::not_found("cannot read boundary file " + file);
  nlohmann::json geometry = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (geometry.is_discarded()) return Status::invalid("--boundary: " + file + " is not valid JSON");
  if (!geometry.is_object() || !geometry.contains("type") || !geometry.contains("coordinates") ||
      (geometry["type"] != "Polygon" && geometry["type"] != "MultiPolygon") || !geometry["coordinates"].is_array())
    return Status::invalid("--boundary: " + file +
                           " must be a GeoJSON geometry with \"type\": \"Polygon\" or \"MultiPolygon\" and \"coordinates\"");
  return geometry.dump();
}

void run_region_add(Context& ctx, const std::string& code, const std::string& name, const std::string& boundary_file) {
  auto opened = open_all(ctx);
  if (!opened) return ctx.fail(opened.status());
  if (Status s = check_scope(code); !s) return ctx.fail(s);
  auto key = ctx.acting_key(opened->home);
  if (!key) return ctx.fail(key.status());
  std::string boundary;
  if (!boundary_file.empty()) {
    auto read = read_boundary(boundary_file);
    if (!read) return ctx.fail(read.status());
    boundary = std::move(*read);
  }
  node::OpDraft draft{code, named_object_id("region", code), RegionPayload{code, name, boundary}, {}};
  author_and_print(ctx, *opened, *key, draft);
}

void run_note_add(Context& ctx, const std::string& scope, const std::string& text, const std::string& object) {
  auto opened = open_all(ctx);
  if (!opened) return ctx.fail(opened.status());
  if (Status s = check_scope(scope); !s) return ctx.fail(Status::invalid("--scope: " + s.message()));
  auto key = ctx.acting_key(opened->home);
  if (!key) return ctx.fail(key.status());
  node::OpDraft draft{scope, Hash32{}, NotePayload{text}, {},
                      object.empty() ? node::DraftTarget::kNewRecord : node::DraftTarget::kExisting};
  if (!object.empty()) {
    auto parsed = Hash32::from_hex(object);
    if (!parsed) return ctx.fail(Status::invalid("--object must be a 64-digit hex object id"));
    draft.object = *parsed;
  }
  author_and_print(ctx, *opened, *key, draft);
}

void run_log(Context& ctx, std::size_t limit) {
  auto opened = open_all(ctx);
  if (!opened) return ctx.fail(opened.status());
  std::vector<std::pair<Op, Verdict>> judged;
  Status s = opened->store->for_each_judged([&](const Op& op, const Verdict& verdict) { judged.emplace_back(op, verdict); });
  if (!s) return ctx.fail(s);
  if (limit > 0 && judged.size() > limit) judged.erase(judged.begin(), judged.end() - static_cast<std::ptrdiff_t>(limit));
  nlohmann::json out = nlohmann::json::array();
  if (!ctx.json && judged.empty()) std::cout << "The log is empty 日志为空.\n";
  for (const auto& [op, verdict] : judged) {
    if (ctx.json) {
      nlohmann::json entry = node::op_to_json(op);
      entry["effective"] = verdict.effective;
      entry["reason"] = verdict.reason;
      entry["flags"] = verdict.flags;
      out.push_back(std::move(entry));
      continue;
    }
    std::cout << node::op_summary(op);
    if (!verdict.effective) std::cout << "  [INERT 无效: " << verdict.reason << "]";
    for (const std::string& flag : verdict.flags) std::cout << "  [" << flag << "]";
    std::cout << "\n";
  }
  if (ctx.json) ctx.print(out);
}

void run_show(Context& ctx, const std::string& id_text) {
  auto opened = open_all(ctx);
  if (!opened) return ctx.fail(opened.status());
  auto id = opened->store->resolve_id(id_text);
  if (!id) return ctx.fail(id.status());
  auto op = opened->store->get(*id);
  if (!op) return ctx.fail(op.status());
  if (!*op) return ctx.fail(Status::not_found("no op with id " + id_text + " in this store"));
  nlohmann::json json = node::op_to_json(**op);
  if (ctx.json) return ctx.print(json);
  for (const auto& [field, value] : json.items())
    std::cout << field << ": " << (value.is_string() ? value.get<std::string>() : value.dump()) << "\n";
}

// Per-peer bookkeeping kept by sync sessions: "peer/<key>/<name>" counters.
nlohmann::json peers_json(const node::Store& store) {
  std::map<std::string, nlohmann::json> peers;
  if (auto counters = store.local_counters("peer/")) {
    for (const auto& [name, value] : *counters) {
      auto slash = name.find('/', 5);
      if (slash == std::string::npos) continue;
      std::string key = name.substr(5, slash - 5);
      std::string field = name.substr(slash + 1);
      peers[key]["key"] = key;
      if (field.size() > 3 && field.substr(field.size() - 3) == "_ms")
        peers[key][field.substr(0, field.size() - 3)] = hlc_display(hlc_from_ms(value));
      else
        peers[key][field] = value;
    }
  }
  nlohmann::json out = nlohmann::json::array();
  for (auto& [key, peer] : peers) out.push_back(peer);
  return out;
}

// This node's clock against its peers' (Store::clock_state): what `status` shows.
nlohmann::json clock_json(const node::ClockState& clock) {
  const TrustedTime& t = clock.time;
  nlohmann::json peers = nlohmann::json::array();
  for (const PeerClockOffset& peer : clock.peers) {
    bool recent = offset_is_recent(t.local_ms, peer.observed_ms);
    peers.push_back({{"node", peer.peer.hex()},
                     {"offset_ms", peer.offset_ms},
                     {"off_by_ms", peer.offset_ms - t.correction_ms},  // against this node's trusted time
                     {"off", recent && node::peer_clock_off(clock, peer.offset_ms).has_value()},
                     {"observed", hlc_display(hlc_from_ms(peer.observed_ms))},
                     {"recent", recent}});
  }
  return {{"local", hlc_display(hlc_from_ms(t.local_ms))},
          {"trusted", hlc_display(hlc_from_ms(t.trusted_ms))},
          {"correction_ms", t.correction_ms},
          {"verdict", clock_verdict_name(t.verdict)},
          {"plausible", t.local_plausible},
          {"known", t.known},
          {"peer_votes", t.peer_votes},
          {"peers", peers}};
}

// The clock in words: one line for this node, one for each recent peer whose clock is off.
void print_clock(const node::ClockState& clock) {
  const TrustedTime& t = clock.time;
  std::string line;
  switch (t.verdict) {
    case ClockVerdict::kOk: {
      std::size_t agreeing = 0;
      for (const PeerClockOffset& peer : clock.peers)
        if (offset_is_recent(t.local_ms, peer.observed_ms) && !node::peer_clock_off(clock, peer.offset_ms)) ++agreeing;
      line = agreeing == t.peer_votes
                 ? "ok 正常 (agrees with " + std::to_string(agreeing) + " peer clock(s) within 5 minutes)"
                 : "ok 正常 (agrees with " + std::to_string(agreeing) + " of " + std::to_string(t.peer_votes) +
                       " peer clocks within 5 minutes; no majority against it: the clocks that differ are below)";
      break;
    }
    case ClockVerdict::kNoPeers:
      line = "not compared yet 未校对 (no peer's clock seen in the last 7 days): " +
             hlc_display(hlc_from_ms(t.local_ms), TimeShown::kSeconds);
      break;
    case ClockVerdict::kBehind:
    case ClockVerdict::kAhead:
      line = std::string(t.verdict == ClockVerdict::kBehind ? "BEHIND 时钟偏慢: " : "AHEAD 时钟偏快: ") + node::clock_warning(clock);
      break;
  }
  std::cout << "Clock 时钟:           " << line << "\n";
  for (const PeerClockOffset& peer : clock.peers) {
    auto off = node::peer_clock_off(clock, peer.offset_ms);
    if (!offset_is_recent(t.local_ms, peer.observed_ms) || !off) continue;
    std::cout << "  peer clock off 对端时钟有误: node " << peer.peer.short_hex() << "'s clock is "
              << describe_offset(*off, "this node's time") << " (seen "
              << hlc_display(hlc_from_ms(peer.observed_ms), TimeShown::kMinutes) << ")\n";
  }
}

// The keyring's keys against what other nodes have seen of them (Store::key_standing).
struct KeyReport {
  node::KeyInfo info;
  node::KeyStanding standing;
};

std::vector<KeyReport> key_reports(const Opened& opened) {
  std::vector<KeyReport> out;
  auto keys = opened.home.list_keys();
  if (!keys) return out;
  for (const node::KeyInfo& info : *keys)
    if (auto standing = opened.store->key_standing(info.public_key)) out.push_back({info, std::move(*standing)});
  return out;
}

std::string named(const std::string& message, const node::KeyInfo& info) {
  return node::with_key_name(message, info.public_key, info.name);
}

// Ops this node keeps and passes on without knowing their kind (crdt/OP_FORMAT.md, "Compatibility").
nlohmann::json deferred_json(const std::vector<node::DeferredOp>& deferred) {
  nlohmann::json out = nlohmann::json::array();
  for (const node::DeferredOp& d : deferred)
    out.push_back({{"id", d.id.hex()}, {"scope", d.scope}, {"what", d.what}, {"void", d.void_here}});
  return out;
}

void print_deferred(const std::vector<node::DeferredOp>& deferred, std::uint64_t count) {
  if (count == 0) return;
  std::cout << "Newer release 需新版本: " << count
            << " op(s) kept and passed on but not judged here; those of a kind this release does not know are read "
               "once anwang is upgraded (升级后可读)\n";
  for (const node::DeferredOp& d : deferred)
    std::cout << "  " << d.id.short_hex() << "  " << d.scope << "  "
              << (d.void_here ? "void under this release 本版本判定无效: " : "needs a newer release 需新版本: ") << d.what
              << "\n";
  if (deferred.size() < count) std::cout << "  (" << count - deferred.size() << " more)\n";
}

void run_status(Context& ctx) {
  auto opened = open_all(ctx);
  if (!opened) return ctx.fail(opened.status());
  auto stats = opened->store->stats();
  if (!stats) return ctx.fail(stats.status());
  auto clock = opened->store->clock_state(ctx.clock);
  if (!clock) return ctx.fail(clock.status());
  auto deferred = opened->store->deferred_ops();
  if (!deferred) return ctx.fail(deferred.status());
  std::vector<KeyReport> keys = key_reports(*opened);
  std::string network = stats->network_id ? stats->network_id->hex() : "";
  // The web UI's address: where the running anwangd serves it (it writes HOME/web-url at start and
  // removes it at stop), else where anwang.toml says it will.
  std::string web_url;
  bool web_running = false;
  {
    std::ifstream in(opened->home.dir() / "web-url");
    if (in && std::getline(in, web_url) && !web_url.empty()) web_running = true;
    else web_url = opened->home.config().web_listen.value_or("127.0.0.1:8088");
  }
  if (ctx.json) {
    nlohmann::json keys_json = nlohmann::json::array();
    for (const KeyReport& k : keys) {
      nlohmann::json equivocations = nlohmann::json::array();
      for (std::uint64_t seq : k.standing.equivocations)
        equivocations.push_back({{"seq", seq}, {"advice", node::equivocation_advice(k.info.name, k.info.public_key, seq)}});
      keys_json.push_back({{"name", k.info.name},
                           {"public_key", k.info.public_key.hex()},
                           {"held_seq", k.standing.held_seq},
                           {"known_seq", k.standing.known ? k.standing.known->seq : 0},
                           {"adopted_seq", k.standing.adopted ? k.standing.adopted->seq : 0},
                           {"behind", !k.standing.behind.empty()},
                           {"reason", named(k.standing.behind, k.info)},
                           {"equivocations", equivocations}});
    }
    ctx.print({{"home", opened->home.dir().string()},
               {"node_key", opened->home.node_key().hex()},
               {"web", {{"url", web_url}, {"running", web_running}}},
               {"network_id", stats->network_id ? nlohmann::json(network) : nlohmann::json(nullptr)},
               {"county", stats->county_code},
               {"ops", stats->ops},
               {"pending", stats->pending},
               {"needs_newer_release", deferred_json(*deferred)},
               {"store_bytes", stats->file_bytes},
               {"map_bytes", stats->map_bytes},
               {"last_time", stats->hlc_last ? nlohmann::json(hlc_display(stats->hlc_last)) : nlohmann::json(nullptr)},
               {"stale_readers_cleared", opened->store->stale_readers_cleared()},
               {"restored_at", stats->restored_ms ? nlohmann::json(hlc_display(hlc_from_ms(*stats->restored_ms)))
                                                  : nlohmann::json(nullptr)},
               {"clock", clock_json(*clock)},
               {"keys", keys_json},
               {"peers", peers_json(*opened->store)},
               {"blobs_missing", [&] {
                  auto missing = opened->store->missing_blobs();
                  return missing ? missing->size() : 0;
                }()}});
    return;
  }
  std::cout << "Node home 节点目录:   " << opened->home.dir().string() << "\n"
            << "Node key 节点公钥:    " << opened->home.node_key().hex() << "\n"
            << "Web UI 网页:          "
            << (web_running ? web_url
                            : web_url.empty() ? std::string("(off: [web] listen is \"\" in anwang.toml)")
                                              : "http://" + web_url + "/ once anwangd runs")
            << "\n"
            << "Network 网络:         " << (network.empty() ? "(none yet: run 'anwang genesis' or import a bundle)" : network)
            << "\n"
            << "County 县:            " << (stats->county_code.empty() ? "-" : stats->county_code) << "\n"
            << "Ops 操作:             " << stats->ops << "\n"
            << "Pending 待补父操作:   " << stats->pending << "\n"
            << "Store 存储:           " << stats->file_bytes / 1024 << " KiB of " << (stats->map_bytes >> 20)
            << " MiB map\n";
  print_deferred(*deferred, stats->deferred);
  print_clock(*clock);
  if (stats->restored_ms)
    std::cout << "Restored 已从备份恢复: " << hlc_display(hlc_from_ms(*stats->restored_ms))
              << "; no key signs until a sync session with a neighbour has finished (anwang sync HOST:PORT, or anwangd)\n";
  for (const KeyReport& k : keys) {
    if (!k.standing.behind.empty())
      std::cout << "Key behind 密钥落后:  " << named(k.standing.behind, k.info) << "\n";
    for (std::uint64_t seq : k.standing.equivocations)
      std::cout << "EQUIVOCATION 重复签名: " << node::equivocation_advice(k.info.name, k.info.public_key, seq) << "\n";
  }
}

void run_verify(Context& ctx) {
  auto opened = open_all(ctx);
  if (!opened) return ctx.fail(opened.status());
  auto report = opened->store->verify();
  if (!report) return ctx.fail(report.status());
  if (ctx.json) {
    ctx.print({{"ok", report->ok()}, {"ops_checked", report->ops_checked}, {"problems", report->problems}});
  } else {
    for (const std::string& problem : report->problems) std::cout << "PROBLEM 问题: " << problem << "\n";
    std::cout << report->ops_checked << " ops checked 已校验, " << report->problems.size() << " problems 问题\n";
  }
  if (!report->ok()) ctx.exit_code = kExitCheckFailed;
}

void run_op_export(Context& ctx, const std::string& file) {
  auto opened = open_all(ctx);
  if (!opened) return ctx.fail(opened.status());
  auto count = node::export_ops(*opened->store, file);
  if (!count) return ctx.fail(count.status());
  if (ctx.json) return ctx.print({{"file", file}, {"ops", *count}});
  std::cout << "Exported 导出 " << *count << " ops to " << file << "\n";
}

void run_op_import(Context& ctx, const std::string& file) {
  auto opened = open_all(ctx);
  if (!opened) return ctx.fail(opened.status());
  // Progress only to a terminal: in a log file each "\r" line would stay.
  bool progress = !ctx.json && progress_to_terminal();
  auto report = node::import_ops(*opened->store, file, [progress](std::uint64_t read) {
    if (progress) std::cerr << "\rread " << read << " ops" << std::flush;
  });
  if (progress) std::cerr << "\n";
  if (!report) return ctx.fail(report.status());
  if (ctx.json) {
    ctx.print({{"accepted", report->accepted}, {"duplicate", report->duplicate}, {"pending", report->pending},
               {"refused", report->refused}, {"refusals", refusals_json(report->refusals)}});
  } else {
    std::cout << "accepted 接收 " << report->accepted << ", duplicate 重复 " << report->duplicate
              << ", pending 待补父操作 " << report->pending << ", refused 拒收 " << report->refused << "\n";
    for (const auto& refused : report->refusals)
      std::cout << "refused 拒收 " << refused_label(refused) << ": " << refusal_name(refused.reason) << ": "
                << refused.detail << "\n";
  }
  if (report->refused > 0) ctx.exit_code = kExitCheckFailed;
}

}  // namespace

void add_op_commands(CLI::App& app, Context& ctx) {
  auto genesis_args = std::make_shared<GenesisArgs>();
  auto* genesis = app.add_subcommand("genesis", "Create the county's network: its genesis op (创世) with the root keys");
  genesis->add_option("--county", genesis_args->county, "6-digit county code, e.g. 150430")->required();
  genesis->add_option("--name", genesis_args->name, "County name, e.g. 敖汉旗")->required();
  genesis->add_option("--root", genesis_args->roots, "Root keys: names from the keyring or hex, comma-separated")
      ->required();
  genesis->add_option("--threshold", genesis_args->threshold, "How many root keys must sign a constitution amendment")
      ->default_val(1);
  genesis->add_option("--constitution", genesis_args->constitution,
                      "Constitution TOML file (default: the built-in one, node/constitution.toml)");
  genesis->callback([&ctx, genesis_args] { run_genesis(ctx, *genesis_args); });

  auto* region = app.add_subcommand("region", "Jurisdictions (辖区): townships, villages, grids");
  region->require_subcommand(1);
  auto region_code = std::make_shared<std::string>();
  auto region_name = std::make_shared<std::string>();
  auto* region_add = region->add_subcommand("add", "Define or rename a jurisdiction by its administrative code");
  region_add->add_option("CODE", *region_code, "9-digit township, 12-digit village, or VILLAGE-GRID code")->required();
  region_add->add_option("--name", *region_name, "Name, e.g. 新惠镇")->required();
  auto region_boundary = std::make_shared<std::string>();
  region_add->add_option("--boundary", *region_boundary, "GeoJSON file with the boundary polygon (optional)");
  region_add->callback([&ctx, region_code, region_name, region_boundary] {
    run_region_add(ctx, *region_code, *region_name, *region_boundary);
  });
  add_region_list(*region, ctx);
  add_region_import(*region, ctx);

  auto* note = app.add_subcommand("note", "Free-text notes (备注) on a record or a jurisdiction");
  note->require_subcommand(1);
  auto note_scope = std::make_shared<std::string>();
  auto note_text = std::make_shared<std::string>();
  auto note_object = std::make_shared<std::string>();
  auto* note_add = note->add_subcommand("add", "Write a note");
  note_add->add_option("--scope", *note_scope, "Jurisdiction code the note belongs to")->required();
  note_add->add_option("--text", *note_text, "The note")->required();
  note_add->add_option("--object", *note_object, "Object id the note is about (default: a new object)");
  note_add->callback([&ctx, note_scope, note_text, note_object] {
    run_note_add(ctx, *note_scope, *note_text, *note_object);
  });

  auto log_limit = std::make_shared<std::size_t>(0);
  auto* log = app.add_subcommand("log", "List the ops in this node's store, oldest first");
  log->add_option("--limit", *log_limit, "Show only the newest N ops");
  log->callback([&ctx, log_limit] { run_log(ctx, *log_limit); });

  auto show_id = std::make_shared<std::string>();
  auto* show = app.add_subcommand("show", "Show one op with every field");
  show->add_option("OPID", *show_id, "Op id (64 hex digits, or a unique prefix of at least 8)")->required();
  show->callback([&ctx, show_id] { run_show(ctx, *show_id); });

  app.add_subcommand("status", "Network, op count, store size, node key")->callback([&ctx] { run_status(ctx); });
  app.add_subcommand("verify", "Re-verify every stored op (exit 0 only if all hold)")->callback([&ctx] {
    run_verify(ctx);
  });

  auto* op = app.add_subcommand("op", "Raw signed ops in files, for tests and repair");
  op->require_subcommand(1);
  auto op_file = std::make_shared<std::string>();
  auto* op_export = op->add_subcommand("export", "Write every stored op to FILE");
  op_export->add_option("FILE", *op_file, "Output file")->required();
  op_export->callback([&ctx, op_file] { run_op_export(ctx, *op_file); });
  auto* op_import = op->add_subcommand("import", "Verify and ingest the ops in FILE");
  op_import->add_option("FILE", *op_file, "Op file written by 'anwang op export'")->required();
  op_import->callback([&ctx, op_file] { run_op_import(ctx, *op_file); });
}

}  // namespace anwang::cli
