/* quant.h - ggml weight types: block layouts, sizes, and conversion to F32.
 *
 * Type ids, block sizes and layouts follow ggml (ggml/include/ggml.h,
 * ggml/src/ggml-common.h); see ../shared/FORMATS.md section 6. */
#ifndef GLIMPSE_QUANT_H
#define GLIMPSE_QUANT_H

#include <stddef.h>
#include <stdint.h>

enum gl_type {
    GL_TYPE_F32 = 0, GL_TYPE_F16 = 1, GL_TYPE_Q4_0 = 2, GL_TYPE_Q4_1 = 3,
    GL_TYPE_Q5_0 = 6, GL_TYPE_Q5_1 = 7, GL_TYPE_Q8_0 = 8, GL_TYPE_Q8_1 = 9,
    GL_TYPE_Q2_K = 10, GL_TYPE_Q3_K = 11, GL_TYPE_Q4_K = 12, GL_TYPE_Q5_K = 13,
    GL_TYPE_Q6_K = 14, GL_TYPE_Q8_K = 15, GL_TYPE_IQ4_NL = 20, GL_TYPE_IQ4_XS = 23,
    GL_TYPE_I8 = 24, GL_TYPE_I16 = 25, GL_TYPE_I32 = 26, GL_TYPE_I64 = 27, GL_TYPE_F64 = 28,
    GL_TYPE_BF16 = 30,
    GL_TYPE_COUNT = 40, /* ids >= this are invalid */
};

typedef void (*gl_to_float_fn)(const void *src, float *dst, int64_t n);
typedef void (*gl_from_float_fn)(const float *src, void *dst, int64_t n);

typedef struct {
    const char *name;        /* "Q8_0" */
    int block_size;          /* elements per block */
    int type_size;           /* bytes per block */
    gl_to_float_fn to_float; /* NULL: glimpse cannot read this type */
    gl_from_float_fn from_float; /* NULL: glimpse cannot write this type */
} gl_type_traits;

/* Traits of a type id, or NULL for an id ggml does not define (or removed). */
const gl_type_traits *gl_type_get(int type);
static inline int gl_type_readable(int type) {
    const gl_type_traits *t = gl_type_get(type);
    return t && t->to_float;
}
/* Bytes in a row of n elements; 0 when n is not a multiple of the block size,
 * the type is unknown, or the size overflows. */
size_t gl_row_bytes(int type, int64_t n);

float gl_fp16_to_fp32(uint16_t h);
uint16_t gl_fp32_to_fp16(float f);
static inline float gl_bf16_to_fp32(uint16_t h) {
    union { uint32_t u; float f; } v = { .u = (uint32_t)h << 16 };
    return v.f;
}
uint16_t gl_fp32_to_bf16(float f);

/* Scale and min of sub-block j (0..7) of a Q4_K or Q5_K block: 6 bits each,
 * packed in the block's 12 scale bytes s (get_scale_min_k4, ggml-quants.c). */
static inline void gl_scale_min_k4(int j, const uint8_t *s, int *sc, int *m) {
    if (j < 4) {
        *sc = s[j] & 63;
        *m = s[j + 4] & 63;
    } else {
        *sc = (s[j + 4] & 15) | ((s[j - 4] >> 6) << 4);
        *m = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
    }
}

#endif
