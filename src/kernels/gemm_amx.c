/* gemm_amx.c - Q8_0 GEMMs on AMX tiles (kernels.h: the "amx" table's
 * gemm_q8_0 and gl_gemm_q8_0_bf16_amx).
 *
 * Intel's AMX multiplies tiles (up to 16 rows of 64 bytes) into 16x16 sums
 * in one instruction (Intel Architecture Instruction Set Extensions
 * Programming Reference, ch. 3). Two GEMMs:
 *
 * - gl_gemm_q8_0_amx, exact: tdpbssd, signed by signed bytes into int32.
 *   Q8_0 has one float scale per 32 weights, so a tile product spans
 *   exactly one block (K = 32: the activation tile is 16 tokens x 32 bytes
 *   read in place from the gl_block_q8a rows, the weight tile 8 x 64
 *   bytes); its 16x16 exact integer sums go through memory to the vector
 *   units, which apply kernels.h's order, one FMA per block: the scalar
 *   kernel's bits, like every other integer gemm. Moving every block's sums
 *   out of the tiles (a store, then a convert, a multiply and an FMA per 16
 *   sums) bounds it; the tile unit works on the next block meanwhile (two
 *   sets of tiles).
 * - gl_gemm_q8_0_bf16_amx, rounded: tdpbf16ps, bfloat16 pairs into f32.
 *   Weights are widened to d*q (exact in f32) and rounded to bf16 while
 *   packing, the activations come as bf16 rows, and the tiles keep f32 sums
 *   (started from the bias) over the whole row, so nothing leaves the tile
 *   unit until the end.
 *
 * Weight panels (16 rows) are packed per call into the scratch. Int8: per
 * block eight 64-byte rows holding four consecutive weights of each of 16
 * rows, then the 16 scales as f32 (dot_avx512.c's layout without its +128
 * offset). Bf16: per block sixteen 64-byte rows holding a pair of
 * consecutive weights of each of 16 rows (tdpbf16ps's B layout). Tokens
 * left over from the 16-token tiles go to the AVX-512 gemm (int8) or to
 * tiles of fewer rows (bf16).
 *
 * Linux hands out tile state only after the process asks for it
 * (arch_prctl(ARCH_REQ_XCOMP_PERM)); kernels.c does that before the AMX
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

/* ==== Rounded: bf16 tiles, f32 sums over the whole row ==== */

#define PANEL_BF16 1024 /* bytes of one block of a bf16 panel: 16 x 64 */

/* Rows 0..15 of Q8_0 widened to d*q, rounded to bf16 and packed as
 * tdpbf16ps's B operand: per block, row k of the tile holds weights 2k and
 * 2k+1 of each of the 16 rows. */
static void pack_bf16(const uint8_t *w, size_t row_bytes, int64_t nb, uint8_t *p) {
    __m512i idx = row_offsets(row_bytes);
    for (int64_t i = 0; i < nb; i++, p += PANEL_BF16) {
        const uint8_t *b = w + 34 * i;
        _Alignas(64) float d[16];
        _mm512_store_ps(d, gather_scales(b, idx, 0xffff));
        __m512i r[16];
        for (int n = 0; n < 16; n++) {
            const uint8_t *q = b + (size_t)n * row_bytes + 2;
            __m512 dn = _mm512_set1_ps(d[n]);
            __m512 lo = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(const void *)q)));
            __m512 hi = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(const void *)(q + 16))));
            r[n] = amx_pairs32(_mm512_mul_ps(lo, dn), _mm512_mul_ps(hi, dn));
        }
        simd_transpose16(r);
        for (int k = 0; k < 16; k++) _mm512_store_si512(p + 64 * k, r[k]);
    }
}

/* Tiles: 0-3 sums (tok_rows tokens x 16 f32) of token group g and panel q
 * in tile 2g + q, 4-5 activations (tok_rows tokens x 32 bf16), 6-7
 * weights (16 x 64 bytes). */
static void configure_bf16(int tok_rows) {
    uint8_t rows[8];
    static const uint16_t colsb[8] = {64, 64, 64, 64, 64, 64, 64, 64};
    for (int i = 0; i < 6; i++) rows[i] = (uint8_t)tok_rows;
    rows[6] = rows[7] = 16;
    amx_load_tiles(rows, colsb);
}

/* ng token groups (t0.., 16 apart) times np panels (p0, p1: rows r0.., 16
 * apart) over all nb blocks, stored to y. While the first panel pair of a
 * token pair runs, next (or NULL) has the next pair's activations brought
 * to L2: the tile loads stall on memory otherwise. */
static void bf16_tiles(const uint8_t *p0, const uint8_t *p1, int np, int ng, int64_t nb, const gl_gemm_args *a,
                       int64_t t0, int64_t r0, const char *next) {
    const char *x0 = (const char *)a->x + (size_t)t0 * a->x_row_bytes;
    const char *x1 = ng == 2 ? x0 + 16 * a->x_row_bytes : x0; /* the second group, if any */
    long stride = (long)a->x_row_bytes, ys = (long)(a->y_stride * (int64_t)sizeof(float));
    float *y0 = a->y + t0 * a->y_stride + r0, *y1 = ng == 2 ? y0 + 16 * a->y_stride : y0;
    if (a->bias) { /* every row of a sum tile starts as the panel's 16 biases (a stride of 0) */
        _tile_loadd(0, a->bias + r0, 0);
        _tile_loadd(1, a->bias + r0 + (np == 2 ? 16 : 0), 0);
        _tile_loadd(2, a->bias + r0, 0);
        _tile_loadd(3, a->bias + r0 + (np == 2 ? 16 : 0), 0);
    } else {
        _tile_zero(0);
        _tile_zero(1);
        _tile_zero(2);
        _tile_zero(3);
    }
    if (ng == 2 && np == 2) {
        for (int64_t i = 0; i < nb; i++) {
            if (next)
                for (int t = 0; t < 2 * TILE_TOK; t++) _mm_prefetch(next + t * stride + 64 * i, _MM_HINT_T1);
            _tile_loadd(4, x0 + 64 * i, stride);
            _tile_loadd(5, x1 + 64 * i, stride);
            _tile_loadd(6, p0 + i * PANEL_BF16, 64);
            _tile_loadd(7, p1 + i * PANEL_BF16, 64);
            _tile_dpbf16ps(0, 4, 6);
            _tile_dpbf16ps(1, 4, 7);
            _tile_dpbf16ps(2, 5, 6);
            _tile_dpbf16ps(3, 5, 7);
        }
    } else {
        for (int64_t i = 0; i < nb; i++) {
            _tile_loadd(4, x0 + 64 * i, stride);
            if (ng == 2) _tile_loadd(5, x1 + 64 * i, stride);
            _tile_loadd(6, p0 + i * PANEL_BF16, 64);
            if (np == 2) _tile_loadd(7, p1 + i * PANEL_BF16, 64);
            _tile_dpbf16ps(0, 4, 6);
            if (np == 2) _tile_dpbf16ps(1, 4, 7);
            if (ng == 2) _tile_dpbf16ps(2, 5, 6);
            if (ng == 2 && np == 2) _tile_dpbf16ps(3, 5, 7);
        }
    }
    _tile_stored(0, y0, ys);
    if (np == 2) _tile_stored(1, y0 + 16, ys);
    if (ng == 2) _tile_stored(2, y1, ys);
    if (ng == 2 && np == 2) _tile_stored(3, y1 + 16, ys);
}

void gl_gemm_q8_0_bf16_amx(const gl_gemm_args *a) {
    int64_t nb = a->n / 32;
    size_t pstride = (size_t)nb * PANEL_BF16;
    uint8_t *panel = a->scratch;
    for (int64_t r0 = 0; r0 < a->n_rows; r0 += 64) { /* 4 panels: 128 bytes of scratch per element */
        int np = (int)((a->n_rows - r0 < 64 ? a->n_rows - r0 : 64) / 16);
        for (int r = 0; r < np; r++)
            pack_bf16((const uint8_t *)a->w + (size_t)(r0 + 16 * r) * a->row_bytes, a->row_bytes, nb,
                      panel + r * pstride);
        configure_bf16(TILE_TOK);
        int64_t t0 = 0;
        for (; t0 + 2 * TILE_TOK <= a->n_tok; t0 += 2 * TILE_TOK)
            for (int r = 0; r < np; r += 2) {
                const char *next = r == 0 && t0 + 4 * TILE_TOK <= a->n_tok
                                       ? (const char *)a->x + (size_t)(t0 + 2 * TILE_TOK) * a->x_row_bytes
                                       : NULL;
                bf16_tiles(panel + r * pstride, panel + (r + 1) * pstride, np - r < 2 ? 1 : 2, 2, nb, a, t0,
                           r0 + 16 * r, next);
            }
        if (t0 + TILE_TOK <= a->n_tok) {
            for (int r = 0; r < np; r += 2)
                bf16_tiles(panel + r * pstride, panel + (r + 1) * pstride, np - r < 2 ? 1 : 2, 1, nb, a, t0,
                           r0 + 16 * r, NULL);
            t0 += TILE_TOK;
        }
        if (t0 < a->n_tok) { /* tiles of fewer rows */
            configure_bf16((int)(a->n_tok - t0));
            for (int r = 0; r < np; r += 2)
                bf16_tiles(panel + r * pstride, panel + (r + 1) * pstride, np - r < 2 ? 1 : 2, 1, nb, a, t0,
                           r0 + 16 * r, NULL);
        }
    }
    _tile_release();
}

/* ==== Throughput probes (glimpse bench) ==== */

/* Four independent sums from two A and two B tiles of zeros, as the gemms
 * keep two panels and two token groups in flight; each product is
 * 16 x 16 x (64 bytes of operands) multiply-adds. Tile 0's sums end in out
 * (16 x 16 int32 or f32). */
static void probe_tiles(int bf16, int64_t iters, void *out) {
    static const uint8_t rows[8] = {16, 16, 16, 16, 16, 16, 16, 16};
    static const uint16_t colsb[8] = {64, 64, 64, 64, 64, 64, 64, 64};
    _Alignas(64) static const uint8_t zeros[16 * 64] = {0};
    amx_load_tiles(rows, colsb);
    _tile_zero(0);
    _tile_zero(1);
    _tile_zero(2);
    _tile_zero(3);
    _tile_loadd(4, zeros, 64);
    _tile_loadd(5, zeros, 64);
    _tile_loadd(6, zeros, 64);
    _tile_loadd(7, zeros, 64);
    if (bf16)
        for (int64_t i = 0; i < iters; i++) {
            _tile_dpbf16ps(0, 4, 6);
            _tile_dpbf16ps(1, 4, 7);
            _tile_dpbf16ps(2, 5, 6);
            _tile_dpbf16ps(3, 5, 7);
        }
    else
        for (int64_t i = 0; i < iters; i++) {
            _tile_dpbssd(0, 4, 6);
            _tile_dpbssd(1, 4, 7);
            _tile_dpbssd(2, 5, 6);
            _tile_dpbssd(3, 5, 7);
        }
    _tile_stored(0, out, 64);
    _tile_release();
}

double gl_amx_probe_int8(int64_t iters, int32_t *sink) {
    _Alignas(64) int32_t out[16 * 16];
    probe_tiles(0, iters, out);
    *sink = out[0];
    return 4.0 * 16 * 16 * 64 * 2 * (double)iters;
}

double gl_amx_probe_bf16(int64_t iters, float *sink) {
    _Alignas(64) float out[16 * 16];
    probe_tiles(1, iters, out);
    *sink = out[0];
    return 4.0 * 16 * 16 * 32 * 2 * (double)iters;
}
