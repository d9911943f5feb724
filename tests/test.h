/* test.h - the few macros the C tests share. A test is a program: exit 0 on
 * pass, 1 on failure, 77 to report a skip (ctest SKIP_RETURN_CODE). */
#ifndef GLIMPSE_TEST_H
#define GLIMPSE_TEST_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int test_failures;

#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (!(cond)) {                                                               \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
            test_failures++;                                                         \
        }                                                                            \
    } while (0)

#define CHECK_MSG(cond, ...)                                                         \
    do {                                                                             \
        if (!(cond)) {                                                               \
            fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                            \
            fputc('\n', stderr);                                                     \
            test_failures++;                                                         \
        }                                                                            \
    } while (0)

/* Checks that a glimpse call failed with `status` and that its message
 * contains `needle`. */
#define CHECK_ERROR(call, status, needle)                                                        \
    do {                                                                                         \
        glimpse_status st_ = (call);                                                             \
        CHECK_MSG(st_ == (status), "got status %d (%s), want %d", (int)st_, glimpse_last_error(), \
                  (int)(status));                                                                \
        CHECK_MSG(strstr(glimpse_last_error(), (needle)) != NULL, "message '%s' lacks '%s'",     \
                  glimpse_last_error(), (needle));                                               \
    } while (0)

#define TEST_SKIP(...)                   \
    do {                                 \
        fprintf(stderr, "SKIP: ");       \
        fprintf(stderr, __VA_ARGS__);    \
        fputc('\n', stderr);             \
        exit(77);                        \
    } while (0)

#define TEST_DONE()                                                                   \
    do {                                                                              \
        if (test_failures) fprintf(stderr, "%d check(s) failed\n", test_failures);   \
        return test_failures ? 1 : 0;                                                 \
    } while (0)

/* Reads a whole file into a malloc'd buffer (test code, not the library). */
static inline unsigned char *test_read_file(const char *path, size_t *size) {
    *size = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc(n > 0 ? (size_t)n : 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) *size = (size_t)n;
    return buf;
}

#endif
