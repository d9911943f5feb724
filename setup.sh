#!/usr/bin/env bash
# Sets up a fresh Debian machine for glimpse and builds it. Safe to run twice.
#   ./setup.sh           install build dependencies and build into build/
#   ./setup.sh --test    ... then run the test suite
set -euo pipefail
cd "$(dirname "$0")"

PACKAGES="build-essential cmake pkg-config libjpeg62-turbo-dev libpng-dev libstb-dev
          libopenblas-dev libpcre2-dev libwebp-dev libedit-dev clang libclang-rt-14-dev"
missing=""
for p in $PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing
fi

cmake -S . -B build -DCMAKE_BUILD_TYPE=Release > /dev/null
cmake --build build -j"$(nproc)"

if [ "${1:-}" = "--test" ]; then
  ctest --test-dir build --output-on-failure -j"$(nproc)"
fi
