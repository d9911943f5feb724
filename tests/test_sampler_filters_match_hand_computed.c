/* Each filter of the chain keeps exactly the tokens worked out by hand on
 * small distributions, and the survivors' probabilities are the
 * renormalised softmax (tolerance 1e-6 absolute):
 *   top-k  the k highest logits, lower ids first among equals;
 *   top-p  the smallest most-likely-first set whose mass reaches p;
 *   min-p  p >= min_p * p_max, relative to the largest probability;
 *   order  top-p and min-p see temperature-1 probabilities (llama.cpp's
 *          chain), the temperature only reshapes the survivors. */
#include "sample.h"
#include "test.h"

#include <math.h>

static gl_sampler_params plain(void) {
    gl_sampler_params p = gl_sampler_default_params();
    p.temperature = 1.0f;
    p.top_k = 0;
    p.top_p = 1.0f;
    p.min_p = 0.0f;
    return p;
}

/* Runs the chain and checks that the survivors are exactly want_ids (any
 * order) with probabilities want_p. */
static void expect(const gl_sampler_params *p, const float *logits, int32_t n_vocab,
                   const int32_t *want_ids, const double *want_p, int32_t n_want, const char *what) {
    gl_sampler *s = gl_sampler_new(p);
    const gl_token_prob *c;
    int32_t n;
    CHECK(gl_sampler_candidates(s, logits, n_vocab, &c, &n) == GLIMPSE_OK);
    CHECK_MSG(n == n_want, "%s: %d survivors, want %d", what, (int)n, (int)n_want);
    for (int32_t i = 0; i < n_want && n == n_want; i++) {
        int found = 0;
        for (int32_t j = 0; j < n; j++) {
            if (c[j].id != want_ids[i]) continue;
            found = 1;
            CHECK_MSG(fabs(c[j].p - want_p[i]) < 1e-6, "%s: p[%d] = %.7f, want %.7f", what,
                      (int)want_ids[i], c[j].p, want_p[i]);
        }
        CHECK_MSG(found, "%s: token %d missing", what, (int)want_ids[i]);
    }
    gl_sampler_free(s);
}

int main(void) {
    // Probabilities 0.5, 0.3, 0.15, 0.05 given as logits log(p) (softmax gives them back),
    // stored out of order to check that the filters rank them.
    float lg[4] = {logf(0.15f), logf(0.5f), logf(0.05f), logf(0.3f)};
    // ids by probability: 1 (0.5), 3 (0.3), 0 (0.15), 2 (0.05)

    gl_sampler_params p = plain();
    expect(&p, lg, 4, (int32_t[]){1, 3, 0, 2}, (double[]){0.5, 0.3, 0.15, 0.05}, 4, "no filter");

    p = plain();
    p.top_k = 2;
    expect(&p, lg, 4, (int32_t[]){1, 3}, (double[]){0.5 / 0.8, 0.3 / 0.8}, 2, "top-k 2");
    p.top_k = 4;
    expect(&p, lg, 4, (int32_t[]){1, 3, 0, 2}, (double[]){0.5, 0.3, 0.15, 0.05}, 4, "top-k = n");
    // Ties: logits 1, 1, 1, 0 with k = 2 keep ids 0 and 1.
    float tie[4] = {1.0f, 1.0f, 1.0f, 0.0f};
    p.top_k = 2;
    expect(&p, tie, 4, (int32_t[]){0, 1}, (double[]){0.5, 0.5}, 2, "top-k ties");

    // top-p: mass 0.5 | 0.8 | 0.95 | 1.0 after 1, 2, 3, 4 tokens.
    p = plain();
    p.top_p = 0.45f;
    expect(&p, lg, 4, (int32_t[]){1}, (double[]){1.0}, 1, "top-p 0.45");
    p.top_p = 0.75f;
    expect(&p, lg, 4, (int32_t[]){1, 3}, (double[]){0.5 / 0.8, 0.3 / 0.8}, 2, "top-p 0.75");
    p.top_p = 0.85f;
    expect(&p, lg, 4, (int32_t[]){1, 3, 0}, (double[]){0.5 / 0.95, 0.3 / 0.95, 0.15 / 0.95}, 3,
           "top-p 0.85");
    p.top_p = 0.0f;
    expect(&p, lg, 4, (int32_t[]){1}, (double[]){1.0}, 1, "top-p 0 keeps one");

    // min-p relative to p_max = 0.5: 0.25 -> threshold 0.125 keeps 3; 0.7 -> 0.35 keeps 1.
    p = plain();
    p.min_p = 0.25f;
    expect(&p, lg, 4, (int32_t[]){1, 3, 0}, (double[]){0.5 / 0.95, 0.3 / 0.95, 0.15 / 0.95}, 3,
           "min-p 0.25");
    p.min_p = 0.7f;
    expect(&p, lg, 4, (int32_t[]){1}, (double[]){1.0}, 1, "min-p 0.7");
    // A flat head: p = 0.2 x4, 0.1 x2; min-p 0.6 -> threshold 0.12 (an absolute 0.6 would keep none).
    float flat[6] = {logf(0.2f), logf(0.1f), logf(0.2f), logf(0.2f), logf(0.1f), logf(0.2f)};
    p.min_p = 0.6f;
    expect(&p, flat, 6, (int32_t[]){0, 2, 3, 5}, (double[]){0.25, 0.25, 0.25, 0.25}, 4, "min-p relative");

    // Order: top-p 0.75 at temperature 10 still keeps the 2 tokens chosen at temperature 1
    // (tempered first, as HF does, the mass would be ~0.27+0.26 and 3 tokens would stay);
    // their probabilities are then softmax(logit / 10) over the two.
    p = plain();
    p.top_p = 0.75f;
    p.temperature = 10.0f;
    double a = exp(log(0.5) / 10), b = exp(log(0.3) / 10);
    expect(&p, lg, 4, (int32_t[]){1, 3}, (double[]){a / (a + b), b / (a + b)}, 2, "top-p before temperature");

    // The whole default-like chain: top-k 3 drops id 2, top-p 0.9 over (0.5, 0.3, 0.15)/0.95
    // reaches 0.842 after two tokens and 1.0 after three, min-p 0.35 then drops 0.15 (< 0.175).
    p = plain();
    p.top_k = 3;
    p.top_p = 0.9f;
    p.min_p = 0.35f;
    expect(&p, lg, 4, (int32_t[]){1, 3}, (double[]){0.5 / 0.8, 0.3 / 0.8}, 2, "k, p, min-p together");

    // Sampling only ever returns survivors: top-k 2 over many draws.
    p = plain();
    p.top_k = 2;
    gl_sampler *s = gl_sampler_new(&p);
    for (int i = 0; i < 2000; i++) {
        int32_t t = gl_sampler_sample(s, lg, 4);
        CHECK(t == 1 || t == 3);
    }
    gl_sampler_free(s);
    TEST_DONE();
}
