// The largest op of every payload kind, authored as the CLI authors it (Store::author) and synced
// to a second node, which stores it (issue 20, item 9: an author stored ops its peers refused).
#include <catch2/catch.hpp>

#include <algorithm>
#include <functional>
#include <set>

#include "crdt/hash.h"
#include "crdt/limits.h"
#include "node/constitution.h"
#include "support/fixtures.h"
#include "support/pipes.h"

using namespace anwang;
using anwang::test::Node;
using anwang::test::test_key;

namespace {

constexpr const char* kVillage = "150430100201";
constexpr const char* kGrid = "150430100201-01";

// `bytes` bytes of valid UTF-8: Chinese text, padded with ASCII to the exact length.
std::string text_of_bytes(std::size_t bytes) {
  std::string text;
  while (text.size() + 3 <= bytes) text += "隐";
  text.append(bytes - text.size(), 'x');
  return text;
}

// A lower-case identifier of exactly `bytes` bytes (at most 64), distinct for each `n`.
std::string identifier(const std::string& prefix, std::size_t n, std::size_t bytes) {
  std::string id = prefix + std::to_string(n) + "_";
  id.append(bytes - id.size(), 'a');
  return id;
}

// The bytes `payload` signs to in an op on `object` with an envelope at least as large as the one
// Store::author gives it here (network, previous op, eight parents). A creating op's object is
// the one its author and number give (check_created_object accepts it).
std::size_t signed_size(const std::string& scope, const std::optional<Hash32>& object, const Payload& payload) {
  KeyPair key = test_key(0);
  OpFields fields;
  fields.author = key.public_key();
  fields.scope = scope;
  fields.payload = payload;
  fields.hlc = hlc_from_ms(test::kTestTimeMs);
  if (!std::holds_alternative<GenesisPayload>(payload)) {
    fields.network = blake2b_256(as_bytes("network"));
    fields.author_seq = 9;
    fields.author_prev = blake2b_256(as_bytes("previous"));
    for (int i = 0; i < 8; ++i) fields.parents.push_back(blake2b_256(as_bytes("parent " + std::to_string(i))));
  }
  fields.object = object ? *object : authored_object_id(fields.author, fields.author_seq);
  auto op = sign_op(fields, key);
  if (op) return op->bytes.size();
  INFO(op.status().message());
  REQUIRE(op.status().message().find("the op would be") != std::string::npos);
  return limits::op_bytes_max + 1;
}

// The largest n in [0, n_max] whose payload signs to at most limits::op_bytes_max bytes.
std::size_t largest_fitting(std::size_t n_max, const std::function<std::size_t(std::size_t)>& size_of) {
  std::size_t low = 0, high = n_max;
  while (low < high) {
    std::size_t mid = (low + high + 1) / 2;
    if (size_of(mid) <= limits::op_bytes_max) low = mid; else high = mid - 1;
  }
  return low;
}

// The default constitution with every list at its bound and, added, as many roles with the
// longest capability lists as fit in an op of `envelope` besides.
Constitution largest_constitution(const std::function<std::size_t(const Constitution&)>& size_of) {
  Constitution base = node::default_constitution();
  for (std::size_t i = base.categories.size(); i < limits::constitution_list_max; ++i)
    base.categories.push_back(CategoryDef{identifier("c", i, limits::identifier_bytes_max), text_of_bytes(limits::name_bytes_max),
                                          text_of_bytes(limits::name_bytes_max), "department"});
  for (std::size_t i = base.settings.size(); i < limits::constitution_list_max; ++i)
    base.settings.push_back(Setting{identifier("s", i, limits::identifier_bytes_max), -1});
  auto with_roles = [&base](std::size_t extra) {
    Constitution c = base;
    for (std::size_t r = 0; r < extra && c.roles.size() < limits::constitution_list_max; ++r) {
      RoleDef role{identifier("r", r, 32), "角色", "role", {"county", "township", "village", "grid"}, 1, {}, {}, false};
      for (std::size_t k = 0; k < limits::constitution_list_max; ++k)
        role.capabilities.push_back(identifier("p", k, limits::identifier_bytes_max));
      c.roles.push_back(std::move(role));
    }
    return c;
  };
  std::size_t extra = largest_fitting(limits::constitution_list_max - base.roles.size(),
                                      [&](std::size_t n) { return size_of(with_roles(n)); });
  return with_roles(extra);
}

// A county node that authors, and a village node enrolled at kVillage that syncs with it.
struct County {
  std::vector<KeyPair> roots;
  Node county{100}, village{102};
  ManualClock wall{test::kTestTimeMs};
  std::vector<Op> authored;

  County() {
    for (int i = 0; i < static_cast<int>(limits::root_keys_max); ++i) roots.push_back(test_key(i));
    std::sort(roots.begin(), roots.end(), [](const KeyPair& a, const KeyPair& b) { return a.public_key() < b.public_key(); });
  }
  const KeyPair& root() const { return roots[0]; }

  Op author(const KeyPair& by, const std::string& scope, const Hash32& object, Payload payload,
            node::DraftTarget target = node::DraftTarget::kExisting,
            node::DraftAdmit admit = node::DraftAdmit::kEffectiveOnly) {
    wall.advance_ms(1000);
    auto op = county.store->author(by, node::OpDraft{scope, object, std::move(payload), {}, target, admit}, wall);
    INFO(op.status().message());
    REQUIRE(op.is_ok());
    authored.push_back(*op);
    return *op;
  }
};

}  // namespace

TEST_CASE("the largest op of every payload kind authored on one node is stored by its peer", "[sync][limits]") {
  County c;
  // Genesis: sixteen root keys, the longest county name, every constitution list at its bound.
  GenesisPayload genesis{test::kCounty, text_of_bytes(limits::name_bytes_max), {}, 2, {}};
  for (const KeyPair& root : c.roots) genesis.root_keys.push_back(root.public_key());
  genesis.constitution = largest_constitution([&](const Constitution& constitution) {
    GenesisPayload g = genesis;
    g.constitution = constitution;
    return signed_size(test::kCounty, named_object_id("network", test::kCounty), g);
  });
  Op genesis_op = c.author(c.root(), test::kCounty, named_object_id("network", test::kCounty), genesis);
  Op county_node = c.author(c.root(), test::kCounty, node_object_id(c.county.key.public_key()),
                            EnrolmentPayload{c.county.key.public_key()});
  Op village_node = c.author(c.root(), kVillage, node_object_id(c.village.key.public_key()),
                             EnrolmentPayload{c.village.key.public_key()});
  // The village joins with these three (a joining bundle), decoded and checked as any peer's.
  auto joined = c.village.store->ingest(std::vector<Bytes>{genesis_op.bytes, county_node.bytes, village_node.bytes});
  REQUIRE(joined.is_ok());
  for (const auto& outcome : joined->outcomes) {
    INFO(outcome.detail);
    REQUIRE(outcome.kind == node::IngestOutcome::Kind::kAccepted);
  }

  // Region: the longest name and boundary.
  RegionPayload region{kGrid, text_of_bytes(limits::name_bytes_max), text_of_bytes(limits::boundary_bytes_max)};
  c.author(c.root(), kGrid, named_object_id("region", kGrid), region);
  // Note: the longest text.
  c.author(c.root(), kVillage, blake2b_256(as_bytes("noticeboard")), NotePayload{text_of_bytes(limits::note_bytes_max)});
  // Delegation: a department over every category, with a holder.
  KeyPair department = test_key(50), phone = test_key(51);
  DelegationPayload delegation{phone.public_key(), "department", {}, department.public_key()};
  for (const CategoryDef& category : genesis.constitution.categories) delegation.categories.push_back(category.id);
  std::sort(delegation.categories.begin(), delegation.categories.end());
  c.author(c.root(), test::kCounty, named_object_id("grant", phone.public_key().hex() + "department"), delegation);
  // Revocation and reaffirmation: fixed sizes.
  c.author(c.root(), test::kCounty, key_object_id(phone.public_key()),
           RevocationPayload{phone.public_key(), "compromised", 0, std::nullopt});
  c.author(c.root(), test::kCounty, key_object_id(department.public_key()),
           ReaffirmationPayload{department.public_key(), ~std::uint64_t{0}}, node::DraftTarget::kExisting,
           node::DraftAdmit::kEvenIfNotEffective);
  // Amendment: the largest constitution and sixteen cosignatures.
  AmendmentPayload amendment{1, {}, {}};
  auto cosigned = [&](AmendmentPayload a) {
    a.cosignatures.clear();
    Bytes message = amendment_message(genesis_op.id, a.number, a.constitution);
    for (const KeyPair& root : c.roots) a.cosignatures.push_back(Cosignature{root.public_key(), root.sign(message)});
    return a;
  };
  amendment.constitution = largest_constitution([&](const Constitution& constitution) {
    AmendmentPayload a = amendment;
    a.constitution = constitution;
    return signed_size(test::kCounty, constitution_object_id(test::kCounty), cosigned(a));
  });
  c.author(c.root(), test::kCounty, constitution_object_id(test::kCounty), cosigned(amendment));
  // Hazard: a major report with every text at its bound (cut to fit the op) and ten photos.
  HazardPayload report;
  report.action = "report";
  report.category = genesis.constitution.categories[0].id;
  report.severity = "major";
  report.unit = blake2b_256(as_bytes("unit"));
  report.responsible = text_of_bytes(limits::name_bytes_max);
  for (std::size_t i = 0; i < limits::attachments_per_op_max; ++i)
    report.photos.push_back(Attachment{blake2b_256(as_bytes("photo " + std::to_string(i))), limits::blob_bytes_max,
                                       identifier("image.", i, limits::identifier_bytes_max)});
  report.major_form = text_of_bytes(limits::note_bytes_max);
  report.measures = text_of_bytes(limits::note_bytes_max);
  std::size_t text_bytes = largest_fitting(limits::note_bytes_max, [&](std::size_t n) {
    HazardPayload h = report;
    h.text = text_of_bytes(n);
    return signed_size(kGrid, std::nullopt, h);
  });
  report.text = text_of_bytes(text_bytes);
  c.author(c.root(), kGrid, Hash32{}, report, node::DraftTarget::kNewRecord);
  // Record: a patrol with the most fields, refs and photos, its values as long as fit.
  RecordPayload unit{"inspection", "record", {}, report.photos, {}};
  for (std::size_t i = 0; i < limits::record_fields_max; ++i)
    unit.refs.push_back(blake2b_256(as_bytes("ref " + std::to_string(i))));
  std::sort(unit.refs.begin(), unit.refs.end());
  auto with_values = [&unit](std::size_t bytes) {
    RecordPayload r = unit;
    for (std::size_t i = 0; i < limits::record_fields_max; ++i)
      r.fields.emplace_back(identifier("f", 10 + i, limits::identifier_bytes_max), text_of_bytes(bytes));
    return r;
  };
  std::size_t value_bytes = largest_fitting(limits::note_bytes_max, [&](std::size_t n) {
    return signed_size(kVillage, std::nullopt, with_values(n));
  });
  c.author(c.root(), kVillage, Hash32{}, with_values(value_bytes), node::DraftTarget::kNewRecord);

  // Each kind is there, the largest ones within a few KiB of the op bound.
  std::set<std::string> kinds;
  std::size_t largest = 0;
  for (const Op& op : c.authored) {
    kinds.insert(payload_kind(op.fields.payload));
    largest = std::max(largest, op.bytes.size());
  }
  // Every kind this release authors: all but DeferredPayload, which it only keeps (crdt/op.h).
  CHECK(kinds.size() == std::variant_size_v<Payload> - 1);
  CHECK(kinds.count("deferred") == 0);
  CHECK(largest > limits::op_bytes_max - 1024);
  CHECK(largest <= limits::op_bytes_max);

  auto [ra, rb] = test::sync(c.village, c.county);
  INFO(ra.status().message() << " / " << rb.status().message());
  REQUIRE(ra.is_ok());
  REQUIRE(rb.is_ok());
  CHECK(ra->ops_refused == 0);
  for (const Op& op : c.authored) {
    INFO(payload_kind(op.fields.payload) << " op of " << op.bytes.size() << " bytes");
    auto held = c.village.store->get(op.id);
    REQUIRE(held.is_ok());
    CHECK(held->has_value());
  }
}
