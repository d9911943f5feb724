/* vocab.c - loading a tokenizer from GGUF metadata, piece lookup, special
 * tokens, and the tokenize entry point that splits text at special tokens.
 *
 * Keys and defaults: llama.cpp src/llama-vocab.cpp llama_vocab::impl::load
 * (tokenizer.ggml.model / .tokens / .scores / .token_type / .merges / .pre /
 * .bos_token_id / .eos_token_id / .eot_token_id / .eom_token_id /
 * .unknown_token_id / .add_bos_token / .add_space_prefix). Splitting at added
 * tokens follows Hugging Face tokenizers' AddedVocabulary: at the leftmost
 * position where one matches, the longest one is taken. */
#include "vocab.h"
#include "bpe.h"
#include "checked.h"
#include "error.h"
#include "mem.h"
#include "pretok.h"
#include "spm.h"

#include <string.h>

#define SPACE_MARK "\xE2\x96\x81" /* U+2581: SentencePiece's space */

/* Token texts that end generation, and those that are the end-of-turn token
 * when the file names none, most specific first (llama.cpp's lists of such
 * texts; it takes whichever its hash map yields first). */
static const char *const EOG_TEXTS[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|eom_id|>", "<EOT>", "_<EOT>",
    "<|end_of_text|>", "<end_of_utterance>", "<｜end▁of▁sentence｜>",
};
static const char *const EOT_TEXTS[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>", "<EOT>", "_<EOT>",
    "<｜end▁of▁sentence｜>", "<end_of_utterance>",
};

glimpse_status gl_ids_push(gl_ids *out, int32_t id) {
    int32_t *ids = gl_grow(out->ids, &out->cap, out->n + 1, sizeof *ids);
    if (!ids) return gl_error_nomem("token ids");
    out->ids = ids;
    out->ids[out->n++] = id;
    return GLIMPSE_OK;
}

/* ==== Piece index ==== */

static uint64_t hash_bytes(const char *s, size_t n) {
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 1099511628211ull;
    return h;
}

int32_t gl_vocab_find(const gl_vocab *v, const char *piece, size_t len) {
    size_t i = (size_t)hash_bytes(piece, len) & (v->index_cap - 1);
    for (int32_t id; (id = v->index[i]) >= 0; i = (i + 1) & (v->index_cap - 1)) {
        const gl_token *t = &v->tokens[id];
        if (t->text_len == len && !memcmp(v->text + t->text_off, piece, len)) return id;
    }
    return -1;
}

static glimpse_status build_index(gl_vocab *v) {
    size_t cap = 16;
    while (cap < (size_t)v->n_tokens * 2) cap *= 2;
    v->index = gl_malloc_array(cap, sizeof(int32_t));
    if (!v->index) return gl_error_nomem("vocabulary index");
    memset(v->index, 0xff, cap * sizeof(int32_t));
    v->index_cap = cap;
    for (int32_t id = 0; id < v->n_tokens; id++) {
        const gl_token *t = &v->tokens[id];
        const char *s = v->text + t->text_off;
        if (t->text_len == 0) continue; /* an empty piece can never be matched */
        int32_t other = gl_vocab_find(v, s, t->text_len);
        if (other >= 0)
            return gl_error(GLIMPSE_ERR_FORMAT, "%s: token %d repeats the piece of token %d ('%.*s')", v->name, id,
                            other, (int)(t->text_len > 40 ? 40 : t->text_len), s);
        size_t i = (size_t)hash_bytes(s, t->text_len) & (cap - 1);
        while (v->index[i] >= 0) i = (i + 1) & (cap - 1);
        v->index[i] = id;
    }
    return GLIMPSE_OK;
}

/* ==== Special tokens ==== */

typedef struct {
    int32_t child, sibling; /* node indices, 0 = none (the root is never a child) */
    int32_t id;             /* token ending here, -1 if none */
    uint8_t byte;
} trie_node;

struct gl_special_trie {
    trie_node *nodes; /* nodes[0] is the root */
    size_t n, cap;
    uint8_t starts[256]; /* whether some special token starts with this byte */
};

static int is_special_type(int type) {
    return type == GL_TOKEN_CONTROL || type == GL_TOKEN_USER_DEFINED || type == GL_TOKEN_UNKNOWN;
}

static glimpse_status trie_insert(gl_special_trie *t, const uint8_t *s, size_t n, int32_t id) {
    int32_t node = 0;
    for (size_t i = 0; i < n; i++) {
        int32_t c = t->nodes[node].child;
        while (c && t->nodes[c].byte != s[i]) c = t->nodes[c].sibling;
        if (!c) {
            trie_node *nodes = gl_grow(t->nodes, &t->cap, t->n + 1, sizeof *nodes);
            if (!nodes) return gl_error_nomem("special tokens");
            t->nodes = nodes;
            if (t->n >= INT32_MAX) return gl_error(GLIMPSE_ERR_LIMIT, "special tokens: too many");
            c = (int32_t)t->n++;
            t->nodes[c] = (trie_node){0, t->nodes[node].child, -1, s[i]};
            t->nodes[node].child = c;
        }
        node = c;
    }
    t->nodes[node].id = id;
    t->starts[s[0]] = 1;
    return GLIMPSE_OK;
}

static glimpse_status build_specials(gl_vocab *v) {
    gl_special_trie *t = gl_calloc(1, sizeof *t);
    if (!t) return gl_error_nomem("special tokens");
    v->specials = t;
    if (!(t->nodes = gl_grow(NULL, &t->cap, 64, sizeof(trie_node)))) return gl_error_nomem("special tokens");
    glimpse_status st;
    t->nodes[0] = (trie_node){0, 0, -1, 0};
    t->n = 1;
    for (int32_t id = 0; id < v->n_tokens; id++) {
        const gl_token *tok = &v->tokens[id];
        if (!is_special_type(tok->type) || tok->text_len == 0) continue;
        if ((st = trie_insert(t, (const uint8_t *)v->text + tok->text_off, tok->text_len, id))) return st;
    }
    return GLIMPSE_OK;
}

/* The longest special token allowed here that starts at s: its length, or 0. */
static size_t match_special(const gl_vocab *v, const uint8_t *s, size_t n, int parse_special, int32_t *id) {
    const gl_special_trie *t = v->specials;
    size_t best = 0;
    int32_t node = 0;
    for (size_t i = 0; i < n; i++) {
        int32_t c = t->nodes[node].child;
        while (c && t->nodes[c].byte != s[i]) c = t->nodes[c].sibling;
        if (!c) break;
        node = c;
        int32_t tid = t->nodes[node].id;
        if (tid >= 0 && (parse_special || v->tokens[tid].type == GL_TOKEN_USER_DEFINED)) {
            best = i + 1;
            *id = tid;
        }
    }
    return best;
}

/* ==== Loading ==== */

static int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/* What a token decodes to, written into out (never longer than the piece). */
static size_t decode_piece(const gl_vocab *v, const char *s, size_t n, int type, char *out) {
    if (type == GL_TOKEN_CONTROL || type == GL_TOKEN_USER_DEFINED || type == GL_TOKEN_UNKNOWN) {
        memcpy(out, s, n);
        return n;
    }
    if (type == GL_TOKEN_BYTE) {
        int hi = n == 6 && !memcmp(s, "<0x", 3) && s[5] == '>' ? hex_digit(s[3]) : -1, lo = hi >= 0 ? hex_digit(s[4]) : -1;
        if (lo >= 0) {
            out[0] = (char)(hi * 16 + lo);
            return 1;
        }
        memcpy(out, s, n);
        return n;
    }
    if (type != GL_TOKEN_NORMAL) return 0; /* unused / undefined: nothing, as llama.cpp */
    size_t k = 0;
    if (v->kind == GL_VOCAB_SPM) {
        for (size_t i = 0; i < n;) {
            if (n - i >= 3 && !memcmp(s + i, SPACE_MARK, 3)) out[k++] = ' ', i += 3;
            else out[k++] = s[i++];
        }
        return k;
    }
    /* Byte-level: each character stands for one byte. A character outside the
     * alphabet (only in malformed vocabularies) is kept as written. */
    for (size_t i = 0; i < n;) {
        uint8_t c = (uint8_t)s[i];
        if (c < 0x80) {
            int b = gl_bpe_char_byte(c);
            out[k++] = b >= 0 ? (char)b : (char)c;
            i++;
        } else if ((c & 0xE0) == 0xC0 && i + 1 < n && ((uint8_t)s[i + 1] & 0xC0) == 0x80) {
            int b = gl_bpe_char_byte(((uint32_t)(c & 0x1F) << 6) | ((uint8_t)s[i + 1] & 0x3F));
            if (b >= 0) out[k++] = (char)b;
            else out[k++] = s[i], out[k++] = s[i + 1];
            i += 2;
        } else {
            out[k++] = s[i++];
        }
    }
    return k;
}

static int32_t special_id(const gl_vocab *v, const gl_gguf *g, const char *key, int32_t fallback) {
    int64_t id;
    if (fallback >= v->n_tokens) fallback = -1;
    if (gl_gguf_get_i64(g, key, &id) || id < 0 || id >= v->n_tokens) return fallback;
    return (int32_t)id;
}

static glimpse_status load_tokens(gl_vocab *v, const gl_gguf *g) {
    int64_t key = glimpse_gguf_find_key(g, "tokenizer.ggml.tokens");
    glimpse_gguf_type et;
    uint64_t n;
    if (key < 0 || gl_gguf_get_arr(g, "tokenizer.ggml.tokens", &et, &n) || et != GLIMPSE_GGUF_STRING)
        return gl_error(GLIMPSE_ERR_FORMAT, "%s: no string array tokenizer.ggml.tokens", v->name);
    if (n == 0 || n > INT32_MAX)
        return gl_error(GLIMPSE_ERR_FORMAT, "%s: tokenizer.ggml.tokens has %llu entries", v->name, (unsigned long long)n);
    v->n_tokens = (int32_t)n;

    uint64_t n_scores = 0, n_types = 0;
    glimpse_gguf_type st_type, tt_type;
    int has_scores = !gl_gguf_get_arr(g, "tokenizer.ggml.scores", &st_type, &n_scores);
    int has_types = !gl_gguf_get_arr(g, "tokenizer.ggml.token_type", &tt_type, &n_types);
    if (has_scores && (n_scores < n || st_type == GLIMPSE_GGUF_STRING || st_type == GLIMPSE_GGUF_ARRAY))
        return gl_error(GLIMPSE_ERR_FORMAT, "%s: tokenizer.ggml.scores has %llu numbers for %llu tokens", v->name,
                        (unsigned long long)n_scores, (unsigned long long)n);
    if (has_types && (n_types < n || tt_type == GLIMPSE_GGUF_STRING || tt_type == GLIMPSE_GGUF_ARRAY ||
                      tt_type == GLIMPSE_GGUF_F32 || tt_type == GLIMPSE_GGUF_F64))
        return gl_error(GLIMPSE_ERR_FORMAT, "%s: tokenizer.ggml.token_type has %llu integers for %llu tokens", v->name,
                        (unsigned long long)n_types, (unsigned long long)n);

    size_t total = 0;
    for (uint64_t i = 0; i < n; i++) {
        const char *s;
        size_t len;
        gl_gguf_arr_str_at(g, key, i, &s, &len);
        if (gl_add_overflow(total, len, &total) || total > UINT32_MAX)
            return gl_error(GLIMPSE_ERR_LIMIT, "%s: the vocabulary's pieces exceed 4 GiB", v->name);
        if (len > v->max_token_len) v->max_token_len = len;
    }
    v->tokens = gl_calloc((size_t)n, sizeof(gl_token));
    v->text = gl_malloc(total ? total : 1);
    v->bytes = gl_malloc(total ? total : 1);
    if (!v->tokens || !v->text || !v->bytes) return gl_error_nomem("vocabulary");

    size_t off = 0, boff = 0;
    for (uint64_t i = 0; i < n; i++) {
        gl_token *t = &v->tokens[i];
        const char *s;
        size_t len;
        gl_gguf_arr_str_at(g, key, i, &s, &len);
        memcpy(v->text + off, s, len);
        int64_t type = GL_TOKEN_NORMAL;
        if (has_types) gl_gguf_arr_i64(g, "tokenizer.ggml.token_type", i, &type);
        t->type = type >= GL_TOKEN_NORMAL && type <= GL_TOKEN_BYTE ? (uint8_t)type : GL_TOKEN_UNDEFINED;
        if (has_scores) gl_gguf_arr_f32(g, "tokenizer.ggml.scores", i, &t->score);
        t->text_off = (uint32_t)off;
        t->text_len = (uint32_t)len;
        t->bytes_off = (uint32_t)boff;
        t->bytes_len = (uint32_t)decode_piece(v, s, len, t->type, v->bytes + boff);
        off += len;
        boff += t->bytes_len;
    }
    return GLIMPSE_OK;
}

/* Special ids, end-of-generation tokens and BOS policy (llama.cpp's defaults). */
static void load_specials(gl_vocab *v, const gl_gguf *g) {
    int spm = v->kind == GL_VOCAB_SPM;
    v->bos = special_id(v, g, "tokenizer.ggml.bos_token_id", spm ? 1 : 11);
    v->eos = special_id(v, g, "tokenizer.ggml.eos_token_id", spm ? 2 : 11);
    v->unk = special_id(v, g, "tokenizer.ggml.unknown_token_id", spm ? 0 : -1);
    v->eot = special_id(v, g, "tokenizer.ggml.eot_token_id", -1);
    int32_t eom = special_id(v, g, "tokenizer.ggml.eom_token_id", -1);
    int flag;
    v->add_bos = spm ? 1 : gl_pretok_add_bos(v->pretok);
    if (!gl_gguf_get_bool(g, "tokenizer.ggml.add_bos_token", &flag)) v->add_bos = flag;
    if (v->bos < 0) v->add_bos = 0;
    v->add_eos = 0;
    if (!gl_gguf_get_bool(g, "tokenizer.ggml.add_eos_token", &flag)) v->add_eos = flag && v->eos >= 0;
    v->add_space_prefix = spm;
    if (!gl_gguf_get_bool(g, "tokenizer.ggml.add_space_prefix", &flag)) v->add_space_prefix = flag;

    /* By text, in the order of the lists: the first end-of-turn text present
     * wins. A token found by its text becomes a control token, as llama.cpp
     * does, so that it is neither printed nor read from plain text. */
    for (size_t k = 0; v->eot < 0 && k < sizeof EOT_TEXTS / sizeof EOT_TEXTS[0]; k++)
        if ((v->eot = gl_vocab_find(v, EOT_TEXTS[k], strlen(EOT_TEXTS[k]))) >= 0)
            v->tokens[v->eot].type = GL_TOKEN_CONTROL;
    for (size_t k = 0; k < sizeof EOG_TEXTS / sizeof EOG_TEXTS[0]; k++) {
        int32_t id = gl_vocab_find(v, EOG_TEXTS[k], strlen(EOG_TEXTS[k]));
        if (id >= 0) v->tokens[id].eog = 1, v->tokens[id].type = GL_TOKEN_CONTROL;
    }
    int32_t ends[3] = {v->eos, v->eot, eom};
    for (int k = 0; k < 3; k++)
        if (ends[k] >= 0) v->tokens[ends[k]].eog = 1;
}

void gl_vocab_free(gl_vocab *v) {
    if (!v) return;
    if (v->kind == GL_VOCAB_BPE) gl_bpe_free(v);
    if (v->specials) gl_free(v->specials->nodes);
    gl_free(v->specials);
    gl_free(v->index);
    gl_free(v->tokens);
    gl_free(v->text);
    gl_free(v->bytes);
    gl_free(v->name);
    gl_free(v);
}

glimpse_status gl_vocab_load(const gl_gguf *g, gl_vocab **out) {
    *out = NULL;
    const char *model;
    size_t model_len;
    if (gl_gguf_get_str(g, "tokenizer.ggml.model", &model, &model_len))
        return gl_error(GLIMPSE_ERR_FORMAT, "%s: no tokenizer (tokenizer.ggml.model is missing)", gl_gguf_name(g));
    gl_vocab *v = gl_calloc(1, sizeof *v);
    if (!v) return gl_error_nomem("vocabulary");
    if (!(v->name = gl_strdup(gl_gguf_name(g)))) {
        gl_free(v);
        return gl_error_nomem("vocabulary");
    }
    glimpse_status st;
    if (model_len == 4 && !memcmp(model, "gpt2", 4)) v->kind = GL_VOCAB_BPE;
    else if (model_len == 5 && !memcmp(model, "llama", 5)) v->kind = GL_VOCAB_SPM;
    else {
        st = gl_error(GLIMPSE_ERR_UNSUPPORTED, "%s: tokenizer model '%.*s' is not supported (gpt2 and llama are)",
                      v->name, (int)(model_len > 32 ? 32 : model_len), model);
        gl_vocab_free(v);
        return st;
    }
    if ((st = load_tokens(v, g)) || (st = build_index(v)) ||
        (st = v->kind == GL_VOCAB_BPE ? gl_bpe_load(v, g) : (gl_spm_load(v), GLIMPSE_OK))) {
        gl_vocab_free(v);
        return st;
    }
    load_specials(v, g);
    if ((st = build_specials(v))) {
        gl_vocab_free(v);
        return st;
    }
    *out = v;
    return GLIMPSE_OK;
}

/* ==== Queries ==== */

int32_t gl_vocab_n_tokens(const gl_vocab *v) { return v->n_tokens; }
int32_t gl_vocab_bos(const gl_vocab *v) { return v->bos; }
int32_t gl_vocab_eos(const gl_vocab *v) { return v->eos; }
int32_t gl_vocab_eot(const gl_vocab *v) { return v->eot; }

int gl_vocab_is_eog(const gl_vocab *v, int32_t id) { return id >= 0 && id < v->n_tokens && v->tokens[id].eog; }

const char *gl_vocab_piece(const gl_vocab *v, int32_t id, size_t *len) {
    if (id < 0 || id >= v->n_tokens) return NULL;
    *len = v->tokens[id].text_len;
    return v->text + v->tokens[id].text_off;
}

int gl_vocab_token_type(const gl_vocab *v, int32_t id) {
    return id >= 0 && id < v->n_tokens ? v->tokens[id].type : GL_TOKEN_UNDEFINED;
}

/* ==== Tokenizing ==== */

static glimpse_status encode_fragment(const gl_vocab *v, const char *text, size_t len, gl_ids *out) {
    if (len == 0) return GLIMPSE_OK;
    if (v->kind == GL_VOCAB_BPE) return gl_bpe_encode(v, text, len, out);
    /* Every fragment starts the text or follows a special token: SentencePiece
     * (llama.cpp, Hugging Face legacy mode) puts a space before each. */
    return gl_spm_encode(v, text, len, v->add_space_prefix, out);
}

glimpse_status gl_tokenize(const gl_vocab *v, const char *text, size_t len, int add_special, int parse_special,
                           int32_t **ids, size_t *n_ids) {
    gl_ids out = {NULL, 0, 0};
    glimpse_status st = GLIMPSE_OK;
    *ids = NULL;
    *n_ids = 0;
    if (add_special && v->add_bos) st = gl_ids_push(&out, v->bos);
    size_t start = 0;
    for (size_t i = 0; i < len && !st;) {
        int32_t id = -1;
        size_t m = v->specials->starts[(uint8_t)text[i]]
                       ? match_special(v, (const uint8_t *)text + i, len - i, parse_special, &id)
                       : 0;
        if (!m) {
            i++;
            continue;
        }
        if (!(st = encode_fragment(v, text + start, i - start, &out))) st = gl_ids_push(&out, id);
        i += m;
        start = i;
    }
    if (!st) st = encode_fragment(v, text + start, len - start, &out);
    if (!st && add_special && v->add_eos) st = gl_ids_push(&out, v->eos);
    if (st) {
        gl_free(out.ids);
        return st;
    }
    *ids = out.ids;
    *n_ids = out.n;
    return GLIMPSE_OK;
}

/* ==== Public API ==== */

glimpse_status glimpse_vocab_load(const char *path, glimpse_vocab **out) {
    *out = NULL;
    gl_gguf *g;
    glimpse_status st = gl_gguf_open(path, &g);
    if (st) return st;
    st = gl_vocab_load(g, out);
    gl_gguf_close(g);
    return st;
}

void glimpse_vocab_free(glimpse_vocab *vocab) { gl_vocab_free(vocab); }
int32_t glimpse_vocab_n_tokens(const glimpse_vocab *vocab) { return vocab->n_tokens; }

glimpse_status glimpse_tokenize(const glimpse_vocab *vocab, const char *text, size_t len, unsigned flags,
                                int32_t **ids, size_t *n_ids) {
    if (!vocab || (!text && len))
        return gl_error(GLIMPSE_ERR_INVALID_ARG, "glimpse_tokenize: no vocabulary or no text");
    return gl_tokenize(vocab, text ? text : "", len, (flags & GLIMPSE_TOKENIZE_ADD_BOS) != 0,
                       (flags & GLIMPSE_TOKENIZE_PARSE_SPECIAL) != 0, ids, n_ids);
}
