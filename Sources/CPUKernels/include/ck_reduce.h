// Row reductions used by the similarity rules (STVP, baselines): dot products, squared norms, row means.
#ifndef CK_REDUCE_H
#define CK_REDUCE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Σ a[i]·b[i] in Float32 with 16-lane partial sums (AVX-512 when available, the same lane order otherwise).
float ck_dot(const float *a, const float *b, size_t n);

/// Σ a[i]² in Float32 with 16-lane partial sums.
float ck_sum_squares(const float *a, size_t n);

/// out[j] = mean over r < n of src[rows[r] * ld + j] (row r when `rows` is NULL), for j < d, accumulated in
/// Float64 and rounded once. n = 0 gives zeros.
void ck_mean_rows(const float *src, size_t ld, const int64_t *rows, size_t n, size_t d, float *out);

#ifdef __cplusplus
}
#endif

#endif
