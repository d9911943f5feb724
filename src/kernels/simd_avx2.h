/* simd_avx2.h - inline AVX2 helpers shared by dot_avx2.c and dot_avx512.c
 * (include only from files compiled with -mavx2 -mfma -mf16c). */
#ifndef GLIMPSE_SIMD_AVX2_H
#define GLIMPSE_SIMD_AVX2_H

#include "kernels.h"

#include <immintrin.h>

/* The float lanes summed in gl_sum8's order. */
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

/* The f16 scales at the start of 8 consecutive blocks of `stride` bytes. */
static inline __m256 simd_f16_scales8(const uint8_t *b, int stride) {
    __m128i h = _mm_setr_epi16((short)gl_load_u16(b), (short)gl_load_u16(b + stride),
                               (short)gl_load_u16(b + 2 * stride), (short)gl_load_u16(b + 3 * stride),
                               (short)gl_load_u16(b + 4 * stride), (short)gl_load_u16(b + 5 * stride),
                               (short)gl_load_u16(b + 6 * stride), (short)gl_load_u16(b + 7 * stride));
    return _mm256_cvtph_ps(h);
}

static inline __m256 simd_q8a_scales8(const gl_block_q8a *x) {
    return _mm256_setr_ps(x[0].d, x[1].d, x[2].d, x[3].d, x[4].d, x[5].d, x[6].d, x[7].d);
}

static inline float simd_f16_to_f32(const uint8_t *p) { return _cvtsh_ss(gl_load_u16(p)); }

/* The 32 Q4_0 nibbles of block b in element order, as unsigned bytes 0..15. */
static inline __m256i simd_q4_0_nibbles(const uint8_t *b) {
    __m128i qs = _mm_loadu_si128((const __m128i *)(b + 2));
    __m256i q = _mm256_set_m128i(_mm_srli_epi16(qs, 4), qs);
    return _mm256_and_si256(q, _mm256_set1_epi8(15));
}

/* The dot product of a row of 32-element blocks with gl_block_q8a
 * activations, in the lane order kernels.h fixes. block_dot(b, x) returns eight
 * int32 partial sums of one block's products; inlined with it, the call through
 * the pointer becomes a direct one. */
typedef __m256i (*simd_block_dot_fn)(const uint8_t *b, const gl_block_q8a *x);

static inline __attribute__((always_inline)) float simd_dot_blocks32(simd_block_dot_fn block_dot, int stride,
                                                                      const uint8_t *b, const gl_block_q8a *x,
                                                                      int64_t nb) {
    __m256 acc = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 8 <= nb; i += 8) {
        __m256i p[8];
        for (int k = 0; k < 8; k++) p[k] = block_dot(b + (i + k) * stride, &x[i + k]);
        __m256 s = _mm256_mul_ps(simd_f16_scales8(b + i * stride, stride), simd_q8a_scales8(&x[i]));
        acc = _mm256_add_ps(acc, _mm256_mul_ps(_mm256_cvtepi32_ps(simd_sum_blocks8(p)), s));
    }
    float lanes[8];
    _mm256_storeu_ps(lanes, acc);
    for (; i < nb; i++) {
        int32_t isum = simd_sum_epi32(block_dot(b + i * stride, &x[i]));
        lanes[i & 7] += (float)isum * (simd_f16_to_f32(b + i * stride) * x[i].d);
    }
    return gl_sum8(lanes);
}

#endif
