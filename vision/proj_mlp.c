/* proj_mlp.c - LLaVA's projector: linear, GELU, linear (see proj.h).
 *
 * transformers models/llava/modeling_llava.py LlavaMultiModalProjector with
 * projector_hidden_act "gelu", which is torch's exact (erf) GELU; llama.cpp
 * (tools/mtmd/models/llava.cpp) uses the tanh approximation instead. */
#include "proj.h"
#include "error.h"
#include "matmul.h"
#include "mem.h"
#include "ops.h"
#include "weights.h"

glimpse_status gl_proj_mlp_load(const gl_gguf *g, int n_in, gl_proj_mlp *p, int *n_out) {
    const char *file = gl_gguf_name(g);
    glimpse_status st;
    p->b0 = p->b2 = NULL;
    /* mm.1 / mm.3 / mm.4 mark llama.cpp's MLP_NORM variant, which needs layer norms in between. */
    if (gl_gguf_tensor(g, "mm.1.weight") || gl_gguf_tensor(g, "mm.3.weight"))
        return gl_error(GLIMPSE_ERR_UNSUPPORTED, "%s: MLP projector with normalisation layers (mm.1/mm.3) is not supported",
                        file);
    /* Widths come from the matrices, as llama.cpp reads them (n_mmproj_embd = mm.2 ne[1]). */
    const gl_tensor *w0 = gl_gguf_tensor(g, "mm.0.weight"), *w2 = gl_gguf_tensor(g, "mm.2.weight");
    int64_t n_hidden = w0 && w0->ne[1] > 0 ? w0->ne[1] : 1, n = w2 && w2->ne[1] > 0 ? w2->ne[1] : 1;
    if (n_hidden > 65536 || n > 65536)
        return gl_error(GLIMPSE_ERR_UNSUPPORTED, "%s: MLP projector of %lldx%lld, more than glimpse allows", file,
                        (long long)n_hidden, (long long)n);
    if ((st = gl_weights_matrix(g, "mm.0.weight", n_in, n_hidden, 1, &p->w0)) ||
        (st = gl_weights_f32(g, "mm.0.bias", n_hidden, 1, 0, &p->b0)) ||
        (st = gl_weights_matrix(g, "mm.2.weight", n_hidden, n, 1, &p->w2)) ||
        (st = gl_weights_f32(g, "mm.2.bias", n, 1, 0, &p->b2))) {
        gl_proj_mlp_free(p);
        return st;
    }
    *n_out = (int)n;
    return GLIMPSE_OK;
}

void gl_proj_mlp_free(gl_proj_mlp *p) {
    gl_free(p->b0);
    gl_free(p->b2);
    p->b0 = p->b2 = NULL;
}

glimpse_status gl_proj_mlp_apply(const gl_proj_mlp *p, const float *x, int64_t n_tok, float *out, gl_pool *pool) {
    const int64_t n = p->w0->ne[1];
    float *h = gl_malloc_array((size_t)n_tok, (size_t)n * sizeof(float)); /* (n_tok, n_hidden) */
    if (!h) return gl_error_nomem("llava projector");
    int rc = gl_matmul(p->w0, x, h, n_tok, pool);
    if (!rc) {
        if (p->b0) gl_add_bias(h, p->b0, n, n_tok);
        gl_gelu_erf(h, n * n_tok);
        rc = gl_matmul(p->w2, h, out, n_tok, pool);
        if (!rc && p->b2) gl_add_bias(out, p->b2, p->w2->ne[1], n_tok);
    }
    gl_free(h);
    return rc ? gl_error_nomem("llava projector") : GLIMPSE_OK;
}
