#!/usr/bin/env bash
# `glimpse embed` writes the projected embeddings (and with --pixels the
# preprocessed tiles) of an image as .npy files of the expected shapes.
set -u
glimpse="$1"
fail=0
check() { if ! eval "$2"; then echo "FAIL: $1"; fail=1; fi; }
F=tests/fixtures/e2e
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

$glimpse embed tests/fixtures/images/landscape.jpg --mmproj $F/smolvlm-mmproj.gguf -o "$tmp/e.npy" -q; rc=$?
check "embed exits 0" '[ $rc -eq 0 ]'
$glimpse embed tests/fixtures/images/landscape.jpg --mmproj $F/smolvlm-mmproj.gguf --pixels -o "$tmp/p.npy" -q
$glimpse embed tests/fixtures/images/portrait.png --mmproj $F/llava-mmproj.gguf -o "$tmp/l.npy" -q
# 320x240 -> 128x96 -> 2x2 tiles of 64 + the global view, 16 tokens each, width 64.
check "npy headers" 'head -c 128 "$tmp/e.npy" | grep -aq "(80, 64, )" && head -c 128 "$tmp/p.npy" | grep -aq "(5, 3, 64, 64, )" && head -c 128 "$tmp/l.npy" | grep -aq "(16, 64, )"'
check "npy sizes" '[ $(stat -c %s "$tmp/e.npy") -eq $((128 + 80*64*4)) ] && [ $(stat -c %s "$tmp/p.npy") -eq $((128 + 5*3*64*64*4)) ]'
if command -v python3 > /dev/null && python3 -c "import numpy" 2> /dev/null; then
  check "numpy reads it" 'python3 -c "import numpy as np,sys; a=np.load(sys.argv[1]); assert a.shape==(80,64) and np.isfinite(a).all()" "$tmp/e.npy"'
fi
err=$($glimpse embed tests/fixtures/images/landscape.jpg 2>&1); rc=$?
check "embed needs an mmproj" '[ $rc -eq 2 ]'
err=$($glimpse embed /nonexistent.jpg --mmproj $F/smolvlm-mmproj.gguf 2>&1); rc=$?
check "missing image" '[ $rc -eq 1 ] && [[ "$err" == "glimpse: /nonexistent.jpg: "* ]]'
exit $fail
