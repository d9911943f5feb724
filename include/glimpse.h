/* glimpse.h - the public C API of glimpse, a local multimodal assistant.
 *
 * glimpse runs vision-language models stored as GGUF files in llama.cpp's
 * layout (a text-model GGUF plus an "mmproj" GGUF) on the CPU. This header is
 * the whole public interface; the `glimpse` command uses nothing else.
 *
 * Conventions
 *   - Every fallible function returns a glimpse_status. On failure,
 *     glimpse_last_error() holds one line naming the file or object and the
 *     problem. The text is per thread and valid until the next call on that
 *     thread.
 *   - Handles are opaque; each open or load function has a matching close or free.
 *   - Memory returned to the caller is released with glimpse_free().
 *   - Thread safety: a loaded model may be shared by sessions on different
 *     threads; one handle of any other kind is used by one thread at a time.
 *   - Untrusted input (GGUF files, images, prompts) is checked before use:
 *     malformed input is an error, never a crash.
 */
#ifndef GLIMPSE_H
#define GLIMPSE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ==== Status and errors ==== */

typedef enum {
    GLIMPSE_OK = 0,
    GLIMPSE_ERR_INVALID_ARG,  /* the caller passed something unusable */
    GLIMPSE_ERR_IO,           /* a file is missing or cannot be read */
    GLIMPSE_ERR_FORMAT,       /* a file is malformed (truncated, corrupt, inconsistent) */
    GLIMPSE_ERR_UNSUPPORTED,  /* well-formed, but a type/architecture/format glimpse lacks */
    GLIMPSE_ERR_LIMIT,        /* over a configured limit (image pixels, context, sizes) */
    GLIMPSE_ERR_NOMEM,        /* an allocation failed */
    GLIMPSE_ERR_MISMATCH,     /* a text model and an mmproj that do not belong together */
    GLIMPSE_ERR_CANCELLED,    /* the caller's cancel flag was raised */
    GLIMPSE_ERR_CONTEXT_FULL, /* the conversation no longer fits the context */
} glimpse_status;

/* One line describing the last failure on this thread. */
const char *glimpse_last_error(void);
/* A short fixed name for a status ("malformed file"). */
const char *glimpse_status_name(glimpse_status status);
/* Releases memory that a glimpse function returned to the caller. */
void glimpse_free(void *ptr);

/* ==== GGUF files: inspection ==== */

typedef struct glimpse_gguf glimpse_gguf;

/* GGUF metadata value types, as stored in the file. */
typedef enum {
    GLIMPSE_GGUF_U8 = 0, GLIMPSE_GGUF_I8 = 1, GLIMPSE_GGUF_U16 = 2, GLIMPSE_GGUF_I16 = 3,
    GLIMPSE_GGUF_U32 = 4, GLIMPSE_GGUF_I32 = 5, GLIMPSE_GGUF_F32 = 6, GLIMPSE_GGUF_BOOL = 7,
    GLIMPSE_GGUF_STRING = 8, GLIMPSE_GGUF_ARRAY = 9, GLIMPSE_GGUF_U64 = 10, GLIMPSE_GGUF_I64 = 11,
    GLIMPSE_GGUF_F64 = 12,
} glimpse_gguf_type;

typedef struct {
    const char *name;      /* tensor name, NUL-terminated, owned by the file handle */
    int type;              /* ggml type id */
    const char *type_name; /* "Q8_0", "F16", ... ("unknown" for ids glimpse cannot read) */
    int supported;         /* 1 when glimpse can dequantise this type */
    int n_dims;
    int64_t ne[4];         /* dimensions, innermost (row length) first; unused ones are 1 */
    uint64_t offset;       /* byte offset of the data in the file */
    uint64_t nbytes;
} glimpse_tensor_info;

/* Opens and validates a GGUF file (mapped read-only). */
glimpse_status glimpse_gguf_open(const char *path, glimpse_gguf **out);
void glimpse_gguf_close(glimpse_gguf *file);

uint32_t glimpse_gguf_version(const glimpse_gguf *file);
uint64_t glimpse_gguf_alignment(const glimpse_gguf *file);
uint64_t glimpse_gguf_file_size(const glimpse_gguf *file);

int64_t glimpse_gguf_n_kv(const glimpse_gguf *file);
const char *glimpse_gguf_kv_key(const glimpse_gguf *file, int64_t i);
glimpse_gguf_type glimpse_gguf_kv_type(const glimpse_gguf *file, int64_t i);
/* For arrays: element type and count (0 for non-arrays). */
glimpse_gguf_type glimpse_gguf_kv_array_type(const glimpse_gguf *file, int64_t i);
uint64_t glimpse_gguf_kv_array_len(const glimpse_gguf *file, int64_t i);
/* Index of a key, or -1. */
int64_t glimpse_gguf_find_key(const glimpse_gguf *file, const char *key);
/* Writes the value as text into buf (always NUL-terminated, cut to size). Arrays
 * show at most max_items elements followed by "... (N items)". With json != 0
 * the text is a JSON value. Returns the length the full text would have. */
size_t glimpse_gguf_kv_format(const glimpse_gguf *file, int64_t i, int max_items, int json,
                              char *buf, size_t size);

int64_t glimpse_gguf_n_tensors(const glimpse_gguf *file);
glimpse_status glimpse_gguf_tensor_info(const glimpse_gguf *file, int64_t i, glimpse_tensor_info *out);
/* Index of a tensor, or -1. */
int64_t glimpse_gguf_find_tensor(const glimpse_gguf *file, const char *name);

/* ==== Tokenizer ==== */

/* A model's tokenizer, read from the tokenizer.ggml.* metadata of any GGUF
 * file (a text model or a vocab-only file). Byte-level BPE ("gpt2": GPT-2,
 * Llama 3, Qwen2, SmolLM, StarCoder, DeepSeek, Falcon, MPT) and SentencePiece
 * ("llama": Llama 2, Phi-3, Baichuan) tokenizers are supported; token ids match
 * Hugging Face tokenizers. Read-only once loaded: threads may share one. */
typedef struct glimpse_vocab glimpse_vocab;

enum {
    /* Prepend BOS when the model asks for it (tokenizer.ggml.add_bos_token),
     * and append EOS in the rare models that ask for that (add_eos_token). */
    GLIMPSE_TOKENIZE_ADD_BOS = 1u << 0,
    /* Read control tokens written in the text ("<|im_start|>", "<s>"), as a
     * chat template's output needs. Leave unset for text a user typed. Added
     * tokens that are not control tokens are always read. */
    GLIMPSE_TOKENIZE_PARSE_SPECIAL = 1u << 1,
};

glimpse_status glimpse_vocab_load(const char *path, glimpse_vocab **out);
void glimpse_vocab_free(glimpse_vocab *vocab);
int32_t glimpse_vocab_n_tokens(const glimpse_vocab *vocab);
/* The token ids of text[0, len) (any bytes; invalid UTF-8 is kept as bytes)
 * into *ids, released with glimpse_free. flags: GLIMPSE_TOKENIZE_*. */
glimpse_status glimpse_tokenize(const glimpse_vocab *vocab, const char *text, size_t len, unsigned flags,
                                int32_t **ids, size_t *n_ids);
/* The bytes one token stands for (" Hello", "<|im_end|>", or part of a UTF-8
 * character), NUL-terminated in buf, cut to size. Returns the full length
 * (like snprintf); 0 for an id out of range. */
size_t glimpse_token_piece(const glimpse_vocab *vocab, int32_t id, char *buf, size_t size);
/* Decodes ids to text (NUL-terminated, released with glimpse_free). Control
 * tokens are left out. */
glimpse_status glimpse_detokenize(const glimpse_vocab *vocab, const int32_t *ids, size_t n_ids, char **text,
                                  size_t *len);

#ifdef __cplusplus
}
#endif

#endif
