/* The penalties change exactly the logits of tokens in the last
 * repeat_last_n accepted ones, once per distinct token: a positive logit is
 * divided by repeat_penalty, a negative (or zero) one multiplied; then
 * count * frequency_penalty + presence_penalty is subtracted. Tokens that
 * left the window, and ids outside the vocabulary, change nothing.
 * Compared with hand-computed logits to 1e-6. */
#include "sample.h"
#include "test.h"

#include <math.h>

static void logits_after(gl_sampler *s, const float *logits, int32_t n, float *out) {
    const gl_token_prob *c;
    int32_t m;
    CHECK(gl_sampler_candidates(s, logits, n, &c, &m) == GLIMPSE_OK);
    CHECK(m == n);
    for (int32_t i = 0; i < m; i++) out[c[i].id] = c[i].logit;
}

static gl_sampler_params penalties(float repeat, int32_t last_n, float freq, float presence) {
    gl_sampler_params p = gl_sampler_default_params();
    p.temperature = 1.0f;
    p.top_k = 0;
    p.top_p = 1.0f;
    p.min_p = 0.0f;
    p.repeat_penalty = repeat;
    p.repeat_last_n = last_n;
    p.frequency_penalty = freq;
    p.presence_penalty = presence;
    return p;
}

static void check_logits(const float *got, const float *want, int n, const char *what) {
    for (int i = 0; i < n; i++)
        CHECK_MSG(fabsf(got[i] - want[i]) < 1e-6f, "%s: logit[%d] = %g, want %g", what, i, got[i], want[i]);
}

int main(void) {
    const float lg[5] = {2.0f, -2.0f, 1.0f, 0.0f, 0.5f};
    float got[5];

    // Repeat penalty 2 on tokens 0 (positive), 1 (negative), 3 (zero); token 0 twice.
    gl_sampler_params p = penalties(2.0f, 64, 0.0f, 0.0f);
    gl_sampler *s = gl_sampler_new(&p);
    gl_sampler_accept(s, 0);
    gl_sampler_accept(s, 1);
    gl_sampler_accept(s, 0);
    gl_sampler_accept(s, 3);
    gl_sampler_accept(s, 77); // outside this vocabulary: ignored
    logits_after(s, lg, 5, got);
    check_logits(got, (float[]){1.0f, -4.0f, 1.0f, 0.0f, 0.5f}, 5, "repeat 2");
    gl_sampler_free(s);

    // Window of 2: after 0, 1, 2 only 1 and 2 are penalised.
    p = penalties(2.0f, 2, 0.0f, 0.0f);
    s = gl_sampler_new(&p);
    gl_sampler_accept(s, 0);
    gl_sampler_accept(s, 1);
    gl_sampler_accept(s, 2);
    logits_after(s, lg, 5, got);
    check_logits(got, (float[]){2.0f, -4.0f, 0.5f, 0.0f, 0.5f}, 5, "window 2");
    gl_sampler_free(s);

    // Frequency 0.25 and presence 0.5: token 4 seen 3 times, token 2 once.
    p = penalties(1.0f, 64, 0.25f, 0.5f);
    s = gl_sampler_new(&p);
    gl_sampler_accept(s, 4);
    gl_sampler_accept(s, 2);
    gl_sampler_accept(s, 4);
    gl_sampler_accept(s, 4);
    logits_after(s, lg, 5, got);
    check_logits(got, (float[]){2.0f, -2.0f, 1.0f - 0.25f - 0.5f, 0.0f, 0.5f - 0.75f - 0.5f}, 5,
                 "frequency and presence");
    gl_sampler_free(s);

    // All three at once, in llama.cpp's order (scale, then subtract).
    p = penalties(1.5f, 64, 0.1f, 0.2f);
    s = gl_sampler_new(&p);
    gl_sampler_accept(s, 0);
    gl_sampler_accept(s, 0);
    gl_sampler_accept(s, 1);
    logits_after(s, lg, 5, got);
    check_logits(got, (float[]){2.0f / 1.5f - 0.2f - 0.2f, -2.0f * 1.5f - 0.1f - 0.2f, 1.0f, 0.0f, 0.5f},
                 5, "combined");
    gl_sampler_free(s);

    // The penalty steers greedy decoding: 0 wins until penalised below token 2.
    p = penalties(3.0f, 64, 0.0f, 0.0f);
    p.temperature = 0.0f;
    s = gl_sampler_new(&p);
    CHECK(gl_sampler_sample(s, lg, 5) == 0);
    gl_sampler_accept(s, 0);
    CHECK(gl_sampler_sample(s, lg, 5) == 2);
    gl_sampler_free(s);

    // repeat_last_n 0 turns the penalties off.
    p = penalties(2.0f, 0, 1.0f, 1.0f);
    s = gl_sampler_new(&p);
    gl_sampler_accept(s, 0);
    logits_after(s, lg, 5, got);
    check_logits(got, lg, 5, "last_n 0");
    gl_sampler_free(s);
    TEST_DONE();
}
