/* common.c - option parsing, model discovery, streaming and timings shared by
 * the model-using subcommands (see common.h). */
#include "common.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int parse_int(const char *s, long min, long max, long *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max) return -1;
    *out = v;
    return 0;
}

static int parse_float(const char *s, float min, float max, float *out) {
    char *end;
    errno = 0;
    float v = strtof(s, &end);
    if (errno || end == s || *end || !(v >= min && v <= max)) return -1;
    *out = v;
    return 0;
}

int cli_parse(int argc, char **argv, cli_opts *o, const char *usage) {
    memset(o, 0, sizeof *o);
    o->gen = glimpse_gen_default_params();
    o->gen.max_tokens = 512;
    o->args = calloc((size_t)argc + 1, sizeof(char *));
    if (!o->args) return 2;
    int n_stop = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        long n;
        float f;
#define NEED_VALUE()                                                           \
    do {                                                                       \
        if (!v) {                                                              \
            fprintf(stderr, "glimpse %s: %s needs a value\n", argv[0], a);    \
            return 2;                                                          \
        }                                                                      \
        i++;                                                                   \
    } while (0)
#define BAD_VALUE()                                                                     \
    do {                                                                                \
        fprintf(stderr, "glimpse %s: invalid value '%s' for %s\n", argv[0], v, a);     \
        return 2;                                                                       \
    } while (0)
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(usage, stdout);
            return 1;
        } else if (!strcmp(a, "-m") || !strcmp(a, "--model")) {
            NEED_VALUE();
            o->model = v;
        } else if (!strcmp(a, "--mmproj")) {
            NEED_VALUE();
            o->mmproj = v;
        } else if (!strcmp(a, "-p") || !strcmp(a, "--prompt")) {
            NEED_VALUE();
            o->prompt = v;
        } else if (!strcmp(a, "--prompt-file")) {
            NEED_VALUE();
            o->prompt_file = v;
        } else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
            NEED_VALUE();
            o->output = v;
        } else if (!strcmp(a, "--chat-template")) {
            NEED_VALUE();
            o->chat_template = v;
        } else if (!strcmp(a, "-t") || !strcmp(a, "--threads")) {
            NEED_VALUE();
            if (parse_int(v, 1, 512, &n)) BAD_VALUE();
            o->threads = (int)n;
        } else if (!strcmp(a, "--ctx")) {
            NEED_VALUE();
            if (parse_int(v, 16, 1 << 20, &n)) BAD_VALUE();
            o->ctx = (int)n;
        } else if (!strcmp(a, "--max-pixels")) {
            NEED_VALUE();
            char *end;
            errno = 0;
            unsigned long long px = strtoull(v, &end, 10);
            if (errno || *end || end == v || px == 0) BAD_VALUE();
            o->max_pixels = px;
        } else if (!strcmp(a, "--max-tokens") || !strcmp(a, "-n")) {
            NEED_VALUE();
            if (parse_int(v, 0, 1 << 20, &n)) BAD_VALUE();
            o->gen.max_tokens = (int32_t)n;
        } else if (!strcmp(a, "--temp")) {
            NEED_VALUE();
            if (parse_float(v, 0, 100, &o->gen.temperature)) BAD_VALUE();
        } else if (!strcmp(a, "--top-k")) {
            NEED_VALUE();
            if (parse_int(v, 0, 1 << 24, &n)) BAD_VALUE();
            o->gen.top_k = (int32_t)n;
        } else if (!strcmp(a, "--top-p")) {
            NEED_VALUE();
            if (parse_float(v, 0, 1, &o->gen.top_p)) BAD_VALUE();
        } else if (!strcmp(a, "--min-p")) {
            NEED_VALUE();
            if (parse_float(v, 0, 1, &o->gen.min_p)) BAD_VALUE();
        } else if (!strcmp(a, "--repeat-penalty")) {
            NEED_VALUE();
            if (parse_float(v, 0.01f, 100, &f)) BAD_VALUE();
            o->gen.repeat_penalty = f;
        } else if (!strcmp(a, "--seed")) {
            NEED_VALUE();
            char *end;
            errno = 0;
            unsigned long long s = strtoull(v, &end, 10);
            if (errno || *end || end == v) BAD_VALUE();
            o->gen.seed = s;
        } else if (!strcmp(a, "--stop")) {
            NEED_VALUE();
            if (n_stop == 8) {
                fprintf(stderr, "glimpse %s: at most 8 --stop strings\n", argv[0]);
                return 2;
            }
            o->stops[n_stop++] = v;
        } else if (!strcmp(a, "--json")) {
            o->json = 1;
        } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
            o->quiet = 1;
        } else if (!strcmp(a, "--")) {
            while (++i < argc) o->args[o->n_args++] = argv[i];
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "glimpse %s: unknown option '%s' (see --help)\n", argv[0], a);
            return 2;
        } else {
            o->args[o->n_args++] = argv[i];
        }
#undef NEED_VALUE
#undef BAD_VALUE
    }
    o->gen.stop = o->stops;
    o->gen.n_stop = n_stop;
    return 0;
}

int cli_take_flag(int *argc, char **argv, const char *flag) {
    int found = 0, j = 0;
    for (int i = 0; i < *argc; i++) {
        if (!strcmp(argv[i], flag)) found = 1;
        else argv[j++] = argv[i];
    }
    *argc = j;
    return found;
}

static int is_dir(const char *p) {
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static int is_file(const char *p) {
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* The embedded default: assets/ of the source tree this binary was built
 * from, or the installed data directory. */
static const char *default_model_dir(void) {
    static const char *const candidates[] = {GLIMPSE_ASSETS_DIR, GLIMPSE_INSTALLED_ASSETS_DIR};
    for (size_t i = 0; i < sizeof candidates / sizeof candidates[0]; i++)
        if (is_dir(candidates[i])) return candidates[i];
    return NULL;
}

glimpse_model *cli_load_model(const cli_opts *o) {
    glimpse_model_params p = glimpse_model_default_params();
    p.model_path = o->model ? o->model : getenv("GLIMPSE_MODEL");
    p.mmproj_path = o->mmproj ? o->mmproj : getenv("GLIMPSE_MMPROJ");
    if (p.model_path && !p.model_path[0]) p.model_path = NULL;
    if (p.mmproj_path && !p.mmproj_path[0]) p.mmproj_path = NULL;
    if (!p.model_path && !p.mmproj_path) {
        p.model_path = default_model_dir();
        if (!p.model_path) {
            fprintf(stderr, "glimpse: no model given: use -m MODEL.gguf --mmproj MMPROJ.gguf, or set GLIMPSE_MODEL\n");
            return NULL;
        }
    }
    if (p.model_path && !is_dir(p.model_path) && !is_file(p.model_path)) {
        fprintf(stderr, "glimpse: %s: no such model file or directory\n", p.model_path);
        return NULL;
    }
    p.n_threads = o->threads;
    p.max_image_pixels = o->max_pixels;
    p.chat_template = o->chat_template;
    glimpse_model *m;
    if (glimpse_model_load(&p, &m) != GLIMPSE_OK) {
        fprintf(stderr, "glimpse: %s\n", glimpse_last_error());
        return NULL;
    }
    return m;
}

glimpse_session *cli_open_session(const cli_opts *o, glimpse_model *m) {
    if (!m) return NULL;
    glimpse_session_params sp = glimpse_session_default_params();
    sp.n_ctx = o->ctx;
    glimpse_session *s;
    if (glimpse_session_open(m, &sp, &s) == GLIMPSE_OK) return s;
    fprintf(stderr, "glimpse: %s\n", glimpse_last_error());
    return NULL;
}

int cli_stream_text(const char *text, size_t len, void *user) {
    const cli_opts *o = user;
    if (!o->json) {
        fwrite(text, 1, len, stdout);
        fflush(stdout);
    }
    return 0;
}

void cli_print_timings(const cli_opts *o, const glimpse_timings *t) {
    fflush(stdout); /* the answer's last newline first: stderr may be the same file */
    if (t->stop_reason && !strcmp(t->stop_reason, "context_full") && !o->quiet)
        fprintf(stderr, "glimpse: the answer stopped because the context is full; use a larger --ctx\n");
    if (o->quiet || o->json) return;
    fprintf(stderr, "glimpse: %d image tokens, %d prompt tokens (%d reused), %d generated; encode %.0f ms, "
                    "prefill %.0f ms (%.1f tok/s), decode %.0f ms (%.1f tok/s)\n",
            t->n_image_tokens, t->n_prompt_tokens, t->n_cached_tokens, t->n_generated, t->encode_ms, t->prefill_ms,
            t->prefill_ms > 0 ? t->n_prompt_tokens * 1000.0 / t->prefill_ms : 0.0, t->decode_ms,
            t->decode_ms > 0 ? t->n_generated * 1000.0 / t->decode_ms : 0.0);
}

/* Length of the valid UTF-8 sequence at s (NUL-terminated), 0 if invalid. */
static size_t utf8_len(const unsigned char *s) {
    size_t len = s[0] < 0x80 ? 1 : s[0] >= 0xC2 && s[0] <= 0xDF ? 2 : s[0] >= 0xE0 && s[0] <= 0xEF ? 3
               : s[0] >= 0xF0 && s[0] <= 0xF4 ? 4 : 0;
    for (size_t i = 1; i < len; i++)
        if ((s[i] & 0xC0) != 0x80) return 0;
    if (len > 2 && ((s[0] == 0xE0 && s[1] < 0xA0) || (s[0] == 0xED && s[1] > 0x9F) ||
                    (s[0] == 0xF0 && s[1] < 0x90) || (s[0] == 0xF4 && s[1] > 0x8F)))
        return 0;
    return len;
}

/* Bytes that are not UTF-8 (file names need not be) are written as the lone
 * surrogates U+DC80..U+DCFF, Python's "surrogateescape": the JSON stays
 * valid and os.fsencode(json.loads(...)) gives the original bytes back. */
void cli_json_string(FILE *f, const char *s) {
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        size_t len = utf8_len(p);
        if (len == 0) fprintf(f, "\\udc%02x", *p++);
        else if (len > 1) {
            fwrite(p, 1, len, f);
            p += len;
        } else {
            if (*p == '"' || *p == '\\') fprintf(f, "\\%c", *p);
            else if (*p == '\n') fputs("\\n", f);
            else if (*p == '\t') fputs("\\t", f);
            else if (*p == '\r') fputs("\\r", f);
            else if (*p < 0x20) fprintf(f, "\\u%04x", *p);
            else fputc(*p, f);
            p++;
        }
    }
    fputc('"', f);
}

void cli_print_json_answer(const char *file, const char *prompt, const char *answer, const char *error,
                           const glimpse_timings *t) {
    printf("{\"file\": ");
    cli_json_string(stdout, file ? file : "");
    printf(", \"prompt\": ");
    cli_json_string(stdout, prompt ? prompt : "");
    if (answer) {
        printf(", \"answer\": ");
        cli_json_string(stdout, answer);
        printf(", \"tokens_in\": %d, \"tokens_cached\": %d, \"tokens_out\": %d, \"image_tokens\": %d, "
               "\"encode_ms\": %.1f, \"prefill_ms\": %.1f, \"decode_ms\": %.1f, \"stop\": \"%s\"",
               t->n_prompt_tokens, t->n_cached_tokens, t->n_generated, t->n_image_tokens, t->encode_ms, t->prefill_ms,
               t->decode_ms, t->stop_reason ? t->stop_reason : "");
    } else {
        printf(", \"error\": ");
        cli_json_string(stdout, error ? error : "unknown error");
    }
    printf("}\n");
    fflush(stdout);
}

char *cli_read_text_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "glimpse: %s: cannot open: %s\n", path, strerror(errno));
        return NULL;
    }
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t n;
    while (buf && (n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (len + 1 == cap) {
            if (cap > (64u << 20)) {
                fprintf(stderr, "glimpse: %s: file too large for a prompt\n", path);
                free(buf);
                buf = NULL;
                break;
            }
            char *b = realloc(buf, cap *= 2);
            if (!b) free(buf);
            buf = b;
        }
    }
    fclose(f);
    if (buf) buf[len] = 0;
    return buf;
}

/* ==== Options that take a value, for one subcommand ==== */

int cli_take_value(int *argc, char **argv, const char *flag, const char **value) {
    int found = 0, j = 0;
    for (int i = 0; i < *argc; i++) {
        if (strcmp(argv[i], flag) != 0) {
            argv[j++] = argv[i];
            continue;
        }
        if (i + 1 >= *argc) {
            fprintf(stderr, "glimpse %s: %s needs a value\n", argv[0], flag);
            return -1;
        }
        *value = argv[++i];
        found = 1;
    }
    *argc = j;
    return found;
}
