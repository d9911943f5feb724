/* test_attention_amx_matches_naive.c - gl_attention's AMX path (bfloat16
 * products, taken for at least 512 queries and keys with head size 32 or
 * 64) equals a naive double-precision softmax(q k^T / sqrt(d)) v computed
 * from the same bf16-rounded operands: vision-sized heads without a mask,
 * head size 32 with grouped-query heads, a KV stride wider than the heads
 * and a key count off the 32-key steps, a causal mask (early queries see a
 * key or two, so a key too many or too few shows), key ranges merged (four
 * threads, one KV head), on one thread and on pools.
 *
 * Tolerance: |got - want| <= 2^-8 * max|v| + 1e-5 * max|v| per output. The
 * reference rounds q/sqrt(d), k and v to bf16 as the kernels do, so what is
 * left is the rounding of the probabilities to bf16 before they multiply v
 * (relative 2^-9 each, so at most 2^-9 max|v| on a convex combination; the
 * row sum is of the unrounded ones, another 2^-9) and f32 sums and exp (the
 * F32 path's 1e-5). A wrong tile layout or padding is off by about max|v|.
 * Skipped (77) when the CPU has no AMX or Linux refuses the tile state. */
#include "attention_reference.h"
#include "kernels/kernels.h"
#include "test.h"
#include "threads.h"

static uint64_t rng = 0xd1b54a32d192ed03ull;

static void check_case(const att_case *c, gl_pool *pool) { check_attention_case(c, pool, &rng, 1, 0x1p-8 + 1e-5); }

int main(void) {
    if (!gl_kernels_for(GL_ISA_AMX)) TEST_SKIP("no AMX on this CPU, or the OS refused the tile state");
    static const att_case cases[] = {
        {"vision, 1024 patches", 1024, 1024, -1, 1, 1, 64, 0},
        {"head size 32, grouped heads, 700 keys", 520, 700, -1, 2, 1, 32, 8},
        {"causal, 520 positions", 520, 520, 0, 2, 2, 64, 0},
        {"one KV head, key ranges merged", 512, 1000, -1, 1, 1, 64, 0},
    };
    gl_pool *two = gl_pool_create(2), *four = gl_pool_create(4);
    CHECK(two != NULL && four != NULL);
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        check_case(&cases[i], NULL);
        if (two) check_case(&cases[i], two);
    }
    if (four) check_case(&cases[3], four);
    gl_pool_free(two);
    gl_pool_free(four);
    TEST_DONE();
}
