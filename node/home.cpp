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

namespace anwang::node {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kKeyFileMagic = "anwang-ed25519-v1";

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
# [[neighbour]]
# address = "192.0.2.10:7400"
# blob_budget_bytes = 2000000
)";

// Writes `text` to a new file readable only by its owner, durably.
Status write_private_file(const fs::path& path, std::string_view text) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Status::io_error("cannot create " + path.string() + ": " + std::strerror(errno));
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  int saved = errno;
  ::close(fd);
  if (!ok) return Status::io_error("cannot write " + path.string() + ": " + std::strerror(saved));
  return Status::ok();
}

Result<KeyPair> read_key_file(const fs::path& path) {
  std::ifstream in(path);
  if (!in) return Status::not_found("no key file " + path.string());
  std::string magic, seed_hex;
  std::getline(in, magic);
  std::getline(in, seed_hex);
  Status bad = Status::corruption("key file " + path.string() + " is not an anwang key file (" +
                                  std::string(kKeyFileMagic) + ")");
  if (magic != kKeyFileMagic || seed_hex.size() != 2 * KeyPair::kSeedBytes) {
    sodium_memzero(seed_hex.data(), seed_hex.size());
    return bad;
  }
  std::array<std::uint8_t, KeyPair::kSeedBytes> seed{};
  std::size_t seed_len = 0;
  int rc = sodium_hex2bin(seed.data(), seed.size(), seed_hex.data(), seed_hex.size(), nullptr, &seed_len, nullptr);
  sodium_memzero(seed_hex.data(), seed_hex.size());
  if (rc != 0 || seed_len != seed.size()) {
    sodium_memzero(seed.data(), seed.size());
    return bad;
  }
  KeyPair key = KeyPair::from_seed(ByteView(seed.data(), seed.size()));
  sodium_memzero(seed.data(), seed.size());
  return key;
}

Result<PublicKey> create_key_file(const fs::path& path, RandomSource& random) {
  std::array<std::uint8_t, KeyPair::kSeedBytes> seed{};
  random.fill(seed.data(), seed.size());
  KeyPair key = KeyPair::from_seed(ByteView(seed.data(), seed.size()));
  std::string text = std::string(kKeyFileMagic) + "\n" + to_hex(ByteView(seed.data(), seed.size())) + "\n";
  sodium_memzero(seed.data(), seed.size());
  Status written = write_private_file(path, text);
  sodium_memzero(text.data(), text.size());
  if (!written) return written;
  return key.public_key();
}

}  // namespace

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
      config.neighbours.push_back({*address, static_cast<std::uint64_t>(budget)});
    }
  }
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
    auto created = create_key_file(dir / "node.key", random);
    if (!created) return created.status();
  }
  if (!fs::exists(dir / "anwang.toml")) {
    std::ofstream out(dir / "anwang.toml");
    out << kDefaultConfig;
    if (!out) return Status::io_error("cannot write " + (dir / "anwang.toml").string());
  }
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
  auto key = read_key_file(dir / "node.key");
  if (!key) return key.status();
  return NodeHome(dir, std::move(*config), key->public_key());
}

Result<KeyPair> NodeHome::load_node_key() const { return read_key_file(dir_ / "node.key"); }

Result<KeyInfo> NodeHome::new_key(const std::string& name, RandomSource& random) const {
  if (Status s = check_key_name(name); !s) return s;
  fs::path path = dir_ / "keys" / (name + ".key");
  if (fs::exists(path)) return Status::error(Status::Code::kAlreadyExists, "a key named '" + name + "' already exists");
  auto key = create_key_file(path, random);
  if (!key) return key.status();
  return KeyInfo{name, *key};
}

Result<std::vector<KeyInfo>> NodeHome::list_keys() const {
  std::vector<KeyInfo> keys;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir_ / "keys", ec)) {
    if (entry.path().extension() != ".key") continue;
    auto key = read_key_file(entry.path());
    if (!key) return key.status();
    keys.push_back({entry.path().stem().string(), key->public_key()});
  }
  if (ec) return Status::io_error("cannot read the keyring: " + ec.message());
  std::sort(keys.begin(), keys.end(), [](const KeyInfo& a, const KeyInfo& b) { return a.name < b.name; });
  return keys;
}

Result<KeyPair> NodeHome::load_key(const std::string& name) const {
  if (Status s = check_key_name(name); !s) return s;
  fs::path path = dir_ / "keys" / (name + ".key");
  if (!fs::exists(path))
    return Status::not_found("no key named '" + name + "' in this node's keyring (see 'anwang key list')");
  return read_key_file(path);
}

Result<PublicKey> NodeHome::resolve_public_key(const std::string& name_or_hex) const {
  if (name_or_hex.size() == 64) {
    if (auto key = Hash32::from_hex(name_or_hex)) return *key;
  }
  auto key = load_key(name_or_hex);
  if (!key) {
    if (key.status().code() == Status::Code::kNotFound)
      return Status::not_found("'" + name_or_hex + "' is neither a key name in this node's keyring nor a 64-digit hex public key");
    return key.status();
  }
  return key->public_key();
}

Result<std::unique_ptr<Store>> NodeHome::open_store(const PhysicalClock* clock) const {
  StoreOptions options{dir_ / "store", config_.map_bytes};
  options.clock = clock;
  return Store::open(options);
}

}  // namespace anwang::node
