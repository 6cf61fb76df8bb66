#include "crdt/op.h"

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/exception.h>

#include <algorithm>
#include <cassert>
#include <cstring>

#include "crdt/hash.h"
#include "crdt/limits.h"
#include "crdt/op.capnp.h"
#include "crdt/scope.h"

namespace anwang {

namespace {

constexpr std::string_view kSignatureContext("anwang/op/v1\0", 13);

bool is_valid_utf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    auto byte = static_cast<std::uint8_t>(text[i]);
    std::size_t extra = 0;
    if (byte < 0x80) extra = 0;
    else if ((byte >> 5) == 0x6) extra = 1;
    else if ((byte >> 4) == 0xe) extra = 2;
    else if ((byte >> 3) == 0x1e) extra = 3;
    else return false;
    if (text.size() - i - 1 < extra) return false;
    for (std::size_t k = 1; k <= extra; ++k)
      if ((static_cast<std::uint8_t>(text[i + k]) >> 6) != 2) return false;
    i += extra + 1;
  }
  return true;
}

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
  auto payload = body.initPayload();
  if (auto* genesis = std::get_if<GenesisPayload>(&fields.payload)) {
    auto out = payload.initGenesis();
    out.setCountyCode(text_of(genesis->county_code));
    out.setCountyName(text_of(genesis->county_name));
    auto keys = out.initRootKeys(static_cast<unsigned>(genesis->root_keys.size()));
    for (unsigned i = 0; i < genesis->root_keys.size(); ++i) keys.set(i, data_of(genesis->root_keys[i].view()));
    out.setThreshold(genesis->threshold);
  } else if (auto* region = std::get_if<RegionPayload>(&fields.payload)) {
    auto out = payload.initRegion();
    out.setCode(text_of(region->code));
    out.setName(text_of(region->name));
    out.setBoundary(text_of(region->boundary));
  } else if (auto* note = std::get_if<NotePayload>(&fields.payload)) {
    payload.initNote().setText(text_of(note->text));
  } else {
    assert(false && "payload variant without an encoder");
  }
}

Bytes words_to_bytes(const kj::Array<capnp::word>& words) {
  auto bytes = words.asBytes();
  return Bytes(bytes.begin(), bytes.end());
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

  auto payload = body.getPayload();
  switch (payload.which()) {
    case schema::OpBody::Payload::GENESIS: {
      auto in = payload.getGenesis();
      GenesisPayload genesis{text_field(in.getCountyCode()), text_field(in.getCountyName()), {}, in.getThreshold()};
      if (in.getRootKeys().size() > limits::root_keys_max)
        return invalid("genesis must name at most " + std::to_string(limits::root_keys_max) + " root keys");
      for (auto key : in.getRootKeys()) {
        auto root = hash_field(key);
        if (!root) return invalid("root keys must be 32 bytes");
        genesis.root_keys.push_back(*root);
      }
      fields.payload = std::move(genesis);
      break;
    }
    case schema::OpBody::Payload::REGION: {
      auto in = payload.getRegion();
      fields.payload = RegionPayload{text_field(in.getCode()), text_field(in.getName()), text_field(in.getBoundary())};
      break;
    }
    case schema::OpBody::Payload::NOTE:
      fields.payload = NotePayload{text_field(payload.getNote().getText())};
      break;
    default:
      return RefusedOp{Refusal::kUnknownPayload, "payload variant " + std::to_string(static_cast<unsigned>(payload.which())) +
                                                     " is not known to this node; upgrade it to accept this op"};
  }
  return fields;
}

std::variant<Op, RefusedOp> decode_unchecked(ByteView bytes) {
  if (bytes.size() > limits::op_bytes_max)
    return RefusedOp{Refusal::kTooLarge, "op is " + std::to_string(bytes.size()) + " bytes; the limit is " +
                                             std::to_string(limits::op_bytes_max)};
  if (bytes.empty() || bytes.size() % sizeof(capnp::word) != 0)
    return RefusedOp{Refusal::kMalformed, "op bytes are not a whole number of 8-byte words"};
  // Copy into word-aligned memory before Cap'n Proto reads it.
  std::vector<capnp::word> words(bytes.size() / sizeof(capnp::word));
  std::memcpy(words.data(), bytes.data(), bytes.size());
  kj::ArrayPtr<const capnp::word> segment(words.data(), words.size());
  kj::ArrayPtr<const capnp::word> segments[1] = {segment};
  capnp::ReaderOptions options;
  options.traversalLimitInWords = limits::op_traversal_words_max;
  options.nestingLimit = limits::op_nesting_depth_max;
  capnp::SegmentArrayMessageReader message(kj::arrayPtr(segments, 1), options);
  if (!message.isCanonical()) return RefusedOp{Refusal::kNotCanonical, "op bytes are not in canonical form"};
  auto signed_op = message.getRoot<schema::SignedOp>();
  auto read = read_fields(signed_op.getBody());
  if (auto* refused = std::get_if<RefusedOp>(&read)) return std::move(*refused);
  Op op;
  op.fields = std::move(std::get<OpFields>(read));
  auto signature = signed_op.getSignature();
  if (signature.size() != op.signature.size()) return RefusedOp{Refusal::kBadSignature, "signature must be 64 bytes"};
  std::memcpy(op.signature.data(), signature.begin(), signature.size());
  if (Status s = check_op_fields(op.fields); !s) return invalid(s.message());
  Bytes message_bytes = signature_message(capnp::canonicalize(signed_op.getBody()));
  if (!verify_signature(op.fields.author, message_bytes, op.signature))
    return RefusedOp{Refusal::kBadSignature, "signature does not verify against the author key " + op.fields.author.short_hex()};
  op.bytes.assign(bytes.begin(), bytes.end());
  op.id = blake2b_256(op.bytes);
  return op;
}

}  // namespace

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
  }
  return "unknown";
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
    case Refusal::kClockNotAfterParents: return "clock_not_after_parents";
    case Refusal::kPendingFull: return "pending_full";
  }
  return "unknown";
}

Status check_op_fields(const OpFields& fields) {
  if (Status s = check_scope(fields.scope); !s) return s;
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
  return Status::ok();
}

Result<Op> sign_op(OpFields fields, const KeyPair& key) {
  assert(key.public_key() == fields.author);
  std::sort(fields.parents.begin(), fields.parents.end());
  fields.parents.erase(std::unique(fields.parents.begin(), fields.parents.end()), fields.parents.end());
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

std::variant<Op, RefusedOp> decode_op(ByteView bytes) {
  try {
    return decode_unchecked(bytes);
  } catch (const kj::Exception& e) {
    return RefusedOp{Refusal::kMalformed, std::string("op bytes do not decode: ") + e.getDescription().cStr()};
  } catch (const std::exception& e) {
    return RefusedOp{Refusal::kMalformed, std::string("op bytes do not decode: ") + e.what()};
  }
}

}  // namespace anwang
