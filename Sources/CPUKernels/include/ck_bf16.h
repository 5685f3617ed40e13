// BF16 operands for matrix products: conversion from Float32 (round to nearest even), packing of a weight matrix
// into AMX tile layout, and an AMX GEMM with Float32 accumulation. A product of two bf16 numbers is exact in
// Float32, so the GEMM equals a Float32 GEMM on bf16-rounded operands up to summation order.
#ifndef CK_BF16_H
#define CK_BF16_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Rounds Float32 to bf16 bits, to nearest even; NaN stays NaN (quiet, sign kept), infinities stay infinite,
/// subnormals are rounded like any other value (not flushed).
uint16_t ck_f32_to_bf16(float x);

/// Converts rows of a Float32 matrix to bf16: row r of `dst` (`ldd` entries) holds row `rows[r]` of `src` (row
/// stride `lds`), or row r when `rows` is NULL, in its first `k` entries and zeros after them (`ldd >= k`).
/// AVX-512 when available.
void ck_f32_rows_to_bf16(const float *src, size_t lds, const int64_t *rows, size_t n_rows, size_t k,
                         uint16_t *dst, size_t ldd);

/// Rounds `n` Float32 values to the nearest bf16 in place (the values stay Float32).
void ck_round_to_bf16(float *x, size_t n);

/// Size in uint16 entries of the packed form of an [n, k] weight: round_up(n, 32) * round_up(k, 32).
size_t ck_packed_bf16_count(size_t n, size_t k);

/// Packs a Float32 weight `w` [n, k] (row-major, PyTorch Linear layout [out, in]) into AMX B-tile order for
/// C = A · wᵀ: blocks of 16 output columns, each as k/2 rows of 16 pairs (w[j][2i], w[j][2i+1]); padded with
/// zeros to round_up(n, 32) columns and round_up(k, 32) inputs. `dst` holds ck_packed_bf16_count(n, k) entries.
void ck_pack_bf16_weight(const float *w, size_t n, size_t k, uint16_t *dst);

/// C[m, np] = A[m, kp] · Bᵀ with A bf16 row-major (row stride `lda` >= kp entries, kp a multiple of 32), B packed
/// by ck_pack_bf16_weight (np = round_up(n, 32), kp = round_up(k, 32)) and C Float32 with row stride `ldc` >= np.
/// Any m. AMX only: call when ck_has_amx_bf16() is 1 (uses the calling thread's tile state).
void ck_amx_gemm_bf16(const uint16_t *a, size_t lda, size_t m, size_t kp, const uint16_t *bp, size_t np,
                      float *c, size_t ldc);

/// C[r, 0..<np] = bf16(src row rows[r]) · Bᵀ for r < m (row r of `src` when `rows` is NULL): the conversion of
/// ck_f32_rows_to_bf16 fused with ck_amx_gemm_bf16, a block of 128 rows at a time in a cache-sized buffer, so the
/// Float32 rows are read once and no bf16 copy of the whole input is written. `src` rows have `k` values (stride
/// `lds`); B packed from an [n, k] weight. Returns 0, or -1 when the block buffer could not be allocated.
/// AMX only: call when ck_has_amx_bf16() is 1.
int ck_amx_linear_rows(const float *src, size_t lds, const int64_t *rows, size_t m, size_t k, const uint16_t *bp,
                       size_t np, float *c, size_t ldc);

#ifdef __cplusplus
}
#endif

#endif
