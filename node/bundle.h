// bundle.h — ops and blobs carried by hand (a USB stick to the township), encrypted to one node.
//
// File format (version 1):
//   "ANWANGBN" | u32 LE version | recipient node key (32) | sender node key (32)
//   | ephemeral X25519 public key (32) | crypto_secretstream header (24)
//   then secretstream messages, each authenticated with the plain header as additional data:
//     0x01 op bytes | 0x02 blob begin: hash(32) size(u64 BE) media type | 0x03 blob bytes
//     | 0x04 end (tagged FINAL; a file without it was cut short)
// The key is BLAKE2b-256("anwang/bundle/v1" | X25519(ephemeral, recipient) | ephemeral public |
// recipient). Only the recipient node can read it; every op inside is verified on import like
// any other. Export writes what the recipient may hold (its enrolled scope).
#pragma once

#include <filesystem>

#include "node/op_file.h"
#include "node/store.h"

namespace anwang::node {

inline constexpr std::uint32_t kBundleVersion = 1;

struct BundleExportOptions {
  PublicKey recipient;
  bool since_last = false;  // only what arrived since the last bundle for this recipient
  bool blobs = true;
};

struct BundleExportReport {
  std::string scope;        // the recipient's enrolled scope
  std::uint64_t ops = 0;
  std::uint64_t blobs = 0;
  std::uint64_t bytes = 0;  // file size
};

struct BundleImportReport {
  ImportReport ops;
  std::uint64_t blobs = 0;
  PublicKey sender;
};

Result<BundleExportReport> export_bundle(Store& store, const PublicKey& sender, const BundleExportOptions& options,
                                         const std::filesystem::path& file);
// REQUIRES: node_key is this node's key (the bundle's recipient).
Result<BundleImportReport> import_bundle(Store& store, const KeyPair& node_key, const std::filesystem::path& file);

}  // namespace anwang::node
