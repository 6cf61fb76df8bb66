// hazard_steps.cpp — see hazard_steps.h.
#include "node/hazard_steps.h"

#include <algorithm>
#include <ctime>
#include <iomanip>
#include <sstream>

#include "crdt/hlc.h"
#include "crdt/limits.h"
#include "crdt/location.h"
#include "crdt/scope.h"
#include "node/map.h"
#include "node/op_json.h"

namespace anwang::node {

const std::vector<std::string>& hazard_step_actions() {
  static const std::vector<std::string> actions = {
      "fix",     "notice",     "escalate", "receive", "assign",           "handled",   "verify",
      "reclassify", "comment", "signoff",  "list_supervision", "stop_work", "close"};
  return actions;
}

Result<std::uint64_t> parse_date_ms(const std::string& date, const FieldName& field) {
  std::tm tm{};
  std::istringstream in(date);
  in >> std::get_time(&tm, "%Y-%m-%d");
  if (in.fail() || date.size() != 10) return Status::invalid(field("deadline") + " must be a date like 2026-12-31");
  return static_cast<std::uint64_t>(timegm(&tm)) * 1000 + 86'399'999;  // the end of that day (UTC)
}

Result<OpDraft> hazard_report_draft(const HazardReportInput& input, const FieldName& field) {
  if (Status s = check_scope(input.grid); !s) return Status::invalid(field("grid") + ": " + s.message());
  if (input.severity != "general" && input.severity != "major")
    return Status::invalid(field("severity") + " must be 'general' (一般) or 'major' (重大)");
  if (input.category.empty()) return Status::invalid(field("category") + " must be given");
  if (input.text.empty()) return Status::invalid(field("text") + " must say what was found");
  if (!input.location.empty() && !parse_location(input.location)) return check_location(input.location, field("location"));
  HazardPayload h;
  h.action = "report";
  h.text = input.text;
  h.category = input.category;
  h.severity = input.severity;
  h.unit = input.unit;
  h.major_form = input.major_form;
  h.photos = input.photos;
  h.location = input.location;
  return OpDraft{input.grid, Hash32{}, h, {}, DraftTarget::kNewRecord};
}

Result<OpDraft> hazard_step_draft(const HazardState& state, const HazardStepInput& input, std::uint64_t trusted_ms,
                                  const FieldName& field) {
  const auto& actions = hazard_step_actions();
  if (std::find(actions.begin(), actions.end(), input.action) == actions.end())
    return Status::invalid("no hazard action '" + input.action + "'");
  HazardPayload h;
  h.action = input.action;
  h.text = input.text;
  h.photos = input.photos;
  const std::string& action = input.action;
  if (!input.location.empty()) {
    if (action != "comment") return Status::invalid(field("location") + " is corrected with a comment, not with " + action);
    if (!parse_location(input.location)) return check_location(input.location, field("location"));
    h.location = input.location;
  }
  if (action == "escalate") {
    h.to_level = input.to_level;
    if (h.to_level.empty()) h.to_level = state.level == ScopeLevel::kVillage ? "township" : "county";
  } else if (action == "assign") {
    if (input.department.empty() == !input.assignee.has_value())
      return Status::invalid("name either " + field("department") + " (a category) or " + field("to") + " (a key)");
    h.department = input.department;
    h.assignee = input.assignee;
  } else if (action == "verify") {
    if (!input.pass) return Status::invalid("give exactly one of " + field("pass") + " (销号) or " + field("fail") + " (驳回)");
    h.pass = *input.pass;
  } else if (action == "reclassify") {
    h.category = input.category;
    h.severity = input.severity;
  } else if (action == "notice") {
    if (input.deadline.empty() == (input.days == 0))
      return Status::invalid("give the deadline as " + field("deadline") + " YYYY-MM-DD or " + field("days") + " N");
    if (!input.deadline.empty()) {
      auto ms = parse_date_ms(input.deadline, field);
      if (!ms) return ms.status();
      // A date already past would make the hazard overdue at once on every node.
      if (*ms <= trusted_ms)
        return Status::invalid(field("deadline") + " " + input.deadline + " is already past (today is " +
                               hlc_display(hlc_from_ms(trusted_ms), TimeShown::kDate) + "): give a later date, or " +
                               field("days") + " N");
      h.deadline_ms = *ms;
    } else {
      if (input.days < 1 || static_cast<std::uint32_t>(input.days) > limits::notice_deadline_days_max)
        return Status::invalid(field("days") + " must be between 1 and " + std::to_string(limits::notice_deadline_days_max));
      // Counted from the notice's own timestamp when it is signed (Store::author), never from this
      // machine's wall clock, which may read 1970.
      h.deadline_days = static_cast<std::uint16_t>(input.days);
    }
    if (input.responsible.empty()) return Status::invalid(field("responsible") + " must name the responsible person (责任人)");
    h.responsible = input.responsible;
    h.measures = input.measures;
    h.acceptor = input.acceptor;
  }
  return OpDraft{state.scope, state.id, h, {}};
}

std::optional<Action> awaited_action(const HazardState& s, const PublicKey& key) {
  std::optional<ScopeLevel> level = s.level;
  auto action = [&](const char* capability, std::optional<ScopeLevel> at) {
    return Action{key, 0, capability, s.scope, s.category, capability_class(capability), at};
  };
  if (s.state == "awaiting_signoff") return action("hazard.signoff", level);
  if (s.state == "reported") return action("hazard.escalate", level);
  if (s.state == "escalated") return action("hazard.receive", level);
  if (s.state == "received") return action("hazard.assign", level);
  if (s.state == "noticed") return action("hazard.handle", level);
  if (s.state == "assigned" || s.state == "rejected") {
    for (const HazardAssignee& a : s.assignees)
      if (a.key && *a.key == key) return action("hazard.handle", std::nullopt);
    return action("hazard.handle", level);
  }
  if (s.state == "handled" || s.state == "fixed_on_site") {
    if (key == s.reporter || (s.acceptor && *s.acceptor == key)) return action("hazard.verify", std::nullopt);
    return std::nullopt;
  }
  return std::nullopt;
}

Result<std::vector<InboxItem>> hazard_inbox(const Store& store, const PublicKey& key) {
  auto authority = store.authority();
  if (!authority) return authority.status();
  auto ids = store.hazards();
  if (!ids) return ids.status();
  std::vector<InboxItem> out;
  for (const Hash32& id : *ids) {
    auto s = store.hazard(id);
    if (!s) return s.status();
    if (!s->exists || s->state == "archived") continue;
    auto action = awaited_action(*s, key);
    if (!action) continue;
    // A person who signed off this version already waits for the other signer, not for themself.
    if (action->capability == std::string("hazard.signoff") &&
        std::find(s->signed_by.begin(), s->signed_by.end(), (*authority)->holder_of(key)) != s->signed_by.end())
      continue;
    // Departments are awaited only for hazards assigned to a department of their category.
    if (!(*authority)->can(*action).effective) continue;
    out.push_back(InboxItem{std::move(*s), action->capability});
  }
  return out;
}

namespace {

nlohmann::json assignees_json(const HazardState& s) {
  nlohmann::json out = nlohmann::json::array();
  for (const HazardAssignee& a : s.assignees)
    out.push_back({{"department", a.department}, {"key", a.key ? nlohmann::json(a.key->hex()) : nlohmann::json(nullptr)},
                   {"by", a.by.hex()}, {"office", a.office_scope}, {"primary", a.primary}, {"superseded", a.superseded}});
  return out;
}

}  // namespace

nlohmann::json hazard_json(const HazardState& s, bool with_history) {
  nlohmann::json out = {{"id", s.id.hex()},
                        {"scope", s.scope},
                        {"state", s.state},
                        {"state_zh", hazard_state_zh(s.state)},
                        {"severity", s.severity},
                        {"level", level_id(s.level)},
                        {"category", s.category},
                        {"category_conflicts", s.category_conflicts},
                        {"description", s.description},
                        {"reporter", s.reporter.hex()},
                        {"unit", s.unit ? nlohmann::json(s.unit->hex()) : nlohmann::json(nullptr)},
                        {"assignees", assignees_json(s)},
                        {"returns", s.returns},
                        {"flags", s.flags},
                        {"awaiting", s.awaiting},
                        {"signoffs", s.signoffs},
                        {"reported_at", hlc_display(s.reported_hlc)},
                        {"time_in_state_ms", s.time_in_state_ms},
                        {"photos", attachments_to_json(s.photos)}};
  if (!s.location.empty()) out["location"] = s.location;
  if (s.deadline_ms != 0) {
    out["deadline"] = hlc_display(hlc_from_ms(s.deadline_ms), TimeShown::kDate);
    out["deadline_ms"] = s.deadline_ms;
    out["responsible"] = s.responsible;
    out["measures"] = s.measures;
    out["acceptor"] = s.acceptor ? nlohmann::json(s.acceptor->hex()) : nlohmann::json(nullptr);
  }
  if (with_history) {
    nlohmann::json history = nlohmann::json::array();
    for (const HazardStep& step : s.history)
      history.push_back({{"op", step.id.hex()}, {"action", step.action}, {"author", step.author.hex()},
                         {"time", hlc_display(step.hlc)}, {"effective", step.verdict.effective},
                         {"reason", step.verdict.reason}, {"flags", step.verdict.flags},
                         {"overridden_by", step.overridden_by ? nlohmann::json(step.overridden_by->hex()) : nlohmann::json(nullptr)}});
    out["history"] = history;
  }
  return out;
}

Result<std::map<std::string, std::string>> region_names(const Store& store) {
  auto infos = region_infos(store);
  if (!infos) return infos.status();
  std::map<std::string, std::string> names;
  for (auto& [code, info] : *infos) names[code] = std::move(info.name);
  return names;
}

}  // namespace anwang::node
