/* image_sniff.c - the public "is this file an image?" test (glimpse.h,
 * Caption helpers): the magic-byte detection the decoders use (image.c's
 * gl_image_detect), so that a batch tool picks exactly the files that
 * glimpse_image_load_file would try to decode. */
#include "image.h"

glimpse_sniff glimpse_image_sniff(const void *head, size_t n, const char **format) {
    int supported = 0;
    const char *name = gl_image_detect(head, n, &supported);
    if (format) *format = name;
    if (!name) return GLIMPSE_SNIFF_NOT_IMAGE;
    return supported ? GLIMPSE_SNIFF_IMAGE : GLIMPSE_SNIFF_UNSUPPORTED;
}
