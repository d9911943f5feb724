/* test_vit_positions_match_transformers.c - the SigLIP tower of Idefics3
 * picks the same stored position row for every patch as transformers'
 * Idefics3VisionEmbeddings, for stored grids N of 8..37 per side and tiles
 * of 1..64 patches per side, including the sizes where torch's rounding of
 * its bucket boundaries makes even n == N differ from the identity (19, 25,
 * 29, 37). Reference: positions-ref.gguf from make_vision_fixtures.py, read
 * back from HF's own module. Exact match required. */
#include "gguf.h"
#include "test.h"
#include "vit.h"

int main(void) {
    gl_gguf *ref;
    if (gl_gguf_open(GLIMPSE_SOURCE_DIR "/tests/fixtures/vision/positions-ref.gguf", &ref) != GLIMPSE_OK) {
        fprintf(stderr, "%s\n", glimpse_last_error());
        return 1;
    }
    static const int grids[] = {8, 17, 19, 25, 29, 32, 37};
    int non_identity = 0;
    for (size_t gi = 0; gi < sizeof grids / sizeof grids[0]; gi++) {
        int N = grids[gi];
        char name[32];
        snprintf(name, sizeof name, "bucket.%d", N);
        const gl_tensor *t = gl_gguf_tensor(ref, name);
        CHECK_MSG(t && t->type == 0 && gl_tensor_nelements(t) == 64 * 65 / 2, "%s", name);
        if (!t || t->type != 0 || gl_tensor_nelements(t) != 64 * 65 / 2) continue;
        const float *want = t->data;
        for (int n = 1, k = 0; n <= 64; n++)
            for (int i = 0; i < n; i++, k++) {
                int got = gl_vit_bucket(i, n, N);
                CHECK_MSG(got == (int)want[k], "N=%d n=%d i=%d: %d, transformers %d", N, n, i, got, (int)want[k]);
                if (n == N && (int)want[k] != i) non_identity++;
            }
    }
    /* The fixture does cover the sizes where rounding matters. */
    CHECK(non_identity > 0);
    gl_gguf_close(ref);
    TEST_DONE();
}
