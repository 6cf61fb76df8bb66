// anwang bundle export | import — carrying ops by hand (a USB stick to the township).
#include <iostream>

#include "cli/context.h"
#include "node/bundle.h"

namespace anwang::cli {

namespace {

struct ExportArgs {
  std::string file, recipient;
  bool since_last = false, no_blobs = false;
};

void run_export(Context& ctx, const ExportArgs& args) {
  auto opened = open_all(ctx);
  if (!opened) return ctx.fail(opened.status());
  auto recipient = opened->home.resolve_public_key(args.recipient);
  if (!recipient) return ctx.fail(recipient.status());
  auto node_key = opened->home.load_node_key();
  if (!node_key) return ctx.fail(node_key.status());
  node::BundleExportOptions options{*recipient, args.since_last, !args.no_blobs};
  auto report = node::export_bundle(*opened->store, *node_key, options, args.file);
  if (!report) return ctx.fail(report.status());
  if (ctx.json)
    return ctx.print({{"file", args.file}, {"for", recipient->hex()}, {"scope", report->scope}, {"ops", report->ops},
                      {"blobs", report->blobs}, {"bytes", report->bytes}});
  std::cout << "Bundle 数据包 " << args.file << " for node " << recipient->short_hex() << " (" << report->scope
            << "): " << report->ops << " ops, " << report->blobs << " attachments, " << report->bytes << " bytes\n";
}

// Prints what an import committed, then why it stopped early if it did: a damaged bundle exits 1
// (check failed) with the counts of what was imported before the damage; a store failure exits
// with the store's code. Refused ops exit 1 too.
void run_import(Context& ctx, const std::string& file) {
  auto opened = open_all(ctx);
  if (!opened) return ctx.fail(opened.status());
  auto node_key = opened->home.load_node_key();
  if (!node_key) return ctx.fail(node_key.status());
  node::BundleImportOptions options;
  options.staging_dir = opened->home.dir() / "bundle-staging";
  options.staging_map_bytes = opened->home.config().map_bytes;
  auto report = node::import_bundle(*opened->store, *node_key, file, options);
  if (!report) return ctx.fail(report.status());
  const node::ImportReport& ops = report->ops;
  if (ctx.json) {
    nlohmann::json out{{"from", report->sender.hex()},
                       {"from_scopes", report->sender_scopes},
                       {"ops_read", report->ops_read},
                       {"accepted", ops.accepted},
                       {"duplicate", ops.duplicate},
                       {"pending", ops.pending},
                       {"refused", ops.refused},
                       {"blobs", report->blobs},
                       {"blobs_skipped", report->blobs_skipped},
                       {"blobs_unreferenced", report->blobs_unreferenced},
                       {"refusals", refusals_json(ops.refusals)},
                       {"damaged", report->damage.has_value()},
                       {"damage", report->damage ? nlohmann::json(*report->damage) : nlohmann::json(nullptr)}};
    if (!report->store_failure) out["error"] = report->store_failure.message();
    ctx.print(out);
  } else {
    std::cout << "From node 来自 " << report->sender.short_hex() << ": ops read 读取 " << report->ops_read
              << ": accepted 接收 " << ops.accepted << ", duplicate 重复 " << ops.duplicate << ", pending 待补父操作 "
              << ops.pending << ", refused 拒收 " << ops.refused << "; attachments 附件 " << report->blobs
              << " (held already 已有 " << report->blobs_skipped << ", refused as referenced by no op 无操作引用而拒收 "
              << report->blobs_unreferenced << ")\n";
    for (const auto& refused : ops.refusals)
      std::cout << "refused 拒收 " << refused_label(refused) << ": " << refusal_name(refused.reason) << ": "
                << refused.detail << "\n";
  }
  if (ops.refused > 0) ctx.exit_code = kExitCheckFailed;
  if (report->damage) {
    std::cerr << "anwang: " << *report->damage << "\n";
    ctx.exit_code = kExitCheckFailed;
  }
  if (!report->store_failure) {
    bool json = ctx.json;
    ctx.json = false;  // the report above carries the error already
    ctx.fail(report->store_failure);
    ctx.json = json;
  }
}

}  // namespace

void add_bundle_commands(CLI::App& app, Context& ctx) {
  auto* bundle = app.add_subcommand("bundle", "Carry ops by hand (数据包): encrypted to one node, verified on import");
  bundle->require_subcommand(1);
  auto args = std::make_shared<ExportArgs>();
  auto* exp = bundle->add_subcommand("export", "Write what a node may hold, encrypted to its node key");
  exp->add_option("FILE", args->file, "Output file")->required();
  exp->add_option("--for", args->recipient, "The receiving node's key (hex, or a keyring name)")->required();
  exp->add_flag("--since-last", args->since_last, "Only what arrived since the last bundle for that node");
  exp->add_flag("--no-blobs", args->no_blobs, "Leave photos and scans out");
  exp->callback([&ctx, args] { run_export(ctx, *args); });
  auto file = std::make_shared<std::string>();
  auto* imp = bundle->add_subcommand("import", "Verify and ingest a bundle made for this node");
  imp->add_option("FILE", *file, "Bundle file")->required();
  imp->footer("A damaged bundle (cut short, altered) is imported up to the damage: the counts say what was committed, "
              "the message where it stopped, and the exit code is 1.");
  imp->callback([&ctx, file] { run_import(ctx, *file); });
}

}  // namespace anwang::cli
