// Locations (crdt/location.h) and the hazard's location field (issue 22): one spelling, in range,
// refused otherwise; and a step without a location keeps the bytes of the release before.
#include <capnp/message.h>
#include <capnp/serialize.h>
#include <catch2/catch.hpp>
#include <cstring>

#include "crdt/hash.h"
#include "crdt/location.h"
#include "crdt/op.capnp.h"
#include "crdt/op.h"
#include "support/fixtures.h"
#include "support/future_op.capnp.h"
#include "support/hazard_before_location.capnp.h"

using namespace anwang;
using anwang::test::OpFactory;
using anwang::test::test_key;

TEST_CASE("a location is LNG,LAT in decimal degrees, in range, in one spelling", "[op][location]") {
  for (const char* good : {"119.9236,42.2779", "0,0", "-180,-90", "180,90", "119.1234567,42.1", "-0.5,12"}) {
    CAPTURE(good);
    CHECK(check_location(good).is_ok());
  }
  auto point = parse_location("119.9236,42.2779");
  REQUIRE(point);
  CHECK(point->lng == Approx(119.9236));
  CHECK(point->lat == Approx(42.2779));
  CHECK(parse_location("-73.5,-0.25")->lat == Approx(-0.25));
  for (const char* bad : {"", "119.9", "42.2,119.9,1", "180.0000001,0", "0,90.5", "1000,1", "119.12345678,42",
                          " 119.9,42.2", "119.9, 42.2", "+119.9,42.2", "1e2,3", "119.,42", ".5,42", "119.9,42.2x",
                          "NaN,1", "0x10,1", "119,9,42", "١١٩,٤٢", "119.9;42.2"}) {
    CAPTURE(bad);
    CHECK_FALSE(check_location(bad).is_ok());
    CHECK_FALSE(parse_location(bad));
  }
  CHECK_THAT(check_location("1000,1", "--location").message(), Catch::Contains("--location"));
  CHECK_FALSE(check_location(std::string(200, '1')).is_ok());
}

namespace {

HazardPayload report_payload() {
  HazardPayload h;
  h.action = "report";
  h.text = "加油站消防通道堵塞";
  h.category = "fire";
  h.severity = "general";
  h.unit = named_object_id("unit", "加油站");
  h.photos = {Attachment{blake2b_256(as_bytes("jpeg")), 4, "image/jpeg"}};
  return h;
}

// An op's bytes are one canonical segment, without a segment table.
struct OpReader {
  explicit OpReader(const Op& op)
      : words(op.bytes.size() / 8), segments{kj::ArrayPtr<const capnp::word>(copy(words, op), words.size())},
        reader(kj::arrayPtr(segments, 1)) {}
  static const capnp::word* copy(std::vector<capnp::word>& words, const Op& op) {
    std::memcpy(words.data(), op.bytes.data(), op.bytes.size());
    return words.data();
  }
  std::vector<capnp::word> words;
  kj::ArrayPtr<const capnp::word> segments[1];
  capnp::SegmentArrayMessageReader reader;
};

// The hazard struct of op bytes, read with today's schema.
Bytes canonical_hazard(const Op& op) {
  OpReader read(op);
  auto& reader = read.reader;
  auto hazard = reader.getRoot<schema::SignedOp>().getBody().getPayload().getHazard();
  auto canonical = capnp::canonicalize(hazard);
  auto bytes = canonical.asBytes();
  return Bytes(bytes.begin(), bytes.end());
}

}  // namespace

TEST_CASE("a hazard step without a location has the bytes the release before locations gave it", "[op][location]") {
  OpFactory factory;
  KeyPair author = test_key(1);
  HazardPayload h = report_payload();
  Op op = factory.make(author, "150430100201-03", authored_object_id(author.public_key(), factory.next_seq(author)), h);
  // The same step through the schema before `location @16` was appended, filled as that release's
  // encoder filled it (every text set, empty or not).
  capnp::MallocMessageBuilder builder;
  auto old = builder.initRoot<before_location::HazardAction>();
  old.setAction(h.action);
  old.setText(h.text);
  auto photos = old.initPhotos(1);
  photos[0].setHash(capnp::Data::Reader(h.photos[0].hash.bytes.data(), 32));
  photos[0].setSize(h.photos[0].size);
  photos[0].setMediaType(h.photos[0].media_type);
  old.setCategory(h.category);
  old.setSeverity(h.severity);
  old.setUnit(capnp::Data::Reader(h.unit->bytes.data(), 32));
  old.setDeadlineMs(0);
  for (auto set : {&before_location::HazardAction::Builder::setResponsible, &before_location::HazardAction::Builder::setMeasures,
                   &before_location::HazardAction::Builder::setToLevel, &before_location::HazardAction::Builder::setDepartment,
                   &before_location::HazardAction::Builder::setMajorForm})
    (old.*set)("");
  old.setPass(false);
  old.setDeadlineDays(0);
  auto before = capnp::canonicalize(old.asReader());
  Bytes then(before.asBytes().begin(), before.asBytes().end());
  Bytes now = canonical_hazard(op);
  CAPTURE(to_hex(now), to_hex(then));
  CHECK(now == then);

  // With a location the step reads back with it, and the earlier schema reads every other field.
  h.location = "119.9355,42.2430";
  Op located = factory.make(author, "150430100201-03", authored_object_id(author.public_key(), factory.next_seq(author)), h);
  auto decoded = decode_op(located.bytes);
  REQUIRE(std::holds_alternative<Op>(decoded));
  CHECK(std::get<HazardPayload>(std::get<Op>(decoded).fields.payload).location == "119.9355,42.2430");
  OpReader read(located);
  auto earlier = read.reader.getRoot<future::SignedOp>().getBody().getPayload().getHazard().getAs<before_location::HazardAction>();
  CHECK(std::string(earlier.getText().cStr()) == h.text);
  CHECK(std::string(earlier.getCategory().cStr()) == "fire");
  CHECK(earlier.getPhotos().size() == 1);
}

TEST_CASE("a malformed location, or one on a step other than a report or a comment, is an invalid op", "[op][location]") {
  OpFactory factory;
  KeyPair author = test_key(1);
  OpFields fields;
  fields.network = factory.network();
  fields.author = author.public_key();
  fields.hlc = 1;
  fields.scope = "150430100201-03";
  HazardPayload h = report_payload();
  fields.payload = h;
  fields.object = created_object_id(fields);
  REQUIRE(check_op_fields(fields).is_ok());
  for (const char* bad : {"119.9", "200,42", "119.9,42.2 ", "119.99999999,42"}) {
    CAPTURE(bad);
    h.location = bad;
    fields.payload = h;
    fields.object = created_object_id(fields);
    CHECK_THAT(check_op_fields(fields).message(), Catch::Contains("hazard location"));
  }
  HazardPayload escalate;
  escalate.action = "escalate";
  escalate.to_level = "township";
  escalate.location = "119.9,42.2";
  fields.payload = escalate;
  CHECK_THAT(check_op_fields(fields).message(), Catch::Contains("carries a location"));
  HazardPayload comment;
  comment.action = "comment";
  comment.location = "119.9,42.2";
  fields.payload = comment;
  CHECK(check_op_fields(fields).is_ok());

  RecordPayload unit{"unit", "edit", {{"location", "119.9,420"}}, {}, {}};
  fields.payload = unit;
  CHECK_THAT(check_op_fields(fields).message(), Catch::Contains("unit location"));
  std::get<RecordPayload>(fields.payload).fields[0].second = "119.9,42.0";
  CHECK(check_op_fields(fields).is_ok());
}
