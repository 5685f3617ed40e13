// Float32 activations times bf16 weights on AMX, without rounding the activations: each Float32 value is split
// exactly into three bf16 numbers, and the three products run on the bf16 tiles with Float32 accumulation.
//
// Why nothing is lost: truncating a Float32 to its top 16 bits gives a bf16 `hi` holding the leading 8 significant
// bits; `x - hi` is exact (it is x's remaining bits), and the same step twice more leaves nothing, because 3 x 8
// bits cover Float32's 24. So x = hi + mid + lo exactly, and as a product of two bf16 numbers is exact in Float32,
// every x·w enters the Float32 accumulation as three exact partial products. The result is the sum of the same
// exact terms a Float32 GEMM of the activations with the (bf16-valued) weights sums, in another order: the two
// differ by Float32 summation rounding only. That is the case of a bf16 checkpoint: its weights ARE bf16 values, so
// this computes what a Float32 BLAS on the widened weights computes, at the AMX rate, reading the weights at 2
// bytes each.
//
// Exceptions, all far outside what a decoder produces: AMX treats bf16 subnormals as zero, so parts below 2^-126
// vanish (activations under ~2^-103 in magnitude may lose low bits; under 2^-126 they count as 0), and subnormal
// products and sums are flushed to zero. The Float32 semantics of infinities and NaNs hold for the activations only:
// an infinite WEIGHT meets the activation's zero parts (0 x inf = NaN), so it gives NaN where Float32 gives inf.
#ifndef CK_SPLIT_GEMM_H
#define CK_SPLIT_GEMM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// C[m, n] = A[m, k] · Wᵀ, or C += A · Wᵀ when `accumulate` is nonzero. A is Float32 row-major (row stride `lda`),
/// W is bf16 bits row-major [n, k] (PyTorch Linear layout [out, in], row stride `ldw`; 2-byte alignment suffices,
/// as in a memory-mapped safetensors file), C is Float32 row-major (row stride `ldc`; only the m x n block is
/// written). Any m, n, k. Infinities and NaNs in A propagate as in Float32 arithmetic.
/// Single-threaded: split the n columns over threads to run in parallel. Returns 0, or -1 when the scratch
/// buffers (at most about 4.4 MiB) could not be allocated, in which case C is unchanged.
/// AMX only: call when ck_has_amx_bf16() is 1.
int ck_amx_gemm_f32_bf16w(const float *a, size_t lda, size_t m, size_t k, const uint16_t *w, size_t ldw, size_t n,
                          float *c, size_t ldc, int accumulate);

/// ck_amx_gemm_f32_bf16w with a row gather fused into the split: row r of A is row rows[r] of `a` (row stride `lda`),
/// so selected rows are never copied in Float32. `rows` may be NULL (then it is ck_amx_gemm_f32_bf16w).
int ck_amx_gemm_f32_bf16w_rows(const float *a, size_t lda, const int64_t *rows, size_t m, size_t k,
                               const uint16_t *w, size_t ldw, size_t n, float *c, size_t ldc, int accumulate);

/// The three-way split of `count` Float32 values into bf16 bits: x = hi + mid + lo exactly (for |x| >= 2^-110 or
/// x = 0; non-finite x: hi keeps it, quiet if NaN, mid = lo = 0). Portable C; exposed for tests of the identity.
void ck_split_f32_bf16x3(const float *x, size_t count, uint16_t *hi, uint16_t *mid, uint16_t *lo);

#ifdef __cplusplus
}
#endif

#endif
