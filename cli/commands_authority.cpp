// anwang delegate | revoke | reaffirm | node enroll | who | can | audit | region list | constitution
#include <algorithm>
#include <iostream>
#include <map>

#include "cli/context.h"
#include "node/hazard_steps.h"
#include "crdt/hash.h"
#include "crdt/scope.h"
#include "crdt/text.h"
#include "node/constitution.h"
#include "node/op_json.h"

namespace anwang::cli {

namespace {

// Comma-separated names, sorted and distinct (the order op fields require).
std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out = split_commas(text);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// Names of keys for readable output: the person's profile name, else the local keyring's name.
std::map<PublicKey, std::string> keyring_names(const Opened& opened) {
  std::map<PublicKey, std::string> names;
  if (auto keys = opened.home.list_keys())
    for (const auto& key : *keys) names[key.public_key] = key.name;
  if (auto people = node::People::load(*opened.store))
    if (auto state = opened.store->authority())
      for (const EffectiveRole& role : (*state)->who(""))
        if (std::string name = people->name_of(role.key); !name.empty()) names[role.key] = name;
  return names;
}

std::string county_of(const node::Store& store) {
  auto stats = store.stats();
  return stats ? stats->county_code : "";
}

void author_checked(Context& ctx, Opened& opened, const node::OpDraft& draft) {
  auto key = ctx.acting_key(opened.home);
  if (!key) return ctx.fail(key.status());
  auto op = author_op(ctx, opened, *key, draft);
  if (!op) return ctx.fail(op.status());
  if (ctx.json) return ctx.print({{"id", op->id.hex()}, {"kind", payload_kind(op->fields.payload)}});
  std::cout << op->id.hex() << "\n";
}

struct DelegateArgs {
  std::string to, role, scope, categories, holder;
};

void run_delegate(Context& ctx, const DelegateArgs& args) {
  auto opened = open_all(ctx);
  if (!opened) return ctx.fail(opened.status());
  if (Status s = check_scope(args.scope); !s) return ctx.fail(Status::invalid("--scope: " + s.message()));
  auto grantee = opened->home.resolve_public_key(args.to);
  if (!grantee) return ctx.fail(grantee.status());
  DelegationPayload delegation{*grantee, args.role, split_list(args.categories)};
  if (!args.holder.empty()) {
    auto holder = opened->home.resolve_public_key(args.holder);
    if (!holder) return ctx.fail(holder.status());
    if (*holder == *grantee) return ctx.fail(Status::invalid("--holder names the person's other key, not the key appointed (--to)"));
    delegation.holder = *holder;
  }
  node::OpDraft draft{args.scope, Hash32{}, delegation, {}, node::DraftTarget::kNewRecord};
  author_checked(ctx, *opened, draft);
}

struct RevokeArgs {
  std::string key, reason, scope, frontier = "auto";
};

void run_revoke(Context& ctx, const RevokeArgs& args) {
  auto opened = open_all(ctx);
  if (!opened) return ctx.fail(opened.status());
  auto key = opened->home.resolve_public_key(args.key);
  if (!key) return ctx.fail(key.status());
  if (args.reason != "left" && args.reason != "compromised")
    return ctx.fail(Status::invalid("--reason must be 'left' or 'compromised'"));
  std::string scope = args.scope.empty() ? county_of(*opened->store) : args.scope;
  if (Status s = check_scope(scope); !s) return ctx.fail(Status::invalid("--scope: " + s.message()));
  RevocationPayload revocation{*key, args.reason, 0, std::nullopt};
  if (args.frontier == "auto") {
    auto head = opened->store->author_head(*key);
    if (!head) return ctx.fail(head.status());
    if (*head) {
      revocation.frontier_seq = (*head)->seq;
      revocation.frontier = (*head)->id;
    } else if (args.reason == "left") {
      // No frontier: a `left` revocation then has no forward rule (crdt/AUTHORITY.md,
      // "Revocation"): the key's roles end for what is written knowing of it, and whatever the key
      // signs without knowing of it stands, however late.
      std::cerr << "anwang: warning: this node holds no op of key " << key->short_hex()
                << ", so the revocation names no frontier: the key's roles end for everything written "
                   "after it, but nothing the key signs without knowing of it is void, however late; "
                   "if it has worked elsewhere, sync with that node first and revoke then "
                   "(a key that may be misused: --reason compromised)\n";
    }
  } else if (args.frontier != "none") {
    return ctx.fail(Status::invalid("--frontier must be 'auto' (the key's latest op this node holds) or 'none'"));
  } else if (args.reason != "compromised") {
    return ctx.fail(Status::invalid(
        "--frontier none voids every act of the key, and is only for a key reported compromised "
        "(--reason compromised); a key that left is revoked from its latest op (--frontier auto)"));
  }
  author_checked(ctx, *opened, node::OpDraft{scope, key_object_id(*key), revocation, {}});
}

void run_reaffirm(Context& ctx, const std::string& key_text, std::uint64_t seq, const std::string& scope_arg) {
  auto opened = open_all(ctx);
  if (!opened) return ctx.fail(opened.status());
  auto key = opened->home.resolve_public_key(key_text);
  if (!key) return ctx.fail(key.status());
  std::string scope = scope_arg.empty() ? county_of(*opened->store) : scope_arg;
  if (Status s = check_scope(scope); !s) return ctx.fail(Status::invalid("--scope: " + s.message()));
  if (seq == 0) {
    auto head = opened->store->author_head(*key);
    if (!head) return ctx.fail(head.status());
    seq = *head ? (*head)->seq : 1;
  }
  author_checked(ctx, *opened, node::OpDraft{scope, key_object_id(*key), ReaffirmationPayload{*key, seq}, {}});
}

void run_enroll(Context& ctx, const std::string& node_key_text, const std::string& scope) {
  auto opened = open_all(ctx);
  if (!opened) return ctx.fail(opened.status());
  auto node_key = opened->home.resolve_public_key(node_key_text);
  if (!node_key) return ctx.fail(node_key.status());
  if (Status s = check_scope(scope); !s) return ctx.fail(Status::invalid("--scope: " + s.message()));
  author_checked(ctx, *opened, node::OpDraft{scope, node_object_id(*node_key), EnrolmentPayload{*node_key}, {}});
}

nlohmann::json review_json(const CompromiseReview& review) {
  return {{"report", review.report.hex()}, {"reporter", review.reporter.hex()}, {"key", review.key.hex()},
          {"scope", review.scope}, {"reason", review.reason},
          {"decide", "anwang revoke --key " + review.key.hex() + " --reason compromised, or anwang reaffirm --key " +
                         review.key.hex()}};
}

void print_reviews(const std::vector<CompromiseReview>& reviews, std::map<PublicKey, std::string>& names) {
  if (reviews.empty()) return;
  std::cout << "Needs review 待复核 — compromise reports voided because their author's office was revoked first; "
               "the keys they name keep working until an office above decides:\n";
  for (const CompromiseReview& review : reviews) {
    auto name = [&names](const PublicKey& key) { return key.short_hex() + (names.count(key) ? " (" + names[key] + ")" : ""); };
    std::cout << "  key " << name(review.key) << " reported compromised by " << name(review.reporter) << " (op "
              << review.report.short_hex() << ", at " << review.scope << "): " << review.reason << "\n"
              << "    decide: anwang revoke --key " << review.key.hex() << " --reason compromised"
              << "  |  keep: anwang reaffirm --key " << review.key.hex() << "\n";
  }
}

void run_audit_reviews(Context& ctx) {
  auto opened = open_all(ctx);
  if (!opened) return ctx.fail(opened.status());
  auto state = opened->store->authority();
  if (!state) return ctx.fail(state.status());
  auto reviews = (*state)->compromise_reviews();
  auto names = keyring_names(*opened);
  if (ctx.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const CompromiseReview& review : reviews) out.push_back(review_json(review));
    return ctx.print(out);
  }
  if (reviews.empty()) std::cout << "No voided compromise reports await review 无待复核的失效举报.\n";
  print_reviews(reviews, names);
}

void run_who(Context& ctx, const std::string& scope) {
  auto opened = open_all(ctx);
  if (!opened) return ctx.fail(opened.status());
  if (!scope.empty())
    if (Status s = check_scope(scope); !s) return ctx.fail(Status::invalid("--scope: " + s.message()));
  auto state = opened->store->authority();
  if (!state) return ctx.fail(state.status());
  auto names = keyring_names(*opened);
  const Constitution& constitution = (*state)->constitution();
  auto roles = (*state)->who(scope);
  std::vector<CompromiseReview> reviews;
  for (CompromiseReview& review : (*state)->compromise_reviews())
    if (scope.empty() || scope_contains(scope, review.scope) || scope_contains(review.scope, scope)) reviews.push_back(review);
  if (ctx.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& r : roles) {
      nlohmann::json review = nullptr;
      for (const CompromiseReview& open : reviews)
        if (open.key == r.key) review = review_json(open);
      out.push_back({{"key", r.key.hex()}, {"name", names.count(r.key) ? names[r.key] : ""}, {"role", r.role},
                     {"scope", r.scope}, {"categories", r.categories}, {"grant", r.grant.hex()}, {"root", r.root},
                     {"review", review}});
    }
    return ctx.print(out);
  }
  if (roles.empty()) std::cout << "No effective roles 无有效角色.\n";
  for (const auto& r : roles) {
    const RoleDef* def = constitution.role(r.role);
    std::string label = def != nullptr ? def->name_zh + " " + r.role : r.role;
    std::cout << r.scope << "  " << label << "  " << r.key.short_hex();
    if (names.count(r.key)) std::cout << " (" << names[r.key] << ")";
    for (const auto& category : r.categories) std::cout << " " << category;
    std::cout << (r.root ? "  root 根密钥" : "  grant " + r.grant.short_hex());
    for (const CompromiseReview& review : reviews)
      if (review.key == r.key) std::cout << "  [REVIEW 待复核: reported compromised by " << review.reporter.short_hex() << ", report voided]";
    std::cout << "\n";
  }
  print_reviews(reviews, names);
}

struct CanArgs {
  std::string key, action, scope, category;
};

void run_can(Context& ctx, const CanArgs& args) {
  auto opened = open_all(ctx);
  if (!opened) return ctx.fail(opened.status());
  auto key = opened->home.resolve_public_key(args.key);
  if (!key) return ctx.fail(key.status());
  if (Status s = check_scope(args.scope); !s) return ctx.fail(s);
  auto state = opened->store->authority();
  if (!state) return ctx.fail(state.status());
  bool known = std::any_of((*state)->constitution().roles.begin(), (*state)->constitution().roles.end(),
                           [&](const RoleDef& role) { return role.has_capability(args.action); });
  if (!known)
    return ctx.fail(Status::invalid("no role of this county's constitution has capability '" + args.action +
                                    "'; see 'anwang constitution show'"));
  auto head = opened->store->author_head(*key);
  if (!head) return ctx.fail(head.status());
  Action action{*key, *head ? (*head)->seq + 1 : 1, args.action, args.scope, args.category,
                capability_class(args.action), std::nullopt};
  Verdict verdict = (*state)->can(action);
  nlohmann::json chain = nlohmann::json::array();
  for (const Hash32& id : verdict.chain) chain.push_back(id.hex());
  if (ctx.json) {
    ctx.print({{"allowed", verdict.effective}, {"reason", verdict.reason}, {"flags", verdict.flags}, {"chain", chain}});
  } else if (verdict.effective) {
    std::cout << "yes 可以: " << key->short_hex() << " may " << args.action << " at " << args.scope << "\n";
    for (const Hash32& id : verdict.chain) {
      auto op = opened->store->get(id);
      if (op && *op) std::cout << "  via " << node::op_summary(**op) << "\n";
    }
  } else {
    std::cout << "no 不可以: " << verdict.reason << "\n";
  }
  if (!verdict.effective) ctx.exit_code = kExitCheckFailed;
}

void run_audit_inert(Context& ctx, bool flagged_too) {
  auto opened = open_all(ctx);
  if (!opened) return ctx.fail(opened.status());
  nlohmann::json out = nlohmann::json::array();
  std::size_t shown = 0;
  Status s = opened->store->for_each_judged([&](const Op& op, const Verdict& verdict) {
    if (verdict.effective && (!flagged_too || verdict.flags.empty())) return;
    ++shown;
    if (ctx.json) {
      out.push_back({{"id", op.id.hex()}, {"kind", payload_kind(op.fields.payload)}, {"author", op.fields.author.hex()},
                     {"effective", verdict.effective}, {"reason", verdict.reason}, {"flags", verdict.flags}});
      return;
    }
    std::cout << (verdict.effective ? "FLAGGED 待复核 " : "INERT 无效 ") << node::op_summary(op) << "\n    "
              << (verdict.effective ? "flags: " + [&] {
                   std::string f;
                   for (const auto& flag : verdict.flags) f += flag + " ";
                   return f;
                 }()
                                    : verdict.reason)
              << "\n";
  });
  if (!s) return ctx.fail(s);
  if (ctx.json) return ctx.print(out);
  if (shown == 0)
    std::cout << (flagged_too ? "No inert or flagged ops 无无效或待复核操作.\n" : "No inert ops 无无效操作.\n");
}

void run_audit_equivocations(Context& ctx) {
  auto opened = open_all(ctx);
  if (!opened) return ctx.fail(opened.status());
  auto state = opened->store->authority();
  if (!state) return ctx.fail(state.status());
  nlohmann::json out = nlohmann::json::array();
  for (const Equivocation& e : (*state)->equivocations()) {
    const PublicKey& key = e.key;
    const std::uint64_t seq = e.seq;
    if (ctx.json)
      out.push_back({{"key", key.hex()}, {"seq", seq}});
    else
      std::cout << "key " << key.hex() << " signed two ops numbered " << seq << "\n";
  }
  if (ctx.json) return ctx.print(out);
  if ((*state)->equivocations().empty()) std::cout << "No equivocation found 未发现一号多签.\n";
}

void run_region_list(Context& ctx) {
  auto opened = open_all(ctx);
  if (!opened) return ctx.fail(opened.status());
  auto regions = node::region_names(*opened->store);
  if (!regions) return ctx.fail(regions.status());
  std::map<std::string, std::pair<std::uint64_t, std::string>> names;  // code → (unused, name)
  for (auto& [code, name] : *regions) names[code] = {0, name};
  if (ctx.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& [code, entry] : names)
      out.push_back({{"code", code}, {"name", entry.second}, {"level", scope_level_name(scope_level(code))},
                     {"parent", scope_parent(code)}});
    return ctx.print(out);
  }
  if (names.empty()) std::cout << "No jurisdictions defined yet 尚无辖区.\n";
  for (const auto& [code, entry] : names) {
    int depth = static_cast<int>(scope_level(code));
    std::cout << std::string(static_cast<std::size_t>(depth) * 2, ' ') << code << "  " << entry.second << "\n";
  }
}

void run_constitution_show(Context& ctx) {
  auto opened = open_all(ctx);
  if (!opened) return ctx.fail(opened.status());
  auto state = opened->store->authority();
  if (!state) return ctx.fail(state.status());
  const Constitution& c = (*state)->constitution();
  if (ctx.json) return ctx.print(node::constitution_to_json(c));
  std::cout << "Roles 角色:\n";
  for (const RoleDef& role : c.roles)
    std::cout << "  " << role.id << "  " << role.name_zh << " / " << role.name_en << "  (" << role.levels.front()
              << (role.levels.size() > 1 ? "…" : "") << ", rank " << role.rank << ")\n";
  std::cout << "Categories 隐患类别:\n";
  for (const CategoryDef& category : c.categories)
    std::cout << "  " << category.id << "  " << category.name_zh << " / " << category.name_en << "  → "
              << category.department << "\n";
}

void run_constitution_amend(Context& ctx, const std::string& file, const std::string& cosigners) {
  auto opened = open_all(ctx);
  if (!opened) return ctx.fail(opened.status());
  auto constitution = node::load_constitution_file(file);
  if (!constitution) return ctx.fail(constitution.status());
  auto stats = opened->store->stats();
  if (!stats) return ctx.fail(stats.status());
  if (!stats->network_id) return ctx.fail(Status::invalid("this node belongs to no network yet"));
  auto state = opened->store->authority();
  if (!state) return ctx.fail(state.status());
  std::uint32_t number = 1;
  for (std::size_t i = 0; i < (*state)->graph().size(); ++i)
    if (const auto* a = std::get_if<AmendmentPayload>(&(*state)->graph().op(i).fields.payload))
      if ((*state)->verdict_of(i).effective) number = std::max(number, a->number + 1);
  AmendmentPayload amendment{number, *constitution, {}};
  Bytes message = amendment_message(*stats->network_id, number, *constitution);
  for (const std::string& name : split_list(cosigners)) {
    auto key = ctx.load_key(opened->home, name);
    if (!key) return ctx.fail(key.status());
    amendment.cosignatures.push_back(Cosignature{key->public_key(), key->sign(message)});
  }
  std::sort(amendment.cosignatures.begin(), amendment.cosignatures.end(),
            [](const Cosignature& a, const Cosignature& b) { return a.key < b.key; });
  author_checked(ctx, *opened,
                 node::OpDraft{stats->county_code, constitution_object_id(stats->county_code), amendment, {}});
}

}  // namespace

void add_authority_commands(CLI::App& app, Context& ctx) {
  auto delegate_args = std::make_shared<DelegateArgs>();
  auto* delegate = app.add_subcommand("delegate", "Grant a role at a scope to a key (委任)");
  delegate->add_option("--to", delegate_args->to, "Key receiving the role: keyring name or hex public key")->required();
  delegate->add_option("--role", delegate_args->role, "Role id, e.g. grid_member (see 'anwang constitution show')")
      ->required();
  delegate->add_option("--scope", delegate_args->scope, "Jurisdiction code the role is held at")->required();
  delegate->add_option("--category", delegate_args->categories, "Hazard categories for departments: fire,traffic,…");
  delegate->add_option("--holder", delegate_args->holder,
                       "When the key is another device of a person who has a key already (a phone and a PC): "
                       "that first key. Rules that count persons (双签) count them once");
  delegate->callback([&ctx, delegate_args] { run_delegate(ctx, *delegate_args); });

  auto revoke_args = std::make_shared<RevokeArgs>();
  auto* revoke = app.add_subcommand("revoke", "Take away a key's roles (撤销)");
  revoke->add_option("--key", revoke_args->key, "Key to revoke: keyring name or hex public key")->required();
  revoke->add_option("--reason", revoke_args->reason, "left (离任) or compromised (密钥泄露)")->required();
  revoke->add_option("--scope", revoke_args->scope, "Revoke the roles held within this scope (default: the county)");
  revoke->add_option("--frontier", revoke_args->frontier,
                     "auto: the key's latest op this node holds stays valid, later privileged ops are void "
                     "(when this node holds none, a 'left' revocation names no frontier and voids nothing the "
                     "key signs without knowing of it); "
                     "none (only with --reason compromised): every privileged op of the key is void")
      ->default_val("auto");
  revoke->callback([&ctx, revoke_args] { run_revoke(ctx, *revoke_args); });

  auto reaffirm_key = std::make_shared<std::string>();
  auto reaffirm_scope = std::make_shared<std::string>();
  auto reaffirm_seq = std::make_shared<std::uint64_t>(0);
  auto* reaffirm = app.add_subcommand("reaffirm", "Restore a key suspended for equivocation, or keep one after a voided compromise report (恢复权限)");
  reaffirm->add_option("--key", *reaffirm_key, "The suspended key, or a key reported compromised that you keep")->required();
  reaffirm->add_option("--seq", *reaffirm_seq,
                       "The op number it equivocated at (see 'anwang audit equivocations'); default: its latest op "
                       "this node holds (keeping a key after a voided compromise report: 'anwang audit reviews')");
  reaffirm->add_option("--scope", *reaffirm_scope, "Scope of the reaffirmation (default: the county)");
  reaffirm->callback([&ctx, reaffirm_key, reaffirm_seq, reaffirm_scope] {
    run_reaffirm(ctx, *reaffirm_key, *reaffirm_seq, *reaffirm_scope);
  });

  auto* node = app.add_subcommand("node", "Nodes of the network (节点)");
  node->require_subcommand(1);
  auto enroll_key = std::make_shared<std::string>();
  auto enroll_scope = std::make_shared<std::string>();
  auto* enroll = node->add_subcommand("enroll", "Enrol a node key for the scope it serves (节点准入)");
  enroll->add_option("NODEKEY", *enroll_key, "The node's key (printed by 'anwang init' on that node)")->required();
  enroll->add_option("--scope", *enroll_scope, "County, township or village code the node serves")->required();
  enroll->callback([&ctx, enroll_key, enroll_scope] { run_enroll(ctx, *enroll_key, *enroll_scope); });

  auto who_scope = std::make_shared<std::string>();
  auto* who = app.add_subcommand("who", "Effective roles (在岗人员), optionally at or under a scope");
  who->add_option("--scope", *who_scope, "Jurisdiction code");
  who->callback([&ctx, who_scope] { run_who(ctx, *who_scope); });

  auto can_args = std::make_shared<CanArgs>();
  auto* can = app.add_subcommand("can", "May KEY do ACTION at SCOPE? Exit 0 yes, 1 no, with the reason");
  can->add_option("KEY", can_args->key, "Keyring name or hex public key")->required();
  can->add_option("ACTION", can_args->action, "Capability, e.g. delegate, note, hazard.assign")->required();
  can->add_option("SCOPE", can_args->scope, "Jurisdiction code")->required();
  can->add_option("--category", can_args->category, "Hazard category, for department actions");
  can->callback([&ctx, can_args] { run_can(ctx, *can_args); });

  auto* audit = app.add_subcommand("audit", "For auditors (审计): what is inert, flagged or equivocated");
  audit->require_subcommand(1);
  auto flagged = std::make_shared<bool>(false);
  auto* inert = audit->add_subcommand("unauthorised", "Ops kept as inert history, with the reason");
  inert->add_flag("--flagged", *flagged, "Also list effective ops flagged for review");
  inert->callback([&ctx, flagged] { run_audit_inert(ctx, *flagged); });
  audit->add_subcommand("reviews", "Compromise reports voided because their author was revoked first, awaiting a decision")
      ->callback([&ctx] { run_audit_reviews(ctx); });
  audit->add_subcommand("equivocations", "Keys that signed two ops with one sequence number")->callback([&ctx] {
    run_audit_equivocations(ctx);
  });

  auto* constitution = app.add_subcommand("constitution", "The county's constitution (章程): roles and categories");
  constitution->require_subcommand(1);
  constitution->add_subcommand("show", "Roles, categories and settings in force")->callback([&ctx] {
    run_constitution_show(ctx);
  });
  auto amend_file = std::make_shared<std::string>();
  auto amend_cosign = std::make_shared<std::string>();
  auto* amend = constitution->add_subcommand("amend", "Replace the constitution; needs k of the n root keys");
  amend->add_option("FILE", *amend_file, "Constitution TOML file")->required();
  amend->add_option("--cosign", *amend_cosign, "Other root keys in this keyring that sign too, comma-separated");
  amend->callback([&ctx, amend_file, amend_cosign] { run_constitution_amend(ctx, *amend_file, *amend_cosign); });
}

void add_region_list(CLI::App& region, Context& ctx) {
  region.add_subcommand("list", "The jurisdiction tree")->callback([&ctx] { run_region_list(ctx); });
}

}  // namespace anwang::cli
