/* decoder.c - llama / qwen2 transformer decoder and its KV cache (see decoder.h).
 *
 * The forward pass is transformers' LlamaForCausalLM / Qwen2ForCausalLM
 * (models/llama/modeling_llama.py, models/qwen2/modeling_qwen2.py):
 *   x = embed(token) or an image embedding row
 *   per layer: x += Wo . attention(rope(Wq.rmsnorm(x) + bq), rope(Wk.. + bk), Wv.. + bv)
 *              x += Wdown . (silu(Wgate . rmsnorm(x)) * (Wup . rmsnorm(x)))
 *   logits = Wout . rmsnorm(x)
 * on weights stored as llama.cpp writes them (../shared/FORMATS.md section 5):
 * `llama` Q/K rows are permuted by convert_hf_to_gguf.py (LlamaModel.permute)
 * so that RoPE rotates adjacent pairs (ggml NORM mode), which equals HF's
 * rotate_half on the original rows; `qwen2` is not permuted and rotates
 * (i, i + n_rot/2) (ggml NEOX mode). */
#include "decoder.h"
#include "checked.h"
#include "error.h"
#include "matmul.h"
#include "mem.h"
#include "ops.h"
#include "quant.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Positions per pass through the weights: prompts and images go through the
 * matrix-matrix path this many rows at a time; scratch is sized for it. */
#define DECODER_BATCH 64

/* Hyperparameter ceilings: far above any real model, low enough that every
 * product of two of them fits easily in 64 bits. */
#define MAX_DIM (1 << 20)
#define MAX_LAYERS 4096

/* ---- The model ---- */

typedef struct {
    const float *attn_norm;  // (n_embd)
    const gl_tensor *wq;     // (q_dim, n_embd) as ggml ne = [n_embd, q_dim]; q_dim = n_head * head_dim
    const gl_tensor *wk;     // (kv_dim, n_embd); kv_dim = n_head_kv * head_dim
    const gl_tensor *wv;     // (kv_dim, n_embd)
    const gl_tensor *wo;     // (n_embd, q_dim)
    const float *bq;         // (q_dim) or NULL
    const float *bk;         // (kv_dim) or NULL
    const float *bv;         // (kv_dim) or NULL
    const float *bo;         // (n_embd) or NULL (llama with attention_bias)
    const float *ffn_norm;   // (n_embd)
    const gl_tensor *w_gate; // (n_ff, n_embd)
    const gl_tensor *w_up;   // (n_ff, n_embd)
    const gl_tensor *w_down; // (n_embd, n_ff)
} decoder_layer;

struct gl_decoder {
    gl_decoder_hparams hp;
    const char *name;            // the GGUF file, for messages
    const gl_tensor *token_embd; // (n_vocab, n_embd), any readable type
    const gl_tensor *output;     // (n_vocab, n_embd); token_embd when tied
    const float *output_norm;    // (n_embd)
    decoder_layer *layers;       // (n_layer)
    float *vectors;              // every norm weight and bias, converted to F32; the pointers above point here
};

struct gl_kv_cache {
    const gl_decoder *d;
    int32_t n_ctx;   // positions the cache holds
    int32_t n_past;  // positions filled
    float *k;        // (n_layer, n_ctx, kv_dim) keys after RoPE
    float *v;        // (n_layer, n_ctx, kv_dim) values
    /* scratch for one batch of up to DECODER_BATCH positions */
    float *x;        // (batch, n_embd) residual stream
    float *xb;       // (batch, n_embd) normalised input of a block, then its output
    float *q;        // (batch, q_dim) queries
    float *att;      // (batch, q_dim) attention output
    float *hb;       // (batch, n_ff) gate, then silu(gate) * up
    float *hb2;      // (batch, n_ff) up
};

static int64_t q_dim(const gl_decoder_hparams *p) { return (int64_t)p->n_head * p->head_dim; }
static int64_t kv_dim(const gl_decoder_hparams *p) { return (int64_t)p->n_head_kv * p->head_dim; }

/* ---- Loading: hyperparameters ---- */

/* {arch}.<key> as an integer in [1, max]; def = 0 makes it required. */
static glimpse_status hparam_int(const gl_gguf *g, const char *arch, const char *key, int64_t def, int64_t max,
                                 int32_t *out) {
    char name[128];
    snprintf(name, sizeof name, "%s.%s", arch, key);
    int64_t v = def;
    if (gl_gguf_get_i64(g, name, &v) != 0 && def == 0)
        return gl_error(GLIMPSE_ERR_FORMAT, "%s: key '%s' is missing or not an integer", gl_gguf_name(g), name);
    if (v < 1 || v > max)
        return gl_error(GLIMPSE_ERR_FORMAT, "%s: key '%s' = %lld is out of range (1..%lld)", gl_gguf_name(g), name,
                        (long long)v, (long long)max);
    *out = (int32_t)v;
    return GLIMPSE_OK;
}

/* {arch}.<key> as a finite float >= 0 (> 0 when positive); def is used when
 * the key is missing and not required. */
static glimpse_status hparam_float(const gl_gguf *g, const char *arch, const char *key, int required, float def,
                                   int positive, float *out) {
    char name[128];
    snprintf(name, sizeof name, "%s.%s", arch, key);
    float v = def;
    if (gl_gguf_get_f32(g, name, &v) != 0 && required)
        return gl_error(GLIMPSE_ERR_FORMAT, "%s: key '%s' is missing or not a float", gl_gguf_name(g), name);
    if (!isfinite(v) || v < 0 || (positive && v == 0))
        return gl_error(GLIMPSE_ERR_FORMAT, "%s: key '%s' = %g is out of range", gl_gguf_name(g), name, (double)v);
    *out = v;
    return GLIMPSE_OK;
}

static glimpse_status read_arch(const gl_gguf *g, char *arch, size_t size, gl_decoder_arch *out) {
    const char *s;
    size_t len;
    if (gl_gguf_get_str(g, "general.architecture", &s, &len) != 0)
        return gl_error(GLIMPSE_ERR_FORMAT, "%s: key 'general.architecture' is missing", gl_gguf_name(g));
    int shown = len > 64 ? 64 : (int)len;
    if (len == 5 && memcmp(s, "llama", 5) == 0) {
        *out = GL_ARCH_LLAMA;
    } else if (len == 5 && memcmp(s, "qwen2", 5) == 0) {
        *out = GL_ARCH_QWEN2;
    } else {
        return gl_error(GLIMPSE_ERR_UNSUPPORTED,
                        "%s: architecture '%.*s' is not supported (glimpse's decoder runs llama and qwen2)",
                        gl_gguf_name(g), shown, s);
    }
    snprintf(arch, size, "%.*s", shown, s);
    return GLIMPSE_OK;
}

static glimpse_status read_hparams(const gl_gguf *g, gl_decoder_hparams *p, char *arch, size_t arch_size) {
    const char *file = gl_gguf_name(g);
    glimpse_status st;
    if ((st = read_arch(g, arch, arch_size, &p->arch))) return st;
    if ((st = hparam_int(g, arch, "embedding_length", 0, MAX_DIM, &p->n_embd)) ||
        (st = hparam_int(g, arch, "block_count", 0, MAX_LAYERS, &p->n_layer)) ||
        (st = hparam_int(g, arch, "feed_forward_length", 0, MAX_DIM, &p->n_ff)) ||
        (st = hparam_int(g, arch, "attention.head_count", 0, MAX_DIM, &p->n_head)) ||
        (st = hparam_int(g, arch, "attention.head_count_kv", p->n_head, p->n_head, &p->n_head_kv)) ||
        (st = hparam_int(g, arch, "context_length", 0, INT32_MAX, &p->n_ctx_train)) ||
        (st = hparam_float(g, arch, "attention.layer_norm_rms_epsilon", 1, 0, 0, &p->rms_eps)) ||
        (st = hparam_float(g, arch, "rope.freq_base", 0, 10000.0f, 1, &p->rope_base)))
        return st;
    if (p->n_head % p->n_head_kv)
        return gl_error(GLIMPSE_ERR_FORMAT, "%s: %d attention heads do not divide into %d key/value heads", file,
                        p->n_head, p->n_head_kv);

    /* Head width: key_length when given (values must match), else n_embd / n_head. */
    char key[128];
    int32_t head_dim = p->n_embd / p->n_head, v_dim;
    snprintf(key, sizeof key, "%s.attention.key_length", arch);
    if (p->n_embd % p->n_head && gl_gguf_get_i64(g, key, &(int64_t){0}) != 0)
        return gl_error(GLIMPSE_ERR_FORMAT, "%s: embedding length %d is not a multiple of %d heads and '%s' is missing",
                        file, p->n_embd, p->n_head, key);
    if ((st = hparam_int(g, arch, "attention.key_length", head_dim, MAX_DIM, &head_dim)) ||
        (st = hparam_int(g, arch, "attention.value_length", head_dim, MAX_DIM, &v_dim)))
        return st;
    if (v_dim != head_dim)
        return gl_error(GLIMPSE_ERR_UNSUPPORTED, "%s: key width %d differs from value width %d", file, head_dim,
                        v_dim);
    if ((int64_t)p->n_head * head_dim > MAX_DIM)
        return gl_error(GLIMPSE_ERR_FORMAT, "%s: %d heads of %d are too wide", file, p->n_head, head_dim);
    p->head_dim = head_dim;
    if ((st = hparam_int(g, arch, "rope.dimension_count", head_dim, head_dim, &p->n_rot))) return st;
    if (p->n_rot % 2)
        return gl_error(GLIMPSE_ERR_FORMAT, "%s: RoPE dimension count %d is odd", file, p->n_rot);

    /* Features that change the computation and that glimpse does not implement. */
    const char *s;
    size_t len;
    snprintf(key, sizeof key, "%s.rope.scaling.type", arch);
    if (gl_gguf_get_str(g, key, &s, &len) == 0 && !(len == 4 && memcmp(s, "none", 4) == 0))
        return gl_error(GLIMPSE_ERR_UNSUPPORTED, "%s: RoPE scaling '%.*s' is not supported", file,
                        len > 32 ? 32 : (int)len, s);
    return GLIMPSE_OK;
}

/* ---- Loading: tensors ---- */

/* The tensor names each architecture may hold, after "blk.N.". Anything else
 * in the file (rope_freqs, MLP biases, ...) would change the computation in a
 * way glimpse does not implement, so it is refused rather than ignored. */
static const char *const LLAMA_LAYER_TENSORS[] = {
    "attn_norm.weight", "attn_q.weight", "attn_k.weight", "attn_v.weight", "attn_output.weight",
    "attn_q.bias", "attn_k.bias", "attn_v.bias", "attn_output.bias",
    "ffn_norm.weight", "ffn_gate.weight", "ffn_up.weight", "ffn_down.weight", NULL};
static const char *const QWEN2_LAYER_TENSORS[] = {
    "attn_norm.weight", "attn_q.weight", "attn_k.weight", "attn_v.weight", "attn_output.weight",
    "attn_q.bias", "attn_k.bias", "attn_v.bias",
    "ffn_norm.weight", "ffn_gate.weight", "ffn_up.weight", "ffn_down.weight", NULL};

static int known_tensor(const gl_decoder_hparams *p, const char *name) {
    if (!strcmp(name, "token_embd.weight") || !strcmp(name, "output_norm.weight") || !strcmp(name, "output.weight"))
        return 1;
    if (strncmp(name, "blk.", 4) != 0) return 0;
    if (!isdigit((unsigned char)name[4])) return 0;
    char *end;
    long layer = strtol(name + 4, &end, 10);
    if (*end != '.' || layer >= p->n_layer) return 0;
    const char *const *list = p->arch == GL_ARCH_LLAMA ? LLAMA_LAYER_TENSORS : QWEN2_LAYER_TENSORS;
    for (; *list; list++)
        if (!strcmp(end + 1, *list)) return 1;
    return 0;
}

/* A vector of n, converted to F32 at *cursor (which advances); optional
 * vectors that are absent leave *out NULL. */
static glimpse_status load_vector(const gl_gguf *g, const char *name, int64_t n, int required, float **cursor,
                                  const float **out) {
    const gl_tensor *t;
    *out = NULL;
    if (!required && !gl_gguf_tensor(g, name)) return GLIMPSE_OK;
    glimpse_status st = gl_gguf_require(g, name, n, 1, &t);
    if (st) return st;
    gl_type_get(t->type)->to_float(t->data, *cursor, n);
    *out = *cursor;
    *cursor += n;
    return GLIMPSE_OK;
}

static glimpse_status load_layer(const gl_gguf *g, const gl_decoder_hparams *p, int il, float **cursor,
                                 decoder_layer *L) {
    int64_t E = p->n_embd, Q = q_dim(p), KV = kv_dim(p), F = p->n_ff;
    int qwen2 = p->arch == GL_ARCH_QWEN2;
    char name[64];
    glimpse_status st;
#define NAME(suffix) (snprintf(name, sizeof name, "blk.%d." suffix, il), name)
    if ((st = load_vector(g, NAME("attn_norm.weight"), E, 1, cursor, &L->attn_norm)) ||
        (st = gl_gguf_require(g, NAME("attn_q.weight"), E, Q, &L->wq)) ||
        (st = gl_gguf_require(g, NAME("attn_k.weight"), E, KV, &L->wk)) ||
        (st = gl_gguf_require(g, NAME("attn_v.weight"), E, KV, &L->wv)) ||
        (st = gl_gguf_require(g, NAME("attn_output.weight"), Q, E, &L->wo)) ||
        /* Qwen2 always has q/k/v biases; llama has them (and an output bias)
         * only when trained with attention_bias. */
        (st = load_vector(g, NAME("attn_q.bias"), Q, qwen2, cursor, &L->bq)) ||
        (st = load_vector(g, NAME("attn_k.bias"), KV, qwen2, cursor, &L->bk)) ||
        (st = load_vector(g, NAME("attn_v.bias"), KV, qwen2, cursor, &L->bv)) ||
        (st = load_vector(g, NAME("attn_output.bias"), E, 0, cursor, &L->bo)) ||
        (st = load_vector(g, NAME("ffn_norm.weight"), E, 1, cursor, &L->ffn_norm)) ||
        (st = gl_gguf_require(g, NAME("ffn_gate.weight"), E, F, &L->w_gate)) ||
        (st = gl_gguf_require(g, NAME("ffn_up.weight"), E, F, &L->w_up)) ||
        (st = gl_gguf_require(g, NAME("ffn_down.weight"), F, E, &L->w_down)))
        return st;
#undef NAME
    return GLIMPSE_OK;
}

glimpse_status gl_decoder_load(const gl_gguf *g, gl_decoder **out) {
    const char *file = gl_gguf_name(g);
    *out = NULL;
    gl_decoder *d = gl_calloc(1, sizeof *d);
    if (!d) return gl_error_nomem("decoder");
    d->name = file;
    gl_decoder_hparams *p = &d->hp;
    char arch[80];
    glimpse_status st = read_hparams(g, p, arch, sizeof arch);
    if (st) goto fail;

    for (int64_t i = 0; i < glimpse_gguf_n_tensors(g); i++) {
        const char *name = gl_gguf_tensor_at(g, i)->name;
        if (!known_tensor(p, name)) {
            st = gl_error(GLIMPSE_ERR_UNSUPPORTED, "%s: tensor '%s' is not part of a %s model glimpse can run", file,
                          name, arch);
            goto fail;
        }
    }

    d->token_embd = gl_gguf_tensor(g, "token_embd.weight");
    if (!d->token_embd) {
        st = gl_error(GLIMPSE_ERR_FORMAT, "%s: missing tensor 'token_embd.weight'", file);
        goto fail;
    }
    int64_t n_vocab = gl_tensor_nrows(d->token_embd);
    if (n_vocab > INT32_MAX) {
        st = gl_error(GLIMPSE_ERR_FORMAT, "%s: tensor 'token_embd.weight' has %lld rows, too many tokens", file,
                      (long long)n_vocab);
        goto fail;
    }
    p->n_vocab = (int32_t)n_vocab;
    char key[128];
    int64_t n_vocab_key;
    snprintf(key, sizeof key, "%s.vocab_size", arch);
    if (gl_gguf_get_i64(g, key, &n_vocab_key) == 0 && n_vocab_key != n_vocab) {
        st = gl_error(GLIMPSE_ERR_FORMAT, "%s: key '%s' = %lld but 'token_embd.weight' has %lld rows", file, key,
                      (long long)n_vocab_key, (long long)n_vocab);
        goto fail;
    }
    if ((st = gl_gguf_require(g, "token_embd.weight", p->n_embd, n_vocab, &d->token_embd))) goto fail;
    p->tied_output = gl_gguf_tensor(g, "output.weight") == NULL;
    if (p->tied_output)
        d->output = d->token_embd;
    else if ((st = gl_gguf_require(g, "output.weight", p->n_embd, n_vocab, &d->output)))
        goto fail;

    /* Every vector: output_norm, then per layer two norms and up to four biases. */
    size_t per_layer = (size_t)(3 * p->n_embd + q_dim(p) + 2 * kv_dim(p)), n_floats;
    if (gl_mul_overflow(per_layer, (size_t)p->n_layer, &n_floats) ||
        gl_add_overflow(n_floats, (size_t)p->n_embd, &n_floats) ||
        !(d->vectors = gl_malloc_array(n_floats, sizeof(float))) ||
        !(d->layers = gl_calloc((size_t)p->n_layer, sizeof *d->layers))) {
        st = gl_error_nomem("decoder weights");
        goto fail;
    }
    float *cursor = d->vectors;
    if ((st = load_vector(g, "output_norm.weight", p->n_embd, 1, &cursor, &d->output_norm))) goto fail;
    for (int il = 0; il < p->n_layer; il++)
        if ((st = load_layer(g, p, il, &cursor, &d->layers[il]))) goto fail;
    *out = d;
    return GLIMPSE_OK;
fail:
    gl_decoder_free(d);
    return st;
}

void gl_decoder_free(gl_decoder *d) {
    if (!d) return;
    gl_free(d->layers);
    gl_free(d->vectors);
    gl_free(d);
}

const gl_decoder_hparams *gl_decoder_hparams_of(const gl_decoder *d) { return &d->hp; }

/* ---- The KV cache ---- */

size_t gl_kv_cache_bytes(const gl_decoder *d, int32_t n_ctx) {
    size_t n;
    if (n_ctx < 0 || gl_mul_overflow((size_t)d->hp.n_layer * 2 * sizeof(float), (size_t)kv_dim(&d->hp), &n) ||
        gl_mul_overflow(n, (size_t)n_ctx, &n))
        return 0;
    return n;
}

glimpse_status gl_kv_cache_new(const gl_decoder *d, int32_t n_ctx, size_t max_bytes, gl_kv_cache **out) {
    *out = NULL;
    size_t per_pos = gl_kv_cache_bytes(d, 1);
    if (n_ctx <= 0) {
        n_ctx = d->hp.n_ctx_train;
        if (max_bytes && (size_t)n_ctx > max_bytes / per_pos) n_ctx = (int32_t)(max_bytes / per_pos);
        if (n_ctx < 1)
            return gl_error(GLIMPSE_ERR_LIMIT, "%s: the memory limit of %zu bytes holds no position of KV cache (one takes %zu)",
                            d->name, max_bytes, per_pos);
    }
    size_t bytes = gl_kv_cache_bytes(d, n_ctx);
    if (!bytes || (max_bytes && bytes > max_bytes))
        return gl_error(GLIMPSE_ERR_LIMIT, "%s: a context of %d positions needs %zu bytes of KV cache, over the limit of %zu",
                        d->name, n_ctx, bytes, max_bytes);

    const gl_decoder_hparams *p = &d->hp;
    size_t batch = (size_t)(n_ctx < DECODER_BATCH ? n_ctx : DECODER_BATCH);
    gl_kv_cache *kv = gl_calloc(1, sizeof *kv);
    if (!kv) return gl_error_nomem("KV cache");
    kv->d = d;
    kv->n_ctx = n_ctx;
    kv->k = gl_malloc(bytes / 2);
    kv->v = gl_malloc(bytes / 2);
    kv->x = gl_malloc_array(batch * (size_t)p->n_embd, sizeof(float));
    kv->xb = gl_malloc_array(batch * (size_t)p->n_embd, sizeof(float));
    kv->q = gl_malloc_array(batch * (size_t)q_dim(p), sizeof(float));
    kv->att = gl_malloc_array(batch * (size_t)q_dim(p), sizeof(float));
    kv->hb = gl_malloc_array(batch * (size_t)p->n_ff, sizeof(float));
    kv->hb2 = gl_malloc_array(batch * (size_t)p->n_ff, sizeof(float));
    if (!kv->k || !kv->v || !kv->x || !kv->xb || !kv->q || !kv->att || !kv->hb || !kv->hb2) {
        gl_kv_cache_free(kv);
        return gl_error_nomem("KV cache");
    }
    *out = kv;
    return GLIMPSE_OK;
}

void gl_kv_cache_free(gl_kv_cache *kv) {
    if (!kv) return;
    gl_free(kv->k);
    gl_free(kv->v);
    gl_free(kv->x);
    gl_free(kv->xb);
    gl_free(kv->q);
    gl_free(kv->att);
    gl_free(kv->hb);
    gl_free(kv->hb2);
    gl_free(kv);
}

int32_t gl_kv_cache_n_ctx(const gl_kv_cache *kv) { return kv->n_ctx; }
int32_t gl_kv_cache_n_past(const gl_kv_cache *kv) { return kv->n_past; }

void gl_kv_cache_truncate(gl_kv_cache *kv, int32_t n_past) {
    if (n_past >= 0 && n_past < kv->n_past) kv->n_past = n_past;
}

/* ---- The forward pass ---- */

#define TRY(call)                                                          \
    do {                                                                   \
        if ((call) != 0) return gl_error_nomem("decoder forward pass");    \
    } while (0)

/* Runs n <= DECODER_BATCH positions at kv->n_past. *embd is the next unused
 * embedding row. logits: NULL, one row for the last position, or n rows. */
static glimpse_status forward_batch(const gl_decoder *d, gl_kv_cache *kv, const int32_t *tokens, const float **embd,
                                    int32_t n, float *logits, int all_logits, gl_pool *pool) {
    const gl_decoder_hparams *p = &d->hp;
    const int64_t E = p->n_embd, Q = q_dim(p), KV = kv_dim(p), F = p->n_ff;
    const int64_t pos0 = kv->n_past;
    const int neox = p->arch == GL_ARCH_QWEN2;
    float *x = kv->x, *xb = kv->xb, *q = kv->q, *att = kv->att, *hb = kv->hb, *hb2 = kv->hb2;

    /* x (n, n_embd): a row of token_embd per token, or the caller's embedding */
    gl_to_float_fn embd_to_float = gl_type_get(d->token_embd->type)->to_float;
    for (int32_t i = 0; i < n; i++) {
        if (tokens && tokens[i] >= 0) {
            embd_to_float(gl_tensor_row(d->token_embd, tokens[i]), x + i * E, E);
        } else {
            memcpy(x + i * E, *embd, (size_t)E * sizeof(float));
            *embd += E;
        }
    }

    for (int32_t il = 0; il < p->n_layer; il++) {
        const decoder_layer *L = &d->layers[il];
        float *k_layer = kv->k + (size_t)il * (size_t)kv->n_ctx * (size_t)KV; // (n_ctx, kv_dim)
        float *v_layer = kv->v + (size_t)il * (size_t)kv->n_ctx * (size_t)KV; // (n_ctx, kv_dim)
        float *k = k_layer + pos0 * KV; // (n, kv_dim): this batch's rows of the cache
        float *v = v_layer + pos0 * KV;

        /* attention: q, k, v projections (+ biases), RoPE, then softmax(q.k/sqrt(d)).v over positions 0..pos */
        gl_rmsnorm(xb, x, L->attn_norm, E, n, p->rms_eps);
        TRY(gl_matmul(L->wq, xb, q, n, pool));
        TRY(gl_matmul(L->wk, xb, k, n, pool));
        TRY(gl_matmul(L->wv, xb, v, n, pool));
        if (L->bq) gl_add_bias(q, L->bq, Q, n);
        if (L->bk) gl_add_bias(k, L->bk, KV, n);
        if (L->bv) gl_add_bias(v, L->bv, KV, n);
        for (int32_t i = 0; i < n; i++) {
            gl_rope(q + i * Q, p->n_head, p->head_dim, p->n_rot, pos0 + i, p->rope_base, neox);
            gl_rope(k + i * KV, p->n_head_kv, p->head_dim, p->n_rot, pos0 + i, p->rope_base, neox);
        }
        TRY(gl_attention(att, q, n, k_layer, v_layer, pos0 + n, KV, p->n_head, p->n_head_kv, p->head_dim, pos0,
                         pool));
        TRY(gl_matmul(L->wo, att, xb, n, pool));
        if (L->bo) gl_add_bias(xb, L->bo, E, n);
        gl_add(x, xb, n * E);

        /* SwiGLU MLP: down(silu(gate(h)) * up(h)) */
        gl_rmsnorm(xb, x, L->ffn_norm, E, n, p->rms_eps);
        TRY(gl_matmul(L->w_gate, xb, hb, n, pool));
        TRY(gl_matmul(L->w_up, xb, hb2, n, pool));
        gl_silu_mul(hb, hb2, n * F);
        TRY(gl_matmul(L->w_down, hb, xb, n, pool));
        gl_add(x, xb, n * E);
    }

    /* final norm and output head, for the positions the caller wants */
    if (logits) {
        const float *rows = all_logits ? x : x + (n - 1) * E;
        int32_t n_rows = all_logits ? n : 1;
        gl_rmsnorm(xb, rows, d->output_norm, E, n_rows, p->rms_eps);
        TRY(gl_matmul(d->output, xb, logits, n_rows, pool));
    }
    kv->n_past += n;
    return GLIMPSE_OK;
}

glimpse_status gl_decoder_forward(const gl_decoder *d, gl_kv_cache *kv, const int32_t *tokens, const float *embd,
                                  int32_t n, float *logits, int all_logits, gl_pool *pool) {
    if (kv->d != d) return gl_error(GLIMPSE_ERR_INVALID_ARG, "%s: KV cache belongs to another model", d->name);
    if (n <= 0) return gl_error(GLIMPSE_ERR_INVALID_ARG, "%s: forward pass over %d positions", d->name, n);
    if (n > kv->n_ctx - kv->n_past)
        return gl_error(GLIMPSE_ERR_CONTEXT_FULL, "%s: context full: %d positions in use + %d new > context of %d",
                        d->name, kv->n_past, n, kv->n_ctx);
    for (int32_t i = 0; i < n; i++) {
        int32_t t = tokens ? tokens[i] : -1;
        if (t >= d->hp.n_vocab)
            return gl_error(GLIMPSE_ERR_INVALID_ARG, "%s: token id %d at position %d is outside the vocabulary of %d",
                            d->name, t, i, d->hp.n_vocab);
        if (t < 0 && !embd)
            return gl_error(GLIMPSE_ERR_INVALID_ARG, "%s: position %d asks for an embedding row but none were given",
                            d->name, i);
    }

    const int32_t n_past0 = kv->n_past;
    const int64_t n_vocab = d->hp.n_vocab;
    for (int32_t i0 = 0; i0 < n; i0 += DECODER_BATCH) {
        int32_t nb = n - i0 < DECODER_BATCH ? n - i0 : DECODER_BATCH;
        float *out = NULL;
        if (logits && all_logits) out = logits + i0 * n_vocab;
        if (logits && !all_logits && i0 + nb == n) out = logits;
        glimpse_status st = forward_batch(d, kv, tokens ? tokens + i0 : NULL, &embd, nb, out, all_logits, pool);
        if (st) {
            kv->n_past = n_past0;
            return st;
        }
    }
    return GLIMPSE_OK;
}
