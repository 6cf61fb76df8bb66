#include "crdt/hash.h"

namespace anwang {

Hash32 blake2b_256(ByteView data) {
  Hash32 out;
  crypto_generichash(out.bytes.data(), out.bytes.size(), data.data(), data.size(), nullptr, 0);
  return out;
}

Blake2b::Blake2b() { crypto_generichash_init(&state_, nullptr, 0, 32); }

void Blake2b::update(ByteView data) { crypto_generichash_update(&state_, data.data(), data.size()); }

Hash32 Blake2b::finish() {
  Hash32 out;
  crypto_generichash_final(&state_, out.bytes.data(), out.bytes.size());
  return out;
}

Hash32 named_object_id(std::string_view kind, std::string_view name) {
  Blake2b hasher;
  hasher.update(std::string_view("anwang/object/named/v1\0", 23));
  hasher.update(kind);
  hasher.update(std::string_view("\0", 1));
  hasher.update(name);
  return hasher.finish();
}

Hash32 authored_object_id(const Hash32& author, std::uint64_t author_seq) {
  Blake2b hasher;
  hasher.update(std::string_view("anwang/object/authored/v1\0", 26));
  hasher.update(author.view());
  Bytes seq;
  append_u64_be(seq, author_seq);
  hasher.update(seq);
  return hasher.finish();
}

}  // namespace anwang
