/* test_attention_amx_matches_naive.c - gl_attention's AMX path (bfloat16
 * products, taken for at least 512 queries and keys with head size 32 or
 * 64) equals a naive double-precision softmax(q k^T / sqrt(d)) v computed
 * from the same bf16-rounded operands: vision-sized heads without a mask,
 * head size 32 with grouped-query heads, a KV stride wider than the heads
 * and a key count off the 32-key steps, a causal mask (early queries see a
 * key or two, so a key too many or too few shows), key ranges merged (four
 * threads, one KV head), on one thread and on pools.
 *
 * Tolerance: |got - want| <= 2^-8 * max|v| + 1e-5 * max|v| per output. The
 * reference rounds q/sqrt(d), k and v to bf16 as the kernels do, so what is
 * left is the rounding of the probabilities to bf16 before they multiply v
 * (relative 2^-9 each, so at most 2^-9 max|v| on a convex combination; the
 * row sum is of the unrounded ones, another 2^-9) and f32 sums and exp (the
 * F32 path's 1e-5). A wrong tile layout or padding is off by about max|v|.
 * Skipped (77) when the CPU has no AMX or Linux refuses the tile state. */
#include "kernels/kernels.h"
#include "ops.h"
#include "quant.h"
#include "test.h"
#include "threads.h"

#include <stdint.h>

static uint64_t rng = 0xd1b54a32d192ed03ull;
static float uniform(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (float)(rng >> 40) / 16777216.0f;
}

static double bf16(float x) { return gl_bf16_to_fp32(gl_fp32_to_bf16(x)); }

typedef struct {
    const char *name;
    int64_t n_q, n_kv, pos0; /* pos0 < 0: no mask */
    int n_head, n_head_kv, head_dim, extra_stride;
} att_case;

static void naive(const att_case *c, const float *q, const float *k, const float *v, int64_t kv_stride, double *out) {
    int group = c->n_head / c->n_head_kv, hd = c->head_dim;
    float scale = 1.0f / sqrtf((float)hd);
    size_t nq = (size_t)(c->n_q * c->n_head * hd), nkv = (size_t)(c->n_kv * kv_stride);
    double *s = malloc(sizeof(double) * (size_t)c->n_kv), *qr = malloc(sizeof(double) * nq);
    double *kr = malloc(sizeof(double) * nkv), *vr = malloc(sizeof(double) * nkv);
    for (size_t i = 0; i < nq; i++) qr[i] = bf16(q[i] * scale);
    for (size_t i = 0; i < nkv; i++) {
        kr[i] = bf16(k[i]);
        vr[i] = bf16(v[i]);
    }
    for (int64_t i = 0; i < c->n_q; i++)
        for (int h = 0; h < c->n_head; h++) {
            const double *qi = qr + (i * c->n_head + h) * hd;
            int64_t off = (int64_t)(h / group) * hd;
            int64_t n_seen = c->pos0 < 0 ? c->n_kv : c->pos0 + i + 1;
            if (n_seen > c->n_kv) n_seen = c->n_kv;
            double mx = -INFINITY, sum = 0;
            for (int64_t j = 0; j < n_seen; j++) {
                double d = 0;
                for (int e = 0; e < hd; e++) d += qi[e] * kr[j * kv_stride + off + e];
                s[j] = d;
                if (s[j] > mx) mx = s[j];
            }
            for (int64_t j = 0; j < n_seen; j++) sum += s[j] = exp(s[j] - mx);
            double *o = out + (i * c->n_head + h) * hd;
            for (int e = 0; e < hd; e++) o[e] = 0;
            for (int64_t j = 0; j < n_seen; j++)
                for (int e = 0; e < hd; e++) o[e] += s[j] * vr[j * kv_stride + off + e];
            for (int e = 0; e < hd; e++) o[e] /= sum;
        }
    free(s);
    free(qr);
    free(kr);
    free(vr);
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
    double worst = 0, bound = (0x1p-8 + 1e-5) * vmax;
    for (size_t i = 0; i < nq; i++) worst = fmax(worst, fabs(out[i] - want[i]));
    fprintf(stderr, "%s (%d threads): max |diff| %.3g, bound %.3g\n", c->name, gl_pool_size(pool), worst, bound);
    CHECK_MSG(worst <= bound, "%s: AMX attention differs from the naive bf16 one by %g", c->name, worst);
    free(q);
    free(k);
    free(v);
    free(out);
    free(want);
}

int main(void) {
    if (!gl_kernels_for(GL_ISA_AMX)) TEST_SKIP("no AMX on this CPU, or the OS refused the tile state");
    static const att_case cases[] = {
        {"vision, 1024 patches", 1024, 1024, -1, 1, 1, 64, 0},
        {"head size 32, grouped heads, 700 keys", 520, 700, -1, 2, 1, 32, 8},
        {"causal, 520 positions", 520, 520, 0, 2, 2, 64, 0},
        {"one KV head, key ranges merged", 512, 1000, -1, 1, 1, 64, 0},
    };
    gl_pool *two = gl_pool_create(2), *four = gl_pool_create(4);
    CHECK(two != NULL && four != NULL);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        check_case(&cases[i], NULL);
        if (two) check_case(&cases[i], two);
    }
    if (four) check_case(&cases[3], four);
    gl_pool_free(two);
    gl_pool_free(four);
    TEST_DONE();
}
