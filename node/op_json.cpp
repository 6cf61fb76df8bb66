#include "node/op_json.h"

#include "crdt/hlc.h"

namespace anwang::node {

namespace {

struct PayloadJson {
  nlohmann::json operator()(const GenesisPayload& genesis) const {
    nlohmann::json roots = nlohmann::json::array();
    for (const PublicKey& key : genesis.root_keys) roots.push_back(key.hex());
    return {{"county_code", genesis.county_code}, {"county_name", genesis.county_name},
            {"root_keys", roots}, {"threshold", genesis.threshold}};
  }
  nlohmann::json operator()(const RegionPayload& region) const {
    return {{"code", region.code}, {"name", region.name}, {"boundary", region.boundary}};
  }
  nlohmann::json operator()(const NotePayload& note) const { return {{"text", note.text}}; }
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
          {"time", hlc_to_string(f.hlc)},
          {"scope", f.scope},
          {"object", f.object.hex()},
          {"kind", payload_kind(f.payload)},
          {"payload", std::visit(PayloadJson{}, f.payload)},
          {"bytes", op.bytes.size()}};
}

std::string op_summary(const Op& op) {
  std::string kind = payload_kind(op.fields.payload);
  kind.resize(8, ' ');
  std::string scope = op.fields.scope;
  if (scope.size() < 12) scope.resize(12, ' ');
  return hlc_to_string(op.fields.hlc).substr(0, 19) + "  " + kind + "  " + scope + "  " + op.id.short_hex() +
         "  by " + op.fields.author.short_hex() + "  " + std::visit(PayloadSummary{}, op.fields.payload);
}

}  // namespace anwang::node
