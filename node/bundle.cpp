#include "node/bundle.h"

#include <sodium.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <variant>

#include "crdt/hash.h"
#include "crdt/limits.h"
#include "node/atomic_file.h"
#include "node/sealed_records.h"

namespace anwang::node {

namespace fs = std::filesystem;

namespace {

constexpr char kMagic[8] = {'A', 'N', 'W', 'A', 'N', 'G', 'B', 'N'};
// The header: magic, version, recipient, sender, ephemeral key, secretstream header — the bytes
// the sender signs — then the signature.
constexpr std::size_t kRecipientAt = 12;
constexpr std::size_t kSenderAt = 44;
constexpr std::size_t kEphemeralAt = 76;
constexpr std::size_t kStreamHeaderAt = 108;
constexpr std::size_t kSignedBytes = kStreamHeaderAt + crypto_secretstream_xchacha20poly1305_HEADERBYTES;
constexpr std::size_t kHeaderBytes = kSignedBytes + crypto_sign_BYTES;
static_assert(kSignedBytes == 132 && kHeaderBytes == 196, "node/BUNDLE.md gives these offsets");
// The signature's context string, its terminating zero included (as "anwang/op/v1\0" for ops): a
// bundle header's signature is valid as nothing else a node key signs (handshake transcripts).
constexpr std::string_view kSignatureContext{"anwang/bundle/v2\0", 17};
constexpr std::size_t kMessageBytesMax = limits::op_bytes_max + 64;  // an op or a blob chunk, plus framing
static_assert(limits::blob_chunk_bytes + 64 <= kMessageBytesMax);
constexpr std::size_t kBlobBeginBytesMin = 32 + 8 + 1;  // hash, size, a media type of one byte at least

enum RecordType : std::uint8_t { kOp = 1, kBlobBegin = 2, kBlobBytes = 3, kEnd = 4 };

std::array<std::uint8_t, 32> bundle_key(ByteView shared, ByteView ephemeral, const PublicKey& recipient,
                                        const PublicKey& sender) {
  Blake2b hasher;
  hasher.update(std::string_view("anwang/bundle/v2"));
  hasher.update(shared);
  hasher.update(ephemeral);
  hasher.update(recipient.view());
  hasher.update(sender.view());
  return hasher.finish().bytes;
}

// What the sender's signature covers: the context string, then the header up to the signature.
Bytes signed_message(ByteView header) {
  Bytes message(kSignatureContext.begin(), kSignatureContext.end());
  message.insert(message.end(), header.begin(), header.begin() + kSignedBytes);
  return message;
}

std::string count_of(std::uint64_t n, const char* what) {
  return std::to_string(n) + " " + what + (n == 1 ? "" : "s");
}

class Writer {
 public:
  Status open(const fs::path& file, const PublicKey& recipient, const KeyPair& sender) {
    auto x_recipient = x25519_public(recipient);
    if (!x_recipient) return Status::invalid("key " + recipient.hex() + " cannot receive encrypted bundles");
    std::array<std::uint8_t, 32> eph_pk{}, eph_sk{}, shared{};
    crypto_box_keypair(eph_pk.data(), eph_sk.data());
    int rc = crypto_scalarmult(shared.data(), eph_sk.data(), x_recipient->data());
    sodium_memzero(eph_sk.data(), eph_sk.size());
    if (rc != 0) return Status::invalid("key " + recipient.hex() + " cannot receive encrypted bundles");
    auto key = bundle_key(shared, eph_pk, recipient, sender.public_key());
    sodium_memzero(shared.data(), shared.size());
    header_.assign(kMagic, kMagic + 8);
    append_u32_le(header_, kBundleVersion);
    header_.insert(header_.end(), recipient.bytes.begin(), recipient.bytes.end());
    header_.insert(header_.end(), sender.public_key().bytes.begin(), sender.public_key().bytes.end());
    header_.insert(header_.end(), eph_pk.begin(), eph_pk.end());
    header_.resize(kSignedBytes);
    sealer_.start(key, header_.data() + kStreamHeaderAt);
    sodium_memzero(key.data(), key.size());
    Signature signature = sender.sign(signed_message(header_));
    header_.insert(header_.end(), signature.begin(), signature.end());
    auto out = AtomicFile::create(file);
    if (!out) return out.status();
    out_ = std::move(*out);
    return out_->write(header_);
  }

  void push(RecordType type, ByteView body, bool final = false) {
    ByteView sealed = sealer_.seal(type, body, header_, final);
    if (written_) written_ = out_->write(sealed);
  }

  // Puts the bundle in place: the first write failure, if any, else the commit's outcome.
  Status finish() {
    if (!written_) return written_;
    return out_->commit();
  }

 private:
  RecordSealer sealer_;
  Bytes header_;
  std::unique_ptr<AtomicFile> out_;
  Status written_;
};

// Reads a bundle: its header, checked whole before any record, then its records one at a time,
// numbered from 1. A record that is cut short or fails authentication ends the reading, and
// damage() says where and how.
class Reader {
 public:
  using Record = RecordOpener::Record;

  // Opens `file` (again, if this reader read it before: from its start).
  Status open(const fs::path& file, const KeyPair& node_key) {
    in_.close();
    in_.clear();
    in_.open(file, std::ios::binary);
    if (!in_) return Status::not_found("cannot open bundle " + file.string());
    header_.assign(kHeaderBytes, 0);
    if (!in_.read(reinterpret_cast<char*>(header_.data()), 12) || std::memcmp(header_.data(), kMagic, 8) != 0)
      return Status::invalid(file.string() + " is not an anwang bundle");
    std::uint32_t version = read_u32_le(header_.data() + 8);
    if (version == 1)
      return Status::invalid(file.string() +
                             " was made by an older anwang: it carries no proof of its sender; export it again with this release");
    if (version != kBundleVersion)
      return Status::invalid(file.string() + " is bundle version " + std::to_string(version) + "; this anwang reads version " +
                             std::to_string(kBundleVersion));
    if (!in_.read(reinterpret_cast<char*>(header_.data() + 12), static_cast<std::streamsize>(kHeaderBytes - 12)))
      return Status::invalid(file.string() + " is not an anwang bundle: it ends inside its header");
    PublicKey recipient = *Hash32::from_view(ByteView(header_.data() + kRecipientAt, 32));
    sender_ = *Hash32::from_view(ByteView(header_.data() + kSenderAt, 32));
    if (recipient != node_key.public_key())
      return Status::error(Status::Code::kRefused, "this bundle was made for node " + recipient.hex() +
                                                       ", not for this node (" + node_key.public_key().hex() + ")");
    if (!verify_signature(sender_, signed_message(header_), ByteView(header_.data() + kSignedBytes, crypto_sign_BYTES)))
      return Status::error(Status::Code::kRefused, "the bundle's header is not signed by the node it names as its sender (" +
                                                       sender_.hex() + "): it was altered or forged, and nothing was imported");
    ByteView eph(header_.data() + kEphemeralAt, 32);
    auto x_secret = node_key.x25519_secret();
    std::array<std::uint8_t, 32> shared{};
    int rc = crypto_scalarmult(shared.data(), x_secret.data(), eph.data());
    sodium_memzero(x_secret.data(), x_secret.size());
    if (rc != 0) return Status::error(Status::Code::kRefused, "the bundle's key exchange is invalid");
    auto key = bundle_key(shared, eph, recipient, sender_);
    sodium_memzero(shared.data(), shared.size());
    bool started = opener_.start(key, header_.data() + kStreamHeaderAt);
    sodium_memzero(key.data(), key.size());
    if (!started) return Status::error(Status::Code::kRefused, "the bundle's header is damaged");
    return Status::ok();
  }

  const PublicKey& sender() const { return sender_; }
  const Bytes& header() const { return header_; }
  std::uint64_t records() const { return opener_.records(); }  // records read and authenticated
  const std::string& damage() const { return opener_.damage(); }

  // The next record, or nothing when the bundle is damaged at this point (see damage()).
  std::optional<Record> next() { return opener_.next(in_, header_); }

 private:
  Bytes header_;
  PublicKey sender_;
  RecordOpener opener_{"bundle", kMessageBytesMax};
  std::ifstream in_;
};

// One pass over the records of an opened bundle into a store. Ops go to ingest in batches; with
// `scopes`, an op none of those scopes may hold is refused as out_of_scope without touching the
// store. With `keep_blobs`, a blob is stored when an op the store holds references it and the
// store lacks it; every other blob is read past. Damage (the reader's, or a malformed record) and
// a store failure end the pass, after what was read before them is committed; both land in the
// report.
class Importer {
 public:
  Importer(Store& store, const std::vector<std::string>* scopes, bool keep_blobs, BundleImportReport& report)
      : store_(store), scopes_(scopes), keep_blobs_(keep_blobs), report_(report) {}

  void run(Reader& reader) {
    Status failed;
    while (failed && !damage_ && !ended_) {
      std::optional<Reader::Record> record = reader.next();
      if (!record)
        damage_ = reader.damage();
      else
        failed = take(*record, reader.records());
    }
    if (failed) failed = flush();  // what was read before the damage is committed
    report_.store_failure = failed;
    if (damage_) {
      std::uint64_t n = report_.ops_read;
      report_.damage = *damage_ + (n == 0   ? std::string("; no op came before it, and the rest was not read")
                                   : n == 1 ? std::string("; the 1 op before it was imported as counted, and the rest was not read")
                                            : "; the " + std::to_string(n) +
                                                  " ops before it were imported as counted, and the rest was not read");
    }
  }

  // Where the bundle is damaged, if it is, without what was imported before it.
  const std::optional<std::string>& damage() const { return damage_; }

 private:
  struct OpenBlob {
    Attachment attachment;
    bool keep = false;
    bool referenced = true;  // an op this node holds names it (kept, or held already)
    std::uint64_t first_record = 0;
    std::uint64_t received = 0;
    Bytes bytes;     // when kept
    Blake2b hasher;  // when kept: the running hash of `bytes`
  };

  Status take(const Reader::Record& record, std::uint64_t number) {
    if (record.final != (record.type == kEnd))
      return malformed(number, record.final ? "a record other than the end record is marked final"
                                            : "its end record is not marked final");
    if (record.type != kBlobBytes)
      if (Status s = finish_blob(); !s || damage_) return s;
    switch (record.type) {
      case kOp:
        ++report_.ops_read;
        return add_op(record.body);
      case kBlobBegin:
        if (Status s = flush(); !s) return s;  // the ops before it may reference it
        return begin_blob(record.body, number);
      case kBlobBytes:
        if (!blob_ || record.body.size() > blob_->attachment.size - blob_->received)
          return malformed(number, "it holds blob bytes that do not fit their blob");
        blob_->received += record.body.size();
        if (blob_->keep) {
          blob_->hasher.update(record.body);
          blob_->bytes.insert(blob_->bytes.end(), record.body.begin(), record.body.end());
        }
        return Status::ok();
      case kEnd: {
        if (Status s = flush(); !s) return s;
        if (record.body.size() != 8) return malformed(number, "an end record of " + count_of(record.body.size(), "byte"));
        std::uint64_t counted = read_u64_be(record.body.data());
        if (counted != report_.ops_read)
          return malformed(number, "its end record counts " + count_of(counted, "op") + " but the bundle holds " +
                                       std::to_string(report_.ops_read));
        ended_ = true;
        return Status::ok();
      }
      default:
        return malformed(number, "a record of unknown type " + std::to_string(record.type));
    }
  }

  Status add_op(ByteView bytes) {
    if (std::optional<IngestOutcome> refused = out_of_scope(bytes)) {
      IngestReport alone;
      alone.outcomes.push_back(std::move(*refused));
      report_.ops.add(std::move(alone));
      return Status::ok();
    }
    batch_.emplace_back(bytes.begin(), bytes.end());
    if (batch_.size() == limits::ingest_batch_ops_max) return flush();
    return Status::ok();
  }

  // The refusal of an op none of this node's scopes may hold (分级管理与授权准入), read from its
  // scope and payload kind alone as a sync session does. Bytes that do not decode are left to
  // ingest, which refuses them with their reason.
  std::optional<IngestOutcome> out_of_scope(ByteView bytes) const {
    if (scopes_ == nullptr) return std::nullopt;
    std::optional<Op> scoped = decode_op_scope(bytes);
    if (!scoped)
      if (auto decoded = decode_op(bytes, DecodeMode::kTrusted); std::holds_alternative<Op>(decoded))
        scoped = std::move(std::get<Op>(decoded));
    if (!scoped) return std::nullopt;
    Reach reach = reach_of(*scoped);
    if (std::any_of(scopes_->begin(), scopes_->end(), [&reach](const std::string& scope) { return visible_to(reach, scope); }))
      return std::nullopt;
    std::string enrolled;
    for (const std::string& scope : *scopes_) enrolled += (enrolled.empty() ? "" : ", ") + scope;
    return IngestOutcome{IngestOutcome::Kind::kRefused, blake2b_256(bytes), Refusal::kOutOfScope,
                         "this node, enrolled for " + enrolled + ", may not hold an op of scope " + reach.scope +
                             (reach.notice ? " (a notice not sent to it)" : "")};
  }

  Status flush() {
    if (batch_.empty()) return Status::ok();
    auto ingested = store_.ingest(batch_);
    batch_.clear();
    if (!ingested) return ingested.status();
    report_.ops.add(std::move(*ingested));
    return Status::ok();
  }

  Status begin_blob(ByteView body, std::uint64_t number) {
    if (body.size() < kBlobBeginBytesMin) return malformed(number, "a blob record of " + count_of(body.size(), "byte"));
    Attachment claimed{*Hash32::from_view(body.first(32)), read_u64_be(body.data() + 32),
                       std::string(body.begin() + 40, body.end())};
    if (claimed.size > limits::blob_bytes_max)
      return malformed(number, "blob " + claimed.hash.hex() + " of " + std::to_string(claimed.size) +
                                   " bytes, above the limit of " + std::to_string(limits::blob_bytes_max));
    bool keep = false, referenced = true;
    if (keep_blobs_) {
      auto wanted = store_.missing_blob(claimed.hash);
      if (!wanted) return wanted.status();
      if (*wanted) {
        if ((*wanted)->size != claimed.size)
          return malformed(number, "blob " + claimed.hash.hex() + " of " + std::to_string(claimed.size) +
                                       " bytes, where the attachment naming it says " + std::to_string((*wanted)->size));
        claimed = std::move(**wanted);  // the attachment as the op's author signed it
        keep = true;
      } else {
        auto held = store_.has_blob(claimed.hash);
        if (!held) return held.status();
        referenced = *held;
      }
    }
    blob_ = OpenBlob{std::move(claimed), keep, referenced, number, 0, {}, {}};
    return Status::ok();
  }

  Status finish_blob() {
    if (!blob_) return Status::ok();
    OpenBlob blob = std::move(*blob_);
    blob_.reset();
    if (blob.received != blob.attachment.size)
      return malformed(blob.first_record, "blob " + blob.attachment.hash.hex() + " ends after " +
                                              std::to_string(blob.received) + " of its " +
                                              std::to_string(blob.attachment.size) + " bytes");
    if (!blob.keep) {
      ++(blob.referenced ? report_.blobs_skipped : report_.blobs_unreferenced);
      return Status::ok();
    }
    if (blob.hasher.finish() != blob.attachment.hash)
      return malformed(blob.first_record, "blob " + blob.attachment.hash.hex() + " does not match its hash");
    auto stored = store_.put_blob(blob.bytes, blob.attachment.media_type);
    if (!stored) return stored.status();
    ++report_.blobs;
    return Status::ok();
  }

  // Records the damage of an authenticated record the sender should never have written.
  Status malformed(std::uint64_t number, const std::string& what) {
    damage_ = "record " + std::to_string(number) + " of the bundle is malformed (" + what + ")";
    return Status::ok();
  }

  Store& store_;
  const std::vector<std::string>* scopes_;  // null: every op goes to ingest
  bool keep_blobs_;
  BundleImportReport& report_;
  std::vector<Bytes> batch_;
  std::optional<OpenBlob> blob_;
  std::optional<std::string> damage_;
  bool ended_ = false;
};

// Copies every op `from` holds into `to`, in batches (parents before children).
Status copy_ops(const Store& from, Store& to) {
  std::vector<Bytes> batch;
  Status copied;
  auto ingest = [&]() {
    if (batch.empty() || !copied) return;
    if (auto ingested = to.ingest(batch); !ingested) copied = ingested.status();
    batch.clear();
  };
  Status walked = from.for_each_op([&](const Op& op) {
    batch.push_back(op.bytes);
    if (batch.size() == limits::ingest_batch_ops_max) ingest();
  });
  if (!walked) return walked;
  ingest();
  return copied;
}

// Removes a directory (a scratch store) when it goes out of scope.
class ScratchDir {
 public:
  explicit ScratchDir(fs::path dir) : dir_(std::move(dir)) { remove(); }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  ~ScratchDir() { remove(); }

 private:
  void remove() const {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  fs::path dir_;
};

// What a node that is not enrolled learns from staging a bundle.
struct Staged {
  std::vector<std::string> own_scopes;     // this node's enrolled scopes
  std::vector<std::string> sender_scopes;  // the sender's
  std::optional<std::string> damage;       // where the bundle is damaged, if it is
};

// Reads the bundle `reader` opened into a scratch store holding a copy of this node's ops, and
// returns the scopes its authority ops give this node and the sender. Writes nothing to `store`.
Result<Staged> stage(const Store& store, const KeyPair& node_key, Reader& reader, const BundleImportOptions& options) {
  if (options.staging_dir.empty())
    return Status::invalid("this node is not enrolled in a network yet and was given no place to stage a bundle");
  ScratchDir cleanup(options.staging_dir);  // declared first: removed after the scratch store is closed
  StoreOptions scratch_options;
  scratch_options.dir = options.staging_dir;
  scratch_options.map_bytes = options.staging_map_bytes;
  scratch_options.durable_commits = false;  // thrown away when done
  auto scratch = Store::open(scratch_options);
  if (!scratch) return scratch.status();
  if (Status copied = copy_ops(store, **scratch); !copied) return copied;
  BundleImportReport staged;
  Importer importer(**scratch, nullptr, /*keep_blobs=*/false, staged);
  importer.run(reader);
  if (!staged.store_failure) return staged.store_failure;
  auto authority = (*scratch)->authority();
  if (!authority) return authority.status();
  return Staged{(*authority)->node_scopes(node_key.public_key()), (*authority)->node_scopes(reader.sender()),
                importer.damage()};
}

}  // namespace

Result<BundleExportReport> export_bundle(Store& store, const KeyPair& sender_node_key, const BundleExportOptions& options,
                                         const fs::path& file) {
  auto authority = store.authority();
  if (!authority) return authority.status();
  if ((*authority)->node_scopes(sender_node_key.public_key()).empty())
    return Status::invalid("this node (" + sender_node_key.public_key().hex() +
                           ") is not enrolled in this network, so no node would accept a bundle it signs: enrol it first "
                           "with 'anwang node enroll NODEKEY --scope CODE'");
  auto scopes = (*authority)->node_scopes(options.recipient);
  if (scopes.empty())
    return Status::invalid("node " + options.recipient.hex() +
                           " is not enrolled in this network: enrol it first with 'anwang node enroll NODEKEY --scope CODE'");
  BundleExportReport report;
  report.scope = scopes.front();
  std::string counter = "bundle_sent/" + options.recipient.hex();
  std::uint64_t after = 0;
  if (options.since_last) {
    auto last = store.local_counter(counter);
    if (!last) return last.status();
    after = *last;
  }
  // Ops in arrival order; re-sort by (time, id) so parents precede children in the file.
  std::vector<std::shared_ptr<const Op>> ops;
  auto walked = store.for_each_arrival_after(
      after,
      [&](const Reach& reach) {
        return std::any_of(scopes.begin(), scopes.end(), [&](const std::string& scope) { return visible_to(reach, scope); });
      },
      [&](std::uint64_t, std::shared_ptr<const Op> op) { ops.push_back(std::move(op)); });
  if (!walked) return walked.status();
  std::uint64_t last_arrival = *walked;  // past every op that arrived, visible to the recipient or not
  std::sort(ops.begin(), ops.end(), [](const std::shared_ptr<const Op>& a, const std::shared_ptr<const Op>& b) {
    return std::tie(a->fields.hlc, a->id) < std::tie(b->fields.hlc, b->id);
  });
  Writer writer;
  if (Status opened = writer.open(file, options.recipient, sender_node_key); !opened) return opened;
  std::vector<Attachment> attachments;
  for (const auto& held : ops) {
    const Op& op = *held;
    writer.push(kOp, op.bytes);
    if (const std::vector<Attachment>* photos = attachments_of(op.fields.payload))
      attachments.insert(attachments.end(), photos->begin(), photos->end());
    ++report.ops;
  }
  if (options.blobs) {
    std::sort(attachments.begin(), attachments.end(), [](const Attachment& a, const Attachment& b) { return a.hash < b.hash; });
    attachments.erase(std::unique(attachments.begin(), attachments.end(),
                                  [](const Attachment& a, const Attachment& b) { return a.hash == b.hash; }),
                      attachments.end());
    for (const Attachment& a : attachments) {
      auto held = store.has_blob(a.hash);
      if (!held) return held.status();
      if (!*held) continue;  // this node has not received it yet
      Bytes begin(a.hash.bytes.begin(), a.hash.bytes.end());
      append_u64_be(begin, a.size);
      begin.insert(begin.end(), a.media_type.begin(), a.media_type.end());
      writer.push(kBlobBegin, begin);
      Status read = store.read_blob(a.hash, [&writer](ByteView chunk) { writer.push(kBlobBytes, chunk); });
      if (!read) return read;
      ++report.blobs;
    }
  }
  Bytes end;
  append_u64_be(end, report.ops);
  writer.push(kEnd, end, /*final=*/true);
  if (Status finished = writer.finish(); !finished) return finished;
  std::error_code ec;
  report.bytes = fs::file_size(file, ec);
  if (Status saved = store.set_local_counter(counter, last_arrival); !saved) return saved;
  return report;
}

Result<BundleImportReport> import_bundle(Store& store, const KeyPair& node_key, const fs::path& file,
                                         const BundleImportOptions& options) {
  Reader reader;
  if (Status opened = reader.open(file, node_key); !opened) return opened;
  BundleImportReport report;
  report.sender = reader.sender();
  auto authority = store.authority();
  if (!authority) return authority.status();
  std::vector<std::string> scopes = (*authority)->node_scopes(node_key.public_key());
  if (!scopes.empty()) {
    report.sender_scopes = (*authority)->node_scopes(report.sender);
    if (report.sender_scopes.empty())
      return Status::error(Status::Code::kRefused,
                           "this bundle is signed by node " + report.sender.hex() +
                               ", which is not an enrolled node of this network as this node knows it, so nothing was "
                               "imported (a node enrolled lately: this node must first receive its enrolment from another)");
  } else {
    // A node joining: judge the sender, and learn this node's scopes, by the bundle's own
    // authority ops, then read the bundle again for real.
    auto staged = stage(store, node_key, reader, options);
    if (!staged) return staged.status();
    std::string read_so_far = staged->damage ? " (as far as it could be read: " + *staged->damage + ")" : "";
    if (staged->own_scopes.empty())
      return Status::error(Status::Code::kRefused,
                           "this node (" + node_key.public_key().hex() +
                               ") is not enrolled in the network this bundle carries" + read_so_far +
                               ", so it may hold none of it and nothing was imported: enrol it with 'anwang node enroll "
                               "NODEKEY --scope CODE' and export the bundle again");
    if (staged->sender_scopes.empty())
      return Status::error(Status::Code::kRefused, "this bundle is signed by node " + report.sender.hex() +
                                                       ", which is not an enrolled node of the network the bundle carries" +
                                                       read_so_far + ", so nothing was imported");
    scopes = std::move(staged->own_scopes);
    report.sender_scopes = std::move(staged->sender_scopes);
    report.staged = true;
    Bytes header = reader.header();
    if (Status reopened = reader.open(file, node_key); !reopened) return reopened;
    if (reader.header() != header)
      return Status::error(Status::Code::kRefused, "the bundle file changed while it was being read, so nothing was imported");
  }
  Importer(store, &scopes, /*keep_blobs=*/true, report).run(reader);
  return report;
}

}  // namespace anwang::node
