#!/usr/bin/env bash
# `glimpse info` summarises a GGUF file, dumps it as JSON, and refuses bad
# files with one line naming the file and a non-zero exit.
set -u
glimpse="$1"
fail=0
check() { if ! eval "$2"; then echo "FAIL: $1"; fail=1; fi; }
small=tests/fuzz/corpus/gguf/small.gguf

out=$("$glimpse" info "$small" --tensors)
check "text summary names the architecture" '[[ "$out" == *"architecture           llama"* ]]'
check "tensor table lists tensor a" '[[ "$out" == *"a "*"F32"*"8 x 2"* ]]'
check "vocabulary summarised" '[[ "$out" == *"weights by type"* ]]'

json=$("$glimpse" info "$small" --json --tensors)
check "json has metadata" '[[ "$json" == *"\"general.architecture\": \"llama\""* ]]'
check "json arrays carry their length" '[[ "$json" == *"\"tokenizer.ggml.tokens\": {\"length\": 3"* ]]'
if command -v python3 > /dev/null; then
  check "json parses" 'printf "%s" "$json" | python3 -c "import json,sys; json.load(sys.stdin)"'
fi

err=$("$glimpse" info /nonexistent.gguf 2>&1 >/dev/null); rc=$?
check "missing file exits 1" '[ $rc -eq 1 ]'
check "missing file message" '[[ "$err" == "glimpse: /nonexistent.gguf: cannot open"* ]]'
check "one line" '[ $(printf "%s\n" "$err" | wc -l) -eq 1 ]'

err=$("$glimpse" info tests/fixtures/images/landscape.jpg 2>&1 >/dev/null); rc=$?
check "non-GGUF refused" '[ $rc -eq 1 ] && [[ "$err" == *"landscape.jpg: not a GGUF file"* ]]'

"$glimpse" info > /dev/null 2>&1; rc=$?
check "usage error exits 2" '[ $rc -eq 2 ]'

vocab="${GLIMPSE_SHARED_DIR:-../shared}/vocab/ggml-vocab-gpt-2.gguf"
if [ -f "$vocab" ]; then
  out=$("$glimpse" info "$vocab")
  check "real vocab: tokenizer line" '[[ "$out" == *"gpt2 (pre gpt-2), 50257 tokens"* ]]'
  json=$("$glimpse" info "$vocab" --json)
  check "real vocab: long array cut" '[ ${#json} -lt 20000 ]'
fi
exit $fail
