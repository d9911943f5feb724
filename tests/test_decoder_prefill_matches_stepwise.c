/* test_decoder_prefill_matches_stepwise.c - the KV cache makes every way of
 * feeding a sequence give the same logits: one call over 100 positions (two
 * internal batches), one position per call, uneven chunks, a truncated cache
 * recomputing its tail, a pool of two threads, and two caches running on
 * two threads at once over one shared decoder. Also: logits of the last
 * position only equal the last row of all positions.
 *
 * Tolerance 1e-5 max-abs on logits with a standard deviation of about 5: the
 * ways differ only in how rows are grouped, which a kernel may sum in a
 * different order. Models: tests/fixtures/text llama-f32 (GQA, NORM RoPE) and
 * qwen2-q8_0 (biases, NEOX RoPE, tied Q8_0 output). */
#include "decoder.h"
#include "gguf.h"
#include "test.h"

#include <math.h>
#include <pthread.h>

#define FIXTURES GLIMPSE_SOURCE_DIR "/tests/fixtures/text/"
#define N 100
#define TOL 1e-5f

typedef struct {
    const gl_decoder *d;
    const int32_t *tokens;
    float *logits; /* (N, n_vocab) */
    glimpse_status status;
} run_job;

/* All logits of the N tokens in one call, in a fresh cache. */
static glimpse_status run_batched(const gl_decoder *d, const int32_t *tokens, float *logits, gl_pool *pool) {
    gl_kv_cache *kv;
    glimpse_status st = gl_kv_cache_new(d, N, 0, &kv);
    if (st) return st;
    st = gl_decoder_forward(d, kv, tokens, NULL, N, logits, 1, pool);
    gl_kv_cache_free(kv);
    return st;
}

static void *run_thread(void *p) {
    run_job *job = p;
    job->status = run_batched(job->d, job->tokens, job->logits, NULL);
    return NULL;
}

static float max_abs_diff(const float *a, const float *b, size_t n) {
    float m = 0;
    for (size_t i = 0; i < n; i++) m = fmaxf(m, fabsf(a[i] - b[i]));
    return m;
}

static void check_model(const char *file) {
    char path[512];
    snprintf(path, sizeof path, FIXTURES "%s", file);
    gl_gguf *g;
    gl_decoder *d;
    if (gl_gguf_open(path, &g) != GLIMPSE_OK || gl_decoder_load(g, &d) != GLIMPSE_OK) {
        CHECK_MSG(0, "%s", glimpse_last_error());
        return;
    }
    size_t V = (size_t)gl_decoder_hparams_of(d)->n_vocab;
    int32_t tokens[N];
    uint32_t s = 12345;
    for (int i = 0; i < N; i++) {
        s = s * 1103515245u + 12345u;
        tokens[i] = (int32_t)((s >> 8) % V);
    }
    float *all = malloc(N * V * sizeof(float)), *other = malloc(N * V * sizeof(float));
    CHECK(run_batched(d, tokens, all, NULL) == GLIMPSE_OK);

    /* one position per call */
    gl_kv_cache *kv;
    CHECK(gl_kv_cache_new(d, N, 0, &kv) == GLIMPSE_OK);
    for (int i = 0; i < N; i++) CHECK(gl_decoder_forward(d, kv, &tokens[i], NULL, 1, other + i * V, 0, NULL) == 0);
    float diff = max_abs_diff(all, other, N * V);
    printf("%s: batched vs stepwise %.2e\n", file, diff);
    CHECK_MSG(diff <= TOL, "%s: stepwise logits differ by %g", file, diff);

    /* truncate to 40 and recompute the tail */
    gl_kv_cache_truncate(kv, 40);
    CHECK(gl_kv_cache_n_past(kv) == 40);
    CHECK(gl_decoder_forward(d, kv, tokens + 40, NULL, N - 40, other + 40 * V, 1, NULL) == GLIMPSE_OK);
    diff = max_abs_diff(all, other, N * V);
    CHECK_MSG(diff <= TOL, "%s: logits after truncation differ by %g", file, diff);

    /* uneven chunks 7 + 50 + 43, and the last position alone */
    gl_kv_cache_truncate(kv, 0);
    CHECK(gl_decoder_forward(d, kv, tokens, NULL, 7, other, 1, NULL) == GLIMPSE_OK);
    CHECK(gl_decoder_forward(d, kv, tokens + 7, NULL, 50, other + 7 * V, 1, NULL) == GLIMPSE_OK);
    CHECK(gl_decoder_forward(d, kv, tokens + 57, NULL, 43, other + 57 * V, 1, NULL) == GLIMPSE_OK);
    diff = max_abs_diff(all, other, N * V);
    CHECK_MSG(diff <= TOL, "%s: chunked logits differ by %g", file, diff);
    gl_kv_cache_truncate(kv, 0);
    CHECK(gl_decoder_forward(d, kv, tokens, NULL, N, other, 0, NULL) == GLIMPSE_OK);
    diff = max_abs_diff(all + (N - 1) * V, other, V);
    CHECK_MSG(diff <= TOL, "%s: last-position logits differ by %g", file, diff);
    gl_kv_cache_free(kv);

    /* a pool of two threads */
    gl_pool *pool = gl_pool_create(2);
    CHECK(pool && run_batched(d, tokens, other, pool) == GLIMPSE_OK);
    diff = max_abs_diff(all, other, N * V);
    CHECK_MSG(diff <= TOL, "%s: logits with two threads differ by %g", file, diff);
    gl_pool_free(pool);

    /* two caches on two threads sharing the decoder */
    float *second = malloc(N * V * sizeof(float));
    run_job jobs[2] = {{d, tokens, other, GLIMPSE_ERR_INVALID_ARG}, {d, tokens, second, GLIMPSE_ERR_INVALID_ARG}};
    pthread_t th[2];
    for (int t = 0; t < 2; t++) CHECK(pthread_create(&th[t], NULL, run_thread, &jobs[t]) == 0);
    for (int t = 0; t < 2; t++) pthread_join(th[t], NULL);
    CHECK(jobs[0].status == GLIMPSE_OK && jobs[1].status == GLIMPSE_OK);
    CHECK_MSG(max_abs_diff(all, other, N * V) <= TOL && max_abs_diff(all, second, N * V) <= TOL,
              "%s: concurrent caches disagree", file);

    free(second);
    free(other);
    free(all);
    gl_decoder_free(d);
    gl_gguf_close(g);
}

int main(void) {
    check_model("llama-f32.gguf");
    check_model("qwen2-q8_0.gguf");
    TEST_DONE();
}
