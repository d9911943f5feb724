/* libFuzzer target for the GGUF reader: parse arbitrary bytes, then touch
 * everything a caller can reach (every value, every tensor's first row). */
#include "gguf.h"
#include "mem.h"
#include "quant.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    gl_gguf *g;
    if (gl_gguf_open_memory(data, size, "fuzz.gguf", &g) != GLIMPSE_OK) return 0;
    char text[256];
    for (int64_t i = 0; i < glimpse_gguf_n_kv(g); i++) {
        glimpse_gguf_kv_format(g, i, 16, i & 1, text, sizeof text);
        uint64_t n = glimpse_gguf_kv_array_len(g, i);
        const char *s;
        size_t len;
        if (n) gl_gguf_arr_str_at(g, i, n - 1, &s, &len);
    }
    float row[1024];
    for (int64_t i = 0; i < glimpse_gguf_n_tensors(g); i++) {
        const gl_tensor *t = gl_gguf_tensor_at(g, i);
        glimpse_tensor_info info;
        glimpse_gguf_tensor_info(g, i, &info);
        if (gl_gguf_tensor(g, t->name) != t) abort();
        if (gl_type_readable(t->type) && t->ne[0] <= 1024) gl_type_get(t->type)->to_float(t->data, row, t->ne[0]);
    }
    gl_gguf_close(g);
    return 0;
}
