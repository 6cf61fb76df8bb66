// fuzz_support.cpp — see fuzz_support.h.
#include "fuzz_support.h"

#include <sodium.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <map>

#include "crdt/hash.h"
#include "node/constitution.h"

namespace anwang::fuzz {

namespace fs = std::filesystem;

void require(bool holds, const std::string& what) {
  if (holds) return;
  std::fprintf(stderr, "fuzz invariant broken: %s\n", what.c_str());
  std::abort();
}

namespace {
std::map<std::string, fs::path>& scratch_dirs() {
  static std::map<std::string, fs::path> dirs;
  return dirs;
}
void remove_scratch_dirs() {
  std::error_code ec;
  for (const auto& [name, dir] : scratch_dirs()) fs::remove_all(dir, ec);
}
}  // namespace

const fs::path& scratch_dir(const std::string& name) {
  auto& dirs = scratch_dirs();
  if (auto it = dirs.find(name); it != dirs.end()) return it->second;
  std::error_code ec;
  fs::path base = fs::is_directory("/dev/shm", ec) ? fs::path("/dev/shm") : fs::temp_directory_path();
  fs::path dir = base / ("anwang-" + name + "-" + std::to_string(getpid()));
  fs::remove_all(dir, ec);
  fs::create_directories(dir, ec);
  require(!ec, "cannot create the scratch directory " + dir.string());
  if (dirs.empty()) std::atexit(remove_scratch_dirs);
  return dirs.emplace(name, dir).first->second;
}

std::unique_ptr<node::Store> fresh_store(const fs::path& dir) {
  std::error_code ec;
  fs::remove_all(dir, ec);
  auto store = node::Store::open(node::StoreOptions{dir, kFuzzMapBytes, 1});
  require(store.is_ok(), "cannot open a store in " + dir.string() + ": " + store.status().message());
  return std::move(*store);
}

const KeyPair& fuzz_key(int n) {
  static std::map<int, KeyPair> keys;
  if (auto it = keys.find(n); it != keys.end()) return it->second;
  require(sodium_init() >= 0, "libsodium does not initialise");
  Hash32 seed = blake2b_256(as_bytes("anwang fuzz key " + std::to_string(n)));
  return keys.emplace(n, KeyPair::from_seed(seed.view())).first->second;
}

Op must_sign(OpFields fields, const KeyPair& key) {
  auto op = sign_op(std::move(fields), key);
  require(op.is_ok(), "a generator built an invalid op: " + (op.is_ok() ? std::string() : op.status().message()));
  return std::move(*op);
}

const Op& fuzz_genesis() {
  static const Op genesis = [] {
    const KeyPair& root = fuzz_key(0);
    OpFields fields;
    fields.author = root.public_key();
    fields.author_seq = 1;
    fields.hlc = kFuzzTimeMs << 16;
    fields.scope = kFuzzCounty;
    fields.object = named_object_id("network", kFuzzCounty);
    fields.payload = GenesisPayload{kFuzzCounty, "模糊测试旗 fuzz county", {root.public_key()}, 1, node::default_constitution()};
    return must_sign(std::move(fields), root);
  }();
  return genesis;
}

}  // namespace anwang::fuzz
