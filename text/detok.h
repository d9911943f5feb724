/* detok.h - token ids back to bytes: single tokens, whole sequences, and a
 * streaming decoder for generation that never emits half a UTF-8 character. */
#ifndef GLIMPSE_DETOK_H
#define GLIMPSE_DETOK_H

#include "vocab.h"

/* The bytes token id stands for (byte-level and <0xXX> tokens decoded, U+2581
 * as a space; control and added tokens as written). Copies at most size bytes
 * (no NUL) and returns the full length; 0 for an id out of range. */
size_t gl_token_to_bytes(const gl_vocab *v, int32_t id, char *buf, size_t size);

/* Decodes a sequence into a new gl_malloc'd, NUL-terminated string. Control
 * and unknown tokens are skipped unless render_special. Like llama.cpp, the
 * space SentencePiece put before the text (add_space_prefix) is removed from
 * the first token. */
glimpse_status gl_detokenize(const gl_vocab *v, const int32_t *ids, size_t n_ids, int render_special, char **text,
                             size_t *len);

/* Streaming: push generated tokens one by one and get the text that is
 * complete so far. Bytes that begin a UTF-8 character whose remaining bytes
 * have not arrived yet are held back until they do. */
typedef struct {
    const gl_vocab *v;
    int render_special;
    char pending[4]; /* the start of an unfinished character */
    size_t n_pending;
    char *buf; /* what push/flush hand out: valid until the next call */
    size_t cap;
} gl_detok;

void gl_detok_init(gl_detok *d, const gl_vocab *v, int render_special);
/* Sets *text, *len to the text completed by this token (possibly empty). */
glimpse_status gl_detok_push(gl_detok *d, int32_t id, const char **text, size_t *len);
/* At the end of generation: the held-back bytes (an unfinished character). */
void gl_detok_flush(gl_detok *d, const char **text, size_t *len);
void gl_detok_free(gl_detok *d);

#endif
