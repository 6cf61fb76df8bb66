// libFuzzer target: everything a network peer can send before and after the handshake — frames,
// handshake messages to a responder, reconciliation messages, sealed channel frames — and crafted
// reconciliation lists (tests/support/hostile_lister.h, its choices taken from the input) played
// against a side with a small fetch budget, which must never record more ids than it.
#include <sodium.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "crdt/hash.h"
#include "net/frame.h"
#include "net/handshake.h"
#include "net/reconcile.h"
#include "../support/hostile_lister.h"

namespace {
const anwang::KeyPair& node_key() {
  static anwang::KeyPair key = [] {
    if (sodium_init() < 0) __builtin_trap();
    anwang::Hash32 seed = anwang::blake2b_256(anwang::as_bytes("fuzz node key"));
    return anwang::KeyPair::from_seed(seed.view());
  }();
  return key;
}
// A peer flooding lists, its choices read from the input, against a side holding 2,000 items and
// fetching at most 500 ids: the budget holds, whatever the choices.
void crafted_lists(anwang::ByteView input) {
  using namespace anwang;
  constexpr std::size_t kFetchMax = 500;
  static const std::vector<net::ItemKey> items = [] {
    std::vector<net::ItemKey> out;
    for (int i = 0; i < 2000; ++i)
      out.push_back(net::item_key(static_cast<std::uint64_t>(i) << 16, blake2b_256(as_bytes("l" + std::to_string(i)))));
    return out;
  }();
  if (input.size() < 8) return;
  std::size_t at = 8;
  std::uint64_t seed = 0;
  for (int i = 0; i < 8; ++i) seed = (seed << 8) | input[static_cast<std::size_t>(i)];
  net::Reconciler victim(items, kFetchMax);
  test::HostileLister peer(seed, [&] { return at < input.size() ? input[at++] : std::uint8_t{0}; });
  Bytes message = peer.first(seed % 10'000);
  for (int round = 0; round < 16; ++round) {
    auto reply = victim.on_message(message);
    if (!reply.is_ok() || reply->empty()) break;
    auto next = peer.answer(*reply);
    if (!next) __builtin_trap();  // the lister parses every message the victim writes
    message = std::move(*next);
  }
  if (victim.to_fetch().size() > kFetchMax) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace anwang;
  const KeyPair& key = node_key();
  ByteView input(data, size);
  // Frames: the decoder splits whatever arrives; each frame goes to every consumer.
  net::FrameDecoder decoder;
  if (!decoder.feed(input).is_ok()) return 0;
  Hash32 network = blake2b_256(as_bytes("fuzz network"));
  net::Handshake responder(net::Handshake::Role::kResponder, key, network, blake2b_256(as_bytes("e")).bytes,
                           [](const PublicKey&) { return Status::ok(); });
  std::vector<net::ItemKey> items;
  for (int i = 0; i < 40; ++i)
    items.push_back(net::item_key(static_cast<std::uint64_t>(i) * 1000, blake2b_256(as_bytes(std::to_string(i)))));
  net::Reconciler reconciler(items);
  net::ChannelReceiver receiver;
  std::array<std::uint8_t, 32> channel_key = blake2b_256(as_bytes("k")).bytes;
  bool channel = false;
  while (auto frame = decoder.next()) {
    (void)responder.on_message(*frame);
    (void)reconciler.on_message(*frame);
    if (!channel) channel = receiver.start(channel_key, *frame).is_ok();
    else (void)receiver.open(*frame);
  }
  crafted_lists(input);
  return 0;
}
