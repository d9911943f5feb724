/* test_tokenizer_matches_shared_vocab - every ggml-vocab-*.gguf in
 * ../shared/vocab with .inp/.out files (llama.cpp's tokenizer test data,
 * expected ids from Hugging Face tokenizers) encodes each case to exactly the
 * expected ids, and decodes back to the input. Vocabularies without test files
 * must load and round-trip a few texts.
 *
 * File format (llama.cpp tests/test-tokenizer-0.cpp): the .inp holds the cases,
 * each followed by "\n__ggml_vocab_test__\n"; line i of the .out holds the ids
 * of case i separated by spaces. Cases are encoded as that test does: no BOS
 * (add_special = false), no special-token parsing. */
#include "detok.h"
#include "gguf.h"
#include "mem.h"
#include "test.h"
#include "vocab.h"

#include <dirent.h>
#include <stdint.h>

#define SEP "\n__ggml_vocab_test__\n"

static const char *const ROUND_TRIP[] = {
    "Hello world",
    "  two spaces, a tab\tand\nnew lines\n\n",
    "\xED\x95\x9C\xEA\xB5\xAD\xEC\x96\xB4 \xED\x85\x8D\xEC\x8A\xA4\xED\x8A\xB8",  /* Korean */
    "emoji \xF0\x9F\xA6\x99\xF0\x9F\x98\x81 and \xE2\x9C\x85" "!",
    "int main(void) { return 0x1F; } // 3.14159",
    "\xE6\x88\x91\xE6\x83\xB3\xE5\x9C\xA8" "apple\xE5\xB7\xA5\xE4\xBD\x9C 1314151",
};

static int ids_equal(const int32_t *a, size_t na, const int32_t *b, size_t nb) {
    return na == nb && (na == 0 || !memcmp(a, b, na * sizeof *a));
}

/* Whether decode(encode(text)) must give text back for this vocabulary. */
static void check_round_trip(const gl_vocab *v, const char *vocab_name, const char *text, size_t len,
                             const int32_t *ids, size_t n) {
    char *back;
    size_t back_len;
    if (gl_detokenize(v, ids, n, 0, &back, &back_len) != GLIMPSE_OK) {
        CHECK_MSG(0, "%s: decode failed: %s", vocab_name, glimpse_last_error());
        return;
    }
    CHECK_MSG(back_len == len && !memcmp(back, text, len), "%s: '%.*s' decodes to '%s'", vocab_name, (int)len, text,
              back);
    gl_free(back);
}

static void print_ids(const char *label, const int32_t *ids, size_t n) {
    fprintf(stderr, "    %s:", label);
    for (size_t i = 0; i < n && i < 40; i++) fprintf(stderr, " %d", ids[i]);
    fprintf(stderr, "%s\n", n > 40 ? " ..." : "");
}

static void run_cases(const gl_vocab *v, const char *name, char *inp, size_t inp_len, char *out) {
    int total = 0, passed = 0;
    char *cursor = inp, *end = inp + inp_len, *line = out;
    while (cursor < end) {
        char *sep = strstr(cursor, SEP);
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
        if (gl_tokenize(v, cursor, len, 0, 0, &ids, &n) != GLIMPSE_OK) {
            CHECK_MSG(0, "%s: tokenize failed: %s", name, glimpse_last_error());
        } else {
            if (ids_equal(ids, n, want, n_want)) {
                passed++;
            } else {
                fprintf(stderr, "  %s: case %d '%.*s' differs\n", name, total, (int)(len > 60 ? 60 : len), cursor);
                print_ids("want", want, n_want);
                print_ids("got ", ids, n);
            }
            check_round_trip(v, name, cursor, len, ids, n);
            gl_free(ids);
        }
        cursor += len + (sep ? strlen(SEP) : 0);
    }
    CHECK_MSG(passed == total, "%s: %d of %d cases differ", name, total - passed, total);
    CHECK_MSG(total > 0, "%s: no cases", name);
    printf("%-34s %d/%d cases match\n", name, passed, total);
}

static void run_vocab(const char *dir, const char *name) {
    char path[1024], inp_path[1040], out_path[1040];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    snprintf(inp_path, sizeof inp_path, "%s.inp", path);
    snprintf(out_path, sizeof out_path, "%s.out", path);
    gl_gguf *g;
    gl_vocab *v;
    if (gl_gguf_open(path, &g) != GLIMPSE_OK) {
        CHECK_MSG(0, "%s", glimpse_last_error());
        return;
    }
    glimpse_status st = gl_vocab_load(g, &v);
    gl_gguf_close(g);
    size_t inp_len, out_len;
    unsigned char *inp = test_read_file(inp_path, &inp_len), *out = test_read_file(out_path, &out_len);
    if (st == GLIMPSE_ERR_UNSUPPORTED && strstr(glimpse_last_error(), "tokenizer model")) {
        /* WordPiece (BERT) is not a tokenizer of any model glimpse runs. */
        printf("%-34s not a BPE or SentencePiece tokenizer: %s\n", name, glimpse_last_error());
    } else if (st != GLIMPSE_OK) {
        CHECK_MSG(0, "%s: %s", name, glimpse_last_error());
    } else if (inp && out) {
        char *o = malloc(out_len + 1);
        memcpy(o, out, out_len);
        o[out_len] = 0;
        run_cases(v, name, (char *)inp, inp_len, o);
        free(o);
    } else {
        for (size_t i = 0; i < sizeof ROUND_TRIP / sizeof ROUND_TRIP[0]; i++) {
            int32_t *ids;
            size_t n;
            CHECK(gl_tokenize(v, ROUND_TRIP[i], strlen(ROUND_TRIP[i]), 0, 0, &ids, &n) == GLIMPSE_OK);
            CHECK(n > 0);
            check_round_trip(v, name, ROUND_TRIP[i], strlen(ROUND_TRIP[i]), ids, n);
            gl_free(ids);
        }
        printf("%-34s loads, %zu texts round-trip (no test files)\n", name, sizeof ROUND_TRIP / sizeof ROUND_TRIP[0]);
    }
    free(inp);
    free(out);
    if (st == GLIMPSE_OK) gl_vocab_free(v);
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(void) {
    const char *dir = GLIMPSE_SHARED_DIR "/vocab";
    DIR *d = opendir(dir);
    if (!d) TEST_SKIP("%s is absent: the shared vocab test files are needed", dir);
    char *names[256];
    size_t n = 0;
    for (struct dirent *e; (e = readdir(d)) && n < 256;) {
        size_t len = strlen(e->d_name);
        if (!strncmp(e->d_name, "ggml-vocab-", 11) && len > 5 && !strcmp(e->d_name + len - 5, ".gguf"))
            names[n++] = strdup(e->d_name);
    }
    closedir(d);
    if (n == 0) TEST_SKIP("%s holds no ggml-vocab-*.gguf", dir);
    qsort(names, n, sizeof names[0], by_name);
    for (size_t i = 0; i < n; i++) {
        run_vocab(dir, names[i]);
        free(names[i]);
    }
    TEST_DONE();
}
