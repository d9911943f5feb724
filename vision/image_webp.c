/* image_webp.c - WebP decoding with libwebp, matching Pillow.
 *
 * Pillow (WebPImagePlugin.py, src/_webp.c) opens a still WebP as "RGBA"
 * when the bitstream has alpha and "RGB" otherwise, decoded by libwebp with
 * its default (fancy) upsampling; the same call here gives the same pixels.
 * Animated WebP needs libwebpdemux to composite frames, which glimpse does
 * not link: it is refused with a message. The size from the VP8/VP8L/VP8X
 * header (WebPGetFeatures) is checked against the limits before decoding,
 * and libwebp writes straight into the buffer allocated here. A file that
 * ends early is refused as truncated (libwebp's NOT_ENOUGH_DATA), as
 * Pillow refuses it. */
#include "error.h"
#include "image_codecs.h"
#include "mem.h"

#include <webp/decode.h>

static const char *status_text(VP8StatusCode code) {
    switch (code) {
    case VP8_STATUS_OUT_OF_MEMORY: return "out of memory";
    case VP8_STATUS_INVALID_PARAM: return "invalid parameter";
    case VP8_STATUS_BITSTREAM_ERROR: return "bitstream error";
    case VP8_STATUS_UNSUPPORTED_FEATURE: return "unsupported feature";
    case VP8_STATUS_SUSPENDED: return "suspended";
    case VP8_STATUS_USER_ABORT: return "aborted";
    case VP8_STATUS_NOT_ENOUGH_DATA: return "not enough data";
    default: return "unknown error";
    }
}

glimpse_status gl_image_decode_webp(const uint8_t *data, size_t size, const gl_image_ctx *ctx,
                                    gl_image *out) {
    /* RIFF header: "RIFF", payload size (little-endian), "WEBP". */
    uint64_t riff = (uint64_t)data[4] | (uint64_t)data[5] << 8 | (uint64_t)data[6] << 16 |
                    (uint64_t)data[7] << 24;
    if (riff + 8 > size) return gl_error(GLIMPSE_ERR_FORMAT, "%s: truncated WebP data", ctx->name);

    WebPDecoderConfig config;
    if (!WebPInitDecoderConfig(&config))
        return gl_error(GLIMPSE_ERR_UNSUPPORTED, "%s: libwebp version mismatch", ctx->name);
    VP8StatusCode code = WebPGetFeatures(data, size, &config.input);
    if (code == VP8_STATUS_NOT_ENOUGH_DATA)
        return gl_error(GLIMPSE_ERR_FORMAT, "%s: truncated WebP data", ctx->name);
    if (code != VP8_STATUS_OK)
        return gl_error(GLIMPSE_ERR_FORMAT, "%s: corrupt WebP data: %s", ctx->name, status_text(code));
    if (config.input.has_animation)
        return gl_error(GLIMPSE_ERR_UNSUPPORTED,
                        "%s: animated WebP images are not supported; convert to PNG", ctx->name);
    glimpse_status st = gl_image_check_size(ctx, "WebP", (uint64_t)config.input.width,
                                            (uint64_t)config.input.height);
    if (st != GLIMPSE_OK) return st;
    const int channels = config.input.has_alpha ? 4 : 3;
    st = gl_image_alloc(ctx, out, config.input.width, config.input.height, channels);
    if (st != GLIMPSE_OK) return st;

    config.output.colorspace = channels == 4 ? MODE_RGBA : MODE_RGB;
    config.output.is_external_memory = 1;
    config.output.u.RGBA.rgba = out->pixels;
    config.output.u.RGBA.stride = out->width * channels;
    config.output.u.RGBA.size = (size_t)out->width * (size_t)out->height * (size_t)channels;
    code = WebPDecode(data, size, &config);
    WebPFreeDecBuffer(&config.output);
    if (code == VP8_STATUS_NOT_ENOUGH_DATA)
        return gl_error(GLIMPSE_ERR_FORMAT, "%s: truncated WebP data", ctx->name);
    if (code != VP8_STATUS_OK)
        return gl_error(GLIMPSE_ERR_FORMAT, "%s: corrupt WebP data: %s", ctx->name, status_text(code));
    return GLIMPSE_OK;
}
