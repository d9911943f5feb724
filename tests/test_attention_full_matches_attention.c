/* test_attention_full_matches_attention.c - the whole-sequence attention of
 * the vision encoders (gl_attention_full, two matrix products per head)
 * equals the reference gl_attention with no causal mask, on random inputs
 * of several sizes, with and without a thread pool. Tolerance 1e-5 (float
 * sums in another order; outputs are of order 1). */
#include "ops.h"
#include "test.h"

static float urand(unsigned *s) {
    *s = *s * 1664525u + 1013904223u;
    return (float)(*s >> 8) / (float)(1u << 24) * 4.0f - 2.0f;
}

static void check(int64_t n, int n_head, int head_dim, gl_pool *pool) {
    int64_t size = n * n_head * head_dim;
    float *q = malloc(4 * (size_t)size * sizeof(float));
    if (!q) return;
    float *k = q + size, *v = k + size, *want = v + size;
    float got[64 * 4 * 16];
    unsigned seed = (unsigned)(n * 131 + n_head);
    for (int64_t i = 0; i < 3 * size; i++) q[i] = urand(&seed);
    CHECK(gl_attention(want, q, n, k, v, n, n_head * head_dim, n_head, n_head, head_dim, -1, pool) == 0);
    CHECK(gl_attention_full(got, q, k, v, n, n_head, head_dim, pool) == 0);
    float d = 0;
    for (int64_t i = 0; i < size; i++)
        if (!(fabsf(got[i] - want[i]) <= d)) d = fabsf(got[i] - want[i]);
    CHECK_MSG(d <= 1e-5f, "n=%lld heads=%d dim=%d: max-abs %g", (long long)n, n_head, head_dim, d);
    free(q);
}

int main(void) {
    gl_pool *pool = gl_pool_create(3);
    CHECK(pool != NULL);
    static const int sizes[][3] = {{1, 1, 4}, {5, 2, 8}, {37, 3, 16}, {64, 4, 16}};
    for (int i = 0; i < 4; i++) {
        check(sizes[i][0], sizes[i][1], sizes[i][2], NULL);
        check(sizes[i][0], sizes[i][1], sizes[i][2], pool);
    }
    gl_pool_free(pool);
    TEST_DONE();
}
