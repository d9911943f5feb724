/* info.c - `glimpse info FILE.gguf [--tensors] [--json]`: what a model file
 * holds, summarised for a person (or all of it as JSON). */
#include "cli.h"
#include "glimpse.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SHOWN_ITEMS 8 /* long arrays (the vocabulary) are summarised */

typedef struct {
    const glimpse_gguf *g;
    char arch[64];
} model_view;

/* The value of a key as text, or NULL when absent. Uses a rotating set of
 * buffers so a printf can hold a few of them. */
static const char *value(const glimpse_gguf *g, const char *key) {
    static char bufs[4][256];
    static int next;
    int64_t i = glimpse_gguf_find_key(g, key);
    if (i < 0) return NULL;
    char *b = bufs[next++ % 4];
    glimpse_gguf_kv_format(g, i, SHOWN_ITEMS, 0, b, sizeof bufs[0]);
    return b;
}

static const char *arch_value(const model_view *m, const char *suffix) {
    char key[160];
    snprintf(key, sizeof key, "%s.%s", m->arch, suffix);
    return value(m->g, key);
}

static void line(const char *label, const char *v) {
    if (v) printf("  %-22s %s\n", label, v);
}

static void human_bytes(uint64_t n, char *buf, size_t size) {
    if (n >= (1ull << 30)) snprintf(buf, size, "%.2f GiB", n / (double)(1ull << 30));
    else if (n >= (1ull << 20)) snprintf(buf, size, "%.2f MiB", n / (double)(1ull << 20));
    else snprintf(buf, size, "%" PRIu64 " KiB", (n + 1023) / 1024);
}

static void human_count(uint64_t n, char *buf, size_t size) {
    if (n >= 1000000000ull) snprintf(buf, size, "%.2f B", n / 1e9);
    else if (n >= 1000000ull) snprintf(buf, size, "%.1f M", n / 1e6);
    else snprintf(buf, size, "%" PRIu64, n);
}

typedef struct {
    char name[16];
    uint64_t count, params, bytes;
} type_total;

static int print_text(const glimpse_gguf *g, const char *path, int show_tensors) {
    model_view m = {g, ""};
    const char *a = value(g, "general.architecture");
    snprintf(m.arch, sizeof m.arch, "%s", a ? a : "");
    char size[32];
    human_bytes(glimpse_gguf_file_size(g), size, sizeof size);
    printf("%s\n", path);
    printf("  %-22s GGUF v%u, %s, %" PRId64 " tensors, %" PRId64 " metadata keys\n", "file", glimpse_gguf_version(g),
           size, glimpse_gguf_n_tensors(g), glimpse_gguf_n_kv(g));
    line("architecture", a);
    line("name", value(g, "general.name"));

    uint64_t params = 0;
    type_total totals[40];
    int n_types = 0, unsupported = 0;
    for (int64_t i = 0; i < glimpse_gguf_n_tensors(g); i++) {
        glimpse_tensor_info t;
        glimpse_gguf_tensor_info(g, i, &t);
        uint64_t n = (uint64_t)(t.ne[0] * t.ne[1] * t.ne[2] * t.ne[3]);
        params += n;
        if (!t.supported) unsupported++;
        int k = 0;
        while (k < n_types && strcmp(totals[k].name, t.type_name)) k++;
        if (k == n_types) {
            if (n_types == 40) continue;
            snprintf(totals[n_types].name, sizeof totals[0].name, "%s", t.type_name);
            totals[n_types].count = totals[n_types].params = totals[n_types].bytes = 0;
            n_types++;
        }
        totals[k].count++;
        totals[k].params += n;
        totals[k].bytes += t.nbytes;
    }
    char pc[32];
    human_count(params, pc, sizeof pc);
    printf("  %-22s %s\n", "parameters", pc);

    if (!strcmp(m.arch, "clip")) {
        line("projector", value(g, "clip.projector_type"));
        line("image size", value(g, "clip.vision.image_size"));
        line("patch size", value(g, "clip.vision.patch_size"));
        line("vision width", value(g, "clip.vision.embedding_length"));
        line("vision layers", value(g, "clip.vision.block_count"));
        line("projection width", value(g, "clip.vision.projection_dim"));
        line("longest edge", value(g, "clip.vision.preproc_image_size"));
        const char *is = value(g, "clip.vision.image_size"), *ps = value(g, "clip.vision.patch_size");
        const char *proj = value(g, "clip.projector_type"), *sf = value(g, "clip.vision.projector.scale_factor");
        if (is && ps && atoi(ps) > 0) {
            long side = atol(is) / atol(ps), merge = 1;
            if (proj && !strcmp(proj, "idefics3")) merge = sf ? atol(sf) : 2;
            else if (proj && !strcmp(proj, "gemma3")) merge = 4;
            else if (proj && strstr(proj, "qwen2")) merge = 2;
            if (merge > 0) {
                char tok[64];
                snprintf(tok, sizeof tok, "%ld per %s", (side / merge) * (side / merge),
                         proj && !strcmp(proj, "idefics3") ? "tile" : "image");
                line("image tokens", tok);
            }
        }
    } else if (m.arch[0]) {
        line("context length", arch_value(&m, "context_length"));
        line("width", arch_value(&m, "embedding_length"));
        line("layers", arch_value(&m, "block_count"));
        line("heads", arch_value(&m, "attention.head_count"));
        line("kv heads", arch_value(&m, "attention.head_count_kv"));
        line("ffn width", arch_value(&m, "feed_forward_length"));
        line("rope base", arch_value(&m, "rope.freq_base"));
    }
    const char *tok = value(g, "tokenizer.ggml.model");
    if (tok) {
        int64_t k = glimpse_gguf_find_key(g, "tokenizer.ggml.tokens");
        char t[128];
        const char *pre = value(g, "tokenizer.ggml.pre");
        snprintf(t, sizeof t, "%s%s%s%s, %" PRIu64 " tokens", tok, pre ? " (pre " : "", pre ? pre : "", pre ? ")" : "",
                 k >= 0 ? glimpse_gguf_kv_array_len(g, k) : 0);
        line("tokenizer", t);
        line("chat template", glimpse_gguf_find_key(g, "tokenizer.chat_template") >= 0 ? "yes" : NULL);
    }
    printf("  weights by type:\n");
    for (int k = 0; k < n_types; k++) {
        char b[32], p[32];
        human_bytes(totals[k].bytes, b, sizeof b);
        human_count(totals[k].params, p, sizeof p);
        printf("    %-8s %5" PRIu64 " tensors  %10s params  %10s\n", totals[k].name, totals[k].count, p, b);
    }
    if (unsupported) printf("  note: %d tensors have types glimpse cannot read\n", unsupported);
    if (show_tensors) {
        printf("  tensors:\n");
        for (int64_t i = 0; i < glimpse_gguf_n_tensors(g); i++) {
            glimpse_tensor_info t;
            glimpse_gguf_tensor_info(g, i, &t);
            char dims[96];
            int n = 0;
            for (int d = 0; d < t.n_dims; d++)
                n += snprintf(dims + n, sizeof dims - (size_t)n, "%s%" PRId64, d ? " x " : "", t.ne[d]);
            printf("    %-40s %-7s %-24s @%" PRIu64 "\n", t.name, t.type_name, dims, t.offset);
        }
    }
    return 0;
}

static void print_json_string(const char *s) {
    putchar('"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') printf("\\%c", *s);
        else if ((unsigned char)*s < 0x20) printf("\\u%04x", *s);
        else putchar(*s);
    }
    putchar('"');
}

static int print_json(const glimpse_gguf *g, const char *path, int show_tensors) {
    printf("{\"file\": ");
    print_json_string(path);
    printf(", \"version\": %u, \"size\": %" PRIu64 ", \"alignment\": %" PRIu64 ", \"metadata\": {",
           glimpse_gguf_version(g), glimpse_gguf_file_size(g), glimpse_gguf_alignment(g));
    for (int64_t i = 0; i < glimpse_gguf_n_kv(g); i++) {
        size_t need = glimpse_gguf_kv_format(g, i, SHOWN_ITEMS, 1, NULL, 0) + 1;
        char *b = malloc(need);
        if (!b) return 1;
        glimpse_gguf_kv_format(g, i, SHOWN_ITEMS, 1, b, need);
        printf("%s", i ? ", " : "");
        print_json_string(glimpse_gguf_kv_key(g, i));
        if (glimpse_gguf_kv_type(g, i) == GLIMPSE_GGUF_ARRAY)
            printf(": {\"length\": %" PRIu64 ", \"items\": %s}", glimpse_gguf_kv_array_len(g, i), b);
        else
            printf(": %s", b);
        free(b);
    }
    printf("}, \"n_tensors\": %" PRId64, glimpse_gguf_n_tensors(g));
    uint64_t params = 0, bytes = 0;
    for (int64_t i = 0; i < glimpse_gguf_n_tensors(g); i++) {
        glimpse_tensor_info t;
        glimpse_gguf_tensor_info(g, i, &t);
        params += (uint64_t)(t.ne[0] * t.ne[1] * t.ne[2] * t.ne[3]);
        bytes += t.nbytes;
    }
    printf(", \"parameters\": %" PRIu64 ", \"tensor_bytes\": %" PRIu64, params, bytes);
    if (show_tensors) {
        printf(", \"tensors\": [");
        for (int64_t i = 0; i < glimpse_gguf_n_tensors(g); i++) {
            glimpse_tensor_info t;
            glimpse_gguf_tensor_info(g, i, &t);
            printf("%s{\"name\": ", i ? ", " : "");
            print_json_string(t.name);
            printf(", \"type\": \"%s\", \"supported\": %s, \"shape\": [", t.type_name, t.supported ? "true" : "false");
            for (int d = 0; d < t.n_dims; d++) printf("%s%" PRId64, d ? ", " : "", t.ne[d]);
            printf("], \"offset\": %" PRIu64 ", \"bytes\": %" PRIu64 "}", t.offset, t.nbytes);
        }
        printf("]");
    }
    printf("}\n");
    return 0;
}

int cli_info(int argc, char **argv) {
    int show_tensors = 0, json = 0, n_files = 0, rc = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--tensors")) show_tensors = 1;
        else if (!strcmp(argv[i], "--json")) json = 1;
        else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("usage: glimpse info FILE.gguf... [--tensors] [--json]\n");
            return 0;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "glimpse info: unknown option '%s'\n", argv[i]);
            return 2;
        } else n_files++;
    }
    if (!n_files) {
        fprintf(stderr, "usage: glimpse info FILE.gguf... [--tensors] [--json]\n");
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-' && argv[i][1]) continue;
        glimpse_gguf *g;
        if (glimpse_gguf_open(argv[i], &g) != GLIMPSE_OK) {
            fprintf(stderr, "glimpse: %s\n", glimpse_last_error());
            rc = 1;
            continue;
        }
        if (json) rc |= print_json(g, argv[i], show_tensors);
        else rc |= print_text(g, argv[i], show_tensors);
        glimpse_gguf_close(g);
    }
    return rc;
}
