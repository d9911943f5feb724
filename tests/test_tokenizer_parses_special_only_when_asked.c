/* test_tokenizer_parses_special_only_when_asked - control tokens written in
 * text ("<|im_start|>", "<image>", "<s>") become their ids only with
 * parse_special; user text with the same characters is tokenized as text and
 * decodes back unchanged. Added (user-defined) tokens are always split out.
 * Also: BOS follows the model's add_bos_token, lookups by exact piece, and
 * end-of-generation tokens. Uses the fixture tokenizers of
 * tests/fixtures/make_tokenizers.py and, when present, ../shared/vocab. */
#include "tokenizer_cases.h"

static int contains(const int32_t *ids, size_t n, int32_t id) {
    for (size_t i = 0; i < n; i++)
        if (ids[i] == id) return 1;
    return 0;
}

static int32_t find(const gl_vocab *v, const char *piece) { return gl_vocab_find(v, piece, strlen(piece)); }

static void check_chat_markers(const gl_vocab *v) {
    const char *text = "<|im_start|>user\nWhat is <image>? call <tool_call><|im_end|>";
    int32_t start = find(v, "<|im_start|>"), end = find(v, "<|im_end|>"), image = find(v, "<image>"),
            tool = find(v, "<tool_call>");
    CHECK(start >= 0 && end >= 0 && image >= 0 && tool >= 0);
    CHECK(find(v, "<row_1_col_1>") >= 0);
    CHECK(find(v, "<row_9_col_9>") == -1);
    CHECK(gl_vocab_token_type(v, start) == GL_TOKEN_CONTROL);

    int32_t *ids;
    size_t n;
    CHECK(gl_tokenize(v, text, strlen(text), 0, 1, &ids, &n) == GLIMPSE_OK);
    CHECK(n > 4 && ids[0] == start && ids[n - 1] == end);
    CHECK(contains(ids, n, image) && contains(ids, n, tool));
    gl_free(ids);

    CHECK(gl_tokenize(v, text, strlen(text), 0, 0, &ids, &n) == GLIMPSE_OK);
    CHECK(!contains(ids, n, start) && !contains(ids, n, end) && !contains(ids, n, image));
    CHECK_MSG(contains(ids, n, tool), "user-defined tokens are split out even from user text");
    char *back;
    size_t len;
    CHECK(gl_detokenize(v, ids, n, 0, &back, &len) == GLIMPSE_OK);
    CHECK(len == strlen(text) && !memcmp(back, text, len));
    gl_free(back);
    gl_free(ids);

    CHECK(gl_vocab_is_eog(v, end));
    CHECK(gl_vocab_eos(v) == end && gl_vocab_eot(v) == end);
    size_t plen;
    const char *piece = gl_vocab_piece(v, start, &plen);
    CHECK(piece && plen == 12 && !memcmp(piece, "<|im_start|>", 12));
    CHECK(gl_vocab_piece(v, -1, &plen) == NULL);
    CHECK(!gl_vocab_is_eog(v, image));
    CHECK(!gl_vocab_is_eog(v, -1) && !gl_vocab_is_eog(v, gl_vocab_n_tokens(v)));
}

static void check_bos(const char *path, int model_adds_bos) {
    gl_vocab *v = load_vocab(path);
    if (!v) return;
    int32_t *ids;
    size_t n;
    CHECK(gl_tokenize(v, "Hi", 2, 1, 0, &ids, &n) == GLIMPSE_OK);
    CHECK_MSG((n > 0 && ids[0] == gl_vocab_bos(v)) == model_adds_bos, "%s: BOS %s expected", path,
              model_adds_bos ? "" : "not");
    gl_free(ids);
    CHECK(gl_tokenize(v, "Hi", 2, 0, 0, &ids, &n) == GLIMPSE_OK);
    CHECK(n > 0 && ids[0] != gl_vocab_bos(v));
    gl_free(ids);
    CHECK(gl_tokenize(v, "", 0, 1, 0, &ids, &n) == GLIMPSE_OK);
    CHECK(n == (model_adds_bos ? 1u : 0u));
    gl_free(ids);
    gl_vocab_free(v);
}

/* SentencePiece: "<s>" typed by a user is text; a template's "<s>" is BOS. */
static void check_spm(void) {
    gl_vocab *v;
    gl_gguf *g;
    if (gl_gguf_open(GLIMPSE_SHARED_DIR "/vocab/ggml-vocab-llama-spm.gguf", &g) != GLIMPSE_OK) {
        printf("llama-spm part skipped: %s\n", glimpse_last_error());
        return;
    }
    CHECK(gl_vocab_load(g, &v) == GLIMPSE_OK);
    gl_gguf_close(g);
    const char *text = "<s>[INST] hi [/INST]";
    int32_t *ids;
    size_t n;
    CHECK(gl_tokenize(v, text, strlen(text), 1, 1, &ids, &n) == GLIMPSE_OK);
    CHECK(n > 2 && ids[0] == 1 && ids[1] == 1); /* model BOS, then the parsed one */
    gl_free(ids);
    CHECK(gl_tokenize(v, text, strlen(text), 1, 0, &ids, &n) == GLIMPSE_OK);
    CHECK(n > 2 && ids[0] == 1 && !contains(ids + 1, n - 1, 1));
    gl_free(ids);
    CHECK(gl_vocab_is_eog(v, 2) && gl_vocab_eos(v) == 2);
    gl_vocab_free(v);
}

static void check_public_api(const char *path) {
    glimpse_vocab *v;
    CHECK(glimpse_vocab_load(path, &v) == GLIMPSE_OK);
    const char *text = "<|im_start|>hi";
    int32_t *ids;
    size_t n;
    CHECK(glimpse_tokenize(v, text, strlen(text), GLIMPSE_TOKENIZE_PARSE_SPECIAL, &ids, &n) == GLIMPSE_OK);
    char piece[32];
    CHECK(n >= 2 && glimpse_token_piece(v, ids[0], piece, sizeof piece) == 12 && !strcmp(piece, "<|im_start|>"));
    glimpse_free(ids);
    CHECK(glimpse_tokenize(v, text, strlen(text), 0, &ids, &n) == GLIMPSE_OK);
    char *back;
    size_t len;
    CHECK(glimpse_detokenize(v, ids, n, &back, &len) == GLIMPSE_OK && !strcmp(back, text));
    glimpse_free(back);
    glimpse_free(ids);
    CHECK_ERROR(glimpse_tokenize(v, NULL, 3, 0, &ids, &n), GLIMPSE_ERR_INVALID_ARG, "no text");
    glimpse_vocab_free(v);
    CHECK_ERROR(glimpse_vocab_load(GLIMPSE_SOURCE_DIR "/tests/fixtures/make_tokenizers.py", &v), GLIMPSE_ERR_FORMAT,
                "make_tokenizers.py");
}

int main(void) {
    const char *dir = GLIMPSE_SOURCE_DIR "/tests/fixtures/tokenizer";
    char path[512];
    snprintf(path, sizeof path, "%s/ggml-vocab-qwen2.gguf", dir);
    gl_vocab *v = load_vocab(path);
    if (v) {
        check_chat_markers(v);
        gl_vocab_free(v);
    }
    check_bos(path, 0);
    check_public_api(path);
    snprintf(path, sizeof path, "%s/ggml-vocab-llama-bpe.gguf", dir);
    check_bos(path, 1);
    check_spm();
    TEST_DONE();
}
