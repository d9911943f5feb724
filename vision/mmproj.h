/* mmproj.h - a loaded mmproj GGUF: vision tower + projector, turning one
 * tile of normalised pixels into embeddings of the text model's width.
 *
 * File layout: llama.cpp's (general.architecture "clip"), keys and tensors
 * in ../shared/FORMATS.md sections 1-2 (tools/mtmd/clip.cpp load_hparams,
 * load_tensors). Behaviour: transformers (see vit.h, proj.h).
 *
 * Usage:
 *     gl_mmproj *m;
 *     if (gl_mmproj_load(g, &m)) ...;               // g stays open while m lives
 *     if (gl_mmproj_check_text_width(m, n_embd, mmproj_path, text_path)) ...;
 *     float *emb = ... gl_mmproj_tokens_per_image(m) * hparams->n_proj_embd floats;
 *     gl_mmproj_encode(m, tile, emb, pool);          // tile: (3, S, S) planar
 *     gl_mmproj_free(m);
 * A loaded mmproj is read-only: several threads may encode at once. */
#ifndef GLIMPSE_MMPROJ_H
#define GLIMPSE_MMPROJ_H

#include "gguf.h"
#include "threads.h"
#include "vit.h"

typedef enum {
    GL_PROJECTOR_IDEFICS3, /* "idefics3": SmolVLM / Idefics3 (SigLIP, pixel shuffle, linear) */
    GL_PROJECTOR_MLP,      /* "mlp": LLaVA-1.5 / 1.6 (CLIP, two-layer MLP) */
} gl_projector_type;

#define GL_MMPROJ_MAX_PINPOINTS 64

typedef struct {
    gl_projector_type projector;
    gl_vit_hparams vit;       /* tower: image/patch size, widths, layers, heads, eps, GELU variant, feature layers */
    float image_mean[3];      /* normalisation: (u8/255 - mean[c]) / std[c] */
    float image_std[3];
    int scale_factor;         /* idefics3 pixel-shuffle factor s; 1 for mlp */
    int preproc_image_size;   /* idefics3 longest edge before tiling; 0: no tiling (overview only) */
    int n_pinpoints;          /* LLaVA-1.6 candidate resolutions, {width, height}; 0 for LLaVA-1.5 */
    int pinpoints[GL_MMPROJ_MAX_PINPOINTS][2];
    int n_proj_embd;          /* width of the output embeddings, read from the projector matrix */
    int n_tokens;             /* embeddings per S x S tile */
} gl_mmproj_hparams;

typedef struct gl_mmproj gl_mmproj;

/* Reads the hyperparameters and checks every tensor the encoder uses.
 * Errors name the file and the key or tensor: GLIMPSE_ERR_FORMAT for missing
 * or inconsistent data, GLIMPSE_ERR_UNSUPPORTED for projector types and
 * activations glimpse lacks. */
glimpse_status gl_mmproj_load(const gl_gguf *g, gl_mmproj **out);
void gl_mmproj_free(gl_mmproj *m);

const gl_mmproj_hparams *gl_mmproj_hparams_of(const gl_mmproj *m);
/* Embeddings produced per tile (idefics3: (S/p)^2/s^2, mlp: (S/p)^2). */
int gl_mmproj_tokens_per_image(const gl_mmproj *m);
/* "idefics3", "mlp". */
const char *gl_projector_name(gl_projector_type type);

/* GLIMPSE_ERR_MISMATCH, naming both files, when the projector's output
 * width is not the text model's embedding width. */
glimpse_status gl_mmproj_check_text_width(const gl_mmproj *m, int n_embd, const char *mmproj_name,
                                          const char *text_name);

/* pixels: (3, S, S) planar, normalised with image_mean/std (S = image_size).
 * out: (n_tokens, n_proj_embd). */
glimpse_status gl_mmproj_encode(const gl_mmproj *m, const float *pixels, float *out, gl_pool *pool);

#endif
