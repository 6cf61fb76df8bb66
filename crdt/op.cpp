#include "crdt/op.h"

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/exception.h>

#include <algorithm>
#include <cassert>
#include <cstring>
#include <set>

#include "crdt/hash.h"
#include "crdt/hlc.h"
#include "crdt/limits.h"
#include "crdt/location.h"
#include "crdt/op.capnp.h"
#include "crdt/scope.h"
#include "crdt/text.h"

namespace anwang {

namespace {

// What this process pretends not to know (pretend_earlier_release_for_testing); by default,
// nothing. Set once at start, before any thread decodes an op, and only read after.
struct EarlierRelease {
  std::uint16_t payload_variants = 0xffff;  // variants from this one on are deferred
  std::vector<std::string> record_kinds;    // when not empty: the record kinds known
};
EarlierRelease& earlier_release() {
  static EarlierRelease release;
  return release;
}


constexpr std::string_view kSignatureContext("anwang/op/v1\0", 13);

Status check_text(std::string_view field, std::string_view text, std::size_t max_bytes, bool required) {
  if (required && text.empty()) return Status::invalid(std::string(field) + " must not be empty");
  if (text.size() > max_bytes)
    return Status::invalid(std::string(field) + " is longer than " + std::to_string(max_bytes) + " bytes");
  if (!is_valid_utf8(text)) return Status::invalid(std::string(field) + " is not valid UTF-8");
  return Status::ok();
}

bool strictly_ascending(const std::vector<Hash32>& ids) {
  return std::adjacent_find(ids.begin(), ids.end(), [](const Hash32& a, const Hash32& b) { return !(a < b); }) ==
         ids.end();
}

Status check_genesis(const OpFields& fields, const GenesisPayload& genesis) {
  if (fields.network) return Status::invalid("a genesis op must not name a network: it defines one");
  if (fields.author_seq != 1 || !fields.parents.empty())
    return Status::invalid("a genesis op must be its author's first op and have no parents");
  if (Status s = check_scope(genesis.county_code); !s) return s;
  if (scope_level(genesis.county_code) != ScopeLevel::kCounty)
    return Status::invalid("genesis county code '" + genesis.county_code + "' must have 6 digits");
  if (fields.scope != genesis.county_code) return Status::invalid("a genesis op's scope must be its county code");
  if (Status s = check_text("county name", genesis.county_name, limits::name_bytes_max, true); !s) return s;
  if (genesis.root_keys.empty() || genesis.root_keys.size() > limits::root_keys_max)
    return Status::invalid("genesis must name 1 to " + std::to_string(limits::root_keys_max) + " root keys");
  if (!strictly_ascending(genesis.root_keys)) return Status::invalid("genesis root keys must be distinct and sorted");
  if (genesis.threshold < 1 || genesis.threshold > genesis.root_keys.size())
    return Status::invalid("genesis threshold must be between 1 and the number of root keys (" +
                           std::to_string(genesis.root_keys.size()) + ")");
  if (!std::binary_search(genesis.root_keys.begin(), genesis.root_keys.end(), fields.author))
    return Status::invalid("a genesis op must be signed by one of its root keys");
  if (fields.object != named_object_id("network", genesis.county_code))
    return Status::invalid("a genesis op's object id must be the county's network object id");
  return check_constitution(genesis.constitution);
}

bool strictly_ascending_text(const std::vector<std::string>& items) {
  return std::adjacent_find(items.begin(), items.end(), [](const auto& a, const auto& b) { return !(a < b); }) ==
         items.end();
}

Status check_delegation(const DelegationPayload& delegation) {
  if (delegation.role.empty() || delegation.role.size() > limits::identifier_bytes_max)
    return Status::invalid("a delegation must name a role of at most 64 bytes");
  if (delegation.categories.size() > limits::constitution_list_max)
    return Status::invalid("a delegation may name at most " + std::to_string(limits::constitution_list_max) + " categories");
  if (!strictly_ascending_text(delegation.categories))
    return Status::invalid("delegation categories must be distinct and sorted");
  for (const std::string& category : delegation.categories)
    if (category.empty() || category.size() > limits::identifier_bytes_max)
      return Status::invalid("delegation category names must be 1 to 64 bytes");
  if (delegation.holder && *delegation.holder == delegation.grantee)
    return Status::invalid("a delegation's holder is another key of the grantee's person, not the grantee itself");
  return Status::ok();
}

Status check_revocation(const OpFields& fields, const RevocationPayload& revocation) {
  if (revocation.reason != "left" && revocation.reason != "compromised")
    return Status::invalid("revocation reason must be 'left' or 'compromised'");
  if ((revocation.frontier_seq == 0) != !revocation.frontier)
    return Status::invalid("a revocation names a frontier op exactly when its frontier sequence number is above 0");
  if (fields.object != key_object_id(revocation.key))
    return Status::invalid("a revocation's object id must be the revoked key's object id");
  return Status::ok();
}

Status check_amendment(const OpFields& fields, const AmendmentPayload& amendment) {
  if (scope_level(fields.scope) != ScopeLevel::kCounty) return Status::invalid("an amendment's scope must be the county");
  if (amendment.number == 0) return Status::invalid("amendment numbers start at 1");
  if (fields.object != constitution_object_id(fields.scope))
    return Status::invalid("an amendment's object id must be the county's constitution object id");
  if (amendment.cosignatures.size() > limits::root_keys_max)
    return Status::invalid("an amendment may carry at most " + std::to_string(limits::root_keys_max) + " cosignatures");
  for (std::size_t i = 1; i < amendment.cosignatures.size(); ++i)
    if (!(amendment.cosignatures[i - 1].key < amendment.cosignatures[i].key))
      return Status::invalid("amendment cosignatures must be by distinct keys, sorted");
  return check_constitution(amendment.constitution);
}

std::optional<RefusedOp> check_cosignatures(const OpFields& fields) {
  const auto* amendment = std::get_if<AmendmentPayload>(&fields.payload);
  if (amendment == nullptr) return std::nullopt;
  Bytes message = amendment_message(*fields.network, amendment->number, amendment->constitution);
  for (const Cosignature& cosignature : amendment->cosignatures)
    if (!verify_signature(cosignature.key, message, cosignature.signature))
      return RefusedOp{Refusal::kBadSignature,
                       "the cosignature of key " + cosignature.key.short_hex() + " does not verify over this amendment"};
  return std::nullopt;
}

// A creating op's object id: the one derived from its own body (this release), or, for ops
// written by releases before it, authored_object_id(author, seq).
Status check_created_object(const OpFields& fields, const Hash32* created_id, const char* what) {
  if (fields.object == authored_object_id(fields.author, fields.author_seq)) return Status::ok();
  if (fields.object == (created_id != nullptr ? *created_id : created_object_id(fields))) return Status::ok();
  return Status::invalid(std::string(what) + "'s object id must be derived from the op itself (created_object_id)");
}

Status check_hazard(const OpFields& fields, const HazardPayload& h, const Hash32* created_id) {
  static const char* const kActions[] = {"report",  "fix",     "notice",     "escalate", "receive",
                                         "assign",  "handled", "verify",     "reclassify", "comment",
                                         "signoff", "list_supervision", "stop_work", "close"};
  if (std::find(std::begin(kActions), std::end(kActions), h.action) == std::end(kActions))
    return Status::invalid("hazard action '" + h.action + "' is not one of report, fix, notice, escalate, receive, "
                           "assign, handled, verify, reclassify, comment, signoff, list_supervision, stop_work, close");
  if (scope_level(fields.scope) != ScopeLevel::kVillage && scope_level(fields.scope) != ScopeLevel::kGrid)
    return Status::invalid("a hazard belongs to a village or a grid: its scope must be a 12-digit village code or a grid code");
  if (Status s = check_text("hazard text", h.text, limits::note_bytes_max, h.action == "report"); !s) return s;
  if (Status s = check_text("major-hazard form", h.major_form, limits::note_bytes_max, false); !s) return s;
  if (Status s = check_text("responsible person", h.responsible, limits::name_bytes_max, false); !s) return s;
  if (Status s = check_text("measures", h.measures, limits::note_bytes_max, false); !s) return s;
  if (h.photos.size() > limits::attachments_per_op_max)
    return Status::invalid("an op may carry at most " + std::to_string(limits::attachments_per_op_max) + " attachments");
  for (const Attachment& photo : h.photos)
    if (photo.media_type.empty() || photo.media_type.size() > limits::identifier_bytes_max || photo.size > limits::blob_bytes_max)
      return Status::invalid("an attachment needs a media type and at most " + std::to_string(limits::blob_bytes_max) + " bytes");
  if (!h.severity.empty() && h.severity != "general" && h.severity != "major")
    return Status::invalid("hazard severity must be 'general' (一般) or 'major' (重大)");
  if (h.action == "report") {
    if (h.category.empty() || h.severity.empty()) return Status::invalid("a hazard report needs a category and a severity");
    if (Status s = check_created_object(fields, created_id, "a hazard report"); !s) return s;
  }
  if (h.action == "notice" && (h.deadline_ms == 0 || h.responsible.empty()))
    return Status::invalid("a rectification notice (整改通知书) needs a deadline and a responsible person");
  if (h.deadline_days != 0) {
    if (h.action != "notice") return Status::invalid("only a rectification notice has deadline days");
    if (h.deadline_days > limits::notice_deadline_days_max)
      return Status::invalid("a notice's deadline is at most " + std::to_string(limits::notice_deadline_days_max) + " days");
    // Counted from the notice's own timestamp, so a node of an earlier release, which reads only
    // deadlineMs, sees the same deadline.
    if (h.deadline_ms != hlc_ms(fields.hlc) + h.deadline_days * kDeadlineDayMs)
      return Status::invalid("a notice's deadlineMs must be its own time plus its deadlineDays days");
  }
  if (!h.location.empty()) {
    if (h.action != "report" && h.action != "comment")
      return Status::invalid("only a hazard report or a comment (correcting it) carries a location");
    if (Status s = check_location(h.location, "hazard location"); !s) return s;
  }
  if (h.action == "escalate" && h.to_level != "township" && h.to_level != "county")
    return Status::invalid("an escalation goes to 'township' or 'county'");
  if (h.action == "assign" && h.department.empty() == !h.assignee)
    return Status::invalid("an assignment names either a department (by category) or an assignee key");
  if (h.action == "reclassify" && h.category.empty() && h.severity.empty())
    return Status::invalid("a reclassification changes the category, the severity or both");
  return Status::ok();
}

Status check_record(const OpFields& fields, const RecordPayload& r, const Hash32* created_id) {
  if (!record_step_known(r.kind, r.action))
    return Status::invalid("record step '" + r.kind + " " + r.action + "' is not known (see crdt/RECORDS.md)");
  if (r.fields.size() > limits::record_fields_max || r.refs.size() > limits::record_fields_max)
    return Status::invalid("a record step may carry at most " + std::to_string(limits::record_fields_max) + " fields and refs");
  for (std::size_t i = 0; i < r.fields.size(); ++i) {
    const auto& [name, value] = r.fields[i];
    if (name.empty() || name.size() > limits::identifier_bytes_max)
      return Status::invalid("record field names are 1 to 64 bytes");
    if (i > 0 && !(r.fields[i - 1].first < name)) return Status::invalid("record fields must be distinct and sorted by name");
    if (Status s = check_text("field '" + name + "'", value, limits::note_bytes_max, false); !s) return s;
    // A unit's location reads as a hazard's does (crdt/location.h); empty clears it.
    if (r.kind == "unit" && name == "location" && !value.empty())
      if (Status s = check_location(value, "unit location"); !s) return s;
  }
  for (const Attachment& photo : r.photos)
    if (photo.media_type.empty() || photo.media_type.size() > limits::identifier_bytes_max || photo.size > limits::blob_bytes_max)
      return Status::invalid("an attachment needs a media type and at most " + std::to_string(limits::blob_bytes_max) + " bytes");
  if (creates_object(fields.payload)) return check_created_object(fields, created_id, "a new record");
  return Status::ok();
}

Status check_region(const OpFields& fields, const RegionPayload& region) {
  if (Status s = check_scope(region.code); !s) return s;
  if (scope_level(region.code) == ScopeLevel::kCounty)
    return Status::invalid("region '" + region.code + "' is a county: the genesis defines the county");
  if (fields.scope != region.code) return Status::invalid("a region op's scope must be the region's code");
  if (Status s = check_text("region name", region.name, limits::name_bytes_max, true); !s) return s;
  if (Status s = check_text("region boundary", region.boundary, limits::boundary_bytes_max, false); !s) return s;
  if (fields.object != named_object_id("region", region.code))
    return Status::invalid("a region op's object id must be the region's object id");
  return Status::ok();
}

// ---- encoding ----

capnp::Data::Reader data_of(ByteView view) { return capnp::Data::Reader(view.data(), view.size()); }
capnp::Text::Reader text_of(const std::string& text) { return capnp::Text::Reader(text.data(), text.size()); }

void fill_texts(capnp::List<capnp::Text>::Builder out, const std::vector<std::string>& items) {
  for (unsigned i = 0; i < items.size(); ++i) out.set(i, text_of(items[i]));
}

void fill_constitution(schema::Constitution::Builder out, const Constitution& constitution) {
  auto roles = out.initRoles(static_cast<unsigned>(constitution.roles.size()));
  for (unsigned i = 0; i < constitution.roles.size(); ++i) {
    const RoleDef& role = constitution.roles[i];
    auto r = roles[i];
    r.setId(text_of(role.id));
    r.setNameZh(text_of(role.name_zh));
    r.setNameEn(text_of(role.name_en));
    fill_texts(r.initLevels(static_cast<unsigned>(role.levels.size())), role.levels);
    r.setRank(role.rank);
    fill_texts(r.initCapabilities(static_cast<unsigned>(role.capabilities.size())), role.capabilities);
    fill_texts(r.initMayDelegate(static_cast<unsigned>(role.may_delegate.size())), role.may_delegate);
    r.setCategoryBound(role.category_bound);
  }
  auto categories = out.initCategories(static_cast<unsigned>(constitution.categories.size()));
  for (unsigned i = 0; i < constitution.categories.size(); ++i) {
    const CategoryDef& category = constitution.categories[i];
    categories[i].setId(text_of(category.id));
    categories[i].setNameZh(text_of(category.name_zh));
    categories[i].setNameEn(text_of(category.name_en));
    categories[i].setDepartment(text_of(category.department));
  }
  auto settings = out.initSettings(static_cast<unsigned>(constitution.settings.size()));
  for (unsigned i = 0; i < constitution.settings.size(); ++i) {
    settings[i].setName(text_of(constitution.settings[i].name));
    settings[i].setValue(constitution.settings[i].value);
  }
}

void fill_attachments(capnp::List<schema::Attachment>::Builder out, const std::vector<Attachment>& attachments) {
  for (unsigned i = 0; i < attachments.size(); ++i) {
    out[i].setHash(data_of(attachments[i].hash.view()));
    out[i].setSize(attachments[i].size);
    out[i].setMediaType(text_of(attachments[i].media_type));
  }
}

void fill_payload(schema::OpBody::Payload::Builder payload, const Payload& value) {
  if (auto* genesis = std::get_if<GenesisPayload>(&value)) {
    auto out = payload.initGenesis();
    out.setCountyCode(text_of(genesis->county_code));
    out.setCountyName(text_of(genesis->county_name));
    auto keys = out.initRootKeys(static_cast<unsigned>(genesis->root_keys.size()));
    for (unsigned i = 0; i < genesis->root_keys.size(); ++i) keys.set(i, data_of(genesis->root_keys[i].view()));
    out.setThreshold(genesis->threshold);
    fill_constitution(out.initConstitution(), genesis->constitution);
  } else if (auto* region = std::get_if<RegionPayload>(&value)) {
    auto out = payload.initRegion();
    out.setCode(text_of(region->code));
    out.setName(text_of(region->name));
    out.setBoundary(text_of(region->boundary));
  } else if (auto* note = std::get_if<NotePayload>(&value)) {
    payload.initNote().setText(text_of(note->text));
  } else if (auto* delegation = std::get_if<DelegationPayload>(&value)) {
    auto out = payload.initDelegation();
    out.setGrantee(data_of(delegation->grantee.view()));
    out.setRole(text_of(delegation->role));
    fill_texts(out.initCategories(static_cast<unsigned>(delegation->categories.size())), delegation->categories);
    if (delegation->holder) out.setHolder(data_of(delegation->holder->view()));
  } else if (auto* revocation = std::get_if<RevocationPayload>(&value)) {
    auto out = payload.initRevocation();
    out.setKey(data_of(revocation->key.view()));
    out.setReason(text_of(revocation->reason));
    out.setFrontierSeq(revocation->frontier_seq);
    if (revocation->frontier) out.setFrontier(data_of(revocation->frontier->view()));
  } else if (auto* reaffirmation = std::get_if<ReaffirmationPayload>(&value)) {
    auto out = payload.initReaffirmation();
    out.setKey(data_of(reaffirmation->key.view()));
    out.setSeq(reaffirmation->seq);
  } else if (auto* enrolment = std::get_if<EnrolmentPayload>(&value)) {
    payload.initEnrolment().setNodeKey(data_of(enrolment->node_key.view()));
  } else if (auto* amendment = std::get_if<AmendmentPayload>(&value)) {
    auto out = payload.initAmendment();
    out.setNumber(amendment->number);
    fill_constitution(out.initConstitution(), amendment->constitution);
    auto cosignatures = out.initCosignatures(static_cast<unsigned>(amendment->cosignatures.size()));
    for (unsigned i = 0; i < amendment->cosignatures.size(); ++i) {
      const Cosignature& c = amendment->cosignatures[i];
      cosignatures[i].setKey(data_of(c.key.view()));
      cosignatures[i].setSignature(data_of(ByteView(c.signature.data(), c.signature.size())));
    }
  } else if (auto* hazard = std::get_if<HazardPayload>(&value)) {
    auto out = payload.initHazard();
    out.setAction(text_of(hazard->action));
    out.setText(text_of(hazard->text));
    fill_attachments(out.initPhotos(static_cast<unsigned>(hazard->photos.size())), hazard->photos);
    out.setCategory(text_of(hazard->category));
    out.setSeverity(text_of(hazard->severity));
    if (hazard->unit) out.setUnit(data_of(hazard->unit->view()));
    out.setDeadlineMs(hazard->deadline_ms);
    out.setResponsible(text_of(hazard->responsible));
    if (hazard->acceptor) out.setAcceptor(data_of(hazard->acceptor->view()));
    out.setMeasures(text_of(hazard->measures));
    out.setToLevel(text_of(hazard->to_level));
    out.setDepartment(text_of(hazard->department));
    if (hazard->assignee) out.setAssignee(data_of(hazard->assignee->view()));
    out.setPass(hazard->pass);
    out.setMajorForm(text_of(hazard->major_form));
    out.setDeadlineDays(hazard->deadline_days);
    // Set only when given: an absent pointer is dropped from the canonical form, so an op without
    // a location keeps the bytes (and the id and signature) earlier releases gave it.
    if (!hazard->location.empty()) out.setLocation(text_of(hazard->location));
  } else if (auto* record = std::get_if<RecordPayload>(&value)) {
    auto out = payload.initRecord();
    out.setKind(text_of(record->kind));
    out.setAction(text_of(record->action));
    auto fields = out.initFields(static_cast<unsigned>(record->fields.size()));
    for (unsigned i = 0; i < record->fields.size(); ++i) {
      fields[i].setName(text_of(record->fields[i].first));
      fields[i].setValue(text_of(record->fields[i].second));
    }
    fill_attachments(out.initPhotos(static_cast<unsigned>(record->photos.size())), record->photos);
    auto refs = out.initRefs(static_cast<unsigned>(record->refs.size()));
    for (unsigned i = 0; i < record->refs.size(); ++i) refs.set(i, data_of(record->refs[i].view()));
  } else {
    assert(false && "payload variant without an encoder");
  }
}

void fill_body(schema::OpBody::Builder body, const OpFields& fields) {
  body.setFormatVersion(kOpFormatVersion);
  if (fields.network) body.setNetwork(data_of(fields.network->view()));
  body.setAuthor(data_of(fields.author.view()));
  body.setAuthorSeq(fields.author_seq);
  if (fields.author_prev) body.setAuthorPrev(data_of(fields.author_prev->view()));
  auto parents = body.initParents(static_cast<unsigned>(fields.parents.size()));
  for (unsigned i = 0; i < fields.parents.size(); ++i) parents.set(i, data_of(fields.parents[i].view()));
  body.setHlc(fields.hlc);
  body.setScope(text_of(fields.scope));
  body.setObject(data_of(fields.object.view()));
  fill_payload(body.initPayload(), fields.payload);
}

Bytes words_to_bytes(const kj::Array<capnp::word>& words) {
  auto bytes = words.asBytes();
  return Bytes(bytes.begin(), bytes.end());
}

// BLAKE2b-256 over a context string and the canonical body with its object set to 32 zero
// bytes: every field but the object and the signature. Read from the body as it is, so fields a
// later release appends are covered too.
Hash32 created_object_id_of(schema::OpBody::Reader body) {
  capnp::MallocMessageBuilder builder;
  builder.setRoot(body);
  auto copy = builder.getRoot<schema::OpBody>();
  std::array<std::uint8_t, 32> zero{};
  copy.setObject(capnp::Data::Reader(zero.data(), zero.size()));
  auto canonical = capnp::canonicalize(copy.asReader());
  auto bytes = canonical.asBytes();
  Blake2b hasher;
  hasher.update(std::string_view("anwang/object/created/v1\0", 25));
  hasher.update(ByteView(bytes.begin(), bytes.size()));
  return hasher.finish();
}

Bytes signature_message(const kj::Array<capnp::word>& canonical_body) {
  auto body = canonical_body.asBytes();
  return op_signature_message(ByteView(body.begin(), body.size()));
}

// ---- decoding ----

std::optional<Hash32> hash_field(capnp::Data::Reader data) {
  return Hash32::from_view(ByteView(data.begin(), data.size()));
}

std::string text_field(capnp::Text::Reader text) { return std::string(text.begin(), text.size()); }

RefusedOp invalid(std::string detail) { return RefusedOp{Refusal::kInvalidField, std::move(detail)}; }

// Reads a list of texts; nullopt when it is longer than the constitution's list bound.
std::optional<std::vector<std::string>> read_texts(capnp::List<capnp::Text>::Reader list) {
  if (list.size() > limits::constitution_list_max) return std::nullopt;
  std::vector<std::string> out;
  for (auto item : list) out.push_back(text_field(item));
  return out;
}

// Each list pointer is read once: Cap'n Proto charges the traversal limit again at every read
// (limits::op_decode_traversals counts one reading of the op for this).
std::variant<Constitution, RefusedOp> read_constitution(schema::Constitution::Reader in) {
  Constitution out;
  auto roles = in.getRoles();
  auto categories = in.getCategories();
  auto settings = in.getSettings();
  if (roles.size() > limits::constitution_list_max || categories.size() > limits::constitution_list_max ||
      settings.size() > limits::constitution_list_max)
    return invalid("a constitution may hold at most " + std::to_string(limits::constitution_list_max) +
                   " roles, categories and settings each");
  for (auto r : roles) {
    auto levels = read_texts(r.getLevels());
    auto capabilities = read_texts(r.getCapabilities());
    auto may_delegate = read_texts(r.getMayDelegate());
    if (!levels || !capabilities || !may_delegate) return invalid("a constitution role list is too long");
    out.roles.push_back(RoleDef{text_field(r.getId()), text_field(r.getNameZh()), text_field(r.getNameEn()),
                                std::move(*levels), r.getRank(), std::move(*capabilities), std::move(*may_delegate),
                                r.getCategoryBound()});
  }
  for (auto c : categories)
    out.categories.push_back(CategoryDef{text_field(c.getId()), text_field(c.getNameZh()), text_field(c.getNameEn()),
                                         text_field(c.getDepartment())});
  for (auto setting : settings) out.settings.push_back(Setting{text_field(setting.getName()), setting.getValue()});
  return out;
}

std::variant<std::vector<Attachment>, RefusedOp> read_attachments(capnp::List<schema::Attachment>::Reader in) {
  if (in.size() > limits::attachments_per_op_max)
    return invalid("an op may carry at most " + std::to_string(limits::attachments_per_op_max) + " attachments");
  std::vector<Attachment> out;
  for (auto photo : in) {
    auto hash = hash_field(photo.getHash());
    if (!hash) return invalid("an attachment hash must be 32 bytes");
    out.push_back(Attachment{*hash, photo.getSize(), text_field(photo.getMediaType())});
  }
  return out;
}

std::variant<Payload, RefusedOp> read_payload(schema::OpBody::Payload::Reader payload) {
  if (static_cast<unsigned>(payload.which()) >= earlier_release().payload_variants)
    return Payload(DeferredPayload{"payload variant " + std::to_string(static_cast<unsigned>(payload.which()))});
  switch (payload.which()) {
    case schema::OpBody::Payload::GENESIS: {
      auto in = payload.getGenesis();
      GenesisPayload genesis{text_field(in.getCountyCode()), text_field(in.getCountyName()), {}, in.getThreshold(), {}};
      auto root_keys = in.getRootKeys();
      if (root_keys.size() > limits::root_keys_max)
        return invalid("genesis must name at most " + std::to_string(limits::root_keys_max) + " root keys");
      for (auto key : root_keys) {
        auto root = hash_field(key);
        if (!root) return invalid("root keys must be 32 bytes");
        genesis.root_keys.push_back(*root);
      }
      auto constitution = read_constitution(in.getConstitution());
      if (auto* refused = std::get_if<RefusedOp>(&constitution)) return *refused;
      genesis.constitution = std::move(std::get<Constitution>(constitution));
      return Payload(std::move(genesis));
    }
    case schema::OpBody::Payload::REGION: {
      auto in = payload.getRegion();
      return Payload(RegionPayload{text_field(in.getCode()), text_field(in.getName()), text_field(in.getBoundary())});
    }
    case schema::OpBody::Payload::NOTE:
      return Payload(NotePayload{text_field(payload.getNote().getText())});
    case schema::OpBody::Payload::DELEGATION: {
      auto in = payload.getDelegation();
      auto grantee = hash_field(in.getGrantee());
      auto categories = read_texts(in.getCategories());
      if (!grantee) return invalid("delegation grantee must be a 32-byte key");
      if (!categories) return invalid("a delegation names too many categories");
      DelegationPayload delegation{*grantee, text_field(in.getRole()), std::move(*categories), std::nullopt};
      if (in.hasHolder()) {
        auto holder = hash_field(in.getHolder());
        if (!holder) return invalid("a delegation's holder must be a 32-byte key");
        delegation.holder = *holder;
      }
      return Payload(std::move(delegation));
    }
    case schema::OpBody::Payload::REVOCATION: {
      auto in = payload.getRevocation();
      auto key = hash_field(in.getKey());
      if (!key) return invalid("revoked key must be 32 bytes");
      RevocationPayload revocation{*key, text_field(in.getReason()), in.getFrontierSeq(), std::nullopt};
      if (in.hasFrontier()) {
        revocation.frontier = hash_field(in.getFrontier());
        if (!revocation.frontier) return invalid("revocation frontier must be a 32-byte op id");
      }
      return Payload(std::move(revocation));
    }
    case schema::OpBody::Payload::REAFFIRMATION: {
      auto in = payload.getReaffirmation();
      auto key = hash_field(in.getKey());
      if (!key) return invalid("reaffirmed key must be 32 bytes");
      return Payload(ReaffirmationPayload{*key, in.getSeq()});
    }
    case schema::OpBody::Payload::ENROLMENT: {
      auto key = hash_field(payload.getEnrolment().getNodeKey());
      if (!key) return invalid("enrolled node key must be 32 bytes");
      return Payload(EnrolmentPayload{*key});
    }
    case schema::OpBody::Payload::AMENDMENT: {
      auto in = payload.getAmendment();
      auto constitution = read_constitution(in.getConstitution());
      if (auto* refused = std::get_if<RefusedOp>(&constitution)) return *refused;
      AmendmentPayload amendment{in.getNumber(), std::move(std::get<Constitution>(constitution)), {}};
      auto cosignatures = in.getCosignatures();
      if (cosignatures.size() > limits::root_keys_max)
        return invalid("an amendment may carry at most " + std::to_string(limits::root_keys_max) + " cosignatures");
      for (auto c : cosignatures) {
        auto key = hash_field(c.getKey());
        if (!key || c.getSignature().size() != crypto_sign_BYTES)
          return invalid("a cosignature is a 32-byte key and a 64-byte signature");
        Cosignature cosignature{*key, {}};
        std::memcpy(cosignature.signature.data(), c.getSignature().begin(), crypto_sign_BYTES);
        amendment.cosignatures.push_back(cosignature);
      }
      return Payload(std::move(amendment));
    }
    case schema::OpBody::Payload::HAZARD: {
      auto in = payload.getHazard();
      HazardPayload hazard;
      hazard.action = text_field(in.getAction());
      hazard.text = text_field(in.getText());
      auto photos = read_attachments(in.getPhotos());
      if (auto* refused = std::get_if<RefusedOp>(&photos)) return *refused;
      hazard.photos = std::move(std::get<std::vector<Attachment>>(photos));
      hazard.category = text_field(in.getCategory());
      hazard.severity = text_field(in.getSeverity());
      if (in.hasUnit()) {
        hazard.unit = hash_field(in.getUnit());
        if (!hazard.unit) return invalid("a hazard's unit id must be 32 bytes");
      }
      hazard.deadline_ms = in.getDeadlineMs();
      hazard.responsible = text_field(in.getResponsible());
      if (in.hasAcceptor()) {
        hazard.acceptor = hash_field(in.getAcceptor());
        if (!hazard.acceptor) return invalid("an acceptor key must be 32 bytes");
      }
      hazard.measures = text_field(in.getMeasures());
      hazard.to_level = text_field(in.getToLevel());
      hazard.department = text_field(in.getDepartment());
      if (in.hasAssignee()) {
        hazard.assignee = hash_field(in.getAssignee());
        if (!hazard.assignee) return invalid("an assignee key must be 32 bytes");
      }
      hazard.pass = in.getPass();
      hazard.major_form = text_field(in.getMajorForm());
      hazard.deadline_days = in.getDeadlineDays();
      hazard.location = text_field(in.getLocation());
      return Payload(std::move(hazard));
    }
    case schema::OpBody::Payload::RECORD: {
      auto in = payload.getRecord();
      RecordPayload record;
      record.kind = text_field(in.getKind());
      record.action = text_field(in.getAction());
      // A step a later release added: kept as it is, its fields unread (their rules are that
      // release's).
      if (!record_step_known(record.kind, record.action))
        return Payload(DeferredPayload{"record step '" + record.kind + " " + record.action + "'"});
      auto field_list = in.getFields();
      auto refs = in.getRefs();
      if (field_list.size() > limits::record_fields_max || refs.size() > limits::record_fields_max)
        return invalid("a record step may carry at most " + std::to_string(limits::record_fields_max) + " fields and refs");
      for (auto field : field_list) record.fields.emplace_back(text_field(field.getName()), text_field(field.getValue()));
      auto photos = read_attachments(in.getPhotos());
      if (auto* refused = std::get_if<RefusedOp>(&photos)) return *refused;
      record.photos = std::move(std::get<std::vector<Attachment>>(photos));
      for (auto ref : refs) {
        auto id = hash_field(ref);
        if (!id) return invalid("record references must be 32-byte ids");
        record.refs.push_back(*id);
      }
      return Payload(std::move(record));
    }
    default:
      return Payload(DeferredPayload{"payload variant " + std::to_string(static_cast<unsigned>(payload.which()))});
  }
}

// Reads the body into plain fields. Returns a refusal for wrong lengths or unknown payloads.
std::variant<OpFields, RefusedOp> read_fields(schema::OpBody::Reader body) {
  OpFields fields;
  if (body.getFormatVersion() != kOpFormatVersion)
    return RefusedOp{Refusal::kUnsupportedVersion,
                     "op format version " + std::to_string(body.getFormatVersion()) + " is not known to this node (it reads version " +
                         std::to_string(kOpFormatVersion) + ")"};
  if (body.hasNetwork()) {
    auto network = hash_field(body.getNetwork());
    if (!network) return invalid("network id must be 32 bytes");
    fields.network = *network;
  }
  auto author = hash_field(body.getAuthor());
  if (!author) return invalid("author key must be 32 bytes");
  fields.author = *author;
  fields.author_seq = body.getAuthorSeq();
  if (body.hasAuthorPrev()) {
    auto prev = hash_field(body.getAuthorPrev());
    if (!prev) return invalid("previous op id must be 32 bytes");
    fields.author_prev = *prev;
  }
  auto parents = body.getParents();
  if (parents.size() > limits::op_parents_max)
    return invalid("an op may have at most " + std::to_string(limits::op_parents_max) + " parents");
  for (auto parent : parents) {
    auto id = hash_field(parent);
    if (!id) return invalid("parent ids must be 32 bytes");
    fields.parents.push_back(*id);
  }
  fields.hlc = body.getHlc();
  fields.scope = text_field(body.getScope());
  auto object = hash_field(body.getObject());
  if (!object) return invalid("object id must be 32 bytes");
  fields.object = *object;

  auto payload = read_payload(body.getPayload());
  if (auto* refused = std::get_if<RefusedOp>(&payload)) return std::move(*refused);
  fields.payload = std::move(std::get<Payload>(payload));
  return fields;
}

// The memo entry of op bytes that passed every check, whose id is `id`: apart from signature
// entries, which hash a key, a signature and a message.
Hash32 verified_op_entry(const Hash32& id) {
  Blake2b hasher;
  hasher.update(std::string_view("anwang/verified-op"));
  hasher.update(id.view());
  return hasher.finish();
}

// An op's bytes copied into word-aligned memory (Cap'n Proto reads only that) and read as one
// segment within the op's traversal and nesting bounds. REQUIRES: a whole number of words.
class OpMessage {
 public:
  explicit OpMessage(ByteView bytes)
      : words_(bytes.size() / sizeof(capnp::word)),
        segments_{kj::ArrayPtr<const capnp::word>(copy(words_, bytes), words_.size())},
        message_(kj::arrayPtr(segments_, 1), options()) {}
  OpMessage(const OpMessage&) = delete;  // message_ points into words_ and segments_
  OpMessage& operator=(const OpMessage&) = delete;
  capnp::SegmentArrayMessageReader& message() { return message_; }

 private:
  static const capnp::word* copy(std::vector<capnp::word>& words, ByteView bytes) {
    std::memcpy(words.data(), bytes.data(), bytes.size());
    return words.data();
  }
  static capnp::ReaderOptions options() {
    capnp::ReaderOptions options;
    options.traversalLimitInWords = limits::op_traversal_words_max;
    options.nestingLimit = limits::op_nesting_depth_max;
    return options;
  }
  std::vector<capnp::word> words_;
  kj::ArrayPtr<const capnp::word> segments_[1];
  capnp::SegmentArrayMessageReader message_;
};

std::variant<Op, RefusedOp> decode_unchecked(ByteView bytes, DecodeMode mode, const Hash32* known_id) {
  if (bytes.size() > limits::op_bytes_max)
    return RefusedOp{Refusal::kTooLarge, "op is " + std::to_string(bytes.size()) + " bytes; the limit is " +
                                             std::to_string(limits::op_bytes_max)};
  if (bytes.empty() || bytes.size() % sizeof(capnp::word) != 0)
    return RefusedOp{Refusal::kMalformed, "op bytes are not a whole number of 8-byte words"};
  // Bytes the memo (installed by the simulator alone) has seen pass every check pass them again.
  std::optional<Hash32> id;
  if (known_id) id = *known_id;
  SignatureMemo* memo = mode == DecodeMode::kVerify ? signature_memo() : nullptr;
  if (memo) {
    if (!id) id = blake2b_256(bytes);
    if (memo->contains(verified_op_entry(*id))) mode = DecodeMode::kTrusted;
  }
  OpMessage aligned(bytes);
  capnp::SegmentArrayMessageReader& message = aligned.message();
  if (mode == DecodeMode::kVerify && !message.isCanonical())
    return RefusedOp{Refusal::kNotCanonical, "op bytes are not in canonical form"};
  // The traversals counted by limits::op_decode_traversals: isCanonical() above, read_fields,
  // canonicalize() of the body and, for an op that creates an object, created_object_id_of.
  static_assert(limits::op_decode_traversals == 4, "a traversal of the op was added or removed: count it in limits.h");
  auto signed_op = message.getRoot<schema::SignedOp>();
  auto body = signed_op.getBody();
  auto read = read_fields(body);
  if (auto* refused = std::get_if<RefusedOp>(&read)) return std::move(*refused);
  Op op;
  op.fields = std::move(std::get<OpFields>(read));
  auto signature = signed_op.getSignature();
  if (signature.size() != op.signature.size()) return RefusedOp{Refusal::kBadSignature, "signature must be 64 bytes"};
  std::memcpy(op.signature.data(), signature.begin(), signature.size());
  if (mode == DecodeMode::kVerify) {
    std::optional<Hash32> created;
    if (creates_object(op.fields.payload) &&
        op.fields.object != authored_object_id(op.fields.author, op.fields.author_seq))
      created = created_object_id_of(body);
    if (Status s = check_op_fields(op.fields, created ? &*created : nullptr); !s) return invalid(s.message());
    Bytes message_bytes = signature_message(capnp::canonicalize(body));
    if (!verify_signature(op.fields.author, message_bytes, op.signature))
      return RefusedOp{Refusal::kBadSignature,
                       "signature does not verify against the author key " + op.fields.author.short_hex()};
    if (auto refused = check_cosignatures(op.fields)) return *refused;
  }
  op.bytes.assign(bytes.begin(), bytes.end());
  op.id = id ? *id : blake2b_256(op.bytes);
  if (memo && mode == DecodeMode::kVerify) memo->insert(verified_op_entry(op.id));
  return op;
}

}  // namespace

std::optional<Op> decode_op_scope(ByteView bytes) {
  if (bytes.empty() || bytes.size() > limits::op_bytes_max || bytes.size() % sizeof(capnp::word) != 0) return std::nullopt;
  try {
    OpMessage aligned(bytes);
    auto body = aligned.message().getRoot<schema::SignedOp>().getBody();
    if (body.getFormatVersion() != kOpFormatVersion) return std::nullopt;
    Op op;
    op.fields.scope = text_field(body.getScope());
    auto payload = body.getPayload();
    switch (payload.which()) {
      case schema::OpBody::Payload::GENESIS: op.fields.payload = GenesisPayload{}; break;
      case schema::OpBody::Payload::REGION: op.fields.payload = RegionPayload{}; break;
      case schema::OpBody::Payload::NOTE: op.fields.payload = NotePayload{}; break;
      case schema::OpBody::Payload::DELEGATION: op.fields.payload = DelegationPayload{}; break;
      case schema::OpBody::Payload::REVOCATION: op.fields.payload = RevocationPayload{}; break;
      case schema::OpBody::Payload::REAFFIRMATION: op.fields.payload = ReaffirmationPayload{}; break;
      case schema::OpBody::Payload::ENROLMENT: op.fields.payload = EnrolmentPayload{}; break;
      case schema::OpBody::Payload::AMENDMENT: op.fields.payload = AmendmentPayload{}; break;
      case schema::OpBody::Payload::HAZARD: op.fields.payload = HazardPayload{}; break;
      case schema::OpBody::Payload::RECORD: {
        RecordPayload record;
        record.kind = text_field(payload.getRecord().getKind());
        if (record.kind == "notice") return std::nullopt;  // its reach names recipients
        op.fields.payload = std::move(record);
        break;
      }
      default: return std::nullopt;
    }
    return op;
  } catch (const kj::Exception&) {
    return std::nullopt;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

Bytes op_signature_message(ByteView canonical_body) {
  Bytes message(kSignatureContext.size() + canonical_body.size());
  std::memcpy(message.data(), kSignatureContext.data(), kSignatureContext.size());
  std::memcpy(message.data() + kSignatureContext.size(), canonical_body.data(), canonical_body.size());
  return message;
}

const char* payload_kind(const Payload& payload) {
  switch (payload.index()) {
    case 0: return "genesis";
    case 1: return "region";
    case 2: return "note";
    case 3: return "delegation";
    case 4: return "revocation";
    case 5: return "reaffirmation";
    case 6: return "enrolment";
    case 7: return "amendment";
    case 8: return "hazard";
    case 9: return "record";
    case 10: return "deferred";
  }
  return "unknown";
}

bool is_authority_payload(const Payload& payload) {
  // A deferred op is never one: a payload kind added later changes no authority (crdt/OP_FORMAT.md,
  // "Compatibility").
  return !std::holds_alternative<NotePayload>(payload) && !std::holds_alternative<HazardPayload>(payload) &&
         !std::holds_alternative<RecordPayload>(payload) && !std::holds_alternative<DeferredPayload>(payload);
}

bool record_step_known(const std::string& kind, const std::string& action) {
  static const std::set<std::string> kActions = {"unit/add", "unit/edit", "unit/confirm", "unit/close",
                                                 "inspection/record", "tip/enter", "tip/verify", "incident/report",
                                                 "incident/update", "notice/send", "notice/acknowledge",
                                                 "person/add", "person/edit", "training/record",
                                                 "meeting/record", "notebook/record"};
  const std::vector<std::string>& kinds = earlier_release().record_kinds;
  if (!kinds.empty() && std::find(kinds.begin(), kinds.end(), kind) == kinds.end()) return false;
  return kActions.count(kind + "/" + action) != 0;
}

void pretend_earlier_release_for_testing(std::uint16_t count, std::vector<std::string> kinds) {
  earlier_release() = EarlierRelease{count, std::move(kinds)};
}

const std::vector<Attachment>* attachments_of(const Payload& payload) {
  if (const auto* hazard = std::get_if<HazardPayload>(&payload)) return &hazard->photos;
  if (const auto* record = std::get_if<RecordPayload>(&payload)) return &record->photos;
  return nullptr;
}

const std::string* RecordPayload::field(const std::string& name) const {
  for (const auto& [key, value] : fields)
    if (key == name) return &value;
  return nullptr;
}

Hash32 key_object_id(const PublicKey& key) { return named_object_id("key", key.hex()); }
Hash32 node_object_id(const PublicKey& node_key) { return named_object_id("node", node_key.hex()); }
Hash32 constitution_object_id(const std::string& county_code) { return named_object_id("constitution", county_code); }

Bytes amendment_message(const Hash32& network, std::uint32_t number, const Constitution& constitution) {
  capnp::MallocMessageBuilder builder;
  fill_constitution(builder.initRoot<schema::Constitution>(), constitution);
  auto canonical = capnp::canonicalize(builder.getRoot<schema::Constitution>().asReader());
  auto body = canonical.asBytes();
  constexpr std::string_view kContext("anwang/amend/v1\0", 16);
  Bytes message(kContext.size() + 32 + 4 + body.size());
  std::uint8_t* out = message.data();
  std::memcpy(out, kContext.data(), kContext.size());
  out += kContext.size();
  std::memcpy(out, network.bytes.data(), 32);
  out += 32;
  for (int shift = 24; shift >= 0; shift -= 8) *out++ = static_cast<std::uint8_t>(number >> shift);
  std::memcpy(out, body.begin(), body.size());
  return message;
}

const char* refusal_name(Refusal refusal) {
  switch (refusal) {
    case Refusal::kTooLarge: return "too_large";
    case Refusal::kMalformed: return "malformed";
    case Refusal::kNotCanonical: return "not_canonical";
    case Refusal::kUnsupportedVersion: return "unsupported_version";
    case Refusal::kUnknownPayload: return "unknown_payload";
    case Refusal::kInvalidField: return "invalid_field";
    case Refusal::kBadSignature: return "bad_signature";
    case Refusal::kWrongNetwork: return "wrong_network";
    case Refusal::kBadAuthorChain: return "bad_author_chain";
    case Refusal::kAheadOfClock: return "ahead_of_clock";
    case Refusal::kNoOffice: return "no_office";
    case Refusal::kClockNotAfterParents: return "clock_not_after_parents";
    case Refusal::kPendingFull: return "pending_full";
    case Refusal::kOutOfScope: return "out_of_scope";
  }
  return "unknown";
}

Status check_op_fields(const OpFields& fields) { return check_op_fields(fields, nullptr); }

Status check_op_fields(const OpFields& fields, const Hash32* created_id) {
  if (Status s = check_scope(fields.scope); !s) return s;
  if (fields.hlc >= kHlcCeiling)
    return Status::invalid("the op's timestamp " + hlc_to_string(fields.hlc) + " is not before " +
                           hlc_to_string(kHlcCeiling) + ", the ceiling of every timestamp");
  if (fields.author_seq == 0) return Status::invalid("author sequence numbers start at 1");
  if ((fields.author_seq == 1) != !fields.author_prev)
    return Status::invalid("an op has a previous-op id exactly when its author sequence number is above 1");
  if (fields.parents.size() > limits::op_parents_max)
    return Status::invalid("an op may have at most " + std::to_string(limits::op_parents_max) + " parents");
  if (!strictly_ascending(fields.parents)) return Status::invalid("parent ids must be distinct and sorted");
  if (const auto* genesis = std::get_if<GenesisPayload>(&fields.payload)) return check_genesis(fields, *genesis);
  if (!fields.network) return Status::invalid("only a genesis op may omit the network id");
  if (const auto* region = std::get_if<RegionPayload>(&fields.payload)) return check_region(fields, *region);
  if (const auto* note = std::get_if<NotePayload>(&fields.payload))
    return check_text("note text", note->text, limits::note_bytes_max, true);
  if (const auto* delegation = std::get_if<DelegationPayload>(&fields.payload)) return check_delegation(*delegation);
  if (const auto* revocation = std::get_if<RevocationPayload>(&fields.payload))
    return check_revocation(fields, *revocation);
  if (const auto* reaffirmation = std::get_if<ReaffirmationPayload>(&fields.payload)) {
    if (reaffirmation->seq == 0) return Status::invalid("a reaffirmation names the sequence number the key equivocated at");
    if (fields.object != key_object_id(reaffirmation->key))
      return Status::invalid("a reaffirmation's object id must be the key's object id");
    return Status::ok();
  }
  if (const auto* enrolment = std::get_if<EnrolmentPayload>(&fields.payload)) {
    if (fields.object != node_object_id(enrolment->node_key))
      return Status::invalid("an enrolment's object id must be the node's object id");
    return Status::ok();
  }
  if (const auto* amendment = std::get_if<AmendmentPayload>(&fields.payload)) return check_amendment(fields, *amendment);
  if (const auto* hazard = std::get_if<HazardPayload>(&fields.payload)) return check_hazard(fields, *hazard, created_id);
  if (const auto* record = std::get_if<RecordPayload>(&fields.payload)) return check_record(fields, *record, created_id);
  return Status::ok();
}

bool creates_object(const Payload& payload) {
  if (const auto* hazard = std::get_if<HazardPayload>(&payload)) return hazard->action == "report";
  if (const auto* record = std::get_if<RecordPayload>(&payload)) return creates_object(*record);
  return false;
}

bool creates_object(const RecordPayload& r) {
  return r.action == "add" || r.action == "record" || r.action == "enter" || r.action == "send" ||
         (r.kind == "incident" && r.action == "report");
}

Hash32 created_object_id(const OpFields& fields) {
  capnp::MallocMessageBuilder builder;
  auto body = builder.initRoot<schema::OpBody>();
  fill_body(body, fields);
  return created_object_id_of(body.asReader());
}

void normalize_parents(OpFields& fields) {
  std::sort(fields.parents.begin(), fields.parents.end());
  fields.parents.erase(std::unique(fields.parents.begin(), fields.parents.end()), fields.parents.end());
}

Result<Op> sign_op(OpFields fields, const KeyPair& key) {
  assert(key.public_key() == fields.author);
  normalize_parents(fields);
  if (std::holds_alternative<DeferredPayload>(fields.payload))
    return Status::invalid("an op of a kind this release does not know cannot be signed by it");
  if (Status s = check_op_fields(fields); !s) return s;
  capnp::MallocMessageBuilder builder;
  auto signed_op = builder.initRoot<schema::SignedOp>();
  fill_body(signed_op.initBody(), fields);
  Signature signature = key.sign(signature_message(capnp::canonicalize(signed_op.getBody().asReader())));
  signed_op.setSignature(data_of(ByteView(signature.data(), signature.size())));
  Op op;
  op.bytes = words_to_bytes(capnp::canonicalize(signed_op.asReader()));
  if (op.bytes.size() > limits::op_bytes_max)
    return Status::invalid("the op would be " + std::to_string(op.bytes.size()) + " bytes; the limit is " +
                           std::to_string(limits::op_bytes_max));
  op.id = blake2b_256(op.bytes);
  op.fields = std::move(fields);
  op.signature = signature;
  return op;
}

namespace {

std::variant<Op, RefusedOp> decode_guarded(ByteView bytes, DecodeMode mode, const Hash32* known_id) {
  try {
    return decode_unchecked(bytes, mode, known_id);
  } catch (const kj::Exception& e) {
    return RefusedOp{Refusal::kMalformed, std::string("op bytes do not decode: ") + e.getDescription().cStr()};
  } catch (const std::exception& e) {
    return RefusedOp{Refusal::kMalformed, std::string("op bytes do not decode: ") + e.what()};
  }
}

}  // namespace

std::variant<Op, RefusedOp> decode_op(ByteView bytes, DecodeMode mode) { return decode_guarded(bytes, mode, nullptr); }

std::variant<Op, RefusedOp> decode_op_with_id(ByteView bytes, const Hash32& id) {
  // No assert re-hashing the bytes: assertions stay on in every build, and sparing that hash is
  // the point of this function.
  return decode_guarded(bytes, DecodeMode::kVerify, &id);
}

std::variant<Op, RefusedOp> decode_stored_op(ByteView bytes, const Hash32& id) {
  return decode_guarded(bytes, DecodeMode::kTrusted, &id);
}

}  // namespace anwang
