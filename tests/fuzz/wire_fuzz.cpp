// libFuzzer target: everything a network peer can send before and after the handshake — frames,
// handshake messages to a responder, reconciliation messages, sealed channel frames.
#include <sodium.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "crdt/hash.h"
#include "net/frame.h"
#include "net/handshake.h"
#include "net/reconcile.h"

namespace {
const anwang::KeyPair& node_key() {
  static anwang::KeyPair key = [] {
    if (sodium_init() < 0) __builtin_trap();
    anwang::Hash32 seed = anwang::blake2b_256(anwang::as_bytes("fuzz node key"));
    return anwang::KeyPair::from_seed(seed.view());
  }();
  return key;
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
  return 0;
}
