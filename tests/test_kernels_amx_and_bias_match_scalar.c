/* test_kernels_amx_and_bias_match_scalar.c - the Q8_0 gemm on AMX tiles
 * gives the scalar one-row kernel's bits for every output, gl_matmul (which
 * takes it for Q8_0 batches of 16 tokens or more) gives the scalar table's
 * bits on one and on two threads, and the 32-element types' gemms of every
 * version (scalar, AVX2, AVX-512, AMX) add a bias as adding it afterwards
 * would.
 *
 * Shapes: K of 1, 3 and 24 blocks (odd block counts end on the single-block
 * path), row counts off the 16-row panels and the 64-row packing, token
 * counts that are and are not multiples of the 16-token tile (the rest goes
 * to the AVX-512 gemm), outputs written with a stride wider than the rows;
 * biases on one token (row-at-a-time kernels), a few (blocked AVX-512) and
 * 40 (AMX).
 * Tolerance: none, bit for bit (kernels.h's exactness contract: one FMA per
 * block in block order, on exact integer block sums; the bias is one float
 * addition). Weights include raw random blocks, so -128 quants occur;
 * activations mix block magnitudes over five decades, with zero blocks and
 * an outlier. The AMX checks are skipped when the CPU has no AMX or Linux
 * refuses the tile state (exit 77 if nothing else ran: never, as the scalar
 * version always runs). */
#include "kernels/kernels.h"
#include "matmul.h"
#include "quant.h"
#include "test.h"
#include "threads.h"

#include <stdint.h>

static uint64_t rng = 0x243f6a8885a308d3ull;
static uint32_t next_u32(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}
static float uniform(void) { return (float)(next_u32() >> 8) / 16777216.0f; }

static void random_row(float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        int64_t blk = i / 32;
        float scale = blk % 7 == 3 ? 0.0f : (float)pow(10, (double)(blk % 5) - 2);
        x[i] = (2 * uniform() - 1) * scale;
    }
    if (n > 40) x[n / 3] = 50.0f;
}

/* Q8_0 rows: quantised from random floats, or (raw) random bytes with a small f16 scale. */
static void random_q8_0(uint8_t *w, int64_t n, int raw) {
    if (!raw) {
        float *f = malloc((size_t)n * sizeof(float));
        random_row(f, n);
        gl_type_get(GL_TYPE_Q8_0)->from_float(f, w, n);
        free(f);
        return;
    }
    for (int64_t b = 0; b < n / 32; b++) {
        uint8_t *blk = w + 34 * b;
        uint16_t h = gl_fp32_to_fp16((uniform() - 0.5f) * 0.02f);
        blk[0] = (uint8_t)h;
        blk[1] = (uint8_t)(h >> 8);
        for (int i = 0; i < 32; i++) blk[2 + i] = (uint8_t)next_u32();
    }
}

static int bits_equal(float a, float b) { return memcmp(&a, &b, 4) == 0; }

static void check_gemm(const gl_kernels *amx, int64_t n, int64_t n_rows, int64_t n_tok) {
    size_t rb = gl_row_bytes(GL_TYPE_Q8_0, n), xrb = (size_t)n / 32 * sizeof(gl_block_q8a);
    uint8_t *w = malloc(rb * (size_t)n_rows);
    for (int64_t r = 0; r < n_rows; r++) random_q8_0(w + (size_t)r * rb, n, r % 3 == 1);
    float *x = malloc((size_t)n * sizeof(float));
    char *xq = malloc(xrb * (size_t)n_tok);
    for (int64_t t = 0; t < n_tok; t++) {
        random_row(x, n);
        gl_kernels_scalar.quantize_q8a(x, (gl_block_q8a *)(void *)(xq + (size_t)t * xrb), n);
    }
    int64_t y_stride = n_rows + 5;
    float *y = malloc((size_t)(y_stride * n_tok) * sizeof(float));
    for (int64_t i = 0; i < y_stride * n_tok; i++) y[i] = -1234.5f;
    void *scratch = aligned_alloc(64, (gl_gemm_scratch_bytes(n) + 63) / 64 * 64);
    gl_gemm_args a = {.w = w, .row_bytes = rb, .n_rows = n_rows, .n = n, .x = xq, .x_row_bytes = xrb,
                      .n_tok = n_tok, .y = y, .y_stride = y_stride, .scratch = scratch};
    amx->gemm_q8_0(&a);
    int bad = 0;
    for (int64_t t = 0; t < n_tok; t++)
        for (int64_t r = 0; r < y_stride; r++) {
            float got = y[t * y_stride + r];
            float want = r < n_rows ? gl_kernels_scalar.dot_q8_0(w + (size_t)r * rb,
                                                                 (const gl_block_q8a *)(const void *)(xq + (size_t)t * xrb), n)
                                    : -1234.5f;
            if (!bits_equal(got, want) && bad++ < 3)
                fprintf(stderr, "n=%lld rows=%lld toks=%lld: row %lld tok %lld %.9g, scalar %.9g\n", (long long)n,
                        (long long)n_rows, (long long)n_tok, (long long)r, (long long)t, got, want);
        }
    CHECK_MSG(bad == 0, "amx gemm n=%lld rows=%lld toks=%lld: %d outputs differ", (long long)n, (long long)n_rows,
              (long long)n_tok, bad);
    free(w);
    free(x);
    free(xq);
    free(y);
    free(scratch);
}

/* gl_matmul on Q8_0 (AMX for >= 16 tokens) against the scalar table. */
static void check_matmul(int64_t n, int64_t n_out, int64_t n_tok, gl_pool *pool) {
    size_t rb = gl_row_bytes(GL_TYPE_Q8_0, n);
    uint8_t *w = malloc(rb * (size_t)n_out);
    for (int64_t r = 0; r < n_out; r++) random_q8_0(w + (size_t)r * rb, n, r % 5 == 2);
    gl_tensor t = {.name = "w", .type = GL_TYPE_Q8_0, .n_dims = 2, .ne = {n, n_out, 1, 1}, .row_bytes = rb,
                   .nbytes = rb * (size_t)n_out, .data = w};
    float *x = malloc((size_t)(n * n_tok) * sizeof(float));
    for (int64_t i = 0; i < n_tok; i++) random_row(x + i * n, n);
    float *y = malloc((size_t)(n_out * n_tok) * sizeof(float)), *ys = malloc((size_t)(n_out * n_tok) * sizeof(float));
    CHECK(gl_matmul(&t, x, y, n_tok, pool) == 0);
    CHECK(gl_matmul_with(&gl_kernels_scalar, &t, x, ys, n_tok, NULL) == 0);
    int bad = 0;
    for (int64_t i = 0; i < n_out * n_tok; i++) bad += !bits_equal(y[i], ys[i]);
    CHECK_MSG(bad == 0, "gl_matmul Q8_0 n=%lld out=%lld toks=%lld threads=%d: %d outputs differ from scalar",
              (long long)n, (long long)n_out, (long long)n_tok, gl_pool_size(pool), bad);
    free(w);
    free(x);
    free(y);
    free(ys);
}

/* gl_matmul_many_with k of two products with one bias against the same
 * products without it plus the bias added here. */
static void check_bias(const gl_kernels *k, int type, int64_t n_tok, gl_pool *pool) {
    enum { N = 256, OUT0 = 40, OUT1 = 24 };
    size_t rb = gl_row_bytes(type, N);
    uint8_t *w0 = malloc(rb * OUT0), *w1 = malloc(rb * OUT1);
    float *f = malloc(sizeof(float) * N);
    for (int r = 0; r < OUT0 + OUT1; r++) {
        random_row(f, N);
        gl_type_get(type)->from_float(f, r < OUT0 ? w0 + (size_t)r * rb : w1 + (size_t)(r - OUT0) * rb, N);
    }
    gl_tensor t0 = {.name = "w0", .type = type, .n_dims = 2, .ne = {N, OUT0, 1, 1}, .row_bytes = rb,
                    .nbytes = rb * OUT0, .data = w0};
    gl_tensor t1 = t0;
    t1.ne[1] = OUT1;
    t1.nbytes = rb * OUT1;
    t1.data = w1;
    float *x = malloc(sizeof(float) * N * (size_t)n_tok), bias[OUT0];
    for (int64_t i = 0; i < n_tok; i++) random_row(x + i * N, N);
    for (int j = 0; j < OUT0; j++) bias[j] = (float)j * 0.37f - 5;
    float *y0 = malloc(sizeof(float) * OUT0 * (size_t)n_tok), *y1 = malloc(sizeof(float) * OUT1 * (size_t)n_tok);
    float *want = malloc(sizeof(float) * OUT0 * (size_t)n_tok), *want1 = malloc(sizeof(float) * OUT1 * (size_t)n_tok);
    const gl_tensor *w[2] = {&t0, &t1};
    const float *b[2] = {bias, NULL};
    float *y[2] = {y0, y1};
    CHECK(gl_matmul_many_with(k, 2, w, b, x, y, n_tok, pool) == 0);
    CHECK(gl_matmul_with(k, &t0, x, want, n_tok, pool) == 0);
    CHECK(gl_matmul_with(k, &t1, x, want1, n_tok, pool) == 0);
    int bad = 0;
    for (int64_t t = 0; t < n_tok; t++)
        for (int j = 0; j < OUT0; j++) bad += !bits_equal(y0[t * OUT0 + j], want[t * OUT0 + j] + bias[j]);
    for (int64_t i = 0; i < OUT1 * n_tok; i++) bad += !bits_equal(y1[i], want1[i]);
    CHECK_MSG(bad == 0, "%s %s gemm with a bias, %lld tokens: %d outputs differ from adding it afterwards", k->name,
              gl_type_get(type)->name, (long long)n_tok, bad);
    free(w0);
    free(w1);
    free(f);
    free(x);
    free(y0);
    free(y1);
    free(want);
    free(want1);
}

int main(void) {
    static const int64_t bias_toks[] = {1, 5, 40};
    for (int isa = GL_ISA_SCALAR; isa < GL_ISA_COUNT; isa++) {
        const gl_kernels *k = gl_kernels_for((gl_isa)isa);
        for (size_t i = 0; k && i < sizeof bias_toks / sizeof *bias_toks; i++) {
            check_bias(k, GL_TYPE_Q8_0, bias_toks[i], NULL);
            check_bias(k, GL_TYPE_Q4_0, bias_toks[i], NULL);
        }
    }
    const gl_kernels *amx = gl_kernels_for(GL_ISA_AMX);
    if (!amx) {
        fprintf(stderr, "no AMX on this CPU, or the OS refused the tile state: AMX checks skipped\n");
        TEST_DONE();
    }
    CHECK(strcmp(amx->name, "amx") == 0);
    static const int64_t ns[] = {32, 96, 768};
    static const int64_t rows[] = {1, 16, 37, 64, 130};
    static const int64_t toks[] = {16, 17, 35, 64};
    for (size_t i = 0; i < sizeof ns / sizeof *ns; i++)
        for (size_t j = 0; j < sizeof rows / sizeof *rows; j++)
            for (size_t k = 0; k < sizeof toks / sizeof *toks; k++) check_gemm(amx, ns[i], rows[j], toks[k]);
    gl_pool *pool = gl_pool_create(2);
    CHECK(pool != NULL);
    if (pool) {
        check_matmul(768, 200, 100, pool);
        check_matmul(3072, 70, 33, NULL);
        check_matmul(256, 48, 15, pool);
        gl_pool_free(pool);
    }
    TEST_DONE();
}
