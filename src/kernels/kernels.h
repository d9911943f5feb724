/* kernels.h - the inner loops of matmul, in a scalar, an AVX2 and an AVX-512
 * version: dot products of one weight row with one activation row, and
 * batched products of many rows with many tokens (GEMM).
 *
 * Quantised weights are multiplied in integers, as ggml does: the activation
 * row is first quantised to 8 bits (gl_block_q8a for the 32-element types
 * Q8_0 and Q4_0, ggml's Q8_K for the K-quants), each block's products are
 * summed exactly in int32, and only the per-block scales are float.
 *
 * Exactness contract. Every version of an integer kernel returns the same
 * float bits, one token at a time or in a batch, so results depend neither
 * on the CPU nor on how the tokens were grouped:
 *  - 32-element types: with isum_b block b's exact integer sum, the row's
 *    result is s = 0; for b in order: s = fmaf((float)isum_b, dw_b * dx_b, s)
 *    (one rounding per block, as an FMA lane computes it);
 *  - K-quants: each 256-element super-block reduces to exact integers and is
 *    added to one running float sum in order, s += d*(float)isum - dmin*(float)msum
 *    (Q6_K: s += d*(float)isum), each operation rounded on its own.
 * These orders let a GEMM keep one output row per vector lane. The activation
 * quantisers are bit-identical across versions too (for finite inputs).
 * The float kernels (F32, F16, BF16 weights, activations in F32) sum in
 * different orders per version and agree to rounding; within a version a
 * token's gemm result does not depend on the batch (the dot_* kernels may
 * differ from gemm in rounding).
 *
 * Dispatch: gl_kernels_best() picks the widest version the CPU runs. It reads
 * the CPU feature words that libgcc fills in at start-up (a load and a bit
 * test), so it holds no state of its own and costs nothing next to a matmul.
 * gl_kernels_for() gives a chosen version for tests and benchmarks. */
#ifndef GLIMPSE_KERNELS_H
#define GLIMPSE_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/* Activations for Q8_0 and Q4_0 weights: ggml's Q8_0 with the scale kept in
 * f32, since it is never stored, and the sum of the quants, which corrects
 * products with weights stored at an offset (Q4_0's q - 8; the GEMM stores
 * Q8_0 weights + 128 to use the unsigned-by-signed VNNI product). */
typedef struct {
    float d;     /* x[i] ~ d * qs[i] */
    int32_t sum; /* sum of qs */
    int8_t qs[32];
} gl_block_q8a; /* 40 bytes */

/* Activations for K-quant weights: ggml's block_q8_K, byte for byte. */
typedef struct {
    float d;
    int8_t qs[256];
    int16_t bsums[16]; /* sums of qs in groups of 16 */
} gl_block_q8k; /* 292 bytes */

/* A batch of weight rows times a batch of tokens:
 * y[t * y_stride + r] = dot(row r, token t) for r < n_rows, t < n_tok, with
 * the bits of the one-row kernel for integer types. Tokens are quantised
 * activations (gl_block_q8a or gl_block_q8k rows) or F32 rows, x_row_bytes
 * apart. scratch holds weight rows repacked for the vector units: at least
 * gl_gemm_scratch_bytes(n) bytes, 64-byte aligned, one per thread; it is not
 * touched (and may be NULL) when n_tok < GL_GEMM_PACK_MIN_TOKENS. */
#define GL_GEMM_PACK_MIN_TOKENS 3
typedef struct {
    const void *w;      /* (n_rows, row_bytes) weight rows as stored */
    size_t row_bytes;
    int64_t n_rows;
    int64_t n;          /* elements per row */
    const void *x;      /* (n_tok, x_row_bytes) */
    size_t x_row_bytes;
    int64_t n_tok;
    float *y;           /* (n_tok, y_stride) */
    int64_t y_stride;
    void *scratch;
    /* 32-element types only (gemm_q8_0, gemm_q4_0; every version): (n_rows)
     * added to each token's outputs after the product, rounded once as
     * adding it afterwards would be; NULL: none. Added while the outputs are
     * in registers, it saves a pass over them. gl_gemm_q8_0_bf16_amx takes
     * it too, as its sums' starting value. */
    const float *bias;
    /* F32 only (gemm_f32): */
    int accumulate;     /* y += product, instead of y = product */
    int w_columns;      /* w stored by columns: element (r, k) at w + k * row_bytes + r * 4 */
} gl_gemm_args;

typedef void (*gl_gemm_fn)(const gl_gemm_args *a);

/* Scratch bytes a gemm needs for rows of n elements (any type, any version). */
size_t gl_gemm_scratch_bytes(int64_t n);

/* GL_ISA_AMX is the AVX-512 table with the Q8_0 gemm on AMX tiles. */
typedef enum { GL_ISA_SCALAR, GL_ISA_AVX2, GL_ISA_AVX512, GL_ISA_AMX, GL_ISA_COUNT } gl_isa;

/* n is the row length in elements (a multiple of the block size). */
typedef struct gl_kernels {
    const char *name; /* "scalar", "avx2", "avx512", "amx" */
    void (*quantize_q8a)(const float *x, gl_block_q8a *y, int64_t n);
    void (*quantize_q8k)(const float *x, gl_block_q8k *y, int64_t n);
    /* One weight row with one token. */
    float (*dot_q8_0)(const void *w, const gl_block_q8a *x, int64_t n);
    float (*dot_q4_0)(const void *w, const gl_block_q8a *x, int64_t n);
    float (*dot_q4_k)(const void *w, const gl_block_q8k *x, int64_t n);
    float (*dot_q5_k)(const void *w, const gl_block_q8k *x, int64_t n);
    float (*dot_q6_k)(const void *w, const gl_block_q8k *x, int64_t n);
    float (*dot_f32)(const float *w, const float *x, int64_t n);
    float (*dot_f16)(const void *w, const float *x, int64_t n);
    float (*dot_bf16)(const void *w, const float *x, int64_t n);
    /* Batches (gl_gemm_args); the integer ones equal the dot kernels bit for
     * bit. gemm_f32/f16/bf16 take F32 activations and agree to rounding. */
    gl_gemm_fn gemm_q8_0, gemm_q4_0, gemm_q4_k, gemm_q5_k, gemm_q6_k;
    gl_gemm_fn gemm_f32, gemm_f16, gemm_bf16;
    /* The largest of x[0..n), n >= 1 (NaN-free input). */
    float (*max_f32)(const float *x, int64_t n);
    /* x[i] = exp(x[i] - shift) for i < n; returns the sum of the new x.
     * SIMD versions use a polynomial within 2 ulp of expf; exp of -inf is 0. */
    float (*exp_shift)(float *x, int64_t n, float shift);
    /* Activations in place, as ops.h defines them; the SIMD versions use
     * x * sigmoid(2u) for 0.5 x (1 + tanh u) and a rational erf within
     * 1.5e-7, and agree with the scalar ones to a few float roundings. */
    void (*gelu_tanh)(float *x, int64_t n);
    void (*gelu_erf)(float *x, int64_t n);
    void (*gelu_quick)(float *x, int64_t n);
    void (*silu_mul)(float *gate, const float *up, int64_t n); /* gate = silu(gate) * up */
    /* Throughput probes (glimpse bench): iters rounds of independent
     * multiply-adds with no memory traffic; each returns the operations done
     * (2 per multiply-add), F32 FMA and int8 dot products (VNNI where the
     * version has it). sink keeps the work from being optimised away. */
    double (*probe_f32)(int64_t iters, float *sink);
    double (*probe_i8)(int64_t iters, int32_t *sink);
    /* Reads n bytes (a multiple of 256, 64-byte aligned) in the widest
     * loads; returns a value that depends on all of them. */
    uint64_t (*probe_read)(const void *buf, size_t n);
    /* Exact widening of a row. */
    void (*f16_to_f32)(const void *w, float *out, int64_t n);
    void (*bf16_to_f32)(const void *w, float *out, int64_t n);
    /* Attention's products for 1 <= rows <= GL_FEW_ROWS query rows (a
     * decoded query's heads), head size hd a multiple of 16, keys and values
     * kv_stride floats apart; NULL in versions without them (ops.c then
     * uses gemm_f32). The bits of the version's gemm_f32 (scores as with
     * packed rows, values by columns, accumulating):
     * s[r * s_stride + j] = q[r] . k[j] for j < nk;
     * o[r * hd + e] += sum_j p[r * p_stride + j] * v[j][e]. */
    void (*scores_few)(const float *q, int rows, int hd, const float *k, int64_t kv_stride, int64_t nk, float *s,
                       int64_t s_stride);
    void (*add_pv_few)(const float *p, int64_t p_stride, int rows, const float *v, int64_t kv_stride, int64_t nk,
                       int hd, float *o);
} gl_kernels;

#define GL_FEW_ROWS 4

extern const gl_kernels gl_kernels_scalar, gl_kernels_avx2, gl_kernels_avx512, gl_kernels_amx;

/* The Q8_0 gemms on AMX tiles (gemm_amx.c); gl_kernels_amx holds the exact
 * one. The bf16 one is outside the exactness contract: its weights are
 * rounded to bfloat16 (d*q to 8 significant bits) and its activations are
 * bf16 rows (x_row_bytes apart, rounded as gl_amx_to_bf16 does), so each
 * product carries two roundings of relative 2^-9, summed in f32 from the
 * bias (if any) in the tile unit's order; n_rows must be a multiple of 16.
 * Only where gl_kernels_for(GL_ISA_AMX) is not NULL. */
void gl_gemm_q8_0_amx(const gl_gemm_args *a);
void gl_gemm_q8_0_bf16_amx(const gl_gemm_args *a);
/* The tile unit's peak rates for glimpse bench, as the table's probe_f32
 * and probe_i8 (operations done, 2 per multiply-add): tdpbssd and
 * tdpbf16ps on tiles already loaded. AMX only. */
double gl_amx_probe_int8(int64_t iters, int32_t *sink);
double gl_amx_probe_bf16(int64_t iters, float *sink);

/* The AVX-512 few-row attention products (attention_avx512.c). */
void gl_avx512_scores_few(const float *q, int rows, int hd, const float *k, int64_t kv_stride, int64_t nk, float *s,
                          int64_t s_stride);
void gl_avx512_add_pv_few(const float *p, int64_t p_stride, int rows, const float *v, int64_t kv_stride, int64_t nk,
                          int hd, float *o);

/* The AVX2 activation quantisers, which the AVX-512 table shares. */
void gl_quantize_q8a_avx2(const float *x, gl_block_q8a *y, int64_t n);
void gl_quantize_q8k_avx2(const float *x, gl_block_q8k *y, int64_t n);

/* Attention's products on AMX tiles in bfloat16 (attention_amx.c), for
 * head sizes hd of 32 or 64. Only where gl_kernels_for(GL_ISA_AMX) is not
 * NULL, between gl_amx_attention_begin() and _end() on the calling thread.
 * Keys and values are packed per head into bf16 tiles (n_pad * hd elements,
 * n_pad the key count rounded up to 32; keys past n_keys are zeros), in
 * pieces [key0, key1) of multiples of 16 (keys) or 32 (values). Queries and
 * probabilities are bf16 rows, 16-row groups (rows a multiple of 16). */
void gl_amx_attention_begin(void);
void gl_amx_attention_end(void);
/* out[i] = bf16(x[i] * scale), rounded as gl_fp32_to_bf16. */
void gl_amx_to_bf16(const float *x, float scale, uint16_t *out, int64_t n);
/* One row of scores s[0..nv) of a key block: *m_new = max(m_old, the
 * scores); p[j] = bf16(exp(s[j] - *m_new)) for j < nv and 0 for nv <= j <
 * nk (nk a multiple of 16); returns the sum of the unrounded exps. The exp
 * is the AVX-512 table's exp_shift. */
float gl_amx_softmax_row(const float *s, int64_t nv, int64_t nk, float m_old, float *m_new, uint16_t *p);
void gl_amx_pack_keys(const float *k, int64_t stride, int64_t n_keys, int64_t key0, int64_t key1, int hd,
                      uint16_t *out);
void gl_amx_pack_values(const float *v, int64_t stride, int64_t n_keys, int64_t key0, int64_t key1, int hd,
                        uint16_t *out);
/* s (rows, s_stride) = q (rows, hd) . keys [key0, key0 + nk)^T in f32; key0
 * and nk multiples of 16. */
void gl_amx_scores(const uint16_t *q, int64_t rows, int hd, const uint16_t *keys, int64_t key0, int64_t nk, float *s,
                   int64_t s_stride);
/* o (rows, hd) += p (rows, p_stride) . values [key0, key0 + nk); key0 and nk
 * multiples of 32. */
void gl_amx_add_pv(const uint16_t *p, int64_t p_stride, int64_t rows, const uint16_t *values, int64_t key0, int64_t nk,
                   int hd, float *o);

/* The table for isa, or NULL when this CPU cannot run it. For GL_ISA_AMX
 * this asks Linux for the tile state (a system call, about a microsecond):
 * it is NULL when the CPU lacks AMX or the kernel refuses. */
const gl_kernels *gl_kernels_for(gl_isa isa);
/* The fastest table this CPU runs without AMX: gl_kernels_best() is called
 * for every small operation, too often for a system call; gl_matmul asks
 * for the AMX table itself for batches large enough to use it. */
const gl_kernels *gl_kernels_best(void);

/* ==== Helpers shared by the versions ==== */

static inline uint16_t gl_load_u16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }

/* RNE float -> int for |v| < 2^22 (ggml's nearest_int), equal to what
 * cvtps2dq gives under the default rounding mode. */
static inline int gl_nearest_int(float v) {
    union { float f; int32_t i; } t = { .f = v + 12582912.f };
    return (t.i & 0x007fffff) - 0x00400000;
}

/* gemm_f32 for w_columns, element by element (the scalar and AVX2 versions). */
void gl_gemm_f32_columns(const gl_gemm_args *a);

/* A gemm made of one-row kernels, for the versions and types without a
 * blocked one: ROW_DOT(w_row, x_token, n) must return the row's float. */
#define GL_GEMM_BY_DOTS(name, row_dot, xtype)                                                        \
    static void name(const gl_gemm_args *a) {                                                        \
        for (int64_t r = 0; r < a->n_rows; r++) {                                                   \
            const void *wr = (const char *)a->w + (size_t)r * a->row_bytes;                          \
            for (int64_t t = 0; t < a->n_tok; t++) {                                                 \
                float *y = &a->y[t * a->y_stride + r];                                               \
                float d = row_dot(wr, (const xtype *)(const void *)((const char *)a->x + (size_t)t * a->x_row_bytes), \
                                  a->n);                                                             \
                *y = a->accumulate ? *y + d : a->bias ? d + a->bias[r] : d;                          \
            }                                                                                        \
        }                                                                                            \
    }

#endif
