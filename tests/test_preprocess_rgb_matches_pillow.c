/* test_preprocess_rgb_matches_pillow.c - gl_image_to_rgb gives, to the byte,
 * the RGB image transformers resizes: convert_to_rgb of a PIL image
 * (alpha composited over white with Pillow's alpha_composite) and load_image's
 * convert("RGB") (alpha dropped), for gray, gray+alpha, RGB, RGBA and palette
 * inputs of tests/fixtures/preprocess, and for every (value, alpha) pair. */
#include "fixtures/preprocess/manifest.h"
#include "mem.h"
#include "preprocess_common.h"

static int count_diffs(const uint8_t *a, const uint8_t *b, size_t n) {
    int diffs = 0;
    for (size_t i = 0; i < n; i++) diffs += a[i] != b[i];
    return diffs;
}

static void check_images(const pp_fixture *fx) {
    static const struct { gl_alpha_mode mode; const char *key; } modes[] = {
        {GL_ALPHA_OVER_WHITE, "rgb_white"},
        {GL_ALPHA_DROP, "rgb_drop"},
    };
    int n_checked = 0;
    for (int i = 0; i < fx->n_lines; i++) {
        const char *line = fx->lines[i];
        if (!pp_is(line, "image")) continue;
        char name[64];
        pp_str(line, "name", name, sizeof name);
        gl_image img;
        CHECK_MSG(pp_image(fx, line, &img) == 0, "%s: bad input record", name);
        for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
            size_t len;
            const uint8_t *ref = pp_blob(fx, line, modes[m].key, &len);
            CHECK(ref && len == (size_t)img.width * img.height * 3);
            gl_image rgb;
            glimpse_status st = gl_image_to_rgb(&img, modes[m].mode, &rgb);
            CHECK_MSG(st == GLIMPSE_OK, "%s: %s", name, glimpse_last_error());
            if (st != GLIMPSE_OK || !ref) continue;
            CHECK(rgb.width == img.width && rgb.height == img.height && rgb.channels == 3);
            int diffs = count_diffs(rgb.pixels, ref, len);
            CHECK_MSG(diffs == 0, "%s (%d channels) %s: %d bytes differ", name, img.channels, modes[m].key, diffs);
            n_checked++;
            gl_free(rgb.pixels);
        }
    }
    CHECK(n_checked >= 30);
    fprintf(stderr, "rgb: %d conversions checked\n", n_checked);
}

/* The fixture's table: RGBA (x, 255 - x, 37x mod 256, y) at column x, row y;
 * Pillow's red output stored. */
static void check_alpha_table(const pp_fixture *fx) {
    const char *line = NULL;
    for (int i = 0; i < fx->n_lines && !line; i++)
        if (pp_is(fx->lines[i], "alpha_table")) line = fx->lines[i];
    CHECK(line != NULL);
    if (!line) return;
    size_t len;
    const uint8_t *red = pp_blob(fx, line, "red", &len);
    CHECK(red && len == 256 * 256);
    if (!red) return;

    uint8_t *px = malloc(256 * 256 * 4);
    for (int y = 0; y < 256; y++)
        for (int x = 0; x < 256; x++) {
            uint8_t *p = px + (y * 256 + x) * 4;
            p[0] = (uint8_t)x;
            p[1] = (uint8_t)(255 - x);
            p[2] = (uint8_t)(37 * x);
            p[3] = (uint8_t)y;
        }
    gl_image rgba = {256, 256, 4, px}, rgb;
    CHECK(gl_image_to_rgb(&rgba, GL_ALPHA_OVER_WHITE, &rgb) == GLIMPSE_OK);
    int diffs = 0;
    for (int i = 0; i < 256 * 256; i++) diffs += rgb.pixels[i * 3] != red[i];
    CHECK_MSG(diffs == 0, "alpha composite: %d of 65536 (value, alpha) pairs differ", diffs);
    /* The same formula serves every channel: a pixel's green equals the red of
     * the pixel whose red value is that green. */
    for (int y = 0; y < 256; y++)
        for (int x = 0; x < 256; x++)
            diffs += rgb.pixels[(y * 256 + x) * 3 + 1] != red[y * 256 + (255 - x)];
    CHECK_MSG(diffs == 0, "alpha composite: green channel differs in %d pixels", diffs);
    gl_free(rgb.pixels);
    free(px);
}

static void check_refusals(void) {
    uint8_t px[4] = {0};
    gl_image bad = {1, 1, 5, px}, out;
    CHECK_ERROR(gl_image_to_rgb(&bad, GL_ALPHA_DROP, &out), GLIMPSE_ERR_INVALID_ARG, "5 channels");
    gl_image ok = {1, 1, 4, px};
    gl_alloc_fail_after(0);
    CHECK_ERROR(gl_image_to_rgb(&ok, GL_ALPHA_DROP, &out), GLIMPSE_ERR_NOMEM, "RGB image");
    gl_alloc_fail_after(-1);
}

int main(void) {
    pp_fixture fx;
    if (pp_load(&fx) != 0) return 1;
    check_images(&fx);
    check_alpha_table(&fx);
    check_refusals();
    pp_free(&fx);
    TEST_DONE();
}
