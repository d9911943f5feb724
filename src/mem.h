/* mem.h - the one allocation wrapper of the library.
 *
 * Every allocation goes through gl_malloc/gl_calloc/gl_realloc so that tests can
 * make the Nth allocation fail (gl_alloc_fail_after) and check that each failure
 * is handled. Sizes that come from files or requests are computed with the
 * checked helpers in checked.h before they reach these functions. */
#ifndef GLIMPSE_MEM_H
#define GLIMPSE_MEM_H

#include <stddef.h>

void *gl_malloc(size_t size);
void *gl_calloc(size_t count, size_t size); /* checks count*size itself */
void *gl_realloc(void *ptr, size_t size);
void gl_free(void *ptr);
char *gl_strdup(const char *s);
char *gl_strndup(const char *s, size_t n);
/* malloc(count * size) with the product checked; NULL on overflow or failure. */
void *gl_malloc_array(size_t count, size_t size);

/* The gl_malloc'd array arr of *cap elements of elem bytes, reallocated to
 * hold at least need (capacity at least doubled, *cap updated); NULL when that
 * fails, arr then unchanged. */
void *gl_grow(void *arr, size_t *cap, size_t need, size_t elem);

/* A byte range of some text. */
typedef struct {
    size_t off, len;
} gl_span;

/* Test hook: the (n+1)th allocation from now on this thread fails; n < 0
 * disables. Thread-local so that one test's injection cannot touch another
 * thread's work. */
void gl_alloc_fail_after(long n);

#endif
