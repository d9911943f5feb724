/* image_jpeg.c - JPEG decoding with libjpeg-turbo, matching Pillow.
 *
 * Pillow (src/libImaging/JpegDecode.c, JpegImagePlugin.py) decodes with the
 * library defaults: JDCT_ISLOW, fancy upsampling, output RGB for 3-component
 * files and gray for 1-component files; every 4-component file is opened as
 * Adobe-inverted CMYK ("CMYK;I", YCCK converted to CMYK by libjpeg), which
 * convert("RGB") maps with cmyk2rgb (src/libImaging/Convert.c). The same
 * settings here give the same pixels when both use libjpeg-turbo (Pillow
 * 13's wheels ship 3.x, Debian 12 has 2.1.5; their ISLOW + fancy upsampling
 * output is identical, checked by test_image_decode_matches_pillow).
 *
 * Safety (libjpeg-turbo's doc/libjpeg.txt, "Error handling" and "Memory
 * management"): errors longjmp out of the library instead of exit(); the
 * size from the frame header is checked against the limits before
 * jpeg_start_decompress allocates; mem->max_memory_to_use caps the
 * library's own allocations (a progressive file keeps all coefficients,
 * 2 bytes per sample) and, with no backing store, exceeding it is an error;
 * a progress monitor refuses files with absurd scan counts (the known
 * "many scans" CPU exhaustion).
 *
 * Damaged data: libjpeg repairs damaged entropy data with warnings ("Corrupt
 * JPEG data: ..."); those images decode, as in Pillow, and the warning is
 * reported. A file that ends early is refused as truncated when pixels are
 * missing, where libjpeg would pad the rest with gray: the source ran dry
 * (JWRN_JPEG_EOF) and the entropy decoder lacked bits for a block
 * (JWRN_HIT_MARKER), or the source ran dry in the headers. A single-scan
 * file whose data stop only before the final EOI marker, after every block
 * was decoded, is accepted with a warning: the picture is complete (Pillow
 * refuses this case; viewers and browsers show it). A progressive or
 * multi-scan file without its EOI cannot be told from one missing its last
 * scans: it is refused, as Pillow does. */
#include "checked.h"
#include "error.h"
#include "image_codecs.h"
#include "mem.h"

#include <limits.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <jerror.h>
#include <jpeglib.h>

/* Real files have at most a few dozen scans; libjpeg-turbo's own fuzzers
 * cap at 500. */
#define MAX_SCANS 500

typedef struct {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
    const gl_image_ctx *ctx;
    int premature_eof;   /* the source ran dry (libjpeg inserted a fake EOI) */
    int missing_bits;    /* entropy data stopped before a block was complete */
    char message[JMSG_LENGTH_MAX];
} jpeg_errors;

static void on_error(j_common_ptr cinfo) {
    jpeg_errors *err = (jpeg_errors *)cinfo->err;
    cinfo->err->format_message(cinfo, err->message);
    longjmp(err->jump, 1);
}

/* Level -1 is a warning (corrupt data); other levels are trace output. */
static void on_message(j_common_ptr cinfo, int level) {
    jpeg_errors *err = (jpeg_errors *)cinfo->err;
    if (level >= 0) return;
    if (cinfo->err->msg_code == JWRN_JPEG_EOF) {
        err->premature_eof = 1;
        return;
    }
    if (cinfo->err->msg_code == JWRN_HIT_MARKER) err->missing_bits = 1;
    char text[JMSG_LENGTH_MAX];
    cinfo->err->format_message(cinfo, text);
    gl_image_warn(err->ctx, "%s", text);
}

static void on_output(j_common_ptr cinfo) { (void)cinfo; }

static void on_progress(j_common_ptr cinfo) {
    j_decompress_ptr d = (j_decompress_ptr)cinfo;
    if (d->input_scan_number > MAX_SCANS) {
        jpeg_errors *err = (jpeg_errors *)cinfo->err;
        snprintf(err->message, sizeof err->message, "more than %d progressive scans", MAX_SCANS);
        longjmp(err->jump, 1);
    }
}

/* Pillow's MULDIV255: a * b / 255 rounded, in integers. */
static inline int muldiv255(int a, int b) {
    int t = a * b + 128;
    return ((t >> 8) + t) >> 8;
}

/* One row of libjpeg CMYK (Adobe-inverted) to RGB as Pillow does: the
 * "CMYK;I" unpacker inverts, then cmyk2rgb. */
static void cmyk_row_to_rgb(const uint8_t *cmyk, uint8_t *rgb, int width) {
    for (int x = 0; x < width; x++, cmyk += 4, rgb += 3) {
        int nk = cmyk[3]; /* 255 - inverted K */
        for (int i = 0; i < 3; i++) {
            int v = nk - muldiv255(255 - cmyk[i], nk);
            rgb[i] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
        }
    }
}

typedef struct {
    struct jpeg_decompress_struct cinfo;
    jpeg_errors err;
    struct jpeg_progress_mgr progress;
    uint8_t *cmyk_row; /* (width, 4) scratch for CMYK files */
} jpeg_state;

glimpse_status gl_image_decode_jpeg(const uint8_t *data, size_t size, const gl_image_ctx *ctx,
                                    gl_image *out) {
    /* Everything libjpeg may touch after a longjmp lives in *s, not in
     * automatic variables that setjmp could leave stale. */
    jpeg_state *s = gl_calloc(1, sizeof *s);
    if (!s) return gl_error_nomem(ctx->name);
    glimpse_status st = GLIMPSE_OK;
    s->cinfo.err = jpeg_std_error(&s->err.pub);
    s->err.pub.error_exit = on_error;
    s->err.pub.emit_message = on_message;
    s->err.pub.output_message = on_output;
    s->err.ctx = ctx;
    if (setjmp(s->err.jump)) {
        /* libjpeg-turbo refuses sides over 65500 itself, once SOF is read. */
        if (s->err.pub.msg_code == JERR_IMAGE_TOO_BIG &&
            gl_image_check_size(ctx, "JPEG", s->cinfo.image_width, s->cinfo.image_height) != GLIMPSE_OK)
            st = GLIMPSE_ERR_LIMIT;
        else if (s->err.pub.msg_code == JERR_BAD_PRECISION || s->err.pub.msg_code == JERR_SOF_UNSUPPORTED)
            st = gl_error(GLIMPSE_ERR_UNSUPPORTED, "%s: JPEG variant not supported: %s", ctx->name,
                          s->err.message);
        else if (s->err.premature_eof)
            st = gl_error(GLIMPSE_ERR_FORMAT, "%s: truncated JPEG data", ctx->name);
        else
            st = gl_error(GLIMPSE_ERR_FORMAT, "%s: corrupt JPEG data: %s", ctx->name, s->err.message);
        goto done;
    }
    jpeg_create_decompress(&s->cinfo);
    s->progress.progress_monitor = on_progress;
    s->cinfo.progress = &s->progress;
    jpeg_mem_src(&s->cinfo, data, (unsigned long)size);
    jpeg_read_header(&s->cinfo, TRUE);
    if (s->err.premature_eof) {
        st = gl_error(GLIMPSE_ERR_FORMAT, "%s: truncated JPEG data (in the header)", ctx->name);
        goto done;
    }
    st = gl_image_check_size(ctx, "JPEG", s->cinfo.image_width, s->cinfo.image_height);
    if (st != GLIMPSE_OK) goto done;

    /* A progressive file keeps the coefficients of every component, 2 bytes
     * per sample; 4 more bytes a pixel and 64 MiB cover the working buffers. */
    uint64_t pixels = (uint64_t)s->cinfo.image_width * s->cinfo.image_height, budget;
    if (gl_mul_overflow_u64(pixels, 2u * (uint64_t)s->cinfo.num_components + 4u, &budget) ||
        gl_add_overflow_u64(budget, 64u << 20, &budget))
        budget = UINT64_MAX;
    s->cinfo.mem->max_memory_to_use = budget > (uint64_t)LONG_MAX ? LONG_MAX : (long)budget;

    int channels;
    switch (s->cinfo.num_components) {
    case 1: s->cinfo.out_color_space = JCS_GRAYSCALE; channels = 1; break;
    case 3: s->cinfo.out_color_space = JCS_RGB; channels = 3; break;
    case 4: s->cinfo.out_color_space = JCS_CMYK; channels = 3; break;
    default:
        st = gl_error(GLIMPSE_ERR_UNSUPPORTED, "%s: JPEG with %d components is not supported",
                      ctx->name, s->cinfo.num_components);
        goto done;
    }
    s->cinfo.dct_method = JDCT_ISLOW;
    s->cinfo.do_fancy_upsampling = TRUE;
    jpeg_start_decompress(&s->cinfo);
    st = gl_image_alloc(ctx, out, (int)s->cinfo.output_width, (int)s->cinfo.output_height, channels);
    if (st != GLIMPSE_OK) goto done;
    if (s->cinfo.out_color_space == JCS_CMYK) {
        s->cmyk_row = gl_malloc_array(s->cinfo.output_width, 4);
        if (!s->cmyk_row) {
            st = gl_error_nomem(ctx->name);
            goto done;
        }
    }
    size_t stride = (size_t)out->width * (size_t)channels;
    while (s->cinfo.output_scanline < s->cinfo.output_height) {
        uint8_t *row = out->pixels + (size_t)s->cinfo.output_scanline * stride;
        JSAMPROW target = s->cmyk_row ? s->cmyk_row : row;
        if (jpeg_read_scanlines(&s->cinfo, &target, 1) != 1) break;
        if (s->cmyk_row) cmyk_row_to_rgb(s->cmyk_row, row, out->width);
    }
    int truncated = s->err.premature_eof && (s->err.missing_bits || jpeg_has_multiple_scans(&s->cinfo));
    if (truncated || s->cinfo.output_scanline < s->cinfo.output_height) {
        st = gl_error(GLIMPSE_ERR_FORMAT, "%s: truncated JPEG data (%u of %u rows present)", ctx->name,
                      s->cinfo.output_scanline, s->cinfo.output_height);
        goto done;
    }
    jpeg_finish_decompress(&s->cinfo);
    if (s->err.premature_eof) gl_image_warn(ctx, "JPEG data end before the EOI marker");
done:
    jpeg_destroy_decompress(&s->cinfo);
    gl_free(s->cmyk_row);
    gl_free(s);
    return st;
}
