// op_file.h — files of raw signed ops (`anwang op export|import`), for tests and repair.
//
// Format (version 1): the 8 bytes "ANWANGOP", u32 LE format version, then records of u32 LE
// length + one op's canonical bytes. Export writes ops in (timestamp, id) order, so parents come
// before children; import accepts any order and goes through the store's ingest path, batch by
// batch, each batch committed before the next is read.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <string>

#include "node/store.h"

namespace anwang::node {

inline constexpr std::uint32_t kOpFileVersion = 1;

struct ImportReport {
  std::uint64_t accepted = 0;
  std::uint64_t duplicate = 0;
  std::uint64_t pending = 0;
  std::uint64_t refused = 0;
  std::uint64_t released_from_pending = 0;
  std::vector<IngestOutcome> refusals;  // each refused op with its reason

  // Counts one ingested batch. Ops of earlier batches it completed move from pending to accepted.
  void add(IngestReport&& batch);
};

// Writes every op of the store. Returns the number of ops written.
Result<std::uint64_t> export_ops(const Store& store, const std::filesystem::path& file);

// Ingests every op in the file. `progress` is called after each committed batch with the
// number of ops read so far. A malformed file stops the import with an error; batches already
// committed stay (they were verified like any op).
Result<ImportReport> import_ops(Store& store, const std::filesystem::path& file,
                                const std::function<void(std::uint64_t)>& progress = {});

// Lower-level: reads all records of an op file (tests use it to tamper with files).
Result<std::vector<Bytes>> read_op_file(const std::filesystem::path& file);
Status write_op_file(const std::filesystem::path& file, const std::vector<Bytes>& ops);

}  // namespace anwang::node
