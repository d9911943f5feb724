/* resample.c - Pillow-exact resize of 8-bit images (see resample.h).
 *
 * Follows Pillow src/libImaging/Resample.c: precompute_coeffs,
 * normalize_coeffs_8bpc, ImagingResampleHorizontal_8bpc/Vertical_8bpc and
 * ImagingResampleInner. The double arithmetic that produces the coefficients
 * is written in Pillow's order of operations, so the 22-bit fixed-point
 * weights, and hence the output bytes, are identical. */
#include "resample.h"

#include "checked.h"
#include "error.h"
#include "mem.h"

#include <math.h>
#include <string.h>

/* ---- Filters (Pillow's kernels, evaluated in double) */

typedef struct {
    double (*weight)(double x);
    double support; /* half-width of the kernel at scale 1, in input samples */
} resample_kernel;

static double bilinear_weight(double x) {
    if (x < 0.0) x = -x;
    return x < 1.0 ? 1.0 - x : 0.0;
}

/* Keys' cubic convolution with a = -0.5. */
static double bicubic_weight(double x) {
    const double a = -0.5;
    if (x < 0.0) x = -x;
    if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
    if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
    return 0.0;
}

static double sinc(double x) {
    if (x == 0.0) return 1.0;
    x = x * M_PI;
    return sin(x) / x;
}

/* sinc windowed by a sinc three times wider, truncated at +-3. */
static double lanczos_weight(double x) {
    if (-3.0 <= x && x < 3.0) return sinc(x) * sinc(x / 3);
    return 0.0;
}

static const resample_kernel *kernel_for(gl_resample_filter filter) {
    static const resample_kernel bilinear = {bilinear_weight, 1.0};
    static const resample_kernel bicubic = {bicubic_weight, 2.0};
    static const resample_kernel lanczos = {lanczos_weight, 3.0};
    switch (filter) {
    case GL_RESAMPLE_BILINEAR: return &bilinear;
    case GL_RESAMPLE_BICUBIC: return &bicubic;
    case GL_RESAMPLE_LANCZOS: return &lanczos;
    }
    return NULL;
}

/* ---- Coefficients */

/* 8 bits of result and 2 of headroom (weights can be negative, or sum above 1)
 * in Pillow's 32-bit accumulator leave 22 fractional bits. */
#define PRECISION_BITS (32 - 8 - 2)

typedef struct {
    int ksize;       /* weights reserved per output sample */
    int *bounds;     /* (out_size, 2): first input sample, number of taps */
    int32_t *coeffs; /* (out_size, ksize): weights, PRECISION_BITS fractional bits */
} resample_coeffs;

static void free_coeffs(resample_coeffs *c) {
    gl_free(c->bounds);
    gl_free(c->coeffs);
    memset(c, 0, sizeof *c);
}

/* The taps of each output sample along one axis: the kernel is centred on the
 * output sample's centre mapped into the input, widened by the downscale
 * factor so that it averages (antialiases), cut at the image edges and
 * normalised to sum 1 before rounding to fixed point. */
static glimpse_status precompute_coeffs(int in_size, int out_size, const resample_kernel *kernel,
                                        resample_coeffs *c) {
    /* Pillow passes the source box as floats; in_size - 0.0f is exact below 2^24. */
    double scale = (double)(float)in_size / out_size;
    double filterscale = scale < 1.0 ? 1.0 : scale;
    double support = kernel->support * filterscale;
    double ss = 1.0 / filterscale;
    int ksize = (int)ceil(support) * 2 + 1;

    size_t n_coeffs;
    if (gl_mul_overflow((size_t)out_size, (size_t)ksize, &n_coeffs))
        return gl_error(GLIMPSE_ERR_LIMIT, "resize: %d outputs of %d taps overflow", out_size, ksize);
    c->ksize = ksize;
    c->bounds = gl_malloc_array((size_t)out_size * 2, sizeof(int));
    c->coeffs = gl_malloc_array(n_coeffs, sizeof(int32_t));
    double *w = gl_malloc_array((size_t)ksize, sizeof(double)); /* (ksize) weights of one output */
    if (!c->bounds || !c->coeffs || !w) {
        gl_free(w);
        free_coeffs(c);
        return gl_error_nomem("resize coefficients");
    }

    for (int xx = 0; xx < out_size; xx++) {
        double center = (xx + 0.5) * scale;
        int xmin = (int)(center - support + 0.5);
        if (xmin < 0) xmin = 0;
        int xmax = (int)(center + support + 0.5);
        if (xmax > in_size) xmax = in_size;
        xmax -= xmin;

        double ww = 0.0;
        for (int x = 0; x < xmax; x++) {
            w[x] = kernel->weight((x + xmin - center + 0.5) * ss);
            ww += w[x];
        }
        int32_t *k = c->coeffs + (size_t)xx * ksize;
        for (int x = 0; x < ksize; x++) {
            double v = x < xmax && ww != 0.0 ? w[x] / ww : 0.0;
            /* Round half away from zero, as normalize_coeffs_8bpc does. */
            k[x] = (int32_t)(v < 0 ? -0.5 + v * (1 << PRECISION_BITS) : 0.5 + v * (1 << PRECISION_BITS));
        }
        c->bounds[xx * 2 + 0] = xmin;
        c->bounds[xx * 2 + 1] = xmax;
    }
    gl_free(w);
    return GLIMPSE_OK;
}

/* ---- Passes */

/* Pillow rounds by starting the sum at one half, then clips through a lookup
 * table that maps negative sums to 0 and sums of 256 or more to 255. */
static uint8_t clip8(int64_t sum) {
    if (sum < 0) return 0;
    sum >>= PRECISION_BITS;
    return sum > 255 ? 255 : (uint8_t)sum;
}

/* Rows [y0, y0 + n_rows) of src (src_w wide) resampled along x into dst
 * (n_rows, out_w, channels). */
static void resample_horizontal(const uint8_t *src, int src_w, int channels, int y0, int n_rows,
                                const resample_coeffs *h, int out_w, uint8_t *dst) {
    for (int y = 0; y < n_rows; y++) {
        const uint8_t *row = src + ((size_t)y0 + y) * src_w * channels; /* (src_w, channels) */
        uint8_t *out = dst + (size_t)y * out_w * channels;               /* (out_w, channels) */
        for (int xx = 0; xx < out_w; xx++) {
            int first = h->bounds[xx * 2], taps = h->bounds[xx * 2 + 1];
            const int32_t *k = h->coeffs + (size_t)xx * h->ksize;
            for (int ch = 0; ch < channels; ch++) {
                int64_t sum = 1 << (PRECISION_BITS - 1);
                for (int x = 0; x < taps; x++) sum += (int64_t)row[(size_t)(first + x) * channels + ch] * k[x];
                out[(size_t)xx * channels + ch] = clip8(sum);
            }
        }
    }
}

/* src (rows, row_len) resampled along y into dst (out_h, row_len); row_len
 * counts samples (width * channels). acc is a (row_len) scratch row. Integer
 * sums are exact, so accumulating a row at a time gives Pillow's bytes. */
static void resample_vertical(const uint8_t *src, size_t row_len, const resample_coeffs *v, int out_h,
                              uint8_t *dst, int64_t *acc) {
    for (int yy = 0; yy < out_h; yy++) {
        int first = v->bounds[yy * 2], taps = v->bounds[yy * 2 + 1];
        const int32_t *k = v->coeffs + (size_t)yy * v->ksize;
        for (size_t i = 0; i < row_len; i++) acc[i] = 1 << (PRECISION_BITS - 1);
        for (int y = 0; y < taps; y++) {
            const uint8_t *row = src + ((size_t)first + y) * row_len;
            for (size_t i = 0; i < row_len; i++) acc[i] += (int64_t)row[i] * k[y];
        }
        uint8_t *out = dst + (size_t)yy * row_len;
        for (size_t i = 0; i < row_len; i++) out[i] = clip8(acc[i]);
    }
}

/* ---- Resize */

glimpse_status gl_resize(const gl_image *src, int width, int height, gl_resample_filter filter,
                         gl_image *dst) {
    memset(dst, 0, sizeof *dst);
    const resample_kernel *kernel = kernel_for(filter);
    if (!kernel) return gl_error(GLIMPSE_ERR_INVALID_ARG, "resize: unknown filter %d", (int)filter);
    if (src->channels != 1 && src->channels != 3)
        return gl_error(GLIMPSE_ERR_INVALID_ARG, "resize: %d-channel image (only gray or RGB)",
                        src->channels);
    if (src->width <= 0 || src->height <= 0 || !src->pixels || width <= 0 || height <= 0)
        return gl_error(GLIMPSE_ERR_INVALID_ARG, "resize: %dx%d to %dx%d: sizes must be positive",
                        src->width, src->height, width, height);
    int c = src->channels;
    size_t out_len, src_len;
    if (gl_mul_overflow((size_t)width * (size_t)height, (size_t)c, &out_len) ||
        gl_mul_overflow((size_t)src->width * (size_t)src->height, (size_t)c, &src_len))
        return gl_error(GLIMPSE_ERR_LIMIT, "resize: %dx%d too large", width, height);

    uint8_t *out = gl_malloc(out_len); /* (height, width, c) */
    if (!out) return gl_error_nomem("resized image");
    dst->width = width;
    dst->height = height;
    dst->channels = c;
    dst->pixels = out;
    if (width == src->width && height == src->height) {
        memcpy(out, src->pixels, src_len);
        return GLIMPSE_OK;
    }

    /* Each pass runs only when its axis changes size. Pillow runs the vertical
     * pass first when the height shrinks by more than twice as many pixels as
     * the width (a speed choice in Pillow 13's ImagingResampleInner; older
     * Pillow always went horizontal first). The order changes the rounding
     * of the intermediate image, so it is followed here. */
    int need_horizontal = width != src->width;
    int need_vertical = height != src->height;
    int horizontal_first = !(src->height - height > 0 && src->height - height > (src->width - width) * 2);
    resample_coeffs h = {0}, v = {0};
    uint8_t *tmp = NULL; /* intermediate image of the first pass */
    int64_t *acc = NULL; /* (row length) vertical accumulators */
    glimpse_status st = GLIMPSE_OK;
    if (need_vertical && (st = precompute_coeffs(src->height, height, kernel, &v))) goto cleanup;
    if (need_horizontal && (st = precompute_coeffs(src->width, width, kernel, &h))) goto cleanup;

    if (horizontal_first) {
        /* Only the source rows that the vertical taps reach are resampled. */
        int y0 = 0, n_rows = src->height;
        const uint8_t *vsrc = src->pixels; /* input of the vertical pass */
        size_t row_len = (size_t)src->width * c;
        if (need_horizontal) {
            if (need_vertical) {
                y0 = v.bounds[0];
                n_rows = v.bounds[height * 2 - 2] + v.bounds[height * 2 - 1] - y0;
                for (int i = 0; i < height; i++) v.bounds[i * 2] -= y0;
                tmp = gl_malloc_array((size_t)n_rows, (size_t)width * c); /* (n_rows, width, c) */
                if (!tmp) {
                    st = gl_error_nomem("resize buffer");
                    goto cleanup;
                }
            }
            resample_horizontal(src->pixels, src->width, c, y0, n_rows, &h, width, need_vertical ? tmp : out);
            vsrc = tmp;
            row_len = (size_t)width * c;
        }
        if (need_vertical) {
            if (!(acc = gl_malloc_array(row_len, sizeof(int64_t)))) {
                st = gl_error_nomem("resize accumulators");
                goto cleanup;
            }
            resample_vertical(vsrc, row_len, &v, height, out, acc);
        }
    } else {
        size_t row_len = (size_t)src->width * c;
        acc = gl_malloc_array(row_len, sizeof(int64_t));
        if (need_horizontal) tmp = gl_malloc_array((size_t)height, row_len); /* (height, src width, c) */
        if (!acc || (need_horizontal && !tmp)) {
            st = gl_error_nomem("resize buffer");
            goto cleanup;
        }
        resample_vertical(src->pixels, row_len, &v, height, need_horizontal ? tmp : out, acc);
        if (need_horizontal) resample_horizontal(tmp, src->width, c, 0, height, &h, width, out);
    }

cleanup:
    free_coeffs(&h);
    free_coeffs(&v);
    gl_free(tmp);
    gl_free(acc);
    if (st != GLIMPSE_OK) {
        gl_free(out);
        memset(dst, 0, sizeof *dst);
    }
    return st;
}
