/* glimpse answers as transformers does: for tiny random-weight SmolVLM
 * (Idefics3) and LLaVA models and three images with a question each, the
 * first step's logits agree within 1e-4 (max abs, F32 weights) and the
 * greedy 32-token answers are the same ids. Only the public API is used, so
 * this covers decoding, preprocessing, prompt layout, the encoder, the
 * projector and the decoder together. Fixtures: make_e2e_fixtures.py. */
#include "glimpse.h"
#include "test.h"

#include <stdint.h>

#define FIX GLIMPSE_SOURCE_DIR "/tests/fixtures/e2e/"
#define LOGIT_TOL 1e-4f

static glimpse_model *load(const char *family) {
    char text[512], mmproj[512];
    snprintf(text, sizeof text, FIX "%s-text.gguf", family);
    snprintf(mmproj, sizeof mmproj, FIX "%s-mmproj.gguf", family);
    glimpse_model_params p = glimpse_model_default_params();
    p.model_path = text;
    p.mmproj_path = mmproj;
    p.n_threads = 2;
    glimpse_model *m = NULL;
    CHECK_MSG(glimpse_model_load(&p, &m) == GLIMPSE_OK, "%s", glimpse_last_error());
    return m;
}

/* Asks question about image with max_tokens; returns the status. */
static glimpse_status ask(glimpse_session *s, glimpse_model *m, const char *image, const char *question,
                          int max_tokens, glimpse_timings *t) {
    char path[512];
    snprintf(path, sizeof path, GLIMPSE_SOURCE_DIR "/tests/fixtures/images/%s", image);
    glimpse_session_reset(s);
    glimpse_image *img;
    glimpse_status st = glimpse_image_load_file(m, path, &img);
    if (!st) st = glimpse_session_add_image(s, img);
    if (!st) st = glimpse_session_add_message(s, "user", question);
    glimpse_gen_params g = glimpse_gen_default_params();
    g.max_tokens = max_tokens;
    g.ignore_eos = 1; /* transformers' reference ran with no EOS */
    if (!st) st = glimpse_session_generate(s, &g, NULL, NULL, NULL, t);
    return st;
}

int main(void) {
    FILE *f = fopen(FIX "expected.txt", "r");
    if (!f) TEST_SKIP("no fixtures in " FIX);
    char line[4096];
    int cases = 0;
    while (fgets(line, sizeof line, f)) {
        char family[32], image[128];
        int index, n_prompt, n_image, n_answer, used;
        if (sscanf(line, "%31s %d %127s %d %d %d%n", family, &index, image, &n_prompt, &n_image, &n_answer, &used) != 6)
            continue;
        int32_t want[64];
        char *p = line + used;
        for (int i = 0; i < n_answer && i < 64; i++) want[i] = (int32_t)strtol(p, &p, 10);
        char *question = strstr(line, "| ") + 2;
        question[strcspn(question, "\n")] = 0;

        glimpse_model *m = load(family);
        glimpse_session *s = NULL;
        if (!m || glimpse_session_open(m, NULL, &s) != GLIMPSE_OK) {
            CHECK_MSG(0, "%s: %s", family, glimpse_last_error());
            glimpse_model_free(m);
            continue;
        }
        /* First step: the logits the first answer token is drawn from. */
        glimpse_timings t;
        glimpse_status st = ask(s, m, image, question, 1, &t);
        CHECK_MSG(st == GLIMPSE_OK, "%s %s: %s", family, image, glimpse_last_error());
        CHECK_MSG(t.n_prompt_tokens + t.n_cached_tokens == n_prompt, "%s %s: %d prompt tokens, transformers %d",
                  family, image, t.n_prompt_tokens + t.n_cached_tokens, n_prompt);
        CHECK_MSG(t.n_image_tokens == n_image, "%s %s: %d image tokens, transformers %d", family, image,
                  t.n_image_tokens, n_image);
        char ref_path[512];
        snprintf(ref_path, sizeof ref_path, FIX "%s-logits-%d.bin", family, index);
        size_t bytes = 0;
        float *ref = (float *)test_read_file(ref_path, &bytes);
        int32_t n_vocab = 0;
        const float *logits = glimpse_session_logits(s, &n_vocab);
        CHECK(ref && bytes == (size_t)n_vocab * sizeof(float));
        float max_err = 0;
        for (int32_t i = 0; ref && i < n_vocab && (size_t)i * 4 < bytes; i++) {
            float e = fabsf(logits[i] - ref[i]);
            if (e > max_err) max_err = e;
        }
        CHECK_MSG(max_err <= LOGIT_TOL, "%s %s: first-step logits differ by %g", family, image, max_err);
        free(ref);

        /* The greedy answer, as ids. */
        st = ask(s, m, image, question, n_answer, &t);
        CHECK_MSG(st == GLIMPSE_OK, "%s %s: %s", family, image, glimpse_last_error());
        int32_t n_got = 0;
        const int32_t *got = glimpse_session_answer_tokens(s, &n_got);
        int same = n_got == n_answer;
        for (int i = 0; same && i < n_answer; i++) same = got[i] == want[i];
        CHECK_MSG(same, "%s %s: greedy answer differs (got %d tokens, first %d, want first %d)", family, image, n_got,
                  n_got ? got[0] : -1, want[0]);
        printf("%s %-14s prompt %3d (image %2d) logits max err %.2e, answer %s\n", family, image, n_prompt, n_image,
               max_err, same ? "same" : "DIFFERENT");
        glimpse_session_free(s);
        glimpse_model_free(m);
        cases++;
    }
    fclose(f);
    CHECK(cases == 6);
    TEST_DONE();
}
