/* spm.c - SentencePiece BPE encoding with byte fallback.
 *
 * The algorithm of llama.cpp src/llama-vocab.cpp llm_tokenizer_spm_session
 * (from sentencepiece bpe_model.cc), which the shared llama-spm / phi-3 test
 * files check against Hugging Face: spaces become U+2581, the text is split
 * into UTF-8 characters, and the adjacent pair whose concatenation is the
 * highest-scoring piece (leftmost on ties) is merged until no pair is a piece.
 * A final symbol that is not a piece is written as <0xXX> byte tokens. */
#include "spm.h"
#include "checked.h"
#include "error.h"
#include "mem.h"

#include <string.h>

#define SPACE_MARK "\xE2\x96\x81" /* U+2581 LOWER ONE EIGHTH BLOCK */

void gl_spm_load(gl_vocab *v) {
    for (int b = 0; b < 256; b++) {
        static const char hex[] = "0123456789ABCDEF";
        char piece[6] = {'<', '0', 'x', hex[b >> 4], hex[b & 15], '>'};
        int32_t id = gl_vocab_find(v, piece, sizeof piece);
        if (id < 0) { /* some vocabularies have the byte itself as a piece */
            char c = (char)b;
            id = gl_vocab_find(v, &c, 1);
        }
        v->byte_ids[b] = id;
    }
}

typedef struct {
    size_t off, len;    /* bytes of the escaped text; len 0 once merged away */
    int32_t prev, next; /* -1 at the ends */
} symbol;

typedef struct {
    float score;
    int32_t left, right;
    size_t size; /* bytes of the pair when it was queued: a changed pair is stale */
} bigram;

typedef struct {
    bigram *items;
    size_t n, cap;
} queue;

/* Highest score first, then the leftmost. */
static int bigram_before(const bigram *a, const bigram *b) {
    return a->score > b->score || (a->score == b->score && a->left < b->left);
}

static glimpse_status queue_push(queue *q, bigram b) {
    bigram *items = gl_grow(q->items, &q->cap, q->n + 1, sizeof *items);
    if (!items) return gl_error_nomem("SentencePiece queue");
    q->items = items;
    size_t i = q->n++;
    while (i > 0 && bigram_before(&b, &q->items[(i - 1) / 2])) {
        q->items[i] = q->items[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    q->items[i] = b;
    return GLIMPSE_OK;
}

static bigram queue_pop(queue *q) {
    bigram top = q->items[0], last = q->items[--q->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= q->n) break;
        if (c + 1 < q->n && bigram_before(&q->items[c + 1], &q->items[c])) c++;
        if (!bigram_before(&q->items[c], &last)) break;
        q->items[i] = q->items[c];
        i = c;
    }
    if (q->n) q->items[i] = last;
    return top;
}

static glimpse_status try_bigram(const gl_vocab *v, const char *text, const symbol *sym, int32_t left, int32_t right,
                                 queue *q) {
    if (left < 0 || right < 0) return GLIMPSE_OK;
    size_t size = sym[left].len + sym[right].len;
    int32_t id = gl_vocab_find(v, text + sym[left].off, size);
    if (id < 0) return GLIMPSE_OK;
    return queue_push(q, (bigram){v->tokens[id].score, left, right, size});
}

/* UTF-8 sequence length from the lead byte; a stray continuation byte is one. */
static size_t utf8_len(uint8_t c) {
    static const uint8_t by_high_nibble[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
    return by_high_nibble[c >> 4];
}

glimpse_status gl_spm_encode(const gl_vocab *v, const char *text, size_t len, int space_prefix, gl_ids *out) {
    /* The escaped text: optional leading space, every ' ' as U+2581. */
    size_t n_spaces = space_prefix ? 1 : 0, esc_len;
    for (size_t i = 0; i < len; i++) n_spaces += text[i] == ' ';
    if (gl_add_overflow(len + (space_prefix ? 1 : 0), n_spaces * 2, &esc_len))
        return gl_error(GLIMPSE_ERR_LIMIT, "text too long to tokenize");
    if (esc_len == 0) return GLIMPSE_OK;
    char *esc = gl_malloc(esc_len);
    symbol *sym = gl_malloc_array(esc_len, sizeof *sym);
    queue q = {NULL, 0, 0};
    glimpse_status st = GLIMPSE_OK;
    if (!esc || !sym) {
        st = gl_error_nomem("SentencePiece text");
        goto done;
    }
    size_t k = 0;
    if (space_prefix) memcpy(esc + k, SPACE_MARK, 3), k += 3;
    for (size_t i = 0; i < len; i++) {
        if (text[i] == ' ') memcpy(esc + k, SPACE_MARK, 3), k += 3;
        else esc[k++] = text[i];
    }

    int32_t n_sym = 0;
    for (size_t off = 0; off < esc_len; n_sym++) {
        size_t n = utf8_len((uint8_t)esc[off]);
        if (n > esc_len - off) n = esc_len - off;
        sym[n_sym] = (symbol){off, n, n_sym - 1, off + n < esc_len ? n_sym + 1 : -1};
        off += n;
    }
    for (int32_t i = 1; i < n_sym && !st; i++) st = try_bigram(v, esc, sym, i - 1, i, &q);
    while (q.n && !st) {
        bigram b = queue_pop(&q);
        symbol *l = &sym[b.left], *r = &sym[b.right];
        if (l->len == 0 || r->len == 0 || l->len + r->len != b.size) continue;
        l->len += r->len;
        r->len = 0;
        l->next = r->next;
        if (r->next >= 0) sym[r->next].prev = b.left;
        if (!(st = try_bigram(v, esc, sym, l->prev, b.left, &q))) st = try_bigram(v, esc, sym, b.left, l->next, &q);
    }
    /* Merges only ever form pieces, so a symbol that is not a piece is one
     * character: its bytes fall back to <0xXX> tokens (or <unk>). */
    for (int32_t i = 0; i >= 0 && !st; i = sym[i].next) {
        int32_t id = gl_vocab_find(v, esc + sym[i].off, sym[i].len);
        if (id >= 0) {
            st = gl_ids_push(out, id);
            continue;
        }
        for (size_t j = 0; j < sym[i].len && !st; j++) {
            int32_t b = v->byte_ids[(uint8_t)esc[sym[i].off + j]];
            if (b < 0) b = v->unk;
            if (b >= 0) st = gl_ids_push(out, b);
        }
    }
done:
    gl_free(esc);
    gl_free(sym);
    gl_free(q.items);
    return st;
}
