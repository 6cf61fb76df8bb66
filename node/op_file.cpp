#include "node/op_file.h"

#include <cstring>
#include <fstream>

#include "crdt/limits.h"
#include "node/atomic_file.h"

namespace anwang::node {

namespace fs = std::filesystem;

namespace {

constexpr char kMagic[8] = {'A', 'N', 'W', 'A', 'N', 'G', 'O', 'P'};

class OpFileReader {
 public:
  static Result<OpFileReader> open(const fs::path& file) {
    OpFileReader reader(file);
    if (!reader.in_) return Status::not_found("cannot open op file " + file.string());
    char header[12];
    if (!reader.in_.read(header, sizeof header) || std::memcmp(header, kMagic, 8) != 0)
      return Status::invalid(file.string() + " is not an anwang op file (it must start with ANWANGOP)");
    std::uint32_t version = read_u32_le(reinterpret_cast<const std::uint8_t*>(header + 8));
    if (version != kOpFileVersion)
      return Status::invalid(file.string() + " is op file version " + std::to_string(version) +
                             "; this anwang reads version " + std::to_string(kOpFileVersion));
    return reader;
  }

  // Next record, nullopt at a clean end of file.
  Result<std::optional<Bytes>> next() {
    std::uint8_t length_bytes[4];
    in_.read(reinterpret_cast<char*>(length_bytes), 4);
    if (in_.gcount() == 0 && in_.eof()) return std::optional<Bytes>();
    ++record_;
    if (in_.gcount() != 4) return truncated();
    std::uint32_t length = read_u32_le(length_bytes);
    if (length > limits::op_file_record_bytes_max)
      return Status::invalid(file_.string() + ": record " + std::to_string(record_) + " declares " +
                             std::to_string(length) + " bytes, over the op size limit of " +
                             std::to_string(limits::op_file_record_bytes_max));
    Bytes bytes(length);
    if (!in_.read(reinterpret_cast<char*>(bytes.data()), length)) return truncated();
    return std::optional<Bytes>(std::move(bytes));
  }

 private:
  explicit OpFileReader(const fs::path& file) : file_(file), in_(file, std::ios::binary) {}
  Status truncated() const {
    return Status::invalid(file_.string() + " ends in the middle of record " + std::to_string(record_));
  }
  fs::path file_;
  std::ifstream in_;
  std::uint64_t record_ = 0;
};

// Writes an op file through an AtomicFile (node/atomic_file.h): mode 0600, never through a link,
// in place only once whole.
class OpFileWriter {
 public:
  static Result<OpFileWriter> create(const fs::path& file) {
    auto out = AtomicFile::create(file);
    if (!out) return out.status();
    OpFileWriter writer(std::move(*out));
    Bytes header(kMagic, kMagic + 8);
    append_u32_le(header, kOpFileVersion);
    if (Status s = writer.out_->write(header); !s) return s;
    return writer;
  }
  Status add(ByteView op) {
    Bytes length;
    append_u32_le(length, static_cast<std::uint32_t>(op.size()));
    if (Status s = out_->write(length); !s) return s;
    return out_->write(op);
  }
  Status finish() { return out_->commit(); }

 private:
  explicit OpFileWriter(std::unique_ptr<AtomicFile> out) : out_(std::move(out)) {}
  std::unique_ptr<AtomicFile> out_;
};

}  // namespace

void ImportReport::add(IngestReport&& batch) {
  for (IngestOutcome& outcome : batch.outcomes) {
    switch (outcome.kind) {
      case IngestOutcome::Kind::kAccepted: ++accepted; break;
      case IngestOutcome::Kind::kDuplicate: ++duplicate; break;
      case IngestOutcome::Kind::kPending: ++pending; break;
      case IngestOutcome::Kind::kRefused:
        ++refused;
        refusals.push_back(std::move(outcome));
        break;
    }
  }
  std::uint64_t released = std::min<std::uint64_t>(batch.released_from_pending, pending);
  pending -= released;
  accepted += released;
  released_from_pending += batch.released_from_pending;
}

Result<std::uint64_t> export_ops(const Store& store, const fs::path& file) {
  auto writer = OpFileWriter::create(file);
  if (!writer) return writer.status();
  std::uint64_t count = 0;
  Status written;
  Status s = store.for_each_op([&](const Op& op) {
    if (written) written = writer->add(op.bytes);
    ++count;
  });
  if (!s) return s;
  if (!written) return written;
  if (Status finished = writer->finish(); !finished) return finished;
  return count;
}

Result<ImportReport> import_ops(Store& store, const fs::path& file,
                                const std::function<void(std::uint64_t)>& progress) {
  auto reader = OpFileReader::open(file);
  if (!reader) return reader.status();
  ImportReport report;
  std::uint64_t read = 0;
  std::vector<Bytes> batch;
  auto flush = [&]() -> Status {
    if (batch.empty()) return Status::ok();
    auto ingested = store.ingest(batch);
    if (!ingested) return ingested.status();
    report.add(std::move(*ingested));
    batch.clear();
    if (progress) progress(read);
    return Status::ok();
  };
  while (true) {
    auto record = reader->next();
    if (!record) {
      if (Status s = flush(); !s) return s;
      return record.status();
    }
    if (!*record) break;
    batch.push_back(std::move(**record));
    ++read;
    if (batch.size() == limits::ingest_batch_ops_max)
      if (Status s = flush(); !s) return s;
  }
  if (Status s = flush(); !s) return s;
  return report;
}

Result<std::vector<Bytes>> read_op_file(const fs::path& file) {
  auto reader = OpFileReader::open(file);
  if (!reader) return reader.status();
  std::vector<Bytes> ops;
  while (true) {
    auto record = reader->next();
    if (!record) return record.status();
    if (!*record) return ops;
    ops.push_back(std::move(**record));
  }
}

Status write_op_file(const fs::path& file, const std::vector<Bytes>& ops) {
  auto writer = OpFileWriter::create(file);
  if (!writer) return writer.status();
  for (const Bytes& op : ops)
    if (Status s = writer->add(op); !s) return s;
  return writer->finish();
}

}  // namespace anwang::node
