// fuzz_support.h — helpers shared by the libFuzzer targets that need a store: a scratch
// directory in tmpfs made once per process, cheap store resets, deterministic keys, a fixed
// genesis, and a check that stops the process (so libFuzzer records the input) when an
// invariant breaks. No Catch2 here: fuzz targets link only the product libraries.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "crdt/keys.h"
#include "crdt/op.h"
#include "node/store.h"

namespace anwang::fuzz {

inline constexpr std::uint64_t kFuzzTimeMs = 1'790'000'000'000;  // late 2026, as in the tests
inline constexpr const char* kFuzzCounty = "150430";
inline constexpr std::uint64_t kFuzzMapBytes = 16ull << 20;       // small stores, small maps

// Prints `what` and aborts when `holds` is false: libFuzzer saves the input as a crash.
void require(bool holds, const std::string& what);

// A directory of this process in /dev/shm (tmpfs; the system temp dir when there is none),
// removed when the process exits. `name` tells the targets apart.
const std::filesystem::path& scratch_dir(const std::string& name);

// Opens a fresh, empty store in `dir`, deleting whatever was there: on tmpfs this costs well
// under a millisecond, so every fuzz input starts from a clean store.
std::unique_ptr<node::Store> fresh_store(const std::filesystem::path& dir);

// The same key for the same n in every run (seeded from "anwang fuzz key N").
const KeyPair& fuzz_key(int n);

// The genesis of the fuzz network: county 150430, root key fuzz_key(0), the default constitution.
const Op& fuzz_genesis();

// Signs `fields`; aborts if they break a rule (the generators only build valid fields).
Op must_sign(OpFields fields, const KeyPair& key);

}  // namespace anwang::fuzz
