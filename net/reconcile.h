// reconcile.h — range-based set reconciliation (the negentropy family), sans-IO.
//
// Each side holds a sorted set of items (a 40-byte key: timestamp then op id) — only the items
// both peers may hold, so no fingerprint, count or id of another scope ever crosses the link.
// The initiator sends the fingerprint of the whole range; a side that finds a range's
// fingerprint differs either splits it into sub-ranges with their fingerprints or, when it
// holds few items there, lists their ids. A listed range is settled by its receiver alone: it
// learns which ids the lister lacks (to send) and which it lacks itself (to fetch). Equal sets settle in one round trip; d differences among n items
// take O(log n) rounds and O(d log n) bytes.
//
// Reconciler is a state machine over messages (bytes in, bytes out); the transport, the store
// and the clock are the caller's. One Reconciler per session, one thread.
#pragma once

#include <array>
#include <optional>
#include <vector>

#include "crdt/bytes.h"
#include "crdt/status.h"

namespace anwang::net {

using ItemKey = std::array<std::uint8_t, 40>;  // hlc (8, big-endian) then id (32)

ItemKey item_key(std::uint64_t hlc, const Hash32& id);
Hash32 item_id(const ItemKey& key);

class Reconciler {
 public:
  // REQUIRES: items sorted ascending, no duplicates.
  explicit Reconciler(std::vector<ItemKey> items) : items_(std::move(items)) {}

  // Initiator only: the first message.
  Bytes initiate();
  // Processes a peer message. Returns the reply (empty when there is nothing left to say) or an
  // error for a malformed message. Ids the peer lacks are added to `to_send()`, ids this side
  // lacks to `to_fetch()`.
  Result<Bytes> on_message(ByteView message);

  const std::vector<Hash32>& to_send() const { return have_; }
  const std::vector<Hash32>& to_fetch() const { return need_; }
  int rounds() const { return rounds_; }

 private:
  struct Range {
    ItemKey lower;
    ItemKey upper;  // exclusive
  };
  std::pair<std::size_t, std::size_t> span(const Range& range) const;
  Hash32 fingerprint(std::size_t begin, std::size_t end) const;
  void add_fingerprint(Bytes& out, const Range& range) const;
  void add_id_list(Bytes& out, const Range& range) const;
  void split(Bytes& out, const Range& range) const;

  std::vector<ItemKey> items_;
  std::vector<Hash32> have_;
  std::vector<Hash32> need_;
  int rounds_ = 0;
};

}  // namespace anwang::net
