#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz/ with clang 14 (ASan+UBSan, every library
# instrumented for coverage) and runs each for SECONDS (default 60) on its seed corpus in
# tests/fuzz/corpus/TARGET/, which also holds the regression inputs of crashes fixed earlier.
#
#   deploy/fuzz.sh [SECONDS]
#
# ANWANG_FUZZ_BUILD_DIR: the clang build directory (default build-fuzz; CTest passes one inside
# its own build directory). The corpus grows in BUILD/corpus/TARGET/ between runs; a crashing or
# invariant-breaking input is written to BUILD/crashes/ — once the bug is fixed, copy it into
# tests/fuzz/corpus/TARGET/ as a regression input. Prints one line per target with its execution
# count; exits non-zero if the build fails or any target crashes, hangs, leaks or breaks an
# invariant (UBSan findings stop the target too).
set -euo pipefail
seconds=${1:-60}
cd "$(dirname "$0")/.."
build=${ANWANG_FUZZ_BUILD_DIR:-build-fuzz}
targets=(op_decode_fuzz wire_fuzz ingest_fuzz bundle_fuzz table_fuzz)

if ! command -v clang++-14 >/dev/null || ! ls /usr/lib/llvm-14/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends clang-14 libclang-rt-14-dev libfuzzer-14-dev
fi

start=$(date +%s)
# -O1 with line tables only: symbolised stack traces at a fraction of the compile time of -O2 -g.
CXX=clang++-14 CC=clang-14 cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -gline-tables-only" "-DCMAKE_C_FLAGS_RELWITHDEBINFO=-O1 -gline-tables-only" \
  -DANWANG_FUZZ=ON -DANWANG_TESTS=OFF -DANWANG_SANITIZE=ON >/dev/null
cmake --build "$build" -j2 --target "${targets[@]}" >"$build/build.log" 2>&1 || { tail -n 40 "$build/build.log"; exit 1; }
echo "fuzz: built ${#targets[@]} targets in $(( $(date +%s) - start )) s"

# UBSan findings are fatal, like ASan's.
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
mkdir -p "$build/crashes"
failed=()
for target in "${targets[@]}"; do
  corpus=$build/corpus/$target
  mkdir -p "$corpus"
  log=$build/fuzz-$target.log
  status=0
  # New inputs go to the first directory; the checked-in corpus (seeds and regression inputs) is
  # read every run. -timeout: one input taking longer than 10 s counts as a hang.
  "$build/tests/fuzz/$target" "$corpus" "tests/fuzz/corpus/$target" -max_total_time="$seconds" -timeout=10 \
    -artifact_prefix="$build/crashes/$target-" -print_final_stats=1 >"$log" 2>&1 || status=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -n 1)
  files=$(find "$corpus" -type f | wc -l)
  if [ "$status" -eq 0 ]; then
    echo "fuzz: $target: ${runs:-0} executions in ${seconds} s, corpus $files inputs, peak RSS ${rss:-?} MB, no crash"
  else
    echo "fuzz: $target: FAILED (exit $status) after ${runs:-?} executions; the input is in $build/crashes/:"
    grep -E "fuzz invariant broken|ERROR:|runtime error|SUMMARY|Test unit written|^    #[0-9] " "$log" | head -n 30 || tail -n 30 "$log"
    failed+=("$target")
  fi
done
echo "fuzz: finished in $(( $(date +%s) - start )) s"
if [ ${#failed[@]} -ne 0 ]; then
  echo "fuzz: crashed: ${failed[*]}"
  exit 1
fi
