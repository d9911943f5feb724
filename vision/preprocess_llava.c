/* preprocess_llava.c - LLaVA-1.5 / CLIP preprocessing (see preprocess_llava.h).
 * Sizes follow transformers image_transforms.get_resize_output_image_size
 * (default_to_square=False) and center_crop; the pad follows
 * LlavaImageProcessorPil.pad_to_square. */
#include "preprocess_llava.h"

#include "checked.h"
#include "error.h"
#include "mem.h"

#include <math.h>
#include <string.h>

/* Bounds on the parameters, to refuse a corrupt mmproj before allocating. */
#define LLAVA_MAX_SIDE 8192

void gl_llava_default_params(gl_llava_params *params) {
    static const float clip_mean[3] = {0.48145466f, 0.4578275f, 0.40821073f};
    static const float clip_std[3] = {0.26862954f, 0.26130258f, 0.27577711f};
    memset(params, 0, sizeof *params);
    params->shortest_edge = 336;
    params->crop_size = 336;
    params->pad_to_square = 0;
    params->filter = GL_RESAMPLE_BICUBIC;
    memcpy(params->mean, clip_mean, sizeof clip_mean);
    memcpy(params->std, clip_std, sizeof clip_std);
    params->alpha = GL_ALPHA_OVER_WHITE;
}

static glimpse_status check_params(const gl_llava_params *p) {
    if (p->shortest_edge < 1 || p->shortest_edge > LLAVA_MAX_SIDE || p->crop_size < 1 ||
        p->crop_size > LLAVA_MAX_SIDE)
        return gl_error(GLIMPSE_ERR_INVALID_ARG, "llava preprocessing: size %d / crop %d out of range",
                        p->shortest_edge, p->crop_size);
    for (int i = 0; i < 3; i++)
        if (!(p->std[i] != 0.0f) || !isfinite(p->std[i]) || !(p->mean[i] >= 0.0f && p->mean[i] <= 1.0f))
            return gl_error(GLIMPSE_ERR_INVALID_ARG, "llava preprocessing: bad mean/std for channel %d", i);
    return GLIMPSE_OK;
}

/* Python's floor division, for offsets that go negative when the crop is
 * larger than the image. */
static int floor_div2(int v) {
    return v >= 0 ? v / 2 : -((-v + 1) / 2);
}

/* The image centred on a square of the mean colour. The colour is
 * int(mean * 255) with the mean in double, as in Python; the mmproj stores
 * the mean as float32, which gives the same integers for the CLIP values. */
static glimpse_status pad_to_square(const gl_image *rgb, const float mean[3], gl_image *dst) {
    int side = rgb->width > rgb->height ? rgb->width : rgb->height;
    uint8_t *px = gl_malloc_array((size_t)side * side, 3); /* (side, side, 3) */
    if (!px) return gl_error_nomem("padded image");
    uint8_t fill[3];
    for (int ch = 0; ch < 3; ch++) fill[ch] = (uint8_t)(int)((double)mean[ch] * 255);
    for (size_t i = 0; i < (size_t)side * side; i++) memcpy(px + i * 3, fill, 3);
    int x0 = (side - rgb->width) / 2, y0 = (side - rgb->height) / 2;
    for (int y = 0; y < rgb->height; y++)
        memcpy(px + ((size_t)(y0 + y) * side + x0) * 3, rgb->pixels + (size_t)y * rgb->width * 3,
               (size_t)rgb->width * 3);
    dst->width = dst->height = side;
    dst->channels = 3;
    dst->pixels = px;
    return GLIMPSE_OK;
}

glimpse_status gl_preprocess_llava(const gl_image *img, const gl_llava_params *p, gl_pixels *out) {
    memset(out, 0, sizeof *out);
    glimpse_status st = check_params(p);
    if (st) return st;

    gl_image rgb = {0}, resized = {0};
    if ((st = gl_image_to_rgb(img, p->alpha, &rgb))) return st;
    if (p->pad_to_square && rgb.width != rgb.height) {
        gl_image square;
        st = pad_to_square(&rgb, p->mean, &square);
        gl_free(rgb.pixels);
        if (st) return st;
        rgb = square;
    }

    /* Shortest side to shortest_edge; the long side int(size * long / short)
     * with the product exact and the division in double, as in Python. */
    int w = rgb.width, h = rgb.height;
    int64_t short_side = w <= h ? w : h, long_side = w <= h ? h : w;
    int64_t new_long = (int64_t)((double)(p->shortest_edge * long_side) / (double)short_side);
    if (new_long * p->shortest_edge > (int64_t)GL_IMAGE_DEFAULT_MAX_PIXELS) {
        gl_free(rgb.pixels);
        return gl_error(GLIMPSE_ERR_LIMIT, "llava preprocessing: %dx%d image: aspect ratio too extreme",
                        w, h);
    }
    int new_w = w <= h ? p->shortest_edge : (int)new_long;
    int new_h = w <= h ? (int)new_long : p->shortest_edge;
    st = gl_resize(&rgb, new_w, new_h, p->filter, &resized); /* (new_h, new_w, 3) */
    gl_free(rgb.pixels);
    if (st) return st;

    int crop = p->crop_size;
    size_t plane = (size_t)crop * crop;
    out->pixels = gl_malloc_array(3, plane * sizeof(float)); /* (1, 3, crop, crop) */
    if (!out->pixels) {
        gl_free(resized.pixels);
        return gl_error_nomem("llava pixels");
    }
    out->n_images = 1;
    out->size = crop;
    gl_normalize_window(&resized, floor_div2(new_w - crop), floor_div2(new_h - crop), crop, p->mean, p->std,
                        out->pixels);
    gl_free(resized.pixels);
    return GLIMPSE_OK;
}
