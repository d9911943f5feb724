/* mem.c - allocation wrapper with fault injection for tests (see mem.h). */
#include "mem.h"
#include "checked.h"

#include <stdlib.h>
#include <string.h>

/* The only mutable static state in the library: a per-thread test hook that
 * is inert (-1) unless a test arms it. */
static _Thread_local long fail_countdown = -1;

void gl_alloc_fail_after(long n) { fail_countdown = n; }

static int should_fail(void) {
    if (fail_countdown < 0) return 0;
    if (fail_countdown == 0) { fail_countdown = -1; return 1; }
    fail_countdown--;
    return 0;
}

void *gl_malloc(size_t size) {
    if (should_fail()) return NULL;
    return malloc(size ? size : 1);
}

void *gl_calloc(size_t count, size_t size) {
    if (should_fail()) return NULL;
    size_t total;
    if (gl_mul_overflow(count, size, &total)) return NULL;
    return calloc(total ? total : 1, 1);
}

void *gl_malloc_array(size_t count, size_t size) {
    size_t total;
    if (gl_mul_overflow(count, size, &total)) return NULL;
    return gl_malloc(total);
}

void *gl_realloc(void *ptr, size_t size) {
    if (should_fail()) return NULL;
    return realloc(ptr, size ? size : 1);
}

void gl_free(void *ptr) { free(ptr); }

void *gl_grow(void *arr, size_t *cap, size_t need, size_t elem) {
    if (need == 0) need = 1; /* so that an array never grown is allocated, not NULL */
    if (need <= *cap) return arr;
    size_t n = *cap ? *cap : 16, bytes;
    while (n < need)
        if (gl_mul_overflow(n, 2, &n)) return NULL;
    if (gl_mul_overflow(n, elem, &bytes)) return NULL;
    void *grown = gl_realloc(arr, bytes);
    if (grown) *cap = n;
    return grown;
}

char *gl_strndup(const char *s, size_t n) {
    size_t len = strnlen(s, n);
    char *d = gl_malloc(len + 1);
    if (!d) return NULL;
    memcpy(d, s, len);
    d[len] = 0;
    return d;
}

char *gl_strdup(const char *s) { return gl_strndup(s, strlen(s)); }
