/* kernels.h - the inner loops of matmul: dot products of one weight row with
 * one activation row, in a scalar, an AVX2 and an AVX-512 version.
 *
 * Quantised weights are multiplied in integers, as ggml does: the activation
 * row is first quantised to 8 bits (gl_block_q8a for the 32-element types
 * Q8_0 and Q4_0, ggml's Q8_K for the K-quants), each block's products are
 * summed exactly in int32, and only the per-block scales are float.
 *
 * Exactness contract. Every version of an integer kernel returns the same
 * float bits, so results do not depend on the CPU:
 *  - 32-element types: block b's exact integer sum is scaled and added to
 *    lane b % 8 of eight float accumulators, acc[b%8] += (float)isum * (dw*dx),
 *    and the lanes are summed in the fixed tree of gl_sum8 below;
 *  - K-quants: each 256-element super-block reduces to exact integers and is
 *    added to one running float sum in order, with the same expression.
 * The activation quantisers are bit-identical across versions too (for
 * finite inputs). The float kernels (F32, F16, BF16 weights, activations in
 * F32) sum in different orders per version and agree to rounding.
 *
 * Dispatch: gl_kernels_best() picks the widest version the CPU runs. It reads
 * the CPU feature words that libgcc fills in at start-up (a load and a bit
 * test), so it holds no state of its own and costs nothing next to a matmul;
 * gl_matmul calls it once per call. gl_kernels_for() gives a chosen version
 * for tests and benchmarks. */
#ifndef GLIMPSE_KERNELS_H
#define GLIMPSE_KERNELS_H

#include <stdint.h>

/* Activations for Q8_0 and Q4_0 weights: ggml's Q8_0 with the scale kept in
 * f32, since it is never stored. x[i] ~ d * qs[i]. */
typedef struct {
    float d;
    int8_t qs[32];
} gl_block_q8a; /* 36 bytes */

/* Activations for K-quant weights: ggml's block_q8_K, byte for byte. */
typedef struct {
    float d;
    int8_t qs[256];
    int16_t bsums[16]; /* sums of qs in groups of 16 */
} gl_block_q8k; /* 292 bytes */

typedef enum { GL_ISA_SCALAR, GL_ISA_AVX2, GL_ISA_AVX512, GL_ISA_COUNT } gl_isa;

/* n is the row length in elements (a multiple of the block size). */
typedef struct gl_kernels {
    const char *name; /* "scalar", "avx2", "avx512" */
    void (*quantize_q8a)(const float *x, gl_block_q8a *y, int64_t n);
    void (*quantize_q8k)(const float *x, gl_block_q8k *y, int64_t n);
    float (*dot_q8_0)(const void *w, const gl_block_q8a *x, int64_t n);
    float (*dot_q4_0)(const void *w, const gl_block_q8a *x, int64_t n);
    float (*dot_q4_k)(const void *w, const gl_block_q8k *x, int64_t n);
    float (*dot_q6_k)(const void *w, const gl_block_q8k *x, int64_t n);
    /* out[t] = dot of w with the activation row x + t*stride (in blocks), for
     * t < 4, each bit-identical to the one-token kernel: the weight blocks are
     * unpacked once for four tokens. */
    void (*dot_q4_k_x4)(const void *w, const gl_block_q8k *x, int64_t stride, float out[4], int64_t n);
    void (*dot_q6_k_x4)(const void *w, const gl_block_q8k *x, int64_t stride, float out[4], int64_t n);
    float (*dot_f32)(const float *w, const float *x, int64_t n);
    float (*dot_f16)(const void *w, const float *x, int64_t n);
    float (*dot_bf16)(const void *w, const float *x, int64_t n);
    /* out[t] = w . x[t*stride ..] for t < 4, each bit-identical to dot_f32:
     * the weight row is loaded once for four tokens. */
    void (*dot_f32_x4)(const float *w, const float *x, int64_t stride, float out[4], int64_t n);
    /* Exact widening of a row, for batches: dot_f16(w, x) equals
     * dot_f32(f16_to_f32(w), x) bit for bit, likewise for BF16. */
    void (*f16_to_f32)(const void *w, float *out, int64_t n);
    void (*bf16_to_f32)(const void *w, float *out, int64_t n);
} gl_kernels;

extern const gl_kernels gl_kernels_scalar, gl_kernels_avx2, gl_kernels_avx512;

/* The AVX2 activation quantisers, which the AVX-512 table shares. */
void gl_quantize_q8a_avx2(const float *x, gl_block_q8a *y, int64_t n);
void gl_quantize_q8k_avx2(const float *x, gl_block_q8k *y, int64_t n);

/* The table for isa, or NULL when this CPU cannot run it. */
const gl_kernels *gl_kernels_for(gl_isa isa);
/* The fastest table this CPU runs. */
const gl_kernels *gl_kernels_best(void);

/* ==== Helpers shared by the versions ==== */

static inline uint16_t gl_load_u16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }

/* The fixed summation order of the eight block lanes, the one an AVX
 * horizontal add gives: halves, then quarters, then pairs. */
static inline float gl_sum8(const float a[8]) {
    return ((a[0] + a[4]) + (a[2] + a[6])) + ((a[1] + a[5]) + (a[3] + a[7]));
}

/* RNE float -> int for |v| < 2^22 (ggml's nearest_int), equal to what
 * cvtps2dq gives under the default rounding mode. */
static inline int gl_nearest_int(float v) {
    union { float f; int32_t i; } t = { .f = v + 12582912.f };
    return (t.i & 0x007fffff) - 0x00400000;
}

#endif
