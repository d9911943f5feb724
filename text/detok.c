/* detok.c - decoding token ids to bytes.
 *
 * Behaviour of llama.cpp src/llama-vocab.cpp token_to_piece / detokenize:
 * byte-level pieces map back through the GPT-2 alphabet, SentencePiece's U+2581
 * is a space and <0xXX> is one byte (both prepared at load, vocab.c). The
 * clean-up of spaces before punctuation that llama.cpp applies to some BPE
 * models (clean_up_tokenization_spaces) is not done: decoding stays lossless.
 *
 * A token can end inside a UTF-8 character (byte tokens, byte-level pieces of
 * Korean or emoji), so the streaming decoder holds back a trailing incomplete
 * character until the tokens that finish it arrive. */
#include "detok.h"
#include "checked.h"
#include "error.h"
#include "mem.h"

#include <string.h>

static int is_special(const gl_vocab *v, int32_t id) {
    int t = v->tokens[id].type;
    return t == GL_TOKEN_CONTROL || t == GL_TOKEN_UNKNOWN;
}

size_t gl_token_to_bytes(const gl_vocab *v, int32_t id, char *buf, size_t size) {
    if (id < 0 || id >= v->n_tokens) return 0;
    const gl_token *t = &v->tokens[id];
    memcpy(buf, v->bytes + t->bytes_off, t->bytes_len < size ? t->bytes_len : size);
    return t->bytes_len;
}

glimpse_status gl_detokenize(const gl_vocab *v, const int32_t *ids, size_t n_ids, int render_special, char **text,
                             size_t *len) {
    size_t total = 1;
    for (size_t i = 0; i < n_ids; i++) {
        if (ids[i] < 0 || ids[i] >= v->n_tokens)
            return gl_error(GLIMPSE_ERR_INVALID_ARG, "%s: token id %d is not in the vocabulary (%d tokens)", v->name,
                            ids[i], v->n_tokens);
        if (gl_add_overflow(total, v->tokens[ids[i]].bytes_len, &total))
            return gl_error(GLIMPSE_ERR_LIMIT, "decoded text too long");
    }
    char *out = gl_malloc(total);
    if (!out) return gl_error_nomem("decoded text");
    size_t k = 0;
    for (size_t i = 0; i < n_ids; i++) {
        if (!render_special && is_special(v, ids[i])) continue;
        const gl_token *t = &v->tokens[ids[i]];
        const char *s = v->bytes + t->bytes_off;
        size_t n = t->bytes_len;
        if (i == 0 && v->add_space_prefix && n && s[0] == ' ') s++, n--;
        memcpy(out + k, s, n);
        k += n;
    }
    out[k] = 0;
    *text = out;
    *len = k;
    return GLIMPSE_OK;
}

/* ==== Streaming ==== */

void gl_detok_init(gl_detok *d, const gl_vocab *v, int render_special) {
    memset(d, 0, sizeof *d);
    d->v = v;
    d->render_special = render_special;
}

void gl_detok_free(gl_detok *d) {
    gl_free(d->buf);
    d->buf = NULL;
    d->cap = 0;
}

/* Bytes at the end of s[0, n) that start a character not yet complete. */
static size_t incomplete_tail(const char *s, size_t n) {
    for (size_t back = 1; back <= 4 && back <= n; back++) {
        uint8_t c = (uint8_t)s[n - back];
        if ((c & 0xC0) == 0x80) continue; /* continuation: look further back */
        size_t need = c >= 0xF0 && c <= 0xF7 ? 4 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xC0 && c <= 0xDF ? 2 : 1;
        return need > back ? back : 0;
    }
    return 0; /* only continuation bytes (malformed): nothing to wait for */
}

glimpse_status gl_detok_push(gl_detok *d, int32_t id, const char **text, size_t *len) {
    *text = "";
    *len = 0;
    if (id < 0 || id >= d->v->n_tokens)
        return gl_error(GLIMPSE_ERR_INVALID_ARG, "%s: token id %d is not in the vocabulary (%d tokens)", d->v->name,
                        id, d->v->n_tokens);
    if (!d->render_special && is_special(d->v, id)) return GLIMPSE_OK;
    const gl_token *t = &d->v->tokens[id];
    size_t n = d->n_pending + t->bytes_len;
    char *buf = gl_grow(d->buf, &d->cap, n, 1);
    if (!buf) return gl_error_nomem("decoded text");
    d->buf = buf;
    memcpy(d->buf, d->pending, d->n_pending);
    memcpy(d->buf + d->n_pending, d->v->bytes + t->bytes_off, t->bytes_len);
    size_t hold = incomplete_tail(d->buf, n);
    d->n_pending = hold;
    memcpy(d->pending, d->buf + n - hold, hold);
    *text = d->buf;
    *len = n - hold;
    return GLIMPSE_OK;
}

void gl_detok_flush(gl_detok *d, const char **text, size_t *len) {
    /* pending is at most 3 bytes and buf, once used, holds at least that. */
    if (d->n_pending && d->cap >= d->n_pending) {
        memcpy(d->buf, d->pending, d->n_pending);
        *text = d->buf;
    } else {
        *text = "";
    }
    *len = *text == d->buf ? d->n_pending : 0;
    d->n_pending = 0;
}

/* ==== Public API ==== */

size_t glimpse_token_piece(const glimpse_vocab *vocab, int32_t id, char *buf, size_t size) {
    size_t n = gl_token_to_bytes(vocab, id, buf, size ? size - 1 : 0);
    if (size) buf[n < size - 1 ? n : size - 1] = 0;
    return n;
}

glimpse_status glimpse_detokenize(const glimpse_vocab *vocab, const int32_t *ids, size_t n_ids, char **text,
                                  size_t *len) {
    return gl_detokenize(vocab, ids, n_ids, 0, text, len);
}
