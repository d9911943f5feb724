/* mmproj.c - loading an mmproj GGUF and encoding tiles (see mmproj.h).
 *
 * Keys as llama.cpp reads them in tools/mtmd/clip.cpp load_hparams
 * (FORMATS.md section 1); the meaning of each is taken from the writers
 * (convert_hf_to_gguf.py SmolVLMModel, tools/mtmd/legacy-models/
 * convert_image_encoder_to_gguf.py) and from transformers. */
#include "mmproj.h"
#include "error.h"
#include "mem.h"
#include "proj.h"

#include <math.h>
#include <string.h>

struct gl_mmproj {
    gl_mmproj_hparams hp;
    gl_vit vit;
    gl_proj_idefics3 idefics3; /* GL_PROJECTOR_IDEFICS3 */
    gl_proj_mlp mlp;           /* GL_PROJECTOR_MLP */
};

/* Limits that keep a small malformed file from asking for absurd work; all
 * real towers are far below them (SigLIP so400m: E 1152, F 4304, 27 layers). */
enum { MAX_IMAGE_SIZE = 8192, MAX_GRID = 256, MAX_EMBD = 16384, MAX_FF = 65536, MAX_LAYER = 256 };

const char *gl_projector_name(gl_projector_type type) {
    return type == GL_PROJECTOR_IDEFICS3 ? "idefics3" : "mlp";
}

/* ==== Keys ==== */

static glimpse_status key_u32(const gl_gguf *g, const char *key, int required, uint32_t dflt, uint32_t max,
                              int *out) {
    uint32_t v = dflt;
    if (glimpse_gguf_find_key(g, key) < 0) {
        if (required) return gl_error(GLIMPSE_ERR_FORMAT, "%s: missing key '%s'", gl_gguf_name(g), key);
    } else if (gl_gguf_get_u32(g, key, &v)) {
        return gl_error(GLIMPSE_ERR_FORMAT, "%s: key '%s' is not an unsigned integer", gl_gguf_name(g), key);
    }
    if (v > max)
        return gl_error(GLIMPSE_ERR_UNSUPPORTED, "%s: key '%s' = %u is over glimpse's limit of %u", gl_gguf_name(g), key,
                        v, max);
    *out = (int)v;
    return GLIMPSE_OK;
}

static glimpse_status key_bool(const gl_gguf *g, const char *key, int *out) {
    *out = 0;
    if (glimpse_gguf_find_key(g, key) >= 0 && gl_gguf_get_bool(g, key, out))
        return gl_error(GLIMPSE_ERR_FORMAT, "%s: key '%s' is not a boolean", gl_gguf_name(g), key);
    return GLIMPSE_OK;
}

static glimpse_status key_f32x3(const gl_gguf *g, const char *key, float out[3]) {
    glimpse_gguf_type t;
    uint64_t n;
    if (gl_gguf_get_arr(g, key, &t, &n)) return gl_error(GLIMPSE_ERR_FORMAT, "%s: missing array '%s'", gl_gguf_name(g), key);
    if (n < 3) return gl_error(GLIMPSE_ERR_FORMAT, "%s: array '%s' has %llu values, expected 3", gl_gguf_name(g), key,
                               (unsigned long long)n);
    for (int c = 0; c < 3; c++)
        if (gl_gguf_arr_f32(g, key, (uint64_t)c, &out[c]) || !isfinite(out[c]))
            return gl_error(GLIMPSE_ERR_FORMAT, "%s: array '%s' does not hold finite numbers", gl_gguf_name(g), key);
    return GLIMPSE_OK;
}

static glimpse_status read_projector_type(const gl_gguf *g, gl_projector_type *out) {
    const char *file = gl_gguf_name(g), *s;
    size_t len;
    if (gl_gguf_get_str(g, "clip.projector_type", &s, &len) && gl_gguf_get_str(g, "clip.vision.projector_type", &s, &len))
        return gl_error(GLIMPSE_ERR_FORMAT, "%s: missing key 'clip.projector_type'", file);
    if (len == 8 && !memcmp(s, "idefics3", 8)) *out = GL_PROJECTOR_IDEFICS3;
    else if (len == 3 && !memcmp(s, "mlp", 3)) *out = GL_PROJECTOR_MLP;
    else return gl_error(GLIMPSE_ERR_UNSUPPORTED, "%s: projector type '%.*s' is not supported (glimpse has idefics3, mlp)",
                         file, (int)(len > 64 ? 64 : len), s);
    return GLIMPSE_OK;
}

/* CLIP feature layers: clip.vision.feature_layer holds indices into HF's
 * hidden_states (the legacy converter writes them non-negative); without it
 * the legacy file stores exactly the layers up to hidden_states[-2] of the
 * HF model, so the output of the last stored layer is the feature. */
static glimpse_status read_feature_layers(const gl_gguf *g, gl_vit_hparams *vp) {
    const char *file = gl_gguf_name(g), *key = "clip.vision.feature_layer";
    glimpse_gguf_type t;
    uint64_t n;
    if (gl_gguf_get_arr(g, key, &t, &n)) {
        vp->n_feature = 1;
        vp->feature_layer[0] = vp->n_layer;
        return GLIMPSE_OK;
    }
    if (n == 0 || n > GL_VIT_MAX_FEATURES)
        return gl_error(GLIMPSE_ERR_UNSUPPORTED, "%s: '%s' lists %llu layers (glimpse takes 1 to %d)", file, key,
                        (unsigned long long)n, GL_VIT_MAX_FEATURES);
    for (uint64_t i = 0; i < n; i++) {
        int64_t v;
        if (gl_gguf_arr_i64(g, key, i, &v) || v < 0 || v > vp->n_layer)
            return gl_error(GLIMPSE_ERR_FORMAT, "%s: '%s' entry %llu is not a layer index in 0..%d", file, key,
                            (unsigned long long)i, vp->n_layer);
        vp->feature_layer[i] = (int)v;
    }
    vp->n_feature = (int)n;
    return GLIMPSE_OK;
}

static glimpse_status read_pinpoints(const gl_gguf *g, gl_mmproj_hparams *hp) {
    const char *file = gl_gguf_name(g), *key = "clip.vision.image_grid_pinpoints";
    glimpse_gguf_type t;
    uint64_t n;
    hp->n_pinpoints = 0;
    if (gl_gguf_get_arr(g, key, &t, &n)) return GLIMPSE_OK;
    if (n % 2 || n / 2 > GL_MMPROJ_MAX_PINPOINTS)
        return gl_error(GLIMPSE_ERR_FORMAT, "%s: '%s' has %llu values (pairs, at most %d)", file, key,
                        (unsigned long long)n, GL_MMPROJ_MAX_PINPOINTS);
    for (uint64_t i = 0; i < n; i++) {
        int64_t v;
        if (gl_gguf_arr_i64(g, key, i, &v) || v <= 0 || v > MAX_IMAGE_SIZE * 8)
            return gl_error(GLIMPSE_ERR_FORMAT, "%s: '%s' entry %llu is not a positive size", file, key,
                            (unsigned long long)i);
        hp->pinpoints[i / 2][i % 2] = (int)v;
    }
    hp->n_pinpoints = (int)(n / 2);
    return GLIMPSE_OK;
}

static glimpse_status read_hparams(const gl_gguf *g, gl_mmproj_hparams *hp) {
    const char *file = gl_gguf_name(g);
    gl_vit_hparams *vp = &hp->vit;
    glimpse_status st;
    const char *arch;
    size_t len;
    if (gl_gguf_get_str(g, "general.architecture", &arch, &len) || len != 4 || memcmp(arch, "clip", 4))
        return gl_error(GLIMPSE_ERR_FORMAT, "%s: not an mmproj file (general.architecture is not 'clip')", file);
    if ((st = read_projector_type(g, &hp->projector))) return st;
    int has_vision;
    if ((st = key_bool(g, "clip.has_vision_encoder", &has_vision))) return st;
    if (!has_vision)
        return gl_error(GLIMPSE_ERR_UNSUPPORTED, "%s: no vision encoder (clip.has_vision_encoder is not true)", file);

    vp->family = hp->projector == GL_PROJECTOR_IDEFICS3 ? GL_VIT_SIGLIP : GL_VIT_CLIP;
    if ((st = key_u32(g, "clip.vision.image_size", 1, 0, MAX_IMAGE_SIZE, &vp->image_size)) ||
        (st = key_u32(g, "clip.vision.patch_size", 1, 0, MAX_IMAGE_SIZE, &vp->patch_size)) ||
        (st = key_u32(g, "clip.vision.embedding_length", 1, 0, MAX_EMBD, &vp->n_embd)) ||
        (st = key_u32(g, "clip.vision.feed_forward_length", 1, 0, MAX_FF, &vp->n_ff)) ||
        (st = key_u32(g, "clip.vision.block_count", 1, 0, MAX_LAYER, &vp->n_layer)) ||
        (st = key_u32(g, "clip.vision.attention.head_count", 1, 0, MAX_EMBD, &vp->n_head)))
        return st;
    if (gl_gguf_get_f32(g, "clip.vision.attention.layer_norm_epsilon", &vp->eps) || !(vp->eps >= 0) || !isfinite(vp->eps))
        return gl_error(GLIMPSE_ERR_FORMAT, "%s: key 'clip.vision.attention.layer_norm_epsilon' is missing or invalid", file);
    /* The patch conv has "valid" padding: SigLIP-so400m's 384 px at patch 14
     * gives 27 patches a side and ignores the last 6 pixels. */
    if (vp->patch_size == 0 || vp->image_size < vp->patch_size)
        return gl_error(GLIMPSE_ERR_FORMAT, "%s: image size %d is smaller than the patch size %d", file, vp->image_size,
                        vp->patch_size);
    const int grid = vp->image_size / vp->patch_size;
    if (grid > MAX_GRID)
        return gl_error(GLIMPSE_ERR_UNSUPPORTED, "%s: %dx%d patches per tile, over glimpse's limit of %d per side", file,
                        grid, grid, MAX_GRID);
    if (vp->n_embd == 0 || vp->n_ff == 0 || vp->n_layer == 0 || vp->n_head == 0 || vp->n_embd % vp->n_head)
        return gl_error(GLIMPSE_ERR_FORMAT, "%s: vision width %d, FFN %d, %d layers, %d heads are inconsistent", file,
                        vp->n_embd, vp->n_ff, vp->n_layer, vp->n_head);

    /* GELU variant: llama.cpp reads use_gelu as ggml_gelu (tanh) and the
     * absence of both flags as quick GELU. transformers decides per family:
     * SigLIP's hidden_act is gelu_pytorch_tanh (convert_hf_to_gguf.py always
     * sets use_gelu for idefics3); the legacy LLaVA converter sets use_gelu
     * only for hidden_act "gelu", which is the exact erf GELU. */
    int use_gelu, use_silu;
    if ((st = key_bool(g, "clip.use_gelu", &use_gelu)) || (st = key_bool(g, "clip.use_silu", &use_silu))) return st;
    if (use_gelu && use_silu)
        return gl_error(GLIMPSE_ERR_FORMAT, "%s: both clip.use_gelu and clip.use_silu are set", file);
    if (use_silu)
        return gl_error(GLIMPSE_ERR_UNSUPPORTED, "%s: SiLU vision MLP (clip.use_silu) is not supported for projector '%s'",
                        file, gl_projector_name(hp->projector));
    vp->act = !use_gelu ? GL_VIT_GELU_QUICK : vp->family == GL_VIT_SIGLIP ? GL_VIT_GELU_TANH : GL_VIT_GELU_ERF;

    if ((st = key_f32x3(g, "clip.vision.image_mean", hp->image_mean)) ||
        (st = key_f32x3(g, "clip.vision.image_std", hp->image_std)))
        return st;
    for (int c = 0; c < 3; c++)
        if (hp->image_std[c] == 0)
            return gl_error(GLIMPSE_ERR_FORMAT, "%s: clip.vision.image_std has a zero", file);

    if (hp->projector == GL_PROJECTOR_IDEFICS3) {
        /* Idefics3Config.scale_factor defaults to 2, as convert_hf_to_gguf.py does. */
        if ((st = key_u32(g, "clip.vision.projector.scale_factor", 0, 2, MAX_GRID, &hp->scale_factor)) ||
            (st = key_u32(g, "clip.vision.preproc_image_size", 0, 0, MAX_IMAGE_SIZE * 8, &hp->preproc_image_size)))
            return st;
        /* transformers' pixel_shuffle needs whole s x s groups (llama.cpp pads instead). */
        if (hp->scale_factor == 0 || grid % hp->scale_factor)
            return gl_error(GLIMPSE_ERR_FORMAT, "%s: %d patches per side is not a multiple of the scale factor %d", file,
                            grid, hp->scale_factor);
        hp->n_tokens = (grid / hp->scale_factor) * (grid / hp->scale_factor);
        vp->n_feature = 0;
    } else {
        hp->scale_factor = 1;
        hp->preproc_image_size = 0;
        hp->n_tokens = grid * grid;
        if ((st = read_feature_layers(g, vp)) || (st = read_pinpoints(g, hp))) return st;
    }
    return GLIMPSE_OK;
}

/* ==== Loading ==== */

glimpse_status gl_mmproj_load(const gl_gguf *g, gl_mmproj **out) {
    *out = NULL;
    gl_mmproj *m = gl_calloc(1, sizeof *m);
    if (!m) return gl_error_nomem("mmproj");
    glimpse_status st = read_hparams(g, &m->hp);
    if (!st) st = gl_vit_load(g, &m->hp.vit, &m->vit);
    if (!st && m->hp.projector == GL_PROJECTOR_IDEFICS3)
        st = gl_proj_idefics3_load(g, m->hp.vit.n_embd, m->hp.scale_factor, &m->idefics3, &m->hp.n_proj_embd);
    if (!st && m->hp.projector == GL_PROJECTOR_MLP)
        st = gl_proj_mlp_load(g, gl_vit_out_width(&m->vit), &m->mlp, &m->hp.n_proj_embd);
    if (st) {
        gl_mmproj_free(m);
        return st;
    }
    *out = m;
    return GLIMPSE_OK;
}

void gl_mmproj_free(gl_mmproj *m) {
    if (!m) return;
    gl_vit_free(&m->vit);
    gl_proj_mlp_free(&m->mlp);
    gl_free(m);
}

const gl_mmproj_hparams *gl_mmproj_hparams_of(const gl_mmproj *m) { return &m->hp; }

int gl_mmproj_tokens_per_image(const gl_mmproj *m) { return m->hp.n_tokens; }

glimpse_status gl_mmproj_check_text_width(const gl_mmproj *m, int n_embd, const char *mmproj_name,
                                          const char *text_name) {
    if (m->hp.n_proj_embd != n_embd)
        return gl_error(GLIMPSE_ERR_MISMATCH,
                        "%s: projects images to width %d, but the text model %s has embedding width %d (files of "
                        "different models?)",
                        mmproj_name, m->hp.n_proj_embd, text_name, n_embd);
    return GLIMPSE_OK;
}

/* ==== Encoding ==== */

glimpse_status gl_mmproj_encode(const gl_mmproj *m, const float *pixels, float *out, gl_pool *pool) {
    const int S = m->hp.vit.image_size, grid = S / m->hp.vit.patch_size;
    float *features = gl_malloc_array((size_t)grid * (size_t)grid, (size_t)gl_vit_out_width(&m->vit) * sizeof(float));
    if (!features) return gl_error_nomem("vision features"); /* (grid*grid, out_width) */
    glimpse_status st = gl_vit_forward(&m->vit, pixels, S, S, features, pool);
    if (!st && m->hp.projector == GL_PROJECTOR_IDEFICS3) st = gl_proj_idefics3_apply(&m->idefics3, features, grid, out, pool);
    if (!st && m->hp.projector == GL_PROJECTOR_MLP) st = gl_proj_mlp_apply(&m->mlp, features, (int64_t)grid * grid, out, pool);
    gl_free(features);
    return st;
}
