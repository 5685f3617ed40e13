// Row kernels of the Whisper-style audio tower and the vision merger: LayerNorm rows and the exact-erf GELU. Each
// has an AVX-512 version (chosen at run time, see ck_features.h) and a portable C version written as branch-free
// lanes (vectorised by the compiler for AVX2 / NEON); both evaluate the same formulas and agree up to summation
// order and FMA contraction.
#ifndef CK_ENCODER_ROWS_H
#define CK_ENCODER_ROWS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// LayerNorm of `rows` rows of `dim` values as PyTorch forms it: mean, then the biased variance of the centred
/// values (two passes), out = (x - mean) / sqrt(var + eps) · weight + bias. Row stride `dim` for both; `out` may
/// alias `x`. `bias` may be NULL (no bias).
void ck_layer_norm_rows(const float *x, size_t rows, size_t dim, const float *weight, const float *bias, float eps,
                        float *out);

/// GELU in place with the exact (erf) form: x · (1 + erf(x / sqrt 2)) / 2. erf is Abramowitz-Stegun 7.1.26
/// (1.5e-7 absolute for the formula, under 5e-7 evaluated in Float32; exp by ck_exp), odd-symmetric; NaN stays NaN.
void ck_gelu_erf(float *x, size_t n);

/// erf(x) by the same formula as ck_gelu_erf (for tests).
float ck_erf(float x);

#ifdef __cplusplus
}
#endif

#endif
