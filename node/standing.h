// standing.h — what `anwang status`, the CLI's warnings and anwangd's log say about this node's
// clock and about the person keys of its keyring, in the same words everywhere. Pure text over
// what the store reports (Store::clock_state, Store::key_standing); thread-compatible.
#pragma once

#include <string>

#include "node/store.h"

namespace anwang::node {

// One sentence on this node's clock when it is off: what it reads, by how much, and what is used
// instead. Empty when it is not off (ok, or not compared with any peer yet).
std::string clock_warning(const ClockState& state);

// How far off a peer's clock is from this node's trusted time (its offset minus this node's
// correction), when it is off by more than limits::clock_skew_ms_max; nothing otherwise.
std::optional<std::int64_t> peer_clock_off(const ClockState& state, std::int64_t peer_offset_ms);

// A store message that names a key by its short hex ("key 1a2b3c4d5e6f …"), with the key's
// keyring name instead.
std::string with_key_name(std::string message, const PublicKey& key, const std::string& name);

// What an equivocation of a keyring key means and what to do about it, in one sentence.
std::string equivocation_advice(const std::string& key_name, const PublicKey& key, std::uint64_t seq);

}  // namespace anwang::node
