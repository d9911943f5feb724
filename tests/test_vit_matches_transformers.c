/* test_vit_matches_transformers.c - the vision encoders (tower + projector)
 * give the embeddings transformers gives for the same weights and pixels.
 *
 * Fixtures (tests/fixtures/make_vision_fixtures.py): tiny random-weight
 * Idefics3 (SigLIP, 64 px, patch 8, width 64, 2 layers, scale 2 -> 16 tokens
 * of width 96) and LLaVA-1.5 (CLIP, 56 px, patch 14, width 48, 3 layers of
 * which the legacy file stores 2, quick GELU -> 16 tokens of width 96)
 * written by tools/convert/mmproj.py, and the outputs of
 * Idefics3Model.get_image_features / LlavaModel.get_image_features.
 *
 * Tolerances (max |glimpse - transformers| over all values; embeddings are
 * of order 1): F32 files 1e-4 (float rounding only). F16 files 5e-3 (observed 1.7e-3): the
 * reference ran with the F32 weights, so this measures the F16 rounding of
 * the weights (relative 2^-11 per weight, accumulated over the layers).
 * Also: Idefics3 towers on tiles whose patch grid differs from the stored
 * position grid (HF buckets positions), one of them no multiple of the
 * patch size, match to 1e-4. */
#include "gguf.h"
#include "mmproj.h"
#include "test.h"
#include "vit.h"

#include <math.h>

#define DIR GLIMPSE_SOURCE_DIR "/tests/fixtures/vision/"

static const float *ref_tensor(const gl_gguf *ref, const char *name, int64_t n) {
    const gl_tensor *t = gl_gguf_tensor(ref, name);
    CHECK_MSG(t && t->type == 0 && gl_tensor_nelements(t) == n, "reference tensor %s", name);
    return t && t->type == 0 && gl_tensor_nelements(t) == n ? t->data : NULL;
}

static float max_abs_diff(const float *a, const float *b, int64_t n, float *max_ref) {
    float d = 0, m = 0;
    for (int64_t i = 0; i < n; i++) {
        float e = fabsf(a[i] - b[i]);
        if (!(e <= d)) d = e; /* NaN counts as a failure */
        if (fabsf(b[i]) > m) m = fabsf(b[i]);
    }
    *max_ref = m;
    return d;
}

static void check_model(const char *model, const char *ref_name, int n_tiles, float tol, gl_pool *pool) {
    gl_gguf *g = NULL, *ref = NULL;
    gl_mmproj *m = NULL;
    CHECK_MSG(gl_gguf_open(model, &g) == GLIMPSE_OK, "%s", glimpse_last_error());
    CHECK_MSG(gl_gguf_open(ref_name, &ref) == GLIMPSE_OK, "%s", glimpse_last_error());
    if (g) CHECK_MSG(gl_mmproj_load(g, &m) == GLIMPSE_OK, "%s", glimpse_last_error());
    if (!m || !ref) goto out;
    const gl_mmproj_hparams *hp = gl_mmproj_hparams_of(m);
    CHECK(hp->n_tokens == 16 && gl_mmproj_tokens_per_image(m) == 16);
    CHECK(hp->n_proj_embd == 96);
    const int S = hp->vit.image_size;
    const int64_t n_out = (int64_t)hp->n_tokens * hp->n_proj_embd;
    float *out = malloc((size_t)n_out * sizeof(float));
    for (int i = 0; i < n_tiles && out; i++) {
        char name[64];
        snprintf(name, sizeof name, "pixels.%d", i);
        const float *px = ref_tensor(ref, name, 3 * (int64_t)S * S);
        snprintf(name, sizeof name, "embeddings.%d", i);
        const float *want = ref_tensor(ref, name, n_out);
        if (!px || !want) continue;
        CHECK_MSG(gl_mmproj_encode(m, px, out, pool) == GLIMPSE_OK, "%s", glimpse_last_error());
        float max_ref, d = max_abs_diff(out, want, n_out, &max_ref);
        printf("%s tile %d: max-abs %.3g (tolerance %.g, max |ref| %.3g)\n", model, i, d, tol, max_ref);
        CHECK_MSG(d <= tol, "%s tile %d: max-abs %g > %g", model, i, d, tol);
    }
    free(out);
out:
    gl_mmproj_free(m);
    gl_gguf_close(g);
    gl_gguf_close(ref);
}

/* The Idefics3 tower alone (post-layernorm output) on non-square tiles of
 * another size than the stored 8x8 position grid (52x85 px: 6x10 patches). */
static void check_interpolated_positions(gl_pool *pool) {
    gl_gguf *g = NULL, *ref = NULL;
    gl_mmproj *m = NULL;
    gl_vit vit;
    CHECK(gl_gguf_open(DIR "idefics3-f32.gguf", &g) == GLIMPSE_OK);
    CHECK(gl_gguf_open(DIR "idefics3-ref.gguf", &ref) == GLIMPSE_OK);
    if (g) CHECK(gl_mmproj_load(g, &m) == GLIMPSE_OK);
    if (!m || !ref) goto out;
    CHECK_MSG(gl_vit_load(g, &gl_mmproj_hparams_of(m)->vit, &vit) == GLIMPSE_OK, "%s", glimpse_last_error());
    static const int sizes[][2] = {{48, 80}, {96, 64}, {52, 85}};
    for (int i = 0; i < 3; i++) {
        int h = sizes[i][0], w = sizes[i][1];
        int64_t n = (int64_t)(h / 8) * (w / 8) * 64;
        char name[64];
        snprintf(name, sizeof name, "vit_pixels.%dx%d", h, w);
        const float *px = ref_tensor(ref, name, 3 * (int64_t)h * w);
        snprintf(name, sizeof name, "vit_hidden.%dx%d", h, w);
        const float *want = ref_tensor(ref, name, n);
        float *out = malloc((size_t)n * sizeof(float));
        if (px && want && out) {
            CHECK_MSG(gl_vit_forward(&vit, px, h, w, out, pool) == GLIMPSE_OK, "%s", glimpse_last_error());
            float max_ref, d = max_abs_diff(out, want, n, &max_ref);
            printf("idefics3 tower %dx%d px: max-abs %.3g (tolerance 1e-4, max |ref| %.3g)\n", h, w, d, max_ref);
            CHECK_MSG(d <= 1e-4f, "%dx%d: max-abs %g", h, w, d);
        }
        free(out);
    }
    gl_vit_free(&vit);
out:
    gl_mmproj_free(m);
    gl_gguf_close(g);
    gl_gguf_close(ref);
}

int main(void) {
    gl_pool *pool = gl_pool_create(2);
    CHECK(pool != NULL);
    check_model(DIR "idefics3-f32.gguf", DIR "idefics3-ref.gguf", 2, 1e-4f, pool);
    check_model(DIR "llava-f32.gguf", DIR "llava-ref.gguf", 2, 1e-4f, pool);
    check_model(DIR "idefics3-f16.gguf", DIR "idefics3-ref.gguf", 2, 5e-3f, pool);
    check_model(DIR "llava-f16.gguf", DIR "llava-ref.gguf", 2, 5e-3f, pool);
    check_interpolated_positions(pool);
    gl_pool_free(pool);
    TEST_DONE();
}
