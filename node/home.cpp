#include "node/home.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <chrono>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <toml++/toml.h>

#include "crdt/limits.h"
#include "node/atomic_file.h"

namespace anwang::node {

namespace fs = std::filesystem;

namespace {

// The node key, and person keys of earlier releases.
constexpr std::string_view kKeyFileMagic = "anwang-ed25519-v1";
// Person keys, bound to a node.
constexpr std::string_view kBoundKeyMagic = "anwang-ed25519-v2";
// Person keys, bound to a node and protected by a passphrase.
constexpr std::string_view kProtectedKeyMagic = "anwang-ed25519-v3";
// The key derivation of v3 files: Argon2id version 1.3, as libsodium's crypto_pwhash names it.
constexpr std::string_view kKdfName = "argon2id13";
constexpr std::size_t kSaltBytes = crypto_pwhash_SALTBYTES;
constexpr std::size_t kNonceBytes = crypto_secretbox_NONCEBYTES;
constexpr std::size_t kSealedBytes = crypto_secretbox_MACBYTES + KeyPair::kSeedBytes;
// The `check` line: BLAKE2b of the file's other lines, to tell a damaged file from a wrong
// passphrase (both fail the secretbox's authentication).
constexpr std::size_t kCheckBytes = 16;
static_assert(KeyPair::kSeedBytes == crypto_secretbox_KEYBYTES, "the derived key is as long as a seed");
static_assert(crypto_pwhash_OPSLIMIT_INTERACTIVE <= key_kdf_passes_max &&
                  crypto_pwhash_MEMLIMIT_INTERACTIVE <= key_kdf_memory_bytes_max,
              "the cost this release writes is one it reads");
static_assert(crypto_pwhash_argon2id_OPSLIMIT_MIN <= crypto_pwhash_OPSLIMIT_INTERACTIVE &&
                  crypto_pwhash_argon2id_MEMLIMIT_MIN <= crypto_pwhash_MEMLIMIT_INTERACTIVE,
              "libsodium's minimum cost is below the one written");
// A key on its way to another node.
constexpr std::string_view kMoveFileMagic = "anwang-key-move-v1";

constexpr std::string_view kDefaultConfig = R"(# anwang node configuration. Every key is optional.

[store]
# Upper bound of the store file in MiB. Raise it when 'anwang status' says the store is nearly
# full; the file itself grows only as data arrives.
map_size_mib = 1024

[node]
# Address anwangd listens on for peers, "HOST:PORT". Empty: do not listen.
listen = ""
# Log level of anwangd: trace, debug, info, warn, error.
log_level = "info"

[sync]
# How often anwangd syncs with each neighbour, in seconds (also at once when local ops are written
# or a session brought ops from another node).
interval_s = 60

# The nodes this node dials, one [[neighbour]] each. blob_budget_bytes caps the photo bytes
# fetched per session on a slow link (0: no limit); ops always go.
# key pins the node expected at that address (its node key, 64 hex digits): a session with any
# other node fails before anything is exchanged.
# [[neighbour]]
# address = "192.0.2.10:7400"
# blob_budget_bytes = 2000000
# key = "<the neighbour's node key>"

[web]
# Where anwangd serves the web UI (网页) and its API, "HOST:PORT". 127.0.0.1 serves this machine
# only; a village PC that serves the phones on its Wi-Fi names its LAN address, e.g.
# "192.168.1.10:8088". Empty: no web UI.
# listen = "127.0.0.1:8088"
# HTTPS: a certificate and its key (PEM files), both or neither.
# tls_certificate = "/etc/anwang/web.crt"
# tls_key = "/etc/anwang/web.key"
# The map's basemap (地图底图): an MBTiles file of raster tiles (PNG, JPEG or WebP) of the county,
# exported once by a GIS tool. Without one the map draws the boundaries alone, and nothing is
# fetched from the internet either way.
# mbtiles = "/var/lib/anwang/county.mbtiles"
)";

// Writes `text` to a new file readable only by its owner, durably (node/atomic_file.h). Refused
// when `path` exists.
Status write_private_file(const fs::path& path, std::string_view text) {
  return write_file_atomically(path, as_bytes(text), ExistingFile::kRefuse);
}

// Replaces (or creates) `path` with `text`, readable only by its owner, durably and at once: a
// reader sees the old file or the new one, never half of either.
Status replace_private_file(const fs::path& path, std::string_view text) {
  return write_file_atomically(path, as_bytes(text), ExistingFile::kReplace);
}

// One string of `pieces`, sized for all of them first: appending piece by piece (operator+)
// reallocates, and each buffer left behind holds a copy of a secret piece, never wiped. The
// caller wipes the result (and its secret pieces).
std::string join_secret(std::initializer_list<std::string_view> pieces) {
  std::size_t size = 0;
  for (std::string_view piece : pieces) size += piece.size();
  std::string out;
  out.reserve(size);
  for (std::string_view piece : pieces) out.append(piece);
  return out;
}

// The whole of a small file, refused when larger than `bytes_max`. Read with read(2) straight
// into `out`: a std::ifstream keeps its own buffer, freed with the seed still in it.
Status read_small_file(const fs::path& path, std::size_t bytes_max, const std::string& what,
                       SecretText& out) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::not_found("cannot read " + what + " " + path.string());
  out.text.resize(bytes_max + 1);
  std::size_t got = 0;
  while (got < out.text.size()) {
    ssize_t n = ::read(fd, out.text.data() + got, out.text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ::close(fd);
      return Status::not_found("cannot read " + what + " " + path.string());
    }
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  ::close(fd);
  out.text.resize(got);  // shrinking keeps the buffer: nothing is copied
  if (out.text.size() > bytes_max)
    return Status::invalid(what + " " + path.string() + " is larger than any " + what + " (" +
                           std::to_string(bytes_max) + " bytes at most)");
  return Status::ok();
}

// The lines of a key or move file: the first line (the format), then "label value" lines, each
// label once. Values are wiped when this goes (a seed is one of them).
struct LabelledFile {
  std::string format;
  std::vector<std::pair<std::string, std::string>> fields;
  std::vector<std::string> unlabelled;  // lines without a label (a v1 file's seed)
  LabelledFile() = default;
  LabelledFile(const LabelledFile&) = delete;
  LabelledFile& operator=(const LabelledFile&) = delete;
  ~LabelledFile() {
    for (auto& field : fields) sodium_memzero(field.second.data(), field.second.size());
    for (auto& line : unlabelled) sodium_memzero(line.data(), line.size());
  }
  const std::string* get(std::string_view label) const {
    for (const auto& field : fields)
      if (field.first == label) return &field.second;
    return nullptr;
  }
};

// Splits `text` into lines (a final '\r' of a line is dropped, empty lines are skipped). Says
// which label repeats, or which line has a character no key file holds.
Status split_labelled(std::string_view text, LabelledFile& out) {
  bool first = true;
  while (!text.empty()) {
    std::size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (std::any_of(line.begin(), line.end(),
                    [](char c) { return static_cast<unsigned char>(c) < 0x20; }))
      return Status::invalid("it holds control characters or binary data");
    if (first) {
      out.format = std::string(line);
      first = false;
      continue;
    }
    if (line.empty()) continue;
    std::size_t space = line.find(' ');
    if (space == std::string_view::npos) {
      out.unlabelled.emplace_back(line);
      continue;
    }
    std::string label(line.substr(0, space));
    if (out.get(label) != nullptr) return Status::invalid("its line '" + label + "' appears twice");
    out.fields.emplace_back(label, std::string(line.substr(space + 1)));
  }
  return Status::ok();
}

// The 32 bytes of a 64-hex-digit text, or nullopt.
std::optional<Hash32> hex32(const std::string* text) {
  if (text == nullptr || text->size() != 64) return std::nullopt;
  return Hash32::from_hex(*text);
}

// `out` from exactly 2 × out.size() hex digits; false otherwise.
template <std::size_t N>
bool hex_bytes(const std::string* text, std::array<std::uint8_t, N>& out) {
  if (text == nullptr || text->size() != 2 * N) return false;
  std::size_t got = 0;
  return sodium_hex2bin(out.data(), N, text->data(), text->size(), nullptr, &got, nullptr) == 0 &&
         got == N;
}

// A decimal number of at most 20 digits (no sign, no spaces), or nullopt.
std::optional<std::uint64_t> decimal(const std::string* text) {
  if (text == nullptr || text->empty() || text->size() > 20 ||
      !std::all_of(text->begin(), text->end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc() || end != text->data() + text->size()) return std::nullopt;
  return value;
}

// A key pair from a seed in hex, or nullopt. The decoded seed is wiped.
std::optional<KeyPair> key_from_seed_hex(const std::string* seed_hex) {
  if (seed_hex == nullptr || seed_hex->size() != 2 * KeyPair::kSeedBytes) return std::nullopt;
  std::array<std::uint8_t, KeyPair::kSeedBytes> seed{};
  std::size_t seed_len = 0;
  int rc = sodium_hex2bin(seed.data(), seed.size(), seed_hex->data(), seed_hex->size(), nullptr,
                          &seed_len, nullptr);
  std::optional<KeyPair> key;
  if (rc == 0 && seed_len == seed.size())
    key = KeyPair::from_seed(ByteView(seed.data(), seed.size()));
  sodium_memzero(seed.data(), seed.size());
  return key;
}

std::string seed_hex_of(const KeyPair& key) {
  auto seed = key.seed();
  std::string hex = to_hex(ByteView(seed.data(), seed.size()));
  sodium_memzero(seed.data(), seed.size());
  return hex;
}

// The seed of a v3 key file, sealed: what unlocks it and the box it is in.
struct SealedSeed {
  std::uint64_t passes = 0;        // Argon2id's opslimit
  std::uint64_t memory_bytes = 0;  // Argon2id's memlimit
  std::array<std::uint8_t, kSaltBytes> salt{};
  std::array<std::uint8_t, kNonceBytes> nonce{};
  std::array<std::uint8_t, kSealedBytes> sealed{};  // crypto_secretbox_easy of the seed
};

// A key file as read: the key (when the file holds its seed in the clear), its public key, and
// its binding.
struct KeyFile {
  std::optional<KeyPair> key;
  std::optional<SealedSeed> sealed;  // v3: the seed, sealed by a passphrase
  PublicKey public_key;
  // kUnbound for v1; a v2 file with a seed reads as kThisNode until info_of compares its node.
  KeyBinding binding = KeyBinding::kUnbound;
  std::optional<PublicKey> node;
  std::string moved_to;
  std::string moved_at;
};

// The lines of a v3 file the `check` line covers, in this order, whatever their order in the
// file: "anwang-ed25519-v3\npublic …\nnode …\n…sealed …\n".
constexpr std::array<std::string_view, 8> kProtectedLabels = {
    "public", "node", "kdf", "opslimit", "memlimit", "salt", "nonce", "sealed"};

// The `check` line's value of a v3 file: BLAKE2b (16 bytes) of its other lines, in hex.
std::string protected_check(const LabelledFile& file) {
  crypto_generichash_state state;
  crypto_generichash_init(&state, nullptr, 0, kCheckBytes);
  auto add = [&state](std::string_view piece) {
    crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(piece.data()),
                              piece.size());
  };
  add(kProtectedKeyMagic);
  add("\n");
  for (std::string_view label : kProtectedLabels) {
    const std::string* value = file.get(label);
    add(label);
    add(" ");
    add(value != nullptr ? std::string_view(*value) : std::string_view());
    add("\n");
  }
  std::array<std::uint8_t, kCheckBytes> check{};
  crypto_generichash_final(&state, check.data(), check.size());
  return to_hex(ByteView(check.data(), check.size()));
}

// The v3 lines of `file` (public, node, the sealed seed and its check), or why they are not.
Status read_protected_lines(const LabelledFile& file, KeyFile& out) {
  if (file.fields.size() != kProtectedLabels.size() + 1 || file.get("check") == nullptr ||
      !std::all_of(kProtectedLabels.begin(), kProtectedLabels.end(),
                   [&file](std::string_view l) { return file.get(l) != nullptr; }))
    return Status::invalid(
        "it must hold the lines 'public', 'node', 'kdf', 'opslimit', 'memlimit', 'salt', "
        "'nonce', 'sealed' and 'check', and no others");
  if (*file.get("check") != protected_check(file))
    return Status::invalid("its line 'check' does not match its other lines (the file was altered or damaged)");
  auto public_key = hex32(file.get("public"));
  if (!public_key) return Status::invalid("its line 'public' must be the key's public key, 64 hex digits");
  if (*file.get("kdf") != kKdfName)
    return Status::invalid("its line 'kdf' must be " + std::string(kKdfName));
  SealedSeed sealed;
  auto passes = decimal(file.get("opslimit"));
  if (!passes || *passes < crypto_pwhash_argon2id_OPSLIMIT_MIN || *passes > key_kdf_passes_max)
    return Status::invalid("its line 'opslimit' must be a number from " +
                           std::to_string(crypto_pwhash_argon2id_OPSLIMIT_MIN) + " to " +
                           std::to_string(key_kdf_passes_max));
  auto memory = decimal(file.get("memlimit"));
  if (!memory || *memory < crypto_pwhash_argon2id_MEMLIMIT_MIN || *memory > key_kdf_memory_bytes_max)
    return Status::invalid("its line 'memlimit' must be a number of bytes from " +
                           std::to_string(crypto_pwhash_argon2id_MEMLIMIT_MIN) + " to " +
                           std::to_string(key_kdf_memory_bytes_max));
  sealed.passes = *passes;
  sealed.memory_bytes = *memory;
  if (!hex_bytes(file.get("salt"), sealed.salt))
    return Status::invalid("its line 'salt' must be " + std::to_string(2 * kSaltBytes) + " hex digits");
  if (!hex_bytes(file.get("nonce"), sealed.nonce))
    return Status::invalid("its line 'nonce' must be " + std::to_string(2 * kNonceBytes) + " hex digits");
  if (!hex_bytes(file.get("sealed"), sealed.sealed))
    return Status::invalid("its line 'sealed' must be " + std::to_string(2 * kSealedBytes) + " hex digits");
  out.public_key = *public_key;
  out.sealed = sealed;
  out.binding = KeyBinding::kThisNode;
  return Status::ok();
}

// Parses a key file: v1 (the seed alone), v2 bound (seed, node), v2 moved (public, node,
// moved-to, moved-at) or v3 (public, node, the seed sealed). Errors are one sentence naming the
// file. A v3 file's seed stays sealed: nothing here derives a key.
Result<KeyFile> read_key_file(const fs::path& path) {
  SecretText text;
  if (Status s = read_small_file(path, key_file_bytes_max, "key file", text); !s) return s;
  auto bad = [&path](const std::string& why) {
    return Status::corruption("key file " + path.string() +
                              " is not a valid anwang key file: " + why);
  };
  LabelledFile file;
  if (Status s = split_labelled(text.text, file); !s) return bad(s.message());
  KeyFile out;
  if (file.format == kKeyFileMagic) {
    if (file.unlabelled.size() != 1 || !file.fields.empty())
      return bad("an " + std::string(kKeyFileMagic) +
                 " file holds one line after the first, the seed in hex");
    out.key = key_from_seed_hex(&file.unlabelled.front());
    if (!out.key)
      return bad("its seed must be " + std::to_string(2 * KeyPair::kSeedBytes) + " hex digits");
    out.public_key = out.key->public_key();
    return out;
  }
  if (file.format != kBoundKeyMagic && file.format != kProtectedKeyMagic)
    return bad("its first line must be " + std::string(kProtectedKeyMagic) + ", " +
               std::string(kBoundKeyMagic) + " or " + std::string(kKeyFileMagic));
  if (!file.unlabelled.empty()) return bad("every line after the first must be 'LABEL VALUE'");
  auto only = [&file](std::initializer_list<std::string_view> labels) {
    return file.fields.size() == labels.size() &&
           std::all_of(labels.begin(), labels.end(),
                       [&file](std::string_view l) { return file.get(l) != nullptr; });
  };
  out.node = hex32(file.get("node"));
  if (!out.node) return bad("its line 'node' must be the node key it is bound to, 64 hex digits");
  if (file.format == kProtectedKeyMagic) {
    if (Status s = read_protected_lines(file, out); !s) return bad(s.message());
    return out;
  }
  if (only({"seed", "node"})) {
    out.key = key_from_seed_hex(file.get("seed"));
    if (!out.key)
      return bad("its line 'seed' must be " + std::to_string(2 * KeyPair::kSeedBytes) +
                 " hex digits");
    out.public_key = out.key->public_key();
    out.binding = KeyBinding::kThisNode;
    return out;
  }
  if (only({"public", "node", "moved-to", "moved-at"})) {
    auto public_key = hex32(file.get("public"));
    if (!public_key) return bad("its line 'public' must be the key's public key, 64 hex digits");
    out.public_key = *public_key;
    out.binding = KeyBinding::kMovedAway;
    out.moved_to = *file.get("moved-to");
    out.moved_at = *file.get("moved-at");
    return out;
  }
  return bad(
      "it must hold the lines 'seed' and 'node', or (a key moved away) 'public', 'node', "
      "'moved-to' and 'moved-at', and no others");
}

// The key file of the keyring entry `name` at `path`: the name checked, and one sentence when the
// keyring holds no such key.
Result<KeyFile> read_named_key_file(const std::string& name, const fs::path& path) {
  if (Status s = check_key_name(name); !s) return s;
  if (!fs::exists(path))
    return Status::not_found("no key named '" + name + "' in this node's keyring (see 'anwang key list')");
  return read_key_file(path);
}

std::string bound_key_text(const KeyPair& key, const PublicKey& node) {
  SecretText seed;
  seed.text = seed_hex_of(key);
  return join_secret({kBoundKeyMagic, "\nseed ", seed.text, "\nnode ", node.hex(), "\n"});
}

// The secretbox key of a v3 file, derived from `passphrase` with the file's salt and cost.
Status derive_box_key(std::string_view passphrase, const SealedSeed& sealed,
                      std::array<std::uint8_t, crypto_secretbox_KEYBYTES>& out) {
  return derive_passphrase_key(passphrase, sealed.salt.data(), sealed.passes, sealed.memory_bytes, out);
}

// The v3 text of `key`, bound to `node`, its seed sealed by `passphrase` (a fresh salt and
// nonce, this release's cost). The text holds no secret in the clear; the seed and the derived
// key are wiped.
Result<std::string> protected_key_text(const KeyPair& key, const PublicKey& node,
                                       std::string_view passphrase, RandomSource& random) {
  SealedSeed sealed;
  sealed.passes = crypto_pwhash_OPSLIMIT_INTERACTIVE;
  sealed.memory_bytes = crypto_pwhash_MEMLIMIT_INTERACTIVE;
  random.fill(sealed.salt.data(), sealed.salt.size());
  random.fill(sealed.nonce.data(), sealed.nonce.size());
  std::array<std::uint8_t, crypto_secretbox_KEYBYTES> box_key{};
  if (Status s = derive_box_key(passphrase, sealed, box_key); !s) return s;
  auto seed = key.seed();
  crypto_secretbox_easy(sealed.sealed.data(), seed.data(), seed.size(), sealed.nonce.data(),
                        box_key.data());
  sodium_memzero(seed.data(), seed.size());
  sodium_memzero(box_key.data(), box_key.size());
  LabelledFile file;
  file.format = std::string(kProtectedKeyMagic);
  file.fields = {{"public", key.public_key().hex()},
                 {"node", node.hex()},
                 {"kdf", std::string(kKdfName)},
                 {"opslimit", std::to_string(sealed.passes)},
                 {"memlimit", std::to_string(sealed.memory_bytes)},
                 {"salt", to_hex(ByteView(sealed.salt.data(), sealed.salt.size()))},
                 {"nonce", to_hex(ByteView(sealed.nonce.data(), sealed.nonce.size()))},
                 {"sealed", to_hex(ByteView(sealed.sealed.data(), sealed.sealed.size()))}};
  std::string text = file.format + "\n";
  for (const auto& [label, value] : file.fields) text += label + " " + value + "\n";
  return text + "check " + protected_check(file) + "\n";
}

// The key sealed in a v3 file, opened with `passphrase`. A passphrase that does not open it is
// refused (kWrongPassphrase); a sealed seed that is not the key of the file's 'public' line
// means the file is damaged.
Result<KeyPair> unseal_key(const std::string& name, const fs::path& path, const KeyFile& file,
                           std::string_view passphrase) {
  if (passphrase.empty()) return Status::invalid("a passphrase must not be empty");
  if (passphrase.size() > passphrase_bytes_max)
    return Status::invalid("a passphrase must be at most " + std::to_string(passphrase_bytes_max) +
                           " bytes");
  const SealedSeed& sealed = *file.sealed;
  std::array<std::uint8_t, crypto_secretbox_KEYBYTES> box_key{};
  if (Status s = derive_box_key(passphrase, sealed, box_key); !s) return s;
  std::array<std::uint8_t, KeyPair::kSeedBytes> seed{};
  int opened = crypto_secretbox_open_easy(seed.data(), sealed.sealed.data(), sealed.sealed.size(),
                                          sealed.nonce.data(), box_key.data());
  sodium_memzero(box_key.data(), box_key.size());
  if (opened != 0) return Status::error(Status::Code::kRefused, kWrongPassphrase + name);
  KeyPair key = KeyPair::from_seed(ByteView(seed.data(), seed.size()));
  sodium_memzero(seed.data(), seed.size());
  if (key.public_key() != file.public_key)
    return Status::corruption("key file " + path.string() +
                              " is not a valid anwang key file: its sealed seed is not the key "
                              "of its line 'public'");
  return key;
}

// Why the key NAME does not sign here when it is moved away or bound to another node (one
// sentence saying where it is and how to move it), or nullopt when it may sign here.
std::optional<Status> not_signing_here(const std::string& name, const KeyInfo& info,
                                       const PublicKey& this_node) {
  if (info.binding == KeyBinding::kMovedAway)
    return Status::invalid(
        "key " + name + " was moved to " + info.moved_to + " at " + info.moved_at +
        " and no longer signs on this node; to bring it back, run 'anwang key import " +
        info.moved_to + "' here");
  if (info.binding == KeyBinding::kOtherNode)
    return Status::invalid(
        "key " + name + " belongs to node " + info.node->hex() + ", not this node " +
        this_node.hex() +
        ": a key signs on one node only; to move it here, run 'anwang key export " + name +
        " FILE' on node " + info.node->hex() + " and 'anwang key import FILE' here");
  return std::nullopt;
}

// A new node key file (v1: the node key is bound to nothing but its home).
Result<PublicKey> create_node_key_file(const fs::path& path, RandomSource& random) {
  std::array<std::uint8_t, KeyPair::kSeedBytes> seed{};
  random.fill(seed.data(), seed.size());
  KeyPair key = KeyPair::from_seed(ByteView(seed.data(), seed.size()));
  SecretText seed_hex;
  seed_hex.text = to_hex(ByteView(seed.data(), seed.size()));
  sodium_memzero(seed.data(), seed.size());
  std::string text = join_secret({kKeyFileMagic, "\n", seed_hex.text, "\n"});
  Status written = write_private_file(path, text);
  sodium_memzero(text.data(), text.size());
  if (!written) return written;
  return key.public_key();
}

KeyInfo info_of(const std::string& name, const KeyFile& file, const PublicKey& this_node) {
  KeyInfo info{name,          file.public_key, file.binding,           file.node,
               file.moved_to, file.moved_at,   file.sealed.has_value()};
  if (file.binding == KeyBinding::kThisNode && file.node != this_node)
    info.binding = KeyBinding::kOtherNode;
  return info;
}

// The node key: a v1 key file.
Result<KeyPair> read_node_key(const fs::path& path) {
  auto file = read_key_file(path);
  if (!file) return file.status();
  if (!file->key || file->binding != KeyBinding::kUnbound)
    return Status::corruption("node key file " + path.string() + " must be an " +
                              std::string(kKeyFileMagic) + " key file");
  return std::move(*file->key);
}

}  // namespace

const char* key_binding_name(KeyBinding binding) {
  switch (binding) {
    case KeyBinding::kThisNode:
      return "this_node";
    case KeyBinding::kUnbound:
      return "unbound";
    case KeyBinding::kMovedAway:
      return "moved";
    case KeyBinding::kOtherNode:
      return "other_node";
  }
  return "unknown";
}

Status derive_passphrase_key(std::string_view passphrase, const std::uint8_t* salt, std::uint64_t passes,
                             std::uint64_t memory_bytes, std::array<std::uint8_t, 32>& out) {
  if (crypto_pwhash(out.data(), out.size(), passphrase.data(), passphrase.size(), salt, passes,
                    static_cast<std::size_t>(memory_bytes), crypto_pwhash_ALG_ARGON2ID13) != 0)
    return Status::io_error("cannot derive a key from the passphrase: Argon2id needs " +
                            std::to_string(memory_bytes >> 20) + " MiB of memory and did not get it");
  return Status::ok();
}

SecretText::~SecretText() { clear(); }

void SecretText::clear() {
  text.resize(text.capacity());  // the bytes past the end too: a shorter text left them there
  sodium_memzero(text.data(), text.size());
  text.clear();
}

Status check_new_passphrase(std::string_view passphrase) {
  if (passphrase.empty()) return Status::invalid("a passphrase must not be empty");
  if (passphrase.size() < passphrase_bytes_min || passphrase.size() > passphrase_bytes_max)
    return Status::invalid("a passphrase must be " + std::to_string(passphrase_bytes_min) + " to " +
                           std::to_string(passphrase_bytes_max) +
                           " bytes long (a Chinese character is 3 bytes); this one is " +
                           std::to_string(passphrase.size()));
  return Status::ok();
}

bool is_wrong_passphrase(const Status& status) {
  return status.code() == Status::Code::kRefused && status.message().rfind(kWrongPassphrase, 0) == 0;
}

namespace {
constexpr std::string_view kPassphraseNeeded = " is protected by a passphrase: give it";
}  // namespace

bool is_passphrase_needed(const Status& status) {
  return status.code() == Status::Code::kRefused &&
         status.message().rfind("key ", 0) == 0 &&
         status.message().find(kPassphraseNeeded) != std::string::npos;
}

std::uint64_t SystemClock::now_ms() const {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
}

ProcessClock::ProcessClock() : started_(std::chrono::steady_clock::now()) {
  if (const char* fake = std::getenv("ANWANG_FAKE_NOW_MS"); fake != nullptr && *fake != '\0') {
    std::uint64_t ms = 0;
    if (std::from_chars(fake, fake + std::strlen(fake), ms).ec == std::errc()) fake_start_ms_ = ms;
  }
}

std::uint64_t ProcessClock::now_ms() const {
  if (!fake_start_ms_) return SystemClock().now_ms();
  auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started_);
  return *fake_start_ms_ + static_cast<std::uint64_t>(elapsed.count());
}

void SystemRandom::fill(std::uint8_t* out, std::size_t size) { randombytes_buf(out, size); }

Result<Config> load_config(const fs::path& home) {
  Config config;
  fs::path path = home / "anwang.toml";
  if (!fs::exists(path)) return config;
  toml::table table;
  try {
    table = toml::parse_file(path.string());
  } catch (const toml::parse_error& e) {
    std::ostringstream where;
    where << e.source().begin;
    return Status::invalid(path.string() + " is not valid TOML at " + where.str() + ": " + std::string(e.description()));
  }
  if (auto map = table["store"]["map_size_mib"]; map) {
    auto mib = map.value<std::int64_t>();
    std::int64_t min_mib = static_cast<std::int64_t>(limits::store_map_bytes_min >> 20);
    std::int64_t max_mib = static_cast<std::int64_t>(limits::store_map_bytes_max >> 20);
    if (!mib || *mib < min_mib || *mib > max_mib)
      return Status::invalid(path.string() + ": [store] map_size_mib must be a whole number from " +
                             std::to_string(min_mib) + " to " + std::to_string(max_mib));
    config.map_bytes = static_cast<std::uint64_t>(*mib) << 20;
  }
  if (auto listen = table["node"]["listen"]; listen) {
    if (!listen.is_string()) return Status::invalid(path.string() + ": [node] listen must be a string \"HOST:PORT\"");
    config.listen = *listen.value<std::string>();
  }
  if (auto interval = table["sync"]["interval_s"]; interval) {
    auto seconds = interval.value<std::int64_t>();
    if (!seconds || *seconds < 1 || *seconds > 86'400)
      return Status::invalid(path.string() + ": [sync] interval_s must be a whole number of seconds from 1 to 86400");
    config.sync_interval_s = static_cast<int>(*seconds);
  }
  if (const toml::array* neighbours = table["neighbour"].as_array()) {
    for (const toml::node& neighbour : *neighbours) {
      const toml::table* entry = neighbour.as_table();
      auto address = entry != nullptr ? (*entry)["address"].value<std::string>() : std::nullopt;
      if (!address) return Status::invalid(path.string() + ": each [[neighbour]] needs address = \"HOST:PORT\"");
      auto budget = (*entry)["blob_budget_bytes"].value_or<std::int64_t>(0);
      if (budget < 0) return Status::invalid(path.string() + ": [[neighbour]] blob_budget_bytes must not be negative");
      Config::Neighbour parsed{*address, static_cast<std::uint64_t>(budget), std::nullopt};
      if (auto key = (*entry)["key"]; key) {
        auto text = key.value<std::string>();
        auto public_key = text ? Hash32::from_hex(*text) : std::nullopt;
        if (!public_key)
          return Status::invalid(path.string() + ": [[neighbour]] " + *address +
                                 ": key must be the node's public key, 64 hex digits (as `anwang status` shows it on that node)");
        parsed.key = *public_key;
      }
      config.neighbours.push_back(std::move(parsed));
    }
  }
  if (auto web = table["web"]["listen"]; web) {
    if (!web.is_string()) return Status::invalid(path.string() + ": [web] listen must be a string \"HOST:PORT\", or \"\" for no web UI");
    config.web_listen = *web.value<std::string>();
  }
  for (auto [name, target] : {std::pair{"tls_certificate", &config.web_tls_certificate}, std::pair{"tls_key", &config.web_tls_key},
                              std::pair{"mbtiles", &config.web_mbtiles}})
    if (auto file = table["web"][name]; file) {
      if (!file.is_string()) return Status::invalid(path.string() + ": [web] " + name + " must be a file name");
      *target = *file.value<std::string>();
    }
  if (config.web_tls_certificate.empty() != config.web_tls_key.empty())
    return Status::invalid(path.string() + ": [web] tls_certificate and tls_key go together: give both, or neither");
  if (auto level = table["node"]["log_level"]; level) {
    static const std::vector<std::string> kLevels = {"trace", "debug", "info", "warn", "error"};
    auto text = level.value<std::string>();
    if (!text || std::find(kLevels.begin(), kLevels.end(), *text) == kLevels.end())
      return Status::invalid(path.string() + ": [node] log_level must be one of trace, debug, info, warn, error");
    config.log_level = *text;
  }
  return config;
}

Status check_key_name(const std::string& name) {
  bool plain = !name.empty() && name.size() <= limits::key_name_bytes_max && name[0] != '.' && name[0] != '-' &&
               std::all_of(name.begin(), name.end(), [](char c) {
                 return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
               });
  if (!plain)
    return Status::invalid("key name '" + name + "' must be 1 to " + std::to_string(limits::key_name_bytes_max) +
                           " letters, digits, '-', '_' or '.', not starting with '.' or '-'");
  return Status::ok();
}

Result<NodeHome> NodeHome::init(const fs::path& dir, RandomSource& random) {
  std::error_code ec;
  fs::create_directories(dir / "keys", ec);
  if (ec) return Status::io_error("cannot create node home " + dir.string() + ": " + ec.message());
  fs::permissions(dir / "keys", fs::perms::owner_all, ec);
  if (!fs::exists(dir / "node.key")) {
    auto created = create_node_key_file(dir / "node.key", random);
    if (!created) return created.status();
  }
  if (!fs::exists(dir / "anwang.toml"))
    if (Status s = write_file_atomically(dir / "anwang.toml", as_bytes(kDefaultConfig), ExistingFile::kRefuse); !s) return s;
  auto home = open(dir);
  if (!home) return home.status();
  auto store = home->open_store();
  if (!store) return store.status();
  return home;
}

Result<NodeHome> NodeHome::open(const fs::path& dir) {
  if (!fs::exists(dir / "node.key"))
    return Status::not_found("no anwang node at " + dir.string() + ": run 'anwang init' first");
  auto config = load_config(dir);
  if (!config) return config.status();
  auto key = read_node_key(dir / "node.key");
  if (!key) return key.status();
  return NodeHome(dir, std::move(*config), key->public_key());
}

Result<KeyPair> NodeHome::load_node_key() const { return read_node_key(dir_ / "node.key"); }

Result<KeyInfo> NodeHome::new_key(const std::string& name, RandomSource& random,
                                  std::optional<std::string_view> passphrase) const {
  if (Status s = check_key_name(name); !s) return s;
  if (passphrase)
    if (Status s = check_new_passphrase(*passphrase); !s) return s;
  fs::path path = key_path(name);
  if (fs::exists(path)) return Status::error(Status::Code::kAlreadyExists, "a key named '" + name + "' already exists");
  std::array<std::uint8_t, KeyPair::kSeedBytes> seed{};
  random.fill(seed.data(), seed.size());
  KeyPair key = KeyPair::from_seed(ByteView(seed.data(), seed.size()));
  sodium_memzero(seed.data(), seed.size());
  Status written;
  if (passphrase) {
    auto text = protected_key_text(key, node_key_, *passphrase, random);
    if (!text) return text.status();
    written = write_private_file(path, *text);
  } else {
    std::string text = bound_key_text(key, node_key_);
    written = write_private_file(path, text);
    sodium_memzero(text.data(), text.size());
  }
  if (!written) return written;
  return KeyInfo{name, key.public_key(), KeyBinding::kThisNode, node_key_, "", "", passphrase.has_value()};
}

Result<std::vector<KeyInfo>> NodeHome::list_keys() const {
  std::vector<KeyInfo> keys;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir_ / "keys", ec)) {
    if (entry.path().extension() != ".key") continue;
    auto file = read_key_file(entry.path());
    if (!file) return file.status();
    keys.push_back(info_of(entry.path().stem().string(), *file, node_key_));
  }
  if (ec) return Status::io_error("cannot read the keyring: " + ec.message());
  std::sort(keys.begin(), keys.end(), [](const KeyInfo& a, const KeyInfo& b) { return a.name < b.name; });
  return keys;
}

Result<KeyInfo> NodeHome::key_info(const std::string& name) const {
  auto file = read_named_key_file(name, key_path(name));
  if (!file) return file.status();
  return info_of(name, *file, node_key_);
}

Result<KeyPair> NodeHome::load_key(const std::string& name,
                                   std::optional<std::string_view> passphrase) const {
  fs::path path = key_path(name);
  auto file = read_named_key_file(name, path);
  if (!file) return file.status();
  KeyInfo info = info_of(name, *file, node_key_);
  if (auto refused = not_signing_here(name, info, node_key_)) return *refused;
  if (file->sealed) {
    if (!passphrase)
      return Status::error(
          Status::Code::kRefused,
          "key " + name + std::string(kPassphraseNeeded) +
              " with --passphrase-file FILE (the passphrase is the file's first line) or the "
              "environment variable ANWANG_PASSPHRASE_FILE, or run the command on a terminal to "
              "be asked for it");
    return unseal_key(name, path, *file, *passphrase);
  }
  if (info.binding == KeyBinding::kThisNode) return std::move(*file->key);
  // A key file of an earlier release: bound to this node now, the first time it signs here.
  std::string text = bound_key_text(*file->key, node_key_);
  Status written = replace_private_file(path, text);
  sodium_memzero(text.data(), text.size());
  if (!written)
    return Status::io_error("key " + name + " is an " + std::string(kKeyFileMagic) +
                            " key file and must be bound to this node before it signs, but " +
                            written.message());
  return std::move(*file->key);
}

Result<KeyInfo> NodeHome::protect_key(const std::string& name, std::string_view passphrase,
                                      RandomSource& random) const {
  if (Status s = check_key_name(name); !s) return s;
  if (Status s = check_new_passphrase(passphrase); !s) return s;
  fs::path path = key_path(name);
  auto file = read_named_key_file(name, path);
  if (!file) return file.status();
  KeyInfo info = info_of(name, *file, node_key_);
  if (auto refused = not_signing_here(name, info, node_key_)) return *refused;
  if (file->sealed)
    return Status::error(Status::Code::kAlreadyExists,
                         "key " + name + " is protected by a passphrase already");
  // A plain v2 key bound here, or a v1 key file, bound to this node by this rewrite.
  auto text = protected_key_text(*file->key, node_key_, passphrase, random);
  if (!text) return text.status();
  if (Status s = replace_private_file(path, *text); !s) return s;
  return KeyInfo{name, file->public_key, KeyBinding::kThisNode, node_key_, "", "", true};
}

Result<PublicKey> NodeHome::resolve_public_key(const std::string& name_or_hex) const {
  if (name_or_hex.size() == 64) {
    if (auto key = Hash32::from_hex(name_or_hex)) return *key;
  }
  auto key = key_info(name_or_hex);
  if (!key) {
    if (key.status().code() == Status::Code::kNotFound)
      return Status::not_found("'" + name_or_hex + "' is neither a key name in this node's keyring nor a 64-digit hex public key");
    return key.status();
  }
  return key->public_key;
}

Result<KeyInfo> NodeHome::export_key(const std::string& name, const fs::path& file,
                                     const std::optional<KeyChainHead>& head,
                                     const PhysicalClock& clock,
                                     std::optional<std::string_view> passphrase) const {
  auto key = load_key(name, passphrase);
  if (!key) return key.status();
  std::error_code ec;
  fs::path target = fs::absolute(file, ec);
  if (ec)
    return Status::invalid("cannot make an absolute path of " + file.string() + ": " +
                           ec.message());
  std::string target_text = target.string();
  if (target_text.size() > key_move_path_bytes_max ||
      std::any_of(target_text.begin(), target_text.end(),
                  [](char c) { return static_cast<unsigned char>(c) < 0x20; }))
    return Status::invalid("the move file's path must be at most " +
                           std::to_string(key_move_path_bytes_max) +
                           " bytes, without line breaks or control characters");
  if (fs::exists(target, ec))
    return Status::error(
        Status::Code::kAlreadyExists,
        target_text + " already exists: a move file is written new, never over another file");
  std::string moved_at = hlc_display(hlc_from_ms(clock.now_ms()), TimeShown::kIso);
  SecretText seed_hex;
  seed_hex.text = seed_hex_of(*key);
  std::string head_text =
      head ? std::to_string(head->seq) + " " + head->id.hex() + " " + std::to_string(head->hlc) : "none";
  std::string text = join_secret({kMoveFileMagic, "\nname ", name, "\npublic ", key->public_key().hex(), "\nseed ",
                                  seed_hex.text, "\nfrom ", node_key_.hex(), "\nhead ", head_text, "\nmoved-at ",
                                  moved_at, "\n"});
  Status written = write_private_file(target, text);
  sodium_memzero(text.data(), text.size());
  if (!written) return written;
  // The move file is on disk: the seed leaves this node's keyring.
  std::string marker = std::string(kBoundKeyMagic) + "\npublic " + key->public_key().hex() +
                       "\nnode " + node_key_.hex() + "\nmoved-to " + target_text + "\nmoved-at " +
                       moved_at + "\n";
  if (Status s = replace_private_file(key_path(name), marker); !s) {
    ::unlink(target.c_str());  // the key stays here, whole: no second copy may be left behind
    return s;
  }
  return KeyInfo{name, key->public_key(), KeyBinding::kMovedAway, node_key_, target_text, moved_at, false};
}

Result<KeyMove> read_move_file(const fs::path& path) {
  SecretText text;
  if (Status s = read_small_file(path, key_file_bytes_max, "move file", text); !s) return s;
  auto bad = [&path](const std::string& why) {
    return Status::invalid("move file " + path.string() +
                           " is not a valid anwang key move file: " + why);
  };
  if (text.text.empty() || text.text.back() != '\n')
    return bad("it is empty or cut short (it must end with a line break)");
  LabelledFile file;
  if (Status s = split_labelled(text.text, file); !s) return bad(s.message());
  if (file.format != kMoveFileMagic)
    return bad("its first line must be " + std::string(kMoveFileMagic));
  static constexpr std::array<std::string_view, 6> kLabels = {"name", "public", "seed",
                                                              "from", "head",   "moved-at"};
  if (!file.unlabelled.empty() || file.fields.size() != kLabels.size() ||
      !std::all_of(kLabels.begin(), kLabels.end(),
                   [&file](std::string_view l) { return file.get(l) != nullptr; }))
    return bad(
        "it must hold the lines 'name', 'public', 'seed', 'from', 'head' and 'moved-at', and no "
        "others");
  if (Status s = check_key_name(*file.get("name")); !s)
    return bad("its line 'name': " + s.message());
  auto key = key_from_seed_hex(file.get("seed"));
  if (!key)
    return bad("its line 'seed' must be " + std::to_string(2 * KeyPair::kSeedBytes) +
               " hex digits");
  auto public_key = hex32(file.get("public"));
  if (!public_key || *public_key != key->public_key())
    return bad("its line 'public' must be the public key of its seed, 64 hex digits");
  auto from = hex32(file.get("from"));
  if (!from) return bad("its line 'from' must be the node key the key leaves, 64 hex digits");
  std::optional<KeyChainHead> head;
  if (*file.get("head") != "none") {
    std::istringstream in(*file.get("head"));
    std::string seq, id, hlc, rest;
    in >> seq >> id >> hlc >> rest;
    auto number = [](const std::string& digits, std::uint64_t& out) {
      if (digits.empty() || digits.size() > 20 ||
          !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return false;
      errno = 0;
      out = std::strtoull(digits.c_str(), nullptr, 10);
      return errno == 0;
    };
    KeyChainHead parsed;
    auto parsed_id = hex32(&id);
    if (!rest.empty() || !number(seq, parsed.seq) || parsed.seq == 0 || !parsed_id ||
        !number(hlc, parsed.hlc))
      return bad(
          "its line 'head' must be 'none' or the sequence number (from 1), the op id (64 hex "
          "digits) and the timestamp of the key's latest op");
    parsed.id = *parsed_id;
    head = parsed;
  }
  return KeyMove{*file.get("name"), std::move(*key), *from, head, *file.get("moved-at")};
}

Status NodeHome::check_import(const KeyMove& move, const std::string& name) const {
  if (Status s = check_key_name(name); !s) return s;
  auto keys = list_keys();
  if (!keys) return keys.status();
  for (const KeyInfo& held : *keys) {
    bool signs_here = held.binding == KeyBinding::kThisNode || held.binding == KeyBinding::kUnbound;
    if (held.public_key == move.key.public_key() && signs_here)
      return Status::error(Status::Code::kAlreadyExists,
                           "key " + move.key.public_key().short_hex() +
                               " already signs on this node as '" + held.name +
                               "': nothing to import");
    if (held.name == name && held.public_key != move.key.public_key())
      return Status::error(Status::Code::kAlreadyExists,
                           "a key named '" + name +
                               "' already exists in this node's keyring: choose another "
                               "name with --name NAME");
  }
  return Status::ok();
}

Result<KeyInfo> NodeHome::import_key(const KeyMove& move, const std::string& name) const {
  if (Status s = check_import(move, name); !s) return s;
  std::string text = bound_key_text(move.key, node_key_);
  Status written = replace_private_file(key_path(name), text);
  sodium_memzero(text.data(), text.size());
  if (!written) return written;
  return KeyInfo{name, move.key.public_key(), KeyBinding::kThisNode, node_key_, "", "", false};
}

Result<KeyInfo> NodeHome::import_key(const KeyMove& move, const std::string& name,
                                     std::string_view passphrase, RandomSource& random) const {
  if (Status s = check_new_passphrase(passphrase); !s) return s;
  if (Status s = check_import(move, name); !s) return s;
  auto text = protected_key_text(move.key, node_key_, passphrase, random);
  if (!text) return text.status();
  if (Status s = replace_private_file(key_path(name), *text); !s) return s;
  return KeyInfo{name, move.key.public_key(), KeyBinding::kThisNode, node_key_, "", "", true};
}

Result<std::unique_ptr<Store>> NodeHome::open_store(const PhysicalClock* clock) const {
  StoreOptions options{dir_ / "store", config_.map_bytes};
  options.clock = clock;
  return Store::open(options);
}

void pretend_earlier_release_from_environment() {
  const char* variants = std::getenv("ANWANG_TEST_PAYLOAD_VARIANTS");
  const char* kinds = std::getenv("ANWANG_TEST_RECORD_KINDS");
  if (variants == nullptr && kinds == nullptr) return;
  std::uint16_t count = 0xffff;
  if (variants != nullptr && *variants != '\0') count = static_cast<std::uint16_t>(std::strtoul(variants, nullptr, 10));
  std::vector<std::string> known;
  if (kinds != nullptr)
    for (std::string_view rest = kinds; !rest.empty();) {
      std::size_t comma = rest.find(',');
      if (comma != 0) known.emplace_back(rest.substr(0, comma));
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    }
  pretend_earlier_release_for_testing(count, std::move(known));
}

}  // namespace anwang::node
