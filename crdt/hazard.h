// hazard.h — the hazard (隐患) closed loop as a safety-biased CRDT.
//
// A hazard is the set of ops on one object. evaluate_hazard() judges each op against the hazard
// as it stood in that op's causal past (the level it had reached, its severity, who it was
// assigned to) and against the authority rules, then derives the state from the effective ops:
//   - severity and level are maxima; a downgrade counts only when it causally follows what it
//     downgrades (register semantics: concurrent values → the higher severity);
//   - a closure (verify --pass, close) is effective only if it causally follows every effective
//     escalation, rejection and new evidence: concurrent closure vs escalation → escalated,
//     concurrent archive vs reject → rejected. No hazard is closed silently by a merge;
//   - a major hazard (重大隐患) leaves the village only with two effective sign-offs by two
//     distinct keys over the same version of the hazard;
//   - concurrent assignments all stand; the one by the higher office is primary, ties by id.
// The result is a pure function of the set of ops on the object (and the authority graph).
// See crdt/HAZARD.md. Pure and thread-compatible.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "crdt/authority.h"

namespace anwang {

struct HazardOp {
  Op op;
  std::vector<Hash32> auth_frontier;
};

struct HazardStep {
  Hash32 id;
  std::string action;
  PublicKey author;
  std::uint64_t hlc = 0;
  Verdict verdict;
  // For an effective closure (verify --pass, close) that did not close the hazard: the escalation,
  // rejection or new evidence it had not seen, which kept the hazard open.
  std::optional<Hash32> overridden_by;
};

struct HazardAssignee {
  std::string department;           // a category id, or empty
  std::optional<PublicKey> key;     // an office's key, or empty
  Hash32 by;                        // the assign op
  std::string office_scope;         // the assigning office
  bool primary = false;
  // A department assignment made for a category the hazard no longer has (reclassified since):
  // the hazard went to the department of its new category, listed after it with `by` the
  // reclassification.
  bool superseded = false;
};

struct HazardState {
  bool exists = false;              // an effective report is present
  Hash32 id;
  std::string scope;
  std::optional<Hash32> unit;
  PublicKey reporter;
  std::string description;
  // Where it is, "LNG,LAT" (crdt/location.h): a register over the report and the comments that
  // give one (the causally latest wins; concurrent ones by (timestamp, id)); empty: not given.
  std::string location;
  std::string state = "none";       // stable ids: reported, awaiting_signoff, fixed_on_site, noticed,
                                    // escalated, received, assigned, handled, rejected, archived
  std::string category;
  std::vector<std::string> category_conflicts;  // concurrent values that lost
  std::string severity;             // general | major
  ScopeLevel level = ScopeLevel::kVillage;
  std::vector<HazardAssignee> assignees;
  std::uint32_t returns = 0;        // verify --fail count (驳回)
  std::uint64_t deadline_ms = 0;
  std::string responsible;
  std::optional<PublicKey> acceptor;
  std::string measures;
  bool listed = false;              // 挂牌督办
  bool stop_work = false;           // 停产整改
  std::uint32_t signoffs = 0;       // independent signers (persons, neither appointed by another) over the current version
  std::vector<PublicKey> signed_by; // the persons (holders) who signed off the current version
  std::vector<PublicKey> handled_by;  // the persons who marked it handled (they do not re-inspect it)
  std::vector<PublicKey> fixed_by;    // the persons who fixed it on site
  std::vector<std::string> flags;   // listed, stop_work, overdue, awaiting_signoff, conflict
  std::string awaiting;             // who must act next, in words
  std::map<std::string, std::uint64_t> time_in_state_ms;
  std::uint64_t reported_hlc = 0;
  std::uint64_t newest_hlc = 0;     // newest op on the hazard
  std::vector<Attachment> photos;
  std::vector<HazardStep> history;  // every op, effective or not, in (time, id) order
};

// REQUIRES: ops are the ops of one object in (hlc, id) order (parents before children). Ops of
// other payloads on the object (notes, record steps) may be among them: they are not steps of the
// hazard and are not judged, but they carry causality (a step whose parent is a note has the
// note's past in its own). `now_hlc`: the HLC of the newest op the node holds, for overdue flags and time in state.
HazardState evaluate_hazard(const std::vector<HazardOp>& ops, const AuthorityState& authority, std::uint64_t now_hlc);

// evaluate_hazard in two parts. Time decides no verdict and no state, only the overdue flag and
// the time spent in the current state, so the rest can be kept (a store caches it) and brought
// to any time: evaluate_hazard(ops, a, now) == evaluate_hazard_timeless(ops, a).at_time(now).
struct TimelessHazard {
  HazardState state;     // without the overdue flag, and without the time since the last change
  std::string current;   // the state entered last, and when (ms)
  std::uint64_t since_ms = 0;

  HazardState at_time(std::uint64_t now_hlc) const;
};
TimelessHazard evaluate_hazard_timeless(const std::vector<HazardOp>& ops, const AuthorityState& authority);

// The verdict of `next`, a step that has every op `before` was evaluated from in its causal past,
// through links between those ops (parents and author_prev among them), and is later than all of
// them: it acts on the hazard as `before` has it, so this is the verdict evaluate_hazard_timeless
// gives it as the last of those ops plus `next`. `before` is empty
// (TimelessHazard{}) for a report of a hazard nobody has reported.
Verdict judge_next_step(const TimelessHazard& before, const HazardOp& next, const AuthorityState& authority);

const char* hazard_state_zh(const std::string& state);
const char* level_id(ScopeLevel level);

}  // namespace anwang
