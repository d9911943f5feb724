/* error.c - per-thread last error text and status names (see error.h). */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>

/* Per thread, like errno: separate sessions on separate threads never see
 * each other's messages. */
static _Thread_local char last_error[1024];

glimpse_status gl_error(glimpse_status status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return status;
}

glimpse_status gl_error_nomem(const char *what) {
    return gl_error(GLIMPSE_ERR_NOMEM, "out of memory: %s", what);
}

void gl_error_clear(void) { last_error[0] = 0; }

const char *glimpse_last_error(void) { return last_error; }

const char *glimpse_status_name(glimpse_status s) {
    switch (s) {
    case GLIMPSE_OK: return "ok";
    case GLIMPSE_ERR_INVALID_ARG: return "invalid argument";
    case GLIMPSE_ERR_IO: return "input/output error";
    case GLIMPSE_ERR_FORMAT: return "malformed file";
    case GLIMPSE_ERR_UNSUPPORTED: return "unsupported";
    case GLIMPSE_ERR_LIMIT: return "over a limit";
    case GLIMPSE_ERR_NOMEM: return "out of memory";
    case GLIMPSE_ERR_MISMATCH: return "models do not fit together";
    case GLIMPSE_ERR_CANCELLED: return "cancelled";
    case GLIMPSE_ERR_CONTEXT_FULL: return "context full";
    }
    return "unknown status";
}
