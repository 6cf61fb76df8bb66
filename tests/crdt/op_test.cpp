// Op format: every payload round-trips; tampering, foreign formats and bad fields are refused.
#include <catch2/catch.hpp>

#include <cstring>
#include <random>
#include <set>

#include "crdt/authority.h"
#include "crdt/hash.h"
#include "crdt/hlc.h"
#include "crdt/limits.h"
#include "crdt/op.h"
#include "node/constitution.h"
#include "support/fixtures.h"

using namespace anwang;
using anwang::test::OpFactory;
using anwang::test::test_key;

namespace {

Refusal refusal_of(ByteView bytes) {
  auto decoded = decode_op(bytes);
  REQUIRE(std::holds_alternative<RefusedOp>(decoded));
  return std::get<RefusedOp>(decoded).reason;
}

const Op& decoded_ok(const std::variant<Op, RefusedOp>& decoded) {
  if (auto* refused = std::get_if<RefusedOp>(&decoded)) FAIL(refusal_name(refused->reason) << ": " << refused->detail);
  return std::get<Op>(decoded);
}

std::vector<Op> one_of_each_payload(OpFactory& factory) {
  KeyPair author = test_key(1);
  std::vector<Op> ops{factory.genesis()};
  ops.push_back(factory.region(author, "150430100", "新惠镇 Xinhui", {factory.genesis().id}));
  RegionPayload with_boundary{"150430100201-03", "三组 group 3",
                              R"({"type":"Polygon","coordinates":[[[119.9,42.2],[120.0,42.2],[120.0,42.3],[119.9,42.2]]]})"};
  ops.push_back(factory.make(author, with_boundary.code, named_object_id("region", with_boundary.code), with_boundary,
                             {ops[1].id}));
  ops.push_back(factory.note(author, "150430100201", "仓库消防通道堵塞 fire lane blocked", {ops[1].id, ops[2].id}));
  KeyPair other = test_key(2);
  ops.push_back(factory.make(author, "150430", named_object_id("grant", "fire"),
                             DelegationPayload{other.public_key(), "department", {"fire", "traffic"}}, {ops[0].id}));
  ops.push_back(factory.make(author, "150430", key_object_id(other.public_key()),
                             RevocationPayload{other.public_key(), "compromised", ops[3].fields.author_seq, ops[3].id},
                             {ops[3].id}));
  ops.push_back(factory.make(author, "150430", key_object_id(other.public_key()),
                             ReaffirmationPayload{other.public_key(), 7}, {}));
  ops.push_back(factory.make(author, "150430100", node_object_id(other.public_key()),
                             EnrolmentPayload{other.public_key()}, {}));
  Constitution amended = node::default_constitution();
  amended.settings.push_back(Setting{"zz", -3});
  Cosignature cosignature{other.public_key(), other.sign(amendment_message(factory.network(), 1, amended))};
  ops.push_back(factory.make(author, "150430", constitution_object_id("150430"),
                             AmendmentPayload{1, amended, {cosignature}}, {}));
  HazardPayload report;
  report.action = "report";
  report.text = "加油站消防器材缺失";
  report.category = "fire";
  report.severity = "major";
  report.unit = named_object_id("unit", "加油站");
  report.photos = {Attachment{blake2b_256(as_bytes("jpeg")), 4, "image/jpeg"}};
  report.major_form = "重大隐患报告表";
  std::uint64_t seq = ops.back().fields.author_seq + 1;
  ops.push_back(factory.make(author, "150430100201-03", authored_object_id(author.public_key(), seq), report, {}));
  HazardPayload notice;
  notice.action = "notice";
  notice.deadline_ms = 1'790'000'000'000;
  notice.responsible = "张三";
  notice.acceptor = other.public_key();
  notice.measures = "补齐灭火器";
  notice.assignee = other.public_key();
  notice.to_level = "township";
  notice.department = "fire";
  notice.pass = true;
  ops.push_back(factory.make(author, "150430100201-03", ops.back().fields.object, notice, {ops.back().id}));
  RecordPayload unit{"unit", "add", {{"address", "新惠镇一村"}, {"key_supervision", "true"}, {"name", "红星加油站"}},
                     {Attachment{blake2b_256(as_bytes("licence")), 7, "application/pdf"}},
                     {named_object_id("x", "y")}};
  std::uint64_t unit_seq = ops.back().fields.author_seq + 1;
  ops.push_back(factory.make(author, "150430100201-03", authored_object_id(author.public_key(), unit_seq), unit, {}));
  return ops;
}

}  // namespace

TEST_CASE("every payload round-trips through sign, encode, decode and verify", "[op]") {
  OpFactory factory;
  std::set<std::string> kinds;
  for (const Op& op : one_of_each_payload(factory)) {
    kinds.insert(payload_kind(op.fields.payload));
    CAPTURE(payload_kind(op.fields.payload));
    auto decoded = decode_op(op.bytes);
    const Op& back = decoded_ok(decoded);
    CHECK(back.id == op.id);
    CHECK(back.id == blake2b_256(op.bytes));
    CHECK(back.fields == op.fields);
    CHECK(back.signature == op.signature);
    CHECK(back.bytes == op.bytes);
  }
  // Every payload this release signs: all but DeferredPayload, which it only reads (tested below).
  CHECK(kinds.size() == std::variant_size_v<Payload> - 1);
  CHECK(kinds.count("deferred") == 0);
}

TEST_CASE("a genesis names no network and its id is the network id", "[op]") {
  OpFactory factory;
  const Op& genesis = factory.genesis();
  CHECK_FALSE(genesis.fields.network.has_value());
  CHECK(network_id_of_genesis(genesis) == genesis.id);
  Op note = factory.note(test_key(1), "150430", "x");
  CHECK(note.fields.network == genesis.id);
}

TEST_CASE("a flipped bit anywhere in a signed op is refused", "[op]") {
  OpFactory factory;
  Op op = factory.note(test_key(1), "150430100", "整改通知书 rectification notice", {factory.genesis().id});
  // Where the signature sits in the encoding: flips there must read as a bad signature.
  auto at = std::search(op.bytes.begin(), op.bytes.end(), op.signature.begin(), op.signature.end());
  REQUIRE(at != op.bytes.end());
  std::size_t signature_begin = static_cast<std::size_t>(at - op.bytes.begin());
  std::size_t refused = 0;
  for (std::size_t i = 0; i < op.bytes.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      Bytes tampered = op.bytes;
      tampered[i] ^= static_cast<std::uint8_t>(1u << bit);
      CAPTURE(i, bit);
      Refusal reason = refusal_of(tampered);
      ++refused;
      if (i >= signature_begin && i < signature_begin + op.signature.size()) CHECK(reason == Refusal::kBadSignature);
    }
  }
  CHECK(refused == op.bytes.size() * 8);
}

TEST_CASE("a body change with a valid-looking encoding is a bad signature", "[op]") {
  OpFactory factory;
  Op op = factory.note(test_key(1), "150430100", "abcdefgh");
  auto at = std::search(op.bytes.begin(), op.bytes.end(), std::begin("abcdefgh"), std::end("abcdefgh") - 1);
  REQUIRE(at != op.bytes.end());
  Bytes tampered = op.bytes;
  tampered[static_cast<std::size_t>(at - op.bytes.begin())] = 'X';
  CHECK(refusal_of(tampered) == Refusal::kBadSignature);
}

TEST_CASE("non-canonical, truncated, empty and oversized bytes are refused with their reason", "[op]") {
  OpFactory factory;
  Op op = factory.note(test_key(1), "150430100", "text");
  Bytes padded = op.bytes;
  padded.resize(padded.size() + 8, 0);
  CHECK(refusal_of(padded) == Refusal::kNotCanonical);
  Bytes truncated(op.bytes.begin(), op.bytes.end() - 8);
  Refusal truncated_reason = refusal_of(truncated);
  CHECK((truncated_reason == Refusal::kMalformed || truncated_reason == Refusal::kNotCanonical));
  CHECK(refusal_of(Bytes{}) == Refusal::kMalformed);
  CHECK(refusal_of(Bytes(7, 1)) == Refusal::kMalformed);
  CHECK(refusal_of(Bytes(limits::op_bytes_max + 8, 0)) == Refusal::kTooLarge);
}

// Issue 23: a node of an earlier release keeps an op of a kind added later (crdt/OP_FORMAT.md,
// "Compatibility"); the signature and the header are checked as for any op.
TEST_CASE("an unknown payload or record step is read as deferred, an unknown format version refused, none misread",
          "[op][upgrade]") {
  OpFactory factory;
  KeyPair author = test_key(1);
  // Control: the hand-built encoder makes ops this node accepts.
  auto control = decode_op(test::future_payload_op(author, factory.network(), kOpFormatVersion, false));
  CHECK(std::holds_alternative<NotePayload>(decoded_ok(control).fields.payload));
  Bytes future = test::future_payload_op(author, factory.network(), kOpFormatVersion, true);
  auto deferred = decode_op(future);
  const Op& kept = decoded_ok(deferred);
  REQUIRE(std::holds_alternative<DeferredPayload>(kept.fields.payload));
  CHECK(std::get<DeferredPayload>(kept.fields.payload).what == "payload variant 10");
  CHECK(kept.fields.scope == "150430");
  CHECK(kept.bytes == future);
  CHECK_FALSE(is_authority_payload(kept.fields.payload));
  CHECK(std::string(payload_kind(kept.fields.payload)) == "deferred");
  // Not a way around the signature or the header's rules.
  CHECK(refusal_of(test::with_signature_bit_flipped(kept, 3)) == Refusal::kBadSignature);
  OpFields late = kept.fields;
  late.hlc = hlc_from_ms(limits::hlc_ms_ceiling);
  CHECK(refusal_of(test::future_payload_op(author, late)) == Refusal::kInvalidField);
  // A record step this release does not know, its fields unread.
  OpFields step = kept.fields;
  step.payload = RecordPayload{"report", "monthly", {{"digest", "not read"}}, {}, {}};
  auto monthly = decode_op(test::unchecked_record_op(author, step));
  REQUIRE(std::holds_alternative<DeferredPayload>(decoded_ok(monthly).fields.payload));
  CHECK(std::get<DeferredPayload>(decoded_ok(monthly).fields.payload).what == "record step 'report monthly'");
  // This release never signs one.
  OpFields signing = kept.fields;
  auto signed_op = sign_op(signing, author);
  REQUIRE_FALSE(signed_op.is_ok());
  CHECK_THAT(signed_op.status().message(), Catch::Contains("does not know"));
  CHECK(refusal_of(test::future_payload_op(author, factory.network(), kOpFormatVersion + 1, false)) ==
        Refusal::kUnsupportedVersion);
}

TEST_CASE("sign_op refuses fields that break a rule, with a sentence naming the field", "[op]") {
  OpFactory factory;
  KeyPair author = test_key(1);
  OpFields base;
  base.network = factory.network();
  base.author = author.public_key();
  base.hlc = 1;
  base.scope = "150430100";
  base.object = named_object_id("note", "x");
  base.payload = NotePayload{"ok"};
  REQUIRE(sign_op(base, author).is_ok());

  auto refused_with = [&](OpFields fields, const std::string& words) {
    auto op = sign_op(std::move(fields), author);
    REQUIRE_FALSE(op.is_ok());
    CHECK_THAT(op.status().message(), Catch::Contains(words));
  };
  OpFields bad_scope = base;
  bad_scope.scope = "15043";
  refused_with(bad_scope, "scope code");
  OpFields empty_note = base;
  empty_note.payload = NotePayload{""};
  refused_with(empty_note, "note text");
  OpFields bad_utf8 = base;
  bad_utf8.payload = NotePayload{"\xff\xfe"};
  refused_with(bad_utf8, "UTF-8");
  OpFields prev_without_seq = base;
  prev_without_seq.author_prev = factory.network();
  refused_with(prev_without_seq, "previous-op");
  OpFields no_network = base;
  no_network.network.reset();
  refused_with(no_network, "network");
  OpFields county_region = base;
  county_region.scope = "150430";
  county_region.object = named_object_id("region", "150430");
  county_region.payload = RegionPayload{"150430", "x", ""};
  refused_with(county_region, "genesis defines the county");
  OpFields wrong_region_object = base;
  wrong_region_object.payload = RegionPayload{"150430100", "x", ""};
  refused_with(wrong_region_object, "object id");

  OpFields genesis;
  genesis.author = author.public_key();
  genesis.hlc = 1;
  genesis.scope = "150430";
  genesis.object = named_object_id("network", "150430");
  genesis.payload = GenesisPayload{"150430", "敖汉旗", {author.public_key()}, 2, node::default_constitution()};
  refused_with(genesis, "threshold");
  std::get<GenesisPayload>(genesis.payload).threshold = 1;
  std::get<GenesisPayload>(genesis.payload).root_keys = {test_key(2).public_key()};
  refused_with(genesis, "signed by one of its root keys");
}

TEST_CASE("sign_op sorts and deduplicates parents so equal inputs give one id", "[op]") {
  OpFactory factory;
  Op a = factory.region(test_key(1), "150430100", "a");
  Op b = factory.region(test_key(2), "150430200", "b");
  OpFields fields;
  fields.network = factory.network();
  fields.author = test_key(3).public_key();
  fields.hlc = 99;
  fields.scope = "150430";
  fields.object = named_object_id("note", "n");
  fields.payload = NotePayload{"n"};
  OpFields shuffled = fields;
  fields.parents = {a.id, b.id};
  shuffled.parents = {b.id, a.id, b.id};
  auto one = sign_op(fields, test_key(3));
  auto two = sign_op(shuffled, test_key(3));
  REQUIRE(one.is_ok());
  REQUIRE(two.is_ok());
  CHECK(one->id == two->id);
}

// A session checks where a received op may go before ingest decodes it: decode_op_scope reads
// only the scope and the payload kind, and gives every node the visibility the full op gives.
TEST_CASE("an op's scope and kind read alone give the visibility of the whole op", "[op]") {
  OpFactory factory;
  std::vector<Op> ops = one_of_each_payload(factory);
  KeyPair author = test_key(1);
  std::vector<std::string> nodes{"150430", "150430100", "150430100201", "150430100202", "150430100201-03", "150430200"};
  for (const Op& op : ops) {
    CAPTURE(payload_kind(op.fields.payload), op.fields.scope);
    auto scoped = decode_op_scope(op.bytes);
    REQUIRE(scoped.has_value());
    CHECK(scoped->fields.scope == op.fields.scope);
    CHECK(scoped->fields.payload.index() == op.fields.payload.index());
    for (const std::string& node : nodes) CHECK(visible_to(*scoped, node) == visible_to(op, node));
  }
  // A notice's reach names its recipients: it is left to the full decoding.
  Op notice = factory.make(author, "150430100", authored_object_id(author.public_key(), factory.next_seq(author)),
                           RecordPayload{"notice", "send", {{"recipients", "150430100201"}, {"title", "防火"}}, {}, {}}, {});
  CHECK_FALSE(decode_op_scope(notice.bytes).has_value());
  // Bytes that are no op read as nothing, without throwing.
  CHECK_FALSE(decode_op_scope({}).has_value());
  Bytes cut(ops[3].bytes.begin(), ops[3].bytes.begin() + 16);
  CHECK_FALSE(decode_op_scope(cut).has_value());
  std::mt19937_64 rng(5);
  for (int i = 0; i < 200; ++i) {
    Bytes noise(8 * (1 + rng() % 40));
    for (auto& b : noise) b = static_cast<std::uint8_t>(rng());
    (void)decode_op_scope(noise);
  }
}

// Issue 19, class 3: a creating op's object id comes from the op itself, so two different ops
// never create one object, even when one key signs twice with one number (a restored node).
TEST_CASE("a new record's object id is derived from the op that creates it", "[op][class3]") {
  OpFactory factory;
  KeyPair member = test_key(3);
  HazardPayload first;
  first.action = "report";
  first.text = "仓库消防通道堵塞";
  first.category = "fire";
  first.severity = "general";
  HazardPayload second = first;
  second.text = "配电箱裸露";
  second.category = "electrical";
  auto fields_of = [&](const HazardPayload& h) {
    OpFields f;
    f.network = factory.network();
    f.author = member.public_key();
    f.author_seq = 1;  // both numbered 1: one key signing twice
    f.parents = {factory.genesis().id};
    f.hlc = hlc_from_ms(test::kTestTimeMs);
    f.scope = "150430100201-03";
    f.payload = h;
    f.object = created_object_id(f);
    return f;
  };
  OpFields a = fields_of(first), b = fields_of(second);
  CHECK(a.object != b.object);
  // The id does not depend on the object field itself, so it can be checked from the signed op.
  OpFields a_other_object = a;
  a_other_object.object = named_object_id("x", "y");
  CHECK(created_object_id(a_other_object) == a.object);
  auto signed_a = sign_op(a, member);
  REQUIRE(signed_a.is_ok());
  CHECK(decoded_ok(decode_op(signed_a->bytes)).fields.object == a.object);
  // Any other object id on a creating op is refused, naming the rule; the id of earlier releases
  // (author, number) stays valid for ops they wrote.
  OpFields forged = a;
  forged.object = b.object;  // claiming the other report's hazard
  auto refused = sign_op(forged, member);
  REQUIRE_FALSE(refused.is_ok());
  CHECK_THAT(refused.status().message(), Catch::Contains("derived from the op itself"));
  OpFields legacy = a;
  legacy.object = authored_object_id(member.public_key(), 1);
  CHECK(sign_op(legacy, member).is_ok());
  // Every field the id covers changes it.
  OpFields later = a;
  later.hlc += 1;
  CHECK(created_object_id(later) != a.object);
  OpFields elsewhere = a;
  elsewhere.scope = "150430100201-04";
  CHECK(created_object_id(elsewhere) != a.object);
}
