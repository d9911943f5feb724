/* embed.c - `glimpse embed IMAGE --mmproj FILE [-o out.npy] [--pixels]`:
 * writes the projected image embeddings (or the preprocessed pixel values)
 * as a NumPy .npy file (format 1.0, little-endian float32, C order). */
#include "cli.h"
#include "common.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char embed_usage[] =
    "usage: glimpse embed IMAGE --mmproj FILE [-o OUT.npy] [--pixels]\n"
    "Writes the image's projected embeddings (n_tokens x n_embd) as .npy;\n"
    "with --pixels, the preprocessed pixel values (n_tiles x 3 x size x size).\n\n"
    "  -o FILE            output file (default: IMAGE's name with .npy)\n"
    "  -t N               threads\n";

/* The .npy header: magic, version 1.0, header length, a Python dict literal
 * padded with spaces so that the data starts at a multiple of 64. */
static int write_npy(const char *path, const float *data, const int *shape, int n_dims) {
    char dict[256];
    int n = snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (");
    size_t count = 1;
    for (int i = 0; i < n_dims; i++) {
        n += snprintf(dict + n, sizeof dict - (size_t)n, "%d, ", shape[i]);
        count *= (size_t)shape[i];
    }
    n += snprintf(dict + n, sizeof dict - (size_t)n, "), }");
    int total = 10 + n + 1;
    int pad = (64 - total % 64) % 64;
    FILE *f = fopen(path, "wb");
    if (!f) {
        fprintf(stderr, "glimpse: %s: cannot create: %s\n", path, strerror(errno));
        return 1;
    }
    uint16_t header_len = (uint16_t)(n + pad + 1);
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(header_len & 0xff),
                             (unsigned char)(header_len >> 8)};
    int bad = fwrite(pre, 1, 10, f) != 10 || fwrite(dict, 1, (size_t)n, f) != (size_t)n;
    for (int i = 0; i < pad && !bad; i++) bad = fputc(' ', f) == EOF;
    bad = bad || fputc('\n', f) == EOF || fwrite(data, sizeof(float), count, f) != count;
    if (fclose(f) != 0) bad = 1;
    if (bad) fprintf(stderr, "glimpse: %s: write failed\n", path);
    return bad;
}

int cli_embed(int argc, char **argv) {
    int pixels = cli_take_flag(&argc, argv, "--pixels");
    cli_opts o;
    int rc = cli_parse(argc, argv, &o, embed_usage);
    if (rc) {
        free(o.args);
        return rc == 1 ? 0 : 2;
    }
    if (o.n_args != 1 || (!o.mmproj && !o.model)) {
        fputs(embed_usage, stderr);
        free(o.args);
        return 2;
    }
    const char *image_path = o.args[0];
    char *out = NULL;
    if (!o.output) {
        const char *base = strrchr(image_path, '/') ? strrchr(image_path, '/') + 1 : image_path;
        size_t len = strcspn(base, ".");
        if (!strcmp(image_path, "-")) base = "stdin", len = 5;
        out = malloc(len + 5);
        if (!out) {
            free(o.args);
            return 1;
        }
        memcpy(out, base, len);
        memcpy(out + len, ".npy", 5);
    }
    glimpse_model *m = cli_load_model(&o);
    glimpse_image *img = NULL;
    rc = 1;
    if (m && glimpse_image_load_file(m, image_path, &img) != GLIMPSE_OK) {
        fprintf(stderr, "glimpse: %s\n", glimpse_last_error());
    } else if (m && pixels) {
        int n_tiles, size;
        const float *px = glimpse_image_pixels(img, &n_tiles, &size);
        int shape[4] = {n_tiles, 3, size, size};
        rc = write_npy(o.output ? o.output : out, px, shape, 4);
    } else if (m) {
        const float *embd;
        int n_tokens, n_embd;
        if (glimpse_image_encode(m, img, &embd, &n_tokens, &n_embd) != GLIMPSE_OK) {
            fprintf(stderr, "glimpse: %s\n", glimpse_last_error());
        } else {
            int shape[2] = {n_tokens, n_embd};
            rc = write_npy(o.output ? o.output : out, embd, shape, 2);
        }
    }
    if (!rc && !o.quiet) fprintf(stderr, "glimpse: wrote %s\n", o.output ? o.output : out);
    glimpse_image_free(img);
    glimpse_model_free(m);
    free(out);
    free(o.args);
    return rc;
}
