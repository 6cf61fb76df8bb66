// sealed_records.h — the framing that bundles (node/BUNDLE.md) and backups (node/BACKUP.md) share:
// a file's plain header, then records sealed with libsodium's
// crypto_secretstream_xchacha20poly1305.
//
// Each record is a u32 little-endian length, then that many bytes: one secretstream message (the
// plain text plus 17 bytes of tag) whose additional data is the file's whole header, so a header
// altered after it was written fails at the first record. The plain text's first byte is the
// record's type. Secretstream numbers its messages, so a record removed, repeated or moved fails
// authentication; the last record is tagged FINAL, so a file cut after a whole record is told
// from a whole one.
//
// The key comes from the file's own scheme (a key exchange for bundles, a passphrase or a sealed
// key for backups); these classes only seal and open. Neither is thread-safe: one object per file,
// used by one thread. The stream state holds key material and is wiped when the object goes.
#pragma once

#include <sodium.h>

#include <array>
#include <istream>
#include <optional>
#include <string>

#include "crdt/bytes.h"

namespace anwang::node {

inline constexpr std::size_t kSealedRecordKeyBytes = crypto_secretstream_xchacha20poly1305_KEYBYTES;
inline constexpr std::size_t kSealedRecordHeaderBytes = crypto_secretstream_xchacha20poly1305_HEADERBYTES;
using SealedRecordKey = std::array<std::uint8_t, kSealedRecordKeyBytes>;

class RecordSealer {
 public:
  RecordSealer() = default;
  RecordSealer(const RecordSealer&) = delete;
  RecordSealer& operator=(const RecordSealer&) = delete;
  ~RecordSealer();

  // Starts a stream under `key`: its secretstream header (kSealedRecordHeaderBytes) is written to
  // `stream_header`, which the caller puts in the file's header.
  void start(const SealedRecordKey& key, std::uint8_t* stream_header);
  // One record, framed (length, then the sealed type and body) with `file_header` as additional
  // data; `final` for the last record only. Valid until the next call.
  ByteView seal(std::uint8_t type, ByteView body, ByteView file_header, bool final = false);

 private:
  crypto_secretstream_xchacha20poly1305_state state_{};
  Bytes plain_, sealed_;  // reused for every record
};

class RecordOpener {
 public:
  struct Record {
    std::uint8_t type = 0;
    bool final = false;
    ByteView body;  // valid until the next call of next()
  };

  // `file_noun`: how damage names the file ("bundle", "backup"). `plain_bytes_max`: the longest
  // plain text of a record (type and body); a longer length is damage, found before anything is
  // allocated.
  RecordOpener(std::string file_noun, std::size_t plain_bytes_max)
      : noun_(std::move(file_noun)), plain_bytes_max_(plain_bytes_max) {}
  RecordOpener(const RecordOpener&) = delete;
  RecordOpener& operator=(const RecordOpener&) = delete;
  ~RecordOpener();

  // Starts reading a stream under `key` from its secretstream header; false when the header is
  // invalid. Records are numbered from 1 again.
  bool start(const SealedRecordKey& key, const std::uint8_t* stream_header);
  // The next record from `in`, or nothing when the file is damaged at this point: cut short, an
  // impossible length, or a record that fails authentication (damage() says which, in one
  // sentence naming the record).
  std::optional<Record> next(std::istream& in, ByteView file_header);

  std::uint64_t records() const { return records_; }  // records read and authenticated
  const std::string& damage() const { return damage_; }

 private:
  std::optional<Record> fail(std::string damage);

  std::string noun_;
  std::size_t plain_bytes_max_;
  crypto_secretstream_xchacha20poly1305_state state_{};
  std::uint64_t records_ = 0;
  std::string damage_;
  Bytes cipher_, plain_;  // reused for every record
};

}  // namespace anwang::node
