/* wpm.h - WordPiece (`tokenizer.ggml.model` = "bert"): BERT's text
 * normalisation and word splitting, then greedy longest-match-first pieces.
 *
 * The GGUF stores a word-initial piece with a leading U+2581 ("▁hello") and a
 * continuation piece bare ("llo", Hugging Face's "##llo"), as llama.cpp's
 * convert_hf_to_gguf.py writes BERT vocabularies. */
#ifndef GLIMPSE_WPM_H
#define GLIMPSE_WPM_H

#include "vocab.h"

/* Appends the tokens of a text fragment (no special tokens in it). A word
 * that cannot be spelled with the vocabulary's pieces, or that is longer than
 * 100 characters, becomes the unknown token (dropped if the vocabulary has
 * none). */
glimpse_status gl_wpm_encode(const gl_vocab *v, const char *text, size_t len, gl_ids *out);

#endif
