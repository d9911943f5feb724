/* image_png.c - PNG decoding with libpng, matching Pillow.
 *
 * Pillow (PngImagePlugin.py, src/libImaging/Unpack.c) opens palette files
 * as "P", gray as "1"/"L" (1/2/4-bit scaled to 0..255), 16-bit gray as
 * "I;16", 16-bit gray+alpha/RGB/RGBA with the high byte of each sample, and
 * keeps tRNS as info["transparency"]. image.h says what is emitted for each.
 * Gamma, colour profiles and sBIT are ignored by both. Adam7 interlacing is
 * undone by libpng. Missing or damaged data after the last image row (a
 * lost IEND, a bad chunk after IDAT) is accepted with a warning, as Pillow
 * accepts it; data ending inside the image is refused as truncated.
 * CRC errors in critical chunks are warnings (Pillow does not check the
 * IDAT CRC); bad ancillary chunks are dropped.
 *
 * Safety (libpng-manual.txt "Setting up the error handling", "Limits"):
 * errors longjmp back here; IHDR's size is checked against the limits
 * before libpng sees the file, and png_set_user_limits repeats the side
 * limit inside libpng; chunk cache and chunk allocation are capped, and
 * text, ICC and unknown chunks are skipped without decompressing them
 * (exif.c reads the metadata glimpse needs from the raw chunks). */
#include "error.h"
#include "image_codecs.h"
#include "mem.h"

#include <setjmp.h>
#include <string.h>

#include <png.h>

#define CHUNK_CACHE_MAX 1000
#define CHUNK_MALLOC_MAX (8u << 20)

typedef struct {
    const uint8_t *data;
    size_t size, pos;
    const gl_image_ctx *ctx;
    int truncated;
    char message[256];
    png_structp png;
    png_infop info;
    png_bytepp rows;  /* (height) pointers into out->pixels or wide */
    uint8_t *wide;    /* (height, width, 2) big-endian 16-bit gray, else NULL */
} png_state;

static void on_error(png_structp png, png_const_charp msg) {
    png_state *s = png_get_error_ptr(png);
    snprintf(s->message, sizeof s->message, "%s", msg);
    png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp msg) {
    png_state *s = png_get_error_ptr(png);
    gl_image_warn(s->ctx, "PNG: %s", msg);
}

static void on_read(png_structp png, png_bytep dst, png_size_t len) {
    png_state *s = png_get_io_ptr(png);
    if (len > s->size - s->pos) {
        s->truncated = 1;
        png_error(png, "unexpected end of data");
    }
    memcpy(dst, s->data + s->pos, len);
    s->pos += len;
}

static png_voidp on_malloc(png_structp png, png_alloc_size_t size) {
    (void)png;
    return gl_malloc(size);
}

static void on_free(png_structp png, png_voidp p) {
    (void)png;
    gl_free(p);
}

static uint32_t be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Chunks glimpse never needs, skipped unread by libpng. */
static const png_byte skipped_chunks[] = "tEXt\0zTXt\0iTXt\0iCCP\0sPLT\0eXIf\0hIST\0tIME\0pCAL\0sCAL";

glimpse_status gl_image_decode_png(const uint8_t *data, size_t size, const gl_image_ctx *ctx,
                                   gl_image *out) {
    /* IHDR must come first (PNG spec 5.6): its size is checked before libpng
     * allocates anything for the file. */
    if (size < 33) return gl_error(GLIMPSE_ERR_FORMAT, "%s: truncated PNG data (no IHDR)", ctx->name);
    if (memcmp(data + 12, "IHDR", 4) != 0)
        return gl_error(GLIMPSE_ERR_FORMAT, "%s: corrupt PNG data: IHDR is not the first chunk", ctx->name);
    glimpse_status st = gl_image_check_size(ctx, "PNG", be32(data + 16), be32(data + 20));
    if (st != GLIMPSE_OK) return st;

    /* State that must survive a longjmp lives on the heap (see setjmp(3)). */
    png_state *s = gl_calloc(1, sizeof *s);
    if (!s) return gl_error_nomem(ctx->name);
    s->data = data;
    s->size = size;
    s->ctx = ctx;
    s->png = png_create_read_struct_2(PNG_LIBPNG_VER_STRING, s, on_error, on_warning, s, on_malloc, on_free);
    if (s->png) s->info = png_create_info_struct(s->png);
    if (!s->png || !s->info) {
        st = gl_error_nomem(ctx->name);
        goto done;
    }
    if (setjmp(png_jmpbuf(s->png))) {
        if (s->truncated)
            st = gl_error(GLIMPSE_ERR_FORMAT, "%s: truncated PNG data", ctx->name);
        else
            st = gl_error(GLIMPSE_ERR_FORMAT, "%s: corrupt PNG data: %s", ctx->name, s->message);
        goto done;
    }
    png_set_read_fn(s->png, s, on_read);
    png_set_user_limits(s->png, (png_uint_32)ctx->lim->max_side, (png_uint_32)ctx->lim->max_side);
    png_set_chunk_cache_max(s->png, CHUNK_CACHE_MAX);
    png_set_chunk_malloc_max(s->png, CHUNK_MALLOC_MAX);
    png_set_crc_action(s->png, PNG_CRC_WARN_USE, PNG_CRC_WARN_DISCARD);
    png_set_keep_unknown_chunks(s->png, PNG_HANDLE_CHUNK_NEVER, NULL, 0);
    png_set_keep_unknown_chunks(s->png, PNG_HANDLE_CHUNK_NEVER, skipped_chunks,
                                (int)(sizeof skipped_chunks / 5));
    png_read_info(s->png, s->info);

    png_uint_32 width, height;
    int depth, color, interlace;
    png_get_IHDR(s->png, s->info, &width, &height, &depth, &color, &interlace, NULL, NULL);
    const int gray16 = color == PNG_COLOR_TYPE_GRAY && depth == 16;
    if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(s->png);
    if (color == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(s->png);
    if (!gray16 && png_get_valid(s->png, s->info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(s->png);
    if (depth == 16 && !gray16) png_set_strip_16(s->png);
    png_set_interlace_handling(s->png);
    png_read_update_info(s->png, s->info);

    const int channels = png_get_channels(s->png, s->info);
    st = gl_image_alloc(ctx, out, (int)width, (int)height, channels);
    if (st != GLIMPSE_OK) goto done;
    size_t stride = (size_t)width * (size_t)channels * (gray16 ? 2 : 1);
    if (png_get_rowbytes(s->png, s->info) != stride) {
        st = gl_error(GLIMPSE_ERR_FORMAT, "%s: unexpected PNG row layout", ctx->name);
        goto done;
    }
    if (gray16) {
        s->wide = gl_malloc_array(height, stride);
        if (!s->wide) {
            st = gl_error_nomem(ctx->name);
            goto done;
        }
    }
    s->rows = gl_malloc_array(height, sizeof *s->rows);
    if (!s->rows) {
        st = gl_error_nomem(ctx->name);
        goto done;
    }
    uint8_t *base = s->wide ? s->wide : out->pixels;
    for (png_uint_32 y = 0; y < height; y++) s->rows[y] = base + (size_t)y * stride;
    png_read_image(s->png, s->rows);

    if (s->wide) { /* Pillow: "I;16" -> RGB clips each value to 255 */
        size_t n = (size_t)width * height;
        for (size_t i = 0; i < n; i++) {
            unsigned v = (unsigned)s->wide[2 * i] << 8 | s->wide[2 * i + 1];
            out->pixels[i] = (uint8_t)(v > 255 ? 255 : v);
        }
    }
    /* Every row is in: trouble from here on only costs the trailing chunks. */
    if (setjmp(png_jmpbuf(s->png))) {
        gl_image_warn(ctx, "PNG: %s after the image data", s->truncated ? "data end" : s->message);
        goto done;
    }
    png_read_end(s->png, NULL);
done:
    if (s->png) png_destroy_read_struct(&s->png, s->info ? &s->info : NULL, NULL);
    gl_free(s->rows);
    gl_free(s->wide);
    gl_free(s);
    return st;
}
