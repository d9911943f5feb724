/* gemm_amx.c - the Q8_0 GEMM on AMX tiles (kernels.h: the "amx" table).
 *
 * Intel's AMX multiplies tiles (up to 16 rows of 64 bytes) into 16x16 int32
 * sums in one instruction: tdpbssd, signed by signed bytes, four products
 * per lane (Intel Architecture Instruction Set Extensions Programming
 * Reference, ch. 3). Q8_0 has one float scale per 32 weights, so a tile
 * product spans exactly one block (K = 32: the activation tile is 16 tokens
 * x 32 bytes read in place from the gl_block_q8a rows, the weight tile 8 x
 * 64 bytes); its 16x16 exact integer sums go through memory to the vector
 * units, which apply kernels.h's order, one FMA per block. The results
 * therefore equal the scalar kernel's bits, like every other integer gemm.
 * Moving every block's sums out of the tiles (a store, then a convert, a
 * multiply and an FMA per 16 sums) is what bounds it; the tile unit works on
 * the next block meanwhile (two sets of tiles).
 *
 * Weight panels (16 rows) are packed per call into the scratch in
 * dot_avx512.c's layout without its +128 offset: per block eight 64-byte
 * rows holding four consecutive weights of each of 16 rows, then the 16
 * scales as f32. Tokens left over from the 16-token tiles go to the AVX-512
 * gemm.
 *
 * Linux hands out tile state only after the process asks for it
 * (arch_prctl(ARCH_REQ_XCOMP_PERM)); kernels.c does that before this
 * table is given out. */
#include "amx.h"
#include "kernels.h"

#include <stddef.h>

#define TILE_TOK 16

/* Sixteen f16 scales 34 bytes x row_bytes apart as f32 (absent rows: 0). */
static inline __m512 gather_scales(const uint8_t *b, __m512i idx, __mmask16 m) {
    __m512i h = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), m, idx, b, 1);
    return _mm512_cvtph_ps(_mm512_cvtepi32_epi16(h));
}

static inline __m512i row_offsets(size_t row_bytes) {
    return _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                              _mm512_set1_epi32((int)row_bytes));
}

/* ==== Exact: int8 tiles, one block per product ==== */

#define PANEL_I8 576 /* bytes of one block of an int8 panel: 8 x 64 quants, 16 f32 scales */

/* Tiles: 0, 1 sums (16 tokens x 16 int32), 2, 3 activations (16 tokens x 32
 * bytes), 4, 5 weights (8 x 64 bytes); two of each, two blocks in flight. */
static void configure_int8(void) {
    static const uint8_t rows[8] = {TILE_TOK, TILE_TOK, TILE_TOK, TILE_TOK, 8, 8, 0, 0};
    static const uint16_t colsb[8] = {64, 64, 32, 32, 64, 64, 0, 0};
    amx_load_tiles(rows, colsb);
}

/* Rows 0..nr-1 (nr <= 16), row_bytes apart, as an int8 panel; absent rows
 * get zero weights and scale 0. */
static void pack_int8(const uint8_t *w, size_t row_bytes, int nr, int64_t nb, uint8_t *p) {
    __m512i idx = row_offsets(row_bytes);
    __mmask16 m = (__mmask16)((1u << nr) - 1);
    for (int64_t i = 0; i < nb; i++, p += PANEL_I8) {
        const uint8_t *b = w + 34 * i;
        for (int k = 0; k < 8; k++)
            _mm512_store_si512(p + 64 * k, _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), m, idx, b + 2 + 4 * k, 1));
        _mm512_store_ps(p + 512, gather_scales(b, idx, m));
    }
}

/* f[t] += (float)sums[t] * (dw * dx[t]) for the 16 tokens of one block. */
static inline __attribute__((always_inline)) void apply_block(__m512 f[TILE_TOK], const int32_t *sums,
                                                               const uint8_t *pb, const gl_block_q8a *x,
                                                               size_t x_row_bytes, int64_t i) {
    __m512 dw = _mm512_load_ps(pb + 512);
#pragma GCC unroll 16
    for (int t = 0; t < TILE_TOK; t++) {
        const gl_block_q8a *xt = (const gl_block_q8a *)(const void *)((const char *)x + (size_t)t * x_row_bytes);
        __m512 s = _mm512_cvtepi32_ps(_mm512_load_si512(sums + 16 * t));
        f[t] = _mm512_fmadd_ps(s, _mm512_mul_ps(dw, _mm512_set1_ps(xt[i].d)), f[t]);
    }
}

/* One panel (rows r0.., mask m) times tokens t0..t0+15, over all nb blocks. */
static void panel_times_16(const uint8_t *panel, int64_t nb, const gl_gemm_args *a, int64_t t0, int64_t r0,
                           __mmask16 m) {
    const gl_block_q8a *x = (const gl_block_q8a *)(const void *)((const char *)a->x + (size_t)t0 * a->x_row_bytes);
    const char *qs = (const char *)x + offsetof(gl_block_q8a, qs);
    long stride = (long)a->x_row_bytes;
    _Alignas(64) int32_t sums[2][TILE_TOK * 16]; /* (token, row) per tile */
    __m512 f[TILE_TOK];
#pragma GCC unroll 16
    for (int t = 0; t < TILE_TOK; t++) f[t] = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 1 < nb; i += 2) {
        const uint8_t *p0 = panel + i * PANEL_I8, *p1 = p0 + PANEL_I8;
        _tile_zero(0);
        _tile_loadd(2, qs + i * sizeof(gl_block_q8a), stride);
        _tile_loadd(4, p0, 64);
        _tile_dpbssd(0, 2, 4);
        _tile_stored(0, sums[0], 64);
        _tile_zero(1);
        _tile_loadd(3, qs + (i + 1) * sizeof(gl_block_q8a), stride);
        _tile_loadd(5, p1, 64);
        _tile_dpbssd(1, 3, 5);
        _tile_stored(1, sums[1], 64);
        apply_block(f, sums[0], p0, x, a->x_row_bytes, i);
        apply_block(f, sums[1], p1, x, a->x_row_bytes, i + 1);
    }
    if (i < nb) {
        const uint8_t *p0 = panel + i * PANEL_I8;
        _tile_zero(0);
        _tile_loadd(2, qs + i * sizeof(gl_block_q8a), stride);
        _tile_loadd(4, p0, 64);
        _tile_dpbssd(0, 2, 4);
        _tile_stored(0, sums[0], 64);
        apply_block(f, sums[0], p0, x, a->x_row_bytes, i);
    }
    if (a->bias) { /* as adding it afterwards would */
        __m512 bv = _mm512_maskz_loadu_ps(m, a->bias + r0);
#pragma GCC unroll 16
        for (int t = 0; t < TILE_TOK; t++) f[t] = _mm512_add_ps(f[t], bv);
    }
#pragma GCC unroll 16
    for (int t = 0; t < TILE_TOK; t++) _mm512_mask_storeu_ps(a->y + (t0 + t) * a->y_stride + r0, m, f[t]);
}

void gl_gemm_q8_0_amx(const gl_gemm_args *a) {
    int64_t full = a->n_tok / TILE_TOK * TILE_TOK;
    if (full > 0) {
        int64_t nb = a->n / 32;
        size_t pstride = (size_t)nb * PANEL_I8;
        uint8_t *panel = a->scratch;
        configure_int8();
        for (int64_t r0 = 0; r0 < a->n_rows; r0 += 64) { /* 4 panels: 72 bytes of scratch per element */
            int64_t rows = a->n_rows - r0 < 64 ? a->n_rows - r0 : 64;
            int np = (int)((rows + 15) / 16);
            __mmask16 mask[4];
            for (int r = 0; r < np; r++) {
                int nr = rows - 16 * r < 16 ? (int)(rows - 16 * r) : 16;
                mask[r] = (__mmask16)((1u << nr) - 1);
                pack_int8((const uint8_t *)a->w + (size_t)(r0 + 16 * r) * a->row_bytes, a->row_bytes, nr, nb,
                          panel + r * pstride);
            }
            for (int64_t t0 = 0; t0 < full; t0 += TILE_TOK)
                for (int r = 0; r < np; r++) panel_times_16(panel + r * pstride, nb, a, t0, r0 + 16 * r, mask[r]);
        }
        _tile_release();
    }
    if (full < a->n_tok) {
        gl_gemm_args rest = *a;
        rest.x = (const char *)a->x + (size_t)full * a->x_row_bytes;
        rest.y = a->y + full * a->y_stride;
        rest.n_tok = a->n_tok - full;
        gl_kernels_avx512.gemm_q8_0(&rest);
    }
}


