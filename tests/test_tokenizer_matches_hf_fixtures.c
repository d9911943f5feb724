/* test_tokenizer_matches_hf_fixtures - the pre-tokenizers the shared vocab
 * files lack (llama-bpe = Llama 3, qwen2, smollm) give exactly the ids of
 * Hugging Face tokenizers, on small tokenizers trained by
 * tests/fixtures/make_tokenizers.py: once with special tokens read as plain
 * text (.out) and once parsed (.special), and every result decodes back. */
#include "tokenizer_cases.h"

static const char *const PRES[] = {"llama-bpe", "qwen2", "smollm"};

int main(void) {
    for (size_t i = 0; i < sizeof PRES / sizeof PRES[0]; i++) {
        char path[512], inp[600], out[600], special[600], name[80];
        snprintf(path, sizeof path, "%s/tests/fixtures/tokenizer/ggml-vocab-%s.gguf", GLIMPSE_SOURCE_DIR, PRES[i]);
        snprintf(inp, sizeof inp, "%s.inp", path);
        snprintf(out, sizeof out, "%s.out", path);
        snprintf(special, sizeof special, "%s.special", path);
        snprintf(name, sizeof name, "ggml-vocab-%s.gguf", PRES[i]);
        gl_vocab *v = load_vocab(path);
        if (!v) continue;
        run_case_files(v, name, inp, out, 0);
        run_case_files(v, name, inp, special, 1);
        gl_vocab_free(v);
    }
    TEST_DONE();
}
