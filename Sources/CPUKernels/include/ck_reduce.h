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

/// The two STVP similarity scores of one group, reading the rows in place: for i < n, with F1_i = row f1[i] and
/// F2_i = row f2[i] of `src` (row stride `ld`, `d` values each) and m = ck_mean_rows of F1,
///   spatial[i]  = cos(F1_i, m),  temporal[i] = cos(F2_i, F1_i)  (only when f2 is not NULL),
/// with cos(a, b) = a·b / (max(|a|, eps) · max(|b|, eps)) and every sum formed exactly as ck_dot forms it (so the
/// results equal the unfused computation bit for bit). F1 is read twice (its mean, then every sum of row i in one
/// pass) and F2 once. Returns 0, or -1 when the d-float scratch could not be allocated.
int ck_stvp_scores(const float *src, size_t ld, const int64_t *f1, const int64_t *f2, size_t n, size_t d,
                   float eps, float *spatial, float *temporal);

#ifdef __cplusplus
}
#endif

#endif
