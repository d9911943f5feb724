/* Bad image input is refused with a message naming the file and the
 * problem, never a crash, an out-of-bounds read or an allocation sized by a
 * lying header: truncations at several points of every format, headers
 * claiming 65535x65535, the pixel limit, zero sizes, random bytes, formats
 * glimpse does not read (HEIC, AVIF, JPEG XL, TIFF), empty and missing
 * files, and every allocation failure. Also the cases that must still
 * decode: damage libjpeg repairs (with a warning), a JPEG or PNG missing
 * only its end marker, an interlaced PNG built here with libpng, and input
 * from standard input. Run under ASan+UBSan in the sanitizer build. */
#include "image.h"
#include "mem.h"
#include "test.h"

#include <png.h>
#include <stdint.h>

static uint8_t *fixture(const char *name, size_t *size) {
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/fixtures/images/%s", GLIMPSE_SOURCE_DIR, name);
    uint8_t *d = test_read_file(path, size);
    if (!d) {
        fprintf(stderr, "cannot read %s\n", path);
        exit(1);
    }
    return d;
}

static glimpse_status decode(const void *d, size_t n, const gl_image_limits *lim, gl_image *img) {
    return gl_image_decode_memory(d, n, "x.img", lim, img);
}

/* ==== Truncation ==== */

static void check_truncated(const char *name, const char *needle) {
    size_t size;
    uint8_t *d = fixture(name, &size);
    /* In the header, a third of the way, half way, and near the end. */
    size_t cuts[] = {size > 40 ? 20 : size / 2, size / 3, size / 2, size * 9 / 10};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        gl_image img;
        glimpse_status st = decode(d, cuts[i], NULL, &img);
        CHECK_MSG(st == GLIMPSE_ERR_FORMAT && strstr(glimpse_last_error(), needle) &&
                      strstr(glimpse_last_error(), "x.img: ") == glimpse_last_error(),
                  "%s cut at %zu of %zu: status %d, '%s'", name, cuts[i], size, (int)st, glimpse_last_error());
        CHECK(img.pixels == NULL && img.width == 0);
    }
    free(d);
}

/* Every prefix of a small file: nothing but OK or a clean error. */
static void check_every_prefix(const char *name) {
    size_t size;
    uint8_t *d = fixture(name, &size);
    for (size_t cut = 0; cut < size; cut += 1 + cut / 64) {
        gl_image img;
        glimpse_status st = decode(d, cut, NULL, &img);
        CHECK_MSG(st == GLIMPSE_OK || glimpse_last_error()[0] != 0, "%s cut at %zu", name, cut);
        gl_image_free(&img);
    }
    free(d);
}

static void check_truncation(void) {
    check_truncated("landscape.jpg", "truncated JPEG data");
    check_truncated("progressive.jpg", "truncated JPEG data");
    check_truncated("portrait.png", "truncated PNG data");
    check_truncated("scene.webp", "truncated WebP data");
    check_truncated("scene.gif", "truncated GIF data");
    check_truncated("scene.bmp", "truncated BMP data");
    check_truncated("scene.tga", "truncated TGA data");
    check_truncated("scene_rle.tga", "truncated TGA data");
    check_truncated("scene.ppm", "truncated PNM data");
    check_truncated("scene.psd", "truncated PSD data");
    const char *small[] = {"orient6.jpg", "palette_trns.png", "exif_rot5.webp", "transparent.gif",
                           "bgra32.bmp", "gray.tga", "maxval15.pgm", "scene.psd", "gray16.png"};
    for (size_t i = 0; i < sizeof small / sizeof small[0]; i++) check_every_prefix(small[i]);

    /* A progressive JPEG without its EOI cannot be told from one missing
     * scans: refused, as in Pillow. */
    size_t size;
    uint8_t *d = fixture("progressive.jpg", &size);
    gl_image img;
    CHECK_ERROR(decode(d, size - 2, NULL, &img), GLIMPSE_ERR_FORMAT, "truncated JPEG data");
    free(d);
}

/* ==== What must still decode ==== */

static void check_tolerated(void) {
    gl_image img;
    gl_image_warnings warn;
    size_t size;
    uint8_t *d = fixture("landscape.jpg", &size);
    /* Baseline JPEG missing only EOI: every row is there. */
    CHECK(gl_image_decode_memory_ex(d, size - 2, "x.jpg", NULL, &img, &warn) == GLIMPSE_OK);
    CHECK(warn.count == 1 && strstr(warn.first, "EOI"));
    CHECK(img.width == 320 && img.height == 240);
    gl_image_free(&img);
    /* Junk bytes between two header segments: libjpeg warns "Corrupt JPEG
     * data: 3 extraneous bytes before marker 0xdb" and decodes, like Pillow. */
    size_t app0_end = 4 + ((size_t)d[4] << 8 | d[5]); /* SOI, then APP0 (JFIF) */
    uint8_t *j = malloc(size + 3);
    memcpy(j, d, app0_end);
    memcpy(j + app0_end, "\x11\x22\x33", 3);
    memcpy(j + app0_end + 3, d + app0_end, size - app0_end);
    CHECK(gl_image_decode_memory_ex(j, size + 3, "x.jpg", NULL, &img, &warn) == GLIMPSE_OK);
    CHECK_MSG(warn.count >= 1 && strstr(warn.first, "Corrupt JPEG data"), "warning '%s'", warn.first);
    gl_image_free(&img);
    free(j);
    free(d);
    /* PNG missing IEND (Pillow decodes it too). */
    d = fixture("portrait.png", &size);
    CHECK(gl_image_decode_memory_ex(d, size - 12, "x.png", NULL, &img, &warn) == GLIMPSE_OK);
    CHECK(warn.count == 1);
    gl_image_free(&img);
    free(d);
    /* GIF missing its trailer. */
    d = fixture("scene.gif", &size);
    CHECK(decode(d, size - 1, NULL, &img) == GLIMPSE_OK);
    gl_image_free(&img);
    free(d);
}

/* ==== Sizes and limits ==== */

static void put_be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

static void check_limits(void) {
    gl_image img;
    size_t size;
    uint8_t *png = fixture("one_pixel.png", &size);
    put_be32(png + 16, 65535);
    put_be32(png + 20, 65535);
    CHECK_ERROR(decode(png, size, NULL, &img), GLIMPSE_ERR_LIMIT,
                "x.img: PNG header claims 65535x65535 pixels, over the limit of 65500 per side");
    put_be32(png + 16, 20000);
    put_be32(png + 20, 20000);
    CHECK_ERROR(decode(png, size, NULL, &img), GLIMPSE_ERR_LIMIT,
                "x.img: PNG header claims 20000x20000 pixels, over the limit of 100000000 pixels");
    put_be32(png + 16, 0);
    CHECK_ERROR(decode(png, size, NULL, &img), GLIMPSE_ERR_FORMAT, "x.img: PNG header gives a zero size");
    free(png);

    /* JPEG: SOF0 carries height then width. */
    uint8_t *jpg = fixture("landscape.jpg", &size);
    uint8_t *sof = NULL;
    for (size_t i = 2; i + 9 < size && !sof; i++)
        if (jpg[i] == 0xff && jpg[i + 1] == 0xc0) sof = jpg + i;
    CHECK(sof != NULL);
    if (sof) {
        sof[4] = 12; /* 12-bit samples: refused by name, as Pillow does */
        CHECK_ERROR(decode(jpg, size, NULL, &img), GLIMPSE_ERR_UNSUPPORTED,
                    "x.img: JPEG variant not supported: Unsupported JPEG data precision 12");
        sof[4] = 8;
        sof[5] = sof[6] = sof[7] = sof[8] = 0xff;
        CHECK_ERROR(decode(jpg, size, NULL, &img), GLIMPSE_ERR_LIMIT, "JPEG header claims 65535x65535 pixels");
    }
    free(jpg);

    /* GIF logical screen and BMP info header through stb. */
    uint8_t *gif = fixture("scene.gif", &size);
    gif[6] = gif[7] = gif[8] = gif[9] = 0xff;
    CHECK_ERROR(decode(gif, size, NULL, &img), GLIMPSE_ERR_LIMIT, "GIF header claims 65535x65535 pixels");
    free(gif);
    uint8_t *bmp = fixture("scene.bmp", &size);
    bmp[18] = bmp[19] = bmp[22] = bmp[23] = 0xff;
    bmp[20] = bmp[21] = bmp[24] = bmp[25] = 0;
    CHECK_ERROR(decode(bmp, size, NULL, &img), GLIMPSE_ERR_LIMIT, "BMP header claims 65535x65535 pixels");
    free(bmp);

    /* A caller's smaller limits. */
    jpg = fixture("landscape.jpg", &size);
    gl_image_limits lim = {1000, 65500};
    CHECK_ERROR(decode(jpg, size, &lim, &img), GLIMPSE_ERR_LIMIT, "320x240 pixels, over the limit of 1000 pixels");
    lim = (gl_image_limits){GL_IMAGE_DEFAULT_MAX_PIXELS, 300};
    CHECK_ERROR(decode(jpg, size, &lim, &img), GLIMPSE_ERR_LIMIT, "over the limit of 300 per side");
    lim = (gl_image_limits){0, 300};
    CHECK_ERROR(decode(jpg, size, &lim, &img), GLIMPSE_ERR_INVALID_ARG, "limits must be positive");
    free(jpg);
    uint8_t *webp = fixture("scene.webp", &size);
    lim = (gl_image_limits){100, 65500};
    CHECK_ERROR(decode(webp, size, &lim, &img), GLIMPSE_ERR_LIMIT, "x.img: WebP header claims 200x150 pixels");
    free(webp);
}

/* ==== Not images, or images glimpse does not read ==== */

static void check_formats(void) {
    gl_image img;
    uint8_t junk[4096];
    uint32_t x = 12345;
    for (int trial = 0; trial < 50; trial++) {
        for (size_t i = 0; i < sizeof junk; i++) {
            x = x * 1103515245u + 12345u;
            junk[i] = (uint8_t)(x >> 16);
        }
        glimpse_status st = decode(junk, sizeof junk, NULL, &img);
        CHECK_MSG(st != GLIMPSE_OK, "random bytes decoded");
        gl_image_free(&img);
    }
    memset(junk, 0x5a, sizeof junk);
    CHECK_ERROR(decode(junk, sizeof junk, NULL, &img), GLIMPSE_ERR_UNSUPPORTED,
                "x.img: not a recognised image format");
    static const uint8_t heic[] = "\0\0\0\x18" "ftypheic\0\0\0\0mif1heic";
    CHECK_ERROR(gl_image_decode_memory(heic, sizeof heic - 1, "x.heic", NULL, &img), GLIMPSE_ERR_UNSUPPORTED,
                "x.heic: HEIC images are not supported; convert to JPEG or PNG");
    static const uint8_t avif[] = "\0\0\0\x1c" "ftypavif\0\0\0\0avifmif1miaf";
    CHECK_ERROR(decode(avif, sizeof avif - 1, NULL, &img), GLIMPSE_ERR_UNSUPPORTED, "AVIF images are not supported");
    static const uint8_t jxl[] = "\xff\x0a\xfa\x7f";
    CHECK_ERROR(decode(jxl, sizeof jxl - 1, NULL, &img), GLIMPSE_ERR_UNSUPPORTED, "JPEG XL images are not supported");
    static const uint8_t tiff[] = "II*\0\x08\0\0\0";
    CHECK_ERROR(decode(tiff, sizeof tiff - 1, NULL, &img), GLIMPSE_ERR_UNSUPPORTED, "TIFF images are not supported");
    static const char svg[] = "<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\"/>";
    CHECK_ERROR(decode(svg, sizeof svg - 1, NULL, &img), GLIMPSE_ERR_UNSUPPORTED, "SVG images are not supported");
    static const char plain[] = "P3\n1 1\n255\n1 2 3\n";
    CHECK_ERROR(decode(plain, sizeof plain - 1, NULL, &img), GLIMPSE_ERR_UNSUPPORTED, "plain or 1-bit PNM");
    static const char long_pnm[] = "P6\n11111111111111 2\n255\n";
    CHECK_ERROR(decode(long_pnm, sizeof long_pnm - 1, NULL, &img), GLIMPSE_ERR_FORMAT, "x.img: corrupt PNM header");
    CHECK_ERROR(decode(junk, 0, NULL, &img), GLIMPSE_ERR_FORMAT, "x.img: empty file");
    /* A JPEG signature followed by a second SOI. */
    memcpy(junk, "\xff\xd8\xff\xd8", 4);
    CHECK_ERROR(decode(junk, 64, NULL, &img), GLIMPSE_ERR_FORMAT, "x.img: corrupt JPEG data");
    /* Animated WebP is refused by name (minimal VP8X with the animation flag). */
    static const uint8_t anim[] = "RIFF\x16\0\0\0WEBPVP8X\x0a\0\0\0\x02\0\0\0\x09\0\0\x09\0\0";
    CHECK_ERROR(decode(anim, sizeof anim - 1, NULL, &img), GLIMPSE_ERR_UNSUPPORTED, "animated WebP");
}

/* ==== Files ==== */

static void check_files(void) {
    gl_image img;
    char path[1024];
    CHECK_ERROR(gl_image_decode_file("/nonexistent/photo.jpg", NULL, &img), GLIMPSE_ERR_IO,
                "/nonexistent/photo.jpg: cannot open: No such file or directory");
    snprintf(path, sizeof path, "%s/test_image_empty.jpg", GLIMPSE_BINARY_DIR);
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (f) fclose(f);
    CHECK_ERROR(gl_image_decode_file(path, NULL, &img), GLIMPSE_ERR_FORMAT, "test_image_empty.jpg: empty file");
    remove(path);
    CHECK_ERROR(gl_image_decode_file(GLIMPSE_BINARY_DIR, NULL, &img), GLIMPSE_ERR_IO, "Is a directory");
    /* "-" reads standard input. */
    snprintf(path, sizeof path, "%s/tests/fixtures/images/scene.ppm", GLIMPSE_SOURCE_DIR);
    CHECK(freopen(path, "rb", stdin) != NULL);
    CHECK(gl_image_decode_file("-", NULL, &img) == GLIMPSE_OK);
    CHECK(img.width == 96 && img.height == 72 && img.channels == 3);
    gl_image_free(&img);
    CHECK_ERROR(gl_image_decode_file("-", NULL, &img), GLIMPSE_ERR_FORMAT, "<stdin>: empty file");
}

/* ==== Interlaced PNG written with libpng ==== */

typedef struct {
    uint8_t *data;
    size_t size, cap;
} membuf;

static void mem_write(png_structp png, png_bytep p, png_size_t n) {
    membuf *m = png_get_io_ptr(png);
    if (m->size + n > m->cap) {
        m->cap = (m->size + n) * 2;
        m->data = realloc(m->data, m->cap);
    }
    memcpy(m->data + m->size, p, n);
    m->size += n;
}

static void mem_flush(png_structp png) { (void)png; }

/* Writes w x h Adam7 PNG of the given color type/depth from 16-bit samples. */
static membuf write_interlaced(int w, int h, int color, int depth, int channels, const uint16_t *px) {
    membuf m = {NULL, 0, 0};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    if (setjmp(png_jmpbuf(png))) {
        fprintf(stderr, "libpng write failed\n");
        exit(1);
    }
    png_set_write_fn(png, &m, mem_write, mem_flush);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, depth, color, PNG_INTERLACE_ADAM7,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    int bytes = depth / 8;
    uint8_t *rows = malloc((size_t)w * h * channels * bytes);
    png_bytep *rp = malloc(sizeof *rp * h);
    for (int y = 0; y < h; y++) {
        rp[y] = rows + (size_t)y * w * channels * bytes;
        for (int i = 0; i < w * channels; i++) {
            uint16_t v = px[(size_t)y * w * channels + i];
            if (bytes == 2) { rp[y][2 * i] = (uint8_t)(v >> 8); rp[y][2 * i + 1] = (uint8_t)v; }
            else rp[y][i] = (uint8_t)v;
        }
    }
    png_write_image(png, rp);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    free(rows);
    free(rp);
    return m;
}

static void check_interlaced(void) {
    const int w = 37, h = 23;
    uint16_t *px = malloc(sizeof *px * w * h * 4);
    for (int i = 0; i < w * h * 4; i++) px[i] = (uint16_t)(i * 2654435761u >> 7);
    /* 8-bit RGB: exact samples. */
    for (int i = 0; i < w * h * 3; i++) px[i] &= 0xff;
    membuf m = write_interlaced(w, h, PNG_COLOR_TYPE_RGB, 8, 3, px);
    gl_image img;
    CHECK(decode(m.data, m.size, NULL, &img) == GLIMPSE_OK);
    CHECK(img.width == w && img.height == h && img.channels == 3);
    int same = 1;
    for (int i = 0; img.pixels && i < w * h * 3; i++) same &= img.pixels[i] == px[i];
    CHECK_MSG(same, "interlaced RGB PNG pixels differ");
    gl_image_free(&img);
    free(m.data);
    /* 16-bit RGBA: the high byte of each sample (Pillow's "RGBA;16B"). */
    for (int i = 0; i < w * h * 4; i++) px[i] = (uint16_t)(i * 40503u);
    m = write_interlaced(w, h, PNG_COLOR_TYPE_RGB_ALPHA, 16, 4, px);
    CHECK(decode(m.data, m.size, NULL, &img) == GLIMPSE_OK);
    CHECK(img.channels == 4);
    same = 1;
    for (int i = 0; img.pixels && i < w * h * 4; i++) same &= img.pixels[i] == px[i] >> 8;
    CHECK_MSG(same, "interlaced RGBA16 PNG pixels differ");
    gl_image_free(&img);
    /* Truncated inside the interlaced data. */
    CHECK_ERROR(decode(m.data, m.size / 2, NULL, &img), GLIMPSE_ERR_FORMAT, "truncated PNG data");
    free(m.data);
    free(px);
}

/* ==== Allocation failures ==== */

static void check_alloc_failures(void) {
    const char *names[] = {"palette_trns.png", "gray16.png", "orient6.jpg", "cmyk.jpg", "exif_rot5.webp",
                           "transparent.gif", "bgra32.bmp", "gray.tga", "maxval1000.ppm", "scene.psd"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        size_t size;
        uint8_t *d = fixture(names[i], &size);
        int failures = 0;
        for (long k = 0; k < 200; k++) {
            gl_image img;
            gl_alloc_fail_after(k);
            glimpse_status st = decode(d, size, NULL, &img);
            gl_alloc_fail_after(-1);
            if (st == GLIMPSE_OK) {
                gl_image_free(&img);
                break;
            }
            failures++;
            CHECK_MSG(st == GLIMPSE_ERR_NOMEM || strstr(glimpse_last_error(), "memory"),
                      "%s: allocation %ld failed as '%s'", names[i], k, glimpse_last_error());
        }
        CHECK_MSG(failures > 0 && failures < 200, "%s: %d allocation failures", names[i], failures);
        free(d);
    }
}

int main(void) {
    check_truncation();
    check_tolerated();
    check_limits();
    check_formats();
    check_files();
    check_interlaced();
    check_alloc_failures();
    TEST_DONE();
}
