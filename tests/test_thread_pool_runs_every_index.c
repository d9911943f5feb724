/* The pool calls the task once per thread index, every time, also when
 * several threads submit jobs to the one pool at once. */
#include "threads.h"
#include "test.h"

#include <pthread.h>
#include <stdatomic.h>

typedef struct {
    atomic_int calls[8];
    atomic_long sum;
} counts;

static void task(void *p, int ith, int nth) {
    counts *c = p;
    atomic_fetch_add(&c->calls[ith], 1);
    long b, e;
    gl_split_range(1000, ith, nth, &b, &e);
    for (long i = b; i < e; i++) atomic_fetch_add(&c->sum, i);
}

static gl_pool *shared;

static void *submitter(void *p) {
    counts *c = p;
    for (int r = 0; r < 200; r++) gl_pool_run(shared, task, c);
    return NULL;
}

int main(void) {
    for (int n = 1; n <= 4; n++) {
        gl_pool *pool = gl_pool_create(n);
        CHECK(pool && gl_pool_size(pool) == n);
        counts c = {0};
        for (int r = 0; r < 100; r++) gl_pool_run(pool, task, &c);
        for (int i = 0; i < n; i++) CHECK_MSG(c.calls[i] == 100, "thread %d ran %d times", i, (int)c.calls[i]);
        CHECK(c.sum == 100L * 999 * 1000 / 2);
        gl_pool_free(pool);
    }
    shared = gl_pool_create(3);
    counts a = {0}, b = {0};
    pthread_t t1, t2;
    pthread_create(&t1, NULL, submitter, &a);
    pthread_create(&t2, NULL, submitter, &b);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    CHECK(a.sum == 200L * 999 * 1000 / 2 && b.sum == a.sum);
    gl_pool_free(shared);
    long b0, e0;
    gl_split_range(10, 3, 4, &b0, &e0);
    CHECK(b0 == 9 && e0 == 10);
    gl_split_range(2, 3, 4, &b0, &e0);
    CHECK(b0 == e0);
    TEST_DONE();
}
