// anwang region import — jurisdictions' boundaries (辖区边界) from a GeoJSON file, for the map.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/context.h"
#include "crdt/limits.h"
#include "node/map.h"

namespace anwang::cli {

namespace {

Result<std::string> read_file_bounded(const std::string& file) {
  std::error_code error;
  auto size = std::filesystem::file_size(file, error);
  if (error) return Status::not_found("cannot read " + file + ": " + error.message());
  if (size > limits::region_import_file_bytes_max)
    return Status::invalid(file + " is " + std::to_string(size) + " bytes; a boundaries file is at most " +
                           std::to_string(limits::region_import_file_bytes_max) + ": split it");
  std::ifstream in(file, std::ios::binary);
  if (!in) return Status::not_found("cannot read " + file);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

nlohmann::json feature_json(const node::RegionFeature& f) {
  nlohmann::json out = {{"feature", f.index}, {"code", f.code}, {"name", f.name}};
  if (!f.error.empty()) out["error"] = f.error;
  return out;
}

void print_plan(const node::RegionImportPlan& plan, bool dry_run) {
  for (const auto& f : plan.to_write)
    std::cout << (dry_run ? "  would write 将写入  " : "  write 写入  ") << f.code << "  " << f.name << "  (boundary "
              << f.boundary.size() << " bytes)\n";
  for (const auto& f : plan.unchanged) std::cout << "  unchanged 未变  " << f.code << "  " << f.name << "\n";
  if (plan.refused.empty()) return;
  std::cout << "Refused 不能导入 — nothing written 未写入任何内容:\n";
  for (const auto& f : plan.refused)
    std::cout << "  feature " << f.index << (f.code.empty() ? "" : " (" + f.code + ")") << ": " << f.error << "\n";
}

void run_region_import(Context& ctx, const std::string& file, bool dry_run) {
  auto text = read_file_bounded(file);
  if (!text) return ctx.fail(text.status());
  auto features = node::read_region_features(*text);
  if (!features) return ctx.fail(Status::invalid(file + ": " + features.status().message()));
  auto opened = open_all(ctx);
  if (!opened) return ctx.fail(opened.status());
  auto key = ctx.acting_key(opened->home);
  if (!key) return ctx.fail(key.status());
  auto plan = node::plan_region_import(*opened->store, key->public_key(), std::move(*features));
  if (!plan) return ctx.fail(plan.status());
  // Every feature or none: a file half imported would draw half a county.
  const bool write = plan->refused.empty() && !dry_run && !plan->drafts.empty();
  std::vector<Op> ops;
  if (write) {
    auto written = author_ops(ctx, *opened, *key, plan->drafts);
    if (!written) return ctx.fail(written.status());
    ops = std::move(*written);
  }
  if (ctx.json) {
    nlohmann::json out = {{"dry_run", dry_run}, {"written", nlohmann::json::array()}, {"unchanged", nlohmann::json::array()},
                          {"refused", nlohmann::json::array()}};
    for (std::size_t i = 0; i < plan->to_write.size(); ++i) {
      nlohmann::json entry = feature_json(plan->to_write[i]);
      if (i < ops.size()) entry["op"] = ops[i].id.hex();
      out[write ? "written" : "to_write"].push_back(entry);
    }
    for (const auto& f : plan->unchanged) out["unchanged"].push_back(feature_json(f));
    for (const auto& f : plan->refused) out["refused"].push_back(feature_json(f));
    ctx.print(out);
  } else {
    print_plan(*plan, !write);
    if (write) std::cout << "Imported 已导入 " << ops.size() << " region(s); " << plan->unchanged.size() << " unchanged.\n";
    else if (plan->refused.empty() && plan->drafts.empty()) std::cout << "Nothing to write 无需写入: every region is as held.\n";
  }
  if (!plan->refused.empty()) ctx.exit_code = kExitInvalid;
}

}  // namespace

void add_region_import(CLI::App& region, Context& ctx) {
  auto file = std::make_shared<std::string>();
  auto dry_run = std::make_shared<bool>(false);
  auto* import = region.add_subcommand(
      "import", "Define jurisdictions with their boundaries from a GeoJSON FeatureCollection (导入辖区边界), for the map: "
                "each feature's properties give its code (code, adcode, 区划代码) and name (name, 名称), its geometry a "
                "Polygon or MultiPolygon. All or nothing; regions already as held are left alone");
  import->add_option("FILE", *file, "GeoJSON file, e.g. docs/map/sample-regions.geojson")->required();
  import->add_flag("--dry-run", *dry_run, "Check the file and say what would be written; write nothing");
  import->callback([&ctx, file, dry_run] { run_region_import(ctx, *file, *dry_run); });
}

}  // namespace anwang::cli
