/* exif.c - finds the EXIF orientation where Pillow does and applies it as
 * PIL.ImageOps.exif_transpose does (see exif.h).
 *
 * Where Pillow looks (Pillow 13: JpegImagePlugin.APP, PngImagePlugin
 * chunk_eXIf/chunk_iTXt, WebPImagePlugin, Image.getexif, TiffImagePlugin
 * ImageFileDirectory_v2.load):
 *   - JPEG: the first APP1 segment starting "Exif\0\0" before the first SOS,
 *     and the last APP1 "http://ns.adobe.com/xap/1.0/\0" XMP packet.
 *     Pillow appends the payload of further Exif APP1 segments to the first;
 *     only the first is read here (the EXIF spec allows one).
 *   - PNG: the last eXIf chunk; XMP from an uncompressed iTXt or a tEXt
 *     "XML:com.adobe.xmp" (compressed iTXt and ImageMagick's "Raw profile
 *     type exif" text are not read). Chunk CRCs are not checked here.
 *   - WebP: the "EXIF" and "XMP " RIFF chunks.
 * EXIF is a TIFF structure (TIFF 6.0 section 2): byte order mark, IFD 0
 * offset, 12-byte entries. Integer types BYTE, SHORT, LONG and their signed
 * forms are read; the last entry for the tag wins, like Pillow's dict.
 * Unreadable EXIF counts as none (Pillow raises for a bad TIFF header). */
#include "exif.h"

#include "image_codecs.h"
#include "mem.h"

#include <string.h>

/* ==== TIFF / EXIF ==== */

typedef struct {
    const uint8_t *p;
    size_t n;
    int big_endian;
} tiff_view;

static int rd16(const tiff_view *t, size_t off, uint32_t *v) {
    if (off > t->n || t->n - off < 2) return 0;
    const uint8_t *p = t->p + off;
    *v = t->big_endian ? (uint32_t)(p[0] << 8 | p[1]) : (uint32_t)(p[1] << 8 | p[0]);
    return 1;
}

static int rd32(const tiff_view *t, size_t off, uint32_t *v) {
    if (off > t->n || t->n - off < 4) return 0;
    const uint8_t *p = t->p + off;
    *v = t->big_endian ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]
                       : (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
    return 1;
}

/* First value of an integer-typed entry, or 0 when it has another type. */
static int entry_value(const tiff_view *t, size_t entry, int *value) {
    uint32_t type, count, u;
    if (!rd16(t, entry + 2, &type) || !rd32(t, entry + 4, &count) || count == 0) return 0;
    size_t unit = (type == 1 || type == 6) ? 1 : (type == 3 || type == 8) ? 2 : (type == 4 || type == 9) ? 4 : 0;
    if (unit == 0) return 0;
    size_t where = entry + 8;
    if ((uint64_t)count * unit > 4) { /* stored elsewhere: the field holds its offset */
        uint32_t off;
        if (!rd32(t, entry + 8, &off) || off > t->n || t->n - off < (uint64_t)count * unit) return 0;
        where = off;
    }
    if (unit == 1) {
        if (where >= t->n) return 0;
        *value = type == 6 ? (int)(int8_t)t->p[where] : t->p[where];
    } else if (unit == 2) {
        if (!rd16(t, where, &u)) return 0;
        *value = type == 8 ? (int)(int16_t)u : (int)u;
    } else {
        if (!rd32(t, where, &u)) return 0;
        *value = type == 9 ? (int)(int32_t)u : (u > 0x7fffffffu ? 0 : (int)u);
    }
    return 1;
}

int gl_exif_orientation_tiff(const uint8_t *blob, size_t size) {
    for (int i = 0; i < 2 && size >= 6 && memcmp(blob, "Exif\0\0", 6) == 0; i++) {
        blob += 6;
        size -= 6;
    }
    if (size < 8) return 0;
    tiff_view t = {blob, size, 0};
    /* Pillow also accepts the byte-swapped magics some writers produce. */
    if (memcmp(blob, "II", 2) == 0) t.big_endian = 0;
    else if (memcmp(blob, "MM", 2) == 0) t.big_endian = 1;
    else return 0;
    uint32_t magic, ifd, count;
    if (!rd16(&t, 2, &magic) || (magic != 42 && magic != 0x2a00)) return 0;
    if (!rd32(&t, 4, &ifd) || !rd16(&t, ifd, &count)) return 0;
    int orientation = 0;
    for (uint32_t i = 0; i < count; i++) {
        size_t entry = (size_t)ifd + 2 + (size_t)i * 12;
        uint32_t tag;
        if (!rd16(&t, entry, &tag) || entry + 12 > t.n) break; /* truncated IFD: keep what was read */
        int v;
        if (tag == 0x0112 && entry_value(&t, entry, &v)) orientation = v;
    }
    return orientation;
}

/* Pillow's fallback: re.search(r'tiff:Orientation(="|>)([0-9])', xmp). */
static int xmp_orientation(const uint8_t *xmp, size_t n) {
    static const char key[] = "tiff:Orientation";
    const size_t klen = sizeof key - 1;
    while (xmp && n > 0) {
        const uint8_t *hit = gl_find_bytes(xmp, n, key, klen);
        if (!hit) return 0;
        size_t rest = n - (size_t)(hit - xmp) - klen;
        const uint8_t *after = hit + klen;
        if (rest >= 3 && after[0] == '=' && after[1] == '"' && after[2] >= '0' && after[2] <= '9')
            return after[2] - '0';
        if (rest >= 2 && after[0] == '>' && after[1] >= '0' && after[1] <= '9') return after[1] - '0';
        n = rest;
        xmp = after;
    }
    return 0;
}

static int combine(const uint8_t *exif, size_t exif_n, const uint8_t *xmp, size_t xmp_n) {
    int o = exif ? gl_exif_orientation_tiff(exif, exif_n) : 0;
    if (o == 0 && xmp) o = xmp_orientation(xmp, xmp_n);
    return o == 0 ? 1 : o;
}

/* ==== Containers ==== */

int gl_exif_orientation_jpeg(const uint8_t *d, size_t n) {
    static const char xmp_id[] = "http://ns.adobe.com/xap/1.0/";
    const uint8_t *exif = NULL, *xmp = NULL;
    size_t exif_n = 0, xmp_n = 0, pos = 2;
    while (pos + 2 <= n) {
        if (d[pos] != 0xff) { pos++; continue; } /* Pillow skips junk between segments */
        uint8_t m = d[pos + 1];
        if (m == 0xff) { pos++; continue; }      /* fill byte */
        if (m == 0x00 || m == 0x01 || (m >= 0xd0 && m <= 0xd8)) { pos += 2; continue; }
        if (m == 0xda || m == 0xd9 || pos + 4 > n) break; /* metadata ends at the first scan */
        size_t len = (size_t)d[pos + 2] << 8 | d[pos + 3];
        if (len < 2 || len > n - pos - 2) break;
        const uint8_t *s = d + pos + 4;
        size_t sn = len - 2;
        if (m == 0xe1 && !exif && sn >= 6 && memcmp(s, "Exif\0\0", 6) == 0) {
            exif = s;
            exif_n = sn;
        } else if (m == 0xe1 && sn >= sizeof xmp_id && memcmp(s, xmp_id, sizeof xmp_id) == 0) {
            xmp = s + sizeof xmp_id;
            xmp_n = sn - sizeof xmp_id;
        }
        pos += 2 + len;
    }
    return combine(exif, exif_n, xmp, xmp_n);
}

static uint32_t be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int gl_exif_orientation_png(const uint8_t *d, size_t n) {
    static const char xmp_key[] = "XML:com.adobe.xmp";
    const uint8_t *exif = NULL, *xmp = NULL;
    size_t exif_n = 0, xmp_n = 0, pos = 8;
    while (pos <= n && n - pos >= 12) {
        size_t len = be32(d + pos);
        const uint8_t *type = d + pos + 4, *s = d + pos + 8;
        if (len > n - pos - 12) break;
        if (memcmp(type, "eXIf", 4) == 0) {
            exif = s;
            exif_n = len;
        } else if ((memcmp(type, "iTXt", 4) == 0 || memcmp(type, "tEXt", 4) == 0) &&
                   len > sizeof xmp_key && memcmp(s, xmp_key, sizeof xmp_key) == 0) {
            const uint8_t *p = s + sizeof xmp_key, *end = s + len;
            if (type[0] == 'i') {
                /* compression flag, method, language tag\0, translated keyword\0, text */
                if (end - p < 2 || p[0] != 0) goto next;
                p += 2;
                for (int field = 0; field < 2; field++) {
                    const uint8_t *z = memchr(p, 0, (size_t)(end - p));
                    if (!z) goto next;
                    p = z + 1;
                }
            }
            xmp = p;
            xmp_n = (size_t)(end - p);
        } else if (memcmp(type, "IEND", 4) == 0) {
            break;
        }
    next:
        pos += 12 + len;
    }
    return combine(exif, exif_n, xmp, xmp_n);
}

int gl_exif_orientation_webp(const uint8_t *d, size_t n) {
    const uint8_t *exif = NULL, *xmp = NULL;
    size_t exif_n = 0, xmp_n = 0, pos = 12;
    while (pos <= n && n - pos >= 8) {
        size_t len = (size_t)d[pos + 4] | (size_t)d[pos + 5] << 8 | (size_t)d[pos + 6] << 16 |
                     (size_t)d[pos + 7] << 24;
        if (len > n - pos - 8) break;
        if (memcmp(d + pos, "EXIF", 4) == 0) {
            exif = d + pos + 8;
            exif_n = len;
        } else if (memcmp(d + pos, "XMP ", 4) == 0) {
            xmp = d + pos + 8;
            xmp_n = len;
        }
        pos += 8 + len + (len & 1);
    }
    return combine(exif, exif_n, xmp, xmp_n);
}

/* ==== Applying it ==== */

glimpse_status gl_exif_apply_orientation(gl_image *img, int orientation) {
    if (orientation < 2 || orientation > 8) return GLIMPSE_OK;
    const int w = img->width, h = img->height, c = img->channels;
    const int swap = orientation >= 5; /* 5..8 exchange width and height */
    const int ow = swap ? h : w, oh = swap ? w : h;
    uint8_t *dst = gl_malloc_array((size_t)w * (size_t)h, (size_t)c); /* (oh, ow, c) */
    if (!dst) return GLIMPSE_ERR_NOMEM;
    for (int y = 0; y < oh; y++) {
        for (int x = 0; x < ow; x++) {
            int sx, sy; /* source pixel shown at (x, y) */
            switch (orientation) {
            case 2: sx = w - 1 - x; sy = y; break;
            case 3: sx = w - 1 - x; sy = h - 1 - y; break;
            case 4: sx = x; sy = h - 1 - y; break;
            case 5: sx = y; sy = x; break;
            case 6: sx = y; sy = h - 1 - x; break;
            case 7: sx = w - 1 - y; sy = h - 1 - x; break;
            default: sx = w - 1 - y; sy = x; break; /* 8 */
            }
            memcpy(dst + ((size_t)y * ow + x) * c, img->pixels + ((size_t)sy * w + sx) * c, (size_t)c);
        }
    }
    gl_free(img->pixels);
    img->pixels = dst;
    img->width = ow;
    img->height = oh;
    return GLIMPSE_OK;
}
