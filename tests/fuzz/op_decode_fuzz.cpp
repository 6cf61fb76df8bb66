// libFuzzer target: op decoding and validation (bytes from peers, files, bundles).
//
// Two kinds of input. Bytes starting with kSignMode describe an op to sign (payload kind and the
// lengths of its texts and lists, up to their bounds, so near the op size limit): whatever
// sign_op signs, decode_op must accept and read back as signed — an author never signs an op its
// peers refuse (issue 20, item 9). Any other bytes are decoded as an op from outside.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

#include "crdt/hash.h"
#include "crdt/hlc.h"
#include "crdt/limits.h"
#include "crdt/op.h"

namespace {

constexpr std::uint8_t kSignMode = 0xA5;

// Reads little-endian 16-bit lengths from the input, cycling when it runs out.
class Lengths {
 public:
  Lengths(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  std::size_t next(std::size_t max) {
    if (size_ == 0) return 0;
    std::size_t value = data_[at_ % size_] | (std::size_t{data_[(at_ + 1) % size_]} << 8);
    at_ += 2;
    // Lengths near the bound are the interesting ones: the top of the range half the time.
    return (value & 1) ? max - std::min(max, value >> 1) % (max / 64 + 1) : (value >> 1) % (max + 1);
  }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t at_ = 0;
};

std::string text(std::size_t bytes) { return std::string(bytes, 'x'); }

void sign_and_decode(const std::uint8_t* data, std::size_t size) {
  static const anwang::KeyPair key = anwang::KeyPair::from_seed(anwang::blake2b_256(anwang::as_bytes("fuzz")).view());
  Lengths lengths(data + 2, size - 2);
  anwang::OpFields fields;
  fields.author = key.public_key();
  fields.network = anwang::blake2b_256(anwang::as_bytes("network"));
  fields.hlc = anwang::hlc_from_ms(1'790'000'000'000);
  fields.author_seq = 2;
  fields.author_prev = anwang::blake2b_256(anwang::as_bytes("previous"));
  for (std::size_t i = 0, n = lengths.next(anwang::limits::op_parents_max); i < n; ++i)
    fields.parents.push_back(anwang::blake2b_256(anwang::as_bytes("parent" + std::to_string(i))));
  anwang::normalize_parents(fields);
  switch (data[1] % 4) {
    case 0:
      fields.scope = "150430100201";
      fields.object = anwang::named_object_id("note", "fuzz");
      fields.payload = anwang::NotePayload{text(1 + lengths.next(anwang::limits::note_bytes_max - 1))};
      break;
    case 1:
      fields.scope = "150430100201-01";
      fields.object = anwang::named_object_id("region", fields.scope);
      fields.payload = anwang::RegionPayload{fields.scope, text(1 + lengths.next(anwang::limits::name_bytes_max - 1)),
                                             text(lengths.next(anwang::limits::boundary_bytes_max))};
      break;
    case 2: {
      anwang::HazardPayload h;
      h.action = "comment";
      h.text = text(lengths.next(anwang::limits::note_bytes_max));
      h.measures = text(lengths.next(anwang::limits::note_bytes_max));
      h.major_form = text(lengths.next(anwang::limits::note_bytes_max));
      h.responsible = text(lengths.next(anwang::limits::name_bytes_max));
      for (std::size_t i = 0, n = lengths.next(anwang::limits::attachments_per_op_max); i < n; ++i)
        h.photos.push_back(anwang::Attachment{anwang::blake2b_256(anwang::as_bytes(std::to_string(i))), 1, "image/jpeg"});
      fields.scope = "150430100201-01";
      fields.object = anwang::blake2b_256(anwang::as_bytes("hazard"));
      fields.payload = std::move(h);
      break;
    }
    default: {
      anwang::RecordPayload r{"unit", "edit", {}, {}, {}};
      std::size_t value_bytes = lengths.next(anwang::limits::note_bytes_max);
      for (std::size_t i = 0, n = lengths.next(anwang::limits::record_fields_max); i < n; ++i)
        r.fields.emplace_back("f" + std::to_string(100 + i), text(value_bytes));
      for (std::size_t i = 0, n = lengths.next(anwang::limits::record_fields_max); i < n; ++i)
        r.refs.push_back(anwang::blake2b_256(anwang::as_bytes("ref" + std::to_string(i))));
      std::sort(r.refs.begin(), r.refs.end());
      fields.scope = "150430100201";
      fields.object = anwang::blake2b_256(anwang::as_bytes("record"));
      fields.payload = std::move(r);
      break;
    }
  }
  auto signed_op = anwang::sign_op(fields, key);
  if (!signed_op) return;  // too large, or a rule broken: nothing signed
  auto decoded = anwang::decode_op(signed_op->bytes);
  const auto* op = std::get_if<anwang::Op>(&decoded);
  if (op == nullptr || op->fields != signed_op->fields || op->id != signed_op->id) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size >= 2 && data[0] == kSignMode) {
    sign_and_decode(data, size);
    return 0;
  }
  auto decoded = anwang::decode_op(anwang::ByteView(data, size));
  if (auto* op = std::get_if<anwang::Op>(&decoded)) {
    // Whatever decodes must re-encode to exactly the same bytes: one op, one encoding.
    if (op->bytes.size() != size) __builtin_trap();
    // A session's scope check reads an op's scope and kind alone: the same as the whole op's.
    auto scoped = anwang::decode_op_scope(anwang::ByteView(data, size));
    const auto* record = std::get_if<anwang::RecordPayload>(&op->fields.payload);
    bool notice = record != nullptr && record->kind == "notice";
    if (!notice && (!scoped || scoped->fields.scope != op->fields.scope ||
                    scoped->fields.payload.index() != op->fields.payload.index()))
      __builtin_trap();
  } else {
    (void)anwang::decode_op_scope(anwang::ByteView(data, size));  // reads anything without failing
  }
  return 0;
}
