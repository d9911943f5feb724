/* matmul.c - weight x activation products (see matmul.h).
 *
 * The portable path: each thread takes a range of output rows, converts one
 * weight row at a time to F32 and dots it with every token. Quantised integer
 * and SIMD kernels replace it per type (speed issue); this stays as the
 * reference they are tested against. */
#include "matmul.h"
#include "mem.h"
#include "quant.h"

typedef struct {
    const gl_tensor *w;
    const float *x;
    float *y;
    int64_t n_tok;
    float *scratch; /* one row of n_in floats per thread */
} matmul_job;

static void matmul_rows(void *p, int ith, int nth) {
    matmul_job *job = p;
    const gl_tensor *w = job->w;
    int64_t n_in = w->ne[0], n_out = w->ne[1];
    float *row = job->scratch + (size_t)ith * (size_t)n_in;
    gl_to_float_fn to_float = gl_type_get(w->type)->to_float;
    long begin, end;
    gl_split_range((long)n_out, ith, nth, &begin, &end);
    for (long o = begin; o < end; o++) {
        to_float(gl_tensor_row(w, o), row, n_in);
        for (int64_t t = 0; t < job->n_tok; t++) {
            const float *xt = job->x + t * n_in;
            float sum = 0;
            for (int64_t i = 0; i < n_in; i++) sum += row[i] * xt[i];
            job->y[t * n_out + o] = sum;
        }
    }
}

int gl_matmul(const gl_tensor *w, const float *x, float *y, int64_t n_tok, gl_pool *pool) {
    int nth = gl_pool_size(pool);
    matmul_job job = {w, x, y, n_tok, gl_malloc_array((size_t)nth * (size_t)w->ne[0], sizeof(float))};
    if (!job.scratch) return -1;
    gl_pool_run(pool, matmul_rows, &job);
    gl_free(job.scratch);
    return 0;
}
