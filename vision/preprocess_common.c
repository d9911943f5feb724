/* preprocess_common.c - RGB conversion and normalisation shared by the image
 * processors (see preprocess_common.h for the transformers sources). */
#include "preprocess_common.h"

#include "checked.h"
#include "error.h"
#include "mem.h"

#include <string.h>

void gl_pixels_free(gl_pixels *px) {
    gl_free(px->pixels);
    memset(px, 0, sizeof *px);
}

/* ---- RGB conversion */

/* Pillow's alpha_composite(white, src) for one channel. Over an opaque white
 * background the output alpha is 255*255, so AlphaComposite.c's 7-bit weights
 * reduce to a*128 for the source and (255-a)*128 for the white; the sum is
 * divided by 255 with its shift-based rounding. */
static uint8_t over_white(uint8_t v, uint8_t a) {
    if (a == 0) return 255;
    uint32_t t = (uint32_t)v * a * 128u + 255u * (255u - a) * 128u + (0x80u << 7);
    return (uint8_t)((((t >> 8) + t) >> 8) >> 7);
}

glimpse_status gl_image_to_rgb(const gl_image *src, gl_alpha_mode alpha, gl_image *dst) {
    memset(dst, 0, sizeof *dst);
    int c = src->channels;
    if (c < 1 || c > 4 || src->width <= 0 || src->height <= 0 || !src->pixels)
        return gl_error(GLIMPSE_ERR_INVALID_ARG, "image: %dx%d with %d channels cannot become RGB",
                        src->width, src->height, c);
    size_t n = (size_t)src->width * (size_t)src->height; /* pixels; the decoder allocated n * c */
    uint8_t *out = gl_malloc_array(n, 3);                /* (height, width, 3) */
    if (!out) return gl_error_nomem("RGB image");

    const uint8_t *in = src->pixels; /* (height, width, c) */
    int has_alpha = c == 2 || c == 4;
    int composite = has_alpha && alpha == GL_ALPHA_OVER_WHITE;
    for (size_t i = 0; i < n; i++, in += c) {
        /* Pillow's L -> RGB and LA -> RGBA replicate the gray value. */
        uint8_t r = in[0], g = c >= 3 ? in[1] : in[0], b = c >= 3 ? in[2] : in[0];
        if (composite) {
            uint8_t a = in[c - 1];
            r = over_white(r, a);
            g = over_white(g, a);
            b = over_white(b, a);
        }
        out[i * 3 + 0] = r;
        out[i * 3 + 1] = g;
        out[i * 3 + 2] = b;
    }
    dst->width = src->width;
    dst->height = src->height;
    dst->channels = 3;
    dst->pixels = out;
    return GLIMPSE_OK;
}

/* ---- Normalisation */

void gl_normalize_window(const gl_image *rgb, int x0, int y0, int size, const float mean[3],
                         const float std[3], float *out) {
    /* transformers' rescale: uint8 -> float64, times rescale_factor (1/255 in
     * every supported config), then cast to float32. */
    const double rescale = 1.0 / 255.0;
    size_t plane = (size_t)size * size;
    for (int y = 0; y < size; y++) {
        int sy = y0 + y;
        for (int x = 0; x < size; x++) {
            int sx = x0 + x;
            int inside = sy >= 0 && sy < rgb->height && sx >= 0 && sx < rgb->width;
            const uint8_t *p = inside ? rgb->pixels + ((size_t)sy * rgb->width + sx) * 3 : NULL;
            for (int ch = 0; ch < 3; ch++) {
                float v = (float)((inside ? p[ch] : 0) * rescale);
                out[ch * plane + (size_t)y * size + x] = (v - mean[ch]) / std[ch];
            }
        }
    }
}
