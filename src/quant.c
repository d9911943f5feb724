/* quant.c - ggml weight types: the traits table, half/bfloat conversions, the
 * per-type block decoders and the quantisers glimpse writes.
 *
 * Block layouts: ../shared/FORMATS.md section 6 (ggml/src/ggml-common.h).
 * Decoders follow dequantize_row_* and quantisers quantize_row_*_ref of
 * ggml/src/ggml-quants.c operation for operation, so that results are
 * bit-identical to ggml's (and gguf-py's, tests/test_quant_matches_gguf_py.c).
 * That needs IEEE single arithmetic in source order: the build uses -std=c11,
 * where GCC does not contract a*b+c into fused multiply-adds. */
#include "quant.h"
#include "checked.h"

#include <float.h>
#include <math.h>
#include <string.h>

/* ==== Half and bfloat conversions ==== */

float gl_fp16_to_fp32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f;
    uint32_t mant = h & 0x3ff;
    uint32_t bits;
    if (exp == 0) {
        if (mant == 0) {
            bits = sign;
        } else { /* subnormal: normalise */
            int e = -1;
            do { mant <<= 1; e++; } while (!(mant & 0x400));
            bits = sign | ((uint32_t)(127 - 15 - e) << 23) | ((mant & 0x3ff) << 13);
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | (mant << 13);
    } else {
        bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

/* Round to nearest even, as the F16C instruction and numpy's float16 do. */
uint16_t gl_fp32_to_fp16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000;
    uint32_t absx = x & 0x7fffffff;
    if (absx > 0x7f800000u) return (uint16_t)(sign | 0x7e00 | ((absx >> 13) & 0x3ff)); /* NaN */
    if (absx >= 0x477ff000u) return (uint16_t)(sign | 0x7c00); /* rounds to >= 65520: inf */
    if (absx < 0x38800000u) { /* below the smallest normal half: subnormal or zero */
        if (absx < 0x33000000u) return (uint16_t)sign; /* < half of smallest subnormal */
        uint32_t e = absx >> 23;
        uint32_t m = (absx & 0x7fffff) | 0x800000;
        uint32_t shift = 126 - e; /* 14..24 */
        uint32_t q = m >> shift;
        uint32_t rem = m & ((1u << shift) - 1);
        uint32_t half = 1u << (shift - 1);
        if (rem > half || (rem == half && (q & 1))) q++;
        return (uint16_t)(sign | q);
    }
    uint32_t r = absx - 0x38000000u; /* rebias exponent 127 -> 15 */
    uint32_t q = r >> 13;
    uint32_t rem = r & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (q & 1))) q++;
    return (uint16_t)(sign | q);
}

uint16_t gl_fp32_to_bf16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    if ((x & 0x7fffffff) > 0x7f800000u) return (uint16_t)((x >> 16) | 64); /* quiet NaN */
    return (uint16_t)((x + (0x7fff + ((x >> 16) & 1))) >> 16);
}

static uint16_t read_u16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static void write_u16(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

/* ==== Plain float types ==== */

static void f32_to_float(const void *src, float *dst, int64_t n) { memcpy(dst, src, (size_t)n * 4); }
static void f32_from_float(const float *src, void *dst, int64_t n) { memcpy(dst, src, (size_t)n * 4); }

static void f16_to_float(const void *src, float *dst, int64_t n) {
    const uint8_t *p = src;
    for (int64_t i = 0; i < n; i++) dst[i] = gl_fp16_to_fp32(read_u16(p + 2 * i));
}
static void f16_from_float(const float *src, void *dst, int64_t n) {
    uint8_t *p = dst;
    for (int64_t i = 0; i < n; i++) write_u16(p + 2 * i, gl_fp32_to_fp16(src[i]));
}

static void bf16_to_float(const void *src, float *dst, int64_t n) {
    const uint8_t *p = src;
    for (int64_t i = 0; i < n; i++) dst[i] = gl_bf16_to_fp32(read_u16(p + 2 * i));
}
static void bf16_from_float(const float *src, void *dst, int64_t n) {
    uint8_t *p = dst;
    for (int64_t i = 0; i < n; i++) write_u16(p + 2 * i, gl_fp32_to_bf16(src[i]));
}

/* ==== Shared helpers ==== */

static uint32_t read_u32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static void write_u32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static float read_f16(const uint8_t *p) { return gl_fp16_to_fp32(read_u16(p)); }
static void write_f16(uint8_t *p, float f) { write_u16(p, gl_fp32_to_fp16(f)); }

/* Round half away from zero, as C's roundf (ggml's quantize_row_q8_0_ref). */
static int round_away(float v) { return (int)roundf(v); }

/* ggml's nearest_int: round to nearest even through the float adder, by adding
 * 1.5 * 2^23. Exact for |v| <= 2^22; outside that it yields the same garbage
 * ggml does, which keeps quantised bytes identical for any input. */
static int nearest_int(float v) {
    float t = v + 12582912.f;
    int32_t i;
    memcpy(&i, &t, 4);
    return (i & 0x007fffff) - 0x00400000;
}

static float max_abs_signed(const float *x, int n, float *amax_out) {
    float amax = 0, max = 0;
    for (int j = 0; j < n; j++) {
        if (amax < fabsf(x[j])) {
            amax = fabsf(x[j]);
            max = x[j];
        }
    }
    *amax_out = amax;
    return max;
}

static void min_max(const float *x, int n, float *min, float *max) {
    *min = FLT_MAX;
    *max = -FLT_MAX;
    for (int j = 0; j < n; j++) {
        if (x[j] < *min) *min = x[j];
        if (x[j] > *max) *max = x[j];
    }
}

/* ==== Q4_0 / Q4_1: 32 nibbles; element j in the low nibble of qs[j], j+16 in the high ==== */

static void q4_0_to_float(const void *src, float *dst, int64_t n) {
    const uint8_t *b = src;
    for (int64_t i = 0; i < n / 32; i++, b += 18, dst += 32) {
        float d = read_f16(b);
        const uint8_t *qs = b + 2;
        for (int j = 0; j < 16; j++) {
            dst[j] = ((qs[j] & 15) - 8) * d;
            dst[j + 16] = ((qs[j] >> 4) - 8) * d;
        }
    }
}

/* quantize_row_q4_0_ref: d = -max/8 so the largest magnitude maps to -8. */
static void q4_0_from_float(const float *src, void *dst, int64_t n) {
    uint8_t *b = dst;
    for (int64_t i = 0; i < n / 32; i++, b += 18, src += 32) {
        float amax;
        float d = max_abs_signed(src, 32, &amax) / -8;
        float id = d ? 1.0f / d : 0.0f;
        write_f16(b, d);
        for (int j = 0; j < 16; j++) {
            int q0 = (int8_t)(src[j] * id + 8.5f);
            int q1 = (int8_t)(src[j + 16] * id + 8.5f);
            b[2 + j] = (uint8_t)((q0 < 15 ? q0 : 15) | (q1 < 15 ? q1 : 15) << 4);
        }
    }
}

static void q4_1_to_float(const void *src, float *dst, int64_t n) {
    const uint8_t *b = src;
    for (int64_t i = 0; i < n / 32; i++, b += 20, dst += 32) {
        float d = read_f16(b), m = read_f16(b + 2);
        const uint8_t *qs = b + 4;
        for (int j = 0; j < 16; j++) {
            dst[j] = (qs[j] & 15) * d + m;
            dst[j + 16] = (qs[j] >> 4) * d + m;
        }
    }
}

/* quantize_row_q4_1_ref: 15 steps from min to max. */
static void q4_1_from_float(const float *src, void *dst, int64_t n) {
    uint8_t *b = dst;
    for (int64_t i = 0; i < n / 32; i++, b += 20, src += 32) {
        float min, max;
        min_max(src, 32, &min, &max);
        float d = (max - min) / 15;
        float id = d ? 1.0f / d : 0.0f;
        write_f16(b, d);
        write_f16(b + 2, min);
        for (int j = 0; j < 16; j++) {
            int q0 = (int8_t)((src[j] - min) * id + 0.5f);
            int q1 = (int8_t)((src[j + 16] - min) * id + 0.5f);
            b[4 + j] = (uint8_t)((q0 < 15 ? q0 : 15) | (q1 < 15 ? q1 : 15) << 4);
        }
    }
}

/* ==== Q5_0 / Q5_1: Q4 nibbles plus a fifth bit per element in the u32 qh ==== */

static void q5_0_to_float(const void *src, float *dst, int64_t n) {
    const uint8_t *b = src;
    for (int64_t i = 0; i < n / 32; i++, b += 22, dst += 32) {
        float d = read_f16(b);
        uint32_t qh = read_u32(b + 2);
        const uint8_t *qs = b + 6;
        for (int j = 0; j < 16; j++) {
            int hi0 = ((qh >> j) << 4) & 16, hi1 = (qh >> (j + 12)) & 16;
            dst[j] = (((qs[j] & 15) | hi0) - 16) * d;
            dst[j + 16] = (((qs[j] >> 4) | hi1) - 16) * d;
        }
    }
}

static void pack_q5(const int *q0, const int *q1, uint8_t *qh_out, uint8_t *qs) {
    uint32_t qh = 0;
    for (int j = 0; j < 16; j++) {
        qs[j] = (uint8_t)((q0[j] & 15) | (q1[j] & 15) << 4);
        qh |= (uint32_t)((q0[j] & 16) >> 4) << j;
        qh |= (uint32_t)((q1[j] & 16) >> 4) << (j + 16);
    }
    write_u32(qh_out, qh);
}

/* quantize_row_q5_0_ref: d = -max/16. */
static void q5_0_from_float(const float *src, void *dst, int64_t n) {
    uint8_t *b = dst;
    for (int64_t i = 0; i < n / 32; i++, b += 22, src += 32) {
        float amax;
        float d = max_abs_signed(src, 32, &amax) / -16;
        float id = d ? 1.0f / d : 0.0f;
        write_f16(b, d);
        int q0[16], q1[16];
        for (int j = 0; j < 16; j++) {
            q0[j] = (int8_t)(src[j] * id + 16.5f);
            q1[j] = (int8_t)(src[j + 16] * id + 16.5f);
            if (q0[j] > 31) q0[j] = 31;
            if (q1[j] > 31) q1[j] = 31;
        }
        pack_q5(q0, q1, b + 2, b + 6);
    }
}

static void q5_1_to_float(const void *src, float *dst, int64_t n) {
    const uint8_t *b = src;
    for (int64_t i = 0; i < n / 32; i++, b += 24, dst += 32) {
        float d = read_f16(b), m = read_f16(b + 2);
        uint32_t qh = read_u32(b + 4);
        const uint8_t *qs = b + 8;
        for (int j = 0; j < 16; j++) {
            int hi0 = ((qh >> j) << 4) & 16, hi1 = (qh >> (j + 12)) & 16;
            dst[j] = ((qs[j] & 15) | hi0) * d + m;
            dst[j + 16] = ((qs[j] >> 4) | hi1) * d + m;
        }
    }
}

/* quantize_row_q5_1_ref: 31 steps from min to max (no clamp, as ggml). */
static void q5_1_from_float(const float *src, void *dst, int64_t n) {
    uint8_t *b = dst;
    for (int64_t i = 0; i < n / 32; i++, b += 24, src += 32) {
        float min, max;
        min_max(src, 32, &min, &max);
        float d = (max - min) / 31;
        float id = d ? 1.0f / d : 0.0f;
        write_f16(b, d);
        write_f16(b + 2, min);
        int q0[16], q1[16];
        for (int j = 0; j < 16; j++) {
            q0[j] = (uint8_t)((src[j] - min) * id + 0.5f);
            q1[j] = (uint8_t)((src[j + 16] - min) * id + 0.5f);
        }
        pack_q5(q0, q1, b + 4, b + 8);
    }
}

/* ==== Q8_0: 32 int8 with one f16 scale ==== */

static void q8_0_to_float(const void *src, float *dst, int64_t n) {
    const uint8_t *b = src;
    for (int64_t i = 0; i < n / 32; i++, b += 34, dst += 32) {
        float d = read_f16(b);
        const int8_t *qs = (const int8_t *)(b + 2);
        for (int j = 0; j < 32; j++) dst[j] = qs[j] * d;
    }
}

/* quantize_row_q8_0_ref: d = amax/127, q = roundf(x/d). */
static void q8_0_from_float(const float *src, void *dst, int64_t n) {
    uint8_t *b = dst;
    for (int64_t i = 0; i < n / 32; i++, b += 34, src += 32) {
        float amax;
        max_abs_signed(src, 32, &amax);
        float d = amax / 127;
        float id = d ? 1.0f / d : 0.0f;
        write_f16(b, d);
        for (int j = 0; j < 32; j++) b[2 + j] = (uint8_t)(int8_t)round_away(src[j] * id);
    }
}

/* ==== K-quants: super-blocks of 256 with packed sub-block scales ==== */

static void q2_k_to_float(const void *src, float *dst, int64_t n) {
    const uint8_t *b = src;
    for (int64_t i = 0; i < n / 256; i++, b += 84) {
        const uint8_t *scales = b, *q = b + 16;
        float d = read_f16(b + 80), dmin = read_f16(b + 82);
        int is = 0;
        for (int h = 0; h < 2; h++, q += 32) {
            for (int shift = 0; shift < 8; shift += 2) {
                for (int half = 0; half < 32; half += 16) {
                    uint8_t sc = scales[is++];
                    float dl = d * (sc & 15), ml = dmin * (sc >> 4);
                    for (int l = 0; l < 16; l++) *dst++ = dl * ((q[half + l] >> shift) & 3) - ml;
                }
            }
        }
    }
}

/* The 16 signed 6-bit scales of a Q3_K block: low nibbles in bytes 0-7,
 * two high bits each in bytes 8-11. */
static int scale_q3_k(int j, const uint8_t *s) {
    int lo = j < 8 ? s[j] & 15 : s[j - 8] >> 4;
    int hi = (s[8 + j % 4] >> (2 * (j / 4))) & 3;
    return (lo | hi << 4) - 32;
}

static void q3_k_to_float(const void *src, float *dst, int64_t n) {
    const uint8_t *b = src;
    for (int64_t i = 0; i < n / 256; i++, b += 110) {
        const uint8_t *hmask = b, *q = b + 32, *scales = b + 96;
        float d = read_f16(b + 108);
        int is = 0;
        uint8_t m = 1;
        for (int h = 0; h < 2; h++, q += 32) {
            for (int shift = 0; shift < 8; shift += 2, m <<= 1) {
                for (int half = 0; half < 32; half += 16) {
                    float dl = d * scale_q3_k(is++, scales);
                    for (int l = 0; l < 16; l++) {
                        int v = ((q[half + l] >> shift) & 3) - (hmask[half + l] & m ? 0 : 4);
                        *dst++ = dl * v;
                    }
                }
            }
        }
    }
}

static void q4_k_to_float(const void *src, float *dst, int64_t n) {
    const uint8_t *b = src;
    for (int64_t i = 0; i < n / 256; i++, b += 144) {
        float d = read_f16(b), dmin = read_f16(b + 2);
        const uint8_t *scales = b + 4, *q = b + 16;
        for (int g = 0; g < 4; g++, q += 32) {
            int sc1, m1, sc2, m2;
            gl_scale_min_k4(2 * g, scales, &sc1, &m1);
            gl_scale_min_k4(2 * g + 1, scales, &sc2, &m2);
            float d1 = d * sc1, mm1 = dmin * m1, d2 = d * sc2, mm2 = dmin * m2;
            for (int l = 0; l < 32; l++) *dst++ = d1 * (q[l] & 15) - mm1;
            for (int l = 0; l < 32; l++) *dst++ = d2 * (q[l] >> 4) - mm2;
        }
    }
}

static void q5_k_to_float(const void *src, float *dst, int64_t n) {
    const uint8_t *b = src;
    for (int64_t i = 0; i < n / 256; i++, b += 176) {
        float d = read_f16(b), dmin = read_f16(b + 2);
        const uint8_t *scales = b + 4, *qh = b + 16, *ql = b + 48;
        uint8_t u1 = 1, u2 = 2;
        for (int g = 0; g < 4; g++, ql += 32, u1 <<= 2, u2 <<= 2) {
            int sc1, m1, sc2, m2;
            gl_scale_min_k4(2 * g, scales, &sc1, &m1);
            gl_scale_min_k4(2 * g + 1, scales, &sc2, &m2);
            float d1 = d * sc1, mm1 = dmin * m1, d2 = d * sc2, mm2 = dmin * m2;
            for (int l = 0; l < 32; l++) *dst++ = d1 * ((ql[l] & 15) + (qh[l] & u1 ? 16 : 0)) - mm1;
            for (int l = 0; l < 32; l++) *dst++ = d2 * ((ql[l] >> 4) + (qh[l] & u2 ? 16 : 0)) - mm2;
        }
    }
}

static void q6_k_to_float(const void *src, float *dst, int64_t n) {
    const uint8_t *b = src;
    for (int64_t i = 0; i < n / 256; i++, b += 210) {
        const uint8_t *ql = b, *qh = b + 128;
        const int8_t *sc = (const int8_t *)(b + 192);
        float d = read_f16(b + 208);
        for (int h = 0; h < 2; h++, ql += 64, qh += 32, sc += 8, dst += 128) {
            for (int l = 0; l < 32; l++) {
                int is = l / 16;
                int q1 = ((ql[l] & 15) | ((qh[l] >> 0) & 3) << 4) - 32;
                int q2 = ((ql[l + 32] & 15) | ((qh[l] >> 2) & 3) << 4) - 32;
                int q3 = ((ql[l] >> 4) | ((qh[l] >> 4) & 3) << 4) - 32;
                int q4 = ((ql[l + 32] >> 4) | ((qh[l] >> 6) & 3) << 4) - 32;
                dst[l] = d * sc[is] * q1;
                dst[l + 32] = d * sc[is + 2] * q2;
                dst[l + 64] = d * sc[is + 4] * q3;
                dst[l + 96] = d * sc[is + 6] * q4;
            }
        }
    }
}

static void q8_k_to_float(const void *src, float *dst, int64_t n) {
    const uint8_t *b = src;
    for (int64_t i = 0; i < n / 256; i++, b += 292) {
        float d;
        memcpy(&d, b, 4);
        const int8_t *qs = (const int8_t *)(b + 4);
        for (int j = 0; j < 256; j++) *dst++ = d * qs[j];
    }
}

/* quantize_row_q8_K_ref: iscale = -127/max, bsums = sums of 16. ggml uses it
 * for activations, and so do the K-quant kernels. */
static void q8_k_from_float(const float *src, void *dst, int64_t n) {
    uint8_t *b = dst;
    for (int64_t i = 0; i < n / 256; i++, b += 292, src += 256) {
        float amax;
        float max = max_abs_signed(src, 256, &amax);
        int8_t *qs = (int8_t *)(b + 4);
        float d = 0;
        if (amax) {
            float iscale = -127.f / max;
            for (int j = 0; j < 256; j++) {
                int v = nearest_int(iscale * src[j]);
                qs[j] = (int8_t)(v < 127 ? v : 127);
            }
            d = 1 / iscale;
        } else {
            memset(qs, 0, 256);
        }
        memcpy(b, &d, 4);
        for (int j = 0; j < 16; j++) {
            int sum = 0;
            for (int l = 0; l < 16; l++) sum += qs[16 * j + l];
            write_u16(b + 260 + 2 * j, (uint16_t)(int16_t)sum);
        }
    }
}

/* ==== IQ4_NL / IQ4_XS: 4-bit indices into a non-linear table ==== */

static const int8_t kvalues_iq4nl[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                         1,    13,   25,  38,  53,  69,  89,  113};

static void iq4_nl_to_float(const void *src, float *dst, int64_t n) {
    const uint8_t *b = src;
    for (int64_t i = 0; i < n / 32; i++, b += 18, dst += 32) {
        float d = read_f16(b);
        const uint8_t *qs = b + 2;
        for (int j = 0; j < 16; j++) {
            dst[j] = d * kvalues_iq4nl[qs[j] & 15];
            dst[j + 16] = d * kvalues_iq4nl[qs[j] >> 4];
        }
    }
}

static void iq4_xs_to_float(const void *src, float *dst, int64_t n) {
    const uint8_t *b = src;
    for (int64_t i = 0; i < n / 256; i++, b += 136) {
        float d = read_f16(b);
        uint16_t scales_h = read_u16(b + 2);
        const uint8_t *scales_l = b + 4, *qs = b + 8;
        for (int ib = 0; ib < 8; ib++, qs += 16, dst += 32) {
            int ls = ((scales_l[ib / 2] >> 4 * (ib % 2)) & 15) | ((scales_h >> 2 * ib) & 3) << 4;
            float dl = d * (ls - 32);
            for (int j = 0; j < 16; j++) {
                dst[j] = dl * kvalues_iq4nl[qs[j] & 15];
                dst[j + 16] = dl * kvalues_iq4nl[qs[j] >> 4];
            }
        }
    }
}

/* ==== K-quant quantisers (ggml's reference algorithms, no importance matrix) ==== */

#define GROUP_MAX_EPS 1e-15f

/* make_qx_quants with rmse_type 1 and no weights: symmetric levels
 * [-nmax, nmax-1] for x; tries 18 scales around -nmax/max and keeps the one
 * with the least x^2-weighted error. L receives level + nmax. Returns the scale. */
static float make_qx_quants(int n, int nmax, const float *x, int8_t *L) {
    float amax;
    float max = max_abs_signed(x, n, &amax);
    if (amax < GROUP_MAX_EPS) {
        memset(L, 0, (size_t)n);
        return 0.f;
    }
    float iscale = -nmax / max;
    float sumlx = 0, suml2 = 0;
    for (int i = 0; i < n; i++) {
        int l = nearest_int(iscale * x[i]);
        l = l < -nmax ? -nmax : l > nmax - 1 ? nmax - 1 : l;
        L[i] = (int8_t)(l + nmax);
        float w = x[i] * x[i];
        sumlx += w * x[i] * l;
        suml2 += w * l * l;
    }
    float scale = suml2 ? sumlx / suml2 : 0.0f;
    float best = scale * sumlx;
    for (int is = -9; is <= 9; is++) {
        if (is == 0) continue;
        iscale = -(nmax + 0.1f * is) / max;
        sumlx = suml2 = 0;
        for (int i = 0; i < n; i++) {
            int l = nearest_int(iscale * x[i]);
            l = l < -nmax ? -nmax : l > nmax - 1 ? nmax - 1 : l;
            float w = x[i] * x[i];
            sumlx += w * x[i] * l;
            suml2 += w * l * l;
        }
        if (suml2 > 0 && sumlx * sumlx > best * suml2) {
            for (int i = 0; i < n; i++) {
                int l = nearest_int(iscale * x[i]);
                L[i] = (int8_t)(nmax + (l < -nmax ? -nmax : l > nmax - 1 ? nmax - 1 : l));
            }
            scale = sumlx / suml2;
            best = scale * sumlx;
        }
    }
    return scale;
}

/* make_qkx2_quants (use_mad false): asymmetric levels [0, nmax] with x ~
 * scale*L - the_min; searches nstep+1 scales and refits scale and min by
 * weighted least squares, keeping the least weighted squared error. */
static float make_qkx2_quants(int n, int nmax, const float *x, const float *weights, uint8_t *L,
                              float *the_min, uint8_t *Laux, float rmin, float rdelta, int nstep) {
    float min = x[0], max = x[0];
    float sum_w = weights[0];
    float sum_x = sum_w * x[0];
    for (int i = 1; i < n; i++) {
        if (x[i] < min) min = x[i];
        if (x[i] > max) max = x[i];
        float w = weights[i];
        sum_w += w;
        sum_x += w * x[i];
    }
    if (min > 0) min = 0;
    if (max == min) {
        memset(L, 0, (size_t)n);
        *the_min = -min;
        return 0.f;
    }
    float iscale = nmax / (max - min);
    float scale = 1 / iscale;
    float best_error = 0;
    for (int i = 0; i < n; i++) {
        int l = nearest_int(iscale * (x[i] - min));
        L[i] = (uint8_t)(l < 0 ? 0 : l > nmax ? nmax : l);
        float diff = scale * L[i] + min - x[i];
        best_error += weights[i] * (diff * diff);
    }
    for (int is = 0; is <= nstep; is++) {
        iscale = (rmin + rdelta * is + nmax) / (max - min);
        float sum_l = 0, sum_l2 = 0, sum_xl = 0;
        for (int i = 0; i < n; i++) {
            int l = nearest_int(iscale * (x[i] - min));
            l = l < 0 ? 0 : l > nmax ? nmax : l;
            Laux[i] = (uint8_t)l;
            float w = weights[i];
            sum_l += w * l;
            sum_l2 += w * l * l;
            sum_xl += w * l * x[i];
        }
        float D = sum_w * sum_l2 - sum_l * sum_l;
        if (D > 0) {
            float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
            float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
            if (this_min > 0) {
                this_min = 0;
                this_scale = sum_xl / sum_l2;
            }
            float cur_error = 0;
            for (int i = 0; i < n; i++) {
                float diff = this_scale * Laux[i] + this_min - x[i];
                cur_error += weights[i] * (diff * diff);
            }
            if (cur_error < best_error) {
                memcpy(L, Laux, (size_t)n);
                best_error = cur_error;
                scale = this_scale;
                min = this_min;
            }
        }
    }
    *the_min = -min;
    return scale;
}

/* quantize_row_q4_K_ref: per sub-block of 32 a scale and min from
 * make_qkx2_quants, both requantised to 6 bits against the block's largest. */
static void q4_k_from_float(const float *src, void *dst, int64_t n) {
    uint8_t *b = dst;
    for (int64_t i = 0; i < n / 256; i++, b += 144, src += 256) {
        uint8_t L[256], Laux[32];
        float weights[32], mins[8], scales[8];
        float max_scale = 0, max_min = 0;
        for (int j = 0; j < 8; j++) {
            const float *x = src + 32 * j;
            float sum_x2 = 0;
            for (int l = 0; l < 32; l++) sum_x2 += x[l] * x[l];
            float av_x = sqrtf(sum_x2 / 32);
            for (int l = 0; l < 32; l++) weights[l] = av_x + fabsf(x[l]);
            scales[j] = make_qkx2_quants(32, 15, x, weights, L + 32 * j, &mins[j], Laux, -1.f, 0.1f, 20);
            if (scales[j] > max_scale) max_scale = scales[j];
            if (mins[j] > max_min) max_min = mins[j];
        }
        float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
        float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
        uint8_t *s = b + 4;
        for (int j = 0; j < 8; j++) {
            uint8_t ls = (uint8_t)nearest_int(inv_scale * scales[j]);
            uint8_t lm = (uint8_t)nearest_int(inv_min * mins[j]);
            if (ls > 63) ls = 63;
            if (lm > 63) lm = 63;
            if (j < 4) {
                s[j] = ls;
                s[j + 4] = lm;
            } else {
                s[j + 4] = (uint8_t)((ls & 15) | (lm & 15) << 4);
                s[j - 4] |= (uint8_t)((ls >> 4) << 6);
                s[j] |= (uint8_t)((lm >> 4) << 6);
            }
        }
        write_f16(b, max_scale / 63.f);
        write_f16(b + 2, max_min / 63.f);
        float d_all = read_f16(b), dmin_all = read_f16(b + 2);
        for (int j = 0; j < 8; j++) {
            int sc, m;
            gl_scale_min_k4(j, s, &sc, &m);
            float d = d_all * sc;
            if (!d) continue;
            float dm = dmin_all * m;
            for (int l = 0; l < 32; l++) {
                int q = nearest_int((src[32 * j + l] + dm) / d);
                L[32 * j + l] = (uint8_t)(q < 0 ? 0 : q > 15 ? 15 : q);
            }
        }
        uint8_t *q = b + 16;
        for (int j = 0; j < 256; j += 64, q += 32) {
            for (int l = 0; l < 32; l++) q[l] = (uint8_t)(L[j + l] | L[j + l + 32] << 4);
        }
    }
}

/* quantize_row_q6_K_ref: per sub-block of 16 a scale from make_qx_quants,
 * requantised to int8 against the block's largest magnitude. */
static void q6_k_from_float(const float *src, void *dst, int64_t n) {
    uint8_t *b = dst;
    for (int64_t i = 0; i < n / 256; i++, b += 210, src += 256) {
        int8_t L[256];
        float scales[16];
        float max_scale = 0, max_abs_scale = 0;
        for (int ib = 0; ib < 16; ib++) {
            scales[ib] = make_qx_quants(16, 32, src + 16 * ib, L + 16 * ib);
            if (fabsf(scales[ib]) > max_abs_scale) {
                max_abs_scale = fabsf(scales[ib]);
                max_scale = scales[ib];
            }
        }
        if (max_abs_scale < GROUP_MAX_EPS) {
            memset(b, 0, 210);
            continue;
        }
        float iscale = -128.f / max_scale;
        int8_t *sc = (int8_t *)(b + 192);
        write_f16(b + 208, 1 / iscale);
        for (int ib = 0; ib < 16; ib++) {
            int v = nearest_int(iscale * scales[ib]);
            sc[ib] = (int8_t)(v < 127 ? v : 127);
        }
        float d_all = read_f16(b + 208);
        for (int j = 0; j < 16; j++) {
            float d = d_all * sc[j];
            if (!d) continue;
            for (int l = 0; l < 16; l++) {
                int q = nearest_int(src[16 * j + l] / d);
                L[16 * j + l] = (int8_t)((q < -32 ? -32 : q > 31 ? 31 : q) + 32);
            }
        }
        uint8_t *ql = b, *qh = b + 128;
        for (int j = 0; j < 256; j += 128, ql += 64, qh += 32) {
            for (int l = 0; l < 32; l++) {
                int q1 = L[j + l], q2 = L[j + l + 32], q3 = L[j + l + 64], q4 = L[j + l + 96];
                ql[l] = (uint8_t)((q1 & 15) | (q3 & 15) << 4);
                ql[l + 32] = (uint8_t)((q2 & 15) | (q4 & 15) << 4);
                qh[l] = (uint8_t)((q1 >> 4) | (q2 >> 4) << 2 | (q3 >> 4) << 4 | (q4 >> 4) << 6);
            }
        }
    }
}

/* ==== The table ==== */

static const gl_type_traits type_table[GL_TYPE_COUNT] = {
    [GL_TYPE_F32] = {"F32", 1, 4, f32_to_float, f32_from_float},
    [GL_TYPE_F16] = {"F16", 1, 2, f16_to_float, f16_from_float},
    [GL_TYPE_Q4_0] = {"Q4_0", 32, 18, q4_0_to_float, q4_0_from_float},
    [GL_TYPE_Q4_1] = {"Q4_1", 32, 20, q4_1_to_float, q4_1_from_float},
    [GL_TYPE_Q5_0] = {"Q5_0", 32, 22, q5_0_to_float, q5_0_from_float},
    [GL_TYPE_Q5_1] = {"Q5_1", 32, 24, q5_1_to_float, q5_1_from_float},
    [GL_TYPE_Q8_0] = {"Q8_0", 32, 34, q8_0_to_float, q8_0_from_float},
    [GL_TYPE_Q8_1] = {"Q8_1", 32, 36, NULL, NULL},
    [GL_TYPE_Q2_K] = {"Q2_K", 256, 84, q2_k_to_float, NULL},
    [GL_TYPE_Q3_K] = {"Q3_K", 256, 110, q3_k_to_float, NULL},
    [GL_TYPE_Q4_K] = {"Q4_K", 256, 144, q4_k_to_float, q4_k_from_float},
    [GL_TYPE_Q5_K] = {"Q5_K", 256, 176, q5_k_to_float, NULL},
    [GL_TYPE_Q6_K] = {"Q6_K", 256, 210, q6_k_to_float, q6_k_from_float},
    [GL_TYPE_Q8_K] = {"Q8_K", 256, 292, q8_k_to_float, q8_k_from_float},
    [16] = {"IQ2_XXS", 256, 66, NULL, NULL},
    [17] = {"IQ2_XS", 256, 74, NULL, NULL},
    [18] = {"IQ3_XXS", 256, 98, NULL, NULL},
    [19] = {"IQ1_S", 256, 50, NULL, NULL},
    [GL_TYPE_IQ4_NL] = {"IQ4_NL", 32, 18, iq4_nl_to_float, NULL},
    [21] = {"IQ3_S", 256, 110, NULL, NULL},
    [22] = {"IQ2_S", 256, 82, NULL, NULL},
    [GL_TYPE_IQ4_XS] = {"IQ4_XS", 256, 136, iq4_xs_to_float, NULL},
    [GL_TYPE_I8] = {"I8", 1, 1, NULL, NULL},
    [GL_TYPE_I16] = {"I16", 1, 2, NULL, NULL},
    [GL_TYPE_I32] = {"I32", 1, 4, NULL, NULL},
    [GL_TYPE_I64] = {"I64", 1, 8, NULL, NULL},
    [GL_TYPE_F64] = {"F64", 1, 8, NULL, NULL},
    [29] = {"IQ1_M", 256, 56, NULL, NULL},
    [GL_TYPE_BF16] = {"BF16", 1, 2, bf16_to_float, bf16_from_float},
    [34] = {"TQ1_0", 256, 54, NULL, NULL},
    [35] = {"TQ2_0", 256, 66, NULL, NULL},
    [39] = {"MXFP4", 32, 17, NULL, NULL},
};

const gl_type_traits *gl_type_get(int type) {
    if (type < 0 || type >= GL_TYPE_COUNT || !type_table[type].name) return NULL;
    return &type_table[type];
}

size_t gl_row_bytes(int type, int64_t n) {
    const gl_type_traits *t = gl_type_get(type);
    if (!t || n < 0 || n % t->block_size) return 0;
    size_t bytes;
    if (gl_mul_overflow((size_t)(n / t->block_size), (size_t)t->type_size, &bytes)) return 0;
    return bytes;
}
