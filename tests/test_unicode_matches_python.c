/* test_unicode_matches_python - the generated Unicode tables, read through
 * text/unicode.c, agree with Python's unicodedata for every code point
 * (classes, combining class, lowercase, full canonical decomposition; hashed
 * per block of 4096 by tests/fixtures/make_unicode_fixtures.py), and NFD and
 * NFC of 500 random strings rich in combining marks, Hangul jamo, singletons
 * and composition exclusions are exactly unicodedata.normalize's. Also: bad
 * UTF-8 bytes pass through NFC untouched and block composition, and ASCII
 * text is recognised as NFC without allocating. */
#include "mem.h"
#include "test.h"
#include "unicode.h"

#include <stdint.h>

#define DIR GLIMPSE_SOURCE_DIR "/tests/fixtures/unicode/"

static uint64_t fnv(uint64_t h, const uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001B3ull;
    return h;
}

static void put_u32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static void check_properties(void) {
    FILE *f = fopen(DIR "properties.txt", "r");
    if (!f) {
        CHECK_MSG(0, "cannot read %sproperties.txt", DIR);
        return;
    }
    unsigned start;
    unsigned long long want;
    int blocks = 0, same = 0;
    while (fscanf(f, "%x %llx", &start, &want) == 2) {
        uint64_t h = 0xCBF29CE484222325ull;
        for (uint32_t c = start; c < start + 4096; c++) {
            uint32_t d[GL_UC_MAX_DECOMP];
            uint8_t rec[7 + 4 * GL_UC_MAX_DECOMP];
            size_t n = gl_uc_decompose(c, d);
            rec[0] = (uint8_t)gl_uc_classes(c);
            rec[1] = (uint8_t)gl_uc_ccc(c);
            put_u32(rec + 2, gl_uc_tolower(c));
            rec[6] = (uint8_t)n;
            for (size_t k = 0; k < n; k++) put_u32(rec + 7 + 4 * k, d[k]);
            h = fnv(h, rec, 7 + 4 * n);
        }
        blocks++;
        if (h == want) same++;
        else fprintf(stderr, "  code points %X..%X differ from unicodedata\n", start, start + 4095);
    }
    fclose(f);
    CHECK_MSG(blocks == 0x110000 / 4096, "%d blocks in properties.txt", blocks);
    CHECK_MSG(same == blocks, "%d of %d blocks differ", blocks - same, blocks);
    printf("properties: %d/%d blocks of 4096 code points match unicodedata\n", same, blocks);
}

static size_t parse_cps(const char *s, uint32_t *out, size_t cap) {
    size_t n = 0;
    for (char *end; n < cap; s = end) {
        unsigned long v = strtoul(s, &end, 16);
        if (end == s) break;
        out[n++] = (uint32_t)v;
    }
    return n;
}

static int same_cps(const uint32_t *a, size_t na, const uint32_t *b, size_t nb) {
    return na == nb && (na == 0 || !memcmp(a, b, na * sizeof *a));
}

static void check_normalization(void) {
    FILE *f = fopen(DIR "normalization.txt", "r");
    if (!f) {
        CHECK_MSG(0, "cannot read %snormalization.txt", DIR);
        return;
    }
    char line[4096];
    int total = 0, same = 0;
    while (fgets(line, sizeof line, f)) {
        char *nfd_s = strchr(line, ';'), *nfc_s = nfd_s ? strchr(nfd_s + 1, ';') : NULL;
        if (!nfc_s) continue;
        uint32_t in[64], nfd[256], nfc[256], got[256];
        size_t n_in = parse_cps(line, in, 64), n_nfd = parse_cps(nfd_s + 1, nfd, 256),
               n_nfc = parse_cps(nfc_s + 1, nfc, 256), n = 0;
        for (size_t i = 0; i < n_in; i++) n += gl_uc_decompose(in[i], got + n);
        CHECK(gl_uc_canonical_order(got, n) == GLIMPSE_OK);
        int ok = same_cps(got, n, nfd, n_nfd);
        gl_uc_compose(got, &n);
        ok &= same_cps(got, n, nfc, n_nfc);

        /* The same through UTF-8. */
        char text[256], want[1024], *out;
        size_t len = 0, want_len = 0, out_len;
        for (size_t i = 0; i < n_in; i++) len += gl_utf8_encode(in[i], text + len);
        for (size_t i = 0; i < n_nfc; i++) want_len += gl_utf8_encode(nfc[i], want + want_len);
        CHECK(gl_utf8_nfc(text, len, &out, &out_len) == GLIMPSE_OK);
        if (out) ok &= out_len == want_len && !memcmp(out, want, want_len);
        else ok &= len == want_len && !memcmp(text, want, len);
        gl_free(out);

        total++;
        if (ok) same++;
        else fprintf(stderr, "  differs: %s", line);
    }
    fclose(f);
    CHECK_MSG(total == 500, "%d strings in normalization.txt", total);
    CHECK_MSG(same == total, "%d of %d strings differ", total - same, total);
    printf("normalization: %d/%d strings have unicodedata's NFD and NFC\n", same, total);
}

static void check_nfc_bytes(const char *in, const char *want) {
    char *out;
    size_t out_len;
    CHECK(gl_utf8_nfc(in, strlen(in), &out, &out_len) == GLIMPSE_OK);
    const char *got = out ? out : in;
    size_t got_len = out ? out_len : strlen(in);
    CHECK_MSG(got_len == strlen(want) && !memcmp(got, want, got_len), "NFC of '%s' is '%.*s'", in, (int)got_len, got);
    gl_free(out);
}

int main(void) {
    check_properties();
    check_normalization();

    /* A bad byte is a starter of its own: it keeps its place and stops marks
     * after it from combining with the letter before it. */
    check_nfc_bytes("\xFF" "e\xCC\x81", "\xFF\xC3\xA9");
    check_nfc_bytes("e\xFF\xCC\x81", "e\xFF\xCC\x81");
    /* Overlong, surrogate, above U+10FFFF, truncated: all kept byte for byte. */
    const char *bad = "\xC3\xA9\xE0\x80\x80\xED\xA0\x80\xF4\x90\x80\x80\xC3";
    check_nfc_bytes(bad, bad);
    uint32_t cp;
    CHECK(gl_utf8_decode("\xC0\xAF", 2, &cp) == 1 && cp == GL_UC_BAD_BYTE + 0xC0);     /* overlong '/' */
    CHECK(gl_utf8_decode("\xED\xA0\x80", 3, &cp) == 1 && cp == GL_UC_BAD_BYTE + 0xED); /* surrogate */
    CHECK(gl_utf8_decode("\xE2\x96", 2, &cp) == 1 && cp == GL_UC_BAD_BYTE + 0xE2);     /* truncated */
    CHECK(gl_utf8_decode("\xF0\x9F\xA6\x99", 4, &cp) == 4 && cp == 0x1F999);

    /* ASCII: nothing to do and nothing allocated. */
    char *out = (char *)1;
    size_t out_len = 1;
    gl_alloc_fail_after(0);
    CHECK(gl_utf8_nfc("plain ASCII", 11, &out, &out_len) == GLIMPSE_OK && out == NULL && out_len == 0);
    gl_alloc_fail_after(-1);
    TEST_DONE();
}
