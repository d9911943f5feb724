/* bench_model.c - writes a random-weight model pair with the shapes of
 * SmolVLM-256M-Instruct (../shared/DESIGN.md "Model facts"), for measuring
 * speed without downloading real weights. Layout and keys as llama.cpp
 * writes them (../shared/FORMATS.md sections 1, 2 and 5). */
#include "glimpse.h"
#include "checked.h"
#include "error.h"
#include "gguf.h"
#include "mem.h"
#include "quant.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* SmolVLM-256M-Instruct */
enum {
    TEXT_EMBD = 576, TEXT_LAYERS = 30, TEXT_HEADS = 9, TEXT_KV_HEADS = 3, TEXT_FFN = 1536, TEXT_VOCAB = 49280,
    VIS_EMBD = 768, VIS_LAYERS = 12, VIS_HEADS = 12, VIS_FFN = 3072, VIS_IMAGE = 512, VIS_PATCH = 16,
    VIS_SCALE = 4, VIS_LONGEST_EDGE = 2048,
};

/* splitmix64: a small deterministic generator, so every run writes the same files. */
typedef struct { uint64_t s; } rng;
static float rng_uniform(rng *r) { /* in [-1, 1) */
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return (float)((double)(z >> 11) / (double)(1ull << 52)) - 1.0f;
}

typedef struct {
    gl_gguf_writer *w;
    rng r;
    int type;        /* type for 2-D weights */
    float *scratch;  /* F32 values of the largest tensor */
    uint8_t *packed; /* the same in `type` */
    glimpse_status failed;
} maker;

/* The type actually stored: K-quants need rows of 256, as in llama.cpp's
 * quantizer fallbacks (Q4_K -> Q5_0, Q6_K -> Q8_0 for such rows). */
static int storage_type(int type, int64_t ne0) {
    const gl_type_traits *t = gl_type_get(type);
    if (ne0 % t->block_size == 0) return type;
    return type == GL_TYPE_Q4_K ? GL_TYPE_Q5_0 : GL_TYPE_Q8_0;
}

/* Adds a tensor of uniform random values in [-scale, scale) (+ offset). */
static void add_random(maker *m, const char *name, int64_t ne0, int64_t ne1, float scale, float offset, int type) {
    if (m->failed) return;
    int64_t n = ne0 * ne1;
    for (int64_t i = 0; i < n; i++) m->scratch[i] = offset + scale * rng_uniform(&m->r);
    int t = storage_type(type, ne0);
    const gl_type_traits *tr = gl_type_get(t);
    if (!tr->from_float) {
        m->failed = gl_error(GLIMPSE_ERR_UNSUPPORTED, "cannot write %s weights", tr->name);
        return;
    }
    size_t row = gl_row_bytes(t, ne0);
    for (int64_t r = 0; r < ne1; r++) tr->from_float(m->scratch + r * ne0, m->packed + (size_t)r * row, ne0);
    int64_t ne[2] = {ne0, ne1};
    if (gl_gguf_add_tensor(m->w, name, t, ne1 > 1 ? 2 : 1, ne, m->packed))
        m->failed = gl_error_nomem("bench model tensor");
}

static void add_weight(maker *m, const char *name, int64_t n_in, int64_t n_out) {
    add_random(m, name, n_in, n_out, 1.0f / sqrtf((float)n_in) * 1.7f, 0, m->type);
}
static void add_norm(maker *m, const char *name, int64_t n) { add_random(m, name, n, 1, 0.1f, 1.0f, GL_TYPE_F32); }
static void add_bias(maker *m, const char *name, int64_t n) { add_random(m, name, n, 1, 0.02f, 0, GL_TYPE_F32); }

static glimpse_status finish(maker *m, const char *path) {
    glimpse_status st = m->failed ? m->failed : gl_gguf_write_file(m->w, path);
    gl_gguf_writer_free(m->w);
    m->w = NULL;
    return st;
}

/* A byte-level vocabulary of the right size with SmolVLM's special tokens;
 * the filler pieces only need to be distinct. */
static int add_vocab(gl_gguf_writer *w) {
    static const char *const specials[] = {"<|endoftext|>", "<|im_start|>", "<|im_end|>", "<fake_token_around_image>",
                                           "<image>", "<global-img>", "<end_of_utterance>"};
    enum { N_SPECIAL = sizeof specials / sizeof specials[0] };
    char **tokens = gl_calloc(TEXT_VOCAB, sizeof(char *));
    int32_t *types = gl_malloc_array(TEXT_VOCAB, sizeof(int32_t));
    int rc = -1, n = 0;
    if (!tokens || !types) goto done;
    for (; n < N_SPECIAL; n++) {
        tokens[n] = gl_strdup(specials[n]);
        types[n] = 3;
    }
    for (int r = 1; r <= 6; r++)
        for (int c = 1; c <= 6; c++, n++) {
            char buf[32];
            snprintf(buf, sizeof buf, "<row_%d_col_%d>", r, c);
            tokens[n] = gl_strdup(buf);
            types[n] = 4;
        }
    /* GPT-2's byte-to-unicode map: printable bytes stand for themselves, the
     * rest are shifted to U+0100 and up. */
    for (int b = 0, shift = 0; b < 256; b++, n++) {
        int printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174);
        int cp = printable ? b : 256 + shift++;
        char buf[4] = {0};
        if (cp < 0x80) buf[0] = (char)cp;
        else {
            buf[0] = (char)(0xc0 | (cp >> 6));
            buf[1] = (char)(0x80 | (cp & 0x3f));
        }
        tokens[n] = gl_strdup(buf);
        types[n] = 1;
    }
    for (; n < TEXT_VOCAB; n++) {
        char buf[32];
        snprintf(buf, sizeof buf, "Ġw%05d", n);
        tokens[n] = gl_strdup(buf);
        types[n] = 1;
    }
    for (int i = 0; i < TEXT_VOCAB; i++)
        if (!tokens[i]) goto done;
    const char *merges[] = {"Ġ t", "h e"};
    rc = gl_gguf_add_str(w, "tokenizer.ggml.model", "gpt2") || gl_gguf_add_str(w, "tokenizer.ggml.pre", "smollm") ||
         gl_gguf_add_arr_str(w, "tokenizer.ggml.tokens", (const char *const *)tokens, TEXT_VOCAB) ||
         gl_gguf_add_arr(w, "tokenizer.ggml.token_type", GLIMPSE_GGUF_I32, types, TEXT_VOCAB) ||
         gl_gguf_add_arr_str(w, "tokenizer.ggml.merges", merges, 2) ||
         gl_gguf_add_u32(w, "tokenizer.ggml.bos_token_id", 1) || gl_gguf_add_u32(w, "tokenizer.ggml.eos_token_id", 6) ||
         gl_gguf_add_bool(w, "tokenizer.ggml.add_bos_token", 0);
done:
    if (tokens)
        for (int i = 0; i < TEXT_VOCAB; i++) gl_free(tokens[i]);
    gl_free(tokens);
    gl_free(types);
    return rc;
}

static glimpse_status make_text(maker *m, const char *path, const char *type_name) {
    gl_gguf_writer *w = m->w = gl_gguf_writer_new();
    char name[96];
    snprintf(name, sizeof name, "bench SmolVLM-256M shapes (random %s)", type_name);
    if (!w || gl_gguf_add_str(w, "general.architecture", "llama") || gl_gguf_add_str(w, "general.name", name) ||
        gl_gguf_add_u32(w, "llama.context_length", 8192) || gl_gguf_add_u32(w, "llama.embedding_length", TEXT_EMBD) ||
        gl_gguf_add_u32(w, "llama.block_count", TEXT_LAYERS) ||
        gl_gguf_add_u32(w, "llama.feed_forward_length", TEXT_FFN) ||
        gl_gguf_add_u32(w, "llama.attention.head_count", TEXT_HEADS) ||
        gl_gguf_add_u32(w, "llama.attention.head_count_kv", TEXT_KV_HEADS) ||
        gl_gguf_add_f32(w, "llama.attention.layer_norm_rms_epsilon", 1e-5f) ||
        gl_gguf_add_f32(w, "llama.rope.freq_base", 100000.0f) ||
        gl_gguf_add_u32(w, "llama.rope.dimension_count", TEXT_EMBD / TEXT_HEADS) ||
        gl_gguf_add_u32(w, "llama.vocab_size", TEXT_VOCAB) || add_vocab(w) ||
        gl_gguf_add_str(w, "tokenizer.chat_template",
                        "<|im_start|>{% for message in messages %}{{message['role'] | capitalize}}: "
                        "{{ message['content'] }}<end_of_utterance>\n{% endfor %}"
                        "{% if add_generation_prompt %}Assistant:{% endif %}"))
        m->failed = gl_error_nomem("bench text model");
    int kv = TEXT_EMBD / TEXT_HEADS * TEXT_KV_HEADS;
    add_weight(m, "token_embd.weight", TEXT_EMBD, TEXT_VOCAB);
    add_norm(m, "output_norm.weight", TEXT_EMBD);
    for (int l = 0; l < TEXT_LAYERS; l++) {
        char t[64];
#define BLK(s) (snprintf(t, sizeof t, "blk.%d." s, l), t)
        add_norm(m, BLK("attn_norm.weight"), TEXT_EMBD);
        add_weight(m, BLK("attn_q.weight"), TEXT_EMBD, TEXT_EMBD);
        add_weight(m, BLK("attn_k.weight"), TEXT_EMBD, kv);
        add_weight(m, BLK("attn_v.weight"), TEXT_EMBD, kv);
        add_weight(m, BLK("attn_output.weight"), TEXT_EMBD, TEXT_EMBD);
        add_norm(m, BLK("ffn_norm.weight"), TEXT_EMBD);
        add_weight(m, BLK("ffn_gate.weight"), TEXT_EMBD, TEXT_FFN);
        add_weight(m, BLK("ffn_up.weight"), TEXT_EMBD, TEXT_FFN);
        add_weight(m, BLK("ffn_down.weight"), TEXT_FFN, TEXT_EMBD);
#undef BLK
    }
    return finish(m, path);
}

static glimpse_status make_mmproj(maker *m, const char *path) {
    gl_gguf_writer *w = m->w = gl_gguf_writer_new();
    const float half[3] = {0.5f, 0.5f, 0.5f};
    if (!w || gl_gguf_add_str(w, "general.architecture", "clip") ||
        gl_gguf_add_str(w, "general.name", "bench SigLIP-B/16-512 + Idefics3 projector (random)") ||
        gl_gguf_add_str(w, "clip.projector_type", "idefics3") || gl_gguf_add_bool(w, "clip.has_vision_encoder", 1) ||
        gl_gguf_add_bool(w, "clip.use_gelu", 1) || gl_gguf_add_u32(w, "clip.vision.image_size", VIS_IMAGE) ||
        gl_gguf_add_u32(w, "clip.vision.patch_size", VIS_PATCH) ||
        gl_gguf_add_u32(w, "clip.vision.embedding_length", VIS_EMBD) ||
        gl_gguf_add_u32(w, "clip.vision.feed_forward_length", VIS_FFN) ||
        gl_gguf_add_u32(w, "clip.vision.block_count", VIS_LAYERS) ||
        gl_gguf_add_u32(w, "clip.vision.attention.head_count", VIS_HEADS) ||
        gl_gguf_add_f32(w, "clip.vision.attention.layer_norm_epsilon", 1e-6f) ||
        gl_gguf_add_u32(w, "clip.vision.projection_dim", TEXT_EMBD) ||
        gl_gguf_add_arr(w, "clip.vision.image_mean", GLIMPSE_GGUF_F32, half, 3) ||
        gl_gguf_add_arr(w, "clip.vision.image_std", GLIMPSE_GGUF_F32, half, 3) ||
        gl_gguf_add_u32(w, "clip.vision.projector.scale_factor", VIS_SCALE) ||
        gl_gguf_add_u32(w, "clip.vision.preproc_image_size", VIS_LONGEST_EDGE))
        m->failed = gl_error_nomem("bench mmproj");
    int n_pos = (VIS_IMAGE / VIS_PATCH) * (VIS_IMAGE / VIS_PATCH);
    /* Patch embedding [p, p, 3, E] stored as E rows of p*p*3; F16 as llama.cpp writes it. */
    add_random(m, "v.patch_embd.weight", VIS_PATCH * VIS_PATCH * 3, VIS_EMBD, 0.05f, 0, GL_TYPE_F16);
    add_bias(m, "v.patch_embd.bias", VIS_EMBD);
    add_random(m, "v.position_embd.weight", VIS_EMBD, n_pos, 0.02f, 0, GL_TYPE_F32);
    for (int l = 0; l < VIS_LAYERS; l++) {
        char t[64];
#define BLK(s) (snprintf(t, sizeof t, "v.blk.%d." s, l), t)
        static const char *const attn[] = {"attn_q", "attn_k", "attn_v", "attn_out"};
        for (int k = 0; k < 4; k++) {
            char base[64];
            snprintf(base, sizeof base, "v.blk.%d.%s.weight", l, attn[k]);
            add_weight(m, base, VIS_EMBD, VIS_EMBD);
            snprintf(base, sizeof base, "v.blk.%d.%s.bias", l, attn[k]);
            add_bias(m, base, VIS_EMBD);
        }
        add_norm(m, BLK("ln1.weight"), VIS_EMBD);
        add_bias(m, BLK("ln1.bias"), VIS_EMBD);
        add_norm(m, BLK("ln2.weight"), VIS_EMBD);
        add_bias(m, BLK("ln2.bias"), VIS_EMBD);
        add_weight(m, BLK("ffn_up.weight"), VIS_EMBD, VIS_FFN);
        add_bias(m, BLK("ffn_up.bias"), VIS_FFN);
        add_weight(m, BLK("ffn_down.weight"), VIS_FFN, VIS_EMBD);
        add_bias(m, BLK("ffn_down.bias"), VIS_EMBD);
#undef BLK
    }
    add_norm(m, "v.post_ln.weight", VIS_EMBD);
    add_bias(m, "v.post_ln.bias", VIS_EMBD);
    add_weight(m, "mm.model.fc.weight", VIS_EMBD * VIS_SCALE * VIS_SCALE, TEXT_EMBD);
    return finish(m, path);
}

glimpse_status glimpse_bench_make_model(const char *dir, const char *type_name) {
    static const int types[] = {GL_TYPE_F32, GL_TYPE_F16, GL_TYPE_BF16, GL_TYPE_Q8_0, GL_TYPE_Q4_0, GL_TYPE_Q4_K,
                                GL_TYPE_Q6_K};
    int type = -1;
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (!strcmp(gl_type_get(types[i])->name, type_name)) type = types[i];
    if (type < 0)
        return gl_error(GLIMPSE_ERR_INVALID_ARG, "%s: not a weight type for bench models (F32, F16, BF16, Q8_0, Q4_0, "
                        "Q4_K, Q6_K)", type_name);
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        return gl_error(GLIMPSE_ERR_IO, "%s: cannot create directory: %s", dir, strerror(errno));
    size_t largest = (size_t)TEXT_EMBD * TEXT_VOCAB;
    maker m = {NULL, {0x5eed}, type, gl_malloc_array(largest, sizeof(float)), gl_malloc_array(largest, sizeof(float)),
               GLIMPSE_OK};
    glimpse_status st = GLIMPSE_OK;
    if (!m.scratch || !m.packed) st = gl_error_nomem("bench model buffers");
    char path[4096];
    if (!st) {
        snprintf(path, sizeof path, "%s/text-%s.gguf", dir, type_name);
        st = make_text(&m, path, type_name);
    }
    if (!st) {
        snprintf(path, sizeof path, "%s/mmproj-%s.gguf", dir, type_name);
        st = make_mmproj(&m, path);
    }
    gl_free(m.scratch);
    gl_free(m.packed);
    return st;
}
