/* image_stb.c - GIF (first frame), BMP, PNM (P5/P6), PSD (composite) and
 * TGA through stb_image (Debian libstb-dev, stb_image.h v2.27).
 *
 * stb_image is NOT hardened against hostile input (its own header says so:
 * "not safe for untrusted input", fuzzed but without guarantees). So:
 *   - image.c only sends a file here after its magic bytes (or, for TGA,
 *     every header field) name one of these formats, and each format's own
 *     loader is called directly (stb's internal stbi__*_load, visible since
 *     the implementation is compiled in this file) so that a file is never
 *     tried as another format;
 *   - the size from stb's *_info header parse goes through the limits before
 *     any loader allocates;
 *   - stb reads through callbacks over the buffer: stb silently pads a short
 *     file with zero bytes, so a read past the end marks the file truncated;
 *   - all allocations go through gl_malloc (STBI_MALLOC).
 * stb keeps its failure reason in a thread-local and has process-wide flags
 * (vertical flip, unpremultiply, iPhone PNG) that glimpse never sets.
 *
 * Matching Pillow (BmpImagePlugin, GifImagePlugin, PpmImagePlugin,
 * PsdImagePlugin, TgaImagePlugin); what is emitted is listed in image.h:
 *   - GIF: pixels stb skips as transparent get the transparent palette entry's
 *     colour with alpha 0, as Pillow's P -> RGB/RGBA conversions give. A file
 *     whose first frame's data stop early is truncated; a missing trailer is
 *     fine, as in Pillow. Canvas pixels outside the first frame are 0,0,0,0
 *     (or the background colour) where Pillow uses palette index 0 or the
 *     transparent index: a known difference for such rare files.
 *   - BMP: RGBA only for 32-bit BI_BITFIELDS (info header >= 56 bytes) or
 *     BI_ALPHABITFIELDS files, the cases Pillow opens as RGBA. 16-bit 5-bit
 *     channels are expanded by bit replication (stb) where Pillow multiplies
 *     by 255/31: values may differ by 1.
 *   - PNM: maxval != 255 is rescaled with Pillow's round(v / maxval * max),
 *     16-bit PGM clipped to 255 like Pillow's mode "I" -> RGB.
 *   - PSD: stb reads only 8/16-bit RGB PSDs and removes the white matte from
 *     semi-transparent pixels, which Pillow does not (RGBA PSDs may differ
 *     where alpha is neither 0 nor 255). */
#include "error.h"
#include "image_codecs.h"
#include "mem.h"

#include <math.h>
#include <string.h>

#define STB_IMAGE_IMPLEMENTATION
#define STBI_NO_JPEG
#define STBI_NO_PNG
#define STBI_NO_HDR
#define STBI_NO_PIC
#define STBI_NO_LINEAR
#define STBI_NO_STDIO
#define STBI_MALLOC(n) gl_malloc(n)
#define STBI_REALLOC(p, n) gl_realloc(p, n)
#define STBI_FREE(p) gl_free(p)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#include <stb_image.h>
#pragma GCC diagnostic pop

/* ==== Reading through callbacks ==== */

typedef struct {
    const uint8_t *data;
    size_t size, pos;
    int overrun; /* stb asked for bytes past the end */
} stb_source;

static int src_read(void *user, char *dst, int n) {
    stb_source *s = user;
    size_t left = s->size - s->pos, want = n > 0 ? (size_t)n : 0;
    if (left == 0 && want > 0) s->overrun = 1;
    if (want > left) want = left;
    memcpy(dst, s->data + s->pos, want);
    s->pos += want;
    return (int)want;
}

static void src_skip(void *user, int n) {
    stb_source *s = user;
    if (n < 0) {
        size_t back = (size_t)-(long)n;
        s->pos = back > s->pos ? 0 : s->pos - back;
        return;
    }
    if ((size_t)n > s->size - s->pos) {
        s->overrun = 1;
        s->pos = s->size;
    } else {
        s->pos += (size_t)n;
    }
}

static int src_eof(void *user) {
    stb_source *s = user;
    return s->pos >= s->size;
}

static void start(stbi__context *ctx, stb_source *src, const uint8_t *data, size_t size) {
    static const stbi_io_callbacks io = {src_read, src_skip, src_eof};
    src->data = data;
    src->size = size;
    src->pos = 0;
    src->overrun = 0;
    stbi__start_callbacks(ctx, (stbi_io_callbacks *)&io, src);
}

/* The error for a failed stb call: out of memory, truncated, or corrupt. */
static glimpse_status stb_failure(const gl_image_ctx *ctx, const stb_source *src, const char *fmt,
                                  const char *what) {
    const char *why = stbi_failure_reason();
    if (why && strcmp(why, "outofmem") == 0) return gl_error_nomem(ctx->name);
    if (src->overrun) return gl_error(GLIMPSE_ERR_FORMAT, "%s: truncated %s data", ctx->name, fmt);
    return gl_error(GLIMPSE_ERR_FORMAT, "%s: corrupt %s %s: %s", ctx->name, fmt, what, why ? why : "unreadable");
}

/* ==== Per-format details ==== */

static const char *format_name(gl_image_format f) {
    switch (f) {
    case GL_IMG_GIF: return "GIF";
    case GL_IMG_BMP: return "BMP";
    case GL_IMG_PNM: return "PNM";
    case GL_IMG_PSD: return "PSD";
    default: return "TGA";
    }
}

static uint32_t le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Pillow's rule (BmpImagePlugin): 32-bit files are RGBA only with
 * BI_ALPHABITFIELDS, or BI_BITFIELDS whose header carries an alpha mask. */
static int bmp_has_alpha(const uint8_t *d, size_t n) {
    if (n < 54) return 0;
    uint32_t hsz = le32(d + 14);
    if (hsz < 40) return 0;
    int bits = d[28] | d[29] << 8;
    uint32_t compression = le32(d + 30);
    if (bits != 32) return 0;
    if (compression == 6) return 1;
    return compression == 3 && hsz >= 56 && n >= 14 + 56 && le32(d + 14 + 52) != 0;
}

/* maxval of a P5/P6 header, parsed as stb and Pillow do (whitespace and
 * '#' comments between the fields); 0 when unreadable. *data_start is
 * where the samples begin, after the one whitespace byte ending maxval. */
static unsigned pnm_maxval(const uint8_t *d, size_t n, size_t *data_start) {
    size_t pos = 2;
    unsigned field[3] = {0, 0, 0};
    for (int f = 0; f < 3; f++) {
        for (;;) {
            while (pos < n && (d[pos] == ' ' || (d[pos] >= '\t' && d[pos] <= '\r'))) pos++;
            if (pos < n && d[pos] == '#') {
                while (pos < n && d[pos] != '\n' && d[pos] != '\r') pos++;
                continue;
            }
            break;
        }
        if (pos >= n || d[pos] < '0' || d[pos] > '9') return 0;
        while (pos < n && d[pos] >= '0' && d[pos] <= '9') {
            if (field[f] >= 100000000u) return 0; /* 9 digits at most */
            field[f] = field[f] * 10 + (unsigned)(d[pos++] - '0');
        }
    }
    *data_start = pos + 1;
    return field[2];
}

/* Pillow's PPM decoder: min(top, round(v / maxval * top)) in doubles, with
 * Python's round-half-to-even (nearbyint in the default rounding mode). */
static unsigned pnm_scale(unsigned v, unsigned maxval, unsigned top) {
    double r = nearbyint((double)v / (double)maxval * (double)top);
    return r > top ? top : (unsigned)r;
}

/* GIF first frame via stb's frame loader, so that the frame's completeness
 * can be checked (stb returns a partly filled frame when its data stop). */
static glimpse_status load_gif(const uint8_t *data, size_t size, const gl_image_ctx *ctx, gl_image *out) {
    stbi__context sc;
    stb_source src;
    stbi__gif *g = gl_calloc(1, sizeof *g);
    if (!g) return gl_error_nomem(ctx->name);
    start(&sc, &src, data, size);
    stbi__g_failure_reason = NULL;
    int comp;
    stbi_uc *rgba = stbi__gif_load_next(&sc, g, &comp, 4, 0); /* (h, w, 4) */
    glimpse_status st = GLIMPSE_OK;
    if (rgba == (stbi_uc *)&sc) {
        st = gl_error(GLIMPSE_ERR_FORMAT, "%s: corrupt GIF data: no image in the file", ctx->name);
        goto done;
    }
    if (!rgba) {
        st = stb_failure(ctx, &src, "GIF", "data");
        goto done;
    }
    if (g->cur_y < g->max_y || g->parse > 0) {
        st = gl_error(GLIMPSE_ERR_FORMAT, "%s: truncated GIF data (first frame incomplete)", ctx->name);
        goto done;
    }
    size_t n = (size_t)g->w * (size_t)g->h;
    int any_alpha = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t *p = rgba + 4 * i;
        if (p[3] == 255) continue;
        any_alpha = 1;
        if (g->history[i] && g->transparent >= 0 && g->color_table) {
            const stbi_uc *c = g->color_table + 4 * g->transparent; /* stored B, G, R, A */
            p[0] = c[2];
            p[1] = c[1];
            p[2] = c[0];
        }
    }
    st = gl_image_alloc(ctx, out, g->w, g->h, any_alpha ? 4 : 3);
    if (st != GLIMPSE_OK) goto done;
    for (size_t i = 0; i < n; i++) memcpy(out->pixels + i * out->channels, rgba + 4 * i, (size_t)out->channels);
done:
    gl_free(g->out);
    gl_free(g->history);
    gl_free(g->background);
    gl_free(g);
    return st;
}

glimpse_status gl_image_decode_stb(const uint8_t *data, size_t size, gl_image_format format,
                                   const gl_image_ctx *ctx, gl_image *out) {
    const char *fmt = format_name(format);
    stbi__context sc;
    stb_source src;
    /* Our parse first: stb's PNM integer reader overflows (undefined
     * behaviour) on long digit strings, which this one refuses. */
    size_t data_start = 0;
    unsigned maxval = format == GL_IMG_PNM ? pnm_maxval(data, size, &data_start) : 255;
    if (maxval == 0 || maxval > 65535)
        return gl_error(GLIMPSE_ERR_FORMAT, "%s: corrupt PNM header", ctx->name);
    int w = 0, h = 0, comp = 0, ok;
    start(&sc, &src, data, size);
    stbi__g_failure_reason = NULL;
    switch (format) {
    case GL_IMG_GIF: ok = stbi__gif_info(&sc, &w, &h, &comp); break;
    case GL_IMG_BMP: ok = stbi__bmp_info(&sc, &w, &h, &comp); break;
    case GL_IMG_PNM: ok = stbi__pnm_info(&sc, &w, &h, &comp); break;
    case GL_IMG_PSD: ok = stbi__psd_info(&sc, &w, &h, &comp); break;
    default: ok = stbi__tga_info(&sc, &w, &h, &comp); break;
    }
    if (!ok) return stb_failure(ctx, &src, fmt, "header");
    glimpse_status st = gl_image_check_size(ctx, fmt, (uint64_t)(w > 0 ? w : 0), (uint64_t)(h > 0 ? h : 0));
    if (st != GLIMPSE_OK) return st;
    if (format == GL_IMG_GIF) return load_gif(data, size, ctx, out);

    int want = comp;
    if (format == GL_IMG_BMP) want = bmp_has_alpha(data, size) ? 4 : 3;
    if (format == GL_IMG_PSD) want = size >= 14 && (data[12] << 8 | data[13]) >= 4 ? 4 : 3;
    if (want < 1 || want > 4)
        return gl_error(GLIMPSE_ERR_FORMAT, "%s: corrupt %s header", ctx->name, fmt);
    /* stb 2.27 ignores a short read of PNM samples (they stay zero). */
    if (format == GL_IMG_PNM && (data_start > size || (size - data_start) / (size_t)w / (size_t)h /
                                                          (size_t)want / (maxval > 255 ? 2 : 1) == 0))
        return gl_error(GLIMPSE_ERR_FORMAT, "%s: truncated PNM data", ctx->name);

    stbi__result_info ri;
    memset(&ri, 0, sizeof ri);
    ri.bits_per_channel = 8;
    start(&sc, &src, data, size);
    stbi__g_failure_reason = NULL;
    int lw = 0, lh = 0, lcomp = 0;
    void *pix; /* (lh, lw, want) samples of ri.bits_per_channel bits */
    switch (format) {
    case GL_IMG_BMP: pix = stbi__bmp_load(&sc, &lw, &lh, &lcomp, want, &ri); break;
    case GL_IMG_PNM: pix = stbi__pnm_load(&sc, &lw, &lh, &lcomp, want, &ri); break;
    case GL_IMG_PSD: pix = stbi__psd_load(&sc, &lw, &lh, &lcomp, want, &ri, 8); break;
    default: pix = stbi__tga_load(&sc, &lw, &lh, &lcomp, want, &ri); break;
    }
    if (!pix) return stb_failure(ctx, &src, fmt, "data");
    if (src.overrun) st = gl_error(GLIMPSE_ERR_FORMAT, "%s: truncated %s data", ctx->name, fmt);
    else if (lw != w || lh != h || (ri.bits_per_channel != 8 && ri.bits_per_channel != 16))
        st = gl_error(GLIMPSE_ERR_FORMAT, "%s: inconsistent %s header", ctx->name, fmt);
    else st = gl_image_alloc(ctx, out, w, h, want);
    if (st != GLIMPSE_OK) {
        gl_free(pix);
        return st;
    }
    size_t n = (size_t)w * (size_t)h * (size_t)want;
    if (ri.bits_per_channel == 16) { /* PNM with maxval > 255 */
        /* stb 2.27 hands back the file's big-endian samples unswapped.
         * Pillow: 16-bit PGM is mode "I" scaled to 65535 (convert("RGB")
         * then clips at 255); 16-bit PPM is scaled to 255. */
        const uint8_t *be = pix;
        unsigned top = want == 1 ? 65535 : 255;
        for (size_t i = 0; i < n; i++) {
            unsigned v = (unsigned)be[2 * i] << 8 | be[2 * i + 1];
            unsigned s = maxval == 65535 && want == 1 ? v : pnm_scale(v, maxval, top);
            out->pixels[i] = (uint8_t)(s > 255 ? 255 : s);
        }
    } else if (maxval != 255) {
        const uint8_t *v = pix;
        for (size_t i = 0; i < n; i++) out->pixels[i] = (uint8_t)pnm_scale(v[i], maxval, 255);
    } else {
        memcpy(out->pixels, pix, n);
    }
    gl_free(pix);
    return GLIMPSE_OK;
}
