// reconcile.h — range-based set reconciliation (the negentropy family), sans-IO.
//
// Each side holds a sorted set of items (a 40-byte key: timestamp then op id) — only the items
// both peers may hold, so no fingerprint, count or id of another scope ever crosses the link.
// The initiator sends the fingerprint of the whole key space (or, holding few items, their
// list); each later message answers every range of the message before it, in order: a range
// whose count and fingerprint match is settled, one that differs is split into sub-ranges with
// their fingerprints or, where this side holds few items, listed as short id prefixes. The side
// that receives a list answers it with the positions it lacks and sends what the lister lacks;
// the lister sends those positions' ops. A range that differs by one item is often settled at
// once: the side holding the extra item finds which one it is from the other's fingerprint.
// Fingerprints hash sums of the (mixed) ids, from prefix sums built once, so each costs
// O(log n). Equal sets settle in one round trip; the newest few differences in two; 1,000
// scattered among 100,000 or 1,000,000 in three or four, at 40 to 65 bytes per difference
// (net/PROTOCOL.md, "Reconciliation", has the encoding and the figures).
//
// Reconciler is a state machine over messages (bytes in, bytes out); the transport, the store
// and the clock are the caller's. One Reconciler per session, one thread. A peer's message is
// checked whole before it changes any state; its cost is bounded by crdt/limits.h
// (reconcile_*): O(n + ranges · log n) work and memory per message, a bounded number of rounds
// (messages produced and received), and a bounded number of ids to fetch: once a peer's full id
// lists have named `fetch_ids_max` ids this side lacks, it records no more and ends the
// reconciliation with its next reply (empty: every open range is settled for this session). The
// next session finds what is left.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <set>
#include <vector>

#include "crdt/bytes.h"
#include "crdt/limits.h"
#include "crdt/status.h"

namespace anwang::net {

using ItemKey = std::array<std::uint8_t, 40>;  // hlc (8, big-endian) then id (32)

ItemKey item_key(std::uint64_t hlc, const Hash32& id);
Hash32 item_id(const ItemKey& key);
// Sorts item keys ascending. Keys that come as a few ascending runs (a store lists its items
// scope by scope, each scope in time order) take O(n log runs): runs are merged, not re-sorted.
void sort_item_keys(std::vector<ItemKey>& keys);

class Reconciler {
 public:
  // REQUIRES: items sorted ascending, no duplicates.
  explicit Reconciler(std::vector<ItemKey> items, std::size_t fetch_ids_max = limits::reconcile_fetch_ids_max);

  // Initiator only: the first message.
  Bytes initiate();
  // Processes a peer message. Returns the reply (empty when there is nothing left to say) or an
  // error for a malformed message, which leaves this Reconciler as it was. Ids the peer lacks
  // are added to `to_send()`, ids this side lacks to `to_fetch()`; each holds full ids, each id
  // once, and only true differences.
  Result<Bytes> on_message(ByteView message);

  const std::vector<Hash32>& to_send() const { return have_; }
  const std::vector<Hash32>& to_fetch() const { return need_; }
  // Messages this side has produced (initiate() and each non-empty reply).
  int rounds() const { return rounds_; }
  // The peer's lists named more ids this side lacks than it records in one session: to_fetch()
  // holds fetch_ids_max of them, and this side ended the reconciliation.
  bool fetch_budget_reached() const { return fetch_budget_reached_; }

 private:
  // A range bound: 0x00 then a key, or 0x01 then zeros (above every key).
  using Bound = std::array<std::uint8_t, 41>;
  using Sum = std::array<std::uint64_t, 4>;  // item values added mod 2^256, little-endian words
  using Fingerprint = std::array<std::uint8_t, 8>;
  enum class Kind : std::uint8_t { kFingerprint = 0, kPrefixList = 1, kAnswer = 2, kIdList = 3 };
  // An entry of this side's last message: the peer answers each, in order.
  struct Entry {
    Bound lower;
    Bound upper;  // exclusive
    Kind kind;
    std::uint32_t listed = 0;  // kAnswer: how many ids the peer listed
  };
  // What this side knows while it answers one message.
  struct Turn {
    double diffs_per_item = 0;  // estimated from the counts in the peer's message
    std::size_t trials_left = 0;
    bool late = false;  // this reply is late in the session: list ranges, do not split them
    std::size_t differing_left = 0;  // ranges of the peer's message that differ, not answered yet
  };
  struct PeerEntry;
  class Reader;
  class Writer;

  std::size_t position(const Bound& bound) const;
  Sum sum(std::size_t begin, std::size_t end) const;
  Fingerprint fingerprint(std::size_t begin, std::size_t end) const;

  Result<std::vector<PeerEntry>> decode(ByteView message) const;
  Status decode_entry(Reader& in, Kind parent, std::size_t siblings, PeerEntry& entry,
                      std::uint32_t listed = 0) const;
  static double density(const std::vector<PeerEntry>& entries);
  Bytes respond(const std::vector<PeerEntry>& entries);
  void respond_fingerprint(const PeerEntry& entry, bool matches, Turn& turn, Writer& out);
  void respond_prefix_list(const PeerEntry& entry, Writer& out);
  void respond_answer(const PeerEntry& entry, Writer& out);
  void settle_id_list(const PeerEntry& entry);
  std::optional<std::size_t> trial(const PeerEntry& entry) const;
  void split_or_list(const Bound& lower, const Bound& upper, std::size_t begin, std::size_t end,
                     double their_count, double diffs, bool late, std::size_t ways_max, Writer& out) const;
  std::size_t cut_points(std::size_t begin, std::size_t end, const Bound& lower, const Bound& upper,
                         const std::vector<std::size_t>& ideals, std::vector<std::size_t>& cuts,
                         std::vector<Bound>& bounds) const;
  std::size_t prefix_bytes(std::size_t begin, std::size_t end, double total_items) const;
  void send(std::size_t item);
  void fetch(const Hash32& id);

  std::vector<ItemKey> items_;
  std::size_t timed_end_ = 0;  // items_[0, timed_end_) have timestamps below the highest
  std::vector<Sum> sums_;  // sums_[i]: the sum of the values of items_[0, i)
  std::vector<Entry> open_;
  std::vector<Hash32> have_;
  std::vector<Hash32> need_;
  std::vector<bool> sent_;     // by item: in have_ already
  std::set<Hash32> need_set_;  // ids in need_ (a tree: ids from a peer may be chosen to collide)
  int rounds_ = 0;
  int messages_ = 0;  // sent and received in this session
  std::size_t received_ = 0;  // peer messages processed
  std::size_t fetch_ids_max_;
  bool fetch_budget_reached_ = false;
};

}  // namespace anwang::net
