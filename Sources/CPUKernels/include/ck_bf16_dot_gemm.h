// bf16 x bf16 products with Float32 accumulation on the AVX512-BF16 dot instruction (VDPBF16PS: 32 multiply-adds
// per instruction, twice the Float32 FMA's 16): the arithmetic of a bf16 model (PyTorch's bf16 Linear, llama.cpp's
// BF16 GEMM), where the activations are rounded to bf16 before each product. Not the exact Float32 product of the
// other paths: opt-in (`--storage bf16-matmul`), for prefill on CPUs with AVX512-BF16 (ck_has_avx512_bf16, ck_features.h).
//
// The instruction treats bf16 subnormals as zero and flushes subnormal results, rounding to nearest even; products of
// two bf16 numbers are exact in Float32, so the only rounding besides the activations' is the Float32 summation.
#ifndef CK_BF16_DOT_GEMM_H
#define CK_BF16_DOT_GEMM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Rows of A the kernel reads in one block: `ck_bf16_dot_gemm`'s A must have its row count rounded up to a multiple
/// of this (zero rows are fine, they are read and not stored).
size_t ck_bf16_dot_gemm_row_block(void);

/// C[m, n] = A[m, k] · Wᵀ, or C += A · Wᵀ when `accumulate` is nonzero, with A bf16 bits row-major (row stride
/// `lda`, even; 4-byte aligned; when k is odd the column k of every row must be 0, as ck_f32_rows_to_bf16 pads; rows
/// m up to the next multiple of ck_bf16_dot_gemm_row_block() must be readable), W bf16 bits row-major [n, k] (PyTorch
/// Linear layout, row stride `ldw`, 2-byte alignment suffices) and C Float32 row-major (row stride `ldc`; only the
/// m x n block is written). Any m, n, k.
/// Single-threaded: split the n columns over threads to run in parallel. Returns 0; -1 when the CPU lacks
/// AVX512-BF16 (ck_has_avx512_bf16() is 0) or the 128 KiB packing buffer could not be allocated (C unchanged).
int ck_bf16_dot_gemm(const uint16_t *a, size_t lda, size_t m, size_t k, const uint16_t *w, size_t ldw, size_t n,
                     float *c, size_t ldc, int accumulate);

/// The same product for a few rows of A (decode steps; m below ~32, where packing W would cost more than it saves):
/// each weight row is read once, straight from its PyTorch layout, four at a time against every row of A. A as for
/// ck_bf16_dot_gemm (bf16 bits, even stride, column k zero when k is odd) except that no row-block padding and no
/// 4-byte alignment are needed. Same arithmetic (bf16 products, Float32 sums, subnormals flushed), summed in a
/// different order. Single-threaded. Returns 0; -1 when the CPU lacks AVX512-BF16 (C unchanged).
int ck_bf16_dot_gemv(const uint16_t *a, size_t lda, size_t m, size_t k, const uint16_t *w, size_t ldw, size_t n,
                     float *c, size_t ldc, int accumulate);

/// The same product in portable C (bf16 values widened, Float32 sums over pairs in the instruction's order, no
/// subnormal flushing): the reference the tests compare the kernel with, and the path without AVX512-BF16.
void ck_bf16_dot_gemm_reference(const uint16_t *a, size_t lda, size_t m, size_t k, const uint16_t *w, size_t ldw,
                                size_t n, float *c, size_t ldc, int accumulate);

#ifdef __cplusplus
}
#endif

#endif
