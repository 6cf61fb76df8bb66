// anwang import units|people FILE — a ledger (台账) or a list of grid members kept in Excel,
// imported as signed records (node/import.h, node/table_file.h).
#include <algorithm>
#include <cstdio>
#include <iostream>

#include "cli/context.h"
#include "crdt/text.h"
#include "node/import.h"

namespace anwang::cli {

namespace {

struct ImportCommand {
  node::ImportKind kind = node::ImportKind::kUnits;
  std::string file;
  node::ImportOptions options;
  bool dry_run = false;
};

std::string field_label(node::ImportKind kind, const std::string& field) {
  if (field == "village") return "village 村/社区 (the row's place)";
  for (const auto& [name, zh] : node::import_fields(kind))
    if (name == field) return name + " " + zh;
  return field;
}

void print_columns(const node::Table& table, const node::ImportPlan& plan, node::ImportKind kind,
                   const std::string& file) {
  std::cout << "Read 读取 " << file << ": " << table.format
            << (table.format == "CSV" ? ", " + table.encoding : "") << ", "
            << with_commas(plan.rows) << " rows below the header on line " << table.header_line
            << ".\n";
  std::cout << "Columns 列:\n";
  for (const node::ImportColumn& column : plan.columns) {
    std::cout << "  " << (column.header.empty() ? "(no header 无表头)" : column.header) << " → ";
    if (column.field.empty())
      std::cout << "ignored 不导入 (to import it: --map \"" << column.header << "=FIELD\")";
    else
      std::cout << field_label(kind, column.field) << (column.mapped ? "  [--map]" : "")
                << (column.date ? "  [date 日期]" : "");
    std::cout << "\n";
  }
}

void print_refused(const std::vector<node::ImportRefusal>& refused) {
  if (refused.empty()) return;
  std::cout << "Refused 不导入 (" << with_commas(refused.size()) << " rows 行):\n";
  for (const node::ImportRefusal& r : refused)
    std::cout << "  line " << r.line << " 第" << r.line << "行: " << r.reason << "\n";
}

nlohmann::json refused_json(const std::vector<node::ImportRefusal>& refused) {
  nlohmann::json out = nlohmann::json::array();
  for (const node::ImportRefusal& r : refused)
    out.push_back({{"line", r.line}, {"reason", r.reason}});
  return out;
}

void run_import(Context& ctx, const ImportCommand& command) {
  auto table = node::read_table_file(command.file);
  if (!table)
    return ctx.fail(
        Status::error(table.status().code(), command.file + ": " + table.status().message()));
  auto opened = open_all(ctx);
  if (!opened) return ctx.fail(opened.status());
  auto key = ctx.acting_key(opened->home);
  if (!key) return ctx.fail(key.status());
  node::ImportOptions options = command.options;
  options.judge_every_row = command.dry_run;
  auto plan = node::plan_import(*opened->store, *table, options, key->public_key(), ctx.clock);
  if (!plan) return ctx.fail(plan.status());
  std::size_t would_add = 0, would_change = 0;
  for (const node::ImportStep& step : plan->steps) ++(step.edit ? would_change : would_add);
  if (!ctx.json) print_columns(*table, *plan, command.kind, command.file);

  node::ImportWritten written;
  if (command.dry_run) {
    written.added = would_add;
    written.changed = would_change;
  } else {
    bool progress = !ctx.json && progress_to_terminal();
    written = node::write_import(
        *opened->store, *key, *plan, ctx.clock, [progress](const node::ImportProgress& p) {
          if (!progress) return;
          std::cerr << "\rimport: " << with_commas(p.done) << " / " << with_commas(p.total)
                    << " written 已写入 ("
                    << with_commas(static_cast<std::uint64_t>(p.done / std::max(p.seconds, 1e-3)))
                    << " rows/s)" << std::flush;
        });
    if (progress) std::cerr << "\n";
  }
  std::vector<node::ImportRefusal> refused = plan->refused;
  refused.insert(refused.end(), written.refused.begin(), written.refused.end());
  std::stable_sort(refused.begin(), refused.end(),
                   [](const auto& a, const auto& b) { return a.line < b.line; });
  // The rules name a key by its short hex; people know it by its keyring name.
  if (auto keys = opened->home.list_keys())
    for (const node::KeyInfo& info : *keys)
      if (info.public_key == key->public_key())
        for (node::ImportRefusal& r : refused)
          r.reason = node::with_key_name(r.reason, info.public_key, info.name);

  if (ctx.json) {
    nlohmann::json columns = nlohmann::json::array();
    for (const node::ImportColumn& c : plan->columns)
      columns.push_back(
          {{"column", c.header},
           {"field", c.field.empty() ? nlohmann::json(nullptr) : nlohmann::json(c.field)},
           {"mapped", c.mapped},
           {"date", c.date}});
    ctx.print({{"file", command.file},
               {"format", table->format},
               {"encoding", table->encoding},
               {"header_line", table->header_line},
               {"rows", plan->rows},
               {"columns", columns},
               {"dry_run", command.dry_run},
               {"added", written.added},
               {"changed", written.changed},
               {"unchanged", plan->unchanged},
               {"refused_count", refused.size()},
               {"refused", refused_json(refused)},
               {"seconds", written.seconds}});
  } else {
    print_refused(refused);
    const char* what = command.kind == node::ImportKind::kUnits ? "units 单位" : "people 人员";
    if (command.dry_run)
      std::cout << "Dry run 试运行, nothing written 未写入: would add 将新增 "
                << with_commas(written.added) << ", change 将修改 " << with_commas(written.changed)
                << ", leave unchanged 未变 " << with_commas(plan->unchanged) << ", refuse 不导入 "
                << with_commas(refused.size()) << " (" << what << ").\n";
    else
      std::cout << "Added 新增 " << with_commas(written.added) << ", changed 修改 "
                << with_commas(written.changed) << ", unchanged 未变 "
                << with_commas(plan->unchanged) << ", refused 不导入 "
                << with_commas(refused.size()) << " (" << what << ").\n";
  }
  if (!command.dry_run && written.added + written.changed > 0) {
    char rate[64];
    std::snprintf(
        rate, sizeof rate, "%.1f s (%.0f rows/s)", written.seconds,
        static_cast<double>(written.added + written.changed) / std::max(written.seconds, 1e-3));
    std::cerr << "anwang: wrote " << with_commas(written.added + written.changed)
              << " signed ops in " << rate << "\n";
  }
  if (!written.status)
    return ctx.fail(Status::error(
        written.status.code(),
        written.status.message() + " (the " + with_commas(written.added + written.changed) +
            " rows written before it are kept; import the file again to go on)"));
  if (!refused.empty()) ctx.exit_code = kExitCheckFailed;
}

void add_import_command(CLI::App& import, Context& ctx, node::ImportKind kind) {
  auto command = std::make_shared<ImportCommand>();
  command->kind = kind;
  command->options.kind = kind;
  const bool units = kind == node::ImportKind::kUnits;
  std::string fields;
  for (const auto& [name, zh] : node::import_fields(kind))
    fields += (fields.empty() ? "" : ", ") + name + " " + zh;
  auto* sub = import.add_subcommand(
      units ? "units" : "people",
      units
          ? "Import the ledger of business units (企业台账) from a CSV or XLSX file saved by Excel"
          : "Import the list of grid members and other people (人员名单) from a CSV or XLSX file "
            "saved by Excel");
  sub->add_option("FILE", command->file,
                  "The .csv (UTF-8 or GBK) or .xlsx file; the first sheet of an .xlsx")
      ->required();
  sub->add_option("--scope", command->options.default_scope,
                  "Village or grid code for rows whose 村/网格 cells are empty; names of villages "
                  "and grids are looked "
                  "up within it first");
  sub->add_option("--map", command->options.mappings,
                  "\"列名=field\": fill a field from a column whose header is not recognised; "
                  "repeat for several. "
                  "Fields: " +
                      fields);
  sub->add_flag("--dry-run", command->dry_run,
                "Check every row and list those that would be refused, writing nothing");
  sub->footer(std::string(
      "Exit codes: 0 every row written (or, with --dry-run, none would be refused); 1 some rows "
      "refused (listed with their line numbers), every other row written; 3 the file or the "
      "command line cannot be used, nothing written; 4 no node home or key; 5 store or disk "
      "error (the rows written before it are kept: import the file again to go on). Importing "
      "the same file again writes nothing; a row whose fields changed writes one edit."));
  sub->callback([&ctx, command] { run_import(ctx, *command); });
}

}  // namespace

void add_import_commands(CLI::App& app, Context& ctx) {
  auto* import = app.add_subcommand(
      "import", "Import a ledger or a list of people from Excel (从 Excel 导入)");
  import->require_subcommand(1);
  add_import_command(*import, ctx, node::ImportKind::kUnits);
  add_import_command(*import, ctx, node::ImportKind::kPeople);
}

}  // namespace anwang::cli
