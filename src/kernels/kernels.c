/* kernels.c - run-time choice of the kernel version (see kernels.h). */
#include "kernels.h"

#include <stddef.h>

#if defined(__linux__) && defined(__x86_64__)
#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Linux's arch_prctl codes for dynamically enabled state (asm/prctl.h) and
 * the tile-data component of XSAVE (Intel SDM vol. 1, 13.1). */
#define ARCH_REQ_XCOMP_PERM 0x1023
#define XFEATURE_XTILEDATA 18

/* CPUID.(7,0):EDX has AMX-TILE (bit 24) and AMX-INT8 (25); XCR0 bits 17-18
 * say the OS saves tile state; then the process asks for it. Asking again
 * once granted is harmless and returns 0. */
static int amx_usable(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    if ((d & (3u << 24)) != (3u << 24)) return 0;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27))) return 0; /* OSXSAVE */
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if ((lo & (3u << 17)) != (3u << 17)) return 0;
    return syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) == 0;
}
#else
static int amx_usable(void) { return 0; }
#endif

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
    case GL_ISA_AMX:
        if (gl_kernels_for(GL_ISA_AVX512) && amx_usable()) return &gl_kernels_amx;
        return NULL;
    default:
        return NULL;
    }
}

const gl_kernels *gl_kernels_best(void) {
    for (int isa = GL_ISA_AVX512; isa > GL_ISA_SCALAR; isa--) {
        const gl_kernels *k = gl_kernels_for((gl_isa)isa);
        if (k) return k;
    }
    return &gl_kernels_scalar;
}

/* The largest user is the blocked float GEMM of dot_avx512.c: two panels of
 * 16 rows widened to f32 (128 bytes per element); 64 more for alignment. */
size_t gl_gemm_scratch_bytes(int64_t n) { return (size_t)n * 128 + 64; }

void gl_gemm_f32_columns(const gl_gemm_args *a) {
    for (int64_t t = 0; t < a->n_tok; t++) {
        const float *x = (const float *)(const void *)((const char *)a->x + (size_t)t * a->x_row_bytes);
        for (int64_t r = 0; r < a->n_rows; r++) {
            float sum = 0;
            for (int64_t k = 0; k < a->n; k++)
                sum += *(const float *)(const void *)((const char *)a->w + (size_t)k * a->row_bytes + (size_t)r * 4) * x[k];
            float *y = &a->y[t * a->y_stride + r];
            *y = a->accumulate ? *y + sum : sum;
        }
    }
}
