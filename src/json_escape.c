/* json_escape.c - see json_escape.h. */
#include "json_escape.h"

size_t gl_json_escape(unsigned char ch, char out[6]) {
    static const char hex[] = "0123456789abcdef";
    if (ch == '"' || ch == '\\') {
        out[0] = '\\';
        out[1] = (char)ch;
        return 2;
    }
    if (ch == '\n') {
        out[0] = '\\';
        out[1] = 'n';
        return 2;
    }
    if (ch < 0x20) {
        out[0] = '\\';
        out[1] = 'u';
        out[2] = '0';
        out[3] = '0';
        out[4] = hex[ch >> 4];
        out[5] = hex[ch & 15];
        return 6;
    }
    out[0] = (char)ch;
    return 1;
}
