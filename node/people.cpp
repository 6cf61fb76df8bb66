// people.cpp — see people.h.
#include "node/people.h"

#include <algorithm>

#include "crdt/hlc.h"
#include "crdt/scope.h"
#include "node/record_steps.h"

namespace anwang::node {

Result<People> People::load(const Store& store) {
  auto authority = store.authority();
  if (!authority) return authority.status();
  auto records = load_records(store, "person");
  if (!records) return records.status();
  People people;
  people.authority_ = *authority;
  std::map<PublicKey, std::vector<PublicKey>> keys;
  std::map<PublicKey, std::vector<std::string>> roles;
  for (const EffectiveRole& role : (*authority)->who("")) {
    PublicKey holder = (*authority)->holder_of(role.key);
    auto& held = keys[holder];
    if (std::find(held.begin(), held.end(), role.key) == held.end()) held.push_back(role.key);
    roles[holder].push_back(role.role + "@" + role.scope);
    people.scopes_by_holder_[holder].push_back(role.scope);
  }
  // Every office each person has held, revoked ones too: a profile names a person only when all
  // of them lie at or under its place (below), so neither an appointment the author may make in
  // its own place (of anyone's key, unasked) nor a revocation lets a lower office name them.
  std::map<PublicKey, std::vector<std::string>> offices_ever = people.scopes_by_holder_;
  const AuthorityGraph& graph = (*authority)->graph();
  for (std::size_t i = 0; i < graph.size(); ++i) {
    if (!(*authority)->verdict_of(i).effective) continue;
    const OpFields& f = graph.op(i).fields;
    if (const auto* d = std::get_if<DelegationPayload>(&f.payload))
      offices_ever[(*authority)->holder_of(d->grantee)].push_back(f.scope);
    else if (const auto* e = std::get_if<EnrolmentPayload>(&f.payload))
      offices_ever[(*authority)->holder_of(e->node_key)].push_back(f.scope);
  }
  if (const GenesisPayload* genesis = (*authority)->genesis())
    for (const PublicKey& root : genesis->root_keys) offices_ever[(*authority)->holder_of(root)].push_back(genesis->county_code);
  for (const RecordState& r : *records) {
    Profile p;
    p.id = r.id;
    p.scope = r.scope;
    p.name = r.field("name");
    p.phone = r.field("phone");
    p.office = r.field("office");
    p.grid = r.field("grid");
    p.updated_hlc = r.updated_hlc;
    p.conflict = !r.flags.empty();
    if (auto holder = PublicKey::from_hex(r.field("holder"))) {
      p.holder = *holder;
      p.keys = keys.count(*holder) ? keys[*holder] : std::vector<PublicKey>{*holder};
      p.roles = roles[*holder];
    }
    people.profiles_.push_back(std::move(p));
  }
  // Newest first: of two profiles bound to one person, the later written is in force.
  std::sort(people.profiles_.begin(), people.profiles_.end(), [](const Profile& a, const Profile& b) {
    return std::tie(a.updated_hlc, a.id) > std::tie(b.updated_hlc, b.id);
  });
  for (std::size_t i = 0; i < people.profiles_.size(); ++i) {
    Profile& p = people.profiles_[i];
    if (!p.holder) continue;
    // A binding names a person only where its author may appoint: when the person holds or held
    // offices, every one of them lies at or under the profile's place. So a village head cannot
    // rename the county officer (or anyone of another village) for every node above the village,
    // not even after appointing the officer's key in the village.
    const auto& held = offices_ever[*p.holder];
    if (!held.empty() && !std::all_of(held.begin(), held.end(), [&](const std::string& at) { return scope_contains(p.scope, at); })) {
      p.out_of_scope = true;
      continue;
    }
    if (people.by_holder_.count(*p.holder)) p.shadowed = true;
    else people.by_holder_[*p.holder] = i;
  }
  return people;
}

PublicKey People::holder_of(const PublicKey& key) const { return authority_ ? authority_->holder_of(key) : key; }

const Profile* People::of_key(const PublicKey& key) const {
  auto it = by_holder_.find(holder_of(key));
  if (it == by_holder_.end()) it = by_holder_.find(key);  // a profile bound to this very key
  return it == by_holder_.end() ? nullptr : &profiles_[it->second];
}

const Profile* People::by_id(const Hash32& id) const {
  auto it = std::find_if(profiles_.begin(), profiles_.end(), [&](const Profile& p) { return p.id == id; });
  return it == profiles_.end() ? nullptr : &*it;
}

std::string People::name_of(const PublicKey& key) const {
  const Profile* p = of_key(key);
  return p == nullptr ? "" : p->name;
}

std::string People::label(const PublicKey& key) const {
  std::string name = name_of(key);
  return name.empty() ? key.short_hex() : name;
}

bool People::phone_visible(const Profile& profile, const std::optional<PublicKey>& viewer) const {
  std::optional<PublicKey> person;
  const std::vector<std::string>* scopes = nullptr;
  static const std::vector<std::string> kNone;
  if (viewer) {
    person = holder_of(*viewer);
    auto it = scopes_by_holder_.find(*person);
    scopes = it == scopes_by_holder_.end() ? &kNone : &it->second;
  }
  const PublicKey* bound = profile.holder ? &*profile.holder : nullptr;
  // The person's place: their grid when the profile names one (a profile kept at the village for
  // a grid's member), so that a sibling grid is off the line.
  const std::string& place = !profile.grid.empty() && scope_contains(profile.scope, profile.grid) ? profile.grid : profile.scope;
  return phone_visible_to(person, scopes ? *scopes : kNone, bound, place);
}

nlohmann::json profile_json(const Profile& p, bool show_phone) {
  nlohmann::json keys = nlohmann::json::array();
  for (const PublicKey& key : p.keys) keys.push_back(key.hex());
  nlohmann::json out = {{"id", p.id.hex()},       {"scope", p.scope},   {"name", p.name},
                        {"office", p.office},     {"grid", p.grid},     {"keys", keys},
                        {"roles", p.roles},       {"updated", hlc_display(p.updated_hlc)},
                        {"conflict", p.conflict}, {"shadowed", p.shadowed},
                        {"out_of_scope", p.out_of_scope}};
  out["holder"] = p.holder ? nlohmann::json(p.holder->hex()) : nlohmann::json(nullptr);
  // Hidden and said so, rather than absent: the page can tell "not visible to you" from "none".
  out["phone"] = show_phone ? nlohmann::json(p.phone) : nlohmann::json(nullptr);
  out["phone_hidden"] = !show_phone && !p.phone.empty();
  return out;
}

}  // namespace anwang::node
