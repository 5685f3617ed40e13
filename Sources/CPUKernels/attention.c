#include "ck_attention.h"
#include "ck_features.h"
#include "ck_exp.h"
#include "ck_internal.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

float ck_exp(float x) { return exp_portable(x); }

#if CK_X86

// x[i] = exp(x[i] - shift) for i < n, returning the sum; two independent chains per step for the FMA latency.
CK_AVX512 static float exp_shift_sum_avx512(float *x, size_t n, float shift) {
    const __m512 s = _mm512_set1_ps(shift);
    __m512 sum0 = _mm512_setzero_ps(), sum1 = _mm512_setzero_ps();
    size_t c = 0;
    for (; c + 32 <= n; c += 32) {
        const __m512 e0 = exp16(_mm512_sub_ps(_mm512_loadu_ps(x + c), s));
        const __m512 e1 = exp16(_mm512_sub_ps(_mm512_loadu_ps(x + c + 16), s));
        _mm512_storeu_ps(x + c, e0);
        _mm512_storeu_ps(x + c + 16, e1);
        sum0 = _mm512_add_ps(sum0, e0);
        sum1 = _mm512_add_ps(sum1, e1);
    }
    for (; c < n; c += 16) {
        const __mmask16 m = ck_lanes_mask16(n - c);
        const __m512 e = _mm512_maskz_mov_ps(m, exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + c), s)));
        _mm512_mask_storeu_ps(x + c, m, e);
        sum0 = _mm512_add_ps(sum0, e);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(sum0, sum1));
}

CK_AVX512 static float max_avx512(const float *x, size_t n) {
    __m512 m0 = _mm512_set1_ps(-INFINITY), m1 = m0;
    size_t c = 0;
    for (; c + 32 <= n; c += 32) {
        m0 = _mm512_max_ps(m0, _mm512_loadu_ps(x + c));
        m1 = _mm512_max_ps(m1, _mm512_loadu_ps(x + c + 16));
    }
    for (; c < n; c += 16) {
        const __mmask16 m = ck_lanes_mask16(n - c);
        m0 = _mm512_mask_max_ps(m0, m, m0, _mm512_maskz_loadu_ps(m, x + c));
    }
    return _mm512_reduce_max_ps(_mm512_max_ps(m0, m1));
}

CK_AVX512 static void fill_zero_avx512(float *x, size_t n) {
    size_t c = 0;
    for (; c + 16 <= n; c += 16) _mm512_storeu_ps(x + c, _mm512_setzero_ps());
    if (c < n) _mm512_mask_storeu_ps(x + c, ck_lanes_mask16(n - c), _mm512_setzero_ps());
}

CK_AVX512 static void scale_avx512(float *x, size_t n, float a) {
    const __m512 va = _mm512_set1_ps(a);
    size_t c = 0;
    for (; c + 16 <= n; c += 16) _mm512_storeu_ps(x + c, _mm512_mul_ps(_mm512_loadu_ps(x + c), va));
    if (c < n) {
        const __mmask16 m = ck_lanes_mask16(n - c);
        _mm512_mask_storeu_ps(x + c, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + c), va));
    }
}

CK_AVX512 static void online_row_avx512(float *row, size_t count, size_t valid, float *mx, float *sum, float *acc,
                                        size_t acc_count) {
    const float block_max = max_avx512(row, valid);
    const float old = *mx;
    const float new_max = old > block_max ? old : block_max;
    const float correction = old == -INFINITY ? 0.0f : expf(old - new_max);
    const float row_sum = exp_shift_sum_avx512(row, valid, new_max);
    fill_zero_avx512(row + valid, count - valid);
    *sum = *sum * correction + row_sum;
    *mx = new_max;
    if (correction != 1.0f) scale_avx512(acc, acc_count, correction);
}

CK_AVX512 static void rms_norm_avx512(const float *x, size_t rows, size_t dim, const float *w, float eps,
                                      float *out) {
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * dim;
        float *o = out + r * dim;
        __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
        size_t c = 0;
        for (; c + 32 <= dim; c += 32) {
            const __m512 a = _mm512_loadu_ps(xr + c), b = _mm512_loadu_ps(xr + c + 16);
            s0 = _mm512_fmadd_ps(a, a, s0);
            s1 = _mm512_fmadd_ps(b, b, s1);
        }
        for (; c < dim; c += 16) {
            const __m512 a = _mm512_maskz_loadu_ps(ck_lanes_mask16(dim - c), xr + c);
            s0 = _mm512_fmadd_ps(a, a, s0);
        }
        const float ss = _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
        const __m512 inv = _mm512_set1_ps(1.0f / sqrtf(ss / (float)dim + eps));
        for (c = 0; c < dim; c += 16) {
            const __mmask16 m = ck_lanes_mask16(dim - c);
            const __m512 v = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, xr + c), inv);
            _mm512_mask_storeu_ps(o + c, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, w + c), v));
        }
    }
}

CK_AVX512 static void silu_mul_avx512(float *gate, const float *up, size_t n) {
    const __m512 one = _mm512_set1_ps(1.0f);
    size_t c = 0;
    for (; c + 32 <= n; c += 32) {
        const __m512 x0 = _mm512_loadu_ps(gate + c), x1 = _mm512_loadu_ps(gate + c + 16);
        const __m512 e0 = exp16(_mm512_sub_ps(_mm512_setzero_ps(), x0));
        const __m512 e1 = exp16(_mm512_sub_ps(_mm512_setzero_ps(), x1));
        const __m512 y0 = _mm512_div_ps(x0, _mm512_add_ps(one, e0));
        const __m512 y1 = _mm512_div_ps(x1, _mm512_add_ps(one, e1));
        _mm512_storeu_ps(gate + c, _mm512_mul_ps(y0, _mm512_loadu_ps(up + c)));
        _mm512_storeu_ps(gate + c + 16, _mm512_mul_ps(y1, _mm512_loadu_ps(up + c + 16)));
    }
    for (; c < n; c += 16) {
        const __mmask16 m = ck_lanes_mask16(n - c);
        const __m512 x = _mm512_maskz_loadu_ps(m, gate + c);
        const __m512 y = _mm512_div_ps(x, _mm512_add_ps(one, exp16(_mm512_sub_ps(_mm512_setzero_ps(), x))));
        _mm512_mask_storeu_ps(gate + c, m, _mm512_mul_ps(y, _mm512_maskz_loadu_ps(m, up + c)));
    }
}

// Sixteen pairs at a time (head_dim / 2 = 64 for Qwen: four steps), a masked step for a remainder.
CK_AVX512 static void bias_rope_avx512(float *x, size_t rows, size_t heads, size_t hd, size_t ld, const float *bias,
                                       const float *cos_table, const float *sin_table, size_t table_ld) {
    const size_t half = hd / 2;
    for (size_t r = 0; r < rows; r++) {
        const float *cr = cos_table + r * table_ld, *sr = sin_table + r * table_ld;
        for (size_t h = 0; h < heads; h++) {
            float *p = x + r * ld + h * hd;
            const float *bh = bias ? bias + h * hd : NULL;
            for (size_t j = 0; j < half; j += 16) {
                const __mmask16 m = ck_lanes_mask16(half - j);
                __m512 a = _mm512_maskz_loadu_ps(m, p + j), b = _mm512_maskz_loadu_ps(m, p + half + j);
                if (bh) {
                    a = _mm512_add_ps(a, _mm512_maskz_loadu_ps(m, bh + j));
                    b = _mm512_add_ps(b, _mm512_maskz_loadu_ps(m, bh + half + j));
                }
                const __m512 c = _mm512_maskz_loadu_ps(m, cr + j), s = _mm512_maskz_loadu_ps(m, sr + j);
                _mm512_mask_storeu_ps(p + j, m, _mm512_fmsub_ps(a, c, _mm512_mul_ps(b, s)));
                _mm512_mask_storeu_ps(p + half + j, m, _mm512_fmadd_ps(b, c, _mm512_mul_ps(a, s)));
            }
        }
    }
}
#endif

#if CK_X86
// MARK: AVX2 + FMA versions (eight lanes; tails in scalar code with the same exp)

CK_AVX2 static inline float hmax8(__m256 v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

CK_AVX2 static float exp_shift_sum_avx2(float *x, size_t n, float shift) {
    const __m256 s = _mm256_set1_ps(shift);
    __m256 sum0 = _mm256_setzero_ps(), sum1 = _mm256_setzero_ps();
    size_t c = 0;
    for (; c + 16 <= n; c += 16) {
        const __m256 e0 = exp8(_mm256_sub_ps(_mm256_loadu_ps(x + c), s));
        const __m256 e1 = exp8(_mm256_sub_ps(_mm256_loadu_ps(x + c + 8), s));
        _mm256_storeu_ps(x + c, e0);
        _mm256_storeu_ps(x + c + 8, e1);
        sum0 = _mm256_add_ps(sum0, e0);
        sum1 = _mm256_add_ps(sum1, e1);
    }
    for (; c + 8 <= n; c += 8) {
        const __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(x + c), s));
        _mm256_storeu_ps(x + c, e);
        sum0 = _mm256_add_ps(sum0, e);
    }
    float total = ck_hsum8(_mm256_add_ps(sum0, sum1));
    for (; c < n; c++) {
        x[c] = exp_portable(x[c] - shift);
        total += x[c];
    }
    return total;
}

CK_AVX2 static float max_avx2(const float *x, size_t n) {
    __m256 m0 = _mm256_set1_ps(-INFINITY), m1 = m0;
    size_t c = 0;
    for (; c + 16 <= n; c += 16) {
        m0 = _mm256_max_ps(m0, _mm256_loadu_ps(x + c));
        m1 = _mm256_max_ps(m1, _mm256_loadu_ps(x + c + 8));
    }
    for (; c + 8 <= n; c += 8) m0 = _mm256_max_ps(m0, _mm256_loadu_ps(x + c));
    float m = hmax8(_mm256_max_ps(m0, m1));
    for (; c < n; c++) m = x[c] > m ? x[c] : m;
    return m;
}

CK_AVX2 static void scale_avx2(float *x, size_t n, float a) {
    const __m256 va = _mm256_set1_ps(a);
    size_t c = 0;
    for (; c + 8 <= n; c += 8) _mm256_storeu_ps(x + c, _mm256_mul_ps(_mm256_loadu_ps(x + c), va));
    for (; c < n; c++) x[c] *= a;
}

CK_AVX2 static void online_row_avx2(float *row, size_t count, size_t valid, float *mx, float *sum, float *acc,
                                    size_t acc_count) {
    const float block_max = max_avx2(row, valid);
    const float old = *mx;
    const float new_max = old > block_max ? old : block_max;
    const float correction = old == -INFINITY ? 0.0f : expf(old - new_max);
    const float row_sum = exp_shift_sum_avx2(row, valid, new_max);
    if (valid < count) memset(row + valid, 0, (count - valid) * sizeof(float));
    *sum = *sum * correction + row_sum;
    *mx = new_max;
    if (correction != 1.0f) scale_avx2(acc, acc_count, correction);
}

CK_AVX2 static void rms_norm_avx2(const float *x, size_t rows, size_t dim, const float *w, float eps, float *out) {
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * dim;
        float *o = out + r * dim;
        __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
        size_t c = 0;
        for (; c + 16 <= dim; c += 16) {
            const __m256 a = _mm256_loadu_ps(xr + c), b = _mm256_loadu_ps(xr + c + 8);
            s0 = _mm256_fmadd_ps(a, a, s0);
            s1 = _mm256_fmadd_ps(b, b, s1);
        }
        for (; c + 8 <= dim; c += 8) {
            const __m256 a = _mm256_loadu_ps(xr + c);
            s0 = _mm256_fmadd_ps(a, a, s0);
        }
        float ss = ck_hsum8(_mm256_add_ps(s0, s1));
        for (; c < dim; c++) ss += xr[c] * xr[c];
        const float invs = 1.0f / sqrtf(ss / (float)dim + eps);
        const __m256 inv = _mm256_set1_ps(invs);
        for (c = 0; c + 8 <= dim; c += 8)
            _mm256_storeu_ps(o + c, _mm256_mul_ps(_mm256_loadu_ps(w + c), _mm256_mul_ps(_mm256_loadu_ps(xr + c), inv)));
        for (; c < dim; c++) o[c] = w[c] * (xr[c] * invs);
    }
}

CK_AVX2 static void silu_mul_avx2(float *gate, const float *up, size_t n) {
    const __m256 one = _mm256_set1_ps(1.0f), zero = _mm256_setzero_ps();
    size_t c = 0;
    for (; c + 16 <= n; c += 16) {
        const __m256 x0 = _mm256_loadu_ps(gate + c), x1 = _mm256_loadu_ps(gate + c + 8);
        const __m256 y0 = _mm256_div_ps(x0, _mm256_add_ps(one, exp8(_mm256_sub_ps(zero, x0))));
        const __m256 y1 = _mm256_div_ps(x1, _mm256_add_ps(one, exp8(_mm256_sub_ps(zero, x1))));
        _mm256_storeu_ps(gate + c, _mm256_mul_ps(y0, _mm256_loadu_ps(up + c)));
        _mm256_storeu_ps(gate + c + 8, _mm256_mul_ps(y1, _mm256_loadu_ps(up + c + 8)));
    }
    for (; c + 8 <= n; c += 8) {
        const __m256 x = _mm256_loadu_ps(gate + c);
        const __m256 y = _mm256_div_ps(x, _mm256_add_ps(one, exp8(_mm256_sub_ps(zero, x))));
        _mm256_storeu_ps(gate + c, _mm256_mul_ps(y, _mm256_loadu_ps(up + c)));
    }
    for (; c < n; c++) {
        const float x = gate[c];
        gate[c] = x / (1.0f + exp_portable(-x)) * up[c];
    }
}

CK_AVX2 static void bias_rope_avx2(float *x, size_t rows, size_t heads, size_t hd, size_t ld, const float *bias,
                                   const float *cos_table, const float *sin_table, size_t table_ld) {
    const size_t half = hd / 2;
    for (size_t r = 0; r < rows; r++) {
        const float *cr = cos_table + r * table_ld, *sr = sin_table + r * table_ld;
        for (size_t h = 0; h < heads; h++) {
            float *p = x + r * ld + h * hd;
            const float *bh = bias ? bias + h * hd : NULL;
            size_t j = 0;
            for (; j + 8 <= half; j += 8) {
                __m256 a = _mm256_loadu_ps(p + j), b = _mm256_loadu_ps(p + half + j);
                if (bh) {
                    a = _mm256_add_ps(a, _mm256_loadu_ps(bh + j));
                    b = _mm256_add_ps(b, _mm256_loadu_ps(bh + half + j));
                }
                const __m256 c = _mm256_loadu_ps(cr + j), s = _mm256_loadu_ps(sr + j);
                _mm256_storeu_ps(p + j, _mm256_fmsub_ps(a, c, _mm256_mul_ps(b, s)));
                _mm256_storeu_ps(p + half + j, _mm256_fmadd_ps(b, c, _mm256_mul_ps(a, s)));
            }
            for (; j < half; j++) {
                const float a = p[j] + (bh ? bh[j] : 0.0f), b = p[half + j] + (bh ? bh[half + j] : 0.0f);
                p[j] = a * cr[j] - b * sr[j];
                p[half + j] = b * cr[j] + a * sr[j];
            }
        }
    }
}
#endif

// MARK: portable versions

static float exp_shift_sum_portable(float *x, size_t n, float shift) {
    for (size_t c = 0; c < n; c++) x[c] = exp_portable(x[c] - shift);
    // Sixteen partial sums (vectorisable without reassociation flags), then combined.
    float part[16] = {0};
    size_t c = 0;
    for (; c + 16 <= n; c += 16)
        for (size_t l = 0; l < 16; l++) part[l] += x[c + l];
    float s = 0;
    for (size_t l = 0; l < 16; l++) s += part[l];
    for (; c < n; c++) s += x[c];
    return s;
}

float ck_exp_shift_sum(float *x, size_t n, float shift) {
#if CK_X86
    if (ck_has_avx512()) return exp_shift_sum_avx512(x, n, shift);
    if (ck_has_avx2_fma()) return exp_shift_sum_avx2(x, n, shift);
#endif
    return exp_shift_sum_portable(x, n, shift);
}

void ck_online_softmax_row(float *row, size_t count, long valid, float *max, float *sum, float *acc,
                           size_t acc_count) {
    if (valid <= 0) {
        memset(row, 0, count * sizeof(float));
        return;
    }
    const size_t v = (size_t)valid < count ? (size_t)valid : count;
#if CK_X86
    if (ck_has_avx512()) {
        online_row_avx512(row, count, v, max, sum, acc, acc_count);
        return;
    }
    if (ck_has_avx2_fma()) {
        online_row_avx2(row, count, v, max, sum, acc, acc_count);
        return;
    }
#endif
    float block_max = -INFINITY;
    for (size_t c = 0; c < v; c++) block_max = row[c] > block_max ? row[c] : block_max;
    const float old = *max;
    const float new_max = old > block_max ? old : block_max;
    const float correction = old == -INFINITY ? 0.0f : expf(old - new_max);
    const float row_sum = exp_shift_sum_portable(row, v, new_max);
    if (v < count) memset(row + v, 0, (count - v) * sizeof(float));
    *sum = *sum * correction + row_sum;
    *max = new_max;
    if (correction != 1.0f)
        for (size_t j = 0; j < acc_count; j++) acc[j] *= correction;
}

void ck_rms_norm_rows(const float *x, size_t rows, size_t dim, const float *weight, float eps, float *out) {
#if CK_X86
    if (ck_has_avx512()) {
        rms_norm_avx512(x, rows, dim, weight, eps, out);
        return;
    }
    if (ck_has_avx2_fma()) {
        rms_norm_avx2(x, rows, dim, weight, eps, out);
        return;
    }
#endif
    for (size_t r = 0; r < rows; r++) {
        const float *xr = x + r * dim;
        float *o = out + r * dim;
        float part[8] = {0};
        size_t c = 0;
        for (; c + 8 <= dim; c += 8)
            for (size_t l = 0; l < 8; l++) part[l] += xr[c + l] * xr[c + l];
        float ss = 0;
        for (size_t l = 0; l < 8; l++) ss += part[l];
        for (; c < dim; c++) ss += xr[c] * xr[c];
        const float inv = 1.0f / sqrtf(ss / (float)dim + eps);
        for (size_t j = 0; j < dim; j++) o[j] = weight[j] * (xr[j] * inv);
    }
}

void ck_silu_mul(float *gate, const float *up, size_t n) {
#if CK_X86
    if (ck_has_avx512()) {
        silu_mul_avx512(gate, up, n);
        return;
    }
    if (ck_has_avx2_fma()) {
        silu_mul_avx2(gate, up, n);
        return;
    }
#endif
    for (size_t i = 0; i < n; i++) {
        const float x = gate[i];
        gate[i] = x / (1.0f + exp_portable(-x)) * up[i];
    }
}

void ck_bias_rope_rows(float *x, size_t rows, size_t heads, size_t head_dim, size_t ld, const float *bias,
                       const float *cos_table, const float *sin_table, size_t table_ld) {
#if CK_X86
    if (ck_has_avx512()) {
        bias_rope_avx512(x, rows, heads, head_dim, ld, bias, cos_table, sin_table, table_ld);
        return;
    }
    if (ck_has_avx2_fma()) {
        bias_rope_avx2(x, rows, heads, head_dim, ld, bias, cos_table, sin_table, table_ld);
        return;
    }
#endif
    const size_t half = head_dim / 2;
    for (size_t r = 0; r < rows; r++) {
        const float *cr = cos_table + r * table_ld, *sr = sin_table + r * table_ld;
        for (size_t h = 0; h < heads; h++) {
            float *p = x + r * ld + h * head_dim;
            const float *bh = bias ? bias + h * head_dim : NULL;
            for (size_t j = 0; j < half; j++) {
                const float a = p[j] + (bh ? bh[j] : 0.0f), b = p[half + j] + (bh ? bh[half + j] : 0.0f);
                p[j] = a * cr[j] - b * sr[j];
                p[half + j] = b * cr[j] + a * sr[j];
            }
        }
    }
}
