/* session.c - conversations: the public API's session handle (glimpse.h).
 *
 * A turn is built the way transformers' processors build it: the messages
 * are rendered with the family's chat template (text/template.c), each image
 * placeholder is replaced by the family's image prompt (Idefics3Processor's
 * _prompt_split_image / _prompt_single_image, LlavaProcessor's repeated
 * <image>), the text is tokenized, and the image embeddings take the places
 * of the image tokens. The KV cache keeps what earlier turns computed: only
 * the positions after the longest common prefix are run again. */
#include "engine.h"
#include "checked.h"
#include "detok.h"
#include "error.h"
#include "json_escape.h"
#include "mem.h"
#include "sample.h"

#include <stdio.h>
#include <string.h>

#define PREFILL_BATCH 512 /* positions per forward call while reading the prompt */
#define DEFAULT_CTX 8192
#define KV_MAX_BYTES ((size_t)8 << 30)

typedef struct {
    gl_chat_role role;
    char *text;
    glimpse_image **images; /* (n_images) owned, shown before the text */
    int n_images;
} message;

/* One prompt position: a token, or a row of an image's embeddings. */
typedef struct {
    int32_t token;     /* -1 for an embedding */
    const float *embd; /* the row (n_embd floats) when token < 0 */
} position;

typedef struct {
    position *pos;
    int32_t n;
    size_t cap;
    int32_t n_image;
} sequence;

struct glimpse_session {
    glimpse_model *m;
    gl_kv_cache *kv;
    message *msgs;
    int n_msgs;
    size_t cap_msgs;
    glimpse_image **pending; /* images for the next user message */
    int n_pending;
    size_t cap_pending;
    sequence cached; /* what the KV cache holds, position by position */
    float *logits;   /* (n_vocab) */
    int32_t *answer; /* (n_answer) token ids of the last answer */
    int32_t n_answer;
    size_t cap_answer;
    float *embd_buf; /* (PREFILL_BATCH, n_embd) image rows gathered for one forward call */
};

/* ==== Sequences ==== */

static glimpse_status seq_push(sequence *s, int32_t token, const float *embd) {
    position *p = gl_grow(s->pos, &s->cap, (size_t)s->n + 1, sizeof *p);
    if (!p) return gl_error_nomem("prompt positions");
    s->pos = p;
    s->pos[s->n++] = (position){token, embd};
    if (token < 0) s->n_image++;
    return GLIMPSE_OK;
}

static void seq_free(sequence *s) {
    gl_free(s->pos);
    *s = (sequence){0};
}

static glimpse_status seq_push_text(sequence *s, const gl_vocab *v, const char *text, size_t len, int add_bos,
                                    int parse_special) {
    int32_t *ids = NULL;
    size_t n = 0;
    glimpse_status st = gl_tokenize(v, text, len, add_bos, parse_special, &ids, &n);
    for (size_t i = 0; !st && i < n; i++) st = seq_push(s, ids[i], NULL);
    gl_free(ids);
    return st;
}

/* ==== Building a turn's positions ==== */

/* Whether text[0..len) holds the text of a control token (which the caller's
 * message text may not introduce). */
static int holds_control_token(const gl_vocab *v, const char *text, size_t len) {
    for (int32_t id = 0; id < gl_vocab_n_tokens(v); id++) {
        if (gl_vocab_token_type(v, id) != GL_TOKEN_CONTROL) continue;
        size_t plen;
        const char *piece = gl_vocab_piece(v, id, &plen);
        if (plen == 0 || plen > len) continue;
        for (size_t i = 0; i + plen <= len; i++)
            if (text[i] == piece[0] && !memcmp(text + i, piece, plen)) return 1;
    }
    return 0;
}

/* Tokenizes text[from, to) of the rendered prompt. Template markup may hold
 * control tokens; callers' text may not: a segment whose message text holds
 * one is cut at the message boundaries and the message parts are tokenized
 * with control tokens taken literally. Otherwise the segment is tokenized in
 * one piece, as transformers does, so merges across markup and text match. */
static glimpse_status push_segment(sequence *s, const gl_vocab *v, const gl_prompt *p, size_t from, size_t to,
                                   int add_bos) {
    int unsafe = 0;
    for (size_t i = 0; i < p->n_literal && !unsafe; i++) {
        size_t a = p->literal[i].off, b = a + p->literal[i].len;
        if (a < from) a = from;
        if (b > to) b = to;
        if (a < b) unsafe = holds_control_token(v, p->text + a, b - a);
    }
    if (!unsafe) return seq_push_text(s, v, p->text + from, to - from, add_bos, 1);
    size_t at = from;
    glimpse_status st = GLIMPSE_OK;
    for (size_t i = 0; i < p->n_literal && !st; i++) {
        size_t a = p->literal[i].off, b = a + p->literal[i].len;
        if (b <= from || a >= to) continue;
        if (a < from) a = from;
        if (b > to) b = to;
        if (a > at) st = seq_push_text(s, v, p->text + at, a - at, add_bos && at == from, 1);
        if (!st) st = seq_push_text(s, v, p->text + a, b - a, add_bos && a == from, 0);
        at = b;
    }
    if (!st && at < to) st = seq_push_text(s, v, p->text + at, to - at, 0, 1);
    return st;
}

/* The prompt text an image stands for, as transformers' processors expand
 * it; every "<image>" in it is one embedding. */
static char *image_prompt(const glimpse_model *m, const glimpse_image *img) {
    int per_tile = gl_mmproj_tokens_per_image(m->mmproj);
    size_t tiles = (size_t)img->pixels.n_rows * (size_t)img->pixels.n_cols;
    size_t cap = ((size_t)img->n_tokens * 7 + (tiles + 1) * 64 + 64);
    char *out = gl_malloc(cap), *w = out;
    if (!out) return NULL;
#define PUT(...) (w += snprintf(w, cap - (size_t)(w - out), __VA_ARGS__))
    if (gl_mmproj_hparams_of(m->mmproj)->projector == GL_PROJECTOR_MLP) {
        for (int i = 0; i < img->n_tokens; i++) PUT("<image>");
        return out;
    }
    for (int r = 0; r < img->pixels.n_rows; r++) {
        for (int c = 0; c < img->pixels.n_cols; c++) {
            PUT("<fake_token_around_image><row_%d_col_%d>", r + 1, c + 1);
            for (int i = 0; i < per_tile; i++) PUT("<image>");
        }
        PUT("\n");
    }
    PUT("%s<fake_token_around_image><global-img>", tiles ? "\n" : "");
    for (int i = 0; i < per_tile; i++) PUT("<image>");
    PUT("<fake_token_around_image>");
#undef PUT
    return out;
}

static glimpse_status push_image(sequence *s, const glimpse_model *m, const glimpse_image *img) {
    char *text = image_prompt(m, img);
    if (!text) return gl_error_nomem("image prompt");
    int32_t *ids;
    size_t n;
    glimpse_status st = gl_tokenize(m->vocab, text, strlen(text), 0, 1, &ids, &n);
    gl_free(text);
    if (st) return st;
    int row = 0;
    for (size_t i = 0; i < n && !st; i++) {
        if (ids[i] == m->image_token) {
            if (row < img->n_tokens) st = seq_push(s, -1, img->embd + (size_t)row * (size_t)img->n_embd);
            row++;
        } else {
            st = seq_push(s, ids[i], NULL);
        }
    }
    gl_free(ids);
    if (!st && row != img->n_tokens)
        st = gl_error(GLIMPSE_ERR_MISMATCH, "%s: the image prompt has %d image tokens for %d embeddings", img->name,
                      row, img->n_tokens);
    return st;
}

/* Whether the rendered text starts with the BOS token's own text. */
static int starts_with_bos(const gl_vocab *v, const char *text) {
    int32_t bos = gl_vocab_bos(v);
    size_t len;
    const char *piece = bos >= 0 ? gl_vocab_piece(v, bos, &len) : NULL;
    return piece && len && !strncmp(text, piece, len);
}

/* Renders the conversation (+ the assistant's header) into positions. */
static glimpse_status build_turn(glimpse_session *s, sequence *seq, double *encode_ms) {
    glimpse_model *m = s->m;
    glimpse_status st = GLIMPSE_OK;
    *encode_ms = 0;
    size_t n_parts = 0;
    for (int i = 0; i < s->n_msgs; i++) n_parts += (size_t)s->msgs[i].n_images + 1;
    gl_chat_message *cm = gl_calloc((size_t)s->n_msgs, sizeof *cm);
    gl_chat_part *parts = gl_calloc(n_parts, sizeof *parts);
    glimpse_image **order = gl_calloc(n_parts, sizeof *order); /* the images in prompt order */
    if (!cm || !parts || !order) st = gl_error_nomem("conversation");
    size_t k = 0, n_img = 0;
    for (int i = 0; !st && i < s->n_msgs; i++) {
        const message *msg = &s->msgs[i];
        cm[i].role = msg->role;
        cm[i].parts = parts + k;
        for (int j = 0; j < msg->n_images; j++) {
            double ms;
            if ((st = gl_image_ensure_encoded(m, msg->images[j], &ms))) break;
            *encode_ms += ms;
            parts[k++] = (gl_chat_part){GL_PART_IMAGE, NULL};
            order[n_img++] = msg->images[j];
        }
        parts[k++] = (gl_chat_part){GL_PART_TEXT, msg->text};
        cm[i].n_parts = (size_t)msg->n_images + 1;
    }
    gl_prompt p = {0};
    if (!st) st = gl_template_render(m->tmpl, cm, (size_t)s->n_msgs, 1, &p);
    if (!st && p.n_images != n_img)
        st = gl_error(GLIMPSE_ERR_INVALID_ARG, "the %s chat format placed %zu of %zu images", gl_template_name(m->tmpl),
                      p.n_images, n_img);
    size_t at = 0;
    size_t ph_len = strlen(gl_template_image_placeholder(m->tmpl) ? gl_template_image_placeholder(m->tmpl) : "");
    int add_bos = !starts_with_bos(m->vocab, p.text ? p.text : "");
    for (size_t i = 0; !st && i <= p.n_images; i++) {
        size_t end = i < p.n_images ? p.image_at[i] : p.len;
        if (end > at) st = push_segment(seq, m->vocab, &p, at, end, add_bos && at == 0);
        else if (at == 0 && add_bos && gl_vocab_bos(m->vocab) >= 0) st = seq_push(seq, gl_vocab_bos(m->vocab), NULL);
        if (!st && i < p.n_images) {
            st = push_image(seq, m, order[i]);
            at = end + ph_len;
        }
    }
    gl_prompt_free(&p);
    gl_free(cm);
    gl_free(parts);
    gl_free(order);
    return st;
}

/* ==== Opening and history ==== */

glimpse_session_params glimpse_session_default_params(void) {
    glimpse_session_params p;
    memset(&p, 0, sizeof p);
    return p;
}

glimpse_status glimpse_session_open(glimpse_model *m, const glimpse_session_params *params, glimpse_session **out) {
    *out = NULL;
    if (!m->decoder)
        return gl_error(GLIMPSE_ERR_INVALID_ARG, "%s: no text model loaded, so there is nothing to talk to", m->name);
    glimpse_session_params p = params ? *params : glimpse_session_default_params();
    const gl_decoder_hparams *hp = gl_decoder_hparams_of(m->decoder);
    int32_t n_ctx = p.n_ctx > 0 ? p.n_ctx : (hp->n_ctx_train < DEFAULT_CTX ? hp->n_ctx_train : DEFAULT_CTX);
    glimpse_session *s = gl_calloc(1, sizeof *s);
    if (!s) return gl_error_nomem("session");
    s->m = m;
    glimpse_status st = gl_kv_cache_new(m->decoder, n_ctx, KV_MAX_BYTES, &s->kv);
    if (!st) {
        s->logits = gl_malloc_array((size_t)hp->n_vocab, sizeof(float));
        s->embd_buf = gl_malloc_array((size_t)PREFILL_BATCH * (size_t)hp->n_embd, sizeof(float));
        if (!s->logits || !s->embd_buf) st = gl_error_nomem("session buffers");
    }
    if (st) {
        glimpse_session_free(s);
        return st;
    }
    *out = s;
    return GLIMPSE_OK;
}

static void clear_history(glimpse_session *s) {
    for (int i = 0; i < s->n_msgs; i++) {
        for (int j = 0; j < s->msgs[i].n_images; j++) glimpse_image_free(s->msgs[i].images[j]);
        gl_free(s->msgs[i].images);
        gl_free(s->msgs[i].text);
    }
    s->n_msgs = 0;
    for (int i = 0; i < s->n_pending; i++) glimpse_image_free(s->pending[i]);
    s->n_pending = 0;
}

void glimpse_session_free(glimpse_session *s) {
    if (!s) return;
    clear_history(s);
    gl_free(s->msgs);
    gl_free(s->pending);
    seq_free(&s->cached);
    gl_kv_cache_free(s->kv);
    gl_free(s->logits);
    gl_free(s->answer);
    gl_free(s->embd_buf);
    gl_free(s);
}

void glimpse_session_reset(glimpse_session *s) {
    clear_history(s);
    /* The cache stays: the next conversation reuses the common prefix (the
     * template's opening, a system prompt), but its image rows are gone. */
    int32_t keep = 0;
    while (keep < s->cached.n && s->cached.pos[keep].token >= 0) keep++;
    s->cached.n = keep;
    gl_kv_cache_truncate(s->kv, keep);
}

glimpse_status glimpse_session_add_image(glimpse_session *s, glimpse_image *img) {
    if (!img) return gl_error(GLIMPSE_ERR_INVALID_ARG, "no image given");
    if (img->model != s->m) {
        glimpse_image_free(img);
        return gl_error(GLIMPSE_ERR_INVALID_ARG, "image was prepared for another model");
    }
    glimpse_image **p = gl_grow(s->pending, &s->cap_pending, (size_t)s->n_pending + 1, sizeof *p);
    if (!p) {
        glimpse_image_free(img);
        return gl_error_nomem("image list");
    }
    s->pending = p;
    s->pending[s->n_pending++] = img;
    return GLIMPSE_OK;
}

static glimpse_status push_message(glimpse_session *s, gl_chat_role role, const char *text, size_t len) {
    message *m = gl_grow(s->msgs, &s->cap_msgs, (size_t)s->n_msgs + 1, sizeof *m);
    if (!m) return gl_error_nomem("conversation");
    s->msgs = m;
    message *msg = &s->msgs[s->n_msgs];
    memset(msg, 0, sizeof *msg);
    if (!(msg->text = gl_strndup(text, len))) return gl_error_nomem("message");
    msg->role = role;
    if (role == GL_ROLE_USER && s->n_pending) {
        msg->images = s->pending;
        msg->n_images = s->n_pending;
        s->pending = NULL;
        s->n_pending = 0;
        s->cap_pending = 0;
    }
    s->n_msgs++;
    return GLIMPSE_OK;
}

glimpse_status glimpse_session_add_message(glimpse_session *s, const char *role, const char *text) {
    gl_chat_role r;
    if (!strcmp(role, "user")) r = GL_ROLE_USER;
    else if (!strcmp(role, "system")) r = GL_ROLE_SYSTEM;
    else if (!strcmp(role, "assistant")) r = GL_ROLE_ASSISTANT;
    else return gl_error(GLIMPSE_ERR_INVALID_ARG, "%s: unknown role (system, user or assistant)", role);
    if (r != GL_ROLE_USER && s->n_pending)
        return gl_error(GLIMPSE_ERR_INVALID_ARG, "images go with a user message, not a %s message", role);
    return push_message(s, r, text, strlen(text));
}

/* ==== Generation ==== */

glimpse_gen_params glimpse_gen_default_params(void) {
    glimpse_gen_params p;
    memset(&p, 0, sizeof p);
    p.top_p = 1.0f;
    p.repeat_penalty = 1.0f;
    p.repeat_last_n = 64;
    return p;
}

/* Brings the KV cache to hold exactly seq, reusing the longest common
 * prefix with what it holds, and leaves the last position's logits. */
static glimpse_status prefill(glimpse_session *s, const sequence *seq, glimpse_timings *t) {
    const gl_decoder_hparams *hp = gl_decoder_hparams_of(s->m->decoder);
    int32_t n_ctx = gl_kv_cache_n_ctx(s->kv);
    if (seq->n >= n_ctx)
        return gl_error(GLIMPSE_ERR_CONTEXT_FULL, "the prompt is %d tokens but the context holds %d; use a larger "
                        "--ctx or a shorter prompt", seq->n, n_ctx);
    int32_t common = 0;
    while (common < seq->n && common < s->cached.n && seq->pos[common].token == s->cached.pos[common].token &&
           seq->pos[common].embd == s->cached.pos[common].embd)
        common++;
    if (common == seq->n) common--; /* the last position runs again for its logits */
    gl_kv_cache_truncate(s->kv, common);
    s->cached.n = common;
    t->n_cached_tokens = common;
    t->n_prompt_tokens = seq->n - common;
    t->n_image_tokens = seq->n_image;
    double t0 = gl_now_ms();
    int32_t ids[PREFILL_BATCH];
    for (int32_t at = common; at < seq->n;) {
        int32_t n = seq->n - at < PREFILL_BATCH ? seq->n - at : PREFILL_BATCH, rows = 0;
        for (int32_t i = 0; i < n; i++) {
            const position *p = &seq->pos[at + i];
            ids[i] = p->token;
            if (p->token < 0)
                memcpy(s->embd_buf + (size_t)rows++ * (size_t)hp->n_embd, p->embd, (size_t)hp->n_embd * sizeof(float));
        }
        glimpse_status st = gl_decoder_forward(s->m->decoder, s->kv, ids, s->embd_buf, n,
                                               at + n == seq->n ? s->logits : NULL, 0, s->m->pool);
        if (st) return st;
        for (int32_t i = 0; i < n; i++)
            if ((st = seq_push(&s->cached, seq->pos[at + i].token, seq->pos[at + i].embd))) return st;
        at += n;
    }
    t->prefill_ms = gl_now_ms() - t0;
    return GLIMPSE_OK;
}

typedef struct {
    char *text;
    size_t len, cap;
} text_buf;

static glimpse_status text_append(text_buf *b, const char *s, size_t n) {
    size_t need;
    char *t = gl_add_overflow(b->len, n + 1, &need) ? NULL : gl_grow(b->text, &b->cap, need, 1);
    if (!t) return gl_error_nomem("answer");
    b->text = t;
    memcpy(b->text + b->len, s, n);
    b->len += n;
    b->text[b->len] = 0;
    return GLIMPSE_OK;
}

/* Length of the valid UTF-8 character at s (n bytes available), 0 if none:
 * overlong forms, surrogates and code points past U+10FFFF are invalid. */
static size_t utf8_char_len(const unsigned char *s, size_t n) {
    if (s[0] < 0x80) return 1;
    size_t len = s[0] >= 0xC2 && s[0] <= 0xDF ? 2 : s[0] >= 0xE0 && s[0] <= 0xEF ? 3 : s[0] >= 0xF0 && s[0] <= 0xF4 ? 4 : 0;
    if (!len || len > n) return 0;
    for (size_t i = 1; i < len; i++)
        if ((s[i] & 0xC0) != 0x80) return 0;
    if ((s[0] == 0xE0 && s[1] < 0xA0) || (s[0] == 0xED && s[1] > 0x9F) || (s[0] == 0xF0 && s[1] < 0x90) ||
        (s[0] == 0xF4 && s[1] > 0x8F))
        return 0;
    return len;
}

/* What a random or confused model emits need not be UTF-8 (stray byte
 * tokens): each invalid byte becomes U+FFFD, as Python's decode("utf-8",
 * "replace") that transformers uses, so callers always get valid text. */
static glimpse_status make_valid_utf8(text_buf *scratch, const char **text, size_t *len) {
    const unsigned char *s = (const unsigned char *)*text;
    size_t n = *len, i = 0, l;
    while (i < n && (l = utf8_char_len(s + i, n - i))) i += l;
    if (i == n) return GLIMPSE_OK;
    scratch->len = 0;
    glimpse_status st = GLIMPSE_OK;
    for (i = 0; i < n && !st; i += l ? l : 1) {
        l = utf8_char_len(s + i, n - i);
        st = l ? text_append(scratch, (const char *)s + i, l) : text_append(scratch, "\xEF\xBF\xBD", 3);
    }
    *text = scratch->text;
    *len = scratch->len;
    return st;
}

/* Hands text that the stop matcher released to the caller and the answer. */
static glimpse_status emit(text_buf *answer, const gl_stop_result *r, glimpse_text_fn on_text, void *user,
                           int *stopped_by_callback) {
    if (!r->emit_len) return GLIMPSE_OK;
    glimpse_status st = text_append(answer, r->emit, r->emit_len);
    if (!st && on_text && on_text(r->emit, r->emit_len, user)) *stopped_by_callback = 1;
    return st;
}

static glimpse_status push_answer(glimpse_session *s, int32_t tok) {
    int32_t *a = gl_grow(s->answer, &s->cap_answer, (size_t)s->n_answer + 1, sizeof *a);
    if (!a) return gl_error_nomem("answer tokens");
    s->answer = a;
    s->answer[s->n_answer++] = tok;
    return GLIMPSE_OK;
}

/* Samples the answer after seq has been prefilled. */
static glimpse_status decode(glimpse_session *s, const sequence *seq, const glimpse_gen_params *gp,
                             glimpse_text_fn on_text, void *user, text_buf *answer, glimpse_timings *t) {
    const gl_vocab *v = s->m->vocab;
    gl_sampler_params sp = gl_sampler_default_params();
    sp.temperature = gp->temperature;
    sp.top_k = gp->top_k;
    sp.top_p = gp->top_p;
    sp.min_p = gp->min_p;
    sp.repeat_penalty = gp->repeat_penalty;
    sp.repeat_last_n = gp->repeat_last_n;
    sp.seed = gp->seed;
    gl_sampler *sampler = gl_sampler_new(&sp);
    gl_stop_matcher *stops = gl_stop_matcher_new(gp->stop, gp->stop ? (size_t)gp->n_stop : 0);
    gl_detok detok;
    gl_detok_init(&detok, v, 0);
    glimpse_status st = sampler && stops ? GLIMPSE_OK : gl_error_nomem("sampler");
    for (int32_t i = 0; !st && i < seq->n; i++)
        if (seq->pos[i].token >= 0) gl_sampler_accept(sampler, seq->pos[i].token);
    double t0 = gl_now_ms();
    int by_callback = 0;
    s->n_answer = 0;
    t->stop_reason = "max_tokens";
    gl_stop_result r = {0};
    text_buf scratch = {0}; /* replacement text for invalid UTF-8 */
    while (!st) {
        if (gp->cancel && *gp->cancel) {
            t->stop_reason = "cancelled";
            st = gl_error(GLIMPSE_ERR_CANCELLED, "generation cancelled");
            break;
        }
        int32_t tok = gl_sampler_sample(sampler, s->logits, gl_decoder_hparams_of(s->m->decoder)->n_vocab);
        if (tok < 0) {
            st = GLIMPSE_ERR_INVALID_ARG;
            break;
        }
        if (gl_vocab_is_eog(v, tok) && !gp->ignore_eos) {
            t->stop_reason = "eos";
            break;
        }
        gl_sampler_accept(sampler, tok);
        if ((st = push_answer(s, tok))) break;
        t->n_generated++;
        const char *piece;
        size_t len;
        if ((st = gl_detok_push(&detok, tok, &piece, &len))) break;
        if ((st = make_valid_utf8(&scratch, &piece, &len))) break;
        if ((st = gl_stop_matcher_feed(stops, piece, len, &r))) break;
        if ((st = emit(answer, &r, on_text, user, &by_callback))) break;
        if (r.stopped) {
            t->stop_reason = "stop_string";
            break;
        }
        if (by_callback) {
            t->stop_reason = "callback";
            break;
        }
        if (gp->max_tokens > 0 && t->n_generated >= gp->max_tokens) break; /* keeps this step's logits */
        if (gl_kv_cache_n_past(s->kv) >= gl_kv_cache_n_ctx(s->kv)) {
            t->stop_reason = "context_full";
            break;
        }
        if ((st = gl_decoder_forward(s->m->decoder, s->kv, &tok, NULL, 1, s->logits, 0, s->m->pool))) break;
        if ((st = seq_push(&s->cached, tok, NULL))) break;
    }
    if (!r.stopped && (!st || st == GLIMPSE_ERR_CANCELLED)) {
        const char *piece;
        size_t len;
        gl_detok_flush(&detok, &piece, &len);
        glimpse_status fst = make_valid_utf8(&scratch, &piece, &len);
        if (!fst) fst = gl_stop_matcher_feed(stops, piece, len, &r);
        if (!fst && !r.stopped) gl_stop_matcher_flush(stops, &r);
        if (!fst) fst = emit(answer, &r, on_text, user, &by_callback);
        if (!st) st = fst;
    }
    t->decode_ms = gl_now_ms() - t0;
    gl_free(scratch.text);
    gl_detok_free(&detok);
    gl_stop_matcher_free(stops);
    gl_sampler_free(sampler);
    return st;
}

static glimpse_status run(glimpse_session *s, sequence *seq, const glimpse_gen_params *params, glimpse_text_fn on_text,
                          void *user, text_buf *answer, glimpse_timings *t) {
    glimpse_gen_params gp = params ? *params : glimpse_gen_default_params();
    glimpse_status st = prefill(s, seq, t);
    if (!st) st = decode(s, seq, &gp, on_text, user, answer, t);
    if (!answer->text) {
        glimpse_status ast = text_append(answer, "", 0);
        if (!st) st = ast;
    }
    return st;
}

glimpse_status glimpse_session_generate(glimpse_session *s, const glimpse_gen_params *params, glimpse_text_fn on_text,
                                        void *user, char **answer, glimpse_timings *timings) {
    glimpse_timings t = {0};
    if (answer) *answer = NULL;
    if (s->n_pending)
        return gl_error(GLIMPSE_ERR_INVALID_ARG, "%d image(s) wait for a user message to go with", s->n_pending);
    if (s->n_msgs == 0) return gl_error(GLIMPSE_ERR_INVALID_ARG, "nothing to answer: add a user message first");
    sequence seq = {0};
    text_buf out = {0};
    glimpse_status st = build_turn(s, &seq, &t.encode_ms);
    if (!st) st = run(s, &seq, params, on_text, user, &out, &t);
    /* The answer joins the history even when cut short, so the conversation
     * shows what the user saw. */
    if ((!st || st == GLIMPSE_ERR_CANCELLED) && out.text) {
        glimpse_status hst = push_message(s, GL_ROLE_ASSISTANT, out.text, out.len);
        if (!st) st = hst;
    }
    seq_free(&seq);
    if (timings) *timings = t;
    if (answer && (!st || st == GLIMPSE_ERR_CANCELLED)) *answer = out.text;
    else gl_free(out.text);
    return st;
}

glimpse_status glimpse_session_complete(glimpse_session *s, const char *text, int parse_special,
                                        const glimpse_gen_params *params, glimpse_text_fn on_text, void *user,
                                        char **answer, glimpse_timings *timings) {
    glimpse_timings t = {0};
    if (answer) *answer = NULL;
    sequence seq = {0};
    text_buf out = {0};
    glimpse_status st = seq_push_text(&seq, s->m->vocab, text, strlen(text), 1, parse_special);
    if (!st && seq.n == 0) st = gl_error(GLIMPSE_ERR_INVALID_ARG, "empty prompt");
    if (!st) st = run(s, &seq, params, on_text, user, &out, &t);
    seq_free(&seq);
    if (timings) *timings = t;
    if (answer && (!st || st == GLIMPSE_ERR_CANCELLED)) *answer = out.text;
    else gl_free(out.text);
    return st;
}

const int32_t *glimpse_session_answer_tokens(const glimpse_session *s, int32_t *n) {
    *n = s->n_answer;
    return s->answer;
}

const float *glimpse_session_logits(const glimpse_session *s, int32_t *n_vocab) {
    *n_vocab = gl_decoder_hparams_of(s->m->decoder)->n_vocab;
    return s->logits;
}

/* ==== Saving ==== */

static void json_string(FILE *f, const char *s) {
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char e[6];
        fwrite(e, 1, gl_json_escape(*p, e), f);
    }
    fputc('"', f);
}

glimpse_status glimpse_session_save(const glimpse_session *s, const char *path) {
    static const char *const roles[] = {"system", "user", "assistant"};
    FILE *f = fopen(path, "w");
    if (!f) return gl_error(GLIMPSE_ERR_IO, "%s: cannot create", path);
    fprintf(f, "{\"model\": ");
    json_string(f, s->m->name);
    fprintf(f, ", \"messages\": [");
    for (int i = 0; i < s->n_msgs; i++) {
        const message *m = &s->msgs[i];
        fprintf(f, "%s\n  {\"role\": \"%s\", ", i ? "," : "", roles[m->role]);
        if (m->n_images) {
            fprintf(f, "\"images\": [");
            for (int j = 0; j < m->n_images; j++) {
                if (j) fputs(", ", f);
                json_string(f, m->images[j]->name);
            }
            fprintf(f, "], ");
        }
        fprintf(f, "\"text\": ");
        json_string(f, m->text);
        fputc('}', f);
    }
    fprintf(f, "\n]}\n");
    if (fclose(f) != 0) return gl_error(GLIMPSE_ERR_IO, "%s: write failed", path);
    return GLIMPSE_OK;
}
