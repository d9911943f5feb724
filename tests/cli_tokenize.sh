#!/usr/bin/env bash
# cli_tokenize - `glimpse tokenize` prints the ids that llama.cpp's shared test
# files expect (../shared/vocab), adds BOS only when the model asks for it,
# parses special tokens only with --special, and reads text from an argument,
# a file or stdin alike. Args: glimpse binary, build dir.
set -u
GLIMPSE=$1
VOCAB=${GLIMPSE_SHARED_DIR:-$(pwd)/../shared}/vocab
FIXTURES=$(pwd)/tests/fixtures/tokenizer
[ -f "$VOCAB/ggml-vocab-gpt-2.gguf" ] || { echo "SKIP: $VOCAB is absent"; exit 77; }
fail=0
check() { # name, got, want
    if [ "$2" != "$3" ]; then echo "FAIL $1: got '$2', want '$3'"; fail=1; else echo "ok   $1"; fi
}

# The expected ids of one case (by its text) of a shared .inp/.out pair.
expected() { # vocab file, case text
    local n
    n=$(awk -v want="$2" 'BEGIN { RS = "\n__ggml_vocab_test__\n" } $0 == want { print NR; exit }' "$1.inp")
    sed -n "${n}p" "$1.out" | sed 's/^ *//'
}

for v in gpt-2 llama-spm starcoder; do
    for text in "Hello, world!" "    Hello" "3333333"; do
        check "$v '$text'" "$("$GLIMPSE" tokenize -m "$VOCAB/ggml-vocab-$v.gguf" --no-bos "$text")" \
            "$(expected "$VOCAB/ggml-vocab-$v.gguf" "$text")"
    done
done

# BOS: llama-spm asks for it, gpt-2 does not.
spm="$VOCAB/ggml-vocab-llama-spm.gguf"
check "spm BOS" "$("$GLIMPSE" tokenize -m "$spm" "Hello, world!")" "1 $(expected "$spm" "Hello, world!")"
check "spm BOS piece" "$("$GLIMPSE" tokenize -m "$spm" --pieces "Hi" | head -n1)" "$(printf '1\t<s>')"
check "gpt-2 no BOS" "$("$GLIMPSE" tokenize -m "$VOCAB/ggml-vocab-gpt-2.gguf" "Hello, world!")" \
    "$(expected "$VOCAB/ggml-vocab-gpt-2.gguf" "Hello, world!")"

# Special tokens only with --special.
qwen="$FIXTURES/ggml-vocab-qwen2.gguf"
check "--special" "$("$GLIMPSE" tokenize -m "$qwen" --special --pieces "<|im_start|>" | cut -f2)" "<|im_start|>"
n_plain=$("$GLIMPSE" tokenize -m "$qwen" "<|im_start|>" | wc -w)
[ "$n_plain" -gt 1 ] && echo "ok   plain text '<|im_start|>' is $n_plain tokens" || { echo "FAIL plain <|im_start|>"; fail=1; }

# Argument, file and stdin agree.
text=$'line one\n\tline two \xF0\x9F\xA6\x99'
tmp=$(mktemp)
printf '%s' "$text" > "$tmp"
from_arg=$("$GLIMPSE" tokenize -m "$qwen" "$text")
check "file = arg" "$("$GLIMPSE" tokenize -m "$qwen" -f "$tmp")" "$from_arg"
check "stdin = arg" "$("$GLIMPSE" tokenize -m "$qwen" - < "$tmp")" "$from_arg"
rm -f "$tmp"

# Errors: usage 2, unreadable model 1 with a message naming it.
"$GLIMPSE" tokenize "text" >/dev/null 2>&1; check "usage exit" "$?" "2"
msg=$("$GLIMPSE" tokenize -m /nonexistent.gguf "x" 2>&1); rc=$?
check "missing model exit" "$rc" "1"
case "$msg" in *nonexistent.gguf*) echo "ok   message names the file";; *) echo "FAIL message '$msg'"; fail=1;; esac
exit $fail
