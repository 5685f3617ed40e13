#include "ck_encoder_rows.h"
#include "ck_exp.h"
#include "ck_features.h"
#include "ck_internal.h"

#include <math.h>

// Abramowitz-Stegun 7.1.26: erf(|x|) = 1 - t·(a1 + t·(a2 + t·(a3 + t·(a4 + t·a5))))·exp(-x²), t = 1/(1 + p·|x|).
#define CK_ERF_P 0.3275911f
#define CK_ERF_A1 0.254829592f
#define CK_ERF_A2 (-0.284496736f)
#define CK_ERF_A3 1.421413741f
#define CK_ERF_A4 (-1.453152027f)
#define CK_ERF_A5 1.061405429f
#define CK_RSQRT2 0.70710678118654752f

static inline float erf_portable(float x) {
    const float ax = fabsf(x);
    const float t = 1.0f / (1.0f + CK_ERF_P * ax);
    float p = CK_ERF_A5;
    p = p * t + CK_ERF_A4;
    p = p * t + CK_ERF_A3;
    p = p * t + CK_ERF_A2;
    p = p * t + CK_ERF_A1;
    const float y = 1.0f - p * t * exp_portable(-ax * ax);
    return copysignf(y, x);
}

float ck_erf(float x) { return erf_portable(x); }

#if CK_X86

CK_AVX512 static inline __m512 erf16(__m512 x) {
    const __m512 sign = _mm512_and_ps(x, _mm512_set1_ps(-0.0f));
    const __m512 ax = _mm512_andnot_ps(_mm512_set1_ps(-0.0f), x);
    const __m512 one = _mm512_set1_ps(1.0f);
    const __m512 t = _mm512_div_ps(one, _mm512_fmadd_ps(_mm512_set1_ps(CK_ERF_P), ax, one));
    __m512 p = _mm512_set1_ps(CK_ERF_A5);
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(CK_ERF_A4));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(CK_ERF_A3));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(CK_ERF_A2));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(CK_ERF_A1));
    const __m512 e = exp16(_mm512_sub_ps(_mm512_setzero_ps(), _mm512_mul_ps(ax, ax)));
    const __m512 y = _mm512_fnmadd_ps(_mm512_mul_ps(p, t), e, one);
    return _mm512_or_ps(y, sign);
}

CK_AVX512 static void gelu_avx512(float *x, size_t n) {
    const __m512 half = _mm512_set1_ps(0.5f), r2 = _mm512_set1_ps(CK_RSQRT2), one = _mm512_set1_ps(1.0f);
    for (size_t c = 0; c < n; c += 16) {
        const __mmask16 m = ck_lanes_mask16(n - c);
        const __m512 v = _mm512_maskz_loadu_ps(m, x + c);
        const __m512 g = _mm512_mul_ps(_mm512_mul_ps(half, v), _mm512_add_ps(one, erf16(_mm512_mul_ps(v, r2))));
        _mm512_mask_storeu_ps(x + c, m, g);
    }
}

CK_AVX512 static void layer_norm_avx512(const float *x, size_t rows, size_t dim, const float *w, const float *b,
                                        float eps, float *out) {
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * dim;
        float *o = out + r * dim;
        __m512 s = _mm512_setzero_ps();
        for (size_t c = 0; c < dim; c += 16) {
            const __mmask16 m = ck_lanes_mask16(dim - c);
            s = _mm512_add_ps(s, _mm512_maskz_loadu_ps(m, xr + c));
        }
        const float mean = _mm512_reduce_add_ps(s) / (float)dim;
        const __m512 vm = _mm512_set1_ps(mean);
        __m512 ss = _mm512_setzero_ps();
        for (size_t c = 0; c < dim; c += 16) {
            const __mmask16 m = ck_lanes_mask16(dim - c);
            const __m512 d = _mm512_maskz_sub_ps(m, _mm512_maskz_loadu_ps(m, xr + c), vm);
            ss = _mm512_fmadd_ps(d, d, ss);
        }
        const float inv = 1.0f / sqrtf(_mm512_reduce_add_ps(ss) / (float)dim + eps);
        const __m512 vi = _mm512_set1_ps(inv);
        for (size_t c = 0; c < dim; c += 16) {
            const __mmask16 m = ck_lanes_mask16(dim - c);
            const __m512 d = _mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, xr + c), vm), vi);
            const __m512 bb = b ? _mm512_maskz_loadu_ps(m, b + c) : _mm512_setzero_ps();
            _mm512_mask_storeu_ps(o + c, m, _mm512_fmadd_ps(d, _mm512_maskz_loadu_ps(m, w + c), bb));
        }
    }
}
#endif

void ck_gelu_erf(float *x, size_t n) {
#if CK_X86
    if (ck_has_avx512()) {
        gelu_avx512(x, n);
        return;
    }
#endif
    for (size_t i = 0; i < n; i++) {
        const float v = x[i];
        x[i] = 0.5f * v * (1.0f + erf_portable(v * CK_RSQRT2));
    }
}

void ck_layer_norm_rows(const float *x, size_t rows, size_t dim, const float *weight, const float *bias, float eps,
                        float *out) {
#if CK_X86
    if (ck_has_avx512()) {
        layer_norm_avx512(x, rows, dim, weight, bias, eps, out);
        return;
    }
#endif
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * dim;
        float *o = out + r * dim;
        float part[16] = {0};
        for (size_t c = 0; c < dim; c++) part[c & 15] += xr[c];
        float s = 0;
        for (int l = 0; l < 16; l++) s += part[l];
        const float mean = s / (float)dim;
        float sq[16] = {0};
        for (size_t c = 0; c < dim; c++) {
            const float d = xr[c] - mean;
            sq[c & 15] += d * d;
        }
        float v = 0;
        for (int l = 0; l < 16; l++) v += sq[l];
        const float inv = 1.0f / sqrtf(v / (float)dim + eps);
        for (size_t c = 0; c < dim; c++) o[c] = (xr[c] - mean) * inv * weight[c] + (bias ? bias[c] : 0.0f);
    }
}
