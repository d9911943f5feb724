/* libFuzzer target: gl_image_decode_memory on arbitrary bytes with small
 * limits (so that large claimed sizes are refused instead of slowly
 * decoded). Any crash, leak, sanitizer report or hang is a bug; a clean
 * error is the expected outcome for most inputs. Seeds (small files of every
 * format) are in tests/fuzz/corpus/image/, written by
 * tests/fixtures/make_images.py. Run: tests/fuzz/run.sh SECONDS */
#include "image.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const gl_image_limits lim = {1u << 20, 4096};
    gl_image img;
    gl_image_warnings warnings;
    if (gl_image_decode_memory_ex(data, size, "fuzz", &lim, &img, &warnings) == GLIMPSE_OK) {
        /* Touch every byte so that a short buffer shows up under ASan. */
        size_t n = (size_t)img.width * (size_t)img.height * (size_t)img.channels;
        volatile uint8_t sink = 0;
        for (size_t i = 0; i < n; i++) sink ^= img.pixels[i];
        (void)sink;
        gl_image_free(&img);
    }
    return 0;
}
