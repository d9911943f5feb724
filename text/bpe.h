/* bpe.h - byte-level BPE (GPT-2 style, `tokenizer.ggml.model` = "gpt2").
 *
 * Vocabulary pieces are written in GPT-2's byte alphabet: every byte is shown
 * as one printable character (openai/gpt-2 encoder.py bytes_to_unicode).
 * Merges are "left right" strings, lower index = applied first. */
#ifndef GLIMPSE_BPE_H
#define GLIMPSE_BPE_H

#include "vocab.h"

/* The GPT-2 character of byte b as UTF-8 into out (1 or 2 bytes); returns its length. */
int gl_bpe_byte_char(uint8_t b, char out[2]);
/* The byte whose GPT-2 character is code point cp, or -1. */
int gl_bpe_char_byte(uint32_t cp);

/* Reads `tokenizer.ggml.merges` and `.pre` into v (tokens already loaded). */
glimpse_status gl_bpe_load(gl_vocab *v, const gl_gguf *g);
void gl_bpe_free(gl_vocab *v);

/* Appends the tokens of a text fragment (no special tokens in it). */
glimpse_status gl_bpe_encode(const gl_vocab *v, const char *text, size_t len, gl_ids *out);

#endif
