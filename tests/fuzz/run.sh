#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan+UBSan) and runs each for
# SECONDS (default 60) on its seed corpus in tests/fuzz/corpus/NAME/.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds="${1:-60}"
CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGLIMPSE_FUZZ=ON \
  -DGLIMPSE_BUILD_TESTS=ON > /dev/null
cmake --build build-fuzz -j"$(nproc)" --target $(cd tests/fuzz && ls fuzz_*.c | sed 's/\.c$//')
for src in tests/fuzz/fuzz_*.c; do
  name=$(basename "$src" .c)
  corpus="tests/fuzz/corpus/${name#fuzz_}"
  work=$(mktemp -d)
  [ -d "$corpus" ] && cp -r "$corpus"/. "$work"/
  echo "fuzz: $name for ${seconds}s"
  mkdir -p build-fuzz/artifacts
  build-fuzz/tests/$name -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=65536 \
    -artifact_prefix=build-fuzz/artifacts/$name- \
    -print_final_stats=0 "$work" 2>&1 | tail -n 3
  rm -rf "$work"
done
echo "fuzz: all targets ran without a crash"
