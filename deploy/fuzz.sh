#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan+UBSan) and runs each for SECONDS (default 60) on
# its seed corpus in tests/fuzz/corpus/. Crashes are written to build-fuzz/crashes/ — keep each as
# a regression input in the corpus once fixed.
set -euo pipefail
seconds=${1:-60}
cd "$(dirname "$0")/.."
if ! command -v clang++ >/dev/null; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq clang libclang-rt-14-dev libfuzzer-14-dev
fi
CXX=clang++ CC=clang cmake -S . -B build-fuzz -DANWANG_FUZZ=ON -DANWANG_TESTS=OFF -DANWANG_SANITIZE=ON >/dev/null
cmake --build build-fuzz -j2 --target op_decode_fuzz wire_fuzz
mkdir -p build-fuzz/crashes
for target in op_decode_fuzz wire_fuzz; do
  corpus=build-fuzz/corpus/$target
  mkdir -p "$corpus"
  cp -n tests/fuzz/corpus/$target/* "$corpus"/ 2>/dev/null || true
  echo "== $target for ${seconds}s"
  build-fuzz/tests/fuzz/$target "$corpus" -max_total_time="$seconds" -artifact_prefix=build-fuzz/crashes/ \
    -print_final_stats=1 2>&1 | grep -E "stat::number_of_executed_units|stat::peak_rss|ERROR|SUMMARY|Done" || true
done
