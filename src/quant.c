/* quant.c - ggml weight types: the traits table, half/bfloat conversions, and
 * the per-type block decoders. Block layouts: ../shared/FORMATS.md section 6
 * (ggml/src/ggml-common.h, dequantize_row_* in ggml/src/ggml-quants.c). */
#include "quant.h"
#include "checked.h"

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

/* ==== Plain float types ==== */

static void f32_to_float(const void *src, float *dst, int64_t n) { memcpy(dst, src, (size_t)n * 4); }
static void f32_from_float(const float *src, void *dst, int64_t n) { memcpy(dst, src, (size_t)n * 4); }

static void f16_to_float(const void *src, float *dst, int64_t n) {
    const uint8_t *p = src;
    for (int64_t i = 0; i < n; i++) dst[i] = gl_fp16_to_fp32(read_u16(p + 2 * i));
}
static void f16_from_float(const float *src, void *dst, int64_t n) {
    uint8_t *p = dst;
    for (int64_t i = 0; i < n; i++) {
        uint16_t h = gl_fp32_to_fp16(src[i]);
        p[2 * i] = (uint8_t)h;
        p[2 * i + 1] = (uint8_t)(h >> 8);
    }
}

static void bf16_to_float(const void *src, float *dst, int64_t n) {
    const uint8_t *p = src;
    for (int64_t i = 0; i < n; i++) dst[i] = gl_bf16_to_fp32(read_u16(p + 2 * i));
}
static void bf16_from_float(const float *src, void *dst, int64_t n) {
    uint8_t *p = dst;
    for (int64_t i = 0; i < n; i++) {
        uint16_t h = gl_fp32_to_bf16(src[i]);
        p[2 * i] = (uint8_t)h;
        p[2 * i + 1] = (uint8_t)(h >> 8);
    }
}

/* ==== Q8_0: 32 int8 with one f16 scale ==== */

static void q8_0_to_float(const void *src, float *dst, int64_t n) {
    const uint8_t *b = src;
    for (int64_t i = 0; i < n / 32; i++, b += 34) {
        float d = gl_fp16_to_fp32(read_u16(b));
        const int8_t *qs = (const int8_t *)(b + 2);
        for (int j = 0; j < 32; j++) dst[i * 32 + j] = qs[j] * d;
    }
}

/* As ggml's quantize_row_q8_0_ref: d = amax/127, q = round(x/d). */
static void q8_0_from_float(const float *src, void *dst, int64_t n) {
    uint8_t *b = dst;
    for (int64_t i = 0; i < n / 32; i++, b += 34) {
        const float *x = src + i * 32;
        float amax = 0;
        for (int j = 0; j < 32; j++) {
            float a = x[j] < 0 ? -x[j] : x[j];
            if (a > amax) amax = a;
        }
        float d = amax / 127.0f;
        float id = d ? 1.0f / d : 0.0f;
        uint16_t dh = gl_fp32_to_fp16(d);
        b[0] = (uint8_t)dh;
        b[1] = (uint8_t)(dh >> 8);
        for (int j = 0; j < 32; j++) {
            float v = x[j] * id;
            b[2 + j] = (uint8_t)(int8_t)(v < 0 ? (int)(v - 0.5f) : (int)(v + 0.5f));
        }
    }
}

/* ==== The table ==== */

static const gl_type_traits type_table[GL_TYPE_COUNT] = {
    [GL_TYPE_F32] = {"F32", 1, 4, f32_to_float, f32_from_float},
    [GL_TYPE_F16] = {"F16", 1, 2, f16_to_float, f16_from_float},
    [GL_TYPE_Q4_0] = {"Q4_0", 32, 18, NULL, NULL},
    [GL_TYPE_Q4_1] = {"Q4_1", 32, 20, NULL, NULL},
    [GL_TYPE_Q5_0] = {"Q5_0", 32, 22, NULL, NULL},
    [GL_TYPE_Q5_1] = {"Q5_1", 32, 24, NULL, NULL},
    [GL_TYPE_Q8_0] = {"Q8_0", 32, 34, q8_0_to_float, q8_0_from_float},
    [GL_TYPE_Q8_1] = {"Q8_1", 32, 36, NULL, NULL},
    [GL_TYPE_Q2_K] = {"Q2_K", 256, 84, NULL, NULL},
    [GL_TYPE_Q3_K] = {"Q3_K", 256, 110, NULL, NULL},
    [GL_TYPE_Q4_K] = {"Q4_K", 256, 144, NULL, NULL},
    [GL_TYPE_Q5_K] = {"Q5_K", 256, 176, NULL, NULL},
    [GL_TYPE_Q6_K] = {"Q6_K", 256, 210, NULL, NULL},
    [GL_TYPE_Q8_K] = {"Q8_K", 256, 292, NULL, NULL},
    [16] = {"IQ2_XXS", 256, 66, NULL, NULL},
    [17] = {"IQ2_XS", 256, 74, NULL, NULL},
    [18] = {"IQ3_XXS", 256, 98, NULL, NULL},
    [19] = {"IQ1_S", 256, 50, NULL, NULL},
    [GL_TYPE_IQ4_NL] = {"IQ4_NL", 32, 18, NULL, NULL},
    [21] = {"IQ3_S", 256, 110, NULL, NULL},
    [22] = {"IQ2_S", 256, 82, NULL, NULL},
    [GL_TYPE_IQ4_XS] = {"IQ4_XS", 256, 136, NULL, NULL},
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
