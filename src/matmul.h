/* matmul.h - products of a weight tensor with activations, the hot loop of
 * both the decoder and the vision encoder.
 *
 * W has ne[0] = n_in (row length) and ne[1] = n_out; x holds n_tok rows of
 * n_in floats; y receives n_tok rows of n_out floats: y[t][o] = W[o] . x[t].
 * Any readable weight type works; rows are split across the pool. Q8_0,
 * Q4_0, Q4_K and Q6_K weights are multiplied in integers against activations
 * quantised to 8 bits (kernels/kernels.h), as ggml does; other types in F32. */
#ifndef GLIMPSE_MATMUL_H
#define GLIMPSE_MATMUL_H

#include "tensor.h"
#include "threads.h"

#include <stdint.h>

struct gl_kernels;

/* Returns 0, or -1 when out of memory for the scratch rows. */
int gl_matmul(const gl_tensor *w, const float *x, float *y, int64_t n_tok, gl_pool *pool);
/* The same with a chosen kernel table (tests and benchmarks); gl_matmul uses
 * gl_kernels_best(). */
int gl_matmul_with(const struct gl_kernels *k, const gl_tensor *w, const float *x, float *y, int64_t n_tok,
                   gl_pool *pool);
/* OpenBLAS sgemm for F32/F16/BF16 weights (F16/BF16 widened by row blocks
 * with k), which gl_matmul uses for large batches when OpenBLAS has a fast
 * kernel for this CPU. OpenBLAS runs its own threads (OPENBLAS_NUM_THREADS);
 * the pool only widens rows. Dimensions must fit an int. */
int gl_matmul_blas(const struct gl_kernels *k, const gl_tensor *w, const float *x, float *y, int64_t n_tok,
                   gl_pool *pool);

#endif
