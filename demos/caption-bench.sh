#!/usr/bin/env bash
# Images per minute of `glimpse caption FOLDER` against running
# `glimpse describe` once per image on the same folder, with the same prompt
# and sampling (the numbers in docs/PERF.md, "Batch captioning").
#   demos/caption-bench.sh GLIMPSE FOLDER REPEATS MODEL-OPTIONS...
# e.g. demos/caption-bench.sh build/glimpse photos 5 -m text.gguf --mmproj mmproj.gguf -t 2 --max-tokens 16
# Prints the median and the best of REPEATS runs of each.
set -euo pipefail
glimpse="$1" folder="$2" repeats="$3"
shift 3
prompt="Write a one-sentence caption for this image."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mapfile -d '' images < <(find "$folder" -type f -print0 | sort -z)
n=${#images[@]}

seconds() { local t0 t1; t0=$(date +%s.%N); "$@"; t1=$(date +%s.%N); echo "$t1 - $t0" | bc -l; }
loop() { for f in "${images[@]}"; do "$glimpse" describe "$f" -p "$prompt" -q "$@" > /dev/null || true; done; }
batch() { rm -f "$tmp/out.jsonl"; "$glimpse" caption "$folder" -p "$prompt" -q -o "$tmp/out.jsonl" "$@" || true; }
# median and best of the times on stdin, as images/min
summary() { sort -g | awk -v n="$n" '{ t[NR] = $1 } END {
  m = NR % 2 ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2
  printf "%7.1f images/min median, %7.1f best (%.2f s, %.2f s)\n", n * 60 / m, n * 60 / t[1], m, t[1] }'; }

echo "$n images in $folder, $repeats runs each"
# interleaved, so that a change in the machine's load hits both alike
for _ in $(seq "$repeats"); do
  seconds loop "$@" >> "$tmp/loop"
  seconds batch "$@" >> "$tmp/batch"
done
printf "describe, one process per image: "; summary < "$tmp/loop"
printf "caption, one process:            "; summary < "$tmp/batch"
