/* image.c - image decoding front end: reads the file, picks the decoder by
 * magic bytes (never by extension), enforces the size limits shared by all
 * decoders, and applies the EXIF orientation (exif.c).
 *
 * Magic numbers: JPEG (ITU T.81 SOI FF D8 FF), PNG (signature, RFC 2083),
 * RIFF/WEBP, GIF87a/89a, BMP "BM" + a known info-header size, PNM P5/P6,
 * PSD "8BPS". TGA has no magic and is tried last (see looks_like_tga).
 * Formats glimpse refuses by name: HEIC/HEIF and AVIF (ISO BMFF "ftyp"
 * brands, ISO/IEC 23008-12 and the AV1 image format spec), JPEG XL
 * (ISO/IEC 18181: FF 0A or the 12-byte container box), TIFF (II*\0 / MM\0*),
 * JPEG 2000 (FF 4F FF 51 or the jP box) and SVG. */
#include "image.h"

#include "checked.h"
#include "error.h"
#include "exif.h"
#include "image_codecs.h"
#include "mem.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* ==== Limits and allocation shared with the decoders ==== */

gl_image_limits gl_image_default_limits(void) {
    gl_image_limits lim = {GL_IMAGE_DEFAULT_MAX_PIXELS, GL_IMAGE_DEFAULT_MAX_SIDE};
    return lim;
}

glimpse_status gl_image_check_size(const gl_image_ctx *ctx, const char *format, uint64_t width,
                                   uint64_t height) {
    if (width == 0 || height == 0)
        return gl_error(GLIMPSE_ERR_FORMAT, "%s: %s header gives a zero size (%llux%llu)", ctx->name,
                        format, (unsigned long long)width, (unsigned long long)height);
    if (width > (uint64_t)ctx->lim->max_side || height > (uint64_t)ctx->lim->max_side)
        return gl_error(GLIMPSE_ERR_LIMIT,
                        "%s: %s header claims %llux%llu pixels, over the limit of %d per side",
                        ctx->name, format, (unsigned long long)width, (unsigned long long)height,
                        ctx->lim->max_side);
    uint64_t pixels;
    if (gl_mul_overflow_u64(width, height, &pixels) || pixels > ctx->lim->max_pixels)
        return gl_error(GLIMPSE_ERR_LIMIT,
                        "%s: %s header claims %llux%llu pixels, over the limit of %llu pixels",
                        ctx->name, format, (unsigned long long)width, (unsigned long long)height,
                        (unsigned long long)ctx->lim->max_pixels);
    return GLIMPSE_OK;
}

glimpse_status gl_image_alloc(const gl_image_ctx *ctx, gl_image *img, int width, int height,
                              int channels) {
    size_t row, total;
    if (width <= 0 || height <= 0 || channels < 1 || channels > 4 ||
        gl_mul_overflow((size_t)width, (size_t)channels, &row) ||
        gl_mul_overflow(row, (size_t)height, &total))
        return gl_error(GLIMPSE_ERR_LIMIT, "%s: image of %dx%dx%d does not fit in memory", ctx->name,
                        width, height, channels);
    img->pixels = gl_malloc(total);
    if (!img->pixels) return gl_error_nomem(ctx->name);
    img->width = width;
    img->height = height;
    img->channels = channels;
    return GLIMPSE_OK;
}

void gl_image_warn(const gl_image_ctx *ctx, const char *fmt, ...) {
    if (!ctx->warnings) return;
    if (ctx->warnings->count++ > 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx->warnings->first, sizeof ctx->warnings->first, fmt, ap);
    va_end(ap);
}

void gl_image_free(gl_image *img) {
    if (!img) return;
    gl_free(img->pixels);
    memset(img, 0, sizeof *img);
}

/* ==== Format detection ==== */

static int has_prefix(const uint8_t *d, size_t n, const char *magic, size_t len) {
    return n >= len && memcmp(d, magic, len) == 0;
}

static uint32_t be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* ISO BMFF files start with an "ftyp" box: major brand, minor version, then
 * compatible brands. A brand in any slot decides. */
static const char *bmff_image_kind(const uint8_t *d, size_t n) {
    if (n < 16 || memcmp(d + 4, "ftyp", 4) != 0) return NULL;
    size_t box = be32(d);
    if (box < 16 || box > n) box = n < 64 ? n : 64;
    static const char *const heif[] = {"heic", "heix", "heim", "heis", "hevc", "hevx",
                                       "hevm", "hevs", "mif1", "msf1"};
    const char *kind = NULL;
    for (size_t off = 8; off + 4 <= box; off += 4) {
        if (off == 12) continue; /* minor version, not a brand */
        if (memcmp(d + off, "avif", 4) == 0 || memcmp(d + off, "avis", 4) == 0) return "AVIF";
        for (size_t i = 0; i < sizeof heif / sizeof heif[0]; i++)
            if (memcmp(d + off, heif[i], 4) == 0) kind = "HEIC";
    }
    return kind;
}

/* Names a well-known format that glimpse does not decode, or NULL. */
static const char *refused_format(const uint8_t *d, size_t n) {
    const char *bmff = bmff_image_kind(d, n);
    if (bmff) return bmff;
    if (has_prefix(d, n, "\xff\x0a", 2) ||
        has_prefix(d, n, "\0\0\0\x0cJXL \x0d\x0a\x87\x0a", 12))
        return "JPEG XL";
    if (has_prefix(d, n, "II*\0", 4) || has_prefix(d, n, "MM\0*", 4) ||
        has_prefix(d, n, "II+\0", 4) || has_prefix(d, n, "MM\0+", 4))
        return "TIFF";
    if (has_prefix(d, n, "\xff\x4f\xff\x51", 4) ||
        has_prefix(d, n, "\0\0\0\x0cjP  \x0d\x0a\x87\x0a", 12))
        return "JPEG 2000";
    /* SVG: XML text whose first element is <svg (possibly after <?xml ...?>). */
    size_t head = n < 512 ? n : 512;
    if (has_prefix(d, n, "<svg", 4) ||
        (has_prefix(d, n, "<?xml", 5) && gl_find_bytes(d, head, "<svg", 4) != NULL))
        return "SVG";
    return NULL;
}

static int is_space(uint8_t c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

/* TGA (Truevision TGA 2.0 spec) has no signature: accept the header only if
 * every field holds a value the format allows, as stb_image's stbi__tga_test
 * does, plus the descriptor's reserved interleave bits being zero. A TGA 2.0
 * footer ("TRUEVISION-XFILE.\0") is not required, since most writers omit it. */
static int looks_like_tga(const uint8_t *d, size_t n) {
    if (n < 18) return 0;
    int cmap_type = d[1], type = d[2];
    int cmap_bits = d[7], bits = d[16], desc = d[17];
    int width = d[12] | d[13] << 8, height = d[14] | d[15] << 8;
    if (width == 0 || height == 0 || (desc & 0xc0) != 0) return 0;
    if (cmap_type == 1) {
        if (type != 1 && type != 9) return 0;
        if (cmap_bits != 8 && cmap_bits != 15 && cmap_bits != 16 && cmap_bits != 24 && cmap_bits != 32)
            return 0;
        int cmap_len = d[5] | d[6] << 8;
        if (cmap_len == 0) return 0;
        return bits == 8 || bits == 16;
    }
    if (cmap_type != 0) return 0;
    if (type != 2 && type != 3 && type != 10 && type != 11) return 0;
    return bits == 8 || bits == 15 || bits == 16 || bits == 24 || bits == 32;
}

typedef struct {
    gl_image_format format;
    const char *refused;  /* set when the format is known but not supported */
    const char *detail;   /* why, when refused needs more words */
} detected;

static detected detect_format(const uint8_t *d, size_t n) {
    detected r = {GL_IMG_UNKNOWN, NULL, NULL};
    if (has_prefix(d, n, "\xff\xd8\xff", 3)) r.format = GL_IMG_JPEG;
    else if (has_prefix(d, n, "\x89PNG\r\n\x1a\n", 8)) r.format = GL_IMG_PNG;
    else if (n >= 12 && memcmp(d, "RIFF", 4) == 0 && memcmp(d + 8, "WEBP", 4) == 0) r.format = GL_IMG_WEBP;
    else if (has_prefix(d, n, "GIF87a", 6) || has_prefix(d, n, "GIF89a", 6)) r.format = GL_IMG_GIF;
    else if (has_prefix(d, n, "8BPS", 4)) r.format = GL_IMG_PSD;
    else if (n >= 18 && d[0] == 'B' && d[1] == 'M') {
        /* Info-header sizes that BMP readers know (stb_image, Pillow). */
        uint32_t hsz = (uint32_t)d[14] | (uint32_t)d[15] << 8 | (uint32_t)d[16] << 16 | (uint32_t)d[17] << 24;
        if (hsz == 12 || hsz == 40 || hsz == 52 || hsz == 56 || hsz == 108 || hsz == 124) r.format = GL_IMG_BMP;
    } else if (n >= 3 && d[0] == 'P' && is_space(d[2])) {
        if (d[1] == '5' || d[1] == '6') r.format = GL_IMG_PNM;
        else if (d[1] >= '1' && d[1] <= '4') {
            r.refused = "plain or 1-bit PNM";
            r.detail = "only binary PGM (P5) and PPM (P6) are read";
        }
    } else if (n >= 2 && d[0] == 'P' && (d[1] == '7' || d[1] == 'f' || d[1] == 'F')) {
        r.refused = "PAM/PFM";
        r.detail = "only binary PGM (P5) and PPM (P6) are read";
    }
    if (r.format != GL_IMG_UNKNOWN || r.refused) return r;
    r.refused = refused_format(d, n);
    if (!r.refused && looks_like_tga(d, n)) r.format = GL_IMG_TGA;
    return r;
}

/* ==== Decoding ==== */

glimpse_status gl_image_decode_memory_ex(const void *data, size_t size, const char *name,
                                         const gl_image_limits *lim, gl_image *out,
                                         gl_image_warnings *warnings) {
    if (!out) return gl_error(GLIMPSE_ERR_INVALID_ARG, "image decode: no output image");
    memset(out, 0, sizeof *out);
    if (!name) name = "image";
    if (warnings) memset(warnings, 0, sizeof *warnings);
    gl_image_limits defaults = gl_image_default_limits();
    if (!lim) lim = &defaults;
    if (lim->max_side <= 0 || lim->max_pixels == 0)
        return gl_error(GLIMPSE_ERR_INVALID_ARG, "%s: image limits must be positive", name);
    if (!data || size == 0) return gl_error(GLIMPSE_ERR_FORMAT, "%s: empty file", name);

    const uint8_t *d = data;
    gl_image_ctx ctx = {name, lim, warnings};
    detected f = detect_format(d, size);
    if (f.refused) {
        if (f.detail)
            return gl_error(GLIMPSE_ERR_UNSUPPORTED, "%s: %s images are not supported (%s); convert to PNG",
                            name, f.refused, f.detail);
        return gl_error(GLIMPSE_ERR_UNSUPPORTED,
                        "%s: %s images are not supported; convert to JPEG or PNG", name, f.refused);
    }
    glimpse_status st;
    switch (f.format) {
    case GL_IMG_JPEG: st = gl_image_decode_jpeg(d, size, &ctx, out); break;
    case GL_IMG_PNG: st = gl_image_decode_png(d, size, &ctx, out); break;
    case GL_IMG_WEBP: st = gl_image_decode_webp(d, size, &ctx, out); break;
    case GL_IMG_GIF:
    case GL_IMG_BMP:
    case GL_IMG_PNM:
    case GL_IMG_PSD:
    case GL_IMG_TGA: st = gl_image_decode_stb(d, size, f.format, &ctx, out); break;
    default:
        return gl_error(GLIMPSE_ERR_UNSUPPORTED,
                        "%s: not a recognised image format (JPEG, PNG, WebP, GIF, BMP, TGA, PNM and "
                        "PSD are read)", name);
    }
    if (st != GLIMPSE_OK) {
        gl_image_free(out);
        return st;
    }
    /* Pillow reads orientation from JPEG, PNG and WebP metadata only. */
    int orientation = 1;
    if (f.format == GL_IMG_JPEG) orientation = gl_exif_orientation_jpeg(d, size);
    else if (f.format == GL_IMG_PNG) orientation = gl_exif_orientation_png(d, size);
    else if (f.format == GL_IMG_WEBP) orientation = gl_exif_orientation_webp(d, size);
    st = gl_exif_apply_orientation(out, orientation);
    if (st != GLIMPSE_OK) {
        gl_image_free(out);
        return gl_error_nomem(name);
    }
    return GLIMPSE_OK;
}

glimpse_status gl_image_decode_memory(const void *data, size_t size, const char *name,
                                      const gl_image_limits *lim, gl_image *out) {
    return gl_image_decode_memory_ex(data, size, name, lim, out, NULL);
}

/* ==== Files and standard input ==== */

/* Reads a whole stream of unknown length, growing the buffer, up to the cap. */
static glimpse_status read_stream(FILE *f, const char *name, uint8_t **data, size_t *size) {
    size_t cap = 1 << 16, len = 0;
    uint8_t *buf = gl_malloc(cap);
    if (!buf) return gl_error_nomem(name);
    for (;;) {
        if (len == cap) {
            if (cap >= GL_IMAGE_MAX_FILE_BYTES) {
                gl_free(buf);
                return gl_error(GLIMPSE_ERR_LIMIT, "%s: input is larger than %llu bytes", name,
                                (unsigned long long)GL_IMAGE_MAX_FILE_BYTES);
            }
            size_t next = cap * 2;
            uint8_t *grown = gl_realloc(buf, next);
            if (!grown) {
                gl_free(buf);
                return gl_error_nomem(name);
            }
            buf = grown;
            cap = next;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0) break;
    }
    if (ferror(f)) {
        gl_free(buf);
        return gl_error(GLIMPSE_ERR_IO, "%s: read error", name);
    }
    *data = buf;
    *size = len;
    return GLIMPSE_OK;
}

static glimpse_status read_file(const char *path, uint8_t **data, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return gl_error(GLIMPSE_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    int err = fstat(fileno(f), &sb) != 0 ? errno : S_ISDIR(sb.st_mode) ? EISDIR : 0;
    if (err) {
        fclose(f);
        return gl_error(GLIMPSE_ERR_IO, "%s: cannot read: %s", path, strerror(err));
    }
    if (S_ISREG(sb.st_mode) && (uint64_t)sb.st_size > GL_IMAGE_MAX_FILE_BYTES) {
        fclose(f);
        return gl_error(GLIMPSE_ERR_LIMIT, "%s: file is larger than %llu bytes", path,
                        (unsigned long long)GL_IMAGE_MAX_FILE_BYTES);
    }
    glimpse_status st = read_stream(f, path, data, size);
    fclose(f);
    return st;
}

glimpse_status gl_image_decode_file_ex(const char *path, const gl_image_limits *lim, gl_image *out,
                                       gl_image_warnings *warnings) {
    if (out) memset(out, 0, sizeof *out);
    if (!path || !out) return gl_error(GLIMPSE_ERR_INVALID_ARG, "image decode: no path or output");
    uint8_t *data = NULL;
    size_t size = 0;
    int is_stdin = strcmp(path, "-") == 0;
    const char *name = is_stdin ? "<stdin>" : path;
    glimpse_status st = is_stdin ? read_stream(stdin, name, &data, &size) : read_file(path, &data, &size);
    if (st != GLIMPSE_OK) return st;
    st = gl_image_decode_memory_ex(data, size, name, lim, out, warnings);
    gl_free(data);
    return st;
}

glimpse_status gl_image_decode_file(const char *path, const gl_image_limits *lim, gl_image *out) {
    return gl_image_decode_file_ex(path, lim, out, NULL);
}
