// libFuzzer target: DAG ingest (node::Store::ingest).
//
// The fuzz input is a program, read with FuzzedDataProvider, that mints a few dozen signed ops of
// the fuzz network and delivers them: honest ops with parents among earlier ops (delivered in
// any order, so parents often arrive after their children), missing and forged parents (ids no
// op has), wrong sequence numbers and author chains (skips, repeats = equivocation, another op as
// the previous one), timestamps not after a parent, ops of another network, duplicates, the
// genesis anywhere or not at all, forged signatures (one bit of the signature flipped) and ops
// with a flipped or truncated byte anywhere. The deliveries go in batches of random size to a
// fresh store in /dev/shm. Invariants checked after every input:
//   - every ingest call succeeds (a refused op is an outcome, not an error);
//   - verify() finds no problem;
//   - no op with a forged signature or a damaged byte is stored, and each is reported refused;
//   - the same deliveries in another order and other batch sizes give the same digest();
//   - ingesting everything again accepts nothing and leaves the digest unchanged.
//
// Seed corpus: tests/fuzz/corpus/ingest_fuzz/ (any bytes are a valid program; the seeds are
// programs of different lengths). ANWANG_FUZZ_WRITE_SEEDS=DIR writes them and exits.
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "crdt/hash.h"
#include "crdt/limits.h"
#include "fuzz_support.h"

namespace {

using namespace anwang;
namespace fs = std::filesystem;

constexpr int kAuthors = 4;          // fuzz_key(1..4); fuzz_key(0) is the root
constexpr std::size_t kOpsMax = 32;          // ops minted per input: an execution takes milliseconds
constexpr std::size_t kDeliveriesMax = 40;   // deliveries per input, duplicates and forgeries included
const char* const kScopes[] = {"150430", "150430100", "150430100201", "150430100202", "150430100201-03"};

struct Minted {
  Hash32 id;
  std::uint64_t hlc;
};

// What one input mints and delivers.
struct Program {
  std::vector<Bytes> deliveries;   // in minting order, duplicates included
  std::set<Hash32> must_not_store; // ids of ops with a forged signature or a damaged byte
};

class Minter {
 public:
  explicit Minter(FuzzedDataProvider& input) : input_(input) {
    minted_.push_back({fuzz::fuzz_genesis().id, fuzz::fuzz_genesis().fields.hlc});
  }

  Program run() {
    Program program;
    bool genesis_delivered = false;
    while (input_.remaining_bytes() > 0 && minted_.size() < kOpsMax && program.deliveries.size() < kDeliveriesMax) {
      switch (input_.ConsumeIntegralInRange<int>(0, 11)) {
        case 0: case 1: case 2: case 3:
          program.deliveries.push_back(honest().bytes);
          break;
        case 4:
          program.deliveries.push_back(wrong_chain().bytes);
          break;
        case 5:
          program.deliveries.push_back(clock_not_after_parent().bytes);
          break;
        case 6:
          program.deliveries.push_back(other_network().bytes);
          break;
        case 7: {  // a forged signature: one bit of the signature flipped
          Op op = honest(/*advance=*/false);
          Bytes forged = op.bytes;
          auto at = std::search(forged.begin(), forged.end(), op.signature.begin(), op.signature.end());
          fuzz::require(at != forged.end(), "an op's signature is not in its bytes");
          std::size_t bit = input_.ConsumeIntegralInRange<std::size_t>(0, op.signature.size() * 8 - 1);
          *(at + static_cast<std::ptrdiff_t>(bit / 8)) ^= static_cast<std::uint8_t>(1u << (bit % 8));
          program.must_not_store.insert(blake2b_256(forged));
          program.deliveries.push_back(std::move(forged));
          break;
        }
        case 8: {  // a damaged op: one byte anywhere changed, or the op cut short
          Op op = honest(/*advance=*/false);
          Bytes damaged = op.bytes;
          std::size_t at = input_.ConsumeIntegralInRange<std::size_t>(0, damaged.size() - 1);
          if (input_.ConsumeBool()) damaged.resize(at);
          else damaged[at] ^= std::max<std::uint8_t>(1, input_.ConsumeIntegral<std::uint8_t>());
          program.must_not_store.insert(blake2b_256(damaged));
          program.deliveries.push_back(std::move(damaged));
          break;
        }
        case 9:  // a duplicate of an earlier delivery
          if (!program.deliveries.empty())
            program.deliveries.push_back(program.deliveries[pick(program.deliveries.size())]);
          break;
        case 10:  // the genesis, at this point of the order
          program.deliveries.push_back(fuzz::fuzz_genesis().bytes);
          genesis_delivered = true;
          break;
        case 11:  // a region definition (an authority op) by an honest author
          program.deliveries.push_back(honest(/*advance=*/true, /*region=*/true).bytes);
          break;
      }
    }
    // Most programs should exercise more than the pending area: deliver the genesis at the end
    // unless the program chose where (or, one time in four, to leave it out).
    if (!genesis_delivered && input_.ConsumeIntegralInRange<int>(0, 3) != 0)
      program.deliveries.push_back(fuzz::fuzz_genesis().bytes);
    return program;
  }

 private:
  struct Chain {
    std::uint64_t seq = 0;
    std::optional<Hash32> prev;
    std::uint64_t prev_hlc = 0;
  };

  std::size_t pick(std::size_t count) { return input_.ConsumeIntegralInRange<std::size_t>(0, count - 1); }

  Hash32 random_id() {
    Hash32 id;
    auto raw = input_.ConsumeBytes<std::uint8_t>(32);
    std::copy(raw.begin(), raw.end(), id.bytes.begin());
    id.bytes[31] ^= 0x5a;  // never all zero, never a real id by accident of an empty input
    return id;
  }

  // Parents: earlier ops (delivered or not yet), sometimes an id no op has.
  std::vector<Hash32> parents(std::uint64_t& floor_hlc) {
    std::vector<Hash32> out;
    int count = input_.ConsumeIntegralInRange<int>(0, 3);
    for (int i = 0; i < count; ++i) {
      if (input_.ConsumeIntegralInRange<int>(0, 7) == 0) {
        out.push_back(random_id());  // forged: never arrives
        continue;
      }
      const Minted& parent = minted_[pick(minted_.size())];
      out.push_back(parent.id);
      floor_hlc = std::max(floor_hlc, parent.hlc);
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
  }

  OpFields base_fields(int author, const Chain& chain, bool region) {
    OpFields fields;
    fields.network = fuzz::fuzz_genesis().id;
    fields.author = fuzz::fuzz_key(author).public_key();
    fields.author_seq = chain.seq + 1;
    fields.author_prev = chain.prev;
    std::string scope = kScopes[pick(std::size(kScopes))];
    if (region && scope != fuzz::kFuzzCounty) {
      fields.scope = scope;
      fields.object = named_object_id("region", scope);
      fields.payload = RegionPayload{scope, "区域 " + std::to_string(minted_.size()), ""};
    } else {
      fields.scope = scope;
      fields.object = named_object_id("note", std::to_string(input_.ConsumeIntegralInRange<int>(0, 5)));
      fields.payload = NotePayload{"note " + std::to_string(minted_.size())};
    }
    return fields;
  }

  // A valid op by a random author. With `advance` false the author's chain does not move on
  // (the op stands for a forgery of what the author could have signed).
  Op honest(bool advance = true, bool region = false) {
    int author = input_.ConsumeIntegralInRange<int>(1, kAuthors);
    Chain& chain = chains_[author];
    OpFields fields = base_fields(author, chain, region);
    std::uint64_t floor = std::max(fuzz::fuzz_genesis().fields.hlc, chain.prev_hlc);
    fields.parents = parents(floor);
    // Sometimes name the previous op as a parent too: then the author chain is checked.
    if (chain.prev && input_.ConsumeBool() && fields.parents.size() < limits::op_parents_max) {
      fields.parents.push_back(*chain.prev);
      std::sort(fields.parents.begin(), fields.parents.end());
      fields.parents.erase(std::unique(fields.parents.begin(), fields.parents.end()), fields.parents.end());
    }
    fields.hlc = floor + 1 + input_.ConsumeIntegralInRange<std::uint64_t>(0, 3);
    Op op = fuzz::must_sign(std::move(fields), fuzz::fuzz_key(author));
    if (advance) {
      chain = {op.fields.author_seq, op.id, op.fields.hlc};
      minted_.push_back({op.id, op.fields.hlc});
    }
    return op;
  }

  // A sequence number or previous op that disagrees with the author's chain.
  Op wrong_chain() {
    int author = input_.ConsumeIntegralInRange<int>(1, kAuthors);
    Chain chain = chains_[author];
    OpFields fields = base_fields(author, chain, false);
    std::uint64_t floor = fuzz::fuzz_genesis().fields.hlc;
    fields.parents = parents(floor);
    switch (input_.ConsumeIntegralInRange<int>(0, 2)) {
      case 0:  // a repeated number (equivocation) or a skipped one
        fields.author_seq = std::max<std::uint64_t>(1, chain.seq + input_.ConsumeIntegralInRange<int>(0, 3));
        break;
      case 1:  // another op named as the previous one
        fields.author_seq = chain.seq + 2;
        break;
      default:  // an honest number with a previous op that is not the author's
        fields.author_seq = chain.seq + 1;
        break;
    }
    if (fields.author_seq == 1) {
      fields.author_prev.reset();
    } else {
      const Minted& prev = minted_[pick(minted_.size())];
      fields.author_prev = prev.id;
      if (input_.ConsumeBool()) {  // name it as a parent too, so the chain rule judges it
        fields.parents.push_back(prev.id);
        std::sort(fields.parents.begin(), fields.parents.end());
        fields.parents.erase(std::unique(fields.parents.begin(), fields.parents.end()), fields.parents.end());
      }
      floor = std::max(floor, prev.hlc);
    }
    fields.hlc = floor + 1;
    Op op = fuzz::must_sign(std::move(fields), fuzz::fuzz_key(author));
    minted_.push_back({op.id, op.fields.hlc});
    return op;
  }

  // A timestamp equal to or before one of its parents'.
  Op clock_not_after_parent() {
    int author = input_.ConsumeIntegralInRange<int>(1, kAuthors);
    Chain& chain = chains_[author];
    OpFields fields = base_fields(author, chain, false);
    const Minted& parent = minted_[pick(minted_.size())];
    fields.parents = {parent.id};
    fields.hlc = parent.hlc - input_.ConsumeIntegralInRange<std::uint64_t>(0, 2);
    Op op = fuzz::must_sign(std::move(fields), fuzz::fuzz_key(author));
    chain = {op.fields.author_seq, op.id, op.fields.hlc};
    minted_.push_back({op.id, op.fields.hlc});
    return op;
  }

  // A well-signed op of a network that is not this one.
  Op other_network() {
    int author = input_.ConsumeIntegralInRange<int>(1, kAuthors);
    OpFields fields = base_fields(author, Chain{}, false);
    fields.network = random_id();
    std::uint64_t floor = fuzz::fuzz_genesis().fields.hlc;
    fields.parents = parents(floor);
    fields.hlc = floor + 1;
    return fuzz::must_sign(std::move(fields), fuzz::fuzz_key(author));
  }

  FuzzedDataProvider& input_;
  std::vector<Minted> minted_;  // the genesis and every op that could be a parent
  std::map<int, Chain> chains_;
};

// Ingests `order` of `deliveries` in batches whose sizes come from `sizes` (cycled).
void ingest_in_batches(node::Store& store, const std::vector<Bytes>& deliveries, const std::vector<std::size_t>& order,
                       const std::vector<std::size_t>& sizes, const std::set<Hash32>& must_not_store) {
  std::size_t next_size = 0;
  for (std::size_t start = 0; start < order.size();) {
    std::size_t size = std::min(order.size() - start, sizes[next_size++ % sizes.size()]);
    std::vector<Bytes> batch;
    for (std::size_t i = start; i < start + size; ++i) batch.push_back(deliveries[order[i]]);
    auto report = store.ingest(batch);
    fuzz::require(report.is_ok(), "ingest failed: " + (report.is_ok() ? std::string() : report.status().message()));
    for (std::size_t i = 0; i < batch.size(); ++i) {
      const node::IngestOutcome& outcome = report->outcomes[i];
      Hash32 id = blake2b_256(batch[i]);
      if (must_not_store.count(id))
        fuzz::require(outcome.kind == node::IngestOutcome::Kind::kRefused,
                      "a forged or damaged op was not refused but " + std::string(node::outcome_name(outcome.kind)));
    }
    start += size;
  }
}

// Printed before an order-dependence failure: what each store holds, so the cause is visible.
void explain_difference(const node::Store& a, const node::Store& b, const std::vector<Bytes>& deliveries) {
  auto held = [](const node::Store& store) {
    std::set<Hash32> ids;
    (void)store.for_each_op([&](const Op& op) { ids.insert(op.id); });
    return ids;
  };
  std::set<Hash32> in_a = held(a), in_b = held(b);
  auto stats_a = a.stats(), stats_b = b.stats();
  std::fprintf(stderr, "first order: %zu ops, %llu pending; second order: %zu ops, %llu pending\n", in_a.size(),
               static_cast<unsigned long long>(stats_a.is_ok() ? stats_a->pending : 0), in_b.size(),
               static_cast<unsigned long long>(stats_b.is_ok() ? stats_b->pending : 0));
  for (const Bytes& bytes : deliveries) {
    auto decoded = decode_op(bytes, DecodeMode::kTrusted);
    Hash32 id = blake2b_256(bytes);
    if (const Op* op = std::get_if<Op>(&decoded); op && op->fields.network && *op->fields.network != fuzz::fuzz_genesis().id)
      std::fprintf(stderr, "op %s belongs to another network\n", id.short_hex().c_str());
    if (in_a.count(id) == in_b.count(id)) continue;
    std::string what = std::holds_alternative<Op>(decoded) ? payload_kind(std::get<Op>(decoded).fields.payload) : "undecodable";
    std::fprintf(stderr, "op %s (%s) is held %s\n", id.short_hex().c_str(), what.c_str(),
                 in_a.count(id) ? "only in the first order" : "only in the second order");
  }
}

Hash32 digest_of(const node::Store& store) {
  auto digest = store.digest();
  fuzz::require(digest.is_ok(), "digest failed");
  return *digest;
}

void write_seeds(const fs::path& dir) {
  fs::create_directories(dir);
  std::mt19937_64 rng(20261122);
  for (std::size_t length : {16, 64, 160, 320, 640, 1200}) {
    Bytes program(length);
    for (auto& byte : program) byte = static_cast<std::uint8_t>(rng());
    std::ofstream(dir / ("program-" + std::to_string(length) + ".bin"), std::ios::binary)
        .write(reinterpret_cast<const char*>(program.data()), static_cast<std::streamsize>(program.size()));
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* dir = std::getenv("ANWANG_FUZZ_WRITE_SEEDS")) {
    write_seeds(dir);
    std::exit(0);
  }
  (void)fuzz::fuzz_genesis();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider input(data, size);
  Program program = Minter(input).run();
  const std::vector<Bytes>& deliveries = program.deliveries;
  if (deliveries.empty()) return 0;

  // First order: as minted, in batches the input chooses.
  std::vector<std::size_t> first(deliveries.size());
  for (std::size_t i = 0; i < first.size(); ++i) first[i] = i;
  std::vector<std::size_t> first_sizes;
  for (int i = 0; i < 4; ++i) first_sizes.push_back(input.ConsumeIntegralInRange<std::size_t>(1, 16));
  // Second order: a shuffle the input seeds, in other batch sizes.
  std::vector<std::size_t> second = first;
  std::shuffle(second.begin(), second.end(), std::mt19937_64(input.ConsumeIntegral<std::uint64_t>()));
  if (input.ConsumeBool()) std::reverse(first.begin(), first.end());
  std::vector<std::size_t> second_sizes{input.ConsumeIntegralInRange<std::size_t>(1, 16), 1, 7};

  const fs::path& dir = fuzz::scratch_dir("ingest-fuzz");
  auto store = fuzz::fresh_store(dir / "a");
  ingest_in_batches(*store, deliveries, first, first_sizes, program.must_not_store);
  auto verified = store->verify();
  fuzz::require(verified.is_ok() && verified->ok(),
                "verify found problems: " + (verified.is_ok() && !verified->problems.empty() ? verified->problems[0] : ""));
  for (const Hash32& id : program.must_not_store) {
    auto held = store->get(id);
    fuzz::require(held.is_ok() && !held->has_value(), "a forged or damaged op is stored: " + id.hex());
  }
  Hash32 digest = digest_of(*store);

  auto other = fuzz::fresh_store(dir / "b");
  ingest_in_batches(*other, deliveries, second, second_sizes, program.must_not_store);
  if (digest_of(*other) != digest) explain_difference(*store, *other, deliveries);
  fuzz::require(digest_of(*other) == digest, "another delivery order gives another digest");

  // Everything again, in one batch: nothing new is accepted and nothing changes.
  auto again = store->ingest(deliveries);
  fuzz::require(again.is_ok(), "ingesting again failed");
  for (const node::IngestOutcome& outcome : again->outcomes)
    fuzz::require(outcome.kind != node::IngestOutcome::Kind::kAccepted, "an op was accepted twice");
  fuzz::require(digest_of(*store) == digest, "ingesting the same ops again changed the digest");
  return 0;
}
