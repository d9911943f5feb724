/* Two samplers with the same seed draw the same tokens from the same logits;
 * another seed draws a different sequence. Each sampler keeps its own random
 * state, so interleaving calls on two samplers changes neither. */
#include "sample.h"
#include "test.h"

#include <stdint.h>

enum { N_VOCAB = 300, STEPS = 500 };

static void make_logits(uint64_t *state, float *out) {
    for (int i = 0; i < N_VOCAB; i++) {
        *state = *state * 6364136223846793005ull + 1442695040888963407ull;
        out[i] = (float)((*state >> 40) % 1000) / 250.0f; // a broad distribution in [0, 4)
    }
}

static void run(uint64_t seed, int32_t *tokens) {
    gl_sampler_params p = gl_sampler_default_params();
    p.seed = seed;
    p.top_k = 0;
    p.top_p = 0.98f;
    p.min_p = 0.0f;
    p.temperature = 1.2f;
    p.repeat_penalty = 1.1f;
    gl_sampler *s = gl_sampler_new(&p);
    uint64_t state = 99;
    static float logits[N_VOCAB];
    for (int i = 0; i < STEPS; i++) {
        make_logits(&state, logits);
        tokens[i] = gl_sampler_sample(s, logits, N_VOCAB);
        gl_sampler_accept(s, tokens[i]);
    }
    gl_sampler_free(s);
}

int main(void) {
    static int32_t a[STEPS], b[STEPS], c[STEPS];
    run(42, a);
    run(42, b);
    run(43, c);
    int same_ab = 0, same_ac = 0, distinct = 0;
    static int seen[N_VOCAB];
    for (int i = 0; i < STEPS; i++) {
        CHECK(a[i] >= 0 && a[i] < N_VOCAB);
        same_ab += a[i] == b[i];
        same_ac += a[i] == c[i];
        if (!seen[a[i]]++) distinct++;
    }
    CHECK_MSG(same_ab == STEPS, "same seed: %d of %d equal", same_ab, STEPS);
    // With ~300 plausible tokens a step, chance agreement is ~1%; allow 10%.
    CHECK_MSG(same_ac < STEPS / 10, "different seeds agree on %d of %d", same_ac, STEPS);
    CHECK_MSG(distinct > 100, "only %d distinct tokens: not sampling", distinct);

    // Interleaved use of two samplers with one seed gives each the same sequence as alone.
    gl_sampler_params p = gl_sampler_default_params();
    p.seed = 7;
    gl_sampler *s1 = gl_sampler_new(&p), *s2 = gl_sampler_new(&p);
    float flat[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (int i = 0; i < 100; i++) {
        int32_t t1 = gl_sampler_sample(s1, flat, 8);
        int32_t t2 = gl_sampler_sample(s2, flat, 8);
        CHECK(t1 == t2);
    }
    gl_sampler_free(s1);
    gl_sampler_free(s2);
    TEST_DONE();
}
