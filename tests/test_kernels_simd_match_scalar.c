/* test_kernels_simd_match_scalar.c - the AVX2 and AVX-512 kernels agree with
 * the scalar ones, and the scalar integer kernels compute the true dot product.
 *
 * Tolerances:
 *  - activation quantisers and integer kernels (Q8_0, Q4_0, Q4_K, Q6_K):
 *    SIMD == scalar, bit for bit (the lane order is fixed by kernels.h);
 *  - scalar integer kernels against a double-precision dot of the dequantised
 *    weight and activation rows: |diff| <= 1e-5 * sum|w*x| (float rounding of
 *    the block scales and of the running sum only);
 *  - float kernels (F32, F16, BF16): |simd - scalar| <= 4 sqrt(n) eps sum|w*x|
 *    with eps = 2^-24, a few times the typical rounding of two summation orders
 *    and well below the effect of dropping one product;
 *  - within each version (scalar included), exactly: the four-token K-quant
 *    and F32 kernels equal the one-token ones per token; F16/BF16 widening equals
 *    the scalar conversion, dot_f16/dot_bf16 equal dot_f32 of the widened row,
 *    and dot_f32_x4 equals dot_f32 for each of its four tokens.
 * An ISA the CPU lacks is skipped (exit 77 when neither is present). */
#include "kernels/kernels.h"
#include "quant.h"
#include "test.h"

#include <stdint.h>

static uint64_t rng = 0x853c49e6748fea9bull;
static uint32_t next_u32(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}
static float uniform(void) { return (float)(next_u32() >> 8) / 16777216.0f; }

/* Activation-like rows: mixed block magnitudes, a zero block, an outlier. */
static void random_row(float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        int64_t blk = i / 32;
        float scale = blk % 7 == 3 ? 0.0f : (float)pow(10, (double)(blk % 5) - 2);
        x[i] = (2 * uniform() - 1) * scale;
    }
    if (n > 40) x[n / 3] = 50.0f;
}

/* Weight rows: either quantised from random floats, or raw random blocks with
 * a sane f16 scale (these reach the extremes, e.g. Q8_0's -128 and Q6_K's
 * scale -128, that quantisers rarely produce). */
static void random_weights(int type, uint8_t *w, int64_t n, int raw) {
    const gl_type_traits *tr = gl_type_get(type);
    if (!raw) {
        float *f = malloc((size_t)n * sizeof(float));
        random_row(f, n);
        tr->from_float(f, w, n);
        free(f);
        return;
    }
    size_t bytes = gl_row_bytes(type, n);
    for (size_t i = 0; i < bytes; i++) w[i] = (uint8_t)next_u32();
    int scale_at = type == GL_TYPE_Q6_K ? 208 : 0;
    for (size_t b = 0; b < bytes / (size_t)tr->type_size; b++) {
        uint8_t *blk = w + b * (size_t)tr->type_size;
        uint16_t h = gl_fp32_to_fp16((uniform() - 0.5f) * 0.02f);
        blk[scale_at] = (uint8_t)h;
        blk[scale_at + 1] = (uint8_t)(h >> 8);
        if (type == GL_TYPE_Q4_K) {
            h = gl_fp32_to_fp16(uniform() * 0.01f);
            blk[2] = (uint8_t)h;
            blk[3] = (uint8_t)(h >> 8);
        }
    }
}

static int bits_equal(float a, float b) { return memcmp(&a, &b, 4) == 0; }

/* ==== Activation quantisers ==== */

static void check_quantisers(const gl_kernels *k) {
    static const int64_t sizes[] = {256, 512, 2304};
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
        int64_t n = sizes[s];
        float *x = malloc((size_t)n * sizeof(float));
        random_row(x, n);
        gl_block_q8a *a = calloc((size_t)n / 32, sizeof *a), *b = calloc((size_t)n / 32, sizeof *b);
        gl_kernels_scalar.quantize_q8a(x, a, n);
        k->quantize_q8a(x, b, n);
        CHECK_MSG(memcmp(a, b, (size_t)n / 32 * sizeof *a) == 0, "%s quantize_q8a differs from scalar (n=%lld)",
                  k->name, (long long)n);
        gl_block_q8k *c = calloc((size_t)n / 256, sizeof *c), *d = calloc((size_t)n / 256, sizeof *d);
        for (int64_t i = 256; i < 512 && i < n; i++) x[i] = 0; /* an all-zero super-block */
        if (n >= 512) x[700 % n] = -80.0f; /* a negative largest magnitude */
        gl_kernels_scalar.quantize_q8k(x, c, n);
        k->quantize_q8k(x, d, n);
        CHECK_MSG(memcmp(c, d, (size_t)n / 256 * sizeof *c) == 0, "%s quantize_q8k differs from scalar (n=%lld)",
                  k->name, (long long)n);
        free(x);
        free(a);
        free(b);
        free(c);
        free(d);
    }
}

/* ==== Integer kernels ==== */

/* sum(w*x) in double over the dequantised rows, and sum|w*x|. */
static double reference_dot(int type, const uint8_t *w, const float *xq, int64_t n, double *mag) {
    float *wf = malloc((size_t)n * sizeof(float));
    gl_type_get(type)->to_float(w, wf, n);
    double s = 0;
    *mag = 0;
    for (int64_t i = 0; i < n; i++) {
        s += (double)wf[i] * xq[i];
        *mag += fabs((double)wf[i] * xq[i]);
    }
    free(wf);
    return s;
}

static void check_integer_kernel(const gl_kernels *k, int type, int64_t n, int raw) {
    uint8_t *w = malloc(gl_row_bytes(type, n));
    random_weights(type, w, n, raw);
    float *x = malloc((size_t)n * sizeof(float)), *xq = malloc((size_t)n * sizeof(float));
    random_row(x, n);
    float got_scalar, got_simd;
    if (type == GL_TYPE_Q8_0 || type == GL_TYPE_Q4_0) {
        gl_block_q8a *a = malloc((size_t)n / 32 * sizeof *a);
        gl_kernels_scalar.quantize_q8a(x, a, n);
        for (int64_t i = 0; i < n; i++) xq[i] = a[i / 32].d * a[i / 32].qs[i % 32];
        int q8 = type == GL_TYPE_Q8_0;
        got_scalar = (q8 ? gl_kernels_scalar.dot_q8_0 : gl_kernels_scalar.dot_q4_0)(w, a, n);
        got_simd = (q8 ? k->dot_q8_0 : k->dot_q4_0)(w, a, n);
        free(a);
    } else {
        gl_block_q8k *a = malloc((size_t)n / 256 * sizeof *a);
        gl_kernels_scalar.quantize_q8k(x, a, n);
        for (int64_t i = 0; i < n; i++) xq[i] = a[i / 256].d * a[i / 256].qs[i % 256];
        int q4 = type == GL_TYPE_Q4_K;
        got_scalar = (q4 ? gl_kernels_scalar.dot_q4_k : gl_kernels_scalar.dot_q6_k)(w, a, n);
        got_simd = (q4 ? k->dot_q4_k : k->dot_q6_k)(w, a, n);
        /* Four tokens at once: the same bits as one at a time. */
        int64_t nb = n / 256;
        gl_block_q8k *a4 = malloc(4 * (size_t)nb * sizeof *a4);
        for (int t = 0; t < 4; t++) {
            for (int64_t i = 0; i < n; i++) x[i] = x[i] * -0.75f + 0.01f * (float)t;
            gl_kernels_scalar.quantize_q8k(x, a4 + t * nb, n);
        }
        float out[4];
        (q4 ? k->dot_q4_k_x4 : k->dot_q6_k_x4)(w, a4, nb, out, n);
        for (int t = 0; t < 4; t++)
            CHECK_MSG(bits_equal(out[t], (q4 ? k->dot_q4_k : k->dot_q6_k)(w, a4 + t * nb, n)),
                      "%s %s_x4 token %d != one-token kernel (n=%lld)", k->name, q4 ? "q4_k" : "q6_k", t, (long long)n);
        free(a4);
        free(a);
    }
    const char *tn = gl_type_get(type)->name;
    CHECK_MSG(bits_equal(got_scalar, got_simd), "%s %s n=%lld %s: simd %.9g != scalar %.9g", k->name, tn,
              (long long)n, raw ? "raw" : "quantised", got_simd, got_scalar);
    double mag, want = reference_dot(type, w, xq, n, &mag);
    CHECK_MSG(fabs(got_scalar - want) <= 1e-5 * mag, "scalar %s n=%lld %s: %.9g, reference %.9g (scale %.3g)", tn,
              (long long)n, raw ? "raw" : "quantised", got_scalar, want, mag);
    free(w);
    free(x);
    free(xq);
}

/* ==== Float kernels ==== */

static void check_float_kernel(const gl_kernels *k, int type, int64_t n) {
    float *wf = malloc((size_t)n * sizeof(float)), *x = malloc((size_t)n * sizeof(float));
    random_row(wf, n);
    random_row(x, n);
    for (int64_t i = 0; i < n; i++) wf[i] *= uniform() < 0.5f ? -1.0f : 1.0f;
    uint8_t *w = malloc((size_t)n * 4);
    gl_type_get(type)->from_float(wf, w, n);
    gl_type_get(type)->to_float(w, wf, n); /* the weights as stored */
    float a, b;
    if (type == GL_TYPE_F32) {
        a = gl_kernels_scalar.dot_f32((const float *)w, x, n);
        b = k->dot_f32((const float *)w, x, n);
    } else if (type == GL_TYPE_F16) {
        a = gl_kernels_scalar.dot_f16(w, x, n);
        b = k->dot_f16(w, x, n);
    } else {
        a = gl_kernels_scalar.dot_bf16(w, x, n);
        b = k->dot_bf16(w, x, n);
    }
    double mag = 0, want = 0;
    for (int64_t i = 0; i < n; i++) {
        mag += fabs((double)wf[i] * x[i]);
        want += (double)wf[i] * x[i];
    }
    /* Batching and widening change nothing within one version. */
    float *wide = malloc((size_t)n * sizeof(float)), *x4 = malloc(4 * (size_t)n * sizeof(float));
    if (type == GL_TYPE_F16) k->f16_to_f32(w, wide, n);
    if (type == GL_TYPE_BF16) k->bf16_to_f32(w, wide, n);
    if (type == GL_TYPE_F32) memcpy(wide, w, (size_t)n * sizeof(float));
    CHECK_MSG(memcmp(wide, wf, (size_t)n * sizeof(float)) == 0, "%s widening of %s differs from the decoder", k->name,
              gl_type_get(type)->name);
    CHECK_MSG(bits_equal(b, k->dot_f32(wide, x, n)), "%s dot_%s != dot_f32 of the widened row (n=%lld)", k->name,
              gl_type_get(type)->name, (long long)n);
    for (int t = 0; t < 4; t++)
        for (int64_t i = 0; i < n; i++) x4[t * n + i] = t == 0 ? x[i] : x[i] * (float)(t + 1) - 0.25f;
    float out[4];
    k->dot_f32_x4(wide, x4, n, out, n);
    for (int t = 0; t < 4; t++)
        CHECK_MSG(bits_equal(out[t], k->dot_f32(wide, x4 + t * n, n)), "%s dot_f32_x4 token %d != dot_f32 (n=%lld)",
                  k->name, t, (long long)n);
    free(wide);
    free(x4);

    double tol = 4 * sqrt((double)n) * 0x1p-24 * mag;
    CHECK_MSG(fabs((double)a - b) <= tol, "%s %s n=%lld: simd %.9g, scalar %.9g, tolerance %.3g", k->name,
              gl_type_get(type)->name, (long long)n, b, a, tol);
    CHECK_MSG(fabs((double)a - want) <= tol, "scalar %s n=%lld: %.9g, exact %.9g", gl_type_get(type)->name,
              (long long)n, a, want);
    free(wf);
    free(x);
    free(w);
}

int main(void) {
    int ran = 0;
    for (int isa = GL_ISA_SCALAR; isa < GL_ISA_COUNT; isa++) {
        const gl_kernels *k = gl_kernels_for((gl_isa)isa);
        if (!k) {
            fprintf(stderr, "ISA %d not supported by this CPU: skipped\n", isa);
            continue;
        }
        if (isa != GL_ISA_SCALAR) ran++;
        check_quantisers(k);
        /* 32-element types: fewer than 8 blocks, exact multiples of 8, tails */
        static const int64_t n32[] = {32, 96, 256, 288, 576, 2080};
        static const int64_t n256[] = {256, 512, 2304};
        for (int raw = 0; raw < 2; raw++) {
            for (size_t i = 0; i < sizeof n32 / sizeof *n32; i++) {
                check_integer_kernel(k, GL_TYPE_Q8_0, n32[i], raw);
                check_integer_kernel(k, GL_TYPE_Q4_0, n32[i], raw);
            }
            for (size_t i = 0; i < sizeof n256 / sizeof *n256; i++) {
                check_integer_kernel(k, GL_TYPE_Q4_K, n256[i], raw);
                check_integer_kernel(k, GL_TYPE_Q6_K, n256[i], raw);
            }
        }
        static const int64_t nf[] = {1, 7, 16, 33, 100, 576, 4099};
        for (size_t i = 0; i < sizeof nf / sizeof *nf; i++) {
            check_float_kernel(k, GL_TYPE_F32, nf[i]);
            check_float_kernel(k, GL_TYPE_F16, nf[i]);
            check_float_kernel(k, GL_TYPE_BF16, nf[i]);
        }
        fprintf(stderr, "%s checked\n", k->name);
    }
    if (!ran) TEST_SKIP("this CPU has neither AVX2 nor AVX-512 VNNI");
    TEST_DONE();
}
