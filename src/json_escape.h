/* json_escape.h - one character of a JSON string literal (RFC 8259, section 7).
 * Used by `glimpse info --json` (gguf.c) and glimpse_session_save (session.c). */
#ifndef GL_JSON_ESCAPE_H
#define GL_JSON_ESCAPE_H

#include <stddef.h>

/* Writes ch as it must appear inside a JSON string into out (at most 6
 * bytes, not NUL-terminated) and returns the length. Bytes >= 0x80 pass
 * unchanged: the strings are UTF-8 already. */
size_t gl_json_escape(unsigned char ch, char out[6]);

#endif
