/* preprocess_idefics3.h - Idefics3 / SmolVLM image preprocessing.
 *
 * Reproduces transformers' Idefics3ImageProcessorPil (models/idefics3/
 * image_processing_pil_idefics3.py, the PIL backend that matches the
 * processor the models were trained with) for one image:
 *   1. convert to RGB;
 *   2. resize (Pillow, LANCZOS) so the longest edge is `longest_edge`, the other
 *      side rounded up to even, both capped at 4096;
 *   3. with splitting: resize again so both sides are multiples of
 *      `tile_size`; cut tile_size squares row by row, then resize that image
 *      to tile_size x tile_size as the global view (last). An image that is
 *      already one tile is not split (grid 0x0, one image).
 *      Without splitting: resize the step-2 image to tile_size x tile_size;
 *   4. rescale by 1/255 and normalise with mean/std.
 * Every resize works on 8-bit pixels, as the processor does for uint8 input. */
#ifndef GLIMPSE_PREPROCESS_IDEFICS3_H
#define GLIMPSE_PREPROCESS_IDEFICS3_H

#include "preprocess_common.h"
#include "resample.h"

typedef struct {
    int tile_size;             /* max_image_size.longest_edge; mmproj clip.vision.image_size (512) */
    int longest_edge;          /* size.longest_edge; mmproj clip.vision.preproc_image_size (2048) */
    int do_split;              /* do_image_splitting */
    gl_resample_filter filter; /* resample (LANCZOS) */
    float mean[3], std[3];     /* image_mean, image_std; mmproj clip.vision.image_mean/std */
    gl_alpha_mode alpha;       /* see gl_alpha_mode (default: over white) */
} gl_idefics3_params;

/* SmolVLM-256M-Instruct's preprocessor_config.json. */
void gl_idefics3_default_params(gl_idefics3_params *params);

/* Preprocesses `img` (1-4 channels, see image.h) into `out`
 * (free with gl_pixels_free). */
glimpse_status gl_preprocess_idefics3(const gl_image *img, const gl_idefics3_params *params,
                                      gl_pixels *out);

#endif
