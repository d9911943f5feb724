/* decoder.h - the language model: a llama- or qwen2-architecture transformer
 * decoder read from a text-model GGUF in llama.cpp's layout, with its KV cache.
 *
 * Keys, tensor names and shapes: ../shared/FORMATS.md section 5
 * (llama.cpp src/llama-model.cpp, src/llama-arch.cpp, convert_hf_to_gguf.py);
 * the computation is transformers' LlamaForCausalLM / Qwen2ForCausalLM.
 *
 * Usage:
 *     gl_decoder *d;   gl_decoder_load(gguf, &d);         // gguf must outlive d
 *     gl_kv_cache *kv; gl_kv_cache_new(d, 0, max_bytes, &kv);
 *     gl_decoder_forward(d, kv, prompt, NULL, n, logits, 0, pool);  // prefill
 *     gl_decoder_forward(d, kv, &next, NULL, 1, logits, 0, pool);   // one step
 *
 * A loaded decoder is read-only: any number of caches may use it at once from
 * different threads. A cache (positions, keys, values, scratch) is used by one
 * thread at a time. */
#ifndef GLIMPSE_DECODER_H
#define GLIMPSE_DECODER_H

#include "gguf.h"
#include "threads.h"

#include <stddef.h>
#include <stdint.h>

typedef enum {
    GL_ARCH_LLAMA, /* RoPE on adjacent pairs (the converter permuted Q/K rows) */
    GL_ARCH_QWEN2, /* RoPE on pairs (i, i + n_rot/2); q/k/v biases */
} gl_decoder_arch;

typedef struct {
    gl_decoder_arch arch;
    int32_t n_vocab;     /* rows of token_embd */
    int32_t n_embd;      /* width of the residual stream */
    int32_t n_layer;
    int32_t n_ff;        /* hidden width of the SwiGLU MLP */
    int32_t n_head;      /* query heads */
    int32_t n_head_kv;   /* key/value heads; n_head is a multiple of it */
    int32_t head_dim;
    int32_t n_rot;       /* leading dims of each head that RoPE rotates */
    int32_t n_ctx_train; /* {arch}.context_length */
    float rope_base;     /* {arch}.rope.freq_base */
    float rms_eps;
    int tied_output;     /* 1: no output.weight, logits use token_embd */
} gl_decoder_hparams;

typedef struct gl_decoder gl_decoder;
typedef struct gl_kv_cache gl_kv_cache;

/* Reads hyperparameters and checks every tensor against them. Errors name the
 * file and the key or tensor: GLIMPSE_ERR_UNSUPPORTED for an architecture,
 * weight type or feature glimpse lacks, GLIMPSE_ERR_FORMAT for a malformed one. */
glimpse_status gl_decoder_load(const gl_gguf *g, gl_decoder **out);
void gl_decoder_free(gl_decoder *d);
const gl_decoder_hparams *gl_decoder_hparams_of(const gl_decoder *d);

/* A cache for n_ctx positions. n_ctx <= 0 asks for the model's context_length,
 * reduced so that the keys and values fit max_bytes; an explicit n_ctx whose
 * cache exceeds max_bytes is GLIMPSE_ERR_LIMIT. max_bytes = 0: no limit. */
glimpse_status gl_kv_cache_new(const gl_decoder *d, int32_t n_ctx, size_t max_bytes, gl_kv_cache **out);
void gl_kv_cache_free(gl_kv_cache *kv);
int32_t gl_kv_cache_n_ctx(const gl_kv_cache *kv);
int32_t gl_kv_cache_n_past(const gl_kv_cache *kv); /* positions filled so far */
/* Forgets positions from n_past on, keeping the prefix for reuse. */
void gl_kv_cache_truncate(gl_kv_cache *kv, int32_t n_past);
/* Bytes of keys and values for n_ctx positions (0 on overflow). */
size_t gl_kv_cache_bytes(const gl_decoder *d, int32_t n_ctx);

/* Runs n positions after those already in the cache and appends them to it.
 * Position i is token tokens[i] when tokens[i] >= 0; otherwise it is the next
 * unused row of embd (n_embd floats a row, taken in order: the k-th negative
 * entry reads row k), which is how image embeddings enter. tokens = NULL means
 * every position is a row of embd.
 * logits: NULL computes no logits; otherwise receives n_vocab floats for the
 * last position, or n x n_vocab for every position when all_logits != 0.
 * Errors leave the cache as it was: GLIMPSE_ERR_CONTEXT_FULL when the n
 * positions do not fit, GLIMPSE_ERR_INVALID_ARG for a token id out of range. */
glimpse_status gl_decoder_forward(const gl_decoder *d, gl_kv_cache *kv, const int32_t *tokens, const float *embd,
                                  int32_t n, float *logits, int all_logits, gl_pool *pool);

#endif
