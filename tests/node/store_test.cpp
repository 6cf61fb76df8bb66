// The store: verified batch ingest, order independence, pending parents, full maps, verify.
#include <lmdb.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <map>
#include <random>
#include <set>

#include "crdt/hash.h"
#include "crdt/limits.h"
#include "node/store.h"
#include "support/fixtures.h"

using namespace anwang;
using anwang::node::IngestOutcome;
using anwang::test::OpFactory;
using anwang::test::TempDir;
using anwang::test::test_key;

namespace {

using Kind = IngestOutcome::Kind;

std::vector<IngestOutcome> ingest(node::Store& store, const std::vector<Bytes>& batch) {
  auto report = store.ingest(batch);
  INFO(report.status().message());
  REQUIRE(report.is_ok());
  return report->outcomes;
}

IngestOutcome ingest_one(node::Store& store, const Bytes& op) { return ingest(store, {op}).at(0); }

std::uint64_t op_count(const node::Store& store) {
  auto stats = store.stats();
  REQUIRE(stats.is_ok());
  return stats->ops;
}

Hash32 digest(const node::Store& store) {
  auto d = store.digest();
  REQUIRE(d.is_ok());
  return *d;
}

// A store in `dir` holding `history`, which verify finds sound.
void store_sound_history(const std::filesystem::path& dir, const std::vector<Op>& history) {
  auto store = test::open_store(dir);
  test::ingest_all(*store, test::bytes_of(history));
  auto report = store->verify();
  REQUIRE(report.is_ok());
  CHECK(report->ok());
  CHECK(report->ops_checked == history.size());
}

// What verify reports once `edit` has changed `table` of the store in `dir` behind its back.
std::vector<std::string> verify_problems_after(const std::filesystem::path& dir, const char* table,
                                               const std::function<void(MDB_txn*, MDB_dbi)>& edit) {
  test::edit_raw_store(dir, [&](MDB_txn* txn) {
    MDB_dbi dbi;
    REQUIRE(mdb_dbi_open(txn, table, 0, &dbi) == 0);
    edit(txn, dbi);
  });
  auto store = test::open_store(dir);
  auto report = store->verify();
  REQUIRE(report.is_ok());
  return report->problems;
}

// Deletes the last row of a table, as a damaged store might have lost it.
void delete_last_row(MDB_txn* txn, MDB_dbi dbi) {
  MDB_cursor* cursor = nullptr;
  REQUIRE(mdb_cursor_open(txn, dbi, &cursor) == 0);
  MDB_val key, value;
  REQUIRE(mdb_cursor_get(cursor, &key, &value, MDB_LAST) == 0);
  REQUIRE(mdb_cursor_del(cursor, 0) == 0);
  mdb_cursor_close(cursor);
}

void put_schema_version(MDB_txn* txn, std::uint64_t version_number) {
  MDB_dbi meta;
  REQUIRE(mdb_dbi_open(txn, "meta", 0, &meta) == 0);
  Bytes version;
  append_u64_be(version, version_number);
  MDB_val key{14, const_cast<char*>("schema_version")};
  MDB_val value{version.size(), version.data()};
  REQUIRE(mdb_put(txn, meta, &key, &value, 0) == 0);
}

}  // namespace

TEST_CASE("a genesis makes the store a member of its network", "[store]") {
  TempDir dir;
  auto store = test::open_store(dir.path());
  OpFactory factory = test::mechanics_factory();
  CHECK(ingest_one(*store, factory.genesis().bytes).kind == Kind::kAccepted);
  auto stats = store->stats();
  REQUIRE(stats.is_ok());
  CHECK(stats->network_id == factory.network());
  CHECK(stats->county_code == "150430");
  CHECK(stats->ops == 1);
}

TEST_CASE("receiving an op twice changes nothing", "[store]") {
  TempDir dir;
  auto store = test::open_store(dir.path());
  OpFactory factory = test::mechanics_factory();
  Op note = factory.note(test_key(1), "150430100", "x");
  ingest(*store, {factory.genesis().bytes, note.bytes});
  Hash32 before = digest(*store);
  auto outcomes = ingest(*store, {note.bytes, note.bytes, factory.genesis().bytes});
  for (const auto& outcome : outcomes) CHECK(outcome.kind == Kind::kDuplicate);
  CHECK(digest(*store) == before);
  CHECK(op_count(*store) == 2);
}

TEST_CASE("ingesting one set of ops in any order, with duplicates, gives identical stores", "[store][property]") {
  std::mt19937_64 rng(20261122);
  for (int round = 0; round < 12; ++round) {
    std::vector<Op> history = test::random_history(rng, 150, 4);
    std::vector<Bytes> ops = test::bytes_of(history);
    TempDir reference_dir;
    auto reference = test::open_store(reference_dir.path());
    Hash32 expected = test::ingest_all(*reference, ops);
    CHECK(op_count(*reference) == ops.size());
    for (int order = 0; order < 3; ++order) {
      std::vector<Bytes> shuffled = ops;
      for (std::size_t i = 0; i < ops.size() / 5; ++i) shuffled.push_back(ops[rng() % ops.size()]);
      std::shuffle(shuffled.begin(), shuffled.end(), rng);
      TempDir dir;
      auto store = test::open_store(dir.path());
      std::size_t batch = 1 + rng() % 40;
      CAPTURE(round, order, batch);
      CHECK(test::ingest_all(*store, shuffled, batch) == expected);
      auto stats = store->stats();
      REQUIRE(stats.is_ok());
      CHECK(stats->pending == 0);
    }
  }
}

TEST_CASE("ops from another county's network are refused", "[store]") {
  TempDir dir;
  auto store = test::open_store(dir.path());
  OpFactory ours = test::mechanics_factory();
  OpFactory theirs = test::mechanics_factory("150421", 9);
  ingest_one(*store, ours.genesis().bytes);
  Hash32 before = digest(*store);
  auto foreign_genesis = ingest_one(*store, theirs.genesis().bytes);
  CHECK(foreign_genesis.kind == Kind::kRefused);
  CHECK(foreign_genesis.reason == Refusal::kWrongNetwork);
  auto foreign_note = ingest_one(*store, theirs.note(test_key(1), "150421", "x").bytes);
  CHECK(foreign_note.kind == Kind::kRefused);
  CHECK(foreign_note.reason == Refusal::kWrongNetwork);
  CHECK(digest(*store) == before);
}

TEST_CASE("an op waits for missing parents and applies when they arrive", "[store]") {
  TempDir dir;
  auto store = test::open_store(dir.path());
  OpFactory factory = test::mechanics_factory();
  Op parent = factory.region(test_key(1), "150430100", "新惠镇");
  Op child = factory.note(test_key(2), "150430100", "child", {parent.id});
  ingest_one(*store, factory.genesis().bytes);
  auto waiting = ingest_one(*store, child.bytes);
  CHECK(waiting.kind == Kind::kPending);
  CHECK_THAT(waiting.detail, Catch::Contains(parent.id.short_hex()));
  CHECK(op_count(*store) == 1);
  auto report = store->ingest(std::vector<Bytes>{parent.bytes});
  REQUIRE(report.is_ok());
  CHECK(report->outcomes[0].kind == Kind::kAccepted);
  CHECK(report->released_from_pending == 1);
  CHECK(op_count(*store) == 3);
  auto got = store->get(child.id);
  REQUIRE(got.is_ok());
  CHECK(got->has_value());
}

TEST_CASE("ops that arrive before the genesis wait for it", "[store]") {
  TempDir dir;
  auto store = test::open_store(dir.path());
  OpFactory factory = test::mechanics_factory();
  Op note = factory.note(test_key(1), "150430100", "early");
  CHECK(ingest_one(*store, note.bytes).kind == Kind::kPending);
  auto outcomes = ingest(*store, {factory.genesis().bytes});
  CHECK(outcomes[0].kind == Kind::kAccepted);
  CHECK(op_count(*store) == 2);
}

TEST_CASE("an op of another network that arrived before the genesis is refused when the genesis arrives", "[store]") {
  // Found by tests/fuzz/ingest_fuzz: it stayed pending for ever, so the store depended on order.
  OpFactory ours = test::mechanics_factory();
  OpFactory theirs = test::mechanics_factory("150421", 9);
  Op foreign = theirs.note(test_key(1), "150421", "x");
  TempDir early_dir, late_dir;
  auto early = test::open_store(early_dir.path());
  CHECK(ingest_one(*early, foreign.bytes).kind == Kind::kPending);
  auto report = early->ingest(std::vector<Bytes>{ours.genesis().bytes, foreign.bytes});
  REQUIRE(report.is_ok());
  CHECK(report->outcomes[0].kind == Kind::kAccepted);
  CHECK(report->outcomes[1].kind == Kind::kRefused);
  CHECK(report->outcomes[1].reason == Refusal::kWrongNetwork);
  auto stats = early->stats();
  REQUIRE(stats.is_ok());
  CHECK(stats->pending == 0);
  auto late = test::open_store(late_dir.path());
  ingest(*late, {ours.genesis().bytes, foreign.bytes});
  CHECK(digest(*early) == digest(*late));
}

TEST_CASE("an op stamped no later than a parent is refused", "[store]") {
  TempDir dir;
  auto store = test::open_store(dir.path());
  OpFactory factory = test::mechanics_factory();
  Op parent = factory.region(test_key(1), "150430100", "a");
  Op backdated = factory.make(test_key(2), "150430100", named_object_id("note", "b"), NotePayload{"b"}, {parent.id},
                              parent.fields.hlc);
  ingest(*store, {factory.genesis().bytes, parent.bytes});
  auto outcome = ingest_one(*store, backdated.bytes);
  CHECK(outcome.kind == Kind::kRefused);
  CHECK(outcome.reason == Refusal::kClockNotAfterParents);
}

TEST_CASE("an op whose previous op (also a parent) is another author's is refused", "[store]") {
  TempDir dir;
  auto store = test::open_store(dir.path());
  OpFactory factory = test::mechanics_factory();
  Op someone_else = factory.note(test_key(1), "150430100", "a");
  OpFields fields;
  fields.network = factory.network();
  fields.author = test_key(2).public_key();
  fields.author_seq = 2;
  fields.author_prev = someone_else.id;
  fields.parents = {someone_else.id};
  fields.hlc = someone_else.fields.hlc + 1;
  fields.scope = "150430100";
  fields.object = named_object_id("note", "b");
  fields.payload = NotePayload{"b"};
  Op forged = factory.make_raw(test_key(2), fields);
  ingest(*store, {factory.genesis().bytes, someone_else.bytes});
  auto outcome = ingest_one(*store, forged.bytes);
  CHECK(outcome.kind == Kind::kRefused);
  CHECK(outcome.reason == Refusal::kBadAuthorChain);
}

TEST_CASE("an op whose author's previous op lives in another scope applies without it", "[store]") {
  TempDir dir;
  auto store = test::open_store(dir.path());
  OpFactory factory = test::mechanics_factory();
  KeyPair officer = test_key(3);
  Op elsewhere = factory.note(officer, "150430100202", "in village B");
  Op here = factory.note(officer, "150430100201", "in village A");  // author_prev: the village-B op
  REQUIRE(here.fields.author_prev == elsewhere.id);
  ingest(*store, {factory.genesis().bytes});
  CHECK(ingest_one(*store, here.bytes).kind == Kind::kAccepted);
}

TEST_CASE("a refused op leaves nothing behind", "[store]") {
  TempDir dir;
  auto store = test::open_store(dir.path());
  OpFactory factory = test::mechanics_factory();
  Op note = factory.note(test_key(1), "150430100", "x");
  ingest_one(*store, factory.genesis().bytes);
  Hash32 before = digest(*store);
  Bytes tampered = note.bytes;
  tampered[tampered.size() / 2] ^= 0x10;
  auto outcomes = ingest(*store, {tampered, Bytes(16, 0), Bytes(3, 1)});
  for (const auto& outcome : outcomes) CHECK(outcome.kind == Kind::kRefused);
  CHECK(digest(*store) == before);
}

TEST_CASE("author() numbers an author's ops, links them and stamps them after their parents", "[store]") {
  TempDir dir;
  auto store = test::open_store(dir.path());
  OpFactory factory = test::mechanics_factory();
  ingest_one(*store, factory.genesis().bytes);
  KeyPair author = test_key(5);
  ManualClock wall(test::kTestTimeMs + 1000);
  // Mechanics only: this key holds no role, so the authority check is off.
  node::OpDraft draft{"150430100", named_object_id("region", "150430100"), RegionPayload{"150430100", "一", ""}, {},
                      node::DraftTarget::kExisting, node::DraftAdmit::kEvenIfNotEffective};
  auto first = store->author(author, draft, wall);
  REQUIRE(first.is_ok());
  wall.set_ms(0);  // the wall clock jumps back to 1970
  std::get<RegionPayload>(draft.payload).name = "二";
  auto second = store->author(author, draft, wall);
  REQUIRE(second.is_ok());
  CHECK(first->fields.author_seq == 1);
  CHECK(second->fields.author_seq == 2);
  CHECK(second->fields.author_prev == first->id);
  CHECK(second->fields.parents == std::vector<Hash32>{first->id});
  CHECK(second->fields.hlc > first->fields.hlc);
  node::OpDraft note{"150430100", {}, NotePayload{"new record"}, {}, node::DraftTarget::kNewRecord,
                     node::DraftAdmit::kEvenIfNotEffective};
  auto third = store->author(author, note, wall);
  REQUIRE(third.is_ok());
  // A new record's id is derived from the op that creates it, not from (author, number) alone.
  CHECK(third->fields.object == created_object_id(third->fields));
  CHECK(third->fields.object != authored_object_id(author.public_key(), 3));
}

TEST_CASE("author() refuses to write before the node has a network", "[store]") {
  TempDir dir;
  auto store = test::open_store(dir.path());
  ManualClock wall(test::kTestTimeMs);
  auto op = store->author(test_key(1), node::OpDraft{"150430", named_object_id("note", "x"), NotePayload{"x"}, {}, node::DraftTarget::kExisting,
                                                        node::DraftAdmit::kEvenIfNotEffective},
                          wall);
  REQUIRE_FALSE(op.is_ok());
  CHECK_THAT(op.status().message(), Catch::Contains("no network"));
  CHECK(op_count(*store) == 0);
}

TEST_CASE("a full store refuses the write cleanly and still opens and reads", "[store]") {
  TempDir dir;
  OpFactory factory = test::mechanics_factory();
  std::vector<Op> written{factory.genesis()};
  std::string big(limits::note_bytes_max - 16, 'x');
  Status failure;
  {
    auto store = test::open_store(dir.path(), limits::store_map_bytes_min);
    ingest_one(*store, factory.genesis().bytes);
    for (int i = 0; i < 200 && failure.is_ok(); ++i) {
      Op op = factory.note(test_key(1), "150430100", big + std::to_string(i));
      Hash32 before = digest(*store);
      auto report = store->ingest(std::vector<Bytes>{op.bytes});
      if (report.is_ok()) {
        written.push_back(op);
      } else {
        failure = report.status();
        CHECK(digest(*store) == before);  // nothing of the failed batch was kept
      }
    }
    REQUIRE_FALSE(failure.is_ok());
    CHECK(failure.code() == Status::Code::kStoreFull);
    CHECK_THAT(failure.message(), Catch::Contains("map_size_mib"));
  }
  auto reopened = test::open_store(dir.path(), limits::store_map_bytes_min);
  CHECK(op_count(*reopened) == written.size());
  for (const Op& op : written) {
    auto got = reopened->get(op.id);
    REQUIRE(got.is_ok());
    CHECK(got->has_value());
  }
  auto report = reopened->verify();
  REQUIRE(report.is_ok());
  CHECK(report->ok());
  // A bigger map lets writing continue.
  reopened.reset();
  auto enlarged = test::open_store(dir.path(), 16ull << 20);
  auto outcome = enlarged->ingest(std::vector<Bytes>{factory.note(test_key(2), "150430100", big + "more").bytes});
  REQUIRE(outcome.is_ok());
  CHECK(outcome->outcomes[0].kind == Kind::kAccepted);
}

TEST_CASE("verify passes on a sound store and detects a corrupted stored op", "[store]") {
  TempDir dir;
  OpFactory factory = test::mechanics_factory();
  std::mt19937_64 rng(7);
  std::vector<Op> history = test::random_history(rng, 50, 3);
  store_sound_history(dir.path(), history);
  test::corrupt_stored_op(dir.path(), 1);
  auto store = test::open_store(dir.path());
  auto report = store->verify();
  REQUIRE(report.is_ok());
  CHECK_FALSE(report->ok());
  REQUIRE(report->problems.size() == 1);
  CHECK_THAT(report->problems[0], Catch::Contains("fails its checks"));
}

TEST_CASE("a store written by a newer schema is refused with a clear message", "[store]") {
  TempDir dir;
  { test::open_store(dir.path()); }
  test::edit_raw_store(dir.path(), [](MDB_txn* txn) { put_schema_version(txn, node::kStoreSchemaVersion + 1); });
  auto data = [&] {
    std::ifstream in(dir.path() / "data.mdb", std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  std::string before = data();
  auto store = node::Store::open(node::StoreOptions{dir.path(), 0});
  REQUIRE_FALSE(store.is_ok());
  CHECK_THAT(store.status().message(), Catch::Contains("was written by a newer release of anwang (store schema " +
                                                       std::to_string(node::kStoreSchemaVersion + 1)));
  CHECK_THAT(store.status().message(), Catch::Contains("this release changes nothing in it"));
  CHECK(data() == before);  // an older binary writes nothing to a newer store
}

namespace {

struct Listed {
  std::string scope;
  bool everywhere = false;
  std::vector<std::string> recipients;
  std::uint64_t hlc = 0;
  Hash32 id;
  bool operator==(const Listed&) const = default;
};

std::vector<Listed> items_of(const node::Store& store) {
  std::vector<Listed> out;
  REQUIRE(store.for_each_item([&](const Reach& reach, std::uint64_t hlc, const Hash32& id) {
    out.push_back({reach.scope, reach.everywhere, reach.recipients, hlc, id});
  }).is_ok());
  return out;
}

// A random history, then a township's notice to `recipients` with one photo.
std::vector<Op> history_with_notice(std::uint64_t seed, const std::string& recipients, const Attachment& photo) {
  std::mt19937_64 rng(seed);
  std::vector<Op> history = test::random_history(rng, 50, 3);
  OpFactory factory = test::mechanics_factory();
  RecordPayload notice{"notice", "send", {{"recipients", recipients}, {"text", "t"}, {"title", "t"}}, {photo}, {}};
  Hash32 object = authored_object_id(test_key(1).public_key(), factory.next_seq(test_key(1)));
  history.push_back(factory.make(test_key(1), "150430100", object, notice));
  return history;
}

}  // namespace

TEST_CASE("items list every op's reach from the indexes, as decoding the ops would", "[store]") {
  TempDir dir;
  Attachment photo{blake2b_256(as_bytes("a photo no node holds")), 21, "image/jpeg"};
  std::vector<Op> history = history_with_notice(11, "150430100201,150430100202", photo);
  auto store = test::open_store(dir.path());
  // Listed once with part of the history, so that the second listing adds what came since to the
  // one the store keeps.
  std::vector<Bytes> bytes = test::bytes_of(history);
  std::vector<Bytes> first_half(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(bytes.size() / 2));
  test::ingest_all(*store, first_half);
  CHECK(items_of(*store).size() == first_half.size());
  test::ingest_all(*store, bytes);
  std::vector<Listed> listed = items_of(*store);
  std::map<Hash32, Listed> expected;
  REQUIRE(store->for_each_op([&](const Op& op) {
    Reach reach = reach_of(op);
    expected[op.id] = {reach.scope, reach.everywhere, reach.recipients, op.fields.hlc, op.id};
  }).is_ok());
  REQUIRE(listed.size() == expected.size());
  for (const Listed& item : listed) CHECK(expected.at(item.id) == item);
  std::set<Hash32> listed_ids;
  for (const Listed& item : listed) listed_ids.insert(item.id);
  CHECK(listed_ids.size() == listed.size());  // each op once
  CHECK(expected.at(history.back().id).recipients == std::vector<std::string>{"150430100201", "150430100202"});
  // op_ids lists the same ops, in id order.
  auto ids = store->op_ids();
  REQUIRE(ids.is_ok());
  std::vector<Hash32> expected_ids;
  for (const auto& [id, item] : expected) expected_ids.push_back(id);
  CHECK(*ids == expected_ids);
  // The notice's photo is referenced and missing, until this node holds it.
  auto missing = store->missing_blobs();
  REQUIRE(missing.is_ok());
  REQUIRE(missing->size() == 1);
  CHECK(missing->at(0) == photo);
  int refs = 0;
  REQUIRE(store->for_each_attachment_ref([&](const Hash32& blob, const Hash32& op, bool complete) {
    CHECK(blob == photo.hash);
    CHECK(op == history.back().id);
    CHECK_FALSE(complete);
    ++refs;
  }).is_ok());
  CHECK(refs == 1);
  REQUIRE(store->put_blob(as_bytes("a photo no node holds"), "image/jpeg").is_ok());
  CHECK(store->missing_blobs()->empty());
  REQUIRE(store->for_each_attachment_ref([&](const Hash32&, const Hash32&, bool complete) { CHECK(complete); }).is_ok());
}

namespace {

// A store as an older anwang left it: a history with a notice and a photo reference stored by
// this version, then the tables `version` did not have dropped and its number written. Returns
// what this version lists and digests for that history, to compare after the upgrade.
std::pair<std::vector<Listed>, Hash32> older_store(const std::filesystem::path& dir, const Attachment& photo,
                                                   std::uint64_t version, const std::vector<const char*>& absent) {
  std::vector<Op> history = history_with_notice(12, "150430100201", photo);
  std::pair<std::vector<Listed>, Hash32> current;
  {
    auto store = test::open_store(dir);
    test::ingest_all(*store, test::bytes_of(history));
    current = {items_of(*store), digest(*store)};
  }
  REQUIRE_FALSE(current.first.empty());
  test::edit_raw_store(dir, [&](MDB_txn* txn) {
    for (const char* name : absent) {
      MDB_dbi dbi;
      REQUIRE(mdb_dbi_open(txn, name, 0, &dbi) == 0);
      REQUIRE(mdb_drop(txn, dbi, 1) == 0);
    }
    put_schema_version(txn, version);
  });
  return current;
}

// Opens the store older_store() left in `dir` and checks the upgrade kept it: the same items,
// the same digest, and it verifies.
std::unique_ptr<node::Store> open_upgraded(const std::filesystem::path& dir,
                                           const std::pair<std::vector<Listed>, Hash32>& before) {
  auto store = test::open_store(dir);
  CHECK(items_of(*store) == before.first);
  CHECK(digest(*store) == before.second);
  auto report = store->verify();
  REQUIRE(report.is_ok());
  CHECK(report->ok());
  return store;
}

}  // namespace

TEST_CASE("a store of schema version 2 gains the version 3 items index when opened", "[store]") {
  TempDir dir;
  auto before = older_store(dir.path(), {blake2b_256(as_bytes("evidence")), 8, "image/png"}, 2, {"items"});
  open_upgraded(dir.path(), before);
}

TEST_CASE("verify finds an op missing from the items index", "[store]") {
  TempDir dir;
  std::vector<Op> history = history_with_notice(6, "150430100201", Attachment{blake2b_256(as_bytes("x")), 1, "image/png"});
  store_sound_history(dir.path(), history);
  auto problems = verify_problems_after(dir.path(), "items", delete_last_row);
  CHECK_FALSE(problems.empty());
  bool named = false;
  for (const std::string& problem : problems) named = named || problem.find("items index") != std::string::npos;
  CHECK(named);
}

TEST_CASE("verify finds an op missing from the arrival order, twice in it, or an arrival of nothing", "[store]") {
  TempDir dir;
  std::mt19937_64 rng(11);
  std::vector<Op> history = test::random_history(rng, 20, 2);
  store_sound_history(dir.path(), history);
  auto problems_after = [&](const std::function<void(MDB_txn*, MDB_dbi)>& edit) {
    TempDir copy;
    std::filesystem::copy(dir.path(), copy.path(), std::filesystem::copy_options::recursive |
                                                       std::filesystem::copy_options::overwrite_existing);
    return verify_problems_after(copy.path(), "arrivals", edit);
  };
  auto put_arrival = [](MDB_txn* txn, MDB_dbi dbi, std::uint64_t number, const Hash32& id) {
    Bytes key;
    append_u64_be(key, number);
    MDB_val k{key.size(), key.data()}, v{id.bytes.size(), const_cast<std::uint8_t*>(id.bytes.data())};
    REQUIRE(mdb_put(txn, dbi, &k, &v, 0) == 0);
  };
  SECTION("an op missing") {
    auto problems = problems_after(delete_last_row);
    REQUIRE(problems.size() == 1);
    CHECK_THAT(problems[0], Catch::Contains("the arrival order lists " + std::to_string(history.size() - 1) + " of the " +
                                            std::to_string(history.size()) + " stored ops"));
  }
  SECTION("an op twice") {
    auto problems = problems_after([&](MDB_txn* txn, MDB_dbi dbi) { put_arrival(txn, dbi, 1000, history[3].id); });
    REQUIRE(problems.size() == 1);
    CHECK_THAT(problems[0], Catch::Contains(history[3].id.hex() + " arrived twice (again at arrival 1000)"));
  }
  SECTION("an op the store does not hold") {
    Hash32 stranger = blake2b_256(as_bytes("never stored"));
    auto problems = problems_after([&](MDB_txn* txn, MDB_dbi dbi) { put_arrival(txn, dbi, 1000, stranger); });
    REQUIRE(problems.size() == 1);
    CHECK_THAT(problems[0], Catch::Contains("arrival 1000 names op " + stranger.hex() + ", which the store does not hold"));
  }
}

TEST_CASE("a store of schema version 1 gains the version 2 and 3 indexes when opened", "[store]") {
  TempDir dir;
  Attachment photo{blake2b_256(as_bytes("evidence")), 8, "image/png"};
  auto before = older_store(dir.path(), photo, 1, {"reach", "attachments", "blobs_missing", "items"});
  auto store = open_upgraded(dir.path(), before);
  auto missing = store->missing_blobs();
  REQUIRE(missing.is_ok());
  REQUIRE(missing->size() == 1);
  CHECK(missing->at(0) == photo);
}

// Schema 3 → 4 (issue 19, class 2): a note written at village B on village A's record, and a
// later step on A's record naming it (as releases before 19 wrote them), go only where both
// villages' ops go once the store is opened: the county and the township, never A or B alone.
TEST_CASE("a store of schema version 3 gains the reach of ops whose parents go elsewhere", "[store][class2]") {
  TempDir dir;
  OpFactory factory = test::mechanics_factory();
  KeyPair author = test_key(4);
  const std::string a = "150430100201-01", b = "150430100202";
  Op genesis = factory.genesis();
  Op on_a = factory.note(author, a, "a record at A", {genesis.id});
  Op note_at_b = factory.make(author, b, on_a.fields.object, NotePayload{"written at B"}, {on_a.id});
  Op step_at_a = factory.make(author, a, on_a.fields.object, NotePayload{"a later step at A"}, {note_at_b.id});
  Op clean_at_b = factory.note(author, b, "B's own", {genesis.id});
  std::vector<Op> history{genesis, on_a, note_at_b, step_at_a, clean_at_b};
  auto reach_by_id = [](node::Store& store) {
    std::map<Hash32, Reach> out;
    REQUIRE(store.for_each_item([&](const Reach& reach, std::uint64_t, const Hash32& id) { out[id] = reach; }).is_ok());
    return out;
  };
  Hash32 before_digest;
  {
    auto store = test::open_store(dir.path());
    test::ingest_all(*store, test::bytes_of(history));
    before_digest = digest(*store);
    auto reach = reach_by_id(*store);
    CHECK_FALSE(visible_to(reach[note_at_b.id], b));
    CHECK_FALSE(visible_to(reach[step_at_a.id], "150430100201"));
    CHECK(visible_to(reach[step_at_a.id], "150430100"));
    CHECK(visible_to(reach[clean_at_b.id], b));
  }
  // As schema 3 left it: no reach rows for ops whose scope alone said where they go.
  test::edit_raw_store(dir.path(), [&](MDB_txn* txn) {
    MDB_dbi dbi;
    REQUIRE(mdb_dbi_open(txn, "reach", 0, &dbi) == 0);
    for (const Op* op : {&note_at_b, &step_at_a}) {
      Bytes key(op->fields.scope.begin(), op->fields.scope.end());
      key.push_back(0);
      append_u64_be(key, op->fields.hlc);
      key.insert(key.end(), op->id.bytes.begin(), op->id.bytes.end());
      MDB_val k{key.size(), key.data()};
      REQUIRE(mdb_del(txn, dbi, &k, nullptr) == 0);
    }
    put_schema_version(txn, 3);
  });
  auto store = test::open_store(dir.path());
  auto reach = reach_by_id(*store);
  CHECK_FALSE(visible_to(reach[note_at_b.id], b));
  CHECK_FALSE(visible_to(reach[note_at_b.id], "150430100201"));
  CHECK_FALSE(visible_to(reach[step_at_a.id], "150430100201"));
  CHECK(visible_to(reach[step_at_a.id], "150430100"));
  CHECK(visible_to(reach[step_at_a.id], "150430"));
  CHECK(visible_to(reach[on_a.id], "150430100201"));
  CHECK(visible_to(reach[clean_at_b.id], b));
  CHECK(digest(*store) == before_digest);
  auto report = store->verify();
  REQUIRE(report.is_ok());
  CHECK(report->ok());
}

TEST_CASE("every refused op names its id, the hash of its bytes, on the parallel decoder and off it", "[store]") {
  // A batch of at least verify_parallel_ops_min ops with two verify threads goes through the
  // parallel decoder; one thread, or a smaller batch, through the writer's own decoding.
  static_assert(limits::verify_parallel_ops_min <= 100);
  for (unsigned threads : {1u, 2u}) {
    for (std::size_t size : {std::size_t{100}, std::size_t{20}}) {
      INFO(threads << " verify threads, a batch of " << size);
      TempDir dir;
      auto opened = node::Store::open(node::StoreOptions{dir.path(), 0, threads});
      REQUIRE(opened.is_ok());
      OpFactory factory = test::mechanics_factory();
      std::vector<Bytes> batch{factory.genesis().bytes};
      Hash32 last = factory.genesis().id;
      for (std::size_t i = 1; i + 1 < size; ++i) {
        Op note = factory.note(test_key(1), "150430100", "patrol " + std::to_string(i), {last});
        last = note.id;
        batch.push_back(i % 10 == 5 ? test::with_signature_bit_flipped(note, static_cast<int>(i)) : note.bytes);
      }
      batch.push_back(Bytes(3, 1));  // bytes that are no op at all are named by their hash too
      auto outcomes = ingest(**opened, batch);
      REQUIRE(outcomes.size() == batch.size());
      std::size_t refused = 0;
      for (std::size_t i = 0; i < batch.size(); ++i) {
        if (outcomes[i].kind != Kind::kRefused) continue;
        ++refused;
        REQUIRE(outcomes[i].id.has_value());
        CHECK(*outcomes[i].id == blake2b_256(batch[i]));
        bool signature_flipped = i + 1 < batch.size();
        CHECK(outcomes[i].reason == (signature_flipped ? Refusal::kBadSignature : Refusal::kMalformed));
      }
      CHECK(refused == size / 10 + 1);
    }
  }
}

TEST_CASE("the pending area lists each waiting op with the parents it still lacks", "[store]") {
  TempDir dir;
  auto store = test::open_store(dir.path());
  OpFactory factory = test::mechanics_factory();
  Op region = factory.region(test_key(0), "150430100", "新惠镇", {factory.genesis().id});
  Op first = factory.note(test_key(1), "150430100", "waits for the region", {region.id});
  Op second = factory.note(test_key(1), "150430100", "waits for the first note", {first.id});
  // Before the genesis: an op waits for the genesis too.
  ingest(*store, {first.bytes, second.bytes});
  std::map<Hash32, std::vector<Hash32>> listed;
  auto list = [&] {
    listed.clear();
    REQUIRE(store->for_each_pending([&](const Op& op, const std::vector<Hash32>& missing) { listed[op.id] = missing; })
                .is_ok());
  };
  list();
  REQUIRE(listed.size() == 2);
  CHECK(listed[first.id] == std::vector<Hash32>{factory.genesis().id, region.id});
  CHECK(listed[second.id] == std::vector<Hash32>{factory.genesis().id, first.id});
  ingest(*store, {factory.genesis().bytes});
  list();
  CHECK(listed[first.id] == std::vector<Hash32>{region.id});
  CHECK(listed[second.id] == std::vector<Hash32>{first.id});
  ingest(*store, {region.bytes});
  list();
  CHECK(listed.empty());
}

// --- Issue 19, class 3 (branch `keys`): a key moved in continues after the head it brought. ---
TEST_CASE("author() continues a moved key after its adopted head while that is beyond the store's own",
          "[store][keys]") {
  TempDir dir;
  auto store = test::open_store(dir.path());
  OpFactory factory = test::mechanics_factory();
  ingest_one(*store, factory.genesis().bytes);
  KeyPair author = test_key(5);
  ManualClock wall(test::kTestTimeMs + 1000);
  node::OpDraft note{"150430100", {}, NotePayload{"moved in"}, {}, node::DraftTarget::kNewRecord,
                     node::DraftAdmit::kEvenIfNotEffective};
  // The key's op number 7 on the node it left, a minute ahead of this node's clock (within the
  // leeway; one further ahead is no floor: see the hlc tests); not held here.
  Hash32 seventh = blake2b_256(as_bytes("the key's op 7 on its old node"));
  std::uint64_t seventh_hlc = hlc_from_ms(test::kTestTimeMs + 60'000);
  REQUIRE(store->adopt_key_head(author.public_key(), 7, seventh, seventh_hlc).is_ok());
  REQUIRE(store->adopt_key_head(author.public_key(), 3, blake2b_256(as_bytes("older")), 1).is_ok());  // ignored
  auto standing = store->key_standing(author.public_key());
  REQUIRE(standing.is_ok());
  REQUIRE(standing->adopted);
  CHECK(standing->adopted->seq == 7);
  auto eighth = store->author(author, note, wall);
  REQUIRE(eighth.is_ok());
  CHECK(eighth->fields.author_seq == 8);
  CHECK(eighth->fields.author_prev == seventh);
  CHECK(eighth->fields.hlc > seventh_hlc);
  // Past the adopted head, the store's own ops number the key.
  auto ninth = store->author(author, note, wall);
  REQUIRE(ninth.is_ok());
  CHECK(ninth->fields.author_seq == 9);
  CHECK(ninth->fields.author_prev == eighth->id);
  // Another key is not touched.
  auto other = store->author(test_key(6), note, wall);
  REQUIRE(other.is_ok());
  CHECK(other->fields.author_seq == 1);
}
// --- end of issue 19, class 3 (branch `keys`) ---

// Issue 23: a county upgrades over weeks, so an op of a kind a later release added reaches nodes
// that do not know it. They keep it, pass it on and name it; they never judge it, never let it
// stand in a hazard or record, and never name it as a parent of their own ops (a rule it breaks
// that they cannot check would make every newer node refuse what they write after it).
TEST_CASE("an op of a payload kind this release does not know is kept, passed on and named, never a parent",
          "[store][upgrade]") {
  TempDir dir;
  auto store = test::open_store(dir.path());
  OpFactory factory = test::mechanics_factory();
  ingest_one(*store, factory.genesis().bytes);
  KeyPair author = test_key(1), outsider = test_key(50);
  Op first = factory.note(author, "150430100", "巡查");
  REQUIRE(ingest_one(*store, first.bytes).kind == Kind::kAccepted);
  OpFields header = first.fields;
  header.author_seq = 2;
  header.author_prev = first.id;
  header.parents = {first.id};
  header.hlc = first.fields.hlc + 1;
  Bytes future = test::future_payload_op(author, header);
  IngestOutcome kept = ingest_one(*store, future);
  REQUIRE(kept.kind == Kind::kAccepted);
  Hash32 future_id = *kept.id;
  // Named, with what it is, and counted.
  auto deferred = store->deferred_ops();
  REQUIRE(deferred.is_ok());
  REQUIRE(deferred->size() == 1);
  CHECK(deferred->at(0).id == future_id);
  CHECK(deferred->at(0).what == "payload variant 10");
  CHECK(deferred->at(0).scope == "150430100");
  CHECK_FALSE(deferred->at(0).void_here);
  CHECK(store->stats()->deferred == 1);
  auto held = store->get(future_id);
  REQUIRE(held.is_ok());
  REQUIRE(held->has_value());
  CHECK(std::holds_alternative<DeferredPayload>((*held)->fields.payload));
  CHECK((*held)->bytes == future);  // byte for byte, so it passes on unchanged
  auto verdict = store->verdict(**held);
  REQUIRE(verdict.is_ok());
  CHECK_FALSE(verdict->effective);
  CHECK_THAT(verdict->reason, Catch::Contains("needs a newer release"));
  // Offered to peers within its scope, like any op of it.
  bool listed = false;
  REQUIRE(store->for_each_item([&](const Reach& reach, std::uint64_t, const Hash32& id) {
    if (id == future_id) listed = reach.scope == "150430100" && !reach.everywhere;
  }).is_ok());
  CHECK(listed);
  // This node's next op on the object follows the op it knows, not the one it cannot check.
  ManualClock wall(test::kTestTimeMs + 1000);
  node::OpDraft note{"150430100", first.fields.object, NotePayload{"再次巡查"}, {}, node::DraftTarget::kExisting,
                     node::DraftAdmit::kEvenIfNotEffective};
  auto next = store->author(test_key(2), note, wall);
  REQUIRE(next.is_ok());
  CHECK(std::find(next->fields.parents.begin(), next->fields.parents.end(), future_id) == next->fields.parents.end());
  CHECK(std::find(next->fields.parents.begin(), next->fields.parents.end(), first.id) != next->fields.parents.end());
  // Still a key no office named may not send one: refused, nothing kept.
  OpFields stranger = header;
  stranger.author = outsider.public_key();
  stranger.author_seq = 1;
  stranger.author_prev.reset();
  IngestOutcome refused = ingest_one(*store, test::future_payload_op(outsider, stranger));
  CHECK(refused.kind == Kind::kRefused);
  CHECK(refused.reason == Refusal::kNoOffice);
  CHECK(store->stats()->deferred == 1);
  auto report = store->verify();
  REQUIRE(report.is_ok());
  CHECK(report->ok());
  // Reopened by this release, which still does not know it: still kept, still named.
  store.reset();
  store = test::open_store(dir.path());
  CHECK(store->stats()->deferred == 1);
}

namespace {

// Makes this process read as the release before profiles and trainings for the guard's life.
struct EarlierRelease {
  EarlierRelease() { pretend_earlier_release_for_testing(0xffff, {"unit", "inspection", "tip", "incident", "notice"}); }
  ~EarlierRelease() { pretend_earlier_release_for_testing(0xffff, {}); }
  EarlierRelease(const EarlierRelease&) = delete;
  EarlierRelease& operator=(const EarlierRelease&) = delete;
};

}  // namespace

TEST_CASE("a record step an earlier release kept unread is judged when the node is upgraded; one that breaks the "
          "rules stays inert",
          "[store][upgrade]") {
  OpFactory factory = test::mechanics_factory();
  KeyPair author = test_key(1);
  // Written by this release.
  std::vector<std::pair<std::string, std::string>> fields = {
      {"attendees", "张晓梅"}, {"date", "2026-12-01"}, {"hours", "2"}, {"topic", "冬季防火"}};
  OpFields made;
  made.network = factory.network();
  made.author = author.public_key();
  made.author_seq = 1;
  made.hlc = factory.genesis().fields.hlc + 1;
  made.scope = "150430100201";
  made.payload = RecordPayload{"training", "record", fields, {}, {}};
  made.object = created_object_id(made);
  Op good = factory.make_raw(author, made);
  // And one no release signs: hours 0. A node that does not know trainings cannot tell.
  OpFields bad_fields = good.fields;
  bad_fields.author_seq = 2;
  bad_fields.author_prev = good.id;
  bad_fields.hlc = good.fields.hlc + 1;
  std::get<RecordPayload>(bad_fields.payload).fields[2].second = "0";
  bad_fields.object = created_object_id(bad_fields);
  Bytes bad = test::unchecked_record_op(author, bad_fields);
  REQUIRE(std::holds_alternative<RefusedOp>(decode_op(bad)));

  TempDir dir;
  {
    EarlierRelease earlier;
    auto store = test::open_store(dir.path());
    ingest_one(*store, factory.genesis().bytes);
    for (const Bytes& bytes : {good.bytes, bad}) CHECK(ingest_one(*store, bytes).kind == Kind::kAccepted);
    CHECK(store->stats()->deferred == 2);
    CHECK(store->records("training")->empty());
    auto report = store->verify();
    REQUIRE(report.is_ok());
    CHECK(report->ok());
  }
  // Upgraded: the store is judged at open.
  auto store = test::open_store(dir.path());
  auto deferred = store->deferred_ops();
  REQUIRE(deferred.is_ok());
  std::map<Hash32, bool> void_of;
  for (const node::DeferredOp& d : *deferred) void_of[d.id] = d.void_here;
  REQUIRE(void_of.size() == 1);
  CHECK(void_of[blake2b_256(bad)]);
  CHECK(void_of.count(good.id) == 0);
  auto listed = store->records("training");
  REQUIRE(listed.is_ok());
  REQUIRE(listed->size() == 1);
  CHECK(listed->at(0) == good.fields.object);
  auto record = store->record(good.fields.object);
  REQUIRE(record.is_ok());
  // The void ones stand in no record.
  CHECK_FALSE(store->record(bad_fields.object).is_ok());
  auto report = store->verify();
  REQUIRE(report.is_ok());
  CHECK(report->ok());
  // And reopening changes nothing more.
  store.reset();
  store = test::open_store(dir.path());
  CHECK(store->deferred_ops()->size() == 1);
  CHECK(store->records("training")->size() == 1);
}
