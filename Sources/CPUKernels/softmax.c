#include "ck_softmax.h"
#include "ck_features.h"
#include "ck_exp.h"
#include "ck_internal.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

// exp for softmax: 0 below the smallest normal result (as PyTorch gives for underflow, and for -inf), else ck_exp.
static inline float softmax_exp(float x) { return x < CK_EXP_LO ? 0.0f : exp_portable(x); }

// One row, scalar: the portable path, and the AVX-512 path's rows holding NaN or infinities (exact semantics:
// a NaN makes the row NaN, -inf entries give 0, a +inf or all--inf row gives NaN).
static void softmax_row_portable(float *row, size_t cols) {
    float m = -INFINITY, s = 0;
    int nan = 0;
    for (size_t j = 0; j < cols; j++) {
        if (row[j] != row[j]) nan = 1;
        m = row[j] > m ? row[j] : m;
    }
    if (nan) {
        for (size_t j = 0; j < cols; j++) row[j] = NAN;
        return;
    }
    for (size_t j = 0; j < cols; j++) { row[j] = softmax_exp(row[j] - m); s += row[j]; }
    const float inv = 1.0f / s;
    for (size_t j = 0; j < cols; j++) row[j] *= inv;
}

#if CK_X86
CK_AVX512 static inline __m512 softmax_exp16(__m512 x) {
    const __mmask16 under = _mm512_cmp_ps_mask(x, _mm512_set1_ps(CK_EXP_LO), _CMP_LT_OQ);
    return _mm512_mask_mov_ps(exp16(x), under, _mm512_setzero_ps());
}

CK_AVX512 static void softmax_avx512(float *x, size_t rows, size_t cols, size_t ld) {
    const size_t full = cols / 16 * 16;
    const __mmask16 tail = ck_lanes_mask16(cols - full);
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
        const float m = _mm512_reduce_max_ps(vmax);
        const float check = _mm512_reduce_add_ps(anynan);
        if (check != check) {
            softmax_row_portable(row, cols);
            continue;
        }
        const __m512 vm = _mm512_set1_ps(m);
        __m512 vs = _mm512_setzero_ps();
        for (c = 0; c < full; c += 16) {
            __m512 e = softmax_exp16(_mm512_sub_ps(_mm512_loadu_ps(row + c), vm));
            _mm512_storeu_ps(row + c, e);
            vs = _mm512_add_ps(vs, e);
        }
        if (tail) {
            __m512 e = softmax_exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(tail, row + c), vm));
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
    for (size_t i = 0; i < rows; i++) softmax_row_portable(x + i * ld, cols);
}
