#include "node/bundle.h"

#include <sodium.h>

#include <cstring>
#include <fstream>
#include <map>

#include "crdt/hash.h"
#include "crdt/limits.h"

namespace anwang::node {

namespace fs = std::filesystem;

namespace {

constexpr char kMagic[8] = {'A', 'N', 'W', 'A', 'N', 'G', 'B', 'N'};
constexpr std::size_t kHeaderBytes = 8 + 4 + 32 + 32 + 32 + crypto_secretstream_xchacha20poly1305_HEADERBYTES;
constexpr std::size_t kMessageBytesMax = limits::op_bytes_max + 64;  // an op or a blob chunk, plus framing
static_assert(limits::blob_chunk_bytes + 64 <= kMessageBytesMax);

enum Record : std::uint8_t { kOp = 1, kBlobBegin = 2, kBlobBytes = 3, kEnd = 4 };

std::array<std::uint8_t, 32> bundle_key(ByteView shared, ByteView ephemeral, const PublicKey& recipient) {
  Blake2b hasher;
  hasher.update(std::string_view("anwang/bundle/v1"));
  hasher.update(shared);
  hasher.update(ephemeral);
  hasher.update(recipient.view());
  return hasher.finish().bytes;
}

class Writer {
 public:
  Status open(const fs::path& file, const PublicKey& recipient, const PublicKey& sender) {
    auto x_recipient = x25519_public(recipient);
    if (!x_recipient) return Status::invalid("key " + recipient.hex() + " cannot receive encrypted bundles");
    std::array<std::uint8_t, 32> eph_pk{}, eph_sk{}, shared{};
    crypto_box_keypair(eph_pk.data(), eph_sk.data());
    int rc = crypto_scalarmult(shared.data(), eph_sk.data(), x_recipient->data());
    sodium_memzero(eph_sk.data(), eph_sk.size());
    if (rc != 0) return Status::invalid("key " + recipient.hex() + " cannot receive encrypted bundles");
    auto key = bundle_key(shared, eph_pk, recipient);
    sodium_memzero(shared.data(), shared.size());
    header_.assign(kMagic, kMagic + 8);
    append_u32_le(header_, kBundleVersion);
    header_.insert(header_.end(), recipient.bytes.begin(), recipient.bytes.end());
    header_.insert(header_.end(), sender.bytes.begin(), sender.bytes.end());
    header_.insert(header_.end(), eph_pk.begin(), eph_pk.end());
    std::size_t at = header_.size();
    header_.resize(kHeaderBytes);
    crypto_secretstream_xchacha20poly1305_init_push(&state_, header_.data() + at, key.data());
    sodium_memzero(key.data(), key.size());
    out_.open(file, std::ios::binary | std::ios::trunc);
    if (!out_) return Status::io_error("cannot write " + file.string());
    out_.write(reinterpret_cast<const char*>(header_.data()), static_cast<std::streamsize>(header_.size()));
    return Status::ok();
  }

  void push(Record type, ByteView body, bool final = false) {
    // One buffer for every record: the length, then the sealed type and body.
    plain_.resize(1 + body.size());
    plain_[0] = type;
    if (!body.empty()) std::memcpy(plain_.data() + 1, body.data(), body.size());
    sealed_.resize(4 + plain_.size() + crypto_secretstream_xchacha20poly1305_ABYTES);
    unsigned long long cipher_len = 0;
    crypto_secretstream_xchacha20poly1305_push(&state_, sealed_.data() + 4, &cipher_len, plain_.data(), plain_.size(),
                                               header_.data(), header_.size(),
                                               final ? crypto_secretstream_xchacha20poly1305_TAG_FINAL : 0);
    auto length = static_cast<std::uint32_t>(cipher_len);
    for (int i = 0; i < 4; ++i) sealed_[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(length >> (8 * i));
    out_.write(reinterpret_cast<const char*>(sealed_.data()), static_cast<std::streamsize>(4 + cipher_len));
  }

  bool finish() {
    out_.flush();
    return static_cast<bool>(out_);
  }

 private:
  crypto_secretstream_xchacha20poly1305_state state_{};
  Bytes header_;
  Bytes plain_, sealed_;
  std::ofstream out_;
};

class Reader {
 public:
  Status open(const fs::path& file, const KeyPair& node_key, PublicKey& sender) {
    in_.open(file, std::ios::binary);
    if (!in_) return Status::not_found("cannot open bundle " + file.string());
    header_.resize(kHeaderBytes);
    if (!in_.read(reinterpret_cast<char*>(header_.data()), static_cast<std::streamsize>(kHeaderBytes)) ||
        std::memcmp(header_.data(), kMagic, 8) != 0)
      return Status::invalid(file.string() + " is not an anwang bundle");
    std::uint32_t version = read_u32_le(header_.data() + 8);
    if (version != kBundleVersion)
      return Status::invalid(file.string() + " is bundle version " + std::to_string(version) + "; this anwang reads version " +
                             std::to_string(kBundleVersion));
    PublicKey recipient = *Hash32::from_view(ByteView(header_.data() + 12, 32));
    sender = *Hash32::from_view(ByteView(header_.data() + 44, 32));
    if (recipient != node_key.public_key())
      return Status::error(Status::Code::kRefused, "this bundle was made for node " + recipient.hex() +
                                                       ", not for this node (" + node_key.public_key().hex() + ")");
    ByteView eph(header_.data() + 76, 32);
    auto x_secret = node_key.x25519_secret();
    std::array<std::uint8_t, 32> shared{};
    int rc = crypto_scalarmult(shared.data(), x_secret.data(), eph.data());
    sodium_memzero(x_secret.data(), x_secret.size());
    if (rc != 0) return Status::error(Status::Code::kRefused, "the bundle's key exchange is invalid");
    auto key = bundle_key(shared, eph, recipient);
    sodium_memzero(shared.data(), shared.size());
    rc = crypto_secretstream_xchacha20poly1305_init_pull(&state_, header_.data() + 108, key.data());
    sodium_memzero(key.data(), key.size());
    if (rc != 0) return Status::error(Status::Code::kRefused, "the bundle's header is damaged");
    return Status::ok();
  }

  // The next record; its type in `type`. An error for tampering or a cut-short file.
  Result<Bytes> next(std::uint8_t& type, bool& final) {
    std::uint8_t length_bytes[4];
    if (!in_.read(reinterpret_cast<char*>(length_bytes), 4))
      return Status::error(Status::Code::kRefused, "the bundle is cut short (no end record)");
    std::uint32_t length = read_u32_le(length_bytes);
    if (length > kMessageBytesMax + crypto_secretstream_xchacha20poly1305_ABYTES || length < crypto_secretstream_xchacha20poly1305_ABYTES + 1)
      return Status::error(Status::Code::kRefused, "the bundle holds a record of impossible size");
    cipher_.resize(length);
    if (!in_.read(reinterpret_cast<char*>(cipher_.data()), length))
      return Status::error(Status::Code::kRefused, "the bundle is cut short");
    plain_.resize(length - crypto_secretstream_xchacha20poly1305_ABYTES);
    unsigned long long plain_len = 0;
    unsigned char tag = 0;
    if (crypto_secretstream_xchacha20poly1305_pull(&state_, plain_.data(), &plain_len, &tag, cipher_.data(), cipher_.size(),
                                                   header_.data(), header_.size()) != 0)
      return Status::error(Status::Code::kRefused, "the bundle was altered or damaged (authentication failed)");
    type = plain_[0];
    final = tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL;
    return Bytes(plain_.begin() + 1, plain_.begin() + static_cast<std::ptrdiff_t>(plain_len));
  }

 private:
  crypto_secretstream_xchacha20poly1305_state state_{};
  Bytes header_;
  Bytes cipher_, plain_;  // reused for every record
  std::ifstream in_;
};

}  // namespace

Result<BundleExportReport> export_bundle(Store& store, const PublicKey& sender, const BundleExportOptions& options,
                                         const fs::path& file) {
  auto authority = store.authority();
  if (!authority) return authority.status();
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
  fs::path partial = file;
  partial += ".partial";
  Writer writer;
  if (Status opened = writer.open(partial, options.recipient, sender); !opened) return opened;
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
  if (!writer.finish()) return Status::io_error("cannot write " + partial.string());
  std::error_code ec;
  fs::rename(partial, file, ec);
  if (ec) return Status::io_error("cannot move " + partial.string() + " to " + file.string() + ": " + ec.message());
  report.bytes = fs::file_size(file, ec);
  if (Status saved = store.set_local_counter(counter, last_arrival); !saved) return saved;
  return report;
}

Result<BundleImportReport> import_bundle(Store& store, const KeyPair& node_key, const fs::path& file) {
  Reader reader;
  BundleImportReport report;
  if (Status s = reader.open(file, node_key, report.sender); !s) return s;
  std::vector<Bytes> batch;
  auto flush = [&]() -> Status {
    if (batch.empty()) return Status::ok();
    auto ingested = store.ingest(batch);
    if (!ingested) return ingested.status();
    report.ops.add(std::move(*ingested));
    batch.clear();
    return Status::ok();
  };
  std::optional<Attachment> blob;
  bool blob_held = false;  // this node holds the blob already: its bytes are read past, not kept
  std::uint64_t blob_received = 0;
  Bytes blob_bytes;
  auto finish_blob = [&]() -> Status {
    if (!blob) return Status::ok();
    if (blob_received != blob->size || (!blob_held && blake2b_256(blob_bytes) != blob->hash))
      return Status::error(Status::Code::kRefused, "blob " + blob->hash.hex() + " in the bundle does not match its hash");
    if (!blob_held) {
      auto stored = store.put_blob(blob_bytes, blob->media_type);
      if (!stored) return stored.status();
    }
    ++report.blobs;
    blob.reset();
    blob_bytes.clear();
    return Status::ok();
  };
  while (true) {
    std::uint8_t type = 0;
    bool final = false;
    auto body = reader.next(type, final);
    if (!body) {
      if (Status s = flush(); !s) return s;
      return body.status();
    }
    if (type == kOp) {
      batch.push_back(std::move(*body));
      if (batch.size() == limits::ingest_batch_ops_max)
        if (Status s = flush(); !s) return s;
    } else if (type == kBlobBegin) {
      if (Status s = finish_blob(); !s) return s;
      if (body->size() < 41) return Status::error(Status::Code::kRefused, "a blob record in the bundle is malformed");
      Attachment a{*Hash32::from_view(ByteView(body->data(), 32)), read_u64_be(body->data() + 32),
                   std::string(body->begin() + 40, body->end())};
      if (a.size > limits::blob_bytes_max) return Status::error(Status::Code::kRefused, "a blob in the bundle is too large");
      auto held = store.has_blob(a.hash);
      if (!held) return held.status();
      blob = a;
      blob_held = *held;
      blob_received = 0;
    } else if (type == kBlobBytes) {
      if (!blob || blob_received + body->size() > blob->size)
        return Status::error(Status::Code::kRefused, "blob bytes in the bundle do not fit their blob");
      blob_received += body->size();
      if (!blob_held) blob_bytes.insert(blob_bytes.end(), body->begin(), body->end());
    } else if (type == kEnd && final) {
      if (Status s = finish_blob(); !s) return s;
      if (Status s = flush(); !s) return s;
      return report;
    } else {
      return Status::error(Status::Code::kRefused, "the bundle holds a record of unknown type " + std::to_string(type));
    }
  }
}

}  // namespace anwang::node
