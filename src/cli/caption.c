/* caption.c - `glimpse caption PATH... [-o captions.jsonl]`: captions every
 * image under files and folders with one loaded model, writing one record
 * per image as soon as it is done, so that a rerun of the same command
 * continues where a killed one stopped; `--shard K/N` takes a stable part
 * of the images for one machine of many, and `--merge` joins their outputs.
 *
 * One session serves every image: after glimpse_session_reset the session
 * keeps the computed tokens before the first image (the template's opening),
 * so only the image and the instruction are computed per image; the next
 * image is read and preprocessed on another thread meanwhile
 * (caption_prefetch.c). Uses only glimpse.h. */
#include "caption.h"
#include "cli.h"
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char caption_usage[] =
    "usage: glimpse caption PATH... [-o FILE] [options]\n"
    "       glimpse caption --merge OUT PART...\n"
    "Captions every image in the files and folders given (folders are walked\n"
    "recursively; files whose first bytes are no image are skipped), in path\n"
    "order, one record per image. Rerunning the same command skips the images\n"
    "already in the output (same path, size and mtime): a killed job continues.\n\n"
    "  -o FILE            write the records to FILE (default: standard output)\n"
    "  --format F         jsonl or csv (default: csv when FILE ends in .csv, else jsonl)\n"
    "  --sidecar          also write each caption beside its image (photo.jpg -> photo.txt);\n"
    "                     images that have one are skipped\n"
    "  --sidecar-ext EXT  the sidecar's extension (default .txt)\n"
    "  --overwrite        replace existing sidecars\n"
    "  --retry-failed     caption again the images whose record holds an error\n"
    "  --no-recursive     only the files directly in the folders given\n"
    "  --shard K/N        only the K-th of N parts of the images (1 <= K <= N), chosen by a\n"
    "                     hash of each path below its folder argument (of the file name for\n"
    "                     a file argument), so that N machines share a job\n"
    "  --merge OUT        join the outputs of shards (the PARTs) into OUT, sorted by path\n"
    "  -p TEXT            the instruction (default: the model family's caption prompt)\n"
    "  --prompt-file FILE read the instruction from a file\n"
    "Progress goes to standard error: a bar on a terminal, else a line every 10 s.\n"
    "Exit status: 0 every image has its caption; 3 the job is finished but some images\n"
    "failed (their records hold the error; a rerun skips them); 1 the job could not run\n"
    "or not entirely (model, output file, a folder that cannot be read); 2 usage;\n"
    "130/143 interrupted by SIGINT/SIGTERM (a rerun continues).\n\n" CLI_MODEL_OPTIONS
        CLI_SAMPLING_OPTIONS;

/* Finished, but some images have an error record: distinct from 1 (could
 * not run) so that a scheduler can count the shard as done, not retry it. */
#define CAPTION_EXIT_FAILED_IMAGES 3

/* Raised by SIGINT/SIGTERM; also the generation's cancel flag. */
static volatile sig_atomic_t interrupted;

static void on_signal(int sig) { interrupted = sig; }

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* ==== Progress ==== */

#define PROGRESS_LINE_MS 10000.0 /* between plain progress lines when stderr is no terminal */

typedef struct {
    int tty, quiet;
    size_t total, done; /* images to caption in this run, and handled so far */
    double t0, last_line;
    int bar_shown;
} progress;

static void format_duration(double s, char *buf, size_t size) {
    long t = (long)(s + 0.5);
    if (t >= 3600) snprintf(buf, size, "%ldh%02ldm", t / 3600, t / 60 % 60);
    else if (t >= 60) snprintf(buf, size, "%ldm%02lds", t / 60, t % 60);
    else snprintf(buf, size, "%lds", t);
}

/* Images per minute and the time left, as text. */
static void rate_text(const progress *p, char *buf, size_t size) {
    double minutes = (now_ms() - p->t0) / 60000.0;
    if (p->done == 0 || minutes <= 0) {
        snprintf(buf, size, "-- images/min");
        return;
    }
    double rate = (double)p->done / minutes;
    char eta[32];
    format_duration((double)(p->total - p->done) / rate * 60.0, eta, sizeof eta);
    snprintf(buf, size, "%.1f images/min, ETA %s", rate, eta);
}

static void progress_clear(progress *p) {
    if (p->bar_shown) fputs("\r\033[K", stderr);
    p->bar_shown = 0;
}

static void progress_show(progress *p) {
    if (p->quiet || p->total == 0) return;
    char rate[96];
    rate_text(p, rate, sizeof rate);
    if (p->tty) {
        enum { WIDTH = 30 };
        char bar[WIDTH + 1];
        size_t filled = p->done * WIDTH / p->total;
        for (size_t i = 0; i < WIDTH; i++) bar[i] = i < filled ? '#' : '-';
        bar[WIDTH] = 0;
        fprintf(stderr, "\r\033[K[%s] %zu/%zu  %s", bar, p->done, p->total, rate);
        p->bar_shown = 1;
    } else if (p->done > 0 && now_ms() - p->last_line >= PROGRESS_LINE_MS) {
        fprintf(stderr, "glimpse caption: %zu/%zu images, %s\n", p->done, p->total, rate);
        p->last_line = now_ms();
    }
}

/* A message on stderr that the progress bar does not overwrite. */
static void say(progress *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(progress *p, const char *fmt, ...) {
    if (p->quiet) return;
    progress_clear(p);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    progress_show(p);
}

/* ==== Writing ==== */

static int write_all(int fd, const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Where the records go: an output file opened for appending (each record
 * one write, so a kill cuts at most the last one), or standard output. */
typedef struct {
    caption_format format;
    const char *path; /* NULL: standard output */
    int fd;
    int enabled;      /* 0 with --sidecar and no -o */
} sink;

static int sink_write(sink *s, const caption_record *r) {
    if (!s->enabled) return 0;
    size_t len;
    char *line = caption_record_format(s->format, r, &len);
    int rc = line ? 0 : -1;
    if (!rc && s->path) rc = write_all(s->fd, line, len);
    else if (!rc) rc = fwrite(line, 1, len, stdout) == len && fflush(stdout) == 0 ? 0 : -1;
    free(line);
    if (rc) fprintf(stderr, "glimpse caption: %s: cannot write: %s\n", s->path ? s->path : "<stdout>", strerror(errno));
    return rc;
}

/* photo.jpg -> photo.txt (the extension replaced, or added when none). */
static char *sidecar_path(const char *image, const char *ext) {
    const char *base = strrchr(image, '/');
    base = base ? base + 1 : image;
    const char *dot = strrchr(base, '.');
    size_t stem = dot && dot > base ? (size_t)(dot - image) : strlen(image);
    char *s = malloc(stem + strlen(ext) + 1);
    if (s) {
        memcpy(s, image, stem);
        strcpy(s + stem, ext);
    }
    return s;
}

/* Writes text to a temporary file renamed over path: a kill never leaves a
 * half sidecar that would pass for done. Returns 0 or errno. */
static int write_sidecar(const char *path, const char *text) {
    size_t n = strlen(path) + 32;
    char *tmp = malloc(n);
    if (!tmp) return ENOMEM;
    snprintf(tmp, n, "%s.tmp%ld", path, (long)getpid());
    int err = 0, fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || write_all(fd, text, strlen(text)) || write_all(fd, "\n", 1)) err = errno;
    if (fd >= 0 && close(fd) && !err) err = errno;
    if (!err && rename(tmp, path)) err = errno;
    if (err) unlink(tmp);
    free(tmp);
    return err;
}

/* ==== The job ==== */

typedef enum { JOB_RUN, JOB_RECORDED, JOB_SIDECAR_KEPT, JOB_CONFLICT, JOB_OTHER_SHARD } job_state;

typedef struct {
    caption_file *file;
    job_state state;
    char *sidecar;           /* with --sidecar */
    const char *conflict;    /* JOB_CONFLICT: the image whose sidecar it would overwrite */
} job;

typedef struct {
    cli_opts o;
    const char *prompt, *model_name;
    int sidecar, overwrite, retry_failed, recursive, shard_k, shard_n, format_given;
    const char *sidecar_ext;
    caption_format format;
} settings;

typedef struct {
    size_t done, failed, recorded, failed_before, other_settings, sidecars_kept, other_shards;
} counts;

static int by_sidecar(const void *a, const void *b) {
    const job *x = *(job *const *)a, *y = *(job *const *)b;
    int c = strcmp(x->sidecar, y->sidecar);
    return c ? c : strcmp(x->file->path, y->file->path);
}

/* Two images that would share a sidecar (photo.jpg, photo.png): the first
 * in path order keeps it, the others fail. */
static int mark_sidecar_conflicts(job *jobs, size_t n) {
    job **order = malloc((n + 1) * sizeof *order);
    if (!order) return -1;
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (jobs[i].state == JOB_RUN) order[m++] = &jobs[i];
    qsort(order, m, sizeof *order, by_sidecar);
    for (size_t i = 1; i < m; i++)
        if (!strcmp(order[i]->sidecar, order[i - 1]->sidecar)) {
            order[i]->state = JOB_CONFLICT;
            order[i]->conflict = order[i - 1]->conflict ? order[i - 1]->conflict : order[i - 1]->file->path;
        }
    free(order);
    return 0;
}

/* Opens the output file for appending, locked so that a second job on the
 * same file (a requeued task while the old one still runs) is refused
 * rather than writing the same records twice. */
static int open_output(sink *out) {
    out->fd = open(out->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (out->fd < 0) {
        fprintf(stderr, "glimpse caption: %s: cannot open: %s\n", out->path, strerror(errno));
        return -1;
    }
    /* flock, not fcntl: fcntl's lock would go when reading the file closes another descriptor */
    if (flock(out->fd, LOCK_EX | LOCK_NB) && errno == EWOULDBLOCK) {
        fprintf(stderr, "glimpse caption: %s: another glimpse caption is writing to it\n", out->path);
        close(out->fd);
        out->fd = -1;
        return -1;
    }
    return 0;
}

/* Decides what each image needs: resume against the output file (cut
 * record repaired, records of changed images dropped), sidecars. */
static int plan(settings *st, sink *out, job *jobs, size_t n, counts *c) {
    caption_output prev = {0};
    if (out->path) {
        if (open_output(out)) return -1;
        if (caption_output_read(out->path, st->format, st->model_name, st->prompt, &prev)) return -1;
        if (prev.size > 0 && prev.format != st->format) {
            if (st->format_given) {
                fprintf(stderr, "glimpse caption: %s holds %s records; --format says %s\n", out->path,
                        prev.format == CAPTION_CSV ? "CSV" : "JSON lines", st->format == CAPTION_CSV ? "csv" : "jsonl");
                caption_output_free(&prev);
                return -1;
            }
            out->format = st->format = prev.format;
        }
        if (prev.complete < prev.size) {
            if (ftruncate(out->fd, (off_t)prev.complete)) {
                fprintf(stderr, "glimpse caption: %s: cannot repair: %s\n", out->path, strerror(errno));
                caption_output_free(&prev);
                return -1;
            }
            if (!st->o.quiet)
                fprintf(stderr, "glimpse caption: %s: removed a record cut short by an interrupted run (%zu bytes)\n",
                        out->path, prev.size - prev.complete);
        }
    }
    int rewrite = 0;
    for (size_t i = 0; i < n; i++) {
        job *j = &jobs[i];
        if (st->shard_n > 1 && !caption_in_shard(j->file->path + j->file->key, st->shard_k, st->shard_n)) {
            j->state = JOB_OTHER_SHARD;
            c->other_shards++;
            continue;
        }
        caption_entry *e = prev.n ? caption_output_find(&prev, j->file->path) : NULL;
        if (e && e->size == j->file->size && e->mtime && !strcmp(e->mtime, j->file->mtime) &&
            !(st->retry_failed && e->failed)) {
            j->state = JOB_RECORDED;
            c->recorded++;
            c->failed_before += e->failed != 0;
            c->other_settings += e->other_settings != 0;
            continue;
        }
        if (e) rewrite |= caption_output_mark_stale(&prev, j->file->path); /* changed, or tried again */
        if (st->sidecar && !(j->sidecar = sidecar_path(j->file->path, st->sidecar_ext))) {
            caption_output_free(&prev);
            return -1;
        }
    }
    if (st->sidecar && mark_sidecar_conflicts(jobs, n)) {
        caption_output_free(&prev);
        return -1;
    }
    for (size_t i = 0; st->sidecar && !st->overwrite && i < n; i++) {
        struct stat sb;
        if (jobs[i].state == JOB_RUN && stat(jobs[i].sidecar, &sb) == 0) {
            jobs[i].state = JOB_SIDECAR_KEPT;
            c->sidecars_kept++;
        }
    }
    int rc = 0;
    if (rewrite) { /* the file is replaced: the new one is opened and locked */
        close(out->fd);
        out->fd = -1;
        rc = caption_output_rewrite(out->path, &prev) || open_output(out) ? -1 : 0;
    }
    if (!rc && out->path) {
        /* a CSV file starts with its header, written once */
        struct stat sb;
        if (out->format == CAPTION_CSV && fstat(out->fd, &sb) == 0 && sb.st_size == 0)
            rc = write_all(out->fd, caption_csv_header(), strlen(caption_csv_header()));
    } else if (!rc && out->enabled && out->format == CAPTION_CSV) {
        fputs(caption_csv_header(), stdout);
    }
    caption_output_free(&prev);
    return rc;
}

/* Strips the spaces and newlines a model puts around its answer. */
static char *trim(char *s) {
    while (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r') s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\n' || s[n - 1] == '\t' || s[n - 1] == '\r')) s[--n] = 0;
    return s;
}

/* Captions one loaded image (owned: the session takes it). Returns the
 * generation's status; *text and *t are set on success. */
static glimpse_status caption_image(glimpse_session *s, const settings *st, glimpse_image *img, char **text,
                                    glimpse_timings *t) {
    glimpse_session_reset(s);
    glimpse_status rc = glimpse_session_add_image(s, img);
    if (!rc) rc = glimpse_session_add_message(s, "user", st->prompt);
    if (!rc) rc = glimpse_session_generate(s, &st->o.gen, NULL, NULL, text, t);
    return rc;
}

/* Runs the jobs in order; returns -1 when the output cannot be written. */
static int run_jobs(settings *st, glimpse_model *m, glimpse_session *s, sink *out, job *jobs, size_t n, counts *c,
                    progress *pg) {
    char **paths = calloc(n + 1, sizeof *paths);
    if (!paths) return -1;
    size_t n_load = 0;
    for (size_t i = 0; i < n; i++)
        if (jobs[i].state == JOB_RUN) paths[n_load++] = jobs[i].file->path;
    caption_prefetch *pf = caption_prefetch_start(m, paths, n_load);
    int rc = pf ? 0 : -1;
    for (size_t i = 0; !rc && i < n && !interrupted; i++) {
        job *j = &jobs[i];
        if (j->state != JOB_RUN && j->state != JOB_CONFLICT) continue;
        caption_record r = {.path = j->file->path, .size = j->file->size, .mtime = j->file->mtime,
                            .model = st->model_name, .prompt = st->prompt};
        char *load_error = NULL, *text = NULL, *error = NULL, conflict[64 + 2 * 4096];
        glimpse_timings t;
        if (j->state == JOB_CONFLICT) {
            snprintf(conflict, sizeof conflict, "%s: the sidecar is %s's already", j->sidecar, j->conflict);
            r.error = conflict;
        } else {
            glimpse_image *img = caption_prefetch_next(pf, &load_error, &r.load_ms);
            if (!img) {
                r.error = load_error ? load_error : "out of memory";
            } else {
                r.width = glimpse_image_width(img);
                r.height = glimpse_image_height(img);
                glimpse_status gs = caption_image(s, st, img, &text, &t);
                if (gs == GLIMPSE_ERR_CANCELLED && interrupted) {
                    glimpse_free(text);
                    break;
                }
                if (gs) {
                    r.error = error = strdup(glimpse_last_error());
                    if (!r.error) r.error = "out of memory";
                } else {
                    r.caption = trim(text);
                    r.t = &t;
                }
            }
        }
        if (!r.error && st->sidecar) {
            int err = write_sidecar(j->sidecar, r.caption);
            if (err) {
                size_t len = strlen(j->sidecar) + 64;
                if ((error = malloc(len))) snprintf(error, len, "%s: cannot write: %s", j->sidecar, strerror(err));
                r.error = error ? error : "cannot write the sidecar";
            }
        }
        if (r.error) {
            c->failed++;
            /* glimpse's messages start with the file name already */
            if (!strncmp(r.error, r.path, strlen(r.path))) say(pg, "glimpse caption: %s\n", r.error);
            else say(pg, "glimpse caption: %s: %s\n", r.path, r.error);
        } else {
            c->done++;
        }
        if (sink_write(out, &r)) rc = -1;
        free(load_error);
        free(error);
        glimpse_free(text);
        pg->done++;
        progress_show(pg);
    }
    caption_prefetch_stop(pf);
    free(paths);
    return rc;
}

static int parse_shard(const char *s, int *k, int *n) {
    char *end;
    errno = 0;
    long a = strtol(s, &end, 10);
    if (errno || end == s || *end != '/') return -1;
    const char *q = end + 1;
    long b = strtol(q, &end, 10);
    if (errno || end == q || *end || b < 1 || b > 1000000 || a < 1 || a > b) return -1;
    *k = (int)a;
    *n = (int)b;
    return 0;
}

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcmp(s + n - m, suffix);
}

static void print_summary(const settings *st, const counts *c, const caption_list *list, double minutes) {
    if (st->o.quiet) return;
    fprintf(stderr, "glimpse caption: %zu done, %zu skipped, %zu failed", c->done, c->recorded + c->sidecars_kept,
            c->failed);
    if (c->done + c->failed > 0 && minutes > 0)
        fprintf(stderr, " (%.1f images/min)", (double)(c->done + c->failed) / minutes);
    if (c->recorded) fprintf(stderr, "; %zu already in %s", c->recorded, st->o.output);
    if (c->failed_before) fprintf(stderr, " (%zu of them failed; --retry-failed tries again)", c->failed_before);
    if (c->sidecars_kept) fprintf(stderr, "; %zu kept their sidecar", c->sidecars_kept);
    if (list->n_not_images) fprintf(stderr, "; %zu non-image files skipped", list->n_not_images);
    if (list->n_unreadable) fprintf(stderr, "; %zu unreadable paths", list->n_unreadable);
    if (list->n_loops) fprintf(stderr, "; %zu symbolic link loops not followed", list->n_loops);
    fputc('\n', stderr);
    if (c->other_settings)
        fprintf(stderr, "glimpse caption: note: %zu skipped records were made with another model or prompt\n",
                c->other_settings);
}

/* Plans and runs the job with a loaded model; returns the exit status. */
static int caption_job(settings *st, glimpse_model *m, job *jobs, const caption_list *list) {
    sink out = {.format = st->format, .path = st->o.output, .fd = -1, .enabled = st->o.output || !st->sidecar};
    counts c = {0};
    glimpse_session *s = NULL;
    glimpse_session_params sp = glimpse_session_default_params();
    sp.n_ctx = st->o.ctx;
    int rc = 1;
    if (plan(st, &out, jobs, list->n, &c)) goto done;
    if (glimpse_session_open(m, &sp, &s) != GLIMPSE_OK) {
        fprintf(stderr, "glimpse: %s\n", glimpse_last_error());
        goto done;
    }
    progress pg = {.tty = isatty(2), .quiet = st->o.quiet, .t0 = now_ms()};
    pg.last_line = pg.t0;
    for (size_t i = 0; i < list->n; i++) pg.total += jobs[i].state == JOB_RUN || jobs[i].state == JOB_CONFLICT;
    if (!st->o.quiet && st->shard_n > 1)
        fprintf(stderr, "glimpse caption: shard %d/%d: %zu of %zu images\n", st->shard_k, st->shard_n,
                list->n - c.other_shards, list->n);
    if (!st->o.quiet)
        fprintf(stderr, "glimpse caption: %zu images to caption, %zu skipped\n", pg.total,
                c.recorded + c.sidecars_kept);
    progress_show(&pg);
    struct sigaction sa = {0}, old_int, old_term;
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    st->o.gen.cancel = &interrupted;
    int failed_write = run_jobs(st, m, s, &out, jobs, list->n, &c, &pg);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    progress_clear(&pg);
    if (out.fd >= 0) {
        int bad = fsync(out.fd) | close(out.fd);
        out.fd = -1;
        if (bad && !failed_write) {
            fprintf(stderr, "glimpse caption: %s: cannot write: %s\n", out.path, strerror(errno));
            failed_write = -1;
        }
    }
    print_summary(st, &c, list, (now_ms() - pg.t0) / 60000.0);
    if (interrupted) {
        if (!st->o.quiet) fprintf(stderr, "glimpse caption: interrupted; run the same command again to continue\n");
        rc = 128 + interrupted;
    } else {
        rc = failed_write || list->n_unreadable ? 1 : c.failed || c.failed_before ? CAPTION_EXIT_FAILED_IMAGES : 0;
    }
done:
    if (out.fd >= 0) close(out.fd);
    glimpse_session_free(s);
    return rc;
}

/* The command after option parsing: find the images, load the model, run. */
static int caption_paths(settings *st) {
    caption_list list;
    int rc = 1;
    job *jobs = NULL;
    glimpse_model *m = NULL;
    char *prompt_buf = NULL;
    if (caption_find_images(st->o.args, st->o.n_args, st->recursive, st->o.quiet, &list) ||
        !(jobs = calloc(list.n + 1, sizeof *jobs)))
        goto done;
    for (size_t i = 0; i < list.n; i++) jobs[i].file = &list.files[i];
    if (st->o.prompt_file && !(st->prompt = prompt_buf = cli_read_text_file(st->o.prompt_file))) goto done;
    if (!(m = cli_load_model(&st->o))) goto done;
    if (!st->prompt) st->prompt = glimpse_model_default_prompt(m, GLIMPSE_PROMPT_CAPTION);
    st->model_name = glimpse_model_name(m);
    rc = caption_job(st, m, jobs, &list);
done:
    for (size_t i = 0; jobs && i < list.n; i++) free(jobs[i].sidecar);
    free(jobs);
    glimpse_model_free(m);
    free(prompt_buf);
    caption_list_free(&list);
    return rc;
}

int cli_caption(int argc, char **argv) {
    settings st = {.recursive = 1, .sidecar_ext = ".txt", .shard_k = 1, .shard_n = 1};
    const char *format = NULL, *shard = NULL, *merge = NULL;
    st.recursive = !cli_take_flag(&argc, argv, "--no-recursive");
    st.sidecar = cli_take_flag(&argc, argv, "--sidecar");
    st.overwrite = cli_take_flag(&argc, argv, "--overwrite");
    st.retry_failed = cli_take_flag(&argc, argv, "--retry-failed");
    if (cli_take_value(&argc, argv, "--format", &format) < 0 || cli_take_value(&argc, argv, "--shard", &shard) < 0 ||
        cli_take_value(&argc, argv, "--merge", &merge) < 0 ||
        cli_take_value(&argc, argv, "--sidecar-ext", &st.sidecar_ext) < 0)
        return 2;
    int rc = cli_parse(argc, argv, &st.o, caption_usage);
    if (rc) {
        free(st.o.args);
        return rc == 1 ? 0 : 2;
    }
    rc = -1;
    if (format && strcmp(format, "jsonl") && strcmp(format, "csv")) {
        fprintf(stderr, "glimpse caption: --format is jsonl or csv, not '%s'\n", format);
        rc = 2;
    } else if (shard && parse_shard(shard, &st.shard_k, &st.shard_n)) {
        fprintf(stderr, "glimpse caption: --shard takes K/N with 1 <= K <= N, not '%s'\n", shard);
        rc = 2;
    } else if (st.o.n_args < 1) {
        fputs(caption_usage, stderr);
        rc = 2;
    } else if (st.sidecar_ext[0] != '.' || strchr(st.sidecar_ext, '/') || !st.sidecar_ext[1]) {
        fprintf(stderr, "glimpse caption: --sidecar-ext takes an extension such as .txt, not '%s'\n", st.sidecar_ext);
        rc = 2;
    }
    if (rc < 0) {
        const char *named = merge ? merge : st.o.output;
        st.format_given = format || st.o.json;
        st.format = format ? (!strcmp(format, "csv") ? CAPTION_CSV : CAPTION_JSONL)
                  : !st.o.json && named && ends_with(named, ".csv") ? CAPTION_CSV : CAPTION_JSONL;
        st.prompt = st.o.prompt;
        rc = merge ? caption_merge(merge, st.o.args, st.o.n_args, st.format, st.o.quiet) : caption_paths(&st);
    }
    free(st.o.args);
    return rc;
}
