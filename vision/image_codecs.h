/* image_codecs.h - what image.c shares with the per-format decoders
 * (image_jpeg.c, image_png.c, image_webp.c, image_stb.c).
 *
 * image.c picks the decoder from the magic bytes; each decoder reads its
 * header, calls gl_image_check_size() before allocating anything sized by
 * the file, and fills a gl_image as described in image.h. */
#ifndef GLIMPSE_IMAGE_CODECS_H
#define GLIMPSE_IMAGE_CODECS_H

#include "image.h"

#include <string.h>

typedef struct {
    const char *name;             /* file name for messages */
    const gl_image_limits *lim;   /* never NULL here */
    gl_image_warnings *warnings;  /* may be NULL */
} gl_image_ctx;

/* First occurrence of needle in hay[0..n), or NULL (memmem is a GNU extension). */
static inline const uint8_t *gl_find_bytes(const uint8_t *hay, size_t n, const char *needle, size_t len) {
    for (size_t i = 0; len > 0 && i + len <= n; i++)
        if (hay[i] == (uint8_t)needle[0] && memcmp(hay + i, needle, len) == 0) return hay + i;
    return NULL;
}

/* Formats detected by magic bytes; those after GL_IMG_TGA are refused. */
typedef enum {
    GL_IMG_UNKNOWN = 0,
    GL_IMG_JPEG,
    GL_IMG_PNG,
    GL_IMG_WEBP,
    GL_IMG_GIF,
    GL_IMG_BMP,
    GL_IMG_PNM,
    GL_IMG_PSD,
    GL_IMG_TGA,
} gl_image_format;

/* Refuses width x height over the limits (or zero) with a message naming
 * the format ("photo.png: PNG header claims 65535x65535 ..."). */
glimpse_status gl_image_check_size(const gl_image_ctx *ctx, const char *format, uint64_t width,
                                   uint64_t height);
/* Allocates img->pixels for a size already passed gl_image_check_size. */
glimpse_status gl_image_alloc(const gl_image_ctx *ctx, gl_image *img, int width, int height,
                              int channels);
/* Records one tolerated problem (printf format, without the file name). */
void gl_image_warn(const gl_image_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

glimpse_status gl_image_decode_jpeg(const uint8_t *data, size_t size, const gl_image_ctx *ctx,
                                    gl_image *out);
glimpse_status gl_image_decode_png(const uint8_t *data, size_t size, const gl_image_ctx *ctx,
                                   gl_image *out);
glimpse_status gl_image_decode_webp(const uint8_t *data, size_t size, const gl_image_ctx *ctx,
                                    gl_image *out);
/* GIF, BMP, PNM, PSD and TGA through stb_image. */
glimpse_status gl_image_decode_stb(const uint8_t *data, size_t size, gl_image_format format,
                                   const gl_image_ctx *ctx, gl_image *out);

#endif
