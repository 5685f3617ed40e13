// Products of a few Float32 rows with bf16 weights read as bf16: decode steps, where the weights stream from memory
// once per token and reading 2 bytes per weight instead of widening them first is what sets the speed.
#ifndef CK_BF16_GEMV_H
#define CK_BF16_GEMV_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// C[m, n] = A[m, k] · Wᵀ, or C += A · Wᵀ when `accumulate` is nonzero, with W bf16 bits row-major [n, k] (row
/// stride `ldw`, 2-byte alignment suffices), A and C Float32 row-major (strides `lda`, `ldc`). Each bf16 weight is
/// widened exactly in registers and the products are accumulated in Float32 (fused multiply-add, sixteen lanes, so
/// the result is a Float32 GEMM's up to summation order). Meant for small m (decode steps): every weight row is
/// read from memory once and reused from L1 for the m rows. AVX-512 when available, else AVX2 + FMA (eight lanes),
/// else portable C.
/// Single-threaded: split n over threads to run in parallel.
void ck_gemv_bf16w(const float *a, size_t lda, size_t m, size_t k, const uint16_t *w, size_t ldw, size_t n,
                   float *c, size_t ldc, int accumulate);

/// Which version ck_gemv_bf16w runs on the calling thread: 2 AVX-512, 1 AVX2 + FMA, 0 portable C.
int ck_gemv_bf16w_path(void);

#ifdef __cplusplus
}
#endif

#endif
