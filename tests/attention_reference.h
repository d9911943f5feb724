/* attention_reference.h - the naive double-precision attention that the
 * attention tests hold gl_attention to, and their case runner: random q, k, v
 * (scores spread over several units, so the softmax is neither flat nor
 * one-hot), gl_attention on the given pool, every output within
 * bound * max|v| of softmax(q k^T / sqrt(d)) v. With bf16_operands the
 * reference first rounds q / sqrt(d), k and v to bfloat16, as the AMX path
 * does, so that only the path's own roundings are left to the bound. */
#ifndef GLIMPSE_TESTS_ATTENTION_REFERENCE_H
#define GLIMPSE_TESTS_ATTENTION_REFERENCE_H

#include "ops.h"
#include "quant.h"
#include "test.h"
#include "threads.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

typedef struct {
    const char *name;
    int64_t n_q, n_kv, pos0; /* pos0 < 0: no mask */
    int n_head, n_head_kv, head_dim, extra_stride;
} att_case;

static inline float att_uniform(uint64_t *rng) {
    *rng ^= *rng << 13;
    *rng ^= *rng >> 7;
    *rng ^= *rng << 17;
    return (float)(*rng >> 40) / 16777216.0f;
}

static inline double att_operand(float x, int bf16) { return bf16 ? gl_bf16_to_fp32(gl_fp32_to_bf16(x)) : x; }

static inline void attention_reference(const att_case *c, const float *q, const float *k, const float *v,
                                       int64_t kv_stride, int bf16_operands, double *out) {
    int group = c->n_head / c->n_head_kv, hd = c->head_dim;
    size_t nq = (size_t)(c->n_q * c->n_head * hd), nkv = (size_t)(c->n_kv * kv_stride);
    double *s = malloc(sizeof(double) * (size_t)c->n_kv), *qr = malloc(sizeof(double) * nq);
    double *kr = malloc(sizeof(double) * nkv), *vr = malloc(sizeof(double) * nkv);
    for (size_t i = 0; i < nq; i++)
        qr[i] = bf16_operands ? att_operand(q[i] * (1.0f / sqrtf((float)hd)), 1) : q[i] / sqrt((double)hd);
    for (size_t i = 0; i < nkv; i++) {
        kr[i] = att_operand(k[i], bf16_operands);
        vr[i] = att_operand(v[i], bf16_operands);
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

static inline void check_attention_case(const att_case *c, gl_pool *pool, uint64_t *rng, int bf16_operands,
                                        double bound) {
    int hd = c->head_dim;
    int64_t kv_stride = (int64_t)c->n_head_kv * hd + c->extra_stride;
    size_t nq = (size_t)(c->n_q * c->n_head * hd), nkv = (size_t)(c->n_kv * kv_stride);
    float *q = malloc(nq * sizeof(float)), *k = malloc(nkv * sizeof(float)), *v = malloc(nkv * sizeof(float));
    float *out = malloc(nq * sizeof(float));
    double *want = malloc(nq * sizeof(double));
    float vmax = 0;
    for (size_t i = 0; i < nq; i++) q[i] = (2 * att_uniform(rng) - 1) * 2.0f;
    for (size_t i = 0; i < nkv; i++) {
        k[i] = (2 * att_uniform(rng) - 1) * 2.0f;
        v[i] = (2 * att_uniform(rng) - 1) * 3.0f;
        vmax = fmaxf(vmax, fabsf(v[i]));
    }
    attention_reference(c, q, k, v, kv_stride, bf16_operands, want);
    CHECK(gl_attention(out, q, c->n_q, k, v, c->n_kv, kv_stride, c->n_head, c->n_head_kv, hd, c->pos0, pool) == 0);
    double worst = 0;
    for (size_t i = 0; i < nq; i++) worst = fmax(worst, fabs(out[i] - want[i]));
    fprintf(stderr, "%s (%d threads): max |diff| %.3g, bound %.3g\n", c->name, gl_pool_size(pool), worst,
            bound * vmax);
    CHECK_MSG(worst <= bound * vmax, "%s: attention differs from the naive one by %g", c->name, worst);
    free(q);
    free(k);
    free(v);
    free(out);
    free(want);
}

#endif
