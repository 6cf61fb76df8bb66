// hostile_lister.h — a reconciliation peer that floods its victim with id lists (tests and fuzz
// targets only; the encoding is net/PROTOCOL.md, "Reconciliation").
//
// It answers every range of the victim's message, in order, and never splits one (so it needs no
// range bounds): a fingerprint range with a list of `kListIds` random id prefixes or a false
// fingerprint claiming more items (so the victim splits it again next round); an answer to one of
// its lists with as many random full ids (which the victim lacks, and so fetches); a range the
// victim listed is left settled. It sends as many lists as the next round's full id lists can
// carry within a message (limits::reconcile_message_bytes_max), and claims the rest, so every round
// names about 16,000 new ids until the victim's ranges are small. `choice`, when given, picks per
// range between a list, a claim and settling (the fuzz target feeds it input bytes).
//
// A victim with few items lists them all rather than send fingerprints, and a range it listed
// would be left settled. With merge_lists(), the lister answers such a range with a merge into a
// list of its own prefixes (or, past the message's share of lists, a false fingerprint claiming
// more items, which keeps the range open), so a small victim is flooded too (the simulator's
// compromised node).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <random>
#include <vector>

#include "crdt/bytes.h"
#include "crdt/limits.h"

namespace anwang::test {

class HostileLister {
 public:
  static constexpr std::size_t kListIds = limits::reconcile_ids_per_range_max;
  static constexpr std::size_t kPrefixBytes = 4;

  explicit HostileLister(std::uint64_t seed, std::function<std::uint8_t()> choice = {})
      : rng_(seed), choice_(std::move(choice)) {}

  // Also answers the ranges the victim listed (see above).
  HostileLister& merge_lists() {
    merge_lists_ = true;
    return *this;
  }

  // The initiator's first message: a false fingerprint over the whole key space claiming `claimed`
  // items, so the victim splits its items into ranges.
  Bytes first(std::uint64_t claimed) {
    Bytes out{kVersion};
    put_varint(out, kChildren);  // one child: the whole space
    fingerprint(out, claimed);
    return out;
  }

  // The answer to the victim's message, or nothing when the message does not parse.
  std::optional<Bytes> answer(ByteView message) {
    std::vector<Entry> entries;
    if (!parse(message, entries)) return std::nullopt;
    Bytes out{kVersion};
    std::size_t skipped = 0;
    std::size_t id_list_bytes = 0;  // in this message
    std::size_t lists = 0;          // prefix lists in this message: answered with id lists next round
    const std::size_t lists_max = (limits::reconcile_message_bytes_max - 1024) / (kListIds * 32 + 8);
    auto flush_skips = [&] {
      if (skipped > 0) put_varint(out, ((skipped - 1) << 2) | kSkip);
      skipped = 0;
    };
    for (const Entry& entry : entries) {
      std::uint8_t pick = choice_ ? choice_() : 0;
      if (entry.kind == kAnswer && pick % 4 != 3 &&
          out.size() + id_list_bytes + kListIds * 32 + 16 < limits::reconcile_message_bytes_max) {
        flush_skips();
        put_varint(out, kChildren);
        put_varint(out, (std::uint64_t{kListIds} << 2) | kIdList);
        for (std::size_t i = 0; i < kListIds * 32; ++i) out.push_back(static_cast<std::uint8_t>(rng_()));
        id_list_bytes += kListIds * 32;
      } else if (entry.kind == kFingerprint && pick % 4 != 3 && out.size() + 64 * 1024 < limits::reconcile_message_bytes_max) {
        flush_skips();
        put_varint(out, kChildren);
        if (lists < lists_max && pick % 4 != 2) {
          ++lists;
          put_prefix_list(out);
        } else {
          fingerprint(out, entry.count * 2 + 8);
        }
      } else if (entry.kind == kPrefixList && merge_lists_ && out.size() + 64 * 1024 < limits::reconcile_message_bytes_max) {
        // A merge of one entry: the victim's listed range becomes one range, answered anew.
        flush_skips();
        put_varint(out, kMerge);
        if (lists < lists_max) {
          ++lists;
          put_prefix_list(out);
        } else {
          fingerprint(out, entry.count * 2 + 8);
        }
      } else {
        ++skipped;
      }
    }
    return out;
  }

 private:
  static constexpr std::uint8_t kVersion = 2;
  static constexpr std::uint64_t kSkip = 0, kChildren = 1, kMerge = 2;
  static constexpr std::uint64_t kFingerprint = 0, kPrefixList = 1, kAnswer = 2, kIdList = 3;
  struct Entry {
    std::uint64_t kind;
    std::uint64_t count;
  };

  void put_prefix_list(Bytes& out) {
    put_varint(out, (std::uint64_t{kListIds} << 2) | kPrefixList);
    out.push_back(kPrefixBytes);
    for (std::size_t i = 0; i < kListIds * kPrefixBytes; ++i) out.push_back(static_cast<std::uint8_t>(rng_()));
  }

  void fingerprint(Bytes& out, std::uint64_t count) {
    put_varint(out, (count << 2) | kFingerprint);
    if (count > 0)
      for (int i = 0; i < 8; ++i) out.push_back(static_cast<std::uint8_t>(rng_()));
  }

  static void put_varint(Bytes& out, std::uint64_t value) {
    while (value >= 0x80) {
      out.push_back(static_cast<std::uint8_t>(value | 0x80));
      value >>= 7;
    }
    out.push_back(static_cast<std::uint8_t>(value));
  }

  static bool varint(ByteView in, std::size_t& at, std::uint64_t& value) {
    value = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
      if (at >= in.size()) return false;
      std::uint8_t b = in[at++];
      value |= static_cast<std::uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return true;
    }
    return false;
  }

  static bool skip(ByteView in, std::size_t& at, std::uint64_t bytes) {
    if (bytes > in.size() - at) return false;
    at += static_cast<std::size_t>(bytes);
    return true;
  }

  // The victim's entries, in order (each is one of its open ranges).
  static bool parse(ByteView in, std::vector<Entry>& entries) {
    std::size_t at = 0;
    if (in.empty() || in[at++] != kVersion) return false;
    while (at < in.size()) {
      std::uint64_t header = 0;
      if (!varint(in, at, header)) return false;
      const std::uint64_t mode = header & 3, count = (header >> 2) + 1;
      if (mode == kSkip) continue;
      const std::uint64_t children = mode == kMerge ? 1 : count;
      for (std::uint64_t i = 1; mode == kChildren && i < count; ++i) {  // the bounds between them
        std::uint64_t head = 0, more = 0;
        if (!varint(in, at, head)) return false;
        std::uint64_t tail = head & 15;
        if (tail == 15 && !varint(in, at, more)) return false;
        tail += more;
        if (!skip(in, at, (tail > 0 ? tail - 1 + 7 : 7) / 8)) return false;
      }
      for (std::uint64_t i = 0; i < children; ++i) {
        std::uint64_t head = 0;
        if (!varint(in, at, head)) return false;
        Entry entry{head & 3, head >> 2};
        switch (entry.kind) {
          case kFingerprint:
            if (entry.count > 0 && !skip(in, at, 8)) return false;
            break;
          case kPrefixList: {
            if (at >= in.size()) return false;
            std::uint64_t width = in[at++];
            if (!skip(in, at, entry.count * width)) return false;
            break;
          }
          case kAnswer:
            for (std::uint64_t k = 0; k < entry.count; ++k) {
              std::uint64_t gap = 0;
              if (!varint(in, at, gap)) return false;
            }
            if (!skip(in, at, 4)) return false;
            break;
          default:
            if (!skip(in, at, entry.count * 32)) return false;
        }
        entries.push_back(entry);
      }
    }
    return true;
  }

  std::mt19937_64 rng_;
  std::function<std::uint8_t()> choice_;
  bool merge_lists_ = false;
};

}  // namespace anwang::test
