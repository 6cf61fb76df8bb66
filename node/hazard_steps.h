// hazard_steps.h — the hazard closed loop (隐患闭环) as both edges drive it: the CLI
// (cli/commands_hazard.cpp) and the web API (node/web_api.cpp) call these same functions, so a
// step drafted from a browser is the step drafted from a terminal, and the authority rules judge
// both in Store::author. Nothing here decides authority: it turns a person's input into a draft
// (checking only the input's own form), says what a hazard waits for, and renders hazards as the
// JSON both edges print.
#pragma once

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "crdt/authority.h"
#include "crdt/hazard.h"
#include "node/store.h"

namespace anwang::node {

// A step's input as a person gives it. Which fields count depends on `action` (crdt/HAZARD.md).
struct HazardStepInput {
  std::string action;      // fix, notice, escalate, receive, assign, handled, verify, reclassify, comment,
                           // signoff, list_supervision, stop_work, close
  std::string text;
  std::vector<Attachment> photos;
  std::string to_level;    // escalate: township or county (empty: the next level)
  std::string department;  // assign: a category whose department handles it
  std::optional<PublicKey> assignee;  // assign: the office's key instead
  std::optional<bool> pass;           // verify: true archives (销号), false sends back (驳回)
  std::string category, severity;     // reclassify
  std::string deadline;               // notice: YYYY-MM-DD, or
  int days = 0;                       //   days from the notice's own time
  std::string responsible, measures;  // notice
  std::optional<PublicKey> acceptor;  // notice
  std::string location;               // comment: "LNG,LAT" correcting where the hazard is
};

// The actions of the loop, as HazardStepInput::action names them.
const std::vector<std::string>& hazard_step_actions();

// How an edge names an input field in its errors ("--deadline" on the command line, "deadline" in
// the API's JSON).
using FieldName = std::function<std::string(const char* field)>;

// The draft for one step on the hazard `state`, or one sentence naming the field at fault.
// `trusted_ms`: this node's trusted time, against which a deadline date must lie ahead.
Result<OpDraft> hazard_step_draft(const HazardState& state, const HazardStepInput& input, std::uint64_t trusted_ms,
                                  const FieldName& field);

// A new hazard's report (发现上报).
struct HazardReportInput {
  std::string grid, category, severity, text, major_form;
  std::string location;  // "LNG,LAT" (crdt/location.h), or empty
  std::optional<Hash32> unit;
  std::vector<Attachment> photos;
};
Result<OpDraft> hazard_report_draft(const HazardReportInput& input, const FieldName& field);

// What the hazard in state `s` waits for, as the action `key` would have to be able to take.
std::optional<Action> awaited_action(const HazardState& s, const PublicKey& key);

// The hazards that wait for `key` (待我办理): each with the capability it waits for.
struct InboxItem {
  HazardState hazard;
  std::string capability;
};
Result<std::vector<InboxItem>> hazard_inbox(const Store& store, const PublicKey& key);

// A hazard as `anwang hazard show --json` and the web API give it.
nlohmann::json hazard_json(const HazardState& s, bool with_history);

// The jurisdictions' names by code (the county's from the genesis, the others from region ops;
// the latest effective name wins), as `anwang region list` shows them.
Result<std::map<std::string, std::string>> region_names(const Store& store);

// A date YYYY-MM-DD as the end of that day (UTC), in ms.
Result<std::uint64_t> parse_date_ms(const std::string& date, const FieldName& field);

}  // namespace anwang::node
