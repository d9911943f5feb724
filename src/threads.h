/* threads.h - one pool of worker threads for all parallel work.
 *
 * gl_pool_run(pool, fn, ctx) calls fn(ctx, i, n) once for every i < n on n
 * threads (the caller is thread 0) and returns when all have finished. Work
 * is split by the callee from (i, n), as in ggml, so no queue is needed. */
#ifndef GLIMPSE_THREADS_H
#define GLIMPSE_THREADS_H

typedef struct gl_pool gl_pool;
typedef void (*gl_task_fn)(void *ctx, int ith, int nth);

/* n_threads <= 0 means the number of online CPUs. NULL when out of memory. */
gl_pool *gl_pool_create(int n_threads);
void gl_pool_free(gl_pool *pool);
int gl_pool_size(const gl_pool *pool);
/* pool may be NULL: fn then runs once as (ctx, 0, 1). Calls from several
 * threads are serialised; fn must not call gl_pool_run itself. */
void gl_pool_run(gl_pool *pool, gl_task_fn fn, void *ctx);
/* Splits [0, n) into nth near-equal ranges; sets *begin and *end for ith. */
static inline void gl_split_range(long n, int ith, int nth, long *begin, long *end) {
    long per = (n + nth - 1) / nth;
    long b = per * ith;
    long e = b + per;
    *begin = b < n ? b : n;
    *end = e < n ? e : n;
}

#endif
