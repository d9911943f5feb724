/* pretok.h - pre-tokenizers of byte-level BPE models: the regex splits that
 * Hugging Face tokenizers applies before BPE, chosen by `tokenizer.ggml.pre`. */
#ifndef GLIMPSE_PRETOK_H
#define GLIMPSE_PRETOK_H

#include "glimpse.h"

#include "mem.h"

#include <stddef.h>

typedef struct gl_pretok gl_pretok;


typedef struct {
    gl_span *spans;
    size_t n, cap;
} gl_spans;

/* Builds the pre-tokenizer named pre ("gpt-2", "llama-bpe", "qwen2", ...;
 * NULL or "default" for models converted without one). file names the model
 * in messages. Unknown names are GLIMPSE_ERR_UNSUPPORTED. */
glimpse_status gl_pretok_create(const char *pre, size_t pre_len, const char *file, gl_pretok **out);
void gl_pretok_free(gl_pretok *p);
/* Non-zero when the model's BPE takes a whole pre-token that is in the
 * vocabulary as one token without merging (Hugging Face ignore_merges). */
int gl_pretok_ignore_merges(const gl_pretok *p);
/* llama.cpp's add_bos default for this pre-tokenizer (Llama 3: yes). */
int gl_pretok_add_bos(const gl_pretok *p);

/* Splits text into pre-tokens: out gets spans that cover text in order, none
 * empty. out->n is reset; out's arrays are reused and grown (gl_free them). */
glimpse_status gl_pretok_split(const gl_pretok *p, const char *text, size_t len, gl_spans *out);

#endif
