#include "crdt/authority.h"

#include <algorithm>
#include <cassert>
#include <functional>
#include <limits>
#include <map>
#include <unordered_set>

#include "crdt/hash.h"
#include "crdt/limits.h"
#include "crdt/text.h"

namespace anwang {

namespace {

constexpr std::uint32_t kRootRank = std::numeric_limits<std::uint32_t>::max();

bool contains_text(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

std::string key_name(const PublicKey& key) { return key.short_hex(); }

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

Verdict refused(std::string reason) {
  Verdict verdict;
  verdict.reason = std::move(reason);
  return verdict;
}

const DelegationPayload& delegation_of(const Op& op) { return std::get<DelegationPayload>(op.fields.payload); }

}  // namespace

// ---- AuthoritySet ----

void AuthoritySet::add(std::size_t i) {
  if (i / 64 >= words_.size()) words_.resize(i / 64 + 1, 0);
  words_[i / 64] |= 1ull << (i % 64);
}

void AuthoritySet::merge(const AuthoritySet& other) {
  if (other.words_.size() > words_.size()) words_.resize(other.words_.size(), 0);
  for (std::size_t i = 0; i < other.words_.size(); ++i) words_[i] |= other.words_[i];
}

// ---- AuthorityGraph ----

void AuthorityGraph::add(Op op, const std::vector<Hash32>& auth_parents, std::optional<HeldFrontier> held_frontier) {
  assert(is_authority_payload(op.fields.payload));
  assert(!contains(op.id));
  assert((!held_frontier || std::holds_alternative<RevocationPayload>(op.fields.payload)) &&
         "only a revocation names a frontier op");
  std::size_t index = ops_.size();
  std::vector<Hash32> record_parents;
  for (const Hash32& parent : op.fields.parents)
    if (!contains(parent)) record_parents.push_back(parent);
  if (!record_parents.empty()) with_record_parents_.push_back(index);
  AuthoritySet past(index + 1);
  past.add(index);
  for (const Hash32& parent : auth_parents) {
    auto at = index_.find(parent);
    assert(at != index_.end() && "authority parents are added first");
    past.merge(past_[at->second]);
    has_child_[at->second] = true;
  }
  index_[op.id] = index;
  if (std::holds_alternative<GenesisPayload>(op.fields.payload) && !genesis_) genesis_ = index;
  if (const auto* d = std::get_if<DelegationPayload>(&op.fields.payload)) offices_by_key_[d->grantee].push_back(index);
  if (const auto* e = std::get_if<EnrolmentPayload>(&op.fields.payload)) offices_by_key_[e->node_key].push_back(index);
  if (std::holds_alternative<AmendmentPayload>(op.fields.payload)) amendments_.push_back(index);
  ops_.push_back(std::make_shared<const Op>(std::move(op)));
  parents_.push_back(auth_parents);
  record_parents_.push_back(std::move(record_parents));
  held_frontiers_.push_back(std::move(held_frontier));
  past_.push_back(std::move(past));
  has_child_.push_back(false);
  names_.push_back(naming(*ops_.back(), index));
}

const Constitution* AuthorityGraph::constitution_before(std::size_t index) const {
  if (!genesis_) return nullptr;
  const auto& genesis = std::get<GenesisPayload>(ops_[*genesis_]->fields.payload);
  const Constitution* out = &genesis.constitution;
  std::uint32_t number = 0;
  auto is_root = [&](const PublicKey& key) {
    return std::binary_search(genesis.root_keys.begin(), genesis.root_keys.end(), key);
  };
  for (std::size_t a : amendments_) {
    if (a == index || !precedes_or_equal(a, index)) continue;
    const Op& op = *ops_[a];
    const auto& amendment = std::get<AmendmentPayload>(op.fields.payload);
    std::size_t signers = is_root(op.fields.author) ? 1 : 0;
    for (const Cosignature& cosignature : amendment.cosignatures)
      if (is_root(cosignature.key) && cosignature.key != op.fields.author) ++signers;
    if (signers >= genesis.threshold && amendment.number > number) {
      number = amendment.number;
      out = &amendment.constitution;
    }
  }
  return out;
}

bool AuthorityGraph::naming(const Op& op, std::size_t index) const {
  if (!std::holds_alternative<DelegationPayload>(op.fields.payload) || !genesis_) return false;
  const auto& roots = std::get<GenesisPayload>(ops_[*genesis_]->fields.payload).root_keys;
  if (std::binary_search(roots.begin(), roots.end(), op.fields.author)) return true;
  auto at = offices_by_key_.find(op.fields.author);
  if (at == offices_by_key_.end()) return false;
  const Constitution* constitution = constitution_before(index);
  for (std::size_t office : at->second) {
    if (office == index || !names_[office] || !precedes_or_equal(office, index)) continue;
    const RoleDef* role =
        constitution != nullptr ? constitution->role(std::get<DelegationPayload>(ops_[office]->fields.payload).role) : nullptr;
    if (role != nullptr && role->has_capability(capability::kDelegate)) return true;
  }
  return false;
}

void AuthorityGraph::truncate(std::size_t count) {
  assert(count <= ops_.size());
  for (std::size_t i = count; i < ops_.size(); ++i) {
    index_.erase(ops_[i]->id);
    const Payload& payload = ops_[i]->fields.payload;
    const PublicKey* key = nullptr;
    if (const auto* d = std::get_if<DelegationPayload>(&payload)) key = &d->grantee;
    if (const auto* e = std::get_if<EnrolmentPayload>(&payload)) key = &e->node_key;
    if (key == nullptr) continue;
    auto& list = offices_by_key_[*key];
    while (!list.empty() && list.back() >= count) list.pop_back();
    if (list.empty()) offices_by_key_.erase(*key);
  }
  ops_.resize(count);
  parents_.resize(count);
  record_parents_.resize(count);
  held_frontiers_.resize(count);
  while (!with_record_parents_.empty() && with_record_parents_.back() >= count) with_record_parents_.pop_back();
  past_.resize(count);
  names_.resize(count);
  while (!amendments_.empty() && amendments_.back() >= count) amendments_.pop_back();
  has_child_.assign(count, false);
  for (const std::vector<Hash32>& parents : parents_)
    for (const Hash32& parent : parents) has_child_[index_.at(parent)] = true;
  if (genesis_ && *genesis_ >= count) genesis_.reset();
}

bool AuthorityGraph::names_in_view(const PublicKey& key, const std::vector<Hash32>& frontier) const {
  if (genesis_) {
    const auto& roots = std::get<GenesisPayload>(ops_[*genesis_]->fields.payload).root_keys;
    if (std::binary_search(roots.begin(), roots.end(), key)) return true;
  }
  auto at = offices_by_key_.find(key);
  if (at == offices_by_key_.end()) return false;
  for (const Hash32& id : frontier) {
    auto f = index_of(id);
    if (!f) continue;
    for (std::size_t office : at->second)
      if ((names_[office] || std::holds_alternative<EnrolmentPayload>(ops_[office]->fields.payload)) &&
          precedes_or_equal(office, *f))
        return true;
  }
  return false;
}

std::vector<Hash32> AuthorityGraph::record_parents_in(const AuthoritySet& view) const {
  std::vector<Hash32> out;
  for (std::size_t i : with_record_parents_)
    if (view.has(i)) out.insert(out.end(), record_parents_[i].begin(), record_parents_[i].end());
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

PastSearch find_in_past(std::vector<Hash32> starts, const Hash32& target, std::uint64_t target_hlc,
                        const std::function<std::optional<PastStep>(const Hash32&)>& step, std::size_t reads_max) {
  std::sort(starts.begin(), starts.end());
  starts.erase(std::unique(starts.begin(), starts.end()), starts.end());
  if (std::binary_search(starts.begin(), starts.end(), target)) return PastSearch::kFound;
  // Ops read and later than the target, to walk back through, latest last, with their parents.
  std::map<std::pair<std::uint64_t, Hash32>, std::vector<Hash32>> waiting;
  std::unordered_set<Hash32> read;
  // Reads `ids` (those not read yet) in id order; false once `reads_max` ops have been read.
  auto read_all = [&](const std::vector<Hash32>& ids) {
    for (const Hash32& id : ids) {
      if (read.count(id) != 0) continue;
      if (read.size() >= reads_max) return false;
      read.insert(id);
      if (auto op = step(id); op && op->hlc > target_hlc) waiting.emplace(std::make_pair(op->hlc, id), std::move(op->parents));
    }
    return true;
  };
  if (!read_all(starts)) return PastSearch::kTooDeep;
  while (!waiting.empty()) {
    auto latest = std::prev(waiting.end());
    std::vector<Hash32> parents = std::move(latest->second);
    waiting.erase(latest);
    std::sort(parents.begin(), parents.end());
    if (std::binary_search(parents.begin(), parents.end(), target)) return PastSearch::kFound;
    if (!read_all(parents)) return PastSearch::kTooDeep;
  }
  return PastSearch::kAbsent;
}

std::optional<std::size_t> AuthorityGraph::index_of(const Hash32& id) const {
  auto at = index_.find(id);
  if (at == index_.end()) return std::nullopt;
  return at->second;
}

std::vector<Hash32> AuthorityGraph::maximal(const std::vector<Hash32>& candidates) const {
  std::vector<std::size_t> known;
  for (const Hash32& id : candidates)
    if (auto i = index_of(id)) known.push_back(*i);
  std::sort(known.begin(), known.end());
  known.erase(std::unique(known.begin(), known.end()), known.end());
  std::vector<Hash32> out;
  for (std::size_t a : known) {
    bool dominated = std::any_of(known.begin(), known.end(),
                                 [&](std::size_t b) { return a != b && precedes_or_equal(a, b); });
    if (!dominated) out.push_back(ops_[a]->id);
  }
  std::sort(out.begin(), out.end());
  return out;
}

AuthoritySet AuthorityGraph::closure(const std::vector<Hash32>& frontier) const {
  AuthoritySet out(ops_.size());
  for (const Hash32& id : frontier)
    if (auto i = index_of(id)) out.merge(past_[*i]);
  return out;
}

std::vector<Hash32> AuthorityGraph::heads() const {
  std::vector<Hash32> out;
  for (std::size_t i = 0; i < ops_.size(); ++i)
    if (!has_child_[i]) out.push_back(ops_[i]->id);
  std::sort(out.begin(), out.end());
  return out;
}

// ---- AuthorityState ----

AuthorityState::AuthorityState(std::shared_ptr<const AuthorityGraph> graph,
                               std::vector<Equivocation> equivocations)
    : graph_(std::move(graph)), equivocations_(std::move(equivocations)) {
  normalize_equivocations(equivocations_);
  compute();
}

void normalize_equivocations(std::vector<Equivocation>& equivocations) {
  std::sort(equivocations.begin(), equivocations.end(), [](const Equivocation& a, const Equivocation& b) {
    return std::tie(a.key, a.seq) < std::tie(b.key, b.seq);
  });
  equivocations.erase(std::unique(equivocations.begin(), equivocations.end()), equivocations.end());
}

bool revocation_reaches_forward(const RevocationPayload& revocation) {
  return revocation.frontier_seq > 0 || revocation.reason == "compromised";
}

ActionClass capability_class(const std::string& capability) {
  static const char* const kSafetyPositive[] = {capability::kNote, "hazard.report", "hazard.escalate",
                                                "hazard.comment",    "incident.report", "tip.enter"};
  for (const char* safe : kSafetyPositive)
    if (capability == safe) return ActionClass::kSafetyPositive;
  return ActionClass::kPrivileged;
}

std::optional<Action> action_of(const Op& op) {
  std::optional<Action> action = action_of_fields(op);
  if (action) action->reach = reach_of(op);
  return action;
}

std::optional<Action> action_of_fields(const Op& op) {
  const OpFields& f = op.fields;
  if (std::holds_alternative<NotePayload>(f.payload))
    return Action{f.author, f.author_seq, capability::kNote, f.scope, "", ActionClass::kSafetyPositive, std::nullopt};
  if (const auto* region = std::get_if<RegionPayload>(&f.payload))
    return Action{f.author, f.author_seq, capability::kRegionDefine, region->code, "", ActionClass::kPrivileged, std::nullopt};
  if (std::holds_alternative<EnrolmentPayload>(f.payload))
    return Action{f.author, f.author_seq, capability::kNodeEnroll, f.scope, "", ActionClass::kPrivileged, std::nullopt};
  return std::nullopt;
}

void AuthorityState::index(std::size_t from) {
  const AuthorityGraph& g = *graph_;
  auto by_id = [&g](std::size_t a, std::size_t b) { return g.op(a).id < g.op(b).id; };
  auto insert = [&](std::vector<std::size_t>& list, std::size_t i) {
    list.insert(std::upper_bound(list.begin(), list.end(), i, by_id), i);
  };
  for (std::size_t i = from; i < g.size(); ++i) {
    everything_.add(i);
    const Payload& payload = g.op(i).fields.payload;
    if (const auto* d = std::get_if<DelegationPayload>(&payload)) insert(grants_by_grantee_[d->grantee], i);
    if (const auto* e = std::get_if<EnrolmentPayload>(&payload)) insert(enrolments_by_node_[e->node_key], i);
    if (const auto* r = std::get_if<RevocationPayload>(&payload)) insert(revocations_by_key_[r->key], i);
    if (const auto* r = std::get_if<ReaffirmationPayload>(&payload)) insert(revocations_by_key_[r->key], i);
    if (std::holds_alternative<AmendmentPayload>(payload)) insert(amendments_, i);
  }
}

bool AuthorityState::extendable_by(const AuthorityGraph& graph,
                                   const std::vector<Equivocation>& equivocations) const {
  const AuthorityGraph& g = *graph_;
  if (!fixed_ || graph.size() < g.size() || equivocations != equivocations_) return false;
  for (std::size_t i = 0; i < g.size(); ++i)
    if (graph.op(i).id != g.op(i).id) return false;
  for (std::size_t i = g.size(); i < graph.size(); ++i)
    if (std::holds_alternative<RevocationPayload>(graph.op(i).fields.payload)) return false;
  return true;
}

bool AuthorityState::extension_keeps_judgments(
    const AuthorityGraph& graph, std::vector<Equivocation> equivocations) const {
  normalize_equivocations(equivocations);
  if (!extendable_by(graph, equivocations)) return false;
  for (std::size_t i = graph_->size(); i < graph.size(); ++i) {
    const Payload& payload = graph.op(i).fields.payload;
    if (std::holds_alternative<GenesisPayload>(payload) || std::holds_alternative<AmendmentPayload>(payload) ||
        std::holds_alternative<ReaffirmationPayload>(payload))
      return false;
  }
  return true;
}

std::shared_ptr<const AuthorityState> AuthorityState::extend(
    std::shared_ptr<const AuthorityState> previous, std::shared_ptr<const AuthorityGraph> graph,
    std::vector<Equivocation> equivocations) {
  normalize_equivocations(equivocations);
  // Every state is made by make_shared<AuthorityState> (never a const object), so the sole
  // reference may shed its const to be extended in place.
  if (!previous || !previous->extendable_by(*graph, equivocations))
    return std::make_shared<AuthorityState>(std::move(graph), std::move(equivocations));
  std::size_t from = previous->graph_->size();
  std::shared_ptr<AuthorityState> state = previous.use_count() == 1
                                              ? std::const_pointer_cast<AuthorityState>(std::move(previous))
                                              : std::make_shared<AuthorityState>(*previous);
  state->graph_ = std::move(graph);
  state->extended_ = true;
  const AuthorityGraph& g = *state->graph_;
  state->index(from);
  // As the last round of compute() would judge them: in order, each in its own view, with the
  // last round's revocations for the forward rule (none of the new ops is a revocation).
  state->verdicts_.resize(g.size());
  state->revokers_.resize(g.size());
  state->revokers_prev_.resize(g.size());
  for (std::size_t i = from; i < g.size(); ++i) {
    AuthoritySet view = g.closure(g.auth_parents(i));
    if (g.genesis()) view.add(*g.genesis());
    state->verdicts_[i] = state->judge_in_view(g.op(i), view, i);
  }
  return state;
}

void AuthorityState::compute() {
  const AuthorityGraph& g = *graph_;
  std::size_t n = g.size();
  everything_ = AuthoritySet(n);
  index(0);

  // Revocations reach forward (they void later privileged ops of their key, concurrent or not),
  // so verdicts are computed in rounds. Round k judges every op from its own view, using the
  // revocations found effective in round k-1 for the forward rule. When a round's inputs equal
  // the last round's, its output would too: that is the fixed point. Every round is a pure
  // function of the set of ops, so the result does not depend on arrival order.
  revokers_prev_.assign(n, RevokerInfo{});
  effective_revocations_.clear();
  for (rounds_ = 1; rounds_ <= static_cast<int>(limits::authority_rounds_max); ++rounds_) {
    verdicts_.assign(n, Verdict{});
    revokers_.assign(n, RevokerInfo{});
    for (std::size_t i = 0; i < n; ++i) {
      const Op& op = g.op(i);
      AuthoritySet view = g.closure(g.auth_parents(i));
      if (g.genesis()) view.add(*g.genesis());
      verdicts_[i] = judge_in_view(op, view, i);
      if (verdicts_[i].effective && std::holds_alternative<RevocationPayload>(op.fields.payload))
        revokers_[i] = RevokerInfo{revoke_authorities(op.fields.author, view, op.fields.author_seq), constitution_in(view)};
    }
    std::vector<std::size_t> effective;
    for (std::size_t i = 0; i < n; ++i)
      if (verdicts_[i].effective && std::holds_alternative<RevocationPayload>(g.op(i).fields.payload))
        effective.push_back(i);
    bool fixed = effective == effective_revocations_ && revokers_ == revokers_prev_;
    effective_revocations_ = std::move(effective);
    revokers_prev_ = revokers_;
    if (fixed) {
      fixed_ = true;
      break;
    }
  }
}

const GenesisPayload* AuthorityState::genesis() const {
  if (!graph_->genesis()) return nullptr;
  return &std::get<GenesisPayload>(graph_->op(*graph_->genesis()).fields.payload);
}

const Constitution* AuthorityState::constitution_in(const AuthoritySet& view) const {
  const GenesisPayload* g = genesis();
  if (g == nullptr) return nullptr;
  const Constitution* current = &g->constitution;
  std::uint32_t number = 0;
  for (std::size_t i : amendments_) {
    if (!view.has(i) || !verdicts_[i].effective) continue;
    const auto& amendment = std::get<AmendmentPayload>(graph_->op(i).fields.payload);
    if (amendment.number > number) {
      number = amendment.number;
      current = &amendment.constitution;
    }
  }
  return current;
}

const Constitution& AuthorityState::constitution() const {
  static const Constitution kEmpty;
  const Constitution* c = constitution_in(everything_);
  return c != nullptr ? *c : kEmpty;
}

std::optional<std::string> AuthorityState::suspension(const PublicKey& key, std::uint64_t seq,
                                                      const AuthoritySet& view, const Reach& judged) const {
  for (const Equivocation& e : equivocations_) {
    const std::uint64_t equivocated_seq = e.seq;
    if (e.key != key || equivocated_seq > seq) continue;
    // Counted only where every node that may hold the judged op may hold two of the twins: then
    // every node holding it knows the proof, and all judge it alike. (Twins of which one lies in
    // another village prove the equivocation only where both go.)
    if (!e.twins.empty() && std::count_if(e.twins.begin(), e.twins.end(),
                                          [&](const Reach& twin) { return reach_covers(twin, judged); }) < 2)
      continue;
    bool reaffirmed = false;
    if (auto at = revocations_by_key_.find(key); at != revocations_by_key_.end())
      for (std::size_t r : at->second) {
        const auto* reaffirmation = std::get_if<ReaffirmationPayload>(&graph_->op(r).fields.payload);
        if (reaffirmation != nullptr && view.has(r) && verdicts_[r].effective && reaffirmation->seq >= equivocated_seq)
          reaffirmed = true;
      }
    if (!reaffirmed)
      return "key " + key_name(key) + " equivocated (two ops numbered " + std::to_string(equivocated_seq) +
             "), so its privileged actions are suspended until an office above reaffirms it";
  }
  return std::nullopt;
}

bool AuthorityState::may_revoke(std::size_t revocation, std::size_t grant,
                                const std::vector<RevokerInfo>& revokers) const {
  const Op& r = graph_->op(revocation);
  const Op& g = graph_->op(grant);
  const auto& payload = std::get<RevocationPayload>(r.fields.payload);
  const DelegationPayload& d = delegation_of(g);
  if (d.grantee != payload.key || !scope_contains(r.fields.scope, g.fields.scope)) return false;
  if (graph_->precedes_or_equal(revocation, grant)) return false;  // the grant came after: it stands
  const auto& authorities = revokers[revocation].authorities;
  if (authorities.empty()) return false;
  if (g.fields.author == r.fields.author) return true;  // the grantor
  const Constitution* c = revokers[revocation].constitution;
  const RoleDef* role = c != nullptr ? c->role(d.role) : nullptr;
  std::uint32_t granted_rank = role != nullptr ? role->rank : 0;
  return std::any_of(authorities.begin(), authorities.end(), [&](const auto& authority) {
    return scope_contains(authority.first, g.fields.scope) &&
           (authority.first != g.fields.scope || authority.second > granted_rank);
  });
}

bool AuthorityState::revoked_in_view(std::size_t grant, const AuthoritySet& view) const {
  const DelegationPayload& d = delegation_of(graph_->op(grant));
  auto at = revocations_by_key_.find(d.grantee);
  if (at == revocations_by_key_.end()) return false;
  return std::any_of(at->second.begin(), at->second.end(), [&](std::size_t r) {
    return view.has(r) && verdicts_[r].effective &&
           std::holds_alternative<RevocationPayload>(graph_->op(r).fields.payload) && may_revoke(r, grant, revokers_);
  });
}

std::optional<std::size_t> AuthorityState::revoked_after_frontier(std::size_t grant, const Action& action) const {
  auto at = revocations_by_key_.find(action.author);
  if (at == revocations_by_key_.end()) return std::nullopt;
  for (std::size_t r : at->second) {
    if (!std::binary_search(effective_revocations_.begin(), effective_revocations_.end(), r)) continue;
    const auto& payload = std::get<RevocationPayload>(graph_->op(r).fields.payload);
    if (!revocation_reaches_forward(payload)) continue;
    if (action.author_seq > payload.frontier_seq && may_revoke(r, grant, revokers_prev_)) return r;
  }
  return std::nullopt;
}

std::vector<std::pair<std::string, std::uint32_t>> AuthorityState::revoke_authorities(const PublicKey& key,
                                                                                      const AuthoritySet& view,
                                                                                      std::uint64_t seq,
                                                                                      bool despite_revocations) const {
  std::vector<std::pair<std::string, std::uint32_t>> out;
  const GenesisPayload* g = genesis();
  const Constitution* c = constitution_in(view);
  if (g == nullptr || c == nullptr) return out;
  if (std::binary_search(g->root_keys.begin(), g->root_keys.end(), key)) out.emplace_back(g->county_code, kRootRank);
  auto at = grants_by_grantee_.find(key);
  if (at == grants_by_grantee_.end()) return out;
  Action action{key, seq, capability::kRevoke, "", "", ActionClass::kPrivileged, std::nullopt};
  for (std::size_t grant : at->second) {
    if (!view.has(grant) || !verdicts_[grant].effective) continue;
    const RoleDef* role = c->role(delegation_of(graph_->op(grant)).role);
    if (role == nullptr || !role->has_capability(capability::kRevoke)) continue;
    if (!despite_revocations && (revoked_in_view(grant, view) || revoked_after_frontier(grant, action))) continue;
    out.emplace_back(graph_->op(grant).fields.scope, role->rank);
  }
  return out;
}

// Finds a usable grant of `action.author` in `view` that `fits`, where `fits` returns nullopt for
// a fitting role or the reason it does not fit. Root keys hold the root role at the county.
namespace {
using Fits = std::function<std::optional<std::string>(const RoleDef&, const std::string& scope,
                                                     const std::vector<std::string>& categories)>;
}

Verdict AuthorityState::require(const Action& action, const AuthoritySet& view, std::optional<std::size_t>) const {
  Fits fits = [&action](const RoleDef& role, const std::string& scope,
                        const std::vector<std::string>& categories) -> std::optional<std::string> {
    if (!role.has_capability(action.capability))
      return "role '" + role.id + "' does not allow '" + action.capability + "'";
    if (!scope_contains(scope, action.scope))
      return "its role '" + role.id + "' is held at " + scope + ", which does not contain " + action.scope;
    if (role.category_bound && !action.category.empty() && !contains_text(categories, action.category))
      return "its role '" + role.id + "' covers categories " + join(categories) + ", not '" + action.category + "'";
    // A grid is part of its village's level: the village level is the lowest a hazard sits at.
    if (action.level_reached &&
        std::min(static_cast<int>(scope_level(scope)), static_cast<int>(ScopeLevel::kVillage)) >
            static_cast<int>(*action.level_reached))
      return "its role '" + role.id + "' is held at " + scope + ", but this has reached the " +
             scope_level_name(*action.level_reached) + " level";
    return std::nullopt;
  };
  const Constitution* c = constitution_in(view);
  if (c == nullptr) return refused("its causal past holds no genesis of this network");
  Verdict found;
  std::optional<std::string> suspended =
      suspension(action.author, action.author_seq, view,
                 action.reach ? *action.reach : Reach{action.scope, false, false, {}, {}});
  if (suspended && action.action_class == ActionClass::kPrivileged) return refused(*suspended);
  if (suspended) found.flags.push_back("equivocated_author");
  const GenesisPayload* g = genesis();
  if (std::binary_search(g->root_keys.begin(), g->root_keys.end(), action.author)) {
    const RoleDef* root = c->role(kRootRole);
    if (root != nullptr && !fits(*root, g->county_code, {})) {
      found.effective = true;
      found.chain = {graph_->op(*graph_->genesis()).id};
      return found;
    }
  }
  std::optional<std::string> why;  // why the grants did not serve; built only when one fails
  int why_rank = 0;                // 1 a role that does not fit, 2 a grant revoked in view, 3 void by the forward rule
  std::optional<Verdict> flagged;
  if (auto at = grants_by_grantee_.find(action.author); at != grants_by_grantee_.end()) {
    for (std::size_t grant : at->second) {
      if (!view.has(grant) || !verdicts_[grant].effective) continue;
      const Op& op = graph_->op(grant);
      const DelegationPayload& d = delegation_of(op);
      const RoleDef* role = c->role(d.role);
      if (role == nullptr) continue;
      if (auto reason = fits(*role, op.fields.scope, d.categories)) {
        // The verdict names the most telling reason among the grants tried: a revocation that voids
        // the op (the rule that decides) over an older grant lost, over a role that does not fit.
        if (why_rank <= 1) why = "key " + key_name(action.author) + ": " + *reason, why_rank = 1;
        continue;
      }
      if (revoked_in_view(grant, view)) {
        if (why_rank <= 2)
          why = "key " + key_name(action.author) + " lost role '" + role->id + "' at " + op.fields.scope + " to a revocation",
          why_rank = 2;
        continue;
      }
      Verdict verdict = found;
      verdict.effective = true;
      verdict.chain = {op.id};
      verdict.chain.insert(verdict.chain.end(), verdicts_[grant].chain.begin(), verdicts_[grant].chain.end());
      if (auto revocation = revoked_after_frontier(grant, action)) {
        const auto& r = std::get<RevocationPayload>(graph_->op(*revocation).fields.payload);
        if (action.action_class == ActionClass::kPrivileged) {
          why_rank = 3;
          why = "void: key " + key_name(action.author) + " was revoked (" + r.reason + ") by op " +
                graph_->op(*revocation).id.short_hex() + " and this op is after the revoker's frontier (op number " +
                std::to_string(r.frontier_seq) + ")";
          continue;
        }
        verdict.flags.push_back("after_revocation");
        if (r.reason == "compromised") verdict.flags.push_back("compromised_key");
        if (!flagged) flagged = verdict;
        continue;
      }
      return verdict;
    }
  }
  if (flagged) return *flagged;
  return refused(why ? std::move(*why) : "key " + key_name(action.author) + " holds no role");
}

Verdict AuthorityState::judge_delegation(const Op& op, const DelegationPayload& delegation, const AuthoritySet& view,
                                         std::optional<std::size_t> self) const {
  const Constitution* c = constitution_in(view);
  if (c == nullptr) return refused("its causal past holds no genesis of this network");
  const RoleDef* target = c->role(delegation.role);
  if (target == nullptr) return refused("the constitution has no role '" + delegation.role + "'");
  ScopeLevel level = scope_level(op.fields.scope);
  if (!target->held_at(level))
    return refused("role '" + target->id + "' is held at " + join(target->levels) + " level, not at a " +
                   scope_level_name(level) + " scope like " + op.fields.scope);
  if (target->category_bound && delegation.categories.empty())
    return refused("role '" + target->id + "' acts by hazard category: name at least one category");
  if (!target->category_bound && !delegation.categories.empty())
    return refused("role '" + target->id + "' does not take categories");
  for (const std::string& category : delegation.categories)
    if (c->category(category) == nullptr) return refused("the constitution has no category '" + category + "'");
  // A delegation is the "delegate" action at the grant's scope, by a role that may delegate it.
  Action action{op.fields.author, op.fields.author_seq, capability::kDelegate, op.fields.scope, "",
                ActionClass::kPrivileged, std::nullopt, reach_of(op)};
  Verdict verdict = require(action, view, self);
  if (!verdict.effective) return verdict;
  // `require` found a role with "delegate" that covers the scope; now the narrowing rules, on
  // every usable grant until one allows this role (root first).
  const GenesisPayload* g = genesis();
  auto allows = [&](const RoleDef& role, const std::vector<std::string>& categories) -> std::optional<std::string> {
    if (!role.may_delegate_role(target->id))
      return "role '" + role.id + "' may not delegate '" + target->id + "'";
    if (role.category_bound)
      for (const std::string& category : delegation.categories)
        if (!contains_text(categories, category))
          return "role '" + role.id + "' covers categories " + join(categories) + ", so it cannot grant '" +
                 category + "': a delegation can only narrow";
    return std::nullopt;
  };
  if (std::binary_search(g->root_keys.begin(), g->root_keys.end(), op.fields.author)) {
    const RoleDef* root = c->role(kRootRole);
    if (root != nullptr && !allows(*root, {})) return verdict;
  }
  std::optional<std::string> why;  // built only when a grant fails the narrowing rules
  auto at = grants_by_grantee_.find(op.fields.author);
  if (at != grants_by_grantee_.end()) {
    for (std::size_t grant : at->second) {
      if (!view.has(grant) || !verdicts_[grant].effective || revoked_in_view(grant, view)) continue;
      const Op& granted = graph_->op(grant);
      const DelegationPayload& d = delegation_of(granted);
      const RoleDef* role = c->role(d.role);
      if (role == nullptr || !role->has_capability(capability::kDelegate) ||
          !scope_contains(granted.fields.scope, op.fields.scope) || revoked_after_frontier(grant, action))
        continue;
      if (auto reason = allows(*role, d.categories)) {
        why = *reason;
        continue;
      }
      Verdict out;
      out.effective = true;
      out.chain = {granted.id};
      out.chain.insert(out.chain.end(), verdicts_[grant].chain.begin(), verdicts_[grant].chain.end());
      return out;
    }
  }
  return refused(why ? std::move(*why)
                     : "key " + key_name(op.fields.author) + " holds no role that may delegate '" + target->id + "'");
}

Verdict AuthorityState::judge_over_key(const Op& op, const PublicKey& key, const AuthoritySet& view,
                                       std::optional<std::size_t> self) const {
  if (constitution_in(view) == nullptr) return refused("its causal past holds no genesis of this network");
  if (auto suspended = suspension(op.fields.author, op.fields.author_seq, view, reach_of(op))) return refused(*suspended);
  // A frontier op in the revocation's causal past must be the revoked key's op of that number: an
  // authority op in its view, or another op the store found in its past (HeldFrontier).
  if (const auto* revocation = std::get_if<RevocationPayload>(&op.fields.payload); revocation && revocation->frontier) {
    std::optional<HeldFrontier> held;
    if (auto f = graph_->index_of(*revocation->frontier); f && view.has(*f))
      held = HeldFrontier{graph_->op(*f).fields.author, graph_->op(*f).fields.author_seq};
    else if (self)
      held = graph_->held_frontier(*self);
    if (held && (held->author != key || held->seq != revocation->frontier_seq))
      return refused("its frontier op " + revocation->frontier->short_hex() + " is not key " + key_name(key) +
                     "'s op number " + std::to_string(revocation->frontier_seq));
  }
  auto authorities = revoke_authorities(op.fields.author, view, op.fields.author_seq);
  if (authorities.empty()) {
    // The true reason when the author held an office that may revoke, and lost it: a revocation
    // of the author itself (seen, or after its frontier), not "holds no role".
    if (!revoke_authorities(op.fields.author, view, op.fields.author_seq, /*despite_revocations=*/true).empty()) {
      std::string by;
      if (auto at = revocations_by_key_.find(op.fields.author); at != revocations_by_key_.end())
        for (std::size_t r : at->second)
          if (verdicts_[r].effective && std::holds_alternative<RevocationPayload>(graph_->op(r).fields.payload)) {
            by = " (op " + graph_->op(r).id.short_hex() + ")";
            break;
          }
      return refused("void: key " + key_name(op.fields.author) + " was itself revoked" + by +
                     " before this op or concurrently with it, so its office may no longer revoke or reaffirm");
    }
    return refused("key " + key_name(op.fields.author) + " holds no role that allows 'revoke'");
  }
  const Constitution* c = constitution_in(view);
  auto at = grants_by_grantee_.find(key);
  if (at != grants_by_grantee_.end()) {
    for (std::size_t grant : at->second) {
      if (!view.has(grant) || !verdicts_[grant].effective) continue;
      const Op& g = graph_->op(grant);
      if (!scope_contains(op.fields.scope, g.fields.scope)) continue;
      const RoleDef* role = c->role(delegation_of(g).role);
      std::uint32_t rank = role != nullptr ? role->rank : 0;
      bool above = g.fields.author == op.fields.author ||
                   std::any_of(authorities.begin(), authorities.end(), [&](const auto& authority) {
                     return scope_contains(authority.first, g.fields.scope) &&
                            (authority.first != g.fields.scope || authority.second > rank);
                   });
      if (above) {
        Verdict verdict;
        verdict.effective = true;
        verdict.chain = {g.id};
        return verdict;
      }
    }
  }
  // A node key: its enrolments are offices too, revoked by the office that enrolled the node or
  // one whose revoke-capable role encloses the enrolment's scope (crdt/AUTHORITY.md, "Enrolments").
  if (auto enrolled = enrolments_by_node_.find(key); enrolled != enrolments_by_node_.end()) {
    for (std::size_t e : enrolled->second) {
      if (!view.has(e) || !verdicts_[e].effective) continue;
      const Op& en = graph_->op(e);
      if (!scope_contains(op.fields.scope, en.fields.scope)) continue;
      bool above = en.fields.author == op.fields.author ||
                   std::any_of(authorities.begin(), authorities.end(),
                               [&](const auto& authority) { return scope_contains(authority.first, en.fields.scope); });
      if (above) {
        Verdict verdict;
        verdict.effective = true;
        verdict.chain = {en.id};
        return verdict;
      }
    }
  }
  return refused("key " + key_name(key) + " holds no role within " + op.fields.scope + " that key " +
                 key_name(op.fields.author) +
                 " may revoke: only its grantor or an office above may, and peers at one level cannot revoke each other");
}

bool AuthorityState::revokes_enrolment(std::size_t revocation, std::size_t enrolment) const {
  const Op& r = graph_->op(revocation);
  const Op& e = graph_->op(enrolment);
  const auto* payload = std::get_if<RevocationPayload>(&r.fields.payload);
  if (payload == nullptr || payload->key != std::get<EnrolmentPayload>(e.fields.payload).node_key) return false;
  if (!verdicts_[revocation].effective || !graph_->precedes_or_equal(enrolment, revocation)) return false;
  if (!scope_contains(r.fields.scope, e.fields.scope)) return false;
  if (r.fields.author == e.fields.author) return true;
  const auto& authorities = revokers_[revocation].authorities;
  return std::any_of(authorities.begin(), authorities.end(),
                     [&](const auto& authority) { return scope_contains(authority.first, e.fields.scope); });
}

bool AuthorityState::enrolment_revoked_in(std::size_t enrolment, const AuthoritySet& view) const {
  const auto& node = std::get<EnrolmentPayload>(graph_->op(enrolment).fields.payload).node_key;
  auto at = revocations_by_key_.find(node);
  if (at == revocations_by_key_.end()) return false;
  return std::any_of(at->second.begin(), at->second.end(),
                     [&](std::size_t r) { return view.has(r) && revokes_enrolment(r, enrolment); });
}

// An enrolment asks node.enroll at its scope; and when the node is already enrolled in the
// enrolment's view (not revoked there), the author must hold node.enroll at a scope that encloses
// that enrolment too: one township cannot move another township's node to itself.
Verdict AuthorityState::judge_enrolment(const Op& op, const EnrolmentPayload& enrolment, const AuthoritySet& view,
                                        std::optional<std::size_t> self) const {
  Verdict verdict = require(*action_of(op), view, self);
  if (!verdict.effective) return verdict;
  auto at = enrolments_by_node_.find(enrolment.node_key);
  if (at == enrolments_by_node_.end()) return verdict;
  for (std::size_t e : at->second) {
    if ((self && e == *self) || !view.has(e) || !verdicts_[e].effective || enrolment_revoked_in(e, view)) continue;
    const Op& existing = graph_->op(e);
    if (require(Action{op.fields.author, op.fields.author_seq, capability::kNodeEnroll, existing.fields.scope, "",
                       ActionClass::kPrivileged, std::nullopt},
                view, self)
            .effective)
      continue;
    return refused("node " + key_name(enrolment.node_key) + " is already enrolled at " + existing.fields.scope + " (op " +
                   existing.id.short_hex() + "); only an office that encloses " + existing.fields.scope +
                   " may enrol it again, or revoke that enrolment first");
  }
  return verdict;
}

Verdict AuthorityState::judge_amendment(const Op& op, const AmendmentPayload& amendment,
                                        const AuthoritySet& view) const {
  const GenesisPayload* g = genesis();
  if (g == nullptr) return refused("its causal past holds no genesis of this network");
  std::uint32_t current = 0;
  for (std::size_t i : amendments_)
    if (view.has(i) && verdicts_[i].effective)
      current = std::max(current, std::get<AmendmentPayload>(graph_->op(i).fields.payload).number);
  if (amendment.number != current + 1)
    return refused("amendment number " + std::to_string(amendment.number) + " does not follow the amendment in force (" +
                   std::to_string(current) + ")");
  std::vector<PublicKey> signers;
  auto is_root = [g](const PublicKey& key) { return std::binary_search(g->root_keys.begin(), g->root_keys.end(), key); };
  if (is_root(op.fields.author)) signers.push_back(op.fields.author);
  for (const Cosignature& cosignature : amendment.cosignatures)
    if (is_root(cosignature.key) && cosignature.key != op.fields.author) signers.push_back(cosignature.key);
  if (signers.size() < g->threshold)
    return refused("the amendment carries " + std::to_string(signers.size()) + " root signatures; the county's constitution needs " +
                   std::to_string(g->threshold) + " of its " + std::to_string(g->root_keys.size()) + " root keys");
  Verdict verdict;
  verdict.effective = true;
  verdict.chain = {graph_->op(*graph_->genesis()).id};
  return verdict;
}

Verdict AuthorityState::judge_in_view(const Op& op, const AuthoritySet& view, std::optional<std::size_t> self) const {
  const Payload& payload = op.fields.payload;
  if (std::holds_alternative<GenesisPayload>(payload)) {
    if (graph_->genesis() && graph_->op(*graph_->genesis()).id == op.id) {
      Verdict verdict;
      verdict.effective = true;
      return verdict;
    }
    return refused("a second genesis has no effect");
  }
  if (const auto* enrolment = std::get_if<EnrolmentPayload>(&payload)) return judge_enrolment(op, *enrolment, view, self);
  if (const auto* deferred = std::get_if<DeferredPayload>(&payload))
    return refused("needs a newer release of anwang (" + deferred->what + "): kept and passed on, judged once this node is upgraded");
  if (auto action = action_of(op)) return require(*action, view, self);
  if (const auto* delegation = std::get_if<DelegationPayload>(&payload))
    return judge_delegation(op, *delegation, view, self);
  if (const auto* revocation = std::get_if<RevocationPayload>(&payload))
    return judge_over_key(op, revocation->key, view, self);
  if (const auto* reaffirmation = std::get_if<ReaffirmationPayload>(&payload))
    return judge_over_key(op, reaffirmation->key, view, self);
  if (const auto* amendment = std::get_if<AmendmentPayload>(&payload)) return judge_amendment(op, *amendment, view);
  return refused(std::string("no authority rule for payload '") + payload_kind(payload) + "'");
}

Verdict AuthorityState::judge(const Op& op, const std::vector<Hash32>& auth_frontier) const {
  if (auto index = graph_->index_of(op.id)) return verdicts_[*index];
  AuthoritySet view = graph_->closure(auth_frontier);
  if (graph_->genesis()) view.add(*graph_->genesis());
  return judge_in_view(op, view, std::nullopt);
}

Verdict AuthorityState::can(const Action& action) const { return require(action, everything_, std::nullopt); }

Verdict AuthorityState::judge_action(const Action& action, const std::vector<Hash32>& auth_frontier) const {
  AuthoritySet view = graph_->closure(auth_frontier);
  if (graph_->genesis()) view.add(*graph_->genesis());
  return require(action, view, std::nullopt);
}

std::vector<std::string> AuthorityState::node_scopes(const PublicKey& node_key) const {
  auto at = enrolments_by_node_.find(node_key);
  if (at == enrolments_by_node_.end()) return {};
  std::vector<std::size_t> live;
  for (std::size_t e : at->second)
    if (verdicts_[e].effective && !enrolment_revoked_in(e, everything_)) live.push_back(e);
  // A re-enrolment supersedes the enrolments in its past.
  std::vector<std::size_t> current;
  for (std::size_t e : live)
    if (std::none_of(live.begin(), live.end(),
                     [&](std::size_t later) { return later != e && graph_->precedes_or_equal(e, later); }))
      current.push_back(e);
  if (current.empty()) return {};
  auto narrowest = std::min_element(current.begin(), current.end(), [&](std::size_t a, std::size_t b) {
    const Op& x = graph_->op(a);
    const Op& y = graph_->op(b);
    return std::make_pair(y.fields.scope.size(), x.id) < std::make_pair(x.fields.scope.size(), y.id);
  });
  return {graph_->op(*narrowest).fields.scope};
}

Reach reach_of(const OpFields& fields) {
  Reach reach{fields.scope, is_authority_payload(fields.payload), false, {}, {}};
  const auto* record = std::get_if<RecordPayload>(&fields.payload);
  if (!reach.everywhere && record != nullptr && record->kind == "person") {
    // A profile goes along its scope's whole line, above and below, as a notice to its own
    // scope would: a village node names the township officer who received its hazard
    // (crdt/RECORDS.md, "Profiles").
    reach.notice = true;
    reach.recipients = {fields.scope};
    return reach;
  }
  if (reach.everywhere || record == nullptr || record->kind != "notice") return reach;
  reach.notice = true;
  for (const char* name : {"recipients", "recipient"})
    if (const std::string* list = record->field(name))
      for (const std::string& to : split_commas(*list)) reach.recipients.push_back(to);
  return reach;
}

Reach reach_of(const Op& op) { return reach_of(op.fields); }

namespace {

// The reach alone, without `within`.
bool visible_own(const Reach& reach, const std::string& node_scope) {
  if (reach.everywhere) return true;
  if (scope_contains(node_scope, reach.scope)) return true;
  if (!reach.notice || !scope_contains(reach.scope, node_scope)) return false;
  // A notice from above: visible where it was sent. Its receipts name their recipient.
  for (const std::string& to : reach.recipients)
    if (scope_contains(node_scope, to) || scope_contains(to, node_scope)) return true;
  return false;
}

// A child scope of `code` that is not in `taken`, or empty when `code` is a grid (no children).
std::string fresh_child(const std::string& code, const std::vector<std::string>& taken) {
  ScopeLevel level = scope_level(code);
  if (level == ScopeLevel::kGrid) return "";
  for (int n = 999; n >= 100; --n) {
    std::string child = level == ScopeLevel::kVillage ? code + "-Z" + std::to_string(n) : code + std::to_string(n);
    if (std::find(taken.begin(), taken.end(), child) == taken.end()) return child;
  }
  return "";
}

}  // namespace

bool visible_to(const Reach& reach, const std::string& node_scope) {
  if (!visible_own(reach, node_scope)) return false;
  return std::all_of(reach.within.begin(), reach.within.end(),
                     [&](const Reach& parent) { return visible_own(parent, node_scope); });
}

bool visible_to(const Op& op, const std::string& node_scope) { return visible_to(reach_of(op), node_scope); }

bool reach_covers(const Reach& outer, const Reach& inner) {
  auto everywhere = [](const Reach& r) {
    return r.everywhere && std::all_of(r.within.begin(), r.within.end(), [](const Reach& w) { return w.everywhere; });
  };
  if (everywhere(outer)) return true;
  if (everywhere(inner)) return false;  // inner goes to every county's nodes; outer does not
  // Membership of a scope in a reach depends only on how it relates (contains, is contained)
  // to the codes the reach names. So it is enough to try every code named, every ancestor of
  // one, and for each of those one child that is none of them: any other scope relates to the
  // named codes exactly as one of these does (a scope related to none of them is in neither
  // reach unless it goes everywhere, settled above).
  std::vector<std::string> codes;
  auto name = [&codes](const Reach& r) {
    codes.push_back(r.scope);
    codes.insert(codes.end(), r.recipients.begin(), r.recipients.end());
  };
  for (const Reach* r : {&outer, &inner}) {
    name(*r);
    for (const Reach& w : r->within) name(w);
  }
  std::vector<std::string> probes;
  for (const std::string& code : codes) {
    if (!check_scope(code).is_ok()) continue;  // a notice's malformed recipient names no place
    for (std::string at = code; !at.empty(); at = scope_parent(at)) probes.push_back(at);
  }
  std::sort(probes.begin(), probes.end());
  probes.erase(std::unique(probes.begin(), probes.end()), probes.end());
  std::vector<std::string> children;
  for (const std::string& probe : probes)
    if (std::string child = fresh_child(probe, probes); !child.empty()) children.push_back(child);
  probes.insert(probes.end(), children.begin(), children.end());
  return std::all_of(probes.begin(), probes.end(),
                     [&](const std::string& probe) { return !visible_to(inner, probe) || visible_to(outer, probe); });
}

void narrow_reach(Reach& reach, const Reach& parent) {
  if (reach_covers(parent, reach)) return;
  auto add = [&reach](Reach part) {
    part.within.clear();
    if (part.everywhere) return;
    if (std::find(reach.within.begin(), reach.within.end(), part) == reach.within.end()) reach.within.push_back(std::move(part));
  };
  for (const Reach& w : parent.within) add(w);
  add(parent);
}

std::string AuthorityState::office_scope(const Verdict& verdict) const {
  if (verdict.chain.empty()) return "";
  auto index = graph_->index_of(verdict.chain.front());
  if (!index) return "";
  const Op& op = graph_->op(*index);
  if (const auto* genesis = std::get_if<GenesisPayload>(&op.fields.payload)) return genesis->county_code;
  return op.fields.scope;
}

bool AuthorityState::over_every_office(const std::string& scope, const PublicKey& key) const {
  const GenesisPayload* g = genesis();
  if (g != nullptr && std::binary_search(g->root_keys.begin(), g->root_keys.end(), key) && !scope_contains(scope, g->county_code))
    return false;
  auto at = grants_by_grantee_.find(key);
  if (at == grants_by_grantee_.end()) return true;
  return std::all_of(at->second.begin(), at->second.end(), [&](std::size_t grant) {
    return !verdicts_[grant].effective || scope_contains(scope, graph_->op(grant).fields.scope);
  });
}

PublicKey AuthorityState::holder_of(const PublicKey& key) const {
  auto at = grants_by_grantee_.find(key);
  if (at == grants_by_grantee_.end()) return key;
  for (std::size_t grant : at->second) {  // in op id order
    if (!verdicts_[grant].effective) continue;
    const auto& holder = delegation_of(graph_->op(grant)).holder;
    if (!holder) continue;
    // A grant's word on whose key it is counts only from an office over every office of both the
    // key and the person it names: a village head cannot make the township officer's key another
    // person's, nor a key of their own the county officer's (crdt/AUTHORITY.md, "Holders").
    const std::string author_office = office_scope(verdicts_[grant]);
    if (!author_office.empty() && over_every_office(author_office, key) && over_every_office(author_office, *holder))
      return *holder;
  }
  return key;
}

PublicKey AuthorityState::holder_by_grant(const Verdict& verdict, const PublicKey& author) const {
  if (verdict.chain.empty()) return author;
  auto index = graph_->index_of(verdict.chain.front());
  if (!index) return author;
  const auto* d = std::get_if<DelegationPayload>(&graph_->op(*index).fields.payload);
  return d != nullptr && d->holder ? *d->holder : author;
}

Office AuthorityState::office_of(const Verdict& verdict, const PublicKey& author) const {
  Office office;
  office.holder = holder_of(author);
  if (verdict.chain.empty()) return office;
  auto index = graph_->index_of(verdict.chain.front());
  if (!index) return office;
  const Op& grant = graph_->op(*index);
  if (const auto* genesis = std::get_if<GenesisPayload>(&grant.fields.payload)) {
    office.scope = genesis->county_code;
    return office;
  }
  const auto* d = std::get_if<DelegationPayload>(&grant.fields.payload);
  if (d == nullptr) return office;
  office.scope = grant.fields.scope;
  if (d->holder) office.holder = *d->holder;
  office.appointed_by = holder_of(grant.fields.author);
  const RoleDef* role = constitution().role(d->role);
  if (role != nullptr && role->category_bound) office.categories = d->categories;
  return office;
}

bool AuthorityState::can_revoke(const PublicKey& revoker, const PublicKey& key) const {
  const GenesisPayload* g = genesis();
  if (g == nullptr) return false;
  Op probe;
  probe.fields.author = revoker;
  probe.fields.author_seq = std::numeric_limits<std::uint64_t>::max();
  probe.fields.scope = g->county_code;
  probe.fields.payload = RevocationPayload{key, "compromised", 0, std::nullopt};
  return judge_over_key(probe, key, everything_, std::nullopt).effective;
}

std::vector<CompromiseReview> AuthorityState::compromise_reviews() const {
  std::vector<CompromiseReview> out;
  for (std::size_t i = 0; i < graph_->size(); ++i) {
    const Op& op = graph_->op(i);
    const auto* r = std::get_if<RevocationPayload>(&op.fields.payload);
    if (r == nullptr || r->reason != "compromised" || verdicts_[i].effective) continue;
    if (verdicts_[i].reason.rfind("void:", 0) != 0) continue;  // never an office's report: a forgery
    // Settled by an office's decision made with the report in view: revoking the key, or
    // reaffirming it (keeping it).
    bool settled = false;
    if (auto at = revocations_by_key_.find(r->key); at != revocations_by_key_.end())
      for (std::size_t d : at->second)
        settled = settled || (d != i && verdicts_[d].effective && graph_->precedes_or_equal(i, d));
    if (!settled) out.push_back({op.id, op.fields.author, r->key, op.fields.scope, verdicts_[i].reason});
  }
  return out;
}

std::vector<EffectiveRole> AuthorityState::who(const std::string& scope) const {
  std::vector<EffectiveRole> out;
  const GenesisPayload* g = genesis();
  if (g == nullptr) return out;
  auto relevant = [&scope](const std::string& held) {
    return scope.empty() || scope_contains(scope, held) || scope_contains(held, scope);
  };
  for (const PublicKey& root : g->root_keys)
    if (relevant(g->county_code))
      out.push_back({root, kRootRole, g->county_code, {}, graph_->op(*graph_->genesis()).id, true});
  std::vector<std::size_t> grants;
  for (const auto& [key, list] : grants_by_grantee_) grants.insert(grants.end(), list.begin(), list.end());
  std::sort(grants.begin(), grants.end(), [this](std::size_t a, std::size_t b) {
    const Op& x = graph_->op(a);
    const Op& y = graph_->op(b);
    return std::tie(x.fields.scope, x.id) < std::tie(y.fields.scope, y.id);
  });
  for (std::size_t grant : grants) {
    const Op& op = graph_->op(grant);
    if (!verdicts_[grant].effective || revoked_in_view(grant, everything_) || !relevant(op.fields.scope)) continue;
    const DelegationPayload& d = delegation_of(op);
    out.push_back({d.grantee, d.role, op.fields.scope, d.categories, op.id, false});
  }
  return out;
}

Hash32 AuthorityState::digest() const {
  std::vector<std::size_t> order(graph_->size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [this](std::size_t a, std::size_t b) { return graph_->op(a).id < graph_->op(b).id; });
  Blake2b hasher;
  hasher.update(std::string_view("anwang/authority-digest/v1"));
  for (std::size_t i : order) {
    hasher.update(graph_->op(i).id.view());
    hasher.update(std::string_view(verdicts_[i].effective ? "1" : "0"));
    for (const std::string& flag : verdicts_[i].flags) hasher.update(flag + ";");
  }
  return hasher.finish();
}

}  // namespace anwang
