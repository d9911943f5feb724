/* proj.h - the projectors that map vision-tower features to the text
 * model's embedding width: Idefics3's pixel shuffle + linear
 * (proj_idefics3.c) and LLaVA's two-layer MLP (proj_mlp.c).
 *
 * Behaviour: transformers models/idefics3/modeling_idefics3.py
 * (Idefics3Connector) and models/llava/modeling_llava.py
 * (LlavaMultiModalProjector); tensors: ../shared/FORMATS.md section 2. */
#ifndef GLIMPSE_PROJ_H
#define GLIMPSE_PROJ_H

#include "gguf.h"
#include "threads.h"

/* ==== Idefics3: pixel shuffle, then mm.model.fc ==== */

typedef struct {
    int n_embd;          /* E: tower width */
    int scale;           /* s: pixel-shuffle factor */
    const gl_tensor *fc; /* mm.model.fc.weight (E*s*s, n_out), no bias */
} gl_proj_idefics3;

/* Checks mm.model.fc.weight against E*s*s inputs; n_out is read from it. */
glimpse_status gl_proj_idefics3_load(const gl_gguf *g, int n_embd, int scale, gl_proj_idefics3 *p, int *n_out);
/* x: (grid*grid, E) tower output, row-major; grid a multiple of s.
 * out: ((grid/s)^2, n_out). */
glimpse_status gl_proj_idefics3_apply(const gl_proj_idefics3 *p, const float *x, int grid, float *out, gl_pool *pool);

/* ==== LLaVA: mm.2 . gelu(mm.0 . x + b0) + b2 ==== */

typedef struct {
    const gl_tensor *w0; /* mm.0.weight (n_in, n_hidden) */
    float *b0;           /* (n_hidden), NULL when absent */
    const gl_tensor *w2; /* mm.2.weight (n_hidden, n_out); LLaVA: n_hidden = n_out */
    float *b2;           /* (n_out), NULL when absent */
} gl_proj_mlp;

/* Checks mm.0 / mm.2 against n_in inputs; n_out is read from mm.2. */
glimpse_status gl_proj_mlp_load(const gl_gguf *g, int n_in, gl_proj_mlp *p, int *n_out);
void gl_proj_mlp_free(gl_proj_mlp *p);
/* x: (n_tok, n_in); out: (n_tok, n_out). */
glimpse_status gl_proj_mlp_apply(const gl_proj_mlp *p, const float *x, int64_t n_tok, float *out, gl_pool *pool);

#endif
