/* matmul.c - weight x activation products (see matmul.h).
 *
 * Three paths, by weight type:
 *  - Q8_0, Q4_0, Q4_K, Q5_K, Q6_K: the activation rows are quantised once to
 *    8 bits (kernels.h: gl_block_q8a for the 32-element types, Q8_K for the
 *    K-quants) and the weights are multiplied with them in integers, as ggml
 *    does;
 *  - F32, F16, BF16: the weight rows are multiplied with the F32 activations
 *    (F16/BF16 widened exactly in registers), or by OpenBLAS's sgemm;
 *  - any other readable type: groups of weight rows are converted to F32 in
 *    a per-thread buffer, then multiplied as F32.
 * On CPUs with AMX (and Linux's leave to use it), Q8_0 batches of 16 tokens
 * or more run on tiles with the same bits, and batches of vision-tower size
 * (BF16_MIN_TOKENS) in bfloat16, rounded, on activations rounded to bf16.
 * The products themselves are the kernels' gemm functions, blocked for
 * batches and row-at-a-time for one token.
 *
 * The work is cut into pieces of output rows (a multiple of 16, the
 * kernels' panel height) times a chunk of tokens small enough for its
 * activations to stay in L2 while the weight rows stream past; threads take
 * pieces from a shared counter, token chunk by token chunk, so a thread
 * slowed by other work on the machine does not hold the others up. Every
 * output element is computed by one thread with one kernel, so results do
 * not depend on the number or speed of threads, and for integer types not
 * on the batch either (kernels.h's exactness contract; the bf16 path aside).
 *
 * One token (decoding) allocates nothing: its quantised activations live on
 * the caller's stack and the one-token kernels need no scratch. */
#include "matmul.h"
#include "kernels/kernels.h"
#include "mem.h"
#include "quant.h"

#include <cblas.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

/* Activation bytes per token chunk: half the 2 MB L2 of the cores this was
 * tuned on, leaving room for the packed weights. */
#define CHUNK_BYTES (1024 * 1024)
/* Rows converted to F32 at a time for types without a kernel. */
#define CONVERT_ROWS 32
/* Output rows per piece of work: one panel of 16 for single tokens, whose
 * pieces are quick (SmolVLM's 576-row matrices give 36 pieces, 18 for each
 * of two threads); four panels for batches, whose pieces are long. */
#define ROW_CHUNK_ONE 16
#define ROW_CHUNK_BATCH 64
/* Quantised activations of one token up to this size stay on the stack:
 * rows of 16384 elements take 20 KB as gl_block_q8a. */
#define STACK_XQ_BYTES (24 * 1024)
/* Weight rows widened to F32 per sgemm call: 256 rows of 4096 are 4 MB. */
#define BLAS_ROWS 256
/* Pools up to this size give each thread its own range of one-token pieces. */
#define OWN_RANGES_MAX 16
/* Tokens from which Q8_0 products use AMX tiles (16 tokens each). */
#define AMX_MIN_TOKENS 16
/* Q8_0 batches from which the AMX products run in bfloat16 (kernels.h:
 * rounded, ~5-10% faster for a vision tower): the size of a tower's patches,
 * never the decoder's (at most 256 positions a pass), whose prefill keeps
 * the exact bits of decoding. */
#define BF16_MIN_TOKENS 512
#define BF16_MIN_IN 256
/* Activation bytes per token chunk for the bf16 path: its panels cost more
 * to pack, so they serve more tokens. */
#define BF16_CHUNK_BYTES (4 * 1024 * 1024)

typedef enum { PATH_Q8A, PATH_Q8K, PATH_FLOAT, PATH_CONVERT, PATH_BF16 } matmul_path;

/* One thread's consecutive pieces: [next, end), on a cache line of its own. */
typedef struct {
    _Alignas(64) atomic_long next;
    int64_t end;
} piece_range;

typedef struct {
    const gl_kernels *k;
    matmul_path path;
    gl_gemm_fn gemm;
    int n_w;
    const gl_tensor *w[GL_MATMUL_MAX]; /* (n_out[i], n_in), one type */
    const float *b[GL_MATMUL_MAX];     /* (n_out[i]) or NULL */
    float *y[GL_MATMUL_MAX];           /* (n_tok, n_out[i]) */
    int64_t row_chunks[GL_MATMUL_MAX]; /* pieces per token chunk of each product */
    int64_t n_in;
    const float *x;     /* (n_tok, n_in) */
    void *xq;           /* (n_tok, xq_row_bytes) quantised activations, or NULL */
    size_t xq_row_bytes;
    int64_t n_tok;
    char *scratch;      /* (nth, scratch_bytes) per-thread gemm scratch, 64-byte aligned, or NULL */
    size_t scratch_bytes;
    void *scratch_alloc; /* what scratch points into */
    int64_t tok_chunk;  /* tokens per piece */
    int64_t row_chunk;  /* rows per piece */
    int64_t n_pieces;   /* token chunks * row chunks of all products */
    atomic_long next;   /* the next piece: token chunk * row chunks + row chunk */
    int n_ranges;       /* threads with pieces of their own (one token), or 0: all take from next */
    piece_range ranges[OWN_RANGES_MAX];
} matmul_job;

static gl_gemm_fn gemm_for(const gl_kernels *k, int type) {
    switch (type) {
    case GL_TYPE_Q8_0: return k->gemm_q8_0;
    case GL_TYPE_Q4_0: return k->gemm_q4_0;
    case GL_TYPE_Q4_K: return k->gemm_q4_k;
    case GL_TYPE_Q5_K: return k->gemm_q5_k;
    case GL_TYPE_Q6_K: return k->gemm_q6_k;
    case GL_TYPE_F32: return k->gemm_f32;
    case GL_TYPE_F16: return k->gemm_f16;
    case GL_TYPE_BF16: return k->gemm_bf16;
    default: return k->gemm_f32; /* on rows converted to F32 */
    }
}

static matmul_path path_for(int type) {
    switch (type) {
    case GL_TYPE_Q8_0:
    case GL_TYPE_Q4_0: return PATH_Q8A;
    case GL_TYPE_Q4_K:
    case GL_TYPE_Q5_K:
    case GL_TYPE_Q6_K: return PATH_Q8K;
    case GL_TYPE_F32:
    case GL_TYPE_F16:
    case GL_TYPE_BF16: return PATH_FLOAT;
    default: return PATH_CONVERT;
    }
}

static void quantize_tokens(void *p, int ith, int nth) {
    matmul_job *job = p;
    int64_t n_in = job->n_in;
    long begin, end;
    gl_split_range((long)job->n_tok, ith, nth, &begin, &end);
    for (long t = begin; t < end; t++) {
        void *dst = (char *)job->xq + (size_t)t * job->xq_row_bytes;
        if (job->path == PATH_Q8K)
            job->k->quantize_q8k(job->x + t * n_in, dst, n_in);
        else if (job->path == PATH_BF16)
            gl_amx_to_bf16(job->x + t * n_in, 1.0f, dst, n_in);
        else
            job->k->quantize_q8a(job->x + t * n_in, dst, n_in);
    }
}

/* The next pieces for thread ith: the first, or -1 when none is left, and
 * *count consecutive ones from it. Batches take one piece at a time from one
 * counter, token chunk by token chunk, so the threads share the chunk's
 * activations in cache. One token (decoding) streams each weight from memory
 * once: every thread first takes the consecutive pieces of its own range, so
 * the rows the one-row kernel prefetches ahead are its own next ones (from
 * one counter, the next piece is often another thread's, and its rows would
 * be read from memory twice), then helps with the others' ranges, so a
 * thread slowed by other work on the machine holds nobody up. It takes half
 * of what is left of a range at a time (at least one piece): a locked add
 * per 16-row piece was ~2.5% of decoding on one thread, since it also stops
 * the loads after it until the loads before it are done, and the halves
 * still end with single pieces, as even as before. *from counts the ranges
 * ith has emptied. */
static int64_t claim_pieces(matmul_job *job, int ith, int *from, int64_t *count) {
    *count = 1;
    if (!job->n_ranges) {
        int64_t piece = atomic_fetch_add_explicit(&job->next, 1, memory_order_relaxed);
        return piece < job->n_pieces ? piece : -1;
    }
    for (; *from < job->n_ranges; (*from)++) {
        piece_range *r = &job->ranges[(ith + *from) % job->n_ranges];
        int64_t left = r->end - atomic_load_explicit(&r->next, memory_order_relaxed);
        int64_t want = left > 2 ? left / 2 : 1;
        int64_t piece = atomic_fetch_add_explicit(&r->next, want, memory_order_relaxed);
        if (piece < r->end) {
            *count = piece + want <= r->end ? want : r->end - piece;
            return piece;
        }
    }
    return -1;
}

static void matmul_pieces(void *p, int ith, int nth) {
    (void)nth;
    matmul_job *job = p;
    int64_t n_in = job->n_in, per_chunk = job->n_pieces / ((job->n_tok + job->tok_chunk - 1) / job->tok_chunk);
    char *scratch = job->scratch ? job->scratch + (size_t)ith * job->scratch_bytes : NULL;
    gl_gemm_args a = {.n = n_in, .scratch = scratch};
    a.x_row_bytes = job->xq ? job->xq_row_bytes : (size_t)n_in * sizeof(float);
    /* PATH_CONVERT: rows converted into the scratch after the gemm's own part */
    float *wide = job->path == PATH_CONVERT ? (float *)(scratch + gl_gemm_scratch_bytes(n_in)) : NULL;
    int from = 0;
    int64_t piece, count;
    while ((piece = claim_pieces(job, ith, &from, &count)) >= 0) {
        for (int64_t run; count > 0; piece += run, count -= run) {
            /* piece = token chunk, then product i, then row chunk; the
             * pieces of one product are rows side by side, one gemm */
            int64_t t0 = piece / per_chunk * job->tok_chunk, rc = piece % per_chunk;
            int i = 0;
            while (rc >= job->row_chunks[i]) rc -= job->row_chunks[i++];
            run = job->row_chunks[i] - rc < count ? job->row_chunks[i] - rc : count;
            const gl_tensor *w = job->w[i];
            int64_t n_out = w->ne[1], begin = rc * job->row_chunk;
            int64_t end = begin + run * job->row_chunk < n_out ? begin + run * job->row_chunk : n_out;
            a.n_tok = job->n_tok - t0 < job->tok_chunk ? job->n_tok - t0 : job->tok_chunk;
            a.x = job->xq ? (const char *)job->xq + (size_t)t0 * job->xq_row_bytes : (const void *)(job->x + t0 * n_in);
            a.y_stride = n_out;
            /* the 32-element types' gemms add the bias themselves (kernels.h) */
            a.bias = (job->path == PATH_Q8A || job->path == PATH_BF16) && job->b[i] ? job->b[i] + begin : NULL;
            if (job->path != PATH_CONVERT) {
                a.w = gl_tensor_row(w, begin);
                a.row_bytes = w->row_bytes;
                a.n_rows = end - begin;
                a.y = job->y[i] + t0 * n_out + begin;
                job->gemm(&a);
            } else {
                gl_to_float_fn to_float = gl_type_get(w->type)->to_float;
                for (int64_t r0 = begin; r0 < end; r0 += CONVERT_ROWS) {
                    int64_t r1 = r0 + CONVERT_ROWS < end ? r0 + CONVERT_ROWS : end;
                    for (int64_t r = r0; r < r1; r++) to_float(gl_tensor_row(w, r), wide + (r - r0) * n_in, n_in);
                    a.w = wide;
                    a.row_bytes = (size_t)n_in * sizeof(float);
                    a.n_rows = r1 - r0;
                    a.y = job->y[i] + t0 * n_out + r0;
                    job->gemm(&a);
                }
            }
            /* the others': the bias, while this piece of y is in cache */
            if (job->b[i] && !a.bias)
                for (int64_t t = t0; t < t0 + a.n_tok; t++) {
                    float *yt = job->y[i] + t * n_out;
                    for (int64_t o = begin; o < end; o++) yt[o] += job->b[i][o];
                }
        }
    }
}

/* ==== The sgemm path ==== */

/* OpenBLAS picks its kernel by CPU model at load time; a model newer than
 * the library falls back to a generic SSE kernel ("Prescott") that is much
 * slower than ours, so sgemm is used only under a kernel with wide FMA. */
static int blas_is_fast(void) {
    static const char *const fast[] = {"Haswell", "SkylakeX", "Cooperlake", "SapphireRapids", "Zen"};
    const char *core = openblas_get_corename();
    for (size_t i = 0; core && i < sizeof fast / sizeof *fast; i++)
        if (strcasecmp(core, fast[i]) == 0) return 1;
    return 0;
}

/* sgemm on a fast OpenBLAS kernel (0.3.21, SkylakeX forced with
 * OPENBLAS_CORETYPE, one core) against the blocked AVX-512 FMA GEMM of
 * dot_avx512.c on SmolVLM's shapes: level at 64 tokens (65-110 against
 * 88-112 GFLOP/s), sgemm ahead by 0-80% at 1024. Without AVX-512 kernels
 * sgemm wins from 32 tokens. */
static int blas_wins(const gl_kernels *k, int64_t n_tok) {
    return n_tok >= (k == &gl_kernels_avx512 ? 256 : 32) && blas_is_fast();
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

int gl_matmul_many_with(const gl_kernels *k, int n_w, const gl_tensor *const w[], const float *const b[],
                        const float *x, float *const y[], int64_t n_tok, gl_pool *pool) {
    if (n_tok <= 0 || n_w <= 0) return 0;
    int64_t n_in = w[0]->ne[0];
    int same = n_w <= GL_MATMUL_MAX;
    for (int i = 1; i < n_w && same; i++) same = w[i]->type == w[0]->type && w[i]->ne[0] == n_in;
    matmul_job job = {.k = k, .path = path_for(w[0]->type), .gemm = gemm_for(k, w[0]->type), .n_in = n_in, .x = x,
                      .n_tok = n_tok};
    int blas = job.path == PATH_FLOAT && blas_wins(k, n_tok);
    if (!same || blas) { /* one at a time */
        for (int i = 0; i < n_w; i++) {
            const float *bi = b ? b[i] : NULL;
            int rc = blas && n_tok <= INT_MAX && w[i]->ne[1] <= INT_MAX && n_in <= INT_MAX
                         ? gl_matmul_blas(k, w[i], x, y[i], n_tok, pool)
                         : gl_matmul_many_with(k, 1, &w[i], &bi, x, &y[i], n_tok, pool);
            if (rc) return rc;
            if (blas && bi)
                for (int64_t t = 0; t < n_tok; t++)
                    for (int64_t o = 0; o < w[i]->ne[1]; o++) y[i][t * w[i]->ne[1] + o] += bi[o];
        }
        return 0;
    }
    job.n_w = n_w;
    job.row_chunk = n_tok < GL_GEMM_PACK_MIN_TOKENS ? ROW_CHUNK_ONE : ROW_CHUNK_BATCH;
    for (int i = 0; i < n_w; i++) {
        job.w[i] = w[i];
        job.b[i] = b ? b[i] : NULL;
        job.y[i] = y[i];
        job.row_chunks[i] = (w[i]->ne[1] + job.row_chunk - 1) / job.row_chunk;
    }
    int bf16 = k == &gl_kernels_amx && w[0]->type == GL_TYPE_Q8_0 && n_tok >= BF16_MIN_TOKENS && n_in >= BF16_MIN_IN;
    for (int i = 0; i < n_w; i++) bf16 = bf16 && w[i]->ne[1] % 16 == 0;
    if (bf16) {
        job.path = PATH_BF16;
        job.gemm = gl_gemm_q8_0_bf16_amx;
        /* 64 bytes more per row: rows a multiple of 4 KB apart would share
         * a few L1 sets under the 16-row tile loads */
        job.xq_row_bytes = (size_t)n_in * sizeof(uint16_t) + 64;
    }
    if (job.path == PATH_Q8A) job.xq_row_bytes = (size_t)(n_in / 32) * sizeof(gl_block_q8a);
    if (job.path == PATH_Q8K) job.xq_row_bytes = (size_t)(n_in / 256) * sizeof(gl_block_q8k);
    if (n_tok >= GL_GEMM_PACK_MIN_TOKENS || job.path == PATH_CONVERT) {
        /* 64-byte multiples keep every thread's part aligned */
        job.scratch_bytes = (gl_gemm_scratch_bytes(n_in) + 63) / 64 * 64;
        if (job.path == PATH_CONVERT) job.scratch_bytes += (size_t)CONVERT_ROWS * (size_t)n_in * sizeof(float);
        /* one part more than threads: room to align the start to 64 bytes */
        job.scratch_alloc = gl_malloc_array((size_t)gl_pool_size(pool) + 1, job.scratch_bytes);
        if (!job.scratch_alloc) return -1;
        job.scratch = (char *)job.scratch_alloc + (64 - (uintptr_t)job.scratch_alloc % 64) % 64;
    }
    _Alignas(64) unsigned char xq_stack[STACK_XQ_BYTES];
    if (job.xq_row_bytes) {
        if (n_tok == 1 && job.xq_row_bytes <= sizeof xq_stack) {
            job.xq = xq_stack;
            quantize_tokens(&job, 0, 1);
        } else {
            job.xq = gl_malloc_array((size_t)n_tok, job.xq_row_bytes);
            if (!job.xq) {
                gl_free(job.scratch_alloc);
                return -1;
            }
            gl_pool_run(pool, quantize_tokens, &job);
        }
    }
    job.tok_chunk = (int64_t)((job.path == PATH_BF16 ? BF16_CHUNK_BYTES : CHUNK_BYTES) /
                              (job.xq ? job.xq_row_bytes : (size_t)n_in * sizeof(float)));
    if (job.tok_chunk < 1) job.tok_chunk = 1;
    int64_t per_chunk = 0;
    for (int i = 0; i < n_w; i++) per_chunk += job.row_chunks[i];
    job.n_pieces = per_chunk * ((n_tok + job.tok_chunk - 1) / job.tok_chunk);
    atomic_init(&job.next, 0);
    int nth = gl_pool_size(pool);
    if (n_tok < GL_GEMM_PACK_MIN_TOKENS && nth <= OWN_RANGES_MAX) {
        job.n_ranges = nth;
        for (int i = 0; i < nth; i++) {
            atomic_init(&job.ranges[i].next, job.n_pieces * i / nth);
            job.ranges[i].end = job.n_pieces * (i + 1) / nth;
        }
    }
    gl_pool_run(pool, matmul_pieces, &job);
    if (job.xq != xq_stack) gl_free(job.xq);
    gl_free(job.scratch_alloc);
    return 0;
}

int gl_matmul_with(const gl_kernels *k, const gl_tensor *w, const float *x, float *y, int64_t n_tok,
                   gl_pool *pool) {
    return gl_matmul_many_with(k, 1, &w, NULL, x, &y, n_tok, pool);
}

/* Q8_0 batches of at least one AMX tile's 16 tokens take the AMX table when
 * the CPU and the OS allow it (its results are the same bits); asking costs
 * a system call, nothing next to such a product. */
static const gl_kernels *kernels_for(const gl_tensor *w, int64_t n_tok) {
    if (w->type == GL_TYPE_Q8_0 && n_tok >= AMX_MIN_TOKENS) {
        const gl_kernels *amx = gl_kernels_for(GL_ISA_AMX);
        if (amx) return amx;
    }
    return gl_kernels_best();
}

int gl_matmul(const gl_tensor *w, const float *x, float *y, int64_t n_tok, gl_pool *pool) {
    return gl_matmul_with(kernels_for(w, n_tok), w, x, y, n_tok, pool);
}

int gl_matmul_many(int n_w, const gl_tensor *const w[], const float *const b[], const float *x, float *const y[],
                   int64_t n_tok, gl_pool *pool) {
    return gl_matmul_many_with(n_w > 0 ? kernels_for(w[0], n_tok) : gl_kernels_best(), n_w, w, b, x, y, n_tok, pool);
}
