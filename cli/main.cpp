// anwang — the command line of an anwang node. Parses arguments, runs one command, exits.
#include <sodium.h>

#include <iostream>

#include "cli/context.h"

int main(int argc, char** argv) {
  if (sodium_init() < 0) {
    std::cerr << "anwang: libsodium failed to initialise\n";
    return anwang::cli::kExitStore;
  }
  anwang::node::pretend_earlier_release_from_environment();
  anwang::cli::Context ctx;
  CLI::App app{"anwang (安网): a node of the grid-based work-safety supervision network "
               "(安全生产网格化管理). Works on the local node home whether or not anwangd runs."};
  app.footer(anwang::cli::kExitCodesHelp);
  app.require_subcommand(1);
  app.fallthrough();
  app.add_option("--home", ctx.home_flag, "Node home directory (default: $ANWANG_HOME, else ~/.anwang)");
  app.add_option("--as", ctx.acting_key_name, "Key name from the keyring that acts (signs) for this command");
  app.add_option("--passphrase-file", ctx.passphrase_file,
                 "File whose first line is the passphrase of a protected key (default: "
                 "$ANWANG_PASSPHRASE_FILE, else asked on the terminal)");
  app.add_flag("--json", ctx.json, "Print JSON for scripts instead of text");
  anwang::cli::add_key_commands(app, ctx);
  anwang::cli::add_op_commands(app, ctx);
  anwang::cli::add_authority_commands(app, ctx);
  anwang::cli::add_hazard_commands(app, ctx);
  anwang::cli::add_record_commands(app, ctx);
  anwang::cli::add_people_commands(app, ctx);
  anwang::cli::add_bundle_commands(app, ctx);
  anwang::cli::add_sync_commands(app, ctx);
  anwang::cli::add_state_commands(app, ctx);
  anwang::cli::add_import_commands(app, ctx);
  anwang::cli::add_backup_commands(app, ctx);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? anwang::cli::kExitOk : anwang::cli::kExitUsage;
  }
  return ctx.exit_code;
}
