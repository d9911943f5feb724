/* EXIF orientation is found where Pillow looks for it and applied as
 * PIL.ImageOps.exif_transpose does, for all 8 values; malformed EXIF never
 * reads out of bounds and counts as "no orientation".
 *
 * Expected layouts come from the EXIF 2.32 definition of tag 0x0112 (row 0 /
 * column 0 placement) and Pillow's Transpose names; the end-to-end match
 * with Pillow's pixels is in test_image_decode_matches_pillow. */
#include "exif.h"
#include "image.h"
#include "mem.h"
#include "test.h"

#include <stdint.h>

/* ==== Applying each orientation to a 3x2 image ==== */

static void check_apply(void) {
    /* stored:  a b c
     *          d e f          (one channel, values 1..6) */
    static const struct {
        int orientation, w, h;
        uint8_t px[6];
    } cases[] = {
        {1, 3, 2, {1, 2, 3, 4, 5, 6}},
        {2, 3, 2, {3, 2, 1, 6, 5, 4}}, /* mirrored left-right */
        {3, 3, 2, {6, 5, 4, 3, 2, 1}}, /* rotated 180 */
        {4, 3, 2, {4, 5, 6, 1, 2, 3}}, /* mirrored top-bottom */
        {5, 2, 3, {1, 4, 2, 5, 3, 6}}, /* transposed */
        {6, 2, 3, {4, 1, 5, 2, 6, 3}}, /* rotated 90 clockwise */
        {7, 2, 3, {6, 3, 5, 2, 4, 1}}, /* transversed */
        {8, 2, 3, {3, 6, 2, 5, 1, 4}}, /* rotated 90 counter-clockwise */
        {9, 3, 2, {1, 2, 3, 4, 5, 6}}, /* undefined: untouched, as in Pillow */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        gl_image img = {3, 2, 1, gl_malloc(6)};
        for (int k = 0; k < 6; k++) img.pixels[k] = (uint8_t)(k + 1);
        CHECK(gl_exif_apply_orientation(&img, cases[i].orientation) == GLIMPSE_OK);
        CHECK_MSG(img.width == cases[i].w && img.height == cases[i].h, "orientation %d: %dx%d",
                  cases[i].orientation, img.width, img.height);
        CHECK_MSG(memcmp(img.pixels, cases[i].px, 6) == 0, "orientation %d: wrong pixel order",
                  cases[i].orientation);
        gl_image_free(&img);
    }
    /* Multi-channel pixels move as a whole. */
    gl_image rgba = {2, 1, 4, gl_malloc(8)};
    for (int k = 0; k < 8; k++) rgba.pixels[k] = (uint8_t)k;
    CHECK(gl_exif_apply_orientation(&rgba, 6) == GLIMPSE_OK);
    static const uint8_t want[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    CHECK(rgba.width == 1 && rgba.height == 2 && memcmp(rgba.pixels, want, 8) == 0);
    gl_image_free(&rgba);
    /* An allocation failure leaves the image as it was. */
    gl_image img = {3, 2, 1, gl_malloc(6)};
    memset(img.pixels, 7, 6);
    gl_alloc_fail_after(0);
    CHECK(gl_exif_apply_orientation(&img, 6) == GLIMPSE_ERR_NOMEM);
    gl_alloc_fail_after(-1);
    CHECK(img.width == 3 && img.height == 2 && img.pixels[5] == 7);
    gl_image_free(&img);
}

/* ==== Parsing TIFF-structured EXIF ==== */

/* Writes a TIFF header + IFD0 with one entry (tag, type, count, 4-byte field). */
static size_t make_tiff(uint8_t *b, int big_endian, uint16_t tag, uint16_t type, uint32_t count,
                        const uint8_t field[4]) {
    memcpy(b, big_endian ? "MM\0*" : "II*\0", 4);
    const uint8_t ifd_off[4] = {0, 0, 0, 8};
    for (int i = 0; i < 4; i++) b[4 + i] = big_endian ? ifd_off[i] : ifd_off[3 - i];
    uint8_t *e = b + 8;
    e[0] = big_endian ? 0 : 1; e[1] = big_endian ? 1 : 0; /* one entry */
    e[2] = (uint8_t)(big_endian ? tag >> 8 : tag); e[3] = (uint8_t)(big_endian ? tag : tag >> 8);
    e[4] = (uint8_t)(big_endian ? type >> 8 : type); e[5] = (uint8_t)(big_endian ? type : type >> 8);
    for (int i = 0; i < 4; i++) e[6 + i] = (uint8_t)(count >> (big_endian ? 24 - 8 * i : 8 * i));
    memcpy(e + 10, field, 4);
    memset(e + 14, 0, 4); /* next IFD */
    return 8 + 2 + 12 + 4;
}

static void check_tiff(void) {
    uint8_t b[64];
    size_t n;
    n = make_tiff(b, 0, 0x0112, 3, 1, (const uint8_t[4]){6, 0, 0, 0});
    CHECK(gl_exif_orientation_tiff(b, n) == 6);
    n = make_tiff(b, 1, 0x0112, 3, 1, (const uint8_t[4]){0, 8, 0, 0});
    CHECK(gl_exif_orientation_tiff(b, n) == 8);
    n = make_tiff(b, 1, 0x0112, 4, 1, (const uint8_t[4]){0, 0, 0, 3}); /* LONG */
    CHECK(gl_exif_orientation_tiff(b, n) == 3);
    n = make_tiff(b, 0, 0x0110, 3, 1, (const uint8_t[4]){6, 0, 0, 0}); /* another tag */
    CHECK(gl_exif_orientation_tiff(b, n) == 0);
    n = make_tiff(b, 0, 0x0112, 2, 1, (const uint8_t[4]){'6', 0, 0, 0}); /* ASCII: not a number */
    CHECK(gl_exif_orientation_tiff(b, n) == 0);
    /* Three SHORTs stored at an offset: Pillow takes the first. */
    n = make_tiff(b, 0, 0x0112, 3, 3, (const uint8_t[4]){26, 0, 0, 0});
    b[26] = 5; b[27] = 0; b[28] = 1; b[29] = 0; b[30] = 1; b[31] = 0;
    CHECK(gl_exif_orientation_tiff(b, 32) == 5);
    CHECK(gl_exif_orientation_tiff(b, 29) == 0); /* values past the end */
    /* With one or two "Exif\0\0" prefixes, as Pillow strips. */
    uint8_t p[80];
    memcpy(p, "Exif\0\0Exif\0\0", 12);
    n = make_tiff(p + 12, 0, 0x0112, 3, 1, (const uint8_t[4]){7, 0, 0, 0});
    CHECK(gl_exif_orientation_tiff(p, n + 12) == 7);
    CHECK(gl_exif_orientation_tiff(p + 6, n + 6) == 7);
    /* Every truncation, a bad byte-order mark and an IFD offset out of range. */
    n = make_tiff(b, 0, 0x0112, 3, 1, (const uint8_t[4]){6, 0, 0, 0});
    for (size_t cut = 0; cut < n - 4; cut++) CHECK_MSG(gl_exif_orientation_tiff(b, cut) == 0, "cut %zu", cut);
    b[0] = 'X';
    CHECK(gl_exif_orientation_tiff(b, n) == 0);
    n = make_tiff(b, 0, 0x0112, 3, 1, (const uint8_t[4]){6, 0, 0, 0});
    b[4] = 0xf0; b[7] = 0x7f;
    CHECK(gl_exif_orientation_tiff(b, n) == 0);
}

/* ==== Finding it in files ==== */

static uint8_t *read_fixture(const char *name, size_t *size) {
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/fixtures/images/%s", GLIMPSE_SOURCE_DIR, name);
    uint8_t *d = test_read_file(path, size);
    CHECK_MSG(d != NULL, "cannot read %s", path);
    return d;
}

static void check_containers(void) {
    char name[64];
    size_t size;
    for (int o = 1; o <= 8; o++) {
        snprintf(name, sizeof name, "orient%d.jpg", o);
        uint8_t *d = read_fixture(name, &size);
        if (!d) continue;
        CHECK_MSG(gl_exif_orientation_jpeg(d, size) == o, "%s", name);
        /* Any prefix of the file is parsed without reading past it. */
        for (size_t cut = 0; cut < 200 && cut < size; cut++) {
            int got = gl_exif_orientation_jpeg(d, cut);
            CHECK(got >= 0 && got <= 65535);
        }
        free(d);
    }
    uint8_t *d = read_fixture("xmp_rot6.jpg", &size); /* XMP only */
    if (d) CHECK(gl_exif_orientation_jpeg(d, size) == 6);
    free(d);
    d = read_fixture("exif_rot8.png", &size);
    if (d) {
        CHECK(gl_exif_orientation_png(d, size) == 8);
        for (size_t cut = 0; cut < size; cut += 7) (void)gl_exif_orientation_png(d, cut);
    }
    free(d);
    d = read_fixture("exif_rot5.webp", &size);
    if (d) {
        CHECK(gl_exif_orientation_webp(d, size) == 5);
        for (size_t cut = 0; cut < size; cut += 7) (void)gl_exif_orientation_webp(d, cut);
    }
    free(d);
    d = read_fixture("landscape.jpg", &size);
    if (d) CHECK(gl_exif_orientation_jpeg(d, size) == 1);
    free(d);

    /* EXIF wins over XMP when it has the tag, even with value 1 (Pillow only
     * consults XMP when the tag is absent); EXIF after the first scan is
     * not metadata. */
    uint8_t j[256];
    size_t n = 0;
    static const char xmp[] = "http://ns.adobe.com/xap/1.0/\0<x tiff:Orientation=\"6\"/>";
    uint8_t tiff[32];
    size_t tn = make_tiff(tiff, 1, 0x0112, 3, 1, (const uint8_t[4]){0, 1, 0, 0});
    j[n++] = 0xff; j[n++] = 0xd8;
    j[n++] = 0xff; j[n++] = 0xe1; j[n++] = 0; j[n++] = (uint8_t)(2 + sizeof xmp - 1);
    memcpy(j + n, xmp, sizeof xmp - 1); n += sizeof xmp - 1;
    CHECK(gl_exif_orientation_jpeg(j, n) == 6);
    size_t before_exif = n;
    j[n++] = 0xff; j[n++] = 0xe1; j[n++] = 0; j[n++] = (uint8_t)(2 + 6 + tn);
    memcpy(j + n, "Exif\0\0", 6); n += 6;
    memcpy(j + n, tiff, tn); n += tn;
    CHECK(gl_exif_orientation_jpeg(j, n) == 1);
    /* The same EXIF segment placed after SOS is ignored. */
    uint8_t k[256];
    memcpy(k, j, before_exif);
    k[before_exif] = 0xff; k[before_exif + 1] = 0xda; k[before_exif + 2] = 0; k[before_exif + 3] = 2;
    memcpy(k + before_exif + 4, j + before_exif, n - before_exif);
    CHECK(gl_exif_orientation_jpeg(k, n + 4) == 6);
}

/* ==== Decoding applies it ==== */

static void check_decoded(void) {
    char path[1024];
    gl_image base;
    snprintf(path, sizeof path, "%s/tests/fixtures/images/orient1.jpg", GLIMPSE_SOURCE_DIR);
    if (gl_image_decode_file(path, NULL, &base) != GLIMPSE_OK) {
        CHECK_MSG(0, "%s", glimpse_last_error());
        return;
    }
    for (int o = 2; o <= 8; o++) {
        /* orientN.jpg holds the same stored pixels as orient1.jpg. */
        gl_image want = base, got;
        want.pixels = gl_malloc((size_t)base.width * base.height * base.channels);
        memcpy(want.pixels, base.pixels, (size_t)base.width * base.height * base.channels);
        CHECK(gl_exif_apply_orientation(&want, o) == GLIMPSE_OK);
        snprintf(path, sizeof path, "%s/tests/fixtures/images/orient%d.jpg", GLIMPSE_SOURCE_DIR, o);
        CHECK(gl_image_decode_file(path, NULL, &got) == GLIMPSE_OK);
        CHECK_MSG(got.width == want.width && got.height == want.height &&
                      memcmp(got.pixels, want.pixels, (size_t)got.width * got.height * got.channels) == 0,
                  "orient%d.jpg is not orient1.jpg transposed", o);
        gl_image_free(&got);
        gl_image_free(&want);
    }
    gl_image_free(&base);
}

int main(void) {
    check_apply();
    check_tiff();
    check_containers();
    check_decoded();
    TEST_DONE();
}
