// context.h — what every `anwang` command shares: global flags, the node home, output, exit codes.
// Single-threaded; lives for one invocation.
#pragma once

#include <CLI/CLI.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "node/home.h"
#include "node/standing.h"

namespace anwang::cli {

// Exit codes, documented in `anwang --help`.
enum ExitCode : int {
  kExitOk = 0,
  kExitCheckFailed = 1,  // the command ran and the answer is "no": verify found problems, ops refused, a bundle damaged
  kExitUsage = 2,        // the command line itself is wrong
  kExitInvalid = 3,      // input breaks a rule; nothing was written
  kExitNotFound = 4,     // no node home, key or op by that name
  kExitStore = 5,        // the store or the disk failed (full, I/O); nothing was written
};

inline constexpr const char* kExitCodesHelp =
    "Exit codes: 0 ok; 1 check failed (verify found problems, some ops refused, a damaged bundle imported up to "
    "the damage); 2 bad command line; "
    "3 input breaks a rule, nothing written; 4 node, key or op not found; 5 store or disk error "
    "(store full, I/O), nothing written.";

struct Context {
  std::string home_flag;
  std::string acting_key_name;
  bool json = false;
  int exit_code = kExitOk;
  // This process's clock: the wall clock, or ANWANG_FAKE_NOW_MS in tests (node::ProcessClock).
  node::ProcessClock clock;
  bool clock_warned = false;  // the command said once that this node's clock is off

  std::filesystem::path home_dir() const;
  Result<node::NodeHome> open_home() const;
  // The key named by --as, or the keyring's only key.
  Result<KeyPair> acting_key(const node::NodeHome& home) const;

  // Prints the error (stderr; with --json also {"error", "exit_code"} on stdout) and sets exit_code.
  void fail(const Status& status);
  void print(const nlohmann::json& value) const;
};

int exit_code_for(const Status& status);

// The node home and its store, opened together by every command that reads or writes ops.
struct Opened {
  node::NodeHome home;
  std::unique_ptr<node::Store> store;
};
Result<Opened> open_all(const Context& ctx);

// Signs and writes one op (Store::author), stamped with this node's trusted time. When this
// node's clock is off, prints one warning line on stderr (once per command) saying what it read
// and what was used instead; a refusal names the key by its keyring name.
Result<Op> author_op(Context& ctx, Opened& opened, const KeyPair& key, const node::OpDraft& draft);

// Refused ops, as import commands print them: each named by its id (the hash of its bytes), with
// "(undecodable)" beside it only when the bytes are not an op at all; as JSON, {id, reason,
// detail} each.
std::string refused_label(const node::IngestOutcome& refused);
nlohmann::json refusals_json(const std::vector<node::IngestOutcome>& refusals);

// Whether progress lines ("\r…") may go to stderr: only when it is a terminal. Written into a
// log file or a pipe they would pile up as one long line of carriage returns, so there only
// the final summary is printed.
bool progress_to_terminal();

// Stores each file (a photo, a scanned form) as a blob and returns the attachments to cite.
Result<std::vector<Attachment>> attach_files(node::Store& store, const std::vector<std::string>& files);

void add_key_commands(CLI::App& app, Context& ctx);
void add_op_commands(CLI::App& app, Context& ctx);
void add_authority_commands(CLI::App& app, Context& ctx);
void add_region_list(CLI::App& region, Context& ctx);
void add_hazard_commands(CLI::App& app, Context& ctx);
void add_record_commands(CLI::App& app, Context& ctx);
void add_bundle_commands(CLI::App& app, Context& ctx);
void add_sync_commands(CLI::App& app, Context& ctx);
void add_state_commands(CLI::App& app, Context& ctx);

}  // namespace anwang::cli
