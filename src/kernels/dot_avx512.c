/* dot_avx512.c - AVX-512 versions of the matmul kernels (kernels.h).
 *
 * The 32-element integer kernels use 256-bit VNNI (vpdpbusd: four u8*s8
 * products summed into int32 in one instruction, AVX512-VNNI + VL) in the lane
 * order of simd_avx2.h; the K-quants multiply 64 elements per instruction with
 * 512-bit AVX512-BW; the float kernels use 512-bit FMA. The activation
 * quantisers are the AVX2 ones. Integer results equal dot_scalar.c's bits. */
#include "kernels.h"
#include "quant.h"
#include "simd_avx2.h"

/* ==== 32-element types (256-bit VNNI) ==== */

static inline __m256i block_q8_0(const uint8_t *b, const gl_block_q8a *x) {
    __m256i w = _mm256_loadu_si256((const __m256i *)(b + 2));
    __m256i xv = _mm256_loadu_si256((const __m256i *)x->qs);
    return _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_abs_epi8(w), _mm256_sign_epi8(xv, w));
}

/* (q - 8) . x = q . x - 8 . x, both as unsigned-by-signed VNNI products. */
static inline __m256i block_q4_0(const uint8_t *b, const gl_block_q8a *x) {
    __m256i xv = _mm256_loadu_si256((const __m256i *)x->qs);
    __m256i qx = _mm256_dpbusd_epi32(_mm256_setzero_si256(), simd_q4_0_nibbles(b), xv);
    return _mm256_sub_epi32(qx, _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_set1_epi8(8), xv));
}

static float dot_q8_0(const void *w, const gl_block_q8a *x, int64_t n) {
    return simd_dot_blocks32(block_q8_0, 34, w, x, n / 32);
}

static float dot_q4_0(const void *w, const gl_block_q8a *x, int64_t n) {
    return simd_dot_blocks32(block_q4_0, 18, w, x, n / 32);
}

/* ==== K-quants (512-bit) ==== */

static inline int32_t sum_epi32_512(__m512i v) {
    return simd_sum_epi32(_mm256_add_epi32(_mm512_castsi512_si256(v), _mm512_extracti64x4_epi64(v, 1)));
}

/* Sixteen int16 copies of a, then sixteen of b. */
static inline __m512i scales2(int a, int b) {
    return _mm512_inserti64x4(_mm512_set1_epi16((short)a), _mm256_set1_epi16((short)b), 1);
}

/* Eight int16 copies each of a, b, c, d. */
static inline __m512i scales4(int a, int b, int c, int d) {
    __m256i lo = _mm256_set_m128i(_mm_set1_epi16((short)b), _mm_set1_epi16((short)a));
    __m256i hi = _mm256_set_m128i(_mm_set1_epi16((short)d), _mm_set1_epi16((short)c));
    return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
}

/* One Q4_K super-block b against nt activation blocks x[t*stride], adding
 * each token's term to sum[t] (see dot_avx2.c's q4_k_block). */
static inline __attribute__((always_inline)) void q4_k_block(const uint8_t *b, const gl_block_q8k *x,
                                                              int64_t stride, int nt, float *sum) {
    const __m256i m4 = _mm256_set1_epi8(15);
    int sc[8], m[8];
    for (int j = 0; j < 8; j++) gl_scale_min_k4(j, b + 4, &sc[j], &m[j]);
    __m512i acc[4] = {_mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512()};
    for (int g = 0; g < 4; g++) {
        /* elements 64g..64g+63: low nibbles, then high nibbles */
        __m256i q = _mm256_loadu_si256((const __m256i *)(b + 16 + 32 * g));
        __m512i q2 = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_and_si256(q, m4)),
                                        _mm256_and_si256(_mm256_srli_epi16(q, 4), m4), 1);
        __m512i s2 = scales2(sc[2 * g], sc[2 * g + 1]);
        for (int t = 0; t < nt; t++) {
            __m512i p = _mm512_maddubs_epi16(q2, _mm512_loadu_si512(x[t * stride].qs + 64 * g));
            acc[t] = _mm512_add_epi32(acc[t], _mm512_madd_epi16(p, s2));
        }
    }
    for (int t = 0; t < nt; t++) {
        const gl_block_q8k *xt = &x[t * stride];
        int32_t msum = 0;
        for (int j = 0; j < 8; j++) msum += m[j] * (xt->bsums[2 * j] + xt->bsums[2 * j + 1]);
        float d = simd_f16_to_f32(b) * xt->d;
        float dmin = simd_f16_to_f32(b + 2) * xt->d;
        sum[t] += d * (float)sum_epi32_512(acc[t]) - dmin * (float)msum;
    }
}

static float dot_q4_k(const void *w, const gl_block_q8k *x, int64_t n) {
    float sum = 0;
    for (int64_t i = 0; i < n / 256; i++) q4_k_block((const uint8_t *)w + 144 * i, x + i, 0, 1, &sum);
    return sum;
}

static void dot_q4_k_x4(const void *w, const gl_block_q8k *x, int64_t stride, float out[4], int64_t n) {
    float sum[4] = {0, 0, 0, 0};
    for (int64_t i = 0; i < n / 256; i++) q4_k_block((const uint8_t *)w + 144 * i, x + i, stride, 4, sum);
    for (int t = 0; t < 4; t++) out[t] = sum[t];
}

/* One Q6_K super-block against nt tokens, as q4_k_block. */
static inline __attribute__((always_inline)) void q6_k_block(const uint8_t *b, const gl_block_q8k *x,
                                                              int64_t stride, int nt, float *sum) {
    const __m512i m4 = _mm512_set1_epi8(15), m2 = _mm512_set1_epi8(3);
    const int8_t *sc = (const int8_t *)(b + 192);
    __m512i acc[4] = {_mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512()};
    for (int h = 0; h < 2; h++) {
        /* ql[0..63] covers elements 0..63 (low nibbles) and 64..127 (high);
         * qh holds two bits for each, in pairs at shifts 0/2 and 4/6. */
        __m512i ql = _mm512_loadu_si512(b + 64 * h);
        __m256i qh = _mm256_loadu_si256((const __m256i *)(b + 128 + 32 * h));
        __m512i h01 = _mm512_inserti64x4(_mm512_castsi256_si512(qh), _mm256_srli_epi16(qh, 2), 1);
        __m512i h23 = _mm512_srli_epi16(h01, 4);
        __m512i q01 = _mm512_or_si512(_mm512_and_si512(ql, m4), _mm512_slli_epi16(_mm512_and_si512(h01, m2), 4));
        __m512i q23 = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ql, 4), m4),
                                      _mm512_slli_epi16(_mm512_and_si512(h23, m2), 4));
        const int8_t *s = sc + 8 * h;
        /* int16 lanes in groups of 8 belong to sub-blocks s[0..3], s[4..7] */
        __m512i s01 = scales4(s[0], s[1], s[2], s[3]), s23 = scales4(s[4], s[5], s[6], s[7]);
        for (int t = 0; t < nt; t++) {
            const int8_t *xq = x[t * stride].qs + 128 * h;
            __m512i p01 = _mm512_maddubs_epi16(q01, _mm512_loadu_si512(xq));
            __m512i p23 = _mm512_maddubs_epi16(q23, _mm512_loadu_si512(xq + 64));
            acc[t] = _mm512_add_epi32(acc[t], _mm512_add_epi32(_mm512_madd_epi16(p01, s01), _mm512_madd_epi16(p23, s23)));
        }
    }
    for (int t = 0; t < nt; t++) {
        const gl_block_q8k *xt = &x[t * stride];
        int32_t bsum = 0;
        for (int j = 0; j < 16; j++) bsum += sc[j] * xt->bsums[j];
        int32_t isum = sum_epi32_512(acc[t]) - 32 * bsum;
        sum[t] += (simd_f16_to_f32(b + 208) * xt->d) * (float)isum;
    }
}

static float dot_q6_k(const void *w, const gl_block_q8k *x, int64_t n) {
    float sum = 0;
    for (int64_t i = 0; i < n / 256; i++) q6_k_block((const uint8_t *)w + 210 * i, x + i, 0, 1, &sum);
    return sum;
}

static void dot_q6_k_x4(const void *w, const gl_block_q8k *x, int64_t stride, float out[4], int64_t n) {
    float sum[4] = {0, 0, 0, 0};
    for (int64_t i = 0; i < n / 256; i++) q6_k_block((const uint8_t *)w + 210 * i, x + i, stride, 4, sum);
    for (int t = 0; t < 4; t++) out[t] = sum[t];
}

/* ==== Float weights (512-bit) ==== */

/* The loop shape of dot_avx2.c's dot_float, 16 lanes wide. */
typedef __m512 (*load16_fn)(const void *w, int64_t i);
typedef float (*load1_fn)(const void *w, int64_t i);

static inline __m512 load16_f32(const void *w, int64_t i) { return _mm512_loadu_ps((const float *)w + i); }
static inline float load1_f32(const void *w, int64_t i) { return ((const float *)w)[i]; }
static inline __m512 load16_f16(const void *w, int64_t i) {
    return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)((const uint16_t *)w + i)));
}
static inline float load1_f16(const void *w, int64_t i) { return simd_f16_to_f32((const uint8_t *)w + 2 * i); }
static inline __m512 load16_bf16(const void *w, int64_t i) {
    __m512i v = _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)((const uint16_t *)w + i)));
    return _mm512_castsi512_ps(_mm512_slli_epi32(v, 16));
}
static inline float load1_bf16(const void *w, int64_t i) { return gl_bf16_to_fp32(gl_load_u16((const uint8_t *)w + 2 * i)); }

static inline __attribute__((always_inline)) float dot_float(load16_fn load16, load1_fn load1, const void *w,
                                                              const float *x, int64_t n) {
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        a0 = _mm512_fmadd_ps(load16(w, i), _mm512_loadu_ps(x + i), a0);
        a1 = _mm512_fmadd_ps(load16(w, i + 16), _mm512_loadu_ps(x + i + 16), a1);
    }
    for (; i + 16 <= n; i += 16) a0 = _mm512_fmadd_ps(load16(w, i), _mm512_loadu_ps(x + i), a0);
    float sum = _mm512_reduce_add_ps(_mm512_add_ps(a0, a1));
    for (; i < n; i++) sum += load1(w, i) * x[i];
    return sum;
}

static float dot_f32(const float *w, const float *x, int64_t n) { return dot_float(load16_f32, load1_f32, w, x, n); }
static float dot_f16(const void *w, const float *x, int64_t n) { return dot_float(load16_f16, load1_f16, w, x, n); }
static float dot_bf16(const void *w, const float *x, int64_t n) { return dot_float(load16_bf16, load1_bf16, w, x, n); }

static void dot_f32_x4(const float *w, const float *x, int64_t stride, float out[4], int64_t n) {
    __m512 a0[4], a1[4];
    for (int t = 0; t < 4; t++) a0[t] = a1[t] = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m512 w0 = _mm512_loadu_ps(w + i), w1 = _mm512_loadu_ps(w + i + 16);
        for (int t = 0; t < 4; t++) {
            a0[t] = _mm512_fmadd_ps(w0, _mm512_loadu_ps(x + t * stride + i), a0[t]);
            a1[t] = _mm512_fmadd_ps(w1, _mm512_loadu_ps(x + t * stride + i + 16), a1[t]);
        }
    }
    for (; i + 16 <= n; i += 16) {
        __m512 w0 = _mm512_loadu_ps(w + i);
        for (int t = 0; t < 4; t++) a0[t] = _mm512_fmadd_ps(w0, _mm512_loadu_ps(x + t * stride + i), a0[t]);
    }
    for (int t = 0; t < 4; t++) {
        float sum = _mm512_reduce_add_ps(_mm512_add_ps(a0[t], a1[t]));
        for (int64_t j = i; j < n; j++) sum += w[j] * x[t * stride + j];
        out[t] = sum;
    }
}

static void f16_to_f32(const void *w, float *out, int64_t n) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(out + i, load16_f16(w, i));
    for (; i < n; i++) out[i] = load1_f16(w, i);
}

static void bf16_to_f32(const void *w, float *out, int64_t n) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(out + i, load16_bf16(w, i));
    for (; i < n; i++) out[i] = load1_bf16(w, i);
}

const gl_kernels gl_kernels_avx512 = {
    .name = "avx512",
    .quantize_q8a = gl_quantize_q8a_avx2,
    .quantize_q8k = gl_quantize_q8k_avx2,
    .dot_q8_0 = dot_q8_0,
    .dot_q4_0 = dot_q4_0,
    .dot_q4_k = dot_q4_k,
    .dot_q6_k = dot_q6_k,
    .dot_q4_k_x4 = dot_q4_k_x4,
    .dot_q6_k_x4 = dot_q6_k_x4,
    .dot_f32 = dot_f32,
    .dot_f16 = dot_f16,
    .dot_bf16 = dot_bf16,
    .dot_f32_x4 = dot_f32_x4,
    .f16_to_f32 = f16_to_f32,
    .bf16_to_f32 = bf16_to_f32,
};
