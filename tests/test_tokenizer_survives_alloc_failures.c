/* test_tokenizer_survives_alloc_failures - when any one allocation fails while
 * loading a tokenizer, tokenizing (with special tokens and the pre-tokenizer's
 * regex steps) or decoding, the call reports GLIMPSE_ERR_NOMEM and leaks and
 * crashes nothing (run under the sanitizer build to see leaks). */
#include "tokenizer_cases.h"

static const char TEXT[] = "<|im_start|>user\nI'd like 3 images \xF0\x9F\xA6\x99 of <image>!<|im_end|>\n\n  done";

/* One run with the (k+1)th allocation failing; returns whether it failed. */
static int run(gl_gguf *g, long k) {
    gl_vocab *v = NULL;
    int32_t *ids = NULL;
    size_t n;
    char *text = NULL;
    size_t len;
    gl_alloc_fail_after(k);
    glimpse_status st = gl_vocab_load(g, &v);
    if (!st) st = gl_tokenize(v, TEXT, sizeof TEXT - 1, 1, 1, &ids, &n);
    size_t skip = !st && v->add_bos; /* the BOS the model asked for */
    if (!st) st = gl_detokenize(v, ids + skip, n - skip, 1, &text, &len);
    gl_alloc_fail_after(-1);
    CHECK_MSG(st == GLIMPSE_OK || st == GLIMPSE_ERR_NOMEM, "allocation %ld: status %d (%s)", k, (int)st,
              glimpse_last_error());
    if (!st) CHECK(len == sizeof TEXT - 1 && !memcmp(text, TEXT, len));
    gl_free(text);
    gl_free(ids);
    gl_vocab_free(v);
    return st != GLIMPSE_OK;
}

int main(void) {
    const char *pres[] = {"smollm", "llama-bpe"};
    for (int p = 0; p < 2; p++) {
        char path[512];
        snprintf(path, sizeof path, "%s/tests/fixtures/tokenizer/ggml-vocab-%s.gguf", GLIMPSE_SOURCE_DIR, pres[p]);
        gl_gguf *g;
        if (gl_gguf_open(path, &g) != GLIMPSE_OK) {
            CHECK_MSG(0, "%s", glimpse_last_error());
            continue;
        }
        /* Some failures are absorbed (PCRE2 then interprets instead of JIT
         * code): the sweep ends after a long run of calls that all succeeded. */
        long k = 0, failed = 0, ok_in_a_row = 0;
        for (; k < 100000 && ok_in_a_row < 50; k++) {
            int f = run(g, k);
            failed += f;
            ok_in_a_row = f ? 0 : ok_in_a_row + 1;
        }
        CHECK_MSG(failed > 10 && k < 100000, "%s: %ld of %ld runs failed", pres[p], failed, k);
        printf("%s: %ld allocations made to fail one at a time, all handled\n", pres[p], failed);
        gl_gguf_close(g);
    }
    TEST_DONE();
}
