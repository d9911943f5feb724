/* Decoding every test image gives what transformers' load_image sees:
 * PIL.Image.open + ImageOps.exif_transpose + convert("RGB"), from
 * tests/fixtures/decoded/ (make_decode_fixtures.py). glimpse keeps gray and
 * alpha (vision/image.h), so the decoded image is first reduced to RGB the
 * way convert("RGB") does (replicate gray, drop alpha) and the alpha plane
 * is compared with convert("RGBA")'s.
 *
 * Tolerance: 0 for every format. JPEG is exact because glimpse and Pillow
 * both decode with libjpeg-turbo's ISLOW IDCT and fancy upsampling (system
 * 2.1.5 vs Pillow's bundled 3.x give the same samples); WebP because both
 * use libwebp's default decoder. */
#include "image.h"
#include "test.h"

#include <stdint.h>

static uint64_t fnv1a64(const uint8_t *p, size_t n) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

/* convert("RGB") of the emitted layout: (h, w, 3). */
static uint8_t *to_rgb(const gl_image *img) {
    size_t n = (size_t)img->width * img->height;
    uint8_t *rgb = malloc(n * 3);
    for (size_t i = 0; i < n; i++) {
        const uint8_t *p = img->pixels + i * img->channels;
        for (int c = 0; c < 3; c++) rgb[3 * i + c] = img->channels >= 3 ? p[c] : p[0];
    }
    return rgb;
}

static void check_image(const char *name, int w, int h, int channels, const char *rgb_file,
                        const char *alpha_file, uint64_t hash) {
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/fixtures/images/%s", GLIMPSE_SOURCE_DIR, name);
    gl_image img;
    gl_image_warnings warn;
    glimpse_status st = gl_image_decode_file_ex(path, NULL, &img, &warn);
    CHECK_MSG(st == GLIMPSE_OK, "%s: %s", name, glimpse_last_error());
    if (st != GLIMPSE_OK) return;
    CHECK_MSG(warn.count == 0, "%s: unexpected warning %s", name, warn.first);
    CHECK_MSG(img.width == w && img.height == h && img.channels == channels,
              "%s: got %dx%dx%d, want %dx%dx%d", name, img.width, img.height, img.channels, w, h, channels);
    if (img.width != w || img.height != h || img.channels != channels) {
        gl_image_free(&img);
        return;
    }
    size_t n = (size_t)w * h;
    uint8_t *rgb = to_rgb(&img);
    CHECK_MSG(fnv1a64(rgb, n * 3) == hash, "%s: RGB checksum differs from Pillow's", name);
    if (strcmp(rgb_file, "-") != 0) {
        snprintf(path, sizeof path, "%s/tests/fixtures/decoded/%s", GLIMPSE_SOURCE_DIR, rgb_file);
        size_t size = 0;
        uint8_t *want = test_read_file(path, &size);
        CHECK_MSG(want && size == n * 3, "%s: cannot read %s", name, path);
        if (want && size == n * 3) {
            int max_diff = 0;
            size_t n_diff = 0;
            for (size_t i = 0; i < n * 3; i++) {
                int d = abs((int)rgb[i] - (int)want[i]);
                if (d) n_diff++;
                if (d > max_diff) max_diff = d;
            }
            CHECK_MSG(max_diff == 0, "%s: %zu samples differ from Pillow, max by %d", name, n_diff, max_diff);
        }
        free(want);
    }
    if (strcmp(alpha_file, "-") != 0) {
        snprintf(path, sizeof path, "%s/tests/fixtures/decoded/%s", GLIMPSE_SOURCE_DIR, alpha_file);
        size_t size = 0;
        uint8_t *want = test_read_file(path, &size);
        CHECK_MSG(want && size == n, "%s: cannot read %s", name, path);
        size_t n_diff = 0;
        for (size_t i = 0; want && size == n && i < n; i++)
            n_diff += img.pixels[i * img.channels + img.channels - 1] != want[i];
        CHECK_MSG(n_diff == 0, "%s: %zu alpha samples differ from Pillow", name, n_diff);
        free(want);
    }
    free(rgb);
    gl_image_free(&img);
}

int main(void) {
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/fixtures/decoded/manifest.txt", GLIMPSE_SOURCE_DIR);
    FILE *f = fopen(path, "r");
    CHECK_MSG(f != NULL, "cannot open %s", path);
    if (!f) TEST_DONE();
    char line[1024];
    int count = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#') continue;
        char name[256], rgb_file[300], alpha_file[300];
        int w, h, c;
        unsigned long long hash;
        if (sscanf(line, "%255s %d %d %d %299s %299s %llx", name, &w, &h, &c, rgb_file, alpha_file, &hash) != 7) {
            CHECK_MSG(0, "bad manifest line: %s", line);
            continue;
        }
        check_image(name, w, h, c, rgb_file, alpha_file, (uint64_t)hash);
        count++;
    }
    fclose(f);
    CHECK_MSG(count >= 40, "manifest lists only %d images", count);
    printf("%d images compared with Pillow\n", count);
    TEST_DONE();
}
