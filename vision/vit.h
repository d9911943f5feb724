/* vit.h - the vision transformer (ViT) of an mmproj: SigLIP as in Idefics3 /
 * SmolVLM and CLIP as in LLaVA-1.5.
 *
 * Behaviour follows transformers (models/idefics3/modeling_idefics3.py
 * Idefics3VisionTransformer, models/clip/modeling_clip.py
 * CLIPVisionTransformer, models/llava/modeling_llava.py get_image_features);
 * the weights are read in llama.cpp's mmproj layout (../shared/FORMATS.md
 * sections 1-2). Where the two differ, transformers wins (DESIGN.md "Where
 * llama.cpp and transformers differ"). */
#ifndef GLIMPSE_VIT_H
#define GLIMPSE_VIT_H

#include "gguf.h"
#include "threads.h"

#include <stdint.h>

typedef enum {
    GL_VIT_SIGLIP, /* Idefics3: patch bias, no CLS, no pre-LN, post-LN, bucketed positions */
    GL_VIT_CLIP,   /* LLaVA: CLS first, pre-LN, no post-LN, features from hidden states */
} gl_vit_family;

typedef enum {
    GL_VIT_GELU_ERF,   /* torch gelu: HF hidden_act "gelu" */
    GL_VIT_GELU_TANH,  /* HF "gelu_pytorch_tanh" (SigLIP) */
    GL_VIT_GELU_QUICK, /* HF "quick_gelu" (CLIP ViT-L/14) */
} gl_vit_act;

#define GL_VIT_MAX_FEATURES 8

typedef struct {
    gl_vit_family family;
    int image_size;  /* S: the stored position table covers an (S/p) x (S/p) grid */
    int patch_size;  /* p */
    int n_embd;      /* E */
    int n_ff;        /* F */
    int n_layer;     /* layers stored (and run) */
    int n_head;
    float eps;       /* layer-norm epsilon */
    gl_vit_act act;
    /* CLIP: indices into HF's hidden_states (0 = embeddings after pre-LN,
     * i = output of layer i-1) concatenated, in this order, along the
     * feature axis. Always >= 1 entry for CLIP; unused for SigLIP. */
    int n_feature;
    int feature_layer[GL_VIT_MAX_FEATURES];
} gl_vit_hparams;

typedef struct {
    float *ln1_w, *ln1_b;          /* (E) */
    const gl_tensor *q_w, *k_w, *v_w, *o_w; /* (E, E) */
    float *q_b, *k_b, *v_b, *o_b;  /* (E), NULL when absent */
    float *ln2_w, *ln2_b;          /* (E) */
    const gl_tensor *up_w;         /* fc1 (E, F) */
    float *up_b;                   /* (F) */
    const gl_tensor *down_w;       /* fc2 (F, E) */
    float *down_b;                 /* (E) */
} gl_vit_layer;

typedef struct {
    gl_vit_hparams hp;
    gl_tensor patch_w;    /* conv kernel viewed as a matrix (3*p*p, E): row = [c][ky][kx] */
    float *patch_b;       /* (E), NULL when absent */
    float *class_embd;    /* (E), CLIP only */
    float *pos_embd;      /* (n_pos, E): n_pos = (S/p)^2 (+1 with CLS, row 0 = CLS) */
    float *pre_ln_w, *pre_ln_b;   /* (E), CLIP */
    float *post_ln_w, *post_ln_b; /* (E), SigLIP */
    gl_vit_layer *layers; /* (n_layer) */
} gl_vit;

/* Fetches and checks every tensor of the tower. Matrices point into g, which
 * must stay open while the tower is used. On failure *vit is left freed. */
glimpse_status gl_vit_load(const gl_gguf *g, const gl_vit_hparams *hp, gl_vit *vit);
void gl_vit_free(gl_vit *vit);

/* Width of one output row: E, times the number of feature layers for CLIP. */
int gl_vit_out_width(const gl_vit *vit);

/* Runs the tower on a tile of normalised pixels (3, height, width), planar.
 * The grid is (height/p) x (width/p), rounded down as the patch conv does;
 * it may differ from the stored one only where transformers interpolates
 * (SigLIP in Idefics3).
 * out: (n_patches, gl_vit_out_width) in row-major patch order, no CLS row.
 * The tower is only read: several threads may run it at once. */
glimpse_status gl_vit_forward(const gl_vit *vit, const float *pixels, int height, int width, float *out,
                              gl_pool *pool);

/* SigLIP (Idefics3): the row (or column) of the stored N x N position grid
 * that patch i of n along that side uses; exposed for its test. */
int gl_vit_bucket(int i, int n, int n_stored);

#endif
