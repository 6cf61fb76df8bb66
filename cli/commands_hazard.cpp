// anwang hazard … | inbox | blob get — the hazard closed loop (隐患闭环) from the command line.
#include <algorithm>
#include <ctime>
#include <iomanip>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "cli/context.h"
#include "crdt/hash.h"
#include "crdt/hlc.h"
#include "crdt/limits.h"
#include "crdt/scope.h"
#include "node/atomic_file.h"
#include "node/hazard_steps.h"
#include "node/op_json.h"

namespace anwang::cli {

namespace {

// A hazard id: 64 hex digits or a unique prefix of at least 8 among this node's hazards.
Result<Hash32> resolve_hazard(const node::Store& store, const std::string& text) {
  if (auto full = Hash32::from_hex(text)) return *full;
  if (text.size() < 8) return Status::invalid("hazard id '" + text + "' must be at least 8 hex digits");
  auto all = store.hazards();
  if (!all) return all.status();
  std::vector<Hash32> matches;
  for (const Hash32& id : *all)
    if (id.hex().rfind(text, 0) == 0) matches.push_back(id);
  if (matches.empty()) return Status::not_found("no hazard with id " + text + " on this node");
  if (matches.size() > 1) return Status::invalid("hazard id prefix " + text + " matches several hazards; give more digits");
  return matches[0];
}

struct StepArgs {
  std::string id, text, category, severity, to, department, assignee, responsible, acceptor, measures, deadline, grid,
      unit, form, location;
  std::vector<std::string> photos;
  bool pass = false, fail = false;
  int days = 0;
};

void print_created(Context& ctx, const Op& op) {
  if (ctx.json) return ctx.print({{"id", op.fields.object.hex()}, {"op", op.id.hex()}});
  std::cout << op.fields.object.hex() << "\n";
}

void author_step(Context& ctx, Opened& opened, node::OpDraft draft) {
  auto key = ctx.acting_key(opened.home);
  if (!key) return ctx.fail(key.status());
  auto op = author_op(ctx, opened, *key, draft);
  if (!op) return ctx.fail(op.status());
  if (ctx.json) return ctx.print({{"id", op->fields.object.hex()}, {"op", op->id.hex()}});
  std::cout << op->id.hex() << "\n";
}

// How the command line names an input field in errors.
std::string flag(const char* field) { return std::string("--") + field; }

void run_report(Context& ctx, const StepArgs& args) {
  auto opened = open_all(ctx);
  if (!opened) return ctx.fail(opened.status());
  node::HazardReportInput input;
  input.grid = args.grid;
  input.category = args.category;
  input.severity = args.severity;
  input.text = args.text;
  input.location = args.location;
  if (!args.unit.empty()) {
    auto unit = Hash32::from_hex(args.unit);
    if (!unit) return ctx.fail(Status::invalid("--unit must be a 64-digit hex unit id"));
    input.unit = *unit;
  }
  if (!args.form.empty()) {
    std::ifstream in(args.form);
    if (!in) return ctx.fail(Status::not_found("cannot read the major-hazard form " + args.form));
    std::stringstream text;
    text << in.rdbuf();
    input.major_form = text.str();
  }
  // The input's own form first: a bad field costs no photo stored.
  if (auto checked = node::hazard_report_draft(input, flag); !checked) return ctx.fail(checked.status());
  auto photos = attach_files(*opened->store, args.photos);
  if (!photos) return ctx.fail(photos.status());
  input.photos = *photos;
  auto draft = node::hazard_report_draft(input, flag);
  if (!draft) return ctx.fail(draft.status());
  auto key = ctx.acting_key(opened->home);
  if (!key) return ctx.fail(key.status());
  auto op = author_op(ctx, *opened, *key, *draft);
  if (!op) return ctx.fail(op.status());
  print_created(ctx, *op);
}

void run_step(Context& ctx, const std::string& action, const StepArgs& args) {
  auto opened = open_all(ctx);
  if (!opened) return ctx.fail(opened.status());
  auto id = resolve_hazard(*opened->store, args.id);
  if (!id) return ctx.fail(id.status());
  auto state = opened->store->hazard(*id);
  if (!state) return ctx.fail(state.status());
  node::HazardStepInput input;
  input.action = action;
  input.text = args.text;
  input.to_level = args.to;
  input.department = args.department;
  if (action == "assign" && !args.assignee.empty()) {
    auto key = opened->home.resolve_public_key(args.assignee);
    if (!key) return ctx.fail(key.status());
    input.assignee = *key;
  }
  if (args.pass != args.fail) input.pass = args.pass;
  input.category = args.category;
  input.severity = args.severity;
  input.deadline = args.deadline;
  input.days = args.days;
  input.responsible = args.responsible;
  input.measures = args.measures;
  input.location = args.location;
  if (!args.acceptor.empty()) {
    auto key = opened->home.resolve_public_key(args.acceptor);
    if (!key) return ctx.fail(key.status());
    input.acceptor = *key;
  }
  auto clock = opened->store->clock_state(ctx.clock);
  if (!clock) return ctx.fail(clock.status());
  // The input's own form first: a bad field costs no photo stored.
  if (auto checked = node::hazard_step_draft(*state, input, clock->time.trusted_ms, flag); !checked)
    return ctx.fail(checked.status());
  auto photos = attach_files(*opened->store, args.photos);
  if (!photos) return ctx.fail(photos.status());
  input.photos = *photos;
  auto draft = node::hazard_step_draft(*state, input, clock->time.trusted_ms, flag);
  if (!draft) return ctx.fail(draft.status());
  author_step(ctx, *opened, *draft);
}

void run_show(Context& ctx, const std::string& id_text) {
  auto opened = open_all(ctx);
  if (!opened) return ctx.fail(opened.status());
  auto id = resolve_hazard(*opened->store, id_text);
  if (!id) return ctx.fail(id.status());
  auto s = opened->store->hazard(*id);
  if (!s) return ctx.fail(s.status());
  auto who = KeyLabels::load(*opened);
  if (!who) return ctx.fail(who.status());
  if (ctx.json) {
    nlohmann::json out = node::hazard_json(*s, true);
    for (std::size_t i = 0; i < out["history"].size() && i < s->history.size(); ++i)
      out["history"][i]["author_name"] = who->name(s->history[i].author);
    out["reporter_name"] = who->name(s->reporter);
    return ctx.print(out);
  }
  std::cout << "Hazard 隐患 " << s->id.hex() << "\n"
            << "  state 状态:     " << s->state << " " << hazard_state_zh(s->state) << "\n"
            << "  severity 等级:  " << s->severity << (s->severity == "major" ? " 重大" : " 一般") << "\n"
            << "  level 层级:     " << level_id(s->level) << "\n"
            << "  category 类别:  " << s->category << "\n"
            << "  where 位置:     " << s->scope << "\n"
            << "  text 描述:      " << s->description << "\n"
            << "  returns 驳回:   " << s->returns << "\n";
  for (const HazardAssignee& a : s->assignees)
    std::cout << "  assignee 承办:  " << (a.department.empty() ? (*who)(*a.key) : "department " + a.department)
              << (a.primary ? " (primary 主办)" : "")
              << (a.superseded ? " (superseded: reclassified since 已改类, see the next)" : "") << "\n";
  if (s->deadline_ms != 0)
    std::cout << "  deadline 期限:  " << hlc_display(hlc_from_ms(s->deadline_ms), TimeShown::kDate) << ", responsible 责任人 "
              << s->responsible << "\n";
  if (!s->flags.empty()) {
    std::cout << "  flags 标记:    ";
    for (const auto& flag : s->flags) std::cout << " " << flag;
    std::cout << "\n";
  }
  if (!s->awaiting.empty()) std::cout << "  awaiting 待办:  " << s->awaiting << "\n";
  std::cout << "History 记录:\n";
  for (const HazardStep& step : s->history) {
    std::cout << "  " << hlc_display(step.hlc, TimeShown::kSeconds) << "  " << step.action << "  by " << (*who)(step.author)
              << "  " << step.id.short_hex();
    if (!step.verdict.effective) std::cout << "  [INERT 无效: " << step.verdict.reason << "]";
    for (const auto& flag : step.verdict.flags) std::cout << "  [" << flag << "]";
    if (step.overridden_by)
      std::cout << "  [did not close it 未能销号: overridden by " << step.overridden_by->short_hex()
                << ", which it had not seen]";
    std::cout << "\n";
  }
}

struct ListArgs {
  std::string scope, state;
  bool overdue = false;
};

void run_list(Context& ctx, const ListArgs& args) {
  auto opened = open_all(ctx);
  if (!opened) return ctx.fail(opened.status());
  if (!args.scope.empty())
    if (Status s = check_scope(args.scope); !s) return ctx.fail(Status::invalid("--scope: " + s.message()));
  auto ids = opened->store->hazards();
  if (!ids) return ctx.fail(ids.status());
  nlohmann::json out = nlohmann::json::array();
  std::size_t shown = 0;
  for (const Hash32& id : *ids) {
    auto s = opened->store->hazard(id);
    if (!s) return ctx.fail(s.status());
    if (!s->exists) continue;
    if (!args.scope.empty() && !scope_contains(args.scope, s->scope)) continue;
    if (!args.state.empty() && s->state != args.state) continue;
    if (args.overdue && std::find(s->flags.begin(), s->flags.end(), "overdue") == s->flags.end()) continue;
    ++shown;
    if (ctx.json) {
      out.push_back(node::hazard_json(*s, false));
      continue;
    }
    std::cout << s->id.short_hex() << "  " << s->scope << "  " << s->state << " " << hazard_state_zh(s->state) << "  "
              << s->severity << "  " << s->category << "  " << level_id(s->level) << "  "
              << clip_to_columns(s->description, 40);
    for (const auto& flag : s->flags) std::cout << "  [" << flag << "]";
    std::cout << "\n";
  }
  if (ctx.json) return ctx.print(out);
  if (shown == 0)
    std::cout << (args.scope.empty() && args.state.empty() && !args.overdue ? "No hazards 无隐患.\n"
                                                                             : "No hazards match 无符合条件的隐患.\n");
}

void run_inbox(Context& ctx) {
  auto opened = open_all(ctx);
  if (!opened) return ctx.fail(opened.status());
  auto key = ctx.acting_key(opened->home);
  if (!key) return ctx.fail(key.status());
  auto authority = opened->store->authority();
  if (!authority) return ctx.fail(authority.status());
  auto items = node::hazard_inbox(*opened->store, key->public_key());
  if (!items) return ctx.fail(items.status());
  auto who = KeyLabels::load(*opened);
  if (!who) return ctx.fail(who.status());
  nlohmann::json out = nlohmann::json::array();
  std::size_t count = items->size();
  for (const node::InboxItem& item : *items) {
    const HazardState* s = &item.hazard;
    if (ctx.json) {
      nlohmann::json entry = node::hazard_json(*s, false);
      entry["action"] = item.capability;
      entry["reporter_name"] = who->name(s->reporter);
      out.push_back(entry);
      continue;
    }
    std::cout << s->id.short_hex() << "  " << s->state << " " << hazard_state_zh(s->state) << "  " << s->scope << "  "
              << s->category << "  " << (*who)(s->reporter) << "  → " << item.capability << ": " << s->awaiting << "\n";
  }
  // Compromise reports about keys this identity may revoke, voided because their author was
  // revoked first: the reported key keeps working until an office above decides.
  for (const CompromiseReview& review : (*authority)->compromise_reviews()) {
    if (!(*authority)->can_revoke(key->public_key(), review.key)) continue;
    ++count;
    if (ctx.json) {
      out.push_back({{"kind", "compromise_review"}, {"action", "revoke"}, {"id", review.report.hex()},
                     {"key", review.key.hex()}, {"reporter", review.reporter.hex()}, {"scope", review.scope},
                     {"reason", review.reason},
                     {"awaiting", "an office above: revoke the key, or reaffirm it to keep it"}});
      continue;
    }
    std::cout << review.report.short_hex() << "  review 待复核  " << review.scope << "  key " << (*who)(review.key)
              << " reported compromised by " << (*who)(review.reporter)
              << "; the report is void (" << review.reason << ") → anwang revoke --key " << review.key.hex()
              << " --reason compromised, or anwang reaffirm --key " << review.key.hex() << "\n";
  }
  if (ctx.json) return ctx.print(out);
  if (count == 0) std::cout << "Nothing awaits you 暂无待办.\n";
}

void run_blob_get(Context& ctx, const std::string& hash_text, const std::string& file) {
  auto opened = open_all(ctx);
  if (!opened) return ctx.fail(opened.status());
  auto hash = Hash32::from_hex(hash_text);
  if (!hash) return ctx.fail(Status::invalid("HASH must be the 64-digit BLAKE2b hash of the attachment"));
  auto out = node::AtomicFile::create(file);
  if (!out) return ctx.fail(out.status());
  Status written;
  Status s = opened->store->read_blob(*hash, [&](ByteView chunk) {
    if (written) written = (*out)->write(chunk);
  });
  if (!s) return ctx.fail(s);
  if (!written) return ctx.fail(written);
  if (Status committed = (*out)->commit(); !committed) return ctx.fail(committed);
  if (ctx.json) return ctx.print({{"file", file}, {"hash", hash->hex()}});
  std::cout << "Wrote 写入 " << file << "\n";
}

void add_common(CLI::App* command, StepArgs& args, bool photos) {
  command->add_option("ID", args.id, "Hazard id (64 hex digits or a unique prefix of at least 8)")->required();
  command->add_option("--text", args.text, "Remarks");
  if (photos) command->add_option("--photo", args.photos, "Photo or scanned form; repeat for several");
}

}  // namespace

void add_hazard_commands(CLI::App& app, Context& ctx) {
  auto* hazard = app.add_subcommand("hazard", "Hazards (隐患) through the closed loop: 发现→上报→签收→整改→反馈→考核");
  hazard->require_subcommand(1);

  auto report = std::make_shared<StepArgs>();
  auto* report_cmd = hazard->add_subcommand("report", "Report a hazard (发现上报)");
  report_cmd->add_option("--grid", report->grid, "Village or grid code where the hazard is")->required();
  report_cmd->add_option("--unit", report->unit, "Business unit id, when the hazard is at a unit");
  report_cmd->add_option("--category", report->category, "fire, traffic, construction, chemicals, electrical, food, "
                                                          "geological, special_equipment, other")->required();
  report_cmd->add_option("--severity", report->severity, "general (一般) or major (重大)")->required();
  report_cmd->add_option("--text", report->text, "What was found")->required();
  report_cmd->add_option("--photo", report->photos, "Photo; repeat for several");
  report_cmd->add_option("--form", report->form, "Major-hazard report form (text file), for --severity major");
  report_cmd->add_option("--location", report->location,
                         "Where it is: LNG,LAT in decimal degrees (WGS84), e.g. 119.9236,42.2779 (shown on the map 地图)");
  report_cmd->callback([&ctx, report] { run_report(ctx, *report); });

  struct Step {
    const char* name;
    const char* action;
    const char* help;
    bool photos;
  };
  const Step steps[] = {
      {"fix", "fix", "On-site fix with an after-photo (现场整改; general hazards only)", true},
      {"notice", "notice", "Issue a rectification notice (整改通知书)", true},
      {"escalate", "escalate", "Escalate to the next level (上报)", true},
      {"receive", "receive", "Receive an escalated hazard (签收)", false},
      {"assign", "assign", "Assign to a department by category or to an office (交办)", false},
      {"handled", "handled", "Mark handled (已办理)", true},
      {"verify", "verify", "Re-inspect (复查): --pass archives (销号), --fail sends back (驳回)", true},
      {"reclassify", "reclassify", "Change category or severity", false},
      {"comment", "comment", "Comment or new evidence (with --photo)", true},
      {"signoff", "signoff", "Sign off a major hazard (双签)", false},
      {"list-supervision", "list_supervision", "Put under listed supervision (挂牌督办)", false},
      {"stop-work", "stop_work", "Order work stopped for rectification (停产整改)", false},
      {"close", "close", "Close (dismiss) with a reason, by an office at the level reached", false},
  };
  for (const Step& step : steps) {
    auto args = std::make_shared<StepArgs>();
    auto* command = hazard->add_subcommand(step.name, step.help);
    add_common(command, *args, step.photos);
    std::string action = step.action;
    if (action == "escalate") command->add_option("--to", args->to, "township or county (default: the next level)");
    if (action == "assign") {
      command->add_option("--department", args->department, "Category whose department handles it, e.g. fire");
      command->add_option("--to", args->assignee, "Key of the office that handles it");
    }
    if (action == "verify") {
      command->add_flag("--pass", args->pass, "Rectified: archive (办结归档/销号)");
      command->add_flag("--fail", args->fail, "Not rectified: send back (驳回)");
    }
    if (action == "reclassify") {
      command->add_option("--category", args->category, "New category");
      command->add_option("--severity", args->severity, "general or major");
    }
    if (action == "notice") {
      command->add_option("--deadline", args->deadline, "Deadline date YYYY-MM-DD");
      command->add_option("--days", args->days, "Deadline in days, counted from the notice's own time");
      command->add_option("--responsible", args->responsible, "Responsible person (责任人)")->required();
      command->add_option("--acceptor", args->acceptor, "Acceptor's key (验收人)");
      command->add_option("--measures", args->measures, "Rectification measures (整改措施)");
    }
    if (action == "comment")
      command->add_option("--location", args->location, "Correct where it is: LNG,LAT in decimal degrees (WGS84)");
    command->callback([&ctx, action, args] { run_step(ctx, action, *args); });
  }

  auto show_id = std::make_shared<std::string>();
  auto* show = hazard->add_subcommand("show", "One hazard: state, flags and its full signed history");
  show->add_option("ID", *show_id, "Hazard id")->required();
  show->callback([&ctx, show_id] { run_show(ctx, *show_id); });

  auto list_args = std::make_shared<ListArgs>();
  auto* list = hazard->add_subcommand("list", "Hazards, optionally by scope, state or overdue");
  list->add_option("--scope", list_args->scope, "Only hazards at or under this code");
  list->add_option("--state", list_args->state, "Only this state, e.g. assigned");
  list->add_flag("--overdue", list_args->overdue, "Only hazards past their rectification deadline");
  list->callback([&ctx, list_args] { run_list(ctx, *list_args); });

  app.add_subcommand("inbox", "What awaits the acting identity (待办)")->callback([&ctx] { run_inbox(ctx); });

  auto* blob = app.add_subcommand("blob", "Attachments (附件): photos and scanned forms");
  blob->require_subcommand(1);
  auto blob_hash = std::make_shared<std::string>();
  auto blob_file = std::make_shared<std::string>();
  auto* get = blob->add_subcommand("get", "Write the attachment with this hash to FILE");
  get->add_option("HASH", *blob_hash, "BLAKE2b hash from 'anwang hazard show'")->required();
  get->add_option("FILE", *blob_file, "Output file")->required();
  get->callback([&ctx, blob_hash, blob_file] { run_blob_get(ctx, *blob_hash, *blob_file); });
}

}  // namespace anwang::cli
