/* attention_avx512.c - attention's products for a few query rows (decoding:
 * one query times the heads of a KV group), AVX-512 (kernels.h:
 * scores_few, add_pv_few).
 *
 * The blocked float GEMM packs each block of keys into panels first, which
 * for a few rows costs more than the product; here every key and value row
 * is read once, straight from the cache, and multiplied with all the rows
 * while in registers, in gemm_f32's order of operations (the same bits).
 * The row count is made a constant per case so the sums stay in registers. */
#include "kernels.h"
#include "simd_avx512.h"

#include <immintrin.h>

/* Sixteen keys at a time, transposed in registers so a lane holds one key:
 * each score is then one FMA chain over the head's elements in order, the
 * order of gemm_f32's packed panels, so a decoded query's scores equal
 * those of the same query in a batch. */
static inline __attribute__((always_inline)) void scores(const float *q, const int rows, int hd, const float *k,
                                                         int64_t kv_stride, int64_t nk, float *s, int64_t s_stride) {
    for (int64_t j0 = 0; j0 < nk; j0 += 16) {
        int nj = nk - j0 < 16 ? (int)(nk - j0) : 16;
        __m512 acc[GL_FEW_ROWS];
        for (int r = 0; r < rows; r++) acc[r] = _mm512_setzero_ps();
        for (int c = 0; c < hd; c += 16) {
            __m512i kt[16]; /* kt[e]: element c + e of the 16 keys */
            for (int n = 0; n < 16; n++)
                kt[n] = n < nj ? _mm512_castps_si512(_mm512_loadu_ps(k + (j0 + n) * kv_stride + c)) : _mm512_setzero_si512();
            simd_transpose16(kt);
            for (int e = 0; e < 16; e++)
                for (int r = 0; r < rows; r++)
                    acc[r] = _mm512_fmadd_ps(_mm512_castsi512_ps(kt[e]), _mm512_set1_ps(q[r * hd + c + e]), acc[r]);
        }
        __mmask16 m = (__mmask16)((1u << nj) - 1);
        for (int r = 0; r < rows; r++) _mm512_mask_storeu_ps(s + r * s_stride + j0, m, acc[r]);
    }
}

static inline __attribute__((always_inline)) void add_pv(const float *p, int64_t p_stride, const int rows,
                                                         const float *v, int64_t kv_stride, int64_t nk, int hd,
                                                         float *o) {
    for (int c = 0; c < hd; c += 64) { /* up to four vectors of each output row at a time */
        int nv = hd - c < 64 ? (hd - c) / 16 : 4;
        __m512 acc[GL_FEW_ROWS][4];
        for (int r = 0; r < rows; r++)
            for (int u = 0; u < 4; u++) acc[r][u] = u < nv ? _mm512_loadu_ps(o + r * hd + c + 16 * u) : _mm512_setzero_ps();
        for (int64_t j = 0; j < nk; j++) {
            const float *vj = v + j * kv_stride + c;
            __m512 vv[4];
            for (int u = 0; u < 4; u++) vv[u] = u < nv ? _mm512_loadu_ps(vj + 16 * u) : _mm512_setzero_ps();
            for (int r = 0; r < rows; r++) {
                __m512 pr = _mm512_set1_ps(p[r * p_stride + j]);
                for (int u = 0; u < 4; u++) acc[r][u] = _mm512_fmadd_ps(pr, vv[u], acc[r][u]);
            }
        }
        for (int r = 0; r < rows; r++)
            for (int u = 0; u < nv; u++) _mm512_storeu_ps(o + r * hd + c + 16 * u, acc[r][u]);
    }
}

void gl_avx512_scores_few(const float *q, int rows, int hd, const float *k, int64_t kv_stride, int64_t nk, float *s,
                          int64_t s_stride) {
    switch (rows) {
    case 1: scores(q, 1, hd, k, kv_stride, nk, s, s_stride); break;
    case 2: scores(q, 2, hd, k, kv_stride, nk, s, s_stride); break;
    case 3: scores(q, 3, hd, k, kv_stride, nk, s, s_stride); break;
    default: scores(q, GL_FEW_ROWS, hd, k, kv_stride, nk, s, s_stride); break;
    }
}

void gl_avx512_add_pv_few(const float *p, int64_t p_stride, int rows, const float *v, int64_t kv_stride, int64_t nk,
                          int hd, float *o) {
    switch (rows) {
    case 1: add_pv(p, p_stride, 1, v, kv_stride, nk, hd, o); break;
    case 2: add_pv(p, p_stride, 2, v, kv_stride, nk, hd, o); break;
    case 3: add_pv(p, p_stride, 3, v, kv_stride, nk, hd, o); break;
    default: add_pv(p, p_stride, GL_FEW_ROWS, v, kv_stride, nk, hd, o); break;
    }
}
