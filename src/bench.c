/* bench.c - the machine probes behind `glimpse bench` (glimpse.h,
 * "Benchmarks"): streaming read bandwidth and the peak rates of the
 * multiply-add units that the kernels use. They are the denominators of the
 * rooflines in docs/PERF.md: decoding reads every weight once per token, so
 * its bound is bytes per token / read bandwidth; the vision encoder is
 * compute-bound, so its bound is operations per tile / peak rate. */
#include "glimpse.h"
#include "error.h"
#include "kernels/kernels.h"
#include "mem.h"
#include "threads.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define DEFAULT_BUFFER (512u << 20)
/* Probe repetitions; the best is kept, as other work on the machine only
 * ever slows a probe down. */
#define REPEATS 3
/* The compute probes run rounds of 12 vector multiply-adds, doubling the
 * count until one run takes PROBE_SECONDS. */
#define PROBE_SECONDS 0.03

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

typedef struct {
    const gl_kernels *k;
    const uint8_t *buf;  /* (n_bytes), 64-byte aligned */
    size_t n_bytes;
    uint64_t sums[256];  /* one per thread, so the reads are not optimised away */
    float fsink[256];
    int32_t isink[256];
    double ops[256];
    int which;           /* 0 read, 1 f32, 2 int8, 3 int8 tiles, 4 bf16 tiles */
    int64_t iters;       /* rounds of the compute probes */
} probe_job;

static void probe_thread(void *p, int ith, int nth) {
    probe_job *job = p;
    if (job->which == 1) {
        job->ops[ith] = job->k->probe_f32(job->iters, &job->fsink[ith]);
        return;
    }
    if (job->which == 2) {
        job->ops[ith] = job->k->probe_i8(job->iters, &job->isink[ith]);
        return;
    }
    if (job->which == 3) {
        job->ops[ith] = gl_amx_probe_int8(job->iters, &job->isink[ith]);
        return;
    }
    if (job->which == 4) {
        job->ops[ith] = gl_amx_probe_bf16(job->iters, &job->fsink[ith]);
        return;
    }
    long begin, end; /* in 256-byte units */
    gl_split_range((long)(job->n_bytes / 256), ith, nth, &begin, &end);
    job->sums[ith] = job->k->probe_read(job->buf + 256 * (size_t)begin, 256 * (size_t)(end - begin));
}

/* Best rate of REPEATS runs: units of work per second. */
static double best_rate(gl_pool *pool, probe_job *job, int which, double bytes) {
    double best = 0;
    job->which = which;
    for (job->iters = 1 << 12; which; job->iters *= 2) {
        double t0 = now_s();
        gl_pool_run(pool, probe_thread, job);
        if (now_s() - t0 >= PROBE_SECONDS || job->iters >= (int64_t)1 << 40) break;
    }
    for (int r = 0; r < REPEATS; r++) {
        double t0 = now_s();
        gl_pool_run(pool, probe_thread, job);
        double dt = now_s() - t0, work = bytes;
        if (which) {
            work = 0;
            for (int i = 0; i < gl_pool_size(pool); i++) work += job->ops[i];
        }
        if (dt > 0 && work / dt > best) best = work / dt;
    }
    return best;
}

static void read_cpu_name(char *out, size_t size) {
    out[0] = 0;
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return;
    char line[256];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) != 0) continue;
        const char *v = strchr(line, ':');
        if (!v) break;
        for (v++; *v == ' '; v++) {}
        snprintf(out, size, "%s", v);
        out[strcspn(out, "\n")] = 0;
        break;
    }
    fclose(f);
}

glimpse_status glimpse_probe_machine(int n_threads, uint64_t buffer_bytes, glimpse_machine *out) {
    if (!out) return gl_error(GLIMPSE_ERR_INVALID_ARG, "glimpse_probe_machine: out is NULL");
    memset(out, 0, sizeof *out);
    if (buffer_bytes == 0) buffer_bytes = DEFAULT_BUFFER;
    if (buffer_bytes < 256 || buffer_bytes > SIZE_MAX / 2)
        return gl_error(GLIMPSE_ERR_INVALID_ARG, "glimpse_probe_machine: buffer of %llu bytes",
                        (unsigned long long)buffer_bytes);
    gl_pool *pool = gl_pool_create(n_threads);
    probe_job *job = gl_calloc(1, sizeof *job);
    size_t n_bytes = (size_t)buffer_bytes / 256 * 256;
    uint8_t *buf = gl_malloc(n_bytes + 64);
    if (!pool || !job || !buf) {
        gl_pool_free(pool);
        gl_free(job);
        gl_free(buf);
        return gl_error_nomem("the bandwidth probe's buffer");
    }
    uint8_t *aligned = buf + (64 - (uintptr_t)buf % 64) % 64;
    for (size_t i = 0; i < n_bytes; i++) aligned[i] = (uint8_t)i; /* touched, so no page is shared or missing */
    job->k = gl_kernels_best();
    job->buf = aligned;
    job->n_bytes = n_bytes;
    read_cpu_name(out->cpu, sizeof out->cpu);
    const gl_kernels *amx = gl_kernels_for(GL_ISA_AMX);
    out->kernels = amx ? amx->name : job->k->name;
    out->n_threads = gl_pool_size(pool);
    out->read_bytes_per_s = best_rate(pool, job, 0, (double)n_bytes);
    out->f32_flops = best_rate(pool, job, 1, 0);
    out->int8_ops = best_rate(pool, job, 2, 0);
    if (amx) {
        out->tile_int8_ops = best_rate(pool, job, 3, 0);
        out->tile_bf16_flops = best_rate(pool, job, 4, 0);
    }
    gl_free(buf);
    gl_free(job);
    gl_pool_free(pool);
    return GLIMPSE_OK;
}
