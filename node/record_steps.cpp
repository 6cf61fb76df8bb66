// record_steps.cpp — see record_steps.h.
#include "node/record_steps.h"

#include <algorithm>

#include "crdt/hlc.h"
#include "crdt/location.h"
#include "crdt/scope.h"
#include "crdt/text.h"
#include "node/op_json.h"

namespace anwang::node {

const std::map<std::string, std::vector<std::string>>& record_actions() {
  static const std::map<std::string, std::vector<std::string>> actions = {
      {"unit", {"add", "edit", "confirm", "close"}},
      {"inspection", {"record"}},
      {"tip", {"enter", "verify"}},
      {"incident", {"report", "update"}},
      {"notice", {"send", "acknowledge"}},
      {"person", {"add", "edit"}},
      {"training", {"record"}},
      {"meeting", {"record"}},
      {"notebook", {"record"}},
  };
  return actions;
}

bool record_action_creates(const std::string& kind, const std::string& action) {
  auto it = record_actions().find(kind);
  return it != record_actions().end() && !it->second.empty() && it->second.front() == action;
}

std::string checklist_item_error(const std::string& item) {
  auto colon = item.find(':');
  if (colon == 0 || colon == std::string::npos)
    return "checklist item '" + item + "' must be ITEM:pass, ITEM:fail or ITEM:na, with an optional :note";
  std::string result = item.substr(colon + 1, item.find(':', colon + 1) - colon - 1);
  if (result != "pass" && result != "fail" && result != "na")
    return "checklist item '" + item + "' must be ITEM:pass, ITEM:fail or ITEM:na, with an optional :note";
  if (item.find('\n') != std::string::npos) return "a checklist item is one line";
  return "";
}

Result<OpDraft> record_step_draft(const Store& store, const RecordStepInput& input, const FieldName& field) {
  auto kind = record_actions().find(input.kind);
  if (kind == record_actions().end())
    return Status::invalid(field("kind") + " must be unit, inspection, tip, incident, notice, person, training, meeting or notebook");
  if (std::find(kind->second.begin(), kind->second.end(), input.action) == kind->second.end())
    return Status::invalid("a " + input.kind + " has no step '" + input.action + "'");
  RecordPayload payload{input.kind, input.action, {}, input.photos, input.refs};
  for (const auto& [name, value] : input.fields)  // a std::map: names ascending, as the format wants
    if (!value.empty()) payload.fields.emplace_back(name, value);
  if (input.kind == "person") {
    // A profile is bound to the person (their first key), whichever of their keys is given.
    for (auto& [name, value] : payload.fields) {
      if (name != "holder") continue;
      auto key = PublicKey::from_hex(value);
      if (!key) return Status::invalid(field("holder") + ": a key is 64 hexadecimal digits");
      auto authority = store.authority();
      if (!authority) return authority.status();
      value = (*authority)->holder_of(*key).hex();
    }
  }
  OpDraft draft{input.scope, Hash32{}, payload, {}, DraftTarget::kNewRecord};
  // A unit's location in the one spelling ops carry (crdt/location.h), named as the edge names it.
  if (auto at = input.fields.find("location"); input.kind == "unit" && at != input.fields.end() && !at->second.empty() &&
                                              !parse_location(at->second))
    return check_location(at->second, field("location"));
  if (input.kind == "inspection") {
    // A patrol is of a unit in the ledger, at the unit's place.
    if (input.refs.empty()) return Status::invalid(field("unit") + ": a patrol names the unit it patrolled");
    auto unit = store.record(input.refs.front());
    if (!unit) return unit.status();
    if (!unit->exists || unit->kind != "unit")
      return Status::invalid(field("unit") + ": no unit " + input.refs.front().short_hex() + " in this node's ledger");
    draft.scope = unit->scope;
    auto items = input.fields.find("items");
    if (items != input.fields.end()) {
      std::size_t at = 0;
      while (at <= items->second.size() && !items->second.empty()) {
        std::size_t end = items->second.find('\n', at);
        std::string line = items->second.substr(at, end == std::string::npos ? std::string::npos : end - at);
        if (std::string why = checklist_item_error(line); !why.empty()) return Status::invalid(field("items") + ": " + why);
        if (end == std::string::npos) break;
        at = end + 1;
      }
    }
  }
  if (record_action_creates(input.kind, input.action)) {
    if (input.target) return Status::invalid("a new " + input.kind + " is not a step on an existing record");
    if (input.kind != "inspection")
      if (Status s = check_scope(draft.scope); !s) return Status::invalid(field(input.kind == "notice" ? "scope" : "grid") + ": " + s.message());
    return draft;
  }
  if (!input.target) return Status::invalid("the step '" + input.action + "' is on an existing " + input.kind + ": name it");
  auto record = store.record(*input.target);
  if (!record) return record.status();
  if (!record->exists || record->kind != input.kind)
    return Status::not_found("no " + input.kind + " " + input.target->short_hex() + " on this node");
  if (input.kind == "notice") {
    // Signed for (签收) by a place the notice went to: said here in words, before the store finds
    // that such a receipt would reach where the notice never went.
    auto recipient = input.fields.find("recipient");
    if (recipient == input.fields.end() || recipient->second.empty())
      return Status::invalid(field("recipient") + ": name the place that signs for the notice");
    const std::string recipients = record->field("recipients");
    const auto places = split_commas(recipients);
    if (std::none_of(places.begin(), places.end(), [&](const std::string& place) { return scope_contains(place, recipient->second); }))
      return Status::invalid(field("recipient") + ": this notice was not sent to " + recipient->second + " (it went to " +
                             recipients + ")");
  }
  draft.object = *input.target;
  draft.scope = record->scope;
  draft.target = DraftTarget::kExisting;
  return draft;
}

Result<std::vector<RecordState>> load_records(const Store& store, const std::string& kind) {
  auto ids = store.records(kind);
  if (!ids) return ids.status();
  std::vector<RecordState> out;
  for (const Hash32& id : *ids) {
    auto record = store.record(id);
    if (!record) return record.status();
    if (record->exists) out.push_back(std::move(*record));
  }
  return out;
}

nlohmann::json record_json(const RecordState& r, bool with_history) {
  nlohmann::json fields = nlohmann::json::object();
  for (const auto& [name, reg] : r.fields) fields[name] = {{"value", reg.value}, {"conflicts", reg.conflicts}};
  nlohmann::json refs = nlohmann::json::array();
  for (const Hash32& ref : r.refs) refs.push_back(ref.hex());
  nlohmann::json out = {{"id", r.id.hex()},           {"kind", r.kind},
                        {"scope", r.scope},           {"creator", r.creator.hex()},
                        {"created", hlc_display(r.created_hlc)},
                        {"updated", hlc_display(r.updated_hlc)},
                        {"fields", fields},           {"flags", r.flags},
                        {"photos", attachments_to_json(r.photos)},
                        {"refs", refs}};
  if (r.kind == "unit") {
    out["confirmed_by_unit"] = r.confirmed_by_unit;
    out["confirmed_by_grid_leader"] = r.confirmed_by_grid_leader;
    out["status"] = r.field("status").empty() ? "active" : r.field("status");
  }
  if (r.kind == "notice") out["acknowledged"] = r.acknowledged;
  if (with_history) {
    nlohmann::json history = nlohmann::json::array();
    for (const RecordStep& step : r.history)
      history.push_back({{"op", step.id.hex()}, {"action", step.action}, {"author", step.author.hex()},
                         {"time", hlc_display(step.hlc)}, {"effective", step.verdict.effective},
                         {"reason", step.verdict.reason}});
    out["history"] = history;
  }
  return out;
}

}  // namespace anwang::node
