/* weights.h - fetching the vision tower's and projectors' weights from an
 * mmproj GGUF with their shapes checked: matrices stay in the mapped file in
 * their stored type (gl_matmul reads any type), vectors and small tables are
 * converted once to F32 so that the forward passes can add them directly.
 *
 * Tensor names and shapes: ../shared/FORMATS.md section 2. */
#ifndef GLIMPSE_VISION_WEIGHTS_H
#define GLIMPSE_VISION_WEIGHTS_H

#include "gguf.h"

#include <stdint.h>

/* Matrix `name` with ne[0] = ne0 (row length) and ne0-rows = ne1. A missing
 * optional tensor gives *out = NULL; a missing required one, a wrong shape
 * or an unreadable type an error naming the file and the tensor. */
glimpse_status gl_weights_matrix(const gl_gguf *g, const char *name, int64_t ne0, int64_t ne1, int required,
                                 const gl_tensor **out);

/* The same shape rules, but the values are converted to a new F32 buffer of
 * ne0 * ne1 floats (owned by the caller, gl_free). Vectors use ne1 = 1. */
glimpse_status gl_weights_f32(const gl_gguf *g, const char *name, int64_t ne0, int64_t ne1, int required,
                              float **out);

#endif
