/* engine.h - the objects behind the public API's handles (glimpse.h): a
 * loaded model pair, a prepared image, and what sessions need of them.
 * engine.c loads models and images; session.c runs conversations. */
#ifndef GLIMPSE_ENGINE_H
#define GLIMPSE_ENGINE_H

#include "decoder.h"
#include "gguf.h"
#include "image.h"
#include "mmproj.h"
#include "preprocess_idefics3.h"
#include "preprocess_llava.h"
#include "template.h"
#include "threads.h"
#include "vocab.h"

struct glimpse_model {
    char *name;               /* general.name of the text model (or the mmproj), else its file name */
    char *text_path, *mmproj_path;
    gl_gguf *text_file;       /* NULL: vision only (embeddings) */
    gl_gguf *mmproj_file;     /* NULL: text only */
    gl_decoder *decoder;
    gl_vocab *vocab;
    gl_mmproj *mmproj;
    gl_template tmpl;
    const char *family;       /* "smolvlm", "llava", or the template's name for text-only models */
    char *prompt_describe;    /* glimpse.prompt.describe of the text model, NULL when it has none */
    char *prompt_caption;     /* glimpse.prompt.caption, likewise */
    int32_t image_token;      /* id of the token image embeddings replace ("<image>"), -1 without vision */
    gl_image_limits limits;
    gl_pool *pool;            /* the process's one pool of workers, shared by every session */
};

struct glimpse_image {
    char *name;                 /* the file name, for messages */
    const glimpse_model *model; /* preprocessed for this model's encoder */
    int width, height;          /* after EXIF orientation */
    gl_pixels pixels;           /* tiles (row-major) then the global view: (n_images, 3, S, S) */
    int n_tokens;               /* embeddings in the prompt: n_images * tokens per tile */
    float *embd;                /* (n_tokens, n_embd) once encoded, else NULL */
    int n_embd;
    double encode_ms;           /* time the encoding took (0 until encoded) */
};

/* Encodes the image if not yet done; sets *ms to the time spent now. */
glimpse_status gl_image_ensure_encoded(const glimpse_model *m, glimpse_image *img, double *ms);
/* Milliseconds from a monotonic clock. */
double gl_now_ms(void);

#endif
