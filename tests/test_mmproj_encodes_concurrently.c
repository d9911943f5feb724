/* test_mmproj_encodes_concurrently.c - a loaded mmproj is read-only: four
 * threads encoding different tiles at once, each with its own pool, get
 * bit-identical results to encoding the same tiles one after another. */
#include "gguf.h"
#include "mmproj.h"
#include "test.h"

#include <pthread.h>

#define DIR GLIMPSE_SOURCE_DIR "/tests/fixtures/vision/"
enum { N_THREADS = 4, N_OUT = 16 * 96 };

typedef struct {
    const gl_mmproj *m;
    const float *pixels;
    float out[N_OUT];
    glimpse_status st;
} job;

static void *run(void *p) {
    job *j = p;
    gl_pool *pool = gl_pool_create(2);
    j->st = pool ? gl_mmproj_encode(j->m, j->pixels, j->out, pool) : GLIMPSE_ERR_NOMEM;
    gl_pool_free(pool);
    return NULL;
}

int main(void) {
    gl_gguf *g = NULL, *ref = NULL;
    gl_mmproj *m = NULL;
    CHECK(gl_gguf_open(DIR "llava-f32.gguf", &g) == GLIMPSE_OK);
    CHECK(gl_gguf_open(DIR "llava-ref.gguf", &ref) == GLIMPSE_OK);
    if (g) CHECK(gl_mmproj_load(g, &m) == GLIMPSE_OK);
    if (!m || !ref) TEST_DONE();
    static job jobs[N_THREADS];
    static float serial[N_THREADS][N_OUT];
    for (int i = 0; i < N_THREADS; i++) {
        jobs[i].m = m;
        jobs[i].pixels = gl_gguf_tensor(ref, i % 2 ? "pixels.1" : "pixels.0")->data;
        CHECK(gl_mmproj_encode(m, jobs[i].pixels, serial[i], NULL) == GLIMPSE_OK);
    }
    pthread_t t[N_THREADS];
    for (int i = 0; i < N_THREADS; i++) CHECK(pthread_create(&t[i], NULL, run, &jobs[i]) == 0);
    for (int i = 0; i < N_THREADS; i++) pthread_join(t[i], NULL);
    for (int i = 0; i < N_THREADS; i++) {
        CHECK_MSG(jobs[i].st == GLIMPSE_OK, "thread %d", i);
        CHECK_MSG(memcmp(jobs[i].out, serial[i], sizeof serial[i]) == 0, "thread %d differs", i);
    }
    gl_mmproj_free(m);
    gl_gguf_close(g);
    gl_gguf_close(ref);
    TEST_DONE();
}
