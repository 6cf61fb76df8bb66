// record.h — ledger units, patrols, tips, incidents and notices as CRDT records.
//
// A record is the set of ops (RecordPayload) on one object. Each op is judged against the
// record as it stood in its causal past and against the authority rules (the capability its
// kind and action need, at the record's scope). Each field is a register: the causally latest
// write wins; concurrent writes are ordered by (timestamp, id) and the losing values stay
// visible as a conflict until a write that has seen them all resolves it. Nothing a person
// entered is dropped. See crdt/RECORDS.md. Pure.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "crdt/authority.h"

namespace anwang {

struct RecordOp {
  Op op;
  std::vector<Hash32> auth_frontier;
};

struct FieldRegister {
  std::string value;
  Hash32 by;                            // the op whose value won
  std::vector<std::string> conflicts;   // concurrent values that lost
};

struct RecordStep {
  Hash32 id;
  std::string action;
  PublicKey author;
  std::uint64_t hlc = 0;
  Verdict verdict;
};

struct RecordState {
  bool exists = false;
  Hash32 id;
  std::string kind;
  std::string scope;
  PublicKey creator;
  std::uint64_t created_hlc = 0;
  std::uint64_t updated_hlc = 0;
  std::map<std::string, FieldRegister> fields;
  std::vector<Attachment> photos;
  std::vector<Hash32> refs;
  bool confirmed_by_unit = false;         // units: the unit confirmed the current entry
  bool confirmed_by_grid_leader = false;  // units: the grid leader reviewed it (001 §六)
  std::set<std::string> acknowledged;     // notices: recipient scopes that signed for it
  std::vector<std::string> flags;         // "conflict"
  std::vector<RecordStep> history;

  std::string field(const std::string& name) const;
};

// REQUIRES: ops of one object in (hlc, id) order. Ops of other payloads among them are not judged
// and only carry causality between the steps (a note never cuts a record's chain).
RecordState evaluate_record(const std::vector<RecordOp>& ops, const AuthorityState& authority);

// The fields a ledger unit (生产经营单位) may carry.
const std::vector<std::string>& unit_field_names();

// Patrol schedule (巡查) of one unit: key-supervision units every patrol_interval_days_key_unit
// (weekly, 001/003); other units every patrol_interval_days_grid (the 15-day patrol of 000, which
// is shorter than the monthly check of 003). Closed and moved-out units are not due.
struct PatrolDue {
  Hash32 unit;
  std::string name;
  std::string scope;
  bool key_unit = false;
  std::uint64_t last_ms = 0;  // 0: never patrolled
  std::uint64_t due_ms = 0;
  bool overdue = false;
};
std::vector<PatrolDue> patrols_due(const std::vector<RecordState>& units, const std::vector<RecordState>& inspections,
                                   const Constitution& constitution, std::uint64_t now_ms);

// Effective inspections per person (the holder of the inspecting key: a phone and a PC of one
// person count together) in the calendar month (UTC) that contains `month_ms`.
std::map<PublicKey, std::int64_t> inspections_in_month(const std::vector<RecordState>& inspections,
                                                       std::uint64_t month_ms, const AuthorityState& authority);

// Whether `text` is a calendar date written YYYY-MM-DD (training, meeting and notebook dates).
bool is_calendar_date(const std::string& text);

// Who may read a person's phone number (分级授权准入): the person themselves, and offices on the
// line of the person's jurisdiction — above it, at it or below it — not a sibling grid or another
// village. `viewer_scopes`: the scopes of the viewer's effective offices; `viewer` the viewer's
// holder (none: nobody signed in, who sees no phone).
bool phone_visible_to(const std::optional<PublicKey>& viewer, const std::vector<std::string>& viewer_scopes,
                      const PublicKey* person, const std::string& person_scope);

}  // namespace anwang
