/* unicode.h - the Unicode the tokenizers need: UTF-8 decoding, character
 * classes, lowercasing, and canonical normalisation (NFD, NFC).
 *
 * The data is generated from Python's unicodedata by
 * tools/unicode/make_tables.py into unicode_tables.h (its GL_UNICODE_VERSION
 * names the Unicode version); normalisation follows UAX #15 (canonical
 * decomposition, canonical ordering, canonical composition; Hangul syllables
 * by the algorithm of the Unicode Standard section 3.12). */
#ifndef GLIMPSE_UNICODE_H
#define GLIMPSE_UNICODE_H

#include "glimpse.h"

#include <stddef.h>
#include <stdint.h>

/* Character classes (bits of gl_uc_classes; the generator writes the same values). */
enum {
    GL_UC_WHITE_SPACE = 1, /* the White_Space property */
    GL_UC_OTHER = 2,       /* general category Cc, Cf or Co */
    GL_UC_PUNCT = 4,       /* general category P* */
    GL_UC_MN = 8,          /* general category Mn: nonspacing (accent) marks */
};

/* A byte that does not start a valid UTF-8 sequence decodes to this plus the
 * byte: above every code point, so it has no class, case or decomposition,
 * and encodes back to the byte itself. */
#define GL_UC_BAD_BYTE 0x110000u

/* The longest full canonical decomposition of one code point. */
#define GL_UC_MAX_DECOMP 4

/* The character at s[0, n) (n > 0) into *cp; returns its length in bytes. A
 * malformed, overlong, surrogate or truncated sequence is one bad byte. */
size_t gl_utf8_decode(const char *s, size_t n, uint32_t *cp);
/* cp (or a bad byte) as UTF-8 into out; returns the length (1 to 4). */
size_t gl_utf8_encode(uint32_t cp, char out[4]);

unsigned gl_uc_classes(uint32_t cp); /* GL_UC_* bits */
uint32_t gl_uc_tolower(uint32_t cp); /* simple lowercase mapping */
unsigned gl_uc_ccc(uint32_t cp);     /* canonical combining class */

/* The full canonical decomposition of cp (cp itself if none) into out;
 * returns its length. */
size_t gl_uc_decompose(uint32_t cp, uint32_t out[GL_UC_MAX_DECOMP]);

/* A growing array of code points. */
typedef struct {
    uint32_t *cps;
    size_t n, cap;
} gl_cps;

glimpse_status gl_cps_push(gl_cps *a, uint32_t cp);

/* Sorts every run of non-starters of cps[0, n) by combining class, keeping
 * the order of equal classes (canonical ordering: after decomposing, the
 * result is NFD). */
glimpse_status gl_uc_canonical_order(uint32_t *cps, size_t n);
/* Canonical composition of canonically ordered cps[0, *n) in place; *n
 * becomes the new length (NFD in, NFC out). */
void gl_uc_compose(uint32_t *cps, size_t *n);

/* The NFC form of text[0, len). Bad bytes are kept as they are and block
 * composition. *out is a new gl_malloc'd buffer of *out_len bytes, or NULL
 * when NFC leaves the text unchanged (always so for ASCII, which is decided
 * without allocating). */
glimpse_status gl_utf8_nfc(const char *text, size_t len, char **out, size_t *out_len);

#endif
