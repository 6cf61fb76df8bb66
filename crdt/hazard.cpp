#include "crdt/hazard.h"

#include "crdt/causal.h"
#include "crdt/hlc.h"

#include <algorithm>
#include <cassert>
#include <functional>
#include <set>

namespace anwang {

namespace {

const HazardPayload& payload_of(const Op& op) { return std::get<HazardPayload>(op.fields.payload); }

ScopeLevel level_of_text(const std::string& text) {
  return text == "county" ? ScopeLevel::kCounty : text == "township" ? ScopeLevel::kTownship : ScopeLevel::kVillage;
}

bool is_closure(const HazardPayload& h) { return (h.action == "verify" && h.pass) || h.action == "close"; }
bool is_reopener(const HazardPayload& h) {
  return h.action == "escalate" || (h.action == "verify" && !h.pass) || (h.action == "comment" && !h.photos.empty());
}
bool is_workflow(const HazardPayload& h) {
  static const std::set<std::string> kWorkflow = {"report", "fix", "notice", "escalate", "receive", "assign", "handled"};
  return kWorkflow.count(h.action) != 0 || (h.action == "verify" && !h.pass);
}

std::string state_of_step(const HazardPayload& h) {
  if (h.action == "report") return "reported";
  if (h.action == "fix") return "fixed_on_site";
  if (h.action == "notice") return "noticed";
  if (h.action == "escalate") return "escalated";
  if (h.action == "receive") return "received";
  if (h.action == "assign") return "assigned";
  if (h.action == "handled") return "handled";
  return "rejected";  // verify --fail
}

// Safety priority among concurrent states: the one that needs the most attention wins.
int state_priority(const std::string& state) {
  static const std::vector<std::string> kOrder = {"rejected", "escalated", "reported", "received",
                                                  "assigned", "noticed",   "handled",  "fixed_on_site"};
  auto at = std::find(kOrder.begin(), kOrder.end(), state);
  return static_cast<int>(at - kOrder.begin());
}

struct Graph {
  const std::vector<HazardOp>& ops;
  CausalOrder order;
  bool before(std::size_t a, std::size_t b) const { return order.before(a, b); }
};

std::vector<const Op*> op_pointers(const std::vector<HazardOp>& ops) {
  std::vector<const Op*> out;
  for (const HazardOp& op : ops) out.push_back(&op.op);
  return out;
}

Graph build_graph(const std::vector<HazardOp>& ops) { return Graph{ops, CausalOrder(op_pointers(ops))}; }

std::vector<std::size_t> maximal(const Graph& g, const std::vector<std::size_t>& subset,
                                 const std::function<bool(std::size_t)>& keep) {
  return g.order.maximal(subset, keep);
}

bool later(const Op& a, const Op& b) { return std::tie(a.fields.hlc, a.id) > std::tie(b.fields.hlc, b.id); }

// Appends `key` unless present; true when it was added.
bool add_once(std::vector<PublicKey>& keys, const PublicKey& key) {
  if (std::find(keys.begin(), keys.end(), key) != keys.end()) return false;
  keys.push_back(key);
  return true;
}

std::string awaiting_for(const HazardState& s) {
  std::string level = level_id(s.level);
  if (s.state == "awaiting_signoff") return "two sign-offs (双签) at the village by two persons, neither appointed by the other";
  if (s.state == "reported") return "the village: fix on site, issue a notice or escalate";
  if (s.state == "fixed_on_site") return "re-inspection (复查) by the reporter or the village";
  if (s.state == "noticed") return "the responsible person: rectify by the deadline";
  if (s.state == "escalated") return "the " + level + " to receive it (签收)";
  if (s.state == "received") return "the " + level + " to assign it (交办)";
  if (s.state == "assigned" || s.state == "rejected") return "the assignee to handle it";
  if (s.state == "handled") return "re-inspection (复查) by the reporter or the acceptor";
  return "";
}

// The hazard as the effective ops in `in` make it. `office` holds each op's office (the grant its
// verdict used and the person behind it). Time plays no part: the overdue flag is added by at_time().
HazardState derive(const Graph& g, const std::vector<std::size_t>& in, const std::vector<Office>& office) {
  HazardState s;
  auto op = [&g](std::size_t i) -> const Op& { return g.ops[i].op; };
  auto h = [&g](std::size_t i) -> const HazardPayload& { return payload_of(g.ops[i].op); };
  std::optional<std::size_t> report;
  for (std::size_t i : in)
    if (h(i).action == "report" && !report) report = i;
  if (!report) return s;
  const Op& r = op(*report);
  s.exists = true;
  s.id = r.fields.object;
  s.scope = r.fields.scope;
  s.unit = h(*report).unit;
  s.reporter = r.fields.author;
  s.description = h(*report).text;
  s.reported_hlc = r.fields.hlc;
  // Severity: among the latest writes, the highest. Category: the latest write, conflicts kept.
  auto severity_writes = maximal(g, in, [&](std::size_t i) {
    return (h(i).action == "report" || h(i).action == "reclassify") && !h(i).severity.empty();
  });
  s.severity = "general";
  for (std::size_t i : severity_writes)
    if (h(i).severity == "major") s.severity = "major";
  auto category_writes = maximal(g, in, [&](std::size_t i) {
    return (h(i).action == "report" || h(i).action == "reclassify") && !h(i).category.empty();
  });
  std::size_t winner = category_writes.front();
  for (std::size_t i : category_writes)
    if (later(op(i), op(winner))) winner = i;
  s.category = h(winner).category;
  for (std::size_t i : category_writes)
    if (h(i).category != s.category) s.category_conflicts.push_back(h(i).category);
  // Location: the latest write, as the category (a comment corrects the report's).
  auto location_writes = maximal(g, in, [&](std::size_t i) { return !h(i).location.empty(); });
  if (!location_writes.empty()) {
    std::size_t place = location_writes.front();
    for (std::size_t i : location_writes)
      if (later(op(i), op(place))) place = i;
    s.location = h(place).location;
  }
  std::optional<std::size_t> latest_notice;
  for (std::size_t i : in) {
    const HazardPayload& p = h(i);
    s.newest_hlc = std::max(s.newest_hlc, op(i).fields.hlc);
    s.photos.insert(s.photos.end(), p.photos.begin(), p.photos.end());
    if (p.action == "escalate" && static_cast<int>(level_of_text(p.to_level)) < static_cast<int>(s.level))
      s.level = level_of_text(p.to_level);
    if (p.action == "verify" && !p.pass) ++s.returns;
    if (p.action == "list_supervision") s.listed = true;
    if (p.action == "stop_work") s.stop_work = true;
    if (p.action == "notice" && (!latest_notice || later(op(i), op(*latest_notice)))) latest_notice = i;
    if (p.action == "assign")
      s.assignees.push_back({p.department, p.assignee, op(i).id, office[i].scope, false});
    if (p.action == "handled") add_once(s.handled_by, office[i].holder);
    if (p.action == "fix") add_once(s.fixed_by, office[i].holder);
  }
  if (latest_notice) {
    const HazardPayload& n = h(*latest_notice);
    // Days count from the notice's own timestamp (deadlineMs says the same: crdt/OP_FORMAT.md).
    s.deadline_ms = n.deadline_days != 0 ? hlc_ms(op(*latest_notice).fields.hlc) + n.deadline_days * kDeadlineDayMs
                                         : n.deadline_ms;
    s.responsible = n.responsible;
    s.acceptor = n.acceptor;
    s.measures = n.measures;
  }
  // A department assignment is to the department of the hazard's category: once the hazard is
  // reclassified to a category no assigned department covers, it goes to the new category's.
  bool by_department = std::any_of(s.assignees.begin(), s.assignees.end(),
                                   [](const HazardAssignee& a) { return !a.department.empty(); });
  bool current = std::any_of(s.assignees.begin(), s.assignees.end(),
                             [&](const HazardAssignee& a) { return a.department == s.category; });
  if (by_department && !current && !s.category.empty()) {
    for (HazardAssignee& a : s.assignees)
      if (!a.department.empty()) a.superseded = true;
    s.assignees.push_back({s.category, std::nullopt, op(winner).id, office[winner].scope, false, false});
  }
  if (!s.assignees.empty()) {
    auto rank = [](const HazardAssignee& a) {
      return std::make_pair(a.office_scope.empty() ? 9 : static_cast<int>(scope_level(a.office_scope)), a.by);
    };
    std::min_element(s.assignees.begin(), s.assignees.end(),
                     [&](const HazardAssignee& a, const HazardAssignee& b) {
                       return std::make_pair(a.superseded, rank(a)) < std::make_pair(b.superseded, rank(b));
                     })
        ->primary = true;
  }
  // Sign-offs count when they were made over the hazard as it now stands (its current version:
  // the latest ops other than sign-offs).
  auto content = [&](std::size_t i) { return h(i).action != "signoff"; };
  // Sign-offs are counted by person (holder), and two count only when neither signer was appointed
  // to the office they signed with by the other (双签 needs two independent signers).
  std::vector<std::size_t> version = maximal(g, in, content);
  std::vector<const Office*> signers;
  for (std::size_t i : in) {
    if (h(i).action != "signoff") continue;
    std::vector<std::size_t> before;
    for (std::size_t j : in)
      if (g.before(j, i)) before.push_back(j);
    if (maximal(g, before, content) != version) continue;
    if (add_once(s.signed_by, office[i].holder)) signers.push_back(&office[i]);
  }
  std::vector<const Office*> independent;
  for (const Office* signer : signers)
    if (std::all_of(independent.begin(), independent.end(), [&](const Office* other) {
          return other->appointed_by != signer->holder && signer->appointed_by != other->holder;
        }))
      independent.push_back(signer);
  s.signoffs = static_cast<std::uint32_t>(independent.size());
  // Closed only by a closure that follows every escalation, rejection and new evidence.
  bool closed = std::any_of(in.begin(), in.end(), [&](std::size_t c) {
    return is_closure(h(c)) &&
           std::all_of(in.begin(), in.end(), [&](std::size_t e) { return !is_reopener(h(e)) || g.before(e, c); });
  });
  if (closed) {
    s.state = "archived";
  } else {
    auto frontier = maximal(g, in, [&](std::size_t i) { return is_workflow(h(i)); });
    s.state = "reported";
    int best = 1 << 20;
    for (std::size_t i : frontier) {
      std::string state = state_of_step(h(i));
      if (state_priority(state) < best) {
        best = state_priority(state);
        s.state = state;
      }
    }
    if (s.severity == "major" && s.level == ScopeLevel::kVillage && s.state == "reported" && s.signoffs < 2)
      s.state = "awaiting_signoff";
  }
  if (s.listed) s.flags.push_back("listed");
  if (s.stop_work) s.flags.push_back("stop_work");
  if (s.severity == "major" && s.level == ScopeLevel::kVillage && s.state != "archived" && s.signoffs < 2)
    s.flags.push_back("awaiting_signoff");
  if (!s.category_conflicts.empty()) s.flags.push_back("conflict");
  s.awaiting = awaiting_for(s);
  return s;
}

Verdict refused(std::string reason) {
  Verdict verdict;
  verdict.reason = std::move(reason);
  return verdict;
}

// The hazard rules for one step, given the hazard as it stood in the step's causal past.
Verdict judge_step(const HazardOp& step, const HazardState& prior, const AuthorityState& authority) {
  const Op& op = step.op;
  const HazardPayload& h = payload_of(op);
  auto need = [&](const char* capability, std::optional<ScopeLevel> level) {
    Action action{op.fields.author, op.fields.author_seq, capability, op.fields.scope, prior.category,
                  capability_class(capability), level, reach_of(op)};
    return authority.judge_action(action, step.auth_frontier);
  };
  const Constitution& constitution = authority.constitution();
  if (h.action == "report") {
    if (prior.exists) return refused("this hazard was already reported");
    if (constitution.category(h.category) == nullptr) return refused("the constitution has no category '" + h.category + "'");
    Action action{op.fields.author, op.fields.author_seq, "hazard.report", op.fields.scope, h.category,
                  ActionClass::kSafetyPositive, std::nullopt, reach_of(op)};
    return authority.judge_action(action, step.auth_frontier);
  }
  if (!prior.exists) return refused("no effective report of this hazard is in its causal past");
  if (op.fields.scope != prior.scope) return refused("a hazard's ops keep the scope of its report (" + prior.scope + ")");
  if (prior.state == "archived" && h.action != "comment")
    return refused("the hazard is archived (销号); only comments and new evidence may follow");
  const std::string level = level_id(prior.level);
  if (h.action == "fix") {
    if (prior.severity == "major")
      return refused("on-site fix (现场整改) is for general hazards only; a major hazard needs a rectification notice");
    if (h.photos.empty()) return refused("an on-site fix needs an after-photo (--photo)");
    return need("hazard.fix", prior.level);
  }
  if (h.action == "notice") {
    // A deadline set by a wrong clock (a Pi at 1970: "--days 15" once gave 1970-01-16) or a date
    // already past would make the hazard overdue at once on every node.
    std::uint64_t deadline =
        h.deadline_days != 0 ? hlc_ms(op.fields.hlc) + h.deadline_days * kDeadlineDayMs : h.deadline_ms;
    if (deadline <= hlc_ms(op.fields.hlc))
      return refused("the deadline " + hlc_display(hlc_from_ms(deadline), TimeShown::kDate) +
                     " is before the notice itself (" + hlc_display(op.fields.hlc, TimeShown::kDate) + ")");
    return need("hazard.notice", prior.level);
  }
  if (h.action == "escalate") {
    ScopeLevel target = level_of_text(h.to_level);
    if (static_cast<int>(target) != static_cast<int>(prior.level) - 1)
      return refused("the hazard is at the " + level + " level; it escalates to the " +
                     level_id(static_cast<ScopeLevel>(static_cast<int>(prior.level) - 1)) + " level");
    if (prior.severity == "major" && prior.level == ScopeLevel::kVillage && prior.signoffs < 2)
      return refused("a major hazard (重大隐患) leaves the village only with two sign-offs (双签) by two persons, neither "
                     "appointed by the other, over the same version; it has " + std::to_string(prior.signoffs));
    return need("hazard.escalate", prior.level);
  }
  if (h.action == "receive") {
    if (prior.state != "escalated") return refused("only a hazard escalated to this level and not yet received can be received (签收)");
    return need("hazard.receive", prior.level);
  }
  if (h.action == "assign") {
    if (prior.state != "received" && prior.state != "assigned" && prior.state != "rejected" && prior.state != "handled")
      return refused("a hazard is assigned (交办) after its level has received it (签收)");
    if (!h.department.empty() && constitution.category(h.department) == nullptr)
      return refused("no department owns category '" + h.department + "'");
    return need("hazard.assign", prior.level);
  }
  if (h.action == "handled") {
    static const std::set<std::string> kOpen = {"noticed", "received", "assigned", "rejected", "handled"};
    if (kOpen.count(prior.state) == 0) return refused("a hazard is marked handled (已办理) once it has a notice or an assignee");
    bool assigned_to_author = std::any_of(prior.assignees.begin(), prior.assignees.end(), [&](const HazardAssignee& a) {
      return a.key && *a.key == op.fields.author;
    });
    return need("hazard.handle", assigned_to_author ? std::nullopt : std::optional<ScopeLevel>(prior.level));
  }
  if (h.action == "verify") {
    if (prior.state != "handled" && prior.state != "fixed_on_site")
      return refused("re-inspection (复查) comes after the hazard is handled or fixed on site; it is " + prior.state);
    // Separation of duties: whoever handled the hazard does not re-inspect it. An on-site fix by
    // the reporter stays self-archivable (seed 000); a fix by anyone else is re-inspected by
    // someone else.
    PublicKey me = authority.holder_of(op.fields.author);
    bool fixed_by_reporter = me == authority.holder_of(prior.reporter);
    if (std::find(prior.handled_by.begin(), prior.handled_by.end(), me) != prior.handled_by.end() ||
        (!fixed_by_reporter && std::find(prior.fixed_by.begin(), prior.fixed_by.end(), me) != prior.fixed_by.end()))
      return refused("re-inspection (复查) is by someone other than who handled the hazard: the reporter, the acceptor "
                     "or an office at the level reached");
    bool inspector = op.fields.author == prior.reporter || (prior.acceptor && *prior.acceptor == op.fields.author);
    return need("hazard.verify", inspector ? std::nullopt : std::optional<ScopeLevel>(prior.level));
  }
  if (h.action == "reclassify") {
    if (!h.category.empty() && constitution.category(h.category) == nullptr)
      return refused("the constitution has no category '" + h.category + "'");
    return need("hazard.reclassify", prior.level);
  }
  if (h.action == "comment") return need("hazard.comment", std::nullopt);
  if (h.action == "signoff") {
    if (prior.severity != "major") return refused("only a major hazard (重大隐患) needs sign-offs");
    PublicKey me = authority.holder_of(op.fields.author);
    if (std::find(prior.signed_by.begin(), prior.signed_by.end(), me) != prior.signed_by.end())
      return refused("this person already signed off this version of the hazard (双签 needs a second person)");
    return need("hazard.signoff", prior.level);
  }
  if (h.action == "list_supervision") return need("hazard.list_supervision", ScopeLevel::kTownship);
  if (h.action == "stop_work") return need("hazard.stop_work", prior.level);
  if (h.action == "close") return need("hazard.close", prior.level);
  return refused("unknown hazard action '" + h.action + "'");
}

}  // namespace

const char* level_id(ScopeLevel level) {
  switch (level) {
    case ScopeLevel::kCounty: return "county";
    case ScopeLevel::kTownship: return "township";
    default: return "village";
  }
}

const char* hazard_state_zh(const std::string& state) {
  static const std::map<std::string, const char*> kNames = {
      {"reported", "已上报"},   {"awaiting_signoff", "待双签"}, {"fixed_on_site", "现场整改"}, {"noticed", "限期整改"},
      {"escalated", "已上报上级"}, {"received", "已签收"},    {"assigned", "已交办"},       {"handled", "已办理"},
      {"rejected", "已驳回"},   {"archived", "办结归档"},     {"none", "无"}};
  auto at = kNames.find(state);
  return at == kNames.end() ? "" : at->second;
}

HazardState evaluate_hazard(const std::vector<HazardOp>& ops, const AuthorityState& authority, std::uint64_t now_hlc) {
  return evaluate_hazard_timeless(ops, authority).at_time(now_hlc);
}

HazardState TimelessHazard::at_time(std::uint64_t now_hlc) const {
  HazardState s = state;
  std::uint64_t now_ms = hlc_ms(now_hlc);
  if (s.deadline_ms != 0 && s.state != "archived" && s.state != "handled" && now_ms > s.deadline_ms) {
    // In the flags' order: listed, stop_work, overdue, awaiting_signoff, conflict.
    auto at = s.flags.begin();
    while (at != s.flags.end() && (*at == "listed" || *at == "stop_work")) ++at;
    s.flags.insert(at, "overdue");
  }
  if (!current.empty() && now_ms > since_ms) s.time_in_state_ms[current] += now_ms - since_ms;
  return s;
}

Verdict judge_next_step(const TimelessHazard& before, const HazardOp& next, const AuthorityState& authority) {
  // judge_step reads only what derive() makes; before.state is derive() over all of before's
  // effective ops (the history and the time in each state, added after, are not read).
  return judge_step(next, before.state, authority);
}

namespace {

// One judging pass over every step: each in its causal past, with the steps in `voided` inert
// for the reason given.
struct Judged {
  std::vector<bool> effective;
  std::vector<Office> office;
  std::vector<HazardStep> history;
  // The state each set of effective ops derives, for the time-in-state replay: in a history
  // without concurrency the ops before a step are a prefix of the effective ops, which the replay
  // derives again.
  std::map<std::vector<std::size_t>, std::string> derived;
};

Judged judge_all(const Graph& g, const std::vector<HazardOp>& ops, const AuthorityState& authority,
                 const std::map<std::size_t, std::string>& voided) {
  Judged j;
  j.effective.assign(ops.size(), false);
  j.office.assign(ops.size(), Office{});
  for (std::size_t i = 0; i < ops.size(); ++i) {
    // An op of another kind on the object (a note, a record step) is no step of the hazard: it
    // only links the steps before it to those after it (its author had seen them), whatever its
    // own verdict. So a note never cuts a hazard's chain and never changes its state.
    if (!std::holds_alternative<HazardPayload>(ops[i].op.fields.payload)) continue;
    std::vector<std::size_t> prior_ops;
    for (std::size_t k = 0; k < i; ++k)
      if (j.effective[k] && g.before(k, i)) prior_ops.push_back(k);
    HazardState prior = derive(g, prior_ops, j.office);
    j.derived.emplace(std::move(prior_ops), prior.state);
    Verdict verdict = judge_step(ops[i], prior, authority);
    // One hazard, one report. Reports on one object that do not see each other come only from a
    // key that signed twice with one number under the object ids of earlier releases (a node
    // restored from an old copy): the earliest stands, the others are inert, so the hazard never
    // shows one report's text with another's category.
    if (verdict.effective && payload_of(ops[i].op).action == "report")
      for (std::size_t k = 0; k < i; ++k)
        if (j.effective[k] && payload_of(ops[k].op).action == "report") {
          verdict = refused("another report (" + ops[k].op.id.short_hex() +
                            ") created this hazard first; one key signed two reports under one object id");
          break;
        }
    if (auto void_reason = voided.find(i); verdict.effective && void_reason != voided.end())
      verdict = refused(void_reason->second);
    j.effective[i] = verdict.effective;
    const Op& op = ops[i].op;
    j.office[i] = authority.office_of(verdict, op.fields.author);
    j.history.push_back({op.id, payload_of(op).action, op.fields.author, op.fields.hlc, std::move(verdict), std::nullopt});
  }
  return j;
}

std::vector<std::size_t> effective_ops(const Judged& j) {
  std::vector<std::size_t> all;
  for (std::size_t i = 0; i < j.effective.size(); ++i)
    if (j.effective[i]) all.push_back(i);
  return all;
}

// The safety bias covers categories: a department's closing step (handled, verify --pass) is void
// when the hazard's category, as merged, is one the department does not cover and the write that
// set it is not after the step (concurrent with it, or before it in a history the step did not
// see whole). The hazard then goes to the new category's department (derive()).
std::map<std::size_t, std::string> void_out_of_category(const Graph& g, const Judged& j) {
  std::map<std::size_t, std::string> out;
  std::vector<std::size_t> in = effective_ops(j);
  auto h = [&g](std::size_t i) -> const HazardPayload& { return payload_of(g.ops[i].op); };
  auto writes = maximal(g, in, [&](std::size_t i) {
    return (h(i).action == "report" || h(i).action == "reclassify") && !h(i).category.empty();
  });
  if (writes.empty()) return out;
  std::size_t winner = writes.front();
  for (std::size_t i : writes)
    if (later(g.ops[i].op, g.ops[winner].op)) winner = i;
  const std::string& category = h(winner).category;
  for (std::size_t i : in) {
    bool closing = h(i).action == "handled" || (h(i).action == "verify" && h(i).pass);
    const auto& covered = j.office[i].categories;
    if (!closing || !covered || std::find(covered->begin(), covered->end(), category) != covered->end()) continue;
    if (g.before(i, winner)) continue;  // reclassified after the step, having seen it: the step stands
    out[i] = "void: the hazard was reclassified to '" + category + "' (op " + g.ops[winner].op.id.short_hex() +
             ") without having seen this step, and the department's categories do not cover it";
  }
  return out;
}

}  // namespace

TimelessHazard evaluate_hazard_timeless(const std::vector<HazardOp>& ops, const AuthorityState& authority) {
  Graph g = build_graph(ops);
  // Voiding a step changes what the steps after it were judged against, so the steps are judged
  // again with the voided ones inert until nothing more is voided. The voided set only grows, so
  // this ends within one round per step; every round is a function of the set of ops.
  std::map<std::size_t, std::string> voided;
  Judged j = judge_all(g, ops, authority, voided);
  for (std::size_t round = 0; round <= ops.size(); ++round) {
    std::size_t before = voided.size();
    for (auto& [i, reason] : void_out_of_category(g, j)) voided.emplace(i, std::move(reason));
    if (voided.size() == before) break;
    j = judge_all(g, ops, authority, voided);
  }
  std::vector<std::size_t> all = effective_ops(j);
  HazardState state = derive(g, all, j.office);
  // A closure that a concurrent escalation, rejection or new evidence kept from closing says so.
  std::size_t step = 0;
  for (std::size_t i = 0; i < ops.size(); ++i) {
    if (!std::holds_alternative<HazardPayload>(ops[i].op.fields.payload)) continue;
    HazardStep& entry = j.history[step++];
    if (!j.effective[i] || !is_closure(payload_of(ops[i].op))) continue;
    for (std::size_t e : all)
      if (is_reopener(payload_of(ops[e].op)) && !g.before(e, i)) {
        entry.overridden_by = ops[e].op.id;
        break;
      }
  }
  // Time in each state: replay the effective ops in (time, id) order.
  std::string current;
  std::uint64_t since_ms = 0;
  for (std::size_t k = 1; k <= all.size(); ++k) {
    std::vector<std::size_t> prefix(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(k));
    auto known = j.derived.find(prefix);
    std::string now_state = known != j.derived.end() ? known->second : derive(g, prefix, j.office).state;
    std::uint64_t at_ms = hlc_ms(ops[all[k - 1]].op.fields.hlc);
    if (now_state == current) continue;
    if (!current.empty() && at_ms > since_ms) state.time_in_state_ms[current] += at_ms - since_ms;
    current = now_state;
    since_ms = at_ms;
  }
  state.history = std::move(j.history);
  return TimelessHazard{std::move(state), std::move(current), since_ms};
}

}  // namespace anwang
