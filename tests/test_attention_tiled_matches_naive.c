/* test_attention_tiled_matches_naive.c - gl_attention (tiled, online
 * softmax, key ranges merged for few queries) equals a naive double-precision
 * softmax(q k^T / sqrt(d)) v: without a mask (vision: every query sees every
 * key), causal prefill after a cached prefix, one decoded query over a long
 * cache (split into key ranges), grouped-query heads, a KV row stride wider
 * than the heads, key counts off the 256-key block, on one and two threads.
 *
 * Tolerance: |got - want| <= 1e-5 * max|v| per output element (the output is
 * a convex combination of value rows; float32 scores, a polynomial exp within
 * 2 ulp and blockwise rescaling stay far inside it). */
#include "ops.h"
#include "test.h"
#include "threads.h"

#include <stdint.h>

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static float uniform(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (float)(rng >> 40) / 16777216.0f;
}

typedef struct {
    const char *name;
    int64_t n_q, n_kv, pos0; /* pos0 < 0: no mask */
    int n_head, n_head_kv, head_dim, extra_stride;
} att_case;

static void naive(const att_case *c, const float *q, const float *k, const float *v, int64_t kv_stride, double *out) {
    int group = c->n_head / c->n_head_kv, hd = c->head_dim;
    double *s = malloc(sizeof(double) * (size_t)c->n_kv);
    for (int64_t i = 0; i < c->n_q; i++)
        for (int h = 0; h < c->n_head; h++) {
            const float *qi = q + (i * c->n_head + h) * hd;
            int64_t off = (int64_t)(h / group) * hd;
            int64_t n_seen = c->pos0 < 0 ? c->n_kv : c->pos0 + i + 1;
            if (n_seen > c->n_kv) n_seen = c->n_kv;
            double mx = -INFINITY, sum = 0;
            for (int64_t j = 0; j < n_seen; j++) {
                double d = 0;
                for (int e = 0; e < hd; e++) d += (double)qi[e] * k[j * kv_stride + off + e];
                s[j] = d / sqrt((double)hd);
                if (s[j] > mx) mx = s[j];
            }
            for (int64_t j = 0; j < n_seen; j++) sum += s[j] = exp(s[j] - mx);
            double *o = out + (i * c->n_head + h) * hd;
            for (int e = 0; e < hd; e++) {
                double acc = 0;
                for (int64_t j = 0; j < n_seen; j++) acc += s[j] * v[j * kv_stride + off + e];
                o[e] = acc / sum;
            }
        }
    free(s);
}

static void check_case(const att_case *c, gl_pool *pool) {
    int hd = c->head_dim;
    int64_t kv_stride = (int64_t)c->n_head_kv * hd + c->extra_stride;
    size_t nq = (size_t)(c->n_q * c->n_head * hd), nkv = (size_t)(c->n_kv * kv_stride);
    float *q = malloc(nq * sizeof(float)), *k = malloc(nkv * sizeof(float)), *v = malloc(nkv * sizeof(float));
    float *out = malloc(nq * sizeof(float));
    double *want = malloc(nq * sizeof(double));
    float vmax = 0;
    /* scores spread over several units so the softmax is neither flat nor one-hot */
    for (size_t i = 0; i < nq; i++) q[i] = (2 * uniform() - 1) * 2.0f;
    for (size_t i = 0; i < nkv; i++) {
        k[i] = (2 * uniform() - 1) * 2.0f;
        v[i] = (2 * uniform() - 1) * 3.0f;
        vmax = fmaxf(vmax, fabsf(v[i]));
    }
    naive(c, q, k, v, kv_stride, want);
    CHECK(gl_attention(out, q, c->n_q, k, v, c->n_kv, kv_stride, c->n_head, c->n_head_kv, hd, c->pos0, pool) == 0);
    double worst = 0;
    for (size_t i = 0; i < nq; i++) worst = fmax(worst, fabs(out[i] - want[i]));
    fprintf(stderr, "%s (%d threads): max |diff| %.3g, bound %.3g\n", c->name, gl_pool_size(pool), worst, 1e-5 * vmax);
    CHECK_MSG(worst <= 1e-5 * vmax, "%s: attention differs from the naive one by %g", c->name, worst);
    free(q);
    free(k);
    free(v);
    free(out);
    free(want);
}

int main(void) {
    static const att_case cases[] = {
        {"vision, no mask", 300, 300, -1, 4, 4, 64, 0},
        {"causal prefill", 150, 150, 0, 6, 2, 32, 0},
        {"causal after a 333-token prefix", 70, 403, 333, 9, 3, 64, 8},
        {"one decoded query", 1, 700, 699, 9, 3, 64, 0},
        {"one query, long cache, MHA", 1, 1100, 1099, 4, 4, 16, 0},
        {"two queries after 600", 2, 602, 600, 2, 1, 64, 0},
    };
    gl_pool *pool = gl_pool_create(2);
    CHECK(pool != NULL);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        check_case(&cases[i], NULL);
        if (pool) check_case(&cases[i], pool);
    }
    gl_pool_free(pool);
    TEST_DONE();
}
