// libFuzzer target: bundle import (node::import_bundle) into a node home.
//
// A node home in /dev/shm is made once per process (its node key is fixed), with a small network
// signed once: the genesis, the township 150430100 and the village 150430200, the home's node
// enrolled for the township and a sender node enrolled for the county. The first byte of the
// input chooses how the rest becomes a bundle file and what the home holds before it:
//   bit 0 clear: raw — the rest is the file as it is (header checks, signatures, cut-short and
//         damaged files; mutated ciphertext fails authentication);
//   bit 0 set: records — the rest is a list of plain records [u8 type | 0x80 for the FINAL tag]
//         [u16 LE length][body], which this target encrypts to the node and signs exactly as a
//         bundle writer would (bundle.h gives the format), so the fuzzer reaches the record
//         parser: ops, blob begin / bytes / end records in any order, sizes and types;
//   bit 1 set: the home holds only the genesis — it is not enrolled, so the import stages the
//         bundle and judges its sender and the home's scopes by the bundle's own ops;
//   bit 2 set (records): the header is signed by a stranger, no node of the network.
// Invariants checked after every input:
//   - import never crashes, and the store passes verify() afterwards;
//   - a file without one authenticated record (not a bundle, another version, for another
//     node, a bad signature, bad key exchange or header, first record damaged), and any file
//     a stranger signed, leaves the store exactly as it was (digest, op and pending counts);
//   - every op the store holds afterwards is one the home's node may hold (its enrolled scopes);
//   - nothing counted as read is missing from the report's counts, and a report with damage
//     names it;
//   - importing the same file a second time changes nothing.
//
// Seed corpus: tests/fuzz/corpus/bundle_fuzz/: a real export_bundle() file of the network (the
// network's ops, notes in and out of the home's scope, a hazard with a photo, the photo), raw
// for an enrolled and a joining home; record lists with ops, a blob and an end record, one cut
// short, one signed by a stranger. ANWANG_FUZZ_WRITE_SEEDS=DIR writes them and exits.
#include <sodium.h>

#include <algorithm>
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
constexpr std::size_t kSignedBytes = 8 + 4 + 32 + 32 + 32 + crypto_secretstream_xchacha20poly1305_HEADERBYTES;
constexpr std::size_t kHeaderBytes = kSignedBytes + crypto_sign_BYTES;
constexpr std::uint8_t kFinalFlag = 0x80;
constexpr std::uint8_t kRecordsMode = 1, kJoiningMode = 2, kStrangerMode = 4;
constexpr const char* kTownship = "150430100";  // the home's scope
constexpr const char* kOtherTownship = "150430200";

// Deterministic "randomness" for the node key: the same home in every run.
class FixedRandom final : public node::RandomSource {
 public:
  void fill(std::uint8_t* out, std::size_t size) override {
    for (std::size_t i = 0; i < size; ++i) out[i] = static_cast<std::uint8_t>(0x42 + 7 * (counter_++));
  }

 private:
  std::size_t counter_ = 0;
};

KeyPair key_from(const std::string& label) {
  Hash32 seed = blake2b_256(as_bytes(label));
  return KeyPair::from_seed(seed.view());
}

struct Fixture {
  fs::path dir;
  node::NodeHome home;
  KeyPair node_key;
  KeyPair sender = key_from("bundle fuzz sender node");  // enrolled for the county
  KeyPair stranger = key_from("bundle fuzz stranger");   // no node of the network
  std::array<std::uint8_t, 32> ephemeral_public{};
  std::array<std::uint8_t, 32> ephemeral_secret{};
  std::vector<Bytes> network;  // genesis, regions, enrolments: what an enrolled home holds
  Bytes photo;                 // the blob of the seed store's hazard
};

// The seed network, authored once into a store of its own: its ops in (timestamp, id) order.
// With `more`, notes in and out of the home's scope and a hazard with `photo` follow.
std::unique_ptr<node::Store> network_store(const fs::path& dir, const PublicKey& node, const PublicKey& sender,
                                           const Bytes& photo, bool more) {
  auto store = fuzz::fresh_store(dir);
  std::vector<Bytes> genesis{fuzz::fuzz_genesis().bytes};
  fuzz::require(store->ingest(genesis).is_ok(), "cannot ingest the genesis");
  ManualClock clock(fuzz::kFuzzTimeMs + 1000);
  const KeyPair& root = fuzz::fuzz_key(0);
  auto author = [&](node::OpDraft draft) {
    clock.advance_ms(10);
    draft.admit = node::DraftAdmit::kEvenIfNotEffective;
    auto op = store->author(root, draft, clock);
    fuzz::require(op.is_ok(), "cannot author a seed op: " + (op.is_ok() ? std::string() : op.status().message()));
  };
  for (const char* township : {kTownship, kOtherTownship})
    author(node::OpDraft{township, named_object_id("region", township), RegionPayload{township, "乡 township", ""}, {}});
  author(node::OpDraft{kTownship, node_object_id(node), EnrolmentPayload{node}, {}});
  author(node::OpDraft{fuzz::kFuzzCounty, node_object_id(sender), EnrolmentPayload{sender}, {}});
  if (!more) return store;
  for (int i = 0; i < 2; ++i)
    for (const char* township : {kTownship, kOtherTownship})
      author(node::OpDraft{township, named_object_id("note", township + std::to_string(i)),
                           NotePayload{"巡查 note " + std::to_string(i)}, {}});
  auto attachment = store->put_blob(photo, "image/jpeg");
  fuzz::require(attachment.is_ok(), "cannot store the seed photo");
  HazardPayload report;
  report.action = "report";
  report.text = "灭火器过期";
  report.category = "fire";
  report.severity = "general";
  report.photos = {*attachment};
  node::OpDraft hazard{"150430100201", Hash32{}, report, {}};
  hazard.target = node::DraftTarget::kNewRecord;
  author(hazard);
  return store;
}

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
  Fixture fixture{dir, std::move(*home), std::move(*node_key)};
  Hash32 seed = blake2b_256(as_bytes("bundle fuzz ephemeral key"));
  crypto_box_seed_keypair(fixture.ephemeral_public.data(), fixture.ephemeral_secret.data(), seed.bytes.data());
  ByteView photo = as_bytes("a small photo, 照片");
  fixture.photo.assign(photo.begin(), photo.end());
  auto store = network_store(dir / "network-store", fixture.node_key.public_key(), fixture.sender.public_key(),
                             fixture.photo, /*more=*/false);
  fuzz::require(store->for_each_op([&](const Op& op) { fixture.network.push_back(op.bytes); }).is_ok(),
                "cannot list the network's ops");
  auto authority = store->authority();
  fuzz::require(authority.is_ok() && !(*authority)->node_scopes(fixture.node_key.public_key()).empty() &&
                    !(*authority)->node_scopes(fixture.sender.public_key()).empty(),
                "the seed network does not enrol the home's node and the sender");
  return fixture;
}

Fixture& fixture() {
  static Fixture instance = make_fixture();
  return instance;
}

// The store of the home, emptied and given the network (enrolled) or only the genesis (joining):
// the state before every input.
std::unique_ptr<node::Store> reset_store(Fixture& f, bool joining) {
  std::error_code ec;
  fs::remove_all(f.home.dir() / "store", ec);
  auto store = f.home.open_store();
  fuzz::require(store.is_ok(), "cannot open the home's store");
  std::vector<Bytes> ops(f.network.begin(), f.network.begin() + (joining ? 1 : static_cast<std::ptrdiff_t>(f.network.size())));
  auto ingested = (*store)->ingest(ops);
  fuzz::require(ingested.is_ok() && ingested->outcomes.size() == ops.size(), "the network is not ingested");
  for (const node::IngestOutcome& outcome : ingested->outcomes)
    fuzz::require(outcome.kind == node::IngestOutcome::Kind::kAccepted, "an op of the network is not accepted");
  return std::move(*store);
}

// Key of a bundle (bundle.h): BLAKE2b-256("anwang/bundle/v2" | X25519 | ephemeral | recipient | sender).
std::array<std::uint8_t, 32> bundle_key(ByteView shared, ByteView ephemeral, const PublicKey& recipient,
                                        const PublicKey& sender) {
  Blake2b hasher;
  hasher.update(std::string_view("anwang/bundle/v2"));
  hasher.update(shared);
  hasher.update(ephemeral);
  hasher.update(recipient.view());
  hasher.update(sender.view());
  return hasher.finish().bytes;
}

Bytes signed_message(const Bytes& header) {
  Bytes message(17, 0);
  std::memcpy(message.data(), "anwang/bundle/v2", 16);
  message.insert(message.end(), header.begin(), header.begin() + kSignedBytes);
  return message;
}

// Encrypts plain records [type|flags][u16 LE length][body] into a bundle for the fixture's node,
// its header signed by `signer`.
Bytes seal_records(const Fixture& f, const KeyPair& signer, const std::uint8_t* data, std::size_t size) {
  const PublicKey& recipient = f.node_key.public_key();
  Bytes file(kMagic, kMagic + 8);
  append_u32_le(file, node::kBundleVersion);
  file.insert(file.end(), recipient.bytes.begin(), recipient.bytes.end());
  file.insert(file.end(), signer.public_key().bytes.begin(), signer.public_key().bytes.end());
  file.insert(file.end(), f.ephemeral_public.begin(), f.ephemeral_public.end());
  std::size_t at = file.size();
  file.resize(kSignedBytes);
  auto x_recipient = x25519_public(recipient);
  fuzz::require(x_recipient.has_value(), "the node key has no X25519 form");
  std::array<std::uint8_t, 32> shared{};
  fuzz::require(crypto_scalarmult(shared.data(), f.ephemeral_secret.data(), x_recipient->data()) == 0, "X25519 failed");
  auto key = bundle_key(shared, f.ephemeral_public, recipient, signer.public_key());
  crypto_secretstream_xchacha20poly1305_state state;
  crypto_secretstream_xchacha20poly1305_init_push(&state, file.data() + at, key.data());
  Signature signature = signer.sign(signed_message(file));
  file.insert(file.end(), signature.begin(), signature.end());
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

// True when `file` is a version-2 bundle for this node, signed by the sender it names, whose
// first record authenticates: only then may an import change the store.
bool holds_authentic_record(const Fixture& f, const Bytes& file) {
  if (file.size() < kHeaderBytes || std::memcmp(file.data(), kMagic, 8) != 0) return false;
  if (read_u32_le(file.data() + 8) != node::kBundleVersion) return false;
  const PublicKey& recipient = f.node_key.public_key();
  if (std::memcmp(file.data() + 12, recipient.bytes.data(), 32) != 0) return false;
  PublicKey sender = *Hash32::from_view(ByteView(file.data() + 44, 32));
  Bytes header(file.begin(), file.begin() + kHeaderBytes);
  if (!verify_signature(sender, signed_message(header), ByteView(header.data() + kSignedBytes, crypto_sign_BYTES)))
    return false;
  auto x_secret = f.node_key.x25519_secret();
  std::array<std::uint8_t, 32> shared{};
  if (crypto_scalarmult(shared.data(), x_secret.data(), file.data() + 76) != 0) return false;
  auto key = bundle_key(shared, ByteView(file.data() + 76, 32), recipient, sender);
  crypto_secretstream_xchacha20poly1305_state state;
  if (crypto_secretstream_xchacha20poly1305_init_pull(&state, file.data() + 108, key.data()) != 0) return false;
  if (file.size() < kHeaderBytes + 4) return false;
  std::uint32_t length = read_u32_le(file.data() + kHeaderBytes);
  if (length < crypto_secretstream_xchacha20poly1305_ABYTES + 1 || file.size() < kHeaderBytes + 4 + length) return false;
  Bytes plain(length);
  unsigned long long plain_len = 0;
  unsigned char tag = 0;
  return crypto_secretstream_xchacha20poly1305_pull(&state, plain.data(), &plain_len, &tag, file.data() + kHeaderBytes + 4,
                                                    length, header.data(), header.size()) == 0;
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

// Every op the store holds is one the home's node may hold, by the store's own authority.
void require_only_what_it_may_hold(const Fixture& f, const node::Store& store) {
  auto authority = store.authority();
  fuzz::require(authority.is_ok(), "cannot read the authority");
  std::vector<std::string> scopes = (*authority)->node_scopes(f.node_key.public_key());
  Status listed = store.for_each_op([&](const Op& op) {
    Reach reach = reach_of(op);  // authority ops go everywhere, to a node not enrolled too
    bool may = reach.everywhere ||
               std::any_of(scopes.begin(), scopes.end(), [&reach](const std::string& scope) { return visible_to(reach, scope); });
    fuzz::require(may, "the store holds op " + op.id.hex() + " of scope " + op.fields.scope + ", outside the node's scopes");
  });
  fuzz::require(listed.is_ok(), "cannot list the store's ops");
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
  // The network with notes in and out of the home's scope and a hazard with a photo, in a store
  // of its own, exported by the sender node.
  auto store = network_store(f.dir / "seed-store", f.node_key.public_key(), f.sender.public_key(), f.photo, /*more=*/true);
  fs::path exported = f.dir / "seed.bundle";
  auto report = node::export_bundle(*store, f.sender, node::BundleExportOptions{f.node_key.public_key(), false, true}, exported);
  fuzz::require(report.is_ok(), "cannot export the seed bundle: " + (report.is_ok() ? std::string() : report.status().message()));
  fuzz::require(report->blobs == 1, "the seed bundle carries no photo");
  Bytes file = read_file(exported);
  for (std::uint8_t mode : {std::uint8_t{0}, kJoiningMode}) {
    Bytes raw{mode};
    raw.insert(raw.end(), file.begin(), file.end());
    write_file(dir / (mode == 0 ? "raw-export.bin" : "raw-export-joining.bin"), raw);
  }

  // Every op, out of scope ones too (export leaves those out), then the photo and the end.
  std::vector<Bytes> ops;
  fuzz::require(store->for_each_op([&](const Op& op) { ops.push_back(op.bytes); }).is_ok(), "cannot list the seed ops");
  Hash32 blob_hash = blake2b_256(f.photo);
  Bytes blob_begin(blob_hash.bytes.begin(), blob_hash.bytes.end());
  append_u64_be(blob_begin, f.photo.size());
  for (char c : std::string("image/jpeg")) blob_begin.push_back(static_cast<std::uint8_t>(c));
  Bytes complete;
  for (const Bytes& op : ops) append_record(complete, 1, op);
  append_record(complete, 2, blob_begin);
  append_record(complete, 3, f.photo);
  Bytes end;
  append_u64_be(end, ops.size());
  append_record(complete, 4 | kFinalFlag, end);
  for (std::uint8_t mode : {kRecordsMode, std::uint8_t{kRecordsMode | kJoiningMode}, std::uint8_t{kRecordsMode | kStrangerMode}}) {
    Bytes records{mode};
    records.insert(records.end(), complete.begin(), complete.end());
    write_file(dir / ("records-complete-" + std::to_string(mode) + ".bin"), records);
  }

  Bytes cut{kRecordsMode};  // ops newest first (children before parents), no end record
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
  std::uint8_t mode = data[0];
  bool records = (mode & kRecordsMode) != 0;
  bool joining = (mode & kJoiningMode) != 0;
  bool stranger = records && (mode & kStrangerMode) != 0;
  Bytes file = records ? seal_records(f, stranger ? f.stranger : f.sender, data + 1, size - 1) : Bytes(data + 1, data + size);
  fs::path path = f.dir / "input.bundle";
  write_file(path, file);

  auto store = reset_store(f, joining);
  StoreState before = state_of(*store);
  node::BundleImportOptions options;
  options.staging_dir = f.dir / "staging";
  options.staging_map_bytes = fuzz::kFuzzMapBytes;
  auto imported = node::import_bundle(*store, f.node_key, path, options);
  auto verified = store->verify();
  fuzz::require(verified.is_ok() && verified->ok(), "verify found problems after a bundle import");
  fuzz::require(!fs::exists(options.staging_dir), "the staging directory was left behind");
  StoreState after = state_of(*store);
  if (!holds_authentic_record(f, file) || stranger) {
    fuzz::require(!imported.is_ok() || imported->ops_read == 0, "ops of a file without an authenticated record were read");
    fuzz::require(!stranger || !imported.is_ok(), "a bundle a stranger signed was imported");
    fuzz::require(after == before, "a bundle that failed to open changed the store");
  }
  if (imported.is_ok()) {
    const node::ImportReport& ops = imported->ops;
    fuzz::require(imported->store_failure.is_ok() || imported->store_failure.code() == Status::Code::kStoreFull,
                  "an import failed: " + imported->store_failure.message());
    fuzz::require(!imported->store_failure.is_ok() || ops.accepted + ops.duplicate + ops.pending + ops.refused == imported->ops_read,
                  "the report's counts do not add up to the ops read");
    fuzz::require(!imported->damage || !imported->damage->empty(), "a damaged bundle's report does not say how");
  }
  require_only_what_it_may_hold(f, *store);

  auto again = node::import_bundle(*store, f.node_key, path, options);
  if (!joining) fuzz::require(again.is_ok() == imported.is_ok(), "importing the same bundle twice gave different results");
  fuzz::require(state_of(*store) == after, "importing the same bundle a second time changed the store");
  return 0;
}
