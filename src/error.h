/* error.h - per-thread error message behind glimpse_last_error().
 *
 * Functions return a glimpse_status and, on failure, leave one line here that
 * names the file (or object) and what is wrong. */
#ifndef GLIMPSE_ERROR_H
#define GLIMPSE_ERROR_H

#include "glimpse.h"

/* Sets the thread's message (printf format) and returns status, so that
 * callers can write `return gl_error(GLIMPSE_ERR_FORMAT, "%s: ...", path);`. */
glimpse_status gl_error(glimpse_status status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Out of memory while doing `what`. */
glimpse_status gl_error_nomem(const char *what);
void gl_error_clear(void);

#endif
