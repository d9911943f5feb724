/* test_mmproj_reads_legacy_variants.c - files that spell the same tower
 * differently encode identically:
 *  - FFN names swapped as llama.cpp's legacy converter writes them
 *    (fc1 -> ffn_down, fc2 -> ffn_up), here applied to the Idefics3 fixture,
 *    which convert_hf_to_gguf.py wrote with the right names;
 *  - a LLaVA file with an explicit clip.vision.feature_layer equal to the
 *    stored block count (what the legacy converter writes when the HF config
 *    names vision_feature_layer) and the same file without it.
 * Both encodings must be bit-identical to the original's. */
#include "gguf.h"
#include "mmproj.h"
#include "mmproj_edit.h"
#include "test.h"

#define DIR GLIMPSE_SOURCE_DIR "/tests/fixtures/vision/"
#define VARIANT GLIMPSE_BINARY_DIR "/tests/mmproj_variant.gguf"

/* Encodes pixels.0 of the reference file with the model at path into out. */
static int encode(const char *path, const char *ref_path, float *out, int64_t n_out) {
    gl_gguf *g = NULL, *ref = NULL;
    gl_mmproj *m = NULL;
    int ok = gl_gguf_open(path, &g) == GLIMPSE_OK && gl_gguf_open(ref_path, &ref) == GLIMPSE_OK &&
             gl_mmproj_load(g, &m) == GLIMPSE_OK;
    if (ok) {
        const gl_tensor *px = gl_gguf_tensor(ref, "pixels.0");
        const gl_mmproj_hparams *hp = gl_mmproj_hparams_of(m);
        ok = px && (int64_t)hp->n_tokens * hp->n_proj_embd == n_out && gl_mmproj_encode(m, px->data, out, NULL) == GLIMPSE_OK;
    }
    if (!ok) fprintf(stderr, "%s: %s\n", path, glimpse_last_error());
    gl_mmproj_free(m);
    gl_gguf_close(g);
    gl_gguf_close(ref);
    return ok;
}

static void check_same(const char *original, const char *ref, const mmproj_edit *e, const char *what) {
    enum { N = 16 * 96 };
    static float want[N], got[N];
    CHECK_MSG(mmproj_rewrite(original, VARIANT, e) == 0, "%s: %s", what, glimpse_last_error());
    CHECK_MSG(encode(original, ref, want, N), "%s: original", what);
    CHECK_MSG(encode(VARIANT, ref, got, N), "%s: variant", what);
    CHECK_MSG(memcmp(want, got, sizeof want) == 0, "%s: embeddings differ", what);
}

int main(void) {
    mmproj_edit swap = {.rename_from = {"v.blk.0.ffn_up.weight", "v.blk.0.ffn_down.weight", "v.blk.0.ffn_up.bias",
                                        "v.blk.0.ffn_down.bias"},
                        .rename_to = {"v.blk.0.ffn_down.weight", "v.blk.0.ffn_up.weight", "v.blk.0.ffn_down.bias",
                                      "v.blk.0.ffn_up.bias"}};
    check_same(DIR "idefics3-f32.gguf", DIR "idefics3-ref.gguf", &swap, "swapped FFN weight names");
    mmproj_edit swap_bias = {.rename_from = {"v.blk.1.ffn_up.bias", "v.blk.1.ffn_down.bias"},
                             .rename_to = {"v.blk.1.ffn_down.bias", "v.blk.1.ffn_up.bias"}};
    /* Bias names alone swapped while the weights keep their names: a broken file, refused. */
    CHECK(mmproj_rewrite(DIR "idefics3-f32.gguf", VARIANT, &swap_bias) == 0);
    gl_gguf *g;
    gl_mmproj *m = NULL;
    if (gl_gguf_open(VARIANT, &g) == GLIMPSE_OK) {
        CHECK_ERROR(gl_mmproj_load(g, &m), GLIMPSE_ERR_FORMAT, "tensor 'v.blk.1.ffn_up.bias' has shape 64x1, expected 128x1");
        gl_mmproj_free(m);
        gl_gguf_close(g);
    }

    mmproj_edit feature = {.add_i32_arr_key = "clip.vision.feature_layer", .add_i32_arr = (const int32_t[]){2},
                           .add_i32_arr_n = 1};
    check_same(DIR "llava-f32.gguf", DIR "llava-ref.gguf", &feature, "explicit feature layer");
    remove(VARIANT);
    TEST_DONE();
}
