/* sample.h - choosing the next token from logits, and spotting stop strings.
 *
 * The sampler follows llama.cpp's default chain (common/common.h
 * `common_params_sampling::samplers`, src/llama-sampling.cpp), in this order:
 *
 *   1. penalties   over the last `repeat_last_n` accepted tokens, once per
 *                  distinct token: a positive logit is divided by
 *                  repeat_penalty, a negative one multiplied (as HF's
 *                  RepetitionPenaltyLogitsProcessor); then
 *                  logit -= count * frequency_penalty + presence_penalty.
 *   2. top-k       keep the k highest logits (ties: lower id first).
 *   3. top-p       keep the smallest most-likely-first prefix whose
 *                  probability sums to >= top_p (always at least one).
 *   4. min-p       keep tokens with p >= min_p * p_max.
 *   5. temperature divide the logits by it, then draw from the softmax.
 *
 * Steps 3 and 4 see the distribution at temperature 1, as in llama.cpp
 * (HF's generate applies the temperature first). temperature <= 0 is greedy:
 * the argmax after penalties, the lowest id on ties (as torch.argmax).
 *
 * Each sampler owns its random state (xoshiro256** seeded through
 * splitmix64), so equal seeds give equal sequences on every platform and
 * samplers on different threads never interact. */
#ifndef GLIMPSE_SAMPLE_H
#define GLIMPSE_SAMPLE_H

#include "glimpse.h"

#include <stddef.h>
#include <stdint.h>

/* ==== Sampler ==== */

typedef struct {
    float temperature;       /* <= 0: greedy */
    int32_t top_k;           /* <= 0: off */
    float top_p;             /* in [0, 1]; 1: off */
    float min_p;             /* in [0, 1]; 0: off */
    float repeat_penalty;    /* > 0; 1: off */
    int32_t repeat_last_n;   /* tokens the penalties look back over; 0: off */
    float frequency_penalty; /* 0: off */
    float presence_penalty;  /* 0: off */
    uint64_t seed;
} gl_sampler_params;

/* One surviving candidate of the chain. */
typedef struct {
    int32_t id;
    float logit; /* after penalties, and divided by the temperature when > 0 */
    float p;     /* probability among the survivors */
} gl_token_prob;

typedef struct gl_sampler gl_sampler;

/* llama.cpp's defaults: temperature 0.8, top-k 40, top-p 0.95, min-p 0.05,
 * penalties off (repeat_last_n 64), seed 0 (fixed, so runs repeat; callers
 * wanting variety pass their own). */
gl_sampler_params gl_sampler_default_params(void);

/* NULL on out-of-range parameters or out of memory (message set). */
gl_sampler *gl_sampler_new(const gl_sampler_params *p);
void gl_sampler_free(gl_sampler *s);

/* The next token id, or -1 (message set) when n_vocab <= 0, no logit is
 * finite, or memory runs out. NaN logits count as -inf. */
int32_t gl_sampler_sample(gl_sampler *s, const float *logits, int32_t n_vocab);

/* Records a token (prompt or generated) for the penalties' window. */
void gl_sampler_accept(gl_sampler *s, int32_t token);

/* Runs the chain without drawing: *out points at the survivors (valid until
 * the next call on s), most likely first when top-k or top-p ran, otherwise
 * in id order. For inspection and log-probabilities. */
glimpse_status gl_sampler_candidates(gl_sampler *s, const float *logits, int32_t n_vocab,
                                     const gl_token_prob **out, int32_t *n_out);

/* ==== Stop strings ==== */

/* Fed the generated text piece by piece, it finds the first place where any
 * stop string appears and hands back only text that can no longer turn out
 * to be the start of one: a piece ending in "</ans" is held back until the
 * next piece shows whether "</answer>" follows. */
typedef struct gl_stop_matcher gl_stop_matcher;

typedef struct {
    const char *emit; /* text safe to show now (valid until the next call) */
    size_t emit_len;
    int stopped;      /* 1: a stop string appeared; emit ends right before it */
} gl_stop_result;

/* Copies the strings; empty ones are ignored. NULL when out of memory. */
gl_stop_matcher *gl_stop_matcher_new(const char *const *stops, size_t n_stops);
void gl_stop_matcher_free(gl_stop_matcher *m);
/* After a stop, further pieces are dropped (stopped stays 1, emit empty). */
glimpse_status gl_stop_matcher_feed(gl_stop_matcher *m, const char *text, size_t len,
                                    gl_stop_result *out);
/* At the end of generation without a stop: the text still held back. */
void gl_stop_matcher_flush(gl_stop_matcher *m, gl_stop_result *out);

#endif
