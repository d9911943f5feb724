/* test_bpe_qwen2_normalizes_nfc - the qwen2 pre-tokenizer applies Qwen2's NFC
 * normalizer as Hugging Face does: 52 texts that NFC changes (decomposed
 * accents and Hangul, marks out of canonical order, singletons such as U+212B,
 * composition exclusions, special tokens between marks) get exactly the ids of
 * the tiny Hugging Face qwen2 tokenizer (tests/fixtures/make_unicode_fixtures.py).
 * Decoding gives the NFC text, not the input, so only ids are compared. */
#include "tokenizer_cases.h"

#define FIXTURES GLIMPSE_SOURCE_DIR "/tests/fixtures/tokenizer/"

int main(void) {
    gl_vocab *v = load_vocab(FIXTURES "trained-vocab-qwen2.gguf");
    if (!v) TEST_DONE();
    run_case_files(v, "qwen2-nfc", FIXTURES "qwen2-nfc.inp", FIXTURES "qwen2-nfc.out", 0, 0);
    gl_vocab_free(v);
    TEST_DONE();
}
