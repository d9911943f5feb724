/* bench.c - `glimpse bench`: writes a random-weight model with SmolVLM-256M's
 * shapes, or measures a model's speed beside the machine's limits.
 *
 * Each measurement is put next to its roofline, from probes run in the same
 * process (glimpse_probe_machine): decoding reads every weight and the KV
 * cache once per token, so its bound is those bytes / read bandwidth;
 * encoding a tile and prefilling are compute-bound, so their bounds are the
 * operations (2 per multiply-add, counted from the files' tensor shapes) /
 * the peak rate of the units the quantised kernels run on: the int8 dot
 * products, or where the CPU has AMX the tile unit (int8 for prompts,
 * bfloat16 for a vision tile's 1024 patches, as matmul.c chooses).
 * Results are medians of --repeat runs with their spread (max - min).
 * docs/PERF.md records them; this is a benchmark, never a test. */
#include "cli.h"
#include "common.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static const char usage[] =
    "usage: glimpse bench --make-model DIR [--type TYPE]\n"
    "       glimpse bench -m DIR [options]\n"
    "Writes a random-weight model pair with SmolVLM-256M-Instruct's shapes (TYPE: Q8_0\n"
    "(default), Q4_0, Q4_K, Q6_K, F16, BF16, F32), or measures a model pair's speed.\n\n"
    "  -m PATH          directory holding a text GGUF and its mmproj, or the text GGUF\n"
    "  --mmproj FILE    the mmproj, when -m names a file\n"
    "  -t N             threads (default: all cores)\n"
    "  -r N             repetitions of each measurement (default 3)\n"
    "  --image FILE     the photo to describe (default: a synthetic 640x488 image)\n"
    "  --json           one JSON object on stdout\n";

#define MAX_REPEAT 50
#define PP_TOKENS 512
#define DECODE_TOKENS 128
#define DESCRIBE_TOKENS 64

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct {
    double v[MAX_REPEAT];
    int n;
} samples;

static double median(const samples *s) {
    double t[MAX_REPEAT];
    memcpy(t, s->v, sizeof(double) * (size_t)s->n);
    qsort(t, (size_t)s->n, sizeof(double), cmp_double);
    return s->n % 2 ? t[s->n / 2] : 0.5 * (t[s->n / 2 - 1] + t[s->n / 2]);
}

static double spread(const samples *s) {
    double lo = s->v[0], hi = s->v[0];
    for (int i = 1; i < s->n; i++) {
        lo = s->v[i] < lo ? s->v[i] : lo;
        hi = s->v[i] > hi ? s->v[i] : hi;
    }
    return hi - lo;
}

/* ==== What the files say: bytes and operations ==== */

typedef struct {
    double weight_bytes;   /* text weights read per decoded token */
    double weight_elems;   /* elements of the text model's matrices, output projection included */
    int64_t n_layer, kv_dim, n_embd;
    double vit_ops;        /* operations per vision tile */
    int64_t tile_tokens;   /* image tokens per tile */
} model_costs;

static int64_t key_int(const glimpse_gguf *g, const char *key, int64_t fallback) {
    int64_t i = glimpse_gguf_find_key(g, key);
    if (i < 0) return fallback;
    char buf[64];
    glimpse_gguf_kv_format(g, i, 1, 1, buf, sizeof buf);
    return strtoll(buf, NULL, 10);
}

static int is_mmproj(const glimpse_gguf *g) {
    int64_t i = glimpse_gguf_find_key(g, "general.architecture");
    char buf[64] = "";
    if (i >= 0) glimpse_gguf_kv_format(g, i, 1, 0, buf, sizeof buf);
    return strstr(buf, "clip") != NULL;
}

static void text_costs(const glimpse_gguf *g, model_costs *c) {
    char key[128], arch[64] = "";
    int64_t ai = glimpse_gguf_find_key(g, "general.architecture");
    if (ai >= 0) glimpse_gguf_kv_format(g, ai, 1, 0, arch, sizeof arch);
    snprintf(key, sizeof key, "%s.block_count", arch);
    c->n_layer = key_int(g, key, 0);
    snprintf(key, sizeof key, "%s.embedding_length", arch);
    c->n_embd = key_int(g, key, 0);
    snprintf(key, sizeof key, "%s.attention.head_count", arch);
    int64_t n_head = key_int(g, key, 1);
    snprintf(key, sizeof key, "%s.attention.head_count_kv", arch);
    c->kv_dim = n_head ? c->n_embd / n_head * key_int(g, key, n_head) : 0;
    int tied = glimpse_gguf_find_tensor(g, "output.weight") < 0;
    for (int64_t i = 0; i < glimpse_gguf_n_tensors(g); i++) {
        glimpse_tensor_info t;
        if (glimpse_gguf_tensor_info(g, i, &t) != GLIMPSE_OK) continue;
        int embd = strcmp(t.name, "token_embd.weight") == 0;
        /* the embedding table is read one row per token, unless it is also the output */
        c->weight_bytes += embd && !tied ? (double)t.nbytes / (double)t.ne[1] : (double)t.nbytes;
        if (t.n_dims >= 2 && (!embd || tied)) c->weight_elems += (double)t.ne[0] * (double)t.ne[1];
    }
}

static void vision_costs(const glimpse_gguf *g, model_costs *c) {
    int64_t size = key_int(g, "clip.vision.image_size", 0), patch = key_int(g, "clip.vision.patch_size", 1);
    int64_t width = key_int(g, "clip.vision.embedding_length", 0), layers = key_int(g, "clip.vision.block_count", 0);
    int64_t scale = key_int(g, "clip.vision.projector.scale_factor", 1);
    double n = patch ? (double)(size / patch) * (double)(size / patch) : 0;
    c->tile_tokens = scale ? (int64_t)n / (scale * scale) : 0;
    c->vit_ops = 4.0 * n * n * (double)width * (double)layers; /* scores and weighted sums */
    for (int64_t i = 0; i < glimpse_gguf_n_tensors(g); i++) {
        glimpse_tensor_info t;
        if (glimpse_gguf_tensor_info(g, i, &t) != GLIMPSE_OK || t.n_dims < 2 || t.ne[1] < 2) continue;
        double elems = (double)t.ne[0] * (double)t.ne[1] * (double)t.ne[2] * (double)t.ne[3];
        if (!strncmp(t.name, "v.blk.", 6) || !strncmp(t.name, "v.patch_embd.", 13)) c->vit_ops += 2 * elems * n;
        else if (!strncmp(t.name, "mm.", 3)) c->vit_ops += 2 * elems * (double)c->tile_tokens;
    }
}

/* Finds the text and mmproj GGUF of a directory (or takes -m and --mmproj). */
static int find_files(const char *model, const char *mmproj, char *text_path, char *mm_path, size_t size) {
    text_path[0] = mm_path[0] = 0;
    DIR *d = opendir(model);
    if (!d) {
        snprintf(text_path, size, "%s", model);
        if (mmproj) snprintf(mm_path, size, "%s", mmproj);
        return 0;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 5, ".gguf")) continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", model, e->d_name);
        glimpse_gguf *g;
        if (glimpse_gguf_open(path, &g) != GLIMPSE_OK) continue;
        snprintf(is_mmproj(g) ? mm_path : text_path, size, "%s", path);
        glimpse_gguf_close(g);
    }
    closedir(d);
    if (mmproj) snprintf(mm_path, size, "%s", mmproj);
    return text_path[0] && mm_path[0] ? 0 : -1;
}

/* ==== Measurements ==== */

typedef struct {
    glimpse_model *m;
    const char *image_path;
    unsigned char *ppm; /* the synthetic photo, when no --image */
    size_t ppm_size;
} bench_ctx;

/* A 640x488 photo-like PPM: smooth gradients with texture, so every tile
 * differs (the encoder's cost does not depend on the pixels). */
static int make_ppm(bench_ctx *b) {
    const int w = 640, h = 488;
    char header[32];
    int hl = snprintf(header, sizeof header, "P6\n%d %d\n255\n", w, h);
    b->ppm_size = (size_t)hl + (size_t)w * h * 3;
    if (!(b->ppm = malloc(b->ppm_size))) return -1;
    memcpy(b->ppm, header, (size_t)hl);
    unsigned char *p = b->ppm + hl;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++, p += 3) {
            p[0] = (unsigned char)(x * 255 / w);
            p[1] = (unsigned char)(y * 255 / h);
            p[2] = (unsigned char)((x * 7 + y * 13) % 256);
        }
    return 0;
}

static glimpse_status load_image(bench_ctx *b, glimpse_image **img) {
    if (b->image_path) return glimpse_image_load_file(b->m, b->image_path, img);
    return glimpse_image_load_memory(b->m, b->ppm, b->ppm_size, "synthetic-640x488.ppm", img);
}

static int discard_text(const char *text, size_t len, void *user) {
    (void)text, (void)len, (void)user;
    return 0;
}

/* A text of about n tokens under the model's tokenizer (BOS included). */
static char *text_of_tokens(const char *text_path, int n, int *got) {
    static const char *const words[] = {"the", "quick", "brown", "fox", "jumps", "over", "a", "lazy", "dog",
                                        "while", "seven", "small", "birds", "watch", "from", "old", "trees"};
    glimpse_vocab *v;
    if (glimpse_vocab_load(text_path, &v) != GLIMPSE_OK) return NULL;
    size_t cap = (size_t)n * 16 + 16, len = 0;
    char *s = malloc(cap);
    *got = 0;
    for (int i = 0; s && *got < n; i++) {
        const char *w = words[i % (sizeof words / sizeof *words)];
        size_t wl = strlen(w);
        if (len + wl + 2 > cap) break;
        size_t before = len;
        len += (size_t)snprintf(s + len, cap - len, "%s%s", len ? " " : "", w);
        int32_t *ids;
        size_t n_ids;
        if (glimpse_tokenize(v, s, len, GLIMPSE_TOKENIZE_ADD_BOS, &ids, &n_ids) != GLIMPSE_OK) break;
        glimpse_free(ids);
        if ((int)n_ids > n) { /* one word too many */
            s[len = before] = 0;
            break;
        }
        *got = (int)n_ids;
    }
    glimpse_vocab_free(v);
    return s;
}

typedef struct {
    samples load_s, encode_s, pp_tps, decode_tps, describe_s, tokenize_mbs;
    int n_tiles, pp_tokens, decode_ctx;
} results;

/* Tokenizer speed on about 1 MB of mixed text (English, Korean, code,
 * numbers): MB/s of UTF-8 turned into ids. */
static double tokenize_mb_per_s(const char *text_path) {
    static const char *const parts[] = {
        "The quick brown fox jumps over the lazy dog; 12 birds watched from 3 old trees. ",
        "이 사진에는 고양이 한 마리가 의자 위에 앉아 있습니다. ",
        "for (int i = 0; i < n; i++) { sum += x[i] * w[i]; }\n",
        "  Prices rose 4.5% in 2024, while 1,024 users wrote 65536 reviews!?\n",
    };
    enum { TARGET = 1 << 20 };
    char *text = malloc(TARGET + 256);
    glimpse_vocab *v;
    if (!text || glimpse_vocab_load(text_path, &v) != GLIMPSE_OK) {
        free(text);
        return 0;
    }
    size_t len = 0;
    for (int i = 0; len < TARGET; i++) {
        size_t n = strlen(parts[i % 4]);
        memcpy(text + len, parts[i % 4], n);
        len += n;
    }
    int32_t *ids;
    size_t n_ids;
    double t0 = now_s();
    glimpse_status st = glimpse_tokenize(v, text, len, 0, &ids, &n_ids);
    double secs = now_s() - t0;
    if (!st) glimpse_free(ids);
    glimpse_vocab_free(v);
    free(text);
    return st ? 0 : len / 1e6 / secs;
}

static int fail(const char *what) {
    fprintf(stderr, "glimpse: %s: %s\n", what, glimpse_last_error());
    return 1;
}

static int measure(bench_ctx *b, const char *text_path, int repeat, int quiet, results *r) {
    int pp_tokens = 0;
    char *pp_text = text_of_tokens(text_path, PP_TOKENS, &pp_tokens);
    if (!pp_text) return fail("the prompt-processing text");
    r->pp_tokens = pp_tokens;
    for (int rep = 0; rep < repeat; rep++) {
        if (!quiet) fprintf(stderr, "glimpse bench: run %d of %d\n", rep + 1, repeat);
        /* image decode + preprocess, then the encoder alone */
        glimpse_image *img;
        double t0 = now_s();
        if (load_image(b, &img) != GLIMPSE_OK) return free(pp_text), fail("image");
        r->load_s.v[rep] = now_s() - t0;
        int tile_size;
        glimpse_image_pixels(img, &r->n_tiles, &tile_size);
        const float *embd;
        int n_tok, n_embd;
        t0 = now_s();
        glimpse_status st = glimpse_image_encode(b->m, img, &embd, &n_tok, &n_embd);
        r->encode_s.v[rep] = (now_s() - t0) / (r->n_tiles ? r->n_tiles : 1);
        glimpse_image_free(img);
        if (st) return free(pp_text), fail("encode");

        /* prompt processing and decoding, each in a fresh session */
        glimpse_session *s;
        glimpse_gen_params gp = glimpse_gen_default_params();
        glimpse_timings t;
        gp.max_tokens = 1;
        if (glimpse_session_open(b->m, NULL, &s) != GLIMPSE_OK) return free(pp_text), fail("session");
        st = glimpse_session_complete(s, pp_text, 0, &gp, discard_text, NULL, NULL, &t);
        glimpse_session_free(s);
        if (st) return free(pp_text), fail("prompt processing");
        r->pp_tps.v[rep] = t.n_prompt_tokens / (t.prefill_ms / 1000);
        gp.max_tokens = DECODE_TOKENS;
        gp.ignore_eos = 1;
        if (glimpse_session_open(b->m, NULL, &s) != GLIMPSE_OK) return free(pp_text), fail("session");
        st = glimpse_session_complete(s, "Once upon a time", 0, &gp, discard_text, NULL, NULL, &t);
        glimpse_session_free(s);
        if (st) return free(pp_text), fail("decode");
        r->decode_tps.v[rep] = (t.n_generated - 1) / (t.decode_ms / 1000); /* the first token needs no step */
        r->decode_ctx = t.n_prompt_tokens + t.n_generated / 2;

        /* describe, end to end */
        t0 = now_s();
        gp.max_tokens = DESCRIBE_TOKENS;
        if (glimpse_session_open(b->m, NULL, &s) != GLIMPSE_OK) return free(pp_text), fail("session");
        st = load_image(b, &img);
        if (!st) st = glimpse_session_add_image(s, img);
        if (!st) st = glimpse_session_add_message(s, "user", glimpse_model_default_prompt(b->m, GLIMPSE_PROMPT_DESCRIBE));
        if (!st) st = glimpse_session_generate(s, &gp, discard_text, NULL, NULL, &t);
        glimpse_session_free(s);
        if (st) return free(pp_text), fail("describe");
        r->describe_s.v[rep] = now_s() - t0;
        r->tokenize_mbs.v[rep] = tokenize_mb_per_s(text_path);
        r->load_s.n = r->encode_s.n = r->pp_tps.n = r->decode_tps.n = r->describe_s.n = r->tokenize_mbs.n = rep + 1;
    }
    free(pp_text);
    return 0;
}

/* ==== Report ==== */

typedef struct {
    const char *name, *unit;
    const samples *s;
    double roofline;   /* same unit; 0: none */
    int higher_better; /* rates: measured / roofline; times: roofline / measured */
} row;

static void print_report(const glimpse_machine *mc, const model_costs *c, const results *r, const char *type,
                         const row *rows, int n_rows, long rss_kb, double files_mb, int json) {
    char date[32];
    time_t now = time(NULL);
    strftime(date, sizeof date, "%Y-%m-%d", gmtime(&now));
    if (json) {
        printf("{\"date\":\"%s\",\"cpu\":", date);
        cli_json_string(stdout, mc->cpu);
        printf(",\"kernels\":\"%s\",\"threads\":%d,\"model_type\":", mc->kernels, mc->n_threads);
        cli_json_string(stdout, type);
        printf(",\"read_gb_s\":%.2f,\"f32_gflops\":%.1f,\"int8_gops\":%.1f,\"tile_int8_gops\":%.1f,"
               "\"tile_bf16_gflops\":%.1f,\"tiles\":%d,\"pp_tokens\":%d,"
               "\"peak_rss_mb\":%.1f,\"model_files_mb\":%.1f,\"results\":[",
               mc->read_bytes_per_s / 1e9, mc->f32_flops / 1e9, mc->int8_ops / 1e9, mc->tile_int8_ops / 1e9,
               mc->tile_bf16_flops / 1e9, r->n_tiles, r->pp_tokens, rss_kb / 1024.0, files_mb);
        for (int i = 0; i < n_rows; i++) {
            double med = median(rows[i].s);
            printf("%s{\"name\":\"%s\",\"unit\":\"%s\",\"median\":%.4g,\"spread\":%.4g,\"n\":%d", i ? "," : "",
                   rows[i].name, rows[i].unit, med, spread(rows[i].s), rows[i].s->n);
            if (rows[i].roofline > 0)
                printf(",\"roofline\":%.4g,\"percent_of_roofline\":%.1f", rows[i].roofline,
                       100 * (rows[i].higher_better ? med / rows[i].roofline : rows[i].roofline / med));
            printf("}");
        }
        printf("]}\n");
        return;
    }
    printf("glimpse bench, %s: %s, %d threads, kernels %s, model %s\n", date, mc->cpu, mc->n_threads, mc->kernels,
           type);
    printf("machine: read %.1f GB/s (working set %.0f MB), F32 FMA %.0f GFLOP/s, int8 dot %.0f GOP/s",
           mc->read_bytes_per_s / 1e9, c->weight_bytes / 1e6, mc->f32_flops / 1e9, mc->int8_ops / 1e9);
    if (mc->tile_int8_ops > 0)
        printf(", AMX int8 %.0f GOP/s, bf16 %.0f GFLOP/s", mc->tile_int8_ops / 1e9, mc->tile_bf16_flops / 1e9);
    printf("\n");
    printf("model: %.0f MB of text weights read per token; %.1f GOP per vision tile; %d tiles per photo\n\n",
           c->weight_bytes / 1e6, c->vit_ops / 1e9, r->n_tiles);
    printf("%-30s %10s %10s %10s %8s\n", "", "median", "spread", "roofline", "% roof");
    for (int i = 0; i < n_rows; i++) {
        double med = median(rows[i].s);
        printf("%-30s %10.3f %10.3f", rows[i].name, med, spread(rows[i].s));
        if (rows[i].roofline > 0)
            printf(" %10.3f %7.0f%%", rows[i].roofline,
                   100 * (rows[i].higher_better ? med / rows[i].roofline : rows[i].roofline / med));
        printf("  %s\n", rows[i].unit);
    }
    printf("\npeak RSS %.0f MB (model files %.0f MB)\n", rss_kb / 1024.0, files_mb);
}

static int file_mb(const char *path, double *mb) {
    glimpse_gguf *g;
    if (glimpse_gguf_open(path, &g) != GLIMPSE_OK) return -1;
    *mb += (double)glimpse_gguf_file_size(g) / (1024.0 * 1024.0);
    glimpse_gguf_close(g);
    return 0;
}

int cli_bench(int argc, char **argv) {
    const char *make_dir = NULL, *type = "Q8_0", *model = NULL, *mmproj = NULL, *image = NULL;
    int threads = 0, repeat = 3, json = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            printf("%s", usage);
            return 0;
        } else if (!strcmp(a, "--json")) {
            json = 1;
        } else if (v && !strcmp(a, "--make-model")) {
            make_dir = argv[++i];
        } else if (v && !strcmp(a, "--type")) {
            type = argv[++i];
        } else if (v && !strcmp(a, "-m")) {
            model = argv[++i];
        } else if (v && !strcmp(a, "--mmproj")) {
            mmproj = argv[++i];
        } else if (v && !strcmp(a, "--image")) {
            image = argv[++i];
        } else if (v && (!strcmp(a, "-t") || !strcmp(a, "--threads"))) {
            threads = atoi(argv[++i]);
        } else if (v && (!strcmp(a, "-r") || !strcmp(a, "--repeat"))) {
            repeat = atoi(argv[++i]);
        } else {
            fprintf(stderr, "glimpse bench: unknown or incomplete option '%s'\n%s", a, usage);
            return 2;
        }
    }
    if (make_dir) {
        if (glimpse_bench_make_model(make_dir, type) != GLIMPSE_OK) return fail(make_dir);
        fprintf(stderr, "glimpse bench: wrote %s/text-%s.gguf and %s/mmproj-%s.gguf\n", make_dir, type, make_dir, type);
        return 0;
    }
    if (!model || repeat < 1 || repeat > MAX_REPEAT || threads < 0) {
        fprintf(stderr, "%s", usage);
        return 2;
    }
    char text_path[4096], mm_path[4096];
    if (find_files(model, mmproj, text_path, mm_path, sizeof text_path) || !mm_path[0]) {
        fprintf(stderr, "glimpse bench: %s: need a text GGUF and an mmproj GGUF\n", model);
        return 1;
    }
    model_costs c = {0};
    glimpse_gguf *g;
    double files_mb = 0;
    if (glimpse_gguf_open(text_path, &g) != GLIMPSE_OK) return fail(text_path);
    text_costs(g, &c);
    glimpse_gguf_close(g);
    if (glimpse_gguf_open(mm_path, &g) != GLIMPSE_OK) return fail(mm_path);
    vision_costs(g, &c);
    glimpse_gguf_close(g);
    if (file_mb(text_path, &files_mb) || file_mb(mm_path, &files_mb)) return fail("model files");

    glimpse_machine mc;
    if (glimpse_probe_machine(threads, (uint64_t)c.weight_bytes, &mc) != GLIMPSE_OK) return fail("probe");
    glimpse_model_params mp = glimpse_model_default_params();
    mp.model_path = text_path;
    mp.mmproj_path = mm_path;
    mp.n_threads = threads;
    bench_ctx b = {.image_path = image};
    if (glimpse_model_load(&mp, &b.m) != GLIMPSE_OK) return fail(model);
    if (!image && make_ppm(&b)) {
        glimpse_model_free(b.m);
        fprintf(stderr, "glimpse bench: out of memory\n");
        return 1;
    }
    results r = {0};
    int rc = measure(&b, text_path, repeat, json, &r);
    glimpse_model_free(b.m);
    free(b.ppm);
    if (rc) return rc;

    /* rooflines: bytes or operations / the machine's rate */
    double kv_bytes = 2.0 * (double)c.n_layer * (double)r.decode_ctx * (double)c.kv_dim * sizeof(float);
    double pp_ops = 2 * c.weight_elems + 4.0 * (double)c.n_layer * (r.pp_tokens / 2.0) * (double)c.n_embd;
    double encode_peak = mc.tile_bf16_flops > 0 ? mc.tile_bf16_flops : mc.int8_ops;
    double prompt_peak = mc.tile_int8_ops > 0 ? mc.tile_int8_ops : mc.int8_ops;
    row rows[] = {
        {"image decode + preprocess", "s", &r.load_s, 0, 0},
        {"vision encode per tile", "s", &r.encode_s, c.vit_ops / encode_peak, 0},
        {"prompt processing", "tokens/s", &r.pp_tps, prompt_peak / pp_ops, 1},
        {"decode", "tokens/s", &r.decode_tps, mc.read_bytes_per_s / (c.weight_bytes + kv_bytes), 1},
        {"describe (64 new tokens)", "s", &r.describe_s, 0, 0},
        {"tokenizer encode (1 MB)", "MB/s", &r.tokenize_mbs, 0, 1},
    };
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    const char *slash = strrchr(text_path, '/');
    print_report(&mc, &c, &r, slash ? slash + 1 : text_path, rows, (int)(sizeof rows / sizeof *rows), ru.ru_maxrss,
                 files_mb, json);
    return 0;
}
