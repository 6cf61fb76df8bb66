#include "support/fixtures.h"

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <lmdb.h>
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "crdt/limits.h"
#include "crdt/op.capnp.h"
#include "node/constitution.h"
#include "support/future_op.capnp.h"

namespace anwang::test {

namespace fs = std::filesystem;

KeyPair test_key(int n) {
  Hash32 seed = blake2b_256(as_bytes("anwang test key " + std::to_string(n)));
  return KeyPair::from_seed(seed.view());
}

TempDir::TempDir() {
  std::string pattern = (fs::temp_directory_path() / "anwang-test-XXXXXX").string();
  char* made = mkdtemp(pattern.data());
  REQUIRE(made != nullptr);
  path_ = made;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

std::unique_ptr<node::Store> open_store(const fs::path& dir, std::uint64_t map_bytes) {
  auto store = node::Store::open(node::StoreOptions{dir, map_bytes});
  INFO(store.status().message());
  REQUIRE(store.is_ok());
  return std::move(*store);
}

OpFactory::OpFactory(std::string county, int root_key) : OpFactory(std::move(county), root_key, {}) {}

OpFactory::OpFactory(std::string county, int root_key, const std::vector<PublicKey>& more_roots) {
  KeyPair root = test_key(root_key);
  std::vector<PublicKey> roots = more_roots;
  roots.push_back(root.public_key());
  std::sort(roots.begin(), roots.end());
  roots.erase(std::unique(roots.begin(), roots.end()), roots.end());
  OpFields fields;
  fields.author = root.public_key();
  fields.author_seq = 1;
  fields.hlc = kTestTimeMs << 16;
  fields.scope = county;
  fields.object = named_object_id("network", county);
  fields.payload = GenesisPayload{county, "测试旗 test county", roots, 1, node::default_constitution()};
  genesis_ = make_raw(root, fields);
  authors_[root.public_key()] = {1, genesis_.id};
}

OpFactory mechanics_factory(std::string county, int root_key) {
  std::vector<PublicKey> roots;
  for (int i = 1; i <= 8; ++i) roots.push_back(test_key(i).public_key());
  for (int i = 100; i <= 106; ++i) roots.push_back(test_key(i).public_key());
  return OpFactory(std::move(county), root_key, roots);
}

Op OpFactory::make_raw(const KeyPair& author, OpFields fields) {
  auto op = sign_op(std::move(fields), author);
  INFO(op.status().message());
  REQUIRE(op.is_ok());
  hlc_of_[op->id] = op->fields.hlc;
  return std::move(*op);
}

Op OpFactory::make(const KeyPair& author, const std::string& scope, const Hash32& object, Payload payload,
                   std::vector<Hash32> parents, std::optional<std::uint64_t> hlc) {
  AuthorState& state = authors_[author.public_key()];
  OpFields fields;
  fields.network = genesis_.id;
  fields.author = author.public_key();
  fields.author_seq = state.seq + 1;
  fields.author_prev = state.prev;
  std::uint64_t floor = hlc_of_[genesis_.id];
  if (state.prev) floor = std::max(floor, hlc_of_[*state.prev]);
  for (const Hash32& parent : parents) floor = std::max(floor, hlc_of_[parent]);
  fields.parents = std::move(parents);
  fields.hlc = hlc.value_or(floor + 1);
  fields.scope = scope;
  fields.object = object;
  fields.payload = std::move(payload);
  Op op = make_raw(author, std::move(fields));
  state.seq = op.fields.author_seq;
  state.prev = op.id;
  return op;
}

Op OpFactory::note(const KeyPair& author, const std::string& scope, const std::string& text,
                   std::vector<Hash32> parents) {
  return make(author, scope, named_object_id("note", scope + text), NotePayload{text}, std::move(parents));
}

Op OpFactory::region(const KeyPair& author, const std::string& code, const std::string& name,
                     std::vector<Hash32> parents) {
  return make(author, code, named_object_id("region", code), RegionPayload{code, name, ""}, std::move(parents));
}

std::vector<Bytes> bytes_of(const std::vector<Op>& ops) {
  std::vector<Bytes> out;
  for (const Op& op : ops) out.push_back(op.bytes);
  return out;
}

std::vector<Op> random_history(std::mt19937_64& rng, std::size_t count, int authors) {
  REQUIRE(authors <= 7);  // keys 100 to 106: root keys of mechanics_factory's network
  std::vector<KeyPair> keys;
  for (int i = 0; i < authors; ++i) keys.push_back(test_key(100 + i));
  OpFactory factory = mechanics_factory();
  std::vector<Op> ops{factory.genesis()};
  static const std::vector<std::string> kScopes = {"150430", "150430100", "150430100201", "150430100202",
                                                   "150430100201-03"};
  while (ops.size() < count) {
    const KeyPair& author = keys[rng() % keys.size()];
    std::vector<Hash32> parents;
    std::size_t parent_count = rng() % 3;
    for (std::size_t i = 0; i < parent_count; ++i) parents.push_back(ops[rng() % ops.size()].id);
    std::sort(parents.begin(), parents.end());
    parents.erase(std::unique(parents.begin(), parents.end()), parents.end());
    const std::string& scope = kScopes[rng() % kScopes.size()];
    if (scope != "150430" && rng() % 4 == 0) {
      ops.push_back(factory.region(author, scope, "区域 " + std::to_string(ops.size()), parents));
    } else {
      std::string text = "note " + std::to_string(ops.size());
      Hash32 object = named_object_id("note", std::to_string(rng() % 7));
      ops.push_back(factory.make(author, scope, object, NotePayload{text}, parents));
    }
  }
  return ops;
}

Hash32 ingest_all(node::Store& store, const std::vector<Bytes>& ops, std::size_t batch) {
  for (std::size_t start = 0; start < ops.size(); start += batch) {
    std::size_t end = std::min(ops.size(), start + batch);
    auto report = store.ingest(std::span<const Bytes>(ops.data() + start, end - start));
    INFO(report.status().message());
    REQUIRE(report.is_ok());
  }
  auto digest = store.digest();
  REQUIRE(digest.is_ok());
  return *digest;
}

void edit_raw_store(const fs::path& store_dir, const std::function<void(MDB_txn*)>& change) {
  MDB_env* env = nullptr;
  REQUIRE(mdb_env_create(&env) == 0);
  mdb_env_set_maxdbs(env, 24);
  REQUIRE(mdb_env_open(env, store_dir.c_str(), 0, 0600) == 0);
  MDB_txn* txn = nullptr;
  REQUIRE(mdb_txn_begin(env, nullptr, 0, &txn) == 0);
  change(txn);
  REQUIRE(mdb_txn_commit(txn) == 0);
  mdb_env_close(env);
}

void corrupt_stored_op(const fs::path& store_dir, int nth) {
  edit_raw_store(store_dir, [nth](MDB_txn* txn) {
    MDB_dbi ops;
    REQUIRE(mdb_dbi_open(txn, "ops", 0, &ops) == 0);
    MDB_cursor* cursor = nullptr;
    REQUIRE(mdb_cursor_open(txn, ops, &cursor) == 0);
    MDB_val key, value;
    REQUIRE(mdb_cursor_get(cursor, &key, &value, MDB_FIRST) == 0);
    for (int i = 0; i < nth; ++i) REQUIRE(mdb_cursor_get(cursor, &key, &value, MDB_NEXT) == 0);
    Bytes corrupted(static_cast<std::uint8_t*>(value.mv_data), static_cast<std::uint8_t*>(value.mv_data) + value.mv_size);
    corrupted[corrupted.size() - 70] ^= 0x01;  // inside the signed body, before the signature
    MDB_val new_value{corrupted.size(), corrupted.data()};
    REQUIRE(mdb_cursor_put(cursor, &key, &new_value, MDB_CURRENT) == 0);
    mdb_cursor_close(cursor);
  });
}

Bytes future_payload_op(const KeyPair& author, const Hash32& network, std::uint16_t format_version,
                        bool future_payload) {
  capnp::MallocMessageBuilder builder;
  auto signed_op = builder.initRoot<future::SignedOp>();
  auto body = signed_op.initBody();
  body.setFormatVersion(format_version);
  body.setNetwork(capnp::Data::Reader(network.bytes.data(), 32));
  body.setAuthor(capnp::Data::Reader(author.public_key().bytes.data(), 32));
  body.setAuthorSeq(1);
  body.setHlc((kTestTimeMs + 1) << 16);
  body.setScope("150430");
  Hash32 object = named_object_id("note", "future");
  body.setObject(capnp::Data::Reader(object.bytes.data(), 32));
  if (future_payload)
    body.getPayload().initFromTheFuture().setText("a payload from a newer anwang");
  else
    body.getPayload().initNote().setText("a note in a newer format");
  auto canonical_body = capnp::canonicalize(body.asReader());
  auto body_bytes = canonical_body.asBytes();
  Signature signature = author.sign(op_signature_message(ByteView(body_bytes.begin(), body_bytes.size())));
  signed_op.setSignature(capnp::Data::Reader(signature.data(), signature.size()));
  auto canonical = capnp::canonicalize(signed_op.asReader());
  auto bytes = canonical.asBytes();
  return Bytes(bytes.begin(), bytes.end());
}

namespace {

// Sets the header of `body` (a SignedOp body of either schema) from `header`.
template <typename Body>
void set_header(Body body, const OpFields& header) {
  body.setFormatVersion(kOpFormatVersion);
  if (header.network) body.setNetwork(capnp::Data::Reader(header.network->bytes.data(), 32));
  body.setAuthor(capnp::Data::Reader(header.author.bytes.data(), 32));
  body.setAuthorSeq(header.author_seq);
  if (header.author_prev) body.setAuthorPrev(capnp::Data::Reader(header.author_prev->bytes.data(), 32));
  auto parents = body.initParents(static_cast<unsigned>(header.parents.size()));
  for (unsigned i = 0; i < header.parents.size(); ++i) parents.set(i, capnp::Data::Reader(header.parents[i].bytes.data(), 32));
  body.setHlc(header.hlc);
  body.setScope(header.scope);
  body.setObject(capnp::Data::Reader(header.object.bytes.data(), 32));
}

// Signs the body of `signed_op` with `author` and returns the canonical bytes.
template <typename SignedOpBuilder>
Bytes signed_bytes(SignedOpBuilder signed_op, const KeyPair& author) {
  auto canonical_body = capnp::canonicalize(signed_op.getBody().asReader());
  auto body_bytes = canonical_body.asBytes();
  Signature signature = author.sign(op_signature_message(ByteView(body_bytes.begin(), body_bytes.size())));
  signed_op.setSignature(capnp::Data::Reader(signature.data(), signature.size()));
  auto canonical = capnp::canonicalize(signed_op.asReader());
  auto bytes = canonical.asBytes();
  return Bytes(bytes.begin(), bytes.end());
}

}  // namespace

Bytes future_payload_op(const KeyPair& author, const OpFields& header) {
  capnp::MallocMessageBuilder builder;
  auto signed_op = builder.initRoot<future::SignedOp>();
  set_header(signed_op.initBody(), header);
  signed_op.getBody().getPayload().initFromTheFuture().setText("a payload from a newer anwang");
  return signed_bytes(signed_op, author);
}

Bytes unchecked_record_op(const KeyPair& author, const OpFields& fields) {
  const auto& record = std::get<RecordPayload>(fields.payload);
  capnp::MallocMessageBuilder builder;
  auto signed_op = builder.initRoot<schema::SignedOp>();
  set_header(signed_op.initBody(), fields);
  auto out = signed_op.getBody().getPayload().initRecord();
  out.setKind(record.kind);
  out.setAction(record.action);
  auto list = out.initFields(static_cast<unsigned>(record.fields.size()));
  for (unsigned i = 0; i < record.fields.size(); ++i) {
    list[i].setName(record.fields[i].first);
    list[i].setValue(record.fields[i].second);
  }
  return signed_bytes(signed_op, author);
}

Bytes resigned_with_hlc(const Op& op, const KeyPair& author, std::uint64_t hlc) {
  kj::Array<capnp::word> words = kj::heapArray<capnp::word>(op.bytes.size() / sizeof(capnp::word));
  std::memcpy(words.begin(), op.bytes.data(), op.bytes.size());
  capnp::FlatArrayMessageReader reader(words);
  capnp::MallocMessageBuilder builder;
  builder.setRoot(reader.getRoot<schema::SignedOp>());
  auto signed_op = builder.getRoot<schema::SignedOp>();
  signed_op.getBody().setHlc(hlc);
  auto canonical_body = capnp::canonicalize(signed_op.getBody().asReader());
  auto body_bytes = canonical_body.asBytes();
  Signature signature = author.sign(op_signature_message(ByteView(body_bytes.begin(), body_bytes.size())));
  signed_op.setSignature(capnp::Data::Reader(signature.data(), signature.size()));
  auto canonical = capnp::canonicalize(signed_op.asReader());
  auto bytes = canonical.asBytes();
  return Bytes(bytes.begin(), bytes.end());
}

Bytes with_signature_bit_flipped(const Op& op, int bit) {
  Bytes bytes = op.bytes;
  auto at = std::search(bytes.begin(), bytes.end(), op.signature.begin(), op.signature.end());
  REQUIRE(at != bytes.end());
  at[bit / 8 % 64] ^= static_cast<std::uint8_t>(1u << (bit % 8));
  return bytes;
}

}  // namespace anwang::test
