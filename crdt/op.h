// op.h — the signed operation: building, signing, encoding, decoding and verifying.
//
// An op travels and is stored as the canonical Cap'n Proto encoding of schema::SignedOp
// (crdt/op.capnp, described in crdt/OP_FORMAT.md). Its id is BLAKE2b-256 of those bytes.
// sign_op() turns an OpFields into those bytes; decode_op() turns bytes from anywhere (a peer, a
// file, the store) back into an Op after every check that needs nothing but the bytes: size,
// structure, canonical form, format version, known payload, field rules and the signature.
// Checks that need other ops (network, parents, author chain) belong to the store's ingest.
//
// Everything here is pure and thread-safe: no clock, no randomness, no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "crdt/bytes.h"
#include "crdt/constitution.h"
#include "crdt/keys.h"
#include "crdt/status.h"

namespace anwang {

inline constexpr std::uint16_t kOpFormatVersion = 1;

struct GenesisPayload {
  std::string county_code;
  std::string county_name;
  std::vector<PublicKey> root_keys;  // strictly ascending
  std::uint8_t threshold = 1;
  Constitution constitution;
  bool operator==(const GenesisPayload&) const = default;
};

struct RegionPayload {
  std::string code;
  std::string name;
  std::string boundary;  // GeoJSON polygon or empty
  bool operator==(const RegionPayload&) const = default;
};

struct NotePayload {
  std::string text;
  bool operator==(const NotePayload&) const = default;
};

struct DelegationPayload {
  PublicKey grantee;
  std::string role;
  std::vector<std::string> categories;  // strictly ascending
  // The person the grantee key belongs to, named by the key they hold already (a phone and a PC
  // of one person); absent: the grantee key is its own holder. Rules that count persons (双签)
  // count holders (crdt/AUTHORITY.md).
  std::optional<PublicKey> holder = std::nullopt;
  bool operator==(const DelegationPayload&) const = default;
};

struct RevocationPayload {
  PublicKey key;
  std::string reason;  // "left" or "compromised"
  std::uint64_t frontier_seq = 0;
  std::optional<Hash32> frontier;  // present exactly when frontier_seq > 0; named, not a parent (crdt/AUTHORITY.md)
  bool operator==(const RevocationPayload&) const = default;
};

struct ReaffirmationPayload {
  PublicKey key;
  std::uint64_t seq = 0;
  bool operator==(const ReaffirmationPayload&) const = default;
};

struct EnrolmentPayload {
  PublicKey node_key;
  bool operator==(const EnrolmentPayload&) const = default;
};

struct Cosignature {
  PublicKey key;
  Signature signature{};
  bool operator==(const Cosignature&) const = default;
};

struct AmendmentPayload {
  std::uint32_t number = 1;
  Constitution constitution;
  std::vector<Cosignature> cosignatures;  // keys strictly ascending
  bool operator==(const AmendmentPayload&) const = default;
};

struct Attachment {
  Hash32 hash;
  std::uint64_t size = 0;
  std::string media_type;
  bool operator==(const Attachment&) const = default;
};

// One step of a hazard through the closed loop; see HazardAction in crdt/op.capnp.
struct HazardPayload {
  std::string action;
  std::string text;
  std::vector<Attachment> photos;
  std::string category;
  std::string severity;
  std::optional<Hash32> unit;
  std::uint64_t deadline_ms = 0;
  std::string responsible;
  std::optional<PublicKey> acceptor;
  std::string measures;
  std::string to_level;
  std::string department;
  std::optional<PublicKey> assignee;
  bool pass = false;
  std::string major_form;
  // A notice drafted with days: its deadline counts from its own timestamp. Store::author fills
  // deadline_ms = hlc_ms(hlc) + deadline_days days once it has chosen the timestamp.
  std::uint16_t deadline_days = 0;
  // Where the hazard is, "LNG,LAT" (crdt/location.h), on a report or a comment; empty: not given.
  std::string location;
  bool operator==(const HazardPayload&) const = default;
};

// A step on a ledger unit, patrol, tip, incident or notice; see RecordAction in crdt/op.capnp.
struct RecordPayload {
  std::string kind;
  std::string action;
  std::vector<std::pair<std::string, std::string>> fields;  // names strictly ascending
  std::vector<Attachment> photos;
  std::vector<Hash32> refs;
  bool operator==(const RecordPayload&) const = default;
  const std::string* field(const std::string& name) const;
};

// An op of a payload variant this release does not know, or a record step it does not know
// (crdt/OP_FORMAT.md, "Compatibility"): signed by an author who holds an office, kept and passed on
// within its scope, judged by nothing here and shown as needing a newer release. Never signed by
// this release (sign_op refuses it). `what` names it: "payload variant 10", "record step 'x y'".
struct DeferredPayload {
  std::string what;
  bool operator==(const DeferredPayload&) const = default;
};

using Payload = std::variant<GenesisPayload, RegionPayload, NotePayload, DelegationPayload, RevocationPayload,
                             ReaffirmationPayload, EnrolmentPayload, AmendmentPayload, HazardPayload, RecordPayload,
                             DeferredPayload>;

// Whether this release knows the record step kind/action (crdt/RECORDS.md).
bool record_step_known(const std::string& kind, const std::string& action);

// For tests of mixed releases alone: this process reads payload variants from `count` on, and
// record kinds not in `kinds` (when not empty), as a release that does not know them yet would:
// as deferred. Called once, at start, before any op is decoded (anwang and anwangd read
// ANWANG_TEST_PAYLOAD_VARIANTS and ANWANG_TEST_RECORD_KINDS). Not for production use.
void pretend_earlier_release_for_testing(std::uint16_t count, std::vector<std::string> kinds);

// True for the payloads that make up the authority graph (public county-wide).
bool is_authority_payload(const Payload& payload);
// The attachments (photos, scanned forms) a payload carries; nullptr for payloads without any.
const std::vector<Attachment>* attachments_of(const Payload& payload);

// Object ids the rules fix for some payloads.
Hash32 key_object_id(const PublicKey& key);        // revocations and reaffirmations of a key
Hash32 node_object_id(const PublicKey& node_key);  // enrolments of a node
Hash32 constitution_object_id(const std::string& county_code);

// The message a root key signs to approve amendment `number` of `network`'s constitution.
Bytes amendment_message(const Hash32& network, std::uint32_t number, const Constitution& constitution);

// Stable lower-case name of a payload kind ("genesis", "region", "note", …), used in JSON.
const char* payload_kind(const Payload& payload);

// Every field of an op but the signature.
struct OpFields {
  std::optional<Hash32> network;  // absent only in a genesis
  PublicKey author;
  std::uint64_t author_seq = 1;
  std::optional<Hash32> author_prev;  // absent only when author_seq == 1
  std::vector<Hash32> parents;        // strictly ascending (sign_op sorts them)
  std::uint64_t hlc = 0;
  std::string scope;
  Hash32 object;
  Payload payload;
  bool operator==(const OpFields&) const = default;
};

// A decoded, verified op. `bytes` are exactly what was signed-and-hashed.
struct Op {
  Hash32 id;
  OpFields fields;
  Signature signature{};
  Bytes bytes;
};

// Why an op was refused. The names are stable: they appear in JSON and in import reports.
enum class Refusal {
  kTooLarge,
  kMalformed,            // not a Cap'n Proto SignedOp at all
  kNotCanonical,
  kUnsupportedVersion,   // formatVersion this node does not know
  kUnknownPayload,       // payload variant this node does not know
  kInvalidField,         // a field breaks its rule (length, order, code, …)
  kBadSignature,
  kWrongNetwork,
  kBadAuthorChain,       // author_seq/author_prev disagree with the author's previous op
  kClockNotAfterParents, // hlc not later than every parent's
  kPendingFull,          // parents missing and no room left to wait for them
  kOutOfScope,           // the receiving node may not hold it (a bundle's op outside its enrolled scopes)
  kAheadOfClock,         // dated after the receiver's trusted time and its leeway: taken once that time comes
  kNoOffice,             // the author holds no role, root key or enrolment in the op's causal past
};
const char* refusal_name(Refusal refusal);

struct RefusedOp {
  Refusal reason;
  std::string detail;  // one sentence naming the field and the rule
};

// Checks the op's fields against every rule that needs only the op itself. Ok or invalid.
Status check_op_fields(const OpFields& fields);
// The same, with the creating op's derived object id already computed from its bytes (decoding
// does, so that fields a later release appends are covered); nullptr: computed from `fields`.
Status check_op_fields(const OpFields& fields, const Hash32* created_id);

// A day, for deadlines counted in days (deadline_days).
inline constexpr std::uint64_t kDeadlineDayMs = 86'400'000;

// Whether an op with this payload creates the object it names: a hazard report, a new ledger
// unit, patrol, tip, incident or notice.
bool creates_object(const Payload& payload);
bool creates_object(const RecordPayload& record);
// The object id a creating op must carry: BLAKE2b-256 of "anwang/object/created/v1\0" and the
// op's canonical body with the object set to 32 zero bytes. It covers every other field, so two
// different ops never create one object, even when one key signs twice with one sequence number
// (a node restored from an old copy). Ops of earlier releases carry authored_object_id(author,
// seq), which stays valid for them (crdt/OP_FORMAT.md).
Hash32 created_object_id(const OpFields& fields);

// Sorts the parents ascending and drops repeats, as an op's encoding has them.
void normalize_parents(OpFields& fields);

// Builds, signs and encodes. Returns invalid when `fields` break a rule (nothing is signed).
// REQUIRES: key.public_key() == fields.author.
Result<Op> sign_op(OpFields fields, const KeyPair& key);

// kVerify runs every check: size, canonical form, field rules, signatures (bytes from outside,
// and `anwang verify`). kTrusted is for bytes this node checked before it stored them: it keeps
// the size and structure checks (decoding stays memory-safe on any input) and skips the canonical
// form, the field rules and the signatures, which a read of the store would otherwise repeat.
enum class DecodeMode { kVerify, kTrusted };

// Decodes and verifies bytes. Never throws, never asserts on the input.
std::variant<Op, RefusedOp> decode_op(ByteView bytes, DecodeMode mode = DecodeMode::kVerify);
// The same, fully checked, for bytes whose id (blake2b_256(bytes)) the caller has computed.
// REQUIRES: id == blake2b_256(bytes).
std::variant<Op, RefusedOp> decode_op_with_id(ByteView bytes, const Hash32& id);

// kTrusted decoding of bytes a store keeps under `id`, taking the id as given rather than hashing
// the bytes again (`anwang verify` decodes with kVerify, which recomputes every id).
std::variant<Op, RefusedOp> decode_stored_op(ByteView bytes, const Hash32& id);

// Only what says where an op may go: an op whose scope and payload kind are read from `bytes`,
// with nothing else (no id, no other field, an empty payload of that kind). Nothing when the
// bytes do not read that far, or the op's reach needs more (a notice's recipients): decode it
// fully then. Checks nothing; for a session's scope check before ingest decodes and verifies.
std::optional<Op> decode_op_scope(ByteView bytes);

// The message an op's signature covers: a context string, then the canonical body bytes.
// Exposed for tests that build ops by hand.
Bytes op_signature_message(ByteView canonical_body);

// The op id a genesis defines as its network id.
inline const Hash32& network_id_of_genesis(const Op& genesis) { return genesis.id; }

}  // namespace anwang
