#include "crdt/record.h"

#include <algorithm>

#include "crdt/causal.h"
#include "crdt/limits.h"
#include "crdt/text.h"
#include "crdt/hlc.h"

#include <cstdio>
#include <ctime>

namespace anwang {

namespace {

const RecordPayload& payload_of(const Op& op) { return std::get<RecordPayload>(op.fields.payload); }

bool creates(const RecordPayload& r) { return creates_object(r); }

// Fields that steer an action rather than describe the record.
bool is_control_field(const std::string& name) { return name == "by" || name == "recipient"; }

Verdict refused(std::string reason) {
  Verdict verdict;
  verdict.reason = std::move(reason);
  return verdict;
}

RecordState derive(const std::vector<RecordOp>& ops, const CausalOrder& order, const std::vector<std::size_t>& in) {
  RecordState s;
  auto r = [&ops](std::size_t i) -> const RecordPayload& { return payload_of(ops[i].op); };
  std::optional<std::size_t> creator;
  for (std::size_t i : in)
    if (creates(r(i)) && !creator) creator = i;
  if (!creator) return s;
  const Op& first = ops[*creator].op;
  s.exists = true;
  s.id = first.fields.object;
  s.kind = r(*creator).kind;
  s.scope = first.fields.scope;
  s.creator = first.fields.author;
  s.created_hlc = first.fields.hlc;
  std::set<std::string> names;
  for (std::size_t i : in) {
    s.updated_hlc = std::max(s.updated_hlc, ops[i].op.fields.hlc);
    for (const auto& [name, value] : r(i).fields)
      if (!is_control_field(name)) names.insert(name);
    s.photos.insert(s.photos.end(), r(i).photos.begin(), r(i).photos.end());
    for (const Hash32& ref : r(i).refs)
      if (std::find(s.refs.begin(), s.refs.end(), ref) == s.refs.end()) s.refs.push_back(ref);
    if (r(i).action == "acknowledge")
      if (const std::string* recipient = r(i).field("recipient")) s.acknowledged.insert(*recipient);
  }
  std::vector<std::size_t> data_writes;
  for (const std::string& name : names) {
    auto writes = order.maximal(in, [&](std::size_t i) { return r(i).field(name) != nullptr; });
    std::size_t winner = writes.front();
    for (std::size_t i : writes) {
      data_writes.push_back(i);
      const Op& a = ops[i].op;
      const Op& b = ops[winner].op;
      if (std::tie(a.fields.hlc, a.id) > std::tie(b.fields.hlc, b.id)) winner = i;
    }
    FieldRegister reg{*r(winner).field(name), ops[winner].op.id, {}};
    for (std::size_t i : writes)
      if (*r(i).field(name) != reg.value) reg.conflicts.push_back(*r(i).field(name));
    if (!reg.conflicts.empty() && std::find(s.flags.begin(), s.flags.end(), "conflict") == s.flags.end())
      s.flags.push_back("conflict");
    s.fields[name] = std::move(reg);
  }
  // A confirmation counts for the entry as it now stands: it must follow every latest write.
  for (std::size_t c : in) {
    if (r(c).action != "confirm") continue;
    bool current = std::all_of(data_writes.begin(), data_writes.end(),
                               [&](std::size_t w) { return w == c || order.before(w, c); });
    if (!current) continue;
    const std::string* by = r(c).field("by");
    if (by != nullptr && *by == "unit") s.confirmed_by_unit = true;
    if (by != nullptr && *by == "grid_leader") s.confirmed_by_grid_leader = true;
  }
  return s;
}

Status check_fields(const RecordPayload& r, const std::vector<std::string>& known, const char* what) {
  for (const auto& [name, value] : r.fields)
    if (std::find(known.begin(), known.end(), name) == known.end())
      return Status::invalid(std::string("a ") + what + " has no field '" + name + "'");
  return Status::ok();
}

// A training (培训), a meeting (例会) or a work-notebook entry (工作记录): see crdt/RECORDS.md.
Status check_gathering(const RecordPayload& r) {
  static const std::vector<std::string> kTraining = {"date", "topic", "hours", "attendees", "text"};
  static const std::vector<std::string> kMeeting = {"date", "topic", "attendees", "minutes"};
  static const std::vector<std::string> kNotebook = {"date", "text"};
  const bool training = r.kind == "training", meeting = r.kind == "meeting";
  if (Status s = check_fields(r, training ? kTraining : meeting ? kMeeting : kNotebook, r.kind.c_str()); !s) return s;
  const std::string* date = r.field("date");
  if (date == nullptr || !is_calendar_date(*date)) return Status::invalid("a " + r.kind + " needs its date as YYYY-MM-DD");
  if (training) {
    const std::string* topic = r.field("topic");
    if (topic == nullptr || topic->empty()) return Status::invalid("a training needs its topic");
    const std::string* hours = r.field("hours");
    double h = 0;
    char tail = 0;
    if (hours == nullptr || std::sscanf(hours->c_str(), "%lf%c", &h, &tail) != 1 || !(h > 0 && h <= limits::training_hours_max) ||
        hours->find_first_not_of("0123456789.") != std::string::npos)
      return Status::invalid("a training's hours are a number above 0 and at most 200, such as 2 or 1.5");
  }
  if (training || meeting) {
    if (split_commas(r.field("attendees") ? *r.field("attendees") : "").empty())
      return Status::invalid("a " + r.kind + " names its attendees");
  }
  if (meeting && (r.field("minutes") == nullptr || r.field("minutes")->empty()))
    return Status::invalid("a meeting needs its minutes");
  if (r.kind == "notebook" && (r.field("text") == nullptr || r.field("text")->empty()))
    return Status::invalid("a notebook entry needs its text");
  return Status::ok();
}

// A person's profile (人员信息): see crdt/RECORDS.md, "Profiles". Written by an office that may
// appoint at its scope (`delegate`); the person may change their own name and phone.
template <typename Need>
Verdict judge_person(const Op& op, const RecordPayload& r, const RecordState& prior, const AuthorityState& authority,
                     Need& need) {
  static const std::vector<std::string> kFields = {"name", "phone", "office", "grid", "holder"};
  if (Status s = check_fields(r, kFields, "person"); !s) return refused(s.message());
  if (r.action == "add" && (r.field("name") == nullptr || r.field("name")->empty()))
    return refused("a person's profile needs a name");
  if (const std::string* name = r.field("name"); name != nullptr && (name->empty() || name->size() > limits::name_bytes_max))
    return refused("a person's name is 1 to 256 bytes");
  if (const std::string* phone = r.field("phone"))
    if (!phone->empty() && (phone->size() > limits::phone_bytes_max || phone->find_first_not_of("0123456789+- ") != std::string::npos))
      return refused("a phone number is digits, spaces, '+' and '-', at most 32 of them");
  if (const std::string* office = r.field("office"); office != nullptr && office->size() > limits::name_bytes_max)
    return refused("an office is at most 256 bytes");
  if (const std::string* grid = r.field("grid"))
    if (!grid->empty() && (!check_scope(*grid).is_ok() || !scope_contains(op.fields.scope, *grid)))
      return refused("a person's grid '" + *grid + "' is not a jurisdiction within " + op.fields.scope);
  if (const std::string* holder = r.field("holder"))
    if (!holder->empty() && !PublicKey::from_hex(*holder))
      return refused("a person's holder is a key: 64 hexadecimal digits");
  // The person's own edit: judged by the grant the author acts under (its holder, else the key),
  // which lies in the op's causal past, not by every grant this node happens to hold.
  const std::string bound = prior.field("holder");
  bool own = r.action == "edit" && !bound.empty() &&
             std::all_of(r.fields.begin(), r.fields.end(),
                         [](const auto& field) { return field.first == "name" || field.first == "phone"; });
  if (own) {
    std::string grid = prior.field("grid");
    Verdict verdict = need(capability::kNote, grid.empty() ? op.fields.scope : grid);
    if (verdict.effective && authority.holder_by_grant(verdict, op.fields.author).hex() == bound) return verdict;
  }
  return need(capability::kDelegate, op.fields.scope);
}

// Which capability a step needs and at which scope; nullopt with a reason when it breaks a rule.
Verdict judge_step(const RecordOp& step, const RecordState& prior, const AuthorityState& authority) {
  const Op& op = step.op;
  const RecordPayload& r = payload_of(op);
  auto need = [&](const char* capability, const std::string& scope) {
    Action action{op.fields.author, op.fields.author_seq, capability, scope, "", capability_class(capability),
                  std::nullopt, reach_of(op)};
    return authority.judge_action(action, step.auth_frontier);
  };
  if (creates(r)) {
    if (prior.exists) return refused("this record already exists");
  } else {
    if (!prior.exists) return refused("no effective creation of this record is in its causal past");
    if (prior.kind != r.kind) return refused("this record is a " + prior.kind + ", not a " + r.kind);
    if (op.fields.scope != prior.scope) return refused("a record's ops keep its scope (" + prior.scope + ")");
  }
  const std::string& scope = op.fields.scope;
  if (r.kind == "unit") {
    for (const auto& [name, value] : r.fields) {
      const auto& known = unit_field_names();
      if (std::find(known.begin(), known.end(), name) == known.end() && name != "by" && name != "status")
        return refused("a unit has no field '" + name + "'");
    }
    if (r.action == "add" && (r.field("name") == nullptr || r.field("name")->empty()))
      return refused("a new unit needs a name");
    if (r.action == "confirm") {
      const std::string* by = r.field("by");
      if (by == nullptr || (*by != "unit" && *by != "grid_leader"))
        return refused("a confirmation is by 'unit' or by 'grid_leader'");
      return need(*by == "unit" ? "unit.edit" : "unit.confirm", scope);
    }
    if (r.action == "close") {
      const std::string* status = r.field("status");
      if (status == nullptr || (*status != "moved_out" && *status != "closed"))
        return refused("closing a unit sets status 'moved_out' or 'closed'");
    } else if (r.field("status") != nullptr) {
      return refused("a unit's status changes only by closing it");
    }
    return need("unit.edit", scope);
  }
  if (r.kind == "inspection") {
    if (r.refs.empty()) return refused("an inspection names the unit it patrolled");
    return need("inspect", scope);
  }
  if (r.kind == "tip") {
    if (r.action == "enter") {
      if (r.field("text") == nullptr) return refused("a tip needs its text");
      return need("tip.enter", scope);
    }
    const std::string* outcome = r.field("outcome");
    if (outcome == nullptr || (*outcome != "hazard" && *outcome != "dismissed"))
      return refused("a verified tip becomes a 'hazard' or is 'dismissed'");
    if (*outcome == "dismissed" && r.field("reason") == nullptr) return refused("a dismissed tip needs a reason");
    if (*outcome == "hazard" && r.refs.empty()) return refused("a tip that became a hazard names the hazard");
    return need("tip.verify", scope);
  }
  if (r.kind == "incident") {
    if (r.action == "report" && r.field("text") == nullptr) return refused("an incident report needs its text");
    return need("incident.report", scope);
  }
  if (r.kind == "person") return judge_person(op, r, prior, authority, need);
  if (r.kind == "training" || r.kind == "meeting" || r.kind == "notebook") {
    if (Status s = check_gathering(r); !s) return refused(s.message());
    return need(r.kind == "training" ? "training.record" : r.kind == "meeting" ? "meeting.record" : "notebook.write", scope);
  }
  // notice
  if (r.action == "send") {
    const std::string* recipients = r.field("recipients");
    if (r.field("title") == nullptr || recipients == nullptr) return refused("a notice needs a title and recipients");
    for (const std::string& recipient : split_commas(*recipients))
      if (!check_scope(recipient).is_ok() || !scope_contains(scope, recipient))
        return refused("notice recipient '" + recipient + "' is not a jurisdiction within " + scope);
    return need("notice.send", scope);
  }
  const std::string* recipient = r.field("recipient");
  if (recipient == nullptr || !check_scope(*recipient).is_ok()) return refused("an acknowledgement names its recipient scope");
  auto recipients = split_commas(prior.field("recipients"));
  if (std::none_of(recipients.begin(), recipients.end(),
                   [&](const std::string& to) { return scope_contains(to, *recipient); }))
    return refused("this notice was not sent to " + *recipient);
  return need("notice.acknowledge", *recipient);
}

}  // namespace

bool is_calendar_date(const std::string& text) {
  int y = 0, m = 0, d = 0;
  char tail = 0;
  // Digits where digits go: sscanf alone would take "2026- 1-+1" (it skips spaces and reads signs).
  for (std::size_t i = 0; i < text.size(); ++i)
    if (i != 4 && i != 7 && (text[i] < '0' || text[i] > '9')) return false;
  if (text.size() != 10 || text[4] != '-' || text[7] != '-' ||
      std::sscanf(text.c_str(), "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3)
    return false;
  static const int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return y >= 1900 && y <= 2999 && m >= 1 && m <= 12 && d >= 1 && d <= (m == 2 && !leap ? 28 : kDays[m - 1]);
}

bool phone_visible_to(const std::optional<PublicKey>& viewer, const std::vector<std::string>& viewer_scopes,
                      const PublicKey* person, const std::string& person_scope) {
  if (!viewer) return false;
  if (person != nullptr && *person == *viewer) return true;
  return std::any_of(viewer_scopes.begin(), viewer_scopes.end(), [&](const std::string& scope) {
    return scope_contains(scope, person_scope) || scope_contains(person_scope, scope);
  });
}

std::string RecordState::field(const std::string& name) const {
  auto at = fields.find(name);
  return at == fields.end() ? "" : at->second.value;
}

const std::vector<std::string>& unit_field_names() {
  static const std::vector<std::string> kNames = {"name",     "address",        "industry",    "scale",
                                                  "licence",  "contacts",       "key_supervision",
                                                  "three_small", "departments", "grid", "location"};
  return kNames;
}

std::vector<PatrolDue> patrols_due(const std::vector<RecordState>& units, const std::vector<RecordState>& inspections,
                                   const Constitution& constitution, std::uint64_t now_ms) {
  constexpr std::uint64_t kDayMs = 86'400'000;
  std::map<Hash32, std::uint64_t> last;
  for (const RecordState& inspection : inspections)
    if (inspection.exists && !inspection.refs.empty())
      last[inspection.refs.front()] = std::max(last[inspection.refs.front()], hlc_ms(inspection.created_hlc));
  std::vector<PatrolDue> out;
  for (const RecordState& unit : units) {
    if (!unit.exists || unit.field("status") == "closed" || unit.field("status") == "moved_out") continue;
    PatrolDue due;
    due.unit = unit.id;
    due.name = unit.field("name");
    due.scope = unit.scope;
    due.key_unit = unit.field("key_supervision") == "true";
    std::int64_t days = due.key_unit ? constitution.setting("patrol_interval_days_key_unit", 7)
                                     : constitution.setting("patrol_interval_days_grid", 15);
    due.last_ms = last.count(unit.id) ? last[unit.id] : 0;
    std::uint64_t from = due.last_ms != 0 ? due.last_ms : hlc_ms(unit.created_hlc);
    due.due_ms = from + static_cast<std::uint64_t>(std::max<std::int64_t>(days, 1)) * kDayMs;
    due.overdue = now_ms > due.due_ms;
    out.push_back(due);
  }
  std::sort(out.begin(), out.end(), [](const PatrolDue& a, const PatrolDue& b) { return a.due_ms < b.due_ms; });
  return out;
}

std::map<PublicKey, std::int64_t> inspections_in_month(const std::vector<RecordState>& inspections,
                                                       std::uint64_t month_ms, const AuthorityState& authority) {
  auto month_of = [](std::uint64_t ms) {
    std::time_t seconds = static_cast<std::time_t>(ms / 1000);
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    return utc.tm_year * 12 + utc.tm_mon;
  };
  std::map<PublicKey, std::int64_t> out;
  for (const RecordState& inspection : inspections)
    if (inspection.exists && month_of(hlc_ms(inspection.created_hlc)) == month_of(month_ms))
      ++out[authority.holder_of(inspection.creator)];
  return out;
}

RecordState evaluate_record(const std::vector<RecordOp>& ops, const AuthorityState& authority) {
  std::vector<const Op*> pointers;
  for (const RecordOp& op : ops) pointers.push_back(&op.op);
  CausalOrder order(pointers);
  std::vector<bool> effective(ops.size(), false);
  std::vector<RecordStep> history;
  for (std::size_t i = 0; i < ops.size(); ++i) {
    // Ops of other payloads on the object only link the steps around them (see hazard.h).
    if (!std::holds_alternative<RecordPayload>(ops[i].op.fields.payload)) continue;
    std::vector<std::size_t> prior;
    for (std::size_t j = 0; j < i; ++j)
      if (effective[j] && order.before(j, i)) prior.push_back(j);
    Verdict verdict = judge_step(ops[i], derive(ops, order, prior), authority);
    effective[i] = verdict.effective;
    const Op& op = ops[i].op;
    history.push_back({op.id, payload_of(op).action, op.fields.author, op.fields.hlc, std::move(verdict)});
  }
  std::vector<std::size_t> all;
  for (std::size_t i = 0; i < ops.size(); ++i)
    if (effective[i]) all.push_back(i);
  RecordState state = derive(ops, order, all);
  state.history = std::move(history);
  return state;
}

}  // namespace anwang
