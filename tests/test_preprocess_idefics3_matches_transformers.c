/* test_preprocess_idefics3_matches_transformers.c - gl_preprocess_idefics3
 * reproduces Idefics3ImageProcessorPil's pixel_values (SmolVLM settings) on
 * the images of tests/fixtures/preprocess: the same tile grid and image count,
 * and every value within 1e-5 (Pillow's resize is matched to the byte and the
 * float steps are numpy's, so the expected difference is 0). Small tile sizes
 * for most images; SmolVLM-256M's own 512/2048 once, checked on a 1/1009
 * sample plus per-image sums (within 1e-6). Bad parameters and allocation
 * failures are reported, not crashed on. */
#include "fixtures/preprocess/manifest.h"
#include "mem.h"
#include "preprocess_idefics3.h"

#define TOLERANCE 1e-5
#define SUM_TOLERANCE 1e-6

static void check_against_transformers(const pp_fixture *fx) {
    int n_runs = 0;
    double worst = 0, worst_sum = 0;
    for (int i = 0; i < fx->n_lines; i++) {
        const char *line = fx->lines[i];
        if (!pp_is(line, "idefics3")) continue;
        char name[64], alpha[16];
        pp_str(line, "image", name, sizeof name);
        pp_str(line, "alpha", alpha, sizeof alpha);
        gl_image img;
        const char *image_line = pp_find_image(fx, name);
        CHECK_MSG(image_line && pp_image(fx, image_line, &img) == 0, "%s: no input", name);
        if (!image_line) continue;

        gl_idefics3_params p;
        gl_idefics3_default_params(&p);
        p.tile_size = (int)pp_int(line, "tile");
        p.longest_edge = (int)pp_int(line, "longest");
        p.do_split = (int)pp_int(line, "split");
        p.alpha = strcmp(alpha, "drop") == 0 ? GL_ALPHA_DROP : GL_ALPHA_OVER_WHITE;

        gl_pixels px;
        glimpse_status st = gl_preprocess_idefics3(&img, &p, &px);
        CHECK_MSG(st == GLIMPSE_OK, "%s: %s", name, glimpse_last_error());
        if (st != GLIMPSE_OK) continue;
        CHECK_MSG(px.n_rows == pp_int(line, "rows") && px.n_cols == pp_int(line, "cols") &&
                      px.n_images == pp_int(line, "n") && px.size == p.tile_size,
                  "%s tile %d: got %dx%d grid, %d images; want %ldx%ld, %ld", name, p.tile_size, px.n_rows,
                  px.n_cols, px.n_images, pp_int(line, "rows"), pp_int(line, "cols"), pp_int(line, "n"));
        size_t n = (size_t)px.n_images * 3 * px.size * px.size;
        double sum_err;
        double err = pp_max_error(fx, line, px.pixels, n, px.n_images, &sum_err);
        CHECK_MSG(err >= 0 && err <= TOLERANCE && sum_err <= SUM_TOLERANCE,
                  "%s tile %d longest %d split %d alpha %s: max error %g, sum error %g", name, p.tile_size,
                  p.longest_edge, p.do_split, alpha, err, sum_err);
        worst = fmax(worst, err);
        worst_sum = fmax(worst_sum, sum_err);
        n_runs++;
        gl_pixels_free(&px);
    }
    CHECK(n_runs >= 20);
    fprintf(stderr, "idefics3: %d runs, max abs error %g (tolerance %g), max sum error %g\n", n_runs, worst,
            TOLERANCE, worst_sum);
}

/* The defaults are SmolVLM-256M-Instruct's preprocessor_config.json. */
static void check_defaults(void) {
    gl_idefics3_params p;
    gl_idefics3_default_params(&p);
    CHECK(p.tile_size == 512 && p.longest_edge == 2048 && p.do_split == 1);
    CHECK(p.filter == GL_RESAMPLE_LANCZOS && p.alpha == GL_ALPHA_OVER_WHITE);
    for (int i = 0; i < 3; i++) CHECK(p.mean[i] == 0.5f && p.std[i] == 0.5f);
}

static void check_refusals(const pp_fixture *fx) {
    gl_image img;
    CHECK(pp_image(fx, pp_find_image(fx, "gray"), &img) == 0);
    gl_idefics3_params p;
    gl_pixels px;
    gl_idefics3_default_params(&p);
    p.tile_size = 0;
    CHECK_ERROR(gl_preprocess_idefics3(&img, &p, &px), GLIMPSE_ERR_INVALID_ARG, "tile size");
    gl_idefics3_default_params(&p);
    p.longest_edge = -3;
    CHECK_ERROR(gl_preprocess_idefics3(&img, &p, &px), GLIMPSE_ERR_INVALID_ARG, "longest edge");
    gl_idefics3_default_params(&p);
    p.std[1] = 0.0f;
    CHECK_ERROR(gl_preprocess_idefics3(&img, &p, &px), GLIMPSE_ERR_INVALID_ARG, "mean/std");

    /* Each allocation failing in turn: reported, nothing leaked (ASan). */
    gl_idefics3_default_params(&p);
    p.tile_size = 16;
    p.longest_edge = 32;
    int n_failed = 0;
    for (long n = 0; n < 40; n++) {
        gl_alloc_fail_after(n);
        glimpse_status st = gl_preprocess_idefics3(&img, &p, &px);
        gl_alloc_fail_after(-1);
        CHECK(st == GLIMPSE_OK || st == GLIMPSE_ERR_NOMEM);
        if (st == GLIMPSE_OK) gl_pixels_free(&px);
        else CHECK(px.pixels == NULL);
        n_failed += st == GLIMPSE_ERR_NOMEM;
    }
    CHECK(n_failed > 5);
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
