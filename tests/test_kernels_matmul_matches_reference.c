/* test_kernels_matmul_matches_reference.c - gl_matmul gives W.x for every
 * path (integer kernels, float kernels, convert-then-F32), for one token and
 * for batches spanning several token chunks, and the same bits whatever the
 * number of threads, and for integer types the same bits whatever the kernel
 * version and for a token in a batch as alone. The OpenBLAS path, which
 * gl_matmul takes for float batches only where OpenBLAS has a fast kernel for
 * the CPU and no AVX-512 one, is called directly and checked as well.
 * gl_matmul_many (several weights of one input, with biases) gives the bits
 * of separate gl_matmul calls plus the bias, also when the weights differ in
 * type and go one at a time.
 *
 * Reference: double-precision dot of the dequantised weight row with the F32
 * activations. Tolerances:
 *  - F32/F16/BF16 and converted types (activations stay F32):
 *    4 sqrt(n) eps sum|w*x|, eps = 2^-24 (summation order only);
 *  - Q8_0/Q4_0/Q4_K/Q5_K/Q6_K (activations rounded to 8 bits, |x - x8| <= d/2 with
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
    if (tr->from_float) {
        tr->from_float(wf, wq, (int64_t)N_IN * N_OUT);
    } else { /* glimpse writes no Q5_K: random blocks with small d and dmin */
        for (size_t i = 0; i < row_bytes * N_OUT; i++) wq[i] = (uint8_t)(uniform() * 256);
        for (size_t b = 0; b < row_bytes * N_OUT; b += (size_t)tr->type_size)
            for (int h = 0; h < 2; h++) {
                uint16_t v = gl_fp32_to_fp16(uniform() * 0.002f);
                wq[b + 2 * h] = (uint8_t)v;
                wq[b + 2 * h + 1] = (uint8_t)(v >> 8);
            }
    }
    tr->to_float(wq, wf, (int64_t)N_IN * N_OUT); /* the weights as stored */
    gl_tensor w = {.name = tr->name, .type = type, .n_dims = 2, .ne = {N_IN, N_OUT, 1, 1},
                   .row_bytes = row_bytes, .nbytes = row_bytes * N_OUT, .data = wq};
    int integer = type == GL_TYPE_Q8_0 || type == GL_TYPE_Q4_0 || type == GL_TYPE_Q4_K || type == GL_TYPE_Q5_K ||
                  type == GL_TYPE_Q6_K;
    int act_block = type == GL_TYPE_Q4_K || type == GL_TYPE_Q5_K || type == GL_TYPE_Q6_K ? 256 : 32;

    /* 3 and 7: blocked kernels with tile remainders; 300 F32 tokens fill whole tiles */
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
        for (int64_t t = 0; t < (integer ? n_tok : 0); t++) {
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

/* Three products of one input through gl_matmul_many against gl_matmul + bias. */
static void check_many(int type, int type_last, gl_pool *pool) {
    static const int n_out[3] = {48, 16, 37};
    const gl_tensor *w[3];
    gl_tensor t[3];
    uint8_t *data[3];
    float *bias[3], *y[3], *want[3];
    enum { N_TOK = 9 };
    float *x = malloc(sizeof(float) * N_IN * N_TOK);
    for (int i = 0; i < N_IN * N_TOK; i++) x[i] = 2 * uniform() - 1;
    for (int i = 0; i < 3; i++) {
        int ty = i == 2 ? type_last : type;
        const gl_type_traits *tr = gl_type_get(ty);
        float *wf = malloc(sizeof(float) * N_IN * (size_t)n_out[i]);
        for (int j = 0; j < N_IN * n_out[i]; j++) wf[j] = (2 * uniform() - 1) * 0.1f;
        size_t rb = gl_row_bytes(ty, N_IN);
        data[i] = malloc(rb * (size_t)n_out[i]);
        tr->from_float(wf, data[i], (int64_t)N_IN * n_out[i]);
        free(wf);
        t[i] = (gl_tensor){.name = tr->name, .type = ty, .n_dims = 2, .ne = {N_IN, n_out[i], 1, 1}, .row_bytes = rb,
                           .nbytes = rb * (size_t)n_out[i], .data = data[i]};
        w[i] = &t[i];
        bias[i] = i == 1 ? NULL : malloc(sizeof(float) * (size_t)n_out[i]);
        for (int j = 0; bias[i] && j < n_out[i]; j++) bias[i][j] = (float)j * 0.25f - 3;
        y[i] = malloc(sizeof(float) * (size_t)(n_out[i] * N_TOK));
        want[i] = malloc(sizeof(float) * (size_t)(n_out[i] * N_TOK));
        CHECK(gl_matmul(w[i], x, want[i], N_TOK, pool) == 0);
        for (int tk = 0; tk < N_TOK; tk++)
            for (int j = 0; bias[i] && j < n_out[i]; j++) want[i][tk * n_out[i] + j] += bias[i][j];
    }
    CHECK(gl_matmul_many(3, w, (const float *const *)bias, x, y, N_TOK, pool) == 0);
    for (int i = 0; i < 3; i++) {
        CHECK_MSG(memcmp(y[i], want[i], sizeof(float) * (size_t)(n_out[i] * N_TOK)) == 0,
                  "gl_matmul_many %s/%s: product %d differs from gl_matmul + bias", gl_type_get(type)->name,
                  gl_type_get(type_last)->name, i);
        free(data[i]);
        free(bias[i]);
        free(y[i]);
        free(want[i]);
    }
    free(x);
}

int main(void) {
    gl_pool *pool = gl_pool_create(2);
    CHECK(pool != NULL);
    if (!pool) TEST_DONE();
    static const int types[] = {GL_TYPE_F32, GL_TYPE_F16,  GL_TYPE_BF16, GL_TYPE_Q8_0, GL_TYPE_Q4_0,
                                GL_TYPE_Q4_K, GL_TYPE_Q5_K, GL_TYPE_Q6_K, GL_TYPE_Q5_0, GL_TYPE_Q4_1};
    for (size_t i = 0; i < sizeof types / sizeof *types; i++) check_type(types[i], pool);
    check_many(GL_TYPE_Q8_0, GL_TYPE_Q8_0, pool);
    check_many(GL_TYPE_Q4_K, GL_TYPE_Q4_K, pool);
    check_many(GL_TYPE_F32, GL_TYPE_F32, pool);
    check_many(GL_TYPE_Q8_0, GL_TYPE_F16, pool); /* mixed: one at a time */
    gl_pool_free(pool);
    TEST_DONE();
}
