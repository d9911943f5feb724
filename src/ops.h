/* ops.h - the element-wise and attention operations shared by the decoder
 * and the vision encoder. All operate on rows of F32 activations.
 *
 * Definitions follow the reference implementations: RMSNorm and SwiGLU as in
 * transformers' LlamaRMSNorm/LlamaMLP, LayerNorm as torch.nn.LayerNorm, the
 * GELU variants as torch's gelu (erf), gelu(approximate="tanh") and CLIP's
 * quick_gelu (x * sigmoid(1.702 x)). */
#ifndef GLIMPSE_OPS_H
#define GLIMPSE_OPS_H

#include "threads.h"

#include <stdint.h>

/* out[i] = x[i] / sqrt(mean(x^2) + eps) * w[i], for n_rows rows of n. */
void gl_rmsnorm(float *out, const float *x, const float *w, int64_t n, int64_t n_rows, float eps);
/* out = (x - mean) / sqrt(var + eps) * w + b; w, b may be NULL (1, 0). */
void gl_layernorm(float *out, const float *x, const float *w, const float *b, int64_t n, int64_t n_rows, float eps);

/* gl_layernorm with the rows split across the pool. */
void gl_layernorm_pool(float *out, const float *x, const float *w, const float *b, int64_t n, int64_t n_rows,
                       float eps, gl_pool *pool);
/* fn(x, n) (an activation below) with x split across the pool. */
void gl_unary_pool(void (*fn)(float *x, int64_t n), float *x, int64_t n, gl_pool *pool);

void gl_add(float *y, const float *x, int64_t n);                 /* y += x */
void gl_add_bias(float *y, const float *b, int64_t n, int64_t n_rows); /* every row += b */
void gl_silu_mul(float *gate, const float *up, int64_t n);        /* gate = silu(gate) * up */
void gl_gelu_erf(float *x, int64_t n);
void gl_gelu_tanh(float *x, int64_t n);
void gl_gelu_quick(float *x, int64_t n);
void gl_softmax(float *x, int64_t n);

/* Rotary position embedding on n_heads heads of head_dim at one position.
 * neox = 0: pairs (2i, 2i+1) (ggml NORM, llama after the converter's Q/K
 * permutation); neox = 1: pairs (i, i + n_rot/2) (qwen2, HF rotate_half).
 * theta_i = pos * base^(-2i/n_rot) for i < n_rot/2. */
void gl_rope(float *x, int n_heads, int head_dim, int n_rot, int64_t pos, float base, int neox);

/* Multi-head attention with grouped-query heads.
 * q: (n_q, n_head * head_dim), k and v: (n_kv, n_head_kv * head_dim) rows at
 * a stride of kv_stride floats, out: (n_q, n_head * head_dim).
 * causal_pos0 >= 0: query i sits at position causal_pos0 + i and sees keys
 * 0..causal_pos0+i (keys are positions 0..n_kv-1); causal_pos0 < 0: every
 * query sees every key. Scale 1/sqrt(head_dim). Tiled over queries and keys
 * (nothing of size n_q x n_kv is stored); KV heads, query blocks and, for
 * few queries, key ranges are split across the pool. On CPUs with AMX,
 * attention of at least 512 queries and keys with head size 32 or 64 (vision
 * towers) multiplies in bfloat16 (ops.c), within about 2^-8 of the F32
 * result's scale; everything else is F32.
 * Returns 0, or -1 when out of memory. */
int gl_attention(float *out, const float *q, int64_t n_q, const float *k, const float *v, int64_t n_kv,
                 int64_t kv_stride, int n_head, int n_head_kv, int head_dim, int64_t causal_pos0, gl_pool *pool);

#endif
