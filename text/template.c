/* template.c - one renderer per chat-template family (see template.h).
 *
 * Each renderer is the official jinja template (tests/fixtures/templates/
 * <name>.jinja) written out as C; the fixtures hold transformers'
 * renderings of the same conversations. Detection follows llama.cpp's
 * src/llama-chat.cpp llm_chat_detect_template. jinja's `trim` is Python's
 * str.strip(), which strips Unicode whitespace, so trim() below does too. */
#include "template.h"

#include "checked.h"
#include "error.h"
#include "mem.h"

#include <stdint.h>
#include <string.h>

/* ---- Names ---- */

static const struct {
    const char *name;
    gl_template t;
} template_names[] = {
    {"chatml", GL_TEMPLATE_CHATML}, {"smolvlm", GL_TEMPLATE_SMOLVLM},   {"llava", GL_TEMPLATE_LLAVA},
    {"llama3", GL_TEMPLATE_LLAMA3}, {"llama3.1", GL_TEMPLATE_LLAMA31}, {"gemma3", GL_TEMPLATE_GEMMA3},
    {"qwen2-vl", GL_TEMPLATE_CHATML}, {"gemma", GL_TEMPLATE_GEMMA3},
};

gl_template gl_template_from_name(const char *name) {
    for (size_t i = 0; name && i < sizeof template_names / sizeof template_names[0]; i++)
        if (!strcmp(name, template_names[i].name)) return template_names[i].t;
    return GL_TEMPLATE_UNKNOWN;
}

const char *gl_template_name(gl_template t) {
    for (size_t i = 0; i < sizeof template_names / sizeof template_names[0]; i++)
        if (template_names[i].t == t) return template_names[i].name;
    return "unknown";
}

const char *gl_template_image_placeholder(gl_template t) {
    switch (t) {
    case GL_TEMPLATE_CHATML: return "<|vision_start|><|image_pad|><|vision_end|>";
    case GL_TEMPLATE_SMOLVLM:
    case GL_TEMPLATE_LLAVA:
    case GL_TEMPLATE_LLAMA3:
    case GL_TEMPLATE_LLAMA31: return "<image>";
    case GL_TEMPLATE_GEMMA3: return "<start_of_image>";
    case GL_TEMPLATE_UNKNOWN: break;
    }
    return NULL;
}

/* ---- Detection ---- */

static int has(const char *s, const char *needle) { return strstr(s, needle) != NULL; }

gl_template gl_template_detect(const char *jinja, const char *arch) {
    if (jinja) {
        gl_template named = gl_template_from_name(jinja);
        if (named != GL_TEMPLATE_UNKNOWN) return named;
        // SmolVLM opens with <|im_start|> (its BOS) but is not ChatML.
        if (has(jinja, "<|im_start|>"))
            return has(jinja, "<end_of_utterance>") ? GL_TEMPLATE_SMOLVLM : GL_TEMPLATE_CHATML;
        if (has(jinja, "<start_of_turn>")) return GL_TEMPLATE_GEMMA3;
        if (has(jinja, "<|start_header_id|>") && has(jinja, "<|end_header_id|>"))
            return has(jinja, "Cutting Knowledge Date") ? GL_TEMPLATE_LLAMA31 : GL_TEMPLATE_LLAMA3;
        // llava-1.5-hf writes the roles with .upper(); Vicuna-style templates spell "USER: ".
        if (has(jinja, "ASSISTANT:") && (has(jinja, "USER: ") || has(jinja, "upper()")))
            return GL_TEMPLATE_LLAVA;
    }
    if (arch) {
        if (!strncmp(arch, "qwen2", 5)) return GL_TEMPLATE_CHATML;
        if (!strcmp(arch, "gemma3")) return GL_TEMPLATE_GEMMA3;
        if (!strcmp(arch, "llama")) return GL_TEMPLATE_LLAVA;
    }
    return GL_TEMPLATE_UNKNOWN;
}

/* ---- Output ---- */

typedef struct {
    gl_prompt p;
    size_t cap;     // bytes allocated for p.text
    size_t img_cap; // entries allocated for p.image_at
    size_t lit_cap; // entries allocated for p.literal
    int oom;        // an append failed; the text is incomplete
} out_buf;

static void put_n(out_buf *b, const char *s, size_t n) {
    if (b->oom) return;
    size_t need;
    if (gl_add_overflow(b->p.len, n, &need) || gl_add_overflow(need, 1, &need)) {
        b->oom = 1;
        return;
    }
    if (need > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < need) {
            if (gl_mul_overflow(cap, 2, &cap)) {
                b->oom = 1;
                return;
            }
        }
        char *t = gl_realloc(b->p.text, cap);
        if (!t) {
            b->oom = 1;
            return;
        }
        b->p.text = t;
        b->cap = cap;
    }
    memcpy(b->p.text + b->p.len, s, n);
    b->p.len += n;
    b->p.text[b->p.len] = 0;
}

static void put(out_buf *b, const char *s) { put_n(b, s, strlen(s)); }

/* Records an image placeholder starting at the current end of the text. */
static void mark_image(out_buf *b, size_t at) {
    if (b->oom) return;
    if (b->p.n_images == b->img_cap) {
        size_t cap = b->img_cap ? b->img_cap * 2 : 8;
        size_t *a = gl_realloc(b->p.image_at, cap * sizeof *a);
        if (!a) {
            b->oom = 1;
            return;
        }
        b->p.image_at = a;
        b->img_cap = cap;
    }
    b->p.image_at[b->p.n_images++] = at;
}

/* Puts message text, recording its range as the caller's. */
static void put_literal_n(out_buf *b, const char *s, size_t n) {
    size_t at = b->p.len;
    put_n(b, s, n);
    if (b->oom || n == 0) return;
    if (b->p.n_literal == b->lit_cap) {
        size_t cap = b->lit_cap ? b->lit_cap * 2 : 8;
        gl_span *a = gl_realloc(b->p.literal, cap * sizeof *a);
        if (!a) {
            b->oom = 1;
            return;
        }
        b->p.literal = a;
        b->lit_cap = cap;
    }
    b->p.literal[b->p.n_literal++] = (gl_span){at, n};
}

static void put_literal(out_buf *b, const char *s) { put_literal_n(b, s, strlen(s)); }

static void put_image(out_buf *b, gl_template t) {
    mark_image(b, b->p.len);
    put(b, gl_template_image_placeholder(t));
}

/* ---- Python's str.strip() ---- */

static int is_py_space(uint32_t c) {
    return (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20) || c == 0x85 || c == 0xa0 ||
           c == 0x1680 || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f ||
           c == 0x205f || c == 0x3000;
}

/* Decodes one UTF-8 sequence at s (n bytes available); its length, or 0
 * when malformed (malformed bytes are never whitespace). */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp) {
    size_t len = s[0] < 0x80 ? 1 : (s[0] & 0xe0) == 0xc0 ? 2 : (s[0] & 0xf0) == 0xe0 ? 3
               : (s[0] & 0xf8) == 0xf0 ? 4 : 0;
    if (len == 0 || len > n) return 0;
    uint32_t c = len == 1 ? s[0] : s[0] & (0x7f >> len);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        c = c << 6 | (s[i] & 0x3f);
    }
    *cp = c;
    return len;
}

/* The [*lo, *hi) of s[0..n) left by stripping whitespace from both ends. */
static void trim(const char *text, size_t n, size_t *lo, size_t *hi) {
    const unsigned char *s = (const unsigned char *)text;
    uint32_t c;
    size_t a = 0, b = n, len;
    while (a < b && (len = utf8_decode(s + a, b - a, &c)) && is_py_space(c)) a += len;
    while (b > a) {
        size_t start = b - 1;
        while (start > a && b - start < 4 && (s[start] & 0xc0) == 0x80) start--;
        len = utf8_decode(s + start, b - start, &c);
        if (len != b - start || !is_py_space(c)) break;
        b = start;
    }
    *lo = a;
    *hi = b;
}

static void put_trimmed(out_buf *b, const char *s) {
    size_t lo, hi;
    trim(s, strlen(s), &lo, &hi);
    put_literal_n(b, s + lo, hi - lo);
}

/* The Llama 3 templates' `message['content'] | trim` over the message
 * flattened to a string (an image part is "<image>\n"). */
static void put_flat_trimmed(out_buf *b, const gl_chat_message *m) {
    out_buf flat = {0};
    put(&flat, "");
    for (size_t i = 0; i < m->n_parts; i++) {
        if (m->parts[i].type == GL_PART_IMAGE) {
            put_image(&flat, GL_TEMPLATE_LLAMA3);
            put(&flat, "\n");
        } else {
            put(&flat, m->parts[i].text);
        }
    }
    if (flat.oom) {
        b->oom = 1;
    } else {
        size_t lo, hi, base = b->p.len;
        trim(flat.p.text, flat.p.len, &lo, &hi);
        put_literal_n(b, flat.p.text + lo, hi - lo);
        // "<image>" is not whitespace, so every placeholder lies inside [lo, hi).
        for (size_t i = 0; i < flat.p.n_images; i++) mark_image(b, base + flat.p.image_at[i] - lo);
    }
    gl_prompt_free(&flat.p);
}

/* ---- Renderers ---- */

static const char *const role_names[] = {"system", "user", "assistant"};

/* Qwen2-VL-Instruct: ChatML with a default system prompt. */
static glimpse_status render_chatml(out_buf *b, const gl_chat_message *ms, size_t n, int gen) {
    for (size_t i = 0; i < n; i++) {
        if (i == 0 && ms[0].role != GL_ROLE_SYSTEM)
            put(b, "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n");
        put(b, "<|im_start|>");
        put(b, role_names[ms[i].role]);
        put(b, "\n");
        for (size_t j = 0; j < ms[i].n_parts; j++) {
            if (ms[i].parts[j].type == GL_PART_IMAGE)
                put_image(b, GL_TEMPLATE_CHATML);
            else
                put_literal(b, ms[i].parts[j].text);
        }
        put(b, "<|im_end|>\n");
    }
    if (gen) put(b, "<|im_start|>assistant\n");
    return GLIMPSE_OK;
}

/* SmolVLM-Instruct: "User:<image>…" when a message opens with an image, else "User: …". */
static glimpse_status render_smolvlm(out_buf *b, const gl_chat_message *ms, size_t n, int gen) {
    static const char *const capitalized[] = {"System", "User", "Assistant"};
    put(b, "<|im_start|>");
    for (size_t i = 0; i < n; i++) {
        // The template reads message['content'][0]['type'], an error on empty content.
        if (ms[i].n_parts == 0)
            return gl_error(GLIMPSE_ERR_INVALID_ARG, "chat template smolvlm: message %zu has no content", i);
        put(b, capitalized[ms[i].role]);
        put(b, ms[i].parts[0].type == GL_PART_IMAGE ? ":" : ": ");
        for (size_t j = 0; j < ms[i].n_parts; j++) {
            if (ms[i].parts[j].type == GL_PART_IMAGE)
                put_image(b, GL_TEMPLATE_SMOLVLM);
            else
                put_literal(b, ms[i].parts[j].text);
        }
        put(b, "<end_of_utterance>\n");
    }
    if (gen) put(b, "Assistant:");
    return GLIMPSE_OK;
}

/* llava-1.5-hf: per message all images first, then each text followed by a space. */
static glimpse_status render_llava(out_buf *b, const gl_chat_message *ms, size_t n, int gen) {
    for (size_t i = 0; i < n; i++) {
        if (ms[i].role == GL_ROLE_USER) put(b, "USER: ");
        if (ms[i].role == GL_ROLE_ASSISTANT) put(b, "ASSISTANT: ");
        for (size_t j = 0; j < ms[i].n_parts; j++) {
            if (ms[i].parts[j].type != GL_PART_IMAGE) continue;
            put_image(b, GL_TEMPLATE_LLAVA);
            put(b, "\n");
        }
        for (size_t j = 0; j < ms[i].n_parts; j++) {
            if (ms[i].parts[j].type != GL_PART_TEXT) continue;
            put_literal(b, ms[i].parts[j].text);
            put(b, " ");
        }
    }
    if (gen) put(b, "ASSISTANT:");
    return GLIMPSE_OK;
}

static void put_llama3_turn(out_buf *b, const gl_chat_message *m) {
    put(b, "<|start_header_id|>");
    put(b, role_names[m->role]);
    put(b, "<|end_header_id|>\n\n");
    put_flat_trimmed(b, m);
    put(b, "<|eot_id|>");
}

/* Meta-Llama-3-Instruct. */
static glimpse_status render_llama3(out_buf *b, const gl_chat_message *ms, size_t n, int gen) {
    put(b, "<|begin_of_text|>");
    for (size_t i = 0; i < n; i++) put_llama3_turn(b, &ms[i]);
    if (gen) put(b, "<|start_header_id|>assistant<|end_header_id|>\n\n");
    return GLIMPSE_OK;
}

/* Llama-3.1-Instruct without tools: the system turn always exists and
 * carries the knowledge-cutoff lines before the (trimmed) system message. */
static glimpse_status render_llama31(out_buf *b, const gl_chat_message *ms, size_t n, int gen) {
    put(b, "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"
           "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n");
    size_t first = 0;
    if (ms[0].role == GL_ROLE_SYSTEM) {
        put_flat_trimmed(b, &ms[0]);
        first = 1;
    }
    put(b, "<|eot_id|>");
    for (size_t i = first; i < n; i++) put_llama3_turn(b, &ms[i]);
    if (gen) put(b, "<|start_header_id|>assistant<|end_header_id|>\n\n");
    return GLIMPSE_OK;
}

/* gemma-3-it: the system text (untrimmed) opens the first turn; "model" for
 * the assistant; text parts trimmed; turns must alternate, user first. */
static glimpse_status render_gemma3(out_buf *b, const gl_chat_message *ms, size_t n, int gen) {
    const char *prefix = NULL;
    size_t first = 0;
    if (ms[0].role == GL_ROLE_SYSTEM) {
        // The template takes messages[0]['content'][0]['text'] and fails without it.
        if (ms[0].n_parts == 0 || ms[0].parts[0].type != GL_PART_TEXT)
            return gl_error(GLIMPSE_ERR_INVALID_ARG,
                            "chat template gemma3: the system message must start with text");
        prefix = ms[0].parts[0].text;
        first = 1;
    }
    put(b, "<bos>");
    for (size_t i = first; i < n; i++) {
        int want_user = (i - first) % 2 == 0;
        if ((ms[i].role == GL_ROLE_USER) != want_user)
            return gl_error(GLIMPSE_ERR_INVALID_ARG,
                            "chat template gemma3: message %zu: roles must alternate user/assistant", i);
        put(b, "<start_of_turn>");
        put(b, ms[i].role == GL_ROLE_ASSISTANT ? "model" : role_names[ms[i].role]);
        put(b, "\n");
        if (i == first && prefix) {
            put_literal(b, prefix);
            put(b, "\n\n");
        }
        for (size_t j = 0; j < ms[i].n_parts; j++) {
            if (ms[i].parts[j].type == GL_PART_IMAGE)
                put_image(b, GL_TEMPLATE_GEMMA3);
            else
                put_trimmed(b, ms[i].parts[j].text);
        }
        put(b, "<end_of_turn>\n");
    }
    if (gen) put(b, "<start_of_turn>model\n");
    return GLIMPSE_OK;
}

/* ---- Entry point ---- */

static glimpse_status check_messages(const gl_chat_message *ms, size_t n) {
    if (!ms || n == 0) return gl_error(GLIMPSE_ERR_INVALID_ARG, "chat template: no messages");
    for (size_t i = 0; i < n; i++) {
        if (ms[i].role != GL_ROLE_SYSTEM && ms[i].role != GL_ROLE_USER && ms[i].role != GL_ROLE_ASSISTANT)
            return gl_error(GLIMPSE_ERR_INVALID_ARG, "chat template: message %zu has role %d", i,
                            (int)ms[i].role);
        if (ms[i].n_parts && !ms[i].parts)
            return gl_error(GLIMPSE_ERR_INVALID_ARG, "chat template: message %zu has no parts array", i);
        for (size_t j = 0; j < ms[i].n_parts; j++) {
            const gl_chat_part *part = &ms[i].parts[j];
            if (part->type != GL_PART_TEXT && part->type != GL_PART_IMAGE)
                return gl_error(GLIMPSE_ERR_INVALID_ARG, "chat template: message %zu part %zu has type %d",
                                i, j, (int)part->type);
            if (part->type == GL_PART_TEXT && !part->text)
                return gl_error(GLIMPSE_ERR_INVALID_ARG, "chat template: message %zu part %zu has no text",
                                i, j);
        }
    }
    return GLIMPSE_OK;
}

glimpse_status gl_template_render(gl_template t, const gl_chat_message *ms, size_t n,
                                  int add_generation_prompt, gl_prompt *out) {
    *out = (gl_prompt){0};
    glimpse_status st = check_messages(ms, n);
    if (st != GLIMPSE_OK) return st;
    out_buf b = {0};
    put(&b, ""); // an empty rendering is still a string
    int gen = add_generation_prompt != 0;
    switch (t) {
    case GL_TEMPLATE_CHATML: st = render_chatml(&b, ms, n, gen); break;
    case GL_TEMPLATE_SMOLVLM: st = render_smolvlm(&b, ms, n, gen); break;
    case GL_TEMPLATE_LLAVA: st = render_llava(&b, ms, n, gen); break;
    case GL_TEMPLATE_LLAMA3: st = render_llama3(&b, ms, n, gen); break;
    case GL_TEMPLATE_LLAMA31: st = render_llama31(&b, ms, n, gen); break;
    case GL_TEMPLATE_GEMMA3: st = render_gemma3(&b, ms, n, gen); break;
    default: st = gl_error(GLIMPSE_ERR_INVALID_ARG, "chat template: unknown family %d", (int)t); break;
    }
    if (st == GLIMPSE_OK && b.oom) st = gl_error_nomem("chat template");
    if (st != GLIMPSE_OK) {
        gl_prompt_free(&b.p);
        return st;
    }
    *out = b.p;
    return GLIMPSE_OK;
}

void gl_prompt_free(gl_prompt *p) {
    if (!p) return;
    gl_free(p->text);
    gl_free(p->image_at);
    gl_free(p->literal);
    *p = (gl_prompt){0};
}
