/* test_kernels_simd_match_scalar.c - the AVX2 and AVX-512 kernels agree with
 * the scalar ones, and the scalar integer kernels compute the true dot product.
 *
 * Tolerances:
 *  - activation quantisers and integer kernels (Q8_0, Q4_0, Q4_K, Q5_K, Q6_K),
 *    one row or a batch through gemm (blocked and row-at-a-time paths, row and
 *    token counts off the blocking, K spanning several chunks):
 *    SIMD == scalar, bit for bit (the order is fixed by kernels.h);
 *  - scalar integer kernels against a double-precision dot of the dequantised
 *    weight and activation rows: |diff| <= 1e-5 * sum|w*x| (float rounding of
 *    the block scales and of the running sum only);
 *  - float kernels (F32, F16, BF16), dot and gemm: |simd - scalar| <=
 *    4 sqrt(n) eps sum|w*x| with eps = 2^-24, a few times the typical rounding
 *    of two summation orders and well below the effect of dropping one product;
 *  - activations (GELU tanh/erf/quick, SiLU*up) on [-12, 12] and +-90:
 *    |simd - scalar| <= 1e-6 max(1, |x|) (the scalar formulas' own rounding,
 *    e.g. 1 + tanh near -1, is of that order; erf's approximation is 1.5e-7);
 *  - within each version (scalar included), exactly: F16/BF16 widening equals
 *    the scalar conversion, dot_f16/dot_bf16 equal dot_f32 of the widened row.
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
    if (!raw && tr->from_float) { /* glimpse writes no Q5_K: raw blocks only */
        float *f = malloc((size_t)n * sizeof(float));
        random_row(f, n);
        tr->from_float(f, w, n);
        free(f);
        return;
    }
    size_t bytes = gl_row_bytes(type, n);
    for (size_t i = 0; i < bytes; i++) w[i] = (uint8_t)next_u32();
    int scale_at = type == GL_TYPE_Q6_K ? 208 : 0;
    int has_min = type == GL_TYPE_Q4_K || type == GL_TYPE_Q5_K;
    for (size_t b = 0; b < bytes / (size_t)tr->type_size; b++) {
        uint8_t *blk = w + b * (size_t)tr->type_size;
        uint16_t h = gl_fp32_to_fp16((uniform() - 0.5f) * 0.02f);
        blk[scale_at] = (uint8_t)h;
        blk[scale_at + 1] = (uint8_t)(h >> 8);
        if (has_min) {
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

typedef float (*dot_q8a_fn)(const void *w, const gl_block_q8a *x, int64_t n);
typedef float (*dot_q8k_fn)(const void *w, const gl_block_q8k *x, int64_t n);

static dot_q8a_fn dot_q8a(const gl_kernels *k, int type) { return type == GL_TYPE_Q8_0 ? k->dot_q8_0 : k->dot_q4_0; }
static dot_q8k_fn dot_q8k(const gl_kernels *k, int type) {
    return type == GL_TYPE_Q4_K ? k->dot_q4_k : type == GL_TYPE_Q5_K ? k->dot_q5_k : k->dot_q6_k;
}
static gl_gemm_fn gemm_of(const gl_kernels *k, int type) {
    switch (type) {
    case GL_TYPE_Q8_0: return k->gemm_q8_0;
    case GL_TYPE_Q4_0: return k->gemm_q4_0;
    case GL_TYPE_Q4_K: return k->gemm_q4_k;
    case GL_TYPE_Q5_K: return k->gemm_q5_k;
    case GL_TYPE_Q6_K: return k->gemm_q6_k;
    case GL_TYPE_F32: return k->gemm_f32;
    case GL_TYPE_F16: return k->gemm_f16;
    default: return k->gemm_bf16;
    }
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
        got_scalar = dot_q8a(&gl_kernels_scalar, type)(w, a, n);
        got_simd = dot_q8a(k, type)(w, a, n);
        free(a);
    } else {
        gl_block_q8k *a = malloc((size_t)n / 256 * sizeof *a);
        gl_kernels_scalar.quantize_q8k(x, a, n);
        for (int64_t i = 0; i < n; i++) xq[i] = a[i / 256].d * a[i / 256].qs[i % 256];
        got_scalar = dot_q8k(&gl_kernels_scalar, type)(w, a, n);
        got_simd = dot_q8k(k, type)(w, a, n);
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
    float *wide = malloc((size_t)n * sizeof(float));
    if (type == GL_TYPE_F16) k->f16_to_f32(w, wide, n);
    if (type == GL_TYPE_BF16) k->bf16_to_f32(w, wide, n);
    if (type == GL_TYPE_F32) memcpy(wide, w, (size_t)n * sizeof(float));
    CHECK_MSG(memcmp(wide, wf, (size_t)n * sizeof(float)) == 0, "%s widening of %s differs from the decoder", k->name,
              gl_type_get(type)->name);
    CHECK_MSG(bits_equal(b, k->dot_f32(wide, x, n)), "%s dot_%s != dot_f32 of the widened row (n=%lld)", k->name,
              gl_type_get(type)->name, (long long)n);
    free(wide);

    double tol = 4 * sqrt((double)n) * 0x1p-24 * mag;
    CHECK_MSG(fabs((double)a - b) <= tol, "%s %s n=%lld: simd %.9g, scalar %.9g, tolerance %.3g", k->name,
              gl_type_get(type)->name, (long long)n, b, a, tol);
    CHECK_MSG(fabs((double)a - want) <= tol, "scalar %s n=%lld: %.9g, exact %.9g", gl_type_get(type)->name,
              (long long)n, a, want);
    free(wf);
    free(x);
    free(w);
}

/* ==== Activations ==== */

static void check_activations(const gl_kernels *k) {
    enum { N = 1003 };
    static float x[N], a[N], b[N], up[N];
    for (int i = 0; i < N; i++) {
        x[i] = -12.0f + 24.0f * (float)i / (N - 4);
        up[i] = 1.5f - (float)(i % 7);
    }
    x[N - 3] = 90.0f, x[N - 2] = -90.0f, x[N - 1] = 0.0f;
    void (*const fns[][2])(float *, int64_t) = {{gl_kernels_scalar.gelu_tanh, k->gelu_tanh},
                                               {gl_kernels_scalar.gelu_erf, k->gelu_erf},
                                               {gl_kernels_scalar.gelu_quick, k->gelu_quick}};
    static const char *const names[] = {"gelu_tanh", "gelu_erf", "gelu_quick", "silu_mul"};
    for (int f = 0; f < 4; f++) {
        memcpy(a, x, sizeof x);
        memcpy(b, x, sizeof x);
        if (f < 3) {
            fns[f][0](a, N);
            fns[f][1](b, N);
        } else {
            gl_kernels_scalar.silu_mul(a, up, N);
            k->silu_mul(b, up, N);
        }
        int bad = 0;
        for (int i = 0; i < N; i++) {
            double tol = 1e-6 * fmax(1.0, fabs(x[i])) * (f == 3 ? fabs(up[i]) + 1 : 1);
            if (!(fabs((double)a[i] - b[i]) <= tol) && bad++ < 3)
                fprintf(stderr, "%s %s(%g): %.9g, scalar %.9g\n", k->name, names[f], x[i], b[i], a[i]);
        }
        CHECK_MSG(bad == 0, "%s %s: %d values off", k->name, names[f], bad);
    }
}

/* ==== Batches ==== */

/* gemm of n_rows x n_tok against the scalar one-row kernel: exact for integer
 * types, within the float tolerance otherwise. */
static void check_gemm(const gl_kernels *k, int type, int64_t n, int64_t n_rows, int64_t n_tok) {
    size_t rb = gl_row_bytes(type, n);
    uint8_t *w = malloc(rb * (size_t)n_rows);
    int integer = type != GL_TYPE_F32 && type != GL_TYPE_F16 && type != GL_TYPE_BF16;
    for (int64_t r = 0; r < n_rows; r++) random_weights(type, w + (size_t)r * rb, n, integer && r % 3 == 1);
    float *x = malloc((size_t)(n * n_tok) * sizeof(float));
    for (int64_t t = 0; t < n_tok; t++) random_row(x + t * n, n);
    int q8a = type == GL_TYPE_Q8_0 || type == GL_TYPE_Q4_0;
    int q8k = type == GL_TYPE_Q4_K || type == GL_TYPE_Q5_K || type == GL_TYPE_Q6_K;
    size_t xrb = q8a ? (size_t)n / 32 * sizeof(gl_block_q8a)
                     : q8k ? (size_t)n / 256 * sizeof(gl_block_q8k) : (size_t)n * sizeof(float);
    char *xq = malloc(xrb * (size_t)n_tok);
    for (int64_t t = 0; t < n_tok; t++) {
        if (q8a) gl_kernels_scalar.quantize_q8a(x + t * n, (gl_block_q8a *)(void *)(xq + t * xrb), n);
        else if (q8k) gl_kernels_scalar.quantize_q8k(x + t * n, (gl_block_q8k *)(void *)(xq + t * xrb), n);
        else memcpy(xq + t * xrb, x + t * n, xrb);
    }
    int64_t y_stride = n_rows + 3;
    float *y = malloc((size_t)(y_stride * n_tok) * sizeof(float));
    for (int64_t i = 0; i < y_stride * n_tok; i++) y[i] = -1234.5f;
    void *scratch = aligned_alloc(64, (gl_gemm_scratch_bytes(n) + 63) / 64 * 64);
    gl_gemm_args a = {.w = w, .row_bytes = rb, .n_rows = n_rows, .n = n, .x = xq, .x_row_bytes = xrb,
                      .n_tok = n_tok, .y = y, .y_stride = y_stride, .scratch = scratch};
    gemm_of(k, type)(&a);
    int bad = 0;
    for (int64_t t = 0; t < n_tok; t++) {
        const void *xt = xq + t * xrb;
        for (int64_t r = 0; r < y_stride; r++) {
            float got = y[t * y_stride + r];
            if (r >= n_rows) {
                bad += got != -1234.5f;
                continue;
            }
            const uint8_t *wr = w + (size_t)r * rb;
            float want;
            if (q8a) want = dot_q8a(&gl_kernels_scalar, type)(wr, xt, n);
            else if (q8k) want = dot_q8k(&gl_kernels_scalar, type)(wr, xt, n);
            else if (type == GL_TYPE_F32) want = gl_kernels_scalar.dot_f32((const float *)(const void *)wr, xt, n);
            else if (type == GL_TYPE_F16) want = gl_kernels_scalar.dot_f16(wr, xt, n);
            else want = gl_kernels_scalar.dot_bf16(wr, xt, n);
            int ok;
            if (q8a || q8k) {
                ok = bits_equal(got, want);
            } else {
                float *wf = malloc((size_t)n * sizeof(float));
                gl_type_get(type)->to_float(wr, wf, n);
                double mag = 0;
                for (int64_t i = 0; i < n; i++) mag += fabs((double)wf[i] * ((const float *)xt)[i]);
                free(wf);
                ok = fabs((double)got - want) <= 4 * sqrt((double)n) * 0x1p-24 * mag;
            }
            if (!ok && bad++ < 3)
                fprintf(stderr, "%s gemm %s n=%lld rows=%lld toks=%lld: row %lld tok %lld %.9g, scalar %.9g\n",
                        k->name, gl_type_get(type)->name, (long long)n, (long long)n_rows, (long long)n_tok,
                        (long long)r, (long long)t, got, want);
        }
    }
    CHECK_MSG(bad == 0, "%s gemm %s n=%lld rows=%lld toks=%lld: %d outputs differ", k->name,
              gl_type_get(type)->name, (long long)n, (long long)n_rows, (long long)n_tok, bad);
    if (type == GL_TYPE_F32) {
        /* the same product with w stored by columns, added to what y holds */
        float *wc = malloc((size_t)(n * n_rows) * sizeof(float)), *y2 = malloc((size_t)(y_stride * n_tok) * sizeof(float));
        for (int64_t r = 0; r < n_rows; r++)
            for (int64_t i = 0; i < n; i++) wc[i * n_rows + r] = ((const float *)(const void *)w)[r * n + i];
        for (int64_t i = 0; i < y_stride * n_tok; i++) y2[i] = 0.5f * (float)(i % 5);
        gl_gemm_args c = a;
        c.w = wc;
        c.row_bytes = (size_t)n_rows * sizeof(float);
        c.w_columns = c.accumulate = 1;
        c.y = y2;
        gemm_of(k, type)(&c);
        int bad2 = 0;
        for (int64_t t = 0; t < n_tok; t++)
            for (int64_t r = 0; r < n_rows; r++) {
                double mag = 0.5 * (double)((t * y_stride + r) % 5);
                for (int64_t i = 0; i < n; i++) mag += fabs((double)wc[i * n_rows + r] * ((const float *)(const void *)(xq + t * xrb))[i]);
                double want = 0.5 * (double)((t * y_stride + r) % 5) + y[t * y_stride + r];
                bad2 += !(fabs(y2[t * y_stride + r] - want) <= 8 * sqrt((double)n) * 0x1p-24 * mag);
            }
        CHECK_MSG(bad2 == 0, "%s gemm F32 by columns, accumulating, rows=%lld toks=%lld: %d outputs off", k->name,
                  (long long)n_rows, (long long)n_tok, bad2);
        free(wc);
        free(y2);
    }
    free(w);
    free(x);
    free(xq);
    free(y);
    free(scratch);
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
        check_activations(k);
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
                check_integer_kernel(k, GL_TYPE_Q5_K, n256[i], raw);
                check_integer_kernel(k, GL_TYPE_Q6_K, n256[i], raw);
            }
        }
        /* Batches: 1-2 tokens go row by row, 3+ through the blocked kernels
         * (tails of 6/12-token tiles and of 16/32-row panels); 1024 and 1280
         * elements span two K chunks of the blocked kernels. */
        static const int gemm_types[] = {GL_TYPE_Q8_0, GL_TYPE_Q4_0, GL_TYPE_Q4_K, GL_TYPE_Q5_K,
                                         GL_TYPE_Q6_K, GL_TYPE_F32,  GL_TYPE_F16,  GL_TYPE_BF16};
        static const int64_t gemm_toks[] = {1, 2, 3, 7, 13};
        for (size_t ti = 0; ti < sizeof gemm_types / sizeof *gemm_types; ti++) {
            int type = gemm_types[ti];
            int64_t n = type == GL_TYPE_Q8_0 || type == GL_TYPE_Q4_0 ? 1024 : type <= GL_TYPE_F16 || type == GL_TYPE_BF16 ? 288 : 1280;
            for (size_t i = 0; i < sizeof gemm_toks / sizeof *gemm_toks; i++) check_gemm(k, type, n, 37, gemm_toks[i]);
            check_gemm(k, type, 256, 64, 6);
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
