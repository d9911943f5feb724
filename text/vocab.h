/* vocab.h - a tokenizer vocabulary loaded from GGUF `tokenizer.ggml.*`
 * metadata, and text -> token ids (internal API).
 *
 * Two tokenizer kinds are supported: byte-level BPE (`tokenizer.ggml.model` =
 * "gpt2", bpe.c, with the pre-tokenizer of pretok.c) and SentencePiece BPE
 * ("llama", spm.c). Special tokens follow llama.cpp src/llama-vocab.cpp:
 * CONTROL (and UNKNOWN) tokens are recognised in text only with parse_special;
 * USER_DEFINED tokens (Hugging Face "added tokens" that are not special) are
 * always recognised, as Hugging Face tokenizers and llama.cpp both do. A vocab
 * is read-only after loading: any number of threads may tokenize with it. */
#ifndef GLIMPSE_VOCAB_H
#define GLIMPSE_VOCAB_H

#include "gguf.h"
#include "glimpse.h"

#include <stddef.h>
#include <stdint.h>

/* Token types as stored in `tokenizer.ggml.token_type` (llama.cpp's
 * llama_token_type). Anything else is treated as UNDEFINED. */
enum {
    GL_TOKEN_UNDEFINED = 0,
    GL_TOKEN_NORMAL = 1,
    GL_TOKEN_UNKNOWN = 2,      /* the <unk> token */
    GL_TOKEN_CONTROL = 3,      /* BOS, EOS, chat markers: parsed only with parse_special */
    GL_TOKEN_USER_DEFINED = 4, /* added tokens: always parsed, printed verbatim */
    GL_TOKEN_UNUSED = 5,
    GL_TOKEN_BYTE = 6,         /* SentencePiece byte fallback <0xXX> */
};

typedef enum {
    GL_VOCAB_BPE, /* "gpt2": byte-level BPE with merges */
    GL_VOCAB_SPM, /* "llama": SentencePiece BPE with scores and byte fallback */
} gl_vocab_kind;

typedef struct gl_pretok gl_pretok;
typedef struct gl_bpe_merges gl_bpe_merges;
typedef struct gl_special_trie gl_special_trie;

typedef struct {
    uint32_t text_off, text_len;   /* the piece as stored in the GGUF, in vocab->text */
    uint32_t bytes_off, bytes_len; /* what it decodes to, in vocab->bytes */
    float score;                   /* SentencePiece merge priority (higher first) */
    uint8_t type;                  /* GL_TOKEN_* */
    uint8_t eog;                   /* ends generation */
} gl_token;

typedef struct glimpse_vocab gl_vocab;

struct glimpse_vocab {
    char *name; /* file name, for messages */
    gl_vocab_kind kind;
    int32_t n_tokens;
    gl_token *tokens; /* (n_tokens) */
    char *text;       /* all pieces as stored, back to back */
    char *bytes;      /* all decoded pieces, back to back */

    int32_t *index; /* open-addressing hash of stored piece -> id, -1 empty */
    size_t index_cap;
    size_t max_token_len;

    int32_t bos, eos, eot, unk; /* -1 when absent */
    int add_bos, add_eos;   /* what the model's "special tokens" around a text are */
    int add_space_prefix;   /* SPM: a space before the text (and after each special token) */
    int32_t byte_ids[256];  /* BPE: the token of each byte's GPT-2 character; SPM: <0xXX> */

    gl_pretok *pretok;      /* BPE only */
    gl_bpe_merges *merges;  /* BPE only */
    int ignore_merges;      /* BPE: a whole pre-token found in the vocab is one token (Llama 3) */
    gl_special_trie *specials;
};

/* A growing array of token ids. */
typedef struct {
    int32_t *ids;
    size_t n, cap;
} gl_ids;

glimpse_status gl_ids_push(gl_ids *out, int32_t id);


/* ==== Loading and lookup ==== */

/* Reads the tokenizer of g. The vocab copies what it needs: g may be closed. */
glimpse_status gl_vocab_load(const gl_gguf *g, gl_vocab **out);
void gl_vocab_free(gl_vocab *v);

/* The id of the token whose stored piece is exactly these bytes, or -1.
 * ("<image>", "<row_1_col_1>", "<|im_end|>"; SentencePiece pieces use U+2581
 * for spaces and byte-level BPE pieces use the GPT-2 byte characters.) */
int32_t gl_vocab_find(const gl_vocab *v, const char *piece, size_t len);

int32_t gl_vocab_n_tokens(const gl_vocab *v);
int32_t gl_vocab_bos(const gl_vocab *v);
int32_t gl_vocab_eos(const gl_vocab *v);
int32_t gl_vocab_eot(const gl_vocab *v); /* -1 when the model has none */
/* Whether generating id ends the answer (EOS, EOT, <|im_end|>, <end_of_utterance>...). */
int gl_vocab_is_eog(const gl_vocab *v, int32_t id);
/* The stored piece of id (not NUL-terminated); NULL when id is out of range. */
const char *gl_vocab_piece(const gl_vocab *v, int32_t id, size_t *len);
int gl_vocab_token_type(const gl_vocab *v, int32_t id);

/* ==== Tokenizing ==== */

/* The tokens of text into *ids (a new gl_malloc'd array the caller frees
 * with gl_free). add_special: put the model's special tokens around the text
 * as llama.cpp's add_special does: BOS before it when the model asks for one
 * (tokenizer.ggml.add_bos_token, else llama.cpp's default for the tokenizer
 * kind), EOS after it in the rare models with add_eos_token. parse_special:
 * recognise CONTROL tokens written in the text. */
glimpse_status gl_tokenize(const gl_vocab *v, const char *text, size_t len, int add_special, int parse_special,
                           int32_t **ids, size_t *n_ids);

#endif
