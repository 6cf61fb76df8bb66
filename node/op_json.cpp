#include "node/op_json.h"

#include "crdt/hlc.h"

namespace anwang::node {

nlohmann::json attachments_to_json(const std::vector<Attachment>& attachments) {
  nlohmann::json out = nlohmann::json::array();
  for (const Attachment& a : attachments)
    out.push_back({{"hash", a.hash.hex()}, {"size", a.size}, {"media_type", a.media_type}});
  return out;
}

nlohmann::json constitution_to_json(const Constitution& c) {
  nlohmann::json roles = nlohmann::json::array();
  for (const RoleDef& r : c.roles)
    roles.push_back({{"id", r.id}, {"name_zh", r.name_zh}, {"name_en", r.name_en}, {"levels", r.levels},
                     {"rank", r.rank}, {"capabilities", r.capabilities}, {"may_delegate", r.may_delegate},
                     {"category_bound", r.category_bound}});
  nlohmann::json categories = nlohmann::json::array();
  for (const CategoryDef& cat : c.categories)
    categories.push_back({{"id", cat.id}, {"name_zh", cat.name_zh}, {"name_en", cat.name_en}, {"department", cat.department}});
  nlohmann::json settings = nlohmann::json::object();
  for (const Setting& setting : c.settings) settings[setting.name] = setting.value;
  return {{"roles", roles}, {"categories", categories}, {"settings", settings}};
}

namespace {

struct PayloadJson {
  nlohmann::json operator()(const GenesisPayload& genesis) const {
    nlohmann::json roots = nlohmann::json::array();
    for (const PublicKey& key : genesis.root_keys) roots.push_back(key.hex());
    return {{"county_code", genesis.county_code}, {"county_name", genesis.county_name},
            {"root_keys", roots}, {"threshold", genesis.threshold},
            {"constitution", constitution_to_json(genesis.constitution)}};
  }
  nlohmann::json operator()(const DelegationPayload& d) const {
    return {{"grantee", d.grantee.hex()}, {"role", d.role}, {"categories", d.categories}};
  }
  nlohmann::json operator()(const RevocationPayload& r) const {
    return {{"key", r.key.hex()}, {"reason", r.reason}, {"frontier_seq", r.frontier_seq},
            {"frontier", r.frontier ? nlohmann::json(r.frontier->hex()) : nlohmann::json(nullptr)}};
  }
  nlohmann::json operator()(const ReaffirmationPayload& r) const { return {{"key", r.key.hex()}, {"seq", r.seq}}; }
  nlohmann::json operator()(const EnrolmentPayload& e) const { return {{"node_key", e.node_key.hex()}}; }
  nlohmann::json operator()(const HazardPayload& h) const {
    nlohmann::json out = {{"action", h.action}, {"text", h.text}, {"photos", attachments_to_json(h.photos)}};
    if (!h.category.empty()) out["category"] = h.category;
    if (!h.severity.empty()) out["severity"] = h.severity;
    if (h.unit) out["unit"] = h.unit->hex();
    if (h.deadline_ms != 0) out["deadline_ms"] = h.deadline_ms;
    if (h.deadline_days != 0) out["deadline_days"] = h.deadline_days;
    if (!h.responsible.empty()) out["responsible"] = h.responsible;
    if (h.acceptor) out["acceptor"] = h.acceptor->hex();
    if (!h.measures.empty()) out["measures"] = h.measures;
    if (!h.to_level.empty()) out["to_level"] = h.to_level;
    if (!h.department.empty()) out["department"] = h.department;
    if (h.assignee) out["assignee"] = h.assignee->hex();
    if (h.action == "verify") out["pass"] = h.pass;
    if (!h.major_form.empty()) out["major_form"] = h.major_form;
    if (!h.location.empty()) out["location"] = h.location;
    return out;
  }
  nlohmann::json operator()(const RecordPayload& r) const {
    nlohmann::json fields = nlohmann::json::object();
    for (const auto& [name, value] : r.fields) fields[name] = value;
    nlohmann::json refs = nlohmann::json::array();
    for (const Hash32& ref : r.refs) refs.push_back(ref.hex());
    return {{"kind", r.kind}, {"action", r.action}, {"fields", fields}, {"photos", attachments_to_json(r.photos)},
            {"refs", refs}};
  }
  nlohmann::json operator()(const AmendmentPayload& a) const {
    nlohmann::json cosigners = nlohmann::json::array();
    for (const Cosignature& c : a.cosignatures) cosigners.push_back(c.key.hex());
    return {{"number", a.number}, {"constitution", constitution_to_json(a.constitution)}, {"cosigners", cosigners}};
  }
  nlohmann::json operator()(const RegionPayload& region) const {
    return {{"code", region.code}, {"name", region.name}, {"boundary", region.boundary}};
  }
  nlohmann::json operator()(const NotePayload& note) const { return {{"text", note.text}}; }
  nlohmann::json operator()(const DeferredPayload& d) const {
    return {{"needs_newer_release", true}, {"what", d.what}};
  }
};

struct PayloadSummary {
  std::string operator()(const GenesisPayload& genesis) const {
    return "county " + genesis.county_code + " " + genesis.county_name + ", " +
           std::to_string(genesis.threshold) + " of " + std::to_string(genesis.root_keys.size()) + " root keys";
  }
  std::string operator()(const RegionPayload& region) const { return region.code + " " + region.name; }
  std::string operator()(const NotePayload& note) const {
    return note.text.size() > 60 ? note.text.substr(0, 60) + "…" : note.text;
  }
  std::string operator()(const DelegationPayload& d) const {
    std::string out = d.role + " to " + d.grantee.short_hex();
    for (const std::string& c : d.categories) out += " " + c;
    return out;
  }
  std::string operator()(const RevocationPayload& r) const {
    return r.key.short_hex() + " (" + r.reason + ", frontier op " + std::to_string(r.frontier_seq) + ")";
  }
  std::string operator()(const ReaffirmationPayload& r) const {
    return r.key.short_hex() + " after equivocation at op " + std::to_string(r.seq);
  }
  std::string operator()(const EnrolmentPayload& e) const { return "node " + e.node_key.short_hex(); }
  std::string operator()(const HazardPayload& h) const {
    std::string out = h.action;
    if (!h.category.empty()) out += " " + h.category;
    if (!h.severity.empty()) out += " " + h.severity;
    if (!h.to_level.empty()) out += " to " + h.to_level;
    if (!h.department.empty()) out += " to department " + h.department;
    if (h.action == "verify") out += h.pass ? " pass" : " fail";
    if (!h.location.empty()) out += " at " + h.location;
    if (!h.text.empty()) out += ": " + (h.text.size() > 50 ? h.text.substr(0, 50) + "…" : h.text);
    return out;
  }
  std::string operator()(const RecordPayload& r) const {
    std::string out = r.kind + " " + r.action;
    for (const auto& [name, value] : r.fields) out += " " + name + "=" + (value.size() > 20 ? value.substr(0, 20) + "…" : value);
    return out;
  }
  std::string operator()(const AmendmentPayload& a) const {
    return "constitution amendment " + std::to_string(a.number) + " with " + std::to_string(a.cosignatures.size()) +
           " cosignatures";
  }
  std::string operator()(const DeferredPayload& d) const { return "needs a newer release of anwang: " + d.what; }
};

}  // namespace

nlohmann::json op_to_json(const Op& op) {
  const OpFields& f = op.fields;
  nlohmann::json parents = nlohmann::json::array();
  for (const Hash32& parent : f.parents) parents.push_back(parent.hex());
  return {{"id", op.id.hex()},
          {"network", f.network ? nlohmann::json(f.network->hex()) : nlohmann::json(nullptr)},
          {"author", f.author.hex()},
          {"author_seq", f.author_seq},
          {"author_prev", f.author_prev ? nlohmann::json(f.author_prev->hex()) : nlohmann::json(nullptr)},
          {"parents", parents},
          {"hlc", f.hlc},
          {"time", hlc_display(f.hlc)},
          {"scope", f.scope},
          {"object", f.object.hex()},
          {"kind", payload_kind(f.payload)},
          {"payload", std::visit(PayloadJson{}, f.payload)},
          {"bytes", op.bytes.size()}};
}

std::string op_summary(const Op& op) {
  std::string kind = payload_kind(op.fields.payload);
  kind.resize(13, ' ');
  std::string scope = op.fields.scope;
  if (scope.size() < 12) scope.resize(12, ' ');
  return hlc_display(op.fields.hlc, TimeShown::kSeconds) + "  " + kind + "  " + scope + "  " + op.id.short_hex() +
         "  by " + op.fields.author.short_hex() + "  " + std::visit(PayloadSummary{}, op.fields.payload);
}

}  // namespace anwang::node
