// bundle.h — ops and blobs carried by hand (a USB stick to the township), encrypted to one node
// and signed by the node that made it.
//
// File format (version 2; node/BUNDLE.md has it with the reasons):
//   header (196 bytes): "ANWANGBN" | u32 LE version | recipient node key (32) | sender node key (32)
//     | ephemeral X25519 public key (32) | crypto_secretstream header (24)
//     | Ed25519 signature (64) by the sender node key over "anwang/bundle/v2\0" | the 132 bytes before it
//   then records, each a u32 LE length and one secretstream message authenticated with the whole
//   header as additional data, whose first plain byte is the record's type:
//     0x01 op bytes | 0x02 blob begin: hash(32) size(u64 BE) media type | 0x03 blob bytes
//     | 0x04 end: u64 BE count of op records (tagged FINAL; a file without it was cut short)
// The stream key is BLAKE2b-256("anwang/bundle/v2" | X25519(ephemeral, recipient) | ephemeral
// public | recipient | sender). Only the recipient node can read it; only the holder of the
// ephemeral secret, which the signature binds to the sender, can write records the recipient
// accepts under that header — so a valid header signature vouches for every record.
//
// Export writes what the recipient may hold (its enrolled scopes). Import, before it reads any
// record, checks the header's signature and that the sender is an enrolled node of this node's
// network; then it ingests, in batches, every op of the bundle this node may hold (an op no
// enrolled scope of this node may hold is refused as `out_of_scope`, without touching the store),
// and keeps a blob only when an op this node holds references it. A node that is not enrolled
// yet (a new node joining) has no authority of its own to judge the sender by: it reads the
// bundle into a scratch store first (BundleImportOptions::staging_dir), with a copy of whatever
// it holds, and judges the sender and its own scopes by the authority ops found there; only
// then does it import for real. A version-1 bundle (unsigned) is refused.
//
// A bundle damaged part-way (cut short, altered) is imported up to the damage: every op read
// before it is committed and counted, nothing after it is read, and the report says where it
// stopped (BundleImportReport::damage). Single-threaded: one call uses the Store it is given.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "node/op_file.h"
#include "node/store.h"

namespace anwang::node {

inline constexpr std::uint32_t kBundleVersion = 2;

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

struct BundleImportOptions {
  // A directory this node alone uses, where a node that is not enrolled yet stages a bundle (see
  // above); created and removed by the call, and emptied first should an earlier call have died
  // midway. Empty: such a node refuses every bundle.
  std::filesystem::path staging_dir;
  std::uint64_t staging_map_bytes = 0;  // the scratch store's map; 0: the default from limits.h
};

struct BundleImportReport {
  PublicKey sender;
  std::vector<std::string> sender_scopes;  // the sender's enrolled scopes, widest first
  bool staged = false;                     // judged by the bundle's own authority ops (a joining node)
  // The ops read and what ingest made of them, all committed: accepted, duplicate, pending,
  // refused (each refusal with its reason, `out_of_scope` among them).
  std::uint64_t ops_read = 0;
  ImportReport ops;
  std::uint64_t blobs = 0;          // blobs stored
  std::uint64_t blobs_skipped = 0;       // held already: read past
  std::uint64_t blobs_unreferenced = 0;  // referenced by no op this node holds (nor one before it in the bundle): refused, read past
  // Set when the bundle is damaged: one sentence naming the record it stopped at and why (cut
  // short, altered, malformed). Everything above was committed; nothing after it was read.
  std::optional<std::string> damage;
  // Not ok when this node's store or disk failed part-way (full, I/O): the import stopped there,
  // with what is counted above committed.
  Status store_failure;
};

Result<BundleExportReport> export_bundle(Store& store, const KeyPair& sender_node_key, const BundleExportOptions& options,
                                         const std::filesystem::path& file);

// An error Status means nothing was written: not a bundle, another version, made for another
// node, a header whose signature fails, a sender that is not an enrolled node, a node that is not
// enrolled in the bundle's network, or a store that failed before any record was read. Once
// records are read, damage and store failures are in the report, beside what was committed.
// REQUIRES: node_key is this node's key (the bundle's recipient).
Result<BundleImportReport> import_bundle(Store& store, const KeyPair& node_key, const std::filesystem::path& file,
                                         const BundleImportOptions& options = {});

}  // namespace anwang::node
