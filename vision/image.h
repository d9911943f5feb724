/* image.h - decoded images and the decoders' entry points.
 *
 * Every decoder yields 8-bit samples, row-major, channels interleaved. The
 * channel count says what the file held after palette expansion: 1 gray,
 * 2 gray+alpha, 3 RGB, 4 RGBA, so that preprocessing can treat alpha and
 * gray exactly as the reference (Pillow + transformers) does. EXIF
 * orientation has already been applied. Formats are chosen by magic bytes. */
#ifndef GLIMPSE_IMAGE_H
#define GLIMPSE_IMAGE_H

#include "glimpse.h"

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int width, height;
    int channels;     /* 1, 2, 3 or 4 */
    uint8_t *pixels;  /* height * width * channels bytes, owned (gl_free) */
} gl_image;

typedef struct {
    uint64_t max_pixels; /* width*height limit, checked before allocating (default 100 MP) */
    int max_side;        /* width and height limit (default 65500) */
} gl_image_limits;

#define GL_IMAGE_DEFAULT_MAX_PIXELS 100000000ull
#define GL_IMAGE_DEFAULT_MAX_SIDE 65500

#endif
