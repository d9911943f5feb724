/* caption_records.c - the records of `glimpse caption`: one per image, as a
 * JSON Lines object (RFC 8259, one per line) or a CSV row (RFC 4180, with a
 * header row), and reading them back to resume a job or merge shards.
 *
 * The reader is written for these records only: a flat JSON object whose
 * values are strings, numbers or null (no arrays, no nesting), and CSV with
 * quoted cells. That is a few dozen lines, where a general JSON library
 * would add a build dependency for every user of the library.
 *
 * A killed writer leaves at most one cut record at the end: a JSON line
 * without its newline, or a CSV row that ends inside quotes or without its
 * newline. The reader reports where the complete records end so that the
 * caller can cut the rest off. */
#include "caption.h"
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ==== Writing ==== */

typedef enum { FIELD_STRING, FIELD_INT, FIELD_MS } field_kind;

typedef struct {
    field_kind kind;
    const char *s;  /* FIELD_STRING; NULL: null */
    long long i;    /* FIELD_INT */
    double ms;      /* FIELD_MS */
    int known;      /* numbers: 0 writes null */
} field;

/* The columns, in the order both formats write them. */
static const char *const field_names[] = {
    "path", "caption", "error", "width", "height", "size", "mtime", "model", "prompt",
    "tokens_in", "tokens_cached", "tokens_out", "image_tokens", "stop",
    "load_ms", "encode_ms", "prefill_ms", "decode_ms",
};
#define N_FIELDS (sizeof field_names / sizeof field_names[0])

static field str_field(const char *s) { return (field){FIELD_STRING, s, 0, 0, 1}; }
static field int_field(long long i, int known) { return (field){FIELD_INT, NULL, i, 0, known}; }
static field ms_field(double ms, int known) { return (field){FIELD_MS, NULL, 0, ms, known}; }

static void record_fields(const caption_record *r, field f[N_FIELDS]) {
    const glimpse_timings *t = r->t;
    int known = t != NULL, size_known = r->width > 0;
    field all[N_FIELDS] = {
        str_field(r->path), str_field(r->caption), str_field(r->error),
        int_field(r->width, size_known), int_field(r->height, size_known),
        int_field((long long)r->size, 1), str_field(r->mtime), str_field(r->model), str_field(r->prompt),
        int_field(known ? t->n_prompt_tokens : 0, known), int_field(known ? t->n_cached_tokens : 0, known),
        int_field(known ? t->n_generated : 0, known), int_field(known ? t->n_image_tokens : 0, known),
        str_field(known ? t->stop_reason : NULL),
        ms_field(r->load_ms, r->load_ms > 0), ms_field(known ? t->encode_ms : 0, known),
        ms_field(known ? t->prefill_ms : 0, known), ms_field(known ? t->decode_ms : 0, known),
    };
    memcpy(f, all, sizeof all);
}

/* A CSV cell: strings always quoted (so null, an empty cell, differs from
 * ""), quotes doubled; bytes otherwise as they are. */
static void csv_string(FILE *f, const char *s) {
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

const char *caption_csv_header(void) {
    return "path,caption,error,width,height,size,mtime,model,prompt,tokens_in,tokens_cached,tokens_out,"
           "image_tokens,stop,load_ms,encode_ms,prefill_ms,decode_ms\n";
}

char *caption_record_format(caption_format format, const caption_record *r, size_t *len) {
    field f[N_FIELDS];
    record_fields(r, f);
    char *buf = NULL;
    FILE *m = open_memstream(&buf, len);
    if (!m) return NULL;
    if (format == CAPTION_JSONL) fputc('{', m);
    for (size_t i = 0; i < N_FIELDS; i++) {
        if (format == CAPTION_JSONL) fprintf(m, "%s\"%s\": ", i ? ", " : "", field_names[i]);
        else if (i) fputc(',', m);
        const char *null = format == CAPTION_JSONL ? "null" : "";
        if (f[i].kind == FIELD_STRING && !f[i].s) fputs(null, m);
        else if (f[i].kind == FIELD_STRING && format == CAPTION_JSONL) cli_json_string(m, f[i].s);
        else if (f[i].kind == FIELD_STRING) csv_string(m, f[i].s);
        else if (!f[i].known) fputs(null, m);
        else if (f[i].kind == FIELD_INT) fprintf(m, "%lld", f[i].i);
        else fprintf(m, "%.1f", f[i].ms);
    }
    fputs(format == CAPTION_JSONL ? "}\n" : "\n", m);
    int bad = ferror(m);
    if (fclose(m) || bad) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* ==== Reading: JSON lines ==== */

typedef struct {
    const char *p, *end;
} cursor;

static void skip_ws(cursor *c) {
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\r')) c->p++;
}

static int hex4(const char *p, const char *end, unsigned *out) {
    if (end - p < 4) return -1;
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char ch = p[i];
        int d = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
              : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10 : -1;
        if (d < 0) return -1;
        v = v << 4 | (unsigned)d;
    }
    *out = v;
    return 0;
}

static size_t put_utf8(char *o, unsigned cp) {
    if (cp < 0x80) return (size_t)(o[0] = (char)cp, 1);
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | cp >> 6);
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | cp >> 12);
        o[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | cp >> 18);
    o[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    o[2] = (char)(0x80 | (cp >> 6 & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Decodes the string at c->p (its opening quote) into a malloc'd buffer:
 * escapes never take more bytes decoded than written. \udc80..\udcff give
 * back the byte cli_json_string escaped. NULL when malformed (or no memory). */
static char *json_string(cursor *c) {
    if (c->p >= c->end || *c->p != '"') return NULL;
    const char *p = ++c->p;
    const char *q = p;
    while (q < c->end && *q != '"') q += *q == '\\' && q + 1 < c->end ? 2 : 1;
    if (q >= c->end) return NULL;
    char *out = malloc((size_t)(q - p) + 1), *o = out;
    if (!out) return NULL;
    while (p < q) {
        unsigned char ch = (unsigned char)*p++;
        if (ch < 0x20) goto bad;
        if (ch != '\\') {
            *o++ = (char)ch;
            continue;
        }
        char e = *p++;
        unsigned cp, lo;
        switch (e) {
        case '"': case '\\': case '/': *o++ = e; break;
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'n': *o++ = '\n'; break;
        case 'r': *o++ = '\r'; break;
        case 't': *o++ = '\t'; break;
        case 'u':
            if (hex4(p, q, &cp) || cp == 0) goto bad;
            p += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF && q - p >= 6 && p[0] == '\\' && p[1] == 'u' && !hex4(p + 2, q, &lo) &&
                lo >= 0xDC00 && lo <= 0xDFFF) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                p += 6;
            }
            if (cp >= 0xDC80 && cp <= 0xDCFF) *o++ = (char)(cp - 0xDC00);
            else if (cp >= 0xD800 && cp <= 0xDFFF) o += put_utf8(o, 0xFFFD);
            else o += put_utf8(o, cp);
            break;
        default: goto bad;
        }
    }
    *o = 0;
    c->p = q + 1;
    return out;
bad:
    free(out);
    return NULL;
}

/* A JSON number (RFC 8259 grammar); its text is [start, c->p). */
static int json_number(cursor *c) {
    const char *p = c->p, *e = c->end;
    if (p < e && *p == '-') p++;
    if (p >= e || *p < '0' || *p > '9') return -1;
    if (*p == '0') p++;
    else while (p < e && *p >= '0' && *p <= '9') p++;
    if (p < e && *p == '.') {
        if (++p >= e || *p < '0' || *p > '9') return -1;
        while (p < e && *p >= '0' && *p <= '9') p++;
    }
    if (p < e && (*p == 'e' || *p == 'E')) {
        if (++p < e && (*p == '+' || *p == '-')) p++;
        if (p >= e || *p < '0' || *p > '9') return -1;
        while (p < e && *p >= '0' && *p <= '9') p++;
    }
    c->p = p;
    return 0;
}

static int json_literal(cursor *c, const char *word) {
    size_t n = strlen(word);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n)) return -1;
    c->p += n;
    return 0;
}

/* What resuming needs of a record, whichever format it came in. */
typedef struct {
    char *path, *mtime, *model, *prompt, *size;
    int failed;
} record_view;

static void view_free(record_view *v) {
    free(v->path);
    free(v->mtime);
    free(v->model);
    free(v->prompt);
    free(v->size);
    memset(v, 0, sizeof *v);
}

/* Keeps the value of a key resuming needs; the view owns value afterwards. */
static void view_take(record_view *v, const char *key, char *value) {
    char **slot = !strcmp(key, "path") ? &v->path : !strcmp(key, "mtime") ? &v->mtime
                : !strcmp(key, "model") ? &v->model : !strcmp(key, "prompt") ? &v->prompt
                : !strcmp(key, "size") ? &v->size : NULL;
    if (!strcmp(key, "error") && value) v->failed = 1;
    if (slot) {
        free(*slot);
        *slot = value;
    } else {
        free(value);
    }
}

/* One JSON line [p, end) into v; -1 when it is not a flat JSON object. */
static int parse_json_line(const char *p, const char *end, record_view *v) {
    cursor c = {p, end};
    skip_ws(&c);
    if (c.p >= c.end || *c.p++ != '{') return -1;
    skip_ws(&c);
    if (c.p < c.end && *c.p == '}') c.p++;
    else
        for (;;) {
            char *key = json_string(&c), *value = NULL;
            if (!key) return -1;
            skip_ws(&c);
            int ok = c.p < c.end && *c.p++ == ':';
            skip_ws(&c);
            if (ok && c.p < c.end && *c.p == '"') {
                ok = (value = json_string(&c)) != NULL;
            } else if (ok && c.p < c.end && (*c.p == '-' || (*c.p >= '0' && *c.p <= '9'))) {
                const char *start = c.p;
                ok = !json_number(&c) && (value = strndup(start, (size_t)(c.p - start)));
            } else if (ok) {
                ok = !json_literal(&c, "null") || !json_literal(&c, "true") || !json_literal(&c, "false");
            }
            if (ok) view_take(v, key, value);
            free(key);
            if (!ok) return -1;
            skip_ws(&c);
            if (c.p < c.end && *c.p == ',') {
                c.p++;
                skip_ws(&c);
                continue;
            }
            if (c.p < c.end && *c.p == '}') {
                c.p++;
                break;
            }
            return -1;
        }
    skip_ws(&c);
    return c.p == c.end ? 0 : -1;
}

/* ==== Reading: CSV ==== */

/* Reads one CSV row at p: cells into cells[0..max) (malloc'd; NULL for an
 * unquoted empty cell), their count into *n. Returns the bytes the row
 * takes with its newline, 0 when it is cut short (ends inside quotes or
 * without a newline), -1 when malformed. */
static long csv_row(const char *p, const char *end, char **cells, size_t max, size_t *n) {
    const char *start = p;
    *n = 0;
    for (;;) {
        const char *cell = p;
        char *value = NULL;
        if (p < end && *p == '"') {
            const char *q = ++p;
            size_t len = 0;
            for (;;) {
                if (q >= end) return 0;
                if (*q == '"') {
                    if (q + 1 < end && q[1] == '"') q += 2, len++;
                    else break;
                } else {
                    q++, len++;
                }
            }
            if (!(value = malloc(len + 1))) return -1;
            for (size_t i = 0; p < q; i++) {
                value[i] = *p;
                p += *p == '"' ? 2 : 1;
            }
            value[len] = 0;
            p = q + 1;
        } else {
            while (p < end && *p != ',' && *p != '\n' && *p != '\r' && *p != '"') p++;
            if (p < end && *p == '"') return -1;
            if (p > cell && !(value = strndup(cell, (size_t)(p - cell)))) return -1;
        }
        if (*n < max) cells[(*n)++] = value;
        else free(value);
        if (p >= end) return 0;
        if (*p == ',') {
            p++;
            continue;
        }
        if (*p == '\r' && p + 1 < end && p[1] == '\n') p++;
        if (*p != '\n') return p + 1 >= end && *p == '\r' ? 0 : -1;
        return (long)(p + 1 - start);
    }
}

static void cells_free(char **cells, size_t n) {
    for (size_t i = 0; i < n; i++) free(cells[i]);
}

/* ==== Reading output files ==== */

static int read_whole(const char *path, char **data, size_t *size) {
    *data = NULL;
    *size = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return errno == ENOENT ? 0 : -1;
    size_t cap = 1 << 16, len = 0, got;
    char *buf = malloc(cap);
    while (buf && (got = fread(buf + len, 1, cap - len, f)) > 0) {
        len += got;
        if (len == cap) {
            char *b = realloc(buf, cap *= 2);
            if (!b) free(buf);
            buf = b;
        }
    }
    int bad = !buf || ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        if (!errno) errno = ENOMEM;
        return -1;
    }
    *data = buf;
    *size = len;
    return 0;
}

static int add_entry(caption_output *out, size_t *cap, record_view *v, size_t off, size_t len, const char *model,
                     const char *prompt) {
    if (out->n == *cap) {
        size_t c = *cap ? *cap * 2 : 256;
        caption_entry *e = realloc(out->entries, c * sizeof *e);
        if (!e) {
            view_free(v);
            return -1;
        }
        out->entries = e;
        *cap = c;
    }
    caption_entry *e = &out->entries[out->n++];
    char *end;
    errno = 0;
    unsigned long long size = v->size ? strtoull(v->size, &end, 10) : 0;
    int size_ok = v->size && !errno && *end == 0;
    *e = (caption_entry){.path = v->path, .mtime = v->mtime, .size = size_ok ? size : UINT64_MAX,
                         .failed = v->failed, .off = off, .len = len};
    e->other_settings = (model && v->model && strcmp(model, v->model)) || (prompt && v->prompt && strcmp(prompt, v->prompt));
    v->path = v->mtime = NULL;
    view_free(v);
    return 0;
}

static int by_entry_path(const void *a, const void *b) {
    const caption_entry *x = *(caption_entry *const *)a, *y = *(caption_entry *const *)b;
    int c = strcmp(x->path, y->path);
    return c ? c : x->off < y->off ? -1 : x->off > y->off;
}

static int sort_entries(caption_output *out) {
    if (!out->n) return 0;
    if (!(out->by_path = malloc(out->n * sizeof *out->by_path))) return -1;
    for (size_t i = 0; i < out->n; i++) out->by_path[i] = &out->entries[i];
    qsort(out->by_path, out->n, sizeof *out->by_path, by_entry_path);
    return 0;
}

static int parse_jsonl(const char *path, caption_output *out, const char *model, const char *prompt) {
    size_t cap = 0, line_no = 0;
    for (size_t at = 0; at < out->size;) {
        const char *nl = memchr(out->data + at, '\n', out->size - at);
        if (!nl) break; /* a record cut short by a kill */
        size_t len = (size_t)(nl + 1 - (out->data + at));
        line_no++;
        record_view v = {0};
        const char *p = out->data + at;
        int blank = 1;
        for (size_t i = 0; i + 1 < len; i++) blank &= p[i] == ' ' || p[i] == '\t' || p[i] == '\r';
        if (!blank) {
            if (parse_json_line(p, nl, &v) || !v.path) {
                view_free(&v);
                fprintf(stderr, "glimpse caption: %s: line %zu is not a caption record\n", path, line_no);
                return -1;
            }
            if (add_entry(out, &cap, &v, at, len, model, prompt)) return -1;
        }
        at += len;
        out->complete = at;
    }
    return 0;
}

/* The columns resuming reads, found by name in the header. */
static const char *const wanted_columns[] = {"path", "size", "mtime", "error", "model", "prompt"};
#define N_WANTED (sizeof wanted_columns / sizeof wanted_columns[0])

static int parse_csv(const char *path, caption_output *out, const char *model, const char *prompt) {
    char *cells[N_FIELDS + 8];
    size_t n, cap = 0, row_no = 0;
    long len = csv_row(out->data, out->data + out->size, cells, N_FIELDS + 8, &n);
    if (len <= 0) {
        cells_free(cells, n);
        if (len == 0) return 0; /* the header itself was cut short */
        fprintf(stderr, "glimpse caption: %s: the CSV header is malformed\n", path);
        return -1;
    }
    const char *key_of[N_FIELDS + 8] = {0}; /* the wanted column name of each cell, or NULL */
    int has_path = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; cells[i] && j < N_WANTED; j++)
            if (!strcmp(cells[i], wanted_columns[j])) {
                key_of[i] = wanted_columns[j];
                has_path |= j == 0;
            }
    cells_free(cells, n);
    if (!has_path) {
        fprintf(stderr, "glimpse caption: %s: the CSV header has no path column\n", path);
        return -1;
    }
    out->complete = out->header_len = (size_t)len;
    for (size_t at = (size_t)len; at < out->size; at += (size_t)len) {
        len = csv_row(out->data + at, out->data + out->size, cells, N_FIELDS + 8, &n);
        row_no++;
        if (len == 0) { /* a record cut short by a kill */
            cells_free(cells, n);
            break;
        }
        record_view v = {0};
        for (size_t i = 0; len > 0 && i < n; i++) {
            if (key_of[i]) view_take(&v, key_of[i], cells[i]);
            else free(cells[i]);
        }
        if (len < 0 || !v.path) {
            if (len < 0) cells_free(cells, n);
            view_free(&v);
            fprintf(stderr, "glimpse caption: %s: row %zu is not a caption record\n", path, row_no);
            return -1;
        }
        if (add_entry(out, &cap, &v, at, (size_t)len, model, prompt)) return -1;
        out->complete = at + (size_t)len;
    }
    return 0;
}

int caption_output_read(const char *path, caption_format fallback, const char *model, const char *prompt,
                        caption_output *out) {
    memset(out, 0, sizeof *out);
    out->format = fallback;
    if (read_whole(path, &out->data, &out->size)) {
        fprintf(stderr, "glimpse caption: %s: cannot read: %s\n", path, strerror(errno));
        return -1;
    }
    size_t lead = 0;
    while (lead < out->size && (out->data[lead] == ' ' || out->data[lead] == '\n' || out->data[lead] == '\r')) lead++;
    if (lead < out->size) {
        if (out->data[lead] == '{') out->format = CAPTION_JSONL;
        else if (out->size - lead >= 4 && !memcmp(out->data + lead, "path", 4)) out->format = CAPTION_CSV;
        else if (out->size - lead >= 5 && !memcmp(out->data + lead, "\"path", 5)) out->format = CAPTION_CSV;
        else {
            fprintf(stderr, "glimpse caption: %s: not a file of caption records (JSON lines or CSV)\n", path);
            caption_output_free(out);
            return -1;
        }
    }
    int rc = out->format == CAPTION_JSONL ? parse_jsonl(path, out, model, prompt)
                                          : parse_csv(path, out, model, prompt);
    if (!rc) rc = sort_entries(out);
    if (rc && errno == ENOMEM) fprintf(stderr, "glimpse caption: %s: out of memory\n", path);
    if (rc) caption_output_free(out);
    return rc;
}

void caption_output_free(caption_output *out) {
    for (size_t i = 0; i < out->n; i++) {
        free(out->entries[i].path);
        free(out->entries[i].mtime);
    }
    free(out->entries);
    free(out->by_path);
    free(out->data);
    memset(out, 0, sizeof *out);
}

/* Index in by_path just past the records for path. */
static size_t past_path(const caption_output *out, const char *path) {
    size_t lo = 0, hi = out->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(out->by_path[mid]->path, path) <= 0) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

caption_entry *caption_output_find(const caption_output *out, const char *path) {
    size_t end = past_path(out, path);
    return end > 0 && !strcmp(out->by_path[end - 1]->path, path) ? out->by_path[end - 1] : NULL;
}

int caption_output_mark_stale(caption_output *out, const char *path) {
    int any = 0;
    for (size_t i = past_path(out, path); i > 0 && !strcmp(out->by_path[i - 1]->path, path); i--)
        out->by_path[i - 1]->stale = any = 1;
    return any;
}

/* ==== Rewriting and merging ==== */

typedef struct {
    const char *data;
    size_t off, len;
} span;

/* Writes the spans to a temporary file beside path, then renames it over
 * path, so that a kill leaves the old file or the new one, never half. */
static int replace_file(const char *path, const span *spans, size_t n) {
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 32);
    if (!tmp) return -1;
    snprintf(tmp, plen + 32, "%s.tmp%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int rc = fd < 0 ? -1 : 0;
    for (size_t i = 0; !rc && i < n; i++) {
        const char *p = spans[i].data + spans[i].off;
        size_t left = spans[i].len;
        while (left > 0) {
            ssize_t w = write(fd, p, left);
            if (w < 0 && errno == EINTR) continue;
            if (w < 0) {
                rc = -1;
                break;
            }
            p += w;
            left -= (size_t)w;
        }
    }
    if (!rc) rc = fsync(fd);
    if (fd >= 0 && close(fd) && !rc) rc = -1;
    if (!rc) rc = rename(tmp, path);
    if (rc) {
        fprintf(stderr, "glimpse caption: %s: cannot write: %s\n", fd < 0 ? tmp : path, strerror(errno));
        unlink(tmp);
    }
    free(tmp);
    return rc;
}

int caption_output_rewrite(const char *path, const caption_output *out) {
    span *spans = malloc((out->n + 1) * sizeof *spans);
    if (!spans) return -1;
    size_t n = 0;
    if (out->header_len) spans[n++] = (span){out->data, 0, out->header_len};
    for (size_t i = 0; i < out->n; i++)
        if (!out->entries[i].stale) spans[n++] = (span){out->data, out->entries[i].off, out->entries[i].len};
    int rc = replace_file(path, spans, n);
    free(spans);
    return rc;
}

typedef struct {
    caption_entry *e;
    int part;
} part_entry;

static int by_part_entry(const void *a, const void *b) {
    const part_entry *x = a, *y = b;
    int c = strcmp(x->e->path, y->e->path);
    if (c) return c;
    if (x->part != y->part) return x->part < y->part ? -1 : 1;
    return x->e->off < y->e->off ? -1 : x->e->off > y->e->off;
}

int caption_merge(const char *out_path, char *const *parts, int n_parts, caption_format fallback, int quiet) {
    caption_output *outs = calloc((size_t)n_parts, sizeof *outs);
    if (!outs) return 1;
    int rc = 0;
    size_t total = 0;
    int have_format = 0;
    caption_format format = fallback;
    const caption_output *header = NULL;
    for (int i = 0; i < n_parts && !rc; i++) {
        caption_output *o = &outs[i];
        struct stat sb;
        if (stat(parts[i], &sb) != 0) {
            fprintf(stderr, "glimpse caption: %s: cannot read: %s\n", parts[i], strerror(errno));
            rc = 1;
            break;
        }
        if (caption_output_read(parts[i], fallback, NULL, NULL, o)) {
            rc = 1;
            break;
        }
        if (o->size == 0) continue;
        if (have_format && o->format != format) {
            fprintf(stderr, "glimpse caption: %s: CSV and JSON lines parts cannot be merged\n", parts[i]);
            rc = 1;
        } else if (o->header_len && header &&
                   (o->header_len != header->header_len || memcmp(o->data, header->data, o->header_len))) {
            fprintf(stderr, "glimpse caption: %s: the CSV columns differ from %s's\n", parts[i],
                    parts[header - outs]);
            rc = 1;
        }
        have_format = 1;
        format = o->format;
        if (o->header_len && !header) header = o;
        if (o->complete < o->size) {
            if (!quiet)
                fprintf(stderr, "glimpse caption: %s: the last record was cut short (a killed job?); left out\n",
                        parts[i]);
        }
        total += o->n;
    }
    part_entry *all = rc ? NULL : malloc((total + 1) * sizeof *all);
    span *spans = rc ? NULL : malloc((total + 2) * sizeof *spans);
    if (!rc && (!all || !spans)) {
        fprintf(stderr, "glimpse caption: out of memory while merging\n");
        rc = 1;
    }
    if (!rc) {
        size_t n = 0;
        for (int i = 0; i < n_parts; i++)
            for (size_t j = 0; j < outs[i].n; j++) all[n++] = (part_entry){&outs[i].entries[j], i};
        qsort(all, n, sizeof *all, by_part_entry);
        size_t n_spans = 0, n_dup = 0;
        if (format == CAPTION_CSV) {
            const char *h = header ? header->data : caption_csv_header();
            spans[n_spans++] = (span){h, 0, header ? header->header_len : strlen(h)};
        }
        for (size_t i = 0; i < n; i++) {
            if (i + 1 < n && !strcmp(all[i].e->path, all[i + 1].e->path)) {
                n_dup++;
                continue;
            }
            spans[n_spans++] = (span){outs[all[i].part].data, all[i].e->off, all[i].e->len};
        }
        if (replace_file(out_path, spans, n_spans)) rc = 1;
        else if (!quiet)
            fprintf(stderr, "glimpse caption: %s: %zu records from %d files (%zu repeated paths left out)\n",
                    out_path, n - n_dup, n_parts, n_dup);
    }
    free(all);
    free(spans);
    for (int i = 0; i < n_parts; i++) caption_output_free(&outs[i]);
    free(outs);
    return rc;
}
