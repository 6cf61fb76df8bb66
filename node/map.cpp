// map.cpp — see map.h.
#include "node/map.h"

#include <algorithm>
#include <tuple>

#include "crdt/hash.h"
#include "crdt/limits.h"
#include "crdt/location.h"
#include "crdt/scope.h"
#include "node/hazard_steps.h"
#include "node/record_steps.h"

namespace anwang::node {

using nlohmann::json;

Result<std::map<std::string, RegionInfo>> region_infos(const Store& store) {
  struct Latest {
    std::uint64_t name_hlc = 0, boundary_hlc = 0;
    RegionInfo info;
  };
  std::map<std::string, Latest> latest;
  // Genesis and region ops are authority ops: the authority graph holds every one of them, so this
  // reads no other op (a county's 50,000 ledger units are not walked to find its few hundred
  // regions). In (timestamp, id) order, as for_each_judged would give them.
  auto state = store.authority();
  if (!state) return state.status();
  const AuthorityGraph& graph = (*state)->graph();
  std::vector<std::size_t> order(graph.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return std::tie(graph.op(a).fields.hlc, graph.op(a).id) < std::tie(graph.op(b).fields.hlc, graph.op(b).id);
  });
  for (std::size_t i : order) {
    if (!(*state)->verdict_of(i).effective) continue;
    const Op& op = graph.op(i);
    if (const auto* genesis = std::get_if<GenesisPayload>(&op.fields.payload)) {
      Latest& entry = latest[genesis->county_code];
      entry.info.name = genesis->county_name;
      entry.name_hlc = op.fields.hlc;
    }
    if (const auto* region = std::get_if<RegionPayload>(&op.fields.payload)) {
      Latest& entry = latest[region->code];
      if (op.fields.hlc >= entry.name_hlc) {
        entry.info.name = region->name;
        entry.name_hlc = op.fields.hlc;
      }
      if (!region->boundary.empty() && op.fields.hlc >= entry.boundary_hlc) {
        entry.info.boundary = region->boundary;
        entry.boundary_hlc = op.fields.hlc;
      }
    }
  }
  std::map<std::string, RegionInfo> out;
  for (auto& [code, entry] : latest) {
    entry.info.code = code;
    out[code] = std::move(entry.info);
  }
  return out;
}

namespace {

// The first of `keys` a feature's properties hold, as text (a whole number counts: adcode 150430).
std::string property(const json& properties, std::initializer_list<const char*> keys) {
  if (!properties.is_object()) return {};
  for (const char* key : keys) {
    auto it = properties.find(key);
    if (it == properties.end()) continue;
    if (it->is_string()) return it->get<std::string>();
    if (it->is_number_unsigned()) return std::to_string(it->get<std::uint64_t>());
  }
  return {};
}

// Why a ring of positions is not one (empty when it is): at least four [lng, lat] pairs in range.
std::string ring_error(const json& ring) {
  if (!ring.is_array() || ring.size() < 4) return "a ring needs at least 4 positions";
  for (const json& position : ring) {
    if (!position.is_array() || position.size() < 2 || !position[0].is_number() || !position[1].is_number())
      return "a position must be [longitude, latitude]";
    double lng = position[0].get<double>(), lat = position[1].get<double>();
    if (!location_in_range(lng, lat))
      return "position [" + position[0].dump() + ", " + position[1].dump() +
             "] is out of range (longitude -180 to 180, latitude -90 to 90; is it in degrees, longitude first?)";
  }
  return {};
}

std::string polygon_error(const json& polygon) {
  if (!polygon.is_array() || polygon.empty()) return "a polygon is a list of rings";
  for (const json& ring : polygon)
    if (std::string why = ring_error(ring); !why.empty()) return why;
  return {};
}

// The feature's boundary as compact JSON, or why not.
std::string read_geometry(const json& geometry, std::string& boundary) {
  if (!geometry.is_object() || !geometry.contains("type") || !geometry.contains("coordinates"))
    return "it has no geometry";
  const json& type = geometry["type"];
  const json& coordinates = geometry["coordinates"];
  if (type == "Polygon") {
    if (std::string why = polygon_error(coordinates); !why.empty()) return why;
  } else if (type == "MultiPolygon") {
    if (!coordinates.is_array() || coordinates.empty()) return "a MultiPolygon is a list of polygons";
    for (const json& polygon : coordinates)
      if (std::string why = polygon_error(polygon); !why.empty()) return why;
  } else {
    return "its geometry is a " + (type.is_string() ? type.get<std::string>() : type.dump()) +
           ", not a Polygon or MultiPolygon";
  }
  boundary = json{{"type", type}, {"coordinates", coordinates}}.dump();
  if (boundary.size() > limits::boundary_bytes_max)
    return "its boundary is " + std::to_string(boundary.size()) + " bytes as compact GeoJSON; a region op holds at most " +
           std::to_string(limits::boundary_bytes_max) + ": simplify it with a GIS tool (QGIS 简化, mapshaper -simplify) and import again";
  return {};
}

RegionFeature read_feature(const json& feature, std::size_t index) {
  RegionFeature out;
  out.index = index;
  if (!feature.is_object() || feature.value("type", json()) != "Feature") {
    out.error = "it is not a GeoJSON Feature";
    return out;
  }
  const json properties = feature.value("properties", json());
  out.code = property(properties, {"code", "CODE", "adcode", "ADCODE", "区划代码"});
  out.name = property(properties, {"name", "NAME", "名称"});
  if (out.code.empty()) {
    out.error = "its properties give no code (code, CODE, adcode or 区划代码)";
  } else if (Status s = check_scope(out.code); !s) {
    out.error = s.message();
  } else if (scope_level(out.code) == ScopeLevel::kCounty) {
    out.error = "code " + out.code + " is a county: the genesis defines the county, and a region op cannot hold its boundary";
  } else if (out.name.empty()) {
    out.error = "its properties give no name (name, NAME or 名称)";
  } else if (out.name.size() > limits::name_bytes_max) {
    out.error = "its name is longer than " + std::to_string(limits::name_bytes_max) + " bytes";
  } else {
    out.error = read_geometry(feature.value("geometry", json()), out.boundary);
  }
  return out;
}

}  // namespace

Result<std::vector<RegionFeature>> read_region_features(std::string_view text) {
  json root = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) return Status::invalid("the file is not valid JSON");
  std::vector<json> features;
  if (root.is_object() && root.value("type", json()) == "FeatureCollection" && root.contains("features") &&
      root["features"].is_array()) {
    features = root["features"].get<std::vector<json>>();
  } else if (root.is_object() && root.value("type", json()) == "Feature") {
    features.push_back(root);
  } else {
    return Status::invalid("the file must be a GeoJSON FeatureCollection (or one Feature)");
  }
  if (features.empty()) return Status::invalid("the FeatureCollection holds no features");
  if (features.size() > limits::region_import_features_max)
    return Status::invalid("the file holds " + std::to_string(features.size()) + " features; one import takes at most " +
                           std::to_string(limits::region_import_features_max) + ": split it");
  std::vector<RegionFeature> out;
  std::map<std::string, std::size_t> seen;
  for (std::size_t i = 0; i < features.size(); ++i) {
    RegionFeature feature = read_feature(features[i], i + 1);
    if (feature.error.empty() && seen.count(feature.code))
      feature.error = "code " + feature.code + " was given already by feature " + std::to_string(seen[feature.code]);
    if (!feature.code.empty() && !seen.count(feature.code)) seen[feature.code] = feature.index;
    out.push_back(std::move(feature));
  }
  return out;
}

Result<RegionImportPlan> plan_region_import(const Store& store, const PublicKey& signer, std::vector<RegionFeature> features) {
  auto held = region_infos(store);
  if (!held) return held.status();
  auto authority = store.authority();
  if (!authority) return authority.status();
  auto head = store.author_head(signer);
  if (!head) return head.status();
  const std::uint64_t seq = *head ? (*head)->seq + 1 : 1;
  RegionImportPlan plan;
  for (RegionFeature& feature : features) {
    if (!feature.error.empty()) {
      plan.refused.push_back(std::move(feature));
      continue;
    }
    // The rule `anwang can KEY region.define CODE` states, as the store will judge the op.
    Action action{signer, seq, "region.define", feature.code, "", capability_class("region.define"), std::nullopt};
    Verdict verdict = (*authority)->can(action);
    if (!verdict.effective) {
      feature.error = "this key may not define region " + feature.code + ": " + verdict.reason;
      plan.refused.push_back(std::move(feature));
      continue;
    }
    auto current = held->find(feature.code);
    if (current != held->end() && current->second.name == feature.name && current->second.boundary == feature.boundary) {
      plan.unchanged.push_back(std::move(feature));
      continue;
    }
    plan.drafts.push_back(OpDraft{feature.code, named_object_id("region", feature.code),
                                  RegionPayload{feature.code, feature.name, feature.boundary}, {}});
    plan.to_write.push_back(std::move(feature));
  }
  return plan;
}

namespace {

bool open_hazard(const HazardState& h) { return h.state != "archived"; }

// `text` cut to at most `bytes`, at a whole UTF-8 character, with "…" when cut.
std::string label_of(const std::string& text, std::size_t bytes) {
  if (text.size() <= bytes) return text;
  std::size_t end = bytes;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return text.substr(0, end) + "…";
}

}  // namespace

Result<MapData> map_data(const Store& store, const std::map<std::string, RegionInfo>& regions, const std::string& scope) {
  MapData out;
  out.scope = scope;
  // Regions within the scope, the coarsest first (a township's outline before its villages'),
  // boundaries while they fit the byte bound.
  std::vector<const RegionInfo*> within;
  for (const auto& [code, info] : regions)
    if (scope_contains(scope, code)) within.push_back(&info);
  std::stable_sort(within.begin(), within.end(), [](const RegionInfo* a, const RegionInfo* b) {
    return static_cast<int>(scope_level(a->code)) < static_cast<int>(scope_level(b->code));
  });
  std::size_t bytes = 0;
  for (const RegionInfo* info : within) {
    RegionInfo entry = *info;
    if (bytes + entry.boundary.size() > limits::web_map_boundary_bytes_max) {
      entry.boundary.clear();
      out.regions_capped = true;
    }
    bytes += entry.boundary.size();
    out.regions.push_back(std::move(entry));
  }
  // Located hazards: the open first, then the newest.
  auto ids = store.hazards();
  if (!ids) return ids.status();
  for (const Hash32& id : *ids) {
    auto h = store.hazard(id);
    if (!h) return h.status();
    if (h->exists && !h->location.empty() && scope_contains(scope, h->scope)) out.hazards.push_back(std::move(*h));
  }
  std::sort(out.hazards.begin(), out.hazards.end(), [](const HazardState& a, const HazardState& b) {
    return std::make_tuple(open_hazard(b), b.reported_hlc, b.id) < std::make_tuple(open_hazard(a), a.reported_hlc, a.id);
  });
  auto units = load_records(store, "unit");
  if (!units) return units.status();
  for (RecordState& unit : *units)
    if (!unit.field("location").empty() && scope_contains(scope, unit.scope)) out.units.push_back(std::move(unit));
  out.points_total = out.hazards.size() + out.units.size();
  if (out.hazards.size() > limits::web_map_points_max) out.hazards.resize(limits::web_map_points_max);
  if (out.units.size() > limits::web_map_points_max - out.hazards.size())
    out.units.resize(limits::web_map_points_max - out.hazards.size());
  out.points_capped = out.points_total > out.hazards.size() + out.units.size();
  return out;
}

json map_json(const MapData& data) {
  json regions = json::array();
  for (const RegionInfo& r : data.regions) {
    json boundary = r.boundary.empty() ? json(nullptr) : json::parse(r.boundary, nullptr, false);
    if (boundary.is_discarded()) boundary = nullptr;  // an op written by hand with a broken boundary
    regions.push_back({{"code", r.code}, {"name", r.name}, {"level", scope_level_name(scope_level(r.code))},
                       {"boundary", boundary}});
  }
  json hazards = json::array();
  for (const HazardState& h : data.hazards)
    hazards.push_back({{"id", h.id.hex()}, {"scope", h.scope}, {"state", h.state}, {"state_zh", hazard_state_zh(h.state)},
                       {"severity", h.severity}, {"category", h.category},
                       {"overdue", std::find(h.flags.begin(), h.flags.end(), "overdue") != h.flags.end()},
                       {"label", label_of(h.description, limits::web_map_label_bytes_max)}, {"location", h.location}});
  json units = json::array();
  for (const RecordState& u : data.units)
    units.push_back({{"id", u.id.hex()}, {"scope", u.scope}, {"name", u.field("name")},
                     {"key_supervision", u.field("key_supervision") == "true"},
                     {"status", u.field("status").empty() ? "active" : u.field("status")}, {"location", u.field("location")}});
  return {{"scope", data.scope},
          {"regions", regions},
          {"regions_capped", data.regions_capped},
          {"hazards", hazards},
          {"units", units},
          {"points_total", data.points_total},
          {"points_max", limits::web_map_points_max},
          {"points_capped", data.points_capped}};
}

}  // namespace anwang::node
