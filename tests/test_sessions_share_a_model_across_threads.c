/* Sessions on one loaded model can run on different threads at once and give
 * the same answers as when run one after the other. */
#include "glimpse.h"
#include "test.h"

#include <pthread.h>

#define FIX GLIMPSE_SOURCE_DIR "/tests/fixtures/"
#define N_TOKENS 12

typedef struct {
    glimpse_model *m;
    const char *image;
    int32_t ids[N_TOKENS];
    int32_t n;
    glimpse_status st;
} job;

static void *answer(void *p) {
    job *j = p;
    glimpse_session *s = NULL;
    glimpse_image *img = NULL;
    j->st = glimpse_session_open(j->m, NULL, &s);
    if (!j->st) j->st = glimpse_image_load_file(j->m, j->image, &img);
    if (!j->st) j->st = glimpse_session_add_image(s, img);
    if (!j->st) j->st = glimpse_session_add_message(s, "user", "Describe this image.");
    glimpse_gen_params g = glimpse_gen_default_params();
    g.max_tokens = N_TOKENS;
    g.ignore_eos = 1;
    if (!j->st) j->st = glimpse_session_generate(s, &g, NULL, NULL, NULL, NULL);
    if (!j->st) {
        const int32_t *ids = glimpse_session_answer_tokens(s, &j->n);
        memcpy(j->ids, ids, (size_t)j->n * sizeof *ids);
    }
    glimpse_session_free(s);
    return NULL;
}

int main(void) {
    glimpse_model_params p = glimpse_model_default_params();
    p.model_path = FIX "e2e/smolvlm-text.gguf";
    p.mmproj_path = FIX "e2e/smolvlm-mmproj.gguf";
    p.n_threads = 2;
    glimpse_model *m;
    if (glimpse_model_load(&p, &m) != GLIMPSE_OK) {
        fprintf(stderr, "%s\n", glimpse_last_error());
        return 1;
    }
    const char *images[3] = {FIX "images/landscape.jpg", FIX "images/portrait.png", FIX "images/exif_rot6.jpg"};
    job alone[3], together[3];
    for (int i = 0; i < 3; i++) {
        alone[i] = (job){.m = m, .image = images[i]};
        answer(&alone[i]);
        CHECK_MSG(alone[i].st == GLIMPSE_OK && alone[i].n == N_TOKENS, "%s: %s", images[i], glimpse_last_error());
    }
    pthread_t threads[3];
    for (int i = 0; i < 3; i++) {
        together[i] = (job){.m = m, .image = images[i]};
        pthread_create(&threads[i], NULL, answer, &together[i]);
    }
    for (int i = 0; i < 3; i++) {
        pthread_join(threads[i], NULL);
        CHECK(together[i].st == GLIMPSE_OK && together[i].n == N_TOKENS);
        CHECK_MSG(!memcmp(alone[i].ids, together[i].ids, sizeof alone[i].ids), "%s: answers differ across threads",
                  images[i]);
    }
    glimpse_model_free(m);
    TEST_DONE();
}
