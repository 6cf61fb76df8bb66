// libFuzzer target: op decoding and validation (bytes from peers, files, bundles).
#include <cstddef>
#include <cstdint>

#include "crdt/op.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto decoded = anwang::decode_op(anwang::ByteView(data, size));
  if (auto* op = std::get_if<anwang::Op>(&decoded)) {
    // Whatever decodes must re-encode to exactly the same bytes: one op, one encoding.
    if (op->bytes.size() != size) __builtin_trap();
  }
  return 0;
}
