/* tensor.h - a read-only weight tensor as the models see it: a typed view of
 * bytes inside a mapped GGUF file (or a buffer the caller owns). */
#ifndef GLIMPSE_TENSOR_H
#define GLIMPSE_TENSOR_H

#include <stddef.h>
#include <stdint.h>

typedef struct gl_tensor {
    const char *name;
    int type;          /* enum gl_type */
    int n_dims;
    int64_t ne[4];     /* ne[0] is the row length (innermost); unused dims are 1 */
    size_t row_bytes;  /* bytes of one ne[0]-row */
    size_t nbytes;
    const void *data;
} gl_tensor;

static inline int64_t gl_tensor_nrows(const gl_tensor *t) { return t->ne[1] * t->ne[2] * t->ne[3]; }
static inline int64_t gl_tensor_nelements(const gl_tensor *t) { return t->ne[0] * gl_tensor_nrows(t); }
static inline const void *gl_tensor_row(const gl_tensor *t, int64_t r) {
    return (const char *)t->data + (size_t)r * t->row_bytes;
}

#endif
