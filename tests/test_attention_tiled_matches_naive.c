/* test_attention_tiled_matches_naive.c - gl_attention (tiled, online
 * softmax, key ranges merged for few queries) equals a naive double-precision
 * softmax(q k^T / sqrt(d)) v: without a mask (vision: every query sees every
 * key), causal prefill after a cached prefix, one decoded query over a long
 * cache (split into key ranges), grouped-query heads, a KV row stride wider
 * than the heads, key counts off the 256-key block, on one and two threads.
 *
 * Tolerance: |got - want| <= 1e-5 * max|v| per output element (the output is
 * a convex combination of value rows; float32 scores, a polynomial exp within
 * 2 ulp and blockwise rescaling stay far inside it). */
#include "attention_reference.h"
#include "test.h"
#include "threads.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static void check_case(const att_case *c, gl_pool *pool) { check_attention_case(c, pool, &rng, 0, 1e-5); }

int main(void) {
    static const att_case cases[] = {
        {"vision, no mask", 300, 300, -1, 4, 4, 64, 0},
        {"causal prefill", 150, 150, 0, 6, 2, 32, 0},
        {"causal after a 333-token prefix", 70, 403, 333, 9, 3, 64, 8},
        {"one decoded query", 1, 700, 699, 9, 3, 64, 0},
        {"one query, long cache, MHA", 1, 1100, 1099, 4, 4, 16, 0},
        {"two queries after 600", 2, 602, 600, 2, 1, 64, 0},
    };
    gl_pool *pool = gl_pool_create(2);
    CHECK(pool != NULL);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        check_case(&cases[i], NULL);
        if (pool) check_case(&cases[i], pool);
    }
    gl_pool_free(pool);
    TEST_DONE();
}
