/* test_mmproj_reads_file_variants.c - files that spell the same tower
 * differently encode identically (bit for bit):
 *  - FFN names swapped as llama.cpp's legacy converter writes them
 *    (fc1 -> ffn_down, fc2 -> ffn_up), applied to layer 0 of the Idefics3
 *    fixture, which convert_hf_to_gguf.py wrote with the right names;
 *  - a LLaVA file with an explicit clip.vision.feature_layer equal to the
 *    stored block count (what the legacy converter writes when the HF config
 *    names vision_feature_layer) and the same file without it;
 *  - an image size that is no multiple of the patch size (SigLIP-so400m:
 *    384 px, patch 14): 70 px at patch 8 is still 8x8 patches, and the patch
 *    conv ignores the last 6 rows and columns of the tile. */
#include "gguf.h"
#include "mmproj.h"
#include "mmproj_edit.h"
#include "test.h"

#define DIR GLIMPSE_SOURCE_DIR "/tests/fixtures/vision/"
#define VARIANT GLIMPSE_BINARY_DIR "/tests/mmproj_variant.gguf"
enum { N_OUT = 16 * 96, MAX_S = 70 };

/* Encodes pixels.0 of the reference file, placed at the top left of an
 * S x S tile (S = the model's image size) whose other pixels are 5, with the
 * model at path into out. */
static int encode(const char *path, const char *ref_path, float *out) {
    gl_gguf *g = NULL, *ref = NULL;
    gl_mmproj *m = NULL;
    static float tile[3 * MAX_S * MAX_S];
    int ok = gl_gguf_open(path, &g) == GLIMPSE_OK && gl_gguf_open(ref_path, &ref) == GLIMPSE_OK &&
             gl_mmproj_load(g, &m) == GLIMPSE_OK;
    if (ok) {
        const gl_tensor *px = gl_gguf_tensor(ref, "pixels.0");
        const gl_mmproj_hparams *hp = gl_mmproj_hparams_of(m);
        int S = hp->vit.image_size, s0 = px ? (int)px->ne[0] : 0;
        ok = px && S <= MAX_S && s0 <= S && (int64_t)hp->n_tokens * hp->n_proj_embd == N_OUT;
        for (int c = 0; ok && c < 3; c++)
            for (int y = 0; y < S; y++)
                for (int x = 0; x < S; x++)
                    tile[(c * S + y) * S + x] = y < s0 && x < s0 ? ((const float *)px->data)[(c * s0 + y) * s0 + x] : 5.0f;
        ok = ok && gl_mmproj_encode(m, tile, out, NULL) == GLIMPSE_OK;
    }
    if (!ok) fprintf(stderr, "%s: %s\n", path, glimpse_last_error());
    gl_mmproj_free(m);
    gl_gguf_close(g);
    gl_gguf_close(ref);
    return ok;
}

static void check_same(const char *original, const char *ref, const mmproj_edit *e, const char *what) {
    static float want[N_OUT], got[N_OUT];
    CHECK_MSG(mmproj_rewrite(original, VARIANT, e) == 0, "%s: %s", what, glimpse_last_error());
    CHECK_MSG(encode(original, ref, want), "%s: original", what);
    CHECK_MSG(encode(VARIANT, ref, got), "%s: variant", what);
    CHECK_MSG(memcmp(want, got, sizeof want) == 0, "%s: embeddings differ", what);
}

int main(void) {
    mmproj_edit swap = {.rename_from = {"v.blk.0.ffn_up.weight", "v.blk.0.ffn_down.weight", "v.blk.0.ffn_up.bias",
                                        "v.blk.0.ffn_down.bias"},
                        .rename_to = {"v.blk.0.ffn_down.weight", "v.blk.0.ffn_up.weight", "v.blk.0.ffn_down.bias",
                                      "v.blk.0.ffn_up.bias"}};
    check_same(DIR "idefics3-f32.gguf", DIR "idefics3-ref.gguf", &swap, "swapped FFN names");

    /* Bias names alone swapped while the weights keep theirs: a broken file, refused. */
    mmproj_edit swap_bias = {.rename_from = {"v.blk.1.ffn_up.bias", "v.blk.1.ffn_down.bias"},
                             .rename_to = {"v.blk.1.ffn_down.bias", "v.blk.1.ffn_up.bias"}};
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

    mmproj_edit size = {.set_u32_key = "clip.vision.image_size", .set_u32 = 70};
    check_same(DIR "idefics3-f32.gguf", DIR "idefics3-ref.gguf", &size, "image size 70 at patch 8");
    remove(VARIANT);
    TEST_DONE();
}
