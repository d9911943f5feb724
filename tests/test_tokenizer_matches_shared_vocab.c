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
#include "tokenizer_cases.h"

#include <dirent.h>
#include <stdint.h>

static const char *const ROUND_TRIP[] = {
    "Hello world",
    "  two spaces, a tab\tand\nnew lines\n\n",
    "\xED\x95\x9C\xEA\xB5\xAD\xEC\x96\xB4 \xED\x85\x8D\xEC\x8A\xA4\xED\x8A\xB8",  /* Korean */
    "emoji \xF0\x9F\xA6\x99\xF0\x9F\x98\x81 and \xE2\x9C\x85" "!",
    "int main(void) { return 0x1F; } // 3.14159",
    "\xE6\x88\x91\xE6\x83\xB3\xE5\x9C\xA8" "apple\xE5\xB7\xA5\xE4\xBD\x9C 1314151",
};

static int exists(const char *path) {
    FILE *f = fopen(path, "rb");
    if (f) fclose(f);
    return f != NULL;
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
    if (st == GLIMPSE_ERR_UNSUPPORTED && strstr(glimpse_last_error(), "tokenizer model")) {
        /* WordPiece (BERT) is not the tokenizer of any model glimpse runs. */
        printf("%-34s skipped, not BPE or SentencePiece: %s\n", name, glimpse_last_error());
        return;
    }
    if (st != GLIMPSE_OK) {
        CHECK_MSG(0, "%s: %s", name, glimpse_last_error());
        return;
    }
    if (exists(inp_path) && exists(out_path)) {
        run_case_files(v, name, inp_path, out_path, 0);
    } else {
        for (size_t i = 0; i < sizeof ROUND_TRIP / sizeof ROUND_TRIP[0]; i++) {
            int32_t *ids;
            size_t n;
            CHECK(gl_tokenize(v, ROUND_TRIP[i], strlen(ROUND_TRIP[i]), 0, 0, &ids, &n) == GLIMPSE_OK);
            CHECK(n > 0);
            check_round_trip(v, name, ROUND_TRIP[i], strlen(ROUND_TRIP[i]), ids, n, 0);
            gl_free(ids);
        }
        printf("%-34s loads, %zu texts round-trip (no test files)\n", name, sizeof ROUND_TRIP / sizeof ROUND_TRIP[0]);
    }
    gl_vocab_free(v);
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
