// anwang backup | backup key new | restore — a node home in one encrypted file, and back
// (node/backup.h, node/BACKUP.md).
#include <iostream>

#include "cli/context.h"
#include "crdt/hlc.h"
#include "node/backup.h"

namespace anwang::cli {

namespace {

std::string hex_of(const node::BackupPublicKey& key) { return to_hex(ByteView(key.data(), key.size())); }

// "12.3 MiB", or "420 KiB" below a MiB.
std::string mib(std::uint64_t bytes) {
  char text[32];
  if (bytes < (1 << 20))
    std::snprintf(text, sizeof text, "%llu KiB", static_cast<unsigned long long>((bytes + 1023) / 1024));
  else
    std::snprintf(text, sizeof text, "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  return text;
}

// Stores larger than this show their progress on a terminal.
constexpr std::uint64_t kProgressFromBytes = 16ull << 20;

struct BackupArgs {
  std::string file, to_key;
  bool force = false;
};

void run_backup(Context& ctx, const BackupArgs& args) {
  if (args.file.empty()) return ctx.fail_usage("give the backup's file: anwang backup FILE");
  if (!args.to_key.empty() && !ctx.passphrase_file.empty())
    return ctx.fail_usage("a backup is sealed to a backup key (--to-key) or by a passphrase (--passphrase-file), not both");
  node::BackupOptions options;
  options.existing = args.force ? node::ExistingFile::kReplace : node::ExistingFile::kRefuse;
  options.now_ms = ctx.clock.now_ms();
  Passphrase passphrase;
  if (!args.to_key.empty()) {
    options.to_key = node::parse_backup_public_key(args.to_key);
    if (!options.to_key)
      return ctx.fail(Status::invalid("--to-key must be the county's backup public key, 64 hex digits (as 'anwang backup key new' printed it)"));
  } else {
    if (Status s = ctx.passphrase_for("Passphrase for the backup 备份密码: ", true, passphrase); !s) return ctx.fail(s);
    if (!passphrase.given)
      return ctx.fail_usage("a backup is sealed to the county's backup key or by a passphrase: give --to-key KEY or "
                            "--passphrase-file FILE, or run the command on a terminal to be asked for a passphrase");
    options.passphrase = passphrase.view();
  }
  auto opened = open_all(ctx);
  if (!opened) return ctx.fail(opened.status());
  bool progress = !ctx.json && progress_to_terminal();
  bool shown = false;
  options.progress = [progress, &shown](std::uint64_t done, std::uint64_t expected) {
    if (!progress || expected < kProgressFromBytes) return;
    std::cerr << "\rbacking up the store 备份存储: " << mib(done) << " of about " << mib(std::max(done, expected))
              << std::flush;
    shown = true;
  };
  node::SystemRandom random;
  auto report = node::write_backup(opened->home, *opened->store, args.file, options, random);
  if (shown) std::cerr << "\n";
  if (!report) return ctx.fail(report.status());
  std::string sealed = options.to_key ? "backup_key" : "passphrase";
  if (ctx.json)
    return ctx.print({{"file", args.file},
                      {"node", opened->home.node_key().hex()},
                      {"files", report->files},
                      {"store_bytes", report->store_bytes},
                      {"bytes", report->file_bytes},
                      {"sealed", sealed},
                      {"to_key", options.to_key ? nlohmann::json(hex_of(*options.to_key)) : nlohmann::json(nullptr)},
                      {"left_out", report->left_out}});
  std::cout << "Backup 备份 " << args.file << ": node " << opened->home.node_key().short_hex() << ", "
            << report->files.size() << " files (the store compacted to " << mib(report->store_bytes) << "), "
            << report->file_bytes << " bytes, sealed "
            << (options.to_key ? "to backup key " + hex_of(*options.to_key).substr(0, 12) : std::string("by a passphrase"))
            << "\n";
  if (!report->left_out.empty()) {
    std::cout << "Left out 未备份 (not part of the node's state):";
    for (const std::string& name : report->left_out) std::cout << " " << name;
    std::cout << "\n";
  }
}

void run_backup_key_new(Context& ctx, const std::string& file) {
  node::SystemRandom random;
  auto public_key = node::create_backup_key_file(file, random);
  if (!public_key) return ctx.fail(public_key.status());
  if (ctx.json) return ctx.print({{"file", file}, {"public_key", hex_of(*public_key)}});
  std::cout << "Backup key 备份密钥 written to " << file
            << " (0600). Keep it offline: whoever holds it can open every backup sealed to it.\n"
            << "Public key for the nodes (anwang backup FILE --to-key KEY):\n"
            << hex_of(*public_key) << "\n";
}

struct RestoreArgs {
  std::string file, key_file;
  bool force = false;
};

void run_restore(Context& ctx, const RestoreArgs& args) {
  auto header = node::read_backup_header(args.file);
  if (!header) return ctx.fail(header.status());
  node::RestoreOptions options;
  options.force = args.force;
  options.now_ms = ctx.clock.now_ms();
  Passphrase passphrase;
  std::unique_ptr<node::BackupKey> key;
  if (header->seal == node::BackupSeal::kPassphrase) {
    if (Status s = ctx.passphrase_for("Passphrase of the backup 备份密码: ", false, passphrase); !s) return ctx.fail(s);
    if (!passphrase.given)
      return ctx.fail_usage("the backup " + args.file + " is sealed by a passphrase: give it with --passphrase-file FILE, "
                            "or run the command on a terminal to be asked for it");
    options.passphrase = passphrase.view();
  } else {
    if (args.key_file.empty())
      return ctx.fail_usage("the backup " + args.file + " is sealed to the backup key " + hex_of(*header->to_key) +
                            ": give that key's file with --key-file FILE");
    auto read = node::read_backup_key_file(args.key_file);
    if (!read) return ctx.fail(read.status());
    key = std::move(*read);
    options.key = key.get();
  }
  std::filesystem::path home = ctx.home_dir();
  auto report = node::restore_backup(args.file, home, options);
  if (!report) return ctx.fail(report.status());
  std::string taken = hlc_display(hlc_from_ms(report->created_ms), TimeShown::kIso);
  if (ctx.json)
    return ctx.print({{"home", home.string()},
                      {"node", report->node.hex()},
                      {"backup_taken", taken},
                      {"files", report->files},
                      {"store_bytes", report->store_bytes},
                      {"ops", report->ops},
                      {"replaced", report->replaced},
                      {"replaced_to", report->replaced_to.empty() ? nlohmann::json(nullptr)
                                                                  : nlohmann::json(report->replaced_to.string())}});
  std::cout << "Restored 已恢复 node " << report->node.short_hex() << " from the backup taken " << taken << " into "
            << home.string() << ": " << report->files.size() << " files, " << report->ops << " ops\n";
  if (!report->replaced.empty()) {
    std::cout << "Replaced 已替换 (moved aside into " << report->replaced_to.string() << "):";
    for (const std::string& name : report->replaced) std::cout << " " << name;
    std::cout << "\n";
  }
  std::cout << "Its keys do not sign until a sync session with a neighbour has finished (start anwangd, or run "
               "'anwang sync HOST:PORT'): the keys may have signed after the backup was taken.\n";
}

}  // namespace

void add_backup_commands(CLI::App& app, Context& ctx) {
  auto backup_args = std::make_shared<BackupArgs>();
  auto* backup = app.add_subcommand(
      "backup",
      "Back up this node (备份) while it runs: its node key, keyring, anwang.toml and a compacted copy of its store, "
      "in one file sealed to the county's backup key (--to-key) or by a passphrase (--passphrase-file, or asked "
      "twice on the terminal). The file is written whole or not at all. Restore it with 'anwang restore'.");
  backup->require_subcommand(0, 1);
  backup->add_option("FILE", backup_args->file, "The backup file to write (refused if it exists, unless --force)");
  backup->add_option("--to-key", backup_args->to_key,
                     "Seal the backup to the county's backup public key (64 hex digits, from 'anwang backup key new')");
  backup->add_flag("--force", backup_args->force, "Replace FILE if it exists");
  auto key_file = std::make_shared<std::string>();
  auto* key = backup->add_subcommand("key", "The county's backup key (备份密钥)");
  key->require_subcommand(1);
  auto* key_new = key->add_subcommand(
      "new",
      "Make a backup key pair: writes its secret to FILE (0600, never over another file; keep it offline, e.g. on a "
      "USB stick in the county office) and prints the public key that nodes back up to");
  key_new->add_option("FILE", *key_file, "The file for the key pair")->required();
  key_new->callback([&ctx, key_file] { run_backup_key_new(ctx, *key_file); });
  backup->callback([&ctx, backup_args, key] {
    if (key->parsed()) return;
    run_backup(ctx, *backup_args);
  });

  auto restore_args = std::make_shared<RestoreArgs>();
  auto* restore = app.add_subcommand(
      "restore",
      "Restore a node from a backup (恢复) into the home given by --home (empty or new; with --force over a node, "
      "whose files are moved aside into HOME/replaced-TIME). Stop anwangd on that home first. Every record is "
      "authenticated; a damaged or cut backup writes nothing (exit 3), nor does a wrong passphrase or key (exit 1). "
      "The restored node's keys do not sign until a sync session with a neighbour has finished.");
  restore->add_option("FILE", restore_args->file, "The backup file")->required();
  restore->add_option("--key-file", restore_args->key_file,
                      "For a backup sealed to the county's backup key: that key's file (from 'anwang backup key new')");
  restore->add_flag("--force", restore_args->force,
                    "Restore over a home that holds a node: its node.key, keys/, store/ and anwang.toml are moved aside");
  restore->callback([&ctx, restore_args] { run_restore(ctx, *restore_args); });
}

}  // namespace anwang::cli
