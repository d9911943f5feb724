/* pretok.c - pre-tokenizer tables and regex splitting for byte-level BPE.
 *
 * Each model's pre-tokenizer is the `pre_tokenizer` of its Hugging Face
 * tokenizer.json, a sequence of steps; llama.cpp names it in
 * `tokenizer.ggml.pre` (src/llama-vocab.cpp, llm_tokenizer_bpe). Every step
 * here is one Hugging Face step written as a regex and applied the way
 * tokenizers' Split with behavior "Isolated" applies it: within each current
 * piece separately, matches and the text between them all become pieces.
 *   Split(pattern)                  -> the pattern as written
 *   ByteLevel(use_regex=true)       -> GPT-2's pattern (byte_level.rs)
 *   Digits(individual_digits=true)  -> \p{N}   (Rust char::is_numeric = Nd|Nl|No)
 *   Digits(individual_digits=false) -> \p{N}+
 *   Punctuation(contiguous)         -> [\p{P}!-/:-@\[-`{-~]+  (is_ascii_punctuation || P*)
 * Steps after ByteLevel see the text in GPT-2's byte alphabet (Falcon's digit
 * steps): they run on that form and their cuts are mapped back to bytes.
 *
 * Hugging Face uses Oniguruma (Ruby syntax); PCRE2 (UTF + UCP, JIT) runs the
 * patterns as written except for two translations made when compiling:
 *   - \s and \S: PCRE2's \s also matches U+180E, which left Unicode's
 *     White_Space in 6.3; Oniguruma's \s is White_Space. Both become an
 *     explicit White_Space class.
 *   - ^ and $: Ruby anchors match at every line end, so patterns compile with
 *     PCRE2_MULTILINE.
 * Non-ASCII characters are written as \x{...} so that no editor or tool can
 * normalise them (several of DeepSeek's range ends are NFC-unstable). */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "pretok.h"
#include "bpe.h"
#include "checked.h"
#include "error.h"
#include "mem.h"

#include <pcre2.h>
#include <string.h>

#define MAX_STEPS 6

/* ==== Tables ==== */

typedef struct {
    const char *pattern;
    int after_byte_level; /* runs on the GPT-2 byte-alphabet form of the piece */
} step_def;

typedef struct {
    step_def steps[MAX_STEPS];
    int ignore_merges; /* Hugging Face BPE ignore_merges */
    int add_bos;       /* llama.cpp's default when the file has no add_bos_token */
} pretok_def;

#define GPT2_PATTERN "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"
#define CJK_PATTERN "[\\x{4E00}-\\x{9FA5}\\x{0800}-\\x{4E00}\\x{AC00}-\\x{D7FF}]+"

/* GPT-2, GPT-NeoX, MPT, OLMo: ByteLevel alone. */
static const pretok_def PRE_GPT2 = {{{GPT2_PATTERN, 0}}, 0, 0};

/* StarCoder, SmolLM, Refact: Digits(individual) then ByteLevel. */
static const pretok_def PRE_STARCODER = {{{"\\p{N}", 0}, {GPT2_PATTERN, 0}}, 0, 0};

/* Llama 3: one Split, then ByteLevel(use_regex=false); BPE ignore_merges. */
static const pretok_def PRE_LLAMA3 = {
    {{"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
      "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
      0}},
    1, 1};

/* Qwen2: as Llama 3 with single digits (its NFC normalizer is not applied). */
static const pretok_def PRE_QWEN2 = {
    {{"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
      "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
      0}},
    0, 0};

/* Falcon: Punctuation(contiguous), ByteLevel, Digits(contiguous), Split. */
static const pretok_def PRE_FALCON = {{{"[\\p{P}!-/:-@\\[-`{-~]+", 0},
                                       {GPT2_PATTERN, 0},
                                       {"\\p{N}+", 1},
                                       {"[0-9][0-9][0-9]", 1}},
                                      0, 0};

static const pretok_def PRE_DEEPSEEK_CODER = {
    {{"[\\r\\n]", 0}, {"\\s?\\p{L}+", 0}, {"\\s?\\p{P}+", 0}, {CJK_PATTERN, 0}, {"\\p{N}", 0}}, 0, 0};

/* The letter class is Unicode 14's cased letters (Lu|Ll|Lt) as DeepSeek wrote it. */
static const pretok_def PRE_DEEPSEEK_LLM = {
    {{"[\\r\\n]", 0},
     {"\\s?[A-Za-z\\x{00B5}\\x{00C0}-\\x{00D6}\\x{00D8}-\\x{00F6}\\x{00F8}-\\x{01BA}\\x{01BC}-\\x{01BF}"
      "\\x{01C4}-\\x{0293}\\x{0295}-\\x{02AF}\\x{0370}-\\x{0373}\\x{0376}\\x{0377}\\x{037B}-\\x{037D}\\x{037F}"
      "\\x{0386}\\x{0388}-\\x{038A}\\x{038C}\\x{038E}-\\x{03A1}\\x{03A3}-\\x{03F5}\\x{03F7}-\\x{0481}"
      "\\x{048A}-\\x{052F}\\x{0531}-\\x{0556}\\x{10A0}-\\x{10C5}\\x{13A0}-\\x{13F5}\\x{13F8}-\\x{13FD}"
      "\\x{1C90}-\\x{1CBA}\\x{1CBD}-\\x{1CBF}\\x{1D00}-\\x{1D2B}\\x{1D6B}-\\x{1D77}\\x{1D79}-\\x{1D9A}"
      "\\x{1E00}-\\x{1F15}\\x{1F18}-\\x{1F1D}\\x{1F20}-\\x{1F45}\\x{1F48}-\\x{1F4D}\\x{1F50}-\\x{1F57}"
      "\\x{1F59}\\x{1F5B}\\x{1F5D}\\x{1F5F}-\\x{1F7D}\\x{1F80}-\\x{1FB4}\\x{1FB6}-\\x{1FBC}\\x{1FBE}"
      "\\x{1FC2}-\\x{1FC4}\\x{1FC6}-\\x{1FCC}\\x{1FD0}-\\x{1FD3}\\x{1FD6}-\\x{1FDB}\\x{1FE0}-\\x{1FEC}"
      "\\x{1FF2}-\\x{1FF4}\\x{1FF6}-\\x{1FFC}\\x{2102}\\x{2107}\\x{210A}-\\x{2113}\\x{2115}"
      "\\x{2119}-\\x{211D}\\x{2124}\\x{2126}\\x{2128}\\x{212A}-\\x{212D}\\x{212F}-\\x{2134}\\x{2139}"
      "\\x{213C}-\\x{213F}\\x{2145}-\\x{2149}\\x{214E}\\x{2183}\\x{2184}\\x{2C00}-\\x{2C7B}"
      "\\x{2C7E}-\\x{2CE4}\\x{2CEB}-\\x{2CEE}\\x{2CF2}\\x{2CF3}\\x{A640}-\\x{A66D}\\x{A680}-\\x{A69B}"
      "\\x{A722}-\\x{A76F}\\x{A771}-\\x{A787}\\x{A78B}-\\x{A78E}\\x{AB70}-\\x{ABBF}\\x{FB00}-\\x{FB06}"
      "\\x{FB13}-\\x{FB17}\\x{FF21}-\\x{FF3A}\\x{FF41}-\\x{FF5A}\\x{10400}-\\x{1044F}\\x{104B0}-\\x{104D3}"
      "\\x{104D8}-\\x{104FB}\\x{10C80}-\\x{10CB2}\\x{10CC0}-\\x{10CF2}\\x{118A0}-\\x{118DF}"
      "\\x{1E900}-\\x{1E943}]+",
      0},
     {"\\s?[!-/:-~\\x{FF01}-\\x{FF0F}\\x{FF1A}-\\x{FF5E}\\x{2018}-\\x{201F}\\x{3000}-\\x{3002}]+", 0},
     {"\\s+$", 0},
     {CJK_PATTERN, 0},
     {"\\p{N}", 0}},
    0, 0};

/* `tokenizer.ggml.pre` names, grouped as llama.cpp groups them. A model
 * converted without a name ("default") gets GPT-2's ByteLevel, which is what
 * such models (GPT-NeoX) use in Hugging Face; llama.cpp guesses a Falcon-like
 * split there instead. */
static const struct {
    const char *name;
    const pretok_def *def;
} PRE_NAMES[] = {
    {"default", &PRE_GPT2},          {"gpt-2", &PRE_GPT2},           {"phi-2", &PRE_GPT2},
    {"mpt", &PRE_GPT2},              {"olmo", &PRE_GPT2},            {"starcoder", &PRE_STARCODER},
    {"refact", &PRE_STARCODER},      {"smollm", &PRE_STARCODER},     {"codeshell", &PRE_STARCODER},
    {"llama3", &PRE_LLAMA3},         {"llama-v3", &PRE_LLAMA3},      {"llama-bpe", &PRE_LLAMA3},
    {"falcon3", &PRE_LLAMA3},        {"pixtral", &PRE_LLAMA3},       {"qwen2", &PRE_QWEN2},
    {"deepseek-r1-qwen", &PRE_QWEN2}, {"falcon", &PRE_FALCON},       {"deepseek-coder", &PRE_DEEPSEEK_CODER},
    {"deepseek-llm", &PRE_DEEPSEEK_LLM},
};

/* ==== Compiling ==== */

/* Oniguruma's \s: the White_Space property. */
#define WHITE_SPACE "\\t-\\r\\x{20}\\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}"

typedef struct {
    pcre2_code *code;
    int after_byte_level;
} step;

struct gl_pretok {
    step steps[MAX_STEPS];
    int n_steps;
    int ignore_merges, add_bos;
    pcre2_general_context *gctx; /* routes PCRE2's allocations through gl_malloc */
};

static void *pcre_malloc(PCRE2_SIZE size, void *data) { return gl_malloc(size); }
static void pcre_free(void *p, void *data) { gl_free(p); }

/* Rewrites \s and \S (see the header comment) into a gl_malloc'd *out. A
 * negated class cannot hold "not White_Space", so \S inside [...] is refused. */
static glimpse_status translate(const char *src, char **out) {
    size_t n = strlen(src), cap = n * (sizeof WHITE_SPACE + 3) + 1;
    char *dst = gl_malloc(cap), *o = dst;
    if (!dst) return gl_error_nomem("pre-tokenizer pattern");
    int in_class = 0;
    for (const char *p = src; *p; p++) {
        if (p[0] == '\\' && (p[1] == 's' || p[1] == 'S')) {
            if (in_class && p[1] == 'S') {
                gl_free(dst);
                return gl_error(GLIMPSE_ERR_UNSUPPORTED, "pre-tokenizer pattern has \\S inside a class: %s", src);
            }
            const char *open = p[1] == 'S' ? "[^" : in_class ? "" : "[";
            memcpy(o, open, strlen(open));
            o += strlen(open);
            memcpy(o, WHITE_SPACE, sizeof WHITE_SPACE - 1);
            o += sizeof WHITE_SPACE - 1;
            if (!in_class) *o++ = ']';
            p++;
        } else if (p[0] == '\\' && p[1]) {
            *o++ = *p++;
            *o++ = *p;
        } else {
            if (*p == '[') in_class = 1;
            else if (*p == ']') in_class = 0;
            *o++ = *p;
        }
    }
    *o = 0;
    *out = dst;
    return GLIMPSE_OK;
}

void gl_pretok_free(gl_pretok *p) {
    if (!p) return;
    for (int i = 0; i < p->n_steps; i++) pcre2_code_free(p->steps[i].code);
    pcre2_general_context_free(p->gctx);
    gl_free(p);
}

glimpse_status gl_pretok_create(const char *pre, size_t pre_len, const char *file, gl_pretok **out) {
    *out = NULL;
    if (!pre) pre = "default", pre_len = strlen(pre);
    const pretok_def *def = NULL;
    for (size_t i = 0; i < sizeof PRE_NAMES / sizeof PRE_NAMES[0]; i++)
        if (strlen(PRE_NAMES[i].name) == pre_len && !memcmp(PRE_NAMES[i].name, pre, pre_len)) def = PRE_NAMES[i].def;
    if (!def)
        return gl_error(GLIMPSE_ERR_UNSUPPORTED, "%s: pre-tokenizer '%.*s' (tokenizer.ggml.pre) is not supported", file,
                        (int)(pre_len > 64 ? 64 : pre_len), pre);
    gl_pretok *p = gl_calloc(1, sizeof *p);
    if (!p) return gl_error_nomem("pre-tokenizer");
    p->ignore_merges = def->ignore_merges;
    p->add_bos = def->add_bos;
    p->gctx = pcre2_general_context_create(pcre_malloc, pcre_free, NULL);
    if (!p->gctx) {
        gl_free(p);
        return gl_error_nomem("pre-tokenizer");
    }
    pcre2_compile_context *cctx = pcre2_compile_context_create(p->gctx);
    if (!cctx) {
        gl_pretok_free(p);
        return gl_error_nomem("pre-tokenizer");
    }
    glimpse_status st = GLIMPSE_OK;
    for (int i = 0; i < MAX_STEPS && def->steps[i].pattern && !st; i++) {
        char *pattern;
        if ((st = translate(def->steps[i].pattern, &pattern))) break;
        int err;
        PCRE2_SIZE err_off;
        pcre2_code *code = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
                                         PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF | PCRE2_MULTILINE, &err,
                                         &err_off, cctx);
        gl_free(pattern);
        if (!code) {
            PCRE2_UCHAR msg[120];
            pcre2_get_error_message(err, msg, sizeof msg);
            st = gl_error(err == PCRE2_ERROR_NOMEMORY || err == PCRE2_ERROR_HEAP_FAILED ? GLIMPSE_ERR_NOMEM
                                                                                        : GLIMPSE_ERR_UNSUPPORTED,
                          "%s: pre-tokenizer '%.*s' step %d does not compile: %s", file, (int)pre_len, pre, i + 1,
                          (const char *)msg);
            break;
        }
        /* Without JIT (some platforms) PCRE2 interprets the pattern: slower, same result. */
        pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
        p->steps[p->n_steps].code = code;
        p->steps[p->n_steps].after_byte_level = def->steps[i].after_byte_level;
        p->n_steps++;
    }
    pcre2_compile_context_free(cctx);
    if (st) {
        gl_pretok_free(p);
        return st;
    }
    *out = p;
    return GLIMPSE_OK;
}

int gl_pretok_ignore_merges(const gl_pretok *p) { return p->ignore_merges; }
int gl_pretok_add_bos(const gl_pretok *p) { return p->add_bos; }

/* ==== Splitting ==== */

static glimpse_status push_span(gl_spans *s, size_t off, size_t len) {
    if (len == 0) return GLIMPSE_OK;
    gl_span *spans = gl_grow(s->spans, &s->cap, s->n + 1, sizeof *spans);
    if (!spans) return gl_error_nomem("pre-tokens");
    s->spans = spans;
    s->spans[s->n].off = off;
    s->spans[s->n].len = len;
    s->n++;
    return GLIMPSE_OK;
}

/* The byte-alphabet form of one piece, with where each of its bytes came from. */
typedef struct {
    char *text;    /* (2 * len) */
    size_t *orig;  /* (2 * len + 1): mapped offset -> piece offset, at character starts */
    size_t cap;
} mapped_buf;

static glimpse_status map_piece(mapped_buf *m, const char *piece, size_t len, size_t *mlen) {
    size_t need;
    if (gl_mul_overflow(len, 2, &need) || gl_add_overflow(need, 1, &need)) return gl_error_nomem("pre-token");
    if (need > m->cap) {
        char *t = gl_realloc(m->text, need);
        if (t) m->text = t;
        size_t *o = gl_malloc_array(need, sizeof *o);
        if (!t || !o) {
            gl_free(o);
            return gl_error_nomem("pre-token");
        }
        gl_free(m->orig);
        m->orig = o;
        m->cap = need;
    }
    size_t k = 0;
    for (size_t i = 0; i < len; i++) {
        int n = gl_bpe_byte_char((uint8_t)piece[i], m->text + k);
        m->orig[k] = i;
        if (n == 2) m->orig[k + 1] = i;
        k += (size_t)n;
    }
    m->orig[k] = len;
    *mlen = k;
    return GLIMPSE_OK;
}

/* Splits text[off, off+len) by one step, appending the pieces to out. */
static glimpse_status split_piece(const step *s, pcre2_match_data *md, mapped_buf *m, const char *text, size_t off,
                                  size_t len, gl_spans *out) {
    const char *subject = text + off;
    size_t slen = len;
    glimpse_status st;
    if (s->after_byte_level) {
        if ((st = map_piece(m, subject, len, &slen))) return st;
        subject = m->text;
    }
    size_t pos = 0, prev = 0;
    while (pos <= slen) {
        int rc = pcre2_match(s->code, (PCRE2_SPTR)subject, slen, pos, 0, md, NULL);
        if (rc == PCRE2_ERROR_NOMATCH) break;
        if (rc < 0) {
            PCRE2_UCHAR msg[120];
            pcre2_get_error_message(rc, msg, sizeof msg);
            return gl_error(rc == PCRE2_ERROR_NOMEMORY || rc == PCRE2_ERROR_HEAP_FAILED ? GLIMPSE_ERR_NOMEM
                                                                                      : GLIMPSE_ERR_LIMIT,
                            "pre-tokenizer: regex match failed: %s", (const char *)msg);
        }
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        size_t ms = ov[0], me = ov[1];
        if (me == ms) { /* an empty match makes no piece: step past its character */
            pos = me + 1;
            while (pos < slen && ((uint8_t)subject[pos] & 0xC0) == 0x80) pos++;
            continue;
        }
        size_t a = prev, b = ms, c = me;
        if (s->after_byte_level) a = m->orig[a], b = m->orig[b], c = m->orig[c];
        if ((st = push_span(out, off + a, b - a)) || (st = push_span(out, off + b, c - b))) return st;
        prev = pos = me;
    }
    size_t a = prev, b = slen;
    if (s->after_byte_level) a = m->orig[a], b = m->orig[b];
    return push_span(out, off + a, b - a);
}

glimpse_status gl_pretok_split(const gl_pretok *p, const char *text, size_t len, gl_spans *out) {
    out->n = 0;
    glimpse_status st = push_span(out, 0, len);
    if (st || p->n_steps == 0) return st;
    gl_spans tmp = {NULL, 0, 0};
    mapped_buf m = {NULL, NULL, 0};
    pcre2_match_data *md = pcre2_match_data_create(1, p->gctx);
    if (!md) return gl_error_nomem("pre-tokenizer match");
    gl_spans *cur = out, *next = &tmp;
    for (int i = 0; i < p->n_steps && !st; i++) {
        next->n = 0;
        for (size_t k = 0; k < cur->n && !st; k++)
            st = split_piece(&p->steps[i], md, &m, text, cur->spans[k].off, cur->spans[k].len, next);
        gl_spans *t = cur;
        cur = next;
        next = t;
    }
    if (!st && cur != out) { /* the result lives in tmp: hand its arrays to out */
        gl_spans t = *out;
        *out = tmp;
        tmp = t;
    }
    gl_free(tmp.spans);
    gl_free(m.text);
    gl_free(m.orig);
    pcre2_match_data_free(md);
    return st;
}
