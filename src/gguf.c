/* gguf.c - GGUF reader (mmap) and writer.
 *
 * Format: ../shared/FORMATS.md section 7 (ggml/src/gguf.cpp). The reader is a
 * cursor over the mapped bytes that refuses every read past the end; all
 * counts and sizes from the file go through checked.h before use. Keys and
 * tensor names are indexed by an open-addressing hash table for O(1) lookup. */
#include "gguf.h"
#include "json_escape.h"
#include "checked.h"
#include "error.h"
#include "mem.h"
#include "quant.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define GGUF_MAGIC "GGUF"
#define GGUF_DEFAULT_ALIGNMENT 32
#define GGUF_MAX_DIMS 4
/* Sanity bounds that no real model approaches; they keep a hostile header from
 * making us allocate huge index tables before the file size rules it out. */
#define GGUF_MAX_KEY_LEN 65535
#define GGUF_MAX_NAME_LEN 255
#define GGUF_MAX_NESTING 4

/* ==== Parsed structure ==== */

typedef struct {
    const char *key; /* NUL-terminated copy */
    glimpse_gguf_type type;
    glimpse_gguf_type arr_type; /* arrays only */
    uint64_t arr_len;           /* arrays only */
    const uint8_t *value;       /* first byte of the value (for arrays: of the first element) */
    uint64_t value_size;        /* bytes of the whole value */
    uint64_t *str_offsets;      /* string arrays: offset of each element from value */
} gguf_kv;

struct glimpse_gguf {
    char *name;
    const uint8_t *base;
    size_t size;
    int mapped;
    uint32_t version;
    uint64_t alignment;
    uint64_t data_offset;
    int64_t n_kv, n_tensors;
    gguf_kv *kv;
    gl_tensor *tensors;
    uint64_t *tensor_offsets; /* relative to data_offset, as stored */
    char *name_pool;          /* NUL-terminated tensor names */
    int64_t *kv_index, *tensor_index; /* hash tables of size index_cap, -1 empty */
    size_t kv_cap, tensor_cap;
};

/* ==== Hash index ==== */

static uint64_t hash_bytes(const char *s, size_t n) {
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 1099511628211ull;
    return h;
}

static size_t index_capacity(int64_t n) {
    size_t cap = 16;
    while (cap < (size_t)n * 2) cap *= 2;
    return cap;
}

/* Finds the slot for name: its entry, or the empty slot where it would go. */
static size_t index_slot(const int64_t *index, size_t cap, const char *name,
                         const char *(*name_of)(const gl_gguf *, int64_t), const gl_gguf *g) {
    size_t i = hash_bytes(name, strlen(name)) & (cap - 1);
    while (index[i] >= 0 && strcmp(name_of(g, index[i]), name) != 0) i = (i + 1) & (cap - 1);
    return i;
}

static const char *kv_name(const gl_gguf *g, int64_t i) { return g->kv[i].key; }
static const char *tensor_name(const gl_gguf *g, int64_t i) { return g->tensors[i].name; }

/* ==== Cursor over the mapped bytes ==== */

typedef struct {
    const gl_gguf *g;
    uint64_t pos;
} cursor;

static glimpse_status truncated(const cursor *c, const char *what) {
    return gl_error(GLIMPSE_ERR_FORMAT, "%s: truncated at byte %" PRIu64 " while reading %s (file is %zu bytes)",
                    c->g->name, c->pos, what, c->g->size);
}

static glimpse_status need(const cursor *c, uint64_t n, const char *what) {
    if (n > c->g->size - c->pos) return truncated(c, what);
    return GLIMPSE_OK;
}

static glimpse_status read_bytes(cursor *c, void *out, uint64_t n, const char *what) {
    glimpse_status st = need(c, n, what);
    if (st) return st;
    memcpy(out, c->g->base + c->pos, n);
    c->pos += n;
    return GLIMPSE_OK;
}

/* GGUF is little-endian; decode explicitly so big-endian hosts read it too. */
static uint64_t le(const uint8_t *p, int n) {
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static glimpse_status read_u32(cursor *c, uint32_t *out, const char *what) {
    uint8_t b[4];
    glimpse_status st = read_bytes(c, b, 4, what);
    if (!st) *out = (uint32_t)le(b, 4);
    return st;
}

static glimpse_status read_u64(cursor *c, uint64_t *out, const char *what) {
    uint8_t b[8];
    glimpse_status st = read_bytes(c, b, 8, what);
    if (!st) *out = le(b, 8);
    return st;
}

/* A string: u64 length then bytes. Returns a pointer into the mapping. */
static glimpse_status read_str(cursor *c, const char **s, uint64_t *len, uint64_t max_len, const char *what) {
    uint64_t at = c->pos;
    glimpse_status st = read_u64(c, len, what);
    if (st) return st;
    if (*len > max_len)
        return gl_error(GLIMPSE_ERR_FORMAT, "%s: %s at byte %" PRIu64 " has absurd length %" PRIu64 " (limit %" PRIu64 ")",
                        c->g->name, what, at, *len, max_len);
    if ((st = need(c, *len, what))) return st;
    *s = (const char *)c->g->base + c->pos;
    c->pos += *len;
    return GLIMPSE_OK;
}

static int scalar_size(glimpse_gguf_type t) {
    switch (t) {
    case GLIMPSE_GGUF_U8: case GLIMPSE_GGUF_I8: case GLIMPSE_GGUF_BOOL: return 1;
    case GLIMPSE_GGUF_U16: case GLIMPSE_GGUF_I16: return 2;
    case GLIMPSE_GGUF_U32: case GLIMPSE_GGUF_I32: case GLIMPSE_GGUF_F32: return 4;
    case GLIMPSE_GGUF_U64: case GLIMPSE_GGUF_I64: case GLIMPSE_GGUF_F64: return 8;
    default: return 0;
    }
}

static int valid_value_type(uint32_t t) { return t <= GLIMPSE_GGUF_F64; }

/* Skips one value of type t, checking every length on the way. For string
 * arrays at depth 0 it records element offsets (kv->str_offsets). */
static glimpse_status skip_value(cursor *c, glimpse_gguf_type t, int depth, gguf_kv *kv) {
    if (t == GLIMPSE_GGUF_STRING) {
        const char *s;
        uint64_t len;
        return read_str(c, &s, &len, c->g->size, "a string value");
    }
    if (t != GLIMPSE_GGUF_ARRAY) {
        int n = scalar_size(t);
        return need(c, (uint64_t)n, "a value") ? truncated(c, "a value") : (c->pos += (uint64_t)n, GLIMPSE_OK);
    }
    if (depth >= GGUF_MAX_NESTING)
        return gl_error(GLIMPSE_ERR_FORMAT, "%s: arrays nested deeper than %d at byte %" PRIu64, c->g->name,
                        GGUF_MAX_NESTING, c->pos);
    uint32_t et;
    uint64_t n, at = c->pos;
    glimpse_status st;
    if ((st = read_u32(c, &et, "an array element type"))) return st;
    if (!valid_value_type(et))
        return gl_error(GLIMPSE_ERR_FORMAT, "%s: unknown array element type %u at byte %" PRIu64, c->g->name, et, at);
    if ((st = read_u64(c, &n, "an array length"))) return st;
    if (kv && depth == 0) {
        kv->arr_type = (glimpse_gguf_type)et;
        kv->arr_len = n;
        kv->value = c->g->base + c->pos;
    }
    if (et != GLIMPSE_GGUF_STRING && et != GLIMPSE_GGUF_ARRAY) {
        uint64_t bytes;
        if (gl_mul_overflow_u64(n, (uint64_t)scalar_size((glimpse_gguf_type)et), &bytes) ||
            bytes > c->g->size - c->pos)
            return gl_error(GLIMPSE_ERR_FORMAT, "%s: array at byte %" PRIu64 " of %" PRIu64 " items runs past the end of the file",
                            c->g->name, at, n);
        c->pos += bytes;
        return GLIMPSE_OK;
    }
    /* Every string or array element takes at least 8 bytes: bound n by the
     * remaining size before allocating anything for it. */
    if (n > (c->g->size - c->pos) / 8)
        return gl_error(GLIMPSE_ERR_FORMAT, "%s: array at byte %" PRIu64 " claims %" PRIu64 " items, more than the file holds",
                        c->g->name, at, n);
    uint64_t start = c->pos;
    if (kv && depth == 0 && et == GLIMPSE_GGUF_STRING) {
        kv->str_offsets = gl_malloc_array((size_t)n ? (size_t)n : 1, sizeof(uint64_t));
        if (!kv->str_offsets) return gl_error_nomem("GGUF string array index");
    }
    for (uint64_t i = 0; i < n; i++) {
        if (kv && kv->str_offsets && depth == 0) kv->str_offsets[i] = c->pos - start;
        if ((st = skip_value(c, (glimpse_gguf_type)et, depth + 1, NULL))) return st;
    }
    return GLIMPSE_OK;
}

/* ==== Opening ==== */

static glimpse_status parse(gl_gguf *g) {
    cursor c = {g, 0};
    glimpse_status st;
    char magic[4];
    if ((st = read_bytes(&c, magic, 4, "the magic"))) return st;
    if (memcmp(magic, GGUF_MAGIC, 4) != 0)
        return gl_error(GLIMPSE_ERR_FORMAT, "%s: not a GGUF file (bad magic)", g->name);
    if ((st = read_u32(&c, &g->version, "the version"))) return st;
    if (g->version != 2 && g->version != 3)
        return gl_error(GLIMPSE_ERR_UNSUPPORTED, "%s: GGUF version %u is not supported (2 and 3 are)", g->name, g->version);
    uint64_t n_tensors, n_kv;
    if ((st = read_u64(&c, &n_tensors, "the tensor count"))) return st;
    if ((st = read_u64(&c, &n_kv, "the metadata count"))) return st;
    /* A key-value pair takes at least 8+4+1 bytes and a tensor info 8+4+8+4+8. */
    if (n_kv > (g->size - c.pos) / 13)
        return gl_error(GLIMPSE_ERR_FORMAT, "%s: header claims %" PRIu64 " metadata entries, more than the file can hold",
                        g->name, n_kv);
    if (n_tensors > (g->size - c.pos) / 32)
        return gl_error(GLIMPSE_ERR_FORMAT, "%s: header claims %" PRIu64 " tensors, more than the file can hold",
                        g->name, n_tensors);
    g->n_kv = (int64_t)n_kv;
    g->n_tensors = (int64_t)n_tensors;

    g->kv = gl_calloc((size_t)n_kv ? (size_t)n_kv : 1, sizeof(gguf_kv));
    g->kv_cap = index_capacity(g->n_kv);
    g->kv_index = gl_malloc_array(g->kv_cap, sizeof(int64_t));
    if (!g->kv || !g->kv_index) return gl_error_nomem("GGUF metadata table");
    memset(g->kv_index, 0xff, g->kv_cap * sizeof(int64_t));

    g->alignment = GGUF_DEFAULT_ALIGNMENT;
    for (int64_t i = 0; i < g->n_kv; i++) {
        gguf_kv *kv = &g->kv[i];
        uint64_t at = c.pos, len;
        const char *key;
        if ((st = read_str(&c, &key, &len, GGUF_MAX_KEY_LEN, "a metadata key"))) return st;
        if (len == 0 || memchr(key, 0, len))
            return gl_error(GLIMPSE_ERR_FORMAT, "%s: metadata key at byte %" PRIu64 " is empty or holds a NUL", g->name, at);
        if (!(kv->key = gl_strndup(key, len))) return gl_error_nomem("GGUF key");
        uint32_t type;
        if ((st = read_u32(&c, &type, "a metadata value type"))) return st;
        if (!valid_value_type(type))
            return gl_error(GLIMPSE_ERR_FORMAT, "%s: key '%s' at byte %" PRIu64 " has unknown value type %u", g->name,
                            kv->key, at, type);
        kv->type = (glimpse_gguf_type)type;
        kv->value = g->base + c.pos;
        uint64_t vstart = c.pos;
        if ((st = skip_value(&c, kv->type, 0, kv))) return st;
        kv->value_size = c.pos - vstart;
        size_t slot = index_slot(g->kv_index, g->kv_cap, kv->key, kv_name, g);
        if (g->kv_index[slot] >= 0)
            return gl_error(GLIMPSE_ERR_FORMAT, "%s: duplicate metadata key '%s' at byte %" PRIu64, g->name, kv->key, at);
        g->kv_index[slot] = i;
        if (!strcmp(kv->key, "general.alignment")) {
            if (kv->type != GLIMPSE_GGUF_U32)
                return gl_error(GLIMPSE_ERR_FORMAT, "%s: general.alignment must be a u32", g->name);
            uint64_t a = le(kv->value, 4);
            if (a == 0 || (a & (a - 1)) || a > (1u << 24))
                return gl_error(GLIMPSE_ERR_FORMAT, "%s: general.alignment %" PRIu64 " is not a power of two", g->name, a);
            g->alignment = a;
        }
    }

    g->tensors = gl_calloc((size_t)n_tensors ? (size_t)n_tensors : 1, sizeof(gl_tensor));
    g->tensor_offsets = gl_calloc((size_t)n_tensors ? (size_t)n_tensors : 1, sizeof(uint64_t));
    g->name_pool = gl_malloc_array((size_t)n_tensors ? (size_t)n_tensors : 1, GGUF_MAX_NAME_LEN + 1);
    g->tensor_cap = index_capacity(g->n_tensors);
    g->tensor_index = gl_malloc_array(g->tensor_cap, sizeof(int64_t));
    if (!g->tensors || !g->tensor_offsets || !g->name_pool || !g->tensor_index)
        return gl_error_nomem("GGUF tensor table");
    memset(g->tensor_index, 0xff, g->tensor_cap * sizeof(int64_t));

    for (int64_t i = 0; i < g->n_tensors; i++) {
        gl_tensor *t = &g->tensors[i];
        uint64_t at = c.pos, len;
        const char *name;
        if ((st = read_str(&c, &name, &len, GGUF_MAX_NAME_LEN, "a tensor name"))) return st;
        if (len == 0 || memchr(name, 0, len))
            return gl_error(GLIMPSE_ERR_FORMAT, "%s: tensor name at byte %" PRIu64 " is empty or holds a NUL", g->name, at);
        char *pooled = g->name_pool + (size_t)i * (GGUF_MAX_NAME_LEN + 1);
        memcpy(pooled, name, len);
        pooled[len] = 0;
        t->name = pooled;
        uint32_t n_dims, type;
        if ((st = read_u32(&c, &n_dims, "a tensor's dimension count"))) return st;
        if (n_dims == 0 || n_dims > GGUF_MAX_DIMS)
            return gl_error(GLIMPSE_ERR_FORMAT, "%s: tensor '%s' has %u dimensions (1 to 4 allowed)", g->name, t->name, n_dims);
        t->n_dims = (int)n_dims;
        uint64_t nelem = 1;
        for (int d = 0; d < GGUF_MAX_DIMS; d++) {
            uint64_t ne = 1;
            if (d < (int)n_dims && (st = read_u64(&c, &ne, "a tensor dimension"))) return st;
            if (ne == 0 || ne > INT64_MAX || gl_mul_overflow_u64(nelem, ne, &nelem) || nelem > INT64_MAX)
                return gl_error(GLIMPSE_ERR_FORMAT, "%s: tensor '%s' has an invalid or overflowing dimension %" PRIu64,
                                g->name, t->name, ne);
            t->ne[d] = (int64_t)ne;
        }
        if ((st = read_u32(&c, &type, "a tensor type"))) return st;
        const gl_type_traits *tr = gl_type_get((int)type);
        if (!tr)
            return gl_error(GLIMPSE_ERR_FORMAT, "%s: tensor '%s' has unknown type id %u", g->name, t->name, type);
        t->type = (int)type;
        if (t->ne[0] % tr->block_size)
            return gl_error(GLIMPSE_ERR_FORMAT, "%s: tensor '%s' row length %" PRId64 " is not a multiple of the %s block size %d",
                            g->name, t->name, t->ne[0], tr->name, tr->block_size);
        t->row_bytes = gl_row_bytes(t->type, t->ne[0]);
        size_t nbytes;
        if (!t->row_bytes || gl_mul_overflow(t->row_bytes, (size_t)(nelem / (uint64_t)t->ne[0]), &nbytes))
            return gl_error(GLIMPSE_ERR_FORMAT, "%s: tensor '%s' size overflows", g->name, t->name);
        t->nbytes = nbytes;
        if ((st = read_u64(&c, &g->tensor_offsets[i], "a tensor offset"))) return st;
        size_t slot = index_slot(g->tensor_index, g->tensor_cap, t->name, tensor_name, g);
        if (g->tensor_index[slot] >= 0)
            return gl_error(GLIMPSE_ERR_FORMAT, "%s: duplicate tensor name '%s' at byte %" PRIu64, g->name, t->name, at);
        g->tensor_index[slot] = i;
    }

    if (gl_align_up_overflow(c.pos, g->alignment, &g->data_offset) || g->data_offset > g->size) {
        if (g->n_tensors == 0 && c.pos <= g->size) { /* metadata-only file may end unpadded */
            g->data_offset = g->size;
            return GLIMPSE_OK;
        }
        return gl_error(GLIMPSE_ERR_FORMAT, "%s: truncated before the tensor data (data would start at byte %" PRIu64 ")",
                        g->name, g->data_offset);
    }
    /* Tensors must be aligned, inside the file, and not overlap. ggml requires
     * them packed in table order; we accept any order but no overlap. */
    uint64_t data_size = g->size - g->data_offset;
    for (int64_t i = 0; i < g->n_tensors; i++) {
        gl_tensor *t = &g->tensors[i];
        uint64_t off = g->tensor_offsets[i], end;
        if (off % g->alignment)
            return gl_error(GLIMPSE_ERR_FORMAT, "%s: tensor '%s' offset %" PRIu64 " is not aligned to %" PRIu64, g->name,
                            t->name, off, g->alignment);
        if (gl_add_overflow_u64(off, t->nbytes, &end) || end > data_size)
            return gl_error(GLIMPSE_ERR_FORMAT, "%s: tensor '%s' (bytes %" PRIu64 "..%" PRIu64 " of the data) extends past the end of the file",
                            g->name, t->name, g->data_offset + off, g->data_offset + off + (uint64_t)t->nbytes);
        t->data = g->base + g->data_offset + off;
    }
    /* Overlap check: sort indices by offset (insertion into a scratch array). */
    if (g->n_tensors > 1) {
        int64_t *order = gl_malloc_array((size_t)g->n_tensors, sizeof(int64_t));
        if (!order) return gl_error_nomem("GGUF tensor order");
        for (int64_t i = 0; i < g->n_tensors; i++) order[i] = i;
        /* Files are nearly always already in order: insertion sort is linear then. */
        for (int64_t i = 1; i < g->n_tensors; i++) {
            int64_t v = order[i], j = i - 1;
            while (j >= 0 && g->tensor_offsets[order[j]] > g->tensor_offsets[v]) { order[j + 1] = order[j]; j--; }
            order[j + 1] = v;
        }
        for (int64_t k = 1; k < g->n_tensors; k++) {
            const gl_tensor *a = &g->tensors[order[k - 1]];
            if (g->tensor_offsets[order[k - 1]] + a->nbytes > g->tensor_offsets[order[k]]) {
                const char *an = a->name, *bn = g->tensors[order[k]].name;
                gl_free(order);
                return gl_error(GLIMPSE_ERR_FORMAT, "%s: tensors '%s' and '%s' overlap", g->name, an, bn);
            }
        }
        gl_free(order);
    }
    return GLIMPSE_OK;
}

static glimpse_status open_common(gl_gguf *g, gl_gguf **out) {
    glimpse_status st = parse(g);
    if (st) {
        gl_gguf_close(g);
        return st;
    }
    *out = g;
    return GLIMPSE_OK;
}

glimpse_status gl_gguf_open_memory(const void *data, size_t size, const char *name, gl_gguf **out) {
    *out = NULL;
    gl_gguf *g = gl_calloc(1, sizeof *g);
    if (!g) return gl_error_nomem("GGUF handle");
    if (!(g->name = gl_strdup(name ? name : "<memory>"))) {
        gl_free(g);
        return gl_error_nomem("GGUF handle");
    }
    g->base = data;
    g->size = size;
    return open_common(g, out);
}

glimpse_status gl_gguf_open(const char *path, gl_gguf **out) {
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return gl_error(GLIMPSE_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return gl_error(GLIMPSE_ERR_IO, "%s: not a regular file", path);
    }
    if (sb.st_size == 0) {
        close(fd);
        return gl_error(GLIMPSE_ERR_FORMAT, "%s: empty file, not a GGUF model", path);
    }
    void *map = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED) return gl_error(GLIMPSE_ERR_IO, "%s: cannot map: %s", path, strerror(errno));
    gl_gguf *g = gl_calloc(1, sizeof *g);
    if (!g || !(g->name = gl_strdup(path))) {
        gl_free(g);
        munmap(map, (size_t)sb.st_size);
        return gl_error_nomem("GGUF handle");
    }
    g->base = map;
    g->size = (size_t)sb.st_size;
    g->mapped = 1;
    return open_common(g, out);
}

void gl_gguf_close(gl_gguf *g) {
    if (!g) return;
    if (g->kv)
        for (int64_t i = 0; i < g->n_kv; i++) {
            gl_free((void *)g->kv[i].key);
            gl_free(g->kv[i].str_offsets);
        }
    gl_free(g->kv);
    gl_free(g->kv_index);
    gl_free(g->tensors);
    gl_free(g->tensor_offsets);
    gl_free(g->name_pool);
    gl_free(g->tensor_index);
    if (g->mapped) munmap((void *)g->base, g->size);
    gl_free(g->name);
    gl_free(g);
}

const char *gl_gguf_name(const gl_gguf *g) { return g->name; }

/* ==== Metadata lookups ==== */

int64_t glimpse_gguf_find_key(const gl_gguf *g, const char *key) {
    size_t slot = index_slot(g->kv_index, g->kv_cap, key, kv_name, g);
    return g->kv_index[slot];
}

static const gguf_kv *find_kv(const gl_gguf *g, const char *key) {
    int64_t i = glimpse_gguf_find_key(g, key);
    return i < 0 ? NULL : &g->kv[i];
}

/* Reads a scalar of type t at p as int64 or double; returns 0 if numeric. */
static int scalar_as_i64(glimpse_gguf_type t, const uint8_t *p, int64_t *out) {
    switch (t) {
    case GLIMPSE_GGUF_U8: case GLIMPSE_GGUF_BOOL: *out = p[0]; return 0;
    case GLIMPSE_GGUF_I8: *out = (int8_t)p[0]; return 0;
    case GLIMPSE_GGUF_U16: *out = (int64_t)le(p, 2); return 0;
    case GLIMPSE_GGUF_I16: *out = (int16_t)le(p, 2); return 0;
    case GLIMPSE_GGUF_U32: *out = (int64_t)le(p, 4); return 0;
    case GLIMPSE_GGUF_I32: *out = (int32_t)le(p, 4); return 0;
    case GLIMPSE_GGUF_I64: *out = (int64_t)le(p, 8); return 0;
    case GLIMPSE_GGUF_U64: {
        uint64_t v = le(p, 8);
        if (v > INT64_MAX) return -1;
        *out = (int64_t)v;
        return 0;
    }
    default: return -1;
    }
}

static int scalar_as_f64(glimpse_gguf_type t, const uint8_t *p, double *out) {
    if (t == GLIMPSE_GGUF_F32) {
        uint32_t u = (uint32_t)le(p, 4);
        float f;
        memcpy(&f, &u, 4);
        *out = f;
        return 0;
    }
    if (t == GLIMPSE_GGUF_F64) {
        uint64_t u = le(p, 8);
        memcpy(out, &u, 8);
        return 0;
    }
    int64_t i;
    if (scalar_as_i64(t, p, &i)) return -1;
    *out = (double)i;
    return 0;
}

int gl_gguf_get_i64(const gl_gguf *g, const char *key, int64_t *out) {
    const gguf_kv *kv = find_kv(g, key);
    if (!kv || kv->type == GLIMPSE_GGUF_BOOL) return -1;
    return scalar_as_i64(kv->type, kv->value, out);
}

int gl_gguf_get_u32(const gl_gguf *g, const char *key, uint32_t *out) {
    int64_t v;
    if (gl_gguf_get_i64(g, key, &v) || v < 0 || v > UINT32_MAX) return -1;
    *out = (uint32_t)v;
    return 0;
}

int gl_gguf_get_f32(const gl_gguf *g, const char *key, float *out) {
    const gguf_kv *kv = find_kv(g, key);
    double d;
    if (!kv || kv->type == GLIMPSE_GGUF_BOOL || scalar_as_f64(kv->type, kv->value, &d)) return -1;
    *out = (float)d;
    return 0;
}

int gl_gguf_get_bool(const gl_gguf *g, const char *key, int *out) {
    const gguf_kv *kv = find_kv(g, key);
    if (!kv || kv->type != GLIMPSE_GGUF_BOOL) return -1;
    *out = kv->value[0] != 0;
    return 0;
}

int gl_gguf_get_str(const gl_gguf *g, const char *key, const char **s, size_t *len) {
    const gguf_kv *kv = find_kv(g, key);
    if (!kv || kv->type != GLIMPSE_GGUF_STRING) return -1;
    *len = (size_t)le(kv->value, 8);
    *s = (const char *)kv->value + 8;
    return 0;
}

int gl_gguf_get_arr(const gl_gguf *g, const char *key, glimpse_gguf_type *elem_type, uint64_t *n) {
    const gguf_kv *kv = find_kv(g, key);
    if (!kv || kv->type != GLIMPSE_GGUF_ARRAY) return -1;
    *elem_type = kv->arr_type;
    *n = kv->arr_len;
    return 0;
}

static const uint8_t *numeric_elem(const gguf_kv *kv, uint64_t i) {
    if (!kv || kv->type != GLIMPSE_GGUF_ARRAY || i >= kv->arr_len) return NULL;
    int sz = scalar_size(kv->arr_type);
    return sz ? kv->value + i * (uint64_t)sz : NULL;
}

int gl_gguf_arr_i64(const gl_gguf *g, const char *key, uint64_t i, int64_t *out) {
    const gguf_kv *kv = find_kv(g, key);
    const uint8_t *p = numeric_elem(kv, i);
    return p ? scalar_as_i64(kv->arr_type, p, out) : -1;
}

int gl_gguf_arr_f32(const gl_gguf *g, const char *key, uint64_t i, float *out) {
    const gguf_kv *kv = find_kv(g, key);
    const uint8_t *p = numeric_elem(kv, i);
    double d;
    if (!p || scalar_as_f64(kv->arr_type, p, &d)) return -1;
    *out = (float)d;
    return 0;
}

int gl_gguf_arr_str_at(const gl_gguf *g, int64_t k, uint64_t i, const char **s, size_t *len) {
    if (k < 0 || k >= g->n_kv) return -1;
    const gguf_kv *kv = &g->kv[k];
    if (kv->type != GLIMPSE_GGUF_ARRAY || kv->arr_type != GLIMPSE_GGUF_STRING || i >= kv->arr_len) return -1;
    const uint8_t *p = kv->value + kv->str_offsets[i];
    *len = (size_t)le(p, 8);
    *s = (const char *)p + 8;
    return 0;
}

int gl_gguf_arr_str(const gl_gguf *g, const char *key, uint64_t i, const char **s, size_t *len) {
    return gl_gguf_arr_str_at(g, glimpse_gguf_find_key(g, key), i, s, len);
}

/* ==== Tensors ==== */

int64_t glimpse_gguf_find_tensor(const gl_gguf *g, const char *name) {
    size_t slot = index_slot(g->tensor_index, g->tensor_cap, name, tensor_name, g);
    return g->tensor_index[slot];
}

const gl_tensor *gl_gguf_tensor(const gl_gguf *g, const char *name) {
    int64_t i = glimpse_gguf_find_tensor(g, name);
    return i < 0 ? NULL : &g->tensors[i];
}

const gl_tensor *gl_gguf_tensor_at(const gl_gguf *g, int64_t i) {
    return i < 0 || i >= g->n_tensors ? NULL : &g->tensors[i];
}

glimpse_status gl_gguf_require(const gl_gguf *g, const char *name, int64_t ne0, int64_t ne1, const gl_tensor **out) {
    const gl_tensor *t = gl_gguf_tensor(g, name);
    if (!t) return gl_error(GLIMPSE_ERR_FORMAT, "%s: missing tensor '%s'", g->name, name);
    if (!gl_type_readable(t->type))
        return gl_error(GLIMPSE_ERR_UNSUPPORTED, "%s: tensor '%s' has type %s, which glimpse cannot read", g->name, name,
                        gl_type_get(t->type)->name);
    if (t->ne[0] != ne0 || gl_tensor_nrows(t) != ne1)
        return gl_error(GLIMPSE_ERR_FORMAT, "%s: tensor '%s' has shape %" PRId64 "x%" PRId64 ", expected %" PRId64 "x%" PRId64,
                        g->name, name, t->ne[0], gl_tensor_nrows(t), ne0, ne1);
    *out = t;
    return GLIMPSE_OK;
}

/* ==== Public inspection API ==== */

glimpse_status glimpse_gguf_open(const char *path, glimpse_gguf **out) { return gl_gguf_open(path, out); }
void glimpse_gguf_close(glimpse_gguf *g) { gl_gguf_close(g); }
uint32_t glimpse_gguf_version(const glimpse_gguf *g) { return g->version; }
uint64_t glimpse_gguf_alignment(const glimpse_gguf *g) { return g->alignment; }
uint64_t glimpse_gguf_file_size(const glimpse_gguf *g) { return g->size; }
int64_t glimpse_gguf_n_kv(const glimpse_gguf *g) { return g->n_kv; }
int64_t glimpse_gguf_n_tensors(const glimpse_gguf *g) { return g->n_tensors; }

const char *glimpse_gguf_kv_key(const glimpse_gguf *g, int64_t i) {
    return i >= 0 && i < g->n_kv ? g->kv[i].key : NULL;
}
/* Out-of-range indices read as a u8 scalar, not an array, so callers looping
 * over keys never index past the table. */
glimpse_gguf_type glimpse_gguf_kv_type(const glimpse_gguf *g, int64_t i) {
    return i >= 0 && i < g->n_kv ? g->kv[i].type : GLIMPSE_GGUF_U8;
}
glimpse_gguf_type glimpse_gguf_kv_array_type(const glimpse_gguf *g, int64_t i) {
    return glimpse_gguf_kv_type(g, i) == GLIMPSE_GGUF_ARRAY ? g->kv[i].arr_type : GLIMPSE_GGUF_U8;
}
uint64_t glimpse_gguf_kv_array_len(const glimpse_gguf *g, int64_t i) {
    return glimpse_gguf_kv_type(g, i) == GLIMPSE_GGUF_ARRAY ? g->kv[i].arr_len : 0;
}

glimpse_status glimpse_gguf_tensor_info(const glimpse_gguf *g, int64_t i, glimpse_tensor_info *out) {
    if (i < 0 || i >= g->n_tensors)
        return gl_error(GLIMPSE_ERR_INVALID_ARG, "%s: tensor index %" PRId64 " out of range", g->name, i);
    const gl_tensor *t = &g->tensors[i];
    out->name = t->name;
    out->type = t->type;
    out->type_name = gl_type_get(t->type)->name;
    out->supported = gl_type_readable(t->type);
    out->n_dims = t->n_dims;
    memcpy(out->ne, t->ne, sizeof out->ne);
    out->offset = g->data_offset + g->tensor_offsets[i];
    out->nbytes = t->nbytes;
    return GLIMPSE_OK;
}

/* Appends to a bounded buffer, counting the full length like snprintf. */
typedef struct {
    char *buf;
    size_t size, len;
} textbuf;

static void put(textbuf *t, const char *s, size_t n) {
    if (t->len < t->size) {
        size_t room = t->size - t->len - 1;
        memcpy(t->buf + t->len, s, n < room ? n : room);
        t->buf[t->len + (n < room ? n : room)] = 0;
    }
    t->len += n;
}

static void put_fmt(textbuf *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put_fmt(textbuf *t, const char *fmt, ...) {
    char tmp[64];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    put(t, tmp, n < 0 ? 0 : (size_t)n);
}

static void put_string(textbuf *t, const char *s, size_t n, int json) {
    if (!json) {
        put(t, s, n);
        return;
    }
    put(t, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        char e[6];
        put(t, e, gl_json_escape((unsigned char)s[i], e));
    }
    put(t, "\"", 1);
}

static void put_scalar(textbuf *t, glimpse_gguf_type type, const uint8_t *p, int json) {
    int64_t iv;
    double dv;
    if (type == GLIMPSE_GGUF_BOOL) put_fmt(t, "%s", p[0] ? "true" : "false");
    else if (type == GLIMPSE_GGUF_U64) put_fmt(t, "%" PRIu64, le(p, 8));
    else if (type == GLIMPSE_GGUF_F32 || type == GLIMPSE_GGUF_F64) {
        scalar_as_f64(type, p, &dv);
        if (dv != dv || dv - dv != 0) put_fmt(t, json ? "null" : "%g", dv); /* NaN/inf have no JSON form */
        else put_fmt(t, "%.9g", dv);
    } else if (!scalar_as_i64(type, p, &iv)) put_fmt(t, "%" PRId64, iv);
}

size_t glimpse_gguf_kv_format(const glimpse_gguf *g, int64_t i, int max_items, int json, char *buf, size_t size) {
    textbuf t = {buf, size, 0};
    if (size) buf[0] = 0;
    if (i < 0 || i >= g->n_kv) return 0;
    const gguf_kv *kv = &g->kv[i];
    if (kv->type == GLIMPSE_GGUF_STRING) {
        put_string(&t, (const char *)kv->value + 8, (size_t)le(kv->value, 8), json);
    } else if (kv->type != GLIMPSE_GGUF_ARRAY) {
        put_scalar(&t, kv->type, kv->value, json);
    } else {
        uint64_t shown = kv->arr_len < (uint64_t)max_items ? kv->arr_len : (uint64_t)(max_items < 0 ? 0 : max_items);
        put(&t, "[", 1);
        for (uint64_t k = 0; k < shown; k++) {
            if (k) put(&t, ", ", 2);
            if (kv->arr_type == GLIMPSE_GGUF_STRING) {
                const char *s;
                size_t len;
                gl_gguf_arr_str_at(g, i, k, &s, &len);
                put_string(&t, s, len, 1);
            } else if (kv->arr_type == GLIMPSE_GGUF_ARRAY) {
                put(&t, json ? "null" : "[...]", json ? 4 : 5);
            } else {
                put_scalar(&t, kv->arr_type, numeric_elem(kv, k), json);
            }
        }
        if (shown < kv->arr_len) {
            if (json) put(&t, shown ? ", null" : "null", shown ? 6 : 4); /* marks the cut */
            else put_fmt(&t, "%s... (%" PRIu64 " items)", shown ? ", " : "", kv->arr_len);
        }
        put(&t, "]", 1);
    }
    return t.len;
}

/* ==== Writing ==== */

typedef struct {
    char *name;
    int type, n_dims;
    int64_t ne[4];
    size_t nbytes;
    void *data;
} writer_tensor;

struct gl_gguf_writer {
    uint8_t *kv_bytes; /* serialized key-value pairs */
    size_t kv_len, kv_cap;
    uint64_t n_kv;
    uint32_t alignment;
    writer_tensor *tensors;
    size_t n_tensors, tensors_cap;
};

gl_gguf_writer *gl_gguf_writer_new(void) {
    gl_gguf_writer *w = gl_calloc(1, sizeof *w);
    if (w) w->alignment = GGUF_DEFAULT_ALIGNMENT;
    return w;
}

void gl_gguf_writer_free(gl_gguf_writer *w) {
    if (!w) return;
    for (size_t i = 0; i < w->n_tensors; i++) {
        gl_free(w->tensors[i].name);
        gl_free(w->tensors[i].data);
    }
    gl_free(w->tensors);
    gl_free(w->kv_bytes);
    gl_free(w);
}

static int emit(gl_gguf_writer *w, const void *p, size_t n) {
    size_t need_len;
    if (gl_add_overflow(w->kv_len, n, &need_len)) return -1;
    if (need_len > w->kv_cap) {
        size_t cap = w->kv_cap ? w->kv_cap : 256;
        while (cap < need_len)
            if (gl_mul_overflow(cap, 2, &cap)) return -1;
        uint8_t *b = gl_realloc(w->kv_bytes, cap);
        if (!b) return -1;
        w->kv_bytes = b;
        w->kv_cap = cap;
    }
    memcpy(w->kv_bytes + w->kv_len, p, n);
    w->kv_len = need_len;
    return 0;
}

static int emit_le(gl_gguf_writer *w, uint64_t v, int n) {
    uint8_t b[8];
    for (int i = 0; i < n; i++) b[i] = (uint8_t)(v >> (8 * i));
    return emit(w, b, (size_t)n);
}

static int emit_str(gl_gguf_writer *w, const char *s) {
    size_t n = strlen(s);
    return emit_le(w, n, 8) || emit(w, s, n);
}

static int emit_key(gl_gguf_writer *w, const char *key, glimpse_gguf_type type) {
    w->n_kv++;
    return emit_str(w, key) || emit_le(w, (uint64_t)type, 4);
}

int gl_gguf_add_u32(gl_gguf_writer *w, const char *key, uint32_t v) {
    if (!strcmp(key, "general.alignment")) w->alignment = v;
    return emit_key(w, key, GLIMPSE_GGUF_U32) || emit_le(w, v, 4);
}
int gl_gguf_add_i32(gl_gguf_writer *w, const char *key, int32_t v) {
    return emit_key(w, key, GLIMPSE_GGUF_I32) || emit_le(w, (uint32_t)v, 4);
}
int gl_gguf_add_f32(gl_gguf_writer *w, const char *key, float v) {
    uint32_t u;
    memcpy(&u, &v, 4);
    return emit_key(w, key, GLIMPSE_GGUF_F32) || emit_le(w, u, 4);
}
int gl_gguf_add_bool(gl_gguf_writer *w, const char *key, int v) {
    return emit_key(w, key, GLIMPSE_GGUF_BOOL) || emit_le(w, v ? 1 : 0, 1);
}
int gl_gguf_add_str(gl_gguf_writer *w, const char *key, const char *v) {
    return emit_key(w, key, GLIMPSE_GGUF_STRING) || emit_str(w, v);
}

int gl_gguf_add_arr(gl_gguf_writer *w, const char *key, glimpse_gguf_type elem_type, const void *data, uint64_t n) {
    int sz = scalar_size(elem_type);
    if (!sz) return -1;
    if (emit_key(w, key, GLIMPSE_GGUF_ARRAY) || emit_le(w, (uint64_t)elem_type, 4) || emit_le(w, n, 8)) return -1;
    const uint8_t *p = data;
    for (uint64_t i = 0; i < n; i++) { /* host to little-endian, element by element */
        uint64_t v = 0;
        memcpy(&v, p + i * (uint64_t)sz, (size_t)sz);
        if (emit_le(w, v, sz)) return -1;
    }
    return 0;
}

int gl_gguf_add_arr_str(gl_gguf_writer *w, const char *key, const char *const *v, uint64_t n) {
    if (emit_key(w, key, GLIMPSE_GGUF_ARRAY) || emit_le(w, GLIMPSE_GGUF_STRING, 4) || emit_le(w, n, 8)) return -1;
    for (uint64_t i = 0; i < n; i++)
        if (emit_str(w, v[i])) return -1;
    return 0;
}

int gl_gguf_add_tensor(gl_gguf_writer *w, const char *name, int type, int n_dims, const int64_t *ne, const void *data) {
    if (n_dims < 1 || n_dims > GGUF_MAX_DIMS || strlen(name) > GGUF_MAX_NAME_LEN) return -1;
    size_t rows = 1, nbytes, row = gl_row_bytes(type, ne[0]);
    if (!row) return -1;
    for (int d = 1; d < n_dims; d++)
        if (ne[d] <= 0 || gl_mul_overflow(rows, (size_t)ne[d], &rows)) return -1;
    if (gl_mul_overflow(row, rows, &nbytes)) return -1;
    if (w->n_tensors == w->tensors_cap) {
        size_t cap = w->tensors_cap ? w->tensors_cap * 2 : 16;
        writer_tensor *t = gl_realloc(w->tensors, cap * sizeof *t);
        if (!t) return -1;
        w->tensors = t;
        w->tensors_cap = cap;
    }
    writer_tensor *t = &w->tensors[w->n_tensors];
    memset(t, 0, sizeof *t);
    t->name = gl_strdup(name);
    t->data = gl_malloc(nbytes);
    if (!t->name || !t->data) {
        gl_free(t->name);
        gl_free(t->data);
        return -1;
    }
    memcpy(t->data, data, nbytes);
    t->type = type;
    t->n_dims = n_dims;
    for (int d = 0; d < 4; d++) t->ne[d] = d < n_dims ? ne[d] : 1;
    t->nbytes = nbytes;
    w->n_tensors++;
    return 0;
}

static int write_le(FILE *f, uint64_t v, int n) {
    uint8_t b[8];
    for (int i = 0; i < n; i++) b[i] = (uint8_t)(v >> (8 * i));
    return fwrite(b, 1, (size_t)n, f) == (size_t)n ? 0 : -1;
}

static int write_pad(FILE *f, uint64_t *pos, uint64_t align) {
    static const uint8_t zeros[64];
    while (*pos % align) {
        uint64_t n = align - *pos % align;
        if (n > sizeof zeros) n = sizeof zeros;
        if (fwrite(zeros, 1, (size_t)n, f) != n) return -1;
        *pos += n;
    }
    return 0;
}

glimpse_status gl_gguf_write_file(const gl_gguf_writer *w, const char *path) {
    FILE *f = fopen(path, "wb");
    if (!f) return gl_error(GLIMPSE_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
    uint64_t align = w->alignment ? w->alignment : GGUF_DEFAULT_ALIGNMENT;
    int bad = fwrite(GGUF_MAGIC, 1, 4, f) != 4 || write_le(f, 3, 4) || write_le(f, w->n_tensors, 8) ||
              write_le(f, w->n_kv, 8) || fwrite(w->kv_bytes, 1, w->kv_len, f) != w->kv_len;
    uint64_t pos = 24 + w->kv_len, offset = 0;
    for (size_t i = 0; i < w->n_tensors && !bad; i++) {
        const writer_tensor *t = &w->tensors[i];
        size_t n = strlen(t->name);
        bad = write_le(f, n, 8) || fwrite(t->name, 1, n, f) != n || write_le(f, (uint64_t)t->n_dims, 4);
        for (int d = 0; d < t->n_dims && !bad; d++) bad = write_le(f, (uint64_t)t->ne[d], 8);
        bad = bad || write_le(f, (uint64_t)t->type, 4) || write_le(f, offset, 8);
        pos += 8 + n + 4 + 8 * (uint64_t)t->n_dims + 4 + 8;
        offset += t->nbytes;
        offset += (align - offset % align) % align;
    }
    bad = bad || write_pad(f, &pos, align);
    for (size_t i = 0; i < w->n_tensors && !bad; i++) {
        const writer_tensor *t = &w->tensors[i];
        bad = fwrite(t->data, 1, t->nbytes, f) != t->nbytes;
        pos += t->nbytes;
        bad = bad || write_pad(f, &pos, align);
    }
    if (fclose(f) != 0) bad = 1;
    if (bad) {
        remove(path);
        return gl_error(GLIMPSE_ERR_IO, "%s: write failed: %s", path, strerror(errno));
    }
    return GLIMPSE_OK;
}
