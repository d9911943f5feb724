/* checked.h - overflow-checked size arithmetic.
 *
 * Every size or offset computed from file or request data goes through these:
 * the GGUF parsers of other projects had heap overflows from unchecked sums and
 * products of header fields. Each returns nonzero when the result overflowed. */
#ifndef GLIMPSE_CHECKED_H
#define GLIMPSE_CHECKED_H

#include <stddef.h>
#include <stdint.h>

static inline int gl_add_overflow(size_t a, size_t b, size_t *out) {
    return __builtin_add_overflow(a, b, out);
}
static inline int gl_mul_overflow(size_t a, size_t b, size_t *out) {
    return __builtin_mul_overflow(a, b, out);
}
static inline int gl_add_overflow_u64(uint64_t a, uint64_t b, uint64_t *out) {
    return __builtin_add_overflow(a, b, out);
}
static inline int gl_mul_overflow_u64(uint64_t a, uint64_t b, uint64_t *out) {
    return __builtin_mul_overflow(a, b, out);
}
/* Round up to a multiple of align (a power of two or any nonzero value). */
static inline int gl_align_up_overflow(uint64_t v, uint64_t align, uint64_t *out) {
    uint64_t r = v % align;
    if (r == 0) { *out = v; return 0; }
    return __builtin_add_overflow(v, align - r, out);
}

#endif
