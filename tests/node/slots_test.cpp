// Connections before authentication, counted by network prefix (issue 20, item 8): the prefix of
// IPv4, IPv6 and IPv4-mapped addresses, and the slot accounting without sockets — a few networks
// cannot take every slot, and many honest peers behind one address (carrier-grade NAT) still get
// in beside a silent flood from that address.
#include <catch2/catch.hpp>

#include <deque>
#include <random>

#include "crdt/limits.h"
#include "node/slots.h"

using anwang::node::address_prefix;
using anwang::node::UnauthenticatedSlots;
namespace limits = anwang::limits;

namespace {
std::string prefix_of(const char* text) { return address_prefix(asio::ip::make_address(text)); }
}  // namespace

TEST_CASE("an address's prefix is its /24 (IPv4) or /64 (IPv6)", "[slots]") {
  CHECK(prefix_of("203.0.113.77") == "203.0.113.0/24");
  CHECK(prefix_of("203.0.113.0") == "203.0.113.0/24");
  CHECK(prefix_of("203.0.114.1") == "203.0.114.0/24");
  CHECK(prefix_of("127.0.0.1") == prefix_of("127.0.0.9"));
  CHECK(prefix_of("127.0.0.1") != prefix_of("127.0.1.1"));
  CHECK(prefix_of("2001:db8:1:2:aaaa:bbbb:cccc:dddd") == "2001:db8:1:2::/64");
  CHECK(prefix_of("2001:db8:1:2::1") == prefix_of("2001:db8:1:2:ffff::"));
  CHECK(prefix_of("2001:db8:1:3::1") == "2001:db8:1:3::/64");
  CHECK(prefix_of("::1") == "::/64");
  // An IPv4 peer reaching a dual-stack listener arrives as ::ffff:a.b.c.d: counted as IPv4.
  CHECK(prefix_of("::ffff:203.0.113.77") == "203.0.113.0/24");
  CHECK(prefix_of("::ffff:203.0.113.77") == prefix_of("203.0.113.5"));
}

TEST_CASE("one prefix holds at most its share; its oldest slot gives way to a newcomer", "[slots]") {
  UnauthenticatedSlots slots(limits::connections_unauthenticated_max, limits::connections_unauthenticated_per_prefix_max);
  const std::size_t cap = limits::connections_unauthenticated_per_prefix_max;
  for (std::uint64_t id = 0; id < cap; ++id) {
    auto admission = slots.admit(id, "198.51.100.0/24");
    CHECK(admission.admitted);
    CHECK_FALSE(admission.evicted);
  }
  auto next = slots.admit(100, "198.51.100.0/24");
  CHECK(next.admitted);
  REQUIRE(next.evicted);
  CHECK(*next.evicted == 0);  // the oldest
  CHECK(slots.held_by("198.51.100.0/24") == cap);
  CHECK_FALSE(slots.holds(0));
  // Another network is not touched.
  CHECK(slots.admit(200, "192.0.2.0/24").admitted);
  CHECK(slots.held_by("192.0.2.0/24") == 1);
}

TEST_CASE("eight IPv4 addresses, or one IPv6 /64, no longer take every slot", "[slots]") {
  // Before: 8 per exact address, 64 in all. Eight addresses of one /24, or 64 addresses of one
  // IPv6 host, filled the table and every other peer was closed at once.
  UnauthenticatedSlots slots(limits::connections_unauthenticated_max, limits::connections_unauthenticated_per_prefix_max);
  std::uint64_t id = 0;
  for (int address = 1; address <= 8; ++address)
    for (int i = 0; i < 8; ++i)
      slots.admit(id++, prefix_of(("203.0.113." + std::to_string(address)).c_str()));
  for (int i = 0; i < 64; ++i) slots.admit(id++, prefix_of(("2001:db8::" + std::to_string(i + 1)).c_str()));
  CHECK(slots.held_by("203.0.113.0/24") == limits::connections_unauthenticated_per_prefix_max);
  CHECK(slots.held_by("2001:db8::/64") == limits::connections_unauthenticated_per_prefix_max);
  CHECK(slots.size() < limits::connections_unauthenticated_max);
  CHECK(slots.admit(id++, "192.0.2.0/24").admitted);
}

TEST_CASE("when every slot is taken, a newcomer takes the oldest slot of the fullest network", "[slots]") {
  UnauthenticatedSlots slots(limits::connections_unauthenticated_max, limits::connections_unauthenticated_per_prefix_max);
  std::uint64_t id = 0;
  // Four networks (the fewest that can) fill the table.
  for (int network = 0; network < 4; ++network)
    for (std::size_t i = 0; i < limits::connections_unauthenticated_per_prefix_max; ++i)
      REQUIRE(slots.admit(id++, "10." + std::to_string(network) + ".0.0/24").admitted);
  REQUIRE(slots.size() == static_cast<std::size_t>(limits::connections_unauthenticated_max));
  auto honest = slots.admit(1000, "192.0.2.0/24");
  CHECK(honest.admitted);
  REQUIRE(honest.evicted);
  CHECK(*honest.evicted == 0);  // network 10.0.0.0/24's oldest: of the fullest, the one waiting longest
  CHECK(slots.size() == static_cast<std::size_t>(limits::connections_unauthenticated_max));
  // As many networks as slots, one slot each: a newcomer from one of them is turned away (no
  // network holds more than its own), one from a network holding none takes the oldest slot.
  UnauthenticatedSlots even(8, 2);
  for (std::uint64_t i = 0; i < 8; ++i) REQUIRE(even.admit(i, "n" + std::to_string(i)).admitted);
  CHECK_FALSE(even.admit(100, "n5").admitted);
  auto fresh = even.admit(101, "fresh");
  CHECK(fresh.admitted);
  REQUIRE(fresh.evicted);
  CHECK(*fresh.evicted == 0);
}

TEST_CASE("villages behind one address (carrier-grade NAT) get in beside a silent flood from it", "[slots]") {
  // A silent flood from one address opens a connection every tick and never speaks; honest
  // villages behind the same address connect among it and finish their handshake within a few
  // ticks (a few 2G round trips), which frees their slot. Every honest village must get in and
  // finish, none evicted mid-handshake while the flood is no faster than their handshakes.
  UnauthenticatedSlots slots(limits::connections_unauthenticated_max, limits::connections_unauthenticated_per_prefix_max);
  const std::string nat = "100.64.7.0/24";
  std::mt19937_64 rng(8);
  std::uint64_t id = 0;
  std::deque<std::pair<std::uint64_t, int>> handshaking;  // honest id, ticks left
  int honest_started = 0, honest_finished = 0, honest_evicted = 0;
  for (int tick = 0; tick < 10'000; ++tick) {
    slots.admit(id++, nat);  // the flood: evicted in turn, or closed by the first-message deadline
    if (rng() % 4 == 0) {    // a village dials
      std::uint64_t honest = id++;
      if (slots.admit(honest, nat).admitted) {
        ++honest_started;
        handshaking.emplace_back(honest, 1 + static_cast<int>(rng() % 4));
      }
    }
    for (auto it = handshaking.begin(); it != handshaking.end();) {
      if (!slots.holds(it->first)) {
        ++honest_evicted;
        it = handshaking.erase(it);
      } else if (--it->second == 0) {
        slots.release(it->first);  // authenticated: out of the bound
        ++honest_finished;
        it = handshaking.erase(it);
      } else {
        ++it;
      }
    }
  }
  CHECK(honest_started > 2000);
  CHECK(honest_evicted == 0);
  CHECK(honest_finished == honest_started - static_cast<int>(handshaking.size()));
  CHECK(slots.held_by(nat) <= limits::connections_unauthenticated_per_prefix_max);
}
