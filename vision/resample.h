/* resample.h - Pillow's Image.resize for 8-bit images, reproduced to the byte.
 *
 * The image processors of transformers resize with PIL (image_transforms.resize
 * -> PIL.Image.resize(size, resample), no box, no reducing_gap), so the models
 * saw Pillow's output; any other resampler shifts pixel values by a few levels.
 * Behaviour specified by Pillow src/libImaging/Resample.c (ImagingResample,
 * as of Pillow 13.0.0): separable convolution, one pass per axis that changes
 * size, in Pillow's order; coefficients from the filter widened by the
 * downscale factor (antialiasing), normalised to sum 1 and held in 22-bit
 * fixed point; each pass rounds and clips to 0..255. */
#ifndef GLIMPSE_RESAMPLE_H
#define GLIMPSE_RESAMPLE_H

#include "image.h"

/* Values are PIL's Image.Resampling numbers, the `resample` field of a
 * preprocessor_config.json. NEAREST, BOX and HAMMING are absent: none of the
 * supported processors uses them. */
typedef enum {
    GL_RESAMPLE_LANCZOS = 1,  /* windowed sinc, support 3 (Idefics3 / SmolVLM) */
    GL_RESAMPLE_BILINEAR = 2, /* triangle, support 1 */
    GL_RESAMPLE_BICUBIC = 3,  /* cubic convolution with a = -0.5, support 2 (CLIP, LLaVA) */
} gl_resample_filter;

/* Resizes `src` (1 channel, gray, or 3, RGB) to width x height into `dst`
 * (pixels allocated here, owned by the caller). Two- and four-channel images
 * are refused: Pillow resizes them premultiplied, and the processors convert
 * to RGB before resizing. A same-size resize is a copy, as in Pillow. */
glimpse_status gl_resize(const gl_image *src, int width, int height, gl_resample_filter filter,
                         gl_image *dst);

#endif
