/* gguf_builder.h - assembles GGUF bytes by hand for the reader's tests, so
 * that each malformed variant is one explicit change to a valid file. */
#ifndef GLIMPSE_GGUF_BUILDER_H
#define GLIMPSE_GGUF_BUILDER_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    uint8_t *b;
    size_t len, cap;
} bytes;

static void b_put(bytes *s, const void *p, size_t n) {
    if (s->len + n > s->cap) {
        s->cap = (s->len + n) * 2 + 64;
        s->b = realloc(s->b, s->cap);
        if (!s->b) abort();
    }
    memcpy(s->b + s->len, p, n);
    s->len += n;
}
static void b_u32(bytes *s, uint32_t v) {
    uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    b_put(s, x, 4);
}
static void b_u64(bytes *s, uint64_t v) {
    b_u32(s, (uint32_t)v);
    b_u32(s, (uint32_t)(v >> 32));
}
static void b_str(bytes *s, const char *str) {
    b_u64(s, strlen(str));
    b_put(s, str, strlen(str));
}
static void b_pad(bytes *s, size_t align) {
    while (s->len % align) b_put(s, "", 1);
}

static uint8_t *b_find(const bytes *s, const char *needle) {
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= s->len; i++)
        if (!memcmp(s->b + i, needle, n)) return s->b + i;
    return NULL;
}

/* The parts of a small valid file; tests change one before assembling. */
typedef struct {
    uint32_t version;
    uint64_t n_tensors, n_kv;
    int alignment;          /* 0: no general.alignment key */
    uint32_t t1_type;       /* type of the second tensor */
    uint64_t t1_ne0;
    uint64_t t1_offset;
    const char *t1_name;
    uint32_t n_dims;
    uint64_t key_len_override; /* nonzero: claim this length for the first key */
    const char *second_key;
} gguf_spec;

static gguf_spec gguf_spec_valid(void) {
    gguf_spec s = {3, 2, 3, 0, 0 /* F32 */, 8, 64, "b", 2, 0, "test.count"};
    return s;
}

/* Layout: kv "general.architecture"="llama", second_key=u32 7, a string array;
 * tensors "a" F32 [8,2] at 0 and t1_name [t1_ne0,2] at t1_offset. */
static bytes gguf_build(const gguf_spec *sp) {
    bytes s = {0};
    b_put(&s, "GGUF", 4);
    b_u32(&s, sp->version);
    b_u64(&s, sp->n_tensors);
    b_u64(&s, sp->n_kv + (sp->alignment ? 1 : 0));
    if (sp->key_len_override) {
        b_u64(&s, sp->key_len_override);
        b_put(&s, "general.architecture", 20);
    } else {
        b_str(&s, "general.architecture");
    }
    b_u32(&s, 8);
    b_str(&s, "llama");
    b_str(&s, sp->second_key);
    b_u32(&s, 4);
    b_u32(&s, 7);
    b_str(&s, "tokenizer.ggml.tokens");
    b_u32(&s, 9);
    b_u32(&s, 8);
    b_u64(&s, 3);
    b_str(&s, "a");
    b_str(&s, "bc");
    b_str(&s, "");
    if (sp->alignment) {
        b_str(&s, "general.alignment");
        b_u32(&s, 4);
        b_u32(&s, (uint32_t)sp->alignment);
    }
    b_str(&s, "a");
    b_u32(&s, 2);
    b_u64(&s, 8);
    b_u64(&s, 2);
    b_u32(&s, 0);
    b_u64(&s, 0);
    b_str(&s, sp->t1_name);
    b_u32(&s, sp->n_dims);
    b_u64(&s, sp->t1_ne0);
    for (uint32_t d = 1; d < sp->n_dims && d < 8; d++) b_u64(&s, 2);
    b_u32(&s, sp->t1_type);
    b_u64(&s, sp->t1_offset);
    b_pad(&s, sp->alignment ? (size_t)sp->alignment : 32);
    for (int i = 0; i < 64 + 64; i++) b_put(&s, "\x3f", 1);
    return s;
}

#endif
