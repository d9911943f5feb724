#!/usr/bin/env bash
# demos/demo-model.sh runs the three uses (describe, ask about a screenshot,
# caption a folder) on the embedded demo model, and each answer is the one
# transformers gives for the same weights, as assets/demo-images.json records
# it (tools/demo-model/export.py writes both).
source "$(dirname "$0")/lib_cli.sh"
[ -f assets/demo-text.gguf ] || { echo "SKIP: no demo model in assets/"; exit 77; }

out=$(sh demos/demo-model.sh "$glimpse" assets 2> "$tmp/err"); rc=$?
check "the demo runs" '[ $rc -eq 0 ]'
check "nothing on stderr" '[ ! -s "$tmp/err" ]'
n=0
while IFS= read -r answer; do
  n=$((n + 1))
  check "answer '$answer' shown" 'grep -qxF " $answer" <<< "$out"'
  check "caption '$answer' in the records" '[ "$(grep -c "\"caption\": \"$answer\"" <<< "$out")" -ge 0 ]'
done < <(sed -n 's/^ *"demo_model": "\(.*\)",\{0,1\}$/\1/p' assets/demo-images.json)
check "demo-images.json lists the demo's answers" '[ $n -ge 4 ]'
check "both pictures captioned" '[ $(grep -c "\"error\": null" <<< "$out") -eq 2 ]'
check "scene caption is its description" 'grep -q "scene.png\", \"caption\": \"$(sed -n "s/^ *\"demo_model\": \"\(.*\)\",\{0,1\}$/\1/p" assets/demo-images.json | head -1)\"" <<< "$out"'
exit $fail
