/* weights.c - shape-checked weight lookups for the vision side (see weights.h). */
#include "weights.h"
#include "error.h"
#include "mem.h"
#include "quant.h"

glimpse_status gl_weights_matrix(const gl_gguf *g, const char *name, int64_t ne0, int64_t ne1, int required,
                                 const gl_tensor **out) {
    *out = NULL;
    if (!required && !gl_gguf_tensor(g, name)) return GLIMPSE_OK;
    return gl_gguf_require(g, name, ne0, ne1, out);
}

glimpse_status gl_weights_f32(const gl_gguf *g, const char *name, int64_t ne0, int64_t ne1, int required,
                              float **out) {
    const gl_tensor *t;
    *out = NULL;
    glimpse_status st = gl_weights_matrix(g, name, ne0, ne1, required, &t);
    if (st || !t) return st;
    float *v = gl_malloc_array((size_t)ne0 * (size_t)ne1, sizeof(float));
    if (!v) return gl_error_nomem(name);
    gl_to_float_fn to_float = gl_type_get(t->type)->to_float;
    for (int64_t r = 0; r < ne1; r++) to_float(gl_tensor_row(t, r), v + r * ne0, ne0);
    *out = v;
    return GLIMPSE_OK;
}
