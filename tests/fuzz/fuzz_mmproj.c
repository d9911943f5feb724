/* libFuzzer target for the mmproj loader: parse arbitrary bytes as GGUF,
 * load them as an mmproj and, when the tower is small enough to run in a
 * moment, encode one tile of zeros. Seeds: tests/fuzz/corpus/mmproj/
 * (written by tests/fixtures/make_vision_fixtures.py). */
#include "gguf.h"
#include "mem.h"
#include "mmproj.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    gl_gguf *g;
    if (gl_gguf_open_memory(data, size, "fuzz.gguf", &g) != GLIMPSE_OK) return 0;
    gl_mmproj *m;
    if (gl_mmproj_load(g, &m) == GLIMPSE_OK) {
        const gl_mmproj_hparams *hp = gl_mmproj_hparams_of(m);
        const gl_vit_hparams *v = &hp->vit;
        if (v->image_size <= 64 && v->n_embd <= 64 && v->n_ff <= 256 && v->n_layer <= 4 && hp->n_proj_embd <= 256) {
            size_t n_px = 3 * (size_t)v->image_size * (size_t)v->image_size;
            float *px = gl_calloc(n_px, sizeof(float));
            float *out = gl_malloc_array((size_t)hp->n_tokens, (size_t)hp->n_proj_embd * sizeof(float));
            if (px && out) gl_mmproj_encode(m, px, out, NULL);
            gl_free(px);
            gl_free(out);
        }
        gl_mmproj_free(m);
    }
    gl_gguf_close(g);
    return 0;
}
