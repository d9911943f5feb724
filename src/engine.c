/* engine.c - loading a model pair (text GGUF + mmproj GGUF) and preparing
 * images for it: the public API's model and image handles (glimpse.h).
 *
 * Pairing rules follow llama.cpp's file layout (../shared/FORMATS.md): the
 * mmproj is the GGUF whose general.architecture is "clip". The image
 * pipeline follows transformers: decode as load_image does, preprocess as the
 * family's image processor does, encode with the ViT and projector. */
#include "engine.h"
#include "error.h"
#include "mem.h"

#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

double gl_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* ==== Finding the files ==== */

static int is_dir(const char *p) {
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static char *join_path(const char *dir, const char *name) {
    size_t a = strlen(dir), b = strlen(name);
    char *p = gl_malloc(a + b + 2);
    if (!p) return NULL;
    memcpy(p, dir, a);
    p[a] = '/';
    memcpy(p + a + 1, name, b + 1);
    return p;
}

static char *dir_of(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash ? gl_strndup(path, (size_t)(slash - path) + (slash == path)) : gl_strdup(".");
}

/* Whether a GGUF is an mmproj: its architecture is "clip". -1 if unreadable. */
static int is_mmproj_file(const char *path) {
    gl_gguf *g;
    if (gl_gguf_open(path, &g) != GLIMPSE_OK) return -1;
    const char *arch;
    size_t len;
    int clip = gl_gguf_get_str(g, "general.architecture", &arch, &len) == 0 && len == 4 && !memcmp(arch, "clip", 4);
    gl_gguf_close(g);
    return clip;
}

/* Scans dir for *.gguf: the text models and the mmprojs it holds. Sets
 * *text / *mmproj when exactly one of that kind is there; counts in *n_*. */
static glimpse_status scan_dir(const char *dir, char **text, int *n_text, char **mmproj, int *n_mmproj) {
    DIR *d = opendir(dir);
    if (!d) return gl_error(GLIMPSE_ERR_IO, "%s: cannot open directory: %s", dir, strerror(errno));
    *text = *mmproj = NULL;
    *n_text = *n_mmproj = 0;
    glimpse_status st = GLIMPSE_OK;
    struct dirent *e;
    while (!st && (e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n < 5 || strcmp(e->d_name + n - 5, ".gguf") != 0) continue;
        char *path = join_path(dir, e->d_name);
        if (!path) {
            st = gl_error_nomem("model path");
            break;
        }
        int clip = is_mmproj_file(path);
        char **slot = clip == 1 ? mmproj : clip == 0 ? text : NULL;
        int *count = clip == 1 ? n_mmproj : n_text;
        if (slot) {
            (*count)++;
            /* Keep the alphabetically first, so the choice does not depend on readdir's order. */
            if (!*slot || strcmp(path, *slot) < 0) {
                gl_free(*slot);
                *slot = path;
                path = NULL;
            }
        }
        gl_free(path);
    }
    closedir(d);
    return st;
}

static glimpse_status resolve_paths(const glimpse_model_params *p, char **text, char **mmproj) {
    *text = *mmproj = NULL;
    glimpse_status st = GLIMPSE_OK;
    int n_text = 0, n_mmproj = 0;
    if (p->model_path && is_dir(p->model_path)) {
        char *found_mmproj;
        if ((st = scan_dir(p->model_path, text, &n_text, &found_mmproj, &n_mmproj))) return st;
        if (n_text == 0) st = gl_error(GLIMPSE_ERR_IO, "%s: no text-model GGUF in this directory", p->model_path);
        else if (n_text > 1)
            st = gl_error(GLIMPSE_ERR_INVALID_ARG, "%s: %d text-model GGUFs in this directory; name one with -m",
                          p->model_path, n_text);
        else if (!p->mmproj_path && n_mmproj > 1)
            st = gl_error(GLIMPSE_ERR_INVALID_ARG, "%s: %d mmproj GGUFs in this directory; name one with --mmproj",
                          p->model_path, n_mmproj);
        if (!st && !p->mmproj_path) {
            *mmproj = found_mmproj;
            found_mmproj = NULL;
        }
        gl_free(found_mmproj);
    } else if (p->model_path) {
        if (!(*text = gl_strdup(p->model_path))) st = gl_error_nomem("model path");
        if (!st && !p->mmproj_path) {
            /* An mmproj beside the text model, when there is exactly one. */
            char *dir = dir_of(p->model_path), *other_text = NULL;
            if (!dir) st = gl_error_nomem("model path");
            else if (scan_dir(dir, &other_text, &n_text, mmproj, &n_mmproj) == GLIMPSE_OK && n_mmproj > 1) {
                gl_free(*mmproj);
                *mmproj = NULL;
            }
            gl_free(other_text);
            gl_free(dir);
        }
    }
    if (!st && p->mmproj_path && !(*mmproj = gl_strdup(p->mmproj_path))) st = gl_error_nomem("model path");
    if (st) {
        gl_free(*text);
        gl_free(*mmproj);
        *text = *mmproj = NULL;
    }
    return st;
}

/* ==== Loading ==== */

glimpse_model_params glimpse_model_default_params(void) {
    glimpse_model_params p;
    memset(&p, 0, sizeof p);
    return p;
}

/* A copy of the string value of key, or NULL (also when the key is absent). */
static glimpse_status gguf_str_dup(const gl_gguf *g, const char *key, char **out) {
    const char *s;
    size_t len;
    *out = NULL;
    if (gl_gguf_get_str(g, key, &s, &len) != 0 || len == 0) return GLIMPSE_OK;
    return (*out = gl_strndup(s, len)) ? GLIMPSE_OK : gl_error_nomem(key);
}

/* general.name, or else the file's name. */
static glimpse_status gguf_name_or_file(const gl_gguf *g, const char *path, char **out) {
    glimpse_status st = gguf_str_dup(g, "general.name", out);
    if (st || *out) return st;
    const char *slash = strrchr(path, '/');
    return (*out = gl_strdup(slash ? slash + 1 : path)) ? GLIMPSE_OK : gl_error_nomem("model name");
}

static glimpse_status load_text(glimpse_model *m) {
    glimpse_status st = gl_gguf_open(m->text_path, &m->text_file);
    if (st) return st;
    const char *arch = NULL;
    size_t len = 0;
    gl_gguf_get_str(m->text_file, "general.architecture", &arch, &len);
    if (arch && len == 4 && !memcmp(arch, "clip", 4))
        return gl_error(GLIMPSE_ERR_INVALID_ARG, "%s: this is an mmproj (vision) file, not a text model; pass it "
                        "with --mmproj", m->text_path);
    if ((st = gl_decoder_load(m->text_file, &m->decoder))) return st;
    if ((st = gl_vocab_load(m->text_file, &m->vocab))) return st;
    if (gl_vocab_n_tokens(m->vocab) > gl_decoder_hparams_of(m->decoder)->n_vocab)
        return gl_error(GLIMPSE_ERR_FORMAT, "%s: the tokenizer has %d tokens but the embedding table only %d rows",
                        m->text_path, gl_vocab_n_tokens(m->vocab), gl_decoder_hparams_of(m->decoder)->n_vocab);
    if ((st = gguf_name_or_file(m->text_file, m->text_path, &m->name))) return st;
    if ((st = gguf_str_dup(m->text_file, "glimpse.prompt.describe", &m->prompt_describe))) return st;
    return gguf_str_dup(m->text_file, "glimpse.prompt.caption", &m->prompt_caption);
}

static glimpse_status load_mmproj(glimpse_model *m) {
    glimpse_status st = gl_gguf_open(m->mmproj_path, &m->mmproj_file);
    if (st) return st;
    if (!is_mmproj_file(m->mmproj_path))
        return gl_error(GLIMPSE_ERR_INVALID_ARG, "%s: not an mmproj file (its architecture is not \"clip\")",
                        m->mmproj_path);
    if ((st = gl_mmproj_load(m->mmproj_file, &m->mmproj))) return st;
    if (m->decoder &&
        (st = gl_mmproj_check_text_width(m->mmproj, gl_decoder_hparams_of(m->decoder)->n_embd, m->mmproj_path,
                                         m->text_path)))
        return st;
    return m->name ? GLIMPSE_OK : gguf_name_or_file(m->mmproj_file, m->mmproj_path, &m->name);
}

/* The chat format and family name, and the image token of the vocabulary. */
static glimpse_status choose_family(glimpse_model *m, const char *override) {
    if (override) {
        m->tmpl = gl_template_from_name(override);
        if (m->tmpl == GL_TEMPLATE_UNKNOWN)
            return gl_error(GLIMPSE_ERR_INVALID_ARG, "%s: unknown chat template (smolvlm, chatml, llava, llama3, "
                            "llama3.1, gemma3)", override);
    } else if (m->text_file) {
        const char *jinja = NULL, *arch = NULL;
        size_t jlen = 0, alen = 0;
        gl_gguf_get_str(m->text_file, "tokenizer.chat_template", &jinja, &jlen);
        gl_gguf_get_str(m->text_file, "general.architecture", &arch, &alen);
        char *j = jinja ? gl_strndup(jinja, jlen) : NULL, *a = arch ? gl_strndup(arch, alen) : NULL;
        if ((jinja && !j) || (arch && !a)) {
            gl_free(j);
            gl_free(a);
            return gl_error_nomem("chat template");
        }
        m->tmpl = gl_template_detect(j, a);
        gl_free(j);
        gl_free(a);
    }
    if (m->mmproj) {
        gl_projector_type proj = gl_mmproj_hparams_of(m->mmproj)->projector;
        m->family = proj == GL_PROJECTOR_IDEFICS3 ? "smolvlm" : "llava";
        if (!override && m->tmpl == GL_TEMPLATE_UNKNOWN)
            m->tmpl = proj == GL_PROJECTOR_IDEFICS3 ? GL_TEMPLATE_SMOLVLM : GL_TEMPLATE_LLAVA;
    } else {
        m->family = gl_template_name(m->tmpl);
    }
    m->image_token = -1;
    if (m->mmproj && m->vocab) {
        /* The tokens the family's image prompt is made of must all be words of the text model. */
        static const char *const idefics3_markers[] = {"<image>", "<fake_token_around_image>", "<global-img>"};
        int n_markers = gl_mmproj_hparams_of(m->mmproj)->projector == GL_PROJECTOR_IDEFICS3 ? 3 : 1;
        for (int i = 0; i < n_markers; i++)
            if (gl_vocab_find(m->vocab, idefics3_markers[i], strlen(idefics3_markers[i])) < 0)
                return gl_error(GLIMPSE_ERR_MISMATCH, "%s: the vocabulary has no %s token, so it cannot take the "
                                "images of %s", m->text_path, idefics3_markers[i], m->mmproj_path);
        m->image_token = gl_vocab_find(m->vocab, "<image>", 7);
    }
    return GLIMPSE_OK;
}

glimpse_status glimpse_model_load(const glimpse_model_params *params, glimpse_model **out) {
    *out = NULL;
    glimpse_model_params p = params ? *params : glimpse_model_default_params();
    glimpse_model *m = gl_calloc(1, sizeof *m);
    if (!m) return gl_error_nomem("model");
    glimpse_status st = resolve_paths(&p, &m->text_path, &m->mmproj_path);
    if (!st && !m->text_path && !m->mmproj_path) st = gl_error(GLIMPSE_ERR_INVALID_ARG, "no model file given");
    if (!st && m->text_path) st = load_text(m);
    if (!st && m->mmproj_path) st = load_mmproj(m);
    if (!st) st = choose_family(m, p.chat_template);
    if (!st) {
        m->limits = gl_image_default_limits();
        if (p.max_image_pixels) m->limits.max_pixels = p.max_image_pixels;
        if (!(m->pool = gl_pool_create(p.n_threads))) st = gl_error_nomem("thread pool");
    }
    if (st) {
        glimpse_model_free(m);
        return st;
    }
    *out = m;
    return GLIMPSE_OK;
}

void glimpse_model_free(glimpse_model *m) {
    if (!m) return;
    gl_pool_free(m->pool);
    gl_mmproj_free(m->mmproj);
    gl_vocab_free(m->vocab);
    gl_decoder_free(m->decoder);
    gl_gguf_close(m->mmproj_file);
    gl_gguf_close(m->text_file);
    gl_free(m->text_path);
    gl_free(m->mmproj_path);
    gl_free(m->name);
    gl_free(m->prompt_describe);
    gl_free(m->prompt_caption);
    gl_free(m);
}

const char *glimpse_model_name(const glimpse_model *m) { return m->name; }
const char *glimpse_model_family(const glimpse_model *m) { return m->family; }
int glimpse_model_has_vision(const glimpse_model *m) { return m->mmproj != NULL; }
int glimpse_model_has_text(const glimpse_model *m) { return m->decoder != NULL; }
int32_t glimpse_model_context_length(const glimpse_model *m) {
    return m->decoder ? gl_decoder_hparams_of(m->decoder)->n_ctx_train : 0;
}

/* The wordings a model file names for itself (glimpse.prompt.describe and
 * .caption: a model trained on its own prompts, like the demo model, answers
 * only those well), else those each family's model card and training data
 * use, which those models answer best. */
const char *glimpse_model_default_prompt(const glimpse_model *m, glimpse_prompt_kind kind) {
    const char *own = kind == GLIMPSE_PROMPT_CAPTION ? m->prompt_caption : m->prompt_describe;
    if (own) return own;
    static const struct {
        const char *family, *describe, *caption;
    } prompts[] = {
        {"smolvlm", "Can you describe this image?", "Caption this image in one sentence."},
        {"llava", "Describe this image in detail.", "Write a short caption for this image."},
    };
    for (size_t i = 0; i < sizeof prompts / sizeof prompts[0]; i++)
        if (m->family && !strcmp(m->family, prompts[i].family))
            return kind == GLIMPSE_PROMPT_CAPTION ? prompts[i].caption : prompts[i].describe;
    return kind == GLIMPSE_PROMPT_CAPTION ? "Write a one-sentence caption for this image."
                                          : "Describe this image in detail.";
}

/* ==== Images ==== */

static glimpse_status preprocess(const glimpse_model *m, const gl_image *decoded, gl_pixels *out) {
    const gl_mmproj_hparams *hp = gl_mmproj_hparams_of(m->mmproj);
    if (hp->projector == GL_PROJECTOR_IDEFICS3) {
        gl_idefics3_params ip;
        gl_idefics3_default_params(&ip);
        ip.tile_size = hp->vit.image_size;
        ip.longest_edge = hp->preproc_image_size ? hp->preproc_image_size : hp->vit.image_size;
        ip.do_split = hp->preproc_image_size > hp->vit.image_size;
        memcpy(ip.mean, hp->image_mean, sizeof ip.mean);
        memcpy(ip.std, hp->image_std, sizeof ip.std);
        return gl_preprocess_idefics3(decoded, &ip, out);
    }
    gl_llava_params lp;
    gl_llava_default_params(&lp);
    lp.shortest_edge = lp.crop_size = hp->vit.image_size;
    memcpy(lp.mean, hp->image_mean, sizeof lp.mean);
    memcpy(lp.std, hp->image_std, sizeof lp.std);
    return gl_preprocess_llava(decoded, &lp, out);
}

static glimpse_status image_from_decoded(const glimpse_model *m, gl_image *decoded, const char *name,
                                         glimpse_image **out) {
    glimpse_image *img = gl_calloc(1, sizeof *img);
    glimpse_status st = img && (img->name = gl_strdup(name)) ? GLIMPSE_OK : gl_error_nomem("image");
    if (!st) {
        img->model = m;
        img->width = decoded->width;
        img->height = decoded->height;
        st = preprocess(m, decoded, &img->pixels);
    }
    gl_image_free(decoded);
    if (!st) {
        img->n_tokens = img->pixels.n_images * gl_mmproj_tokens_per_image(m->mmproj);
        *out = img;
        return GLIMPSE_OK;
    }
    glimpse_image_free(img);
    return st;
}

static glimpse_status require_vision(const glimpse_model *m, const char *name) {
    if (m->mmproj) return GLIMPSE_OK;
    return gl_error(GLIMPSE_ERR_MISMATCH, "%s: %s is a text-only model; give a vision projector with --mmproj to "
                    "use images", name, m->name ? m->name : "the model");
}

glimpse_status glimpse_image_load_file(const glimpse_model *m, const char *path, glimpse_image **out) {
    *out = NULL;
    glimpse_status st = require_vision(m, path);
    gl_image decoded = {0};
    if (!st) st = gl_image_decode_file(path, &m->limits, &decoded);
    return st ? st : image_from_decoded(m, &decoded, path, out);
}

glimpse_status glimpse_image_load_memory(const glimpse_model *m, const void *data, size_t size, const char *name,
                                         glimpse_image **out) {
    *out = NULL;
    if (!name) name = "<memory>";
    glimpse_status st = require_vision(m, name);
    gl_image decoded = {0};
    if (!st) st = gl_image_decode_memory(data, size, name, &m->limits, &decoded);
    return st ? st : image_from_decoded(m, &decoded, name, out);
}

void glimpse_image_free(glimpse_image *img) {
    if (!img) return;
    gl_pixels_free(&img->pixels);
    gl_free(img->embd);
    gl_free(img->name);
    gl_free(img);
}

int glimpse_image_width(const glimpse_image *img) { return img->width; }
int glimpse_image_height(const glimpse_image *img) { return img->height; }
int glimpse_image_n_tokens(const glimpse_image *img) { return img->n_tokens; }

const float *glimpse_image_pixels(const glimpse_image *img, int *n_tiles, int *size) {
    *n_tiles = img->pixels.n_images;
    *size = img->pixels.size;
    return img->pixels.pixels;
}

glimpse_status gl_image_ensure_encoded(const glimpse_model *m, glimpse_image *img, double *ms) {
    *ms = 0;
    if (img->embd) return GLIMPSE_OK;
    if (img->model != m)
        return gl_error(GLIMPSE_ERR_INVALID_ARG, "%s: image was prepared for another model", img->name);
    const gl_mmproj_hparams *hp = gl_mmproj_hparams_of(m->mmproj);
    int per_tile = gl_mmproj_tokens_per_image(m->mmproj);
    size_t tile_floats = (size_t)3 * (size_t)img->pixels.size * (size_t)img->pixels.size;
    float *embd = gl_malloc_array((size_t)img->n_tokens * (size_t)hp->n_proj_embd, sizeof(float));
    if (!embd) return gl_error_nomem("image embeddings");
    double t0 = gl_now_ms();
    for (int i = 0; i < img->pixels.n_images; i++) {
        glimpse_status st = gl_mmproj_encode(m->mmproj, img->pixels.pixels + (size_t)i * tile_floats,
                                             embd + (size_t)i * (size_t)per_tile * (size_t)hp->n_proj_embd, m->pool);
        if (st) {
            gl_free(embd);
            return st;
        }
    }
    img->embd = embd;
    img->n_embd = hp->n_proj_embd;
    *ms = img->encode_ms = gl_now_ms() - t0;
    return GLIMPSE_OK;
}

glimpse_status glimpse_image_encode(const glimpse_model *m, glimpse_image *img, const float **embd, int *n_tokens,
                                    int *n_embd) {
    double ms;
    glimpse_status st = gl_image_ensure_encoded(m, img, &ms);
    if (st) return st;
    *embd = img->embd;
    *n_tokens = img->n_tokens;
    *n_embd = img->n_embd;
    return GLIMPSE_OK;
}
