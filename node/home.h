// home.h — a node home: the directory that is one anwang node.
//
//   HOME/anwang.toml      configuration (optional; defaults below)
//   HOME/node.key         the node's own Ed25519 key (0600)
//   HOME/keys/NAME.key    the keyring: person keys used on this node (0600 each)
//   HOME/store/           the LMDB environment
//
// Key files are versioned text, described in node/KEYRING.md. The node key is
// "anwang-ed25519-v1" then the 32-byte seed in hex. A person key is bound to the node it signs
// on ("anwang-ed25519-v2": the seed and that node's key), because one key signing on two nodes
// between syncs reuses sequence numbers and is an equivocation. A key file bound to another
// node is refused here; a v1 person key file (earlier releases) is bound to this node the first
// time it signs here. A person key may be protected by its holder's passphrase
// ("anwang-ed25519-v3": the seed sealed with a key derived from the passphrase by Argon2id); it
// signs only when the passphrase is given. Moving a key is explicit: export_key writes a move file
// and leaves a "moved" marker without the seed; import_key binds the key to the new node. Secrets
// are wiped from memory after use. Randomness for new keys and the clock of a move are injected, so tests
// and the simulator can make keys deterministically. A NodeHome is used from one thread; two
// processes may share a home (the CLI and anwangd): key files are replaced by rename, never
// rewritten in place.
#pragma once

#include <array>
#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crdt/hlc.h"
#include "crdt/keys.h"
#include "crdt/limits.h"
#include "crdt/status.h"
#include "node/store.h"

namespace anwang::node {

class RandomSource {
 public:
  virtual ~RandomSource() = default;
  virtual void fill(std::uint8_t* out, std::size_t size) = 0;
};

// libsodium's randombytes_buf: the real thing.
class SystemRandom final : public RandomSource {
 public:
  void fill(std::uint8_t* out, std::size_t size) override;
};

// The wall clock (CLOCK_REALTIME), the real PhysicalClock.
class SystemClock final : public PhysicalClock {
 public:
  std::uint64_t now_ms() const override;
};

// The clock `anwang` and `anwangd` run on: the wall clock; or, when the environment variable
// ANWANG_FAKE_NOW_MS is set (for tests only: a Raspberry Pi that booted at 1970, a node a year
// ahead), that many ms since 1970 when the clock is made, advancing with real time from there.
class ProcessClock final : public PhysicalClock {
 public:
  ProcessClock();
  std::uint64_t now_ms() const override;

 private:
  std::optional<std::uint64_t> fake_start_ms_;
  std::chrono::steady_clock::time_point started_;
};

struct Config {
  std::uint64_t map_bytes = 0;  // 0: default
  std::string listen;           // "HOST:PORT"; empty: do not listen
  std::string log_level = "info";
  struct Neighbour {
    std::string address;                // "HOST:PORT"
    std::uint64_t blob_budget_bytes = 0;  // attachment bytes per session on this link; 0: no limit
    // `key = "hex"`: the node key expected at this address (pinned); a session with any other
    // node fails at the handshake. Not set: any node enrolled in the network.
    std::optional<PublicKey> key;
  };
  std::vector<Neighbour> neighbours;    // the nodes anwangd dials
  int sync_interval_s = 60;
  // [web]: where anwangd serves the web UI and its API (node/web_server.h). Not set in the file:
  // the default, 127.0.0.1:8088, this machine only (anwangd goes on without the UI if that port is
  // taken). Empty: no web UI. A village PC serving phones names its LAN address.
  std::optional<std::string> web_listen;
  std::string web_tls_certificate;  // PEM files: both, or neither (plain HTTP)
  std::string web_tls_key;
  // An MBTiles file of raster basemap tiles for the map (node/mbtiles.h); empty: no basemap.
  std::string web_mbtiles;
};

// Tests of mixed releases only: ANWANG_TEST_PAYLOAD_VARIANTS=N makes this process read payload
// variants from N on, and ANWANG_TEST_RECORD_KINDS=unit,inspection,… record kinds not listed, as a
// release that does not know them would (pretend_earlier_release_for_testing, crdt/op.h). Called
// at the start of anwang and anwangd, before any op is decoded. Unset: nothing changes.
void pretend_earlier_release_from_environment();

// Reads HOME/anwang.toml if present. Errors name the file, the key and the rule.
Result<Config> load_config(const std::filesystem::path& home);

using limits::key_file_bytes_max;
using limits::key_move_path_bytes_max;

// Passphrases of protected person keys and the cost of deriving a key from one (node/KEYRING.md,
// version 3). Kept here beside the key file limits until they move to crdt/limits.h.
// At least 8 bytes: the floor NIST SP 800-63B sets for a secret a person chooses; shorter ones
// are the first tried from lists of common passwords.
inline constexpr std::size_t passphrase_bytes_min = 8;
// At most 1,024 bytes: far beyond any sentence a person types or a script writes, and what the
// node hashes (or reads from a passphrase file) stays small.
inline constexpr std::size_t passphrase_bytes_max = 1024;
// The Argon2id cost a key file may ask for when it is read. The files this release writes ask
// for libsodium's "interactive" cost (2 passes over 64 MiB, a fraction of a second; fine on a
// Raspberry Pi), and store it so a later release may raise it. A file asking for more than these
// maxima is refused as damaged before anything is allocated: a hostile key file must not make
// the node allocate gigabytes or hash for minutes.
inline constexpr std::uint64_t key_kdf_passes_max = 8;
inline constexpr std::uint64_t key_kdf_memory_bytes_max = std::uint64_t{256} << 20;
static_assert(passphrase_bytes_min >= 1 && passphrase_bytes_min < passphrase_bytes_max,
              "a passphrase is never empty, and the rules leave some passphrase allowed");
static_assert(passphrase_bytes_max + 2 < key_file_bytes_max, "a passphrase file's first line is read whole");

// A secret text (a passphrase, a key file's text) that is wiped when it goes, including the
// bytes past its end in its buffer. Neither copied nor moved: a moved short string leaves its
// bytes behind.
struct SecretText {
  std::string text;
  SecretText() = default;
  SecretText(const SecretText&) = delete;
  SecretText& operator=(const SecretText&) = delete;
  ~SecretText();
  // Wipes the text and empties it.
  void clear();
};

// A 32-byte key from `passphrase` and a 16-byte `salt` by Argon2id (version 1.3, libsodium's
// crypto_pwhash) at the cost given, into `out`; the caller wipes it. REQUIRES: the cost lies within
// Argon2id's minimum and key_kdf_passes_max / key_kdf_memory_bytes_max. An error when the memory
// cannot be had.
Status derive_passphrase_key(std::string_view passphrase, const std::uint8_t* salt, std::uint64_t passes,
                             std::uint64_t memory_bytes, std::array<std::uint8_t, 32>& out);

// Whether `passphrase` may protect a key: not empty, passphrase_bytes_min to
// passphrase_bytes_max bytes. The error is one sentence.
Status check_new_passphrase(std::string_view passphrase);

// How NodeHome::load_key says a passphrase was wrong: Status code kRefused, a message starting
// with this text and the key's name. Callers count failed attempts with is_wrong_passphrase.
inline constexpr const char* kWrongPassphrase = "wrong passphrase for key ";
bool is_wrong_passphrase(const Status& status);
// Whether load_key refused because the key is protected and no passphrase was given (Status code
// kRefused, "key NAME is protected by a passphrase: give it …").
bool is_passphrase_needed(const Status& status);

// Where a key of the keyring may sign.
enum class KeyBinding : std::uint8_t {
  // Bound to this node (v2): signs here.
  kThisNode,
  // A v1 key file of an earlier release: bound to this node the first time it signs here.
  kUnbound,
  // Moved to another node with 'anwang key export': the seed left with the move file.
  kMovedAway,
  // Bound to another node (a key file copied by hand): refused here.
  kOtherNode,
};
// "this_node", "unbound", "moved", "other_node": as `anwang key list --json` prints them.
const char* key_binding_name(KeyBinding binding);

struct KeyInfo {
  std::string name;
  PublicKey public_key;
  KeyBinding binding = KeyBinding::kThisNode;
  std::optional<PublicKey> node;  // the node it is bound to, or (moved) the node it left: v2 only
  std::string moved_to;           // kMovedAway: the move file written, as an absolute path
  std::string moved_at;           // kMovedAway: when, "2026-11-22T17:54:59.274Z" (UTC)
  bool is_protected = false;      // the file holds the seed sealed by a passphrase (v3)
};

// The latest op of a key on the node it leaves: the node it moves to continues after it.
struct KeyChainHead {
  std::uint64_t seq = 0;
  Hash32 id;
  std::uint64_t hlc = 0;
};

// A move file ("anwang-key-move-v1", node/KEYRING.md), read and checked.
struct KeyMove {
  std::string name;
  KeyPair key;
  PublicKey from_node;
  std::optional<KeyChainHead> head;  // none when the key never signed on the node it left
  std::string moved_at;
};

// Reads and checks a move file; nothing is written. Errors are one sentence naming the file and
// what is wrong with it.
Result<KeyMove> read_move_file(const std::filesystem::path& file);

class NodeHome {
 public:
  // Creates the home (directories, node key, store, default anwang.toml). Idempotent: an
  // existing node key is kept.
  static Result<NodeHome> init(const std::filesystem::path& dir, RandomSource& random);
  // Opens an initialised home. Error if `dir` was never initialised.
  static Result<NodeHome> open(const std::filesystem::path& dir);

  const std::filesystem::path& dir() const { return dir_; }
  const Config& config() const { return config_; }
  const PublicKey& node_key() const { return node_key_; }
  Result<KeyPair> load_node_key() const;

  // Keyring.
  // A new key, bound to this node; with a passphrase, protected by it (v3; check_new_passphrase
  // first), else plain (v2, for scripts and tests).
  Result<KeyInfo> new_key(const std::string& name, RandomSource& random,
                          std::optional<std::string_view> passphrase = std::nullopt) const;
  // Every key file of the keyring with its binding, by name; nothing is rewritten.
  Result<std::vector<KeyInfo>> list_keys() const;
  Result<KeyInfo> key_info(const std::string& name) const;
  // The key NAME, to sign on this node. A key moved away or bound to another node is refused
  // with one sentence saying where it is and how to move it; a v1 key file is bound to this node
  // first (rewritten as v2, 0600). A protected key needs its passphrase: without one it is
  // refused (is_passphrase_needed), with a wrong one too (is_wrong_passphrase), and nothing is
  // written either way. A passphrase given for a plain key is not needed, and the key loads.
  Result<KeyPair> load_key(const std::string& name,
                           std::optional<std::string_view> passphrase = std::nullopt) const;
  // Protects the plain key NAME (v2 bound to this node, or v1, bound here by the same rewrite)
  // with `passphrase`: the key file is replaced at once by its v3 form. A key protected already,
  // moved away or bound to another node is refused, and nothing is written.
  Result<KeyInfo> protect_key(const std::string& name, std::string_view passphrase,
                              RandomSource& random) const;
  // A key name from the keyring (whatever its binding: only its public key is read), or a 64-hex
  // public key.
  Result<PublicKey> resolve_public_key(const std::string& name_or_hex) const;

  // Moves the key NAME out of this node: writes `file` (a new file, 0600: the seed, the name,
  // this node and `head`), then replaces the key file by a marker "moved to FILE at TIME" without
  // the seed. The key must sign here (load_key, with `passphrase` when it is protected; the move
  // file holds the seed in the clear either way). `head`: the key's latest op this node knows of.
  Result<KeyInfo> export_key(const std::string& name, const std::filesystem::path& file,
                             const std::optional<KeyChainHead>& head, const PhysicalClock& clock,
                             std::optional<std::string_view> passphrase = std::nullopt) const;
  // Whether `move` may enter the keyring as `name`: no other key by that name, and the key not
  // already signing here under any name. A marker or a copy of the same key bound elsewhere is
  // replaced. Nothing is written.
  Status check_import(const KeyMove& move, const std::string& name) const;
  // Writes the key of `move` as `name`, bound to this node. REQUIRES: check_import passed, and
  // the caller recorded move.head in the store first (Store::adopt_key_head), so the key never
  // signs here before its number is known.
  Result<KeyInfo> import_key(const KeyMove& move, const std::string& name) const;
  // The same, the key protected by `passphrase` (check_new_passphrase first).
  Result<KeyInfo> import_key(const KeyMove& move, const std::string& name,
                             std::string_view passphrase, RandomSource& random) const;

  // `clock`: the node's clock for overdue flags (StoreOptions::clock); not owned.
  Result<std::unique_ptr<Store>> open_store(const PhysicalClock* clock = nullptr) const;

 private:
  NodeHome(std::filesystem::path dir, Config config, PublicKey node_key)
      : dir_(std::move(dir)), config_(std::move(config)), node_key_(node_key) {}
  std::filesystem::path key_path(const std::string& name) const {
    return dir_ / "keys" / (name + ".key");
  }
  std::filesystem::path dir_;
  Config config_;
  PublicKey node_key_;
};

Status check_key_name(const std::string& name);

}  // namespace anwang::node
