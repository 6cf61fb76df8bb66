// anwang digest | pending list | pending purge — what this node holds: digests to compare two
// nodes' holdings of one scope, and the ops that wait for their parents.
#include <algorithm>
#include <cctype>
#include <iostream>
#include <set>
#include <tuple>

#include "cli/context.h"
#include "crdt/authority.h"
#include "crdt/hash.h"
#include "crdt/hlc.h"
#include "crdt/scope.h"

namespace anwang::cli {

namespace {

// The scope a digest is taken over: --scope, else the first (widest) this node is enrolled for.
Result<std::string> digest_scope(const Opened& opened, const std::string& scope_arg) {
  if (!scope_arg.empty()) {
    if (Status s = check_scope(scope_arg); !s) return Status::invalid("--scope: " + s.message());
    return scope_arg;
  }
  auto authority = opened.store->authority();
  if (!authority) return authority.status();
  auto scopes = (*authority)->node_scopes(opened.home.node_key());
  if (scopes.empty())
    return Status::invalid("this node is enrolled for no scope of a network, so it has no scope of its own: "
                           "give --scope CODE");
  return scopes.front();
}

// Two digests over the ops visible to `scope` (what a node serving it may hold): the set of their
// ids, and every op's verdict (effective or inert, with its flags, as Store::effective_digest
// writes them). Both sorted by id, so the order ops arrived in does not matter.
void run_digest(Context& ctx, const std::string& scope_arg) {
  auto opened = open_all(ctx);
  if (!opened) return ctx.fail(opened.status());
  auto scope = digest_scope(*opened, scope_arg);
  if (!scope) return ctx.fail(scope.status());
  std::vector<Hash32> ids;
  Status listed = opened->store->for_each_item([&](const Reach& reach, std::uint64_t, const Hash32& id) {
    if (visible_to(reach, *scope)) ids.push_back(id);
  });
  if (!listed) return ctx.fail(listed);
  std::sort(ids.begin(), ids.end());
  Blake2b ops_hasher;
  ops_hasher.update(std::string_view("anwang/scope-ops-digest/v1"));
  ops_hasher.update(*scope + "\n");
  for (const Hash32& id : ids) ops_hasher.update(id.view());
  // Judged from the same list: an op another process adds meanwhile is in neither digest.
  std::vector<std::pair<Hash32, std::string>> verdicts;
  Status judged = opened->store->for_each_judged([&](const Op& op, const Verdict& verdict) {
    if (!std::binary_search(ids.begin(), ids.end(), op.id)) return;
    std::string summary = verdict.effective ? "effective" : "inert";
    for (const std::string& flag : verdict.flags) summary += ";" + flag;
    verdicts.emplace_back(op.id, std::move(summary));
  });
  if (!judged) return ctx.fail(judged);
  if (verdicts.size() != ids.size())
    return ctx.fail(Status::corruption("the store lists " + std::to_string(ids.size()) + " ops visible to " + *scope +
                                       " but judged " + std::to_string(verdicts.size()) + "; run 'anwang verify'"));
  std::sort(verdicts.begin(), verdicts.end());
  Blake2b verdict_hasher;
  verdict_hasher.update(std::string_view("anwang/scope-verdicts-digest/v1"));
  verdict_hasher.update(*scope + "\n");
  for (const auto& [id, summary] : verdicts) {
    verdict_hasher.update(id.view());
    verdict_hasher.update(summary + "\n");
  }
  std::string ops_digest = ops_hasher.finish().hex();
  std::string verdicts_digest = verdict_hasher.finish().hex();
  if (ctx.json)
    return ctx.print({{"scope", *scope}, {"ops", ids.size()}, {"ops_digest", ops_digest},
                      {"verdicts_digest", verdicts_digest}});
  std::cout << "Scope 范围:               " << *scope << "\n"
            << "Ops 操作:                 " << ids.size() << "\n"
            << "Ops digest 操作摘要:      " << ops_digest << "\n"
            << "Verdicts digest 裁决摘要: " << verdicts_digest << "\n";
}

struct PendingOp {
  Hash32 id;
  std::string kind, scope;
  PublicKey author;
  std::uint64_t hlc = 0;
  std::vector<Hash32> missing;
};

// The pending area, oldest first.
Result<std::vector<PendingOp>> pending_ops(const node::Store& store) {
  std::vector<PendingOp> out;
  Status s = store.for_each_pending([&out](const Op& op, const std::vector<Hash32>& missing) {
    out.push_back(PendingOp{op.id, payload_kind(op.fields.payload), op.fields.scope, op.fields.author, op.fields.hlc,
                            missing});
  });
  if (!s) return s;
  std::sort(out.begin(), out.end(),
            [](const PendingOp& a, const PendingOp& b) { return std::tie(a.hlc, a.id) < std::tie(b.hlc, b.id); });
  return out;
}

void run_pending_list(Context& ctx) {
  auto opened = open_all(ctx);
  if (!opened) return ctx.fail(opened.status());
  auto pending = pending_ops(*opened->store);
  if (!pending) return ctx.fail(pending.status());
  if (ctx.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const PendingOp& p : *pending) {
      nlohmann::json missing = nlohmann::json::array();
      for (const Hash32& id : p.missing) missing.push_back(id.hex());
      out.push_back({{"id", p.id.hex()}, {"kind", p.kind}, {"scope", p.scope}, {"author", p.author.hex()},
                     {"time", hlc_display(p.hlc)}, {"missing", missing}});
    }
    return ctx.print(out);
  }
  if (pending->empty()) std::cout << "No ops wait for parents 无待补父操作.\n";
  for (const PendingOp& p : *pending) {
    std::string kind = p.kind;
    kind.resize(std::max<std::size_t>(kind.size(), 13), ' ');
    std::cout << p.id.short_hex() << "  " << kind << "  " << p.scope << "  by " << p.author.short_hex() << "  "
              << hlc_display(p.hlc, TimeShown::kMinutes) << "  waits for 缺父操作:";
    for (const Hash32& id : p.missing) std::cout << " " << id.short_hex();
    std::cout << "\n";
  }
}

// Removes the named pending ops (ids or unique prefixes of at least 8 hex digits), or all of
// them, in one write transaction. Ids that name no pending op are reported; exit 1 then, as an
// import that refused some ops.
void run_pending_purge(Context& ctx, const std::vector<std::string>& names, bool all) {
  auto opened = open_all(ctx);
  if (!opened) return ctx.fail(opened.status());
  for (const std::string& name : names)
    if (name.size() < 8 || name.size() > 64 ||
        !std::all_of(name.begin(), name.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); }))
      return ctx.fail(Status::invalid("ID '" + name + "' must be an op id: 64 hex digits, or a prefix of at least 8"));
  auto pending = pending_ops(*opened->store);
  if (!pending) return ctx.fail(pending.status());
  std::set<Hash32> chosen;
  std::vector<std::string> not_pending;
  for (const PendingOp& p : *pending)
    if (all) chosen.insert(p.id);
  for (std::string name : names) {
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    std::vector<Hash32> matches;
    for (const PendingOp& p : *pending)
      if (p.id.hex().rfind(name, 0) == 0) matches.push_back(p.id);
    if (matches.size() > 1)
      return ctx.fail(Status::invalid("ID prefix " + name + " matches several pending ops; give more digits"));
    if (matches.empty())
      not_pending.push_back(name);
    else
      chosen.insert(matches.front());
  }
  std::vector<Hash32> ids(chosen.begin(), chosen.end());
  auto purged = opened->store->drop_pending(ids);
  if (!purged) return ctx.fail(purged.status());
  if (ctx.json) {
    ctx.print({{"purged", *purged}, {"not_pending", not_pending}});
  } else {
    std::cout << "Purged 已清除 " << *purged << " ops from the pending area 待补区.\n";
    for (const std::string& name : not_pending) std::cout << "not pending 不在待补区: " << name << "\n";
  }
  if (!not_pending.empty()) ctx.exit_code = kExitCheckFailed;
}

}  // namespace

void add_state_commands(CLI::App& app, Context& ctx) {
  auto digest_scope_arg = std::make_shared<std::string>();
  auto* digest = app.add_subcommand(
      "digest", "Digests of the ops this node holds for a scope and of their verdicts (摘要), to compare two nodes");
  digest->add_option("--scope", *digest_scope_arg,
                     "Jurisdiction code (default: the scope this node is enrolled for)");
  digest->callback([&ctx, digest_scope_arg] { run_digest(ctx, *digest_scope_arg); });

  auto* pending = app.add_subcommand("pending", "Ops waiting for their parents (待补父操作)");
  pending->require_subcommand(1);
  pending->add_subcommand("list", "Each waiting op and the parents it lacks")->callback([&ctx] {
    run_pending_list(ctx);
  });
  auto purge_ids = std::make_shared<std::vector<std::string>>();
  auto purge_all = std::make_shared<bool>(false);
  auto* purge = pending->add_subcommand("purge", "Remove waiting ops: those named, or --all");
  auto* ids_option = purge->add_option("ID", *purge_ids, "Op id (64 hex digits or a unique prefix of at least 8)");
  purge->add_flag("--all", *purge_all, "Every waiting op")->excludes(ids_option);
  purge->require_option(1);
  purge->callback([&ctx, purge_ids, purge_all] { run_pending_purge(ctx, *purge_ids, *purge_all); });
}

}  // namespace anwang::cli
