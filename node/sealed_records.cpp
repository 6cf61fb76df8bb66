#include "node/sealed_records.h"

#include <cstring>

namespace anwang::node {

RecordSealer::~RecordSealer() {
  sodium_memzero(&state_, sizeof state_);
  sodium_memzero(plain_.data(), plain_.size());
}

void RecordSealer::start(const SealedRecordKey& key, std::uint8_t* stream_header) {
  crypto_secretstream_xchacha20poly1305_init_push(&state_, stream_header, key.data());
}

ByteView RecordSealer::seal(std::uint8_t type, ByteView body, ByteView file_header, bool final) {
  // One buffer for every record: the length, then the sealed type and body.
  plain_.resize(1 + body.size());
  plain_[0] = type;
  if (!body.empty()) std::memcpy(plain_.data() + 1, body.data(), body.size());
  sealed_.resize(4 + plain_.size() + crypto_secretstream_xchacha20poly1305_ABYTES);
  unsigned long long cipher_len = 0;
  crypto_secretstream_xchacha20poly1305_push(&state_, sealed_.data() + 4, &cipher_len, plain_.data(), plain_.size(),
                                             file_header.data(), file_header.size(),
                                             final ? crypto_secretstream_xchacha20poly1305_TAG_FINAL : 0);
  auto length = static_cast<std::uint32_t>(cipher_len);
  for (int i = 0; i < 4; ++i) sealed_[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(length >> (8 * i));
  return ByteView(sealed_.data(), 4 + cipher_len);
}

RecordOpener::~RecordOpener() {
  sodium_memzero(&state_, sizeof state_);
  sodium_memzero(plain_.data(), plain_.size());
}

bool RecordOpener::start(const SealedRecordKey& key, const std::uint8_t* stream_header) {
  records_ = 0;
  damage_.clear();
  return crypto_secretstream_xchacha20poly1305_init_pull(&state_, stream_header, key.data()) == 0;
}

std::optional<RecordOpener::Record> RecordOpener::next(std::istream& in, ByteView file_header) {
  std::uint64_t number = records_ + 1;
  std::uint8_t length_bytes[4];
  in.read(reinterpret_cast<char*>(length_bytes), 4);
  if (in.gcount() == 0)
    return fail(records_ == 0 ? "the " + noun_ + " is cut short: it ends after its header, without its end record"
                              : "the " + noun_ + " is cut short: it ends after record " + std::to_string(records_) +
                                    ", without its end record");
  if (in.gcount() < 4) return fail("the " + noun_ + " is cut short inside record " + std::to_string(number));
  std::uint32_t length = read_u32_le(length_bytes);
  if (length > plain_bytes_max_ + crypto_secretstream_xchacha20poly1305_ABYTES ||
      length < crypto_secretstream_xchacha20poly1305_ABYTES + 1)
    return fail("record " + std::to_string(number) + " of the " + noun_ + " is damaged: its length (" +
                std::to_string(length) + " bytes) is one no record has");
  cipher_.resize(length);
  if (!in.read(reinterpret_cast<char*>(cipher_.data()), length))
    return fail("the " + noun_ + " is cut short inside record " + std::to_string(number));
  plain_.resize(length - crypto_secretstream_xchacha20poly1305_ABYTES);
  unsigned long long plain_len = 0;
  unsigned char tag = 0;
  if (crypto_secretstream_xchacha20poly1305_pull(&state_, plain_.data(), &plain_len, &tag, cipher_.data(), cipher_.size(),
                                                 file_header.data(), file_header.size()) != 0)
    return fail("record " + std::to_string(number) + " of the " + noun_ +
                " was altered or damaged (it fails authentication)");
  records_ = number;
  return Record{plain_[0], tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL,
                ByteView(plain_.data() + 1, static_cast<std::size_t>(plain_len) - 1)};
}

std::optional<RecordOpener::Record> RecordOpener::fail(std::string damage) {
  damage_ = std::move(damage);
  return std::nullopt;
}

}  // namespace anwang::node
