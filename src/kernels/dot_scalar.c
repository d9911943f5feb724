/* dot_scalar.c - portable versions of the matmul kernels (kernels.h), and
 * the definition the SIMD versions are tested against: their integer kernels
 * must return these exact bits. Block layouts: ../shared/FORMATS.md section 6;
 * the integer formulation follows ggml's ggml_vec_dot_*_q8_* (ggml-cpu/quants.c). */
#include "kernels.h"
#include "quant.h"

#include <math.h>
#include <string.h>

_Static_assert(sizeof(gl_block_q8a) == 36, "gl_block_q8a is 36 bytes");
_Static_assert(sizeof(gl_block_q8k) == 292, "gl_block_q8k has ggml's block_q8_K layout");

/* ==== Activation quantisers ==== */

/* d = amax/127 and q = nearest(x/d), as ggml's quantize_row_q8_0 but with the
 * scale left in f32 and ties to even (what cvtps2dq does in the SIMD versions). */
static void quantize_q8a(const float *x, gl_block_q8a *y, int64_t n) {
    for (int64_t i = 0; i < n / 32; i++, x += 32) {
        float amax = 0;
        for (int j = 0; j < 32; j++) amax = fmaxf(amax, fabsf(x[j]));
        float d = amax / 127;
        float id = d ? 1.0f / d : 0.0f;
        y[i].d = d;
        for (int j = 0; j < 32; j++) y[i].qs[j] = (int8_t)gl_nearest_int(x[j] * id);
    }
}

/* Exactly ggml's quantize_row_q8_K_ref, which quant.c implements for Q8_K. */
static void quantize_q8k(const float *x, gl_block_q8k *y, int64_t n) {
    gl_type_get(GL_TYPE_Q8_K)->from_float(x, y, n);
}

/* ==== 32-element types against gl_block_q8a ==== */

static float dot_q8_0(const void *w, const gl_block_q8a *x, int64_t n) {
    const uint8_t *b = w; /* blocks of 34 bytes: d f16, qs int8[32] */
    float acc[8] = {0};
    for (int64_t i = 0; i < n / 32; i++, b += 34) {
        const int8_t *qs = (const int8_t *)(b + 2);
        int32_t isum = 0;
        for (int j = 0; j < 32; j++) isum += qs[j] * x[i].qs[j];
        acc[i & 7] += (float)isum * (gl_fp16_to_fp32(gl_load_u16(b)) * x[i].d);
    }
    return gl_sum8(acc);
}

static float dot_q4_0(const void *w, const gl_block_q8a *x, int64_t n) {
    const uint8_t *b = w; /* blocks of 18 bytes: d f16, qs[16] (element j low nibble, j+16 high) */
    float acc[8] = {0};
    for (int64_t i = 0; i < n / 32; i++, b += 18) {
        const uint8_t *qs = b + 2;
        int32_t isum = 0;
        for (int j = 0; j < 16; j++)
            isum += ((qs[j] & 15) - 8) * x[i].qs[j] + ((qs[j] >> 4) - 8) * x[i].qs[j + 16];
        acc[i & 7] += (float)isum * (gl_fp16_to_fp32(gl_load_u16(b)) * x[i].d);
    }
    return gl_sum8(acc);
}

/* ==== K-quants against gl_block_q8k ==== */

/* Q4_K element 64g+l is the low nibble of q[32g+l] (sub-block 2g), element
 * 64g+32+l the high nibble (sub-block 2g+1); value d*sc*q - dmin*m, so
 * dot = dx*d * sum_j sc_j*sum(q*x) - dx*dmin * sum_j m_j*sum(x). */
static float dot_q4_k(const void *w, const gl_block_q8k *x, int64_t n) {
    const uint8_t *b = w; /* blocks of 144 bytes: d, dmin f16; scales[12]; qs[128] */
    float sum = 0;
    for (int64_t i = 0; i < n / 256; i++, b += 144) {
        const uint8_t *q = b + 16;
        const int8_t *xq = x[i].qs;
        int32_t isum = 0, msum = 0;
        for (int g = 0; g < 4; g++, q += 32, xq += 64) {
            int sc1, m1, sc2, m2;
            gl_scale_min_k4(2 * g, b + 4, &sc1, &m1);
            gl_scale_min_k4(2 * g + 1, b + 4, &sc2, &m2);
            int32_t s1 = 0, s2 = 0;
            for (int l = 0; l < 32; l++) {
                s1 += (q[l] & 15) * xq[l];
                s2 += (q[l] >> 4) * xq[l + 32];
            }
            isum += sc1 * s1 + sc2 * s2;
            msum += m1 * (x[i].bsums[4 * g] + x[i].bsums[4 * g + 1]) +
                    m2 * (x[i].bsums[4 * g + 2] + x[i].bsums[4 * g + 3]);
        }
        float d = gl_fp16_to_fp32(gl_load_u16(b)) * x[i].d;
        float dmin = gl_fp16_to_fp32(gl_load_u16(b + 2)) * x[i].d;
        sum += d * (float)isum - dmin * (float)msum;
    }
    return sum;
}

/* Q6_K element e has the 6-bit q (stored +32) in ql/qh as dequantize_row_q6_K
 * unpacks it and the int8 scale sc[e/16]:
 * dot = dx*d * sum_j sc_j * (sum(q*x) - 32*bsum_j). */
static float dot_q6_k(const void *w, const gl_block_q8k *x, int64_t n) {
    const uint8_t *b = w; /* blocks of 210 bytes: ql[128]; qh[64]; scales int8[16]; d f16 */
    float sum = 0;
    for (int64_t i = 0; i < n / 256; i++, b += 210) {
        const int8_t *sc = (const int8_t *)(b + 192);
        int32_t sub[16] = {0}; /* sum(q*x) per sub-block of 16 */
        for (int h = 0; h < 2; h++) {
            const uint8_t *ql = b + 64 * h, *qh = b + 128 + 32 * h;
            const int8_t *xq = x[i].qs + 128 * h;
            for (int l = 0; l < 32; l++) {
                int q1 = (ql[l] & 15) | (qh[l] & 3) << 4;
                int q2 = (ql[l + 32] & 15) | ((qh[l] >> 2) & 3) << 4;
                int q3 = (ql[l] >> 4) | ((qh[l] >> 4) & 3) << 4;
                int q4 = (ql[l + 32] >> 4) | ((qh[l] >> 6) & 3) << 4;
                int s = 8 * h + l / 16;
                sub[s] += q1 * xq[l];
                sub[s + 2] += q2 * xq[l + 32];
                sub[s + 4] += q3 * xq[l + 64];
                sub[s + 6] += q4 * xq[l + 96];
            }
        }
        int32_t isum = 0;
        for (int j = 0; j < 16; j++) isum += sc[j] * (sub[j] - 32 * x[i].bsums[j]);
        sum += (gl_fp16_to_fp32(gl_load_u16(b + 208)) * x[i].d) * (float)isum;
    }
    return sum;
}

static void dot_q4_k_x4(const void *w, const gl_block_q8k *x, int64_t stride, float out[4], int64_t n) {
    for (int t = 0; t < 4; t++) out[t] = dot_q4_k(w, x + t * stride, n);
}

static void dot_q6_k_x4(const void *w, const gl_block_q8k *x, int64_t stride, float out[4], int64_t n) {
    for (int t = 0; t < 4; t++) out[t] = dot_q6_k(w, x + t * stride, n);
}

/* ==== Float weights against F32 activations ==== */

static float dot_f32(const float *w, const float *x, int64_t n) {
    float sum = 0;
    for (int64_t i = 0; i < n; i++) sum += w[i] * x[i];
    return sum;
}

static float dot_f16(const void *w, const float *x, int64_t n) {
    const uint8_t *p = w;
    float sum = 0;
    for (int64_t i = 0; i < n; i++) sum += gl_fp16_to_fp32(gl_load_u16(p + 2 * i)) * x[i];
    return sum;
}

static float dot_bf16(const void *w, const float *x, int64_t n) {
    const uint8_t *p = w;
    float sum = 0;
    for (int64_t i = 0; i < n; i++) sum += gl_bf16_to_fp32(gl_load_u16(p + 2 * i)) * x[i];
    return sum;
}

static void dot_f32_x4(const float *w, const float *x, int64_t stride, float out[4], int64_t n) {
    for (int t = 0; t < 4; t++) out[t] = dot_f32(w, x + t * stride, n);
}

static void f16_to_f32(const void *w, float *out, int64_t n) {
    const uint8_t *p = w;
    for (int64_t i = 0; i < n; i++) out[i] = gl_fp16_to_fp32(gl_load_u16(p + 2 * i));
}

static void bf16_to_f32(const void *w, float *out, int64_t n) {
    const uint8_t *p = w;
    for (int64_t i = 0; i < n; i++) out[i] = gl_bf16_to_fp32(gl_load_u16(p + 2 * i));
}

const gl_kernels gl_kernels_scalar = {
    .name = "scalar",
    .quantize_q8a = quantize_q8a,
    .quantize_q8k = quantize_q8k,
    .dot_q8_0 = dot_q8_0,
    .dot_q4_0 = dot_q4_0,
    .dot_q4_k = dot_q4_k,
    .dot_q6_k = dot_q6_k,
    .dot_q4_k_x4 = dot_q4_k_x4,
    .dot_q6_k_x4 = dot_q6_k_x4,
    .dot_f32 = dot_f32,
    .dot_f16 = dot_f16,
    .dot_bf16 = dot_bf16,
    .dot_f32_x4 = dot_f32_x4,
    .f16_to_f32 = f16_to_f32,
    .bf16_to_f32 = bf16_to_f32,
};
