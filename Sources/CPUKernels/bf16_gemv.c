#include "ck_bf16_gemv.h"
#include "ck_features.h"
#include "ck_internal.h"

#include <string.h>

static inline float widen(uint16_t b) {
    const uint32_t u = (uint32_t)b << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static void gemv_portable(const float *a, size_t lda, size_t m, size_t k, const uint16_t *w, size_t ldw, size_t n,
                          float *c, size_t ldc, int accumulate) {
    for (size_t j = 0; j < n; j++) {
        const uint16_t *wj = w + j * ldw;
        for (size_t i = 0; i < m; i++) {
            const float *x = a + i * lda;
            float s = 0;
            for (size_t t = 0; t < k; t++) s += x[t] * widen(wj[t]);
            c[i * ldc + j] = accumulate ? c[i * ldc + j] + s : s;
        }
    }
}

#if CK_X86
// Sixteen bf16 weights widened to Float32 (exact: the bits move to the top half).
CK_AVX512 static inline __m512 widen16(__mmask16 m, const uint16_t *p) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, p)), 16));
}

// Four weight rows at a time (read from memory once, then from L1 for every row of A), one accumulator each.
CK_AVX512 static void gemv_avx512(const float *a, size_t lda, size_t m, size_t k, const uint16_t *w, size_t ldw,
                                  size_t n, float *c, size_t ldc, int accumulate) {
    size_t j = 0;
    for (; j + 4 <= n; j += 4) {
        const uint16_t *w0 = w + j * ldw, *w1 = w0 + ldw, *w2 = w1 + ldw, *w3 = w2 + ldw;
        for (size_t i = 0; i < m; i++) {
            const float *x = a + i * lda;
            __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
            for (size_t t = 0; t < k; t += 16) {
                const __mmask16 msk = ck_lanes_mask16(k - t);
                const __m512 xv = _mm512_maskz_loadu_ps(msk, x + t);
                s0 = _mm512_fmadd_ps(xv, widen16(msk, w0 + t), s0);
                s1 = _mm512_fmadd_ps(xv, widen16(msk, w1 + t), s1);
                s2 = _mm512_fmadd_ps(xv, widen16(msk, w2 + t), s2);
                s3 = _mm512_fmadd_ps(xv, widen16(msk, w3 + t), s3);
            }
            ck_store_sums4(c + i * ldc + j, s0, s1, s2, s3, accumulate);
        }
    }
    for (; j < n; j++) {
        const uint16_t *wj = w + j * ldw;
        for (size_t i = 0; i < m; i++) {
            const float *x = a + i * lda;
            __m512 s = _mm512_setzero_ps();
            for (size_t t = 0; t < k; t += 16) {
                const __mmask16 msk = ck_lanes_mask16(k - t);
                s = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(msk, x + t), widen16(msk, wj + t), s);
            }
            const float r = _mm512_reduce_add_ps(s);
            c[i * ldc + j] = accumulate ? c[i * ldc + j] + r : r;
        }
    }
}

// Eight bf16 weights widened to Float32 in registers.
CK_AVX2 static inline __m256 widen8(const uint16_t *p) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p)), 16));
}

// The AVX2 + FMA version of gemv_avx512: four weight rows at a time, eight lanes, two accumulators per row (16
// values a step, so the FMA chains overlap); the k % 8 tail in scalar code.
CK_AVX2 static void gemv_avx2(const float *a, size_t lda, size_t m, size_t k, const uint16_t *w, size_t ldw,
                              size_t n, float *c, size_t ldc, int accumulate) {
    const size_t k16 = k & ~(size_t)15, k8 = k & ~(size_t)7;
    size_t j = 0;
    for (; j + 4 <= n; j += 4) {
        const uint16_t *w0 = w + j * ldw, *w1 = w0 + ldw, *w2 = w1 + ldw, *w3 = w2 + ldw;
        for (size_t i = 0; i < m; i++) {
            const float *x = a + i * lda;
            __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0, t0 = s0, t1 = s0, t2 = s0, t3 = s0;
            size_t t = 0;
            for (; t < k16; t += 16) {
                const __m256 xa = _mm256_loadu_ps(x + t), xb = _mm256_loadu_ps(x + t + 8);
                s0 = _mm256_fmadd_ps(xa, widen8(w0 + t), s0);
                s1 = _mm256_fmadd_ps(xa, widen8(w1 + t), s1);
                s2 = _mm256_fmadd_ps(xa, widen8(w2 + t), s2);
                s3 = _mm256_fmadd_ps(xa, widen8(w3 + t), s3);
                t0 = _mm256_fmadd_ps(xb, widen8(w0 + t + 8), t0);
                t1 = _mm256_fmadd_ps(xb, widen8(w1 + t + 8), t1);
                t2 = _mm256_fmadd_ps(xb, widen8(w2 + t + 8), t2);
                t3 = _mm256_fmadd_ps(xb, widen8(w3 + t + 8), t3);
            }
            for (; t < k8; t += 8) {
                const __m256 xa = _mm256_loadu_ps(x + t);
                s0 = _mm256_fmadd_ps(xa, widen8(w0 + t), s0);
                s1 = _mm256_fmadd_ps(xa, widen8(w1 + t), s1);
                s2 = _mm256_fmadd_ps(xa, widen8(w2 + t), s2);
                s3 = _mm256_fmadd_ps(xa, widen8(w3 + t), s3);
            }
            float r[4] = {ck_hsum8(_mm256_add_ps(s0, t0)), ck_hsum8(_mm256_add_ps(s1, t1)), ck_hsum8(_mm256_add_ps(s2, t2)),
                          ck_hsum8(_mm256_add_ps(s3, t3))};
            for (; t < k; t++) {
                r[0] += x[t] * widen(w0[t]);
                r[1] += x[t] * widen(w1[t]);
                r[2] += x[t] * widen(w2[t]);
                r[3] += x[t] * widen(w3[t]);
            }
            float *ci = c + i * ldc + j;
            for (int q = 0; q < 4; q++) ci[q] = accumulate ? ci[q] + r[q] : r[q];
        }
    }
    for (; j < n; j++) {
        const uint16_t *wj = w + j * ldw;
        for (size_t i = 0; i < m; i++) {
            const float *x = a + i * lda;
            __m256 s = _mm256_setzero_ps();
            size_t t = 0;
            for (; t < k8; t += 8) s = _mm256_fmadd_ps(_mm256_loadu_ps(x + t), widen8(wj + t), s);
            float r = ck_hsum8(s);
            for (; t < k; t++) r += x[t] * widen(wj[t]);
            c[i * ldc + j] = accumulate ? c[i * ldc + j] + r : r;
        }
    }
}
#endif

int ck_gemv_bf16w_path(void) {
#if CK_X86
    if (ck_has_avx512()) return 2;
    if (ck_has_avx2_fma()) return 1;
#endif
    return 0;
}

void ck_gemv_bf16w(const float *a, size_t lda, size_t m, size_t k, const uint16_t *w, size_t ldw, size_t n,
                   float *c, size_t ldc, int accumulate) {
#if CK_X86
    if (ck_has_avx512()) {
        gemv_avx512(a, lda, m, k, w, ldw, n, c, ldc, accumulate);
        return;
    }
    if (ck_has_avx2_fma()) {
        gemv_avx2(a, lda, m, k, w, ldw, n, c, ldc, accumulate);
        return;
    }
#endif
    gemv_portable(a, lda, m, k, w, ldw, n, c, ldc, accumulate);
}
