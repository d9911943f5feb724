/* preprocess_common.h - the steps every image processor shares: conversion of
 * a decoded image to the RGB that transformers resizes, and rescale +
 * normalise into the float pixels the vision encoder takes.
 *
 * Specified by transformers image_transforms.py (convert_to_rgb, rescale,
 * normalize), image_utils.py (load_image) and image_processing_backends.py
 * (PilBackend), with Pillow's convert("RGB") and alpha_composite
 * (src/libImaging/Convert.c, AlphaComposite.c). */
#ifndef GLIMPSE_PREPROCESS_COMMON_H
#define GLIMPSE_PREPROCESS_COMMON_H

#include "image.h"

/* What happens to transparency. transformers does one or the other depending
 * on how the image reaches the processor:
 *   - a PIL image passed to the processor goes through convert_to_rgb, which
 *     composites it over opaque white (Pillow's alpha_composite);
 *   - a path or URL goes through load_image, whose convert("RGB") drops alpha
 *     and keeps whatever colour the transparent pixels hold.
 * A colour key (PNG tRNS on gray or RGB, or a palette with one transparent
 * entry) is the exception: convert("RGB") keeps it as info["transparency"]
 * and the processor composites it over white on both paths, so such images
 * take GL_ALPHA_OVER_WHITE whichever path is being reproduced. */
typedef enum {
    GL_ALPHA_OVER_WHITE = 0,
    GL_ALPHA_DROP = 1,
} gl_alpha_mode;

/* Float pixels for the vision encoder: one or more square RGB images. */
typedef struct {
    int n_rows, n_cols; /* tile grid; 0x0 when the image was not split */
    int n_images;       /* tiles (row-major) then the global view; 1 when not split */
    int size;           /* side of every image, in pixels */
    float *pixels;      /* (n_images, 3, size, size) planar, normalised; owned */
} gl_pixels;

void gl_pixels_free(gl_pixels *px);

/* The RGB image (3 channels) that transformers resizes for `src`: gray is
 * replicated, alpha handled per `alpha`. `dst->pixels` is allocated here. */
glimpse_status gl_image_to_rgb(const gl_image *src, gl_alpha_mode alpha, gl_image *dst);

/* Writes the size x size window of `rgb` whose top-left corner is (x0, y0)
 * into out (3, size, size) as ((v * 1/255) - mean) / std. The window may
 * reach outside the image; those pixels count as 0 (transformers'
 * center_crop pads with zeros before rescaling). Rounding follows numpy:
 * v/255 in double rounded to float32, then float32 subtract and divide. */
void gl_normalize_window(const gl_image *rgb, int x0, int y0, int size, const float mean[3],
                         const float std[3], float *out);

#endif
