/* test_mmproj_survives_allocation_failures.c - every allocation made while
 * loading an mmproj and encoding a tile may fail: each failure is reported
 * as GLIMPSE_ERR_NOMEM and leaves nothing allocated (the sanitizer build
 * checks for leaks), and a later attempt succeeds. Both fixtures, since the
 * CLIP and SigLIP paths allocate differently. */
#include "gguf.h"
#include "mem.h"
#include "mmproj.h"
#include "test.h"

#define DIR GLIMPSE_SOURCE_DIR "/tests/fixtures/vision/"

static void check(const char *model, const char *ref_path) {
    gl_gguf *g = NULL, *ref = NULL;
    CHECK(gl_gguf_open(model, &g) == GLIMPSE_OK);
    CHECK(gl_gguf_open(ref_path, &ref) == GLIMPSE_OK);
    if (!g || !ref) goto out;
    const float *px = gl_gguf_tensor(ref, "pixels.0")->data;
    static float emb[16 * 96];
    int failures = 0;
    for (long n = 0;; n++) {
        gl_mmproj *m = NULL;
        gl_alloc_fail_after(n);
        glimpse_status st = gl_mmproj_load(g, &m);
        if (st == GLIMPSE_OK) st = gl_mmproj_encode(m, px, emb, NULL);
        gl_alloc_fail_after(-1);
        gl_mmproj_free(m);
        if (st == GLIMPSE_OK) break;
        CHECK_MSG(st == GLIMPSE_ERR_NOMEM, "%s: allocation %ld failed with status %d: %s", model, n, (int)st,
                  glimpse_last_error());
        failures++;
        if (st != GLIMPSE_ERR_NOMEM || n > 10000) break;
    }
    printf("%s: %d allocation failures handled\n", model, failures);
    CHECK(failures > 10);
out:
    gl_gguf_close(g);
    gl_gguf_close(ref);
}

int main(void) {
    check(DIR "idefics3-f32.gguf", DIR "idefics3-ref.gguf");
    check(DIR "llava-f32.gguf", DIR "llava-ref.gguf");
    TEST_DONE();
}
