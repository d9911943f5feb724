/* test_mmproj_rejects_bad_files.c - a broken or foreign mmproj is refused
 * at load time with a status and one message naming the file and the key or
 * tensor at fault; a text model of another width is refused as a mismatch.
 * Each bad file is the Idefics3 or LLaVA fixture with one thing changed. */
#include "gguf.h"
#include "mmproj.h"
#include "mmproj_edit.h"
#include "test.h"
#include "vit.h"

#define DIR GLIMPSE_SOURCE_DIR "/tests/fixtures/vision/"
#define IDEFICS3 DIR "idefics3-f32.gguf"
#define LLAVA DIR "llava-f32.gguf"
#define BAD GLIMPSE_BINARY_DIR "/tests/mmproj_bad.gguf"

static glimpse_status load_edited(const char *src, const mmproj_edit *e) {
    if (mmproj_rewrite(src, BAD, e)) {
        fprintf(stderr, "could not write %s: %s\n", BAD, glimpse_last_error());
        return GLIMPSE_ERR_IO;
    }
    gl_gguf *g;
    glimpse_status st = gl_gguf_open(BAD, &g);
    if (st) return st;
    gl_mmproj *m = NULL;
    st = gl_mmproj_load(g, &m);
    gl_mmproj_free(m);
    gl_gguf_close(g);
    return st;
}

int main(void) {
    /* The unedited copy loads: the failures below come from the edits. */
    CHECK_MSG(load_edited(IDEFICS3, &(mmproj_edit){0}) == GLIMPSE_OK, "%s", glimpse_last_error());
    CHECK_MSG(load_edited(LLAVA, &(mmproj_edit){0}) == GLIMPSE_OK, "%s", glimpse_last_error());

    /* Missing tensors: a layer weight, the projector, the CLIP class token. */
    CHECK_ERROR(load_edited(IDEFICS3, &(mmproj_edit){.drop_tensor = "v.blk.1.attn_k.weight"}), GLIMPSE_ERR_FORMAT,
                "mmproj_bad.gguf: missing tensor 'v.blk.1.attn_k.weight'");
    CHECK_ERROR(load_edited(IDEFICS3, &(mmproj_edit){.drop_tensor = "mm.model.fc.weight"}), GLIMPSE_ERR_FORMAT,
                "missing tensor 'mm.model.fc.weight'");
    CHECK_ERROR(load_edited(LLAVA, &(mmproj_edit){.drop_tensor = "v.class_embd"}), GLIMPSE_ERR_FORMAT,
                "missing tensor 'v.class_embd'");
    CHECK_ERROR(load_edited(LLAVA, &(mmproj_edit){.drop_tensor = "mm.2.weight"}), GLIMPSE_ERR_FORMAT,
                "missing tensor 'mm.2.weight'");

    /* Wrong shapes (first and last dims exchanged). */
    CHECK_ERROR(load_edited(IDEFICS3, &(mmproj_edit){.reshape_tensor = "mm.model.fc.weight"}), GLIMPSE_ERR_FORMAT,
                "mmproj_bad.gguf: tensor 'mm.model.fc.weight' has shape 96x256, expected 256x96");
    CHECK_ERROR(load_edited(LLAVA, &(mmproj_edit){.reshape_tensor = "v.position_embd.weight"}), GLIMPSE_ERR_FORMAT,
                "tensor 'v.position_embd.weight' has shape 17x48, expected 48x17");
    CHECK_ERROR(load_edited(IDEFICS3, &(mmproj_edit){.reshape_tensor = "v.blk.0.ffn_down.weight"}),
                GLIMPSE_ERR_FORMAT, "tensor 'v.blk.0.ffn_down.weight' has shape 64x128, expected 128x64");
    CHECK_ERROR(load_edited(LLAVA, &(mmproj_edit){.reshape_tensor = "v.patch_embd.weight"}), GLIMPSE_ERR_FORMAT,
                "tensor 'v.patch_embd.weight' has shape 48x14x3x14, expected 14x14x3x48");
    CHECK_ERROR(load_edited(LLAVA, &(mmproj_edit){.reshape_tensor = "mm.0.weight"}), GLIMPSE_ERR_FORMAT,
                "tensor 'mm.0.weight' has shape");

    /* Projector types glimpse does not run, known to llama.cpp or not. */
    CHECK_ERROR(load_edited(IDEFICS3, &(mmproj_edit){.set_str_key = "clip.projector_type", .set_str = "resampler_x"}),
                GLIMPSE_ERR_UNSUPPORTED, "mmproj_bad.gguf: projector type 'resampler_x' is not supported");
    CHECK_ERROR(load_edited(IDEFICS3, &(mmproj_edit){.set_str_key = "clip.projector_type", .set_str = "gemma3"}),
                GLIMPSE_ERR_UNSUPPORTED, "projector type 'gemma3' is not supported");
    CHECK_ERROR(load_edited(IDEFICS3, &(mmproj_edit){.drop_key = "clip.projector_type"}), GLIMPSE_ERR_FORMAT,
                "missing key 'clip.projector_type'");

    /* Keys: missing, inconsistent, unsupported activation, not an mmproj. */
    CHECK_ERROR(load_edited(IDEFICS3, &(mmproj_edit){.drop_key = "clip.vision.patch_size"}), GLIMPSE_ERR_FORMAT,
                "mmproj_bad.gguf: missing key 'clip.vision.patch_size'");
    CHECK_ERROR(load_edited(IDEFICS3, &(mmproj_edit){.set_bool_key = "clip.use_silu", .set_bool = 1}),
                GLIMPSE_ERR_FORMAT, "both clip.use_gelu and clip.use_silu are set");
    CHECK_ERROR(load_edited(LLAVA, &(mmproj_edit){.set_bool_key = "clip.use_silu", .set_bool = 1}),
                GLIMPSE_ERR_UNSUPPORTED, "SiLU vision MLP (clip.use_silu) is not supported for projector 'mlp'");
    CHECK_ERROR(load_edited(IDEFICS3, &(mmproj_edit){.set_bool_key = "clip.has_vision_encoder", .set_bool = 0}),
                GLIMPSE_ERR_UNSUPPORTED, "no vision encoder");
    CHECK_ERROR(load_edited(IDEFICS3, &(mmproj_edit){.set_str_key = "general.architecture", .set_str = "llama"}),
                GLIMPSE_ERR_FORMAT, "not an mmproj file");
    CHECK_ERROR(load_edited(LLAVA, &(mmproj_edit){.add_i32_arr_key = "clip.vision.feature_layer",
                                                  .add_i32_arr = (const int32_t[]){3}, .add_i32_arr_n = 1}),
                GLIMPSE_ERR_FORMAT, "'clip.vision.feature_layer' entry 0 is not a layer index in 0..2");

    /* Tiles the towers cannot take: CLIP at another size (transformers'
     * LLaVA does not interpolate its positions), any tower on a tile narrower than a patch. */
    gl_gguf *lg = NULL;
    gl_mmproj *lm = NULL;
    CHECK(gl_gguf_open(LLAVA, &lg) == GLIMPSE_OK);
    if (lg) CHECK(gl_mmproj_load(lg, &lm) == GLIMPSE_OK);
    if (lm) {
        gl_vit vit;
        CHECK(gl_vit_load(lg, &gl_mmproj_hparams_of(lm)->vit, &vit) == GLIMPSE_OK);
        static float px[3 * 70 * 70], out[25 * 48];
        CHECK_ERROR(gl_vit_forward(&vit, px, 70, 70, out, NULL), GLIMPSE_ERR_UNSUPPORTED,
                    "CLIP tower: tile of 5x5 patches, but the model takes 4x4");
        CHECK_ERROR(gl_vit_forward(&vit, px, 56, 13, out, NULL), GLIMPSE_ERR_INVALID_ARG,
                    "tile 56x13 does not fit the patch size 14");
        gl_vit_free(&vit);
    }
    gl_mmproj_free(lm);
    gl_gguf_close(lg);

    /* A text model of another width. */
    gl_gguf *g = NULL;
    gl_mmproj *m = NULL;
    CHECK(gl_gguf_open(IDEFICS3, &g) == GLIMPSE_OK);
    if (g) CHECK(gl_mmproj_load(g, &m) == GLIMPSE_OK);
    if (m) {
        CHECK(gl_mmproj_check_text_width(m, 96, "mmproj-x.gguf", "text-x.gguf") == GLIMPSE_OK);
        CHECK_ERROR(gl_mmproj_check_text_width(m, 576, "mmproj-x.gguf", "text-x.gguf"), GLIMPSE_ERR_MISMATCH,
                    "mmproj-x.gguf: projects images to width 96, but the text model text-x.gguf has embedding width 576");
    }
    gl_mmproj_free(m);
    gl_gguf_close(g);
    remove(BAD);
    TEST_DONE();
}
