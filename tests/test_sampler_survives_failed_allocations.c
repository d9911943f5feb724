/* Creating a sampler or stop matcher, sampling, and feeding stop pieces with
 * each allocation in turn made to fail report the failure (NULL, -1 or
 * GLIMPSE_ERR_NOMEM) and leak nothing (checked under ASan). */
#include "mem.h"
#include "sample.h"
#include "test.h"

int main(void) {
    static float logits[1000];
    for (int i = 0; i < 1000; i++) logits[i] = (float)(i % 17);

    int sampled = 0;
    for (long n = 0; n < 20 && !sampled; n++) {
        gl_sampler_params p = gl_sampler_default_params();
        p.top_k = 0;
        gl_alloc_fail_after(n);
        gl_sampler *s = gl_sampler_new(&p);
        int32_t t = s ? gl_sampler_sample(s, logits, 1000) : -1;
        gl_alloc_fail_after(-1);
        if (t >= 0) sampled = 1;
        else CHECK(strstr(glimpse_last_error(), "out of memory") != NULL);
        gl_sampler_free(s);
    }
    CHECK(sampled);

    const char *stops[] = {"STOP", "\n\n"};
    int matched = 0;
    for (long n = 0; n < 20 && !matched; n++) {
        gl_alloc_fail_after(n);
        gl_stop_matcher *m = gl_stop_matcher_new(stops, 2);
        gl_stop_result r = {0};
        glimpse_status st = m ? gl_stop_matcher_feed(m, "some text then STOP", 19, &r) : GLIMPSE_ERR_NOMEM;
        gl_alloc_fail_after(-1);
        if (st == GLIMPSE_OK) {
            matched = 1;
            CHECK(r.stopped && r.emit_len == 15);
        } else {
            CHECK(st == GLIMPSE_ERR_NOMEM);
        }
        gl_stop_matcher_free(m);
    }
    CHECK(matched);
    TEST_DONE();
}
