/* preprocess_llava.h - LLaVA-1.5 (CLIP ViT-L/14-336) image preprocessing.
 *
 * Reproduces transformers' CLIPImageProcessorPil (llava-1.5-hf's
 * preprocessor_config.json) and LlavaImageProcessorPil, which adds the
 * original LLaVA's pad-to-square (models/llava/image_processing_pil_llava.py,
 * image_processing_backends.py PilBackend, image_transforms.py):
 *   1. convert to RGB;
 *   2. pad_to_square (optional): centre the image on a square of side
 *      max(w, h) filled with int(mean * 255) per channel, (122, 116, 104) for
 *      CLIP; the offset is (side - short side) // 2;
 *   3. resize (Pillow, BICUBIC) so the shortest side is `shortest_edge`, the
 *      other int(shortest_edge * long / short);
 *   4. centre crop crop_size x crop_size at ((W - crop) // 2, (H - crop) // 2),
 *      zero pixels where the crop reaches outside the image;
 *   5. rescale by 1/255 and normalise with mean/std. */
#ifndef GLIMPSE_PREPROCESS_LLAVA_H
#define GLIMPSE_PREPROCESS_LLAVA_H

#include "preprocess_common.h"
#include "resample.h"

typedef struct {
    int shortest_edge;         /* size.shortest_edge; mmproj clip.vision.image_size (336) */
    int crop_size;             /* crop_size height and width; mmproj clip.vision.image_size (336) */
    int pad_to_square;         /* LlavaImageProcessor do_pad (original LLaVA); off in llava-1.5-hf */
    gl_resample_filter filter; /* resample (BICUBIC) */
    float mean[3], std[3];     /* image_mean, image_std; mmproj clip.vision.image_mean/std */
    gl_alpha_mode alpha;       /* see gl_alpha_mode (default: over white) */
} gl_llava_params;

/* llava-hf/llava-1.5-7b-hf's preprocessor_config.json (CLIPImageProcessor). */
void gl_llava_default_params(gl_llava_params *params);

/* Preprocesses `img` (1-4 channels, see image.h) into `out`: one image,
 * grid 0x0 (free with gl_pixels_free). Fails with GLIMPSE_ERR_LIMIT when the
 * shortest-edge resize of an extreme aspect ratio would exceed
 * GL_IMAGE_DEFAULT_MAX_PIXELS. */
glimpse_status gl_preprocess_llava(const gl_image *img, const gl_llava_params *params, gl_pixels *out);

#endif
