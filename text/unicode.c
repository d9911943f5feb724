/* unicode.c - lookups in the generated Unicode tables, UTF-8, and canonical
 * normalisation.
 *
 * Tables: unicode_tables.h (tools/unicode/make_tables.py). Normalisation: UAX
 * #15 "Unicode Normalization Forms" sections 3 (decomposition, canonical
 * ordering, canonical composition), Hangul syllables by the arithmetic of the
 * Unicode Standard section 3.12. UTF-8: RFC 3629 (no overlong forms, no
 * surrogates, nothing above U+10FFFF). */
#include "unicode.h"
#include "error.h"
#include "mem.h"
#include "unicode_tables.h"

#include <string.h>

/* Hangul syllable arithmetic (Unicode Standard section 3.12). */
enum {
    S_BASE = 0xAC00, L_BASE = 0x1100, V_BASE = 0x1161, T_BASE = 0x11A7,
    L_COUNT = 19, V_COUNT = 21, T_COUNT = 28, N_COUNT = V_COUNT * T_COUNT, S_COUNT = L_COUNT * N_COUNT,
};

/* Canonical ordering sorts short runs by insertion; a longer run (only in
 * contrived text) by counting, so that no text takes quadratic time. */
#define INSERTION_MAX 16

/* ==== UTF-8 ==== */

size_t gl_utf8_decode(const char *s, size_t n, uint32_t *cp) {
    const uint8_t *u = (const uint8_t *)s;
    uint8_t c = u[0];
    *cp = GL_UC_BAD_BYTE + c;
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    size_t len = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
    if (len == 0 || len > n) return 1;
    uint32_t v = c & (0x7F >> len);
    for (size_t i = 1; i < len; i++) {
        if ((u[i] & 0xC0) != 0x80) return 1;
        v = v << 6 | (u[i] & 0x3F);
    }
    static const uint32_t min_of_len[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (v < min_of_len[len] || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 1;
    *cp = v;
    return len;
}

size_t gl_utf8_encode(uint32_t cp, char out[4]) {
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp >= GL_UC_BAD_BYTE) {
        out[0] = (char)(cp - GL_UC_BAD_BYTE);
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | cp >> 12);
        out[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | cp >> 18);
    out[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    out[2] = (char)(0x80 | (cp >> 6 & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* ==== Properties ==== */

/* The value of the run holding cp in runs of (start << 8 | value). */
static unsigned run_value(const uint32_t *runs, size_t n, uint32_t cp) {
    if (cp >= GL_UC_BAD_BYTE) return 0;
    size_t lo = 0, hi = n - 1; /* runs[0] starts at 0 */
    while (lo < hi) {
        size_t mid = (lo + hi + 1) / 2;
        if (runs[mid] >> 8 <= cp) lo = mid;
        else hi = mid - 1;
    }
    return runs[lo] & 0xFF;
}

unsigned gl_uc_classes(uint32_t cp) {
    return run_value(GL_UC_CLASS_RUNS, sizeof GL_UC_CLASS_RUNS / sizeof GL_UC_CLASS_RUNS[0], cp);
}

unsigned gl_uc_ccc(uint32_t cp) {
    return run_value(GL_UC_CCC_RUNS, sizeof GL_UC_CCC_RUNS / sizeof GL_UC_CCC_RUNS[0], cp);
}

uint32_t gl_uc_tolower(uint32_t cp) {
    size_t lo = 0, hi = sizeof GL_UC_LOWER / sizeof GL_UC_LOWER[0];
    while (lo < hi) { /* the first range starting after cp */
        size_t mid = (lo + hi) / 2;
        if (GL_UC_LOWER[mid].first <= cp) lo = mid + 1;
        else hi = mid;
    }
    if (lo == 0) return cp;
    const gl_uc_case_range *r = &GL_UC_LOWER[lo - 1];
    uint32_t k = cp - r->first;
    if (k % r->stride || k / r->stride >= r->count) return cp;
    return (uint32_t)((int64_t)cp + r->delta);
}

/* ==== Decomposition ==== */

#define DECOMP_CP(e) ((uint32_t)((e) >> 43))
#define DECOMP_FIRST(e) ((uint32_t)((e) >> 22) & 0x1FFFFF)
#define DECOMP_SECOND(e) ((uint32_t)((e) >> 1) & 0x1FFFFF)

/* The one-level decomposition entry of cp, or NULL. */
static const uint64_t *find_decomp(uint32_t cp) {
    size_t lo = 0, hi = sizeof GL_UC_DECOMP / sizeof GL_UC_DECOMP[0];
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        uint32_t c = DECOMP_CP(GL_UC_DECOMP[mid]);
        if (c == cp) return &GL_UC_DECOMP[mid];
        if (c < cp) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

static size_t decompose_into(uint32_t cp, uint32_t *out) {
    if (cp >= S_BASE && cp < S_BASE + S_COUNT) {
        uint32_t s = cp - S_BASE, t = s % T_COUNT;
        out[0] = L_BASE + s / N_COUNT;
        out[1] = V_BASE + s % N_COUNT / T_COUNT;
        if (!t) return 2;
        out[2] = T_BASE + t;
        return 3;
    }
    const uint64_t *e = find_decomp(cp);
    if (!e) {
        out[0] = cp;
        return 1;
    }
    /* Only the first part of a decomposition decomposes further (the table
     * generator checks that the full form fits in GL_UC_MAX_DECOMP). */
    size_t n = decompose_into(DECOMP_FIRST(*e), out);
    if (DECOMP_SECOND(*e)) n += decompose_into(DECOMP_SECOND(*e), out + n);
    return n;
}

size_t gl_uc_decompose(uint32_t cp, uint32_t out[GL_UC_MAX_DECOMP]) { return decompose_into(cp, out); }

glimpse_status gl_cps_push(gl_cps *a, uint32_t cp) {
    uint32_t *cps = gl_grow(a->cps, &a->cap, a->n + 1, sizeof *cps);
    if (!cps) return gl_error_nomem("code points");
    a->cps = cps;
    a->cps[a->n++] = cp;
    return GLIMPSE_OK;
}

/* A stable counting sort of one run by combining class. */
static glimpse_status sort_run(uint32_t *run, size_t n) {
    uint32_t *tmp = gl_malloc_array(n, sizeof *tmp);
    if (!tmp) return gl_error_nomem("canonical ordering");
    size_t start[257] = {0};
    for (size_t i = 0; i < n; i++) start[gl_uc_ccc(run[i]) + 1]++;
    for (int k = 1; k <= 256; k++) start[k] += start[k - 1];
    for (size_t i = 0; i < n; i++) tmp[start[gl_uc_ccc(run[i])]++] = run[i];
    memcpy(run, tmp, n * sizeof *run);
    gl_free(tmp);
    return GLIMPSE_OK;
}

glimpse_status gl_uc_canonical_order(uint32_t *cps, size_t n) {
    for (size_t i = 0; i < n;) {
        if (gl_uc_ccc(cps[i]) == 0) {
            i++;
            continue;
        }
        size_t end = i + 1;
        while (end < n && gl_uc_ccc(cps[end]) != 0) end++;
        if (end - i > INSERTION_MAX) {
            glimpse_status st = sort_run(cps + i, end - i);
            if (st) return st;
        } else {
            for (size_t j = i + 1; j < end; j++) {
                uint32_t c = cps[j];
                unsigned cc = gl_uc_ccc(c);
                size_t k = j;
                for (; k > i && gl_uc_ccc(cps[k - 1]) > cc; k--) cps[k] = cps[k - 1];
                cps[k] = c;
            }
        }
        i = end;
    }
    return GLIMPSE_OK;
}

/* ==== Composition ==== */

/* The primary composite of the pair (a, b), or 0. */
static uint32_t compose_pair(uint32_t a, uint32_t b) {
    if (a >= L_BASE && a < L_BASE + L_COUNT && b >= V_BASE && b < V_BASE + V_COUNT)
        return S_BASE + ((a - L_BASE) * V_COUNT + (b - V_BASE)) * T_COUNT;
    if (a >= S_BASE && a < S_BASE + S_COUNT && (a - S_BASE) % T_COUNT == 0 && b > T_BASE && b < T_BASE + T_COUNT)
        return a + (b - T_BASE);
    size_t lo = 0, hi = sizeof GL_UC_COMPOSE / sizeof GL_UC_COMPOSE[0];
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        uint64_t e = GL_UC_DECOMP[GL_UC_COMPOSE[mid]];
        uint32_t f = DECOMP_FIRST(e), s = DECOMP_SECOND(e);
        if (f == a && s == b) return DECOMP_CP(e);
        if (f < a || (f == a && s < b)) lo = mid + 1;
        else hi = mid;
    }
    return 0;
}

void gl_uc_compose(uint32_t *cps, size_t *n) {
    size_t out = 0, starter = 0;
    int have_starter = 0;
    unsigned last_cc = 0; /* class of the last character written */
    for (size_t i = 0; i < *n; i++) {
        uint32_t c = cps[i];
        unsigned cc = gl_uc_ccc(c);
        /* c combines with the last starter unless a character between them
         * is a starter or has a class at least c's. */
        int adjacent = have_starter && out == starter + 1;
        if (have_starter && (adjacent || (last_cc != 0 && last_cc < cc))) {
            uint32_t comp = compose_pair(cps[starter], c);
            if (comp) {
                cps[starter] = comp;
                continue;
            }
        }
        if (cc == 0) starter = out, have_starter = 1;
        last_cc = cc;
        cps[out++] = c;
    }
    *n = out;
}

/* ==== NFC of UTF-8 text ==== */

glimpse_status gl_utf8_nfc(const char *text, size_t len, char **out, size_t *out_len) {
    *out = NULL;
    *out_len = 0;
    size_t i = 0;
    while (i < len && (uint8_t)text[i] < 0x80) i++;
    if (i == len) return GLIMPSE_OK;

    gl_cps a = {NULL, 0, 0};
    glimpse_status st = GLIMPSE_OK;
    for (i = 0; i < len && !st;) {
        uint32_t cp, parts[GL_UC_MAX_DECOMP];
        i += gl_utf8_decode(text + i, len - i, &cp);
        size_t n = gl_uc_decompose(cp, parts);
        for (size_t k = 0; k < n && !st; k++) st = gl_cps_push(&a, parts[k]);
    }
    if (!st) st = gl_uc_canonical_order(a.cps, a.n);
    char *buf = NULL;
    size_t k = 0;
    if (!st) {
        gl_uc_compose(a.cps, &a.n);
        /* Composition never makes text longer than its decomposition, and
         * each code point is at most 4 bytes. */
        buf = gl_malloc_array(a.n ? a.n : 1, 4);
        if (!buf) st = gl_error_nomem("NFC text");
    }
    for (size_t j = 0; !st && j < a.n; j++) k += gl_utf8_encode(a.cps[j], buf + k);
    gl_free(a.cps);
    if (st) return st;
    if (k == len && !memcmp(buf, text, len)) {
        gl_free(buf);
        return GLIMPSE_OK;
    }
    *out = buf;
    *out_len = k;
    return GLIMPSE_OK;
}
