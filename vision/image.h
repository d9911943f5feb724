/* image.h - decoded images and the decoders' entry points.
 *
 * Every decoder yields 8-bit samples, row-major, channels interleaved. The
 * channel count says what the file held after palette expansion: 1 gray,
 * 2 gray+alpha, 3 RGB, 4 RGBA, so that preprocessing can treat alpha and
 * gray exactly as the reference (Pillow + transformers) does. EXIF
 * orientation has already been applied. Formats are chosen by magic bytes.
 *
 * The reference is what transformers' load_image sees: PIL.Image.open, then
 * ImageOps.exif_transpose; processors then call convert("RGB"). The decoders
 * emit the mode Pillow opens, reduced to the four layouts above, so that
 * replicating gray and dropping alpha gives Pillow's convert("RGB") exactly:
 *   - PNG palette: RGB, or RGBA when a tRNS chunk is present (tRNS on gray or
 *     RGB images likewise becomes an alpha channel, as convert("RGBA") does).
 *   - PNG 16-bit gray: Pillow opens mode "I;16" and convert("RGB") clips, so
 *     the single channel is min(value, 255) (not value >> 8); tRNS is ignored.
 *   - PNG 16-bit gray+alpha / RGB / RGBA: the high byte of each sample, as
 *     Pillow's "LA;16B"/"RGB;16B"/"RGBA;16B" unpackers keep.
 *   - JPEG CMYK / YCCK: Pillow assumes Adobe-inverted CMYK for every 4-channel
 *     JPEG and opens mode "CMYK"; the decoder emits 3-channel RGB computed with
 *     Pillow's cmyk2rgb, i.e. what convert("RGB") gives.
 *   - GIF: first frame, RGB, or RGBA when a pixel of it is transparent
 *     (transparent pixels are 0,0,0,0 where Pillow keeps the palette colour).
 *   - BMP: RGB, RGBA only for 32-bit bitfield files with an alpha mask.
 *   - PNM: maxval other than 255 is rescaled as Pillow does.
 * The per-format details and known differences are in each image_*.c. */
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
/* Largest file (or standard input) read into memory: a 100 MP uncompressed
 * BMP is 400 MB, so 1 GiB leaves room without letting a stream fill memory. */
#define GL_IMAGE_MAX_FILE_BYTES (1ull << 30)

/* Damage the decoder tolerated, as Pillow does (libjpeg's "Corrupt JPEG
 * data" warnings, bad ancillary PNG chunks, data missing after the last
 * pixel row): count and the first message, "" when none. */
typedef struct {
    int count;
    char first[256];
} gl_image_warnings;

gl_image_limits gl_image_default_limits(void);

/* Decodes an image held in memory. `name` is used in messages only; `lim`
 * may be NULL for the defaults. On failure *out is zeroed. */
glimpse_status gl_image_decode_memory(const void *data, size_t size, const char *name,
                                      const gl_image_limits *lim, gl_image *out);
/* The same, also reporting tolerated damage (warnings may be NULL). */
glimpse_status gl_image_decode_memory_ex(const void *data, size_t size, const char *name,
                                         const gl_image_limits *lim, gl_image *out,
                                         gl_image_warnings *warnings);
/* Reads and decodes a file; path "-" reads standard input (at most
 * GL_IMAGE_MAX_FILE_BYTES). */
glimpse_status gl_image_decode_file(const char *path, const gl_image_limits *lim, gl_image *out);
glimpse_status gl_image_decode_file_ex(const char *path, const gl_image_limits *lim, gl_image *out,
                                       gl_image_warnings *warnings);
/* Frees the pixels and zeroes the struct; NULL and zeroed images are fine. */
void gl_image_free(gl_image *img);

#endif
