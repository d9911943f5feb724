/* test_decoder_embedding_input_matches_tokens.c - positions given as
 * embedding vectors (how image embeddings enter) are treated exactly like
 * token ids: feeding the token_embd rows of a prompt as embeddings gives the
 * logits of the ids, whether every position is an embedding (tokens = NULL)
 * or only some are (tokens[i] = -1 takes the next embedding row in order).
 *
 * Tolerance: 0 (bitwise); both paths put the same floats in the residual
 * stream. Models: tests/fixtures/text qwen2-f32 and llama-q8_0 (a Q8_0
 * token_embd, so the rows are dequantised as the decoder would). */
#include "decoder.h"
#include "gguf.h"
#include "quant.h"
#include "test.h"

#define FIXTURES GLIMPSE_SOURCE_DIR "/tests/fixtures/text/"
#define N 12

static void check_model(const char *file) {
    char path[512];
    snprintf(path, sizeof path, FIXTURES "%s", file);
    gl_gguf *g;
    gl_decoder *d;
    gl_kv_cache *kv;
    if (gl_gguf_open(path, &g) != GLIMPSE_OK || gl_decoder_load(g, &d) != GLIMPSE_OK) {
        CHECK_MSG(0, "%s", glimpse_last_error());
        return;
    }
    const gl_decoder_hparams *hp = gl_decoder_hparams_of(d);
    size_t V = (size_t)hp->n_vocab, E = (size_t)hp->n_embd;
    int32_t tokens[N];
    for (int i = 0; i < N; i++) tokens[i] = (int32_t)((i * 37 + 5) % (int)V);

    /* the token_embd rows of those ids, dequantised */
    const gl_tensor *te = gl_gguf_tensor(g, "token_embd.weight");
    float *rows = malloc(N * E * sizeof(float));
    for (int i = 0; i < N; i++) gl_type_get(te->type)->to_float(gl_tensor_row(te, tokens[i]), rows + i * E, (int64_t)E);

    float *want = malloc(N * V * sizeof(float)), *got = malloc(N * V * sizeof(float));
    CHECK(gl_kv_cache_new(d, N, 0, &kv) == GLIMPSE_OK);
    CHECK(gl_decoder_forward(d, kv, tokens, NULL, N, want, 1, NULL) == GLIMPSE_OK);

    /* every position an embedding */
    gl_kv_cache_truncate(kv, 0);
    CHECK(gl_decoder_forward(d, kv, NULL, rows, N, got, 1, NULL) == GLIMPSE_OK);
    CHECK_MSG(memcmp(want, got, N * V * sizeof(float)) == 0, "%s: embedding input differs from ids", file);

    /* positions 3..7 as embeddings (an "image"), the rest as ids */
    int32_t mixed[N];
    memcpy(mixed, tokens, sizeof mixed);
    for (int i = 3; i < 8; i++) mixed[i] = -1;
    gl_kv_cache_truncate(kv, 0);
    CHECK(gl_decoder_forward(d, kv, mixed, rows + 3 * E, N, got, 1, NULL) == GLIMPSE_OK);
    CHECK_MSG(memcmp(want, got, N * V * sizeof(float)) == 0, "%s: mixed input differs from ids", file);

    /* an embedding position without embeddings is the caller's error */
    gl_kv_cache_truncate(kv, 0);
    CHECK_ERROR(gl_decoder_forward(d, kv, mixed, NULL, N, got, 1, NULL), GLIMPSE_ERR_INVALID_ARG, "embedding");
    CHECK(gl_kv_cache_n_past(kv) == 0);

    free(got);
    free(want);
    free(rows);
    gl_kv_cache_free(kv);
    gl_decoder_free(d);
    gl_gguf_close(g);
}

int main(void) {
    check_model("qwen2-f32.gguf");
    check_model("llama-q8_0.gguf");
    TEST_DONE();
}
