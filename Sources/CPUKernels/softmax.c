#include "ck_softmax.h"
#include "ck_features.h"
#include "ck_internal.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

// Cephes expf coefficients and the split of ln 2 (see ck_exp).
#define CK_LOG2E 1.44269504088896341f
#define CK_LN2_HI 0.693359375f
#define CK_LN2_LO (-2.12194440e-4f)
#define CK_P0 1.9875691500e-4f
#define CK_P1 1.3981999507e-3f
#define CK_P2 8.3334519073e-3f
#define CK_P3 4.1665795894e-2f
#define CK_P4 1.6666665459e-1f
#define CK_P5 5.0000001201e-1f

static float softmax_exp(float x) {
    if (x != x) return x;
    if (x < -87.3f) return 0.0f;
    float xc = x < -87.3f ? -87.3f : (x > 88.3f ? 88.3f : x);
    const float n = nearbyintf(xc * CK_LOG2E);
    float r = xc - n * CK_LN2_HI;
    r = r - n * CK_LN2_LO;
    float p = CK_P0;
    p = p * r + CK_P1;
    p = p * r + CK_P2;
    p = p * r + CK_P3;
    p = p * r + CK_P4;
    p = p * r + CK_P5;
    const float er = p * r * r + r + 1.0f;
    const int ni = (int)n;
    uint32_t bits = (uint32_t)(ni + 127) << 23;
    float scale;
    memcpy(&scale, &bits, 4);
    return er * scale;
}

#if CK_X86
CK_AVX512 static inline __m512 exp16(__m512 x) {
    __m512 xc = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-87.3f)), _mm512_set1_ps(88.3f));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(xc, _mm512_set1_ps(CK_LOG2E)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(CK_LN2_HI), xc);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(CK_LN2_LO), r);
    __m512 p = _mm512_set1_ps(CK_P0);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(CK_P1));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(CK_P2));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(CK_P3));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(CK_P4));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(CK_P5));
    __m512 er = _mm512_add_ps(_mm512_fmadd_ps(_mm512_mul_ps(p, r), r, r), _mm512_set1_ps(1.0f));
    __m512i e = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
    __m512 y = _mm512_mul_ps(er, _mm512_castsi512_ps(e));
    // Below the smallest normal result: 0. NaN in, NaN out (min/max above would have turned it into a bound).
    y = _mm512_mask_mov_ps(y, _mm512_cmp_ps_mask(x, _mm512_set1_ps(-87.3f), _CMP_LT_OQ), _mm512_setzero_ps());
    __mmask16 nan = _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q);
    return _mm512_mask_mov_ps(y, nan, x);
}

CK_AVX512 static void softmax_avx512(float *x, size_t rows, size_t cols, size_t ld) {
    const size_t full = cols / 16 * 16;
    const __mmask16 tail = (__mmask16)((1u << (cols - full)) - 1);
    for (size_t i = 0; i < rows; i++) {
        float *row = x + i * ld;
        __m512 vmax = _mm512_set1_ps(-INFINITY);
        __m512 anynan = _mm512_setzero_ps();
        size_t c = 0;
        for (; c < full; c += 16) {
            __m512 v = _mm512_loadu_ps(row + c);
            vmax = _mm512_max_ps(vmax, v);
            anynan = _mm512_add_ps(anynan, _mm512_sub_ps(v, v));  // NaN iff some v is NaN or infinite
        }
        if (tail) {
            __m512 v = _mm512_mask_loadu_ps(_mm512_set1_ps(-INFINITY), tail, row + c);
            vmax = _mm512_max_ps(vmax, v);
            anynan = _mm512_add_ps(anynan, _mm512_maskz_sub_ps(tail, v, v));
        }
        float m = _mm512_reduce_max_ps(vmax);
        float check = _mm512_reduce_add_ps(anynan);
        if (check != check) {
            // NaN or infinities in the row: the scalar path has the exact semantics.
            float s = 0;
            for (size_t j = 0; j < cols; j++) m = row[j] > m ? row[j] : m;
            for (size_t j = 0; j < cols; j++) { row[j] = softmax_exp(row[j] - m); s += row[j]; }
            for (size_t j = 0; j < cols; j++) row[j] /= s;
            continue;
        }
        const __m512 vm = _mm512_set1_ps(m);
        __m512 vs = _mm512_setzero_ps();
        for (c = 0; c < full; c += 16) {
            __m512 e = exp16(_mm512_sub_ps(_mm512_loadu_ps(row + c), vm));
            _mm512_storeu_ps(row + c, e);
            vs = _mm512_add_ps(vs, e);
        }
        if (tail) {
            __m512 e = exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(tail, row + c), vm));
            e = _mm512_maskz_mov_ps(tail, e);
            _mm512_mask_storeu_ps(row + c, tail, e);
            vs = _mm512_add_ps(vs, e);
        }
        const __m512 inv = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(vs));
        for (c = 0; c < full; c += 16) _mm512_storeu_ps(row + c, _mm512_mul_ps(_mm512_loadu_ps(row + c), inv));
        if (tail) _mm512_mask_storeu_ps(row + c, tail, _mm512_mul_ps(_mm512_maskz_loadu_ps(tail, row + c), inv));
    }
}
#endif

void ck_softmax_rows(float *x, size_t rows, size_t cols, size_t ld) {
    if (cols == 0) return;
#if CK_X86
    if (ck_has_avx512()) {
        softmax_avx512(x, rows, cols, ld);
        return;
    }
#endif
    for (size_t i = 0; i < rows; i++) {
        float *row = x + i * ld;
        float m = -INFINITY, s = 0;
        int nan = 0;
        for (size_t j = 0; j < cols; j++) {
            if (row[j] != row[j]) nan = 1;
            m = row[j] > m ? row[j] : m;
        }
        if (nan) {
            for (size_t j = 0; j < cols; j++) row[j] = NAN;
            continue;
        }
        for (size_t j = 0; j < cols; j++) { row[j] = softmax_exp(row[j] - m); s += row[j]; }
        const float inv = 1.0f / s;
        for (size_t j = 0; j < cols; j++) row[j] *= inv;
    }
}
