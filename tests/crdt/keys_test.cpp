// Keys: signatures verify under the key that made them and nothing else, with or without the
// simulator's signature memo installed.
#include <catch2/catch.hpp>

#include "crdt/hash.h"
#include "crdt/keys.h"
#include "crdt/op.h"
#include "node/constitution.h"
#include "support/fixtures.h"

using namespace anwang;
using anwang::test::OpFactory;
using anwang::test::test_key;

namespace {

// Installs a memo for the length of a test and removes it after.
class MemoInstalled {
 public:
  MemoInstalled() : memo_(1024) { set_signature_memo(&memo_); }
  ~MemoInstalled() { set_signature_memo(nullptr); }
  SignatureMemo& memo() { return memo_; }

 private:
  SignatureMemo memo_;
};

// Every check a signature made by `signer` over `message` must pass or fail, memo or not.
void check_signature_rules(const KeyPair& signer, const KeyPair& other, ByteView message) {
  Signature signature = signer.sign(message);
  CHECK(verify_signature(signer.public_key(), message, signature));
  CHECK(verify_signature(signer.public_key(), message, signature));  // again: same answer
  // Claimed by another key: refused, every time.
  CHECK_FALSE(verify_signature(other.public_key(), message, signature));
  CHECK_FALSE(verify_signature(other.public_key(), message, signature));
  // Any flipped bit of the signature or the message: refused.
  for (std::size_t i = 0; i < signature.size(); ++i) {
    Signature flipped = signature;
    flipped[i] ^= static_cast<std::uint8_t>(1u << (i % 8));
    CAPTURE(i);
    CHECK_FALSE(verify_signature(signer.public_key(), message, flipped));
  }
  for (std::size_t i = 0; i < message.size(); ++i) {
    Bytes changed(message.begin(), message.end());
    changed[i] ^= 0x01;
    CAPTURE(i);
    CHECK_FALSE(verify_signature(signer.public_key(), changed, signature));
  }
  // A shorter message that is a prefix of the signed one, and the wrong signature length.
  CHECK_FALSE(verify_signature(signer.public_key(), message.first(message.size() - 1), signature));
  CHECK_FALSE(verify_signature(signer.public_key(), message, ByteView(signature.data(), signature.size() - 1)));
}

}  // namespace

TEST_CASE("a signature verifies under the key that made it and under no other", "[keys]") {
  const KeyPair& signer = test_key(1);
  const KeyPair& other = test_key(2);
  ByteView message = as_bytes("隐患 hazard report: blocked fire exit");
  SECTION("without a memo") { check_signature_rules(signer, other, message); }
  SECTION("with the simulator's memo installed") {
    MemoInstalled installed;
    check_signature_rules(signer, other, message);
  }
}

TEST_CASE("the memo remembers signatures made or found valid, never refused ones", "[keys]") {
  MemoInstalled installed;
  const KeyPair& signer = test_key(3);
  ByteView message = as_bytes("签收 received");
  Signature signature = signer.sign(message);
  // Signing remembers the signature under the signer's own key, so its check costs no Ed25519.
  CHECK(installed.memo().size() == 1);
  CHECK(verify_signature(signer.public_key(), message, signature));
  CHECK(installed.memo().size() == 1);
  // Refused checks add nothing.
  Signature flipped = signature;
  flipped[0] ^= 0x80;
  CHECK_FALSE(verify_signature(signer.public_key(), message, flipped));
  CHECK_FALSE(verify_signature(test_key(4).public_key(), message, signature));
  CHECK(installed.memo().size() == 1);
  // A signature made without the memo is found valid once, then remembered.
  set_signature_memo(nullptr);
  ByteView later = as_bytes("整改 rectified");
  Signature unseen = signer.sign(later);
  set_signature_memo(&installed.memo());
  CHECK(installed.memo().size() == 1);
  CHECK(verify_signature(signer.public_key(), later, unseen));
  CHECK(installed.memo().size() == 2);
}

TEST_CASE("with the memo installed, a signed op with any bit flipped is still refused", "[keys][op]") {
  MemoInstalled installed;
  OpFactory factory;
  Op op = factory.note(test_key(1), "150430100", "整改通知书 rectification notice", {factory.genesis().id});
  auto decoded = decode_op(op.bytes);
  REQUIRE(std::holds_alternative<Op>(decoded));
  for (std::size_t i = 0; i < op.bytes.size(); ++i)
    for (int bit = 0; bit < 8; ++bit) {
      Bytes tampered = op.bytes;
      tampered[i] ^= static_cast<std::uint8_t>(1u << bit);
      CAPTURE(i, bit);
      CHECK(std::holds_alternative<RefusedOp>(decode_op(tampered)));
    }
}

TEST_CASE("a moved-from key pair's signatures are not remembered as valid", "[keys]") {
  MemoInstalled installed;
  KeyPair original = test_key(6);
  PublicKey key = original.public_key();
  KeyPair moved = std::move(original);
  ByteView message = as_bytes("上报 escalated");
  Signature from_moved_from = original.sign(message);  // NOLINT(bugprone-use-after-move): the point of the test
  CHECK(installed.memo().size() == 0);
  CHECK_FALSE(verify_signature(key, message, from_moved_from));
  CHECK(verify_signature(key, message, moved.sign(message)));
  CHECK(installed.memo().size() == 1);
}

TEST_CASE("with the memo installed, an amendment's cosignature claimed under another key is refused", "[keys][op]") {
  // The amendment message names no cosigner: only the key in the memo entry tells two
  // cosigners' claims over one signature apart.
  MemoInstalled installed;
  OpFactory factory;
  const Op& genesis = factory.genesis();
  Constitution constitution = node::default_constitution();
  KeyPair cosigner = test_key(2);
  Bytes message = amendment_message(genesis.id, 1, constitution);
  auto amendment = [&](const PublicKey& claimed) {
    OpFields fields;
    fields.network = genesis.id;
    fields.author = test_key(0).public_key();
    fields.author_seq = 1;
    fields.parents = {genesis.id};
    fields.hlc = genesis.fields.hlc + 1;
    fields.scope = genesis.fields.scope;
    fields.object = constitution_object_id(genesis.fields.scope);
    fields.payload = AmendmentPayload{1, constitution, {Cosignature{claimed, cosigner.sign(message)}}};
    return factory.make_raw(test_key(0), fields);
  };
  auto honest = decode_op(amendment(cosigner.public_key()).bytes);
  if (auto* refused = std::get_if<RefusedOp>(&honest)) FAIL(refused->detail);
  auto claimed = decode_op(amendment(test_key(3).public_key()).bytes);
  REQUIRE(std::holds_alternative<RefusedOp>(claimed));
  CHECK(std::get<RefusedOp>(claimed).reason == Refusal::kBadSignature);
}
