/* test_quant_matches_gguf_py.c - glimpse's decoders and quantisers give the
 * same bits as gguf-py (and so as ggml) for every weight type glimpse reads.
 *
 * Fixture: tests/fixtures/quant/quant_types.gguf (make_quant_fixtures.py).
 * Tolerance: none. Every decoder is bit-identical to gguf-py's dequantisation
 * (including the types whose scales are f16: both sides convert the f16 exactly
 * and then do the same float multiplies and adds in the same order), and the
 * quantisers of F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1 and Q8_0 write the same bytes
 * as gguf-py's. Q4_K and Q6_K have no gguf-py quantiser: their round trip is
 * tested below against a stated error bound instead. */
#include "gguf.h"
#include "quant.h"
#include "test.h"

#include <stdint.h>

static const char *const all_types[] = {"F16",  "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1",   "Q8_0",  "Q2_K",
                                        "Q3_K", "Q4_K", "Q5_K", "Q6_K", "Q8_K", "IQ4_NL", "IQ4_XS"};
static const char *const quantised_by_gguf_py[] = {"F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0"};

static const gl_type_traits *traits_by_name(const char *name, int *type) {
    for (int t = 0; t < GL_TYPE_COUNT; t++) {
        const gl_type_traits *tr = gl_type_get(t);
        if (tr && strcmp(tr->name, name) == 0) {
            *type = t;
            return tr;
        }
    }
    return NULL;
}

static void lower(const char *s, char *out) {
    size_t i = 0;
    for (; s[i]; i++) out[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] - 'A' + 'a' : s[i]);
    out[i] = 0;
}

static const gl_tensor *tensor(const gl_gguf *g, const char *type_name, const char *suffix) {
    char name[64];
    lower(type_name, name);
    strcat(name, suffix);
    const gl_tensor *t = gl_gguf_tensor(g, name);
    CHECK_MSG(t != NULL, "fixture lacks tensor %s", name);
    return t;
}

static void check_decoder(const gl_gguf *g, const char *type_name) {
    int type;
    const gl_type_traits *tr = traits_by_name(type_name, &type);
    const gl_tensor *q = tensor(g, type_name, ""), *ref = tensor(g, type_name, ".ref");
    if (!tr || !q || !ref) return;
    CHECK_MSG(tr->to_float != NULL, "%s has no decoder", type_name);
    CHECK(q->type == type && ref->type == GL_TYPE_F32);
    int64_t n = gl_tensor_nelements(q);
    CHECK(n == gl_tensor_nelements(ref) && q->ne[0] == ref->ne[0]);
    if (!tr->to_float || q->type != type || n != gl_tensor_nelements(ref)) return;
    float *out = malloc((size_t)n * sizeof(float));
    tr->to_float(q->data, out, n);
    int64_t mismatches = 0;
    for (int64_t i = 0; i < n; i++) {
        uint32_t a, b;
        memcpy(&a, out + i, 4);
        memcpy(&b, (const float *)ref->data + i, 4);
        if (a != b && mismatches++ < 3)
            fprintf(stderr, "%s element %lld: glimpse %.9g (0x%08x), gguf-py %.9g (0x%08x)\n", type_name,
                    (long long)i, out[i], a, ((const float *)ref->data)[i], b);
    }
    CHECK_MSG(mismatches == 0, "%s: %lld of %lld elements differ", type_name, (long long)mismatches, (long long)n);
    free(out);
}

static void check_quantiser(const gl_gguf *g, const char *type_name) {
    int type;
    const gl_type_traits *tr = traits_by_name(type_name, &type);
    const gl_tensor *q = tensor(g, type_name, ""), *src = tensor(g, type_name, ".src");
    if (!tr || !q || !src) return;
    CHECK_MSG(tr->from_float != NULL, "%s has no quantiser", type_name);
    CHECK(src->type == GL_TYPE_F32 && gl_tensor_nelements(src) == gl_tensor_nelements(q));
    if (!tr->from_float || src->type != GL_TYPE_F32 || gl_tensor_nelements(src) != gl_tensor_nelements(q)) return;
    unsigned char *out = malloc(q->nbytes);
    tr->from_float(src->data, out, gl_tensor_nelements(src));
    size_t first = q->nbytes;
    for (size_t i = 0; i < q->nbytes && first == q->nbytes; i++)
        if (out[i] != ((const unsigned char *)q->data)[i]) first = i;
    CHECK_MSG(first == q->nbytes, "%s: quantised bytes differ from gguf-py's first at byte %zu (block %zu)",
              type_name, first, first / (size_t)tr->type_size);
    free(out);
}

/* ==== K-quant quantisers: valid blocks within a stated error ==== */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static double uniform(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}
static float gaussian(void) { return (float)(sqrt(-2 * log(uniform() + 1e-300)) * cos(6.283185307179586 * uniform())); }

/* Quantises 64 blocks of Gaussian data at scales 1e-3..1e2 (plus a zero block
 * and a one-signed block) and bounds the relative RMS error of the round trip.
 * The bounds are 1.5x the worst error seen over 4000 such blocks (Q4_K 0.084,
 * Q6_K 0.024) when the quantisers were checked byte for byte against ggml's
 * quantize_row_q4_K_ref and quantize_row_q6_K_ref. Below 1e-3 the f16
 * super-block scale underflows and the error grows, in ggml as here. */
static void check_k_round_trip(int type, double max_rel_rms) {
    const gl_type_traits *tr = gl_type_get(type);
    enum { NB = 64 };
    float *x = malloc(NB * 256 * sizeof(float)), *y = malloc(NB * 256 * sizeof(float));
    unsigned char *q = malloc((size_t)NB * (size_t)tr->type_size);
    for (int b = 0; b < NB; b++) {
        float scale = (float)pow(10, -3 + 5 * uniform());
        for (int i = 0; i < 256; i++) {
            float v = gaussian() * scale;
            x[b * 256 + i] = b == 0 ? 0.0f : b == 1 ? fabsf(v) : v;
        }
    }
    tr->from_float(x, q, NB * 256);
    tr->to_float(q, y, NB * 256);
    double worst = 0;
    for (int b = 0; b < NB; b++) {
        double err = 0, sig = 0;
        for (int i = 0; i < 256; i++) {
            double e = (double)y[b * 256 + i] - x[b * 256 + i];
            CHECK_MSG(isfinite(y[b * 256 + i]), "%s block %d decodes to a non-finite value", tr->name, b);
            err += e * e;
            sig += (double)x[b * 256 + i] * x[b * 256 + i];
        }
        if (b == 0) {
            CHECK_MSG(err == 0, "%s: the zero block does not decode to zeros", tr->name);
            continue;
        }
        double rel = sqrt(err / sig);
        if (rel > worst) worst = rel;
    }
    CHECK_MSG(worst <= max_rel_rms, "%s: worst relative RMS error %.4f > %.4f", tr->name, worst, max_rel_rms);
    fprintf(stderr, "%s round trip: worst relative RMS error %.4f (bound %.4f)\n", tr->name, worst, max_rel_rms);
    free(x);
    free(y);
    free(q);
}

int main(void) {
    const char *path = GLIMPSE_SOURCE_DIR "/tests/fixtures/quant/quant_types.gguf";
    gl_gguf *g = NULL;
    glimpse_status st = gl_gguf_open(path, &g);
    CHECK_MSG(st == GLIMPSE_OK, "cannot open %s", path);
    if (st != GLIMPSE_OK) TEST_DONE();
    for (size_t i = 0; i < sizeof all_types / sizeof *all_types; i++) check_decoder(g, all_types[i]);
    for (size_t i = 0; i < sizeof quantised_by_gguf_py / sizeof *quantised_by_gguf_py; i++)
        check_quantiser(g, quantised_by_gguf_py[i]);
    gl_gguf_close(g);
    check_k_round_trip(GL_TYPE_Q4_K, 0.13);
    check_k_round_trip(GL_TYPE_Q6_K, 0.037);
    TEST_DONE();
}
