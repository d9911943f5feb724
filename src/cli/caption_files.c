/* caption_files.c - the images `glimpse caption` works on: files and folders
 * walked (recursively by default, following symbolic links), each file kept
 * when glimpse_image_sniff says its first bytes are an image, the list
 * sorted by path so every run and every machine sees the same order; and
 * the shard a file belongs to.
 *
 * Symbolic links are followed, so a link back into a folder being walked
 * would never end: folders are known by (device, inode), a link to a folder
 * on the current path is reported as a loop, and a folder reached a second
 * way is walked once. */
#include "caption.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ==== Folders already seen ==== */

typedef struct {
    dev_t dev;
    ino_t ino;
    int walking; /* on the path from the argument to the current folder */
    int used;
} dir_slot;

typedef struct {
    dir_slot *slots; /* (cap) open addressing; cap a power of two */
    size_t n, cap;
} dir_set;

static size_t dir_hash(dev_t dev, ino_t ino) {
    uint64_t h = (uint64_t)ino * 0x9E3779B97F4A7C15ull ^ (uint64_t)dev * 0xC2B2AE3D27D4EB4Full;
    return (size_t)(h ^ (h >> 29));
}

/* The slot for (dev, ino), added when absent; NULL when out of memory. */
static dir_slot *dir_set_get(dir_set *s, dev_t dev, ino_t ino, int *added) {
    if (2 * (s->n + 1) > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        dir_slot *slots = calloc(cap, sizeof *slots);
        if (!slots) return NULL;
        for (size_t i = 0; i < s->cap; i++) {
            if (!s->slots[i].used) continue;
            size_t j = dir_hash(s->slots[i].dev, s->slots[i].ino) & (cap - 1);
            while (slots[j].used) j = (j + 1) & (cap - 1);
            slots[j] = s->slots[i];
        }
        free(s->slots);
        s->slots = slots;
        s->cap = cap;
    }
    size_t j = dir_hash(dev, ino) & (s->cap - 1);
    while (s->slots[j].used && !(s->slots[j].dev == dev && s->slots[j].ino == ino)) j = (j + 1) & (s->cap - 1);
    *added = !s->slots[j].used;
    if (*added) {
        s->slots[j] = (dir_slot){dev, ino, 0, 1};
        s->n++;
    }
    return &s->slots[j];
}

/* ==== Walking ==== */

typedef struct {
    caption_list *list;
    dir_set seen;
    int recursive, quiet, nomem;
} walker;

static void report(const walker *w, const char *path, const char *what) {
    if (!w->quiet) fprintf(stderr, "glimpse caption: %s: %s\n", path, what);
}

static void format_mtime(const struct stat *sb, char out[64]) {
    struct tm tm;
    time_t sec = sb->st_mtim.tv_sec;
    char date[32];
    if (!gmtime_r(&sec, &tm) || !strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm))
        snprintf(date, sizeof date, "@%lld", (long long)sec);
    snprintf(out, 64, "%s.%09ldZ", date, (long)sb->st_mtim.tv_nsec);
}

static void add_file(walker *w, const char *path, size_t key, const struct stat *sb) {
    caption_list *l = w->list;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 256;
        caption_file *f = realloc(l->files, cap * sizeof *f);
        if (!f) {
            w->nomem = 1;
            return;
        }
        l->files = f;
        l->cap = cap;
    }
    caption_file *f = &l->files[l->n];
    if (!(f->path = strdup(path))) {
        w->nomem = 1;
        return;
    }
    f->key = key;
    f->size = (uint64_t)sb->st_size;
    format_mtime(sb, f->mtime);
    l->n++;
}

/* Keeps a regular file that is an image by its magic bytes, or that cannot
 * be opened (its record will say why). */
static void visit_file(walker *w, const char *path, size_t key, const struct stat *sb) {
    unsigned char head[GLIMPSE_IMAGE_SNIFF_BYTES];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        add_file(w, path, key, sb);
        return;
    }
    ssize_t n, got = 0;
    while (got < (ssize_t)sizeof head && (n = read(fd, head + got, sizeof head - (size_t)got)) != 0) {
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) break;
        got += n;
    }
    close(fd);
    if (glimpse_image_sniff(head, (size_t)got, NULL) != GLIMPSE_SNIFF_NOT_IMAGE) add_file(w, path, key, sb);
    else w->list->n_not_images++;
}

static void walk(walker *w, char *path, size_t key, int depth);

/* Visits path (a folder entry or an argument), known by stat. */
static void visit(walker *w, char *path, size_t key, int depth) {
    struct stat sb;
    if (stat(path, &sb) != 0) {
        char msg[128];
        snprintf(msg, sizeof msg, "cannot read: %s", strerror(errno));
        report(w, path, msg);
        w->list->n_unreadable++;
    } else if (S_ISDIR(sb.st_mode)) {
        if (depth > 0 && !w->recursive) return;
        int added;
        dir_slot *slot = dir_set_get(&w->seen, sb.st_dev, sb.st_ino, &added);
        if (!slot) {
            w->nomem = 1;
        } else if (!added) {
            if (slot->walking) {
                report(w, path, "symbolic link loop (a folder that holds it), not followed");
                w->list->n_loops++;
            }
        } else {
            slot->walking = 1;
            walk(w, path, key, depth);
            /* the table may have grown (and moved) while walking below */
            dir_set_get(&w->seen, sb.st_dev, sb.st_ino, &added)->walking = 0;
        }
    } else if (S_ISREG(sb.st_mode)) {
        visit_file(w, path, key, &sb);
    } else {
        w->list->n_not_images++;
    }
}

/* Visits every entry of the folder path. */
static void walk(walker *w, char *path, size_t key, int depth) {
    DIR *d = opendir(path);
    if (!d) {
        char msg[128];
        snprintf(msg, sizeof msg, "cannot read the folder: %s", strerror(errno));
        report(w, path, msg);
        w->list->n_unreadable++;
        return;
    }
    size_t len = strlen(path);
    int slash = len > 0 && path[len - 1] != '/';
    struct dirent *e;
    while (!w->nomem && (errno = 0, e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        size_t name_len = strlen(e->d_name);
        char *child = malloc(len + slash + name_len + 1);
        if (!child) {
            w->nomem = 1;
            break;
        }
        memcpy(child, path, len);
        if (slash) child[len] = '/';
        memcpy(child + len + slash, e->d_name, name_len + 1);
        visit(w, child, depth == 0 ? len + slash : key, depth + 1);
        free(child);
    }
    if (errno && !w->nomem) {
        char msg[128];
        snprintf(msg, sizeof msg, "cannot read the whole folder: %s", strerror(errno));
        report(w, path, msg);
        w->list->n_unreadable++;
    }
    closedir(d);
}

static int by_path(const void *a, const void *b) {
    return strcmp(((const caption_file *)a)->path, ((const caption_file *)b)->path);
}

int caption_find_images(char *const *args, int n_args, int recursive, int quiet, caption_list *out) {
    memset(out, 0, sizeof *out);
    walker w = {.list = out, .recursive = recursive, .quiet = quiet};
    for (int i = 0; i < n_args && !w.nomem; i++) {
        const char *slash = strrchr(args[i], '/');
        /* a file argument's key is its name; a folder's entries set theirs */
        visit(&w, args[i], slash && slash[1] ? (size_t)(slash + 1 - args[i]) : 0, 0);
    }
    free(w.seen.slots);
    if (w.nomem) {
        fprintf(stderr, "glimpse caption: out of memory while listing the images\n");
        return -1;
    }
    qsort(out->files, out->n, sizeof *out->files, by_path);
    size_t j = 0;
    for (size_t i = 0; i < out->n; i++) {
        if (j > 0 && !strcmp(out->files[j - 1].path, out->files[i].path)) free(out->files[i].path);
        else out->files[j++] = out->files[i];
    }
    out->n = j;
    return 0;
}

void caption_list_free(caption_list *list) {
    for (size_t i = 0; i < list->n; i++) free(list->files[i].path);
    free(list->files);
    memset(list, 0, sizeof *list);
}

/* ==== Shards ==== */

/* FNV-1a (64-bit) of the key, then splitmix64's finaliser so that the low
 * bits taken by the modulo depend on every byte. */
int caption_in_shard(const char *key, int k, int n) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (const unsigned char *p = (const unsigned char *)key; *p; p++) h = (h ^ *p) * 0x100000001b3ull;
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebull;
    h ^= h >> 31;
    return (int)(h % (uint64_t)n) == k - 1;
}
