#!/usr/bin/env bash
# `glimpse caption` on a folder built here from tests/fixtures/images (nested
# folders, a truncated JPEG, a GIF whose header claims 65535x65535 pixels, a
# text file, a symbolic link loop, names with quotes, commas and non-UTF-8
# bytes), captioned with the tiny LLaVA test model: every image is listed
# once and the bad ones carry their error; a second run does nothing; a run
# killed with SIGKILL, or cut mid-record, and then resumed gives exactly the
# records of an uninterrupted run; shards 1/3..3/3 cover the set without
# overlap and merge back to it; CSV and sidecar outputs; usage errors.
# Records are compared without the fields that measure a run rather than an
# image (milliseconds, and the prompt tokens computed vs reused).
source "$(dirname "$0")/lib_cli.sh"
M="-m $F/llava-text.gguf --mmproj $F/llava-mmproj.gguf -t 2 --max-tokens 6"
cap() { "$glimpse" caption "$@" $M; }
# A record without what varies from run to run.
strip() { sed -E 's/"(load|encode|prefill|decode)_ms": [0-9.]+/"\1_ms": 0/g; s/"tokens_(in|cached)": [0-9]+/"tokens_\1": 0/g' "$@"; }
paths() { sed -E 's/^\{"path": ("([^"\\]|\\.)*").*/\1/' "$@"; }

# ---- The folder: 12 images (10 good, 2 bad), 1 text file, 1 loop.
D="$tmp/photos"
mkdir -p "$D/2023/summer" "$D/2024" "$D/misc"
cp $I/landscape.jpg $I/portrait.png "$D/"
cp $I/scene.bmp $I/scene.gif "$D/2023/"
cp $I/gray.jpg $I/rgba.png $I/scene.webp "$D/2023/summer/"
cp $I/palette.png "$D/2024/"
cp $I/scene.tga "$D/2024/a \"quoted\", name.tga"
cp $I/one_pixel.png "$D/misc/caf"$'\xe9'".png"
head -c 300 $I/landscape.jpg > "$D/2024/corrupt.jpg"
cp $I/scene.gif "$D/misc/huge.gif"
printf '\xff\xff\xff\xff' | dd of="$D/misc/huge.gif" bs=1 seek=6 conv=notrunc 2> /dev/null
echo "shopping list" > "$D/misc/notes.txt"
ln -s .. "$D/2023/summer/back"
N=12

# ---- A full run.
cap "$D" -o "$tmp/full.jsonl" 2> "$tmp/err"; rc=$?
check "a failed image makes the exit status 3" '[ $rc -eq 3 ]'
check "every image once" '[ $(wc -l < "$tmp/full.jsonl") -eq $N ] && [ $(paths "$tmp/full.jsonl" | sort -u | wc -l) -eq $N ]'
check "records in path order" 'paths "$tmp/full.jsonl" | LC_ALL=C sort -c'
check "the text file is skipped" '! grep -q notes.txt "$tmp/full.jsonl"'
check "the truncated JPEG carries its error" 'grep -q "\"path\": \"$D/2024/corrupt.jpg\", \"caption\": null, \"error\": \".*truncated" "$tmp/full.jsonl"'
check "the oversized header carries its error" 'grep -q "huge.gif\", \"caption\": null, \"error\": \".*65535x65535.*limit" "$tmp/full.jsonl"'
check "good images have captions and sizes" '[ $(grep -c "\"error\": null, \"width\": [0-9]" "$tmp/full.jsonl") -eq 10 ]'
check "record fields" 'grep -q "\"path\": \"$D/landscape.jpg\", \"caption\": \"[^\"]*\", \"error\": null, \"width\": 320, \"height\": 240, \"size\": 18210, \"mtime\": \"20[0-9-]*T[0-9:.]*Z\", \"model\": \"glimpse-e2e-llava\", \"prompt\": \"Write a short caption for this image.\", \"tokens_in\": [0-9]*, \"tokens_cached\": [0-9]*, \"tokens_out\": 6, \"image_tokens\": 16, \"stop\": \"max_tokens\", \"load_ms\": [0-9.]*, \"encode_ms\"" "$tmp/full.jsonl"'
check "the prefix before the image is reused" '[ $(grep -c "\"tokens_cached\": [1-9]" "$tmp/full.jsonl") -ge 9 ]'
check "quotes in names escaped" 'grep -qF "a \\\"quoted\\\", name.tga\"" "$tmp/full.jsonl"'
check "summary counts" 'grep -q "10 done, 0 skipped, 2 failed" "$tmp/err" && grep -q "1 non-image file" "$tmp/err" && grep -q "back: symbolic link loop" "$tmp/err"'
if command -v python3 > /dev/null; then
  check "valid JSON lines; a non-UTF-8 name comes back with os.fsencode" 'python3 -c "
import json, os, sys
rs = [json.loads(l) for l in open(sys.argv[1], encoding=\"utf-8\")]
assert any(os.fsencode(r[\"path\"]).endswith(b\"caf\\xe9.png\") for r in rs)" "$tmp/full.jsonl"'
fi

# ---- A second run does nothing.
cp "$tmp/full.jsonl" "$tmp/before"
cap "$D" -o "$tmp/full.jsonl" 2> "$tmp/err"; rc=$?
check "second run: nothing to do" 'grep -q "0 done, 12 skipped, 0 failed" "$tmp/err" && cmp -s "$tmp/full.jsonl" "$tmp/before"'
check "second run: the earlier failures still count" '[ $rc -eq 3 ]'

# ---- A record cut in the middle (as a kill leaves it) is repaired.
head -c $(( $(head -n 5 "$tmp/full.jsonl" | wc -c) + 40 )) "$tmp/full.jsonl" > "$tmp/cut.jsonl"
cap "$D" -o "$tmp/cut.jsonl" 2> "$tmp/err"
check "cut record repaired" 'grep -q "removed a record cut short" "$tmp/err" && diff <(strip "$tmp/cut.jsonl") <(strip "$tmp/full.jsonl") > /dev/null'

# ---- Killed with SIGKILL after the first records, then resumed.
"$glimpse" caption "$D" $M -t 1 -q -o "$tmp/kill.jsonl" & pid=$!
for _ in $(seq 1 2000); do [ -s "$tmp/kill.jsonl" ] && break; sleep 0.005; done
kill -9 $pid 2> /dev/null; wait $pid 2> /dev/null
n_killed=$(wc -l < "$tmp/kill.jsonl")
echo "killed after $n_killed records" >&2
cap "$D" -q -o "$tmp/kill.jsonl"
check "killed then resumed = uninterrupted" 'diff <(strip "$tmp/kill.jsonl") <(strip "$tmp/full.jsonl") > /dev/null'

# ---- SIGTERM (a scheduler's preemption): the image in hand is dropped, the
# output ends with a whole record, the exit status says so, a rerun finishes.
"$glimpse" caption "$D" $M -t 1 -q -o "$tmp/term.jsonl" & pid=$!
for _ in $(seq 1 2000); do [ -s "$tmp/term.jsonl" ] && break; sleep 0.005; done
kill -TERM $pid 2> /dev/null; wait $pid; rc=$?
check "SIGTERM: exit status 143 (or done before it came)" '[ $rc -eq 143 ] || [ $rc -eq 3 ]'
check "SIGTERM: whole records only" '[ "$(tail -c 1 "$tmp/term.jsonl" | od -An -c | tr -d " ")" = "\n" ]'
cap "$D" -q -o "$tmp/term.jsonl"
check "SIGTERM: rerun finishes the job" 'diff <(strip "$tmp/term.jsonl") <(strip "$tmp/full.jsonl") > /dev/null'

# ---- A second job on the same output file is refused while the first runs.
# The first job gets 300 pictures and is stopped (SIGSTOP keeps its lock) once
# it has written a record, so it cannot finish before the second one starts,
# however loaded the machine.
L="$tmp/many"
mkdir -p "$L"
for i in $(seq 1 300); do ln "$D/landscape.jpg" "$L/$i.jpg"; done
"$glimpse" caption "$L" $M -t 1 -q -o "$tmp/lock.jsonl" & pid=$!
for _ in $(seq 1 2000); do [ -s "$tmp/lock.jsonl" ] && break; sleep 0.005; done
kill -STOP $pid 2> /dev/null
cap "$L" -o "$tmp/lock.jsonl" 2> "$tmp/err"; rc=$?
kill -9 $pid 2> /dev/null; wait $pid 2> /dev/null
check "second writer refused" '[ $rc -eq 1 ] && grep -q "lock.jsonl: another glimpse caption is writing to it" "$tmp/err"'

# ---- Shards: disjoint, complete, and merged back to the full output.
for k in 1 2 3; do cap "$D" -q --shard $k/3 -o "$tmp/part$k.jsonl"; done
check "shards are disjoint and complete" '[ "$(paths "$tmp"/part*.jsonl | sort)" = "$(paths "$tmp/full.jsonl" | sort)" ] && [ -z "$(paths "$tmp"/part*.jsonl | sort | uniq -d)" ]'
check "no shard is empty" '[ -s "$tmp/part1.jsonl" ] && [ -s "$tmp/part2.jsonl" ] && [ -s "$tmp/part3.jsonl" ]'
"$glimpse" caption --merge "$tmp/merged.jsonl" "$tmp"/part*.jsonl 2> "$tmp/err"; rc=$?
check "merge = full run" '[ $rc -eq 0 ] && diff <(strip "$tmp/merged.jsonl") <(strip "$tmp/full.jsonl") > /dev/null'
"$glimpse" caption --merge "$tmp/merged.jsonl" "$tmp/merged.jsonl" "$tmp/part1.jsonl" 2> "$tmp/err"
check "merge drops repeated paths" '[ $(wc -l < "$tmp/merged.jsonl") -eq $N ] && grep -q "repeated paths left out" "$tmp/err"'

# ---- A changed image is captioned again; its old record goes.
cp "$tmp/full.jsonl" "$tmp/changed.jsonl"
cp $I/portrait.png "$D/2024/palette.png"
cap "$D" -o "$tmp/changed.jsonl" 2> "$tmp/err"
check "changed image captioned again, once" 'grep -q "1 done, 11 skipped" "$tmp/err" && [ $(grep -c "2024/palette.png" "$tmp/changed.jsonl") -eq 1 ] && grep -q "palette.png.*\"width\": 180, \"height\": 260" "$tmp/changed.jsonl"'
cp $I/palette.png "$D/2024/palette.png"

# ---- CSV.
cap "$D" --no-recursive -o "$tmp/top.csv" 2> "$tmp/err"; rc=$?
check "csv from the extension, --no-recursive" '[ $rc -eq 0 ] && [ "$(head -n 1 "$tmp/top.csv")" = "path,caption,error,width,height,size,mtime,model,prompt,tokens_in,tokens_cached,tokens_out,image_tokens,stop,load_ms,encode_ms,prefill_ms,decode_ms" ] && grep -q "^\"$D/landscape.jpg\",\"" "$tmp/top.csv" && grep -q "^\"$D/portrait.png\",\"" "$tmp/top.csv" && ! grep -q 2023 "$tmp/top.csv"'
cap "$D" --format csv -o "$tmp/all.csv" 2> /dev/null
head -c $(( $(wc -c < "$tmp/all.csv") - 30 )) "$tmp/all.csv" > "$tmp/cut.csv"
cap "$D" -o "$tmp/cut.csv" 2> "$tmp/err"
csv_strip() { sed -E 's/,[0-9]+,[0-9]+(,[0-9]+,[0-9]+,"[a-z_]+"),[0-9.]*,[0-9.]*,[0-9.]*,[0-9.]*$/,0,0\1/' "$@"; }
check "csv: cut row repaired on resume" 'grep -q "removed a record cut short" "$tmp/err" && diff <(csv_strip "$tmp/cut.csv") <(csv_strip "$tmp/all.csv") > /dev/null'
check "csv: quotes doubled" 'grep -qF "a \"\"quoted\"\", name.tga\"" "$tmp/all.csv"'
if command -v python3 > /dev/null; then
  check "csv parses: one row per image, errors in their column" 'python3 -c "
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline=\"\", encoding=\"utf-8\", errors=\"surrogateescape\")))
assert len(rows) == 12, len(rows)
bad = sorted(r[\"path\"].rsplit(\"/\", 1)[1] for r in rows if r[\"error\"])
assert bad == [\"corrupt.jpg\", \"huge.gif\"], bad
assert all(r[\"caption\"] == \"\" for r in rows if r[\"error\"])" "$tmp/all.csv"'
fi

# ---- Sidecars: beside each image, existing ones kept, clashes refused.
S="$tmp/side"
mkdir -p "$S/sub"
cp $I/landscape.jpg $I/portrait.png "$S/"
cp $I/gray.jpg "$S/sub/pic.jpg"
cp $I/rgba.png "$S/sub/pic.png"
echo "my own caption" > "$S/portrait.txt"
out=$(cap "$S" --sidecar 2> "$tmp/err"); rc=$?
check "sidecar: no records on stdout without -o" '[ -z "$out" ]'
check "sidecar written beside the image" '[ -s "$S/landscape.txt" ] && [ -s "$S/sub/pic.txt" ]'
check "existing sidecar kept" '[ "$(cat "$S/portrait.txt")" = "my own caption" ]'
check "two images, one sidecar name: the second fails" '[ $rc -eq 3 ] && grep -q "pic.png.*sidecar is .*pic.jpg" "$tmp/err"'
check "no temporary files left" '[ -z "$(find "$S" -name "*.tmp*")" ]'
cap "$S" --sidecar --overwrite -q -o "$tmp/side.jsonl" 2> /dev/null
check "--overwrite replaces sidecars" '[ "$(cat "$S/portrait.txt")" != "my own caption" ]'
if command -v python3 > /dev/null; then
  check "each sidecar holds its record's caption" 'python3 -c "
import json, sys
rs = [json.loads(l) for l in open(sys.argv[1], encoding=\"utf-8\")]
ok = [r for r in rs if not r[\"error\"]]
assert len(ok) == 3
for r in ok:
    assert open(r[\"path\"].rsplit(\".\", 1)[0] + \".txt\", encoding=\"utf-8\").read() == r[\"caption\"] + \"\\n\"" "$tmp/side.jsonl"'
fi

# ---- Errors.
echo "not records" > "$tmp/foreign.jsonl"
cap "$D" -o "$tmp/foreign.jsonl" 2> "$tmp/err"; rc=$?
check "refuses to append to a file that is not records" '[ $rc -eq 1 ] && [ "$(cat "$tmp/foreign.jsonl")" = "not records" ] && grep -q "foreign.jsonl: not a file of caption records" "$tmp/err"'
cap "$D" --shard 4/3 > /dev/null 2>&1; rc=$?
check "bad --shard is a usage error" '[ $rc -eq 2 ]'
cap "$D" --format xml > /dev/null 2>&1; rc=$?
check "bad --format is a usage error" '[ $rc -eq 2 ]'
cap "$tmp/nowhere" -o "$tmp/none.jsonl" 2> "$tmp/err"; rc=$?
check "missing folder reported, exit 1" '[ $rc -eq 1 ] && grep -q "nowhere: cannot read" "$tmp/err"'
exit $fail
