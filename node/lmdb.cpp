#include "node/lmdb.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cassert>
#include <cerrno>
#include <cstring>

#include "crdt/limits.h"

namespace anwang::node {

namespace {
MDB_val to_val(ByteView bytes) {
  return MDB_val{bytes.size(), const_cast<std::uint8_t*>(bytes.data())};
}
}  // namespace

Status lmdb_status(int rc, const std::string& doing) {
  if (rc == MDB_SUCCESS) return Status::ok();
  if (rc == MDB_MAP_FULL)
    return Status::error(Status::Code::kStoreFull,
                         "the store is full (its map size is used up) while " + doing +
                             ", so nothing of this write was kept: raise map_size_mib under [store] in anwang.toml "
                             "(double it, for example) and restart anwangd; reading still works");
  return Status::io_error("LMDB failed while " + doing + ": " + mdb_strerror(rc));
}

Result<std::unique_ptr<LmdbEnv>> LmdbEnv::open(const std::filesystem::path& dir, std::uint64_t map_bytes,
                                               unsigned tables_max, bool durable) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::io_error("cannot create store directory " + dir.string() + ": " + ec.message());
  MDB_env* raw = nullptr;
  if (int rc = mdb_env_create(&raw); rc != 0) return lmdb_status(rc, "creating the store environment");
  std::unique_ptr<LmdbEnv> env(new LmdbEnv(raw));
  if (int rc = mdb_env_set_maxdbs(raw, tables_max); rc != 0) return lmdb_status(rc, "setting the table count");
  if (int rc = mdb_env_set_mapsize(raw, map_bytes); rc != 0) return lmdb_status(rc, "setting the map size");
  if (int rc = mdb_env_set_maxreaders(raw, limits::store_readers_max); rc != 0)
    return lmdb_status(rc, "setting the reader count");
  // MDB_NOTLS: read transactions belong to Txn objects, not threads. No MDB_NOSYNC when durable:
  // a commit is on disk when it returns, so an acknowledged op survives a power cut.
  unsigned flags = MDB_NOTLS | (durable ? 0u : MDB_NOSYNC | MDB_WRITEMAP);
  if (int rc = mdb_env_open(raw, dir.c_str(), flags, 0600); rc != 0)
    return lmdb_status(rc, "opening the store at " + dir.string());
  int dead = 0;
  if (int rc = mdb_reader_check(raw, &dead); rc != 0) return lmdb_status(rc, "clearing stale readers");
  env->stale_readers_cleared_ = dead;
  return env;
}

LmdbEnv::~LmdbEnv() { mdb_env_close(env_); }

std::uint64_t LmdbEnv::map_bytes() const {
  MDB_envinfo info{};
  mdb_env_info(env_, &info);
  return info.me_mapsize;
}

Status LmdbEnv::copy_compacted(const std::filesystem::path& file) const {
  const char* path = nullptr;
  mdb_env_get_path(env_, &path);
  struct stat st {};
  mode_t mode = stat((std::string(path) + "/data.mdb").c_str(), &st) == 0 ? (st.st_mode & 0777) : 0600;
  int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return Status::io_error("cannot create " + file.string() + ": " + std::strerror(errno));
  Status copied = copy_compact_to(fd);
  if (copied && ::fsync(fd) != 0) copied = Status::io_error("syncing " + file.string() + ": " + std::strerror(errno));
  ::close(fd);
  if (!copied) std::filesystem::remove(file);
  return copied;
}

std::uint64_t LmdbEnv::file_bytes() const {
  const char* path = nullptr;
  mdb_env_get_path(env_, &path);
  struct stat st {};
  std::string file = std::string(path) + "/data.mdb";
  if (stat(file.c_str(), &st) != 0) return 0;
  return static_cast<std::uint64_t>(st.st_size);
}

std::uint64_t LmdbEnv::used_bytes() const {
  MDB_envinfo info{};
  MDB_stat stat{};
  mdb_env_info(env_, &info);
  mdb_env_stat(env_, &stat);
  return (static_cast<std::uint64_t>(info.me_last_pgno) + 1) * stat.ms_psize;
}

Status LmdbEnv::copy_compact_to(int fd) const {
  return lmdb_status(mdb_env_copyfd2(env_, fd, MDB_CP_COMPACT), "copying the store");
}

Result<Txn> Txn::begin(const LmdbEnv& env, Mode mode) {
  MDB_txn* txn = nullptr;
  int rc = mdb_txn_begin(env.get(), nullptr, mode == Mode::kRead ? MDB_RDONLY : 0, &txn);
  if (rc != 0) return lmdb_status(rc, mode == Mode::kRead ? "starting a read" : "starting a write");
  return Txn(txn, mode);
}

Status Txn::commit() {
  assert(txn_ != nullptr);
  int rc = mdb_txn_commit(txn_);
  txn_ = nullptr;  // committed or freed by LMDB either way
  return lmdb_status(rc, "committing");
}

void Txn::abort() {
  if (txn_ != nullptr) mdb_txn_abort(txn_);
  txn_ = nullptr;
}

Result<std::optional<ByteView>> Txn::get(MDB_dbi table, ByteView key) const {
  MDB_val k = to_val(key);
  MDB_val v{};
  int rc = mdb_get(txn_, table, &k, &v);
  if (rc == MDB_NOTFOUND) return std::optional<ByteView>();
  if (rc != 0) return lmdb_status(rc, "reading");
  return std::optional<ByteView>(ByteView(static_cast<const std::uint8_t*>(v.mv_data), v.mv_size));
}

Status Txn::put(MDB_dbi table, ByteView key, ByteView value, unsigned flags) {
  MDB_val k = to_val(key);
  MDB_val v = to_val(value);
  return lmdb_status(mdb_put(txn_, table, &k, &v, flags), "writing");
}

Status Txn::del(MDB_dbi table, ByteView key) {
  MDB_val k = to_val(key);
  int rc = mdb_del(txn_, table, &k, nullptr);
  if (rc == MDB_NOTFOUND) return Status::ok();
  return lmdb_status(rc, "deleting");
}

std::uint64_t Txn::entries(MDB_dbi table) const {
  MDB_stat stat{};
  mdb_stat(txn_, table, &stat);
  return stat.ms_entries;
}

Result<Cursor> Cursor::open(const Txn& txn, MDB_dbi table) {
  MDB_cursor* cursor = nullptr;
  if (int rc = mdb_cursor_open(txn.get(), table, &cursor); rc != 0) return lmdb_status(rc, "opening a cursor");
  return Cursor(cursor);
}

Cursor::~Cursor() {
  if (cursor_ != nullptr) mdb_cursor_close(cursor_);
}

bool Cursor::move(MDB_cursor_op op) { return mdb_cursor_get(cursor_, &key_, &value_, op) == 0; }

bool Cursor::seek(ByteView key) {
  if (key.empty()) return first();
  key_ = to_val(key);
  return move(MDB_SET_RANGE);
}
bool Cursor::first() { return move(MDB_FIRST); }
bool Cursor::last() { return move(MDB_LAST); }
bool Cursor::next() { return move(MDB_NEXT); }
bool Cursor::prev() { return move(MDB_PREV); }

Status Cursor::del() { return lmdb_status(mdb_cursor_del(cursor_, 0), "deleting"); }

}  // namespace anwang::node
