/* caption.h - what the parts of `glimpse caption` share: the list of images
 * to caption (caption_files.c), the records it writes and reads back for
 * resuming and merging (caption_records.c), and the thread that loads the
 * next image while the current one is answered (caption_prefetch.c).
 * caption.c runs the command. */
#ifndef GLIMPSE_CLI_CAPTION_H
#define GLIMPSE_CLI_CAPTION_H

#include "glimpse.h"

#include <stddef.h>
#include <stdint.h>

/* ==== Finding the images (caption_files.c) ==== */

typedef struct {
    char *path;       /* as recorded: the argument, joined with the path below it */
    size_t key;       /* offset in path of the shard key: the path below the folder
                         argument, or the file name of a file argument */
    uint64_t size;    /* bytes */
    char mtime[64];   /* modification time, UTC, ISO 8601 with nanoseconds */
} caption_file;

typedef struct {
    caption_file *files; /* (n) sorted by path (byte order), no path twice */
    size_t n, cap;
    size_t n_not_images; /* files whose magic bytes are no image format */
    size_t n_unreadable; /* folders or paths that could not be read (reported) */
    size_t n_loops;      /* symbolic links back into a folder being walked (reported) */
} caption_list;

/* Walks files and folders (recursively unless recursive is 0) and keeps the
 * files whose first bytes are an image, or that cannot be read (loading
 * them reports why). Problems are reported on stderr unless quiet. Returns
 * 0, or -1 when out of memory. */
int caption_find_images(char *const *args, int n_args, int recursive, int quiet, caption_list *out);
void caption_list_free(caption_list *list);
/* Whether a shard key falls in shard k of n (1 <= k <= n): a hash of the key,
 * so adding files never moves other files between shards. */
int caption_in_shard(const char *key, int k, int n);

/* ==== Records (caption_records.c) ==== */

typedef enum { CAPTION_JSONL, CAPTION_CSV } caption_format;

/* One image's outcome, as written. Strings may be NULL (written as null or
 * an empty CSV cell); t is NULL when no answer was generated. */
typedef struct {
    const char *path, *caption, *error;
    int width, height;    /* 0: unknown */
    uint64_t size;
    const char *mtime;
    const char *model, *prompt;
    const glimpse_timings *t;
    double load_ms;       /* reading, decoding and preprocessing the image */
} caption_record;

/* The CSV header line (with its newline). */
const char *caption_csv_header(void);
/* One record as one JSON line or one CSV row, newline included, in a
 * malloc'd buffer; NULL when out of memory. */
char *caption_record_format(caption_format format, const caption_record *r, size_t *len);

/* A record read back from an output file. */
typedef struct {
    char *path, *mtime;   /* decoded; mtime NULL when the record has none */
    uint64_t size;
    int failed;           /* it holds an error */
    int other_settings;   /* made with another model or prompt than the one asked about */
    size_t off, len;      /* its bytes in the file, newline included */
    int stale;            /* to be dropped when the file is rewritten */
} caption_entry;

typedef struct {
    char *data;           /* the whole file */
    size_t size;
    size_t complete;      /* bytes up to the end of the last complete record */
    caption_format format;
    size_t header_len;    /* CSV: bytes of the header line, newline included */
    caption_entry *entries; /* (n) in file order */
    caption_entry **by_path; /* (n) sorted by path, file order among equal paths */
    size_t n;
} caption_output;

/* Reads an output file written by `glimpse caption`. A missing or empty file
 * gives no records. The format is read from the content (a JSON object or
 * the CSV header), else taken from fallback. A last record cut short by a
 * kill is not an error: complete < size says so. Anything else that is not
 * a record is an error, reported on stderr. model and prompt (may be NULL)
 * set other_settings. Returns 0 or -1. */
int caption_output_read(const char *path, caption_format fallback, const char *model, const char *prompt,
                        caption_output *out);
void caption_output_free(caption_output *out);
/* The last record for path, or NULL. */
caption_entry *caption_output_find(const caption_output *out, const char *path);
/* Marks every record for path stale; returns whether there was one. */
int caption_output_mark_stale(caption_output *out, const char *path);
/* Replaces the file at path with the CSV header (if any) and the complete
 * records of out that are not stale, by writing a temporary file beside it
 * and renaming it over. Returns 0, or -1 after reporting. */
int caption_output_rewrite(const char *path, const caption_output *out);
/* `glimpse caption --merge OUT PARTS...`: the records of every part, sorted
 * by path, one per path (the last part's wins), written to out_path the same
 * way. Returns the exit code. */
int caption_merge(const char *out_path, char *const *parts, int n_parts, caption_format fallback, int quiet);

/* ==== Loading ahead (caption_prefetch.c) ==== */

typedef struct caption_prefetch caption_prefetch;

/* Starts loading paths[0..n) in order on another thread, one image ahead of
 * the caller. Without a thread (creation failed) images load on demand. */
caption_prefetch *caption_prefetch_start(const glimpse_model *m, char *const *paths, size_t n);
/* The next image, waiting for it; NULL with *error set (malloc'd) when it
 * could not be loaded. *load_ms: the time its loading took. */
glimpse_image *caption_prefetch_next(caption_prefetch *p, char **error, double *load_ms);
/* Stops the thread and frees what it loaded that was not taken. */
void caption_prefetch_stop(caption_prefetch *p);

#endif
