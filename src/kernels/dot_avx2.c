/* dot_avx2.c - AVX2 + FMA + F16C versions of the matmul kernels (kernels.h).
 * The integer kernels return the bits of dot_scalar.c; the sign trick
 * (|w| * sign(w)x through maddubs) is ggml's (ggml-cpu/arch/x86/quants.c). */
#include "kernels.h"
#include "quant.h"
#include "simd_avx2.h"

#include <string.h>

/* ==== Activation quantisers (also used by the AVX-512 table) ==== */

static inline float max_lane(__m256 v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    return _mm_cvtss_f32(_mm_max_ss(m, _mm_movehdup_ps(m)));
}

/* 32 int32 (four vectors, element order) -> 32 int8, no saturation in range. */
static inline __m256i pack_32(__m256i i0, __m256i i1, __m256i i2, __m256i i3) {
    __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(i0, i1), _mm256_packs_epi32(i2, i3));
    return _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

void gl_quantize_q8a_avx2(const float *x, gl_block_q8a *y, int64_t n) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    for (int64_t i = 0; i < n / 32; i++, x += 32) {
        __m256 v[4], amax = _mm256_setzero_ps();
        for (int k = 0; k < 4; k++) {
            v[k] = _mm256_loadu_ps(x + 8 * k);
            amax = _mm256_max_ps(amax, _mm256_andnot_ps(sign, v[k]));
        }
        float d = max_lane(amax) / 127;
        float id = d ? 1.0f / d : 0.0f;
        y[i].d = d;
        __m256 vid = _mm256_set1_ps(id);
        __m256i q[4];
        for (int k = 0; k < 4; k++) q[k] = _mm256_cvtps_epi32(_mm256_mul_ps(v[k], vid));
        _mm256_storeu_si256((__m256i *)y[i].qs, pack_32(q[0], q[1], q[2], q[3]));
        y[i].sum = simd_sum_epi32(_mm256_add_epi32(_mm256_add_epi32(q[0], q[1]), _mm256_add_epi32(q[2], q[3])));
    }
}

/* ggml's quantize_row_q8_K_ref: the scale comes from the first element of
 * largest magnitude, with its sign. */
void gl_quantize_q8k_avx2(const float *x, gl_block_q8k *y, int64_t n) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    for (int64_t i = 0; i < n / 256; i++, x += 256) {
        __m256 amax8 = _mm256_setzero_ps();
        for (int k = 0; k < 32; k++) amax8 = _mm256_max_ps(amax8, _mm256_andnot_ps(sign, _mm256_loadu_ps(x + 8 * k)));
        float amax = max_lane(amax8);
        if (!amax) {
            memset(&y[i], 0, sizeof y[i]);
            continue;
        }
        float max = 0;
        for (int k = 0; k < 32; k++) {
            __m256 v = _mm256_loadu_ps(x + 8 * k);
            int hit = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_andnot_ps(sign, v), _mm256_set1_ps(amax), _CMP_EQ_OQ));
            if (hit) {
                max = x[8 * k + __builtin_ctz((unsigned)hit)];
                break;
            }
        }
        float iscale = -127.f / max;
        __m256 vs = _mm256_set1_ps(iscale);
        const __m256i top = _mm256_set1_epi32(127);
        for (int k = 0; k < 8; k++) {
            __m256i q[4];
            for (int j = 0; j < 4; j++)
                q[j] = _mm256_min_epi32(top, _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + 32 * k + 8 * j), vs)));
            _mm256_storeu_si256((__m256i *)(y[i].qs + 32 * k), pack_32(q[0], q[1], q[2], q[3]));
        }
        for (int j = 0; j < 16; j++) {
            __m256i q16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(y[i].qs + 16 * j)));
            y[i].bsums[j] = (int16_t)simd_sum_epi32(_mm256_madd_epi16(q16, _mm256_set1_epi16(1)));
        }
        y[i].d = 1 / iscale;
    }
}

/* ==== 32-element types ==== */

/* Signed bytes w times signed bytes x, as eight int32 sums of four. */
static inline __m256i dot_i8(__m256i w, __m256i x) {
    __m256i p = _mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(x, w));
    return _mm256_madd_epi16(p, _mm256_set1_epi16(1));
}

static inline __m256i block_q8_0(const uint8_t *b, const gl_block_q8a *x) {
    return dot_i8(_mm256_loadu_si256((const __m256i *)(b + 2)), _mm256_loadu_si256((const __m256i *)x->qs));
}

static inline __m256i block_q4_0(const uint8_t *b, const gl_block_q8a *x) {
    __m256i q = _mm256_sub_epi8(simd_q4_0_nibbles(b), _mm256_set1_epi8(8));
    return dot_i8(q, _mm256_loadu_si256((const __m256i *)x->qs));
}

static float dot_q8_0(const void *w, const gl_block_q8a *x, int64_t n) {
    return simd_dot_blocks32(block_q8_0, -1, 34, w, x, n / 32);
}

static float dot_q4_0(const void *w, const gl_block_q8a *x, int64_t n) {
    return simd_dot_blocks32(block_q4_0, -1, 18, w, x, n / 32);
}

static void gemm_q8_0(const gl_gemm_args *a) { simd_gemm_rows8(block_q8_0, -1, 34, a); }
static void gemm_q4_0(const gl_gemm_args *a) { simd_gemm_rows8(block_q4_0, -1, 18, a); }

/* ==== K-quants ==== */

/* The end of a Q4_K/Q5_K super-block against nt tokens: the integer sums
 * acc[t] times the block's scale, less its minimums (m, one per sub-block)
 * times the tokens' sub-block sums; both types keep d, dmin and the scales
 * at the same offsets. */
static inline __attribute__((always_inline)) void k4_block_finish(const uint8_t *b, const gl_block_q8k *x,
                                                                  int64_t stride, int nt, const int *m,
                                                                  const __m256i *acc, float *sum) {
    for (int t = 0; t < nt; t++) {
        const gl_block_q8k *xt = &x[t * stride];
        int32_t msum = 0;
        for (int j = 0; j < 8; j++) msum += m[j] * (xt->bsums[2 * j] + xt->bsums[2 * j + 1]);
        float d = simd_f16_to_f32(b) * xt->d;
        float dmin = simd_f16_to_f32(b + 2) * xt->d;
        sum[t] += d * (float)simd_sum_epi32(acc[t]) - dmin * (float)msum;
    }
}

/* One Q4_K super-block b against nt activation blocks x[t*stride]: adds each
 * token's term to sum[t] with dot_scalar.c's expression. The scales and
 * nibbles are unpacked once for all tokens. */
static inline __attribute__((always_inline)) void q4_k_block(const uint8_t *b, const gl_block_q8k *x,
                                                              int64_t stride, int nt, float *sum) {
    const __m256i m4 = _mm256_set1_epi8(15);
    int sc[8], m[8];
    for (int j = 0; j < 8; j++) gl_scale_min_k4(j, b + 4, &sc[j], &m[j]);
    __m256i acc[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256()};
    for (int g = 0; g < 4; g++) {
        __m256i q = _mm256_loadu_si256((const __m256i *)(b + 16 + 32 * g));
        __m256i lo = _mm256_and_si256(q, m4), hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
        __m256i s1 = _mm256_set1_epi16((short)sc[2 * g]), s2 = _mm256_set1_epi16((short)sc[2 * g + 1]);
        for (int t = 0; t < nt; t++) {
            const int8_t *xq = x[t * stride].qs + 64 * g;
            __m256i p1 = _mm256_maddubs_epi16(lo, _mm256_loadu_si256((const __m256i *)xq));
            __m256i p2 = _mm256_maddubs_epi16(hi, _mm256_loadu_si256((const __m256i *)(xq + 32)));
            acc[t] = _mm256_add_epi32(acc[t], _mm256_add_epi32(_mm256_madd_epi16(p1, s1), _mm256_madd_epi16(p2, s2)));
        }
    }
    k4_block_finish(b, x, stride, nt, m, acc, sum);
}

static float dot_q4_k(const void *w, const gl_block_q8k *x, int64_t n) {
    float sum = 0;
    for (int64_t i = 0; i < n / 256; i++) q4_k_block((const uint8_t *)w + 144 * i, x + i, 0, 1, &sum);
    return sum;
}

/* One Q5_K super-block against nt tokens, as q4_k_block with the fifth bit
 * of each element from qh (bit 2g for the low nibbles of group g, 2g+1 for
 * the high ones). */
static inline __attribute__((always_inline)) void q5_k_block(const uint8_t *b, const gl_block_q8k *x,
                                                              int64_t stride, int nt, float *sum) {
    const __m256i m4 = _mm256_set1_epi8(15), one = _mm256_set1_epi8(1);
    int sc[8], m[8];
    for (int j = 0; j < 8; j++) gl_scale_min_k4(j, b + 4, &sc[j], &m[j]);
    __m256i qh = _mm256_loadu_si256((const __m256i *)(b + 16));
    __m256i acc[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256()};
    for (int g = 0; g < 4; g++) {
        __m256i q = _mm256_loadu_si256((const __m256i *)(b + 48 + 32 * g));
        __m256i h = _mm256_srli_epi16(qh, 2 * g);
        __m256i lo = _mm256_or_si256(_mm256_and_si256(q, m4), _mm256_slli_epi16(_mm256_and_si256(h, one), 4));
        __m256i hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q, 4), m4),
                                     _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 1), one), 4));
        __m256i s1 = _mm256_set1_epi16((short)sc[2 * g]), s2 = _mm256_set1_epi16((short)sc[2 * g + 1]);
        for (int t = 0; t < nt; t++) {
            const int8_t *xq = x[t * stride].qs + 64 * g;
            __m256i p1 = _mm256_maddubs_epi16(lo, _mm256_loadu_si256((const __m256i *)xq));
            __m256i p2 = _mm256_maddubs_epi16(hi, _mm256_loadu_si256((const __m256i *)(xq + 32)));
            acc[t] = _mm256_add_epi32(acc[t], _mm256_add_epi32(_mm256_madd_epi16(p1, s1), _mm256_madd_epi16(p2, s2)));
        }
    }
    k4_block_finish(b, x, stride, nt, m, acc, sum);
}

static float dot_q5_k(const void *w, const gl_block_q8k *x, int64_t n) {
    float sum = 0;
    for (int64_t i = 0; i < n / 256; i++) q5_k_block((const uint8_t *)w + 176 * i, x + i, 0, 1, &sum);
    return sum;
}

/* The four 32-element groups of one Q6_K half as unsigned 6-bit bytes. */
static inline void q6_k_half(const uint8_t *ql, const uint8_t *qh, __m256i q[4]) {
    const __m256i m4 = _mm256_set1_epi8(15), m2 = _mm256_set1_epi8(3);
    __m256i la = _mm256_loadu_si256((const __m256i *)ql), lb = _mm256_loadu_si256((const __m256i *)(ql + 32));
    __m256i h = _mm256_loadu_si256((const __m256i *)qh);
    q[0] = _mm256_or_si256(_mm256_and_si256(la, m4), _mm256_slli_epi16(_mm256_and_si256(h, m2), 4));
    q[1] = _mm256_or_si256(_mm256_and_si256(lb, m4),
                           _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 2), m2), 4));
    q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(la, 4), m4),
                           _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 4), m2), 4));
    q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(lb, 4), m4),
                           _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 6), m2), 4));
}

/* One Q6_K super-block against nt tokens, as q4_k_block. */
static inline __attribute__((always_inline)) void q6_k_block(const uint8_t *b, const gl_block_q8k *x,
                                                              int64_t stride, int nt, float *sum) {
    const int8_t *sc = (const int8_t *)(b + 192);
    __m256i acc[4] = {_mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256(), _mm256_setzero_si256()};
    for (int h = 0; h < 2; h++) {
        __m256i q[4];
        q6_k_half(b + 64 * h, b + 128 + 32 * h, q);
        for (int k = 0; k < 4; k++) {
            int s = 8 * h + 2 * k; /* sub-blocks s and s+1 */
            __m256i scv = _mm256_set_m128i(_mm_set1_epi16(sc[s + 1]), _mm_set1_epi16(sc[s]));
            for (int t = 0; t < nt; t++) {
                const int8_t *xq = x[t * stride].qs + 128 * h + 32 * k;
                __m256i p = _mm256_maddubs_epi16(q[k], _mm256_loadu_si256((const __m256i *)xq));
                acc[t] = _mm256_add_epi32(acc[t], _mm256_madd_epi16(p, scv));
            }
        }
    }
    for (int t = 0; t < nt; t++) {
        const gl_block_q8k *xt = &x[t * stride];
        int32_t bsum = 0;
        for (int j = 0; j < 16; j++) bsum += sc[j] * xt->bsums[j];
        int32_t isum = simd_sum_epi32(acc[t]) - 32 * bsum;
        sum[t] += (simd_f16_to_f32(b + 208) * xt->d) * (float)isum;
    }
}

static float dot_q6_k(const void *w, const gl_block_q8k *x, int64_t n) {
    float sum = 0;
    for (int64_t i = 0; i < n / 256; i++) q6_k_block((const uint8_t *)w + 210 * i, x + i, 0, 1, &sum);
    return sum;
}

static void gemm_q4_k(const gl_gemm_args *a) { simd_gemm_kquant(q4_k_block, 144, a); }
static void gemm_q5_k(const gl_gemm_args *a) { simd_gemm_kquant(q5_k_block, 176, a); }
static void gemm_q6_k(const gl_gemm_args *a) { simd_gemm_kquant(q6_k_block, 210, a); }

/* ==== Float weights ==== */

/* One loop shape for F32, F16 and BF16 rows: two accumulators over 16
 * elements, then 8, then a scalar tail. F16/BF16 are widened exactly, so
 * dot_f16(w, x) == dot_f32(widened w, x) bit for bit, and dot_f32_x4 repeats
 * the shape for four tokens. */
typedef __m256 (*load8_fn)(const void *w, int64_t i);
typedef float (*load1_fn)(const void *w, int64_t i);

static inline __m256 load8_f32(const void *w, int64_t i) { return _mm256_loadu_ps((const float *)w + i); }
static inline float load1_f32(const void *w, int64_t i) { return ((const float *)w)[i]; }
static inline __m256 load8_f16(const void *w, int64_t i) {
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const uint16_t *)w + i)));
}
static inline float load1_f16(const void *w, int64_t i) { return simd_f16_to_f32((const uint8_t *)w + 2 * i); }
static inline __m256 load8_bf16(const void *w, int64_t i) {
    __m256i v = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)((const uint16_t *)w + i)));
    return _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
}
static inline float load1_bf16(const void *w, int64_t i) { return gl_bf16_to_fp32(gl_load_u16((const uint8_t *)w + 2 * i)); }

static inline __attribute__((always_inline)) float dot_float(load8_fn load8, load1_fn load1, const void *w,
                                                              const float *x, int64_t n) {
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        a0 = _mm256_fmadd_ps(load8(w, i), _mm256_loadu_ps(x + i), a0);
        a1 = _mm256_fmadd_ps(load8(w, i + 8), _mm256_loadu_ps(x + i + 8), a1);
    }
    for (; i + 8 <= n; i += 8) a0 = _mm256_fmadd_ps(load8(w, i), _mm256_loadu_ps(x + i), a0);
    float sum = simd_sum8_ps(_mm256_add_ps(a0, a1));
    for (; i < n; i++) sum += load1(w, i) * x[i];
    return sum;
}

static float dot_f32(const float *w, const float *x, int64_t n) { return dot_float(load8_f32, load1_f32, w, x, n); }
static float dot_f16(const void *w, const float *x, int64_t n) { return dot_float(load8_f16, load1_f16, w, x, n); }
static float dot_bf16(const void *w, const float *x, int64_t n) { return dot_float(load8_bf16, load1_bf16, w, x, n); }

static void dot_f32_x4(const float *w, const float *x, int64_t stride, float out[4], int64_t n) {
    __m256 a0[4], a1[4];
    for (int t = 0; t < 4; t++) a0[t] = a1[t] = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256 w0 = _mm256_loadu_ps(w + i), w1 = _mm256_loadu_ps(w + i + 8);
        for (int t = 0; t < 4; t++) {
            a0[t] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(x + t * stride + i), a0[t]);
            a1[t] = _mm256_fmadd_ps(w1, _mm256_loadu_ps(x + t * stride + i + 8), a1[t]);
        }
    }
    for (; i + 8 <= n; i += 8) {
        __m256 w0 = _mm256_loadu_ps(w + i);
        for (int t = 0; t < 4; t++) a0[t] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(x + t * stride + i), a0[t]);
    }
    for (int t = 0; t < 4; t++) {
        float sum = simd_sum8_ps(_mm256_add_ps(a0[t], a1[t]));
        for (int64_t j = i; j < n; j++) sum += w[j] * x[t * stride + j];
        out[t] = sum;
    }
}

static void f16_to_f32(const void *w, float *out, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, load8_f16(w, i));
    for (; i < n; i++) out[i] = load1_f16(w, i);
}

static void bf16_to_f32(const void *w, float *out, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, load8_bf16(w, i));
    for (; i < n; i++) out[i] = load1_bf16(w, i);
}

/* Float batches: each row (widened once into scratch for F16/BF16) against
 * four tokens per pass. */
static void gemm_float_row(const float *w, int64_t r, const gl_gemm_args *a) {
    int64_t xs = (int64_t)(a->x_row_bytes / sizeof(float)), t = 0;
    const float *x = a->x;
    float *y = a->y + r;
    for (; t + 4 <= a->n_tok; t += 4) {
        float out[4];
        dot_f32_x4(w, x + t * xs, xs, out, a->n);
        for (int k = 0; k < 4; k++) y[(t + k) * a->y_stride] = a->accumulate ? y[(t + k) * a->y_stride] + out[k] : out[k];
    }
    for (; t < a->n_tok; t++) {
        float d = dot_f32(w, x + t * xs, a->n);
        y[t * a->y_stride] = a->accumulate ? y[t * a->y_stride] + d : d;
    }
}

static void gemm_f32(const gl_gemm_args *a) {
    if (a->w_columns) {
        gl_gemm_f32_columns(a);
        return;
    }
    for (int64_t r = 0; r < a->n_rows; r++)
        gemm_float_row((const float *)((const char *)a->w + (size_t)r * a->row_bytes), r, a);
}

GL_GEMM_BY_DOTS(gemm_f16_by_dots, dot_f16, float)
GL_GEMM_BY_DOTS(gemm_bf16_by_dots, dot_bf16, float)

static void gemm_f16(const gl_gemm_args *a) {
    if (a->n_tok < GL_GEMM_PACK_MIN_TOKENS) {
        gemm_f16_by_dots(a);
        return;
    }
    for (int64_t r = 0; r < a->n_rows; r++) {
        f16_to_f32((const char *)a->w + (size_t)r * a->row_bytes, a->scratch, a->n);
        gemm_float_row(a->scratch, r, a);
    }
}

static void gemm_bf16(const gl_gemm_args *a) {
    if (a->n_tok < GL_GEMM_PACK_MIN_TOKENS) {
        gemm_bf16_by_dots(a);
        return;
    }
    for (int64_t r = 0; r < a->n_rows; r++) {
        bf16_to_f32((const char *)a->w + (size_t)r * a->row_bytes, a->scratch, a->n);
        gemm_float_row(a->scratch, r, a);
    }
}

static float max_f32(const float *x, int64_t n) {
    __m256 m0 = _mm256_set1_ps(x[0]), m1 = m0;
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        m0 = _mm256_max_ps(m0, _mm256_loadu_ps(x + i));
        m1 = _mm256_max_ps(m1, _mm256_loadu_ps(x + i + 8));
    }
    float lanes[8], m;
    _mm256_storeu_ps(lanes, _mm256_max_ps(m0, m1));
    m = lanes[0];
    for (int j = 1; j < 8; j++) m = lanes[j] > m ? lanes[j] : m;
    for (; i < n; i++) m = x[i] > m ? x[i] : m;
    return m;
}

static float exp_shift(float *x, int64_t n, float shift) {
    __m256 acc = _mm256_setzero_ps(), s = _mm256_set1_ps(shift);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 e = simd_exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), s));
        _mm256_storeu_ps(x + i, e);
        acc = _mm256_add_ps(acc, e);
    }
    float sum = simd_sum8_ps(acc);
    for (; i < n; i++) {
        x[i] = expf(x[i] - shift);
        sum += x[i];
    }
    return sum;
}

/* ==== Activations ==== */

/* x / (1 + exp(-k x)), i.e. x * sigmoid(k x); exp overflows to +inf for very
 * negative x, giving -0 or 0 as the function's limit. */
static inline __m256 x_sigmoid8(__m256 x, __m256 kx) {
    __m256 e = simd_exp8(_mm256_sub_ps(_mm256_setzero_ps(), kx));
    return _mm256_div_ps(x, _mm256_add_ps(_mm256_set1_ps(1.0f), e));
}

/* erf(x), Abramowitz and Stegun 7.1.26: |error| <= 1.5e-7. */
static inline __m256 erf8(__m256 x) {
    __m256 sign = _mm256_and_ps(x, _mm256_set1_ps(-0.0f)), a = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x);
    __m256 t = _mm256_div_ps(_mm256_set1_ps(1.0f), _mm256_fmadd_ps(_mm256_set1_ps(0.3275911f), a, _mm256_set1_ps(1.0f)));
    __m256 p = _mm256_set1_ps(1.061405429f);
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-1.453152027f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(1.421413741f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-0.284496736f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(0.254829592f));
    p = _mm256_mul_ps(p, t);
    __m256 e = simd_exp8(_mm256_sub_ps(_mm256_setzero_ps(), _mm256_mul_ps(a, a)));
    return _mm256_or_ps(sign, _mm256_fnmadd_ps(p, e, _mm256_set1_ps(1.0f)));
}

#define ACTIVATION8(name, body, scalar)                                      \
    static void name(float *x, int64_t n) {                                  \
        int64_t i = 0;                                                       \
        for (; i + 8 <= n; i += 8) {                                         \
            __m256 v = _mm256_loadu_ps(x + i);                               \
            _mm256_storeu_ps(x + i, body);                                   \
        }                                                                    \
        for (; i < n; i++) x[i] = scalar;                                    \
    }

ACTIVATION8(gelu_tanh,
            x_sigmoid8(v, _mm256_mul_ps(_mm256_set1_ps(1.5957691216057308f),
                                        _mm256_fmadd_ps(_mm256_mul_ps(_mm256_set1_ps(0.044715f), v),
                                                        _mm256_mul_ps(v, v), v))),
            x[i] / (1.0f + expf(-1.5957691216057308f * (x[i] + 0.044715f * x[i] * x[i] * x[i]))))
ACTIVATION8(gelu_erf,
            _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), v),
                          _mm256_add_ps(_mm256_set1_ps(1.0f), erf8(_mm256_mul_ps(v, _mm256_set1_ps(0.70710678118654752f))))),
            0.5f * x[i] * (1.0f + erff(x[i] * 0.70710678118654752f)))
ACTIVATION8(gelu_quick, x_sigmoid8(v, _mm256_mul_ps(_mm256_set1_ps(1.702f), v)), x[i] / (1.0f + expf(-1.702f * x[i])))

static void silu_mul(float *gate, const float *up, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 g = _mm256_loadu_ps(gate + i);
        _mm256_storeu_ps(gate + i, _mm256_mul_ps(x_sigmoid8(g, g), _mm256_loadu_ps(up + i)));
    }
    for (; i < n; i++) gate[i] = gate[i] / (1.0f + expf(-gate[i])) * up[i];
}

/* ==== Throughput probes ==== */

/* Twelve independent chains cover the FMA latency (4-5 cycles) on two ports. */
static double probe_f32(int64_t iters, float *sink) {
    __m256 a[12], m = _mm256_set1_ps(0.999f), c = _mm256_set1_ps(0.001f);
    for (int j = 0; j < 12; j++) a[j] = _mm256_set1_ps((float)j);
    for (int64_t i = 0; i < iters; i++)
        for (int j = 0; j < 12; j++) a[j] = _mm256_fmadd_ps(a[j], m, c);
    for (int j = 1; j < 12; j++) a[0] = _mm256_add_ps(a[0], a[j]);
    *sink = simd_sum8_ps(a[0]);
    return 12.0 * 8 * 2 * (double)iters;
}

/* maddubs + madd: 32 byte products per pair of instructions. */
static double probe_i8(int64_t iters, int32_t *sink) {
    __m256i a[8], u = _mm256_set1_epi8(3), s = _mm256_set1_epi8(-2), one = _mm256_set1_epi16(1);
    for (int j = 0; j < 8; j++) a[j] = _mm256_set1_epi32(j);
    for (int64_t i = 0; i < iters; i++)
        for (int j = 0; j < 8; j++) a[j] = _mm256_add_epi32(a[j], _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), one));
    for (int j = 1; j < 8; j++) a[0] = _mm256_add_epi32(a[0], a[j]);
    *sink = simd_sum_epi32(a[0]);
    return 8.0 * 32 * 2 * (double)iters;
}

static uint64_t probe_read(const void *buf, size_t n) {
    const __m256i *p = buf;
    __m256i a = _mm256_setzero_si256(), b = a, c = a, d = a;
    for (size_t i = 0; i < n / 32; i += 8) {
        a = _mm256_add_epi64(a, _mm256_add_epi64(_mm256_load_si256(p + i), _mm256_load_si256(p + i + 1)));
        b = _mm256_add_epi64(b, _mm256_add_epi64(_mm256_load_si256(p + i + 2), _mm256_load_si256(p + i + 3)));
        c = _mm256_add_epi64(c, _mm256_add_epi64(_mm256_load_si256(p + i + 4), _mm256_load_si256(p + i + 5)));
        d = _mm256_add_epi64(d, _mm256_add_epi64(_mm256_load_si256(p + i + 6), _mm256_load_si256(p + i + 7)));
    }
    __m256i s = _mm256_add_epi64(_mm256_add_epi64(a, b), _mm256_add_epi64(c, d));
    return (uint64_t)_mm256_extract_epi64(s, 0) ^ (uint64_t)_mm256_extract_epi64(s, 3);
}

const gl_kernels gl_kernels_avx2 = {
    .name = "avx2",
    .quantize_q8a = gl_quantize_q8a_avx2,
    .quantize_q8k = gl_quantize_q8k_avx2,
    .dot_q8_0 = dot_q8_0,
    .dot_q4_0 = dot_q4_0,
    .dot_q4_k = dot_q4_k,
    .dot_q6_k = dot_q6_k,
    .dot_q5_k = dot_q5_k,
    .dot_f32 = dot_f32,
    .dot_f16 = dot_f16,
    .dot_bf16 = dot_bf16,
    .gemm_q8_0 = gemm_q8_0,
    .gemm_q4_0 = gemm_q4_0,
    .gemm_q4_k = gemm_q4_k,
    .gemm_q5_k = gemm_q5_k,
    .gemm_q6_k = gemm_q6_k,
    .gemm_f32 = gemm_f32,
    .gemm_f16 = gemm_f16,
    .gemm_bf16 = gemm_bf16,
    .max_f32 = max_f32,
    .exp_shift = exp_shift,
    .gelu_tanh = gelu_tanh,
    .gelu_erf = gelu_erf,
    .gelu_quick = gelu_quick,
    .silu_mul = silu_mul,
    .probe_f32 = probe_f32,
    .probe_i8 = probe_i8,
    .probe_read = probe_read,
    .f16_to_f32 = f16_to_f32,
    .bf16_to_f32 = bf16_to_f32,
};
