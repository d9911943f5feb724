/* test_kernels_matmul_matches_reference.c - gl_matmul gives W.x for every
 * path (integer kernels, float kernels, convert-then-F32), for one token and
 * for batches spanning several token chunks, and the same bits whatever the
 * number of threads or the kernel version, and the same bits for a token in
 * a batch as alone (batches below the sgemm threshold of 32 tokens, for float
 * weights). The OpenBLAS path, which gl_matmul takes only where OpenBLAS has a
 * fast kernel for the CPU, is called directly and checked as well.
 *
 * Reference: double-precision dot of the dequantised weight row with the F32
 * activations. Tolerances:
 *  - F32/F16/BF16 and converted types (activations stay F32):
 *    4 sqrt(n) eps sum|w*x|, eps = 2^-24 (summation order only);
 *  - Q8_0/Q4_0/Q4_K/Q6_K (activations rounded to 8 bits, |x - x8| <= d/2 with
 *    d = block amax / 127): sum_i |w_i| * amax(block of i) / 254 plus the
 *    float term above. */
#include "kernels/kernels.h"
#include "matmul.h"
#include "quant.h"
#include "test.h"
#include "threads.h"

#include <stdint.h>

enum { N_IN = 512, N_OUT = 37 };

static uint64_t rng = 0x6a09e667f3bcc909ull;
static float uniform(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (float)(rng >> 40) / 16777216.0f;
}

/* y (n_tok, N_OUT) against double-precision wf . x; act_block > 0 adds the
 * bound for activations rounded to 8 bits in blocks of act_block. */
static void check_against_reference(const char *type_name, const char *what, const float *wf, const float *x,
                                    const float *y, int64_t n_tok, int act_block) {
    int bad = 0;
    for (int64_t t = 0; t < n_tok; t++) {
        const float *xt = x + t * N_IN;
        for (int o = 0; o < N_OUT; o++) {
            const float *wr = wf + (size_t)o * N_IN;
            double want = 0, mag = 0, qerr = 0;
            for (int i = 0; i < N_IN; i++) {
                want += (double)wr[i] * xt[i];
                mag += fabs((double)wr[i] * xt[i]);
            }
            for (int b0 = 0; act_block && b0 < N_IN; b0 += act_block) {
                float amax = 0;
                for (int i = b0; i < b0 + act_block; i++) amax = fmaxf(amax, fabsf(xt[i]));
                for (int i = b0; i < b0 + act_block; i++) qerr += fabs((double)wr[i]) * amax / 254;
            }
            double tol = 4 * sqrt((double)N_IN) * 0x1p-24 * mag + 1.001 * qerr;
            double got = y[t * N_OUT + o];
            if (!(fabs(got - want) <= tol) && bad++ < 3)
                fprintf(stderr, "%s %s tok %lld row %d: %.9g, want %.9g (tolerance %.3g)\n", type_name, what,
                        (long long)t, o, got, want, tol);
        }
    }
    CHECK_MSG(bad == 0, "%s %s n_tok=%lld: %d outputs out of tolerance", type_name, what, (long long)n_tok, bad);
}

static void check_type(int type, gl_pool *pool) {
    const gl_type_traits *tr = gl_type_get(type);
    float *wf = malloc(sizeof(float) * N_IN * N_OUT);
    for (int i = 0; i < N_IN * N_OUT; i++) wf[i] = (2 * uniform() - 1) * (i % 96 == 5 ? 1.0f : 0.05f);
    size_t row_bytes = gl_row_bytes(type, N_IN);
    uint8_t *wq = malloc(row_bytes * N_OUT);
    tr->from_float(wf, wq, (int64_t)N_IN * N_OUT);
    tr->to_float(wq, wf, (int64_t)N_IN * N_OUT); /* the weights as stored */
    gl_tensor w = {.name = tr->name, .type = type, .n_dims = 2, .ne = {N_IN, N_OUT, 1, 1},
                   .row_bytes = row_bytes, .nbytes = row_bytes * N_OUT, .data = wq};
    int integer = type == GL_TYPE_Q8_0 || type == GL_TYPE_Q4_0 || type == GL_TYPE_Q4_K || type == GL_TYPE_Q6_K;
    int act_block = type == GL_TYPE_Q4_K || type == GL_TYPE_Q6_K ? 256 : 32;

    /* 7: four-token kernel plus a remainder; 300 F32 tokens span three 256 KB chunks */
    static const int64_t toks[] = {1, 3, 7, 300};
    for (size_t ti = 0; ti < sizeof toks / sizeof *toks; ti++) {
        int64_t n_tok = toks[ti];
        float *x = malloc(sizeof(float) * N_IN * (size_t)n_tok);
        for (int64_t i = 0; i < N_IN * n_tok; i++) x[i] = (2 * uniform() - 1) * (float)(1 + (i / 64) % 7);
        float *y = malloc(sizeof(float) * N_OUT * (size_t)n_tok), *y1 = malloc(sizeof(float) * N_OUT * (size_t)n_tok);
        CHECK(gl_matmul(&w, x, y, n_tok, pool) == 0);
        CHECK(gl_matmul(&w, x, y1, n_tok, NULL) == 0);
        CHECK_MSG(memcmp(y, y1, sizeof(float) * N_OUT * (size_t)n_tok) == 0, "%s: threads change the result", tr->name);
        if (integer) {
            CHECK(gl_matmul_with(&gl_kernels_scalar, &w, x, y1, n_tok, pool) == 0);
            CHECK_MSG(memcmp(y, y1, sizeof(float) * N_OUT * (size_t)n_tok) == 0,
                      "%s: %s and scalar kernels differ", tr->name, gl_kernels_best()->name);
        }
        int is_float = type == GL_TYPE_F32 || type == GL_TYPE_F16 || type == GL_TYPE_BF16;
        if (is_float) {
            CHECK(gl_matmul_blas(gl_kernels_best(), &w, x, y1, n_tok, pool) == 0);
            check_against_reference(tr->name, "sgemm", wf, x, y1, n_tok, 0);
        }
        float alone[N_OUT];
        for (int64_t t = 0; t < (is_float && n_tok >= 32 ? 0 : n_tok); t++) {
            CHECK(gl_matmul(&w, x + t * N_IN, alone, 1, pool) == 0);
            CHECK_MSG(memcmp(alone, y + t * N_OUT, sizeof alone) == 0, "%s: token %lld of %lld differs from alone",
                      tr->name, (long long)t, (long long)n_tok);
        }
        check_against_reference(tr->name, "gl_matmul", wf, x, y, n_tok, integer ? act_block : 0);
        free(x);
        free(y);
        free(y1);
    }
    free(wf);
    free(wq);
}

int main(void) {
    gl_pool *pool = gl_pool_create(2);
    CHECK(pool != NULL);
    if (!pool) TEST_DONE();
    static const int types[] = {GL_TYPE_F32, GL_TYPE_F16,  GL_TYPE_BF16, GL_TYPE_Q8_0, GL_TYPE_Q4_0,
                                GL_TYPE_Q4_K, GL_TYPE_Q6_K, GL_TYPE_Q5_0, GL_TYPE_Q4_1};
    for (size_t i = 0; i < sizeof types / sizeof *types; i++) check_type(types[i], pool);
    gl_pool_free(pool);
    TEST_DONE();
}
