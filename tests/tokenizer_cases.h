/* tokenizer_cases.h - runs llama.cpp-format tokenizer test cases (the .inp /
 * .out pairs of tests/test-tokenizer-0.cpp) against a gl_vocab. Shared by the
 * tokenizer tests. */
#ifndef GLIMPSE_TOKENIZER_CASES_H
#define GLIMPSE_TOKENIZER_CASES_H

#include "detok.h"
#include "gguf.h"
#include "mem.h"
#include "test.h"
#include "vocab.h"

#include <stdint.h>

#define SEP "\n__ggml_vocab_test__\n"


static inline int ids_equal(const int32_t *a, size_t na, const int32_t *b, size_t nb) {
    return na == nb && (na == 0 || !memcmp(a, b, na * sizeof *a));
}

/* Whether decode(encode(text)) must give text back for this vocabulary. */
static inline void check_round_trip(const gl_vocab *v, const char *vocab_name, const char *text, size_t len,
                             const int32_t *ids, size_t n, int special) {
    char *back;
    size_t back_len;
    if (gl_detokenize(v, ids, n, special, &back, &back_len) != GLIMPSE_OK) {
        CHECK_MSG(0, "%s: decode failed: %s", vocab_name, glimpse_last_error());
        return;
    }
    CHECK_MSG(back_len == len && !memcmp(back, text, len), "%s: '%.*s' decodes to '%s'", vocab_name, (int)len, text,
              back);
    gl_free(back);
}

static inline void print_ids(const char *label, const int32_t *ids, size_t n) {
    fprintf(stderr, "    %s:", label);
    for (size_t i = 0; i < n && i < 40; i++) fprintf(stderr, " %d", ids[i]);
    fprintf(stderr, "%s\n", n > 40 ? " ..." : "");
}

/* Encodes every case of inp (with parse_special as given, never BOS) and
 * compares with the lines of out (NUL-terminated, modified); each result must
 * also decode back to its case. Prints and returns nothing: failures count. */
static inline void run_cases(const gl_vocab *v, const char *name, const char *inp, size_t inp_len, char *out,
                      int parse_special) {
    int total = 0, passed = 0;
    const char *cursor = inp, *end = inp + inp_len;
    char *line = out;
    while (cursor < end) {
        const char *sep = strstr(cursor, SEP);
        size_t len = sep ? (size_t)(sep - cursor) : (size_t)(end - cursor);
        char *eol = line ? strchr(line, '\n') : NULL;
        if (!eol) {
            CHECK_MSG(0, "%s: more cases in .inp than lines in .out", name);
            return;
        }
        *eol = 0;
        int32_t want[4096];
        size_t n_want = 0;
        for (char *p = line, *q; n_want < 4096; p = q) {
            long id = strtol(p, &q, 10);
            if (q == p) break;
            want[n_want++] = (int32_t)id;
        }
        line = eol + 1;

        int32_t *ids;
        size_t n;
        total++;
        if (gl_tokenize(v, cursor, len, 0, parse_special, &ids, &n) != GLIMPSE_OK) {
            CHECK_MSG(0, "%s: tokenize failed: %s", name, glimpse_last_error());
        } else {
            if (ids_equal(ids, n, want, n_want)) {
                passed++;
            } else {
                fprintf(stderr, "  %s: case %d '%.*s' differs\n", name, total, (int)(len > 60 ? 60 : len), cursor);
                print_ids("want", want, n_want);
                print_ids("got ", ids, n);
            }
            check_round_trip(v, name, cursor, len, ids, n, parse_special);
            gl_free(ids);
        }
        cursor += len + (sep ? strlen(SEP) : 0);
    }
    CHECK_MSG(passed == total, "%s: %d of %d cases differ", name, total - passed, total);
    CHECK_MSG(total > 0, "%s: no cases", name);
    printf("%-34s %d/%d cases match%s\n", name, passed, total, parse_special ? " (special tokens parsed)" : "");
}

/* Opens a GGUF and loads its tokenizer; NULL (and a failed check) on error. */
static inline gl_vocab *load_vocab(const char *path) {
    gl_gguf *g;
    gl_vocab *v = NULL;
    if (gl_gguf_open(path, &g) != GLIMPSE_OK) {
        CHECK_MSG(0, "%s", glimpse_last_error());
        return NULL;
    }
    if (gl_vocab_load(g, &v) != GLIMPSE_OK) CHECK_MSG(0, "%s", glimpse_last_error());
    gl_gguf_close(g);
    return v;
}

/* run_cases on the files inp_path and out_path. */
static inline void run_case_files(const gl_vocab *v, const char *name, const char *inp_path, const char *out_path,
                           int parse_special) {
    size_t inp_len, out_len;
    unsigned char *inp = test_read_file(inp_path, &inp_len), *out = test_read_file(out_path, &out_len);
    char *o = out ? malloc(out_len + 1) : NULL;
    if (!inp || !o) {
        CHECK_MSG(0, "cannot read %s or %s", inp_path, out_path);
    } else {
        memcpy(o, out, out_len);
        o[out_len] = 0;
        run_cases(v, name, (const char *)inp, inp_len, o, parse_special);
    }
    free(o);
    free(inp);
    free(out);
}

#endif
