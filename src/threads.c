/* threads.c - the worker pool (see threads.h). Workers sleep on a condition
 * variable between jobs; a job is a generation number plus (fn, ctx). */
#include "threads.h"
#include "mem.h"

#include <pthread.h>
#include <unistd.h>

struct gl_pool {
    int n_threads;
    pthread_t *workers;   /* n_threads - 1 of them; the caller is thread 0 */
    pthread_mutex_t run_lock; /* one job at a time: sessions on several threads share the pool */
    pthread_mutex_t lock;
    pthread_cond_t wake;  /* signals a new job or shutdown */
    pthread_cond_t done;  /* signals the last worker finished */
    unsigned long generation;
    int pending;          /* workers still running the current job */
    int shutdown;
    gl_task_fn fn;
    void *ctx;
};

typedef struct {
    gl_pool *pool;
    int index;
} worker_arg;

static void *worker_main(void *p) {
    worker_arg arg = *(worker_arg *)p;
    gl_free(p);
    gl_pool *pool = arg.pool;
    unsigned long seen = 0;
    pthread_mutex_lock(&pool->lock);
    for (;;) {
        while (!pool->shutdown && pool->generation == seen) pthread_cond_wait(&pool->wake, &pool->lock);
        if (pool->shutdown) break;
        seen = pool->generation;
        gl_task_fn fn = pool->fn;
        void *ctx = pool->ctx;
        pthread_mutex_unlock(&pool->lock);
        fn(ctx, arg.index, pool->n_threads);
        pthread_mutex_lock(&pool->lock);
        if (--pool->pending == 0) pthread_cond_signal(&pool->done);
    }
    pthread_mutex_unlock(&pool->lock);
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
    pool->shutdown = 1;
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
    pthread_mutex_lock(&pool->lock);
    pool->fn = fn;
    pool->ctx = ctx;
    pool->pending = pool->n_threads - 1;
    pool->generation++;
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->lock);
    fn(ctx, 0, pool->n_threads);
    pthread_mutex_lock(&pool->lock);
    while (pool->pending > 0) pthread_cond_wait(&pool->done, &pool->lock);
    pthread_mutex_unlock(&pool->lock);
    pthread_mutex_unlock(&pool->run_lock);
}
