/* threads.c - the worker pool (see threads.h).
 *
 * A job is a generation number plus (fn, ctx). Decoding one token runs a few
 * hundred short jobs of 5-50 microseconds each, so a condition-variable
 * wake-up per job (several microseconds, and a sleeping core to wake) would
 * cost more than the work: workers and the caller first spin on the atomic
 * counters for a bounded time, as ggml's and OpenMP's pools do, and only then
 * sleep on the condition variables. */
#include "threads.h"
#include "mem.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define cpu_relax() _mm_pause()
#else
#define cpu_relax() ((void)0)
#endif

/* Polls before sleeping: a pause is 10-140 cycles, so this is roughly
 * 0.1-1 ms, longer than the gaps between the jobs of one forward pass and
 * short enough not to burn a core when the pool is idle. After the first
 * YIELD_AFTER polls each poll also yields, so that on a machine with more
 * runnable threads than cores the thread being waited for gets the core. */
#define SPIN_POLLS 8192
#define YIELD_AFTER 1024

struct gl_pool {
    int n_threads;
    pthread_t *workers;       /* n_threads - 1 of them; the caller is thread 0 */
    pthread_mutex_t run_lock; /* one job at a time: sessions on several threads share the pool */
    pthread_mutex_t lock;     /* guards sleeping on the condition variables */
    pthread_cond_t wake;      /* signals a new job or shutdown */
    pthread_cond_t done;      /* signals the last worker finished */
    atomic_ulong generation;  /* incremented, under lock, to publish (fn, ctx) */
    atomic_int pending;       /* workers still running the current job */
    atomic_int shutdown;
    gl_task_fn fn;
    void *ctx;
};

typedef struct {
    gl_pool *pool;
    int index;
} worker_arg;

/* Waits until generation differs from seen or shutdown is set. */
static void wait_for_job(gl_pool *pool, unsigned long seen) {
    for (int i = 0; i < SPIN_POLLS; i++) {
        if (atomic_load_explicit(&pool->generation, memory_order_acquire) != seen ||
            atomic_load_explicit(&pool->shutdown, memory_order_acquire))
            return;
        if (i < YIELD_AFTER)
            cpu_relax();
        else
            sched_yield();
    }
    pthread_mutex_lock(&pool->lock);
    while (!atomic_load(&pool->shutdown) && atomic_load(&pool->generation) == seen)
        pthread_cond_wait(&pool->wake, &pool->lock);
    pthread_mutex_unlock(&pool->lock);
}

static void *worker_main(void *p) {
    worker_arg arg = *(worker_arg *)p;
    gl_free(p);
    gl_pool *pool = arg.pool;
    unsigned long seen = 0;
    for (;;) {
        wait_for_job(pool, seen);
        if (atomic_load(&pool->shutdown)) break;
        seen = atomic_load_explicit(&pool->generation, memory_order_acquire);
        pool->fn(pool->ctx, arg.index, pool->n_threads);
        if (atomic_fetch_sub_explicit(&pool->pending, 1, memory_order_acq_rel) == 1) {
            /* Under the lock, so a caller about to sleep cannot miss it. */
            pthread_mutex_lock(&pool->lock);
            pthread_cond_signal(&pool->done);
            pthread_mutex_unlock(&pool->lock);
        }
    }
    return NULL;
}

gl_pool *gl_pool_create(int n_threads) {
    if (n_threads <= 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        n_threads = n > 0 ? (int)n : 1;
    }
    if (n_threads > 256) n_threads = 256;
    gl_pool *pool = gl_calloc(1, sizeof *pool);
    if (!pool) return NULL;
    pool->n_threads = n_threads;
    pthread_mutex_init(&pool->run_lock, NULL);
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->wake, NULL);
    pthread_cond_init(&pool->done, NULL);
    atomic_init(&pool->generation, 0);
    atomic_init(&pool->pending, 0);
    atomic_init(&pool->shutdown, 0);
    pool->workers = gl_calloc((size_t)n_threads, sizeof(pthread_t));
    if (!pool->workers) goto fail;
    for (int i = 1; i < n_threads; i++) {
        worker_arg *arg = gl_malloc(sizeof *arg);
        if (!arg) { pool->n_threads = i; goto fail; }
        arg->pool = pool;
        arg->index = i;
        if (pthread_create(&pool->workers[i - 1], NULL, worker_main, arg) != 0) {
            gl_free(arg);
            pool->n_threads = i;
            goto fail;
        }
    }
    return pool;
fail:
    gl_pool_free(pool);
    return NULL;
}

void gl_pool_free(gl_pool *pool) {
    if (!pool) return;
    pthread_mutex_lock(&pool->lock);
    atomic_store(&pool->shutdown, 1);
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->lock);
    if (pool->workers)
        for (int i = 1; i < pool->n_threads; i++) pthread_join(pool->workers[i - 1], NULL);
    pthread_mutex_destroy(&pool->run_lock);
    pthread_mutex_destroy(&pool->lock);
    pthread_cond_destroy(&pool->wake);
    pthread_cond_destroy(&pool->done);
    gl_free(pool->workers);
    gl_free(pool);
}

int gl_pool_size(const gl_pool *pool) { return pool ? pool->n_threads : 1; }

void gl_pool_run(gl_pool *pool, gl_task_fn fn, void *ctx) {
    if (!pool || pool->n_threads == 1) {
        fn(ctx, 0, 1);
        return;
    }
    pthread_mutex_lock(&pool->run_lock);
    pool->fn = fn;
    pool->ctx = ctx;
    atomic_store_explicit(&pool->pending, pool->n_threads - 1, memory_order_relaxed);
    pthread_mutex_lock(&pool->lock);
    atomic_fetch_add_explicit(&pool->generation, 1, memory_order_release);
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->lock);
    fn(ctx, 0, pool->n_threads);
    for (int i = 0; i < SPIN_POLLS && atomic_load_explicit(&pool->pending, memory_order_acquire) > 0; i++) {
        if (i < YIELD_AFTER)
            cpu_relax();
        else
            sched_yield();
    }
    if (atomic_load_explicit(&pool->pending, memory_order_acquire) > 0) {
        pthread_mutex_lock(&pool->lock);
        while (atomic_load(&pool->pending) > 0) pthread_cond_wait(&pool->done, &pool->lock);
        pthread_mutex_unlock(&pool->lock);
    }
    pthread_mutex_unlock(&pool->run_lock);
}
