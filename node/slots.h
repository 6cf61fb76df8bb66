// slots.h — connections accepted but not yet authenticated, counted by network prefix.
//
// A stranger's connection costs anwangd a thread and a receive buffer until its handshake ends,
// so there are only so many slots (limits::connections_unauthenticated_max). Slots are counted by
// network prefix (address_prefix: the /24 of an IPv4 address, the /64 of an IPv6 one), not by
// exact address: one host holds many addresses of its /24 or /64, and a single IPv6 host a whole
// /64. One prefix holds at most limits::connections_unauthenticated_per_prefix_max slots.
//
// Many honest villages may share one address or prefix (carrier-grade NAT), so a full prefix does
// not turn newcomers away: the prefix's oldest slot gives way to the newcomer. An honest peer
// says hello at once and finishes its handshake in a few round trips, freeing its slot, so it is
// rarely the oldest; a silent one is the oldest and goes first. Likewise when every slot is taken,
// a newcomer takes the oldest slot of the prefix holding the most, if that prefix holds more than
// the newcomer's; so a few networks cannot keep the rest of the world out. Eviction closes the
// evicted connection (the caller does that).
//
// Pure bookkeeping, no sockets: anwangd holds one under its sessions mutex; tests drive it alone.
#pragma once

#include <asio/ip/address.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>

namespace anwang::node {

// "203.0.113.0/24" for an IPv4 address (and an IPv4-mapped IPv6 one), "2001:db8:1:2::/64" for IPv6.
std::string address_prefix(const asio::ip::address& address);

class UnauthenticatedSlots {
 public:
  UnauthenticatedSlots(std::size_t total_max, std::size_t per_prefix_max);

  struct Admission {
    bool admitted = false;
    std::optional<std::uint64_t> evicted;  // the connection that gave way: to be closed
  };
  // A new connection `id` (not held already) from `prefix`.
  Admission admit(std::uint64_t id, const std::string& prefix);
  // The connection authenticated or ended (or was evicted): its slot is free. Unknown ids: nothing.
  void release(std::uint64_t id);

  std::size_t size() const { return slots_.size(); }
  std::size_t held_by(const std::string& prefix) const;
  bool holds(std::uint64_t id) const { return slots_.count(id) != 0; }

 private:
  struct Slot {
    std::string prefix;
    std::uint64_t order;  // admission order: lower is older
  };
  std::optional<std::uint64_t> oldest_of(const std::string& prefix) const;
  std::optional<std::string> fullest_prefix() const;

  std::size_t total_max_;
  std::size_t per_prefix_max_;
  std::uint64_t next_order_ = 0;
  std::map<std::uint64_t, Slot> slots_;  // by connection id
  std::map<std::string, std::set<std::pair<std::uint64_t, std::uint64_t>>> by_prefix_;  // (order, id), oldest first
};

}  // namespace anwang::node
