/* test_preprocess_llava_matches_transformers.c - gl_preprocess_llava
 * reproduces the pixel_values of CLIPImageProcessorPil (llava-1.5-hf) and of
 * LlavaImageProcessorPil with do_pad (pad to square with the mean colour) on
 * the images of tests/fixtures/preprocess: every value within 1e-5 (Pillow's
 * resize is matched to the byte and the float steps are numpy's, so the
 * expected difference is 0). A 32-pixel crop for every image, crops larger
 * and smaller than the resized image, and LLaVA-1.5's own 336 checked on a
 * 1/97 sample plus the sum (within 1e-6). Bad parameters, extreme aspect
 * ratios and allocation failures are reported, not crashed on. */
#include "fixtures/preprocess/manifest.h"
#include "mem.h"
#include "preprocess_llava.h"

#define TOLERANCE 1e-5
#define SUM_TOLERANCE 1e-6

static void check_against_transformers(const pp_fixture *fx) {
    int n_runs = 0;
    double worst = 0, worst_sum = 0;
    for (int i = 0; i < fx->n_lines; i++) {
        const char *line = fx->lines[i];
        if (!pp_is(line, "llava")) continue;
        char name[64], alpha[16];
        pp_str(line, "image", name, sizeof name);
        pp_str(line, "alpha", alpha, sizeof alpha);
        gl_image img;
        const char *image_line = pp_find_image(fx, name);
        CHECK_MSG(image_line && pp_image(fx, image_line, &img) == 0, "%s: no input", name);
        if (!image_line) continue;

        gl_llava_params p;
        gl_llava_default_params(&p);
        p.shortest_edge = (int)pp_int(line, "short");
        p.crop_size = (int)pp_int(line, "crop");
        p.pad_to_square = (int)pp_int(line, "pad");
        p.alpha = strcmp(alpha, "drop") == 0 ? GL_ALPHA_DROP : GL_ALPHA_OVER_WHITE;

        gl_pixels px;
        glimpse_status st = gl_preprocess_llava(&img, &p, &px);
        CHECK_MSG(st == GLIMPSE_OK, "%s: %s", name, glimpse_last_error());
        if (st != GLIMPSE_OK) continue;
        CHECK(px.n_images == 1 && px.n_rows == 0 && px.n_cols == 0 && px.size == p.crop_size);
        double sum_err;
        double err = pp_max_error(fx, line, px.pixels, (size_t)3 * px.size * px.size, 1, &sum_err);
        CHECK_MSG(err >= 0 && err <= TOLERANCE && sum_err <= SUM_TOLERANCE,
                  "%s size %d crop %d pad %d alpha %s: max error %g, sum error %g", name, p.shortest_edge,
                  p.crop_size, p.pad_to_square, alpha, err, sum_err);
        worst = fmax(worst, err);
        worst_sum = fmax(worst_sum, sum_err);
        n_runs++;
        gl_pixels_free(&px);
    }
    CHECK(n_runs >= 30);
    fprintf(stderr, "llava: %d runs, max abs error %g (tolerance %g), max sum error %g\n", n_runs, worst,
            TOLERANCE, worst_sum);
}

/* The defaults are llava-1.5-hf's preprocessor_config.json (CLIP mean/std). */
static void check_defaults(void) {
    gl_llava_params p;
    gl_llava_default_params(&p);
    CHECK(p.shortest_edge == 336 && p.crop_size == 336 && p.pad_to_square == 0);
    CHECK(p.filter == GL_RESAMPLE_BICUBIC && p.alpha == GL_ALPHA_OVER_WHITE);
    CHECK(p.mean[0] == 0.48145466f && p.std[2] == 0.27577711f);
}

static void check_refusals(const pp_fixture *fx) {
    gl_image img;
    CHECK(pp_image(fx, pp_find_image(fx, "gray"), &img) == 0);
    gl_llava_params p;
    gl_pixels px;
    gl_llava_default_params(&p);
    p.crop_size = 0;
    CHECK_ERROR(gl_preprocess_llava(&img, &p, &px), GLIMPSE_ERR_INVALID_ARG, "out of range");
    gl_llava_default_params(&p);
    p.std[0] = 0.0f;
    CHECK_ERROR(gl_preprocess_llava(&img, &p, &px), GLIMPSE_ERR_INVALID_ARG, "mean/std");

    /* 20000x1: the short side to 336 would make a 6.7 Gpixel image. */
    gl_llava_default_params(&p);
    uint8_t *line = calloc(20000, 3);
    gl_image thin = {20000, 1, 3, line};
    CHECK_ERROR(gl_preprocess_llava(&thin, &p, &px), GLIMPSE_ERR_LIMIT, "aspect ratio");
    free(line);

    /* Each allocation failing in turn: reported, nothing leaked (ASan). */
    p.shortest_edge = p.crop_size = 24;
    p.pad_to_square = 1;
    int n_failed = 0;
    for (long n = 0; n < 30; n++) {
        gl_alloc_fail_after(n);
        glimpse_status st = gl_preprocess_llava(&img, &p, &px);
        gl_alloc_fail_after(-1);
        CHECK(st == GLIMPSE_OK || st == GLIMPSE_ERR_NOMEM);
        if (st == GLIMPSE_OK) gl_pixels_free(&px);
        else CHECK(px.pixels == NULL);
        n_failed += st == GLIMPSE_ERR_NOMEM;
    }
    CHECK(n_failed > 3);
}

int main(void) {
    pp_fixture fx;
    if (pp_load(&fx) != 0) return 1;
    check_against_transformers(&fx);
    check_defaults();
    check_refusals(&fx);
    pp_free(&fx);
    TEST_DONE();
}
