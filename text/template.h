/* template.h - renders a conversation in a model family's chat format.
 *
 * No jinja engine: one small renderer per family, each reproducing what
 * transformers' apply_chat_template makes of that family's official
 * template (the template texts and the expected renderings are in
 * tests/fixtures/templates/, made by tests/fixtures/make_template_fixtures.py):
 *
 *   name      models                             official template
 *   chatml    Qwen2, Qwen2-VL, Qwen2.5-VL        Qwen2-VL-7B-Instruct (default
 *                                                system prompt included)
 *   smolvlm   SmolVLM, Idefics3                  SmolVLM-256M-Instruct
 *   llava     LLaVA-1.5 (Vicuna v1 format)       llava-1.5-7b-hf
 *   llama3    Llama 3 Instruct                   Meta-Llama-3-8B-Instruct
 *   llama3.1  Llama 3.1 / 3.2 / 3.3 Instruct     Llama-3.1-8B-Instruct, without
 *                                                tools; "Today Date" is the
 *                                                template's default 26 Jul 2024
 *   gemma3    Gemma 3                            gemma-3-4b-it
 *
 * An image part becomes the family's image placeholder (see
 * gl_template_image_placeholder), which the engine later expands into the
 * image's tokens; the renderer reports where each placeholder starts, so a
 * user who types "<image>" cannot create an image slot. The Llama 3
 * templates take plain-string content, so there an image part becomes
 * "<image>\n" inside the text before the template trims it.
 *
 * The rendering starts with the BOS token's text where the template writes
 * it (llama3, llama3.1: <|begin_of_text|>, gemma3: <bos>; smolvlm's leading
 * <|im_start|> is its BOS too): tokenize it without adding another BOS. */
#ifndef GLIMPSE_TEMPLATE_H
#define GLIMPSE_TEMPLATE_H

#include "glimpse.h"
#include "mem.h"

#include <stddef.h>

typedef enum {
    GL_TEMPLATE_UNKNOWN = 0, /* no family recognised */
    GL_TEMPLATE_CHATML,
    GL_TEMPLATE_SMOLVLM,
    GL_TEMPLATE_LLAVA,
    GL_TEMPLATE_LLAMA3,
    GL_TEMPLATE_LLAMA31,
    GL_TEMPLATE_GEMMA3,
} gl_template;

typedef enum {
    GL_ROLE_SYSTEM,
    GL_ROLE_USER,
    GL_ROLE_ASSISTANT,
} gl_chat_role;

typedef enum {
    GL_PART_TEXT,  /* text holds UTF-8, NUL-terminated */
    GL_PART_IMAGE, /* text unused */
} gl_part_type;

typedef struct {
    gl_part_type type;
    const char *text;
} gl_chat_part;

typedef struct {
    gl_chat_role role;
    const gl_chat_part *parts; /* (n_parts) in order */
    size_t n_parts;
} gl_chat_message;

typedef struct {
    char *text;       /* the prompt, NUL-terminated */
    size_t len;
    size_t *image_at; /* (n_images) byte offset in text of each image placeholder, in order */
    size_t n_images;
    gl_span *literal; /* (n_literal) byte ranges holding the callers' message text, in order, so
                         that control tokens typed there can be kept from being interpreted */
    size_t n_literal;
} gl_prompt;

/* The family of a GGUF's `tokenizer.chat_template` (NULL when absent),
 * recognised by distinctive substrings as llama.cpp's
 * llm_chat_detect_template does; a template that is just a family name
 * counts too. Otherwise by `general.architecture` (NULL allowed): qwen2*
 * -> chatml, gemma3 -> gemma3, llama -> llava (legacy LLaVA-1.5 GGUFs carry
 * no template; SmolVLM and Llama 3 GGUFs do). GL_TEMPLATE_UNKNOWN when
 * neither tells. */
gl_template gl_template_detect(const char *jinja_or_null, const char *arch);

/* `--chat-template NAME`: the names in the table above, plus the aliases
 * "qwen2-vl" (chatml) and "gemma" (gemma3). GL_TEMPLATE_UNKNOWN if none. */
gl_template gl_template_from_name(const char *name);
const char *gl_template_name(gl_template t); /* "unknown" for GL_TEMPLATE_UNKNOWN */
/* The text an image part renders as; NULL for GL_TEMPLATE_UNKNOWN. */
const char *gl_template_image_placeholder(gl_template t);

/* Renders messages (at least one) into *out, appending the assistant's
 * turn header when add_generation_prompt is set. Fails like the official
 * template does: gemma3 requires user/assistant turns to alternate after an
 * optional leading system message that starts with text; smolvlm requires
 * every message to have a part. Release with gl_prompt_free. */
glimpse_status gl_template_render(gl_template t, const gl_chat_message *messages, size_t n_messages,
                                  int add_generation_prompt, gl_prompt *out);
void gl_prompt_free(gl_prompt *p);

#endif
