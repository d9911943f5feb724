/* Drawing many tokens at a temperature reproduces softmax(logits / T): each
 * token's frequency over 200000 draws is within 0.006 of its probability
 * (more than 5 standard deviations, sqrt(p(1-p)/n) <= 0.0011), at T = 0.5,
 * 1 and 2. */
#include "sample.h"
#include "test.h"

#include <math.h>

enum { N = 5, DRAWS = 200000 };

int main(void) {
    const float logits[N] = {1.0f, 2.0f, 0.5f, 3.0f, -1.0f};
    const float temps[3] = {0.5f, 1.0f, 2.0f};
    for (int ti = 0; ti < 3; ti++) {
        gl_sampler_params p = gl_sampler_default_params();
        p.temperature = temps[ti];
        p.top_k = 0;
        p.top_p = 1.0f;
        p.min_p = 0.0f;
        p.seed = 1000 + (uint64_t)ti;
        gl_sampler *s = gl_sampler_new(&p);
        long count[N] = {0};
        for (int i = 0; i < DRAWS; i++) {
            int32_t t = gl_sampler_sample(s, logits, N);
            CHECK(t >= 0 && t < N);
            if (t >= 0 && t < N) count[t]++;
        }
        gl_sampler_free(s);
        double z = 0, want[N];
        for (int i = 0; i < N; i++) z += exp(logits[i] / temps[ti]);
        for (int i = 0; i < N; i++) {
            want[i] = exp(logits[i] / temps[ti]) / z;
            double got = (double)count[i] / DRAWS;
            CHECK_MSG(fabs(got - want[i]) < 0.006, "T=%g token %d: frequency %.4f, probability %.4f",
                      temps[ti], i, got, want[i]);
        }
    }
    TEST_DONE();
}
