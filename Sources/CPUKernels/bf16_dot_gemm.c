#include "ck_bf16_dot_gemm.h"
#include "ck_features.h"
#include "ck_internal.h"

#include <stdlib.h>
#include <string.h>

// Blocking (Zen 4 / Sapphire Rapids L1 32-48 KiB, L2 1-2 MiB): a micro-tile of MR rows x NR columns keeps 24
// accumulators in registers; K is taken KC_PAIRS bf16 pairs at a time (an A micro-panel of 12 x 256 values, 6 KiB,
// stays in L1 while it meets the NC_COLS / NR packed W micro-panels of 16 KiB each, which stay in L2).
enum { MR = 12, NR = 32, KC_PAIRS = 128, NC_COLS = 256 };

size_t ck_bf16_dot_gemm_row_block(void) { return MR; }

static inline float widen(uint16_t b) {
    const uint32_t u = (uint32_t)b << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

void ck_bf16_dot_gemm_reference(const uint16_t *a, size_t lda, size_t m, size_t k, const uint16_t *w, size_t ldw,
                                size_t n, float *c, size_t ldc, int accumulate) {
    for (size_t i = 0; i < m; i++) {
        const uint16_t *x = a + i * lda;
        for (size_t j = 0; j < n; j++) {
            const uint16_t *wj = w + j * ldw;
            float s = 0;
            size_t t = 0;
            for (; t + 2 <= k; t += 2) {
                s += widen(x[t + 1]) * widen(wj[t + 1]);
                s += widen(x[t]) * widen(wj[t]);
            }
            if (t < k) s += widen(x[t]) * widen(wj[t]);
            c[i * ldc + j] = accumulate ? c[i * ldc + j] + s : s;
        }
    }
}

#if CK_X86
#define CK_AVX512BF16 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma,avx512bf16")))

// W[n0 .. n0 + ncols, k0 .. k0 + 2·pairs] into NR-column micro-panels, each [pairs][NR] of 32-bit (w[k], w[k+1])
// pairs: the operand layout of VDPBF16PS. Columns past ncols and the value past k (odd k) are zero.
static void pack_w(const uint16_t *w, size_t ldw, size_t k, size_t k0, size_t pairs, size_t ncols, uint32_t *dst) {
    const size_t panels = (ncols + NR - 1) / NR;
    const int full = k0 + 2 * pairs <= k;
    for (size_t jp = 0; jp < panels; jp++) {
        uint32_t *panel = dst + jp * pairs * NR;
        for (size_t jj = 0; jj < NR; jj++) {
            const size_t col = jp * NR + jj;
            if (col >= ncols) {
                for (size_t p = 0; p < pairs; p++) panel[p * NR + jj] = 0;
                continue;
            }
            const uint16_t *row = w + col * ldw + k0;
            size_t p = 0;
            const size_t whole = full ? pairs : pairs - 1;
            for (; p < whole; p++) {
                uint32_t v;
                memcpy(&v, row + 2 * p, 4);
                panel[p * NR + jj] = v;
            }
            if (p < pairs) panel[p * NR + jj] = row[2 * p];  // odd k: the last pair's second value is 0
        }
    }
}

// One MR x NR tile over `pairs` pairs: C (+)= A · B, columns masked by (m0, m1), rows below mr stored.
CK_AVX512BF16 static inline __attribute__((always_inline)) void
micro(const uint16_t *a, size_t lda, const uint32_t *b, size_t pairs, float *c, size_t ldc, size_t mr,
      __mmask16 m0, __mmask16 m1, int add) {
    __m512 acc0[MR], acc1[MR];
    _Pragma("GCC unroll 12") for (int i = 0; i < MR; i++) acc0[i] = acc1[i] = _mm512_setzero_ps();
    for (size_t p = 0; p < pairs; p++) {
        const __m512bh b0 = (__m512bh)_mm512_loadu_si512((const void *)(b + p * NR));
        const __m512bh b1 = (__m512bh)_mm512_loadu_si512((const void *)(b + p * NR + 16));
        _Pragma("GCC unroll 12") for (int i = 0; i < MR; i++) {
            uint32_t v;
            memcpy(&v, a + i * lda + 2 * p, 4);
            const __m512bh av = (__m512bh)_mm512_set1_epi32((int)v);
            acc0[i] = _mm512_dpbf16_ps(acc0[i], av, b0);
            acc1[i] = _mm512_dpbf16_ps(acc1[i], av, b1);
        }
    }
    _Pragma("GCC unroll 12") for (int i = 0; i < MR; i++) {
        if ((size_t)i >= mr) break;
        float *row = c + i * ldc;
        __m512 r0 = acc0[i], r1 = acc1[i];
        if (add) {
            r0 = _mm512_add_ps(r0, _mm512_maskz_loadu_ps(m0, row));
            r1 = _mm512_add_ps(r1, _mm512_maskz_loadu_ps(m1, row + 16));
        }
        _mm512_mask_storeu_ps(row, m0, r0);
        _mm512_mask_storeu_ps(row + 16, m1, r1);
    }
}

CK_AVX512BF16 static void gemm_avx512bf16(const uint16_t *a, size_t lda, size_t m, size_t k, const uint16_t *w,
                                          size_t ldw, size_t n, float *c, size_t ldc, int accumulate,
                                          uint32_t *pack) {
    const size_t total_pairs = (k + 1) / 2;
    for (size_t p0 = 0; p0 < total_pairs; p0 += KC_PAIRS) {
        const size_t pairs = total_pairs - p0 < KC_PAIRS ? total_pairs - p0 : KC_PAIRS;
        const int add = accumulate || p0 > 0;
        for (size_t n0 = 0; n0 < n; n0 += NC_COLS) {
            const size_t ncols = n - n0 < NC_COLS ? n - n0 : NC_COLS;
            pack_w(w + n0 * ldw, ldw, k, 2 * p0, pairs, ncols, pack);
            const size_t panels = (ncols + NR - 1) / NR;
            for (size_t i0 = 0; i0 < m; i0 += MR) {
                const size_t mr = m - i0 < MR ? m - i0 : MR;
                const uint16_t *ai = a + i0 * lda + 2 * p0;
                for (size_t jp = 0; jp < panels; jp++) {
                    const size_t cols = ncols - jp * NR < NR ? ncols - jp * NR : NR;
                    const __mmask16 m0 = ck_lanes_mask16(cols);
                    const __mmask16 m1 = cols > 16 ? ck_lanes_mask16(cols - 16) : 0;
                    micro(ai, lda, pack + jp * pairs * NR, pairs, c + i0 * ldc + n0 + jp * NR, ldc, mr, m0, m1, add);
                }
            }
        }
    }
}

// Few rows of A (decode steps): no packing, each weight row streamed once from its PyTorch layout, 32 values per
// instruction, four weight rows at a time against every row of A (re-read from L1). The k % 32 tail is a masked
// load of both operands (masked lanes are zero and never read, so neither A's padding nor W past k is touched).
CK_AVX512BF16 static void gemv_avx512bf16(const uint16_t *a, size_t lda, size_t m, size_t k, const uint16_t *w,
                                          size_t ldw, size_t n, float *c, size_t ldc, int accumulate) {
    const size_t kf = k & ~(size_t)31;
    const __mmask32 tail = (__mmask32)((1ull << (k - kf)) - 1);
#define CK_DOT_STEP(acc, x, wr, t) acc = _mm512_dpbf16_ps(acc, x, (__m512bh)_mm512_loadu_si512((const void *)((wr) + (t))))
#define CK_DOT_TAIL(acc, x, wr) acc = _mm512_dpbf16_ps(acc, x, (__m512bh)_mm512_maskz_loadu_epi16(tail, (wr) + kf))
    size_t j = 0;
    for (; j + 4 <= n; j += 4) {
        const uint16_t *w0 = w + j * ldw, *w1 = w0 + ldw, *w2 = w1 + ldw, *w3 = w2 + ldw;
        for (size_t i = 0; i < m; i++) {
            const uint16_t *x = a + i * lda;
            __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
            for (size_t t = 0; t < kf; t += 32) {
                const __m512bh xv = (__m512bh)_mm512_loadu_si512((const void *)(x + t));
                CK_DOT_STEP(s0, xv, w0, t);
                CK_DOT_STEP(s1, xv, w1, t);
                CK_DOT_STEP(s2, xv, w2, t);
                CK_DOT_STEP(s3, xv, w3, t);
            }
            if (kf < k) {
                const __m512bh xv = (__m512bh)_mm512_maskz_loadu_epi16(tail, x + kf);
                CK_DOT_TAIL(s0, xv, w0);
                CK_DOT_TAIL(s1, xv, w1);
                CK_DOT_TAIL(s2, xv, w2);
                CK_DOT_TAIL(s3, xv, w3);
            }
            ck_store_sums4(c + i * ldc + j, s0, s1, s2, s3, accumulate);
        }
    }
    for (; j < n; j++) {
        const uint16_t *wj = w + j * ldw;
        for (size_t i = 0; i < m; i++) {
            const uint16_t *x = a + i * lda;
            __m512 s = _mm512_setzero_ps();
            for (size_t t = 0; t < kf; t += 32)
                CK_DOT_STEP(s, (__m512bh)_mm512_loadu_si512((const void *)(x + t)), wj, t);
            if (kf < k) CK_DOT_TAIL(s, (__m512bh)_mm512_maskz_loadu_epi16(tail, x + kf), wj);
            const float r = _mm512_reduce_add_ps(s);
            c[i * ldc + j] = accumulate ? c[i * ldc + j] + r : r;
        }
    }
#undef CK_DOT_STEP
#undef CK_DOT_TAIL
}
#endif

int ck_bf16_dot_gemm(const uint16_t *a, size_t lda, size_t m, size_t k, const uint16_t *w, size_t ldw, size_t n,
                     float *c, size_t ldc, int accumulate) {
#if CK_X86
    if (!ck_has_avx512_bf16()) return -1;
    if (m == 0 || n == 0) return 0;
    if (k == 0) {
        if (!accumulate)
            for (size_t i = 0; i < m; i++) memset(c + i * ldc, 0, n * sizeof(float));
        return 0;
    }
    uint32_t *pack = aligned_alloc(64, (size_t)KC_PAIRS * NC_COLS * sizeof(uint32_t));
    if (!pack) return -1;
    gemm_avx512bf16(a, lda, m, k, w, ldw, n, c, ldc, accumulate, pack);
    free(pack);
    return 0;
#else
    (void)a; (void)lda; (void)m; (void)k; (void)w; (void)ldw; (void)n; (void)c; (void)ldc; (void)accumulate;
    return -1;
#endif
}

int ck_bf16_dot_gemv(const uint16_t *a, size_t lda, size_t m, size_t k, const uint16_t *w, size_t ldw, size_t n,
                     float *c, size_t ldc, int accumulate) {
#if CK_X86
    if (!ck_has_avx512_bf16()) return -1;
    gemv_avx512bf16(a, lda, m, k, w, ldw, n, c, ldc, accumulate);
    return 0;
#else
    (void)a; (void)lda; (void)m; (void)k; (void)w; (void)ldw; (void)n; (void)c; (void)ldc; (void)accumulate;
    return -1;
#endif
}
