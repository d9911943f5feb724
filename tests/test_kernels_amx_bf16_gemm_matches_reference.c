/* test_kernels_amx_bf16_gemm_matches_reference.c - the Q8_0 gemm on AMX
 * bf16 tiles (gl_gemm_q8_0_bf16_amx) equals the double-precision product of
 * its rounded operands, with and without a bias, and gl_matmul_many, which
 * takes it for Q8_0 batches of 512 tokens or more, stays within bf16
 * rounding of the exact product plus bias.
 *
 * Shapes: K of 1, 3 and 24 blocks, 16 to 80 rows (whole and partial pairs
 * of panels, more than one 64-row packing), token counts below, at and off
 * the 16- and 32-token tiles (fewer-row tiles for the rest), outputs at a
 * stride wider than the rows.
 * Tolerances:
 *  - gemm against bias + sum_i bf16(d*q_i) * bf16(x_i) in double: (n + 1) *
 *    2^-24 * (|bias| + sum|w x|) (the products are exact in f32; only the
 *    f32 sums round, at most once per term);
 *  - gl_matmul_many against the dequantised weights times the F32
 *    activations in double: 2^-8 * sum|w x| (each operand rounded to bf16,
 *    relative 2^-9) plus the sums' term above.
 * Skipped (77) when the CPU has no AMX or Linux refuses the tile state. */
#include "kernels/kernels.h"
#include "matmul.h"
#include "quant.h"
#include "test.h"
#include "threads.h"

#include <stdint.h>

static uint64_t rng = 0x94d049bb133111ebull;
static float uniform(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (float)(rng >> 40) / 16777216.0f;
}

static double bf16(float x) { return gl_bf16_to_fp32(gl_fp32_to_bf16(x)); }

/* Q8_0 rows quantised from floats with block magnitudes over three decades;
 * deq receives them dequantised. */
static uint8_t *random_q8_0(int64_t n, int64_t rows, float *deq) {
    size_t rb = gl_row_bytes(GL_TYPE_Q8_0, n);
    uint8_t *w = malloc(rb * (size_t)rows);
    float *f = malloc(sizeof(float) * (size_t)n);
    for (int64_t r = 0; r < rows; r++) {
        for (int64_t i = 0; i < n; i++) f[i] = (2 * uniform() - 1) * (float)pow(10, (double)((i / 32 + r) % 3) - 1);
        gl_type_get(GL_TYPE_Q8_0)->from_float(f, w + (size_t)r * rb, n);
        gl_type_get(GL_TYPE_Q8_0)->to_float(w + (size_t)r * rb, deq + r * n, n);
    }
    free(f);
    return w;
}

static void check_gemm(int64_t n, int64_t n_rows, int64_t n_tok, int with_bias) {
    float *deq = malloc(sizeof(float) * (size_t)(n * n_rows)), *x = malloc(sizeof(float) * (size_t)(n * n_tok));
    float *bias = malloc(sizeof(float) * (size_t)n_rows);
    uint8_t *w = random_q8_0(n, n_rows, deq);
    for (int64_t i = 0; i < n * n_tok; i++) x[i] = 2 * uniform() - 1;
    for (int64_t r = 0; r < n_rows; r++) bias[r] = (float)r * 0.5f - 7;
    size_t xrb = (size_t)n * 2 + 64;
    uint16_t *xb = malloc(xrb * (size_t)n_tok);
    for (int64_t t = 0; t < n_tok; t++) gl_amx_to_bf16(x + t * n, 1.0f, (uint16_t *)(void *)((char *)xb + t * xrb), n);
    int64_t y_stride = n_rows + 3;
    float *y = malloc(sizeof(float) * (size_t)(y_stride * n_tok));
    for (int64_t i = 0; i < y_stride * n_tok; i++) y[i] = -1234.5f;
    void *scratch = aligned_alloc(64, (gl_gemm_scratch_bytes(n) + 63) / 64 * 64);
    gl_gemm_args a = {.w = w, .row_bytes = gl_row_bytes(GL_TYPE_Q8_0, n), .n_rows = n_rows, .n = n, .x = xb,
                      .x_row_bytes = xrb, .n_tok = n_tok, .y = y, .y_stride = y_stride, .scratch = scratch,
                      .bias = with_bias ? bias : NULL};
    gl_gemm_q8_0_bf16_amx(&a);
    int bad = 0;
    for (int64_t t = 0; t < n_tok; t++)
        for (int64_t r = 0; r < y_stride; r++) {
            double got = y[t * y_stride + r], want = -1234.5, mag = 0;
            if (r < n_rows) {
                want = with_bias ? bias[r] : 0;
                mag = fabs(want);
                for (int64_t i = 0; i < n; i++) {
                    double p = bf16(deq[r * n + i]) * bf16(x[t * n + i]);
                    want += p;
                    mag += fabs(p);
                }
            }
            double tol = (double)(n + 1) * 0x1p-24 * mag;
            if (!(fabs(got - want) <= tol) && bad++ < 3)
                fprintf(stderr, "n=%lld rows=%lld toks=%lld: row %lld tok %lld %.9g, want %.9g (tolerance %.3g)\n",
                        (long long)n, (long long)n_rows, (long long)n_tok, (long long)r, (long long)t, got, want, tol);
        }
    CHECK_MSG(bad == 0, "bf16 gemm n=%lld rows=%lld toks=%lld bias=%d: %d outputs off", (long long)n,
              (long long)n_rows, (long long)n_tok, with_bias, bad);
    free(deq);
    free(x);
    free(bias);
    free(w);
    free(xb);
    free(y);
    free(scratch);
}

static void check_matmul(int64_t n, int64_t n_out, int64_t n_tok, gl_pool *pool) {
    float *deq = malloc(sizeof(float) * (size_t)(n * n_out)), *x = malloc(sizeof(float) * (size_t)(n * n_tok));
    float *bias = malloc(sizeof(float) * (size_t)n_out);
    uint8_t *w = random_q8_0(n, n_out, deq);
    size_t rb = gl_row_bytes(GL_TYPE_Q8_0, n);
    gl_tensor t = {.name = "w", .type = GL_TYPE_Q8_0, .n_dims = 2, .ne = {n, n_out, 1, 1}, .row_bytes = rb,
                   .nbytes = rb * (size_t)n_out, .data = w};
    for (int64_t i = 0; i < n * n_tok; i++) x[i] = 2 * uniform() - 1;
    for (int64_t o = 0; o < n_out; o++) bias[o] = 1.5f - (float)o * 0.25f;
    float *y = malloc(sizeof(float) * (size_t)(n_out * n_tok));
    const gl_tensor *ws[1] = {&t};
    const float *bs[1] = {bias};
    float *ys[1] = {y};
    CHECK(gl_matmul_many(1, ws, bs, x, ys, n_tok, pool) == 0);
    int bad = 0;
    for (int64_t tk = 0; tk < n_tok; tk++)
        for (int64_t o = 0; o < n_out; o++) {
            double want = bias[o], mag = 0;
            for (int64_t i = 0; i < n; i++) {
                want += (double)deq[o * n + i] * x[tk * n + i];
                mag += fabs((double)deq[o * n + i] * x[tk * n + i]);
            }
            double tol = 0x1p-8 * mag + (double)(n + 1) * 0x1p-24 * (mag + fabs(bias[o])), got = y[tk * n_out + o];
            if (!(fabs(got - want) <= tol) && bad++ < 3)
                fprintf(stderr, "matmul n=%lld out=%lld toks=%lld: tok %lld row %lld %.9g, want %.9g (tolerance %.3g)\n",
                        (long long)n, (long long)n_out, (long long)n_tok, (long long)tk, (long long)o, got, want, tol);
        }
    CHECK_MSG(bad == 0, "gl_matmul_many Q8_0 n=%lld out=%lld toks=%lld threads=%d: %d outputs off", (long long)n,
              (long long)n_out, (long long)n_tok, gl_pool_size(pool), bad);
    free(deq);
    free(x);
    free(bias);
    free(w);
    free(y);
}

int main(void) {
    if (!gl_kernels_for(GL_ISA_AMX)) TEST_SKIP("no AMX on this CPU, or the OS refused the tile state");
    static const int64_t ns[] = {32, 96, 768};
    static const int64_t rows[] = {16, 48, 64, 80};
    static const int64_t toks[] = {1, 15, 16, 17, 33, 64};
    for (size_t i = 0; i < sizeof ns / sizeof *ns; i++)
        for (size_t j = 0; j < sizeof rows / sizeof *rows; j++)
            for (size_t k = 0; k < sizeof toks / sizeof *toks; k++) check_gemm(ns[i], rows[j], toks[k], (int)(k % 2));
    gl_pool *pool = gl_pool_create(2);
    CHECK(pool != NULL);
    check_matmul(256, 48, 520, NULL);
    if (pool) check_matmul(256, 48, 600, pool);
    gl_pool_free(pool);
    TEST_DONE();
}
