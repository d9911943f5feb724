/* api.c - small public helpers that belong to no single module. */
#include "glimpse.h"
#include "mem.h"

void glimpse_free(void *ptr) { gl_free(ptr); }
