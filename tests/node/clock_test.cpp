// One wrong clock, and keys behind the network (issue 19, classes 3 and 4), at the store and in
// sessions over in-memory pipes: trusted time from peers' clocks, deadlines counted from the
// notice's own time, overdue flags that a year-ahead op does not move, keys that do not sign numbers
// other nodes have seen, and wire version 3 meeting version 2 either way round.
#include <catch2/catch.hpp>

#include <thread>

#include "crdt/hash.h"
#include "crdt/limits.h"
#include "node/sync.h"
#include "support/fixtures.h"
#include "support/pipes.h"

using namespace anwang;
using anwang::test::OpFactory;
using anwang::test::TempDir;
using anwang::test::test_key;

namespace {

constexpr const char* kVillage = "150430100201";
constexpr const char* kOtherVillage = "150430100202";
constexpr const char* kGrid = "150430100201-03";
constexpr std::uint64_t kYearMs = 365ull * 86'400'000;
constexpr std::uint64_t kNowMs = test::kTestTimeMs + 60'000;  // a minute after the county's ops

// A store opened with a clock, as anwang and anwangd open theirs.
std::unique_ptr<node::Store> open_with_clock(const std::filesystem::path& dir, const PhysicalClock& clock) {
  node::StoreOptions options{dir};
  options.clock = &clock;
  auto store = node::Store::open(options);
  REQUIRE(store.is_ok());
  return std::move(*store);
}

// A county's authority ops: the head of village A and a grid member, enrolled nodes for village A,
// village B and the county.
struct County {
  OpFactory factory;
  KeyPair root = test_key(0), head = test_key(20), member = test_key(30), node_a = test_key(102), node_b = test_key(103),
          node_county = test_key(100);
  std::vector<Op> ops;

  County() {
    ops.push_back(factory.genesis());
    appoint(head, "village_head", kVillage);
    appoint(member, "grid_member", kGrid);
    enrol(node_county, "150430");
    enrol(node_a, kVillage);
    enrol(node_b, kOtherVillage);
  }
  void appoint(const KeyPair& to, const std::string& role, const std::string& scope) {
    ops.push_back(factory.make(root, scope, named_object_id("grant", to.public_key().hex() + role),
                               DelegationPayload{to.public_key(), role, {}}, {ops.back().id}));
  }
  void enrol(const KeyPair& node, const std::string& scope) {
    ops.push_back(factory.make(root, scope, node_object_id(node.public_key()), EnrolmentPayload{node.public_key()},
                               {ops.back().id}));
  }
  void give_to(node::Store& store) { test::ingest_all(store, test::bytes_of(ops)); }
};

Result<Op> author(node::Store& store, const KeyPair& key, const std::string& scope, Payload payload,
                  const PhysicalClock& clock, node::DraftTarget target = node::DraftTarget::kNewRecord,
                  const Hash32& object = Hash32{}, node::DraftAdmit admit = node::DraftAdmit::kEffectiveOnly) {
  node::OpDraft draft{scope, object, std::move(payload), {}, target, admit};
  return store.author(key, draft, clock);
}

HazardPayload report_payload() {
  HazardPayload h;
  h.action = "report";
  h.text = "仓库消防通道堵塞";
  h.category = "fire";
  h.severity = "general";
  return h;
}

HazardPayload notice_days(std::uint16_t days) {
  HazardPayload h;
  h.action = "notice";
  h.deadline_days = days;
  h.responsible = "张三";
  return h;
}

bool flagged(const HazardState& s, const std::string& flag) {
  return std::find(s.flags.begin(), s.flags.end(), flag) != s.flags.end();
}

// Both ends of a session over pipes, each with its own options.
std::pair<Result<node::SyncReport>, Result<node::SyncReport>> session(node::Store& a, const KeyPair& a_key,
                                                                      const node::SyncOptions& a_options, node::Store& b,
                                                                      const KeyPair& b_key,
                                                                      const node::SyncOptions& b_options) {
  test::Pipe a_to_b, b_to_a;
  test::PipeTransport ta(b_to_a, a_to_b), tb(a_to_b, b_to_a);
  Result<node::SyncReport> rb = Status::error(Status::Code::kUnavailable, "not run");
  std::thread responder([&] {
    rb = node::run_sync(b, b_key, tb, node::SyncRole::kResponder, blake2b_256(as_bytes("b")).bytes, b_options);
    b_to_a.close();
  });
  auto ra = node::run_sync(a, a_key, ta, node::SyncRole::kInitiator, blake2b_256(as_bytes("a")).bytes, a_options);
  a_to_b.close();
  responder.join();
  return {ra, rb};
}

}  // namespace

TEST_CASE("trusted time: a Pi at 1970 that has synced once stamps its ops with its peers' time", "[clock]") {
  County county;
  TempDir dir;
  ManualClock pi(12'000);  // 12 s after 1970-01-01: a Raspberry Pi without a real-time clock
  auto store = open_with_clock(dir.path(), pi);
  county.give_to(*store);
  auto before = store->clock_state(pi);
  REQUIRE(before.is_ok());
  CHECK(before->time.verdict == ClockVerdict::kBehind);
  CHECK_FALSE(before->time.known);
  // A session saw the county's clock at kNowMs while this one read 12 s.
  REQUIRE(store->record_peer_clock(county.node_county.public_key(), kNowMs, 12'000).is_ok());
  // The same offset a second later is not written again (one write an hour per peer, at most).
  REQUIRE(store->record_peer_clock(county.node_county.public_key(), kNowMs + 1'000, 13'000).is_ok());
  CHECK(store->clock_state(pi)->peers.at(0).observed_ms == 12'000);
  pi.advance_ms(5'000);
  auto after = store->clock_state(pi);
  REQUIRE(after.is_ok());
  CHECK(after->time.verdict == ClockVerdict::kBehind);
  CHECK(after->time.known);
  CHECK(after->time.trusted_ms == kNowMs + 5'000);
  auto note = author(*store, county.head, kVillage, NotePayload{"村委会例会"}, pi);
  REQUIRE(note.is_ok());
  CHECK(hlc_ms(note->fields.hlc) == kNowMs + 5'000);
}

TEST_CASE("a notice drafted with days counts from its own timestamp, whatever the signer's wall clock reads",
          "[clock]") {
  County county;
  TempDir dir;
  ManualClock sane(kNowMs);
  auto store = open_with_clock(dir.path(), sane);
  county.give_to(*store);
  auto report = author(*store, county.member, kGrid, report_payload(), sane);
  REQUIRE(report.is_ok());
  // The head's node boots at 1970 and has seen no peer: its notice is stamped after the report.
  ManualClock pi(12'000);
  auto notice = author(*store, county.head, kGrid, notice_days(15), pi, node::DraftTarget::kExisting,
                       report->fields.object);
  REQUIRE(notice.is_ok());
  const auto& h = std::get<HazardPayload>(notice->fields.payload);
  CHECK(h.deadline_days == 15);
  CHECK(h.deadline_ms == hlc_ms(notice->fields.hlc) + 15 * kDeadlineDayMs);
  CHECK(hlc_ms(notice->fields.hlc) >= kNowMs);
  auto state = store->hazard(report->fields.object);
  REQUIRE(state.is_ok());
  CHECK(state->state == "noticed");
  CHECK(state->deadline_ms == h.deadline_ms);
  CHECK_FALSE(flagged(*state, "overdue"));
  // A hand-made deadlineMs that disagrees with deadlineDays is refused as a malformed field.
  OpFields wrong = notice->fields;
  std::get<HazardPayload>(wrong.payload).deadline_ms += 1;
  CHECK_FALSE(sign_op(wrong, county.head).is_ok());
}

TEST_CASE("a notice whose deadline is not after its own timestamp is inert, saying so", "[clock]") {
  County county;
  TempDir dir;
  ManualClock sane(kNowMs);
  auto store = open_with_clock(dir.path(), sane);
  county.give_to(*store);
  auto report = author(*store, county.member, kGrid, report_payload(), sane);
  REQUIRE(report.is_ok());
  HazardPayload n = notice_days(0);
  n.deadline_ms = 15 * kDeadlineDayMs;  // 1970-01-16: what a Pi at 1970 once wrote for --days 15
  auto refused = author(*store, county.head, kGrid, n, sane, node::DraftTarget::kExisting, report->fields.object);
  REQUIRE_FALSE(refused.is_ok());
  CHECK_THAT(refused.status().message(), Catch::Contains("the deadline 1970-01-16 is before the notice itself"));
  // Written anyway (as a release before this one did): inert, and the hazard is not overdue.
  auto written = author(*store, county.head, kGrid, n, sane, node::DraftTarget::kExisting, report->fields.object,
                        node::DraftAdmit::kEvenIfNotEffective);
  REQUIRE(written.is_ok());
  auto verdict = store->verdict(*written);
  REQUIRE(verdict.is_ok());
  CHECK_FALSE(verdict->effective);
  auto state = store->hazard(report->fields.object);
  REQUIRE(state.is_ok());
  CHECK(state->state == "reported");
  CHECK_FALSE(flagged(*state, "overdue"));
}

TEST_CASE("an op stamped a year ahead does not make other notices overdue", "[clock]") {
  County county;
  TempDir dir, plain_dir;
  ManualClock sane(kNowMs);
  auto store = open_with_clock(dir.path(), sane);
  county.give_to(*store);
  auto report = author(*store, county.member, kGrid, report_payload(), sane);
  REQUIRE(report.is_ok());
  auto notice = author(*store, county.head, kGrid, notice_days(30), sane, node::DraftTarget::kExisting,
                       report->fields.object);
  REQUIRE(notice.is_ok());
  // A node a year ahead writes one note; this node does not take it before its time (issue 20:
  // an op far ahead is held back by its sender, never stored or relayed until the time comes).
  Op ahead = county.factory.make(county.root, kVillage, named_object_id("note", "ahead"), NotePayload{"明年见"},
                                 {county.ops.back().id}, hlc_from_ms(kNowMs + kYearMs));
  auto taken = store->ingest(std::vector<Bytes>{ahead.bytes});
  REQUIRE(taken.is_ok());
  CHECK(taken->outcomes[0].kind == node::IngestOutcome::Kind::kRefused);
  CHECK(taken->outcomes[0].reason == Refusal::kAheadOfClock);
  auto state = store->hazard(report->fields.object);
  REQUIRE(state.is_ok());
  CHECK_FALSE(flagged(*state, "overdue"));
  auto now = store->deadline_now_hlc();
  REQUIRE(now.is_ok());
  CHECK(hlc_ms(*now) <= kNowMs + limits::clock_skew_ms_max);
  // Without the cap (no clock: "now" is the newest op held), the same ops were overdue: the hole.
  auto plain = test::open_store(plain_dir.path());
  std::vector<Bytes> all = test::bytes_of(county.ops);
  for (const Op& op : {*report, *notice, ahead}) all.push_back(op.bytes);
  test::ingest_all(*plain, all);
  auto old_view = plain->hazard(report->fields.object);
  REQUIRE(old_view.is_ok());
  CHECK(flagged(*old_view, "overdue"));
  // Once real time passes the deadline, and an op of that time arrives, the capped node flags it too.
  sane.set_ms(kNowMs + 31 * kDeadlineDayMs);
  Op month_later = county.factory.make(county.root, kVillage, named_object_id("note", "later"), NotePayload{"一个月后"},
                                       {county.ops.back().id}, hlc_from_ms(kNowMs + 31 * kDeadlineDayMs));
  test::ingest_all(*store, {month_later.bytes});
  auto later = store->hazard(report->fields.object);
  REQUIRE(later.is_ok());
  CHECK(flagged(*later, "overdue"));
}

TEST_CASE("a key behind what other nodes have seen does not sign, and signs again once the store holds their op",
          "[clock][keys]") {
  County county;
  TempDir here_dir, elsewhere_dir;
  ManualClock sane(kNowMs);
  auto elsewhere = open_with_clock(elsewhere_dir.path(), sane);
  auto here = open_with_clock(here_dir.path(), sane);
  county.give_to(*elsewhere);
  county.give_to(*here);
  // The head signed three notes; this node (restored from a copy) holds only the first.
  std::vector<Op> notes;
  for (int i = 0; i < 3; ++i) {
    auto note = author(*elsewhere, county.head, kVillage, NotePayload{"记录 " + std::to_string(i)}, sane);
    REQUIRE(note.is_ok());
    notes.push_back(*note);
  }
  test::ingest_all(*here, {notes[0].bytes});
  node::KeyHead head{county.head.public_key(), 3, notes[2].id, notes[2].fields.hlc};
  REQUIRE(here->note_key_heads(std::vector<node::KeyHead>{head}).is_ok());
  auto refused = author(*here, county.head, kVillage, NotePayload{"恢复后"}, sane);
  REQUIRE_FALSE(refused.is_ok());
  CHECK_THAT(refused.status().message(),
             Catch::Contains("has signed op number 3 on another node or before this node was restored") &&
                 Catch::Contains("holds only up to 1") && Catch::Contains("anwang sync HOST:PORT"));
  auto standing = here->key_standing(county.head.public_key());
  REQUIRE(standing.is_ok());
  CHECK_FALSE(standing->behind.empty());
  // A session forgets only the head a peer named and never sent, and only while it is that head.
  node::KeyHead other = head;
  other.id = blake2b_256(as_bytes("another op 3"));
  REQUIRE(here->forget_key_head(other).is_ok());
  CHECK_FALSE(here->key_standing(county.head.public_key())->behind.empty());
  // The sync brings them: the key signs again, after them, and never twice with one number.
  test::ingest_all(*here, {notes[1].bytes, notes[2].bytes});
  auto signed_again = author(*here, county.head, kVillage, NotePayload{"恢复后"}, sane);
  REQUIRE(signed_again.is_ok());
  CHECK(signed_again->fields.author_seq == 4);
  CHECK(signed_again->fields.author_prev == notes[2].id);
  CHECK(here->key_standing(county.head.public_key())->equivocations.empty());
}

TEST_CASE("an adopted key head is the previous op of the key's next op, without being held", "[clock][keys]") {
  County county;
  TempDir dir;
  ManualClock sane(kNowMs);
  auto store = open_with_clock(dir.path(), sane);
  county.give_to(*store);
  Hash32 elsewhere = blake2b_256(as_bytes("op 7 of the head, in another village"));
  std::uint64_t elsewhere_hlc = hlc_from_ms(kNowMs + 10'000);
  REQUIRE(store->note_key_heads(std::vector<node::KeyHead>{{county.head.public_key(), 7, std::nullopt, 0}}).is_ok());
  auto refused = author(*store, county.head, kVillage, NotePayload{"搬家"}, sane);
  REQUIRE_FALSE(refused.is_ok());
  CHECK_THAT(refused.status().message(), Catch::Contains("in a scope this node may not hold"));
  REQUIRE(store->adopt_key_head(county.head.public_key(), 7, elsewhere, elsewhere_hlc).is_ok());
  auto moved = author(*store, county.head, kVillage, NotePayload{"搬家"}, sane);
  REQUIRE(moved.is_ok());
  CHECK(moved->fields.author_seq == 8);
  CHECK(moved->fields.author_prev == elsewhere);
  CHECK(moved->fields.hlc > elsewhere_hlc);
  // Adopting what the store already holds is refused.
  CHECK_FALSE(store->adopt_key_head(county.head.public_key(), 8, moved->id, moved->fields.hlc).is_ok());
}

TEST_CASE("version-3 sessions exchange clocks and the key heads of each keyring", "[clock][sync]") {
  County county;
  TempDir a_dir, b_dir;
  ManualClock clock_a(kNowMs), clock_b(kNowMs + kYearMs);  // village B's node is a year ahead
  auto a = open_with_clock(a_dir.path(), clock_a);
  auto b = open_with_clock(b_dir.path(), clock_b);
  county.give_to(*a);
  county.give_to(*b);
  // The head's key signed in village A (op 1) and then in village B (ops 2, 3) on B's node: village A's
  // node may not hold those.
  auto first = author(*a, county.head, kVillage, NotePayload{"一村"}, clock_a);
  REQUIRE(first.is_ok());
  test::ingest_all(*b, {first->bytes});
  for (int i = 0; i < 2; ++i)
    REQUIRE(author(*b, county.head, kOtherVillage, NotePayload{"二村 " + std::to_string(i)}, clock_b,
                   node::DraftTarget::kNewRecord, Hash32{}, node::DraftAdmit::kEvenIfNotEffective)
                .is_ok());
  node::SyncOptions options_a, options_b;
  options_a.clock = &clock_a;
  options_a.keyring_keys = {county.head.public_key()};
  options_b.clock = &clock_b;
  auto [ra, rb] = session(*a, county.node_a, options_a, *b, county.node_b, options_b);
  INFO(ra.status().message() << " / " << rb.status().message());
  REQUIRE(ra.is_ok());
  REQUIRE(rb.is_ok());
  CHECK(ra->wire_version == net::kWireVersionLatest);
  CHECK(rb->wire_version == net::kWireVersionLatest);
  REQUIRE(ra->peer_clock_offset_ms);
  CHECK(*ra->peer_clock_offset_ms == static_cast<std::int64_t>(kYearMs));
  // Each names the clock that is off: A keeps its own (of two clocks the earlier wins), B corrects.
  auto state_a = a->clock_state(clock_a);
  auto state_b = b->clock_state(clock_b);
  REQUIRE(state_a.is_ok());
  REQUIRE(state_b.is_ok());
  CHECK(state_a->time.verdict == ClockVerdict::kOk);
  CHECK(state_a->peers.size() == 1);
  CHECK(state_b->time.verdict == ClockVerdict::kAhead);
  CHECK(state_b->time.trusted_ms == kNowMs);
  // A learnt that the head's key signed number 3, without its id (A may not hold it): it does not sign.
  auto standing = a->key_standing(county.head.public_key());
  REQUIRE(standing.is_ok());
  REQUIRE(standing->known);
  CHECK(standing->known->seq == 3);
  CHECK_FALSE(standing->known->id);
  CHECK_THAT(standing->behind, Catch::Contains("in a scope this node may not hold"));
  CHECK_FALSE(author(*a, county.head, kVillage, NotePayload{"一村 again"}, clock_a).is_ok());
}

TEST_CASE("a node of the previous release (wire version 2) and this one still sync, either way round", "[clock][sync]") {
  County county;
  TempDir a_dir, b_dir;
  ManualClock clock(kNowMs);
  auto a = open_with_clock(a_dir.path(), clock);
  auto b = open_with_clock(b_dir.path(), clock);
  county.give_to(*a);
  county.give_to(*b);
  REQUIRE(author(*b, county.head, kVillage, NotePayload{"从旧版本来"}, clock).is_ok());
  node::SyncOptions newer, older;
  newer.clock = older.clock = &clock;
  older.wire_version = 2;  // plays a node of the previous release: it closes on a version-3 hello
  int attempts = 0;
  std::vector<std::uint8_t> hellos;
  auto dial = [&](const node::SyncOptions& options) {
    ++attempts;
    hellos.push_back(options.wire_version);
    return session(*a, county.node_a, options, *b, county.node_county, older).first;
  };
  auto report = node::sync_dialled(dial, newer);
  INFO(report.status().message());
  REQUIRE(report.is_ok());
  CHECK(attempts == 3);
  CHECK(hellos == std::vector<std::uint8_t>{4, 3, 2});
  CHECK(report->wire_version == 2);
  CHECK(report->ops_received == 1);
  CHECK_FALSE(report->peer_clock_offset_ms);
  // The other way round: a version-2 initiator, a version-3 responder that answers in 2.
  REQUIRE(author(*a, county.head, kVillage, NotePayload{"到旧版本去"}, clock).is_ok());
  auto [rb, ra] = session(*b, county.node_county, older, *a, county.node_a, newer);
  REQUIRE(rb.is_ok());
  REQUIRE(ra.is_ok());
  CHECK(ra->wire_version == 2);
  CHECK(rb->ops_received == 1);
  // Two nodes of this release: one attempt, version 3.
  attempts = 0;
  hellos.clear();
  auto both_new = [&](const node::SyncOptions& options) {
    ++attempts;
    hellos.push_back(options.wire_version);
    return session(*a, county.node_a, options, *b, county.node_county, newer).first;
  };
  auto again = node::sync_dialled(both_new, newer);
  REQUIRE(again.is_ok());
  CHECK(attempts == 1);
  CHECK(again->wire_version == 4);
}

TEST_CASE("wire version 4 and a node of the release before (wire version 3) sync, either way round", "[clock][sync][v4]") {
  County county;
  TempDir a_dir, b_dir;
  ManualClock clock(kNowMs);
  auto a = open_with_clock(a_dir.path(), clock);
  auto b = open_with_clock(b_dir.path(), clock);
  county.give_to(*a);
  county.give_to(*b);
  REQUIRE(author(*b, county.head, kVillage, NotePayload{"从三版来"}, clock).is_ok());
  node::SyncOptions newer, older;
  newer.clock = older.clock = &clock;
  older.wire_version = 3;  // plays a node of the release before: it closes on a version-4 hello
  std::vector<std::uint8_t> hellos;
  auto dial = [&](const node::SyncOptions& options) {
    hellos.push_back(options.wire_version);
    return session(*a, county.node_a, options, *b, county.node_county, older).first;
  };
  auto report = node::sync_dialled(dial, newer);
  INFO(report.status().message());
  REQUIRE(report.is_ok());
  CHECK(hellos == std::vector<std::uint8_t>{4, 3});
  CHECK(report->wire_version == 3);
  CHECK(report->ops_received == 1);
  CHECK(report->peer_clock_offset_ms);  // a version-3 session: clocks are exchanged
  // The other way round: a version-3 initiator, a version-4 responder that answers in 3.
  REQUIRE(author(*a, county.head, kVillage, NotePayload{"到三版去"}, clock).is_ok());
  auto [rb, ra] = session(*b, county.node_county, older, *a, county.node_a, newer);
  REQUIRE(rb.is_ok());
  REQUIRE(ra.is_ok());
  CHECK(ra->wire_version == 3);
  CHECK(rb->ops_received == 1);
  // Two nodes of this release: version 4, one attempt, the same session after the handshake.
  REQUIRE(author(*b, county.head, kVillage, NotePayload{"四版"}, clock).is_ok());
  hellos.clear();
  auto both_new = [&](const node::SyncOptions& options) {
    hellos.push_back(options.wire_version);
    return session(*a, county.node_a, options, *b, county.node_county, newer).first;
  };
  auto again = node::sync_dialled(both_new, newer);
  REQUIRE(again.is_ok());
  CHECK(hellos == std::vector<std::uint8_t>{4});
  CHECK(again->wire_version == 4);
  CHECK(again->ops_received == 1);
  CHECK(again->peer_clock_offset_ms);
}

TEST_CASE("an attacker who cuts the version-4 hello cannot make two nodes that met in version 4 settle on version 3",
          "[clock][sync][v4]") {
  County county;
  TempDir a_dir, b_dir;
  ManualClock clock(kNowMs);
  auto a = open_with_clock(a_dir.path(), clock);
  auto b = open_with_clock(b_dir.path(), clock);
  county.give_to(*a);
  county.give_to(*b);
  node::SyncOptions newer;
  newer.clock = &clock;
  // An honest version-4 session: each side remembers it.
  auto [first_a, first_b] = session(*a, county.node_a, newer, *b, county.node_county, newer);
  REQUIRE(first_a.is_ok());
  REQUIRE(first_b.is_ok());
  CHECK(first_a->wire_version == 4);
  std::string a_counter = "peer/" + county.node_county.public_key().hex() + "/wire_version_max";
  std::string b_counter = "peer/" + county.node_a.public_key().hex() + "/wire_version_max";
  CHECK(*a->local_counter(a_counter) == 4);
  CHECK(*b->local_counter(b_counter) == 4);
  REQUIRE(author(*b, county.head, kVillage, NotePayload{"中间人"}, clock).is_ok());
  // Someone between them closes every connection that carries a version-4 hello, so A dials
  // again in version 3, which B (of this release) still answers.
  std::vector<std::uint8_t> hellos;
  Result<node::SyncReport> b_side = Status::error(Status::Code::kUnavailable, "not run");
  auto cut = [&](const node::SyncOptions& options) -> Result<node::SyncReport> {
    hellos.push_back(options.wire_version);
    if (options.wire_version == 4) {
      options.attempt->hello_sent = true;
      return Status::error(Status::Code::kUnavailable, "the peer closed the connection");
    }
    auto [ra, rb] = session(*a, county.node_a, options, *b, county.node_county, newer);
    b_side = rb;
    return ra;
  };
  auto cut_short = node::sync_dialled(cut, newer);
  REQUIRE_FALSE(cut_short.is_ok());  // not a silent version-3 session
  CHECK(hellos == std::vector<std::uint8_t>{4, 3});  // B answered the version-3 hello: with why
  CHECK_THAT(cut_short.status().message(),
             Catch::Contains("refused by the peer: node " + county.node_a.public_key().short_hex() +
                             " has synced with this node in wire protocol version 4 before and now uses version 3"));
  CHECK_THAT(cut_short.status().message(), !Catch::Contains(county.node_county.public_key().short_hex()));
  REQUIRE_FALSE(b_side.is_ok());
  // A checks too, before it signs: with B's memory gone (say B's store was restored from a copy),
  // A still refuses once message 2 names B.
  REQUIRE(b->set_local_counter(b_counter, 0).is_ok());
  hellos.clear();
  auto from_a = node::sync_dialled(cut, newer);
  REQUIRE_FALSE(from_a.is_ok());
  CHECK(hellos == std::vector<std::uint8_t>{4, 3});
  CHECK_THAT(from_a.status().message(),
             Catch::Contains("node " + county.node_county.public_key().short_hex() +
                             " has synced with this node in wire protocol version 4 before and now uses version 3") &&
                 Catch::Contains("upgrade it again"));
  REQUIRE_FALSE(b_side.is_ok());
  CHECK(*a->local_counter(a_counter) == 4);
  // Once the connection is left alone, version 4 goes through, and the note arrives.
  auto honest = [&](const node::SyncOptions& options) {
    return session(*a, county.node_a, options, *b, county.node_county, newer).first;
  };
  auto again = node::sync_dialled(honest, newer);
  INFO(again.status().message());
  REQUIRE(again.is_ok());
  CHECK(again->wire_version == 4);
  CHECK(again->ops_received == 1);
}

TEST_CASE("the fallback to version 2 happens only for a hello sent and never answered", "[clock][sync]") {
  node::SyncAttempt unanswered{true, false}, answered{true, true}, never_sent{false, false};
  Status failed = Status::error(Status::Code::kUnavailable, "the peer closed the connection");
  CHECK(node::retry_in_version_2(3, unanswered, failed));
  CHECK_FALSE(node::retry_in_version_2(3, answered, failed));     // a version-3 peer that refused, or a broken link later
  CHECK_FALSE(node::retry_in_version_2(3, never_sent, failed));   // could not connect: the same again would not help
  CHECK_FALSE(node::retry_in_version_2(2, unanswered, failed));   // already version 2
  CHECK_FALSE(node::retry_in_version_2(3, unanswered, Status::ok()));
}

TEST_CASE("a refused session tells a version-3 peer why, and a version-2 peer only closes", "[clock][sync]") {
  County county;
  TempDir a_dir, b_dir;
  ManualClock clock(kNowMs);
  auto a = open_with_clock(a_dir.path(), clock);
  auto b = open_with_clock(b_dir.path(), clock);
  county.give_to(*a);
  county.give_to(*b);
  node::SyncOptions initiator, busy;
  initiator.clock = busy.clock = &clock;
  busy.on_authenticated = [](const PublicKey& peer) {
    return Status::error(Status::Code::kRefused, "node B is already in a session with node " + peer.short_hex() +
                                                     "; try again when it ends");
  };
  auto [ra, rb] = session(*a, county.node_a, initiator, *b, county.node_b, busy);
  REQUIRE_FALSE(ra.is_ok());
  CHECK_THAT(ra.status().message(), Catch::Contains("refused by the peer: node B is already in a session with node " +
                                                    county.node_a.public_key().short_hex()));
  initiator.wire_version = 2;
  auto [old_a, old_b] = session(*a, county.node_a, initiator, *b, county.node_b, busy);
  REQUIRE_FALSE(old_a.is_ok());
  CHECK_THAT(old_a.status().message(), !Catch::Contains("already in a session"));
  // A node a version-3 responder does not know is told so in a plain frame, at the hello.
  TempDir c_dir;
  auto c = open_with_clock(c_dir.path(), clock);
  county.give_to(*c);
  KeyPair stranger = test_key(555);
  std::vector<Bytes> enrol_stranger{county.factory
                                        .make(county.root, kOtherVillage, node_object_id(stranger.public_key()),
                                              EnrolmentPayload{stranger.public_key()}, {county.ops.back().id})
                                        .bytes};
  test::ingest_all(*c, enrol_stranger);  // c thinks the stranger is enrolled; b does not hold that enrolment
  node::SyncOptions plain;
  plain.clock = &clock;
  auto [rc, rb2] = session(*c, stranger, plain, *b, county.node_b, plain);
  REQUIRE_FALSE(rc.is_ok());
  CHECK_THAT(rc.status().message(), Catch::Contains("refused by the peer") &&
                                        Catch::Contains("node " + stranger.public_key().hex() + " is not enrolled"));
}
