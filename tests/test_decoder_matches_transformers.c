/* test_decoder_matches_transformers.c - the llama and qwen2 decoders give the
 * logits and greedy continuations of transformers' LlamaForCausalLM and
 * Qwen2ForCausalLM, on the tiny random models of tests/fixtures/text
 * (tests/fixtures/make_text_fixtures.py; converted by tools/convert/text.py).
 *
 * Tolerances (max |difference| over every logit of the 16- and 12-token
 * prompts; the logits have a standard deviation of about 4 to 6):
 *   - F32 file vs transformers on the same weights: 1e-4 (measured 1.4e-5
 *     llama, 9.5e-6 qwen2: float32 summation order).
 *   - F16 files vs transformers on the weights dequantised from that file:
 *     1e-4 too, because the F16 kernels dot in F32 and add nothing to the
 *     weights' own rounding (measured 1.5e-5, 8.6e-6).
 *   - Q8_0 files vs transformers on the dequantised weights: 0.5. The Q8_0
 *     kernels quantise the activations to 8-bit blocks too (integer dot
 *     products, as llama.cpp's CPU backend), which moves these logits by up
 *     to 0.33 when simulated in transformers (measured here 0.35 llama, 0.24
 *     qwen2).
 *   - F16 and Q8_0 files vs the F32 reference, the cost of the format itself:
 *     0.05 for F16 (measured 0.016) and 1.0 for Q8_0 (measured 0.42).
 * Greedy: 32 tokens after the prompt, argmax with the EOS logit excluded as
 * generate(min_new_tokens=32) does, must equal transformers' tokens exactly
 * for all three types; the fixture guarantees a gap of at least 0.05 between
 * the best and second-best logit at each step, far above the tolerances. */
#include "decoder.h"
#include "gguf.h"
#include "test.h"

#include <math.h>

#define FIXTURES GLIMPSE_SOURCE_DIR "/tests/fixtures/text/"
#define N_NEW 32
#define MAX_PROMPT 64

typedef struct {
    gl_gguf *g;
    int32_t prompt[MAX_PROMPT];
    int n_prompt;
    int32_t suppressed; /* EOS, never chosen by the greedy reference */
} reference;

static int read_i32s(const gl_gguf *g, const char *key, int32_t *out, int max) {
    glimpse_gguf_type type;
    uint64_t n;
    if (gl_gguf_get_arr(g, key, &type, &n) != 0 || n > (uint64_t)max) return -1;
    for (uint64_t i = 0; i < n; i++) {
        int64_t v;
        if (gl_gguf_arr_i64(g, key, i, &v) != 0) return -1;
        out[i] = (int32_t)v;
    }
    return (int)n;
}

static int argmax_except(const float *x, int n, int32_t skip) {
    int best = skip == 0 ? 1 : 0;
    for (int i = 0; i < n; i++)
        if (i != skip && x[i] > x[best]) best = i;
    return best;
}

static float max_abs_diff(const float *a, const float *b, size_t n) {
    float m = 0;
    for (size_t i = 0; i < n; i++) m = fmaxf(m, fabsf(a[i] - b[i]));
    return m;
}

static void check_model(const char *arch, const char *type, const reference *ref, float tol_same,
                        float tol_vs_f32) {
    char path[512], key[64];
    snprintf(path, sizeof path, FIXTURES "%s-%s.gguf", arch, type);
    gl_gguf *g;
    gl_decoder *d;
    gl_kv_cache *kv;
    if (gl_gguf_open(path, &g) != GLIMPSE_OK || gl_decoder_load(g, &d) != GLIMPSE_OK) {
        CHECK_MSG(0, "%s", glimpse_last_error());
        return;
    }
    const gl_decoder_hparams *hp = gl_decoder_hparams_of(d);
    CHECK(gl_kv_cache_new(d, 0, 0, &kv) == GLIMPSE_OK);
    CHECK(gl_kv_cache_n_ctx(kv) == hp->n_ctx_train); /* no memory limit: the model's context_length */

    /* logits of every prompt position */
    int n = ref->n_prompt, n_vocab = hp->n_vocab;
    float *logits = malloc((size_t)n * (size_t)n_vocab * sizeof(float));
    CHECK(gl_decoder_forward(d, kv, ref->prompt, NULL, n, logits, 1, NULL) == GLIMPSE_OK);
    snprintf(key, sizeof key, "logits.%s", type);
    const gl_tensor *want = gl_gguf_tensor(ref->g, key);
    const gl_tensor *want_f32 = gl_gguf_tensor(ref->g, "logits.f32");
    CHECK(want && want->ne[0] == n_vocab && want->ne[1] == n);
    float diff = max_abs_diff(logits, want->data, (size_t)n * (size_t)n_vocab);
    float diff_f32 = max_abs_diff(logits, want_f32->data, (size_t)n * (size_t)n_vocab);
    printf("%s %s: max |logits - transformers| %.2e (bound %.0e), vs F32 model %.2e (bound %.2g)\n", arch, type,
           diff, tol_same, diff_f32, tol_vs_f32);
    CHECK_MSG(diff <= tol_same, "%s %s: logits differ by %g", arch, type, diff);
    CHECK_MSG(diff_f32 <= tol_vs_f32, "%s %s: logits differ from the F32 model by %g", arch, type, diff_f32);

    /* greedy continuation, one position at a time */
    int32_t want_greedy[N_NEW], got[N_NEW];
    snprintf(key, sizeof key, "ref.greedy.%s", type);
    CHECK(read_i32s(ref->g, key, want_greedy, N_NEW) == N_NEW);
    const float *last = logits + (size_t)(n - 1) * (size_t)n_vocab;
    for (int i = 0; i < N_NEW; i++) {
        got[i] = argmax_except(last, n_vocab, ref->suppressed);
        if (gl_decoder_forward(d, kv, &got[i], NULL, 1, logits, 0, NULL) != GLIMPSE_OK) {
            CHECK_MSG(0, "%s", glimpse_last_error());
            break;
        }
        last = logits;
    }
    int same = memcmp(got, want_greedy, sizeof got) == 0;
    CHECK_MSG(same, "%s %s: greedy tokens differ from transformers", arch, type);
    if (!same)
        for (int i = 0; i < N_NEW; i++) fprintf(stderr, "  step %d: got %d want %d\n", i, got[i], want_greedy[i]);
    CHECK(gl_kv_cache_n_past(kv) == n + N_NEW);

    free(logits);
    gl_kv_cache_free(kv);
    gl_decoder_free(d);
    gl_gguf_close(g);
}

static void check_arch(const char *arch, gl_decoder_arch want_arch, int want_tied, float want_base) {
    char path[512];
    reference ref;
    snprintf(path, sizeof path, FIXTURES "%s-ref.gguf", arch);
    if (gl_gguf_open(path, &ref.g) != GLIMPSE_OK) {
        CHECK_MSG(0, "%s", glimpse_last_error());
        return;
    }
    uint32_t eos = 0;
    ref.n_prompt = read_i32s(ref.g, "ref.prompt", ref.prompt, MAX_PROMPT);
    CHECK(ref.n_prompt >= 10 && gl_gguf_get_u32(ref.g, "ref.suppressed_token", &eos) == 0);
    ref.suppressed = (int32_t)eos;

    /* the hyperparameters the fixture was made with */
    gl_gguf *g;
    gl_decoder *d;
    snprintf(path, sizeof path, FIXTURES "%s-f32.gguf", arch);
    if (gl_gguf_open(path, &g) == GLIMPSE_OK && gl_decoder_load(g, &d) == GLIMPSE_OK) {
        const gl_decoder_hparams *hp = gl_decoder_hparams_of(d);
        CHECK(hp->arch == want_arch && hp->tied_output == want_tied && hp->rope_base == want_base);
        CHECK(hp->n_head == 4 && hp->n_head_kv == 2 && hp->n_rot == hp->head_dim);
        gl_decoder_free(d);
        gl_gguf_close(g);
    }

    check_model(arch, "f32", &ref, 1e-4f, 1e-4f);
    check_model(arch, "f16", &ref, 1e-4f, 0.05f);
    check_model(arch, "q8_0", &ref, 0.5f, 1.0f);
    gl_gguf_close(ref.g);
}

int main(void) {
    check_arch("llama", GL_ARCH_LLAMA, 0, 100000.0f);
    check_arch("qwen2", GL_ARCH_QWEN2, 1, 1000000.0f);
    TEST_DONE();
}
