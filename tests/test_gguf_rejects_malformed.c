/* Malformed GGUF files are refused with a specific error naming the file and
 * the problem, never a crash or a read outside the buffer (run under ASan). */
#include "gguf.h"
#include "mem.h"
#include "test.h"
#include "gguf_builder.h"

static glimpse_status open_bytes(const bytes *b, gl_gguf **g) {
    /* A fresh exact-size copy so ASan sees any read past the end. */
    uint8_t *copy = malloc(b->len ? b->len : 1);
    memcpy(copy, b->b, b->len);
    glimpse_status st = gl_gguf_open_memory(copy, b->len, "bad.gguf", g);
    if (st == GLIMPSE_OK) gl_gguf_close(*g);
    free(copy);
    return st;
}

static void expect(const gguf_spec *sp, glimpse_status want, const char *needle) {
    bytes b = gguf_build(sp);
    gl_gguf *g;
    CHECK_ERROR(open_bytes(&b, &g), want, needle);
    CHECK_MSG(strstr(glimpse_last_error(), "bad.gguf") != NULL, "message lacks file name: %s", glimpse_last_error());
    free(b.b);
}

int main(void) {
    gguf_spec valid = gguf_spec_valid();
    bytes good = gguf_build(&valid);
    gl_gguf *g;
    CHECK_MSG(open_bytes(&good, &g) == GLIMPSE_OK, "valid file refused: %s", glimpse_last_error());

    /* Every prefix of the file is truncated somewhere: magic, header, keys,
     * values, array items, tensor infos, padding or data. */
    size_t data_end = good.len;
    for (size_t n = 0; n < data_end; n++) {
        bytes cut = {good.b, n, n};
        glimpse_status st = open_bytes(&cut, &g);
        CHECK_MSG(st == GLIMPSE_ERR_FORMAT, "prefix of %zu bytes gave %d", n, (int)st);
        CHECK_MSG(n < 4 || strstr(glimpse_last_error(), "truncated") || strstr(glimpse_last_error(), "past the end") ||
                      strstr(glimpse_last_error(), "more than the file"),
                  "prefix %zu: unexpected message %s", n, glimpse_last_error());
    }

    gguf_spec s;
    s = valid; s.version = 1; expect(&s, GLIMPSE_ERR_UNSUPPORTED, "version 1");
    s = valid; s.version = 4; expect(&s, GLIMPSE_ERR_UNSUPPORTED, "version 4");
    s = valid; s.n_tensors = 1ull << 60; expect(&s, GLIMPSE_ERR_FORMAT, "tensors, more than the file can hold");
    s = valid; s.n_kv = UINT64_MAX - 1; expect(&s, GLIMPSE_ERR_FORMAT, "metadata entries, more than the file");
    s = valid; s.key_len_override = 1ull << 40; expect(&s, GLIMPSE_ERR_FORMAT, "absurd length");
    s = valid; s.key_len_override = 60000; expect(&s, GLIMPSE_ERR_FORMAT, "truncated");
    s = valid; s.t1_ne0 = 1ull << 62; expect(&s, GLIMPSE_ERR_FORMAT, "overflowing dimension");
    s = valid; s.t1_ne0 = 0; expect(&s, GLIMPSE_ERR_FORMAT, "invalid or overflowing dimension 0");
    s = valid; s.n_dims = 5; expect(&s, GLIMPSE_ERR_FORMAT, "5 dimensions");
    s = valid; s.n_dims = 0; expect(&s, GLIMPSE_ERR_FORMAT, "0 dimensions");
    s = valid; s.t1_type = 4; expect(&s, GLIMPSE_ERR_FORMAT, "unknown type id 4");
    s = valid; s.t1_type = 1000; expect(&s, GLIMPSE_ERR_FORMAT, "unknown type id 1000");
    s = valid; s.t1_type = 8; expect(&s, GLIMPSE_ERR_FORMAT, "not a multiple of the Q8_0 block size");
    s = valid; s.t1_offset = 4096; expect(&s, GLIMPSE_ERR_FORMAT, "extends past the end");
    s = valid; s.t1_offset = UINT64_MAX - 31; expect(&s, GLIMPSE_ERR_FORMAT, "extends past the end");
    s = valid; s.t1_offset = 33; expect(&s, GLIMPSE_ERR_FORMAT, "not aligned");
    s = valid; s.t1_offset = 32; expect(&s, GLIMPSE_ERR_FORMAT, "overlap");
    s = valid; s.t1_name = "a"; expect(&s, GLIMPSE_ERR_FORMAT, "duplicate tensor name 'a'");
    s = valid; s.second_key = "general.architecture"; expect(&s, GLIMPSE_ERR_FORMAT, "duplicate metadata key");
    s = valid; s.alignment = 3; expect(&s, GLIMPSE_ERR_FORMAT, "not a power of two");
    s = valid; s.alignment = 64; s.t1_offset = 32; expect(&s, GLIMPSE_ERR_FORMAT, "not aligned to 64");

    /* Bad magic and an array claiming more items than bytes. */
    bytes b = gguf_build(&valid);
    b.b[0] = 'X';
    CHECK_ERROR(open_bytes(&b, &g), GLIMPSE_ERR_FORMAT, "bad magic");
    free(b.b);
    b = gguf_build(&valid);
    uint8_t *count = b_find(&b, "tokenizer.ggml.tokens");
    CHECK(count != NULL);
    if (count) {
        count += 21 + 4 + 4; /* key, value type, element type */
        memset(count, 0xff, 7);
        CHECK_ERROR(open_bytes(&b, &g), GLIMPSE_ERR_FORMAT, "more than the file holds");
    }
    free(b.b);

    /* Unknown value type. */
    b = gguf_build(&valid);
    uint8_t *vt = b_find(&b, "test.count");
    if (vt) {
        vt[10] = 99;
        CHECK_ERROR(open_bytes(&b, &g), GLIMPSE_ERR_FORMAT, "unknown value type 99");
    }
    free(b.b);

    /* Every allocation the reader makes can fail; each failure is reported. */
    for (long n = 0; n < 40; n++) {
        gl_alloc_fail_after(n);
        glimpse_status st = open_bytes(&good, &g);
        gl_alloc_fail_after(-1);
        CHECK_MSG(st == GLIMPSE_OK || st == GLIMPSE_ERR_NOMEM, "allocation %ld failing gave %d", n, (int)st);
    }

    /* A missing file and a directory. */
    CHECK_ERROR(gl_gguf_open("/nonexistent/model.gguf", &g), GLIMPSE_ERR_IO, "/nonexistent/model.gguf: cannot open");
    CHECK_ERROR(gl_gguf_open("/", &g), GLIMPSE_ERR_IO, "not a regular file");
    free(good.b);
    TEST_DONE();
}
