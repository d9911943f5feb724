/* bpe.c - byte-level BPE: GPT-2 byte alphabet, merge table, merging.
 *
 * Behaviour of Hugging Face tokenizers (tokenizers/src/models/bpe/word.rs
 * Word::merge_all, pre_tokenizers/byte_level.rs), which llama.cpp
 * src/llama-vocab.cpp llm_tokenizer_bpe_session reproduces: each pre-token is
 * split into bytes, each byte is the token of its GPT-2 character, then the
 * adjacent pair with the lowest merge rank (leftmost on ties) is merged until
 * no pair has a merge. Merging works on token ids, so no string is built. */
#include "bpe.h"
#include "checked.h"
#include "error.h"
#include "mem.h"
#include "pretok.h"

#include <string.h>

/* ==== GPT-2 byte alphabet ==== */

/* bytes_to_unicode(): printable Latin-1 bytes stand for themselves; the other
 * 68 bytes (0x00-0x20, 0x7F-0xA0, 0xAD) become U+0100.. in byte order. */
static uint32_t byte_cp(uint8_t b) {
    if (b <= 0x20) return 0x100u + b;
    if (b >= 0x7F && b <= 0xA0) return 0x100u + 33 + (b - 0x7Fu);
    if (b == 0xAD) return 0x100u + 33 + 34;
    return b;
}

int gl_bpe_byte_char(uint8_t b, char out[2]) {
    uint32_t cp = byte_cp(b);
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    out[0] = (char)(0xC0 | (cp >> 6));
    out[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
}

int gl_bpe_char_byte(uint32_t cp) {
    if ((cp >= 0x21 && cp <= 0x7E) || (cp >= 0xA1 && cp <= 0xAC) || (cp >= 0xAE && cp <= 0xFF)) return (int)cp;
    if (cp >= 0x100 && cp <= 0x120) return (int)(cp - 0x100);
    if (cp >= 0x121 && cp <= 0x142) return (int)(cp - 0x121 + 0x7F);
    if (cp == 0x143) return 0xAD;
    return -1;
}

/* ==== Merge table ==== */

typedef struct {
    int32_t left, right; /* -1: empty slot */
    int32_t rank, merged;
} merge_slot;

struct gl_bpe_merges {
    merge_slot *slots;
    size_t cap; /* power of two */
};

static size_t pair_hash(int32_t a, int32_t b) {
    uint64_t h = ((uint64_t)(uint32_t)a << 32 | (uint32_t)b) * 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 20);
}

static const merge_slot *find_merge(const gl_bpe_merges *m, int32_t a, int32_t b) {
    size_t i = pair_hash(a, b) & (m->cap - 1);
    while (m->slots[i].left >= 0) {
        if (m->slots[i].left == a && m->slots[i].right == b) return &m->slots[i];
        i = (i + 1) & (m->cap - 1);
    }
    return NULL;
}

void gl_bpe_free(gl_vocab *v) {
    if (v->merges) gl_free(v->merges->slots);
    gl_free(v->merges);
    gl_pretok_free(v->pretok);
    v->merges = NULL;
    v->pretok = NULL;
}

glimpse_status gl_bpe_load(gl_vocab *v, const gl_gguf *g) {
    const char *pre = NULL;
    size_t pre_len = 0;
    if (gl_gguf_get_str(g, "tokenizer.ggml.pre", &pre, &pre_len)) pre = NULL;
    glimpse_status st = gl_pretok_create(pre, pre_len, v->name, &v->pretok);
    if (st) return st;
    v->ignore_merges = gl_pretok_ignore_merges(v->pretok);

    for (int b = 0; b < 256; b++) {
        char c[2];
        int n = gl_bpe_byte_char((uint8_t)b, c);
        v->byte_ids[b] = gl_vocab_find(v, c, (size_t)n);
    }

    int64_t key = glimpse_gguf_find_key(g, "tokenizer.ggml.merges");
    glimpse_gguf_type et;
    uint64_t n_merges;
    if (key < 0 || gl_gguf_get_arr(g, "tokenizer.ggml.merges", &et, &n_merges) || et != GLIMPSE_GGUF_STRING)
        return gl_error(GLIMPSE_ERR_FORMAT, "%s: BPE tokenizer without a string array tokenizer.ggml.merges", v->name);
    if (n_merges > INT32_MAX)
        return gl_error(GLIMPSE_ERR_FORMAT, "%s: %llu merges is more than a vocabulary can use", v->name,
                        (unsigned long long)n_merges);
    v->merges = gl_calloc(1, sizeof *v->merges);
    if (!v->merges) return gl_error_nomem("BPE merges");
    size_t cap = 16;
    while (cap < n_merges * 2) cap *= 2;
    v->merges->cap = cap;
    v->merges->slots = gl_malloc_array(cap, sizeof(merge_slot));
    char *joined = gl_malloc(v->max_token_len * 2 + 1);
    if (!v->merges->slots || !joined) {
        gl_free(joined);
        return gl_error_nomem("BPE merges");
    }
    for (size_t i = 0; i < cap; i++) v->merges->slots[i].left = -1;

    /* "left right": the first space after the first byte separates them (a
     * piece may itself be a space only in files that are not GPT-2 style).
     * A merge naming pieces the vocabulary lacks can never apply: skipped. */
    for (uint64_t r = 0; r < n_merges; r++) {
        const char *s;
        size_t len;
        gl_gguf_arr_str_at(g, key, r, &s, &len);
        const char *sp = len > 1 ? memchr(s + 1, ' ', len - 1) : NULL;
        if (!sp) continue;
        size_t ll = (size_t)(sp - s), rl = len - ll - 1;
        int32_t a = gl_vocab_find(v, s, ll), b = gl_vocab_find(v, sp + 1, rl);
        if (a < 0 || b < 0 || ll + rl > v->max_token_len) continue;
        memcpy(joined, s, ll);
        memcpy(joined + ll, sp + 1, rl);
        int32_t m = gl_vocab_find(v, joined, ll + rl);
        if (m < 0) continue;
        size_t k = pair_hash(a, b) & (cap - 1);
        while (v->merges->slots[k].left >= 0 && !(v->merges->slots[k].left == a && v->merges->slots[k].right == b))
            k = (k + 1) & (cap - 1);
        if (v->merges->slots[k].left >= 0) continue; /* a repeated merge keeps its first (best) rank */
        v->merges->slots[k] = (merge_slot){a, b, (int32_t)r, m};
    }
    gl_free(joined);
    return GLIMPSE_OK;
}

/* ==== Merging ==== */

typedef struct {
    int32_t id;         /* token of this symbol; -1 for a byte the vocabulary lacks */
    int32_t prev, next; /* neighbours in the word, -1 at the ends */
    int alive;
} symbol;

typedef struct {
    int32_t rank, pos, merged; /* pos: the left symbol */
} candidate;

/* Scratch space reused across the words of one call. */
typedef struct {
    symbol *sym;
    candidate *heap;
    size_t sym_cap, heap_cap, n_heap;
    char *mapped; /* the word in the byte alphabet, for ignore_merges */
    size_t mapped_cap;
} scratch;

static int cand_less(const candidate *a, const candidate *b) {
    return a->rank < b->rank || (a->rank == b->rank && a->pos < b->pos);
}

static glimpse_status heap_push(scratch *s, candidate c) {
    candidate *heap = gl_grow(s->heap, &s->heap_cap, s->n_heap + 1, sizeof *heap);
    if (!heap) return gl_error_nomem("BPE merge queue");
    s->heap = heap;
    size_t i = s->n_heap++;
    while (i > 0 && cand_less(&c, &s->heap[(i - 1) / 2])) {
        s->heap[i] = s->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    s->heap[i] = c;
    return GLIMPSE_OK;
}

static candidate heap_pop(scratch *s) {
    candidate top = s->heap[0], last = s->heap[--s->n_heap];
    size_t i = 0, n = s->n_heap;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && cand_less(&s->heap[c + 1], &s->heap[c])) c++;
        if (!cand_less(&s->heap[c], &last)) break;
        s->heap[i] = s->heap[c];
        i = c;
    }
    if (n) s->heap[i] = last;
    return top;
}

static glimpse_status try_pair(const gl_vocab *v, scratch *s, int32_t left) {
    if (left < 0) return GLIMPSE_OK;
    int32_t right = s->sym[left].next;
    if (right < 0 || s->sym[left].id < 0 || s->sym[right].id < 0) return GLIMPSE_OK;
    const merge_slot *m = find_merge(v->merges, s->sym[left].id, s->sym[right].id);
    if (!m) return GLIMPSE_OK;
    return heap_push(s, (candidate){m->rank, left, m->merged});
}

/* Hugging Face ignore_merges: a pre-token that is itself a token stays whole. */
static int32_t whole_word(const gl_vocab *v, scratch *s, const uint8_t *w, size_t n) {
    if (n * 2 > s->mapped_cap) {
        char *m = gl_realloc(s->mapped, n * 2);
        if (!m) return -1; /* only an optimisation of the result's form: merge normally */
        s->mapped = m;
        s->mapped_cap = n * 2;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) k += (size_t)gl_bpe_byte_char(w[i], s->mapped + k);
    return gl_vocab_find(v, s->mapped, k);
}

static glimpse_status encode_word(const gl_vocab *v, scratch *s, const uint8_t *w, size_t n, gl_ids *out) {
    glimpse_status st;
    if (v->ignore_merges && n <= v->max_token_len) {
        int32_t id = whole_word(v, s, w, n);
        if (id >= 0) return gl_ids_push(out, id);
    }
    if (n > s->sym_cap) {
        symbol *sym = gl_malloc_array(n, sizeof *sym);
        if (!sym) return gl_error_nomem("BPE symbols");
        gl_free(s->sym);
        s->sym = sym;
        s->sym_cap = n;
    }
    for (size_t i = 0; i < n; i++)
        s->sym[i] = (symbol){v->byte_ids[w[i]], (int32_t)i - 1, i + 1 < n ? (int32_t)i + 1 : -1, 1};
    s->n_heap = 0;
    for (size_t i = 0; i + 1 < n; i++)
        if ((st = try_pair(v, s, (int32_t)i))) return st;
    while (s->n_heap) {
        candidate c = heap_pop(s);
        symbol *l = &s->sym[c.pos];
        /* Stale entries: the left symbol was absorbed, or its pair changed. */
        if (!l->alive || l->next < 0) continue;
        const merge_slot *m = find_merge(v->merges, l->id, s->sym[l->next].id);
        if (!m || m->merged != c.merged) continue;
        symbol *r = &s->sym[l->next];
        l->id = c.merged;
        r->alive = 0;
        l->next = r->next;
        if (r->next >= 0) s->sym[r->next].prev = c.pos;
        if ((st = try_pair(v, s, l->prev)) || (st = try_pair(v, s, c.pos))) return st;
    }
    /* A byte missing from the vocabulary has no token: Hugging Face's BPE
     * without an unknown token drops it, and so does this. */
    for (int32_t i = 0; i >= 0; i = s->sym[i].next)
        if (s->sym[i].id >= 0 && (st = gl_ids_push(out, s->sym[i].id))) return st;
    return GLIMPSE_OK;
}

glimpse_status gl_bpe_encode(const gl_vocab *v, const char *text, size_t len, gl_ids *out) {
    gl_spans words = {NULL, 0, 0};
    scratch s;
    memset(&s, 0, sizeof s);
    glimpse_status st = gl_pretok_split(v->pretok, text, len, &words);
    for (size_t i = 0; i < words.n && !st; i++)
        st = encode_word(v, &s, (const uint8_t *)text + words.spans[i].off, words.spans[i].len, out);
    gl_free(words.spans);
    gl_free(s.sym);
    gl_free(s.heap);
    gl_free(s.mapped);
    return st;
}
