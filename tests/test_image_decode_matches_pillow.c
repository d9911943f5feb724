/* Decoding every test image gives what transformers' load_image sees:
 * PIL.Image.open + ImageOps.exif_transpose + convert("RGB"), from
 * tests/fixtures/decoded/ (make_decode_fixtures.py). glimpse keeps gray and
 * alpha (vision/image.h), so the decoded image is first reduced to RGB the
 * way convert("RGB") does (replicate gray, drop alpha) and the alpha plane
 * is compared with convert("RGBA")'s.
 *
 * Tolerance: 0 for every format. JPEG is exact because glimpse and Pillow
 * both decode with libjpeg-turbo's ISLOW IDCT and fancy upsampling (system
 * 2.1.5 vs Pillow's bundled 3.x give the same samples); WebP because both
 * use libwebp's default decoder. */
#include "image.h"
#include "test.h"

#include <stdint.h>

#include <jpeglib.h>

static uint64_t fnv1a64(const uint8_t *p, size_t n) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

/* convert("RGB") of the emitted layout: (h, w, 3). */
static uint8_t *to_rgb(const gl_image *img) {
    size_t n = (size_t)img->width * img->height;
    uint8_t *rgb = malloc(n * 3);
    for (size_t i = 0; i < n; i++) {
        const uint8_t *p = img->pixels + i * img->channels;
        for (int c = 0; c < 3; c++) rgb[3 * i + c] = img->channels >= 3 ? p[c] : p[0];
    }
    return rgb;
}

static void check_image(const char *name, int w, int h, int channels, const char *rgb_file,
                        const char *alpha_file, uint64_t hash) {
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/fixtures/images/%s", GLIMPSE_SOURCE_DIR, name);
    gl_image img;
    gl_image_warnings warn;
    glimpse_status st = gl_image_decode_file_ex(path, NULL, &img, &warn);
    CHECK_MSG(st == GLIMPSE_OK, "%s: %s", name, glimpse_last_error());
    if (st != GLIMPSE_OK) return;
    CHECK_MSG(warn.count == 0, "%s: unexpected warning %s", name, warn.first);
    CHECK_MSG(img.width == w && img.height == h && img.channels == channels,
              "%s: got %dx%dx%d, want %dx%dx%d", name, img.width, img.height, img.channels, w, h, channels);
    if (img.width != w || img.height != h || img.channels != channels) {
        gl_image_free(&img);
        return;
    }
    size_t n = (size_t)w * h;
    uint8_t *rgb = to_rgb(&img);
    CHECK_MSG(fnv1a64(rgb, n * 3) == hash, "%s: RGB checksum differs from Pillow's", name);
    if (strcmp(rgb_file, "-") != 0) {
        snprintf(path, sizeof path, "%s/tests/fixtures/decoded/%s", GLIMPSE_SOURCE_DIR, rgb_file);
        size_t size = 0;
        uint8_t *want = test_read_file(path, &size);
        CHECK_MSG(want && size == n * 3, "%s: cannot read %s", name, path);
        if (want && size == n * 3) {
            int max_diff = 0;
            size_t n_diff = 0;
            for (size_t i = 0; i < n * 3; i++) {
                int d = abs((int)rgb[i] - (int)want[i]);
                if (d) n_diff++;
                if (d > max_diff) max_diff = d;
            }
            CHECK_MSG(max_diff == 0, "%s: %zu samples differ from Pillow, max by %d", name, n_diff, max_diff);
        }
        free(want);
    }
    if (strcmp(alpha_file, "-") != 0) {
        snprintf(path, sizeof path, "%s/tests/fixtures/decoded/%s", GLIMPSE_SOURCE_DIR, alpha_file);
        size_t size = 0;
        uint8_t *want = test_read_file(path, &size);
        CHECK_MSG(want && size == n, "%s: cannot read %s", name, path);
        size_t n_diff = 0;
        for (size_t i = 0; want && size == n && i < n; i++)
            n_diff += img.pixels[i * img.channels + img.channels - 1] != want[i];
        CHECK_MSG(n_diff == 0, "%s: %zu alpha samples differ from Pillow", name, n_diff);
        free(want);
    }
    free(rgb);
    gl_image_free(&img);
}

/* ==== YCCK: Pillow cannot write one, so libjpeg writes it here ==== */

typedef struct {
    unsigned char *data;
    unsigned long size;
} jpeg_buf;

/* Pillow's "CMYK;I" unpack then cmyk2rgb (src/libImaging/Convert.c). */
static uint8_t pillow_cmyk_inverted_to_rgb(int c, int k) {
    int ci = 255 - c, nk = 255 - (255 - k), t = ci * nk + 128;
    int v = nk - (((t >> 8) + t) >> 8);
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

static void check_ycck(void) {
    const int w = 40, h = 24;
    uint8_t *cmyk = malloc((size_t)w * h * 4); /* (h, w, 4) */
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *p = cmyk + ((size_t)y * w + x) * 4;
            p[0] = (uint8_t)(x * 6); p[1] = (uint8_t)(y * 10); p[2] = (uint8_t)((x + y) * 4); p[3] = (uint8_t)(255 - x * 3);
        }
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr jerr;
    jpeg_buf out = {NULL, 0};
    c.err = jpeg_std_error(&jerr);
    jpeg_create_compress(&c);
    jpeg_mem_dest(&c, &out.data, &out.size);
    c.image_width = (JDIMENSION)w;
    c.image_height = (JDIMENSION)h;
    c.input_components = 4;
    c.in_color_space = JCS_CMYK;
    jpeg_set_defaults(&c);
    jpeg_set_colorspace(&c, JCS_YCCK); /* also writes the Adobe marker, transform 2 */
    jpeg_set_quality(&c, 95, TRUE);
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < c.image_height) {
        JSAMPROW row = cmyk + (size_t)c.next_scanline * w * 4;
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);

    /* What Pillow's decoder holds: libjpeg's CMYK output of the same file. */
    struct jpeg_decompress_struct d;
    d.err = jpeg_std_error(&jerr);
    jpeg_create_decompress(&d);
    jpeg_mem_src(&d, out.data, out.size);
    jpeg_read_header(&d, TRUE);
    CHECK(d.jpeg_color_space == JCS_YCCK);
    d.out_color_space = JCS_CMYK;
    jpeg_start_decompress(&d);
    while (d.output_scanline < d.output_height) {
        JSAMPROW row = cmyk + (size_t)d.output_scanline * w * 4;
        jpeg_read_scanlines(&d, &row, 1);
    }
    jpeg_finish_decompress(&d);
    jpeg_destroy_decompress(&d);

    gl_image img;
    CHECK(gl_image_decode_memory(out.data, out.size, "ycck.jpg", NULL, &img) == GLIMPSE_OK);
    CHECK(img.width == w && img.height == h && img.channels == 3);
    size_t n_diff = 0;
    for (size_t i = 0; img.pixels && i < (size_t)w * h; i++)
        for (int k = 0; k < 3; k++)
            n_diff += img.pixels[3 * i + k] != pillow_cmyk_inverted_to_rgb(cmyk[4 * i + k], cmyk[4 * i + 3]);
    CHECK_MSG(n_diff == 0, "YCCK JPEG: %zu samples differ from Pillow's CMYK conversion", n_diff);
    gl_image_free(&img);
    free(out.data);
    free(cmyk);
}

int main(void) {
    check_ycck();
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/fixtures/decoded/manifest.txt", GLIMPSE_SOURCE_DIR);
    FILE *f = fopen(path, "r");
    CHECK_MSG(f != NULL, "cannot open %s", path);
    if (!f) TEST_DONE();
    char line[1024];
    int count = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#') continue;
        char name[256], rgb_file[300], alpha_file[300];
        int w, h, c;
        unsigned long long hash;
        if (sscanf(line, "%255s %d %d %d %299s %299s %llx", name, &w, &h, &c, rgb_file, alpha_file, &hash) != 7) {
            CHECK_MSG(0, "bad manifest line: %s", line);
            continue;
        }
        check_image(name, w, h, c, rgb_file, alpha_file, (uint64_t)hash);
        count++;
    }
    fclose(f);
    CHECK_MSG(count >= 40, "manifest lists only %d images", count);
    printf("%d images compared with Pillow\n", count);
    TEST_DONE();
}
