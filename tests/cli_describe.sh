#!/usr/bin/env bash
# `glimpse describe` / `ask` / `generate` from the command line, with the tiny
# end-to-end fixture models: answers stream to stdout, --json gives one object
# per image, a bad image is reported in one line while the others are still
# answered, and every kind of bad input exits non-zero without a crash.
set -u
glimpse="$1"
fail=0
check() { if ! eval "$2"; then echo "FAIL: $1"; fail=1; fi; }
F=tests/fixtures/e2e
I=tests/fixtures/images
M="-m $F/smolvlm-text.gguf --mmproj $F/smolvlm-mmproj.gguf -t 2 --max-tokens 6"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

out=$($glimpse describe $I/landscape.jpg $M -q); rc=$?
check "describe succeeds" '[ $rc -eq 0 ] && [ -n "$out" ]'

out=$($glimpse ask $I/landscape.jpg $I/portrait.png "이 그림을 설명해 주세요." $M --json 2>/dev/null); rc=$?
check "ask two images exits 0" '[ $rc -eq 0 ]'
check "one JSON object per image" '[ $(printf "%s\n" "$out" | wc -l) -eq 2 ]'
check "Korean question passes through intact" '[[ "$out" == *"\"prompt\": \"이 그림을 설명해 주세요.\""* ]]'
check "json fields" '[[ "$out" == *"\"image_tokens\": 80"* && "$out" == *"\"tokens_out\": 6"* && "$out" == *"\"encode_ms\""* ]]'
if command -v python3 > /dev/null; then
  check "json lines parse" 'printf "%s\n" "$out" | python3 -c "import json,sys; [json.loads(l) for l in sys.stdin]"'
fi

out=$($glimpse ask $I/landscape.jpg $I/exif_rot6.jpg "Which is brighter?" --together $M --json 2>/dev/null); rc=$?
check "two images in one prompt" '[ $rc -eq 0 ] && [ $(printf "%s\n" "$out" | wc -l) -eq 1 ] && [[ "$out" == *"\"image_tokens\": 160"* ]]'

# A bad image among good ones: reported, the others answered, exit 1.
printf 'not an image at all' > "$tmp/bad.jpg"
head -c 300 $I/landscape.jpg > "$tmp/truncated.jpg"
out=$($glimpse describe $I/landscape.jpg "$tmp/bad.jpg" $I/portrait.png "$tmp/truncated.jpg" $M -q 2> "$tmp/err"); rc=$?
check "some failed: exit 1" '[ $rc -eq 1 ]'
check "good images still answered" '[ $(grep -ac "^==> " <<< "$out") -eq 4 ] && [ $(grep -av "^==> " <<< "$out" | grep -ac .) -ge 2 ]'
check "bad image named in one line" 'grep -q "^glimpse: $tmp/bad.jpg: " "$tmp/err"'
check "truncated image named" 'grep -q "^glimpse: $tmp/truncated.jpg: .*truncated" "$tmp/err"'

err=$($glimpse describe /nonexistent.png $M 2>&1 >/dev/null); rc=$?
check "missing image" '[ $rc -eq 1 ] && [[ "$err" == "glimpse: /nonexistent.png: "* ]] && [ $(wc -l <<< "$err") -eq 1 ]'

err=$($glimpse describe $I/landscape.jpg $M --max-pixels 1000 2>&1 >/dev/null); rc=$?
check "image over the pixel limit" '[ $rc -eq 1 ] && [[ "$err" == *"landscape.jpg"*"limit"* ]]'

long=$(printf 'word %.0s' $(seq 1 400))
err=$($glimpse ask $I/landscape.jpg "$long" $M --ctx 128 2>&1 >/dev/null); rc=$?
check "prompt longer than the context" '[ $rc -eq 1 ] && [[ "$err" == *"context"* ]]'

err=$($glimpse describe $I/landscape.jpg -m $I/landscape.jpg --mmproj $F/smolvlm-mmproj.gguf 2>&1 >/dev/null); rc=$?
check "model that is not GGUF" '[ $rc -eq 1 ] && [[ "$err" == *"landscape.jpg: not a GGUF file"* ]]'

err=$($glimpse describe $I/landscape.jpg -m tests/fixtures/text/qwen2-f32.gguf --mmproj $F/smolvlm-mmproj.gguf 2>&1 >/dev/null); rc=$?
check "pair that does not fit" '[ $rc -eq 1 ] && [[ "$err" == *"smolvlm-mmproj.gguf"*"qwen2-f32.gguf"* ]]'

err=$($glimpse describe $I/landscape.jpg -m $F/smolvlm-mmproj.gguf 2>&1 >/dev/null); rc=$?
check "mmproj given as the text model" '[ $rc -eq 1 ] && [[ "$err" == *"mmproj"* ]]'

err=$($glimpse describe $I/landscape.jpg -m tests/fixtures/text/llama-f32.gguf --mmproj "" 2>&1 >/dev/null); rc=$?
check "text-only model given an image" '[ $rc -eq 1 ] && [[ "$err" == *"text-only"* ]]'

# The model from a directory holding both files, and from the environment.
mkdir "$tmp/model" && cp $F/llava-text.gguf $F/llava-mmproj.gguf "$tmp/model/"
out=$($glimpse describe $I/landscape.jpg -m "$tmp/model" --max-tokens 3 -q); rc=$?
check "-m DIR finds both files" '[ $rc -eq 0 ]'
out=$(GLIMPSE_MODEL=$F/llava-text.gguf GLIMPSE_MMPROJ=$F/llava-mmproj.gguf $glimpse describe - --max-tokens 3 -q < $I/portrait.png); rc=$?
check "environment variables and stdin" '[ $rc -eq 0 ]'

out=$($glimpse generate -m tests/fixtures/text/qwen2-f32.gguf -p "안녕하세요" --max-tokens 5 -q); rc=$?
check "generate continues a prompt" '[ $rc -eq 0 ] && [[ "$out" == "안녕하세요"* ]]'
out=$($glimpse generate --chat -m tests/fixtures/text/qwen2-f32.gguf -p "hello" --max-tokens 5 --json); rc=$?
check "generate --chat --json" '[ $rc -eq 0 ] && [[ "$out" == *"\"tokens_out\": 5"* ]]'

$glimpse describe > /dev/null 2>&1; rc=$?
check "usage error exits 2" '[ $rc -eq 2 ]'
$glimpse ask $I/landscape.jpg $M --temp nonsense > /dev/null 2>&1; rc=$?
check "bad option value exits 2" '[ $rc -eq 2 ]'
exit $fail
