/* ops.c - element-wise operations and attention (see ops.h). The element-wise
 * ones are written for clarity; attention is tiled (below) since a photo's
 * thousand image tokens make its score matrix large. */
#include "ops.h"
#include "kernels/kernels.h"
#include "mem.h"

#include <math.h>
#include <stdatomic.h>
#include <string.h>

/* Sums of 16 independent float lanes, added up in double at the end: the
 * compiler vectorises the lanes without reordering any one sum, and over a
 * few thousand elements each lane's rounding stays near float epsilon. */
#define NORM_LANES 16

void gl_rmsnorm(float *out, const float *x, const float *w, int64_t n, int64_t n_rows, float eps) {
    for (int64_t r = 0; r < n_rows; r++, x += n, out += n) {
        float acc[NORM_LANES] = {0};
        int64_t body = n / NORM_LANES * NORM_LANES;
        for (int64_t i = 0; i < body; i += NORM_LANES)
            for (int j = 0; j < NORM_LANES; j++) acc[j] += x[i + j] * x[i + j];
        double ss = 0;
        for (int j = 0; j < NORM_LANES; j++) ss += acc[j];
        for (int64_t i = body; i < n; i++) ss += (double)x[i] * x[i];
        float scale = 1.0f / sqrtf((float)(ss / (double)n) + eps);
        for (int64_t i = 0; i < n; i++) out[i] = x[i] * scale * w[i];
    }
}

void gl_layernorm(float *out, const float *x, const float *w, const float *b, int64_t n, int64_t n_rows, float eps) {
    for (int64_t r = 0; r < n_rows; r++, x += n, out += n) {
        float acc[NORM_LANES] = {0}, acc2[NORM_LANES] = {0};
        int64_t body = n / NORM_LANES * NORM_LANES;
        for (int64_t i = 0; i < body; i += NORM_LANES)
            for (int j = 0; j < NORM_LANES; j++) acc[j] += x[i + j];
        double sum = 0, sq = 0;
        for (int j = 0; j < NORM_LANES; j++) sum += acc[j];
        for (int64_t i = body; i < n; i++) sum += x[i];
        float mean = (float)(sum / (double)n);
        for (int64_t i = 0; i < body; i += NORM_LANES)
            for (int j = 0; j < NORM_LANES; j++) acc2[j] += (x[i + j] - mean) * (x[i + j] - mean);
        for (int j = 0; j < NORM_LANES; j++) sq += acc2[j];
        for (int64_t i = body; i < n; i++) sq += (double)(x[i] - mean) * (x[i] - mean);
        float inv = 1.0f / sqrtf((float)(sq / (double)n) + eps);
        for (int64_t i = 0; i < n; i++) {
            float v = (x[i] - mean) * inv;
            out[i] = v * (w ? w[i] : 1.0f) + (b ? b[i] : 0.0f);
        }
    }
}

typedef struct {
    float *out;
    const float *x, *w, *b;
    int64_t n, n_rows;
    float eps;
    void (*fn)(float *x, int64_t n);
} rows_job;

static void layernorm_rows(void *p, int ith, int nth) {
    rows_job *j = p;
    long begin, end;
    gl_split_range((long)j->n_rows, ith, nth, &begin, &end);
    gl_layernorm(j->out + begin * j->n, j->x + begin * j->n, j->w, j->b, j->n, end - begin, j->eps);
}

void gl_layernorm_pool(float *out, const float *x, const float *w, const float *b, int64_t n, int64_t n_rows,
                       float eps, gl_pool *pool) {
    rows_job j = {.out = out, .x = x, .w = w, .b = b, .n = n, .n_rows = n_rows, .eps = eps};
    gl_pool_run(pool, layernorm_rows, &j);
}

static void unary_part(void *p, int ith, int nth) {
    rows_job *j = p;
    long begin, end;
    gl_split_range((long)(j->n / 16), ith, nth, &begin, &end); /* whole vectors per thread */
    if (ith == nth - 1) end = (long)((j->n + 15) / 16);
    int64_t e = 16 * (int64_t)end < j->n ? 16 * (int64_t)end : j->n;
    if (16 * (int64_t)begin < e) j->fn(j->out + 16 * (int64_t)begin, e - 16 * (int64_t)begin);
}

void gl_unary_pool(void (*fn)(float *x, int64_t n), float *x, int64_t n, gl_pool *pool) {
    rows_job j = {.out = x, .n = n, .fn = fn};
    gl_pool_run(pool, unary_part, &j);
}

void gl_add(float *y, const float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] += x[i];
}

void gl_add_bias(float *y, const float *b, int64_t n, int64_t n_rows) {
    for (int64_t r = 0; r < n_rows; r++, y += n)
        for (int64_t i = 0; i < n; i++) y[i] += b[i];
}

/* The activations run on the kernels' vectorised exp (kernels.h). */
void gl_silu_mul(float *gate, const float *up, int64_t n) { gl_kernels_best()->silu_mul(gate, up, n); }
void gl_gelu_erf(float *x, int64_t n) { gl_kernels_best()->gelu_erf(x, n); }
void gl_gelu_tanh(float *x, int64_t n) { gl_kernels_best()->gelu_tanh(x, n); }
void gl_gelu_quick(float *x, int64_t n) { gl_kernels_best()->gelu_quick(x, n); }

void gl_softmax(float *x, int64_t n) {
    float max = x[0];
    for (int64_t i = 1; i < n; i++)
        if (x[i] > max) max = x[i];
    double sum = 0;
    for (int64_t i = 0; i < n; i++) {
        x[i] = expf(x[i] - max);
        sum += x[i];
    }
    float inv = (float)(1.0 / sum);
    for (int64_t i = 0; i < n; i++) x[i] *= inv;
}

void gl_rope(float *x, int n_heads, int head_dim, int n_rot, int64_t pos, float base, int neox) {
    int half = n_rot / 2;
    for (int i = 0; i < half; i++) {
        /* Same expression as transformers' inv_freq (float32 base ** (2i/d)). */
        float inv_freq = 1.0f / powf(base, (float)(2 * i) / (float)n_rot);
        float angle = (float)pos * inv_freq;
        float c = cosf(angle), s = sinf(angle);
        for (int h = 0; h < n_heads; h++) {
            float *v = x + (int64_t)h * head_dim;
            int a = neox ? i : 2 * i, b = neox ? i + half : 2 * i + 1;
            float x0 = v[a], x1 = v[b];
            v[a] = x0 * c - x1 * s;
            v[b] = x0 * s + x1 * c;
        }
    }
}

/* ==== Attention ====
 *
 * Tiled with an online softmax (FlashAttention, Dao et al. 2022): a work
 * item is one KV head, a block of queries and a range of keys. The item's
 * query rows (each query of the block times each head of the KV head's
 * group, so a key block is read once for the whole group) are multiplied
 * with blocks of ATT_KEYS keys by the kernels' gemm_f32; each row keeps its
 * running maximum m, sum l and unnormalised output O, rescaled by
 * exp(m_old - m_new) as new blocks arrive, so no row of n_kv scores is ever
 * stored. When the heads and query blocks are too few to occupy every
 * thread (decoding: one query), the keys are split into ranges whose
 * partial (m, l, O) are merged at the end.
 *
 * Where the CPU has AMX, the long attention of vision towers (at least
 * AMX_MIN_TOKENS queries and keys, head size 32 or 64) runs its two
 * products on tiles in bfloat16 (kernels.h: gl_amx_*): the keys and values
 * are packed once per call, queries and probabilities rounded to bf16 per
 * block, and the softmax stays in f32. Each operand is then rounded to 8
 * significant bits (relative 2^-9), so the scores carry an error of about
 * 2^-8 of sum |q k|; a pass is several times faster than in F32. Shorter
 * attention (decoding, prefill batches, small towers) stays in F32. */
#define ATT_ROWS 128 /* query rows (queries x group heads) per item */
#define ATT_KEYS 256 /* keys per block */
#define AMX_MIN_TOKENS 512

typedef struct {
    const gl_kernels *kern;
    float *out;
    const float *q, *k, *v;
    int64_t n_q, n_kv, kv_stride, causal_pos0;
    int n_head, n_head_kv, head_dim, group;
    int64_t q_per_item, n_qblk;
    int n_split;
    int64_t split_keys;
    int64_t rows_max;
    float *part;         /* (n_items, rows_max, head_dim + 2): O, m, l per row when n_split > 1 */
    int amx;             /* products on AMX tiles in bf16 */
    int64_t n_pad;       /* n_kv rounded up to 32 (AMX) */
    uint16_t *kpack, *vpack; /* (n_head_kv, n_pad * head_dim) keys and values packed as bf16 tiles (AMX) */
    atomic_long next;    /* the next item to take */
    char *scratch;       /* (nth, scratch_bytes) */
    size_t scratch_bytes;
} attention_job;

/* Keys query i sees: 0 .. visible(i) - 1. */
static int64_t visible(const attention_job *a, int64_t i) {
    if (a->causal_pos0 < 0) return a->n_kv;
    int64_t n = a->causal_pos0 + i + 1;
    return n < a->n_kv ? n : a->n_kv;
}

/* Starts rows of an online softmax: running maxima at -inf, sums at 0. */
static void softmax_start(float *m, float *l, int64_t rows) {
    for (int64_t r = 0; r < rows; r++) {
        m[r] = -INFINITY;
        l[r] = 0;
    }
}

/* The keys split sp of the job covers, [*j0, return), cut at the last that
 * query row i_last may see. */
static int64_t split_keys_end(const attention_job *a, int64_t sp, int64_t i_last, int64_t *j0) {
    *j0 = sp * a->split_keys;
    int64_t j1 = *j0 + a->split_keys < a->n_kv ? *j0 + a->split_keys : a->n_kv;
    return visible(a, i_last) < j1 ? visible(a, i_last) : j1;
}

static size_t attention_scratch_floats(int64_t rows, int hd) {
    /* qs (rows, hd), s (rows, ATT_KEYS), o (rows, hd), m, l (rows) */
    return (size_t)rows * (size_t)hd * 2 + (size_t)rows * ATT_KEYS + 2 * (size_t)rows;
}

static void finish_item(const attention_job *a, int64_t item, int64_t i0, int64_t g, int64_t rows, const float *o,
                        const float *m, const float *l);

static void attention_item(const attention_job *a, int64_t item, float *scratch) {
    int hd = a->head_dim, group = a->group;
    int64_t g = item / (a->n_qblk * a->n_split);
    int64_t qb = item / a->n_split % a->n_qblk;
    int sp = (int)(item % a->n_split);
    int64_t i0 = qb * a->q_per_item;
    int64_t i1 = i0 + a->q_per_item < a->n_q ? i0 + a->q_per_item : a->n_q;
    int64_t rows = (i1 - i0) * group; /* row r: query i0 + r / group, head g * group + r % group */
    int64_t q_stride = (int64_t)a->n_head * hd;
    float *qs = scratch;                        /* (rows, hd) scaled queries */
    float *s = qs + rows * hd;                  /* (rows, ATT_KEYS) scores, then probabilities */
    float *o = s + rows * ATT_KEYS;             /* (rows, hd) running unnormalised output */
    float *m = o + rows * hd, *l = m + rows;    /* (rows) running maximum and sum */
    /* a decoded query's few rows: products straight from the cache, no packing */
    int few = rows <= GL_FEW_ROWS && hd % 16 == 0 && a->kern->scores_few;
    float scale = 1.0f / sqrtf((float)hd);
    for (int64_t i = i0; i < i1; i++) {
        const float *src = a->q + i * q_stride + g * group * hd;
        for (int64_t e = 0; e < (int64_t)group * hd; e++) qs[(i - i0) * group * hd + e] = src[e] * scale;
    }
    softmax_start(m, l, rows);
    memset(o, 0, sizeof(float) * (size_t)(rows * hd));
    int64_t j0, jend = split_keys_end(a, sp, i1 - 1, &j0);
    for (int64_t kb = j0; kb < jend; kb += ATT_KEYS) {
        int64_t nk = jend - kb < ATT_KEYS ? jend - kb : ATT_KEYS;
        gl_gemm_args qk = {.w = a->k + kb * a->kv_stride + g * hd, .row_bytes = (size_t)a->kv_stride * sizeof(float),
                           .n_rows = nk, .n = hd, .x = qs, .x_row_bytes = (size_t)hd * sizeof(float),
                           .n_tok = rows, .y = s, .y_stride = nk};
        if (few)
            a->kern->scores_few(qs, (int)rows, hd, qk.w, a->kv_stride, nk, s, nk);
        else
            a->kern->gemm_f32(&qk);
        for (int64_t r = 0; r < rows; r++) {
            float *sr = s + r * nk;
            int64_t nv = visible(a, i0 + r / group) - kb;
            if (nv > nk) nv = nk;
            if (nv <= 0) {
                memset(sr, 0, sizeof(float) * (size_t)nk);
                continue;
            }
            float mx = a->kern->max_f32(sr, nv);
            float m_new = mx > m[r] ? mx : m[r];
            float alpha = expf(m[r] - m_new); /* 0 for the first block */
            float sum = a->kern->exp_shift(sr, nv, m_new);
            for (int64_t j = nv; j < nk; j++) sr[j] = 0;
            l[r] = l[r] * alpha + sum;
            m[r] = m_new;
            if (alpha != 1.0f)
                for (int e = 0; e < hd; e++) o[r * hd + e] *= alpha;
        }
        /* o += p . V_block: the value block read by columns (row e of the
         * product's weights is dimension e of every key) */
        gl_gemm_args pv = {.w = a->v + kb * a->kv_stride + g * hd, .row_bytes = (size_t)a->kv_stride * sizeof(float),
                           .n_rows = hd, .n = nk, .x = s, .x_row_bytes = (size_t)nk * sizeof(float), .n_tok = rows,
                           .y = o, .y_stride = hd, .accumulate = 1, .w_columns = 1};
        if (few)
            a->kern->add_pv_few(s, nk, (int)rows, pv.w, a->kv_stride, nk, hd, o);
        else
            a->kern->gemm_f32(&pv);
    }
    finish_item(a, item, i0, g, rows, o, m, l);
}

/* Writes an item's rows: normalised into out, or (n_split > 1) as its
 * part (O, m, l) for attention_merge. */
static void finish_item(const attention_job *a, int64_t item, int64_t i0, int64_t g, int64_t rows, const float *o,
                        const float *m, const float *l) {
    int hd = a->head_dim, group = a->group;
    int64_t q_stride = (int64_t)a->n_head * hd;
    if (a->n_split > 1) {
        float *part = a->part + item * a->rows_max * (hd + 2); /* (rows, hd + 2) */
        for (int64_t r = 0; r < rows; r++) {
            memcpy(part + r * (hd + 2), o + r * hd, sizeof(float) * (size_t)hd);
            part[r * (hd + 2) + hd] = m[r];
            part[r * (hd + 2) + hd + 1] = l[r];
        }
        return;
    }
    for (int64_t r = 0; r < rows; r++) {
        float *dst = a->out + (i0 + r / group) * q_stride + (g * group + r % group) * hd;
        float inv = 1.0f / l[r];
        for (int e = 0; e < hd; e++) dst[e] = o[r * hd + e] * inv;
    }
}

static size_t attention_amx_scratch_bytes(int64_t rows, int hd) {
    int64_t r16 = (rows + 15) / 16 * 16;
    /* q (r16, hd) bf16, s (r16, ATT_KEYS) f32, p (r16, ATT_KEYS) bf16, o (r16, hd) f32, m, l (r16) */
    return (size_t)r16 * ((size_t)hd * 6 + ATT_KEYS * 6 + 8);
}

/* attention_item with the products on AMX tiles: rows go in groups of 16
 * (rows past the item's are zero queries whose results are dropped) and key
 * blocks in multiples of 32 (keys past a row's last have probability 0). */
static void attention_item_amx(const attention_job *a, int64_t item, char *scratch) {
    int hd = a->head_dim, group = a->group;
    int64_t g = item / (a->n_qblk * a->n_split);
    int64_t qb = item / a->n_split % a->n_qblk;
    int sp = (int)(item % a->n_split);
    int64_t i0 = qb * a->q_per_item;
    int64_t i1 = i0 + a->q_per_item < a->n_q ? i0 + a->q_per_item : a->n_q;
    int64_t rows = (i1 - i0) * group, r16 = (rows + 15) / 16 * 16;
    int64_t q_stride = (int64_t)a->n_head * hd;
    uint16_t *qs = (uint16_t *)(void *)scratch;     /* (r16, hd) scaled queries */
    float *s = (float *)(void *)(qs + r16 * hd);    /* (r16, ATT_KEYS) scores, then probabilities */
    uint16_t *pb = (uint16_t *)(void *)(s + r16 * ATT_KEYS); /* (r16, ATT_KEYS) probabilities */
    float *o = (float *)(void *)(pb + r16 * ATT_KEYS);       /* (r16, hd) running unnormalised output */
    float *m = o + r16 * hd, *l = m + r16;          /* (r16) running maximum and sum */
    const uint16_t *keys = a->kpack + g * a->n_pad * hd, *values = a->vpack + g * a->n_pad * hd;
    float scale = 1.0f / sqrtf((float)hd);
    for (int64_t i = i0; i < i1; i++)
        gl_amx_to_bf16(a->q + i * q_stride + g * group * hd, scale, qs + (i - i0) * group * hd, (int64_t)group * hd);
    memset(qs + rows * hd, 0, sizeof(uint16_t) * (size_t)((r16 - rows) * hd));
    memset(pb + rows * ATT_KEYS, 0, sizeof(uint16_t) * (size_t)((r16 - rows) * ATT_KEYS));
    softmax_start(m, l, rows);
    memset(o, 0, sizeof(float) * (size_t)(r16 * hd));
    int64_t j0, jend = split_keys_end(a, sp, i1 - 1, &j0);
    for (int64_t kb = j0; kb < jend; kb += ATT_KEYS) {
        int64_t nk = jend - kb < ATT_KEYS ? jend - kb : ATT_KEYS, nk32 = (nk + 31) / 32 * 32;
        gl_amx_scores(qs, r16, hd, keys, kb, nk32, s, ATT_KEYS);
        for (int64_t r = 0; r < rows; r++) {
            float *sr = s + r * ATT_KEYS;
            int64_t nv = visible(a, i0 + r / group) - kb;
            if (nv > nk) nv = nk;
            if (nv <= 0) {
                memset(pb + r * ATT_KEYS, 0, sizeof(uint16_t) * (size_t)nk32);
                continue;
            }
            float m_new;
            float sum = gl_amx_softmax_row(sr, nv, nk32, m[r], &m_new, pb + r * ATT_KEYS);
            float alpha = expf(m[r] - m_new); /* 0 for the first block */
            l[r] = l[r] * alpha + sum;
            m[r] = m_new;
            if (alpha != 1.0f)
                for (int e = 0; e < hd; e++) o[r * hd + e] *= alpha;
        }
        gl_amx_add_pv(pb, ATT_KEYS, r16, values, kb, nk32, hd, o);
    }
    finish_item(a, item, i0, g, rows, o, m, l);
}

/* Threads take items from a shared counter (see matmul.c). */
static void attention_items(void *p, int ith, int nth) {
    (void)nth;
    attention_job *a = p;
    char *scratch = a->scratch + (size_t)ith * a->scratch_bytes;
    if (a->amx) gl_amx_attention_begin();
    for (;;) {
        long item = atomic_fetch_add_explicit(&a->next, 1, memory_order_relaxed);
        if (item >= a->n_head_kv * a->n_qblk * a->n_split) break;
        if (a->amx)
            attention_item_amx(a, item, scratch);
        else
            attention_item(a, item, (float *)(void *)scratch);
    }
    if (a->amx) gl_amx_attention_end();
}

/* Packs the keys and values of every KV head, 32 keys at a time. */
static void pack_kv(void *p, int ith, int nth) {
    attention_job *a = p;
    int hd = a->head_dim;
    int64_t per_head = a->n_pad / 32;
    long begin, end;
    gl_split_range((long)(a->n_head_kv * per_head), ith, nth, &begin, &end);
    for (long u = begin; u < end; u++) {
        int64_t g = u / per_head, k0 = u % per_head * 32;
        gl_amx_pack_keys(a->k + g * hd, a->kv_stride, a->n_kv, k0, k0 + 32, hd, a->kpack + g * a->n_pad * hd);
        gl_amx_pack_values(a->v + g * hd, a->kv_stride, a->n_kv, k0, k0 + 32, hd, a->vpack + g * a->n_pad * hd);
    }
}

/* Combines the key ranges of each (KV head, query block) row. */
static void attention_merge(const attention_job *a) {
    int hd = a->head_dim;
    int64_t q_stride = (int64_t)a->n_head * hd;
    for (int64_t g = 0; g < a->n_head_kv; g++)
        for (int64_t qb = 0; qb < a->n_qblk; qb++) {
            int64_t i0 = qb * a->q_per_item;
            int64_t i1 = i0 + a->q_per_item < a->n_q ? i0 + a->q_per_item : a->n_q;
            for (int64_t r = 0; r < (i1 - i0) * a->group; r++) {
                const float *parts[64];
                float m = -INFINITY, l = 0;
                for (int sp = 0; sp < a->n_split; sp++) {
                    int64_t item = (g * a->n_qblk + qb) * a->n_split + sp;
                    parts[sp] = a->part + (item * a->rows_max + r) * (hd + 2);
                    if (parts[sp][hd] > m) m = parts[sp][hd];
                }
                float *dst = a->out + (i0 + r / a->group) * q_stride + (g * a->group + r % a->group) * hd;
                for (int e = 0; e < hd; e++) dst[e] = 0;
                for (int sp = 0; sp < a->n_split; sp++) {
                    if (parts[sp][hd + 1] == 0) continue; /* saw no key */
                    float w = expf(parts[sp][hd] - m);
                    l += w * parts[sp][hd + 1];
                    for (int e = 0; e < hd; e++) dst[e] += w * parts[sp][e];
                }
                float inv = 1.0f / l;
                for (int e = 0; e < hd; e++) dst[e] *= inv;
            }
        }
}

int gl_attention(float *out, const float *q, int64_t n_q, const float *k, const float *v, int64_t n_kv,
                 int64_t kv_stride, int n_head, int n_head_kv, int head_dim, int64_t causal_pos0, gl_pool *pool) {
    if (n_q <= 0) return 0;
    attention_job a = {.kern = gl_kernels_best(), .out = out, .q = q, .k = k, .v = v, .n_q = n_q, .n_kv = n_kv,
                       .kv_stride = kv_stride, .causal_pos0 = causal_pos0, .n_head = n_head,
                       .n_head_kv = n_head_kv, .head_dim = head_dim, .group = n_head / n_head_kv};
    a.q_per_item = ATT_ROWS / a.group > 0 ? ATT_ROWS / a.group : 1;
    if (a.q_per_item > n_q) a.q_per_item = n_q;
    a.n_qblk = (n_q + a.q_per_item - 1) / a.q_per_item;
    a.rows_max = a.q_per_item * a.group;
    /* Key ranges so that every thread has at least two items, each range
     * at least one key block long. */
    int nth = gl_pool_size(pool);
    int64_t items = n_head_kv * a.n_qblk;
    a.n_split = 1;
    while (items * a.n_split < 2 * nth && a.n_split < 64 && n_kv >= (int64_t)(a.n_split + 1) * ATT_KEYS) a.n_split++;
    a.split_keys = (n_kv + a.n_split - 1) / a.n_split;
    a.amx = n_q >= AMX_MIN_TOKENS && n_kv >= AMX_MIN_TOKENS && (head_dim == 32 || head_dim == 64) &&
            gl_kernels_for(GL_ISA_AMX) != NULL;
    int ok = 1;
    if (a.amx) {
        a.split_keys = (a.split_keys + 31) / 32 * 32; /* ranges start on packed 32-key steps */
        a.n_pad = (n_kv + 31) / 32 * 32;
        a.kpack = gl_malloc_array((size_t)(n_head_kv * a.n_pad), sizeof(uint16_t) * (size_t)head_dim);
        a.vpack = gl_malloc_array((size_t)(n_head_kv * a.n_pad), sizeof(uint16_t) * (size_t)head_dim);
        ok = a.kpack && a.vpack;
    }
    if (ok && a.n_split > 1) {
        a.part = gl_malloc_array((size_t)(items * a.n_split * a.rows_max), sizeof(float) * (size_t)(head_dim + 2));
        ok = a.part != NULL;
    }
    a.scratch_bytes = a.amx ? attention_amx_scratch_bytes(a.rows_max, head_dim)
                            : attention_scratch_floats(a.rows_max, head_dim) * sizeof(float);
    a.scratch = ok ? gl_malloc_array((size_t)nth, a.scratch_bytes) : NULL;
    if (!a.scratch) {
        gl_free(a.part);
        gl_free(a.kpack);
        gl_free(a.vpack);
        return -1;
    }
    if (a.amx) gl_pool_run(pool, pack_kv, &a);
    atomic_init(&a.next, 0);
    gl_pool_run(pool, attention_items, &a);
    if (a.n_split > 1) attention_merge(&a);
    gl_free(a.scratch);
    gl_free(a.part);
    gl_free(a.kpack);
    gl_free(a.vpack);
    return 0;
}
