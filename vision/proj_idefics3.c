/* proj_idefics3.c - Idefics3's connector: pixel shuffle by the scale factor,
 * then one linear map without bias (see proj.h).
 *
 * transformers models/idefics3/modeling_idefics3.py Idefics3Connector
 * (pixel_shuffle, Idefics3SimpleMLP); llama.cpp does the same permutation in
 * tools/mtmd/clip.cpp build_patch_merge_permute (FORMATS.md section 2). */
#include "proj.h"
#include "error.h"
#include "matmul.h"
#include "mem.h"
#include "weights.h"

#include <string.h>

glimpse_status gl_proj_idefics3_load(const gl_gguf *g, int n_embd, int scale, gl_proj_idefics3 *p, int *n_out) {
    /* The output width is the text model's: convert_hf_to_gguf.py writes it
     * as clip.vision.projection_dim; without the key the matrix decides. */
    uint32_t width;
    const gl_tensor *fc = gl_gguf_tensor(g, "mm.model.fc.weight");
    int64_t n = fc && fc->ne[1] > 0 ? fc->ne[1] : 1;
    if (!gl_gguf_get_u32(g, "clip.vision.projection_dim", &width) && width > 0) n = width;
    glimpse_status st = gl_weights_matrix(g, "mm.model.fc.weight", (int64_t)n_embd * scale * scale, n, 1, &p->fc);
    if (st) return st;
    if (p->fc->ne[1] > 65536)
        return gl_error(GLIMPSE_ERR_UNSUPPORTED, "%s: tensor 'mm.model.fc.weight' has %lld outputs, more than glimpse allows",
                        gl_gguf_name(g), (long long)p->fc->ne[1]);
    p->n_embd = n_embd;
    p->scale = scale;
    *n_out = (int)p->fc->ne[1];
    return GLIMPSE_OK;
}

/* Idefics3Connector.pixel_shuffle: view (H, W/s, E*s), swap the two grid
 * axes, view (W/s, H/s, E*s*s), swap back. Output token (I, J), row-major
 * over the (grid/s)^2 grid, is the concatenation over di < s, then dj < s,
 * of x[(I*s + di) * grid + J*s + dj]. */
static void pixel_shuffle(const float *x, int grid, int s, int E, float *y) {
    const int g = grid / s;
    for (int I = 0; I < g; I++)
        for (int J = 0; J < g; J++) {
            float *dst = y + ((int64_t)I * g + J) * E * s * s;
            for (int di = 0; di < s; di++)
                for (int dj = 0; dj < s; dj++) {
                    const float *src = x + ((int64_t)(I * s + di) * grid + J * s + dj) * E;
                    memcpy(dst + (int64_t)(di * s + dj) * E, src, (size_t)E * sizeof(float));
                }
        }
}

glimpse_status gl_proj_idefics3_apply(const gl_proj_idefics3 *p, const float *x, int grid, float *out, gl_pool *pool) {
    if (grid <= 0 || grid % p->scale)
        return gl_error(GLIMPSE_ERR_INVALID_ARG, "idefics3 projector: grid of %d patches is not a multiple of the scale factor %d",
                        grid, p->scale);
    float *shuffled = gl_malloc_array((size_t)grid * (size_t)grid, (size_t)p->n_embd * sizeof(float)); /* ((grid/s)^2, E*s*s) */
    if (!shuffled) return gl_error_nomem("idefics3 pixel shuffle");
    pixel_shuffle(x, grid, p->scale, p->n_embd, shuffled);
    int64_t n_tok = (int64_t)(grid / p->scale) * (grid / p->scale);
    int rc = gl_matmul(p->fc, shuffled, out, n_tok, pool);
    gl_free(shuffled);
    return rc ? gl_error_nomem("idefics3 projector") : GLIMPSE_OK;
}
