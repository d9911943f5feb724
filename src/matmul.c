/* matmul.c - weight x activation products (see matmul.h).
 *
 * Three paths, by weight type:
 *  - Q8_0, Q4_0, Q4_K, Q6_K: the activation rows are quantised once to 8 bits
 *    (kernels.h: gl_block_q8a for the 32-element types, Q8_K for the K-quants)
 *    and each weight row is dotted with them in integers, as ggml does
 *    (Q4_K/Q6_K rows four tokens at a time, scales unpacked once);
 *  - F32, F16, BF16: the weight row is dotted with the F32 activations,
 *    F16/BF16 widened in registers for one token, or once per row into F32
 *    for a batch, whose rows then go four tokens at a time (the widening is
 *    exact and the kernels keep one summation order, so a token's result is
 *    the same bits in a batch as alone);
 *  - any other readable type: each weight row is converted to F32 in a
 *    per-thread scratch row, then dotted as F32.
 * Batches of BLAS_MIN_TOKENS or more tokens with F32/F16/BF16 weights go to
 * OpenBLAS's sgemm instead, when OpenBLAS runs an AVX2 or AVX-512 kernel on
 * this CPU (see blas_is_fast).
 * Each thread takes a range of output rows; tokens are visited in chunks
 * small enough for their activations to stay in cache while a thread's
 * weight rows stream past. Every output element is computed by one thread
 * with one kernel, so results do not depend on the number of threads. */
#include "matmul.h"
#include "kernels/kernels.h"
#include "mem.h"
#include "quant.h"

#include <cblas.h>
#include <limits.h>
#include <strings.h>

/* Activation bytes per token chunk: well inside the 1-2 MB L2 of current
 * x86 cores, leaving room for the weight rows. */
#define CHUNK_BYTES (256 * 1024)

/* sgemm beats the 4-token kernels from about 16 tokens (3-4x at 256+, one
 * core, OpenBLAS 0.3.21 SkylakeX kernel); 32 leaves a margin. */
#define BLAS_MIN_TOKENS 32
/* Weight rows widened to F32 per sgemm call: 256 rows of 4096 are 4 MB. */
#define BLAS_ROWS 256

typedef enum { PATH_Q8_0, PATH_Q4_0, PATH_Q4_K, PATH_Q6_K, PATH_F32, PATH_F16, PATH_BF16, PATH_CONVERT } matmul_path;

typedef struct {
    const gl_kernels *k;
    matmul_path path;
    const gl_tensor *w; /* (n_out, n_in) */
    const float *x;     /* (n_tok, n_in) */
    void *xq;           /* (n_tok, xq_row_bytes) quantised activations, or NULL */
    size_t xq_row_bytes;
    float *y;           /* (n_tok, n_out) */
    int64_t n_tok;
    float *scratch;     /* (nth, n_in): weight rows widened to F32, or NULL */
} matmul_job;

static matmul_path path_for(int type) {
    switch (type) {
    case GL_TYPE_Q8_0: return PATH_Q8_0;
    case GL_TYPE_Q4_0: return PATH_Q4_0;
    case GL_TYPE_Q4_K: return PATH_Q4_K;
    case GL_TYPE_Q6_K: return PATH_Q6_K;
    case GL_TYPE_F32: return PATH_F32;
    case GL_TYPE_F16: return PATH_F16;
    case GL_TYPE_BF16: return PATH_BF16;
    default: return PATH_CONVERT;
    }
}

static void quantize_tokens(void *p, int ith, int nth) {
    matmul_job *job = p;
    int64_t n_in = job->w->ne[0];
    long begin, end;
    gl_split_range((long)job->n_tok, ith, nth, &begin, &end);
    for (long t = begin; t < end; t++) {
        void *dst = (char *)job->xq + (size_t)t * job->xq_row_bytes;
        if (job->path == PATH_Q4_K || job->path == PATH_Q6_K)
            job->k->quantize_q8k(job->x + t * n_in, dst, n_in);
        else
            job->k->quantize_q8a(job->x + t * n_in, dst, n_in);
    }
}

/* y[t][o] = W[o] . x[t] for the tokens [t0, t1); row is W[o] in the form
 * `path` says (PATH_F32 for a row already widened to F32). */
static void dot_tokens(const matmul_job *job, matmul_path path, const void *row, int64_t o, int64_t t0, int64_t t1) {
    const gl_kernels *k = job->k;
    int64_t n_in = job->w->ne[0], n_out = job->w->ne[1];
    const char *xq = job->xq;
    size_t xb = job->xq_row_bytes;
    float *y = job->y + o;
    int64_t t = t0;
    /* Four tokens per call where a kernel has the form (same bits as one by one). */
    int64_t kb = (int64_t)(xb / sizeof(gl_block_q8k)); /* Q8_K blocks per token */
    for (; t + 4 <= t1 && (path == PATH_F32 || path == PATH_Q4_K || path == PATH_Q6_K); t += 4) {
        float out[4];
        if (path == PATH_F32)
            k->dot_f32_x4(row, job->x + t * n_in, n_in, out, n_in);
        else if (path == PATH_Q4_K)
            k->dot_q4_k_x4(row, (const gl_block_q8k *)(xq + (size_t)t * xb), kb, out, n_in);
        else
            k->dot_q6_k_x4(row, (const gl_block_q8k *)(xq + (size_t)t * xb), kb, out, n_in);
        for (int i = 0; i < 4; i++) y[(t + i) * n_out] = out[i];
    }
    for (; t < t1; t++) {
        const float *xt = job->x + t * n_in;
        const void *xqt = xq + (size_t)t * xb;
        float v;
        switch (path) {
        case PATH_Q8_0: v = k->dot_q8_0(row, xqt, n_in); break;
        case PATH_Q4_0: v = k->dot_q4_0(row, xqt, n_in); break;
        case PATH_Q4_K: v = k->dot_q4_k(row, xqt, n_in); break;
        case PATH_Q6_K: v = k->dot_q6_k(row, xqt, n_in); break;
        case PATH_F16: v = k->dot_f16(row, xt, n_in); break;
        case PATH_BF16: v = k->dot_bf16(row, xt, n_in); break;
        default: v = k->dot_f32(row, xt, n_in); break; /* F32, or a row converted to F32 */
        }
        y[t * n_out] = v;
    }
}

static void matmul_rows(void *p, int ith, int nth) {
    matmul_job *job = p;
    const gl_tensor *w = job->w;
    int64_t n_in = w->ne[0], n_out = w->ne[1];
    size_t act_row = job->xq ? job->xq_row_bytes : (size_t)n_in * sizeof(float);
    int64_t chunk = (int64_t)(CHUNK_BYTES / act_row);
    if (chunk < 1) chunk = 1;
    float *wide = job->scratch ? job->scratch + (size_t)ith * (size_t)n_in : NULL; /* (n_in) */
    gl_to_float_fn to_float = gl_type_get(w->type)->to_float;
    long begin, end;
    gl_split_range((long)n_out, ith, nth, &begin, &end);
    for (int64_t t0 = 0; t0 < job->n_tok; t0 += chunk) {
        int64_t t1 = t0 + chunk < job->n_tok ? t0 + chunk : job->n_tok;
        for (long o = begin; o < end; o++) {
            const void *row = gl_tensor_row(w, o);
            matmul_path path = job->path;
            /* Widen F16/BF16 once for a batch (exact, so results are unchanged). */
            if (path == PATH_CONVERT || (wide && path == PATH_F16) || (wide && path == PATH_BF16)) {
                if (path == PATH_F16)
                    job->k->f16_to_f32(row, wide, n_in);
                else if (path == PATH_BF16)
                    job->k->bf16_to_f32(row, wide, n_in);
                else
                    to_float(row, wide, n_in);
                row = wide;
                path = PATH_F32;
            }
            dot_tokens(job, path, row, o, t0, t1);
        }
    }
}

/* ==== The sgemm path ==== */

/* OpenBLAS picks its kernel by CPU model at load time; a model newer than
 * the library falls back to a generic SSE kernel ("Prescott") that is no
 * faster than ours, so sgemm is used only under a kernel with wide FMA. */
static int blas_is_fast(void) {
    static const char *const fast[] = {"Haswell", "SkylakeX", "Cooperlake", "SapphireRapids", "Zen"};
    const char *core = openblas_get_corename();
    for (size_t i = 0; core && i < sizeof fast / sizeof *fast; i++)
        if (strcasecmp(core, fast[i]) == 0) return 1;
    return 0;
}

typedef struct {
    const gl_kernels *k;
    const gl_tensor *w;
    int64_t o0, o1; /* rows to widen */
    float *wide;    /* (o1 - o0, n_in) */
} widen_job;

static void widen_rows(void *p, int ith, int nth) {
    widen_job *job = p;
    int64_t n_in = job->w->ne[0];
    long begin, end;
    gl_split_range((long)(job->o1 - job->o0), ith, nth, &begin, &end);
    for (long r = begin; r < end; r++) {
        const void *row = gl_tensor_row(job->w, job->o0 + r);
        float *dst = job->wide + (size_t)r * (size_t)n_in;
        if (job->w->type == GL_TYPE_F16)
            job->k->f16_to_f32(row, dst, n_in);
        else
            job->k->bf16_to_f32(row, dst, n_in);
    }
}

int gl_matmul_blas(const gl_kernels *k, const gl_tensor *w, const float *x, float *y, int64_t n_tok, gl_pool *pool) {
    int64_t n_in = w->ne[0], n_out = w->ne[1];
    if (w->type == GL_TYPE_F32) {
        /* y (n_tok, n_out) = x (n_tok, n_in) . W^T, W stored (n_out, n_in) */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n_tok, (int)n_out, (int)n_in, 1.0f, x, (int)n_in,
                    w->data, (int)n_in, 0.0f, y, (int)n_out);
        return 0;
    }
    widen_job job = {.k = k, .w = w, .wide = gl_malloc_array((size_t)BLAS_ROWS * (size_t)n_in, sizeof(float))};
    if (!job.wide) return -1;
    for (job.o0 = 0; job.o0 < n_out; job.o0 = job.o1) {
        job.o1 = job.o0 + BLAS_ROWS < n_out ? job.o0 + BLAS_ROWS : n_out;
        gl_pool_run(pool, widen_rows, &job);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n_tok, (int)(job.o1 - job.o0), (int)n_in, 1.0f, x,
                    (int)n_in, job.wide, (int)n_in, 0.0f, y + job.o0, (int)n_out);
    }
    gl_free(job.wide);
    return 0;
}

/* ==== Entry points ==== */

int gl_matmul_with(const gl_kernels *k, const gl_tensor *w, const float *x, float *y, int64_t n_tok,
                   gl_pool *pool) {
    int64_t n_in = w->ne[0];
    if (n_tok <= 0) return 0;
    int float_weights = w->type == GL_TYPE_F32 || w->type == GL_TYPE_F16 || w->type == GL_TYPE_BF16;
    if (float_weights && n_tok >= BLAS_MIN_TOKENS && n_tok <= INT_MAX && w->ne[1] <= INT_MAX && n_in <= INT_MAX &&
        blas_is_fast())
        return gl_matmul_blas(k, w, x, y, n_tok, pool);
    matmul_job job = {.k = k, .path = path_for(w->type), .w = w, .x = x, .y = y, .n_tok = n_tok};
    switch (job.path) {
    case PATH_Q8_0:
    case PATH_Q4_0: job.xq_row_bytes = (size_t)(n_in / 32) * sizeof(gl_block_q8a); break;
    case PATH_Q4_K:
    case PATH_Q6_K: job.xq_row_bytes = (size_t)(n_in / 256) * sizeof(gl_block_q8k); break;
    default: break;
    }
    int widen = job.path == PATH_CONVERT || ((job.path == PATH_F16 || job.path == PATH_BF16) && n_tok >= 4);
    if (widen) {
        job.scratch = gl_malloc_array((size_t)gl_pool_size(pool) * (size_t)n_in, sizeof(float));
        if (!job.scratch) return -1;
    }
    if (job.xq_row_bytes) {
        job.xq = gl_malloc_array((size_t)n_tok, job.xq_row_bytes);
        if (!job.xq) {
            gl_free(job.scratch);
            return -1;
        }
        gl_pool_run(pool, quantize_tokens, &job);
    }
    gl_pool_run(pool, matmul_rows, &job);
    gl_free(job.xq);
    gl_free(job.scratch);
    return 0;
}

int gl_matmul(const gl_tensor *w, const float *x, float *y, int64_t n_tok, gl_pool *pool) {
    return gl_matmul_with(gl_kernels_best(), w, x, y, n_tok, pool);
}
