#include "net/reconcile.h"

#include <sodium.h>

#include <algorithm>
#include <bit>
#include <cassert>
#include <cmath>
#include <cstring>
#include <numeric>

#include "crdt/limits.h"

namespace anwang::net {

namespace {

// The encoding is net/PROTOCOL.md, "Reconciliation"; the names here follow it.
constexpr std::uint8_t kVersion = 2;

// A response to one entry of the previous message is a header varint: the low two bits say what
// it is, the rest is a count less one.
constexpr std::uint64_t kSkip = 0;      // the next `count` entries are settled
constexpr std::uint64_t kChildren = 1;  // this entry becomes `count` ranges: bounds, then entries
constexpr std::uint64_t kMerge = 2;     // the next `count` entries become one range (one entry)

constexpr std::size_t kFingerprintBytes = 8;
constexpr std::size_t kCheckBytes = 4;
constexpr std::size_t kIdBytes = 32;
constexpr std::size_t kBoundBits = 41 * 8;
constexpr std::uint64_t kCountMax = limits::reconcile_count_max;

// Policy: how this side chooses to split and list. A peer may choose differently; any choices
// interoperate. Tuned on the figures in tests/net/reconcile_test.cpp.
constexpr std::size_t kListItemsMax = 256;   // a side lists at most this many items per range
constexpr std::size_t kSplitWaysMax = 256;   // and splits a range into at most this many
constexpr std::size_t kSplitWaysBlind = 16;  // split of a large range whose differences are unknown
constexpr std::size_t kItemsPerBlindPart = 64;  // ... unless its parts would hold fewer items
constexpr double kDiffsPerPart = 0.5;           // expected differences in each part of a split
constexpr double kListBytesAlways = 48;         // a list this small is sent rather than a split
constexpr double kListBytesPerDiff = 40;        // a list costing less per expected difference too
constexpr double kFingerprintEntryBytes = 11;   // about what a sub-range with its fingerprint costs
constexpr std::size_t kFingerprintEntryBytesMax = 6 + kFingerprintBytes;  // at most, with its count
// One response (a split with its lists, a list, an answer) stays within this, so a reply that
// stops growing at limits::reconcile_reply_bytes_target stays within 16 KiB more.
constexpr std::size_t kResponseBytesMax = 12 * 1024;
constexpr std::size_t kTailItemsMin = 8;  // the smallest part of the newest items cut off
constexpr double kEchoDiffsMax = 1.0;     // echo a range one short only when few differ
// From this message of a session on (the initiator's fourth), ranges of up to kLateListItemsMax
// items are listed rather than narrowed, so that the responder's fourth message answers lists
// and the session ends within four round trips.
constexpr int kLateMessage = 7;
constexpr std::size_t kLateListItemsMax = 4 * kListItemsMax;
constexpr std::size_t kTrialItemsMax = limits::reconcile_trial_items_per_range_max;
constexpr std::size_t kTrialsPerMessageMax = limits::reconcile_trials_per_message_max;
static_assert(kListItemsMax <= limits::reconcile_ids_per_range_max);
static_assert(kSplitWaysMax * 4 <= limits::reconcile_ranges_per_message_max);
static_assert(kResponseBytesMax + 64 <= 16 * 1024, "see limits::reconcile_reply_bytes_target");

using Bound = std::array<std::uint8_t, 41>;
using Sum = std::array<std::uint64_t, 4>;
using Fingerprint = std::array<std::uint8_t, kFingerprintBytes>;
using Check = std::array<std::uint8_t, kCheckBytes>;

Bound lowest_bound() { return Bound{}; }
Bound infinite_bound() {
  Bound bound{};
  bound[0] = 1;
  return bound;
}
Bound bound_of(const ItemKey& key) {
  Bound bound{};
  std::memcpy(bound.data() + 1, key.data(), key.size());
  return bound;
}

bool bit(const Bound& bound, std::size_t at) {
  return (bound[at / 8] >> (7 - at % 8)) & 1;
}
void set_bit(Bound& bound, std::size_t at) {
  bound[at / 8] = static_cast<std::uint8_t>(bound[at / 8] | (0x80 >> (at % 8)));
}

// Leading bits two bounds share.
std::size_t common_bits(const Bound& a, const Bound& b) {
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i] != b[i])
      return i * 8 +
             static_cast<std::size_t>(std::countl_zero(static_cast<std::uint8_t>(a[i] ^ b[i])));
  return kBoundBits;
}

// Bits up to and including the last 1 bit.
std::size_t bit_length(const Bound& bound) {
  for (std::size_t i = bound.size(); i-- > 0;)
    if (bound[i] != 0) return i * 8 + 8 - static_cast<std::size_t>(std::countr_zero(bound[i]));
  return 0;
}

Bound truncated(const Bound& bound, std::size_t bits) {
  Bound out{};
  std::memcpy(out.data(), bound.data(), bits / 8);
  if (bits % 8 != 0)
    out[bits / 8] = static_cast<std::uint8_t>(bound[bits / 8] & (0xff00 >> (bits % 8)));
  return out;
}

// The shortest bound above `below` and at most `above`: `above` cut after the first bit in which
// they differ.
Bound separator(const ItemKey& below, const ItemKey& above) {
  Bound high = bound_of(above);
  return truncated(high, common_bits(bound_of(below), high) + 1);
}

std::size_t varint_bytes(std::uint64_t value) {
  std::size_t bytes = 1;
  while (value >= 0x80) {
    value >>= 7;
    ++bytes;
  }
  return bytes;
}

void put_varint(Bytes& out, std::uint64_t value) {
  while (value >= 0x80) {
    out.push_back(static_cast<std::uint8_t>(value | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<std::uint8_t>(value));
}

// A bound inside (previous, upper) is sent as: the bits it shares with `previous` beyond those
// `previous` and `upper` share (varint, times 16) plus its remaining length (4 bits, 15: more in
// a second varint), then its bits after the first one that differs from `previous` (which is 1),
// up to but not including its last 1 bit, packed high bit first.
struct BoundShape {
  std::size_t shared;  // common_bits(previous, bound)
  std::size_t tail;    // bits after bit `shared` up to the bound's last 1 bit
  std::size_t floor;   // common_bits(previous, upper)
};

BoundShape shape_of(const Bound& previous, const Bound& upper, const Bound& bound) {
  BoundShape shape{common_bits(previous, bound), 0, common_bits(previous, upper)};
  shape.tail = bit_length(bound) - shape.shared - 1;
  return shape;
}

std::size_t bound_bytes(const Bound& previous, const Bound& upper, const Bound& bound) {
  BoundShape s = shape_of(previous, upper, bound);
  std::size_t bits = s.tail > 0 ? s.tail - 1 : 0;
  return varint_bytes(((s.shared - s.floor) << 4) | std::min<std::size_t>(s.tail, 15)) +
         (s.tail >= 15 ? varint_bytes(s.tail - 15) : 0) + (bits + 7) / 8;
}

void put_bound(Bytes& out, const Bound& previous, const Bound& upper, const Bound& bound) {
  assert(previous < bound && bound < upper);
  BoundShape s = shape_of(previous, upper, bound);
  assert(s.shared >= s.floor && bit(bound, s.shared));
  put_varint(out, ((s.shared - s.floor) << 4) | std::min<std::size_t>(s.tail, 15));
  if (s.tail >= 15) put_varint(out, s.tail - 15);
  std::size_t bits = s.tail > 0 ? s.tail - 1 : 0;
  std::uint8_t pending = 0;
  for (std::size_t i = 0; i < bits; ++i) {
    pending = static_cast<std::uint8_t>((pending << 1) | (bit(bound, s.shared + 1 + i) ? 1 : 0));
    if (i % 8 == 7) {
      out.push_back(pending);
      pending = 0;
    }
  }
  if (bits % 8 != 0) out.push_back(static_cast<std::uint8_t>(pending << (8 - bits % 8)));
}

void add(Sum& to, const Sum& value) {
  std::uint64_t carry = 0;
  for (std::size_t i = 0; i < to.size(); ++i) {
    std::uint64_t partial = to[i] + carry;
    carry = partial < carry ? 1 : 0;
    to[i] = partial + value[i];
    carry += to[i] < partial ? 1 : 0;
  }
}

void subtract(Sum& from, const Sum& value) {
  std::uint64_t borrow = 0;
  for (std::size_t i = 0; i < from.size(); ++i) {
    std::uint64_t partial = from[i] - borrow;
    borrow = partial > from[i] ? 1 : 0;
    borrow += partial < value[i] ? 1 : 0;
    from[i] = partial - value[i];
  }
}

std::uint64_t load_le64(const std::uint8_t* bytes) {
  std::uint64_t value = 0;
  for (int i = 7; i >= 0; --i) value = (value << 8) | bytes[i];
  return value;
}

std::uint64_t mix64(std::uint64_t z) {  // the SplitMix64 finalizer: a bijection of 64-bit words
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// An item counts in fingerprints by its id, mixed: ids are BLAKE2b-256 hashes, but ids that
// share long prefixes or differ in a few bits (as tests build them) would otherwise add up to
// equal sums far too often. Two passes, each word chained into the next, make every word depend
// on every id bit; each step is invertible, so distinct ids have distinct values. (A peer that
// grinds ids into equal sums hides only its own ops: see net/PROTOCOL.md.)
Sum value_of(const ItemKey& key) {
  Sum value;
  for (std::size_t i = 0; i < value.size(); ++i) value[i] = load_le64(key.data() + 8 + 8 * i);
  std::uint64_t chain = 0x9e3779b97f4a7c15ULL;
  for (int pass = 0; pass < 2; ++pass)
    for (std::uint64_t& word : value) chain = word = mix64(word ^ chain);
  return value;
}

// BLAKE2b-128 of a label, the sum (32 bytes, little-endian) and the count (8, little-endian).
std::array<std::uint8_t, 16> digest(const Sum& sum, std::uint64_t count) {
  static constexpr char kLabel[] = "anwang/reconcile/v2 sum";
  constexpr std::size_t kLabelBytes = sizeof kLabel - 1;
  std::uint8_t input[kLabelBytes + 40];
  std::memcpy(input, kLabel, kLabelBytes);
  for (std::size_t i = 0; i < 4; ++i)
    for (std::size_t b = 0; b < 8; ++b)
      input[kLabelBytes + 8 * i + b] = static_cast<std::uint8_t>(sum[i] >> (8 * b));
  for (std::size_t b = 0; b < 8; ++b)
    input[kLabelBytes + 32 + b] = static_cast<std::uint8_t>(count >> (8 * b));
  std::array<std::uint8_t, 16> out;
  crypto_generichash(out.data(), out.size(), input, sizeof input, nullptr, 0);
  return out;
}

Fingerprint fingerprint_of(const Sum& sum, std::uint64_t count) {
  auto full = digest(sum, count);
  Fingerprint out;
  std::copy_n(full.begin(), out.size(), out.begin());
  return out;
}

Check check_of(const Sum& sum, std::uint64_t count) {
  auto full = digest(sum, count);
  Check out;
  std::copy_n(full.begin(), out.size(), out.begin());
  return out;
}

// Where parts of [begin, end) start: `ways` parts of equal counts. With `newest_end` (in
// (begin, end]: where this side's newest timed items end), the part holding the newest items
// is cut again into halves, quarters, ... of it, down to kTailItemsMin, and the untimed items
// after them, if any, start a part of their own: the newest items differ most often (a peer
// that was away lacks them), and so a few new items are found in small parts without more
// rounds.
std::vector<std::size_t> part_starts(std::size_t begin, std::size_t end, std::size_t ways,
                                     std::optional<std::size_t> newest_end) {
  std::vector<std::size_t> starts;
  for (std::size_t part = 1; part < ways; ++part)
    starts.push_back(begin + (end - begin) * part / ways);
  if (!newest_end) return starts;
  const std::size_t stop = *newest_end;
  auto after = std::lower_bound(starts.begin(), starts.end(), stop);
  const std::size_t from = after == starts.begin() ? begin : *(after - 1);
  std::vector<std::size_t> newest;
  for (std::size_t piece = (stop - from) / 2;
       piece >= kTailItemsMin && starts.size() + newest.size() + 2 < kSplitWaysMax; piece /= 2)
    newest.push_back(stop - piece);
  if (stop < end) newest.push_back(stop);
  starts.insert(starts.end(), newest.begin(), newest.end());
  std::sort(starts.begin(), starts.end());
  starts.erase(std::unique(starts.begin(), starts.end()), starts.end());
  return starts;
}

Status refused(const char* reason) {
  return Status::error(Status::Code::kRefused, reason);
}

}  // namespace

// One entry of the peer's message, decoded and checked, with this side's items in its range.
struct Reconciler::PeerEntry {
  Bound lower{};
  Bound upper{};
  Kind kind = Kind::kFingerprint;
  std::uint64_t count = 0;  // kAnswer: positions lacked; otherwise the peer's items in the range
  Fingerprint fingerprint{};
  std::size_t prefix_bytes = 0;
  ByteView payload;                   // kPrefixList: the prefixes; kIdList: the ids
  std::vector<std::uint32_t> lacked;  // kAnswer, ascending
  Check check{};                      // kAnswer
  std::size_t begin = 0;              // this side's items in [lower, upper)
  std::size_t end = 0;
};

class Reconciler::Reader {
 public:
  explicit Reader(ByteView bytes) : bytes_(bytes) {}
  bool done() const { return at_ == bytes_.size(); }
  bool byte(std::uint8_t& out) {
    if (at_ == bytes_.size()) return false;
    out = bytes_[at_++];
    return true;
  }
  bool view(std::uint64_t size, ByteView& out) {
    if (size > bytes_.size() - at_) return false;
    out = bytes_.subspan(at_, static_cast<std::size_t>(size));
    at_ += static_cast<std::size_t>(size);
    return true;
  }
  // LEB128, at most 64 bits, shortest form only.
  bool varint(std::uint64_t& out) {
    out = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
      std::uint8_t b = 0;
      if (!byte(b)) return false;
      if (shift == 63 && b > 1) return false;
      out |= static_cast<std::uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return b != 0 || shift == 0;
    }
    return false;
  }
  bool bound(const Bound& previous, const Bound& upper, Bound& out) {
    std::uint64_t head = 0, more = 0;
    if (!varint(head)) return false;
    std::uint64_t tail = head & 15;
    if (tail == 15 && (!varint(more) || more > kBoundBits)) return false;
    tail += more;
    const std::size_t floor = common_bits(previous, upper);
    if ((head >> 4) >= kBoundBits - floor) return false;
    const std::size_t shared = floor + static_cast<std::size_t>(head >> 4);
    if (tail >= kBoundBits - shared || bit(previous, shared)) return false;
    out = truncated(previous, shared);
    set_bit(out, shared);
    const std::size_t bits = tail > 0 ? static_cast<std::size_t>(tail) - 1 : 0;
    ByteView packed;
    if (!view((bits + 7) / 8, packed)) return false;
    for (std::size_t i = 0; i < packed.size() * 8; ++i) {
      bool one = (packed[i / 8] >> (7 - i % 8)) & 1;
      if (one && i >= bits) return false;  // padding must be zero
      if (one) set_bit(out, shared + 1 + i);
    }
    if (tail > 0) set_bit(out, shared + static_cast<std::size_t>(tail));
    return out < upper;
  }

 private:
  ByteView bytes_;
  std::size_t at_ = 0;
};

// Builds a reply: responses to the peer's entries in order (runs of settled ones as one skip),
// and the entries this side opens, which the peer answers next.
class Reconciler::Writer {
 public:
  Writer() : bytes_{kVersion} {}
  std::size_t size() const { return bytes_.size(); }
  std::size_t entries() const { return entries_.size(); }

  void settle() { ++settled_; }
  void children(std::size_t count) { header(kChildren, count); }
  void merge(std::size_t count) { header(kMerge, count); }
  void bound(const Bound& previous, const Bound& upper, const Bound& bound) {
    put_bound(bytes_, previous, upper, bound);
  }

  void fingerprint(const Bound& lower, const Bound& upper, std::size_t count,
                   const Fingerprint& value) {
    put_varint(bytes_,
               (std::uint64_t{count} << 2) | static_cast<std::uint64_t>(Kind::kFingerprint));
    if (count > 0) bytes_.insert(bytes_.end(), value.begin(), value.end());
    entries_.push_back(Entry{lower, upper, Kind::kFingerprint});
  }
  void prefix_list(const Bound& lower, const Bound& upper, const ItemKey* items, std::size_t count,
                   std::size_t prefix) {
    put_varint(bytes_, (std::uint64_t{count} << 2) | static_cast<std::uint64_t>(Kind::kPrefixList));
    bytes_.push_back(static_cast<std::uint8_t>(prefix));
    for (std::size_t i = 0; i < count; ++i)
      bytes_.insert(bytes_.end(), items[i].begin() + 8,
                    items[i].begin() + 8 + static_cast<std::ptrdiff_t>(prefix));
    entries_.push_back(Entry{lower, upper, Kind::kPrefixList});
  }
  void answer(const Bound& lower, const Bound& upper, const std::vector<std::uint32_t>& lacked,
              const Check& check, std::size_t listed) {
    put_varint(bytes_,
               (std::uint64_t{lacked.size()} << 2) | static_cast<std::uint64_t>(Kind::kAnswer));
    for (std::size_t i = 0; i < lacked.size(); ++i)
      put_varint(bytes_, i == 0 ? lacked[0] : lacked[i] - lacked[i - 1] - 1);
    bytes_.insert(bytes_.end(), check.begin(), check.end());
    entries_.push_back(Entry{lower, upper, Kind::kAnswer, static_cast<std::uint32_t>(listed)});
  }
  void id_list(const Bound& lower, const Bound& upper, const std::vector<const ItemKey*>& items) {
    put_varint(bytes_,
               (std::uint64_t{items.size()} << 2) | static_cast<std::uint64_t>(Kind::kIdList));
    for (const ItemKey* item : items) bytes_.insert(bytes_.end(), item->begin() + 8, item->end());
    entries_.push_back(Entry{lower, upper, Kind::kIdList});
  }

  std::vector<Entry> take_entries() { return std::move(entries_); }
  Bytes take_bytes() { return std::move(bytes_); }

 private:
  void header(std::uint64_t kind, std::size_t count) {
    assert(count >= 1);
    if (settled_ > 0) put_varint(bytes_, ((settled_ - 1) << 2) | kSkip);
    settled_ = 0;
    put_varint(bytes_, ((std::uint64_t{count} - 1) << 2) | kind);
  }

  Bytes bytes_;
  std::uint64_t settled_ = 0;
  std::vector<Entry> entries_;
};

ItemKey item_key(std::uint64_t hlc, const Hash32& id) {
  ItemKey key{};
  for (int i = 0; i < 8; ++i)
    key[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(hlc >> (56 - 8 * i));
  std::memcpy(key.data() + 8, id.bytes.data(), 32);
  return key;
}

Hash32 item_id(const ItemKey& key) {
  return *Hash32::from_view(ByteView(key.data() + 8, 32));
}

void sort_item_keys(std::vector<ItemKey>& keys) {
  // A natural merge sort: find the ascending runs, then merge neighbours until one is left.
  std::vector<std::size_t> starts;
  for (std::size_t i = 0; i < keys.size(); ++i)
    if (i == 0 || keys[i] < keys[i - 1]) starts.push_back(i);
  starts.push_back(keys.size());
  while (starts.size() > 2) {
    std::vector<std::size_t> merged;
    for (std::size_t r = 0; r + 1 < starts.size(); r += 2) {
      merged.push_back(starts[r]);
      if (r + 2 < starts.size())
        std::inplace_merge(keys.begin() + static_cast<std::ptrdiff_t>(starts[r]),
                           keys.begin() + static_cast<std::ptrdiff_t>(starts[r + 1]),
                           keys.begin() + static_cast<std::ptrdiff_t>(starts[r + 2]));
    }
    merged.push_back(keys.size());
    starts = std::move(merged);
  }
}

Reconciler::Reconciler(std::vector<ItemKey> items, std::size_t fetch_ids_max)
    : items_(std::move(items)), fetch_ids_max_(fetch_ids_max) {
  assert(std::adjacent_find(items_.begin(), items_.end(), std::greater_equal<>()) == items_.end() &&
         "items sorted, without duplicates");
  sums_.resize(items_.size() + 1);
  sent_.resize(items_.size(), false);
  for (std::size_t i = 0; i < items_.size(); ++i) {
    sums_[i + 1] = sums_[i];
    add(sums_[i + 1], value_of(items_[i]));
  }
  // Until it sends a message, a side has one open entry: the whole key space. The initiator's
  // first message answers it; so a responder reads that message like any other.
  open_ = {Entry{lowest_bound(), infinite_bound(), Kind::kFingerprint}};
  // Keys at the highest timestamp are not in time order (node/sync.cpp gives attachments that
  // timestamp): this side's newest items in time end where they begin.
  timed_end_ = position(bound_of(item_key(~std::uint64_t{0}, Hash32{})));
}

std::size_t Reconciler::position(const Bound& bound) const {
  if (bound[0] != 0) return items_.size();
  ItemKey key;
  std::memcpy(key.data(), bound.data() + 1, key.size());
  return static_cast<std::size_t>(std::lower_bound(items_.begin(), items_.end(), key) -
                                  items_.begin());
}

Reconciler::Sum Reconciler::sum(std::size_t begin, std::size_t end) const {
  Sum out = sums_[end];
  subtract(out, sums_[begin]);
  return out;
}

Reconciler::Fingerprint Reconciler::fingerprint(std::size_t begin, std::size_t end) const {
  return fingerprint_of(sum(begin, end), end - begin);
}

void Reconciler::send(std::size_t item) {
  if (sent_[item]) return;
  sent_[item] = true;
  have_.push_back(item_id(items_[item]));
}

void Reconciler::fetch(const Hash32& id) {
  if (need_set_.count(id)) return;
  if (need_.size() >= fetch_ids_max_) {
    fetch_budget_reached_ = true;  // found again by the next session
    return;
  }
  need_set_.insert(id);
  need_.push_back(id);
}

Bytes Reconciler::initiate() {
  ++rounds_;
  Writer out;
  const std::size_t count = items_.size();
  out.children(1);
  if (count > 0 && count <= kListItemsMax &&
      count * prefix_bytes(0, count, 2.0 * count) <= kListBytesAlways)
    out.prefix_list(lowest_bound(), infinite_bound(), items_.data(), count,
                    prefix_bytes(0, count, 2.0 * count));
  else
    out.fingerprint(lowest_bound(), infinite_bound(), count, fingerprint(0, count));
  open_ = out.take_entries();
  messages_ = 1;
  return out.take_bytes();
}

Result<Bytes> Reconciler::on_message(ByteView message) {
  // Messages produced, and received: a peer that keeps sending messages that need no answer
  // (empty ones) is cut off as surely as one that never lets a range settle.
  if (rounds_ >= static_cast<int>(limits::reconcile_rounds_max) || received_ > limits::reconcile_rounds_max)
    return Status::error(Status::Code::kRefused,
                         "reconciliation did not finish within its round limit");
  auto entries = decode(message);
  if (!entries) return entries.status();
  ++received_;
  Bytes reply = respond(*entries);
  ++messages_;
  if (fetch_budget_reached_) {
    // This side ends the reconciliation: an empty reply settles every open range for this session.
    open_.clear();
    reply.clear();
  }
  if (!reply.empty()) {
    ++rounds_;
    ++messages_;
  }
  return reply;
}

Result<std::vector<Reconciler::PeerEntry>> Reconciler::decode(ByteView message) const {
  if (message.size() > limits::reconcile_message_bytes_max)
    return refused("reconciliation message too large");
  Reader in(message);
  std::uint8_t version = 0;
  if (!in.byte(version) || version != kVersion)
    return refused("reconciliation message of an unknown version");
  std::vector<PeerEntry> entries;
  std::size_t next = 0;  // the first of open_ not answered yet; those never answered are settled
  while (!in.done()) {
    std::uint64_t header = 0;
    if (!in.varint(header)) return refused("truncated reconciliation message");
    const std::uint64_t mode = header & 3, count = (header >> 2) + 1;
    const std::size_t unanswered = open_.size() - next;
    if (mode == kSkip || mode == kMerge) {
      if (count > unanswered) return refused("reconciliation response to ranges never sent");
      if (mode == kMerge) {
        PeerEntry& entry = entries.emplace_back();
        entry.lower = open_[next].lower;
        entry.upper = open_[next + count - 1].upper;
        if (Status s = decode_entry(in, Kind::kFingerprint, 1, entry); !s) return s;
      }
      next += static_cast<std::size_t>(count);
    } else if (mode == kChildren) {
      if (unanswered == 0) return refused("reconciliation response to ranges never sent");
      if (count > limits::reconcile_ranges_per_message_max - entries.size())
        return refused("reconciliation message with too many ranges");
      const Entry& parent = open_[next++];
      std::vector<Bound> bounds{parent.lower};
      for (std::uint64_t i = 1; i < count; ++i) {
        Bound bound;
        if (!in.bound(bounds.back(), parent.upper, bound))
          return refused("malformed reconciliation range bound");
        bounds.push_back(bound);
      }
      bounds.push_back(parent.upper);
      for (std::size_t i = 0; i < count; ++i) {
        PeerEntry& entry = entries.emplace_back();
        entry.lower = bounds[i];
        entry.upper = bounds[i + 1];
        Status decoded = decode_entry(in, parent.kind, count, entry, parent.listed);
        if (!decoded) return decoded;
      }
    } else {
      return refused("unknown reconciliation response");
    }
    if (entries.size() > limits::reconcile_ranges_per_message_max)
      return refused("reconciliation message with too many ranges");
  }
  return entries;
}

// Reads one entry of a response to an entry of kind `parent` (split into `siblings` parts).
// What may answer what: a fingerprint, a split into fingerprints and lists; a prefix list, one
// answer; an answer, one id list; an id list, nothing (it settles its range).
Status Reconciler::decode_entry(Reader& in, Kind parent, std::size_t siblings, PeerEntry& entry,
                                std::uint32_t listed) const {
  std::uint64_t head = 0;
  if (!in.varint(head)) return refused("truncated reconciliation message");
  entry.kind = static_cast<Kind>(head & 3);
  entry.count = head >> 2;
  entry.begin = position(entry.lower);
  entry.end = position(entry.upper);
  const bool allowed = parent == Kind::kFingerprint
                           ? entry.kind == Kind::kFingerprint || entry.kind == Kind::kPrefixList
                       : parent == Kind::kPrefixList ? entry.kind == Kind::kAnswer && siblings == 1
                       : parent == Kind::kAnswer     ? entry.kind == Kind::kIdList && siblings == 1
                                                     : false;
  if (!allowed) return refused("reconciliation response of the wrong kind");
  ByteView bytes;
  switch (entry.kind) {
    case Kind::kFingerprint:
      if (entry.count > kCountMax) return refused("reconciliation count out of range");
      if (entry.count == 0) {
        entry.fingerprint = fingerprint_of(Sum{}, 0);
        return Status::ok();
      }
      if (!in.view(kFingerprintBytes, bytes)) return refused("truncated fingerprint");
      std::copy(bytes.begin(), bytes.end(), entry.fingerprint.begin());
      return Status::ok();
    case Kind::kPrefixList: {
      std::uint8_t prefix = 0;
      if (entry.count > limits::reconcile_ids_per_range_max)
        return refused("reconciliation id list too long");
      if (!in.byte(prefix) || prefix == 0 || prefix > kIdBytes)
        return refused("malformed prefix list");
      entry.prefix_bytes = prefix;
      if (!in.view(entry.count * prefix, entry.payload)) return refused("truncated prefix list");
      return Status::ok();
    }
    case Kind::kAnswer: {
      const std::size_t mine = entry.end - entry.begin;  // the items this side listed
      if (entry.count > mine) return refused("reconciliation answer lacks more than was listed");
      std::uint64_t at = 0;
      for (std::uint64_t i = 0; i < entry.count; ++i) {
        std::uint64_t gap = 0;
        if (!in.varint(gap)) return refused("truncated reconciliation answer");
        if (gap >= mine || at + gap >= mine)
          return refused("reconciliation answer beyond the list");
        at += gap;
        entry.lacked.push_back(static_cast<std::uint32_t>(at));
        ++at;
      }
      if (!in.view(kCheckBytes, bytes)) return refused("truncated reconciliation answer");
      std::copy(bytes.begin(), bytes.end(), entry.check.begin());
      return Status::ok();
    }
    case Kind::kIdList:
      if (entry.count > listed)
        return refused("reconciliation id list longer than the list it replaces");
      if (!in.view(entry.count * kIdBytes, entry.payload)) return refused("truncated id list");
      return Status::ok();
  }
  return refused("reconciliation response of the wrong kind");
}

// Differences per item, estimated from the counts of the peer's fingerprint entries: with d_i
// this side's count less the peer's and s_i the larger count, the d_i vary about their mean by
// about the number of differences whichever side holds them (a count difference of
// independently placed items), and their mean is at most that number.
double Reconciler::density(const std::vector<PeerEntry>& entries) {
  double items = 0, skew = 0;
  for (const PeerEntry& e : entries) {
    if (e.kind != Kind::kFingerprint) continue;
    double mine = static_cast<double>(e.end - e.begin), theirs = static_cast<double>(e.count);
    items += std::max(mine, theirs);
    skew += mine - theirs;
  }
  if (items == 0) return 0;
  const double mean = skew / items;
  double spread = 0;
  for (const PeerEntry& e : entries) {
    if (e.kind != Kind::kFingerprint) continue;
    double mine = static_cast<double>(e.end - e.begin), theirs = static_cast<double>(e.count);
    double off = (mine - theirs) - mean * std::max(mine, theirs);
    spread += off * off;
  }
  return std::max(std::abs(mean), spread / items);
}

Bytes Reconciler::respond(const std::vector<PeerEntry>& entries) {
  // This reply is message messages_ + 2 of the session (the one being answered is messages_ + 1).
  Turn turn{density(entries), kTrialsPerMessageMax, messages_ + 2 >= kLateMessage};
  // Fingerprint entries that already match are settled; the others share this reply's budget.
  std::vector<char> matches(entries.size(), 0);
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const PeerEntry& e = entries[i];
    if (e.kind != Kind::kFingerprint) continue;
    matches[i] = e.end - e.begin == e.count && fingerprint(e.begin, e.end) == e.fingerprint;
    if (!matches[i]) ++turn.differing_left;
  }
  Writer out;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (out.size() > limits::reconcile_reply_bytes_target ||
        out.entries() + kSplitWaysMax >= limits::reconcile_ranges_per_message_max) {
      // Over budget: the rest waits for the next round, as one fingerprint over all of it.
      const PeerEntry& first = entries[i];
      const PeerEntry& last = entries.back();
      out.merge(entries.size() - i);
      out.fingerprint(first.lower, last.upper, last.end - first.begin,
                      fingerprint(first.begin, last.end));
      break;
    }
    const PeerEntry& entry = entries[i];
    switch (entry.kind) {
      case Kind::kFingerprint:
        respond_fingerprint(entry, matches[i] != 0, turn, out);
        break;
      case Kind::kPrefixList:
        respond_prefix_list(entry, out);
        break;
      case Kind::kAnswer:
        respond_answer(entry, out);
        break;
      case Kind::kIdList:
        settle_id_list(entry);
        out.settle();
        break;
    }
  }
  open_ = out.take_entries();
  if (open_.empty()) return Bytes{};
  return out.take_bytes();
}

void Reconciler::respond_fingerprint(const PeerEntry& entry, bool matches, Turn& turn, Writer& out) {
  if (matches) return out.settle();
  const std::size_t mine = entry.end - entry.begin;
  const std::uint64_t theirs = entry.count;
  // This range and the differing ones after it share what is left of the reply.
  const std::size_t sharing = std::max<std::size_t>(turn.differing_left, 1);
  if (turn.differing_left > 0) --turn.differing_left;
  if (theirs == 0) {  // the peer holds nothing here
    for (std::size_t i = entry.begin; i < entry.end; ++i) send(i);
    return out.settle();
  }
  const double skew = std::abs(static_cast<double>(mine) - static_cast<double>(theirs));
  const double larger = static_cast<double>(std::max<std::uint64_t>(mine, theirs));
  // The overall density stands in for differences that cancel in the counts (each side holding
  // some), but where differences crowd into a few ranges it overstates the rest: a range's own
  // count difference bounds how far it is trusted.
  double diffs = std::max({skew, std::min(turn.diffs_per_item * larger, 4 * skew + 4), skew == 0 ? 2.0 : 1.0});
  if (mine == theirs + 1 && mine <= kTrialItemsMax && mine <= turn.trials_left) {
    turn.trials_left -= mine;
    if (auto extra = trial(entry)) {
      send(*extra);
      return out.settle();
    }
    diffs = std::max(diffs, 3.0);  // one more here, and not one alone: at least two and one
  }
  // One short (or empty): most likely the peer holds one item this side lacks. Answering with
  // this side's fingerprint lets the peer find it by trial.
  const bool one_short = theirs == mine + 1 && theirs <= kTrialItemsMax &&
                         turn.diffs_per_item * larger <= kEchoDiffsMax;
  if (mine == 0 || (one_short && !turn.late)) {
    out.children(1);
    out.fingerprint(entry.lower, entry.upper, mine, fingerprint(entry.begin, entry.end));
    return;
  }
  // Each differing range gets its share of the reply's budget, so that differences crowded into
  // a few ranges (where the overall estimate of their density is high) do not use up the reply
  // on the first ranges and leave the rest, merged, for another round.
  constexpr std::size_t kEntriesForSplits = limits::reconcile_ranges_per_message_max - kSplitWaysMax;
  const std::size_t entries_left = kEntriesForSplits - std::min(out.entries(), kEntriesForSplits);
  const std::size_t bytes_left =
      limits::reconcile_reply_bytes_target - std::min(out.size(), limits::reconcile_reply_bytes_target);
  const std::size_t ways_max =
      std::max<std::size_t>(2, std::min(entries_left / sharing, bytes_left / (sharing * kFingerprintEntryBytesMax)));
  split_or_list(entry.lower, entry.upper, entry.begin, entry.end, static_cast<double>(theirs),
                diffs, turn.late, ways_max, out);
}

// The item whose removal from this side's range gives the peer's fingerprint, if one does.
std::optional<std::size_t> Reconciler::trial(const PeerEntry& entry) const {
  const Sum total = sum(entry.begin, entry.end);
  const std::uint64_t count = entry.end - entry.begin - 1;
  for (std::size_t i = entry.begin; i < entry.end; ++i) {
    Sum rest = total;
    subtract(rest, value_of(items_[i]));
    if (fingerprint_of(rest, count) == entry.fingerprint) return i;
  }
  return std::nullopt;
}

// Bytes per listed id: long enough that an id the peer lacks rarely shares its prefix with one
// of the about `total_items` ids either side holds in the range (a collision costs a round, not
// correctness), and that this side's own ids in the range have distinct prefixes.
std::size_t Reconciler::prefix_bytes(std::size_t begin, std::size_t end, double total_items) const {
  std::size_t bytes = total_items <= 256 ? 3 : total_items <= 65536 ? 4 : 5;
  std::vector<const std::uint8_t*> ids;
  for (std::size_t i = begin; i < end; ++i) ids.push_back(items_[i].data() + 8);
  std::sort(ids.begin(), ids.end(), [](const std::uint8_t* a, const std::uint8_t* b) {
    return std::memcmp(a, b, kIdBytes) < 0;
  });
  for (std::size_t i = 1; i < ids.size(); ++i) {
    std::size_t shared = 0;
    while (shared < kIdBytes && ids[i - 1][shared] == ids[i][shared]) ++shared;
    bytes = std::max(bytes, shared + 1);
  }
  return std::min(bytes, kIdBytes);
}

// Answers a range that differs, where this side holds [begin, end): lists its ids when that is
// cheap for the differences expected there, or splits it into parts of equal item counts, each
// sent with its fingerprint or, when small and likely to differ, as a list.
void Reconciler::split_or_list(const Bound& lower, const Bound& upper, std::size_t begin,
                               std::size_t end, double their_count, double diffs, bool late,
                               std::size_t ways_max, Writer& out) const {
  const std::size_t mine = end - begin;
  // Late in a session a range is listed (in parts of at most kListItemsMax), which settles it
  // in two more messages, rather than narrowed further.
  const bool list_all = late && mine <= kLateListItemsMax;
  if (mine <= kListItemsMax) {
    const std::size_t prefix = prefix_bytes(begin, end, static_cast<double>(mine) + their_count);
    const double bytes = static_cast<double>(mine * prefix);
    if (list_all || bytes <= kListBytesAlways || bytes <= diffs * kListBytesPerDiff) {
      out.children(1);
      out.prefix_list(lower, upper, items_.data() + begin, mine, prefix);
      return;
    }
  }
  std::size_t ways = static_cast<std::size_t>(std::ceil(diffs / kDiffsPerPart));
  ways = std::max(ways, std::min(kSplitWaysBlind, mine / kItemsPerBlindPart));
  if (list_all) ways = (mine + kListItemsMax - 1) / kListItemsMax;
  ways = std::clamp<std::size_t>(ways, 2, std::max<std::size_t>(2, std::min({kSplitWaysMax, mine, ways_max})));
  std::optional<std::size_t> newest;
  if (!list_all && begin < timed_end_ && timed_end_ <= end) newest = timed_end_;
  std::vector<std::size_t> ideals, cuts;
  std::vector<Bound> bounds;
  // Fewer parts when their bounds would be long (ids sharing long prefixes), so that one
  // response stays within kResponseBytesMax.
  for (;;) {
    ideals = part_starts(begin, end, ways, newest);
    const std::size_t bytes = cut_points(begin, end, lower, upper, ideals, cuts, bounds) +
                              (ideals.size() + 1) * kFingerprintEntryBytesMax;
    if (bytes <= kResponseBytesMax || ways == 2) break;
    ways = std::max<std::size_t>(2, ways / 2);
  }
  ways = ideals.size() + 1;
  const std::size_t budget = out.size() + kResponseBytesMax;
  out.children(ways);
  for (std::size_t part = 1; part < ways; ++part) out.bound(bounds[part - 1], upper, bounds[part]);
  for (std::size_t part = 0; part < ways; ++part) {
    const std::size_t from = cuts[part], to = cuts[part + 1], count = to - from;
    const double share = static_cast<double>(count) / static_cast<double>(mine);
    if (count <= kListItemsMax) {
      const std::size_t prefix =
          prefix_bytes(from, to, static_cast<double>(count) + their_count * share);
      const std::size_t bytes = count * prefix;
      if ((list_all ||
           static_cast<double>(bytes) * std::exp(-diffs * share) <= kFingerprintEntryBytes) &&
          out.size() + bytes + (ways - part) * kFingerprintEntryBytesMax <= budget) {
        out.prefix_list(bounds[part], bounds[part + 1], items_.data() + from, count, prefix);
        continue;
      }
    }
    out.fingerprint(bounds[part], bounds[part + 1], count, fingerprint(from, to));
  }
}

// Cut points splitting this side's items [begin, end) near `ideals` (ascending, inside), each
// moved (by up to an eighth of the smaller part beside it) to where the shortest bound
// separates two neighbours. Fills `cuts` (begin, the cuts, end) and `bounds` (lower, the
// bounds, upper); returns the bytes the bounds take.
std::size_t Reconciler::cut_points(std::size_t begin, std::size_t end, const Bound& lower,
                                   const Bound& upper, const std::vector<std::size_t>& ideals,
                                   std::vector<std::size_t>& cuts,
                                   std::vector<Bound>& bounds) const {
  cuts.assign(1, begin);
  bounds.assign(1, lower);
  std::size_t total = 0;
  for (std::size_t part = 0; part < ideals.size(); ++part) {
    const std::size_t ideal = ideals[part];
    const std::size_t before = part == 0 ? begin : ideals[part - 1];
    const std::size_t after = part + 1 == ideals.size() ? end : ideals[part + 1];
    const std::size_t slack = std::min(ideal - before, after - ideal) / 8;
    const std::size_t first = std::max(cuts.back() + 1, ideal - slack);
    const std::size_t last = std::min(ideal + slack, end - (ideals.size() - part));
    assert(first <= last);
    std::size_t best = std::clamp(ideal, first, last), best_bytes = SIZE_MAX;
    for (std::size_t at = first; at <= last; ++at) {
      std::size_t bytes = bound_bytes(bounds.back(), upper, separator(items_[at - 1], items_[at]));
      std::size_t distance = at > ideal ? at - ideal : ideal - at,
                  best_distance = best > ideal ? best - ideal : ideal - best;
      if (bytes < best_bytes || (bytes == best_bytes && distance < best_distance)) {
        best = at;
        best_bytes = bytes;
      }
    }
    total += best_bytes;
    cuts.push_back(best);
    bounds.push_back(separator(items_[best - 1], items_[best]));
  }
  cuts.push_back(end);
  bounds.push_back(upper);
  return total;
}

// The peer listed its ids in a range by prefix: send what it lacks, and answer with the
// positions in its list this side lacks and a check over the ids matched, so that the lister
// can tell whether a prefix stood for an id it does not hold.
void Reconciler::respond_prefix_list(const PeerEntry& entry, Writer& out) {
  const std::size_t listed = static_cast<std::size_t>(entry.count), width = entry.prefix_bytes;
  auto prefix = [&](std::size_t i) { return entry.payload.data() + i * width; };
  std::vector<std::uint32_t> order(listed);
  std::iota(order.begin(), order.end(), 0u);
  std::sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) {
    return std::memcmp(prefix(a), prefix(b), width) < 0;
  });
  // Equal prefixes form one group, found once (a peer listing one prefix many times gains nothing).
  std::vector<std::size_t> group_start;
  for (std::size_t i = 0; i < listed; ++i)
    if (i == 0 || std::memcmp(prefix(order[i - 1]), prefix(order[i]), width) != 0)
      group_start.push_back(i);
  group_start.push_back(listed);
  std::vector<bool> found(listed, false), group_found(group_start.size(), false);
  Sum matched{};
  std::size_t matched_count = 0;
  for (std::size_t item = entry.begin; item < entry.end; ++item) {
    const std::uint8_t* id = items_[item].data() + 8;
    auto group = std::upper_bound(group_start.begin(), group_start.end() - 1, id,
                                  [&](const std::uint8_t* key, std::size_t start) {
                                    return std::memcmp(key, prefix(order[start]), width) < 0;
                                  });
    if (group == group_start.begin() || std::memcmp(id, prefix(order[*(group - 1)]), width) != 0) {
      send(item);
      continue;
    }
    const std::size_t index = static_cast<std::size_t>(group - group_start.begin()) - 1;
    if (!group_found[index]) {
      group_found[index] = true;
      for (std::size_t i = group_start[index]; i < group_start[index + 1]; ++i)
        found[order[i]] = true;
    }
    add(matched, value_of(items_[item]));
    ++matched_count;
  }
  std::vector<std::uint32_t> lacked;
  for (std::size_t i = 0; i < listed; ++i)
    if (!found[i]) lacked.push_back(static_cast<std::uint32_t>(i));
  out.children(1);
  out.answer(entry.lower, entry.upper, lacked, check_of(matched, matched_count), listed);
}

// The peer answered this side's prefix list: send what it lacks; if its check of the ids it
// matched disagrees (a prefix stood for another id), list the ids still in question in full.
void Reconciler::respond_answer(const PeerEntry& entry, Writer& out) {
  Sum matched = sum(entry.begin, entry.end);
  std::vector<bool> lacked(entry.end - entry.begin, false);
  for (std::uint32_t at : entry.lacked) {
    send(entry.begin + at);
    subtract(matched, value_of(items_[entry.begin + at]));
    lacked[at] = true;
  }
  if (check_of(matched, entry.end - entry.begin - entry.lacked.size()) == entry.check)
    return out.settle();
  std::vector<const ItemKey*> rest;
  for (std::size_t i = entry.begin; i < entry.end; ++i)
    if (!lacked[i - entry.begin]) rest.push_back(&items_[i]);
  out.children(1);
  out.id_list(entry.lower, entry.upper, rest);
}

// The peer listed the ids in question in full: this side settles the range alone.
void Reconciler::settle_id_list(const PeerEntry& entry) {
  std::vector<Hash32> theirs, mine;
  for (std::size_t at = 0; at < entry.payload.size(); at += kIdBytes)
    theirs.push_back(*Hash32::from_view(entry.payload.subspan(at, kIdBytes)));
  for (std::size_t i = entry.begin; i < entry.end; ++i) mine.push_back(item_id(items_[i]));
  std::sort(theirs.begin(), theirs.end());
  std::sort(mine.begin(), mine.end());
  for (std::size_t i = entry.begin; i < entry.end; ++i)
    if (!std::binary_search(theirs.begin(), theirs.end(), item_id(items_[i]))) send(i);
  for (const Hash32& id : theirs)
    if (!std::binary_search(mine.begin(), mine.end(), id)) fetch(id);
}

}  // namespace anwang::net
