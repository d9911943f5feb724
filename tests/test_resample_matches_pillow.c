/* test_resample_matches_pillow.c - gl_resize gives Pillow's Image.resize
 * output byte for byte (tolerance: zero) for BILINEAR, BICUBIC and LANCZOS,
 * gray and RGB, down- and upscaling, one axis only, same size and 1x1, on the
 * cases in tests/fixtures/preprocess (make_preprocess_fixtures.py). Also that
 * bad arguments are refused without touching memory. */
#include "fixtures/preprocess/manifest.h"
#include "mem.h"
#include "resample.h"

static int filter_from_name(const char *name, gl_resample_filter *f) {
    if (strcmp(name, "bilinear") == 0) *f = GL_RESAMPLE_BILINEAR;
    else if (strcmp(name, "bicubic") == 0) *f = GL_RESAMPLE_BICUBIC;
    else if (strcmp(name, "lanczos") == 0) *f = GL_RESAMPLE_LANCZOS;
    else return -1;
    return 0;
}

static void check_against_pillow(const pp_fixture *fx) {
    int n_cases = 0, n_exact = 0, max_diff = 0;
    for (int i = 0; i < fx->n_lines; i++) {
        const char *line = fx->lines[i];
        if (!pp_is(line, "resample")) continue;
        char src_name[64], filter_name[64];
        pp_str(line, "src", src_name, sizeof src_name);
        gl_resample_filter filter;
        CHECK(filter_from_name(pp_str(line, "filter", filter_name, sizeof filter_name), &filter) == 0);
        size_t src_len, ref_len;
        gl_image src = {(int)pp_int(line, "w"), (int)pp_int(line, "h"), (int)pp_int(line, "c"),
                        (uint8_t *)pp_blob(fx, line, "pixels", &src_len)};
        const uint8_t *ref = pp_blob(fx, line, "out", &ref_len);
        int ow = (int)pp_int(line, "ow"), oh = (int)pp_int(line, "oh");
        CHECK(src.pixels && src_len == (size_t)src.width * src.height * src.channels);
        CHECK(ref && ref_len == (size_t)ow * oh * src.channels);
        if (!src.pixels || !ref) continue;

        gl_image out;
        glimpse_status st = gl_resize(&src, ow, oh, filter, &out);
        CHECK_MSG(st == GLIMPSE_OK, "%s: %s", src_name, glimpse_last_error());
        if (st != GLIMPSE_OK) continue;
        CHECK(out.width == ow && out.height == oh && out.channels == src.channels);
        int diff = 0;
        for (size_t j = 0; j < ref_len; j++) {
            int d = abs((int)out.pixels[j] - (int)ref[j]);
            if (d > diff) diff = d;
        }
        CHECK_MSG(diff == 0, "%s %dx%dx%d -> %dx%d %s: max byte difference %d", src_name, src.width,
                  src.height, src.channels, ow, oh, filter_name, diff);
        n_cases++;
        n_exact += diff == 0;
        if (diff > max_diff) max_diff = diff;
        gl_free(out.pixels);
    }
    CHECK(n_cases >= 50);
    fprintf(stderr, "resample: %d/%d resizes byte-exact, max byte difference %d\n", n_exact, n_cases, max_diff);
}

static void check_refusals(void) {
    uint8_t px[2 * 2 * 4] = {0};
    gl_image out = {1, 1, 1, (uint8_t *)1};
    gl_image rgba = {2, 2, 4, px};
    CHECK_ERROR(gl_resize(&rgba, 1, 1, GL_RESAMPLE_BICUBIC, &out), GLIMPSE_ERR_INVALID_ARG, "4-channel");
    CHECK(out.pixels == NULL);
    gl_image rgb = {2, 2, 3, px};
    CHECK_ERROR(gl_resize(&rgb, 0, 5, GL_RESAMPLE_BICUBIC, &out), GLIMPSE_ERR_INVALID_ARG, "positive");
    CHECK_ERROR(gl_resize(&rgb, 3, 3, (gl_resample_filter)0, &out), GLIMPSE_ERR_INVALID_ARG, "filter");

    /* Each allocation failing in turn is reported, never a crash or a leak. */
    for (long n = 0; n < 8; n++) {
        gl_alloc_fail_after(n);
        glimpse_status st = gl_resize(&rgb, 5, 3, GL_RESAMPLE_LANCZOS, &out);
        gl_alloc_fail_after(-1);
        CHECK(st == GLIMPSE_OK || st == GLIMPSE_ERR_NOMEM);
        if (st == GLIMPSE_OK) gl_free(out.pixels);
        else CHECK(out.pixels == NULL);
    }
}

int main(void) {
    pp_fixture fx;
    if (pp_load(&fx) != 0) return 1;
    check_against_pillow(&fx);
    check_refusals();
    pp_free(&fx);
    TEST_DONE();
}
