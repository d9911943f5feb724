/* dot_avx512.c - AVX-512 versions of the matmul kernels (kernels.h).
 *
 * The integer kernels use VNNI (vpdpbusd: four u8*s8 products summed into
 * int32 in one instruction): for one token 256-bit (32-element types) or
 * AVX512-BW multiply-adds (K-quants) straight from the weights; for batches
 * blocked 512-bit GEMMs on weight panels repacked with rows in the lanes.
 * The float kernels use 512-bit FMA, blocked for batches. The activation
 * quantisers are the AVX2 ones. Integer results equal dot_scalar.c's bits. */
#include "kernels.h"
#include "quant.h"
#include "simd_avx2.h"
#include "simd_avx512.h"

#include <string.h>

/* ==== 32-element types (VNNI) ==== */

/* vpdpbusd multiplies unsigned by signed bytes, so weights enter unsigned:
 * Q8_0 as w + 128 (a sign-bit flip), Q4_0 as its stored nibble q = w + 8;
 * the offset times the block's activation sum (x->sum << shift) is taken off
 * the exact integer sum afterwards. */
#define Q8_0_SHIFT 7
#define Q4_0_SHIFT 3

static inline __m256i block_q8_0(const uint8_t *b, const gl_block_q8a *x) {
    __m256i w = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(b + 2)), _mm256_set1_epi8(-128));
    return _mm256_dpbusd_epi32(_mm256_setzero_si256(), w, _mm256_loadu_si256((const __m256i *)x->qs));
}

static inline __m256i block_q4_0(const uint8_t *b, const gl_block_q8a *x) {
    __m256i xv = _mm256_loadu_si256((const __m256i *)x->qs);
    return _mm256_dpbusd_epi32(_mm256_setzero_si256(), simd_q4_0_nibbles(b), xv);
}

static float dot_q8_0(const void *w, const gl_block_q8a *x, int64_t n) {
    return simd_dot_blocks32(block_q8_0, Q8_0_SHIFT, 34, w, x, n / 32);
}

static float dot_q4_0(const void *w, const gl_block_q8a *x, int64_t n) {
    return simd_dot_blocks32(block_q4_0, Q4_0_SHIFT, 18, w, x, n / 32);
}

/* The blocked GEMM. Sixteen weight rows are repacked into a panel whose
 * vector lanes are rows: for each block, eight 64-byte vectors holding four
 * consecutive unsigned weight bytes of each of the 16 rows (elements 4k..4k+3
 * in vector k), then the 16 row scales as f32. A micro-kernel keeps MR
 * panels x NR tokens of int32 block sums and f32 row sums in registers:
 * per block and k it loads MR weight vectors and broadcasts four activation
 * bytes per token, so each weight byte is used NR times and each activation
 * byte MR*16 times. Lane r of a sum holds exactly row r's integer block sum
 * (the correction enters as the initial value), then takes one FMA per block:
 * kernels.h's order. K is walked in chunks of KC blocks so the packed chunk
 * stays in L1 while the tokens stream past. */
#define MR 2
#define NR 6
#define KC 24
#define PACKED32 576 /* bytes of one block of a panel: 8 x 64 quants, 16 f32 scales */

/* Rows 0..nr-1 (nr <= 16) of a 32-element type, row_bytes apart, as panel p;
 * absent rows get scale 0. */
static inline __m512i row_offsets(size_t row_bytes) {
    return _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                              _mm512_set1_epi32((int)row_bytes));
}

static inline void pack_scales(const uint8_t *b, __m512i idx, __mmask16 m, uint8_t *dst) {
    __m512i h = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), m, idx, b, 1);
    _mm512_store_ps(dst, _mm512_cvtph_ps(_mm512_cvtepi32_epi16(h)));
}

static void pack_q8_0(const uint8_t *w, size_t row_bytes, int nr, int64_t nb, uint8_t *p) {
    __m512i idx = row_offsets(row_bytes);
    __mmask16 m = (__mmask16)((1u << nr) - 1);
    for (int64_t i = 0; i < nb; i++, p += PACKED32) {
        const uint8_t *b = w + 34 * i;
        for (int k = 0; k < 8; k++) {
            __m512i v = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), m, idx, b + 2 + 4 * k, 1);
            _mm512_store_si512(p + 64 * k, _mm512_xor_si512(v, _mm512_set1_epi8(-128)));
        }
        pack_scales(b, idx, m, p + 512);
    }
}

static void pack_q4_0(const uint8_t *w, size_t row_bytes, int nr, int64_t nb, uint8_t *p) {
    __m512i idx = row_offsets(row_bytes);
    __mmask16 m = (__mmask16)((1u << nr) - 1);
    const __m512i m4 = _mm512_set1_epi8(15);
    for (int64_t i = 0; i < nb; i++, p += PACKED32) {
        const uint8_t *b = w + 18 * i;
        for (int k = 0; k < 4; k++) {
            __m512i v = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), m, idx, b + 2 + 4 * k, 1);
            _mm512_store_si512(p + 64 * k, _mm512_and_si512(v, m4));
            _mm512_store_si512(p + 64 * (k + 4), _mm512_and_si512(_mm512_srli_epi16(v, 4), m4));
        }
        pack_scales(b, idx, m, p + 512);
    }
}

static inline int32_t load_i32(const int8_t *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* Blocks [b0, b1) of mr panels (pstride bytes apart) times nt tokens; the row
 * sums continue from y (b0 > 0) or from 0, and are stored back to y. */
static inline __attribute__((always_inline)) void tile32(const uint8_t *panel, size_t pstride, int mr, int nt,
                                                          const gl_gemm_args *a, int64_t t0, int64_t b0, int64_t b1,
                                                          int shift, int64_t r0, __mmask16 mask[MR]) {
    const gl_block_q8a *x[NR];
    for (int t = 0; t < nt; t++) x[t] = (const gl_block_q8a *)(const void *)((const char *)a->x + (size_t)(t0 + t) * a->x_row_bytes);
    __m512 f[MR][NR];
    for (int r = 0; r < mr; r++)
        for (int t = 0; t < nt; t++)
            f[r][t] = b0 ? _mm512_maskz_loadu_ps(mask[r], a->y + (t0 + t) * a->y_stride + r0 + 16 * r) : _mm512_setzero_ps();
    for (int64_t i = b0; i < b1; i++) {
        const uint8_t *pb = panel + i * PACKED32;
        __m512i acc[MR][NR];
        for (int t = 0; t < nt; t++) {
            __m512i c = _mm512_set1_epi32(-(x[t][i].sum * (1 << shift)));
            for (int r = 0; r < mr; r++) acc[r][t] = c;
        }
        for (int k = 0; k < 8; k++) {
            __m512i wv[MR];
            for (int r = 0; r < mr; r++) wv[r] = _mm512_load_si512(pb + r * pstride + 64 * k);
            for (int t = 0; t < nt; t++) {
                __m512i xv = _mm512_set1_epi32(load_i32(x[t][i].qs + 4 * k));
                for (int r = 0; r < mr; r++) acc[r][t] = _mm512_dpbusd_epi32(acc[r][t], wv[r], xv);
            }
        }
        __m512 dw[MR];
        for (int r = 0; r < mr; r++) dw[r] = _mm512_load_ps(pb + r * pstride + 512);
        for (int t = 0; t < nt; t++) {
            __m512 dx = _mm512_set1_ps(x[t][i].d);
            for (int r = 0; r < mr; r++)
                f[r][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc[r][t]), _mm512_mul_ps(dw[r], dx), f[r][t]);
        }
    }
    if (a->bias && b1 == a->n / 32) /* the last blocks: the bias, as adding it afterwards would */
        for (int r = 0; r < mr; r++) {
            __m512 bv = _mm512_maskz_loadu_ps(mask[r], a->bias + r0 + 16 * r);
            for (int t = 0; t < nt; t++) f[r][t] = _mm512_add_ps(f[r][t], bv);
        }
    for (int r = 0; r < mr; r++)
        for (int t = 0; t < nt; t++) _mm512_mask_storeu_ps(a->y + (t0 + t) * a->y_stride + r0 + 16 * r, mask[r], f[r][t]);
}

/* tile32 with mr and nt known at compile time, so the sums live in registers. */
#define TILE32_CASE(MRV, NTV)                                                                   \
    case (MRV) * 8 + (NTV): tile32(panel, pstride, MRV, NTV, a, t0, b0, b1, shift, r0, mask); break;

static void tile32_any(const uint8_t *panel, size_t pstride, int mr, int nt, const gl_gemm_args *a, int64_t t0,
                       int64_t b0, int64_t b1, int shift, int64_t r0, __mmask16 mask[MR]) {
    switch (mr * 8 + nt) {
        TILE32_CASE(1, 1) TILE32_CASE(1, 2) TILE32_CASE(1, 3) TILE32_CASE(1, 4) TILE32_CASE(1, 5) TILE32_CASE(1, 6)
        TILE32_CASE(2, 1) TILE32_CASE(2, 2) TILE32_CASE(2, 3) TILE32_CASE(2, 4) TILE32_CASE(2, 5) TILE32_CASE(2, 6)
    default: break;
    }
}

typedef void (*pack32_fn)(const uint8_t *w, size_t row_bytes, int nr, int64_t nb, uint8_t *p);

static void gemm_packed32(pack32_fn pack, int shift, const gl_gemm_args *a) {
    int64_t nb = a->n / 32;
    size_t pstride = (size_t)nb * PACKED32;
    uint8_t *panel = a->scratch;
    for (int64_t r0 = 0; r0 < a->n_rows; r0 += 16 * MR) {
        int64_t rows = a->n_rows - r0 < 16 * MR ? a->n_rows - r0 : 16 * MR;
        int mr = (int)((rows + 15) / 16);
        __mmask16 mask[MR];
        for (int r = 0; r < mr; r++) {
            int nr = rows - 16 * r < 16 ? (int)(rows - 16 * r) : 16;
            mask[r] = (__mmask16)((1u << nr) - 1);
            pack((const uint8_t *)a->w + (size_t)(r0 + 16 * r) * a->row_bytes, a->row_bytes, nr, nb, panel + r * pstride);
        }
        for (int64_t b0 = 0; b0 < nb; b0 += KC) {
            int64_t b1 = b0 + KC < nb ? b0 + KC : nb;
            for (int64_t t0 = 0; t0 < a->n_tok; t0 += NR) {
                int nt = a->n_tok - t0 < NR ? (int)(a->n_tok - t0) : NR;
                tile32_any(panel, pstride, mr, nt, a, t0, b0, b1, shift, r0, mask);
            }
        }
    }
}

/* Fewer tokens than GL_GEMM_PACK_MIN_TOKENS go eight rows at a time straight
 * from the weights: repacking would cost as much as the product. */

static void gemm_q8_0(const gl_gemm_args *a) {
    if (a->n_tok < GL_GEMM_PACK_MIN_TOKENS)
        simd_gemm_rows8(block_q8_0, Q8_0_SHIFT, 34, a);
    else
        gemm_packed32(pack_q8_0, Q8_0_SHIFT, a);
}

static void gemm_q4_0(const gl_gemm_args *a) {
    if (a->n_tok < GL_GEMM_PACK_MIN_TOKENS)
        simd_gemm_rows8(block_q4_0, Q4_0_SHIFT, 18, a);
    else
        gemm_packed32(pack_q4_0, Q4_0_SHIFT, a);
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

/* The end of a Q4_K/Q5_K super-block against nt tokens: the integer sums
 * acc[t] times the block's scale, less its minimums (m, one per sub-block)
 * times the tokens' sub-block sums; both types keep d, dmin and the scales
 * at the same offsets. */
static inline __attribute__((always_inline)) void k4_block_finish(const uint8_t *b, const gl_block_q8k *x,
                                                                  int64_t stride, int nt, const int *m,
                                                                  const __m512i *acc, float *sum) {
    for (int t = 0; t < nt; t++) {
        const gl_block_q8k *xt = &x[t * stride];
        int32_t msum = 0;
        for (int j = 0; j < 8; j++) msum += m[j] * (xt->bsums[2 * j] + xt->bsums[2 * j + 1]);
        float d = simd_f16_to_f32(b) * xt->d;
        float dmin = simd_f16_to_f32(b + 2) * xt->d;
        sum[t] += d * (float)sum_epi32_512(acc[t]) - dmin * (float)msum;
    }
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
    k4_block_finish(b, x, stride, nt, m, acc, sum);
}

static float dot_q4_k(const void *w, const gl_block_q8k *x, int64_t n) {
    float sum = 0;
    for (int64_t i = 0; i < n / 256; i++) q4_k_block((const uint8_t *)w + 144 * i, x + i, 0, 1, &sum);
    return sum;
}

/* One Q5_K super-block against nt tokens: q4_k_block with the fifth bit of
 * each element from qh (bit 2g for group g's low nibbles, 2g+1 for its high
 * ones). */
static inline __attribute__((always_inline)) void q5_k_block(const uint8_t *b, const gl_block_q8k *x,
                                                              int64_t stride, int nt, float *sum) {
    const __m256i m4 = _mm256_set1_epi8(15), one = _mm256_set1_epi8(1);
    int sc[8], m[8];
    for (int j = 0; j < 8; j++) gl_scale_min_k4(j, b + 4, &sc[j], &m[j]);
    __m256i qh = _mm256_loadu_si256((const __m256i *)(b + 16));
    __m512i acc[4] = {_mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512()};
    for (int g = 0; g < 4; g++) {
        __m256i q = _mm256_loadu_si256((const __m256i *)(b + 48 + 32 * g));
        __m256i h = _mm256_srli_epi16(qh, 2 * g);
        __m256i lo = _mm256_or_si256(_mm256_and_si256(q, m4), _mm256_slli_epi16(_mm256_and_si256(h, one), 4));
        __m256i hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q, 4), m4),
                                     _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 1), one), 4));
        __m512i q2 = _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
        __m512i s2 = scales2(sc[2 * g], sc[2 * g + 1]);
        for (int t = 0; t < nt; t++) {
            __m512i p = _mm512_maddubs_epi16(q2, _mm512_loadu_si512(x[t * stride].qs + 64 * g));
            acc[t] = _mm512_add_epi32(acc[t], _mm512_madd_epi16(p, s2));
        }
    }
    k4_block_finish(b, x, stride, nt, m, acc, sum);
}

static float dot_q5_k(const void *w, const gl_block_q8k *x, int64_t n) {
    float sum = 0;
    for (int64_t i = 0; i < n / 256; i++) q5_k_block((const uint8_t *)w + 176 * i, x + i, 0, 1, &sum);
    return sum;
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

/* The blocked GEMM for Q4_K and Q5_K, on gemm_packed32's plan: 16 rows per
 * panel with rows in the vector lanes, per super-block the unsigned quants
 * of its eight 32-element sub-blocks ([sub-block][k][row][4 bytes]), each
 * sub-block's 6-bit scale per row as int32, the 6-bit mins as int16 pairs
 * (sub-blocks 2p, 2p+1) and d, dmin as f32. A sub-block's integer sum is
 * multiplied by its scale in int32 (vpmulld) and the mins meet the
 * activations' group sums in vpdpwssd, so each lane holds exactly the
 * scalar kernel's isum and msum and ends the super-block with its float
 * expression. */
#define NRK 4   /* tokens per micro-kernel: three int32 sets and the f32 sums fill the registers */
#define KCS 2   /* super-blocks per K chunk: 2 x 5760 bytes per panel stay in L1 */
#define PK_Q 0
#define PK_SC 4096
#define PK_MIN 4608
#define PK_D 4864
#define PK_DMIN 4928
#define PACKEDK 4992 /* bytes per super-block of a panel */

/* Q4_K (qh == 0) or Q5_K (fifth bits from qh) rows 0..nr-1 of super-block i. */
static void pack_q45_k(const uint8_t *w, size_t row_bytes, int nr, int64_t i, int five, uint8_t *p) {
    const int block = five ? 176 : 144, qs_at = five ? 48 : 16;
    __m512i idx = row_offsets(row_bytes);
    __mmask16 m = (__mmask16)((1u << nr) - 1);
    const uint8_t *b = w + (size_t)i * (size_t)block;
    const __m512i m4 = _mm512_set1_epi8(15), one = _mm512_set1_epi8(1);
    for (int g = 0; g < 4; g++)
        for (int k = 0; k < 8; k++) {
            __m512i q = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), m, idx, b + qs_at + 32 * g + 4 * k, 1);
            __m512i lo = _mm512_and_si512(q, m4), hi = _mm512_and_si512(_mm512_srli_epi16(q, 4), m4);
            if (five) {
                __m512i h = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), m, idx, b + 16 + 4 * k, 1);
                h = _mm512_srli_epi16(h, 2 * g);
                lo = _mm512_or_si512(lo, _mm512_slli_epi16(_mm512_and_si512(h, one), 4));
                hi = _mm512_or_si512(hi, _mm512_slli_epi16(_mm512_and_si512(_mm512_srli_epi16(h, 1), one), 4));
            }
            _mm512_store_si512(p + PK_Q + 64 * (8 * (2 * g) + k), lo);
            _mm512_store_si512(p + PK_Q + 64 * (8 * (2 * g + 1) + k), hi);
        }
    int32_t *sc = (int32_t *)(void *)(p + PK_SC), *mins = (int32_t *)(void *)(p + PK_MIN);
    for (int r = 0; r < 16; r++) {
        int s[8] = {0}, mn[8] = {0};
        for (int j = 0; r < nr && j < 8; j++) gl_scale_min_k4(j, b + (size_t)r * row_bytes + 4, &s[j], &mn[j]);
        for (int j = 0; j < 8; j++) sc[16 * j + r] = s[j];
        for (int q = 0; q < 4; q++) mins[16 * q + r] = (int32_t)((uint32_t)mn[2 * q] | (uint32_t)mn[2 * q + 1] << 16);
    }
    __m512i dd = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), m, idx, b, 1);
    _mm512_store_ps(p + PK_D, _mm512_cvtph_ps(_mm512_cvtepi32_epi16(dd)));
    _mm512_store_ps(p + PK_DMIN, _mm512_cvtph_ps(_mm512_cvtepi32_epi16(_mm512_srli_epi32(dd, 16))));
}

static inline __attribute__((always_inline)) void tile_q45_k(const uint8_t *panel, size_t pstride, int mr, int nt,
                                                              const gl_gemm_args *a, int64_t t0, int64_t b0,
                                                              int64_t b1, int64_t r0, __mmask16 mask[MR]) {
    const gl_block_q8k *x[NRK];
    for (int t = 0; t < nt; t++) x[t] = (const gl_block_q8k *)(const void *)((const char *)a->x + (size_t)(t0 + t) * a->x_row_bytes);
    __m512 f[MR][NRK];
    for (int r = 0; r < mr; r++)
        for (int t = 0; t < nt; t++)
            f[r][t] = b0 ? _mm512_maskz_loadu_ps(mask[r], a->y + (t0 + t) * a->y_stride + r0 + 16 * r) : _mm512_setzero_ps();
    for (int64_t i = b0; i < b1; i++) {
        const uint8_t *pb = panel + (i - b0) * PACKEDK;
        __m512i isum[MR][NRK], msum[MR][NRK];
        for (int r = 0; r < mr; r++)
            for (int t = 0; t < nt; t++) isum[r][t] = msum[r][t] = _mm512_setzero_si512();
        for (int j = 0; j < 8; j++) {
            __m512i sub[MR][NRK];
            for (int r = 0; r < mr; r++)
                for (int t = 0; t < nt; t++) sub[r][t] = _mm512_setzero_si512();
            for (int k = 0; k < 8; k++) {
                __m512i wv[MR];
                for (int r = 0; r < mr; r++) wv[r] = _mm512_load_si512(pb + r * pstride + PK_Q + 64 * (8 * j + k));
                for (int t = 0; t < nt; t++) {
                    __m512i xv = _mm512_set1_epi32(load_i32(x[t][i].qs + 32 * j + 4 * k));
                    for (int r = 0; r < mr; r++) sub[r][t] = _mm512_dpbusd_epi32(sub[r][t], wv[r], xv);
                }
            }
            for (int r = 0; r < mr; r++) {
                __m512i sc = _mm512_load_si512(pb + r * pstride + PK_SC + 64 * j);
                for (int t = 0; t < nt; t++) isum[r][t] = _mm512_add_epi32(isum[r][t], _mm512_mullo_epi32(sub[r][t], sc));
            }
        }
        for (int q = 0; q < 4; q++) {
            __m512i mn[MR];
            for (int r = 0; r < mr; r++) mn[r] = _mm512_load_si512(pb + r * pstride + PK_MIN + 64 * q);
            for (int t = 0; t < nt; t++) {
                const int16_t *bs = x[t][i].bsums + 4 * q; /* groups of 16: sub-block 2q is bs[0..1], 2q+1 bs[2..3] */
                uint32_t pair = (uint16_t)(bs[0] + bs[1]) | (uint32_t)(uint16_t)(bs[2] + bs[3]) << 16;
                __m512i xs = _mm512_set1_epi32((int32_t)pair);
                for (int r = 0; r < mr; r++) msum[r][t] = _mm512_dpwssd_epi32(msum[r][t], mn[r], xs);
            }
        }
        for (int r = 0; r < mr; r++) {
            __m512 d = _mm512_load_ps(pb + r * pstride + PK_D), dmin = _mm512_load_ps(pb + r * pstride + PK_DMIN);
            for (int t = 0; t < nt; t++) {
                __m512 dx = _mm512_set1_ps(x[t][i].d);
                __m512 t1 = _mm512_mul_ps(_mm512_mul_ps(d, dx), _mm512_cvtepi32_ps(isum[r][t]));
                __m512 t2 = _mm512_mul_ps(_mm512_mul_ps(dmin, dx), _mm512_cvtepi32_ps(msum[r][t]));
                f[r][t] = _mm512_add_ps(f[r][t], _mm512_sub_ps(t1, t2));
            }
        }
    }
    for (int r = 0; r < mr; r++)
        for (int t = 0; t < nt; t++) _mm512_mask_storeu_ps(a->y + (t0 + t) * a->y_stride + r0 + 16 * r, mask[r], f[r][t]);
}

#define TILEK_CASE(MRV, NTV)                                                                    \
    case (MRV) * 8 + (NTV): tile_q45_k(panel, pstride, MRV, NTV, a, t0, b0, b1, r0, mask); break;

static void tile_q45_k_any(const uint8_t *panel, size_t pstride, int mr, int nt, const gl_gemm_args *a, int64_t t0,
                           int64_t b0, int64_t b1, int64_t r0, __mmask16 mask[MR]) {
    switch (mr * 8 + nt) {
        TILEK_CASE(1, 1) TILEK_CASE(1, 2) TILEK_CASE(1, 3) TILEK_CASE(1, 4)
        TILEK_CASE(2, 1) TILEK_CASE(2, 2) TILEK_CASE(2, 3) TILEK_CASE(2, 4)
    default: break;
    }
}

static void gemm_packed_q45_k(int five, const gl_gemm_args *a) {
    int64_t nb = a->n / 256;
    size_t pstride = (size_t)KCS * PACKEDK;
    uint8_t *panel = a->scratch;
    for (int64_t r0 = 0; r0 < a->n_rows; r0 += 16 * MR) {
        int64_t rows = a->n_rows - r0 < 16 * MR ? a->n_rows - r0 : 16 * MR;
        int mr = (int)((rows + 15) / 16);
        __mmask16 mask[MR];
        for (int r = 0; r < mr; r++)
            mask[r] = (__mmask16)((1u << (rows - 16 * r < 16 ? rows - 16 * r : 16)) - 1);
        for (int64_t b0 = 0; b0 < nb; b0 += KCS) {
            int64_t b1 = b0 + KCS < nb ? b0 + KCS : nb;
            for (int r = 0; r < mr; r++)
                for (int64_t i = b0; i < b1; i++)
                    pack_q45_k((const uint8_t *)a->w + (size_t)(r0 + 16 * r) * a->row_bytes, a->row_bytes,
                               rows - 16 * r < 16 ? (int)(rows - 16 * r) : 16, i, five,
                               panel + r * pstride + (size_t)(i - b0) * PACKEDK);
            for (int64_t t0 = 0; t0 < a->n_tok; t0 += NRK) {
                int nt = a->n_tok - t0 < NRK ? (int)(a->n_tok - t0) : NRK;
                tile_q45_k_any(panel, pstride, mr, nt, a, t0, b0, b1, r0, mask);
            }
        }
    }
}

static void gemm_q4_k(const gl_gemm_args *a) {
    if (a->n_tok < GL_GEMM_PACK_MIN_TOKENS)
        simd_gemm_kquant(q4_k_block, 144, a);
    else
        gemm_packed_q45_k(0, a);
}

static void gemm_q5_k(const gl_gemm_args *a) {
    if (a->n_tok < GL_GEMM_PACK_MIN_TOKENS)
        simd_gemm_kquant(q5_k_block, 176, a);
    else
        gemm_packed_q45_k(1, a);
}

/* Q6_K on the same plan: 6-bit unsigned quants (the stored q, offset 32),
 * sixteen 16-element sub-blocks whose int8 scales apply to the two halves of
 * each 32-element group, and the offset taken off as 32 * sum_j sc_j bsums_j
 * through vpdpwssd on scale pairs: the scalar kernel's isum exactly. */
#define P6_Q 0
#define P6_SC 4096
#define P6_SCP 5120
#define P6_D 5632
#define PACKED6 5696

static void pack_q6_k(const uint8_t *w, size_t row_bytes, int nr, int64_t i, uint8_t *p) {
    __m512i idx = row_offsets(row_bytes);
    __mmask16 m = (__mmask16)((1u << nr) - 1);
    const uint8_t *b = w + (size_t)i * 210;
    const __m512i m4 = _mm512_set1_epi8(15), m2 = _mm512_set1_epi8(3);
    for (int h = 0; h < 2; h++)
        for (int k = 0; k < 8; k++) {
            __m512i la = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), m, idx, b + 64 * h + 4 * k, 1);
            __m512i lb = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), m, idx, b + 64 * h + 32 + 4 * k, 1);
            __m512i qh = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), m, idx, b + 128 + 32 * h + 4 * k, 1);
            __m512i q[4] = {
                _mm512_or_si512(_mm512_and_si512(la, m4), _mm512_slli_epi16(_mm512_and_si512(qh, m2), 4)),
                _mm512_or_si512(_mm512_and_si512(lb, m4),
                                _mm512_slli_epi16(_mm512_and_si512(_mm512_srli_epi16(qh, 2), m2), 4)),
                _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(la, 4), m4),
                                _mm512_slli_epi16(_mm512_and_si512(_mm512_srli_epi16(qh, 4), m2), 4)),
                _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(lb, 4), m4),
                                _mm512_slli_epi16(_mm512_and_si512(_mm512_srli_epi16(qh, 6), m2), 4)),
            };
            for (int c = 0; c < 4; c++) _mm512_store_si512(p + P6_Q + 64 * (8 * (4 * h + c) + k), q[c]);
        }
    int32_t *sc = (int32_t *)(void *)(p + P6_SC), *pairs = (int32_t *)(void *)(p + P6_SCP);
    for (int r = 0; r < 16; r++) {
        const int8_t *s = r < nr ? (const int8_t *)(b + (size_t)r * row_bytes + 192) : NULL;
        for (int j = 0; j < 16; j++) sc[16 * j + r] = s ? s[j] : 0;
        for (int q = 0; q < 8; q++)
            pairs[16 * q + r] = s ? (int32_t)((uint32_t)(uint16_t)s[2 * q] | (uint32_t)(uint16_t)s[2 * q + 1] << 16) : 0;
    }
    __m512i dd = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), m, idx, b + 208, 1);
    _mm512_store_ps(p + P6_D, _mm512_cvtph_ps(_mm512_cvtepi32_epi16(dd)));
}

static inline __attribute__((always_inline)) void tile_q6_k(const uint8_t *panel, size_t pstride, int mr, int nt,
                                                             const gl_gemm_args *a, int64_t t0, int64_t b0,
                                                             int64_t b1, int64_t r0, __mmask16 mask[MR]) {
    const gl_block_q8k *x[NRK];
    for (int t = 0; t < nt; t++) x[t] = (const gl_block_q8k *)(const void *)((const char *)a->x + (size_t)(t0 + t) * a->x_row_bytes);
    __m512 f[MR][NRK];
    for (int r = 0; r < mr; r++)
        for (int t = 0; t < nt; t++)
            f[r][t] = b0 ? _mm512_maskz_loadu_ps(mask[r], a->y + (t0 + t) * a->y_stride + r0 + 16 * r) : _mm512_setzero_ps();
    for (int64_t i = b0; i < b1; i++) {
        const uint8_t *pb = panel + (i - b0) * PACKED6;
        __m512i isum[MR][NRK], corr[MR][NRK];
        for (int r = 0; r < mr; r++)
            for (int t = 0; t < nt; t++) isum[r][t] = corr[r][t] = _mm512_setzero_si512();
        for (int j = 0; j < 8; j++) { /* 32-element group j: sub-blocks 2j (k < 4) and 2j+1 */
            for (int half = 0; half < 2; half++) {
                __m512i sub[MR][NRK];
                for (int r = 0; r < mr; r++)
                    for (int t = 0; t < nt; t++) sub[r][t] = _mm512_setzero_si512();
                for (int k = 4 * half; k < 4 * half + 4; k++) {
                    __m512i wv[MR];
                    for (int r = 0; r < mr; r++) wv[r] = _mm512_load_si512(pb + r * pstride + P6_Q + 64 * (8 * j + k));
                    for (int t = 0; t < nt; t++) {
                        __m512i xv = _mm512_set1_epi32(load_i32(x[t][i].qs + 32 * j + 4 * k));
                        for (int r = 0; r < mr; r++) sub[r][t] = _mm512_dpbusd_epi32(sub[r][t], wv[r], xv);
                    }
                }
                for (int r = 0; r < mr; r++) {
                    __m512i sc = _mm512_load_si512(pb + r * pstride + P6_SC + 64 * (2 * j + half));
                    for (int t = 0; t < nt; t++) isum[r][t] = _mm512_add_epi32(isum[r][t], _mm512_mullo_epi32(sub[r][t], sc));
                }
            }
        }
        for (int q = 0; q < 8; q++) {
            __m512i sp[MR];
            for (int r = 0; r < mr; r++) sp[r] = _mm512_load_si512(pb + r * pstride + P6_SCP + 64 * q);
            for (int t = 0; t < nt; t++) {
                const int16_t *bs = x[t][i].bsums + 2 * q;
                __m512i xs = _mm512_set1_epi32((int32_t)((uint32_t)(uint16_t)bs[0] | (uint32_t)(uint16_t)bs[1] << 16));
                for (int r = 0; r < mr; r++) corr[r][t] = _mm512_dpwssd_epi32(corr[r][t], sp[r], xs);
            }
        }
        for (int r = 0; r < mr; r++) {
            __m512 d = _mm512_load_ps(pb + r * pstride + P6_D);
            for (int t = 0; t < nt; t++) {
                __m512i is = _mm512_sub_epi32(isum[r][t], _mm512_slli_epi32(corr[r][t], 5));
                __m512 scale = _mm512_mul_ps(d, _mm512_set1_ps(x[t][i].d));
                f[r][t] = _mm512_add_ps(f[r][t], _mm512_mul_ps(scale, _mm512_cvtepi32_ps(is)));
            }
        }
    }
    for (int r = 0; r < mr; r++)
        for (int t = 0; t < nt; t++) _mm512_mask_storeu_ps(a->y + (t0 + t) * a->y_stride + r0 + 16 * r, mask[r], f[r][t]);
}

#define TILE6_CASE(MRV, NTV)                                                                    \
    case (MRV) * 8 + (NTV): tile_q6_k(panel, pstride, MRV, NTV, a, t0, b0, b1, r0, mask); break;

static void tile_q6_k_any(const uint8_t *panel, size_t pstride, int mr, int nt, const gl_gemm_args *a, int64_t t0,
                          int64_t b0, int64_t b1, int64_t r0, __mmask16 mask[MR]) {
    switch (mr * 8 + nt) {
        TILE6_CASE(1, 1) TILE6_CASE(1, 2) TILE6_CASE(1, 3) TILE6_CASE(1, 4)
        TILE6_CASE(2, 1) TILE6_CASE(2, 2) TILE6_CASE(2, 3) TILE6_CASE(2, 4)
    default: break;
    }
}

static void gemm_q6_k(const gl_gemm_args *a) {
    if (a->n_tok < GL_GEMM_PACK_MIN_TOKENS) {
        simd_gemm_kquant(q6_k_block, 210, a);
        return;
    }
    int64_t nb = a->n / 256;
    size_t pstride = (size_t)KCS * PACKED6;
    uint8_t *panel = a->scratch;
    for (int64_t r0 = 0; r0 < a->n_rows; r0 += 16 * MR) {
        int64_t rows = a->n_rows - r0 < 16 * MR ? a->n_rows - r0 : 16 * MR;
        int mr = (int)((rows + 15) / 16);
        __mmask16 mask[MR];
        for (int r = 0; r < mr; r++)
            mask[r] = (__mmask16)((1u << (rows - 16 * r < 16 ? rows - 16 * r : 16)) - 1);
        for (int64_t b0 = 0; b0 < nb; b0 += KCS) {
            int64_t b1 = b0 + KCS < nb ? b0 + KCS : nb;
            for (int r = 0; r < mr; r++)
                for (int64_t i = b0; i < b1; i++)
                    pack_q6_k((const uint8_t *)a->w + (size_t)(r0 + 16 * r) * a->row_bytes, a->row_bytes,
                              rows - 16 * r < 16 ? (int)(rows - 16 * r) : 16, i,
                              panel + r * pstride + (size_t)(i - b0) * PACKED6);
            for (int64_t t0 = 0; t0 < a->n_tok; t0 += NRK) {
                int nt = a->n_tok - t0 < NRK ? (int)(a->n_tok - t0) : NRK;
                tile_q6_k_any(panel, pstride, mr, nt, a, t0, b0, b1, r0, mask);
            }
        }
    }
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

/* The blocked float GEMM: sixteen rows widened to f32 and repacked with rows
 * in the vector lanes ([k][16 rows]), then MR panels x NRF tokens of row
 * sums in registers, one FMA per element and token: each lane sums its row
 * in element order, and the packed chunk of KCF elements (32 KB, on the
 * stack) stays in L1 while the tokens stream past. One token takes the same
 * path, so a token's result does not depend on its batch; the gathers that
 * pack cost less than the memory traffic of the row. */
#define NRF 12
#define KCF 256

typedef __m512 (*load16_idx_fn)(const uint8_t *w, size_t row_bytes, __m512i idx, __mmask16 m, int64_t i,
                                __m512 *second);

/* Columns i (and, for 16-bit types, i+1 into *second) of 16 rows. */
static inline __m512 gather_f32(const uint8_t *w, size_t row_bytes, __m512i idx, __mmask16 m, int64_t i,
                            __m512 *second) {
    (void)row_bytes;
    (void)second;
    return _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m, idx, w + 4 * i, 1);
}
static inline __m512 gather_f16(const uint8_t *w, size_t row_bytes, __m512i idx, __mmask16 m, int64_t i,
                            __m512 *second) {
    (void)row_bytes;
    __m512i v = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), m, idx, w + 2 * i, 1);
    *second = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(_mm512_srli_epi32(v, 16)));
    return _mm512_cvtph_ps(_mm512_cvtepi32_epi16(v));
}
static inline __m512 gather_bf16(const uint8_t *w, size_t row_bytes, __m512i idx, __mmask16 m, int64_t i,
                            __m512 *second) {
    (void)row_bytes;
    __m512i v = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), m, idx, w + 2 * i, 1);
    *second = _mm512_castsi512_ps(_mm512_and_si512(v, _mm512_set1_epi32((int)0xffff0000u)));
    return _mm512_castsi512_ps(_mm512_slli_epi32(v, 16));
}

/* w_columns: element (r, k) at w + k * row_bytes + 4r, so a packed vector is
 * a plain load. */
static inline __m512 load_column_f32(const uint8_t *w, size_t row_bytes, __m512i idx, __mmask16 m, int64_t i,
                                     __m512 *second) {
    (void)idx, (void)second;
    return _mm512_maskz_loadu_ps(m, w + (size_t)i * row_bytes);
}

/* Packs columns [k0, k1) of rows 0..nr-1 (row_bytes apart) as [k][16] f32;
 * elem_bytes 4 or 2 (2: k0 and k1 even, two columns per gather). */
static inline __attribute__((always_inline)) void pack_float(load16_idx_fn gather, int elem_bytes, const uint8_t *w,
                                                              size_t row_bytes, int nr, int64_t k0, int64_t k1,
                                                              float *p) {
    __m512i idx = row_offsets(row_bytes);
    __mmask16 m = (__mmask16)((1u << nr) - 1);
    for (int64_t i = k0; i < k1; i += 4 / elem_bytes) {
        __m512 second;
        _mm512_store_ps(p + 16 * (i - k0), gather(w, row_bytes, idx, m, i, &second));
        if (elem_bytes == 2) _mm512_store_ps(p + 16 * (i - k0 + 1), second);
    }
}

/* Columns [k0, k1) of mr packed panels (panel r at panel + r * 16 * KCF)
 * times nt tokens; the row sums continue from y (k0 > 0) or from 0. */
static inline __attribute__((always_inline)) void tile_float(const float *panel, int mr, int nt,
                                                              const gl_gemm_args *a, int64_t t0, int64_t k0,
                                                              int64_t k1, int64_t r0, __mmask16 mask[MR]) {
    const float *x[NRF];
    for (int t = 0; t < nt; t++) x[t] = (const float *)(const void *)((const char *)a->x + (size_t)(t0 + t) * a->x_row_bytes) + k0;
    __m512 f[MR][NRF];
    for (int r = 0; r < mr; r++)
        for (int t = 0; t < nt; t++)
            f[r][t] = k0 || a->accumulate ? _mm512_maskz_loadu_ps(mask[r], a->y + (t0 + t) * a->y_stride + r0 + 16 * r)
                                          : _mm512_setzero_ps();
    for (int64_t i = 0; i < k1 - k0; i++) {
        __m512 wv[MR];
        for (int r = 0; r < mr; r++) wv[r] = _mm512_load_ps(panel + r * 16 * KCF + 16 * i);
        for (int t = 0; t < nt; t++) {
            __m512 xv = _mm512_set1_ps(x[t][i]);
            for (int r = 0; r < mr; r++) f[r][t] = _mm512_fmadd_ps(wv[r], xv, f[r][t]);
        }
    }
    for (int r = 0; r < mr; r++)
        for (int t = 0; t < nt; t++) _mm512_mask_storeu_ps(a->y + (t0 + t) * a->y_stride + r0 + 16 * r, mask[r], f[r][t]);
}

#define TILEF_CASE(MRV, NTV)                                                                    \
    case (MRV) * 16 + (NTV): tile_float(panel, MRV, NTV, a, t0, k0, k1, r0, mask); break;

static void tile_float_any(const float *panel, int mr, int nt, const gl_gemm_args *a, int64_t t0, int64_t k0,
                           int64_t k1, int64_t r0, __mmask16 mask[MR]) {
    switch (mr * 16 + nt) {
        TILEF_CASE(1, 1) TILEF_CASE(1, 2) TILEF_CASE(1, 3) TILEF_CASE(1, 4) TILEF_CASE(1, 5) TILEF_CASE(1, 6)
        TILEF_CASE(1, 7) TILEF_CASE(1, 8) TILEF_CASE(1, 9) TILEF_CASE(1, 10) TILEF_CASE(1, 11) TILEF_CASE(1, 12)
        TILEF_CASE(2, 1) TILEF_CASE(2, 2) TILEF_CASE(2, 3) TILEF_CASE(2, 4) TILEF_CASE(2, 5) TILEF_CASE(2, 6)
        TILEF_CASE(2, 7) TILEF_CASE(2, 8) TILEF_CASE(2, 9) TILEF_CASE(2, 10) TILEF_CASE(2, 11) TILEF_CASE(2, 12)
    default: break;
    }
}

static inline __attribute__((always_inline)) void gemm_float(load16_idx_fn gather, int elem_bytes, int columns,
                                                              const gl_gemm_args *a) {
    _Alignas(64) float panel[MR * 16 * KCF]; /* (MR, KCF, 16) */
    for (int64_t r0 = 0; r0 < a->n_rows; r0 += 16 * MR) {
        int64_t rows = a->n_rows - r0 < 16 * MR ? a->n_rows - r0 : 16 * MR;
        int mr = (int)((rows + 15) / 16);
        __mmask16 mask[MR];
        int nr[MR];
        for (int r = 0; r < mr; r++) {
            nr[r] = rows - 16 * r < 16 ? (int)(rows - 16 * r) : 16;
            mask[r] = (__mmask16)((1u << nr[r]) - 1);
        }
        for (int64_t k0 = 0; k0 < a->n; k0 += KCF) {
            int64_t k1 = k0 + KCF < a->n ? k0 + KCF : a->n;
            for (int r = 0; r < mr; r++) {
                size_t first = (size_t)(r0 + 16 * r) * (columns ? sizeof(float) : a->row_bytes);
                pack_float(gather, elem_bytes, (const uint8_t *)a->w + first, a->row_bytes, nr[r], k0, k1,
                           panel + r * 16 * KCF);
            }
            for (int64_t t0 = 0; t0 < a->n_tok; t0 += NRF) {
                int nt = a->n_tok - t0 < NRF ? (int)(a->n_tok - t0) : NRF;
                tile_float_any(panel, mr, nt, a, t0, k0, k1, r0, mask);
            }
        }
    }
}

/* 16-bit rows of odd length go row by row (dot_*), whatever the batch. */
static void gemm_f32(const gl_gemm_args *a) {
    if (a->w_columns)
        gemm_float(load_column_f32, 4, 1, a);
    else
        gemm_float(gather_f32, 4, 0, a);
}

GL_GEMM_BY_DOTS(gemm_f16_by_dots, dot_f16, float)
static void gemm_f16(const gl_gemm_args *a) {
    if (a->n % 2)
        gemm_f16_by_dots(a);
    else
        gemm_float(gather_f16, 2, 0, a);
}

GL_GEMM_BY_DOTS(gemm_bf16_by_dots, dot_bf16, float)
static void gemm_bf16(const gl_gemm_args *a) {
    if (a->n % 2)
        gemm_bf16_by_dots(a);
    else
        gemm_float(gather_bf16, 2, 0, a);
}

static float max_f32(const float *x, int64_t n) {
    __m512 m0 = _mm512_set1_ps(x[0]), m1 = m0;
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        m0 = _mm512_max_ps(m0, _mm512_loadu_ps(x + i));
        m1 = _mm512_max_ps(m1, _mm512_loadu_ps(x + i + 16));
    }
    for (; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? 0xffff : (__mmask16)((1u << (n - i)) - 1);
        m0 = _mm512_mask_max_ps(m0, m, m0, _mm512_maskz_loadu_ps(m, x + i));
    }
    return _mm512_reduce_max_ps(_mm512_max_ps(m0, m1));
}

static float exp_shift(float *x, int64_t n, float shift) {
    __m512 acc = _mm512_setzero_ps(), s = _mm512_set1_ps(shift);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512 e = simd_exp16(_mm512_sub_ps(_mm512_loadu_ps(x + i), s));
        _mm512_storeu_ps(x + i, e);
        acc = _mm512_add_ps(acc, e);
    }
    if (i < n) {
        __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
        __m512 e = simd_exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + i), s));
        _mm512_mask_storeu_ps(x + i, m, e);
        acc = _mm512_add_ps(acc, _mm512_maskz_mov_ps(m, e));
    }
    return _mm512_reduce_add_ps(acc);
}

/* ==== Activations (dot_avx2.c's formulas, 16 lanes) ==== */

static inline __m512 x_sigmoid16(__m512 x, __m512 kx) {
    __m512 e = simd_exp16(_mm512_sub_ps(_mm512_setzero_ps(), kx));
    return _mm512_div_ps(x, _mm512_add_ps(_mm512_set1_ps(1.0f), e));
}

static inline __m512 erf16(__m512 x) {
    __m512 a = _mm512_abs_ps(x);
    __m512 t = _mm512_div_ps(_mm512_set1_ps(1.0f), _mm512_fmadd_ps(_mm512_set1_ps(0.3275911f), a, _mm512_set1_ps(1.0f)));
    __m512 p = _mm512_set1_ps(1.061405429f);
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-1.453152027f));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(1.421413741f));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-0.284496736f));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(0.254829592f));
    p = _mm512_mul_ps(p, t);
    __m512 e = simd_exp16(_mm512_sub_ps(_mm512_setzero_ps(), _mm512_mul_ps(a, a)));
    __m512 r = _mm512_fnmadd_ps(p, e, _mm512_set1_ps(1.0f));
    return _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(r),
                                               _mm512_and_si512(_mm512_castps_si512(x), _mm512_set1_epi32(INT32_MIN))));
}

#define ACTIVATION16(name, body)                                             \
    static void name(float *x, int64_t n) {                                  \
        for (int64_t i = 0; i < n; i += 16) {                                \
            __mmask16 m = n - i >= 16 ? 0xffff : (__mmask16)((1u << (n - i)) - 1); \
            __m512 v = _mm512_maskz_loadu_ps(m, x + i);                      \
            _mm512_mask_storeu_ps(x + i, m, body);                           \
        }                                                                    \
    }

ACTIVATION16(gelu_tanh, x_sigmoid16(v, _mm512_mul_ps(_mm512_set1_ps(1.5957691216057308f),
                                                     _mm512_fmadd_ps(_mm512_mul_ps(_mm512_set1_ps(0.044715f), v),
                                                                     _mm512_mul_ps(v, v), v))))
ACTIVATION16(gelu_erf, _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(0.5f), v),
                                     _mm512_add_ps(_mm512_set1_ps(1.0f),
                                                   erf16(_mm512_mul_ps(v, _mm512_set1_ps(0.70710678118654752f))))))
ACTIVATION16(gelu_quick, x_sigmoid16(v, _mm512_mul_ps(_mm512_set1_ps(1.702f), v)))

static void silu_mul(float *gate, const float *up, int64_t n) {
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? 0xffff : (__mmask16)((1u << (n - i)) - 1);
        __m512 g = _mm512_maskz_loadu_ps(m, gate + i);
        _mm512_mask_storeu_ps(gate + i, m, _mm512_mul_ps(x_sigmoid16(g, g), _mm512_maskz_loadu_ps(m, up + i)));
    }
}

/* ==== Throughput probes ==== */

/* Twelve independent chains cover the latency (4 cycles) on two ports. */
static double probe_f32(int64_t iters, float *sink) {
    __m512 a[12], m = _mm512_set1_ps(0.999f), c = _mm512_set1_ps(0.001f);
    for (int j = 0; j < 12; j++) a[j] = _mm512_set1_ps((float)j);
    for (int64_t i = 0; i < iters; i++)
        for (int j = 0; j < 12; j++) a[j] = _mm512_fmadd_ps(a[j], m, c);
    for (int j = 1; j < 12; j++) a[0] = _mm512_add_ps(a[0], a[j]);
    *sink = _mm512_reduce_add_ps(a[0]);
    return 12.0 * 16 * 2 * (double)iters;
}

/* vpdpbusd: 64 byte products per instruction. */
static double probe_i8(int64_t iters, int32_t *sink) {
    __m512i a[12], u = _mm512_set1_epi8(3), s = _mm512_set1_epi8(-2);
    for (int j = 0; j < 12; j++) a[j] = _mm512_set1_epi32(j);
    for (int64_t i = 0; i < iters; i++)
        for (int j = 0; j < 12; j++) a[j] = _mm512_dpbusd_epi32(a[j], u, s);
    for (int j = 1; j < 12; j++) a[0] = _mm512_xor_si512(a[0], a[j]);
    /* A sink, not a sum: the library's reduce adds in signed C arithmetic, which
     * overflows (undefined) on these arbitrary values. */
    *sink = _mm512_reduce_or_epi32(a[0]);
    return 12.0 * 64 * 2 * (double)iters;
}

/* Reads as the one-token kernels do: groups of eight rows of PROBE_ROW
 * bytes side by side, prefetched a share per step into L1 one group ahead
 * and into L2 SIMD_PF_FAR groups ahead (simd_avx2.h). One sequential stream
 * per thread, left to the hardware prefetchers, read 20-23.6 GB/s on two
 * threads here while decoding streamed its weights at 23.5 (a roofline it
 * beat); eight rows with the next group prefetched read 26-29.5 GB/s, and
 * the far prefetch added 1-2% (2026-12-04). */
#define PROBE_ROW 1024
static uint64_t probe_read(const void *buf, size_t n) {
    const uint8_t *p = buf;
    __m512i a = _mm512_setzero_si512(), b = a, c = a, d = a;
    const size_t group = 8 * PROBE_ROW;
    size_t i = 0;
    for (; i + group <= n; i += group) {
        const uint8_t *g = p + i;
        for (size_t off = 0; off < PROBE_ROW; off += 64) {
            if (i + 2 * group <= n) _mm_prefetch((const char *)g + group + off * 8, _MM_HINT_T0);
            if (i + (SIMD_PF_FAR + 1) * group <= n)
                _mm_prefetch((const char *)g + SIMD_PF_FAR * group + off * 8, _MM_HINT_T1);
            a = _mm512_add_epi64(a, _mm512_load_si512(g + off));
            b = _mm512_add_epi64(b, _mm512_load_si512(g + PROBE_ROW + off));
            c = _mm512_add_epi64(c, _mm512_load_si512(g + 2 * PROBE_ROW + off));
            d = _mm512_add_epi64(d, _mm512_load_si512(g + 3 * PROBE_ROW + off));
            a = _mm512_add_epi64(a, _mm512_load_si512(g + 4 * PROBE_ROW + off));
            b = _mm512_add_epi64(b, _mm512_load_si512(g + 5 * PROBE_ROW + off));
            c = _mm512_add_epi64(c, _mm512_load_si512(g + 6 * PROBE_ROW + off));
            d = _mm512_add_epi64(d, _mm512_load_si512(g + 7 * PROBE_ROW + off));
        }
    }
    for (; i < n; i += 64) a = _mm512_add_epi64(a, _mm512_load_si512(p + i));
    uint64_t lanes[8], sum = 0; /* summed unsigned: the lanes wrap around freely */
    _mm512_storeu_si512(lanes, _mm512_add_epi64(_mm512_add_epi64(a, b), _mm512_add_epi64(c, d)));
    for (int k = 0; k < 8; k++) sum += lanes[k];
    return sum;
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

/* The two tables differ in their name and Q8_0 gemm only. */
#define AVX512_KERNELS(NAME, GEMM_Q8_0) \
    { \
        .name = NAME, .gemm_q8_0 = GEMM_Q8_0, \
        .quantize_q8a = gl_quantize_q8a_avx2, \
        .quantize_q8k = gl_quantize_q8k_avx2, \
        .dot_q8_0 = dot_q8_0, \
        .dot_q4_0 = dot_q4_0, \
        .dot_q4_k = dot_q4_k, \
        .dot_q6_k = dot_q6_k, \
        .dot_q5_k = dot_q5_k, \
        .dot_f32 = dot_f32, \
        .dot_f16 = dot_f16, \
        .dot_bf16 = dot_bf16, \
        .gemm_q4_0 = gemm_q4_0, \
        .gemm_q4_k = gemm_q4_k, \
        .gemm_q5_k = gemm_q5_k, \
        .gemm_q6_k = gemm_q6_k, \
        .gemm_f32 = gemm_f32, \
        .gemm_f16 = gemm_f16, \
        .gemm_bf16 = gemm_bf16, \
        .max_f32 = max_f32, \
        .exp_shift = exp_shift, \
        .gelu_tanh = gelu_tanh, \
        .gelu_erf = gelu_erf, \
        .gelu_quick = gelu_quick, \
        .silu_mul = silu_mul, \
        .probe_f32 = probe_f32, \
        .probe_i8 = probe_i8, \
        .probe_read = probe_read, \
        .f16_to_f32 = f16_to_f32, \
        .bf16_to_f32 = bf16_to_f32, \
        .scores_few = gl_avx512_scores_few, \
        .add_pv_few = gl_avx512_add_pv_few, \
    }

const gl_kernels gl_kernels_avx512 = AVX512_KERNELS("avx512", gemm_q8_0);
const gl_kernels gl_kernels_amx = AVX512_KERNELS("amx", gl_gemm_q8_0_amx);
