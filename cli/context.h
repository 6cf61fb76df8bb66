// context.h — what every `anwang` command shares: global flags, the node home, output, exit codes.
// Single-threaded; lives for one invocation.
#pragma once

#include <CLI/CLI.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "node/home.h"
#include "node/people.h"
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

// A passphrase read for one command (node/KEYRING.md, version 3), wiped when it goes.
struct Passphrase {
  node::SecretText secret;
  bool given = false;
  // The passphrase for NodeHome, or nullopt when none was given.
  std::optional<std::string_view> view() const {
    return given ? std::optional<std::string_view>(secret.text) : std::nullopt;
  }
};

// The environment variable naming a passphrase file, as --passphrase-file does.
inline constexpr const char* kPassphraseFileVariable = "ANWANG_PASSPHRASE_FILE";

struct Context {
  std::string home_flag;
  std::string acting_key_name;
  // --passphrase-file: a file whose first line is the passphrase of a protected key (to sign
  // with it, or for key new, key protect and key import the new key's passphrase).
  std::string passphrase_file;
  bool json = false;
  int exit_code = kExitOk;
  // This process's clock: the wall clock, or ANWANG_FAKE_NOW_MS in tests (node::ProcessClock).
  node::ProcessClock clock;
  bool clock_warned = false;  // the command said once that this node's clock is off

  std::filesystem::path home_dir() const;
  Result<node::NodeHome> open_home() const;
  // The key named by --as, or the keyring's only key (load_key below).
  Result<KeyPair> acting_key(const node::NodeHome& home) const;
  // The key NAME, to sign with. When it is protected, its passphrase comes from
  // --passphrase-file, else the file named by ANWANG_PASSPHRASE_FILE, else is asked for on the
  // terminal; with none of them NodeHome::load_key's sentence says how to give it.
  Result<KeyPair> load_key(const node::NodeHome& home, const std::string& name) const;
  // The passphrase of the protected key NAME, from the sources load_key uses. Nothing is given
  // (out.given false) when the key is not protected or no source is at hand.
  Status passphrase_to_unlock(const node::NodeHome& home, const std::string& name,
                              Passphrase& out) const;
  // A new passphrase for the key NAME (key new, protect, import): from --passphrase-file, else
  // ANWANG_PASSPHRASE_FILE, else asked twice on the terminal; checked (node::check_new_passphrase).
  // Not given (out.given false, ok) when no source is at hand: the caller says what to do.
  Status new_passphrase(const std::string& name, Passphrase& out) const;
  // A passphrase for something other than a key (a backup), from the same sources: `is_new`, asked
  // twice on a terminal and checked as a new passphrase; else asked once. `prompt` is what the
  // terminal shows. Not given (out.given false, ok) when no source is at hand.
  Status passphrase_for(const std::string& prompt, bool is_new, Passphrase& out) const;

  // Prints the error (stderr; with --json also {"error", "exit_code"} on stdout) and sets exit_code.
  void fail(const Status& status);
  // A command line that cannot run as given: prints `message` as fail() does, exit code 2.
  void fail_usage(const std::string& message);
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
// The same for several drafts, written together or not at all (Store::author_all).
// REQUIRES: 1 to limits::ingest_batch_ops_max drafts.
Result<std::vector<Op>> author_ops(Context& ctx, Opened& opened, const KeyPair& key, std::span<const node::OpDraft> drafts);

// Refused ops, as import commands print them: each named by its id (the hash of its bytes), with
// "(undecodable)" beside it only when the bytes are not an op at all; as JSON, {id, reason,
// detail} each.
std::string refused_label(const node::IngestOutcome& refused);
nlohmann::json refusals_json(const std::vector<node::IngestOutcome>& refusals);

// Whether progress lines ("\r…") may go to stderr: only when it is a terminal. Written into a
// log file or a pipe they would pile up as one long line of carriage returns, so there only
// the final summary is printed.
bool progress_to_terminal();

// `text` cut to at most `columns` terminal columns, whole UTF-8 characters only, with "…" when
// cut. A Chinese character takes two columns.
std::string clip_to_columns(std::string_view text, std::size_t columns);

// Stores each file (a photo, a scanned form) as a blob and returns the attachments to cite.
Result<std::vector<Attachment>> attach_files(node::Store& store, const std::vector<std::string>& files);

// Who a key is, as people say it: the name on its person's profile (node/people.h), else the
// name this keyring gives the key, else its fingerprint.
class KeyLabels {
 public:
  static Result<KeyLabels> load(const Opened& opened);
  std::string operator()(const PublicKey& key) const;
  // The profile name alone ("" when none), for --json.
  std::string name(const PublicKey& key) const;
  const node::People& people() const { return people_; }

 private:
  node::People people_;
  std::map<PublicKey, std::string> keyring_;
};

// The key the CLI acts with (--as, or the keyring's only key), without unlocking it: whose view
// decides which phone numbers are shown. None when no key is chosen.
std::optional<PublicKey> viewer_key(const Context& ctx, const node::NodeHome& home);

void add_key_commands(CLI::App& app, Context& ctx);
void add_op_commands(CLI::App& app, Context& ctx);
void add_authority_commands(CLI::App& app, Context& ctx);
void add_region_list(CLI::App& region, Context& ctx);
void add_region_import(CLI::App& region, Context& ctx);
void add_hazard_commands(CLI::App& app, Context& ctx);
void add_record_commands(CLI::App& app, Context& ctx);
void add_people_commands(CLI::App& app, Context& ctx);
void add_bundle_commands(CLI::App& app, Context& ctx);
void add_sync_commands(CLI::App& app, Context& ctx);
void add_state_commands(CLI::App& app, Context& ctx);
void add_import_commands(CLI::App& app, Context& ctx);
void add_backup_commands(CLI::App& app, Context& ctx);

}  // namespace anwang::cli
