/* preprocess_idefics3.c - Idefics3 / SmolVLM preprocessing (see
 * preprocess_idefics3.h). Sizes follow transformers
 * models/idefics3/image_processing_pil_idefics3.py: get_resize_output_image_size,
 * resize_for_vision_encoder, split_images; the float arithmetic is Python's
 * (double division, int() truncation, math.ceil) so the sizes match exactly. */
#include "preprocess_idefics3.h"

#include "checked.h"
#include "error.h"
#include "mem.h"

#include <math.h>
#include <string.h>

/* MAX_IMAGE_SIZE: no side exceeds this after the first resize. */
#define IDEFICS3_MAX_SIDE 4096
/* Bounds on the parameters, to refuse a corrupt mmproj before allocating. */
#define IDEFICS3_MAX_TILE 4096
#define IDEFICS3_MAX_LONGEST_EDGE (1 << 20)

void gl_idefics3_default_params(gl_idefics3_params *params) {
    memset(params, 0, sizeof *params);
    params->tile_size = 512;
    params->longest_edge = 4 * 512;
    params->do_split = 1;
    params->filter = GL_RESAMPLE_LANCZOS;
    for (int i = 0; i < 3; i++) {
        params->mean[i] = 0.5f;
        params->std[i] = 0.5f;
    }
    params->alpha = GL_ALPHA_OVER_WHITE;
}

/* ---- Sizes */

/* _resize_output_size_rescale_to_max_len then
 * _resize_output_size_scale_below_upper_bound: the longest side becomes
 * max_len (up or down), the other keeps the aspect ratio, rounded up to even. */
static void longest_edge_size(int w, int h, int max_len, int *out_w, int *out_h) {
    double aspect = (double)w / h;
    if (w >= h) {
        w = max_len;
        h = (int)(w / aspect);
        if (h % 2 != 0) h++;
    } else {
        h = max_len;
        w = (int)(h * aspect);
        if (w % 2 != 0) w++;
    }
    if (h < 1) h = 1;
    if (w < 1) w = 1;

    aspect = (double)w / h;
    if (w >= h && w > IDEFICS3_MAX_SIDE) {
        w = IDEFICS3_MAX_SIDE;
        h = (int)(w / aspect);
    } else if (h > w && h > IDEFICS3_MAX_SIDE) {
        h = IDEFICS3_MAX_SIDE;
        w = (int)(h * aspect);
    }
    *out_w = w < 1 ? 1 : w;
    *out_h = h < 1 ? 1 : h;
}

static int round_up_to(int v, int tile) {
    return (int)ceil((double)v / tile) * tile;
}

/* resize_for_vision_encoder: the longest side rounded up to a multiple of the
 * tile, the other derived from the aspect ratio and rounded up likewise. */
static void vision_encoder_size(int w, int h, int tile, int *out_w, int *out_h) {
    double aspect = (double)w / h;
    if (w >= h) {
        w = round_up_to(w, tile);
        h = round_up_to((int)(w / aspect), tile);
    } else {
        h = round_up_to(h, tile);
        w = round_up_to((int)(h * aspect), tile);
    }
    *out_w = w;
    *out_h = h;
}

/* ---- Preprocessing */

static glimpse_status check_params(const gl_idefics3_params *p) {
    if (p->tile_size < 1 || p->tile_size > IDEFICS3_MAX_TILE)
        return gl_error(GLIMPSE_ERR_INVALID_ARG, "idefics3 preprocessing: tile size %d out of range",
                        p->tile_size);
    if (p->longest_edge < 1 || p->longest_edge > IDEFICS3_MAX_LONGEST_EDGE)
        return gl_error(GLIMPSE_ERR_INVALID_ARG, "idefics3 preprocessing: longest edge %d out of range",
                        p->longest_edge);
    for (int i = 0; i < 3; i++)
        if (!(p->std[i] != 0.0f) || !isfinite(p->std[i]) || !isfinite(p->mean[i]))
            return gl_error(GLIMPSE_ERR_INVALID_ARG, "idefics3 preprocessing: bad mean/std for channel %d",
                            i);
    return GLIMPSE_OK;
}

glimpse_status gl_preprocess_idefics3(const gl_image *img, const gl_idefics3_params *p, gl_pixels *out) {
    memset(out, 0, sizeof *out);
    glimpse_status st = check_params(p);
    if (st) return st;

    int tile = p->tile_size;
    gl_image rgb = {0}, resized = {0}, split = {0}, global = {0};
    if ((st = gl_image_to_rgb(img, p->alpha, &rgb))) return st;

    int w, h;
    longest_edge_size(rgb.width, rgb.height, p->longest_edge, &w, &h);
    st = gl_resize(&rgb, w, h, p->filter, &resized); /* (h, w, 3) */
    gl_free(rgb.pixels);
    if (st) return st;

    int rows = 0, cols = 0;
    const gl_image *global_view = &global; /* (tile, tile, 3) */
    if (!p->do_split) {
        st = gl_resize(&resized, tile, tile, p->filter, &global);
    } else {
        vision_encoder_size(resized.width, resized.height, tile, &w, &h);
        st = gl_resize(&resized, w, h, p->filter, &split); /* (rows*tile, cols*tile, 3) */
        if (!st && (h > tile || w > tile)) {
            rows = h / tile;
            cols = w / tile;
            st = gl_resize(&split, tile, tile, p->filter, &global);
        } else if (!st) {
            global_view = &split; /* already a single tile: not split */
        }
    }
    gl_free(resized.pixels);
    if (st) goto cleanup;

    int n_images = rows * cols + 1;
    size_t plane = (size_t)tile * tile;
    out->pixels = gl_malloc_array((size_t)n_images * 3, plane * sizeof(float));
    if (!out->pixels) {
        st = gl_error_nomem("idefics3 pixels");
        goto cleanup;
    }
    out->n_rows = rows;
    out->n_cols = cols;
    out->n_images = n_images;
    out->size = tile;
    float *dst = out->pixels; /* (n_images, 3, tile, tile) */
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++, dst += 3 * plane)
            gl_normalize_window(&split, c * tile, r * tile, tile, p->mean, p->std, dst);
    gl_normalize_window(global_view, 0, 0, tile, p->mean, p->std, dst);

cleanup:
    gl_free(split.pixels);
    gl_free(global.pixels);
    return st;
}
