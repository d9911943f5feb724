/* test_wpm_matches_hf_random - WordPiece on the shared bert-bge vocabulary
 * gives exactly Hugging Face's ids for 300 random texts (accents precomposed
 * and decomposed, many scripts, controls, every kind of space, words over 100
 * characters; tests/fixtures/make_wpm_fixtures.py), and decoding those ids
 * gives what Hugging Face's WordPiece decoder gives without clean-up:
 * continuation pieces glued to the piece before, other pieces after a space,
 * control tokens ([UNK]) left out. */
#include "tokenizer_cases.h"

#define FIXTURE GLIMPSE_SOURCE_DIR "/tests/fixtures/wpm/bert-bge-random"

/* Every case of inp, encoded and decoded, against the lines of dec. */
static void check_decoding(const gl_vocab *v, const char *inp, size_t inp_len, char *dec) {
    int total = 0, same = 0;
    const char *cursor = inp, *end = inp + inp_len;
    char *line = dec;
    while (cursor < end) {
        const char *sep = strstr(cursor, SEP);
        size_t len = sep ? (size_t)(sep - cursor) : (size_t)(end - cursor);
        char *eol = line ? strchr(line, '\n') : NULL;
        if (!eol) {
            CHECK_MSG(0, "more cases than lines in %s.dec", FIXTURE);
            return;
        }
        *eol = 0;
        int32_t *ids;
        size_t n;
        char *text;
        size_t text_len;
        total++;
        if (gl_tokenize(v, cursor, len, 0, 0, &ids, &n) != GLIMPSE_OK) {
            CHECK_MSG(0, "tokenize failed: %s", glimpse_last_error());
        } else {
            if (gl_detokenize(v, ids, n, 0, &text, &text_len) != GLIMPSE_OK) {
                CHECK_MSG(0, "detokenize failed: %s", glimpse_last_error());
            } else {
                if (text_len == strlen(line) && !memcmp(text, line, text_len)) same++;
                else fprintf(stderr, "  case %d decodes to '%s', Hugging Face: '%s'\n", total, text, line);
                gl_free(text);
            }
            gl_free(ids);
        }
        line = eol + 1;
        cursor += len + (sep ? strlen(SEP) : 0);
    }
    CHECK_MSG(same == total, "%d of %d decodings differ", total - same, total);
    printf("bert-bge-random                    %d/%d decodings match\n", same, total);
}

int main(void) {
    const char *path = GLIMPSE_SHARED_DIR "/vocab/ggml-vocab-bert-bge.gguf";
    FILE *f = fopen(path, "rb");
    if (!f) TEST_SKIP("%s is absent", path);
    fclose(f);
    gl_vocab *v = load_vocab(path);
    if (!v) TEST_DONE();
    CHECK(v->kind == GL_VOCAB_WPM);
    /* Decoding is compared with the .dec file below, not with the input. */
    run_case_files(v, "bert-bge-random", FIXTURE ".inp", FIXTURE ".out", 0, 0);

    size_t inp_len, dec_len;
    unsigned char *inp = test_read_file(FIXTURE ".inp", &inp_len), *dec = test_read_file(FIXTURE ".dec", &dec_len);
    char *d = dec ? malloc(dec_len + 1) : NULL;
    if (!inp || !d) {
        CHECK_MSG(0, "cannot read %s.inp or .dec", FIXTURE);
    } else {
        memcpy(d, dec, dec_len);
        d[dec_len] = 0;
        check_decoding(v, (const char *)inp, inp_len, d);
    }
    free(d);
    free(inp);
    free(dec);
    gl_vocab_free(v);
    TEST_DONE();
}
