#include "ck_reduce.h"
#include "ck_features.h"
#include "ck_internal.h"

#include <math.h>
#include <stdlib.h>

// The portable versions keep 16 partial sums in the same lanes as the AVX-512 ones and add them in the same
// tree order, so both give the same bits wherever no FMA contraction differs.

static float lane_tree_sum(const float *lanes) {
    float s8[8], s4[4], s2[2];
    for (int i = 0; i < 8; i++) s8[i] = lanes[i] + lanes[i + 8];
    for (int i = 0; i < 4; i++) s4[i] = s8[i] + s8[i + 4];
    for (int i = 0; i < 2; i++) s2[i] = s4[i] + s4[i + 2];
    return s2[0] + s2[1];
}

#if CK_X86
CK_AVX512 static float dot_avx512(const float *a, const float *b, size_t n) {
    __m512 acc = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + 16 <= n; i += 16) acc = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), acc);
    if (i < n) {
        __mmask16 m = ck_lanes_mask16(n - i);
        acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), acc);
    }
    float lanes[16];
    _mm512_storeu_ps(lanes, acc);
    return lane_tree_sum(lanes);
}

CK_AVX512 static void mean_avx512(const float *src, size_t ld, const int64_t *rows, size_t n, size_t d,
                                  double *acc) {
    for (size_t r = 0; r < n; r++) {
        const float *row = src + (size_t)(rows ? rows[r] : (int64_t)r) * ld;
        size_t j = 0;
        for (; j + 8 <= d; j += 8) {
            __m512d x = _mm512_cvtps_pd(_mm256_loadu_ps(row + j));
            _mm512_storeu_pd(acc + j, _mm512_add_pd(_mm512_loadu_pd(acc + j), x));
        }
        for (; j < d; j++) acc[j] += (double)row[j];
    }
}
#endif

#if CK_X86
// AVX2 + FMA versions with the AVX-512 lane layout (lanes 0-7 and 8-15 in two registers, the same tree sum), so
// they give the AVX-512 versions' bits.
CK_AVX2 static float dot_avx2(const float *a, const float *b, size_t n) {
    __m256 lo = _mm256_setzero_ps(), hi = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        lo = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), lo);
        hi = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), hi);
    }
    float lanes[16];
    _mm256_storeu_ps(lanes, lo);
    _mm256_storeu_ps(lanes + 8, hi);
    for (int l = 0; i + l < n; l++) lanes[l] = fmaf(a[i + l], b[i + l], lanes[l]);
    return lane_tree_sum(lanes);
}

CK_AVX2 static void mean_avx2(const float *src, size_t ld, const int64_t *rows, size_t n, size_t d, double *acc) {
    for (size_t r = 0; r < n; r++) {
        const float *row = src + (size_t)(rows ? rows[r] : (int64_t)r) * ld;
        size_t j = 0;
        for (; j + 4 <= d; j += 4) {
            __m256d x = _mm256_cvtps_pd(_mm_loadu_ps(row + j));
            _mm256_storeu_pd(acc + j, _mm256_add_pd(_mm256_loadu_pd(acc + j), x));
        }
        for (; j < d; j++) acc[j] += (double)row[j];
    }
}
#endif

static float dot_portable(const float *a, const float *b, size_t n) {
    float lanes[16] = {0};
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        for (int l = 0; l < 16; l++) lanes[l] += a[i + l] * b[i + l];
    for (int l = 0; i + l < n; l++) lanes[l] += a[i + l] * b[i + l];
    return lane_tree_sum(lanes);
}

float ck_dot(const float *a, const float *b, size_t n) {
#if CK_X86
    if (ck_has_avx512()) return dot_avx512(a, b, n);
    if (ck_has_avx2_fma()) return dot_avx2(a, b, n);
#endif
    return dot_portable(a, b, n);
}

float ck_sum_squares(const float *a, size_t n) { return ck_dot(a, a, n); }

void ck_mean_rows(const float *src, size_t ld, const int64_t *rows, size_t n, size_t d, float *out) {
    double *acc = (double *)calloc(d ? d : 1, sizeof(double));
    if (!acc) {
        // Out of memory for d doubles: accumulate column by column instead (slower, same result).
        for (size_t j = 0; j < d; j++) {
            double s = 0;
            for (size_t r = 0; r < n; r++) s += (double)src[(size_t)(rows ? rows[r] : (int64_t)r) * ld + j];
            out[j] = n ? (float)(s / (double)n) : 0.0f;
        }
        return;
    }
#if CK_X86
    if (ck_has_avx512()) {
        mean_avx512(src, ld, rows, n, d, acc);
    } else if (ck_has_avx2_fma()) {
        mean_avx2(src, ld, rows, n, d, acc);
    } else
#endif
    {
        for (size_t r = 0; r < n; r++) {
            const float *row = src + (size_t)(rows ? rows[r] : (int64_t)r) * ld;
            for (size_t j = 0; j < d; j++) acc[j] += (double)row[j];
        }
    }
    const double inv = n ? 1.0 / (double)n : 0.0;
    for (size_t j = 0; j < d; j++) out[j] = (float)(acc[j] * inv);
    free(acc);
}

static float clamp_norm(float sum_squares, float eps) {
    const float n = sqrtf(sum_squares);
    return n > eps ? n : eps;
}

#if CK_X86
// Pass 2 of ck_stvp_scores for one i: four sums over the same columns (a·m, a·a, b·a, b·b), each accumulated as
// dot_avx512 accumulates it.
CK_AVX512 static void stvp_row_avx512(const float *a, const float *b, const float *m, size_t d, float sums[4]) {
    __m512 s_am = _mm512_setzero_ps(), s_aa = _mm512_setzero_ps(), s_ba = _mm512_setzero_ps(),
           s_bb = _mm512_setzero_ps();
    size_t j = 0;
    for (; j + 16 <= d; j += 16) {
        __m512 x = _mm512_loadu_ps(a + j), mv = _mm512_loadu_ps(m + j);
        s_am = _mm512_fmadd_ps(x, mv, s_am);
        s_aa = _mm512_fmadd_ps(x, x, s_aa);
        if (b) {
            __m512 y = _mm512_loadu_ps(b + j);
            s_ba = _mm512_fmadd_ps(y, x, s_ba);
            s_bb = _mm512_fmadd_ps(y, y, s_bb);
        }
    }
    if (j < d) {
        __mmask16 k = ck_lanes_mask16(d - j);
        __m512 x = _mm512_maskz_loadu_ps(k, a + j), mv = _mm512_maskz_loadu_ps(k, m + j);
        s_am = _mm512_fmadd_ps(x, mv, s_am);
        s_aa = _mm512_fmadd_ps(x, x, s_aa);
        if (b) {
            __m512 y = _mm512_maskz_loadu_ps(k, b + j);
            s_ba = _mm512_fmadd_ps(y, x, s_ba);
            s_bb = _mm512_fmadd_ps(y, y, s_bb);
        }
    }
    const __m512 acc[4] = {s_am, s_aa, s_ba, s_bb};
    float lanes[16];
    for (int t = 0; t < (b ? 4 : 2); t++) {
        _mm512_storeu_ps(lanes, acc[t]);
        sums[t] = lane_tree_sum(lanes);
    }
}

// The same four sums with AVX2 + FMA in the AVX-512 lane layout (two 8-lane halves of each 16-lane accumulator).
CK_AVX2 static void stvp_row_avx2(const float *a, const float *b, const float *m, size_t d, float sums[4]) {
    __m256 am0 = _mm256_setzero_ps(), am1 = am0, aa0 = am0, aa1 = am0, ba0 = am0, ba1 = am0, bb0 = am0, bb1 = am0;
    size_t j = 0;
    for (; j + 16 <= d; j += 16) {
        const __m256 x0 = _mm256_loadu_ps(a + j), x1 = _mm256_loadu_ps(a + j + 8);
        am0 = _mm256_fmadd_ps(x0, _mm256_loadu_ps(m + j), am0);
        am1 = _mm256_fmadd_ps(x1, _mm256_loadu_ps(m + j + 8), am1);
        aa0 = _mm256_fmadd_ps(x0, x0, aa0);
        aa1 = _mm256_fmadd_ps(x1, x1, aa1);
        if (b) {
            const __m256 y0 = _mm256_loadu_ps(b + j), y1 = _mm256_loadu_ps(b + j + 8);
            ba0 = _mm256_fmadd_ps(y0, x0, ba0);
            ba1 = _mm256_fmadd_ps(y1, x1, ba1);
            bb0 = _mm256_fmadd_ps(y0, y0, bb0);
            bb1 = _mm256_fmadd_ps(y1, y1, bb1);
        }
    }
    float lanes[4][16];
    const __m256 acc[4][2] = {{am0, am1}, {aa0, aa1}, {ba0, ba1}, {bb0, bb1}};
    for (int t = 0; t < 4; t++) {
        _mm256_storeu_ps(lanes[t], acc[t][0]);
        _mm256_storeu_ps(lanes[t] + 8, acc[t][1]);
    }
    for (int l = 0; j + l < d; l++) {
        const float x = a[j + l];
        lanes[0][l] = fmaf(x, m[j + l], lanes[0][l]);
        lanes[1][l] = fmaf(x, x, lanes[1][l]);
        if (b) {
            lanes[2][l] = fmaf(b[j + l], x, lanes[2][l]);
            lanes[3][l] = fmaf(b[j + l], b[j + l], lanes[3][l]);
        }
    }
    for (int t = 0; t < (b ? 4 : 2); t++) sums[t] = lane_tree_sum(lanes[t]);
}
#endif

int ck_stvp_scores(const float *src, size_t ld, const int64_t *f1, const int64_t *f2, size_t n, size_t d,
                   float eps, float *spatial, float *temporal) {
    float *mean = (float *)malloc((d ? d : 1) * sizeof(float));
    if (!mean) return -1;
    ck_mean_rows(src, ld, f1, n, d, mean);
    const float mean_norm = clamp_norm(ck_sum_squares(mean, d), eps);
#if CK_X86
    const int fast = ck_has_avx512(), avx2 = !fast && ck_has_avx2_fma();
#endif
    for (size_t i = 0; i < n; i++) {
        const float *a = src + (size_t)f1[i] * ld;
        const float *b = f2 ? src + (size_t)f2[i] * ld : NULL;
        float sums[4] = {0, 0, 0, 0};  // a·m, a·a, b·a, b·b
#if CK_X86
        if (fast) {
            stvp_row_avx512(a, b, mean, d, sums);
        } else if (avx2) {
            stvp_row_avx2(a, b, mean, d, sums);
        } else
#endif
        {
            sums[0] = ck_dot(a, mean, d);
            sums[1] = ck_sum_squares(a, d);
            if (b) {
                sums[2] = ck_dot(b, a, d);
                sums[3] = ck_sum_squares(b, d);
            }
        }
        const float norm1 = clamp_norm(sums[1], eps);
        spatial[i] = sums[0] / (norm1 * mean_norm);
        if (b) temporal[i] = sums[2] / (clamp_norm(sums[3], eps) * norm1);
    }
    free(mean);
    return 0;
}
