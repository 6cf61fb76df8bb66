// libFuzzer target: bundle import (node::import_bundle) into a node home.
//
// A node home in /dev/shm is made once per process (its node key is fixed); before every input
// its store is reset to hold only the fuzz network's genesis. The first byte of the input
// chooses how the rest becomes a bundle file:
//   even: raw — the rest is the file as it is (header checks, cut-short and damaged files;
//         mutated ciphertext fails authentication);
//   odd:  records — the rest is a list of plain records [u8 type | 0x80 for the FINAL tag]
//         [u16 LE length][body], which this target encrypts to the node exactly as a bundle
//         writer would (bundle.h gives the format), so the fuzzer reaches the record parser:
//         ops, blob begin / bytes / end records in any order, sizes and types.
// Invariants checked after every input:
//   - import never crashes, and the store passes verify() afterwards;
//   - a file without one authenticated record (not a bundle, another version, for another
//     node, bad key exchange or header, first record damaged) is refused and leaves the store
//     exactly as it was (digest, op and pending counts);
//   - importing the same file a second time changes nothing.
//
// Seed corpus: tests/fuzz/corpus/bundle_fuzz/: a real export_bundle() file of a small network
// (ops of the genesis, an enrolment, notes, regions) and record lists with ops, a blob, an end
// record, and one cut short. ANWANG_FUZZ_WRITE_SEEDS=DIR writes them and exits.
#include <sodium.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "crdt/hash.h"
#include "crdt/hlc.h"
#include "fuzz_support.h"
#include "node/bundle.h"
#include "node/home.h"

namespace {

using namespace anwang;
namespace fs = std::filesystem;

constexpr char kMagic[8] = {'A', 'N', 'W', 'A', 'N', 'G', 'B', 'N'};
constexpr std::size_t kHeaderBytes = 8 + 4 + 32 + 32 + 32 + crypto_secretstream_xchacha20poly1305_HEADERBYTES;
constexpr std::uint8_t kFinalFlag = 0x80;

// Deterministic "randomness" for the node key: the same home in every run.
class FixedRandom final : public node::RandomSource {
 public:
  void fill(std::uint8_t* out, std::size_t size) override {
    for (std::size_t i = 0; i < size; ++i) out[i] = static_cast<std::uint8_t>(0x42 + 7 * (counter_++));
  }

 private:
  std::size_t counter_ = 0;
};

struct Fixture {
  fs::path dir;
  node::NodeHome home;
  KeyPair node_key;
  std::array<std::uint8_t, 32> ephemeral_public{};
  std::array<std::uint8_t, 32> ephemeral_secret{};
};

Fixture make_fixture() {
  fs::path dir = fuzz::scratch_dir("bundle-fuzz");
  fs::path home_dir = dir / "home";
  fs::create_directories(home_dir);
  std::ofstream(home_dir / "anwang.toml") << "[store]\nmap_size_mib = 16\n";
  FixedRandom random;
  auto home = node::NodeHome::init(home_dir, random);
  fuzz::require(home.is_ok(), "cannot make the node home");
  auto node_key = home->load_node_key();
  fuzz::require(node_key.is_ok(), "cannot load the node key");
  Fixture fixture{dir, std::move(*home), std::move(*node_key), {}, {}};
  Hash32 seed = blake2b_256(as_bytes("bundle fuzz ephemeral key"));
  crypto_box_seed_keypair(fixture.ephemeral_public.data(), fixture.ephemeral_secret.data(), seed.bytes.data());
  return fixture;
}

Fixture& fixture() {
  static Fixture instance = make_fixture();
  return instance;
}

// The store of the home, emptied and given the genesis: the state before every input.
std::unique_ptr<node::Store> reset_store(Fixture& f) {
  std::error_code ec;
  fs::remove_all(f.home.dir() / "store", ec);
  auto store = f.home.open_store();
  fuzz::require(store.is_ok(), "cannot open the home's store");
  std::vector<Bytes> genesis{fuzz::fuzz_genesis().bytes};
  auto ingested = (*store)->ingest(genesis);
  fuzz::require(ingested.is_ok() && ingested->outcomes[0].kind == node::IngestOutcome::Kind::kAccepted,
                "the genesis is not accepted");
  return std::move(*store);
}

// Key of a bundle (bundle.h): BLAKE2b-256("anwang/bundle/v1" | X25519 | ephemeral | recipient).
std::array<std::uint8_t, 32> bundle_key(const Fixture& f) {
  auto x_recipient = x25519_public(f.node_key.public_key());
  fuzz::require(x_recipient.has_value(), "the node key has no X25519 form");
  std::array<std::uint8_t, 32> shared{};
  fuzz::require(crypto_scalarmult(shared.data(), f.ephemeral_secret.data(), x_recipient->data()) == 0, "X25519 failed");
  Blake2b hasher;
  hasher.update(std::string_view("anwang/bundle/v1"));
  hasher.update(ByteView(shared.data(), shared.size()));
  hasher.update(ByteView(f.ephemeral_public.data(), f.ephemeral_public.size()));
  hasher.update(f.node_key.public_key().view());
  return hasher.finish().bytes;
}

// Encrypts plain records [type|flags][u16 LE length][body] into a bundle for the fixture's node.
Bytes seal_records(const Fixture& f, const std::uint8_t* data, std::size_t size) {
  Bytes file(kMagic, kMagic + 8);
  append_u32_le(file, node::kBundleVersion);
  PublicKey sender = fuzz::fuzz_key(0).public_key();
  file.insert(file.end(), f.node_key.public_key().bytes.begin(), f.node_key.public_key().bytes.end());
  file.insert(file.end(), sender.bytes.begin(), sender.bytes.end());
  file.insert(file.end(), f.ephemeral_public.begin(), f.ephemeral_public.end());
  std::size_t at = file.size();
  file.resize(kHeaderBytes);
  crypto_secretstream_xchacha20poly1305_state state;
  auto key = bundle_key(f);
  crypto_secretstream_xchacha20poly1305_init_push(&state, file.data() + at, key.data());
  Bytes header(file.begin(), file.end());
  std::size_t pos = 0;
  while (pos + 3 <= size) {
    std::uint8_t head = data[pos];
    std::size_t length = std::min<std::size_t>(data[pos + 1] | (data[pos + 2] << 8), size - pos - 3);
    Bytes plain{static_cast<std::uint8_t>(head & ~kFinalFlag)};
    plain.insert(plain.end(), data + pos + 3, data + pos + 3 + length);
    pos += 3 + length;
    Bytes cipher(plain.size() + crypto_secretstream_xchacha20poly1305_ABYTES);
    unsigned long long cipher_len = 0;
    crypto_secretstream_xchacha20poly1305_push(&state, cipher.data(), &cipher_len, plain.data(), plain.size(),
                                               header.data(), header.size(),
                                               (head & kFinalFlag) ? crypto_secretstream_xchacha20poly1305_TAG_FINAL : 0);
    append_u32_le(file, static_cast<std::uint32_t>(cipher_len));
    file.insert(file.end(), cipher.begin(), cipher.begin() + static_cast<std::ptrdiff_t>(cipher_len));
  }
  return file;
}

// True when `file` is a bundle for this node whose first record authenticates: only then may
// an import change the store.
bool holds_authentic_record(const Fixture& f, const Bytes& file) {
  if (file.size() < kHeaderBytes || std::memcmp(file.data(), kMagic, 8) != 0) return false;
  if (read_u32_le(file.data() + 8) != node::kBundleVersion) return false;
  if (std::memcmp(file.data() + 12, f.node_key.public_key().bytes.data(), 32) != 0) return false;
  auto x_secret = f.node_key.x25519_secret();
  std::array<std::uint8_t, 32> shared{};
  if (crypto_scalarmult(shared.data(), x_secret.data(), file.data() + 76) != 0) return false;
  Blake2b hasher;
  hasher.update(std::string_view("anwang/bundle/v1"));
  hasher.update(ByteView(shared.data(), shared.size()));
  hasher.update(ByteView(file.data() + 76, 32));
  hasher.update(f.node_key.public_key().view());
  auto key = hasher.finish().bytes;
  crypto_secretstream_xchacha20poly1305_state state;
  if (crypto_secretstream_xchacha20poly1305_init_pull(&state, file.data() + 108, key.data()) != 0) return false;
  if (file.size() < kHeaderBytes + 4) return false;
  std::uint32_t length = read_u32_le(file.data() + kHeaderBytes);
  if (length < crypto_secretstream_xchacha20poly1305_ABYTES + 1 || file.size() < kHeaderBytes + 4 + length) return false;
  Bytes plain(length);
  unsigned long long plain_len = 0;
  unsigned char tag = 0;
  return crypto_secretstream_xchacha20poly1305_pull(&state, plain.data(), &plain_len, &tag, file.data() + kHeaderBytes + 4,
                                                    length, file.data(), kHeaderBytes) == 0;
}

void write_file(const fs::path& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  out.close();
  fuzz::require(static_cast<bool>(out), "cannot write " + path.string());
}

Bytes read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

struct StoreState {
  Hash32 digest;
  std::uint64_t ops = 0;
  std::uint64_t pending = 0;
  bool operator==(const StoreState&) const = default;
};

StoreState state_of(const node::Store& store) {
  auto digest = store.digest();
  auto stats = store.stats();
  fuzz::require(digest.is_ok() && stats.is_ok(), "cannot read the store's digest or stats");
  return {*digest, stats->ops, stats->pending};
}

// A plain record for the record mode of the input.
void append_record(Bytes& out, std::uint8_t head, ByteView body) {
  out.push_back(head);
  out.push_back(static_cast<std::uint8_t>(body.size() & 0xff));
  out.push_back(static_cast<std::uint8_t>(body.size() >> 8));
  out.insert(out.end(), body.begin(), body.end());
}

void write_seeds(const fs::path& dir) {
  Fixture& f = fixture();
  fs::create_directories(dir);
  // A small network in a store of its own: genesis, the node's enrolment, notes and regions.
  auto store = fuzz::fresh_store(f.dir / "seed-store");
  std::vector<Bytes> genesis{fuzz::fuzz_genesis().bytes};
  fuzz::require(store->ingest(genesis).is_ok(), "cannot ingest the genesis");
  ManualClock clock(fuzz::kFuzzTimeMs + 1000);
  const KeyPair& root = fuzz::fuzz_key(0);
  auto author = [&](node::OpDraft draft) {
    clock.advance_ms(10);
    draft.admit = node::DraftAdmit::kEvenIfNotEffective;
    auto op = store->author(root, draft, clock);
    fuzz::require(op.is_ok(), "cannot author a seed op: " + (op.is_ok() ? std::string() : op.status().message()));
    return *op;
  };
  PublicKey node = f.node_key.public_key();
  author(node::OpDraft{fuzz::kFuzzCounty, node_object_id(node), EnrolmentPayload{node}, {}});
  author(node::OpDraft{"150430100", named_object_id("region", "150430100"), RegionPayload{"150430100", "乡 township", ""}, {}});
  for (int i = 0; i < 3; ++i)
    author(node::OpDraft{"150430100", named_object_id("note", std::to_string(i)), NotePayload{"巡查 note " + std::to_string(i)}, {}});

  fs::path exported = f.dir / "seed.bundle";
  auto report = node::export_bundle(*store, root.public_key(), node::BundleExportOptions{node, false, true}, exported);
  fuzz::require(report.is_ok(), "cannot export the seed bundle: " + (report.is_ok() ? std::string() : report.status().message()));
  Bytes raw{0};
  Bytes file = read_file(exported);
  raw.insert(raw.end(), file.begin(), file.end());
  write_file(dir / "raw-export.bin", raw);

  std::vector<Bytes> ops;
  fuzz::require(store->for_each_op([&](const Op& op) { ops.push_back(op.bytes); }).is_ok(), "cannot list the seed ops");
  ByteView photo = as_bytes("a small photo, 照片");
  Bytes blob(photo.begin(), photo.end());
  Hash32 blob_hash = blake2b_256(blob);
  Bytes blob_begin(blob_hash.bytes.begin(), blob_hash.bytes.end());
  append_u64_be(blob_begin, blob.size());
  for (char c : std::string("image/jpeg")) blob_begin.push_back(static_cast<std::uint8_t>(c));

  Bytes records{1};  // ops in time order, a blob, the end record
  for (const Bytes& op : ops) append_record(records, 1, op);
  append_record(records, 2, blob_begin);
  append_record(records, 3, blob);
  Bytes end;
  append_u64_be(end, ops.size());
  append_record(records, 4 | kFinalFlag, end);
  write_file(dir / "records-complete.bin", records);

  Bytes cut{1};  // ops newest first (children before parents), no end record
  for (auto it = ops.rbegin(); it != ops.rend(); ++it) append_record(cut, 1, *it);
  write_file(dir / "records-cut-short.bin", cut);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* dir = std::getenv("ANWANG_FUZZ_WRITE_SEEDS")) {
    write_seeds(dir);
    std::exit(0);
  }
  (void)fixture();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  Fixture& f = fixture();
  Bytes file = (data[0] % 2 == 0) ? Bytes(data + 1, data + size) : seal_records(f, data + 1, size - 1);
  fs::path path = f.dir / "input.bundle";
  write_file(path, file);

  auto store = reset_store(f);
  StoreState before = state_of(*store);
  auto imported = node::import_bundle(*store, f.node_key, path);
  auto verified = store->verify();
  fuzz::require(verified.is_ok() && verified->ok(), "verify found problems after a bundle import");
  StoreState after = state_of(*store);
  if (!holds_authentic_record(f, file)) {
    fuzz::require(!imported.is_ok(), "a file without an authenticated record was imported");
    fuzz::require(after == before, "a bundle that failed to open changed the store");
  }

  auto again = node::import_bundle(*store, f.node_key, path);
  fuzz::require(again.is_ok() == imported.is_ok(), "importing the same bundle twice gave different results");
  fuzz::require(state_of(*store) == after, "importing the same bundle a second time changed the store");
  return 0;
}
