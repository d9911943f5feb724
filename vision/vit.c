/* vit.c - the vision transformer forward pass (see vit.h).
 *
 * transformers references: models/idefics3/modeling_idefics3.py
 * (Idefics3VisionEmbeddings, Idefics3EncoderLayer, Idefics3VisionTransformer),
 * models/clip/modeling_clip.py (CLIPVisionEmbeddings, CLIPEncoderLayer,
 * CLIPVisionTransformer), models/llava/modeling_llava.py (get_image_features).
 * Tensor layout: llama.cpp tools/mtmd/clip.cpp (load_tensors), summarised in
 * ../shared/FORMATS.md section 2. */
#include "vit.h"
#include "checked.h"
#include "error.h"
#include "matmul.h"
#include "mem.h"
#include "ops.h"
#include "quant.h"
#include "weights.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* ==== Loading ==== */

static glimpse_status load_layer(const gl_gguf *g, const gl_vit_hparams *hp, int il, gl_vit_layer *l) {
    const int64_t E = hp->n_embd, F = hp->n_ff;
    char name[96];
    glimpse_status st;
#define VEC(field, what, n, req)                                                     \
    snprintf(name, sizeof name, "v.blk.%d.%s", il, what);                            \
    if ((st = gl_weights_f32(g, name, n, 1, req, &l->field))) return st;
#define MAT(field, what, ne0, ne1)                                                   \
    snprintf(name, sizeof name, "v.blk.%d.%s", il, what);                            \
    if ((st = gl_weights_matrix(g, name, ne0, ne1, 1, &l->field))) return st;

    VEC(ln1_w, "ln1.weight", E, 1)
    VEC(ln1_b, "ln1.bias", E, 0)
    MAT(q_w, "attn_q.weight", E, E)
    MAT(k_w, "attn_k.weight", E, E)
    MAT(v_w, "attn_v.weight", E, E)
    MAT(o_w, "attn_out.weight", E, E)
    VEC(q_b, "attn_q.bias", E, 0)
    VEC(k_b, "attn_k.bias", E, 0)
    VEC(v_b, "attn_v.bias", E, 0)
    VEC(o_b, "attn_out.bias", E, 0)
    VEC(ln2_w, "ln2.weight", E, 1)
    VEC(ln2_b, "ln2.bias", E, 0)

    /* Swap fix (clip.cpp load_tensors): llama.cpp's legacy LLaVA converter
     * names fc1 "ffn_down" and fc2 "ffn_up"; convert_hf_to_gguf.py names
     * them right. The stored shapes tell which: fc1 reads E values. When
     * E == F the shape cannot tell, and the writer decides: legacy for CLIP
     * (LLaVA), convert_hf_to_gguf.py for SigLIP (Idefics3). */
    snprintf(name, sizeof name, "v.blk.%d.ffn_down.weight", il);
    const gl_tensor *down = gl_gguf_tensor(g, name);
    snprintf(name, sizeof name, "v.blk.%d.ffn_up.weight", il);
    const gl_tensor *up = gl_gguf_tensor(g, name);
    int swapped = E != F ? (down && up && down->ne[0] == E && up->ne[0] == F) : hp->family == GL_VIT_CLIP;
    const char *fc1 = swapped ? "ffn_down" : "ffn_up", *fc2 = swapped ? "ffn_up" : "ffn_down";
    char what[32];
    snprintf(what, sizeof what, "%s.weight", fc1);
    MAT(up_w, what, E, F)
    snprintf(what, sizeof what, "%s.bias", fc1);
    VEC(up_b, what, F, 0)
    snprintf(what, sizeof what, "%s.weight", fc2);
    MAT(down_w, what, F, E)
    snprintf(what, sizeof what, "%s.bias", fc2);
    VEC(down_b, what, E, 0)
#undef VEC
#undef MAT
    return GLIMPSE_OK;
}

static glimpse_status load_tower(const gl_gguf *g, const gl_vit_hparams *hp, gl_vit *vit) {
    const int64_t E = hp->n_embd, p = hp->patch_size, grid = hp->image_size / hp->patch_size;
    const int clip = hp->family == GL_VIT_CLIP;
    const char *file = gl_gguf_name(g);
    glimpse_status st;

    /* v.patch_embd.weight is the conv kernel, ggml ne = [p, p, 3, E]
     * (PyTorch [E, 3, p, p]): each output channel is one contiguous row of
     * 3*p*p values ordered [c][ky][kx], so it is an (3*p*p, E) matrix. */
    const gl_tensor *pw = gl_gguf_tensor(g, "v.patch_embd.weight");
    if (pw && (pw->ne[0] != p || pw->ne[1] != p || pw->ne[2] != 3 || pw->ne[3] != E))
        return gl_error(GLIMPSE_ERR_FORMAT,
                        "%s: tensor 'v.patch_embd.weight' has shape %lldx%lldx%lldx%lld, expected %lldx%lldx3x%lld", file,
                        (long long)pw->ne[0], (long long)pw->ne[1], (long long)pw->ne[2], (long long)pw->ne[3],
                        (long long)p, (long long)p, (long long)E);
    if ((st = gl_weights_matrix(g, "v.patch_embd.weight", p, p * 3 * E, 1, &pw))) return st;
    vit->patch_w = *pw;
    vit->patch_w.n_dims = 2;
    vit->patch_w.ne[0] = 3 * p * p;
    vit->patch_w.ne[1] = E;
    vit->patch_w.ne[2] = vit->patch_w.ne[3] = 1;
    vit->patch_w.row_bytes = gl_row_bytes(pw->type, 3 * p * p);
    if (vit->patch_w.row_bytes * (size_t)E != pw->nbytes)
        return gl_error(GLIMPSE_ERR_UNSUPPORTED, "%s: tensor 'v.patch_embd.weight' of type %s cannot be read as rows of %lld",
                        file, gl_type_get(pw->type)->name, (long long)(3 * p * p));

    if ((st = gl_weights_f32(g, "v.patch_embd.bias", E, 1, !clip, &vit->patch_b))) return st;
    if ((st = gl_weights_f32(g, "v.class_embd", E, 1, clip, &vit->class_embd))) return st;
    if (!clip && vit->class_embd)
        return gl_error(GLIMPSE_ERR_FORMAT, "%s: tensor 'v.class_embd' in a SigLIP tower, which has no class token", file);
    if ((st = gl_weights_f32(g, "v.position_embd.weight", E, grid * grid + clip, 1, &vit->pos_embd))) return st;
    if ((st = gl_weights_f32(g, "v.pre_ln.weight", E, 1, clip, &vit->pre_ln_w))) return st;
    if ((st = gl_weights_f32(g, "v.pre_ln.bias", E, 1, 0, &vit->pre_ln_b))) return st;
    /* LLaVA reads hidden_states, which never pass through CLIP's
     * post_layernorm (the legacy converter drops it); SigLIP's last hidden
     * state does. */
    if (!clip) {
        if ((st = gl_weights_f32(g, "v.post_ln.weight", E, 1, 1, &vit->post_ln_w))) return st;
        if ((st = gl_weights_f32(g, "v.post_ln.bias", E, 1, 0, &vit->post_ln_b))) return st;
    }

    vit->layers = gl_calloc((size_t)hp->n_layer, sizeof(gl_vit_layer));
    if (!vit->layers) return gl_error_nomem("vision layers");
    for (int il = 0; il < hp->n_layer; il++)
        if ((st = load_layer(g, hp, il, &vit->layers[il]))) return st;
    return GLIMPSE_OK;
}

glimpse_status gl_vit_load(const gl_gguf *g, const gl_vit_hparams *hp, gl_vit *vit) {
    memset(vit, 0, sizeof *vit);
    vit->hp = *hp;
    glimpse_status st = load_tower(g, hp, vit);
    if (st) gl_vit_free(vit);
    return st;
}

void gl_vit_free(gl_vit *vit) {
    if (vit->layers) {
        for (int il = 0; il < vit->hp.n_layer; il++) {
            gl_vit_layer *l = &vit->layers[il];
            float *owned[] = {l->ln1_w, l->ln1_b, l->q_b, l->k_b, l->v_b, l->o_b, l->ln2_w, l->ln2_b, l->up_b, l->down_b};
            for (size_t i = 0; i < sizeof owned / sizeof owned[0]; i++) gl_free(owned[i]);
        }
        gl_free(vit->layers);
    }
    float *owned[] = {vit->patch_b, vit->class_embd, vit->pos_embd, vit->pre_ln_w, vit->pre_ln_b, vit->post_ln_w,
                      vit->post_ln_b};
    for (size_t i = 0; i < sizeof owned / sizeof owned[0]; i++) gl_free(owned[i]);
    memset(vit, 0, sizeof *vit);
}

int gl_vit_out_width(const gl_vit *vit) {
    return vit->hp.n_embd * (vit->hp.family == GL_VIT_CLIP ? vit->hp.n_feature : 1);
}

/* ==== Positions ==== */

/* Idefics3VisionEmbeddings (not plain SigLIP's bicubic resampling): a grid
 * of n patches along one side maps onto the stored grid of N by bucketing
 * fractional coordinates:
 *     bucketize(min(i * (1/n), 1 - 1e-6), arange(1/N, 1, 1/N), right=True)
 * = the number of boundaries <= the coordinate. Coordinates are float32
 * products. The boundaries are rounded as torch's CPU arange kernel rounds
 * them (RangeFactoriesKernel.cpp, checked against torch 2.x for N < 300):
 * in blocks of 16, each 8-lane vector starts from float(start + step*i0)
 * and adds j*step in double; the tail is start + step*k in double. The
 * rounding matters: for some N (19, 25, 29, ...) even n == N is not the
 * identity in transformers. */
int gl_vit_bucket(int i, int n, int n_stored) {
    float coord = (float)i * (1.0f / (float)n);
    const float max = (float)(1.0 - 1e-6);
    if (coord > max) coord = max;
    const double step = 1.0 / n_stored;
    const int64_t n_bounds = (int64_t)ceil((1.0 - step) / step), n_vec = n_bounds / 16 * 16;
    int b = 0;
    for (int64_t k = 0; k < n_bounds; k++) {
        float bound = k < n_vec ? (float)((double)(float)(step + step * (double)(k / 8 * 8)) + (double)(k % 8) * step)
                                : (float)(step + step * (double)k);
        if (bound <= coord) b++;
    }
    return b;
}

/* Row of the position table for every token (CLS first when present). */
static glimpse_status position_rows(const gl_vit *vit, int gh, int gw, int64_t *rows) {
    const int n_stored = vit->hp.image_size / vit->hp.patch_size;
    if (vit->hp.family == GL_VIT_CLIP) {
        /* CLIPVisionEmbeddings can resample its table (bicubic,
         * align_corners=False) only when called with
         * interpolate_pos_encoding=True, which LLaVA never passes: HF rejects
         * any other tile size, and so do we. */
        if (gh != n_stored || gw != n_stored)
            return gl_error(GLIMPSE_ERR_UNSUPPORTED,
                            "CLIP tower: tile of %dx%d patches, but the model takes %dx%d (transformers' LLaVA does not "
                            "interpolate CLIP position embeddings)",
                            gh, gw, n_stored, n_stored);
        for (int64_t t = 0; t <= (int64_t)gh * gw; t++) rows[t] = t;
        return GLIMPSE_OK;
    }
    for (int y = 0; y < gh; y++) {
        int by = gl_vit_bucket(y, gh, n_stored);
        for (int x = 0; x < gw; x++) rows[(int64_t)y * gw + x] = (int64_t)by * n_stored + gl_vit_bucket(x, gw, n_stored);
    }
    return GLIMPSE_OK;
}

/* ==== Forward pass ==== */

/* cols (gh*gw, 3*p*p): each patch flattened [c][ky][kx], the order of a
 * conv kernel row, so that cols x kernel^T is the stride-p convolution. */
static void im2col(const float *pixels, int height, int width, int p, float *cols) {
    const int gh = height / p, gw = width / p;
    for (int py = 0; py < gh; py++)
        for (int px = 0; px < gw; px++) {
            float *col = cols + ((int64_t)py * gw + px) * 3 * p * p;
            for (int c = 0; c < 3; c++)
                for (int ky = 0; ky < p; ky++) {
                    const float *src = pixels + ((int64_t)c * height + (int64_t)py * p + ky) * width + (int64_t)px * p;
                    memcpy(col + (c * p + ky) * p, src, (size_t)p * sizeof(float));
                }
        }
}

static void activation(gl_vit_act act, float *x, int64_t n) {
    switch (act) {
    case GL_VIT_GELU_ERF: gl_gelu_erf(x, n); break;
    case GL_VIT_GELU_TANH: gl_gelu_tanh(x, n); break;
    case GL_VIT_GELU_QUICK: gl_gelu_quick(x, n); break;
    }
}

/* y (n, n_out) = x (n, n_in) . W^T + b */
static int linear(const gl_tensor *w, const float *b, const float *x, float *y, int64_t n, gl_pool *pool) {
    if (gl_matmul(w, x, y, n, pool)) return -1;
    if (b) gl_add_bias(y, b, w->ne[1], n);
    return 0;
}

/* Copies the patch rows of hidden state x (n_pos, E) into feature slot j of
 * out (n_patch, n_feature*E). */
static void store_feature(const gl_vit *vit, const float *x, int cls, int64_t n_patch, int j, float *out) {
    const int E = vit->hp.n_embd, width = gl_vit_out_width(vit);
    for (int64_t t = 0; t < n_patch; t++)
        memcpy(out + t * width + (int64_t)j * E, x + (t + cls) * E, (size_t)E * sizeof(float));
}

static void store_if_feature(const gl_vit *vit, int hidden_index, const float *x, int cls, int64_t n_patch,
                             float *out) {
    if (vit->hp.family != GL_VIT_CLIP) return;
    for (int j = 0; j < vit->hp.n_feature; j++)
        if (vit->hp.feature_layer[j] == hidden_index) store_feature(vit, x, cls, n_patch, j, out);
}

glimpse_status gl_vit_forward(const gl_vit *vit, const float *pixels, int height, int width, float *out,
                              gl_pool *pool) {
    const gl_vit_hparams *hp = &vit->hp;
    const int p = hp->patch_size, E = hp->n_embd, F = hp->n_ff, n_head = hp->n_head;
    if (height < p || width < p || height > 65536 || width > 65536)
        return gl_error(GLIMPSE_ERR_INVALID_ARG, "vision tower: tile %dx%d does not fit the patch size %d", height, width,
                        p);
    const int gh = height / p, gw = width / p; /* "valid" conv: trailing pixels are ignored */
    const int cls = vit->class_embd != NULL;
    const int64_t n_patch = (int64_t)gh * gw, n_pos = n_patch + cls;
    const int64_t patch_len = 3 * (int64_t)p * p;

    /* Layers to run: CLIP stops at its deepest feature layer. */
    int n_run = hp->n_layer;
    if (hp->family == GL_VIT_CLIP) {
        n_run = 0;
        for (int j = 0; j < hp->n_feature; j++)
            if (hp->feature_layer[j] > n_run) n_run = hp->feature_layer[j];
    }

    /* One scratch block: x, xn, q, k, v, att (n_pos, E); ff (n_pos, F);
     * cols (n_patch, 3*p*p); rows (n_pos) position-table rows. */
    size_t n_e, n_f, n_c, total;
    if (gl_mul_overflow((size_t)n_pos, (size_t)E, &n_e) || gl_mul_overflow((size_t)n_pos, (size_t)F, &n_f) ||
        gl_mul_overflow((size_t)n_patch, (size_t)patch_len, &n_c) || gl_mul_overflow(n_e, 6, &total) ||
        gl_add_overflow(total, n_f, &total) || gl_add_overflow(total, n_c, &total))
        return gl_error(GLIMPSE_ERR_LIMIT, "vision tower: tile %dx%d is too large", height, width);
    float *scratch = gl_malloc_array(total, sizeof(float));
    int64_t *rows = gl_malloc_array((size_t)n_pos, sizeof(int64_t));
    if (!scratch || !rows) {
        gl_free(scratch);
        gl_free(rows);
        return gl_error_nomem("vision tower activations");
    }
    float *x = scratch;    /* (n_pos, E) residual stream */
    float *xn = x + n_e;   /* (n_pos, E) normalised input of a sub-block, then its output */
    float *q = xn + n_e;   /* (n_pos, E) */
    float *k = q + n_e;    /* (n_pos, E) */
    float *v = k + n_e;    /* (n_pos, E) */
    float *att = v + n_e;  /* (n_pos, E) attention output before W_o */
    float *ff = att + n_e; /* (n_pos, F) */
    float *cols = ff + n_f; /* (n_patch, 3*p*p) */
    glimpse_status st = position_rows(vit, gh, gw, rows);
    if (st) goto done;

    /* ---- Embeddings: patches (conv as a matrix product), CLS, positions */
    im2col(pixels, height, width, p, cols);
    if (gl_matmul(&vit->patch_w, cols, x + (int64_t)cls * E, n_patch, pool)) goto oom;
    if (vit->patch_b) gl_add_bias(x + (int64_t)cls * E, vit->patch_b, E, n_patch);
    /* CLS first, as CLIPVisionEmbeddings concatenates it (llama.cpp appends
     * it after the patches while still giving it position row 0). */
    if (cls) memcpy(x, vit->class_embd, (size_t)E * sizeof(float));
    for (int64_t t = 0; t < n_pos; t++) gl_add(x + t * E, vit->pos_embd + rows[t] * E, E);
    if (vit->pre_ln_w) gl_layernorm(x, x, vit->pre_ln_w, vit->pre_ln_b, E, n_pos, hp->eps);
    store_if_feature(vit, 0, x, cls, n_patch, out);

    /* ---- Encoder layers */
    for (int il = 0; il < n_run; il++) {
        const gl_vit_layer *l = &vit->layers[il];
        /* attention block: x += W_o . Attn(LN1 x) */
        gl_layernorm(xn, x, l->ln1_w, l->ln1_b, E, n_pos, hp->eps);
        if (linear(l->q_w, l->q_b, xn, q, n_pos, pool) || linear(l->k_w, l->k_b, xn, k, n_pos, pool) ||
            linear(l->v_w, l->v_b, xn, v, n_pos, pool))
            goto oom;
        if (gl_attention_full(att, q, k, v, n_pos, n_head, E / n_head, pool)) goto oom;
        if (linear(l->o_w, l->o_b, att, xn, n_pos, pool)) goto oom;
        gl_add(x, xn, n_e);
        /* MLP block: x += fc2(act(fc1(LN2 x))) */
        gl_layernorm(xn, x, l->ln2_w, l->ln2_b, E, n_pos, hp->eps);
        if (linear(l->up_w, l->up_b, xn, ff, n_pos, pool)) goto oom;
        activation(hp->act, ff, n_f);
        if (linear(l->down_w, l->down_b, ff, xn, n_pos, pool)) goto oom;
        gl_add(x, xn, n_e);
        store_if_feature(vit, il + 1, x, cls, n_patch, out);
    }

    /* ---- SigLIP's last hidden state goes through post_layernorm */
    if (vit->post_ln_w) gl_layernorm(out, x + (int64_t)cls * E, vit->post_ln_w, vit->post_ln_b, E, n_patch, hp->eps);
    st = GLIMPSE_OK;
    goto done;
oom:
    st = gl_error_nomem("vision tower scratch");
done:
    gl_free(scratch);
    gl_free(rows);
    return st;
}
