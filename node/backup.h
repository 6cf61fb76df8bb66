// backup.h — a node home in one encrypted file, and back again (node/BACKUP.md has the format).
//
// write_backup carries what brings a node back: its node key, its keyring (each key file as it
// is, protected ones still sealed by their holders' passphrases), anwang.toml, and a compacting
// copy of its store (attachments included: they live in the store). The store is copied with
// LMDB's mdb_env_copyfd2(MDB_CP_COMPACT) from one read transaction, so the copy is consistent
// while anwangd and other commands go on writing; the copy goes through a pipe to this thread,
// which seals it as it comes: no plain copy is ever staged on disk. The file is sealed with
// crypto_secretstream_xchacha20poly1305 under a key derived from a passphrase (Argon2id) or a
// random key sealed to the county's backup key (crypto_box_seal), and written as every file anwang
// writes (node/atomic_file.h): a partial file, fsynced, renamed into place.
//
// restore_backup writes a home from a backup into an empty or new directory (or, with `force`,
// over a home, whose old files are moved aside, never deleted). Every record is authenticated
// before its bytes are written, a backup cut short or with records moved is refused, and nothing
// reaches the home until the whole backup has been read, its store opened (the schema check) and
// marked restored: until a sync session has told it what its neighbours hold of each of its
// keys, none of them signs (Store::mark_restored).
//
// Both run on the calling thread (write_backup adds one for the copy, and LMDB one of its own);
// write_backup may run while another process writes the same store. Secrets (the passphrase's
// derived key, the stream key, a backup key's secret half) are wiped after use.
#pragma once

#include <array>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "node/atomic_file.h"
#include "node/home.h"

namespace anwang::node {

inline constexpr std::uint32_t kBackupVersion = 1;

// The county's backup key: an X25519 key pair (crypto_box). A backup sealed to its public key is
// opened only with its secret key, which the county office keeps in a file of its own (below).
using BackupPublicKey = std::array<std::uint8_t, 32>;
struct BackupKey {
  BackupPublicKey public_key{};
  std::array<std::uint8_t, 32> secret_key{};
  BackupKey() = default;
  BackupKey(const BackupKey&) = delete;
  BackupKey& operator=(const BackupKey&) = delete;
  ~BackupKey();
};

// Makes a backup key pair and writes it to `file` ("anwang-backup-key-v1": the public and the
// secret key in hex), a new file readable only by its owner, never over another file. Returns
// the public key, which nodes back up to.
Result<BackupPublicKey> create_backup_key_file(const std::filesystem::path& file, RandomSource& random);
// Reads a backup key file; errors name the file and what is wrong with it.
Result<std::unique_ptr<BackupKey>> read_backup_key_file(const std::filesystem::path& file);
// A backup public key from its 64 hex digits, as create_backup_key_file's caller shows it.
std::optional<BackupPublicKey> parse_backup_public_key(std::string_view hex);

// How a backup is sealed.
enum class BackupSeal : std::uint8_t { kPassphrase = 1, kBackupKey = 2 };

struct BackupOptions {
  // Exactly one: a passphrase (check_new_passphrase first), or the county's backup public key.
  std::optional<std::string_view> passphrase;
  std::optional<BackupPublicKey> to_key;
  // kRefuse: an existing file is never replaced (the default); kReplace: `--force`.
  ExistingFile existing = ExistingFile::kRefuse;
  // The Argon2id cost of a passphrase (node/BACKUP.md says why libsodium's "moderate"). Tests
  // lower it; the cost is stored in the file, and a reader accepts up to key_kdf_passes_max and
  // key_kdf_memory_bytes_max.
  std::uint64_t kdf_passes = 0;         // 0: crypto_pwhash_OPSLIMIT_MODERATE
  std::uint64_t kdf_memory_bytes = 0;   // 0: crypto_pwhash_MEMLIMIT_MODERATE
  std::uint64_t now_ms = 0;             // when, as the header says it
  // Called as the store is copied: its bytes sealed so far, and about how many there are.
  std::function<void(std::uint64_t done, std::uint64_t expected)> progress;
};

struct BackupReport {
  std::vector<std::string> files;      // what the backup holds, as paths in the home
  std::uint64_t store_bytes = 0;       // the compacted store's size
  std::uint64_t file_bytes = 0;        // the backup file's size
  std::vector<std::string> left_out;   // entries of the home not carried (web-url, scratch dirs, …)
};

// Backs up the home `home` whose store is `store` (opened by this process) to `file`. Nothing is
// left at `file` on failure. REQUIRES: exactly one of options.passphrase and options.to_key.
Result<BackupReport> write_backup(const NodeHome& home, const Store& store, const std::filesystem::path& file,
                                  const BackupOptions& options, RandomSource& random);

// What a backup says of itself before it is opened (its plain header).
struct BackupHeader {
  PublicKey node;                   // the node it is a backup of
  std::uint64_t created_ms = 0;
  BackupSeal seal = BackupSeal::kPassphrase;
  std::optional<BackupPublicKey> to_key;  // kBackupKey: the key it is sealed to
};
Result<BackupHeader> read_backup_header(const std::filesystem::path& file);

struct RestoreOptions {
  // What opens the backup: its passphrase, or the backup key it is sealed to.
  std::optional<std::string_view> passphrase;
  const BackupKey* key = nullptr;
  // Restore over a home that holds a node: its node.key, keys/, store/ and anwang.toml are moved
  // into HOME/replaced-TIME/ first (nothing is deleted). Without it such a home is refused.
  bool force = false;
  std::uint64_t now_ms = 0;  // the restored mark's time, and the name of the replaced directory
};

struct RestoreReport {
  PublicKey node;
  std::uint64_t created_ms = 0;             // when the backup was taken
  std::vector<std::string> files;           // what was written, as paths in the home
  std::uint64_t store_bytes = 0;
  std::uint64_t ops = 0;                    // in the restored store
  std::vector<std::string> replaced;        // with force: the home's entries moved aside
  std::filesystem::path replaced_to;        // … to this directory
};

// Restores `file` into the home `home_dir`. An error means nothing of the backup reached the home
// (and a directory this call made is gone again): a wrong passphrase or key, a damaged backup
// (cut short, altered, records moved), a home in use without `force`, a store this release
// cannot open, a full disk.
Result<RestoreReport> restore_backup(const std::filesystem::path& file, const std::filesystem::path& home_dir,
                                     const RestoreOptions& options);

}  // namespace anwang::node
