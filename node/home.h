// home.h — a node home: the directory that is one anwang node.
//
//   HOME/anwang.toml      configuration (optional; defaults below)
//   HOME/node.key         the node's own Ed25519 key (0600)
//   HOME/keys/NAME.key    the keyring: person keys used on this node (0600 each)
//   HOME/store/           the LMDB environment
//
// Key files are versioned text ("anwang-ed25519-v1" then the 32-byte seed in hex); secrets are
// wiped from memory after use. Randomness for new keys is injected (RandomSource) so tests and
// the simulator can make keys deterministically. A NodeHome is used from one thread.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "crdt/hlc.h"
#include "crdt/keys.h"
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
  };
  std::vector<Neighbour> neighbours;    // the nodes anwangd dials
  int sync_interval_s = 60;
};

// Reads HOME/anwang.toml if present. Errors name the file, the key and the rule.
Result<Config> load_config(const std::filesystem::path& home);

struct KeyInfo {
  std::string name;
  PublicKey public_key;
};

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
  Result<KeyInfo> new_key(const std::string& name, RandomSource& random) const;
  Result<std::vector<KeyInfo>> list_keys() const;
  Result<KeyPair> load_key(const std::string& name) const;
  // A key name from the keyring, or a 64-hex public key.
  Result<PublicKey> resolve_public_key(const std::string& name_or_hex) const;

  // `clock`: the node's clock for overdue flags (StoreOptions::clock); not owned.
  Result<std::unique_ptr<Store>> open_store(const PhysicalClock* clock = nullptr) const;

 private:
  NodeHome(std::filesystem::path dir, Config config, PublicKey node_key)
      : dir_(std::move(dir)), config_(std::move(config)), node_key_(node_key) {}
  std::filesystem::path dir_;
  Config config_;
  PublicKey node_key_;
};

Status check_key_name(const std::string& name);

}  // namespace anwang::node
