// fixtures.h — shared test helpers: deterministic keys, temporary directories, an op factory
// that mints valid ops without a store, and a random history generator for property tests.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "crdt/hash.h"
#include "crdt/op.h"
#include "node/store.h"

namespace anwang::test {

inline constexpr std::uint64_t kTestTimeMs = 1'790'000'000'000;  // late 2026
inline constexpr const char* kCounty = "150430";

// The same key for the same n, in every run.
KeyPair test_key(int n);

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

std::unique_ptr<node::Store> open_store(const std::filesystem::path& dir, std::uint64_t map_bytes = 0);

// Mints signed ops: tracks each author's sequence and previous op, and stamps each op one tick
// after the latest of its parents unless told otherwise.
class OpFactory {
 public:
  explicit OpFactory(std::string county = kCounty, int root_key = 0);
  // A network whose genesis also names `more_roots` as root keys: keys that sign ops for tests of
  // mechanics (ordering, files, indexes), since a key no office ever named is refused at ingest.
  OpFactory(std::string county, int root_key, const std::vector<PublicKey>& more_roots);

  const Op& genesis() const { return genesis_; }
  const Hash32& network() const { return genesis_.id; }

  Op make(const KeyPair& author, const std::string& scope, const Hash32& object, Payload payload,
          std::vector<Hash32> parents = {}, std::optional<std::uint64_t> hlc = std::nullopt);
  Op note(const KeyPair& author, const std::string& scope, const std::string& text, std::vector<Hash32> parents = {});
  Op region(const KeyPair& author, const std::string& code, const std::string& name, std::vector<Hash32> parents = {});

  // The sequence number the next op by `author` will get.
  std::uint64_t next_seq(const KeyPair& author) { return authors_[author.public_key()].seq + 1; }

  // Builds an op exactly as given, bypassing the author-sequence bookkeeping.
  Op make_raw(const KeyPair& author, OpFields fields);

 private:
  struct AuthorState { std::uint64_t seq = 0; std::optional<Hash32> prev; };
  std::map<PublicKey, AuthorState> authors_;
  std::map<Hash32, std::uint64_t> hlc_of_;
  Op genesis_;
};

// A network for tests of mechanics (ordering, files, indexes, the pending area): its genesis names
// test keys 1 to 8 and 100 to 106 as root keys besides `root_key`, since an op of a key no office
// ever named is refused at ingest (crdt/AUTHORITY.md). random_history writes in this network.
OpFactory mechanics_factory(std::string county = kCounty, int root_key = 0);

std::vector<Bytes> bytes_of(const std::vector<Op>& ops);

// A random causally consistent history: `count` ops by `authors` keys over a few objects, each
// with random parents among earlier ops. The genesis comes first.
std::vector<Op> random_history(std::mt19937_64& rng, std::size_t count, int authors);

// Ingests `ops` in batches of `batch` and returns the store's digest.
Hash32 ingest_all(node::Store& store, const std::vector<Bytes>& ops, std::size_t batch = 64);

// Runs `change` in one raw LMDB write transaction on the store in `store_dir`, behind the
// store's back. REQUIRES: no Store is open on that directory.
void edit_raw_store(const std::filesystem::path& store_dir, const std::function<void(MDB_txn*)>& change);

// Flips one bit in the `nth` stored op (in key order) of the store in `store_dir`, behind the
// store's back, as a failing disk would. REQUIRES: no Store is open on that directory.
void corrupt_stored_op(const std::filesystem::path& store_dir, int nth);

// An op whose payload is a variant this anwang does not know (from a future version).
Bytes future_payload_op(const KeyPair& author, const Hash32& network, std::uint16_t format_version, bool future_payload);

// The same with the header of `header` (its payload is ignored): for tests of what a node does
// with such an op in a history.
Bytes future_payload_op(const KeyPair& author, const OpFields& header);
// A record op encoded as `fields` says, signed, with no rule checked: sign_op refuses what breaks
// one, and a release that does not know the step cannot tell.
Bytes unchecked_record_op(const KeyPair& author, const OpFields& fields);

// The op's bytes with one bit of its signature flipped: still canonical and well-formed, but
// refused as bad_signature.
Bytes with_signature_bit_flipped(const Op& op, int bit = 0);
// `op` with its timestamp set to `hlc` and signed again by `author`, its author: bytes as an
// attacker makes them, past every check sign_op makes (the id changes with the bytes).
Bytes resigned_with_hlc(const Op& op, const KeyPair& author, std::uint64_t hlc);

}  // namespace anwang::test
