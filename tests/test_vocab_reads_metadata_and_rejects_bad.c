/* test_vocab_reads_metadata_and_rejects_bad - tokenizer metadata is read as
 * llama.cpp reads it (add_bos_token / add_eos_token, out-of-range special ids
 * fall back, unknown token types are harmless) and malformed or unsupported
 * tokenizers are refused with a message naming the file and the problem.
 * Each case writes a tiny vocab-only GGUF with the library's GGUF writer. */
#include "gguf.h"
#include "mem.h"
#include "test.h"
#include "vocab.h"

#define PATH GLIMPSE_BINARY_DIR "/test_vocab_metadata.gguf"

/* A SentencePiece vocabulary: <unk> <s> </s> ▁ a ▁a b. */
static const char *const SPM_TOKENS[] = {"<unk>", "<s>", "</s>", "\xE2\x96\x81", "a", "\342\226\201a", "b"};
static const float SPM_SCORES[] = {0, 0, 0, -1, -2, -1.5f, -3};
static const int32_t SPM_TYPES[] = {GL_TOKEN_UNKNOWN, GL_TOKEN_CONTROL, GL_TOKEN_CONTROL, 1, 1, 1, 99};

typedef struct {
    const char *model, *pre;
    const char *const *tokens;
    uint64_t n_tokens, n_scores;
    const char *const *merges;
    uint64_t n_merges;
    int add_bos, add_eos; /* -1: key absent */
    int64_t bos;          /* -1: key absent */
} spec;

static glimpse_status load(const spec *s, gl_vocab **v) {
    gl_gguf_writer *w = gl_gguf_writer_new();
    CHECK(w != NULL);
    if (s->model) gl_gguf_add_str(w, "tokenizer.ggml.model", s->model);
    if (s->pre) gl_gguf_add_str(w, "tokenizer.ggml.pre", s->pre);
    if (s->tokens) gl_gguf_add_arr_str(w, "tokenizer.ggml.tokens", s->tokens, s->n_tokens);
    if (s->n_scores) gl_gguf_add_arr(w, "tokenizer.ggml.scores", GLIMPSE_GGUF_F32, SPM_SCORES, s->n_scores);
    if (s->tokens == SPM_TOKENS) gl_gguf_add_arr(w, "tokenizer.ggml.token_type", GLIMPSE_GGUF_I32, SPM_TYPES, 7);
    if (s->merges) gl_gguf_add_arr_str(w, "tokenizer.ggml.merges", s->merges, s->n_merges);
    if (s->add_bos >= 0) gl_gguf_add_bool(w, "tokenizer.ggml.add_bos_token", s->add_bos);
    if (s->add_eos >= 0) gl_gguf_add_bool(w, "tokenizer.ggml.add_eos_token", s->add_eos);
    if (s->bos >= 0) gl_gguf_add_i32(w, "tokenizer.ggml.bos_token_id", (int32_t)s->bos);
    CHECK(gl_gguf_write_file(w, PATH) == GLIMPSE_OK);
    gl_gguf_writer_free(w);
    gl_gguf *g;
    glimpse_status st = gl_gguf_open(PATH, &g);
    CHECK(st == GLIMPSE_OK);
    if (st) return st;
    st = gl_vocab_load(g, v);
    gl_gguf_close(g);
    return st;
}

static void check_ids(const gl_vocab *v, const char *text, int add_special, const int32_t *want, size_t n_want) {
    int32_t *ids;
    size_t n;
    CHECK(gl_tokenize(v, text, strlen(text), add_special, 0, &ids, &n) == GLIMPSE_OK);
    CHECK_MSG(n == n_want && !memcmp(ids, want, n * sizeof *ids), "'%s': %zu ids", text, n);
    gl_free(ids);
}

int main(void) {
    gl_vocab *v;
    spec s = {"llama", NULL, SPM_TOKENS, 7, 7, NULL, 0, 0, 1, 99};

    /* add_bos false, add_eos true; bos id 99 is out of range: default 1 kept. */
    CHECK(load(&s, &v) == GLIMPSE_OK);
    CHECK(gl_vocab_bos(v) == 1 && gl_vocab_eos(v) == 2);
    CHECK(gl_vocab_token_type(v, 6) == GL_TOKEN_UNDEFINED);
    check_ids(v, "a", 1, (const int32_t[]){5, 2}, 2);
    check_ids(v, "a", 0, (const int32_t[]){5}, 1);
    /* "b" is an undefined-type token: still a piece. "c" has no piece and no
     * byte token: <unk>. */
    check_ids(v, "abc", 0, (const int32_t[]){5, 6, 0}, 3);
    gl_vocab_free(v);

    s.add_bos = -1, s.add_eos = -1, s.bos = -1; /* llama.cpp's SentencePiece defaults */
    CHECK(load(&s, &v) == GLIMPSE_OK);
    check_ids(v, "a", 1, (const int32_t[]){1, 5}, 2);
    gl_vocab_free(v);

    spec bad = s;
    bad.n_scores = 3;
    CHECK_ERROR(load(&bad, &v), GLIMPSE_ERR_FORMAT, "scores has 3 numbers for 7 tokens");
    bad = s;
    bad.model = "t5"; /* Unigram: not supported */
    CHECK_ERROR(load(&bad, &v), GLIMPSE_ERR_UNSUPPORTED, "tokenizer model 't5'");
    bad.model = NULL;
    CHECK_ERROR(load(&bad, &v), GLIMPSE_ERR_FORMAT, "tokenizer.ggml.model is missing");
    bad = s;
    bad.tokens = NULL, bad.n_scores = 0;
    CHECK_ERROR(load(&bad, &v), GLIMPSE_ERR_FORMAT, "tokenizer.ggml.tokens");
    const char *dup[] = {"<unk>", "<s>", "</s>", "x", "y", "x", "z"};
    bad = s;
    bad.tokens = dup;
    CHECK_ERROR(load(&bad, &v), GLIMPSE_ERR_FORMAT, "token 5 repeats the piece of token 3");

    /* Byte-level BPE: every GPT-2 byte character, merges, a pre-tokenizer. */
    const char *bpe[258];
    char chars[256][3];
    for (int b = 0; b < 256; b++) {
        int n = 0;
        unsigned cp = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE) ? (unsigned)b
                      : b <= 0x20 ? 0x100u + (unsigned)b : b == 0xAD ? 0x143u : 0x121u + (unsigned)(b - 0x7F);
        if (cp < 0x80) chars[b][n++] = (char)cp;
        else chars[b][n++] = (char)(0xC0 | (cp >> 6)), chars[b][n++] = (char)(0x80 | (cp & 0x3F));
        chars[b][n] = 0;
        bpe[b] = chars[b];
    }
    bpe[256] = "\304\240h"; /* " h" */
    bpe[257] = "\304\240hi";
    const char *merges[] = {"\xC4\xA0 h", "\xC4\xA0h i", "no such"};
    spec b = {"gpt2", "qwen2", bpe, 258, 0, merges, 3, -1, -1, -1};
    CHECK(load(&b, &v) == GLIMPSE_OK);
    check_ids(v, " hi!", 1, (const int32_t[]){257, '!'}, 2); /* no BOS: qwen2 does not add one */
    gl_vocab_free(v);
    b.pre = "llama-bpe";
    CHECK(load(&b, &v) == GLIMPSE_OK);
    CHECK(gl_vocab_bos(v) == 11); /* llama.cpp's BPE default */
    check_ids(v, " hi", 1, (const int32_t[]){11, 257}, 2);
    gl_vocab_free(v);
    b.pre = "klingon";
    CHECK_ERROR(load(&b, &v), GLIMPSE_ERR_UNSUPPORTED, "pre-tokenizer 'klingon'");
    b.pre = "gpt-2";
    b.merges = NULL;
    CHECK_ERROR(load(&b, &v), GLIMPSE_ERR_FORMAT, "tokenizer.ggml.merges");
    remove(PATH);
    TEST_DONE();
}
