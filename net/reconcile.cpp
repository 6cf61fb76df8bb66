#include "net/reconcile.h"

#include <algorithm>
#include <cstring>
#include <set>

#include "crdt/hash.h"
#include "crdt/limits.h"

namespace anwang::net {

namespace {

// Message: version byte, then ranges, each: lower bound, upper bound, mode (1) and a body. A
// bound is a length byte and that many bytes of a 40-byte key, zero-padded (length 255: the
// highest key). Split points use the shortest prefix that still separates two items.
//   mode 1 fingerprint: count (u32 LE) + fingerprint (32)
//   mode 2 id list: count (u32 LE) + ids (32 each). The receiver settles the range alone: it
//   sends the ops the lister lacks and fetches the ones it lacks. Only a side holding few items
//   in a range lists it, so lists stay short.
constexpr std::uint8_t kVersion = 1;
constexpr std::uint8_t kFingerprint = 1;
constexpr std::uint8_t kIdList = 2;
// Below this many items a range is listed rather than split.
constexpr std::size_t kListItemsMax = 16;
constexpr std::size_t kSplitWays = 16;

ItemKey lowest() { return ItemKey{}; }
ItemKey highest() {
  ItemKey key;
  key.fill(0xff);
  return key;
}

class MessageReader {
 public:
  explicit MessageReader(ByteView bytes) : bytes_(bytes) {}
  bool read(std::uint8_t* out, std::size_t n) {
    if (bytes_.size() - at_ < n) return false;
    std::memcpy(out, bytes_.data() + at_, n);
    at_ += n;
    return true;
  }
  bool done() const { return at_ == bytes_.size(); }

 private:
  ByteView bytes_;
  std::size_t at_ = 0;
};

}  // namespace

ItemKey item_key(std::uint64_t hlc, const Hash32& id) {
  ItemKey key{};
  for (int i = 0; i < 8; ++i) key[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(hlc >> (56 - 8 * i));
  std::memcpy(key.data() + 8, id.bytes.data(), 32);
  return key;
}

Hash32 item_id(const ItemKey& key) { return *Hash32::from_view(ByteView(key.data() + 8, 32)); }

std::pair<std::size_t, std::size_t> Reconciler::span(const Range& range) const {
  auto begin = std::lower_bound(items_.begin(), items_.end(), range.lower);
  auto end = std::lower_bound(items_.begin(), items_.end(), range.upper);
  if (end < begin) end = begin;
  return {static_cast<std::size_t>(begin - items_.begin()), static_cast<std::size_t>(end - items_.begin())};
}

Hash32 Reconciler::fingerprint(std::size_t begin, std::size_t end) const {
  Blake2b hasher;
  hasher.update(std::string_view("anwang/reconcile/v1"));
  for (std::size_t i = begin; i < end; ++i) hasher.update(ByteView(items_[i].data(), items_[i].size()));
  return hasher.finish();
}

namespace {

void put_bound(Bytes& out, const ItemKey& key) {
  if (key == highest()) {
    out.push_back(255);
    return;
  }
  std::size_t length = key.size();
  while (length > 0 && key[length - 1] == 0) --length;
  out.push_back(static_cast<std::uint8_t>(length));
  out.insert(out.end(), key.begin(), key.begin() + static_cast<std::ptrdiff_t>(length));
}

bool get_bound(MessageReader& in, ItemKey& key) {
  std::uint8_t length = 0;
  if (!in.read(&length, 1)) return false;
  if (length == 255) {
    key = highest();
    return true;
  }
  if (length > key.size()) return false;
  key.fill(0);
  return in.read(key.data(), length);
}

// The shortest zero-padded prefix of `key` that is still above `previous`.
ItemKey separator(const ItemKey& previous, const ItemKey& key) {
  ItemKey out{};
  for (std::size_t i = 0; i < key.size(); ++i) {
    out[i] = key[i];
    if (out > previous) return out;
  }
  return key;
}

}  // namespace

void Reconciler::add_fingerprint(Bytes& out, const Range& range) const {
  auto [begin, end] = span(range);
  put_bound(out, range.lower);
  put_bound(out, range.upper);
  out.push_back(kFingerprint);
  append_u32_le(out, static_cast<std::uint32_t>(end - begin));
  Hash32 fp = fingerprint(begin, end);
  out.insert(out.end(), fp.bytes.begin(), fp.bytes.end());
}

void Reconciler::add_id_list(Bytes& out, const Range& range) const {
  auto [begin, end] = span(range);
  put_bound(out, range.lower);
  put_bound(out, range.upper);
  out.push_back(kIdList);
  append_u32_le(out, static_cast<std::uint32_t>(end - begin));
  for (std::size_t i = begin; i < end; ++i) out.insert(out.end(), items_[i].begin() + 8, items_[i].end());
}

// Splits a range this side holds many items of into sub-ranges of equal item counts.
void Reconciler::split(Bytes& out, const Range& range) const {
  auto [begin, end] = span(range);
  std::size_t count = end - begin;
  ItemKey lower = range.lower;
  for (std::size_t part = 1; part <= kSplitWays; ++part) {
    std::size_t at = begin + count * part / kSplitWays;
    ItemKey upper = part == kSplitWays ? range.upper : separator(items_[at - 1], items_[at]);
    if (upper == lower) continue;
    add_fingerprint(out, Range{lower, upper});
    lower = upper;
  }
}

Bytes Reconciler::initiate() {
  ++rounds_;
  Bytes out{kVersion};
  if (items_.size() <= kListItemsMax)
    add_id_list(out, Range{lowest(), highest()});
  else
    add_fingerprint(out, Range{lowest(), highest()});
  return out;
}

Result<Bytes> Reconciler::on_message(ByteView message) {
  MessageReader in(message);
  std::uint8_t version = 0;
  if (!in.read(&version, 1) || version != kVersion)
    return Status::error(Status::Code::kRefused, "reconciliation message of an unknown version");
  Bytes out{kVersion};
  std::set<Hash32> have(have_.begin(), have_.end()), need(need_.begin(), need_.end());
  std::size_t ranges = 0;
  std::optional<ItemKey> deferred;
  ItemKey deferred_upper{};
  while (!in.done()) {
    if (++ranges > limits::reconcile_ranges_per_message_max)
      return Status::error(Status::Code::kRefused, "reconciliation message with too many ranges");
    Range range{};
    std::uint8_t mode = 0;
    std::uint8_t count_bytes[4];
    if (!get_bound(in, range.lower) || !get_bound(in, range.upper) || !in.read(&mode, 1) || !in.read(count_bytes, 4))
      return Status::error(Status::Code::kRefused, "truncated reconciliation range");
    std::uint32_t count = read_u32_le(count_bytes);
    auto [begin, end] = span(range);
    // Over the reply budget: leave this and every later range to the next round, as one
    // fingerprint over all of them (settled ranges inside it will match again and split away).
    if (out.size() > limits::reconcile_reply_bytes_target && !deferred) deferred = range.lower;
    deferred_upper = range.upper;
    if (mode == kFingerprint) {
      Hash32 theirs;
      if (!in.read(theirs.bytes.data(), 32)) return Status::error(Status::Code::kRefused, "truncated fingerprint");
      if (deferred) continue;
      if (count == end - begin && theirs == fingerprint(begin, end)) continue;  // settled
      if (end - begin <= kListItemsMax)
        add_id_list(out, range);
      else
        split(out, range);
      continue;
    }
    if (mode != kIdList) return Status::error(Status::Code::kRefused, "unknown range mode");
    if (count > limits::reconcile_ids_per_range_max)
      return Status::error(Status::Code::kRefused, "reconciliation id list too long");
    std::set<Hash32> theirs;
    for (std::uint32_t i = 0; i < count; ++i) {
      Hash32 id;
      if (!in.read(id.bytes.data(), 32)) return Status::error(Status::Code::kRefused, "truncated id list");
      theirs.insert(id);
    }
    if (deferred) continue;
    std::set<Hash32> mine;
    for (std::size_t i = begin; i < end; ++i) mine.insert(item_id(items_[i]));
    for (const Hash32& id : mine)
      if (!theirs.count(id) && have.insert(id).second) have_.push_back(id);
    for (const Hash32& id : theirs)
      if (!mine.count(id) && need.insert(id).second) need_.push_back(id);
  }
  if (deferred) add_fingerprint(out, Range{*deferred, deferred_upper});
  if (out.size() == 1) return Bytes{};
  ++rounds_;
  return out;
}

}  // namespace anwang::net
