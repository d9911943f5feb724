/* wpm.c - WordPiece encoding as BERT tokenizers do it.
 *
 * Behaviour of Hugging Face tokenizers' BertNormalizer (clean_text,
 * handle_chinese_chars, strip_accents, lowercase: all on, as in BERT's
 * uncased models), BertPreTokenizer and WordPiece (tokenizers/src/normalizers/
 * bert.rs, pre_tokenizers/bert.rs, models/wordpiece/mod.rs), which is what the
 * shared bert-bge test files hold. llama.cpp's llm_tokenizer_wpm_session
 * (src/llama-vocab.cpp) has the same shape; where they differ this follows
 * Hugging Face: accents are removed after a full canonical decomposition (also
 * from text that arrives decomposed), Chinese characters are chosen before
 * decomposing, a word over 100 characters is unknown, and a U+2581 inside a
 * word does not let a word-initial piece match there.
 *
 *   1. drop NUL, U+FFFD, bad UTF-8 and Cc/Cf/Co characters except \t \n \r;
 *      every whitespace character becomes a space
 *   2. put spaces around CJK ideographs
 *   3. NFD, then drop the Mn (nonspacing) marks; lowercase
 *   4. words: split at spaces, and every punctuation character (ASCII
 *      punctuation or P*) is a word of its own
 *   5. each word: the longest piece from the start that is in the vocabulary,
 *      then the longest continuation piece, and so on; a word that gets stuck
 *      is one unknown token */
#include "wpm.h"
#include "error.h"
#include "mem.h"
#include "unicode.h"

#include <string.h>

#define SPACE_MARK "\xE2\x96\x81" /* U+2581: the mark of a word-initial piece */
#define MAX_WORD_CHARS 100        /* Hugging Face WordPiece max_input_chars_per_word */

/* ==== Normalising (BertNormalizer) ==== */

/* BERT's "Chinese character": the CJK ideograph blocks as bert.rs lists them
 * (the extension E start is 0x2B920 there, not 0x2B820). */
static int is_chinese(uint32_t cp) {
    return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x20000 && cp <= 0x2A6DF) ||
           (cp >= 0x2A700 && cp <= 0x2B73F) || (cp >= 0x2B740 && cp <= 0x2B81F) ||
           (cp >= 0x2B920 && cp <= 0x2CEAF) || (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

/* Steps 1-3: text -> the normalised code points in *a. */
static glimpse_status normalize(const char *text, size_t len, gl_cps *a) {
    glimpse_status st = GLIMPSE_OK;
    for (size_t i = 0; i < len && !st;) {
        uint32_t cp, parts[GL_UC_MAX_DECOMP];
        i += gl_utf8_decode(text + i, len - i, &cp);
        if (cp == 0 || cp == 0xFFFD || cp >= GL_UC_BAD_BYTE) continue;
        unsigned cls = gl_uc_classes(cp);
        if (cp == '\t' || cp == '\n' || cp == '\r') {
            st = gl_cps_push(a, ' ');
        } else if (cls & GL_UC_OTHER) {
            continue;
        } else if (cls & GL_UC_WHITE_SPACE) {
            st = gl_cps_push(a, ' ');
        } else {
            int cjk = is_chinese(cp);
            size_t n = gl_uc_decompose(cp, parts);
            if (cjk) st = gl_cps_push(a, ' ');
            for (size_t k = 0; k < n && !st; k++) st = gl_cps_push(a, parts[k]);
            if (cjk && !st) st = gl_cps_push(a, ' ');
        }
    }
    if (st || (st = gl_uc_canonical_order(a->cps, a->n))) return st;
    size_t k = 0;
    for (size_t i = 0; i < a->n; i++)
        if (!(gl_uc_classes(a->cps[i]) & GL_UC_MN)) a->cps[k++] = gl_uc_tolower(a->cps[i]);
    a->n = k;
    return GLIMPSE_OK;
}

/* ==== Words and pieces (BertPreTokenizer, WordPiece) ==== */

static int is_punct(uint32_t cp) {
    return (cp >= '!' && cp <= '/') || (cp >= ':' && cp <= '@') || (cp >= '[' && cp <= '`') ||
           (cp >= '{' && cp <= '~') || (gl_uc_classes(cp) & GL_UC_PUNCT);
}

static glimpse_status push_unknown(const gl_vocab *v, gl_ids *out) {
    return v->unk >= 0 ? gl_ids_push(out, v->unk) : GLIMPSE_OK;
}

/* Step 5 for the word cps[0, n). */
static glimpse_status encode_word(const gl_vocab *v, const uint32_t *cps, size_t n, gl_ids *out) {
    if (n > MAX_WORD_CHARS) return push_unknown(v, out);
    char word[sizeof SPACE_MARK - 1 + MAX_WORD_CHARS * 4]; /* SPACE_MARK, then the word as UTF-8 */
    size_t off[MAX_WORD_CHARS + 1];                         /* (n + 1) byte offset of each character in word */
    memcpy(word, SPACE_MARK, 3);
    off[0] = 3;
    for (size_t i = 0; i < n; i++) off[i + 1] = off[i] + gl_utf8_encode(cps[i], word + off[i]);

    size_t first = out->n, pos = 0;
    glimpse_status st;
    while (pos < n) {
        /* The first piece includes the mark; continuations start at a character.
         * A continuation starting with U+2581 ("##▁x") would be stored as the
         * word-initial "x" is: no BERT vocabulary has one, so none matches. */
        if (pos && cps[pos] == 0x2581) break;
        size_t start = pos ? off[pos] : 0, end = n;
        int32_t id = -1;
        for (; end > pos; end--)
            if (off[end] - start <= v->max_token_len && (id = gl_vocab_find(v, word + start, off[end] - start)) >= 0)
                break;
        if (id < 0) break;
        if ((st = gl_ids_push(out, id))) return st;
        pos = end;
    }
    if (pos == n) return GLIMPSE_OK;
    out->n = first; /* stuck: the whole word is unknown */
    return push_unknown(v, out);
}

glimpse_status gl_wpm_encode(const gl_vocab *v, const char *text, size_t len, gl_ids *out) {
    gl_cps a = {NULL, 0, 0};
    glimpse_status st = normalize(text, len, &a);
    size_t start = 0;
    for (size_t i = 0; i <= a.n && !st; i++) {
        int space = i < a.n && (a.cps[i] == ' ' || (gl_uc_classes(a.cps[i]) & GL_UC_WHITE_SPACE));
        int punct = i < a.n && !space && is_punct(a.cps[i]);
        if (i < a.n && !space && !punct) continue;
        if (i > start) st = encode_word(v, a.cps + start, i - start, out);
        if (punct && !st) st = encode_word(v, a.cps + i, 1, out);
        start = i + 1;
    }
    gl_free(a.cps);
    return st;
}
