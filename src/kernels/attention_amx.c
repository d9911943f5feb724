/* attention_amx.c - attention's two products on AMX tiles in bfloat16
 * (kernels.h: gl_amx_attention_*), for ops.c's tiled attention.
 *
 * tdpbf16ps multiplies a tile of 16 rows x 32 bfloat16 by a tile of 16 x 16
 * pairs into 16x16 f32 sums (Intel Architecture Instruction Set Extensions
 * Programming Reference, ch. 3): each product is exact in f32, so the only
 * roundings beyond the f32 sums are those of the operands to bfloat16
 * (relative 2^-9 each, round to nearest even, as gl_fp32_to_bf16).
 *
 * The keys and values of a layer are packed once into the B layout:
 *   keys:   per head, per 16 keys, per 32 dimensions, a 16 x 64-byte tile
 *           whose row k holds dimensions 2k, 2k+1 of each of the 16 keys;
 *   values: per head, per 32 keys, per 16 dimensions, a 16 x 64-byte tile
 *           whose row k holds keys 2k, 2k+1 of each of the 16 dimensions;
 * keys past the last are zeros. Queries and probabilities are bfloat16 rows
 * (the A layout), 16 rows at a time. Head sizes of 32 or 64 are handled. */
#include "kernels.h"
#include "quant.h"

#include <immintrin.h>
#include <string.h>

/* The LDTILECFG operand (palette 1). */
typedef struct {
    uint8_t palette;
    uint8_t start_row;
    uint8_t reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} tile_config;

void gl_amx_attention_begin(void) {
    _Alignas(64) tile_config c;
    memset(&c, 0, sizeof c);
    c.palette = 1;
    for (int i = 0; i < 8; i++) {
        c.rows[i] = 16;
        c.colsb[i] = 64;
    }
    /* Not _tile_loadconfig: GCC 12's names only the first 8 bytes of the
     * operand as read, so the compiler may drop the stores of the rest. */
    __asm__ volatile("ldtilecfg %0" : : "m"(c));
}

void gl_amx_attention_end(void) { _tile_release(); }

/* Round to nearest even to bfloat16 in the low half of each 32-bit lane,
 * NaNs quieted: gl_fp32_to_bf16's bits. */
static inline __m512i round_bf16(__m512 v) {
    __m512i x = _mm512_castps_si512(v);
    __m512i odd = _mm512_and_si512(_mm512_srli_epi32(x, 16), _mm512_set1_epi32(1));
    __m512i r = _mm512_srli_epi32(_mm512_add_epi32(x, _mm512_add_epi32(odd, _mm512_set1_epi32(0x7fff))), 16);
    __mmask16 nan = _mm512_cmpgt_epu32_mask(_mm512_and_si512(x, _mm512_set1_epi32(0x7fffffff)),
                                            _mm512_set1_epi32(0x7f800000));
    return _mm512_mask_or_epi32(r, nan, _mm512_srli_epi32(x, 16), _mm512_set1_epi32(64));
}

void gl_amx_to_bf16(const float *x, float scale, uint16_t *out, int64_t n) {
    int64_t i = 0;
    __m512 s = _mm512_set1_ps(scale);
    for (; i + 16 <= n; i += 16)
        _mm256_storeu_si256((__m256i *)(void *)(out + i),
                            _mm512_cvtepi32_epi16(round_bf16(_mm512_mul_ps(_mm512_loadu_ps(x + i), s))));
    for (; i < n; i++) out[i] = gl_fp32_to_bf16(x[i] * scale);
}

/* Row i of r (16 lanes of 32 bits) becomes lane i of every row: four
 * butterfly stages, each swapping the off-diagonal h x h blocks of every
 * 2h x 2h block. */
static inline void transpose16(__m512i r[16]) {
    for (int h = 8; h >= 1; h /= 2) {
        int lo[16], hi[16];
        for (int j = 0; j < 16; j++) {
            lo[j] = (j & h) ? 16 + j - h : j;
            hi[j] = (j & h) ? 16 + j : j + h;
        }
        __m512i ilo = _mm512_loadu_si512(lo), ihi = _mm512_loadu_si512(hi);
        for (int i = 0; i < 16; i++) {
            if (i & h) continue;
            __m512i a = r[i], b = r[i + h];
            r[i] = _mm512_permutex2var_epi32(a, ilo, b);
            r[i + h] = _mm512_permutex2var_epi32(a, ihi, b);
        }
    }
}

/* 32 floats as 32 bfloat16 in order (16 lanes of pairs). */
static inline __m512i pairs32(const float *x) {
    __m256i lo = _mm512_cvtepi32_epi16(round_bf16(_mm512_loadu_ps(x)));
    __m256i hi = _mm512_cvtepi32_epi16(round_bf16(_mm512_loadu_ps(x + 16)));
    return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
}

void gl_amx_pack_keys(const float *k, int64_t stride, int64_t n_keys, int64_t key0, int64_t key1, int hd,
                      uint16_t *out) {
    for (int64_t g0 = key0; g0 < key1; g0 += 16) {
        uint16_t *dst = out + g0 * hd;
        for (int c = 0; c < hd / 32; c++) {
            __m512i r[16];
            for (int n = 0; n < 16; n++)
                r[n] = g0 + n < n_keys ? pairs32(k + (g0 + n) * stride + 32 * c) : _mm512_setzero_si512();
            transpose16(r);
            for (int row = 0; row < 16; row++) _mm512_storeu_si512(dst + c * 512 + row * 32, r[row]);
        }
    }
}

void gl_amx_pack_values(const float *v, int64_t stride, int64_t n_keys, int64_t key0, int64_t key1, int hd,
                        uint16_t *out) {
    for (int64_t s0 = key0; s0 < key1; s0 += 32) {
        uint16_t *dst = out + s0 * hd;
        for (int c = 0; c < hd / 16; c++)
            for (int row = 0; row < 16; row++) {
                int64_t a = s0 + 2 * row, b = a + 1;
                __m512i lo = a < n_keys ? round_bf16(_mm512_loadu_ps(v + a * stride + 16 * c)) : _mm512_setzero_si512();
                __m512i hi = b < n_keys ? round_bf16(_mm512_loadu_ps(v + b * stride + 16 * c)) : _mm512_setzero_si512();
                _mm512_storeu_si512(dst + c * 512 + row * 32, _mm512_or_si512(lo, _mm512_slli_epi32(hi, 16)));
            }
    }
}

/* Tiles: 0-3 sums, 4-5 A (queries or probabilities), 6-7 B (keys or values). */

void gl_amx_scores(const uint16_t *q, int64_t rows, int hd, const uint16_t *keys, int64_t key0, int64_t nk, float *s,
                   int64_t s_stride) {
    long qs = (long)hd * 2, ss = (long)s_stride * 4;
    for (int64_t r0 = 0; r0 < rows; r0 += 16) {
        const uint16_t *qr = q + r0 * hd;
        _tile_loadd(4, qr, qs);
        if (hd == 64) _tile_loadd(5, qr + 32, qs);
        for (int64_t j0 = 0; j0 < nk; j0 += 64) {
            int ng = nk - j0 < 64 ? (int)((nk - j0) / 16) : 4; /* key groups of 16 in this pass */
            const uint16_t *kg = keys + (key0 + j0) * hd;
            _tile_zero(0);
            _tile_zero(1);
            _tile_zero(2);
            _tile_zero(3);
            /* group i's tile for dimensions 32c.. is at kg + i * 16 * hd + c * 512 */
#define SCORE_GROUP(T, I)                                                     \
    if (ng > (I)) {                                                           \
        _tile_loadd(6, kg + (I) * 16 * hd, 64);                               \
        _tile_dpbf16ps(T, 4, 6);                                              \
        if (hd == 64) {                                                       \
            _tile_loadd(7, kg + (I) * 16 * hd + 512, 64);                     \
            _tile_dpbf16ps(T, 5, 7);                                          \
        }                                                                     \
    }
            SCORE_GROUP(0, 0)
            SCORE_GROUP(1, 1)
            SCORE_GROUP(2, 2)
            SCORE_GROUP(3, 3)
#undef SCORE_GROUP
            float *sr = s + r0 * s_stride + j0;
            _tile_stored(0, sr, ss);
            if (ng > 1) _tile_stored(1, sr + 16, ss);
            if (ng > 2) _tile_stored(2, sr + 32, ss);
            if (ng > 3) _tile_stored(3, sr + 48, ss);
        }
    }
}

void gl_amx_add_pv(const uint16_t *p, int64_t p_stride, int64_t rows, const uint16_t *values, int64_t key0, int64_t nk,
                   int hd, float *o) {
    long ps = (long)p_stride * 2, os = (long)hd * 4;
    int nd = hd / 16; /* dimension groups: sums 0 .. nd - 1 */
    for (int64_t r0 = 0; r0 < rows; r0 += 16) {
        float *orow = o + r0 * hd;
        _tile_loadd(0, orow, os);
        _tile_loadd(1, orow + 16, os);
        if (nd > 2) {
            _tile_loadd(2, orow + 32, os);
            _tile_loadd(3, orow + 48, os);
        }
        for (int64_t j0 = 0; j0 < nk; j0 += 32) {
            const uint16_t *vs = values + (key0 + j0) * hd; /* dimension group c at vs + c * 512 */
            _tile_loadd(4, p + r0 * p_stride + j0, ps);
            _tile_loadd(6, vs, 64);
            _tile_dpbf16ps(0, 4, 6);
            _tile_loadd(7, vs + 512, 64);
            _tile_dpbf16ps(1, 4, 7);
            if (nd > 2) {
                _tile_loadd(6, vs + 1024, 64);
                _tile_dpbf16ps(2, 4, 6);
                _tile_loadd(7, vs + 1536, 64);
                _tile_dpbf16ps(3, 4, 7);
            }
        }
        _tile_stored(0, orow, os);
        _tile_stored(1, orow + 16, os);
        if (nd > 2) {
            _tile_stored(2, orow + 32, os);
            _tile_stored(3, orow + 48, os);
        }
    }
}
