/* What the GGUF writer writes, the reader reads back unchanged: every value
 * type, string arrays, tensors of several types, and a custom alignment. */
#include "gguf.h"
#include "quant.h"
#include "test.h"

#include <stdint.h>
#include <unistd.h>

static void check_file(const char *path, uint64_t align) {
    gl_gguf *g;
    glimpse_status st = gl_gguf_open(path, &g);
    CHECK_MSG(st == GLIMPSE_OK, "%s", glimpse_last_error());
    if (st) return;
    CHECK(glimpse_gguf_version(g) == 3);
    CHECK(glimpse_gguf_alignment(g) == align);
    uint32_t u;
    int64_t i64;
    float f;
    int b;
    const char *s;
    size_t len;
    CHECK(gl_gguf_get_u32(g, "t.u32", &u) == 0 && u == 4000000000u);
    CHECK(gl_gguf_get_i64(g, "t.i32", &i64) == 0 && i64 == -5);
    CHECK(gl_gguf_get_u32(g, "t.i32", &u) == -1); /* negative does not fit */
    CHECK(gl_gguf_get_f32(g, "t.f32", &f) == 0 && f == 0.25f);
    CHECK(gl_gguf_get_bool(g, "t.bool", &b) == 0 && b == 1);
    CHECK(gl_gguf_get_str(g, "t.str", &s, &len) == 0 && len == 13 && !memcmp(s, "hello, 세계", 13));
    CHECK(gl_gguf_get_u32(g, "t.missing", &u) == -1);
    CHECK(gl_gguf_get_str(g, "t.u32", &s, &len) == -1); /* wrong type */

    glimpse_gguf_type et;
    uint64_t n;
    CHECK(gl_gguf_get_arr(g, "t.arr_f32", &et, &n) == 0 && et == GLIMPSE_GGUF_F32 && n == 3);
    CHECK(gl_gguf_arr_f32(g, "t.arr_f32", 2, &f) == 0 && f == 3.5f);
    CHECK(gl_gguf_arr_f32(g, "t.arr_f32", 3, &f) == -1);
    CHECK(gl_gguf_arr_i64(g, "t.arr_i32", 1, &i64) == 0 && i64 == -2);
    CHECK(gl_gguf_get_arr(g, "t.arr_str", &et, &n) == 0 && et == GLIMPSE_GGUF_STRING && n == 4);
    CHECK(gl_gguf_arr_str(g, "t.arr_str", 0, &s, &len) == 0 && len == 1 && s[0] == 'a');
    CHECK(gl_gguf_arr_str(g, "t.arr_str", 2, &s, &len) == 0 && len == 0);
    CHECK(gl_gguf_arr_str(g, "t.arr_str", 3, &s, &len) == 0 && len == 5 && !memcmp(s, "Ġthe", 5));

    char text[128];
    glimpse_gguf_kv_format(g, glimpse_gguf_find_key(g, "t.arr_str"), 2, 0, text, sizeof text);
    CHECK_MSG(!strcmp(text, "[\"a\", \"bc\", ... (4 items)]"), "got %s", text);
    glimpse_gguf_kv_format(g, glimpse_gguf_find_key(g, "t.str"), 8, 1, text, sizeof text);
    CHECK_MSG(!strcmp(text, "\"hello, 세계\""), "got %s", text);

    CHECK(glimpse_gguf_n_tensors(g) == 3);
    const gl_tensor *t = gl_gguf_tensor(g, "w.f32");
    CHECK(t && t->type == GL_TYPE_F32 && t->ne[0] == 32 && t->ne[1] == 3 && t->n_dims == 2);
    if (t) {
        float row[32];
        gl_type_get(t->type)->to_float(gl_tensor_row(t, 2), row, 32);
        CHECK(row[0] == 64.0f && row[31] == 95.0f);
    }
    t = gl_gguf_tensor(g, "w.q8");
    CHECK(t && t->type == GL_TYPE_Q8_0 && t->nbytes == 34 * 2);
    if (t) {
        float row[64];
        gl_type_get(t->type)->to_float(t->data, row, 64);
        CHECK(fabsf(row[10] - 10.0f) < 0.5f);
    }
    t = gl_gguf_tensor(g, "v.f16");
    CHECK(t && t->type == GL_TYPE_F16 && t->n_dims == 1 && t->ne[0] == 5);
    for (int64_t i = 0; i < glimpse_gguf_n_tensors(g); i++) {
        glimpse_tensor_info info;
        CHECK(glimpse_gguf_tensor_info(g, i, &info) == GLIMPSE_OK);
        CHECK_MSG(info.offset % align == 0, "tensor %s at %llu not aligned", info.name, (unsigned long long)info.offset);
    }
    CHECK(gl_gguf_tensor(g, "nope") == NULL);
    CHECK(glimpse_gguf_kv_key(g, -1) == NULL && glimpse_gguf_kv_array_len(g, -1) == 0);
    CHECK(glimpse_gguf_kv_type(g, glimpse_gguf_n_kv(g)) == GLIMPSE_GGUF_U8);
    gl_gguf_close(g);
}

static void write_file(const char *path, int align) {
    gl_gguf_writer *w = gl_gguf_writer_new();
    CHECK(w != NULL);
    if (align) CHECK(gl_gguf_add_u32(w, "general.alignment", (uint32_t)align) == 0);
    CHECK(gl_gguf_add_u32(w, "t.u32", 4000000000u) == 0);
    CHECK(gl_gguf_add_i32(w, "t.i32", -5) == 0);
    CHECK(gl_gguf_add_f32(w, "t.f32", 0.25f) == 0);
    CHECK(gl_gguf_add_bool(w, "t.bool", 1) == 0);
    CHECK(gl_gguf_add_str(w, "t.str", "hello, 세계") == 0);
    float af[3] = {1.0f, 2.0f, 3.5f};
    int32_t ai[2] = {7, -2};
    const char *as[4] = {"a", "bc", "", "Ġthe"};
    CHECK(gl_gguf_add_arr(w, "t.arr_f32", GLIMPSE_GGUF_F32, af, 3) == 0);
    CHECK(gl_gguf_add_arr(w, "t.arr_i32", GLIMPSE_GGUF_I32, ai, 2) == 0);
    CHECK(gl_gguf_add_arr_str(w, "t.arr_str", as, 4) == 0);
    float wf[96], wq_src[64];
    for (int i = 0; i < 96; i++) wf[i] = (float)i;
    for (int i = 0; i < 64; i++) wq_src[i] = (float)(i % 32);
    uint8_t wq[68];
    gl_type_get(GL_TYPE_Q8_0)->from_float(wq_src, wq, 64);
    uint16_t vh[5];
    for (int i = 0; i < 5; i++) vh[i] = gl_fp32_to_fp16((float)i / 4);
    CHECK(gl_gguf_add_tensor(w, "w.f32", GL_TYPE_F32, 2, (int64_t[]){32, 3}, wf) == 0);
    CHECK(gl_gguf_add_tensor(w, "v.f16", GL_TYPE_F16, 1, (int64_t[]){5}, vh) == 0);
    CHECK(gl_gguf_add_tensor(w, "w.q8", GL_TYPE_Q8_0, 1, (int64_t[]){64}, wq) == 0);
    CHECK(gl_gguf_add_tensor(w, "bad", GL_TYPE_Q8_0, 1, (int64_t[]){33}, wq) == -1);
    CHECK(gl_gguf_write_file(w, path) == GLIMPSE_OK);
    gl_gguf_writer_free(w);
}

int main(void) {
    char path[] = "/tmp/glimpse_roundtrip_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    write_file(path, 0);
    check_file(path, 32);
    write_file(path, 64);
    check_file(path, 64);
    unlink(path);
    gl_gguf_writer *w = gl_gguf_writer_new();
    CHECK_ERROR(gl_gguf_write_file(w, "/nonexistent/dir/x.gguf"), GLIMPSE_ERR_IO, "cannot create");
    gl_gguf_writer_free(w);
    TEST_DONE();
}
