/* spm.h - SentencePiece BPE (`tokenizer.ggml.model` = "llama"): pieces with
 * scores, U+2581 for spaces, <0xXX> byte fallback. */
#ifndef GLIMPSE_SPM_H
#define GLIMPSE_SPM_H

#include "vocab.h"

/* Finds the byte-fallback tokens of v (tokens already loaded). */
void gl_spm_load(gl_vocab *v);

/* Appends the tokens of a text fragment (no special tokens in it).
 * space_prefix: put a space before it (add_space_prefix at the start of the
 * text and after a special token). */
glimpse_status gl_spm_encode(const gl_vocab *v, const char *text, size_t len, int space_prefix, gl_ids *out);

#endif
