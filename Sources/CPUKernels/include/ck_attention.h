// Row kernels of the thinker decoder: the attention's online softmax, exp, RMSNorm and the SwiGLU product. Each has
// an AVX-512 version, an AVX2 + FMA version (chosen at run time, see ck_features.h) and a portable C version; all
// use the same exp (range
// reduction + Cephes polynomial, about 1 ulp) and agree up to summation order and FMA contraction.
#ifndef CK_ATTENTION_H
#define CK_ATTENTION_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// exp(x): x = n·ln2 + r with |r| <= ln2/2, a degree-6 polynomial for e^r (Cephes coefficients), scaled by 2^n
/// through the exponent bits. About 1 ulp on [-87.3, 88.3]; inputs are clamped to that range (x < -87.3 gives
/// ~1.2e-38 rather than 0, immaterial for softmax and SiLU); NaN gives NaN.
float ck_exp(float x);

/// `x[i] = exp(x[i] - shift)` (ck_exp) for i < n; returns the sum of the new values.
float ck_exp_shift_sum(float *x, size_t n, float shift);

/// One row of a blocked online softmax. `row` holds `count` scaled scores of which the first `valid` are allowed
/// (a causal prefix; valid <= 0: none, valid > count is taken as count). Turns the allowed ones into
/// exp(score - new max), sets the others to 0, and updates the running max `*max` (-inf before the first
/// block), the running sum `*sum` and the accumulated output row `acc` (`acc_count` values), the last two
/// rescaled by exp(old max - new max). With valid <= 0 only the row is zeroed.
void ck_online_softmax_row(float *row, size_t count, long valid, float *max, float *sum, float *acc,
                           size_t acc_count);

/// RMSNorm of `rows` rows of `dim` values: out = weight · (x / sqrt(mean(x²) + eps)), Float32 as PyTorch.
/// Row stride `dim` for both; `out` may alias `x`.
void ck_rms_norm_rows(const float *x, size_t rows, size_t dim, const float *weight, float eps, float *out);

/// The SwiGLU product in place: `gate[i] = silu(gate[i]) · up[i]` with silu(x) = x / (1 + exp(-x)) (ck_exp).
void ck_silu_mul(float *gate, const float *up, size_t n);

/// Adds the bias and applies rotary position embedding in place, rotate-half layout, to `rows` rows of `heads`
/// heads of `head_dim` values (row stride `ld`): with h = head_dim / 2, a = x[j] + bias[j], b = x[j + h] +
/// bias[j + h] (bias per head, `heads · head_dim` values, or NULL for none),
///     x[j] = a · cos[j] - b · sin[j],   x[j + h] = b · cos[j] + a · sin[j]   (j < h),
/// where cos and sin are row r of the tables `cos_table` / `sin_table` (`h` values per row, row stride `table_ld`).
/// `head_dim` must be even.
void ck_bias_rope_rows(float *x, size_t rows, size_t heads, size_t head_dim, size_t ld, const float *bias,
                       const float *cos_table, const float *sin_table, size_t table_ld);

#ifdef __cplusplus
}
#endif

#endif
