/* mmproj_edit.h - test helper: rewrites a fixture mmproj GGUF with one
 * change (a key dropped, replaced or added; a tensor dropped, renamed or
 * reshaped), so that tests can build broken or variant files from a good one
 * without Python. Handles the key types the fixtures use (u32, f32, bool,
 * string, numeric arrays). */
#ifndef GLIMPSE_TEST_MMPROJ_EDIT_H
#define GLIMPSE_TEST_MMPROJ_EDIT_H

#include "gguf.h"
#include "test.h"

typedef struct {
    const char *drop_key;        /* key left out */
    const char *set_str_key;     /* string key replaced (or added) with set_str */
    const char *set_str;
    const char *set_bool_key;    /* bool key replaced (or added) with set_bool */
    int set_bool;
    const char *set_u32_key;     /* u32 key replaced (or added) with set_u32 */
    uint32_t set_u32;
    const char *add_i32_arr_key; /* int32 array added (or replaced) */
    const int32_t *add_i32_arr;
    int add_i32_arr_n;
    const char *drop_tensor;     /* tensor left out */
    const char *rename_from[4];  /* tensors renamed: rename_from[i] -> rename_to[i] (swapped names allowed) */
    const char *rename_to[4];
    const char *reshape_tensor;  /* tensor written with its first and last dims exchanged */
} mmproj_edit;

static int edit_matches(const char *a, const char *b) { return a && b && !strcmp(a, b); }

static int copy_kv(gl_gguf_writer *w, const gl_gguf *g, int64_t i, const mmproj_edit *e) {
    const char *key = glimpse_gguf_kv_key(g, i);
    if (edit_matches(key, e->drop_key) || edit_matches(key, e->set_str_key) || edit_matches(key, e->set_bool_key) ||
        edit_matches(key, e->set_u32_key) || edit_matches(key, e->add_i32_arr_key))
        return 0;
    switch (glimpse_gguf_kv_type(g, i)) {
    case GLIMPSE_GGUF_U32: {
        uint32_t v;
        return gl_gguf_get_u32(g, key, &v) || gl_gguf_add_u32(w, key, v);
    }
    case GLIMPSE_GGUF_F32: {
        float v;
        return gl_gguf_get_f32(g, key, &v) || gl_gguf_add_f32(w, key, v);
    }
    case GLIMPSE_GGUF_BOOL: {
        int v;
        return gl_gguf_get_bool(g, key, &v) || gl_gguf_add_bool(w, key, v);
    }
    case GLIMPSE_GGUF_STRING: {
        const char *s;
        size_t len;
        char buf[256];
        if (gl_gguf_get_str(g, key, &s, &len) || len >= sizeof buf) return -1;
        memcpy(buf, s, len);
        buf[len] = 0;
        return gl_gguf_add_str(w, key, buf);
    }
    case GLIMPSE_GGUF_ARRAY: {
        uint64_t n = glimpse_gguf_kv_array_len(g, i);
        float f[64];
        int32_t v[64];
        if (n > 64) return -1;
        if (glimpse_gguf_kv_array_type(g, i) == GLIMPSE_GGUF_F32) {
            for (uint64_t k = 0; k < n; k++)
                if (gl_gguf_arr_f32(g, key, k, &f[k])) return -1;
            return gl_gguf_add_arr(w, key, GLIMPSE_GGUF_F32, f, n);
        }
        for (uint64_t k = 0; k < n; k++) {
            int64_t x;
            if (gl_gguf_arr_i64(g, key, k, &x)) return -1;
            v[k] = (int32_t)x;
        }
        return gl_gguf_add_arr(w, key, GLIMPSE_GGUF_I32, v, n);
    }
    default:
        return -1;
    }
}

/* Writes src with the edit applied to dst; returns 0 on success. */
static int mmproj_rewrite(const char *src, const char *dst, const mmproj_edit *e) {
    gl_gguf *g;
    if (gl_gguf_open(src, &g)) return -1;
    gl_gguf_writer *w = gl_gguf_writer_new();
    int rc = w == NULL;
    for (int64_t i = 0; !rc && i < glimpse_gguf_n_kv(g); i++) rc = copy_kv(w, g, i, e);
    if (!rc && e->set_str_key) rc = gl_gguf_add_str(w, e->set_str_key, e->set_str);
    if (!rc && e->set_bool_key) rc = gl_gguf_add_bool(w, e->set_bool_key, e->set_bool);
    if (!rc && e->set_u32_key) rc = gl_gguf_add_u32(w, e->set_u32_key, e->set_u32);
    if (!rc && e->add_i32_arr_key)
        rc = gl_gguf_add_arr(w, e->add_i32_arr_key, GLIMPSE_GGUF_I32, e->add_i32_arr, (uint64_t)e->add_i32_arr_n);
    for (int64_t i = 0; !rc && i < glimpse_gguf_n_tensors(g); i++) {
        const gl_tensor *t = gl_gguf_tensor_at(g, i);
        if (edit_matches(t->name, e->drop_tensor)) continue;
        const char *name = t->name;
        for (int k = 0; k < 4; k++)
            if (edit_matches(t->name, e->rename_from[k])) name = e->rename_to[k];
        int64_t ne[4] = {t->ne[0], t->ne[1], t->ne[2], t->ne[3]};
        if (edit_matches(t->name, e->reshape_tensor)) {
            ne[0] = t->ne[t->n_dims - 1];
            ne[t->n_dims - 1] = t->ne[0];
        }
        rc = gl_gguf_add_tensor(w, name, t->type, t->n_dims, ne, t->data);
    }
    if (!rc) rc = gl_gguf_write_file(w, dst) != GLIMPSE_OK;
    gl_gguf_writer_free(w);
    gl_gguf_close(g);
    return rc;
}

#endif
