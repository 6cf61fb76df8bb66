// map.h — the map (地图) as both edges use it: the jurisdictions' boundaries as region ops carry
// them, the GeoJSON files `anwang region import` reads (cli/commands_region.cpp), and the located
// hazards and units GET /api/v1/map gives (node/web_api.cpp). Nothing here decides authority: an
// import is judged by AuthorityState::can, as `anwang can` judges, and written by
// Store::author_all, which judges every op again; the listing reads what the store holds.
//
// A boundary is a GeoJSON Polygon or MultiPolygon geometry, as compact JSON, in a region op's
// `boundary` (at most limits::boundary_bytes_max). A point is "LNG,LAT" (crdt/location.h). Not
// thread-safe beyond the Store it reads.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "node/store.h"

namespace anwang::node {

// One jurisdiction: its latest effective name, and its latest effective boundary (a region op
// without one, such as a rename, keeps the boundary it had). The county's name is its genesis's.
struct RegionInfo {
  std::string code;
  std::string name;
  std::string boundary;  // compact GeoJSON geometry, or empty
};
Result<std::map<std::string, RegionInfo>> region_infos(const Store& store);

// ---- Importing boundaries ----

// One feature of a boundaries file as read: its code, name and boundary, or why it cannot be
// imported (`error`, one sentence).
struct RegionFeature {
  std::size_t index = 0;  // 1-based, in the file's order
  std::string code, name, boundary;
  std::string error;
};

// Reads a GeoJSON FeatureCollection (or one Feature). Each feature's code comes from its
// properties `code`, `CODE`, `adcode`, `ADCODE` or `区划代码` (text or a whole number), its name from
// `name`, `NAME` or `名称`, its boundary from a Polygon or MultiPolygon geometry whose positions
// lie within longitude ±180 and latitude ±90. A file that is no such JSON is an error Status; a
// feature that breaks a rule (a bad code, the county's own code, a code given twice, another
// geometry, a boundary over limits::boundary_bytes_max) carries its error.
Result<std::vector<RegionFeature>> read_region_features(std::string_view text);

// What an import would write: a region op per feature whose name or boundary differs from what
// the store holds, the features already as held, and each feature refused (its error, or the
// authority rule that refuses `signer` defining that region). Nothing is written.
struct RegionImportPlan {
  std::vector<OpDraft> drafts;
  std::vector<RegionFeature> to_write;   // beside drafts, one each
  std::vector<RegionFeature> unchanged;
  std::vector<RegionFeature> refused;
};
Result<RegionImportPlan> plan_region_import(const Store& store, const PublicKey& signer,
                                            std::vector<RegionFeature> features);

// ---- The map's data ----

struct MapData {
  std::string scope;
  std::vector<RegionInfo> regions;     // within `scope`, the coarsest first; boundaries cut at the byte bound
  bool regions_capped = false;         // some boundaries were left out (limits::web_map_boundary_bytes_max)
  std::vector<HazardState> hazards;    // located, within `scope`: the open first, then the newest
  std::vector<RecordState> units;      // located ledger units within `scope`
  std::size_t points_total = 0;        // located hazards and units before the cap
  bool points_capped = false;          // more than limits::web_map_points_max: the rest left out
};
// The regions, hazards and units with a location within `scope` that this store holds.
// `regions`: region_infos(store), which a caller may keep between calls.
Result<MapData> map_data(const Store& store, const std::map<std::string, RegionInfo>& regions, const std::string& scope);
// As GET /api/v1/map gives it (node/web/API.md).
nlohmann::json map_json(const MapData& data);

}  // namespace anwang::node
