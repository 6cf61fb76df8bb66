// Key seeds do not linger in freed memory (issue 20, low items: "key seeds linger in stream
// buffers"). This program replaces the global operator delete: while a test arms it, every block
// handed back to the allocator is searched for a needle (part of a seed in hex, as key files hold
// it), so a seed left in a stream's buffer or a string temporary that was freed without being
// wiped is found. A program of its own, so no other test pays for the search.
#include <malloc.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <cstring>
#include <new>

#include "crdt/hlc.h"
#include "node/home.h"
#include "support/fixtures.h"

using namespace anwang;
using anwang::test::TempDir;

namespace {

std::atomic<bool> armed{false};
char needle[32];
std::size_t needle_bytes = 0;
std::atomic<int> found{0};

void search(void* block) noexcept {
  if (block == nullptr || !armed.load(std::memory_order_relaxed)) return;
  std::size_t size = malloc_usable_size(block);
  if (memmem(block, size, needle, needle_bytes) != nullptr) found.fetch_add(1);
}

// Arms the search for the first 24 hex digits of `seed` while it lives.
class FreedMemoryWatch {
 public:
  explicit FreedMemoryWatch(const std::array<std::uint8_t, 32>& seed) {
    static const char digits[] = "0123456789abcdef";
    needle_bytes = 24;
    for (std::size_t i = 0; i < needle_bytes / 2; ++i) {
      needle[2 * i] = digits[seed[i] >> 4];
      needle[2 * i + 1] = digits[seed[i] & 15];
    }
    found = 0;
    armed = true;
  }
  ~FreedMemoryWatch() { armed = false; }
  FreedMemoryWatch(const FreedMemoryWatch&) = delete;
  FreedMemoryWatch& operator=(const FreedMemoryWatch&) = delete;
  int found_so_far() const { return found.load(); }
};

// Hands out the same known seed every time.
class KnownRandom final : public node::RandomSource {
 public:
  explicit KnownRandom(std::array<std::uint8_t, 32> seed) : seed_(seed) {}
  void fill(std::uint8_t* out, std::size_t size) override {
    for (std::size_t i = 0; i < size; ++i) out[i] = seed_[i % 32];
  }

 private:
  std::array<std::uint8_t, 32> seed_;
};

std::array<std::uint8_t, 32> seed_of(const std::string& name) { return blake2b_256(as_bytes("seed " + name)).bytes; }

}  // namespace

void* operator new(std::size_t size) {
  if (void* block = std::malloc(size == 0 ? 1 : size)) return block;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) { return operator new(size); }
void operator delete(void* block) noexcept {
  search(block);
  std::free(block);
}
void operator delete[](void* block) noexcept { operator delete(block); }
void operator delete(void* block, std::size_t) noexcept { operator delete(block); }
void operator delete[](void* block, std::size_t) noexcept { operator delete(block); }

TEST_CASE("the search finds a seed left in freed memory (the watch works)", "[secrets]") {
  auto seed = seed_of("control");
  FreedMemoryWatch watch(seed);
  auto* copy = new std::string(to_hex(ByteView(seed.data(), seed.size())) + " and more, so not a short string");
  delete copy;
  CHECK(watch.found_so_far() >= 1);
}

TEST_CASE("writing and reading key files leaves no seed in freed memory", "[secrets]") {
  TempDir dir;
  auto node_seed = seed_of("node");
  KnownRandom node_random(node_seed);
  std::optional<node::NodeHome> home;
  {
    FreedMemoryWatch watch(node_seed);
    auto created = node::NodeHome::init(dir.path(), node_random);
    REQUIRE(created.is_ok());
    home.emplace(std::move(*created));
    auto key = home->load_node_key();
    REQUIRE(key.is_ok());
    CHECK(watch.found_so_far() == 0);
  }
  auto person_seed = seed_of("li");
  KnownRandom person_random(person_seed);
  {
    FreedMemoryWatch watch(person_seed);
    auto li = home->new_key("li", person_random);
    REQUIRE(li.is_ok());
    CHECK(watch.found_so_far() == 0);  // written
  }
  {
    FreedMemoryWatch watch(person_seed);
    auto key = home->load_key("li");
    REQUIRE(key.is_ok());
    auto keys = home->list_keys();
    REQUIRE(keys.is_ok());
    CHECK(watch.found_so_far() == 0);  // read
  }
  {
    FreedMemoryWatch watch(person_seed);
    ManualClock clock(1'780'000'000'000);
    auto moved = home->export_key("li", dir.path() / "li.move", std::nullopt, clock);
    REQUIRE(moved.is_ok());
    CHECK(watch.found_so_far() == 0);  // a move file written
  }
  {
    FreedMemoryWatch watch(person_seed);
    auto move = node::read_move_file(dir.path() / "li.move");
    REQUIRE(move.is_ok());
    CHECK(watch.found_so_far() == 0);  // and read
  }
}

TEST_CASE("protecting a key and unlocking it leave no seed in freed memory", "[secrets][passphrase]") {
  TempDir dir;
  KnownRandom node_random(seed_of("node"));
  auto home = node::NodeHome::init(dir.path(), node_random);
  REQUIRE(home.is_ok());
  auto person_seed = seed_of("wang");
  KnownRandom person_random(person_seed);
  REQUIRE(home->new_key("wang", person_random).is_ok());
  KnownRandom salt_random(seed_of("salt and nonce"));  // not the seed's bytes, which the watch seeks
  {
    FreedMemoryWatch watch(person_seed);
    REQUIRE(home->protect_key("wang", "correct horse battery staple", salt_random).is_ok());
    CHECK(watch.found_so_far() == 0);  // the plain file read, the protected one written
  }
  {
    FreedMemoryWatch watch(person_seed);
    auto key = home->load_key("wang", "correct horse battery staple");
    REQUIRE(key.is_ok());
    CHECK(watch.found_so_far() == 0);  // unlocked
  }
  {
    FreedMemoryWatch watch(person_seed);
    ManualClock clock(1'780'000'000'000);
    REQUIRE(home->export_key("wang", dir.path() / "wang.move", std::nullopt, clock,
                             "correct horse battery staple")
                .is_ok());
    auto move = node::read_move_file(dir.path() / "wang.move");
    REQUIRE(move.is_ok());
    CHECK(home->import_key(*move, "wang", "another passphrase", salt_random).is_ok());
    CHECK(watch.found_so_far() == 0);  // moved out and back in, protected anew
  }
}
