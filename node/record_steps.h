// record_steps.h — the grid's other records (the ledger's units, patrols, tips, incidents,
// notices; crdt/record.h) as both edges drive them: the CLI (cli/commands_records.cpp) and the web
// API (node/web_api.cpp) build their steps and render them with these same functions. Nothing here
// decides authority: Store::author judges every step.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "crdt/record.h"
#include "node/hazard_steps.h"
#include "node/store.h"

namespace anwang::node {

// One record step as a person gives it.
struct RecordStepInput {
  std::string kind;    // unit, inspection, tip, incident, notice, person, training, meeting, notebook
  std::string action;  // unit: add, edit, confirm, close; inspection: record; tip: enter, verify;
                       // incident: report, update; notice: send, acknowledge; person: add, edit;
                       // training, meeting, notebook: record
  std::string scope;   // a new record's village or grid (a notice: the sending office); else unused
  std::optional<Hash32> target;  // the existing record a step is on; none to create one
  std::map<std::string, std::string> fields;  // empty values are left out
  std::vector<Attachment> photos;
  std::vector<Hash32> refs;
};

// The kinds and, for each, its actions; the first action of each creates the record.
const std::map<std::string, std::vector<std::string>>& record_actions();

// Whether `action` on `kind` creates a record.
bool record_action_creates(const std::string& kind, const std::string& action);

// The draft for one record step, or one sentence naming the field at fault (`field` names it as
// the edge does). A step on an existing record takes the record's scope; `target` must be a
// record of `kind` held here.
Result<OpDraft> record_step_draft(const Store& store, const RecordStepInput& input, const FieldName& field);

// A patrol checklist line as `anwang inspect --item` and the web form give it: ITEM:pass|fail|na
// with an optional :note. Empty when it is well formed, else the sentence why not.
std::string checklist_item_error(const std::string& item);

// Every record of `kind` this node holds that exists (an effective creation).
Result<std::vector<RecordState>> load_records(const Store& store, const std::string& kind);

// A record as `anwang unit show --json` (and the others) print it.
nlohmann::json record_json(const RecordState& r, bool with_history);

}  // namespace anwang::node
