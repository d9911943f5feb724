/* libFuzzer target for the tokenizers: arbitrary bytes tokenized with each
 * kind of vocabulary, then decoded whole and streamed. The first input byte
 * picks the vocabulary (bits 0-2) and add_special (bit 3) / parse_special
 * (bit 4); the rest is the text. Vocabularies: the committed fixtures of
 * byte-level BPE (llama-bpe, qwen2 with NFC, smollm) and WordPiece (tiny BERT),
 * and a SentencePiece vocabulary with byte fallback written here with the GGUF
 * writer. Aborts on: a failed call, an id out of range, a decoded text that is
 * not what its tokens decode to, or an NFC form that NFC changes again. Seeds:
 * tests/fuzz/corpus/tokenize/. Run: tests/fuzz/run.sh SECONDS */
#include "detok.h"
#include "gguf.h"
#include "mem.h"
#include "unicode.h"
#include "vocab.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define N_VOCABS 5

static gl_vocab *vocabs[N_VOCABS]; /* loaded on the first input, kept for the run */

static gl_vocab *load(const char *path) {
    gl_gguf *g;
    gl_vocab *v = NULL;
    if (gl_gguf_open(path, &g) != GLIMPSE_OK || gl_vocab_load(g, &v) != GLIMPSE_OK) {
        fprintf(stderr, "fuzz_tokenize: %s\n", glimpse_last_error());
        abort();
    }
    gl_gguf_close(g);
    return v;
}

/* <unk> <s> </s>, the 256 byte tokens, U+2581, letters and a few merges. */
static gl_vocab *spm_vocab(void) {
    static const char *const pieces[] = {"\xE2\x96\x81", "a", "b", "e", "h", "l", "o", "t", "\xE2\x96\x81t", "he",
                                         "\xE2\x96\x81the", "ll", "\xE2\x96\x81he", "llo", "\xE2\x96\x81hello",
                                         "\xC3\xA9", "\xED\x95\x9C"};
    enum { N_PIECES = sizeof pieces / sizeof pieces[0], N = 3 + 256 + N_PIECES };
    static char bytes[256][7];
    const char *tokens[N] = {"<unk>", "<s>", "</s>"};
    float scores[N];
    int32_t types[N] = {GL_TOKEN_UNKNOWN, GL_TOKEN_CONTROL, GL_TOKEN_CONTROL};
    for (int b = 0; b < 256; b++) {
        snprintf(bytes[b], sizeof bytes[b], "<0x%02X>", b);
        tokens[3 + b] = bytes[b];
        types[3 + b] = GL_TOKEN_BYTE;
    }
    for (int i = 0; i < N; i++) scores[i] = i < 3 + 256 ? 0.0f : -(float)(i - 3 - 256);
    for (int i = 0; i < N_PIECES; i++) tokens[3 + 256 + i] = pieces[i], types[3 + 256 + i] = GL_TOKEN_NORMAL;

    char path[] = "/tmp/fuzz_tokenize_spm_XXXXXX";
    int fd = mkstemp(path);
    gl_gguf_writer *w = gl_gguf_writer_new();
    if (fd < 0 || !w || gl_gguf_add_str(w, "tokenizer.ggml.model", "llama") ||
        gl_gguf_add_arr_str(w, "tokenizer.ggml.tokens", tokens, N) ||
        gl_gguf_add_arr(w, "tokenizer.ggml.scores", GLIMPSE_GGUF_F32, scores, N) ||
        gl_gguf_add_arr(w, "tokenizer.ggml.token_type", GLIMPSE_GGUF_I32, types, N) ||
        gl_gguf_write_file(w, path) != GLIMPSE_OK)
        abort();
    close(fd);
    gl_gguf_writer_free(w);
    gl_vocab *v = load(path);
    unlink(path);
    return v;
}

static void load_all(void) {
    static const char *const files[] = {
        "/tests/fixtures/tokenizer/trained-vocab-llama-bpe.gguf",
        "/tests/fixtures/tokenizer/trained-vocab-qwen2.gguf",
        "/tests/fixtures/tokenizer/trained-vocab-smollm.gguf",
        "/tests/fixtures/wpm/tiny/trained-vocab-wpm-tiny.gguf",
    };
    char path[1024];
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s%s", GLIMPSE_SOURCE_DIR, files[i]);
        vocabs[i] = load(path);
    }
    vocabs[4] = spm_vocab();
}

/* NFC is idempotent: the NFC form of text needs no change. */
static void check_nfc(const char *text, size_t len) {
    char *nfc, *again;
    size_t nfc_len, again_len;
    if (gl_utf8_nfc(text, len, &nfc, &nfc_len) != GLIMPSE_OK) abort();
    if (!nfc) return;
    if (gl_utf8_nfc(nfc, nfc_len, &again, &again_len) != GLIMPSE_OK || again) abort();
    gl_free(nfc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!vocabs[0]) load_all();
    if (size == 0) return 0;
    const gl_vocab *v = vocabs[(data[0] & 7) % N_VOCABS];
    int add_special = data[0] >> 3 & 1, parse_special = data[0] >> 4 & 1;
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    check_nfc(text, len);

    int32_t *ids;
    size_t n;
    if (gl_tokenize(v, text, len, add_special, parse_special, &ids, &n) != GLIMPSE_OK) abort();
    for (size_t i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= gl_vocab_n_tokens(v)) abort();

    /* Whole and streamed decoding agree (up to the prefix space that only
     * the whole decoding drops). */
    char *whole;
    size_t whole_len;
    if (gl_detokenize(v, ids, n, 1, &whole, &whole_len) != GLIMPSE_OK) abort();
    gl_detok d;
    gl_detok_init(&d, v, 1);
    char *streamed = gl_malloc(whole_len + 2);
    size_t k = 0;
    if (!streamed) abort();
    for (size_t i = 0; i < n; i++) {
        const char *piece;
        size_t piece_len;
        if (gl_detok_push(&d, ids[i], &piece, &piece_len) != GLIMPSE_OK || k + piece_len > whole_len + 1) abort();
        memcpy(streamed + k, piece, piece_len);
        k += piece_len;
    }
    const char *rest;
    size_t rest_len;
    gl_detok_flush(&d, &rest, &rest_len);
    if (k + rest_len > whole_len + 1) abort();
    memcpy(streamed + k, rest, rest_len);
    k += rest_len;
    size_t skip = k == whole_len + 1 && streamed[0] == ' ' ? 1 : 0;
    if (k - skip != whole_len || memcmp(streamed + skip, whole, whole_len)) abort();
    gl_detok_free(&d);
    gl_free(streamed);
    gl_free(whole);
    gl_free(ids);
    return 0;
}
