// hand_bundle.h — bundle files written by hand, for tests of `bundle import`.
//
// node::export_bundle writes only what an honest node sends: the ops the recipient may hold, in
// order, signed by the node that made it. Tests need what an attacker or a damaged USB stick
// holds: any records, a header naming one sender and signed by another key, the unsigned
// version-1 layout. HandBundle writes those, following node/BUNDLE.md (and, for version 1, the
// format of the releases before it). It is test code: the product never writes such files.
#pragma once

#include <sodium.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "crdt/keys.h"

namespace anwang::test {

class HandBundle {
 public:
  // A bundle for `recipient` whose header names `sender` and is signed by `signer` (version 2;
  // version 1 headers carry no signature, and `signer` is then unused).
  HandBundle(const PublicKey& recipient, const PublicKey& sender, const KeyPair& signer, std::uint32_t version = 2);

  void add_op(const Bytes& op);  // an op record
  void add_blob(const Bytes& data, const std::string& media_type);  // a blob begin record and one bytes record
  void add_end();                // the end record, FINAL, counting the op records added
  // Any record: type byte, body, FINAL tag or not.
  void add_record(std::uint8_t type, const Bytes& body, bool final);

  // The file's bytes; record_ends()[i] is the offset just past record i + 1 in them.
  const Bytes& bytes() const { return file_; }
  const std::vector<std::size_t>& record_ends() const { return record_ends_; }
  std::size_t header_bytes() const { return header_.size(); }
  void write(const std::filesystem::path& file) const;

 private:
  Bytes header_;
  Bytes file_;
  std::vector<std::size_t> record_ends_;
  std::uint64_t ops_ = 0;
  crypto_secretstream_xchacha20poly1305_state state_{};
};

}  // namespace anwang::test
