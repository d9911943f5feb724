/* simd_avx512.h - vector helpers shared by the AVX-512 and AMX kernels
 * (files compiled with AVX-512 flags only). */
#ifndef GLIMPSE_SIMD_AVX512_H
#define GLIMPSE_SIMD_AVX512_H

#include <immintrin.h>

/* simd_exp8's polynomial, 16 lanes, scaling by 2^n with vscalefps. */
static inline __m512 simd_exp16(__m512 x) {
    const __m512 lo = _mm512_set1_ps(-87.33654f), hi = _mm512_set1_ps(88.37626f);
    __mmask16 under = _mm512_cmp_ps_mask(x, lo, _CMP_LT_OQ);
    x = _mm512_min_ps(_mm512_max_ps(x, lo), hi);
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    __m512 y = _mm512_add_ps(_mm512_fmadd_ps(_mm512_mul_ps(p, r), r, r), _mm512_set1_ps(1.0f));
    return _mm512_maskz_scalef_ps((__mmask16)~under, y, n);
}

/* Lane j of row i goes to lane i of row j, for 16 rows of 16 32-bit lanes:
 * four butterfly stages (h = 8, 4, 2, 1), each swapping the off-diagonal
 * h x h blocks of every 2h x 2h block; the index vectors are constants. */
static inline void simd_transpose16(__m512i r[16]) {
    {
        const __m512i lo = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23);
        const __m512i hi = _mm512_setr_epi32(8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31);
        for (int i = 0; i < 16; i++) {
            if (i & 8) continue;
            __m512i a = r[i], b = r[i + 8];
            r[i] = _mm512_permutex2var_epi32(a, lo, b);
            r[i + 8] = _mm512_permutex2var_epi32(a, hi, b);
        }
    }
    {
        const __m512i lo = _mm512_setr_epi32(0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27);
        const __m512i hi = _mm512_setr_epi32(4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31);
        for (int i = 0; i < 16; i++) {
            if (i & 4) continue;
            __m512i a = r[i], b = r[i + 4];
            r[i] = _mm512_permutex2var_epi32(a, lo, b);
            r[i + 4] = _mm512_permutex2var_epi32(a, hi, b);
        }
    }
    {
        const __m512i lo = _mm512_setr_epi32(0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29);
        const __m512i hi = _mm512_setr_epi32(2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31);
        for (int i = 0; i < 16; i++) {
            if (i & 2) continue;
            __m512i a = r[i], b = r[i + 2];
            r[i] = _mm512_permutex2var_epi32(a, lo, b);
            r[i + 2] = _mm512_permutex2var_epi32(a, hi, b);
        }
    }
    {
        const __m512i lo = _mm512_setr_epi32(0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30);
        const __m512i hi = _mm512_setr_epi32(1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31);
        for (int i = 0; i < 16; i++) {
            if (i & 1) continue;
            __m512i a = r[i], b = r[i + 1];
            r[i] = _mm512_permutex2var_epi32(a, lo, b);
            r[i + 1] = _mm512_permutex2var_epi32(a, hi, b);
        }
    }
}

#endif
