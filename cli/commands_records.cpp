// anwang unit | inspect | patrol | tip | incident | notice — the grid's other records.
#include <algorithm>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <tuple>

#include "cli/records.h"
#include "crdt/hash.h"
#include "crdt/hlc.h"
#include "crdt/scope.h"
#include "node/op_json.h"
#include "node/record_steps.h"

namespace anwang::cli {

namespace {

using Fields = std::map<std::string, std::string>;
using node::load_records;
using node::record_json;

void print_record(const RecordState& r, const KeyLabels& who) {
  std::cout << r.kind << " " << r.id.hex() << "  (" << r.scope << ")\n";
  for (const auto& [name, reg] : r.fields) {
    std::cout << "  " << name << ": " << reg.value;
    for (const std::string& other : reg.conflicts) std::cout << "  [conflict 冲突: " << other << "]";
    std::cout << "\n";
  }
  if (r.kind == "unit")
    std::cout << "  confirmed 确认: unit 企业 " << (r.confirmed_by_unit ? "yes" : "no") << ", grid leader 网格长 "
              << (r.confirmed_by_grid_leader ? "yes" : "no") << "\n";
  if (r.kind == "notice") {
    std::cout << "  acknowledged 已签收:";
    for (const std::string& scope : r.acknowledged) std::cout << " " << scope;
    std::cout << "\n";
  }
  for (const RecordStep& step : r.history) {
    std::cout << "  " << hlc_display(step.hlc, TimeShown::kSeconds) << "  " << step.action << "  by " << who(step.author);
    if (!step.verdict.effective) std::cout << "  [INERT 无效: " << step.verdict.reason << "]";
    std::cout << "\n";
  }
}

// What an empty list of `kind` says.
const char* no_records_line(const std::string& kind) {
  if (kind == "unit") return "No units in the ledger 台账中无生产经营单位.";
  if (kind == "tip") return "No tips 无群众举报.";
  if (kind == "incident") return "No incidents 无事故.";
  if (kind == "notice") return "No notices 无文件送达.";
  return "Nothing recorded 无记录.";
}

void run_show(Context& ctx, const std::string& kind, const std::string& id_text) {
  auto opened = open_all(ctx);
  if (!opened) return ctx.fail(opened.status());
  auto id = resolve_record(*opened->store, kind, id_text);
  if (!id) return ctx.fail(id.status());
  auto record = opened->store->record(*id);
  if (!record) return ctx.fail(record.status());
  if (ctx.json) return ctx.print(record_json(*record, true));
  auto who = KeyLabels::load(*opened);
  if (!who) return ctx.fail(who.status());
  print_record(*record, *who);
}

void run_list(Context& ctx, const std::string& kind, const std::string& scope) {
  auto opened = open_all(ctx);
  if (!opened) return ctx.fail(opened.status());
  auto records = load_records(*opened->store, kind);
  if (!records) return ctx.fail(records.status());
  nlohmann::json out = nlohmann::json::array();
  std::size_t shown = 0;
  for (const RecordState& r : *records) {
    if (!scope.empty() && !scope_contains(scope, r.scope)) continue;
    ++shown;
    if (ctx.json) {
      out.push_back(record_json(r, false));
      continue;
    }
    std::cout << r.id.short_hex() << "  " << r.scope << "  " << hlc_display(r.created_hlc, TimeShown::kMinutes);
    for (const char* name : {"date", "name", "title", "topic", "text", "status", "outcome"})
      if (!r.field(name).empty()) std::cout << "  " << name << "=" << clip_to_columns(r.field(name), 40);
    for (const std::string& flag : r.flags) std::cout << "  [" << flag << "]";
    std::cout << "\n";
  }
  if (ctx.json) return ctx.print(out);
  if (shown == 0) std::cout << no_records_line(kind) << "\n";
}

void run_patrol_due(Context& ctx, const std::string& scope) {
  auto opened = open_all(ctx);
  if (!opened) return ctx.fail(opened.status());
  auto units = load_records(*opened->store, "unit");
  auto inspections = load_records(*opened->store, "inspection");
  auto authority = opened->store->authority();
  auto now = opened->store->deadline_now_hlc();
  if (!units || !inspections || !authority || !now)
    return ctx.fail(!units ? units.status() : !inspections ? inspections.status() : !authority ? authority.status() : now.status());
  auto due = patrols_due(*units, *inspections, (*authority)->constitution(), hlc_ms(*now));
  nlohmann::json out = nlohmann::json::array();
  std::size_t shown = 0;
  for (const PatrolDue& d : due) {
    if (!scope.empty() && !scope_contains(scope, d.scope)) continue;
    ++shown;
    std::string due_day = hlc_display(hlc_from_ms(d.due_ms), TimeShown::kDate);
    if (ctx.json) {
      out.push_back({{"unit", d.unit.hex()}, {"name", d.name}, {"scope", d.scope}, {"key_supervision", d.key_unit},
                     {"last", d.last_ms ? nlohmann::json(hlc_display(hlc_from_ms(d.last_ms))) : nlohmann::json(nullptr)},
                     {"due", due_day}, {"overdue", d.overdue}});
      continue;
    }
    std::cout << (d.overdue ? "OVERDUE 逾期 " : "due 应巡查    ") << due_day << "  " << d.scope << "  " << d.name
              << (d.key_unit ? "  [重点监管 key]" : "") << "  " << d.unit.short_hex() << "\n";
  }
  if (ctx.json) return ctx.print(out);
  if (shown == 0) std::cout << "No units due for patrol 暂无应巡查单位.\n";
}

void run_patrol_quota(Context& ctx, const std::string& scope) {
  auto opened = open_all(ctx);
  if (!opened) return ctx.fail(opened.status());
  auto inspections = load_records(*opened->store, "inspection");
  auto authority = opened->store->authority();
  auto now = opened->store->deadline_now_hlc();
  if (!inspections || !authority || !now)
    return ctx.fail(!inspections ? inspections.status() : !authority ? authority.status() : now.status());
  auto counts = inspections_in_month(*inspections, hlc_ms(*now), **authority);
  const Constitution& constitution = (*authority)->constitution();
  nlohmann::json out = nlohmann::json::array();
  std::size_t shown = 0;
  auto who = KeyLabels::load(*opened);
  if (!who) return ctx.fail(who.status());
  std::set<std::tuple<PublicKey, std::string, std::string>> seen;  // a person's phone and PC: one line
  for (const EffectiveRole& role : (*authority)->who(scope)) {
    std::int64_t quota = constitution.setting("patrol_quota_per_month_" + role.role, 0);
    if (quota == 0) continue;
    const PublicKey person = (*authority)->holder_of(role.key);
    if (!seen.insert({person, role.role, role.scope}).second) continue;
    ++shown;
    std::int64_t done = counts.count(person) ? counts[person] : 0;
    if (ctx.json) {
      out.push_back({{"key", role.key.hex()}, {"person", person.hex()}, {"name", who->name(role.key)},
                     {"role", role.role}, {"scope", role.scope}, {"inspections", done},
                     {"quota", quota}, {"met", done >= quota}});
      continue;
    }
    std::cout << role.scope << "  " << role.role << "  " << (*who)(role.key) << "  " << done << " / " << quota
              << (done >= quota ? "  ok 达标" : "  short 未达标") << "\n";
  }
  if (ctx.json) return ctx.print(out);
  if (shown == 0) std::cout << "No one here has a patrol quota 无巡查任务量.\n";
}

// Adds --grid, --text and --photo to a creating command.
void add_basics(CLI::App* command, Step& step, bool grid) {
  if (grid) command->add_option("--grid", step.scope, "Village or grid code")->required();
  command->add_option("--photo", step.photos, "Photo or scanned form; repeat for several");
}

}  // namespace

void add_record_commands(CLI::App& app, Context& ctx) {
  // ---- unit: the business ledger (企业台账) ----
  auto* unit = app.add_subcommand("unit", "The ledger of business units (企业台账)");
  unit->require_subcommand(1);
  for (const char* verb : {"add", "edit"}) {
    auto step = std::make_shared<Step>();
    step->kind = "unit";
    step->action = verb;
    bool add = std::string(verb) == "add";
    auto* command = unit->add_subcommand(verb, add ? "Add a unit (生产经营单位) to a grid's ledger" : "Change fields of a unit");
    if (add) {
      command->add_option("--grid", step->scope, "Village or grid code")->required();
    } else {
      command->add_option("ID", step->target, "Unit id")->required();
    }
    auto* name = command->add_option("--name", step->fields["name"], "Name");
    if (add) name->required();
    command->add_option("--address", step->fields["address"], "Address");
    command->add_option("--industry", step->fields["industry"], "Industry");
    command->add_option("--scale", step->fields["scale"], "Scale (规模)");
    command->add_option("--licence", step->fields["licence"], "Licence status (证照)");
    command->add_option("--contacts", step->fields["contacts"], "Contacts (负责人, 电话)");
    command->add_option("--key", step->fields["key_supervision"], "true: key-supervision unit (重点监管)");
    command->add_option("--three-small", step->fields["three_small"], "true: a 三小场所");
    command->add_option("--departments", step->fields["departments"], "Responsible departments, comma-separated");
    command->add_option("--location", step->fields["location"],
                        "Where it is: LNG,LAT in decimal degrees (WGS84), e.g. 119.9236,42.2779 (shown on the map 地图)");
    command->add_option("--photo", step->photos, "Photo or licence scan");
    command->callback([&ctx, step] { write_step(ctx, *step); });
  }
  auto confirm = std::make_shared<Step>();
  confirm->kind = "unit";
  confirm->action = "confirm";
  auto* confirm_cmd = unit->add_subcommand("confirm", "Confirm the entry: by the unit, or reviewed by the grid leader (001 §六)");
  confirm_cmd->add_option("ID", confirm->target, "Unit id")->required();
  confirm_cmd->add_option("--by", confirm->fields["by"], "unit or grid_leader")->required();
  confirm_cmd->callback([&ctx, confirm] { write_step(ctx, *confirm); });
  auto close = std::make_shared<Step>();
  close->kind = "unit";
  close->action = "close";
  auto* close_cmd = unit->add_subcommand("close", "Mark a unit moved out or closed");
  close_cmd->add_option("ID", close->target, "Unit id")->required();
  close_cmd->add_option("--status", close->fields["status"], "moved_out or closed")->required();
  close_cmd->callback([&ctx, close] { write_step(ctx, *close); });

  // ---- inspect: a patrol record (巡查) ----
  auto inspect = std::make_shared<Step>();
  inspect->kind = "inspection";
  inspect->action = "record";
  auto inspect_unit = std::make_shared<std::string>();
  auto inspect_items = std::make_shared<std::vector<std::string>>();
  auto inspect_hazards = std::make_shared<std::vector<std::string>>();
  auto* inspect_cmd = app.add_subcommand("inspect", "Record a patrol (巡查) of a unit, with checklist results");
  inspect_cmd->add_option("UNIT", *inspect_unit, "Unit id")->required();
  inspect_cmd->add_option("--item", *inspect_items, "Checklist item as ITEM:pass|fail|na[:note]; repeat");
  inspect_cmd->add_option("--text", inspect->fields["text"], "Notes");
  inspect_cmd->add_option("--hazard", *inspect_hazards, "Hazard id found on this patrol; repeat");
  inspect_cmd->add_option("--photo", inspect->photos, "Photo; repeat");
  inspect_cmd->callback([&ctx, inspect, inspect_unit, inspect_items, inspect_hazards] {
    auto opened = open_all(ctx);
    if (!opened) return ctx.fail(opened.status());
    auto unit_id = resolve_record(*opened->store, "unit", *inspect_unit);
    if (!unit_id) return ctx.fail(unit_id.status());
    auto unit_record = opened->store->record(*unit_id);
    if (!unit_record) return ctx.fail(unit_record.status());
    Step step = *inspect;
    step.scope = unit_record->scope;
    step.refs = {*unit_id};
    std::string items;
    for (const std::string& item : *inspect_items) {
      if (std::string why = node::checklist_item_error(item); !why.empty()) return ctx.fail(Status::invalid("--item: " + why));
      items += (items.empty() ? "" : "\n") + item;
    }
    step.fields["items"] = items;
    for (const std::string& hazard : *inspect_hazards) {
      auto id = Hash32::from_hex(hazard);
      if (!id) return ctx.fail(Status::invalid("--hazard must be a 64-digit hazard id"));
      step.refs.push_back(*id);
    }
    opened.value().store.reset();
    write_step(ctx, step);
  });

  auto* patrol = app.add_subcommand("patrol", "Patrol schedules and quotas (巡查计划与任务量)");
  patrol->require_subcommand(1);
  auto patrol_scope = std::make_shared<std::string>();
  auto* due = patrol->add_subcommand("due", "Units due and overdue for patrol");
  due->add_option("--scope", *patrol_scope, "Only units at or under this code");
  due->callback([&ctx, patrol_scope] { run_patrol_due(ctx, *patrol_scope); });
  auto* quota = patrol->add_subcommand("quota", "Each member's patrols this month against the quota");
  quota->add_option("--scope", *patrol_scope, "Only people at or under this code");
  quota->callback([&ctx, patrol_scope] { run_patrol_quota(ctx, *patrol_scope); });

  // ---- tip, incident, notice ----
  auto tip = app.add_subcommand("tip", "Public tips (群众举报)");
  tip->require_subcommand(1);
  auto tip_enter = std::make_shared<Step>();
  tip_enter->kind = "tip";
  tip_enter->action = "enter";
  auto* enter = tip->add_subcommand("enter", "Enter a tip received from the public");
  add_basics(enter, *tip_enter, true);
  enter->add_option("--text", tip_enter->fields["text"], "What was reported")->required();
  enter->add_option("--source", tip_enter->fields["source"], "Who reported it and how (phone, visit)");
  enter->callback([&ctx, tip_enter] { write_step(ctx, *tip_enter); });
  auto tip_verify = std::make_shared<Step>();
  tip_verify->kind = "tip";
  tip_verify->action = "verify";
  auto tip_hazard = std::make_shared<std::string>();
  auto* verify = tip->add_subcommand("verify", "Verify a tip on site: it became a hazard, or is dismissed with a reason");
  verify->add_option("ID", tip_verify->target, "Tip id")->required();
  verify->add_option("--hazard", *tip_hazard, "The hazard reported for it");
  verify->add_option("--dismiss", tip_verify->fields["reason"], "Reason for dismissing it");
  verify->add_option("--photo", tip_verify->photos, "Photo; repeat");
  verify->callback([&ctx, tip_verify, tip_hazard] {
    Step step = *tip_verify;
    if (tip_hazard->empty() == step.fields["reason"].empty())
      return ctx.fail(Status::invalid("give either --hazard ID or --dismiss REASON"));
    step.fields["outcome"] = tip_hazard->empty() ? "dismissed" : "hazard";
    if (!tip_hazard->empty()) {
      auto id = Hash32::from_hex(*tip_hazard);
      if (!id) return ctx.fail(Status::invalid("--hazard must be a 64-digit hazard id"));
      step.refs = {*id};
    }
    write_step(ctx, step);
  });

  auto incident = app.add_subcommand("incident", "Incidents (事故): reported at once, then updated");
  incident->require_subcommand(1);
  for (const char* verb : {"report", "update"}) {
    auto step = std::make_shared<Step>();
    step->kind = "incident";
    step->action = verb;
    bool report = std::string(verb) == "report";
    auto* command = incident->add_subcommand(verb, report ? "Report an incident at once" : "Update an incident");
    if (report)
      add_basics(command, *step, true);
    else {
      command->add_option("ID", step->target, "Incident id")->required();
      command->add_option("--photo", step->photos, "Photo; repeat");
    }
    auto* text = command->add_option("--text", step->fields["text"], "What happened");
    if (report) text->required();
    command->add_option("--deaths", step->fields["deaths"], "Deaths (死亡)");
    command->add_option("--injuries", step->fields["injuries"], "Injuries (受伤)");
    command->add_option("--status", step->fields["status"], "e.g. rescuing, controlled, closed");
    command->callback([&ctx, step] { write_step(ctx, *step); });
  }

  auto notice = app.add_subcommand("notice", "Notices (文件送达) and receipts (送达登记)");
  notice->require_subcommand(1);
  auto send = std::make_shared<Step>();
  send->kind = "notice";
  send->action = "send";
  auto* send_cmd = notice->add_subcommand("send", "Send a notice down to jurisdictions");
  send_cmd->add_option("--scope", send->scope, "Sending office's scope")->required();
  send_cmd->add_option("--title", send->fields["title"], "Title")->required();
  send_cmd->add_option("--text", send->fields["text"], "Text");
  send_cmd->add_option("--to", send->fields["recipients"], "Recipient codes, comma-separated")->required();
  send_cmd->add_option("--photo", send->photos, "Scanned document; repeat");
  send_cmd->callback([&ctx, send] { write_step(ctx, *send); });
  auto ack = std::make_shared<Step>();
  ack->kind = "notice";
  ack->action = "acknowledge";
  auto* ack_cmd = notice->add_subcommand("ack", "Sign for a notice on behalf of a recipient jurisdiction");
  ack_cmd->add_option("ID", ack->target, "Notice id")->required();
  ack_cmd->add_option("--as-recipient", ack->fields["recipient"], "Recipient code signing for it")->required();
  ack_cmd->callback([&ctx, ack] { write_step(ctx, *ack); });

  // list and show for every kind
  for (auto [parent, kind] : {std::pair{unit, "unit"}, std::pair{tip, "tip"}, std::pair{incident, "incident"},
                              std::pair{notice, "notice"}})
    add_list_and_show(parent, ctx, kind);
}

Result<Hash32> resolve_record(const node::Store& store, const std::string& kind, const std::string& text) {
  if (auto full = Hash32::from_hex(text)) return *full;
  if (text.size() < 8) return Status::invalid(kind + " id '" + text + "' must be at least 8 hex digits");
  auto all = store.records(kind);
  if (!all) return all.status();
  std::vector<Hash32> matches;
  for (const Hash32& id : *all)
    if (id.hex().rfind(text, 0) == 0) matches.push_back(id);
  if (matches.empty()) return Status::not_found("no " + kind + " with id " + text + " on this node");
  if (matches.size() > 1) return Status::invalid(kind + " id prefix " + text + " matches several; give more digits");
  return matches[0];
}

// Writes one record step by the acting key and prints the record's id.
void write_step(Context& ctx, Step step) {
  auto opened = open_all(ctx);
  if (!opened) return ctx.fail(opened.status());
  auto photos = attach_files(*opened->store, step.photos);
  if (!photos) return ctx.fail(photos.status());
  node::RecordStepInput input{step.kind, step.action, step.scope, std::nullopt, step.fields, *photos, step.refs};
  if (!step.target.empty()) {
    auto id = resolve_record(*opened->store, step.kind, step.target);
    if (!id) return ctx.fail(id.status());
    input.target = *id;
  }
  auto draft = node::record_step_draft(*opened->store, input, [](const char* field) {
    const std::string name = field;
    return name == "items" ? std::string("--item") : name == "unit" ? std::string("UNIT") : "--" + name;
  });
  if (!draft) return ctx.fail(draft.status());
  auto key = ctx.acting_key(opened->home);
  if (!key) return ctx.fail(key.status());
  auto op = author_op(ctx, *opened, *key, *draft);
  if (!op) return ctx.fail(op.status());
  if (ctx.json) return ctx.print({{"id", op->fields.object.hex()}, {"op", op->id.hex()}});
  std::cout << op->fields.object.hex() << "\n";
}

void add_list_and_show(CLI::App* parent, Context& ctx, const std::string& kind) {
  auto scope = std::make_shared<std::string>();
  auto* list = parent->add_subcommand("list", "List them");
  list->add_option("--scope", *scope, "Only at or under this code");
  list->callback([&ctx, kind, scope] { run_list(ctx, kind, *scope); });
  auto id = std::make_shared<std::string>();
  auto* show = parent->add_subcommand("show", "One of them, with every field and its history");
  show->add_option("ID", *id, "Id")->required();
  show->callback([&ctx, kind, id] { run_show(ctx, kind, *id); });
}

}  // namespace anwang::cli
