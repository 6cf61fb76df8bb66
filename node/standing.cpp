#include "node/standing.h"

#include "crdt/hlc.h"
#include "crdt/limits.h"

namespace anwang::node {

std::string clock_warning(const ClockState& state) {
  const TrustedTime& t = state.time;
  std::string reads = "this machine's clock reads " + hlc_display(hlc_from_ms(t.local_ms), TimeShown::kSeconds);
  if (!t.known)
    return reads + ", before 2026, and no peer's clock has been seen: ops are stamped just after the newest op they "
                   "follow instead; set the date, or sync with a neighbour first (anwang sync HOST:PORT)";
  if (t.verdict != ClockVerdict::kBehind && t.verdict != ClockVerdict::kAhead) return "";
  std::string peers = std::to_string(t.peer_votes) + (t.peer_votes == 1 ? " peer's" : " peers'");
  return reads + ", " + describe_offset(-t.correction_ms, "its " + peers + " time") + "; using theirs instead: " +
         hlc_display(hlc_from_ms(t.trusted_ms), TimeShown::kSeconds);
}

std::optional<std::int64_t> peer_clock_off(const ClockState& state, std::int64_t peer_offset_ms) {
  std::int64_t off = peer_offset_ms - state.time.correction_ms;
  std::uint64_t magnitude = off < 0 ? static_cast<std::uint64_t>(-(off + 1)) + 1 : static_cast<std::uint64_t>(off);
  if (magnitude <= limits::clock_skew_ms_max) return std::nullopt;
  return off;
}

std::string with_key_name(std::string message, const PublicKey& key, const std::string& name) {
  std::string hex = "key " + key.short_hex();
  if (auto at = message.find(hex); at != std::string::npos) message.replace(at, hex.size(), "key " + name);
  return message;
}

std::string equivocation_advice(const std::string& key_name, const PublicKey& key, std::uint64_t seq) {
  return "key " + key_name + " has signed two different ops numbered " + std::to_string(seq) +
         " (most likely this node was restored from an old copy, or the key was used on two nodes): its privileged "
         "acts are suspended from there on until an office above checks both and runs 'anwang reaffirm --key " +
         key.hex() + " --seq " + std::to_string(seq) + "'";
}

}  // namespace anwang::node
