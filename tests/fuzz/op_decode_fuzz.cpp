// libFuzzer target: op decoding and validation (bytes from peers, files, bundles).
#include <cstddef>
#include <cstdint>

#include "crdt/op.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
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
