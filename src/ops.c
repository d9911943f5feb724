/* ops.c - element-wise operations and attention (see ops.h). Written for
 * clarity first; they are a small share of the time next to the matrix
 * products, which live in matmul.c and the kernels. */
#include "ops.h"
#include "checked.h"
#include "matmul.h"
#include "mem.h"

#include <math.h>
#include <string.h>

void gl_rmsnorm(float *out, const float *x, const float *w, int64_t n, int64_t n_rows, float eps) {
    for (int64_t r = 0; r < n_rows; r++, x += n, out += n) {
        double ss = 0;
        for (int64_t i = 0; i < n; i++) ss += (double)x[i] * x[i];
        float scale = 1.0f / sqrtf((float)(ss / (double)n) + eps);
        for (int64_t i = 0; i < n; i++) out[i] = x[i] * scale * w[i];
    }
}

void gl_layernorm(float *out, const float *x, const float *w, const float *b, int64_t n, int64_t n_rows, float eps) {
    for (int64_t r = 0; r < n_rows; r++, x += n, out += n) {
        double mean = 0, var = 0;
        for (int64_t i = 0; i < n; i++) mean += x[i];
        mean /= (double)n;
        for (int64_t i = 0; i < n; i++) var += (x[i] - mean) * (x[i] - mean);
        var /= (double)n;
        float inv = 1.0f / sqrtf((float)var + eps);
        for (int64_t i = 0; i < n; i++) {
            float v = (float)(x[i] - mean) * inv;
            out[i] = v * (w ? w[i] : 1.0f) + (b ? b[i] : 0.0f);
        }
    }
}

void gl_add(float *y, const float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] += x[i];
}

void gl_add_bias(float *y, const float *b, int64_t n, int64_t n_rows) {
    for (int64_t r = 0; r < n_rows; r++, y += n)
        for (int64_t i = 0; i < n; i++) y[i] += b[i];
}

void gl_silu_mul(float *gate, const float *up, int64_t n) {
    for (int64_t i = 0; i < n; i++) gate[i] = gate[i] / (1.0f + expf(-gate[i])) * up[i];
}

void gl_gelu_erf(float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) x[i] = 0.5f * x[i] * (1.0f + erff(x[i] * 0.70710678118654752f));
}

void gl_gelu_tanh(float *x, int64_t n) {
    const float c = 0.79788456080286536f; /* sqrt(2/pi) */
    for (int64_t i = 0; i < n; i++) x[i] = 0.5f * x[i] * (1.0f + tanhf(c * (x[i] + 0.044715f * x[i] * x[i] * x[i])));
}

void gl_gelu_quick(float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) x[i] = x[i] / (1.0f + expf(-1.702f * x[i]));
}

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

typedef struct {
    float *out;
    const float *q, *k, *v;
    int64_t n_q, n_kv, kv_stride, causal_pos0;
    int n_head, n_head_kv, head_dim;
    float *scores; /* (n_threads, n_kv) scratch */
} attention_job;

/* Work item = (head, query row); each thread takes a contiguous range. */
static void attention_rows(void *p, int ith, int nth) {
    attention_job *a = p;
    float *scores = a->scores + (int64_t)ith * a->n_kv;
    int group = a->n_head / a->n_head_kv;
    float scale = 1.0f / sqrtf((float)a->head_dim);
    int64_t q_stride = (int64_t)a->n_head * a->head_dim;
    long begin, end;
    gl_split_range((long)(a->n_head * a->n_q), ith, nth, &begin, &end);
    for (long item = begin; item < end; item++) {
        int h = (int)(item / a->n_q);
        int64_t t = item % a->n_q;
        const float *qv = a->q + t * q_stride + (int64_t)h * a->head_dim;
        int64_t kv_off = (int64_t)(h / group) * a->head_dim;
        int64_t n_seen = a->causal_pos0 >= 0 ? a->causal_pos0 + t + 1 : a->n_kv;
        if (n_seen > a->n_kv) n_seen = a->n_kv;
        for (int64_t j = 0; j < n_seen; j++) {
            const float *kv = a->k + j * a->kv_stride + kv_off;
            float dot = 0;
            for (int d = 0; d < a->head_dim; d++) dot += qv[d] * kv[d];
            scores[j] = dot * scale;
        }
        gl_softmax(scores, n_seen);
        float *o = a->out + t * q_stride + (int64_t)h * a->head_dim;
        for (int d = 0; d < a->head_dim; d++) o[d] = 0;
        for (int64_t j = 0; j < n_seen; j++) {
            const float *vv = a->v + j * a->kv_stride + kv_off;
            float w = scores[j];
            for (int d = 0; d < a->head_dim; d++) o[d] += w * vv[d];
        }
    }
}

int gl_attention(float *out, const float *q, int64_t n_q, const float *k, const float *v, int64_t n_kv,
                 int64_t kv_stride, int n_head, int n_head_kv, int head_dim, int64_t causal_pos0, gl_pool *pool) {
    attention_job job = {out, q, k, v, n_q, n_kv, kv_stride, causal_pos0, n_head, n_head_kv, head_dim, NULL};
    job.scores = gl_malloc_array((size_t)gl_pool_size(pool) * (size_t)(n_kv ? n_kv : 1), sizeof(float));
    if (!job.scores) return -1;
    gl_pool_run(pool, attention_rows, &job);
    gl_free(job.scores);
    return 0;
}

/* ==== Whole-sequence attention (vision encoders) ==== */

typedef struct {
    float *scores; /* (n, n) */
    int64_t n;
    float scale;
} softmax_job;

static void softmax_rows(void *p, int ith, int nth) {
    softmax_job *job = p;
    long begin, end;
    gl_split_range((long)job->n, ith, nth, &begin, &end);
    for (long t = begin; t < end; t++) {
        float *row = job->scores + t * job->n;
        for (int64_t j = 0; j < job->n; j++) row[j] *= job->scale;
        gl_softmax(row, job->n);
    }
}

/* An F32 matrix in caller memory, viewed as a weight for gl_matmul. */
static gl_tensor f32_matrix(const float *data, int64_t ne0, int64_t ne1) {
    gl_tensor t = {.name = "activations", .type = 0 /* F32 */, .n_dims = 2, .ne = {ne0, ne1, 1, 1},
                   .row_bytes = (size_t)ne0 * sizeof(float), .nbytes = (size_t)(ne0 * ne1) * sizeof(float),
                   .data = data};
    return t;
}

int gl_attention_full(float *out, const float *q, const float *k, const float *v, int64_t n, int n_head,
                      int head_dim, gl_pool *pool) {
    const int64_t d = head_dim, width = (int64_t)n_head * head_dim;
    size_t n_scores, n_heads_buf, total;
    if (gl_mul_overflow((size_t)n, (size_t)n, &n_scores) || gl_mul_overflow((size_t)n, (size_t)(4 * d), &n_heads_buf) ||
        gl_add_overflow(n_scores, n_heads_buf, &total))
        return -1;
    float *qh = gl_malloc_array(total, sizeof(float)); /* (n, d) queries of head h */
    if (!qh) return -1;
    float *kh = qh + n * d;    /* (n, d) keys of head h */
    float *vt = kh + n * d;    /* (d, n) values of head h, transposed */
    float *oh = vt + n * d;    /* (n, d) output of head h */
    float *scores = oh + n * d; /* (n, n) */
    int rc = 0;
    for (int h = 0; h < n_head && !rc; h++) {
        for (int64_t j = 0; j < n; j++) {
            memcpy(qh + j * d, q + j * width + h * d, (size_t)d * sizeof(float));
            memcpy(kh + j * d, k + j * width + h * d, (size_t)d * sizeof(float));
            for (int64_t c = 0; c < d; c++) vt[c * n + j] = v[j * width + h * d + c];
        }
        gl_tensor keys = f32_matrix(kh, d, n), values_t = f32_matrix(vt, n, d);
        softmax_job job = {scores, n, 1.0f / sqrtf((float)head_dim)};
        rc = gl_matmul(&keys, qh, scores, n, pool); /* scores[t][j] = k_j . q_t */
        if (rc) break;
        gl_pool_run(pool, softmax_rows, &job);
        rc = gl_matmul(&values_t, scores, oh, n, pool); /* oh[t][c] = sum_j p[t][j] v_j[c] */
        for (int64_t t = 0; t < n && !rc; t++) memcpy(out + t * width + h * d, oh + t * d, (size_t)d * sizeof(float));
    }
    gl_free(qh);
    return rc ? -1 : 0;
}
