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

/* ==== Models ==== */

typedef struct glimpse_model glimpse_model;

typedef struct {
    const char *model_path;   /* text-model GGUF, or a directory holding a text GGUF and an mmproj GGUF;
                                 NULL: only the mmproj is loaded (embeddings, no text) */
    const char *mmproj_path;  /* mmproj GGUF; NULL: the one in model_path's directory, if any */
    int n_threads;            /* 0: one per online CPU */
    uint64_t max_image_pixels;/* images larger than this are refused; 0: 100 megapixels */
    const char *chat_template;/* family name to override detection ("smolvlm", "chatml", "llava",
                                 "llama3", "gemma"); NULL: detect from the model */
} glimpse_model_params;

glimpse_model_params glimpse_model_default_params(void);
/* Loads and cross-checks a model pair (an mmproj that does not fit the text
 * model is GLIMPSE_ERR_MISMATCH, naming both files). */
glimpse_status glimpse_model_load(const glimpse_model_params *params, glimpse_model **out);
void glimpse_model_free(glimpse_model *model);

typedef enum { GLIMPSE_PROMPT_DESCRIBE, GLIMPSE_PROMPT_CAPTION } glimpse_prompt_kind;
/* Short descriptive strings owned by the model. */
const char *glimpse_model_name(const glimpse_model *model);   /* general.name or the file name */
const char *glimpse_model_family(const glimpse_model *model); /* "smolvlm", "llava", ... */
int glimpse_model_has_vision(const glimpse_model *model);
int glimpse_model_has_text(const glimpse_model *model);
int32_t glimpse_model_context_length(const glimpse_model *model);
/* The default prompt for describing or captioning an image: the one the text
 * model's file names (glimpse.prompt.describe / .caption), else its family's. */
const char *glimpse_model_default_prompt(const glimpse_model *model, glimpse_prompt_kind kind);

/* ==== Images ==== */

/* A decoded and preprocessed image, ready to be encoded for one model. Loading
 * is independent of any session, so a caller can prepare the next image on
 * another thread while a session is answering. */
typedef struct glimpse_image glimpse_image;

/* path "-" reads standard input. Errors name the file. */
glimpse_status glimpse_image_load_file(const glimpse_model *model, const char *path, glimpse_image **out);
glimpse_status glimpse_image_load_memory(const glimpse_model *model, const void *data, size_t size,
                                         const char *name, glimpse_image **out);
void glimpse_image_free(glimpse_image *image);
int glimpse_image_width(const glimpse_image *image);  /* after EXIF orientation */
int glimpse_image_height(const glimpse_image *image);
/* Number of image tokens this image becomes in the prompt. */
int glimpse_image_n_tokens(const glimpse_image *image);
/* The preprocessed pixel values: n_tiles tiles of (3, size, size) floats. */
const float *glimpse_image_pixels(const glimpse_image *image, int *n_tiles, int *size);
/* Runs the vision encoder and projector (the result is kept in the image for
 * reuse): n_tokens rows of n_embd floats, owned by the image. */
glimpse_status glimpse_image_encode(const glimpse_model *model, glimpse_image *image, const float **embd,
                                    int *n_tokens, int *n_embd);

/* ==== Sessions: a conversation with a loaded model ==== */

typedef struct glimpse_session glimpse_session;

typedef struct {
    int32_t n_ctx;     /* context length; 0: the model's, capped to 8192 */
} glimpse_session_params;

glimpse_session_params glimpse_session_default_params(void);
/* Sessions on one model may run on different threads at once. */
glimpse_status glimpse_session_open(glimpse_model *model, const glimpse_session_params *params,
                                    glimpse_session **out);
void glimpse_session_free(glimpse_session *session);
/* Forgets the conversation (the computed prefix may be reused). */
void glimpse_session_reset(glimpse_session *session);

/* Queues an image for the next user message. The session takes ownership of
 * image, on success and on failure. */
glimpse_status glimpse_session_add_image(glimpse_session *session, glimpse_image *image);
/* Adds a message. role: "system" or "user" (images queued so far go with a
 * user message, before its text). Text is taken literally: control tokens in
 * it are never interpreted. */
glimpse_status glimpse_session_add_message(glimpse_session *session, const char *role, const char *text);

typedef struct {
    int32_t max_tokens;    /* 0: until end of generation or the context is full */
    float temperature;     /* 0: greedy */
    int32_t top_k;         /* 0: off */
    float top_p;           /* 1: off */
    float min_p;           /* 0: off */
    float repeat_penalty;  /* 1: off */
    int32_t repeat_last_n;
    uint64_t seed;
    const char *const *stop; /* user stop strings */
    int n_stop;
    int ignore_eos;        /* keep generating past end-of-generation (benchmarks) */
    volatile int *cancel;  /* when set non-zero, generation stops with GLIMPSE_ERR_CANCELLED */
} glimpse_gen_params;

glimpse_gen_params glimpse_gen_default_params(void);

typedef struct {
    int32_t n_prompt_tokens; /* tokens fed for this answer (after prefix reuse) */
    int32_t n_cached_tokens; /* prompt tokens reused from the previous turn */
    int32_t n_image_tokens;
    int32_t n_generated;
    double load_ms, encode_ms, prefill_ms, decode_ms;
    const char *stop_reason; /* "eos", "max_tokens", "stop_string", "context_full", "cancelled", "callback" */
} glimpse_timings;

/* Called with each piece of answer text as it is produced (whole UTF-8
 * characters only); return non-zero to stop. */
typedef int (*glimpse_text_fn)(const char *text, size_t len, void *user);

/* Answers the conversation so far as the assistant; the answer joins the
 * history. answer (optional) receives the whole text (glimpse_free). */
glimpse_status glimpse_session_generate(glimpse_session *session, const glimpse_gen_params *params,
                                        glimpse_text_fn on_text, void *user, char **answer,
                                        glimpse_timings *timings);
/* Plain completion with no chat template: text is tokenized as given (with
 * the model's BOS; control tokens interpreted only with parse_special) and
 * continued. The session history is not used or changed. */
glimpse_status glimpse_session_complete(glimpse_session *session, const char *text, int parse_special,
                                        const glimpse_gen_params *params, glimpse_text_fn on_text, void *user,
                                        char **answer, glimpse_timings *timings);
/* The token ids of the last answer (valid until the next generation), and
 * the logits (n_vocab floats) from which its last token was sampled: after
 * a generation with max_tokens = 1, the first step's. For checks and tools. */
const int32_t *glimpse_session_answer_tokens(const glimpse_session *session, int32_t *n);
const float *glimpse_session_logits(const glimpse_session *session, int32_t *n_vocab);
/* Writes the conversation as JSON (roles, texts, image names) to path. */
glimpse_status glimpse_session_save(const glimpse_session *session, const char *path);

/* ==== Benchmarks ==== */

/* Writes DIR/text-TYPE.gguf and DIR/mmproj-TYPE.gguf: random weights with
 * SmolVLM-256M-Instruct's shapes (TYPE: F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q6_K). */
glimpse_status glimpse_bench_make_model(const char *dir, const char *type_name);

/* Machine limits measured by short probes: the denominators of glimpse
 * bench's rooflines. */
typedef struct {
    char cpu[64];            /* model name from /proc/cpuinfo, or "" */
    const char *kernels;     /* the kernel version glimpse runs here: "amx", "avx512", "avx2" or "scalar" */
    int n_threads;
    double read_bytes_per_s; /* streaming reads of a buffer of the requested size, all threads */
    double f32_flops;        /* F32 multiply-adds in the widest vectors (2 FLOP each), all threads */
    double int8_ops;         /* int8 multiply-adds of the integer dot products (2 ops each), all threads */
    /* The matrix unit (AMX tiles) where glimpse uses it, else 0: int8 and
     * bfloat16 multiply-adds (2 ops each), all threads. Batches of 16+
     * tokens of Q8_0 weights run on int8 tiles, of 512+ (vision) on bf16. */
    double tile_int8_ops;
    double tile_bf16_flops;
} glimpse_machine;

/* Runs the probes on n_threads threads (0: one per online CPU), about half a
 * second in all. buffer_bytes is the read probe's working set (0: 512 MB); a
 * model's bytes read per token give the bandwidth decoding can reach. */
glimpse_status glimpse_probe_machine(int n_threads, uint64_t buffer_bytes, glimpse_machine *out);

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
 * Llama 3, Qwen2, SmolLM, StarCoder, DeepSeek, Falcon, MPT), SentencePiece
 * ("llama": Llama 2, Phi-3, Baichuan) and WordPiece ("bert": BERT, BGE)
 * tokenizers are supported; token ids match Hugging Face tokenizers.
 * Read-only once loaded: threads may share one. */
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

/* ==== Caption helpers ==== */

/* How many bytes of a file's start glimpse_image_sniff needs at most. */
#define GLIMPSE_IMAGE_SNIFF_BYTES 512

typedef enum {
    GLIMPSE_SNIFF_NOT_IMAGE = 0, /* no image format glimpse knows of */
    GLIMPSE_SNIFF_IMAGE,         /* a format glimpse decodes */
    GLIMPSE_SNIFF_UNSUPPORTED,   /* a known image format glimpse refuses (HEIC, AVIF, TIFF, JPEG XL, SVG...) */
} glimpse_sniff;

/* What a file is, from its first n bytes (GLIMPSE_IMAGE_SNIFF_BYTES, or the
 * whole file when it is shorter), by the magic bytes that
 * glimpse_image_load_file chooses its decoder by (never the file name).
 * *format (may be NULL) receives a static name ("JPEG", "PNG", "HEIC"), or
 * NULL for GLIMPSE_SNIFF_NOT_IMAGE. Reads nothing past head[n). */
glimpse_sniff glimpse_image_sniff(const void *head, size_t n, const char **format);

#ifdef __cplusplus
}
#endif

#endif
