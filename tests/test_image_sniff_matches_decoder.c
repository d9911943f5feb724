/* glimpse_image_sniff (what `glimpse caption` walks folders with) agrees
 * with the decoders: every fixture image is an image from its first
 * GLIMPSE_IMAGE_SNIFF_BYTES bytes, with the format its file is; refused
 * formats are named; text and other files are not images, and the decoder
 * refuses them as "not a recognised image format"; every prefix of every
 * input is read without going past its end (exact-size buffers, ASan). */
#include "glimpse.h"
#include "image.h"
#include "test.h"

#include <dirent.h>

/* Sniffs data through every prefix length, each in a buffer of exactly that size. */
static glimpse_sniff sniff_prefixes(const unsigned char *data, size_t n, const char **format) {
    for (size_t len = 0; len < n && len < GLIMPSE_IMAGE_SNIFF_BYTES; len++) {
        unsigned char *copy = malloc(len ? len : 1);
        memcpy(copy, data, len);
        glimpse_image_sniff(copy, len, NULL);
        free(copy);
    }
    return glimpse_image_sniff(data, n < GLIMPSE_IMAGE_SNIFF_BYTES ? n : GLIMPSE_IMAGE_SNIFF_BYTES, format);
}

static const char *expected_format(const char *name) {
    static const char *const by_ext[][2] = {{".jpg", "JPEG"}, {".png", "PNG"}, {".webp", "WebP"}, {".gif", "GIF"},
                                            {".bmp", "BMP"},  {".pgm", "PNM"}, {".ppm", "PNM"},   {".psd", "PSD"},
                                            {".tga", "TGA"}};
    const char *dot = strrchr(name, '.');
    for (size_t i = 0; dot && i < sizeof by_ext / sizeof by_ext[0]; i++)
        if (!strcmp(dot, by_ext[i][0])) return by_ext[i][1];
    return NULL;
}

int main(void) {
    const char *dir = GLIMPSE_SOURCE_DIR "/tests/fixtures/images";
    DIR *d = opendir(dir);
    CHECK(d != NULL);
    int n_images = 0;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        const char *want = expected_format(e->d_name);
        if (!want) continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        size_t size;
        unsigned char *data = test_read_file(path, &size);
        CHECK_MSG(data != NULL, "%s", path);
        if (!data) continue;
        const char *format = NULL;
        glimpse_sniff s = sniff_prefixes(data, size, &format);
        CHECK_MSG(s == GLIMPSE_SNIFF_IMAGE && format && !strcmp(format, want), "%s: sniff %d %s, want %s",
                  e->d_name, (int)s, format ? format : "(null)", want);
        free(data);
        n_images++;
    }
    if (d) closedir(d);
    CHECK_MSG(n_images >= 30, "only %d fixture images", n_images);

    static const struct {
        const char *data;
        size_t n;
        glimpse_sniff want;
        const char *format;
    } cases[] = {
        {"shopping list\n", 14, GLIMPSE_SNIFF_NOT_IMAGE, NULL},
        {"", 0, GLIMPSE_SNIFF_NOT_IMAGE, NULL},
        {"\x7f" "ELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x03\0>\0", 20, GLIMPSE_SNIFF_NOT_IMAGE, NULL},
        {"{\"path\": \"a.jpg\"}\n", 18, GLIMPSE_SNIFF_NOT_IMAGE, NULL},
        {"\0\0\0\x18" "ftypheic\0\0\0\0mif1heic", 24, GLIMPSE_SNIFF_UNSUPPORTED, "HEIC"},
        {"\0\0\0\x1c" "ftypavif\0\0\0\0avifmif1miaf", 28, GLIMPSE_SNIFF_UNSUPPORTED, "AVIF"},
        {"II*\0\x08\0\0\0", 8, GLIMPSE_SNIFF_UNSUPPORTED, "TIFF"},
        {"<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\"/>", 63, GLIMPSE_SNIFF_UNSUPPORTED, "SVG"},
        {"\0\0\0\x18" "ftypmp42\0\0\0\0isommp42", 24, GLIMPSE_SNIFF_NOT_IMAGE, NULL}, /* a video */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *format = "unset";
        glimpse_sniff s = sniff_prefixes((const unsigned char *)cases[i].data, cases[i].n, &format);
        CHECK_MSG(s == cases[i].want, "case %zu: sniff %d, want %d", i, (int)s, (int)cases[i].want);
        CHECK_MSG(cases[i].format ? format && !strcmp(format, cases[i].format) : format == NULL,
                  "case %zu: format %s", i, format ? format : "(null)");
        if (cases[i].want == GLIMPSE_SNIFF_NOT_IMAGE && cases[i].n > 0) {
            gl_image img;
            CHECK_ERROR(gl_image_decode_memory(cases[i].data, cases[i].n, "x", NULL, &img), GLIMPSE_ERR_UNSUPPORTED,
                        "not a recognised image format");
        }
    }
    TEST_DONE();
}
