#!/usr/bin/env bash
# `glimpse chat` keeps a conversation: /image adds an image to the next
# message, /save writes the history as JSON, /reset clears it, /quit and end
# of input end it; Ctrl-C at the prompt ends it cleanly too.
set -u
glimpse="$1"
fail=0
check() { if ! eval "$2"; then echo "FAIL: $1"; fail=1; fi; }
F=tests/fixtures/e2e
I=tests/fixtures/images
M="-m $F/smolvlm-text.gguf --mmproj $F/smolvlm-mmproj.gguf -t 2 --max-tokens 5"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

printf '/image %s\nWhat is this?\nAnd now in 한국어?\n/save %s\n/reset\n/save %s\nhello\n/quit\nnever read\n' \
  "$I/landscape.jpg" "$tmp/one.json" "$tmp/two.json" | $glimpse chat $M -p "Be brief." > "$tmp/out" 2> "$tmp/err"
rc=$?
check "chat exits 0" '[ $rc -eq 0 ]'
check "image acknowledged" 'grep -q "added to your next message" "$tmp/err"'
check "saved history has both turns and the image" \
  'python3 -c "import json,sys; d=json.load(open(sys.argv[1])); m=d[\"messages\"]; \
assert [x[\"role\"] for x in m]==[\"system\",\"user\",\"assistant\",\"user\",\"assistant\"], m; \
assert m[1][\"images\"]==[sys.argv[2]]; assert m[3][\"text\"]==\"And now in 한국어?\"" "$tmp/one.json" "$I/landscape.jpg"'
check "second turn reused the first" 'grep -q "reused" "$tmp/err" && ! grep -q "(0 reused)" <(sed -n 2p <(grep "reused" "$tmp/err"))'
check "reset clears all but the system prompt" \
  'python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert [x[\"role\"] for x in d[\"messages\"]]==[\"system\"]" "$tmp/two.json"'

# An image in a later turn joins that turn.
printf 'hello\n/image %s\nand this?\n/save %s\n' "$I/portrait.png" "$tmp/three.json" | $glimpse chat $M > /dev/null 2> "$tmp/err"
check "image in a later turn" \
  'python3 -c "import json,sys; m=json.load(open(sys.argv[1]))[\"messages\"]; assert \"images\" not in m[0] and m[2][\"images\"]==[sys.argv[2]]" "$tmp/three.json" "$I/portrait.png"'
check "later image encoded" 'grep -q "80 image tokens" <(sed -n 3p "$tmp/err")'

# An image that does not exist is reported and the chat goes on.
printf '/image /nonexistent.png\nhi\n' | $glimpse chat $M > "$tmp/out" 2> "$tmp/err"; rc=$?
check "missing image: reported, chat continues, exit 1" '[ $rc -eq 1 ] && grep -q "glimpse: /nonexistent.png" "$tmp/err" && [ $(grep -c "image tokens" "$tmp/err") -eq 1 ]'

# Ctrl-C while waiting at the prompt ends the chat cleanly.
mkfifo "$tmp/in"
( sleep 30 > "$tmp/in" ) &
holder=$!
$glimpse chat $M < "$tmp/in" > /dev/null 2>&1 &
pid=$!
sleep 1
kill -INT $pid
for _ in $(seq 50); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
if kill -0 $pid 2>/dev/null; then echo "FAIL: chat ignored Ctrl-C"; fail=1; kill -9 $pid; fi
wait $pid; rc=$?
check "Ctrl-C at the prompt exits 0" '[ $rc -eq 0 ]'
kill $holder 2>/dev/null
exit $fail
