/* kernels.c - run-time choice of the kernel version (see kernels.h). */
#include "kernels.h"

#include <stddef.h>

/* __builtin_cpu_supports reads the feature words libgcc's constructor filled
 * in before main, so each call is a load and a test: no state of ours. */
const gl_kernels *gl_kernels_for(gl_isa isa) {
    switch (isa) {
    case GL_ISA_SCALAR:
        return &gl_kernels_scalar;
    case GL_ISA_AVX2:
        /* F16C is not asked for: clang's builtin does not know it, and every
         * x86-64 CPU with AVX2 and FMA (Haswell, Piledriver and later) has it. */
        if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return &gl_kernels_avx2;
        return NULL;
    case GL_ISA_AVX512:
        /* 512-bit float kernels and 256-bit VNNI integer kernels. */
        if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
            __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni") &&
            gl_kernels_for(GL_ISA_AVX2))
            return &gl_kernels_avx512;
        return NULL;
    default:
        return NULL;
    }
}

const gl_kernels *gl_kernels_best(void) {
    for (int isa = GL_ISA_COUNT - 1; isa > GL_ISA_SCALAR; isa--) {
        const gl_kernels *k = gl_kernels_for((gl_isa)isa);
        if (k) return k;
    }
    return &gl_kernels_scalar;
}
