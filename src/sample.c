/* sample.c - the sampler chain and the stop-string matcher (see sample.h).
 *
 * Chain order and filter rules: llama.cpp common/common.h (default sampler
 * order) and src/llama-sampling.cpp (top-k, top-p, min-p, penalties, temp,
 * dist). Random numbers: xoshiro256** and splitmix64 (Blackman & Vigna,
 * prng.di.unimi.it). */
#include "sample.h"

#include "checked.h"
#include "error.h"
#include "mem.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Longest penalty window accepted; bounds the history buffer. */
#define MAX_REPEAT_LAST_N (1 << 20)

/* ---- Random numbers ---- */

static uint64_t rotl64(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t splitmix64(uint64_t *state) {
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t xoshiro_next(uint64_t s[4]) {
    uint64_t result = rotl64(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl64(s[3], 45);
    return result;
}

/* Uniform in [0, 1) with 53 random bits. */
static double xoshiro_uniform(uint64_t s[4]) { return (double)(xoshiro_next(s) >> 11) * 0x1.0p-53; }

/* ---- Sampler ---- */

struct gl_sampler {
    gl_sampler_params params;
    uint64_t rng[4];       // xoshiro256** state
    int32_t *history;      // (repeat_last_n) ring buffer of accepted tokens
    int32_t *history_sorted; // (repeat_last_n) scratch: the window sorted, to count repeats
    int32_t n_history;     // valid entries in history
    int32_t history_next;  // slot the next accepted token goes to
    gl_token_prob *cand;   // (cand_cap) candidates of the current step
    int32_t cand_cap;
};

gl_sampler_params gl_sampler_default_params(void) {
    gl_sampler_params p = {
        .temperature = 0.8f,
        .top_k = 40,
        .top_p = 0.95f,
        .min_p = 0.05f,
        .repeat_penalty = 1.0f,
        .repeat_last_n = 64,
        .frequency_penalty = 0.0f,
        .presence_penalty = 0.0f,
        .seed = 0,
    };
    return p;
}

static glimpse_status check_params(const gl_sampler_params *p) {
    if (!isfinite(p->temperature))
        return gl_error(GLIMPSE_ERR_INVALID_ARG, "sampler: temperature %g is not finite", p->temperature);
    if (!(p->top_p >= 0.0f && p->top_p <= 1.0f))
        return gl_error(GLIMPSE_ERR_INVALID_ARG, "sampler: top_p %g is outside [0, 1]", p->top_p);
    if (!(p->min_p >= 0.0f && p->min_p <= 1.0f))
        return gl_error(GLIMPSE_ERR_INVALID_ARG, "sampler: min_p %g is outside [0, 1]", p->min_p);
    if (!(p->repeat_penalty > 0.0f && isfinite(p->repeat_penalty)))
        return gl_error(GLIMPSE_ERR_INVALID_ARG, "sampler: repeat_penalty %g is not a positive number",
                        p->repeat_penalty);
    if (p->repeat_last_n < 0 || p->repeat_last_n > MAX_REPEAT_LAST_N)
        return gl_error(GLIMPSE_ERR_INVALID_ARG, "sampler: repeat_last_n %d is outside [0, %d]",
                        (int)p->repeat_last_n, MAX_REPEAT_LAST_N);
    if (!isfinite(p->frequency_penalty) || !isfinite(p->presence_penalty))
        return gl_error(GLIMPSE_ERR_INVALID_ARG, "sampler: frequency/presence penalty is not finite");
    return GLIMPSE_OK;
}

gl_sampler *gl_sampler_new(const gl_sampler_params *p) {
    if (!p) {
        gl_error(GLIMPSE_ERR_INVALID_ARG, "sampler: no parameters");
        return NULL;
    }
    if (check_params(p) != GLIMPSE_OK) return NULL;
    gl_sampler *s = gl_calloc(1, sizeof *s);
    if (!s) {
        gl_error_nomem("sampler");
        return NULL;
    }
    s->params = *p;
    uint64_t seed = p->seed;
    for (int i = 0; i < 4; i++) s->rng[i] = splitmix64(&seed);
    if (p->repeat_last_n > 0) {
        s->history = gl_malloc_array((size_t)p->repeat_last_n, sizeof *s->history);
        s->history_sorted = gl_malloc_array((size_t)p->repeat_last_n, sizeof *s->history_sorted);
        if (!s->history || !s->history_sorted) {
            gl_sampler_free(s);
            gl_error_nomem("sampler history");
            return NULL;
        }
    }
    return s;
}

void gl_sampler_free(gl_sampler *s) {
    if (!s) return;
    gl_free(s->history);
    gl_free(s->history_sorted);
    gl_free(s->cand);
    gl_free(s);
}

void gl_sampler_accept(gl_sampler *s, int32_t token) {
    int32_t n = s->params.repeat_last_n;
    if (n == 0) return;
    s->history[s->history_next] = token;
    s->history_next = (s->history_next + 1) % n;
    if (s->n_history < n) s->n_history++;
}

static int cmp_int32(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* Candidates are still indexed by id here, so token t is cand[t]. */
static void apply_penalties(gl_sampler *s, gl_token_prob *cand, int32_t n_vocab) {
    const gl_sampler_params *p = &s->params;
    if (s->n_history == 0 ||
        (p->repeat_penalty == 1.0f && p->frequency_penalty == 0.0f && p->presence_penalty == 0.0f))
        return;
    memcpy(s->history_sorted, s->history, (size_t)s->n_history * sizeof *s->history);
    qsort(s->history_sorted, (size_t)s->n_history, sizeof *s->history_sorted, cmp_int32);
    for (int32_t i = 0; i < s->n_history;) {
        int32_t t = s->history_sorted[i], count = 0;
        while (i < s->n_history && s->history_sorted[i] == t) {
            count++;
            i++;
        }
        if (t < 0 || t >= n_vocab) continue;
        float *l = &cand[t].logit;
        if (*l <= 0.0f)
            *l *= p->repeat_penalty;
        else
            *l /= p->repeat_penalty;
        *l -= (float)count * p->frequency_penalty + p->presence_penalty;
    }
}

/* The chain's order: higher logit first, lower id first among equals. */
static int better(const gl_token_prob *a, const gl_token_prob *b) {
    return a->logit > b->logit || (a->logit == b->logit && a->id < b->id);
}

static int cmp_better(const void *a, const void *b) {
    const gl_token_prob *x = a, *y = b;
    return better(x, y) ? -1 : better(y, x) ? 1 : 0;
}

/* Min-heap of the k best seen so far (root = worst of them): O(n log k)
 * instead of sorting the whole vocabulary. */
static void heap_sift_down(gl_token_prob *h, int32_t k, int32_t i) {
    for (;;) {
        int32_t worst = i, l = 2 * i + 1, r = l + 1;
        if (l < k && better(&h[worst], &h[l])) worst = l;
        if (r < k && better(&h[worst], &h[r])) worst = r;
        if (worst == i) return;
        gl_token_prob t = h[i];
        h[i] = h[worst];
        h[worst] = t;
        i = worst;
    }
}

static void keep_top_k(gl_token_prob *cand, int32_t n, int32_t k) {
    for (int32_t i = k / 2 - 1; i >= 0; i--) heap_sift_down(cand, k, i);
    for (int32_t i = k; i < n; i++) {
        if (better(&cand[i], &cand[0])) {
            cand[0] = cand[i];
            heap_sift_down(cand, k, 0);
        }
    }
    qsort(cand, (size_t)k, sizeof *cand, cmp_better);
}

/* Needs cand sorted best first. */
static int32_t keep_top_p(const gl_token_prob *cand, int32_t n, float top_p) {
    double sum = 0.0;
    for (int32_t i = 0; i < n; i++) sum += exp((double)cand[i].logit - cand[0].logit);
    double cum = 0.0;
    for (int32_t i = 0; i < n; i++) {
        cum += exp((double)cand[i].logit - cand[0].logit) / sum;
        if (cum >= top_p) return i + 1;
    }
    return n;
}

/* p_i >= min_p * p_max  <=>  logit_i >= max_logit + log(min_p); keeps order. */
static int32_t keep_min_p(gl_token_prob *cand, int32_t n, float min_p) {
    float max_logit = -INFINITY;
    for (int32_t i = 0; i < n; i++)
        if (cand[i].logit > max_logit) max_logit = cand[i].logit;
    float min_logit = max_logit + logf(min_p);
    int32_t kept = 0;
    for (int32_t i = 0; i < n; i++)
        if (cand[i].logit >= min_logit) cand[kept++] = cand[i];
    return kept;
}

static void softmax_into_p(gl_token_prob *cand, int32_t n) {
    float max_logit = -INFINITY;
    for (int32_t i = 0; i < n; i++)
        if (cand[i].logit > max_logit) max_logit = cand[i].logit;
    double sum = 0.0;
    for (int32_t i = 0; i < n; i++) sum += exp((double)cand[i].logit - max_logit);
    for (int32_t i = 0; i < n; i++) cand[i].p = (float)(exp((double)cand[i].logit - max_logit) / sum);
}

glimpse_status gl_sampler_candidates(gl_sampler *s, const float *logits, int32_t n_vocab,
                                     const gl_token_prob **out, int32_t *n_out) {
    const gl_sampler_params *p = &s->params;
    if (!logits || n_vocab <= 0)
        return gl_error(GLIMPSE_ERR_INVALID_ARG, "sampler: no logits (n_vocab %d)", (int)n_vocab);
    if (n_vocab > s->cand_cap) {
        gl_token_prob *c = gl_realloc(s->cand, (size_t)n_vocab * sizeof *c);
        if (!c) return gl_error_nomem("sampler candidates");
        s->cand = c;
        s->cand_cap = n_vocab;
    }
    gl_token_prob *cand = s->cand; // (n_vocab) id, logit, p
    int any_finite = 0;
    for (int32_t i = 0; i < n_vocab; i++) {
        float l = logits[i];
        // +inf would make the softmax inf/inf; the largest float ranks the same.
        if (isnan(l)) l = -INFINITY;
        if (l == INFINITY) l = FLT_MAX;
        if (l > -INFINITY) any_finite = 1;
        cand[i] = (gl_token_prob){.id = i, .logit = l, .p = 0.0f};
    }
    if (!any_finite) return gl_error(GLIMPSE_ERR_INVALID_ARG, "sampler: every logit is -inf or NaN");

    apply_penalties(s, cand, n_vocab);
    int32_t n = n_vocab;

    if (p->temperature <= 0.0f) {
        int32_t best = 0;
        for (int32_t i = 1; i < n; i++)
            if (cand[i].logit > cand[best].logit) best = i;
        cand[0] = cand[best];
        cand[0].p = 1.0f;
        *out = cand;
        *n_out = 1;
        return GLIMPSE_OK;
    }

    int sorted = 0;
    if (p->top_k > 0 && p->top_k < n) {
        keep_top_k(cand, n, p->top_k);
        n = p->top_k;
        sorted = 1;
    }
    if (p->top_p < 1.0f) {
        if (!sorted) qsort(cand, (size_t)n, sizeof *cand, cmp_better);
        n = keep_top_p(cand, n, p->top_p);
    }
    if (p->min_p > 0.0f) n = keep_min_p(cand, n, p->min_p);
    for (int32_t i = 0; i < n; i++) cand[i].logit /= p->temperature;
    softmax_into_p(cand, n);
    *out = cand;
    *n_out = n;
    return GLIMPSE_OK;
}

int32_t gl_sampler_sample(gl_sampler *s, const float *logits, int32_t n_vocab) {
    const gl_token_prob *cand;
    int32_t n;
    if (gl_sampler_candidates(s, logits, n_vocab, &cand, &n) != GLIMPSE_OK) return -1;
    if (n == 1) return cand[0].id;
    double total = 0.0;
    for (int32_t i = 0; i < n; i++) total += cand[i].p;
    double u = xoshiro_uniform(s->rng) * total;
    double cum = 0.0;
    for (int32_t i = 0; i < n; i++) {
        cum += cand[i].p;
        if (u < cum) return cand[i].id;
    }
    return cand[n - 1].id; // u within rounding of the total
}

/* ---- Stop strings ---- */

struct gl_stop_matcher {
    char **stops;     // (n_stops) NUL-terminated copies
    size_t *lens;     // (n_stops)
    size_t n_stops;
    char *buf;        // (cap) held-back tail of earlier pieces + the newest piece
    size_t len, cap;
    size_t emitted;   // bytes at the front of buf handed out by the last call
    int stopped;
};

gl_stop_matcher *gl_stop_matcher_new(const char *const *stops, size_t n_stops) {
    gl_stop_matcher *m = gl_calloc(1, sizeof *m);
    if (!m) goto nomem;
    if (n_stops) {
        m->stops = gl_calloc(n_stops, sizeof *m->stops);
        m->lens = gl_calloc(n_stops, sizeof *m->lens);
        if (!m->stops || !m->lens) goto nomem;
    }
    for (size_t i = 0; i < n_stops; i++) {
        if (!stops[i] || !stops[i][0]) continue;
        m->stops[m->n_stops] = gl_strdup(stops[i]);
        if (!m->stops[m->n_stops]) goto nomem;
        m->lens[m->n_stops] = strlen(stops[i]);
        m->n_stops++;
    }
    return m;
nomem:
    gl_stop_matcher_free(m);
    gl_error_nomem("stop strings");
    return NULL;
}

void gl_stop_matcher_free(gl_stop_matcher *m) {
    if (!m) return;
    for (size_t i = 0; i < m->n_stops; i++) gl_free(m->stops[i]);
    gl_free(m->stops);
    gl_free(m->lens);
    gl_free(m->buf);
    gl_free(m);
}

static void drop_emitted(gl_stop_matcher *m) {
    if (m->emitted == 0) return;
    memmove(m->buf, m->buf + m->emitted, m->len - m->emitted);
    m->len -= m->emitted;
    m->emitted = 0;
}

/* First position of needle in hay, or hay_len when absent. */
static size_t find_at(const char *hay, size_t hay_len, const char *needle, size_t n) {
    for (size_t i = 0; i + n <= hay_len; i++)
        if (hay[i] == needle[0] && !memcmp(hay + i, needle, n)) return i;
    return hay_len;
}

/* Length of the longest tail of buf that is a proper prefix of a stop. */
static size_t partial_tail(const gl_stop_matcher *m) {
    size_t hold = 0;
    for (size_t s = 0; s < m->n_stops; s++) {
        size_t k = m->lens[s] - 1 < m->len ? m->lens[s] - 1 : m->len;
        for (; k > hold; k--)
            if (!memcmp(m->buf + m->len - k, m->stops[s], k)) {
                hold = k;
                break;
            }
    }
    return hold;
}

glimpse_status gl_stop_matcher_feed(gl_stop_matcher *m, const char *text, size_t len,
                                    gl_stop_result *out) {
    *out = (gl_stop_result){.emit = "", .emit_len = 0, .stopped = m->stopped};
    if (m->stopped) return GLIMPSE_OK;
    drop_emitted(m);
    size_t need;
    if (gl_add_overflow(m->len, len, &need))
        return gl_error(GLIMPSE_ERR_LIMIT, "stop strings: generated text too long");
    if (need > m->cap) {
        size_t cap = m->cap ? m->cap : 64;
        while (cap < need) {
            if (gl_mul_overflow(cap, 2, &cap))
                return gl_error(GLIMPSE_ERR_LIMIT, "stop strings: generated text too long");
        }
        char *b = gl_realloc(m->buf, cap);
        if (!b) return gl_error_nomem("stop strings");
        m->buf = b;
        m->cap = cap;
    }
    if (len) memcpy(m->buf + m->len, text, len);
    m->len += len;

    size_t first = m->len;
    for (size_t s = 0; s < m->n_stops; s++) {
        size_t at = find_at(m->buf, m->len, m->stops[s], m->lens[s]);
        if (at < first) first = at;
    }
    out->emit = m->buf ? m->buf : "";
    if (first < m->len) {
        out->emit_len = first;
        out->stopped = m->stopped = 1;
        m->emitted = m->len;
        return GLIMPSE_OK;
    }
    out->emit_len = m->len - partial_tail(m);
    m->emitted = out->emit_len;
    return GLIMPSE_OK;
}

void gl_stop_matcher_flush(gl_stop_matcher *m, gl_stop_result *out) {
    *out = (gl_stop_result){.emit = "", .emit_len = 0, .stopped = m->stopped};
    if (m->stopped) return;
    drop_emitted(m);
    out->emit = m->buf ? m->buf : "";
    out->emit_len = m->len;
    m->emitted = m->len;
}
