// lmdb.h — thin RAII wrappers over LMDB.
//
// LmdbEnv owns an MDB_env; Txn owns a transaction and aborts it on destruction unless it was
// committed, so an early return never leaves a half-done write. LMDB errors become Statuses:
// MDB_MAP_FULL is Status::Code::kStoreFull (an operating error), anything else kIoError.
// A write Txn must be used by the thread that began it; never hold one across a wait.
#pragma once

#include <lmdb.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "crdt/bytes.h"
#include "crdt/status.h"

namespace anwang::node {

Status lmdb_status(int rc, const std::string& doing);

class LmdbEnv {
 public:
  // Opens (creating) the environment in directory `dir`. Clears stale reader slots.
  // `durable`: a commit is on disk when it returns (see StoreOptions::durable_commits).
  static Result<std::unique_ptr<LmdbEnv>> open(const std::filesystem::path& dir, std::uint64_t map_bytes,
                                               unsigned tables_max, bool durable = true);
  ~LmdbEnv();
  LmdbEnv(const LmdbEnv&) = delete;
  LmdbEnv& operator=(const LmdbEnv&) = delete;

  MDB_env* get() const { return env_; }
  int stale_readers_cleared() const { return stale_readers_cleared_; }
  std::uint64_t map_bytes() const;
  std::uint64_t file_bytes() const;
  // The bytes of the pages in use as of now (the last page number + 1, times the page size): about
  // what a compacting copy writes, for progress.
  std::uint64_t used_bytes() const;
  // Writes a compacting copy of the environment (mdb_env_copyfd2 with MDB_CP_COMPACT: free pages
  // left out, pages renumbered) to `fd`, a file or a pipe, from one read transaction: a consistent
  // snapshot while writers go on. Blocks until the copy is written; `fd` stays open.
  Status copy_compact_to(int fd) const;
  // Writes a compacted copy of the environment's data file to `file` (created; it must not
  // exist), consistent as of one read transaction, with the data file's permissions, and syncs
  // it. Writers go on meanwhile.
  Status copy_compacted(const std::filesystem::path& file) const;

 private:
  explicit LmdbEnv(MDB_env* env) : env_(env) {}
  MDB_env* env_;
  int stale_readers_cleared_ = 0;
};

class Txn {
 public:
  enum class Mode { kRead, kWrite };
  static Result<Txn> begin(const LmdbEnv& env, Mode mode);
  Txn(Txn&& other) noexcept : txn_(other.txn_), mode_(other.mode_) { other.txn_ = nullptr; }
  Txn& operator=(Txn&&) = delete;
  Txn(const Txn&) = delete;
  ~Txn() { abort(); }

  MDB_txn* get() const { return txn_; }
  bool is_write() const { return mode_ == Mode::kWrite; }
  Status commit();
  void abort();

  // nullopt when absent; an error Status only for LMDB failures.
  Result<std::optional<ByteView>> get(MDB_dbi table, ByteView key) const;
  Status put(MDB_dbi table, ByteView key, ByteView value, unsigned flags = 0);
  // Ok whether or not the key existed.
  Status del(MDB_dbi table, ByteView key);
  std::uint64_t entries(MDB_dbi table) const;

 private:
  Txn(MDB_txn* txn, Mode mode) : txn_(txn), mode_(mode) {}
  MDB_txn* txn_;
  Mode mode_;
};

// A cursor over one table, closed on destruction. Keys and values point into the map and are
// valid until the transaction ends.
class Cursor {
 public:
  static Result<Cursor> open(const Txn& txn, MDB_dbi table);
  Cursor(Cursor&& other) noexcept : cursor_(other.cursor_) { other.cursor_ = nullptr; }
  Cursor(const Cursor&) = delete;
  Cursor& operator=(const Cursor&) = delete;
  ~Cursor();

  // Position at the first key >= `key` (or the first key when `key` is empty).
  bool seek(ByteView key);
  bool first();
  bool last();
  bool next();
  bool prev();
  ByteView key() const { return ByteView(static_cast<const std::uint8_t*>(key_.mv_data), key_.mv_size); }
  ByteView value() const { return ByteView(static_cast<const std::uint8_t*>(value_.mv_data), value_.mv_size); }
  // Deletes the entry under the cursor.
  Status del();

 private:
  explicit Cursor(MDB_cursor* cursor) : cursor_(cursor) {}
  bool move(MDB_cursor_op op);
  MDB_cursor* cursor_;
  MDB_val key_{};
  MDB_val value_{};
};

inline bool starts_with(ByteView bytes, ByteView prefix) {
  return bytes.size() >= prefix.size() && std::equal(prefix.begin(), prefix.end(), bytes.begin());
}

}  // namespace anwang::node
