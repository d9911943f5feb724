/* exif.h - EXIF orientation: where Pillow finds it, and applying it.
 *
 * transformers' load_image calls PIL.ImageOps.exif_transpose, which reads
 * tag 0x0112 of IFD 0 (values 2..8 transpose; anything else leaves the
 * image alone) and, when the EXIF data has no such tag, the first
 * `tiff:Orientation="N"` / `<tiff:Orientation>N` in the XMP packet. */
#ifndef GLIMPSE_EXIF_H
#define GLIMPSE_EXIF_H

#include "image.h"

/* Orientation found in a TIFF-structured EXIF blob (optionally after one or
 * two "Exif\0\0" prefixes): the tag's value, or 0 when there is none or the
 * blob is unreadable. */
int gl_exif_orientation_tiff(const uint8_t *blob, size_t size);

/* Orientation of a whole file, EXIF first and XMP second; 1 when absent. */
int gl_exif_orientation_jpeg(const uint8_t *data, size_t size);
int gl_exif_orientation_png(const uint8_t *data, size_t size);
int gl_exif_orientation_webp(const uint8_t *data, size_t size);

/* Transposes img as Pillow's Image.transpose does for orientation 2..8
 * (2 mirror, 3 rotate 180, 4 flip, 5 transpose, 6 rotate 90 clockwise,
 * 7 transverse, 8 rotate 90 counter-clockwise); other values do nothing.
 * Fails only when the new buffer cannot be allocated (img unchanged). */
glimpse_status gl_exif_apply_orientation(gl_image *img, int orientation);

#endif
