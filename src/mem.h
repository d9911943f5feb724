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

/* Test hook: the (n+1)th allocation from now on this thread fails; n < 0
 * disables. Thread-local so that one test's injection cannot touch another
 * thread's work. */
void gl_alloc_fail_after(long n);

#endif
