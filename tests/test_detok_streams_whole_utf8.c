/* test_detok_streams_whole_utf8 - decoding generated tokens one at a time
 * never hands out part of a UTF-8 character, even when tokens split Korean
 * syllables and emoji into bytes (byte-level BPE pieces, SentencePiece
 * <0xXX> fallback), and the pieces put together are the text. */
#include "tokenizer_cases.h"

/* Whether s[0, n) is whole UTF-8 characters (no cut sequence at either end). */
static int whole_utf8(const char *s, size_t n) {
    for (size_t i = 0; i < n;) {
        uint8_t c = (uint8_t)s[i];
        size_t len = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 0;
        if (!len || i + len > n) return 0;
        for (size_t k = 1; k < len; k++)
            if (((uint8_t)s[i + k] & 0xC0) != 0x80) return 0;
        i += len;
    }
    return 1;
}

static void check_stream(const gl_vocab *v, const char *name, const char *text) {
    int32_t *ids;
    size_t n;
    if (gl_tokenize(v, text, strlen(text), 0, 0, &ids, &n) != GLIMPSE_OK) {
        CHECK_MSG(0, "%s: %s", name, glimpse_last_error());
        return;
    }
    gl_detok d;
    gl_detok_init(&d, v, 0);
    char out[512];
    size_t k = 0;
    int split_tokens = 0;
    for (size_t i = 0; i < n; i++) {
        char piece[64];
        size_t plen = gl_token_to_bytes(v, ids[i], piece, sizeof piece);
        if (plen <= sizeof piece && !whole_utf8(piece, plen)) split_tokens++;
        const char *chunk;
        size_t len;
        CHECK(gl_detok_push(&d, ids[i], &chunk, &len) == GLIMPSE_OK);
        CHECK_MSG(whole_utf8(chunk, len), "%s: token %zu gave part of a character", name, i);
        if (k + len < sizeof out) memcpy(out + k, chunk, len);
        k += len;
    }
    const char *rest;
    size_t rest_len;
    gl_detok_flush(&d, &rest, &rest_len);
    CHECK(rest_len == 0);
    gl_detok_free(&d);
    /* SentencePiece adds a space before the text; a stream shows it. */
    const char *got = out;
    if (v->add_space_prefix && k && out[0] == ' ') got++, k--;
    CHECK_MSG(k == strlen(text) && !memcmp(got, text, k), "%s: stream gave '%.*s'", name, (int)k, got);
    CHECK_MSG(split_tokens > 0, "%s: no token of '%s' ends inside a character, nothing was tested", name, text);
    printf("%s: %zu tokens, %d of them part of a character\n", name, n, split_tokens);
    gl_free(ids);
}

/* A stream that stops inside a character hands the bytes out at flush. */
static void check_flush(const gl_vocab *v) {
    gl_detok d;
    gl_detok_init(&d, v, 0);
    const char *chunk, *rest;
    size_t len, rest_len;
    CHECK(gl_detok_push(&d, v->byte_ids[0xF0], &chunk, &len) == GLIMPSE_OK && len == 0);
    CHECK(gl_detok_push(&d, v->byte_ids[0x9F], &chunk, &len) == GLIMPSE_OK && len == 0);
    gl_detok_flush(&d, &rest, &rest_len);
    CHECK(rest_len == 2 && (uint8_t)rest[0] == 0xF0 && (uint8_t)rest[1] == 0x9F);
    CHECK_ERROR(gl_detok_push(&d, -5, &chunk, &len), GLIMPSE_ERR_INVALID_ARG, "-5");
    gl_detok_free(&d);
}

static const char *const TEXTS[] = {
    "\xEC\x95\x88\xEB\x85\x95\xED\x95\x98\xEC\x84\xB8\xEC\x9A\x94 \xEC\x84\xB8\xEA\xB3\x84",         /* Korean */
    "ok \xF0\x9F\xA6\x99\xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD \xF0\x9F\x98\xB6\xE2\x80\x8D\xF0\x9F\x8C\xAB\xEF\xB8\x8F", /* emoji */
};

int main(void) {
    gl_vocab *v = load_vocab(GLIMPSE_SOURCE_DIR "/tests/fixtures/tokenizer/ggml-vocab-smollm.gguf");
    if (v) {
        for (size_t i = 0; i < sizeof TEXTS / sizeof TEXTS[0]; i++) check_stream(v, "smollm fixture", TEXTS[i]);
        check_flush(v);
        gl_vocab_free(v);
    }
    FILE *f = fopen(GLIMPSE_SHARED_DIR "/vocab/ggml-vocab-llama-spm.gguf", "rb");
    if (f) {
        fclose(f);
        v = load_vocab(GLIMPSE_SHARED_DIR "/vocab/ggml-vocab-llama-spm.gguf");
        if (v) {
            check_stream(v, "llama-spm", TEXTS[1]);
            check_flush(v);
            gl_vocab_free(v);
        }
    } else {
        printf("llama-spm part skipped: ../shared/vocab is absent\n");
    }
    TEST_DONE();
}
