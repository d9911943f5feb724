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
#include "amx.h"
#include "kernels.h"
#include "quant.h"
#include "simd_avx512.h"

#include <string.h>

/* Tiles: 0-3 sums, 4-5 A (queries or probabilities), 6-7 B (keys or
 * values); all 16 rows of 64 bytes. */
void gl_amx_attention_begin(void) {
    static const uint8_t rows[8] = {16, 16, 16, 16, 16, 16, 16, 16};
    static const uint16_t colsb[8] = {64, 64, 64, 64, 64, 64, 64, 64};
    amx_load_tiles(rows, colsb);
}

void gl_amx_attention_end(void) { _tile_release(); }

void gl_amx_to_bf16(const float *x, float scale, uint16_t *out, int64_t n) {
    int64_t i = 0;
    __m512 s = _mm512_set1_ps(scale);
    for (; i + 16 <= n; i += 16)
        _mm256_storeu_si256((__m256i *)(void *)(out + i),
                            _mm512_cvtepi32_epi16(amx_round_bf16(_mm512_mul_ps(_mm512_loadu_ps(x + i), s))));
    for (; i < n; i++) out[i] = gl_fp32_to_bf16(x[i] * scale);
}

float gl_amx_softmax_row(const float *s, int64_t nv, int64_t nk, float m_old, float *m_new, uint16_t *p) {
    __m512 mx = _mm512_set1_ps(m_old);
    for (int64_t j = 0; j < nv; j += 16) {
        __mmask16 m = nv - j >= 16 ? 0xffff : (__mmask16)((1u << (nv - j)) - 1);
        mx = _mm512_mask_max_ps(mx, m, mx, _mm512_maskz_loadu_ps(m, s + j));
    }
    float top = _mm512_reduce_max_ps(mx);
    __m512 shift = _mm512_set1_ps(top), acc = _mm512_setzero_ps();
    for (int64_t j = 0; j < nk; j += 16) {
        __mmask16 m = nv - j >= 16 ? 0xffff : nv > j ? (__mmask16)((1u << (nv - j)) - 1) : 0;
        __m512 e = _mm512_maskz_mov_ps(m, simd_exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, s + j), shift)));
        acc = _mm512_add_ps(acc, e);
        _mm256_storeu_si256((__m256i *)(void *)(p + j), _mm512_cvtepi32_epi16(amx_round_bf16(e)));
    }
    *m_new = top;
    return _mm512_reduce_add_ps(acc);
}

void gl_amx_pack_keys(const float *k, int64_t stride, int64_t n_keys, int64_t key0, int64_t key1, int hd,
                      uint16_t *out) {
    for (int64_t g0 = key0; g0 < key1; g0 += 16) {
        uint16_t *dst = out + g0 * hd;
        for (int c = 0; c < hd / 32; c++) {
            __m512i r[16];
            for (int n = 0; n < 16; n++) {
                r[n] = _mm512_setzero_si512();
                if (g0 + n >= n_keys) continue;
                const float *kn = k + (g0 + n) * stride + 32 * c;
                r[n] = amx_pairs32(_mm512_loadu_ps(kn), _mm512_loadu_ps(kn + 16));
            }
            simd_transpose16(r);
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
                __m512i lo = a < n_keys ? amx_round_bf16(_mm512_loadu_ps(v + a * stride + 16 * c)) : _mm512_setzero_si512();
                __m512i hi = b < n_keys ? amx_round_bf16(_mm512_loadu_ps(v + b * stride + 16 * c)) : _mm512_setzero_si512();
                _mm512_storeu_si512(dst + c * 512 + row * 32, _mm512_or_si512(lo, _mm512_slli_epi32(hi, 16)));
            }
    }
}

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
