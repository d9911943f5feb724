/* simd_avx2.h - inline AVX2 helpers shared by dot_avx2.c and dot_avx512.c
 * (include only from files compiled with -mavx2 -mfma -mf16c). */
#ifndef GLIMPSE_SIMD_AVX2_H
#define GLIMPSE_SIMD_AVX2_H

#include "kernels.h"

#include <immintrin.h>
#include <math.h>

/* The sum of the eight float lanes: halves, then quarters, then pairs. */
static inline float simd_sum8_ps(__m256 v) {
    __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1)); /* a0+a4 .. a3+a7 */
    __m128 s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
    return _mm_cvtss_f32(_mm_add_ss(s2, _mm_movehdup_ps(s2)));
}

static inline int32_t simd_sum_epi32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm_cvtsi128_si32(s);
}

/* Eight vectors of eight int32 partial sums -> one vector of their eight totals. */
static inline __m256i simd_sum_blocks8(const __m256i p[8]) {
    __m256i h0123 = _mm256_hadd_epi32(_mm256_hadd_epi32(p[0], p[1]), _mm256_hadd_epi32(p[2], p[3]));
    __m256i h4567 = _mm256_hadd_epi32(_mm256_hadd_epi32(p[4], p[5]), _mm256_hadd_epi32(p[6], p[7]));
    /* h0123 = [p0..p3 low-half sums | p0..p3 high-half sums] */
    return _mm256_add_epi32(_mm256_permute2x128_si256(h0123, h4567, 0x20),
                            _mm256_permute2x128_si256(h0123, h4567, 0x31));
}

/* exp(x) for 8 lanes: Cephes' expf (range reduction by ln 2 in two parts, a
 * degree-5 polynomial, scaling by 2^n through the exponent bits); relative
 * error below 2 ulp on [-87, 88]; smaller x gives 0, larger +inf. */
static inline __m256 simd_exp8(__m256 x) {
    const __m256 lo = _mm256_set1_ps(-87.33654f), hi = _mm256_set1_ps(88.37626f);
    __m256 under = _mm256_cmp_ps(x, lo, _CMP_LT_OQ);
    x = _mm256_min_ps(_mm256_max_ps(x, lo), hi);
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    __m256 y = _mm256_add_ps(_mm256_fmadd_ps(_mm256_mul_ps(p, r), r, r), _mm256_set1_ps(1.0f));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_andnot_ps(under, _mm256_mul_ps(y, _mm256_castsi256_ps(e)));
}

/* The f16 scales at the start of 8 blocks `stride` bytes apart (8 blocks of
 * one row, or one block of 8 rows). */
static inline __m256 simd_f16_scales8(const uint8_t *b, size_t stride) {
    __m128i h = _mm_setr_epi16((short)gl_load_u16(b), (short)gl_load_u16(b + stride),
                               (short)gl_load_u16(b + 2 * stride), (short)gl_load_u16(b + 3 * stride),
                               (short)gl_load_u16(b + 4 * stride), (short)gl_load_u16(b + 5 * stride),
                               (short)gl_load_u16(b + 6 * stride), (short)gl_load_u16(b + 7 * stride));
    return _mm256_cvtph_ps(h);
}

static inline float simd_f16_to_f32(const uint8_t *p) { return _cvtsh_ss(gl_load_u16(p)); }

/* The 32 Q4_0 nibbles of block b in element order, as unsigned bytes 0..15. */
static inline __m256i simd_q4_0_nibbles(const uint8_t *b) {
    __m128i qs = _mm_loadu_si128((const __m128i *)(b + 2));
    __m256i q = _mm256_set_m128i(_mm_srli_epi16(qs, 4), qs);
    return _mm256_and_si256(q, _mm256_set1_epi8(15));
}

/* The products of one 32-element weight block b with activation block x, as
 * eight int32 partial sums; their total minus (x->sum << shift) is the exact
 * block sum (shift < 0: nothing to subtract). Inlined into the loops below,
 * the call through the pointer becomes a direct one. */
typedef __m256i (*simd_block_dot_fn)(const uint8_t *b, const gl_block_q8a *x);

/* One row of 32-element blocks (`stride` bytes each) with one token, in the
 * order kernels.h fixes. */
static inline __attribute__((always_inline)) float simd_dot_blocks32(simd_block_dot_fn block_dot, int shift,
                                                                      int stride, const uint8_t *b,
                                                                      const gl_block_q8a *x, int64_t nb) {
    float s = 0;
    for (int64_t i = 0; i < nb; i++, b += stride) {
        int32_t isum = simd_sum_epi32(block_dot(b, &x[i]));
        if (shift >= 0) isum -= x[i].sum * (1 << shift);
        s = fmaf((float)isum, simd_f16_to_f32(b) * x[i].d, s);
    }
    return s;
}

/* Decoding streams the weights from memory once, eight rows at a time, and
 * the eight interleaved streams of a group start too late for the hardware
 * prefetchers alone: each group prefetches, a share per step, the group
 * SIMD_PF_FAR ahead into L2 (time for memory's latency at the rate the
 * group is consumed) and the next one from there into L1. On one thread
 * streaming 143 MB this read 1.2x as fast as the next group alone into L1,
 * ~0.9x the read probe (2026-12-04). The far group may lie past the
 * caller's rows: a prefetch does not fault. */
#define SIMD_PF_FAR 4

typedef struct {
    const uint8_t *near, *far;
    size_t bytes, done, per_step; /* bytes of a group; prefetched so far; lines per step */
} simd_prefetch;

static inline simd_prefetch simd_prefetch_start(const uint8_t *w, size_t row_bytes, int64_t steps) {
    simd_prefetch p = {w + 8 * row_bytes, w + SIMD_PF_FAR * 8 * row_bytes, 8 * row_bytes, 0, 0};
    if (steps > 0) p.per_step = (p.bytes + 64 * (size_t)steps - 1) / (64 * (size_t)steps);
    return p;
}

static inline void simd_prefetch_step(simd_prefetch *p) {
    for (size_t k = 0; k < p->per_step && p->done < p->bytes; k++, p->done += 64) {
        _mm_prefetch((const char *)p->far + p->done, _MM_HINT_T1);
        _mm_prefetch((const char *)p->near + p->done, _MM_HINT_T0);
    }
}

/* Eight rows (row_bytes apart) with one token: out[r] = dot of row r, the
 * row sums of each block gathered into one vector (lane r = row r). */
static inline __attribute__((always_inline)) void simd_rows8_blocks32(simd_block_dot_fn block_dot, int shift,
                                                                       int stride, const uint8_t *w,
                                                                       size_t row_bytes, const gl_block_q8a *x,
                                                                       int64_t nb, float *out) {
    __m256 s = _mm256_setzero_ps();
    simd_prefetch pf = simd_prefetch_start(w, row_bytes, nb);
    for (int64_t i = 0; i < nb; i++) {
        const uint8_t *b = w + i * stride;
        simd_prefetch_step(&pf);
        __m256i p[8];
        for (int r = 0; r < 8; r++) p[r] = block_dot(b + r * row_bytes, &x[i]);
        __m256i isum = simd_sum_blocks8(p);
        if (shift >= 0) isum = _mm256_sub_epi32(isum, _mm256_set1_epi32(x[i].sum * (1 << shift)));
        __m256 scale = _mm256_mul_ps(simd_f16_scales8(b, row_bytes), _mm256_set1_ps(x[i].d));
        s = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), scale, s);
    }
    _mm256_storeu_ps(out, s);
}

/* A gemm over rows of 32-element blocks: eight rows at a time for each
 * token (the rows stay in L1 across the tokens), leftover rows one by one. */
static inline __attribute__((always_inline)) void simd_gemm_rows8(simd_block_dot_fn block_dot, int shift,
                                                                   int stride, const gl_gemm_args *a) {
    int64_t nb = a->n / 32, r = 0;
    for (; r + 8 <= a->n_rows; r += 8) {
        const uint8_t *w = (const uint8_t *)a->w + (size_t)r * a->row_bytes;
        for (int64_t t = 0; t < a->n_tok; t++) {
            float out[8];
            const gl_block_q8a *x = (const void *)((const char *)a->x + (size_t)t * a->x_row_bytes);
            simd_rows8_blocks32(block_dot, shift, stride, w, a->row_bytes, x, nb, out);
            for (int i = 0; i < 8; i++) a->y[t * a->y_stride + r + i] = a->bias ? out[i] + a->bias[r + i] : out[i];
        }
    }
    for (; r < a->n_rows; r++) {
        const uint8_t *w = (const uint8_t *)a->w + (size_t)r * a->row_bytes;
        for (int64_t t = 0; t < a->n_tok; t++) {
            const gl_block_q8a *x = (const void *)((const char *)a->x + (size_t)t * a->x_row_bytes);
            float d = simd_dot_blocks32(block_dot, shift, stride, w, x, nb);
            a->y[t * a->y_stride + r] = a->bias ? d + a->bias[r] : d;
        }
    }
}

/* A gemm over K-quant rows from a kernel that takes one super-block of one
 * row against nt <= 4 tokens (x[t*stride], stride in blocks), adding each
 * token's term to sum[t]. */
typedef void (*simd_kblock_fn)(const uint8_t *b, const gl_block_q8k *x, int64_t stride, int nt, float *sum);

static inline __attribute__((always_inline)) void simd_gemm_kquant(simd_kblock_fn kblock, int block_bytes,
                                                                    const gl_gemm_args *a) {
    int64_t nb = a->n / 256;
    int64_t xs = (int64_t)(a->x_row_bytes / sizeof(gl_block_q8k));
    for (int64_t r = 0; r < a->n_rows; r++) {
        const uint8_t *w = (const uint8_t *)a->w + (size_t)r * a->row_bytes;
        for (int64_t t = 0; t < a->n_tok; t += 4) {
            int nt = a->n_tok - t < 4 ? (int)(a->n_tok - t) : 4;
            const gl_block_q8k *x = (const void *)((const char *)a->x + (size_t)t * a->x_row_bytes);
            float sum[4] = {0, 0, 0, 0};
            for (int64_t i = 0; i < nb; i++) {
                if (nt == 4)
                    kblock(w + i * block_bytes, x + i, xs, 4, sum);
                else
                    kblock(w + i * block_bytes, x + i, xs, nt, sum);
            }
            for (int k = 0; k < nt; k++) a->y[(t + k) * a->y_stride + r] = sum[k];
        }
    }
}

#endif
