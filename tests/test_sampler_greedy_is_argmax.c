/* Greedy sampling (temperature <= 0) returns torch.argmax of the logits: the
 * highest logit, the lowest id among equal ones, whatever the other filters
 * say; NaN counts as -inf; unusable input and parameters are refused. */
#include "sample.h"
#include "test.h"

#include <stdint.h>

static int32_t argmax(const float *x, int32_t n) {
    int32_t best = 0;
    for (int32_t i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return best;
}

int main(void) {
    gl_sampler_params p = gl_sampler_default_params();
    p.temperature = 0.0f;
    gl_sampler *s = gl_sampler_new(&p);
    CHECK(s != NULL);

    // Random logits, coarsely quantised so that ties happen often.
    enum { N = 1000 };
    static float logits[N];
    uint64_t state = 12345;
    int ties_seen = 0;
    for (int round = 0; round < 200; round++) {
        for (int i = 0; i < N; i++) {
            state = state * 6364136223846793005ull + 1442695040888963407ull;
            logits[i] = (float)((state >> 33) % 64) - 32.0f;
        }
        int32_t want = argmax(logits, N);
        for (int i = want + 1; i < N; i++) ties_seen += logits[i] == logits[want];
        int32_t got = gl_sampler_sample(s, logits, N);
        CHECK_MSG(got == want, "round %d: got %d, want %d", round, (int)got, (int)want);
    }
    CHECK(ties_seen > 0);

    float tied[5] = {1.0f, 3.0f, 2.0f, 3.0f, 3.0f};
    CHECK(gl_sampler_sample(s, tied, 5) == 1);

    float with_nan[4] = {NAN, 0.5f, NAN, -1.0f};
    CHECK(gl_sampler_sample(s, with_nan, 4) == 1);
    float with_inf[3] = {0.0f, INFINITY, 1.0f};
    CHECK(gl_sampler_sample(s, with_inf, 3) == 1);

    float dead[3] = {-INFINITY, NAN, -INFINITY};
    CHECK(gl_sampler_sample(s, dead, 3) == -1);
    CHECK(strstr(glimpse_last_error(), "-inf") != NULL);
    CHECK(gl_sampler_sample(s, tied, 0) == -1);
    gl_sampler_free(s);

    // Greedy also under a strict top-k/top-p/min-p: the argmax always survives them.
    p.top_k = 1;
    p.top_p = 0.1f;
    p.min_p = 0.9f;
    s = gl_sampler_new(&p);
    CHECK(gl_sampler_sample(s, tied, 5) == 1);
    gl_sampler_free(s);

    // Out-of-range parameters are refused with a message naming the field.
    gl_sampler_params bad = gl_sampler_default_params();
    bad.top_p = 1.5f;
    CHECK(gl_sampler_new(&bad) == NULL && strstr(glimpse_last_error(), "top_p"));
    bad = gl_sampler_default_params();
    bad.min_p = -0.1f;
    CHECK(gl_sampler_new(&bad) == NULL && strstr(glimpse_last_error(), "min_p"));
    bad = gl_sampler_default_params();
    bad.repeat_penalty = 0.0f;
    CHECK(gl_sampler_new(&bad) == NULL && strstr(glimpse_last_error(), "repeat_penalty"));
    bad = gl_sampler_default_params();
    bad.temperature = NAN;
    CHECK(gl_sampler_new(&bad) == NULL && strstr(glimpse_last_error(), "temperature"));
    bad = gl_sampler_default_params();
    bad.repeat_last_n = -1;
    CHECK(gl_sampler_new(&bad) == NULL && strstr(glimpse_last_error(), "repeat_last_n"));
    TEST_DONE();
}
