#include "node/slots.h"

#include <algorithm>
#include <cassert>

#include "crdt/limits.h"

namespace anwang::node {

std::string address_prefix(const asio::ip::address& address) {
  if (address.is_v6() && address.to_v6().is_v4_mapped())
    return address_prefix(asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6()));
  if (address.is_v4()) {
    auto bytes = address.to_v4().to_bytes();
    static_assert(limits::connections_prefix_bits_v4 % 8 == 0);
    std::fill(bytes.begin() + limits::connections_prefix_bits_v4 / 8, bytes.end(), 0);
    return asio::ip::address_v4(bytes).to_string() + "/" + std::to_string(limits::connections_prefix_bits_v4);
  }
  auto bytes = address.to_v6().to_bytes();
  static_assert(limits::connections_prefix_bits_v6 % 8 == 0);
  std::fill(bytes.begin() + limits::connections_prefix_bits_v6 / 8, bytes.end(), 0);
  return asio::ip::address_v6(bytes).to_string() + "/" + std::to_string(limits::connections_prefix_bits_v6);
}

UnauthenticatedSlots::UnauthenticatedSlots(std::size_t total_max, std::size_t per_prefix_max)
    : total_max_(total_max), per_prefix_max_(per_prefix_max) {
  assert(per_prefix_max >= 1 && per_prefix_max <= total_max);
}

std::size_t UnauthenticatedSlots::held_by(const std::string& prefix) const {
  auto it = by_prefix_.find(prefix);
  return it == by_prefix_.end() ? 0 : it->second.size();
}

std::optional<std::uint64_t> UnauthenticatedSlots::oldest_of(const std::string& prefix) const {
  auto it = by_prefix_.find(prefix);
  if (it == by_prefix_.end() || it->second.empty()) return std::nullopt;
  return it->second.begin()->second;
}

// The prefix holding the most slots; of equals, the one whose oldest slot is oldest.
std::optional<std::string> UnauthenticatedSlots::fullest_prefix() const {
  const std::string* best = nullptr;
  std::size_t best_count = 0;
  std::uint64_t best_order = 0;
  for (const auto& [prefix, held] : by_prefix_) {
    if (held.empty()) continue;
    std::uint64_t order = held.begin()->first;
    if (best == nullptr || held.size() > best_count || (held.size() == best_count && order < best_order)) {
      best = &prefix;
      best_count = held.size();
      best_order = order;
    }
  }
  if (best == nullptr) return std::nullopt;
  return *best;
}

UnauthenticatedSlots::Admission UnauthenticatedSlots::admit(std::uint64_t id, const std::string& prefix) {
  assert(!holds(id));
  Admission admission;
  const std::size_t mine = held_by(prefix);
  if (mine >= per_prefix_max_) {
    admission.evicted = oldest_of(prefix);  // its own prefix's oldest gives way
  } else if (slots_.size() >= total_max_) {
    auto fullest = fullest_prefix();
    if (!fullest || held_by(*fullest) <= mine) return admission;  // no prefix holds more: turned away
    admission.evicted = oldest_of(*fullest);
  }
  if (admission.evicted) release(*admission.evicted);
  std::uint64_t order = next_order_++;
  slots_.emplace(id, Slot{prefix, order});
  by_prefix_[prefix].emplace(order, id);
  admission.admitted = true;
  assert(held_by(prefix) <= per_prefix_max_ && slots_.size() <= total_max_);
  return admission;
}

void UnauthenticatedSlots::release(std::uint64_t id) {
  auto it = slots_.find(id);
  if (it == slots_.end()) return;
  auto held = by_prefix_.find(it->second.prefix);
  held->second.erase({it->second.order, id});
  if (held->second.empty()) by_prefix_.erase(held);
  slots_.erase(it);
}

}  // namespace anwang::node
