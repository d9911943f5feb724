/* test_wpm_matches_hf_tiny - WordPiece on a tiny BERT vocabulary in llama.cpp's
 * layout (tests/fixtures/make_wpm_fixtures.py) gives exactly Hugging Face's
 * ids for 61 texts: with [CLS] / [SEP] written in the text read as plain text
 * (.out), parsed as the control tokens they are (.special), and with
 * add_special putting [CLS] before and [SEP] after (.cls, Hugging Face's
 * "[CLS] $A [SEP]"). Also: NUL and bytes that are not UTF-8 are dropped, as
 * BertNormalizer drops NUL and U+FFFD (llama.cpp reads bad UTF-8 as U+FFFD). */
#include "tokenizer_cases.h"

#define TINY GLIMPSE_SOURCE_DIR "/tests/fixtures/wpm/tiny/trained-vocab-wpm-tiny.gguf"

/* Every case of TINY.inp with add_special and parse_special against TINY.cls. */
static void check_cls(const gl_vocab *v) {
    size_t inp_len, cls_len;
    char *inp = (char *)test_read_file(TINY ".inp", &inp_len), *cls = (char *)test_read_file(TINY ".cls", &cls_len);
    char *line = cls ? realloc(cls, cls_len + 1) : NULL;
    if (!inp || !line) {
        CHECK_MSG(0, "cannot read %s.inp or .cls", TINY);
        free(inp);
        free(line ? line : cls);
        return;
    }
    line[cls_len] = 0;
    char *lines = line;
    int total = 0, same = 0;
    for (const char *cursor = inp, *end = inp + inp_len; cursor < end;) {
        const char *sep = strstr(cursor, SEP);
        size_t len = sep ? (size_t)(sep - cursor) : (size_t)(end - cursor);
        char *eol = strchr(line, '\n');
        if (!eol) break;
        *eol = 0;
        int32_t want[512], *ids;
        size_t n_want = 0, n;
        for (char *p = line, *q; n_want < 512; p = q) {
            long id = strtol(p, &q, 10);
            if (q == p) break;
            want[n_want++] = (int32_t)id;
        }
        total++;
        if (gl_tokenize(v, cursor, len, 1, 1, &ids, &n) == GLIMPSE_OK) {
            if (ids_equal(ids, n, want, n_want)) same++;
            else fprintf(stderr, "  case %d with [CLS] [SEP] differs\n", total);
            gl_free(ids);
        }
        line = eol + 1;
        cursor += len + (sep ? strlen(SEP) : 0);
    }
    CHECK_MSG(total == 61 && same == total, "%d of %d cases with [CLS] [SEP] match", same, total);
    printf("trained-vocab-wpm-tiny.gguf           %d/%d cases match (with [CLS] [SEP])\n", same, total);
    free(lines);
    free(inp);
}

static void check_same_ids(const gl_vocab *v, const char *a, size_t na, const char *b) {
    int32_t *x, *y;
    size_t nx, ny;
    CHECK(gl_tokenize(v, a, na, 0, 0, &x, &nx) == GLIMPSE_OK);
    CHECK(gl_tokenize(v, b, strlen(b), 0, 0, &y, &ny) == GLIMPSE_OK);
    CHECK_MSG(ids_equal(x, nx, y, ny) && nx > 0, "'%s' and its cleaned form differ", b);
    gl_free(x);
    gl_free(y);
}

int main(void) {
    gl_vocab *v = load_vocab(TINY);
    if (!v) TEST_DONE();
    CHECK(v->kind == GL_VOCAB_WPM);
    /* Decoding lowercases and strips accents: ids only. */
    run_case_files(v, "trained-vocab-wpm-tiny.gguf", TINY ".inp", TINY ".out", 0, 0);
    run_case_files(v, "trained-vocab-wpm-tiny.gguf", TINY ".inp", TINY ".special", 1, 0);
    check_cls(v);

    static const char nul[] = "hel\0lo wor\0ld", bad[] = "hel\xFFlo w\xC3or\xE2\x96ld\xED\xA0\x80";
    check_same_ids(v, nul, sizeof nul - 1, "hello world");
    check_same_ids(v, bad, sizeof bad - 1, "hello world");
    gl_vocab_free(v);
    TEST_DONE();
}
