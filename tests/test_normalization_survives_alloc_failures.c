/* test_normalization_survives_alloc_failures - when any one allocation fails while
 * WordPiece normalises and splits a text (including the counting sort of a
 * long run of combining marks), or while the qwen2 tokenizer puts a text in
 * NFC, tokenizing reports GLIMPSE_ERR_NOMEM and leaks and crashes nothing
 * (run under the sanitizer build to see leaks); once allocations succeed the
 * ids are those of a run without failures. */
#include "tokenizer_cases.h"

/* Accents, CJK, punctuation, and a run of 24 marks (longer than insertion sort takes). */
static const char TEXT[] = "Caf\xC3\xA9 na\xC3\xAFve, \xE6\x88\x91\xE6\x83\xB3 x"
                           "\xCC\x81\xCC\x96\xCC\x80\xCC\x96\xCC\x81\xCC\x96\xCC\x80\xCC\x96\xCC\x81\xCC\x96\xCC\x80"
                           "\xCC\x96\xCC\x81\xCC\x96\xCC\x80\xCC\x96\xCC\x81\xCC\x96\xCC\x80\xCC\x96\xCC\x81\xCC\x96"
                           "\xCC\x80\xCC\x96 e\xCC\x81nd [CLS]!";

static void check_vocab(const char *path) {
    gl_vocab *v = load_vocab(path);
    if (!v) return;
    int32_t *want, *ids;
    size_t n_want, n;
    CHECK(gl_tokenize(v, TEXT, sizeof TEXT - 1, 1, 1, &want, &n_want) == GLIMPSE_OK);
    long k = 0;
    for (;; k++) {
        gl_alloc_fail_after(k);
        glimpse_status st = gl_tokenize(v, TEXT, sizeof TEXT - 1, 1, 1, &ids, &n);
        gl_alloc_fail_after(-1);
        CHECK_MSG(st == GLIMPSE_OK || st == GLIMPSE_ERR_NOMEM, "allocation %ld: status %d", k, (int)st);
        if (st == GLIMPSE_OK) {
            CHECK(ids_equal(ids, n, want, n_want));
            gl_free(ids);
            break;
        }
    }
    CHECK_MSG(k > 2, "%s: only %ld allocations to fail", path, k);
    printf("%s: each of %ld allocations failed once, cleanly\n", strrchr(path, '/') + 1, k);
    gl_free(want);
    gl_vocab_free(v);
}

int main(void) {
    check_vocab(GLIMPSE_SOURCE_DIR "/tests/fixtures/wpm/tiny/trained-vocab-wpm-tiny.gguf");
    check_vocab(GLIMPSE_SOURCE_DIR "/tests/fixtures/tokenizer/trained-vocab-qwen2.gguf");
    TEST_DONE();
}
