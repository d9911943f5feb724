/* test_fp16_conversion_exact.c - half <-> float conversions are exact.
 *
 * 1. Every one of the 65536 halves decodes to the float the IEEE definition
 *    gives (computed independently with ldexp) and encodes back to itself;
 *    NaNs stay NaNs of the same sign and payload, made quiet (as F16C does).
 * 2. float -> half rounds to nearest, ties to even: for every pair of adjacent
 *    halves of one sign (subnormals, normals, and the largest finite half next
 *    to infinity), the exact midpoint goes to the one with the even mantissa and
 *    the floats one ulp either side of it go to the nearer one.
 * 3. Where the CPU has F16C, 2^20 random float bit patterns convert exactly as
 *    the hardware's vcvtps2ph does.
 * Tolerance: none (bit equality). */
#include "quant.h"
#include "test.h"

#include <cpuid.h>

#include <immintrin.h>
#include <stdint.h>

static uint32_t bits_of(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}
static float float_of(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static double half_value(uint16_t h) {
    int e = (h >> 10) & 31, m = h & 1023;
    double v = e == 0 ? ldexp(m, -24) : ldexp(1024 + m, e - 25);
    return h & 0x8000 ? -v : v;
}

static void check_all_halves(void) {
    int bad_decode = 0, bad_round_trip = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        float f = gl_fp16_to_fp32((uint16_t)h);
        int e = (h >> 10) & 31, m = h & 1023;
        if (e == 31 && m) {
            int ok = isnan(f) && (bits_of(f) >> 31) == (h >> 15) && ((bits_of(f) >> 13) & 1023) == (uint32_t)m;
            ok = ok && gl_fp32_to_fp16(f) == (uint16_t)(h | 0x200);
            if (!ok && bad_round_trip++ < 3) fprintf(stderr, "NaN half 0x%04x mishandled\n", h);
            continue;
        }
        double want = e == 31 ? (h & 0x8000 ? -INFINITY : INFINITY) : half_value((uint16_t)h);
        if (((double)f != want || !signbit(f) != !(h >> 15)) && bad_decode++ < 3)
            fprintf(stderr, "half 0x%04x decodes to %.9g, want %.9g\n", h, f, want);
        if (gl_fp32_to_fp16(f) != h && bad_round_trip++ < 3)
            fprintf(stderr, "half 0x%04x -> %.9g -> 0x%04x\n", h, f, gl_fp32_to_fp16(f));
    }
    CHECK_MSG(bad_decode == 0, "%d halves decode wrongly", bad_decode);
    CHECK_MSG(bad_round_trip == 0, "%d halves do not round-trip", bad_round_trip);
}

static void check_ties_to_even(void) {
    int bad = 0;
    for (uint32_t sign = 0; sign <= 0x8000; sign += 0x8000) {
        /* lo = 0x7bff pairs the largest finite half with infinity, which the
         * encoder must treat as the next step (65536) for rounding. */
        for (uint32_t lo = 0; lo < 0x7c00; lo++) {
            uint16_t a = (uint16_t)(sign | lo), b = (uint16_t)(sign | (lo + 1));
            double va = half_value(a), vb = lo + 1 == 0x7c00 ? (sign ? -65536.0 : 65536.0) : half_value(b);
            float mid = (float)((va + vb) / 2); /* exact: 12 significant bits */
            uint16_t even = (lo & 1) ? b : a;
            float toward_a = nextafterf(mid, (float)va), toward_b = nextafterf(mid, (float)vb);
            if (gl_fp32_to_fp16(mid) != even || gl_fp32_to_fp16(toward_a) != a || gl_fp32_to_fp16(toward_b) != b) {
                if (bad++ < 3)
                    fprintf(stderr, "between 0x%04x and 0x%04x: mid -> 0x%04x (want 0x%04x), below -> 0x%04x, above -> 0x%04x\n",
                            a, b, gl_fp32_to_fp16(mid), even, gl_fp32_to_fp16(toward_a), gl_fp32_to_fp16(toward_b));
            }
        }
    }
    CHECK_MSG(bad == 0, "%d half-way cases round wrongly", bad);
    /* Far outside the half range: overflow to infinity, underflow to zero. */
    CHECK(gl_fp32_to_fp16(1e10f) == 0x7c00 && gl_fp32_to_fp16(-1e10f) == 0xfc00);
    CHECK(gl_fp32_to_fp16(INFINITY) == 0x7c00 && gl_fp32_to_fp16(-INFINITY) == 0xfc00);
    CHECK(gl_fp32_to_fp16(1e-10f) == 0x0000 && gl_fp32_to_fp16(-1e-10f) == 0x8000);
}

__attribute__((target("f16c"))) static uint16_t hardware_fp16(float f) {
    return (uint16_t)_cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT);
}

static void check_against_f16c(void) {
    unsigned a, b, c, d; /* CPUID.1:ECX bit 29; clang's __builtin_cpu_supports does not know "f16c" */
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 29))) {
        fprintf(stderr, "no F16C on this CPU: hardware comparison skipped\n");
        return;
    }
    uint64_t s = 0x2545f4914f6cdd1dull;
    int bad = 0;
    for (int i = 0; i < (1 << 20); i++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        /* Bias half the draws into the half range, where rounding matters. */
        uint32_t u = (uint32_t)s;
        if (i & 1) u = (u & 0x80ffffffu) | ((uint32_t)(0x60 + (s >> 40) % 0x30) << 23);
        float f = float_of(u);
        if (isnan(f)) continue;
        if (gl_fp32_to_fp16(f) != hardware_fp16(f) && bad++ < 3)
            fprintf(stderr, "0x%08x: glimpse 0x%04x, F16C 0x%04x\n", u, gl_fp32_to_fp16(f), hardware_fp16(f));
    }
    CHECK_MSG(bad == 0, "%d floats convert differently from F16C", bad);
}

int main(void) {
    check_all_halves();
    check_ties_to_even();
    check_against_f16c();
    TEST_DONE();
}
