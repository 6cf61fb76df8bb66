// id_set.h — a set of 32-byte ids in one flat table.
//
// A sync session keeps the ids of every op both sides may hold: millions on a county node.
// std::unordered_set spends a heap node on each (about 140 bytes an id in all, and an allocation
// per insert); this table keeps the ids themselves in one array, open addressed with linear
// probing, at most half full: 33 to 66 bytes an id. Ids are BLAKE2b hashes, but tests build ids
// that share long prefixes, so every word of the id goes into the slot (the SplitMix64
// finalizer over the xor of the words, each rotated). Pure value type; not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "crdt/bytes.h"

namespace anwang {

class IdSet {
 public:
  // True when `id` was not in the set.
  bool insert(const Hash32& id) {
    if ((size_ + 1) * 2 > slots_.size()) rehash(slots_.empty() ? kMinSlots : slots_.size() * 2);
    std::size_t at = find_slot(id);
    if (used_[at]) return false;
    used_[at] = true;
    slots_[at] = id;
    ++size_;
    return true;
  }

  // Makes room for `count` ids in all, so that inserting up to that many rehashes nothing.
  void reserve(std::size_t count) {
    std::size_t slots = kMinSlots;
    while (slots < count * 2) slots *= 2;
    if (slots > slots_.size()) rehash(slots);
  }

  bool contains(const Hash32& id) const { return !slots_.empty() && used_[find_slot(id)]; }
  std::size_t size() const { return size_; }
  // How many ids it holds before it next grows (at most half its slots are used).
  std::size_t capacity() const { return slots_.size() / 2; }

  // Calls visit(id) for every id, in no particular (but deterministic) order.
  template <typename Visit>
  void for_each(Visit&& visit) const {
    for (std::size_t i = 0; i < slots_.size(); ++i)
      if (used_[i]) visit(slots_[i]);
  }

 private:
  static constexpr std::size_t kMinSlots = 16;

  static std::uint64_t word(const Hash32& id, std::size_t i) {
    std::uint64_t w;
    std::memcpy(&w, id.bytes.data() + 8 * i, sizeof w);
    return w;
  }
  static std::uint64_t slot_hash(const Hash32& id) {
    std::uint64_t z = word(id, 0) ^ rotl(word(id, 1), 17) ^ rotl(word(id, 2), 31) ^ rotl(word(id, 3), 47);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  static std::uint64_t rotl(std::uint64_t x, int by) { return (x << by) | (x >> (64 - by)); }

  // The slot holding `id`, or the empty slot where it would go. REQUIRES: a free slot exists.
  std::size_t find_slot(const Hash32& id) const {
    std::size_t mask = slots_.size() - 1;
    std::size_t at = static_cast<std::size_t>(slot_hash(id)) & mask;
    while (used_[at] && slots_[at] != id) at = (at + 1) & mask;
    return at;
  }

  void rehash(std::size_t slots) {
    std::vector<Hash32> old_slots(slots);
    std::vector<bool> old_used(slots, false);
    old_slots.swap(slots_);
    old_used.swap(used_);
    for (std::size_t i = 0; i < old_slots.size(); ++i)
      if (old_used[i]) {
        std::size_t at = find_slot(old_slots[i]);
        used_[at] = true;
        slots_[at] = old_slots[i];
      }
  }

  std::vector<Hash32> slots_;  // a power of two in size, or empty
  std::vector<bool> used_;
  std::size_t size_ = 0;
};

}  // namespace anwang
