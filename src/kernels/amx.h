/* amx.h - helpers shared by the AMX kernels (gemm_amx.c, attention_amx.c):
 * loading a tile configuration, rounding to bfloat16. Only for files
 * compiled with the AMX flags (*_amx.c). */
#ifndef GLIMPSE_KERNELS_AMX_H
#define GLIMPSE_KERNELS_AMX_H

#include "simd_avx512.h"

#include <immintrin.h>
#include <stdint.h>
#include <string.h>

/* The LDTILECFG operand, palette 1 (Intel SDM vol. 1, 18.2). */
typedef struct {
    uint8_t palette;
    uint8_t start_row;
    uint8_t reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} amx_tile_config;

/* Configures tiles 0-7 as rows[i] x colsb[i] bytes. */
static inline void amx_load_tiles(const uint8_t rows[8], const uint16_t colsb[8]) {
    _Alignas(64) amx_tile_config c;
    memset(&c, 0, sizeof c);
    c.palette = 1;
    for (int i = 0; i < 8; i++) {
        c.rows[i] = rows[i];
        c.colsb[i] = colsb[i];
    }
    /* Not _tile_loadconfig: GCC 12's names only the first 8 bytes of the
     * operand as read, so the compiler may drop the stores of the rest. */
    __asm__ volatile("ldtilecfg %0" : : "m"(c));
}

/* Round to nearest even to bfloat16 in the low half of each 32-bit lane,
 * NaNs quieted: gl_fp32_to_bf16's bits (vcvtneps2bf16 would flush
 * subnormals). */
static inline __m512i amx_round_bf16(__m512 v) {
    __m512i x = _mm512_castps_si512(v);
    __m512i odd = _mm512_and_si512(_mm512_srli_epi32(x, 16), _mm512_set1_epi32(1));
    __m512i r = _mm512_srli_epi32(_mm512_add_epi32(x, _mm512_add_epi32(odd, _mm512_set1_epi32(0x7fff))), 16);
    __mmask16 nan = _mm512_cmpgt_epu32_mask(_mm512_and_si512(x, _mm512_set1_epi32(0x7fffffff)),
                                            _mm512_set1_epi32(0x7f800000));
    return _mm512_mask_or_epi32(r, nan, _mm512_srli_epi32(x, 16), _mm512_set1_epi32(64));
}

/* 32 floats as 32 bfloat16 in order (16 lanes of pairs). */
static inline __m512i amx_pairs32(__m512 lo, __m512 hi) {
    return _mm512_inserti64x4(_mm512_castsi256_si512(_mm512_cvtepi32_epi16(amx_round_bf16(lo))),
                              _mm512_cvtepi32_epi16(amx_round_bf16(hi)), 1);
}

#endif
