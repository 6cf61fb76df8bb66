// authority.h — who may do what, decided from ops alone.
//
// AuthorityGraph holds the authority ops (genesis, amendments, regions, delegations, revocations,
// reaffirmations, enrolments) with, for each, the maximal authority ops in its causal past. Every
// node of a county holds all of them, so every node builds the same graph.
//
// AuthorityState judges ops. An op is judged against the authority ops in its own causal past
// (its "view"), never against timestamps or arrival order, plus one set-wide rule: a revoked
// key's privileged ops after the revoker's frontier are void even when concurrent with the
// revocation, and its safety-positive ops stand but are flagged (a `left` revocation that names no
// frontier has no such reach: revocation_reaches_forward). The result is a pure function of
// the set of ops: every permutation of delivery gives the same verdicts. See crdt/AUTHORITY.md.
//
// Pure; not thread-safe for mutation; an AuthorityState is immutable once built.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "crdt/op.h"

namespace anwang {

// A set of authority ops as a bitset over the graph's local indices.
class AuthoritySet {
 public:
  AuthoritySet() = default;
  explicit AuthoritySet(std::size_t size) : words_((size + 63) / 64, 0) {}
  bool has(std::size_t i) const { return i / 64 < words_.size() && (words_[i / 64] >> (i % 64) & 1) != 0; }
  void add(std::size_t i);
  void merge(const AuthoritySet& other);

 private:
  std::vector<std::uint64_t> words_;
};

// A revocation's frontier op that lies in the revocation's causal past and is not an authority op
// (a hazard step, a patrol): its author and number. The store finds it (find_in_past) and the
// graph keeps it with the revocation, for the authority rules to check like a frontier op in the
// view (crdt/AUTHORITY.md, "Revocation"). Every node that holds the revocation holds its whole
// causal past, so every node finds the same.
struct HeldFrontier {
  PublicKey author;
  std::uint64_t seq = 0;
  bool operator==(const HeldFrontier&) const = default;
};

class AuthorityGraph {
 public:
  // REQUIRES: op is an authority op not yet added; every id in auth_parents was added; every
  // causal parent of op is held (the parents not added are the ones that are not authority ops).
  // `held_frontier`: for a revocation, what the store found of its frontier op (HeldFrontier).
  void add(Op op, const std::vector<Hash32>& auth_parents, std::optional<HeldFrontier> held_frontier = std::nullopt);
  // Drops every op added after the first `count`, as if they had never been added (a write
  // transaction that added them failed). REQUIRES: count <= size().
  void truncate(std::size_t count);
  bool contains(const Hash32& id) const { return index_.count(id) != 0; }
  std::size_t size() const { return ops_.size(); }
  std::optional<std::size_t> index_of(const Hash32& id) const;
  const Op& op(std::size_t i) const { return *ops_[i]; }
  // True when `a` is `b` or in `b`'s causal past. REQUIRES: both were added.
  bool precedes_or_equal(std::size_t a, std::size_t b) const { return past_[b].has(a); }
  // The candidates that are not in the past of another candidate, sorted.
  std::vector<Hash32> maximal(const std::vector<Hash32>& candidates) const;
  // Authority ops in the past of any of `frontier` (inclusive). Unknown ids are ignored.
  AuthoritySet closure(const std::vector<Hash32>& frontier) const;
  // Authority ops no other authority op has in its past.
  std::vector<Hash32> heads() const;
  const std::vector<Hash32>& auth_parents(std::size_t i) const { return parents_[i]; }
  // The causal parents of op `i` that are not authority ops: none, but for ops written by hand and
  // revocations of releases that made their frontier op a parent.
  const std::vector<Hash32>& record_parents(std::size_t i) const { return record_parents_[i]; }
  // The record parents of every op in `view`, sorted, without repeats: where ops that are not
  // authority ops enter a causal past whose authority ops are `view`.
  std::vector<Hash32> record_parents_in(const AuthoritySet& view) const;
  const std::optional<HeldFrontier>& held_frontier(std::size_t i) const { return held_frontiers_[i]; }
  std::optional<std::size_t> genesis() const { return genesis_; }
  // Whether `key` is a root key of the genesis, or the node of an enrolment or the grantee of a
  // naming delegation in the past of any of `frontier` (inclusive; unknown ids are ignored). A
  // delegation names its grantee when its author is a root key, or is the grantee of a naming
  // delegation in its past whose role may delegate (has the `delegate` capability) under the
  // constitution of its past: a chain of appointments up to the county, judged on structure alone
  // (revocations, scopes and categories aside). An op whose author nothing names in its own view is
  // refused at ingest (crdt/OP_FORMAT.md, "Who may write at all"): that depends on the op's causal
  // past alone, so every node decides it alike, and a later op can never change it.
  bool names_in_view(const PublicKey& key, const std::vector<Hash32>& frontier) const;

 private:
  // Shared, so that copying a graph (the store copies it for each write while a state holds
  // it) copies pointers, not ops.
  std::vector<std::shared_ptr<const Op>> ops_;
  std::vector<std::vector<Hash32>> parents_;
  std::vector<std::vector<Hash32>> record_parents_;
  std::vector<std::size_t> with_record_parents_;  // the ops whose record_parents_ are not empty, in order
  std::vector<std::optional<HeldFrontier>> held_frontiers_;
  std::vector<AuthoritySet> past_;  // inclusive
  std::unordered_map<Hash32, std::size_t> index_;
  std::vector<bool> has_child_;
  std::optional<std::size_t> genesis_;
  // Delegations by grantee and enrolments by node key, in the order added.
  std::unordered_map<PublicKey, std::vector<std::size_t>> offices_by_key_;
  std::vector<bool> names_;  // per op: a delegation that names its grantee (names_in_view)
  std::vector<std::size_t> amendments_;
  bool naming(const Op& op, std::size_t index) const;
  const Constitution* constitution_before(std::size_t index) const;
};

// What visible_to reads of an op, kept by the store beside the op's key so a sync session can
// list what a peer may hold without decoding ops: the op's scope, whether it goes everywhere
// (authority ops), and for a notice the scopes it was sent to.
//
// An op also goes only where its parents go: a node that may hold the op but not one of its
// parents could never apply it (the parent never arrives, the op waits for ever), so it is neither
// offered nor sent there. `within` holds the reaches of parents (and, through their own `within`,
// of ancestors) that do not cover the op's own: its *effective* reach is the places every one of
// them reaches. Store::author never writes such an op (it names only covering parents), so
// `within` is empty but for ops written by hand or by releases before 19 (crdt/OP_FORMAT.md).
struct Reach {
  std::string scope;
  bool everywhere = false;
  bool notice = false;
  std::vector<std::string> recipients;  // a notice's recipients and receipts' recipient
  std::vector<Reach> within;            // flat: their own `within` is empty
  bool operator==(const Reach&) const = default;
};

struct Verdict {
  bool effective = false;
  std::string reason;               // for an ineffective op: one sentence; else empty
  std::vector<std::string> flags;   // "after_revocation", "compromised_key", "equivocated_author"
  std::vector<Hash32> chain;        // grants that authorise it, nearest first, ending at the genesis
};

// Whether a revocation applies the forward rule (crdt/AUTHORITY.md, "Revocation"): it voids the
// key's privileged ops numbered after its frontier even where they do not know of it. A revocation
// that names a frontier does, and so does a `compromised` one without a frontier (every act of a
// stolen key is suspect); a `left` revocation without a frontier does not: it cannot say which of
// the key's acts came after it, and voiding them all would void the person's whole past.
bool revocation_reaches_forward(const RevocationPayload& revocation);

// Privileged actions can be voided by a revocation; safety-positive ones stand, flagged.
enum class ActionClass { kPrivileged, kSafetyPositive };

// Reporting, evidence, comment and escalation are safety-positive (they can only make the grid
// look harder at something); everything else — appointing, revoking, assigning, closing,
// signing off — is privileged.
ActionClass capability_class(const std::string& capability);

// An action to judge: what a real op asks, or what `anwang can` asks about.
struct Action {
  PublicKey author;
  std::uint64_t author_seq = 0;
  std::string capability;
  std::string scope;
  std::string category;  // empty when the action has none
  ActionClass action_class = ActionClass::kPrivileged;
  // When set, the role used must be held at this level or above (a hazard that reached the
  // township is acted on by the township, the county or a department, not by the village).
  std::optional<ScopeLevel> level_reached;
  // Where the judged op goes (for the equivocation rule); absent: its scope alone says.
  std::optional<Reach> reach = std::nullopt;
};

// Who took a step, as far as the authority graph knows: the office (the grant the verdict used),
// the person behind the key (its holder: the key itself unless a grant names the person's first
// key, DelegationPayload::holder), who appointed them to that office, and for a department the
// categories it covers.
struct Office {
  std::string scope;                                 // the grant's scope (the county for a root key); empty when not effective
  PublicKey holder;
  std::optional<PublicKey> appointed_by;             // the holder of the grant's author; none for a root key
  std::optional<std::vector<std::string>> categories;  // a category-bound role's categories
};

// A voided compromise report that awaits an office's decision (AuthorityState::compromise_reviews).
struct CompromiseReview {
  Hash32 report;      // the voided revocation
  PublicKey reporter;
  PublicKey key;      // the key reported compromised
  std::string scope;
  std::string reason; // why the report is void
};

// An effective grant as `anwang who` lists it.
struct EffectiveRole {
  PublicKey key;
  std::string role;
  std::string scope;
  std::vector<std::string> categories;
  Hash32 grant;      // the delegation op (the genesis for a root key)
  bool root = false;
};

// Two or more ops by one key with one sequence number (the proof of equivocation), with where
// each of them goes. An equivocation counts against an op only where every node that may hold the
// op may hold two of them, so every node holding the op judges it alike (crdt/AUTHORITY.md).
struct Equivocation {
  PublicKey key;
  std::uint64_t seq = 0;
  std::vector<Reach> twins;  // the effective reach of each op; empty: counts everywhere
  bool operator==(const Equivocation&) const = default;
};

class AuthorityState {
 public:
  // `equivocations`: every (author, author_seq) for which the op set holds two different ops.
  AuthorityState(std::shared_ptr<const AuthorityGraph> graph,
                 std::vector<Equivocation> equivocations);

  // The same state as the constructor computes, reusing `previous` where that is sound: when
  // `graph` holds `previous`'s ops at the same places and more, none of the new ones is a
  // revocation, the equivocations are the same and `previous` reached its fixed point, every
  // verdict already found stands — no op's causal past changed, and only revocations reach
  // forward — so only the new ops are judged. Otherwise computes from scratch. When `previous`
  // is the last reference to its state (its owner moved it in), that state is extended in place
  // rather than copied.
  static std::shared_ptr<const AuthorityState> extend(std::shared_ptr<const AuthorityState> previous,
                                                      std::shared_ptr<const AuthorityGraph> graph,
                                                      std::vector<Equivocation> equivocations);

  // Whether extend(this state, graph, equivocations) would leave every judgment over this
  // state's ops as it is: extend() keeps the verdicts found (see above), and none of the new ops
  // is a genesis, an amendment or a reaffirmation, so judge_action() on a frontier among this
  // state's ops, office_scope() and constitution() answer as before. (Revocations are excluded
  // by extend() itself.) A store keeps what it evaluated from such judgments across the change.
  bool extension_keeps_judgments(const AuthorityGraph& graph,
                                 std::vector<Equivocation> equivocations) const;

  // Judges any op of the set. `auth_frontier`: the maximal authority ops in its causal past.
  Verdict judge(const Op& op, const std::vector<Hash32>& auth_frontier) const;
  // Judges an authority op of the graph (cached).
  const Verdict& verdict_of(std::size_t index) const { return verdicts_[index]; }
  // Would `action` be effective if written now, after every authority op held?
  Verdict can(const Action& action) const;
  // Is `action` effective for an op whose authority past is `auth_frontier`? (Record payloads —
  // hazards — are judged by their own rules, which ask this for the capability they need.)
  Verdict judge_action(const Action& action, const std::vector<Hash32>& auth_frontier) const;
  // The scope of the office behind a verdict: the grant it used (the county for a root key).
  std::string office_scope(const Verdict& verdict) const;
  // The office behind `author`'s step with this verdict (see Office).
  Office office_of(const Verdict& verdict, const PublicKey& author) const;
  // The person the verdict's own grant says `author` is: the grant's holder when it names one, else
  // the author's key. Unlike holder_of(), a function of the verdict alone (its grant lies in the
  // judged op's causal past), so every node judging the op agrees.
  PublicKey holder_by_grant(const Verdict& verdict, const PublicKey& author) const;
  // The person a key belongs to: the holder an effective grant to the key names (the first by op
  // id), else the key itself.
  PublicKey holder_of(const PublicKey& key) const;
  // Effective roles in the full view, optionally only those at or under `scope`.
  std::vector<EffectiveRole> who(const std::string& scope) const;
  // Compromise reports ("compromised" revocations) voided because their author's own office was
  // revoked first or concurrently, that no office has decided on since: the key they name keeps
  // working, so an office above must look (revoke it, or reaffirm it to keep it).
  std::vector<CompromiseReview> compromise_reviews() const;
  // Whether `revoker`'s offices, in the full view, may revoke or reaffirm `key`.
  bool can_revoke(const PublicKey& revoker, const PublicKey& key) const;
  // The scope a node key is enrolled for: its effective enrolment, or none (crdt/AUTHORITY.md,
  // "Enrolments"). At most one: an enrolment that is revoked, or followed by a re-enrolment in
  // whose past it is, counts no more; of concurrent ones, the narrowest scope (then the least op
  // id) counts. A list, empty or of one, for the callers that iterate.
  std::vector<std::string> node_scopes(const PublicKey& node_key) const;
  // The constitution in force in the full view, and the county's root keys.
  const Constitution& constitution() const;
  const GenesisPayload* genesis() const;
  // BLAKE2b over every authority op's id and verdict, in id order.
  Hash32 digest() const;
  const AuthorityGraph& graph() const { return *graph_; }
  const std::vector<Equivocation>& equivocations() const { return equivocations_; }
  int rounds() const { return rounds_; }
  bool extended() const { return extended_; }  // built by extend() from a previous state

 private:
  // What a revocation's author could revoke, from the revocation's own view.
  struct RevokerInfo {
    std::vector<std::pair<std::string, std::uint32_t>> authorities;  // (scope, rank) of revoke-capable roles
    const Constitution* constitution = nullptr;
    bool operator==(const RevokerInfo&) const = default;
  };
  Verdict judge_in_view(const Op& op, const AuthoritySet& view, std::optional<std::size_t> self) const;
  Verdict require(const Action& action, const AuthoritySet& view, std::optional<std::size_t> self) const;
  Verdict judge_delegation(const Op& op, const DelegationPayload& delegation, const AuthoritySet& view,
                           std::optional<std::size_t> self) const;
  Verdict judge_over_key(const Op& op, const PublicKey& key, const AuthoritySet& view,
                         std::optional<std::size_t> self) const;
  Verdict judge_amendment(const Op& op, const AmendmentPayload& amendment, const AuthoritySet& view) const;
  const Constitution* constitution_in(const AuthoritySet& view) const;
  // Why `key`'s op numbered `seq`, going where `judged` says, is suspended for equivocation.
  std::optional<std::string> suspension(const PublicKey& key, std::uint64_t seq, const AuthoritySet& view,
                                        const Reach& judged) const;
  bool revoked_in_view(std::size_t grant, const AuthoritySet& view) const;
  // Whether every effective office of `key` (a root key's: the county) lies at or under `scope`.
  bool over_every_office(const std::string& scope, const PublicKey& key) const;
  std::optional<std::size_t> revoked_after_frontier(std::size_t grant, const Action& action) const;
  bool may_revoke(std::size_t revocation, std::size_t grant, const std::vector<RevokerInfo>& revokers) const;
  // Whether the effective revocation `revocation` ends the enrolment `enrolment`: it names the
  // node key, has the enrolment in its past and its scope, and its author enrolled the node or
  // holds a revoke-capable office that encloses the enrolment's scope.
  bool revokes_enrolment(std::size_t revocation, std::size_t enrolment) const;
  bool enrolment_revoked_in(std::size_t enrolment, const AuthoritySet& view) const;
  Verdict judge_enrolment(const Op& op, const EnrolmentPayload& enrolment, const AuthoritySet& view,
                          std::optional<std::size_t> self) const;
  // `despite_revocations`: also the offices the key lost to a revocation (to name the true reason).
  std::vector<std::pair<std::string, std::uint32_t>> revoke_authorities(const PublicKey& key,
                                                                        const AuthoritySet& view,
                                                                        std::uint64_t seq,
                                                                        bool despite_revocations = false) const;
  void compute();
  void index(std::size_t from);  // the by-key and amendment lists, for ops from `from` on
  bool extendable_by(const AuthorityGraph& graph,
                     const std::vector<Equivocation>& equivocations) const;

  std::shared_ptr<const AuthorityGraph> graph_;
  std::vector<Equivocation> equivocations_;
  std::vector<Verdict> verdicts_;
  std::vector<RevokerInfo> revokers_;       // this round, per revocation op
  std::vector<RevokerInfo> revokers_prev_;  // last round: the forward rule reads these
  std::vector<std::size_t> effective_revocations_;  // last round's, sorted
  std::unordered_map<PublicKey, std::vector<std::size_t>> grants_by_grantee_;
  std::unordered_map<PublicKey, std::vector<std::size_t>> revocations_by_key_;
  std::unordered_map<PublicKey, std::vector<std::size_t>> enrolments_by_node_;
  std::vector<std::size_t> amendments_;
  AuthoritySet everything_;
  int rounds_ = 0;
  bool fixed_ = false;  // the rounds reached their fixed point (not the bound)
  bool extended_ = false;
};

// What a node serving `node_scope` may hold (分级管理与授权准入): every authority op, every record
// whose scope lies in its subtree, notices sent from above to a scope in its subtree, and person
// profiles (人员信息) along their scope's line, above and below.
bool visible_to(const Op& op, const std::string& node_scope);

// The op's own reach (`within` empty): a function of its scope and payload.
Reach reach_of(const Op& op);
Reach reach_of(const OpFields& fields);
// Whether a node serving `node_scope` may hold an op of this (effective) reach.
bool visible_to(const Reach& reach, const std::string& node_scope);
// Whether every node that may hold an op of reach `inner` may hold one of reach `outer` too: an
// op of reach `outer` may then be a parent of one of reach `inner`.
bool reach_covers(const Reach& outer, const Reach& inner);
// `reach` narrowed to where a parent of reach `parent` goes too (unchanged when `parent` covers it).
void narrow_reach(Reach& reach, const Reach& parent);

// What find_in_past reads of an op it walks back through: its timestamp and causal parents.
struct PastStep {
  std::uint64_t hlc = 0;
  std::vector<Hash32> parents;
};
enum class PastSearch { kFound, kAbsent, kTooDeep };
// Whether `target`, an op stamped `target_hlc`, is one of `starts` or in their causal past, as far
// as `step` describes ops (nullopt: an op not walked through, whose past the caller covers with
// other starts). Only ops later than `target_hlc` are walked through (an op is later than all of its
// past). Ops are read in descending (hlc, id) order, so the ops read, and where the search gives up
// after reading `reads_max` of them (kTooDeep), depend only on the ops: the same on every node that
// holds them.
PastSearch find_in_past(std::vector<Hash32> starts, const Hash32& target, std::uint64_t target_hlc,
                        const std::function<std::optional<PastStep>(const Hash32&)>& step, std::size_t reads_max);

// Sorts equivocations by (key, number) and drops repeats.
void normalize_equivocations(std::vector<Equivocation>& equivocations);
// action_of without the op's reach.
std::optional<Action> action_of_fields(const Op& op);

// The capability and class an op asks for, for payloads judged by one capability at one scope.
// nullopt for payloads with their own rules (genesis, delegation, revocation, …).
std::optional<Action> action_of(const Op& op);

}  // namespace anwang
