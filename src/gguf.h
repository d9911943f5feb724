/* gguf.h - GGUF reader and writer (internal API).
 *
 * Format: ../shared/DESIGN.md "Formats" and ../shared/FORMATS.md section 7
 * (ggml/src/gguf.cpp). The reader maps the file read-only, validates every
 * count, length, offset and size before use, and then hands out pointers into
 * the mapping: nothing read from a gl_gguf can point outside the file. */
#ifndef GLIMPSE_GGUF_H
#define GLIMPSE_GGUF_H

#include "glimpse.h"
#include "tensor.h"

#include <stddef.h>
#include <stdint.h>

typedef struct glimpse_gguf gl_gguf;

/* ==== Reading ==== */

/* Opens a file by path; the name used in error messages is the path. */
glimpse_status gl_gguf_open(const char *path, gl_gguf **out);
/* Parses a buffer the caller keeps alive for the handle's life (tests, fuzzing). */
glimpse_status gl_gguf_open_memory(const void *data, size_t size, const char *name, gl_gguf **out);
void gl_gguf_close(gl_gguf *g);
const char *gl_gguf_name(const gl_gguf *g); /* the path, for messages */

/* Metadata lookups by key. Each returns 0 when the key exists and holds a value
 * convertible without loss to the requested type (any integer type for the
 * integer getters, F32/F64 for floats), -1 otherwise (out untouched). */
int gl_gguf_get_u32(const gl_gguf *g, const char *key, uint32_t *out);
int gl_gguf_get_i64(const gl_gguf *g, const char *key, int64_t *out);
int gl_gguf_get_f32(const gl_gguf *g, const char *key, float *out);
int gl_gguf_get_bool(const gl_gguf *g, const char *key, int *out);
/* String values point into the mapping and are NOT NUL-terminated. */
int gl_gguf_get_str(const gl_gguf *g, const char *key, const char **s, size_t *len);

/* Arrays: element type and count; -1 when the key is missing or not an array. */
int gl_gguf_get_arr(const gl_gguf *g, const char *key, glimpse_gguf_type *elem_type, uint64_t *n);
/* Element i of a numeric array converted to int64 / float (0 on success). */
int gl_gguf_arr_i64(const gl_gguf *g, const char *key, uint64_t i, int64_t *out);
int gl_gguf_arr_f32(const gl_gguf *g, const char *key, uint64_t i, float *out);
/* Element i of a string array, O(1). */
int gl_gguf_arr_str(const gl_gguf *g, const char *key, uint64_t i, const char **s, size_t *len);
/* The same by key index (from glimpse_gguf_find_key), for loops over big arrays. */
int gl_gguf_arr_str_at(const gl_gguf *g, int64_t kv, uint64_t i, const char **s, size_t *len);

/* Tensors, O(1) by name. Data pointers are into the mapping. */
const gl_tensor *gl_gguf_tensor(const gl_gguf *g, const char *name);
const gl_tensor *gl_gguf_tensor_at(const gl_gguf *g, int64_t i);
/* Looks a tensor up and checks its type is readable and its shape is exactly
 * ne0 x ne1 (ne1 = 1 for vectors); sets an error naming file and tensor. */
glimpse_status gl_gguf_require(const gl_gguf *g, const char *name, int64_t ne0, int64_t ne1,
                               const gl_tensor **out);

/* ==== Writing ==== */

typedef struct gl_gguf_writer gl_gguf_writer;

gl_gguf_writer *gl_gguf_writer_new(void);
void gl_gguf_writer_free(gl_gguf_writer *w);
/* Each add copies its inputs; returns 0, or -1 when out of memory. */
int gl_gguf_add_u32(gl_gguf_writer *w, const char *key, uint32_t v);
int gl_gguf_add_i32(gl_gguf_writer *w, const char *key, int32_t v);
int gl_gguf_add_f32(gl_gguf_writer *w, const char *key, float v);
int gl_gguf_add_bool(gl_gguf_writer *w, const char *key, int v);
int gl_gguf_add_str(gl_gguf_writer *w, const char *key, const char *v);
/* Numeric array of n elements of elem_type, stored little-endian as given. */
int gl_gguf_add_arr(gl_gguf_writer *w, const char *key, glimpse_gguf_type elem_type,
                    const void *data, uint64_t n);
int gl_gguf_add_arr_str(gl_gguf_writer *w, const char *key, const char *const *v, uint64_t n);
/* A tensor of the given ggml type and dims (innermost first); data holds
 * gl_row_bytes(type, ne[0]) * rows bytes already in that type. */
int gl_gguf_add_tensor(gl_gguf_writer *w, const char *name, int type, int n_dims,
                       const int64_t *ne, const void *data);
/* Writes version 3 with alignment 32 (or general.alignment if added). */
glimpse_status gl_gguf_write_file(const gl_gguf_writer *w, const char *path);

#endif
