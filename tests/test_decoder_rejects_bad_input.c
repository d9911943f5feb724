/* test_decoder_rejects_bad_input.c - the decoder refuses what it cannot run
 * correctly, with the status and a message naming the file and the culprit:
 *   - files: unknown architecture (named), a missing or misshapen tensor
 *     (named), a tensor outside the architecture (rope_freqs), qwen2 without
 *     its q/k/v biases, a missing hyperparameter key, heads that do not
 *     group, RoPE scaling;
 *   - calls: a context that is full (the cache keeps its state and goes on),
 *     a token id outside the vocabulary, a KV cache over the memory limit
 *     (and the default context cut to fit the limit);
 *   - allocation failures at every point of load, cache and forward pass:
 *     GLIMPSE_ERR_NOMEM, nothing leaked (the sanitizer build checks).
 * The files are small synthetic models written with the project's GGUF
 * writer into the build directory; an unmodified one loads (control). */
#include "decoder.h"
#include "gguf.h"
#include "mem.h"
#include "quant.h"
#include "test.h"

#define E 32   /* n_embd */
#define F 64   /* n_ff */
#define HD 16  /* head_dim: 2 heads, 1 KV head */
#define V 8    /* n_vocab */
#define OUT_PATH GLIMPSE_BINARY_DIR "/test_decoder_rejects_bad_input.gguf"

typedef struct {
    const char *arch;       /* general.architecture */
    const char *omit;       /* a tensor to leave out */
    const char *misshapen;  /* a tensor written with one row too many */
    const char *extra;      /* a tensor to add */
    const char *omit_key;   /* a hyperparameter key (after "arch.") to leave out */
    uint32_t n_head_kv;
    const char *rope_scaling;
} model_spec;

static float zeros[(F + 1) * F]; /* data of any tensor here, one row too many included */

static void add_tensor(gl_gguf_writer *w, const model_spec *m, const char *name, int64_t ne0, int64_t ne1) {
    if (m->omit && !strcmp(name, m->omit)) return;
    int64_t ne[2] = {ne0, ne1 + (m->misshapen && !strcmp(name, m->misshapen))};
    CHECK(gl_gguf_add_tensor(w, name, GL_TYPE_F32, ne1 > 1 ? 2 : 1, ne, zeros) == 0);
}

static void add_u32(gl_gguf_writer *w, const model_spec *m, const char *key, uint32_t v) {
    if (m->omit_key && !strcmp(key, m->omit_key)) return;
    char full[128];
    snprintf(full, sizeof full, "%s.%s", m->arch, key);
    CHECK(gl_gguf_add_u32(w, full, v) == 0);
}

/* Writes a one-layer model and tries to load it. */
static glimpse_status load(model_spec m, gl_gguf **g, gl_decoder **d) {
    if (!m.arch) m.arch = "llama";
    if (!m.n_head_kv) m.n_head_kv = 1;
    gl_gguf_writer *w = gl_gguf_writer_new();
    char key[128];
    CHECK(gl_gguf_add_str(w, "general.architecture", m.arch) == 0);
    add_u32(w, &m, "context_length", 64);
    add_u32(w, &m, "embedding_length", E);
    add_u32(w, &m, "block_count", 1);
    add_u32(w, &m, "feed_forward_length", F);
    add_u32(w, &m, "attention.head_count", 2);
    add_u32(w, &m, "attention.head_count_kv", m.n_head_kv);
    snprintf(key, sizeof key, "%s.attention.layer_norm_rms_epsilon", m.arch);
    CHECK(gl_gguf_add_f32(w, key, 1e-5f) == 0);
    if (m.rope_scaling) {
        snprintf(key, sizeof key, "%s.rope.scaling.type", m.arch);
        CHECK(gl_gguf_add_str(w, key, m.rope_scaling) == 0);
    }
    add_tensor(w, &m, "token_embd.weight", E, V);
    add_tensor(w, &m, "output_norm.weight", E, 1);
    add_tensor(w, &m, "blk.0.attn_norm.weight", E, 1);
    add_tensor(w, &m, "blk.0.attn_q.weight", E, 2 * HD);
    add_tensor(w, &m, "blk.0.attn_k.weight", E, HD);
    add_tensor(w, &m, "blk.0.attn_v.weight", E, HD);
    add_tensor(w, &m, "blk.0.attn_output.weight", 2 * HD, E);
    if (!strcmp(m.arch, "qwen2")) {
        add_tensor(w, &m, "blk.0.attn_q.bias", 2 * HD, 1);
        add_tensor(w, &m, "blk.0.attn_k.bias", HD, 1);
        add_tensor(w, &m, "blk.0.attn_v.bias", HD, 1);
    }
    add_tensor(w, &m, "blk.0.ffn_norm.weight", E, 1);
    add_tensor(w, &m, "blk.0.ffn_gate.weight", E, F);
    add_tensor(w, &m, "blk.0.ffn_up.weight", E, F);
    add_tensor(w, &m, "blk.0.ffn_down.weight", F, E);
    if (m.extra) add_tensor(w, &m, m.extra, HD / 2, 1);
    CHECK(gl_gguf_write_file(w, OUT_PATH) == GLIMPSE_OK);
    gl_gguf_writer_free(w);

    *d = NULL;
    glimpse_status st = gl_gguf_open(OUT_PATH, g);
    CHECK_MSG(st == GLIMPSE_OK, "%s", glimpse_last_error());
    if (st) return st;
    return gl_decoder_load(*g, d);
}

/* Loading fails with status, and the message names the file and needle. */
static void check_rejected(model_spec m, glimpse_status status, const char *needle) {
    gl_gguf *g;
    gl_decoder *d;
    CHECK_ERROR(load(m, &g, &d), status, needle);
    CHECK(strstr(glimpse_last_error(), OUT_PATH) != NULL);
    CHECK(d == NULL);
    gl_gguf_close(g);
}

static void check_files(void) {
    gl_gguf *g;
    gl_decoder *d;
    CHECK_MSG(load((model_spec){0}, &g, &d) == GLIMPSE_OK, "control: %s", glimpse_last_error());
    gl_decoder_free(d);
    gl_gguf_close(g);
    CHECK_MSG(load((model_spec){.arch = "qwen2"}, &g, &d) == GLIMPSE_OK, "control: %s", glimpse_last_error());
    gl_decoder_free(d);
    gl_gguf_close(g);

    check_rejected((model_spec){.arch = "gemma3"}, GLIMPSE_ERR_UNSUPPORTED, "'gemma3'");
    check_rejected((model_spec){.omit = "blk.0.ffn_down.weight"}, GLIMPSE_ERR_FORMAT, "'blk.0.ffn_down.weight'");
    check_rejected((model_spec){.omit = "output_norm.weight"}, GLIMPSE_ERR_FORMAT, "'output_norm.weight'");
    check_rejected((model_spec){.misshapen = "blk.0.attn_k.weight"}, GLIMPSE_ERR_FORMAT, "'blk.0.attn_k.weight'");
    check_rejected((model_spec){.misshapen = "blk.0.ffn_up.weight"}, GLIMPSE_ERR_FORMAT, "'blk.0.ffn_up.weight'");
    check_rejected((model_spec){.extra = "rope_freqs.weight"}, GLIMPSE_ERR_UNSUPPORTED, "'rope_freqs.weight'");
    check_rejected((model_spec){.extra = "blk.1.attn_norm.weight"}, GLIMPSE_ERR_UNSUPPORTED, "'blk.1.attn_norm.weight'");
    check_rejected((model_spec){.arch = "qwen2", .omit = "blk.0.attn_k.bias"}, GLIMPSE_ERR_FORMAT, "'blk.0.attn_k.bias'");
    check_rejected((model_spec){.omit_key = "embedding_length"}, GLIMPSE_ERR_FORMAT, "'llama.embedding_length'");
    check_rejected((model_spec){.omit_key = "context_length"}, GLIMPSE_ERR_FORMAT, "'llama.context_length'");
    check_rejected((model_spec){.n_head_kv = 3}, GLIMPSE_ERR_FORMAT, "head_count_kv");
    check_rejected((model_spec){.rope_scaling = "yarn"}, GLIMPSE_ERR_UNSUPPORTED, "'yarn'");
}

static void check_calls(void) {
    gl_gguf *g;
    gl_decoder *d;
    gl_kv_cache *kv;
    if (load((model_spec){0}, &g, &d) != GLIMPSE_OK) return;
    float logits[V];
    int32_t tokens[16] = {0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6, 7};

    /* context full: 12 fit, 5 more do not, 4 more do, then nothing does */
    CHECK(gl_kv_cache_new(d, 16, 0, &kv) == GLIMPSE_OK);
    CHECK(gl_decoder_forward(d, kv, tokens, NULL, 12, logits, 0, NULL) == GLIMPSE_OK);
    CHECK_ERROR(gl_decoder_forward(d, kv, tokens, NULL, 5, logits, 0, NULL), GLIMPSE_ERR_CONTEXT_FULL, "context full");
    CHECK(gl_kv_cache_n_past(kv) == 12);
    CHECK(gl_decoder_forward(d, kv, tokens, NULL, 4, logits, 0, NULL) == GLIMPSE_OK);
    CHECK(gl_kv_cache_n_past(kv) == 16);
    CHECK_ERROR(gl_decoder_forward(d, kv, tokens, NULL, 1, logits, 0, NULL), GLIMPSE_ERR_CONTEXT_FULL, "16");

    /* a token id outside the vocabulary leaves the cache untouched */
    gl_kv_cache_truncate(kv, 2);
    int32_t bad[3] = {1, V, 2};
    CHECK_ERROR(gl_decoder_forward(d, kv, bad, NULL, 3, logits, 0, NULL), GLIMPSE_ERR_INVALID_ARG, "token id 8");
    CHECK(gl_kv_cache_n_past(kv) == 2);
    gl_kv_cache_free(kv);

    /* memory limit: the default context (64) is cut to what fits */
    size_t ten = gl_kv_cache_bytes(d, 10);
    CHECK(ten == 2 * 1 * 10 * HD * sizeof(float));
    CHECK(gl_kv_cache_new(d, 0, ten + 1, &kv) == GLIMPSE_OK);
    CHECK(gl_kv_cache_n_ctx(kv) == 10);
    gl_kv_cache_free(kv);
    CHECK(gl_kv_cache_new(d, 0, 0, &kv) == GLIMPSE_OK);
    CHECK(gl_kv_cache_n_ctx(kv) == 64);
    gl_kv_cache_free(kv);
    CHECK_ERROR(gl_kv_cache_new(d, 11, ten, &kv), GLIMPSE_ERR_LIMIT, "11 positions");
    CHECK_ERROR(gl_kv_cache_new(d, 0, ten / 10 - 1, &kv), GLIMPSE_ERR_LIMIT, "memory limit");

    gl_decoder_free(d);
    gl_gguf_close(g);
}

static void check_out_of_memory(void) {
    gl_gguf *g;
    gl_decoder *d;
    if (load((model_spec){.arch = "qwen2"}, &g, &d) != GLIMPSE_OK) return;
    gl_decoder_free(d);
    int32_t tokens[3] = {1, 2, 3};
    float logits[V];
    glimpse_status st = GLIMPSE_ERR_NOMEM;
    int failures = 0;
    for (long n = 0; st == GLIMPSE_ERR_NOMEM && n < 1000; n++) {
        gl_kv_cache *kv = NULL;
        d = NULL;
        gl_alloc_fail_after(n);
        st = gl_decoder_load(g, &d);
        if (!st) st = gl_kv_cache_new(d, 8, 0, &kv);
        if (!st) st = gl_decoder_forward(d, kv, tokens, NULL, 3, logits, 0, NULL);
        gl_alloc_fail_after(-1);
        if (st == GLIMPSE_ERR_NOMEM) failures++;
        if (kv) CHECK(gl_kv_cache_n_past(kv) == (st ? 0 : 3));
        gl_kv_cache_free(kv);
        gl_decoder_free(d);
    }
    CHECK_MSG(st == GLIMPSE_OK && failures > 5, "status %d after %d injected failures", (int)st, failures);
    gl_gguf_close(g);
}

int main(void) {
    check_files();
    check_calls();
    check_out_of_memory();
    remove(OUT_PATH);
    TEST_DONE();
}
