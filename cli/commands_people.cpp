// anwang person | training | meeting | notebook — who is who (人员信息), and the trainings (培训),
// meetings (例会) and work-notebook entries (工作记录) the reports count (crdt/RECORDS.md).
#include <iostream>
#include <memory>

#include "cli/records.h"
#include "crdt/hlc.h"
#include "crdt/record.h"
#include "crdt/scope.h"
#include "crdt/text.h"

namespace anwang::cli {

namespace {

// A profile by id prefix, or the profile of a key (64 hex digits of a key some profile is bound to).
Result<const node::Profile*> find_profile(const node::People& people, const std::string& text) {
  if (auto key = PublicKey::from_hex(text))
    if (const node::Profile* p = people.of_key(*key)) return p;
  if (text.size() < 8) return Status::invalid("person id '" + text + "' must be at least 8 hex digits");
  const node::Profile* found = nullptr;
  for (const node::Profile& p : people.profiles()) {
    if (p.id.hex().rfind(text, 0) != 0) continue;
    if (found != nullptr) return Status::invalid("person id prefix " + text + " matches several; give more digits");
    found = &p;
  }
  if (found == nullptr) return Status::not_found("no person with id " + text + " on this node");
  return found;
}

void print_profile(const node::Profile& p, bool show_phone) {
  std::cout << p.id.short_hex() << "  " << p.scope << "  " << p.name;
  if (!p.office.empty()) std::cout << "  " << p.office;
  if (!p.grid.empty()) std::cout << "  grid 网格 " << p.grid;
  if (show_phone && !p.phone.empty()) std::cout << "  phone 电话 " << p.phone;
  if (!show_phone && !p.phone.empty()) std::cout << "  phone 电话 (hidden 不可见)";
  if (!p.holder) std::cout << "  [no key yet 未绑定密钥]";
  for (const PublicKey& key : p.keys) std::cout << "  key " << key.short_hex();
  for (const std::string& role : p.roles) std::cout << "  " << role;
  if (p.conflict) std::cout << "  [conflict 冲突]";
  if (p.shadowed) std::cout << "  [superseded 已被另一份信息取代]";
  if (p.out_of_scope) std::cout << "  [out of scope 绑定了辖区外的人，未采用]";
  std::cout << "\n";
}

void run_person_list(Context& ctx, const std::string& scope) {
  auto opened = open_all(ctx);
  if (!opened) return ctx.fail(opened.status());
  if (!scope.empty())
    if (Status s = check_scope(scope); !s) return ctx.fail(Status::invalid("--scope: " + s.message()));
  auto who = KeyLabels::load(*opened);
  if (!who) return ctx.fail(who.status());
  const auto viewer = viewer_key(ctx, opened->home);
  nlohmann::json out = nlohmann::json::array();
  std::size_t shown = 0;
  for (const node::Profile& p : who->people().profiles()) {
    if (!scope.empty() && !scope_contains(scope, p.scope)) continue;
    ++shown;
    bool phone = who->people().phone_visible(p, viewer);
    if (ctx.json) out.push_back(node::profile_json(p, phone));
    else print_profile(p, phone);
  }
  if (ctx.json) return ctx.print(out);
  if (shown == 0) std::cout << "No person profiles 无人员信息. Add one with 'anwang person add' or 'anwang import people'.\n";
}

void run_person_show(Context& ctx, const std::string& text) {
  auto opened = open_all(ctx);
  if (!opened) return ctx.fail(opened.status());
  auto who = KeyLabels::load(*opened);
  if (!who) return ctx.fail(who.status());
  auto p = find_profile(who->people(), text);
  if (!p) return ctx.fail(p.status());
  bool phone = who->people().phone_visible(**p, viewer_key(ctx, opened->home));
  auto record = opened->store->record((*p)->id);
  if (!record) return ctx.fail(record.status());
  if (ctx.json) {
    nlohmann::json out = node::profile_json(**p, phone);
    nlohmann::json history = nlohmann::json::array();
    for (const RecordStep& step : record->history)
      history.push_back({{"op", step.id.hex()}, {"action", step.action}, {"author", step.author.hex()},
                         {"author_name", who->name(step.author)}, {"time", hlc_display(step.hlc)},
                         {"effective", step.verdict.effective}, {"reason", step.verdict.reason}});
    out["history"] = history;
    return ctx.print(out);
  }
  print_profile(**p, phone);
  for (const RecordStep& step : record->history) {
    std::cout << "  " << hlc_display(step.hlc, TimeShown::kSeconds) << "  " << step.action << "  by " << (*who)(step.author);
    if (!step.verdict.effective) std::cout << "  [INERT 无效: " << step.verdict.reason << "]";
    std::cout << "\n";
  }
}

// The attendees as the record keeps them: each a person's profile id (given as an id prefix, a
// key, or a name that exactly one profile bears) or, for someone with no profile, the name as
// written. Said on stderr which names matched nobody.
Result<std::string> resolve_attendees(const node::People& people, const std::string& given) {
  std::vector<std::string> out;
  for (std::string item : split_commas(given)) {
    while (!item.empty() && item.front() == ' ') item.erase(item.begin());
    while (!item.empty() && item.back() == ' ') item.pop_back();
    if (item.empty()) continue;
    std::vector<const node::Profile*> named;
    for (const node::Profile& p : people.profiles())
      if (!p.shadowed && p.name == item) named.push_back(&p);
    if (named.size() > 1)
      return Status::invalid("--attendees: " + std::to_string(named.size()) + " people are named " + item +
                             "; give the person's id instead (anwang person list)");
    if (named.size() == 1) {
      out.push_back(named.front()->id.hex());
      continue;
    }
    bool hex = item.size() >= 8 && item.find_first_not_of("0123456789abcdef") == std::string::npos;
    if (hex) {
      auto p = find_profile(people, item);
      if (!p) return Status::invalid("--attendees: " + p.status().message());
      out.push_back((*p)->id.hex());
      continue;
    }
    std::cerr << "anwang: note: no profile is named " << item << "; kept as a name 无此人员信息，按姓名记录\n";
    out.push_back(item);
  }
  if (out.empty()) return Status::invalid("--attendees: name at least one person");
  std::string joined;
  for (const std::string& a : out) joined += (joined.empty() ? "" : ",") + a;
  return joined;
}

}  // namespace

void add_people_commands(CLI::App& app, Context& ctx) {
  // ---- person: profiles (人员信息) ----
  auto* person = app.add_subcommand("person", "People's profiles (人员信息): name, office, phone, grid and keys");
  person->require_subcommand(1);
  for (const char* verb : {"add", "edit"}) {
    auto step = std::make_shared<Step>();
    step->kind = "person";
    step->action = verb;
    bool add = std::string(verb) == "add";
    auto* command = person->add_subcommand(verb, add ? "Add a person's profile at their village or grid"
                                                     : "Change a profile (the person may change their own name and phone)");
    if (add)
      command->add_option("--scope", step->scope, "The person's village or grid code")->required();
    else
      command->add_option("ID", step->target, "Profile id")->required();
    auto* name = command->add_option("--name", step->fields["name"], "Name 姓名");
    if (add) name->required();
    command->add_option("--phone", step->fields["phone"], "Phone 电话");
    command->add_option("--office", step->fields["office"], "Office 职务, e.g. 网格员, 村安全员, 组级安全联络员");
    command->add_option("--grid", step->fields["grid"], "The grid they serve, a code within the scope");
    if (add) command->add_option("--key", step->fields["holder"], "A key of the person (64 hex digits), if they have one");
    command->callback([&ctx, step] {
      Step s = *step;
      if (!s.fields["holder"].empty()) {
        auto opened = open_all(ctx);
        if (!opened) return ctx.fail(opened.status());
        auto key = PublicKey::from_hex(s.fields["holder"]);
        if (!key) return ctx.fail(Status::invalid("--key must be a key of 64 hexadecimal digits"));
        auto authority = opened->store->authority();
        if (!authority) return ctx.fail(authority.status());
        s.fields["holder"] = (*authority)->holder_of(*key).hex();  // the person, when the key is their second device
      }
      write_step(ctx, s);
    });
  }
  auto bind = std::make_shared<std::pair<std::string, std::string>>();
  auto* bind_cmd = person->add_subcommand("bind", "Bind a profile to the person's key (their phone or PC key; the others follow)");
  bind_cmd->add_option("ID", bind->first, "Profile id")->required();
  bind_cmd->add_option("--key", bind->second, "The person's key, 64 hex digits")->required();
  bind_cmd->callback([&ctx, bind] {
    auto opened = open_all(ctx);
    if (!opened) return ctx.fail(opened.status());
    auto key = PublicKey::from_hex(bind->second);
    if (!key) return ctx.fail(Status::invalid("--key must be a key of 64 hexadecimal digits"));
    auto who = KeyLabels::load(*opened);
    if (!who) return ctx.fail(who.status());
    auto p = find_profile(who->people(), bind->first);
    if (!p) return ctx.fail(p.status());
    PublicKey holder = who->people().holder_of(*key);
    if (const node::Profile* other = who->people().of_key(holder); other != nullptr && other->id != (*p)->id)
      std::cerr << "anwang: note: this key was bound to " << other->name << " (" << other->id.short_hex()
                << "); the newer binding is in force 此密钥原绑定的人员信息将被取代\n";
    Step step{"person", "edit", "", (*p)->id.hex(), {{"holder", holder.hex()}}, {}, {}};
    opened.value().store.reset();
    write_step(ctx, step);
  });
  auto person_scope = std::make_shared<std::string>();
  auto* list = person->add_subcommand("list", "List profiles (phones only where your office may see them)");
  list->add_option("--scope", *person_scope, "Only at or under this code");
  list->callback([&ctx, person_scope] { run_person_list(ctx, *person_scope); });
  auto person_id = std::make_shared<std::string>();
  auto* show = person->add_subcommand("show", "One profile with its history; ID or one of the person's keys");
  show->add_option("ID", *person_id, "Profile id or key")->required();
  show->callback([&ctx, person_id] { run_person_show(ctx, *person_id); });

  // ---- training, meeting, notebook ----
  struct Kind {
    const char* kind;
    const char* help;
  };
  for (Kind k : {Kind{"training", "Trainings (培训): date, topic, hours, attendees"},
                 Kind{"meeting", "Meetings (例会): date, attendees, minutes"},
                 Kind{"notebook", "The work notebook (工作记录) of a village officer or liaison"}}) {
    const std::string kind = k.kind;
    auto* parent = app.add_subcommand(kind, k.help);
    parent->require_subcommand(1);
    auto step = std::make_shared<Step>();
    step->kind = kind;
    step->action = "record";
    auto* command = parent->add_subcommand("record", "Record one");
    command->add_option("--scope", step->scope, "Village or grid (township, county) where it took place")->required();
    command->add_option("--date", step->fields["date"], "Date, YYYY-MM-DD")->required();
    if (kind == "training") {
      command->add_option("--topic", step->fields["topic"], "Topic 主题")->required();
      command->add_option("--hours", step->fields["hours"], "Hours 学时, e.g. 2 or 1.5")->required();
      command->add_option("--text", step->fields["text"], "Notes");
    }
    if (kind == "meeting") {
      command->add_option("--topic", step->fields["topic"], "Topic 议题");
      command->add_option("--minutes", step->fields["minutes"], "Minutes 会议记录")->required();
    }
    if (kind == "notebook") command->add_option("--text", step->fields["text"], "What was done 工作内容")->required();
    if (kind != "notebook") {
      command->add_option("--attendees", step->fields["attendees"],
                          "Who attended, comma-separated: profile ids, or names (a name no profile bears is kept as written)")
          ->required();
      command->add_option("--photo", step->photos, "Photo or sign-in sheet; repeat");
    }
    command->callback([&ctx, step] {
      Step s = *step;
      if (!s.fields["date"].empty() && !is_calendar_date(s.fields["date"]))
        return ctx.fail(Status::invalid("--date must be a date written YYYY-MM-DD, such as 2026-12-07"));
      if (s.kind != "notebook") {
        auto opened = open_all(ctx);
        if (!opened) return ctx.fail(opened.status());
        auto people = node::People::load(*opened->store);
        if (!people) return ctx.fail(people.status());
        auto attendees = resolve_attendees(*people, s.fields["attendees"]);
        if (!attendees) return ctx.fail(attendees.status());
        s.fields["attendees"] = *attendees;
      }
      write_step(ctx, s);
    });
    add_list_and_show(parent, ctx, kind);
  }
}

}  // namespace anwang::cli
