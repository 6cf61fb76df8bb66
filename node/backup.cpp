#include "node/backup.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <set>
#include <thread>

#include "crdt/limits.h"
#include "node/sealed_records.h"

namespace anwang::node {

namespace fs = std::filesystem;

namespace {

// The plain header (node/BACKUP.md): the part every backup has, the seal's parameters, a check of
// the stream key, the secretstream header.
constexpr char kMagic[8] = {'A', 'N', 'W', 'A', 'N', 'G', 'B', 'K'};
constexpr std::size_t kNodeAt = 12;
constexpr std::size_t kCreatedAt = 44;
constexpr std::size_t kSealAt = 52;
constexpr std::size_t kSealParamsAt = 53;
constexpr std::size_t kSaltBytes = crypto_pwhash_SALTBYTES;
// kdf (1) ‖ passes (8) ‖ memory bytes (8) ‖ salt
constexpr std::size_t kPassphraseParamsBytes = 1 + 8 + 8 + kSaltBytes;
// recipient public key ‖ crypto_box_seal of the stream key
constexpr std::size_t kSealedStreamKeyBytes = crypto_box_SEALBYTES + kSealedRecordKeyBytes;
constexpr std::size_t kKeyParamsBytes = 32 + kSealedStreamKeyBytes;
constexpr std::size_t kCheckBytes = 16;
constexpr std::size_t kTailBytes = kCheckBytes + kSealedRecordHeaderBytes;
static_assert(kPassphraseParamsBytes == 33 && kKeyParamsBytes == 112, "node/BACKUP.md gives these sizes");
static_assert(crypto_box_PUBLICKEYBYTES == 32 && crypto_box_SECRETKEYBYTES == 32);
// The key derivation of a passphrase: Argon2id version 1.3.
constexpr std::uint8_t kKdfArgon2id13 = 1;
// What this release writes: libsodium's "moderate" cost (3 passes over 256 MiB). A backup leaves
// the machine (a USB stick, the county's server), where passphrases can be tried at leisure, so it
// costs more than a key file's "interactive" cost; a restore is rare and may take a few seconds.
static_assert(crypto_pwhash_OPSLIMIT_MODERATE <= key_kdf_passes_max &&
                  crypto_pwhash_MEMLIMIT_MODERATE <= key_kdf_memory_bytes_max,
              "the cost this release writes is one it reads");
constexpr std::string_view kCheckContext = "anwang/backup/v1 key check";
constexpr std::string_view kBackupKeyMagic = "anwang-backup-key-v1";

enum RecordType : std::uint8_t { kFile = 1, kBytes = 2, kEnd = 3 };
constexpr std::size_t kRecordBytesMax = 1 + limits::backup_chunk_bytes;
static_assert(limits::backup_chunk_bytes + 64 < (std::size_t{1} << 31), "a record's length fits its u32");

constexpr std::string_view kStoreFile = "store/data.mdb";

std::array<std::uint8_t, kCheckBytes> key_check(const SealedRecordKey& key) {
  std::array<std::uint8_t, kCheckBytes> check{};
  crypto_generichash(check.data(), check.size(), reinterpret_cast<const unsigned char*>(kCheckContext.data()),
                     kCheckContext.size(), key.data(), key.size());
  return check;
}

std::string with_units(std::uint64_t bytes) {
  if (bytes >= (10ull << 20)) return std::to_string(bytes >> 20) + " MiB";
  if (bytes >= (10ull << 10)) return std::to_string(bytes >> 10) + " KiB";
  return std::to_string(bytes) + " bytes";
}

// The bytes of a small file of the home, refused when larger than `bytes_max`.
Result<Bytes> read_home_file(const fs::path& path, std::uint64_t bytes_max) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return Status::io_error("cannot read " + path.string());
  auto size = static_cast<std::uint64_t>(in.tellg());
  if (size > bytes_max)
    return Status::invalid(path.string() + " is larger than any file of a node home (" + with_units(bytes_max) +
                           " at most), so it was not backed up: move it out of the home");
  Bytes bytes(size);
  in.seekg(0);
  if (!in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size)))
    return Status::io_error("cannot read " + path.string());
  return bytes;
}

// The files a backup carries beside the store, as paths in the home, and what else the home holds.
struct HomeListing {
  std::vector<std::string> files;
  std::vector<std::string> left_out;
};

Result<HomeListing> list_home(const fs::path& dir) {
  HomeListing listing;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    std::string name = entry.path().filename().string();
    if ((name == "anwang.toml" || name == "node.key") && entry.is_regular_file()) {
      listing.files.push_back(name);
    } else if (name == "keys" && entry.is_directory()) {
      for (const auto& key : fs::directory_iterator(entry.path(), ec)) {
        std::string file = key.path().filename().string();
        if (key.is_regular_file() && key.path().extension() == ".key" && check_key_name(key.path().stem().string()))
          listing.files.push_back("keys/" + file);
        else
          listing.left_out.push_back("keys/" + file);
      }
    } else if (name == "store" && entry.is_directory()) {
      for (const auto& file : fs::directory_iterator(entry.path(), ec)) {
        std::string inner = file.path().filename().string();
        // data.mdb goes as LMDB copies it; lock.mdb is made again at need.
        if (inner != "data.mdb" && inner != "lock.mdb") listing.left_out.push_back("store/" + inner);
      }
    } else {
      listing.left_out.push_back(name);
    }
  }
  if (ec) return Status::io_error("cannot list the node home " + dir.string() + ": " + ec.message());
  std::sort(listing.files.begin(), listing.files.end());
  std::sort(listing.left_out.begin(), listing.left_out.end());
  if (listing.files.size() > limits::backup_key_files_max)
    return Status::invalid("the keyring holds more key files than a backup carries (" +
                           std::to_string(limits::backup_key_files_max) + ")");
  return listing;
}

// A backup being written: its header, then sealed records into a partial file.
class Writer {
 public:
  Status open(const fs::path& file, ExistingFile existing, Bytes header, const SealedRecordKey& key) {
    header_ = std::move(header);
    std::size_t stream_at = header_.size() - kSealedRecordHeaderBytes;
    auto check = key_check(key);
    std::copy(check.begin(), check.end(), header_.begin() + static_cast<std::ptrdiff_t>(stream_at - kCheckBytes));
    sealer_.start(key, header_.data() + stream_at);
    auto out = AtomicFile::create(file, existing);
    if (!out) return out.status();
    out_ = std::move(*out);
    return write(header_);
  }

  Status push(RecordType type, ByteView body, bool final = false) { return write(sealer_.seal(type, body, header_, final)); }

  // Puts the backup in place (fsynced, renamed, the directory fsynced).
  Status commit() { return out_->commit(); }
  std::uint64_t bytes() const { return bytes_; }

 private:
  Status write(ByteView bytes) {
    bytes_ += bytes.size();
    return out_->write(bytes);
  }

  RecordSealer sealer_;
  Bytes header_;
  std::unique_ptr<AtomicFile> out_;
  std::uint64_t bytes_ = 0;
};

// The plain header, with room left for the key check and the secretstream header; and the stream
// key, derived from the passphrase or fresh and sealed to the backup key.
Status make_header(const PublicKey& node, const BackupOptions& options, RandomSource& random, Bytes& header,
                   SealedRecordKey& key) {
  header.assign(kMagic, kMagic + 8);
  append_u32_le(header, kBackupVersion);
  header.insert(header.end(), node.bytes.begin(), node.bytes.end());
  append_u64_le(header, options.now_ms);
  if (options.passphrase) {
    header.push_back(static_cast<std::uint8_t>(BackupSeal::kPassphrase));
    std::uint64_t passes = options.kdf_passes != 0 ? options.kdf_passes : crypto_pwhash_OPSLIMIT_MODERATE;
    std::uint64_t memory = options.kdf_memory_bytes != 0 ? options.kdf_memory_bytes : crypto_pwhash_MEMLIMIT_MODERATE;
    std::array<std::uint8_t, kSaltBytes> salt{};
    random.fill(salt.data(), salt.size());
    header.push_back(kKdfArgon2id13);
    append_u64_le(header, passes);
    append_u64_le(header, memory);
    header.insert(header.end(), salt.begin(), salt.end());
    if (Status s = derive_passphrase_key(*options.passphrase, salt.data(), passes, memory, key); !s) return s;
  } else {
    header.push_back(static_cast<std::uint8_t>(BackupSeal::kBackupKey));
    random.fill(key.data(), key.size());
    std::array<std::uint8_t, kSealedStreamKeyBytes> sealed{};
    if (crypto_box_seal(sealed.data(), key.data(), key.size(), options.to_key->data()) != 0)
      return Status::invalid("the backup key given cannot receive a backup (it is not an X25519 public key)");
    header.insert(header.end(), options.to_key->begin(), options.to_key->end());
    header.insert(header.end(), sealed.begin(), sealed.end());
  }
  header.resize(header.size() + kTailBytes);
  return Status::ok();
}

// Reads all `buffer` can hold from `fd`, unless the writer closes first: the bytes read, or -1.
ssize_t read_full(int fd, Bytes& buffer) {
  std::size_t got = 0;
  while (got < buffer.size()) {
    ssize_t n = ::read(fd, buffer.data() + got, buffer.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -1;
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  return static_cast<ssize_t>(got);
}

// The store's compacting copy, from LMDB on a thread of its own through a pipe, sealed record by
// record as it comes. Whatever fails, the pipe is read to its end so the copy finishes.
Status seal_store_copy(const Store& store, Writer& writer, const BackupOptions& options, std::uint64_t& bytes) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return Status::io_error("cannot make a pipe for the store's copy: " + std::string(std::strerror(errno)));
  Status copied;
  std::thread copier([&store, &copied, write_end = fds[1]] {
    copied = store.copy_compact_to(write_end);
    ::close(write_end);
  });
  const std::uint64_t expected = store.used_bytes();
  Status sealed;
  Bytes chunk(limits::backup_chunk_bytes);
  std::uint64_t reported = 0;
  while (true) {
    ssize_t n = read_full(fds[0], chunk);
    if (n < 0 && sealed) sealed = Status::io_error("cannot read the store's copy: " + std::string(std::strerror(errno)));
    if (n <= 0) break;
    bytes += static_cast<std::uint64_t>(n);
    if (sealed) sealed = writer.push(kBytes, ByteView(chunk.data(), static_cast<std::size_t>(n)));
    if (options.progress && bytes - reported >= (4ull << 20)) {
      options.progress(bytes, expected);
      reported = bytes;
    }
  }
  ::close(fds[0]);
  copier.join();
  if (!copied) return copied;
  if (options.progress) options.progress(bytes, bytes);
  return sealed;
}

}  // namespace

BackupKey::~BackupKey() { sodium_memzero(secret_key.data(), secret_key.size()); }

std::optional<BackupPublicKey> parse_backup_public_key(std::string_view hex) {
  BackupPublicKey key{};
  std::size_t got = 0;
  if (hex.size() != 64 ||
      sodium_hex2bin(key.data(), key.size(), hex.data(), hex.size(), nullptr, &got, nullptr) != 0 || got != key.size())
    return std::nullopt;
  return key;
}

Result<BackupPublicKey> create_backup_key_file(const fs::path& file, RandomSource& random) {
  BackupKey key;
  random.fill(key.secret_key.data(), key.secret_key.size());
  crypto_scalarmult_base(key.public_key.data(), key.secret_key.data());
  std::string secret_hex = to_hex(ByteView(key.secret_key.data(), key.secret_key.size()));
  std::string text = std::string(kBackupKeyMagic) + "\npublic " +
                     to_hex(ByteView(key.public_key.data(), key.public_key.size())) + "\nsecret " + secret_hex + "\n";
  Status written = write_file_atomically(file, as_bytes(text), ExistingFile::kRefuse);
  sodium_memzero(secret_hex.data(), secret_hex.size());
  sodium_memzero(text.data(), text.size());
  if (!written) return written;
  return key.public_key;
}

Result<std::unique_ptr<BackupKey>> read_backup_key_file(const fs::path& file) {
  SecretText text;
  {
    std::ifstream in(file, std::ios::binary);
    if (!in) return Status::not_found("cannot read the backup key file " + file.string());
    text.text.resize(limits::key_file_bytes_max);
    in.read(text.text.data(), static_cast<std::streamsize>(text.text.size()));
    text.text.resize(static_cast<std::size_t>(in.gcount()));
  }
  auto bad = [&file](const std::string& why) {
    return Status::invalid("backup key file " + file.string() + " is not a valid anwang backup key file: " + why);
  };
  std::string_view rest = text.text;
  auto line = [&rest]() {
    std::size_t end = rest.find('\n');
    std::string_view out = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    return out;
  };
  if (line() != kBackupKeyMagic) return bad("its first line must be " + std::string(kBackupKeyMagic));
  std::string_view public_line = line(), secret_line = line();
  if (!rest.empty() || public_line.substr(0, 7) != "public " || secret_line.substr(0, 7) != "secret ")
    return bad("it must hold the lines 'public' and 'secret', in that order, and no others");
  auto key = std::make_unique<BackupKey>();
  auto public_key = parse_backup_public_key(public_line.substr(7));
  std::size_t got = 0;
  if (!public_key) return bad("its line 'public' must be 64 hex digits");
  std::string_view secret_hex = secret_line.substr(7);
  if (secret_hex.size() != 64 ||
      sodium_hex2bin(key->secret_key.data(), key->secret_key.size(), secret_hex.data(), secret_hex.size(), nullptr,
                     &got, nullptr) != 0 ||
      got != key->secret_key.size())
    return bad("its line 'secret' must be 64 hex digits");
  crypto_scalarmult_base(key->public_key.data(), key->secret_key.data());
  if (key->public_key != *public_key) return bad("its line 'public' is not the public key of its secret");
  return key;
}

Result<BackupReport> write_backup(const NodeHome& home, const Store& store, const fs::path& file,
                                  const BackupOptions& options, RandomSource& random) {
  assert(options.passphrase.has_value() != options.to_key.has_value());
  auto listing = list_home(home.dir());
  if (!listing) return listing.status();
  BackupReport report;
  report.left_out = listing->left_out;
  Bytes header;
  SealedRecordKey key{};
  Writer writer;
  Status opened = make_header(home.node_key(), options, random, header, key);
  if (opened) opened = writer.open(file, options.existing, std::move(header), key);
  sodium_memzero(key.data(), key.size());
  if (!opened) return opened;
  std::uint64_t total = 0;
  for (const std::string& name : listing->files) {
    auto bytes = read_home_file(home.dir() / name, limits::backup_home_file_bytes_max);
    if (!bytes) return bytes.status();
    Status pushed = writer.push(kFile, as_bytes(name));
    for (std::size_t at = 0; pushed && at < bytes->size(); at += limits::backup_chunk_bytes)
      pushed = writer.push(kBytes, ByteView(*bytes).subspan(at, std::min(limits::backup_chunk_bytes, bytes->size() - at)));
    sodium_memzero(bytes->data(), bytes->size());  // a plain key file's seed
    if (!pushed) return pushed;
    total += bytes->size();
    report.files.push_back(name);
  }
  if (Status s = writer.push(kFile, as_bytes(kStoreFile)); !s) return s;
  if (Status s = seal_store_copy(store, writer, options, report.store_bytes); !s) return s;
  report.files.emplace_back(kStoreFile);
  total += report.store_bytes;
  Bytes end;
  append_u64_le(end, report.files.size());
  append_u64_le(end, total);
  if (Status s = writer.push(kEnd, end, true); !s) return s;
  if (Status s = writer.commit(); !s) return s;
  report.file_bytes = writer.bytes();
  return report;
}

namespace {

// An opened backup: its header, checked, and its stream.
struct OpenedBackup {
  BackupHeader header;
  Bytes header_bytes;
  std::size_t params_at = kSealParamsAt;
  std::ifstream in;
};

Status read_header_from(const fs::path& file, OpenedBackup& out) {
  out.in.open(file, std::ios::binary);
  if (!out.in) return Status::not_found("cannot read the backup " + file.string());
  Bytes& header = out.header_bytes;
  header.assign(kSealParamsAt, 0);
  if (!out.in.read(reinterpret_cast<char*>(header.data()), 12) || std::memcmp(header.data(), kMagic, 8) != 0)
    return Status::invalid(file.string() + " is not an anwang backup");
  std::uint32_t version = read_u32_le(header.data() + 8);
  if (version != kBackupVersion)
    return Status::invalid(file.string() + " is backup version " + std::to_string(version) + "; this anwang reads version " +
                           std::to_string(kBackupVersion) + (version > kBackupVersion ? ": restore it with a newer release" : ""));
  auto cut = [&file] { return Status::invalid("the backup " + file.string() + " is cut short inside its header"); };
  if (!out.in.read(reinterpret_cast<char*>(header.data() + 12), static_cast<std::streamsize>(kSealParamsAt - 12))) return cut();
  out.header.node = *Hash32::from_view(ByteView(header.data() + kNodeAt, 32));
  out.header.created_ms = read_u64_le(header.data() + kCreatedAt);
  std::uint8_t seal = header[kSealAt];
  if (seal != static_cast<std::uint8_t>(BackupSeal::kPassphrase) && seal != static_cast<std::uint8_t>(BackupSeal::kBackupKey))
    return Status::invalid("the backup " + file.string() + " is damaged: it names no way of sealing this release knows");
  out.header.seal = static_cast<BackupSeal>(seal);
  std::size_t params = out.header.seal == BackupSeal::kPassphrase ? kPassphraseParamsBytes : kKeyParamsBytes;
  header.resize(kSealParamsAt + params + kTailBytes);
  if (!out.in.read(reinterpret_cast<char*>(header.data() + kSealParamsAt), static_cast<std::streamsize>(params + kTailBytes)))
    return cut();
  if (out.header.seal == BackupSeal::kBackupKey) {
    BackupPublicKey to{};
    std::copy_n(header.begin() + kSealParamsAt, to.size(), to.begin());
    out.header.to_key = to;
  }
  return Status::ok();
}

// The stream key of an opened backup, from the passphrase or the backup key; checked against the
// header's key check, so a wrong passphrase is told from a damaged file.
Status stream_key_of(const OpenedBackup& backup, const fs::path& file, const RestoreOptions& options, SealedRecordKey& key) {
  const std::uint8_t* params = backup.header_bytes.data() + kSealParamsAt;
  if (backup.header.seal == BackupSeal::kPassphrase) {
    if (!options.passphrase)
      return Status::invalid("the backup " + file.string() + " is sealed by a passphrase: give it with --passphrase-file FILE, "
                             "or run the command on a terminal to be asked for it");
    std::uint64_t passes = read_u64_le(params + 1), memory = read_u64_le(params + 9);
    if (params[0] != kKdfArgon2id13 || passes < crypto_pwhash_argon2id_OPSLIMIT_MIN || passes > key_kdf_passes_max ||
        memory < crypto_pwhash_argon2id_MEMLIMIT_MIN || memory > key_kdf_memory_bytes_max)
      return Status::invalid("the backup " + file.string() + " is damaged: it asks for a key derivation this release does not run (Argon2id, at most " +
                             std::to_string(key_kdf_passes_max) + " passes over " + std::to_string(key_kdf_memory_bytes_max >> 20) + " MiB)");
    if (Status s = derive_passphrase_key(*options.passphrase, params + 17, passes, memory, key); !s) return s;
  } else {
    const BackupPublicKey& to = *backup.header.to_key;
    if (options.key == nullptr)
      return Status::invalid("the backup " + file.string() + " is sealed to the backup key " + to_hex(ByteView(to.data(), to.size())) +
                             ": give that key's file with --key-file FILE");
    if (options.key->public_key != to)
      return Status::error(Status::Code::kRefused,
                           "the backup " + file.string() + " is sealed to the backup key " + to_hex(ByteView(to.data(), to.size())) +
                               ", not to the key given (" +
                               to_hex(ByteView(options.key->public_key.data(), options.key->public_key.size())) + ")");
    if (crypto_box_seal_open(key.data(), params + 32, kSealedStreamKeyBytes, options.key->public_key.data(),
                             options.key->secret_key.data()) != 0)
      return Status::invalid("the backup " + file.string() + " is damaged: its sealed key does not open with its backup key");
  }
  auto check = key_check(key);
  const std::uint8_t* stored = backup.header_bytes.data() + backup.header_bytes.size() - kTailBytes;
  if (sodium_memcmp(check.data(), stored, kCheckBytes) != 0) {
    if (backup.header.seal == BackupSeal::kPassphrase)
      return Status::error(Status::Code::kRefused, "wrong passphrase for the backup " + file.string());
    return Status::invalid("the backup " + file.string() + " is damaged: its key check does not match its sealed key");
  }
  return Status::ok();
}

// What a home directory holds before a restore: nothing, or a node (or other files).
struct HomeBefore {
  bool existed = false;
  std::vector<std::string> node_entries;  // of anwang.toml, node.key, keys, store
  std::vector<std::string> other_entries;
};

constexpr std::array<std::string_view, 4> kNodeEntries = {"anwang.toml", "node.key", "keys", "store"};
constexpr std::string_view kStagingName = "restore.partial";

Result<HomeBefore> look_at_home(const fs::path& dir) {
  HomeBefore before;
  std::error_code ec;
  auto status = fs::status(dir, ec);
  if (ec && ec != std::errc::no_such_file_or_directory) return Status::io_error("cannot look at " + dir.string() + ": " + ec.message());
  if (!fs::exists(status)) return before;
  if (!fs::is_directory(status)) return Status::invalid(dir.string() + " is not a directory: restore into an empty or new directory");
  before.existed = true;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    std::string name = entry.path().filename().string();
    if (name == kStagingName) continue;  // left by a restore that died: made anew
    bool is_node = std::find(kNodeEntries.begin(), kNodeEntries.end(), name) != kNodeEntries.end();
    (is_node ? before.node_entries : before.other_entries).push_back(name);
  }
  if (ec) return Status::io_error("cannot list " + dir.string() + ": " + ec.message());
  std::sort(before.node_entries.begin(), before.node_entries.end());
  std::sort(before.other_entries.begin(), before.other_entries.end());
  return before;
}

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& name : names) out += (out.empty() ? "" : ", ") + name;
  return out;
}

Status fsync_dir(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::io_error("cannot open " + dir.string() + ": " + std::strerror(errno));
  int rc = ::fsync(fd);
  int saved = errno;
  ::close(fd);
  if (rc != 0 && saved != EINVAL && saved != EROFS) return Status::io_error("cannot flush " + dir.string() + ": " + std::strerror(saved));
  return Status::ok();
}

// The files of a backup written into the staging directory, one at a time, each checked against
// what a node home holds.
class Stage {
 public:
  explicit Stage(fs::path dir) : dir_(std::move(dir)) {}
  Stage(const Stage&) = delete;
  Stage& operator=(const Stage&) = delete;
  ~Stage() {
    if (fd_ >= 0) ::close(fd_);
  }

  // Begins the file `name`; an error sentence (the backup is damaged) when no home holds it, or
  // the backup named it before.
  Status begin(std::string_view name) {
    if (Status s = end(); !s) return s;
    std::string path(name);
    if (path == "anwang.toml" || path == "node.key") {
      limit_ = limits::backup_home_file_bytes_max;
    } else if (path == kStoreFile) {
      limit_ = limits::store_map_bytes_max;
    } else if (path.rfind("keys/", 0) == 0 && path.size() > 9 && path.substr(path.size() - 4) == ".key" &&
               check_key_name(path.substr(5, path.size() - 9))) {
      limit_ = limits::key_file_bytes_max;
      if (++keys_ > limits::backup_key_files_max) return Status::invalid("it holds more key files than a backup carries");
    } else {
      return Status::invalid("it names a file no node home holds");
    }
    if (!names_.insert(path).second) return Status::invalid("it holds " + path + " twice");
    fd_ = ::open((dir_ / path).c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd_ < 0) return Status::io_error("cannot create " + (dir_ / path).string() + ": " + std::strerror(errno));
    current_ = path;
    size_ = 0;
    return Status::ok();
  }

  Status write(ByteView bytes) {
    if (fd_ < 0) return Status::invalid("file bytes come before any file");
    if (size_ + bytes.size() > limit_) return Status::invalid(current_ + " in it is larger than any " + current_ + " is");
    size_ += bytes.size();
    total_ += bytes.size();
    for (std::size_t at = 0; at < bytes.size();) {
      ssize_t n = ::write(fd_, bytes.data() + at, bytes.size() - at);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return Status::io_error("cannot write " + (dir_ / current_).string() + ": " + std::strerror(n < 0 ? errno : EIO));
      at += static_cast<std::size_t>(n);
    }
    return Status::ok();
  }

  // Ends the file being written: flushed to disk and closed.
  Status end() {
    if (fd_ < 0) return Status::ok();
    int synced = ::fsync(fd_);
    int closed = ::close(fd_);
    fd_ = -1;
    if (synced != 0 || closed != 0) return Status::io_error("cannot write " + (dir_ / current_).string() + ": " + std::strerror(errno));
    if (current_ == kStoreFile) store_bytes_ = size_;
    return Status::ok();
  }

  const std::set<std::string>& names() const { return names_; }
  std::uint64_t total() const { return total_; }
  std::uint64_t store_bytes() const { return store_bytes_; }

 private:
  fs::path dir_;
  int fd_ = -1;
  std::string current_;
  std::uint64_t size_ = 0, limit_ = 0, total_ = 0, store_bytes_ = 0;
  std::size_t keys_ = 0;
  std::set<std::string> names_;
};

// Reads every record of an opened backup into `stage`; the end record must close it, with the
// counts it says, and nothing may follow. An error is one sentence about the backup.
Status read_records(OpenedBackup& backup, RecordOpener& opener, Stage& stage) {
  while (true) {
    auto record = opener.next(backup.in, backup.header_bytes);
    if (!record) return Status::invalid(opener.damage());
    std::string where = "record " + std::to_string(opener.records()) + " of the backup is malformed: ";
    if (record->final != (record->type == kEnd)) return Status::invalid(where + "only its end record closes the stream");
    Status taken;
    switch (record->type) {
      case kFile:
        taken = stage.begin(std::string_view(reinterpret_cast<const char*>(record->body.data()), record->body.size()));
        break;
      case kBytes:
        taken = stage.write(record->body);
        break;
      case kEnd: {
        if (Status s = stage.end(); !s) return s;
        if (record->body.size() != 16 || read_u64_le(record->body.data()) != stage.names().size() ||
            read_u64_le(record->body.data() + 8) != stage.total())
          return Status::invalid(where + "its end record does not count the files and bytes before it");
        if (backup.in.peek() != std::char_traits<char>::eof())
          return Status::invalid("the backup is damaged: bytes follow its end record");
        return Status::ok();
      }
      default:
        return Status::invalid(where + "its type is unknown");
    }
    if (!taken) return taken.code() == Status::Code::kInvalidArgument ? Status::invalid(where + taken.message()) : taken;
  }
}

// Opens the staged home as anwang will: its configuration and node key, then its store (the
// schema check, and any migration); marks the store restored.
Status open_staged(const fs::path& staging, const BackupHeader& header, const RestoreOptions& options, RestoreReport& report) {
  for (std::string_view required : {std::string_view("node.key"), kStoreFile})
    if (!fs::exists(staging / required))
      return Status::invalid("the backup is damaged: it holds no " + std::string(required));
  auto home = NodeHome::open(staging);
  if (!home) return Status::invalid("the backup's home does not open: " + home.status().message());
  if (home->node_key() != header.node)
    return Status::invalid("the backup is damaged: its node key is not the node its header names");
  auto store = home->open_store();
  if (!store) return Status::error(store.status().code(), "the backup's store does not open: " + store.status().message());
  auto stats = (*store)->stats();
  if (!stats) return stats.status();
  report.ops = stats->ops;
  return (*store)->mark_restored(options.now_ms);
}

std::string stamp_of(std::uint64_t ms) {
  std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y%m%dT%H%M%SZ", &utc);
  return text;
}

// With force: the home's node entries moved into a new HOME/replaced-TIME directory.
Status move_aside(const fs::path& home, const std::vector<std::string>& entries, std::uint64_t now_ms, fs::path& to) {
  std::string base = "replaced-" + stamp_of(now_ms);
  for (int attempt = 1;; ++attempt) {
    to = home / (attempt == 1 ? base : base + "-" + std::to_string(attempt));
    if (::mkdir(to.c_str(), 0700) == 0) break;
    if (errno != EEXIST || attempt > 100) return Status::io_error("cannot create " + to.string() + ": " + std::strerror(errno));
  }
  for (const std::string& name : entries)
    if (::rename((home / name).c_str(), (to / name).c_str()) != 0)
      return Status::io_error("cannot move " + (home / name).string() + " aside into " + to.string() + ": " + std::strerror(errno));
  if (Status s = fsync_dir(to); !s) return s;
  return fsync_dir(home);
}

}  // namespace

Result<BackupHeader> read_backup_header(const fs::path& file) {
  OpenedBackup backup;
  if (Status s = read_header_from(file, backup); !s) return s;
  return backup.header;
}

Result<RestoreReport> restore_backup(const fs::path& file, const fs::path& home_dir, const RestoreOptions& options) {
  OpenedBackup backup;
  if (Status s = read_header_from(file, backup); !s) return s;
  auto before = look_at_home(home_dir);
  if (!before) return before.status();
  if (!options.force && !before->node_entries.empty())
    return Status::error(Status::Code::kAlreadyExists,
                         home_dir.string() + " already holds a node (" + joined(before->node_entries) +
                             "), so nothing was restored: restore into an empty or new directory, or give --force to "
                             "move them aside into " + home_dir.string() + "/replaced-TIME first");
  if (!options.force && !before->other_entries.empty())
    return Status::error(Status::Code::kAlreadyExists,
                         home_dir.string() + " is not empty (it holds " + joined(before->other_entries) +
                             "), so nothing was restored: restore into an empty or new directory, or give --force");
  SealedRecordKey key{};
  RecordOpener opener("backup", kRecordBytesMax);
  Status keyed = stream_key_of(backup, file, options, key);
  bool started = keyed && opener.start(key, backup.header_bytes.data() + backup.header_bytes.size() - kSealedRecordHeaderBytes);
  sodium_memzero(key.data(), key.size());
  if (!keyed) return keyed;
  if (!started) return Status::invalid("the backup " + file.string() + " is damaged: its stream header is invalid");

  std::error_code ec;
  if (!before->existed && ::mkdir(home_dir.c_str(), 0700) != 0)
    return Status::io_error("cannot create " + home_dir.string() + ": " + std::strerror(errno));
  const fs::path staging = home_dir / kStagingName;
  fs::remove_all(staging, ec);
  RestoreReport report;
  report.node = backup.header.node;
  report.created_ms = backup.header.created_ms;
  // Everything up to the move into place happens in the staging directory; on failure it goes,
  // and so does the home directory if this call made it.
  Status staged = [&]() -> Status {
    for (const fs::path& dir : {staging, staging / "keys", staging / "store"})
      if (::mkdir(dir.c_str(), 0700) != 0) return Status::io_error("cannot create " + dir.string() + ": " + std::strerror(errno));
    Stage stage(staging);
    if (Status s = read_records(backup, opener, stage); !s)
      return s.code() == Status::Code::kInvalidArgument
                 ? Status::invalid("the backup " + file.string() + " is damaged, so nothing was restored: " + s.message())
                 : s;
    report.files.assign(stage.names().begin(), stage.names().end());
    report.store_bytes = stage.store_bytes();
    if (Status s = open_staged(staging, backup.header, options, report); !s) return s;
    for (const fs::path& dir : {staging / "keys", staging / "store", staging})
      if (Status s = fsync_dir(dir); !s) return s;
    return Status::ok();
  }();
  if (!staged) {
    fs::remove_all(staging, ec);
    if (!before->existed) fs::remove(home_dir, ec);
    return staged;
  }
  if (options.force && !before->node_entries.empty()) {
    if (Status s = move_aside(home_dir, before->node_entries, options.now_ms, report.replaced_to); !s)
      return Status::io_error(s.message() + "; the restored home waits in " + staging.string());
    report.replaced = before->node_entries;
  }
  for (std::string_view name : kNodeEntries) {
    if (!fs::exists(staging / name)) continue;
    if (::rename((staging / name).c_str(), (home_dir / name).c_str()) != 0)
      return Status::io_error("cannot move the restored " + std::string(name) + " into " + home_dir.string() + ": " +
                              std::strerror(errno) + "; what is left of the restored home waits in " + staging.string());
  }
  fs::remove(staging, ec);
  if (Status s = fsync_dir(home_dir); !s) return s;
  return report;
}

}  // namespace anwang::node
