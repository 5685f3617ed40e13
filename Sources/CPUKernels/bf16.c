#include "ck_bf16.h"
#include "ck_features.h"
#include "ck_internal.h"

#include <stdlib.h>
#include <string.h>

static size_t round_up32(size_t x) { return (x + 31) / 32 * 32; }

uint16_t ck_f32_to_bf16(float x) {
    uint32_t u;
    memcpy(&u, &x, 4);
    if ((u & 0x7FFFFFFFu) > 0x7F800000u) return (uint16_t)((u >> 16) | 0x0040u);  // NaN: quiet, sign kept
    u += 0x7FFFu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

#if CK_X86
// Sixteen Float32 lanes to bf16, exactly as ck_f32_to_bf16 (integer arithmetic: no DAZ/FTZ of the cvtneps
// instructions).
CK_AVX512 static inline __m256i bf16x16(__m512 x) {
    __m512i u = _mm512_castps_si512(x);
    __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
    __m512i rounded = _mm512_add_epi32(u, _mm512_add_epi32(lsb, _mm512_set1_epi32(0x7FFF)));
    __m512i abs = _mm512_and_si512(u, _mm512_set1_epi32(0x7FFFFFFF));
    __mmask16 nan = _mm512_cmpgt_epu32_mask(abs, _mm512_set1_epi32(0x7F800000));
    __m512i quiet = _mm512_or_si512(u, _mm512_set1_epi32(0x00400000));
    __m512i r = _mm512_mask_mov_epi32(rounded, nan, quiet);
    return _mm512_cvtepi32_epi16(_mm512_srli_epi32(r, 16));
}

CK_AVX512 static void rows_to_bf16_avx512(const float *src, size_t lds, const int64_t *rows, size_t n_rows,
                                          size_t k, uint16_t *dst, size_t ldd) {
    for (size_t r = 0; r < n_rows; r++) {
        const float *s = src + (size_t)(rows ? rows[r] : (int64_t)r) * lds;
        uint16_t *d = dst + r * ldd;
        size_t c = 0;
        for (; c + 16 <= k; c += 16) _mm256_storeu_si256((__m256i *)(d + c), bf16x16(_mm512_loadu_ps(s + c)));
        if (c < k) {
            __mmask16 m = ck_lanes_mask16(k - c);
            _mm256_mask_storeu_epi16(d + c, m, bf16x16(_mm512_maskz_loadu_ps(m, s + c)));
        }
        for (c = k; c < ldd; c++) d[c] = 0;
    }
}

CK_AVX512 static void round_avx512(float *x, size_t n) {
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512i b = _mm512_cvtepu16_epi32(bf16x16(_mm512_loadu_ps(x + i)));
        _mm512_storeu_ps(x + i, _mm512_castsi512_ps(_mm512_slli_epi32(b, 16)));
    }
    for (; i < n; i++) {
        uint32_t u = (uint32_t)ck_f32_to_bf16(x[i]) << 16;
        memcpy(x + i, &u, 4);
    }
}
#endif

void ck_f32_rows_to_bf16(const float *src, size_t lds, const int64_t *rows, size_t n_rows, size_t k,
                         uint16_t *dst, size_t ldd) {
#if CK_X86
    if (ck_has_avx512()) {
        rows_to_bf16_avx512(src, lds, rows, n_rows, k, dst, ldd);
        return;
    }
#endif
    for (size_t r = 0; r < n_rows; r++) {
        const float *s = src + (size_t)(rows ? rows[r] : (int64_t)r) * lds;
        uint16_t *d = dst + r * ldd;
        for (size_t c = 0; c < k; c++) d[c] = ck_f32_to_bf16(s[c]);
        for (size_t c = k; c < ldd; c++) d[c] = 0;
    }
}

void ck_round_to_bf16(float *x, size_t n) {
#if CK_X86
    if (ck_has_avx512()) {
        round_avx512(x, n);
        return;
    }
#endif
    for (size_t i = 0; i < n; i++) {
        uint32_t u = (uint32_t)ck_f32_to_bf16(x[i]) << 16;
        memcpy(x + i, &u, 4);
    }
}

size_t ck_packed_bf16_count(size_t n, size_t k) { return round_up32(n) * round_up32(k); }

void ck_pack_bf16_weight(const float *w, size_t n, size_t k, uint16_t *dst) {
    const size_t np = round_up32(n), kp = round_up32(k);
    for (size_t jb = 0; jb < np / 16; jb++) {
        for (size_t i2 = 0; i2 < kp / 2; i2++) {
            uint16_t *d = dst + (jb * (kp / 2) + i2) * 32;
            for (size_t jj = 0; jj < 16; jj++) {
                const size_t j = jb * 16 + jj;
                for (size_t p = 0; p < 2; p++) {
                    const size_t i = 2 * i2 + p;
                    d[2 * jj + p] = (j < n && i < k) ? ck_f32_to_bf16(w[j * k + i]) : 0;
                }
            }
        }
    }
}

#if CK_X86
// Tiles: 0-3 accumulators (2 x 2 blocks of 16 x 16 Float32), 4-5 A (16 rows x 32 bf16), 6-7 B (16 pair-rows).
// `rows` is the number of A rows this configuration covers (1...32).
CK_AMX static void configure(int rows) {
    ck_tile_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.palette = 1;
    const int top = rows < 16 ? rows : 16, bottom = rows - top;
    for (int t = 0; t < 8; t++) cfg.colsb[t] = 64;
    cfg.rows[0] = cfg.rows[1] = (uint8_t)top;
    cfg.rows[2] = cfg.rows[3] = (uint8_t)(bottom > 0 ? bottom : 1);
    cfg.rows[4] = (uint8_t)top;
    cfg.rows[5] = (uint8_t)(bottom > 0 ? bottom : 1);
    cfg.rows[6] = cfg.rows[7] = 16;
    _tile_loadconfig(&cfg);
}

// One block of up to 32 rows (`rows`) by 32 columns. With rows <= 16 the bottom tiles are not touched.
#define CK_BLOCK(FULL)                                                                                       \
    do {                                                                                                     \
        _tile_zero(0);                                                                                       \
        _tile_zero(1);                                                                                       \
        if (FULL) { _tile_zero(2); _tile_zero(3); }                                                          \
        for (size_t kk = 0; kk < kp; kk += 32) {                                                             \
            _tile_loadd(4, a + i * lda + kk, (long)(lda * 2));                                               \
            if (FULL) _tile_loadd(5, a + (i + 16) * lda + kk, (long)(lda * 2));                              \
            _tile_loadd(6, bp + ((j / 16) * (kp / 2) + kk / 2) * 32, 64);                                    \
            _tile_loadd(7, bp + ((j / 16 + 1) * (kp / 2) + kk / 2) * 32, 64);                                \
            _tile_dpbf16ps(0, 4, 6);                                                                         \
            _tile_dpbf16ps(1, 4, 7);                                                                         \
            if (FULL) { _tile_dpbf16ps(2, 5, 6); _tile_dpbf16ps(3, 5, 7); }                                  \
        }                                                                                                    \
        _tile_stored(0, c + i * ldc + j, (long)(ldc * 4));                                                   \
        _tile_stored(1, c + i * ldc + j + 16, (long)(ldc * 4));                                              \
        if (FULL) {                                                                                          \
            _tile_stored(2, c + (i + 16) * ldc + j, (long)(ldc * 4));                                        \
            _tile_stored(3, c + (i + 16) * ldc + j + 16, (long)(ldc * 4));                                   \
        }                                                                                                    \
    } while (0)

CK_AMX void ck_amx_gemm_bf16(const uint16_t *a, size_t lda, size_t m, size_t kp, const uint16_t *bp, size_t np,
                             float *c, size_t ldc) {
    // Panels of 128 output columns keep their packed weights (128 x kp bf16) in L2 while A streams past.
    const size_t panel = 128;
    const size_t full_rows = m / 32 * 32;
    if (full_rows > 0) {
        configure(32);
        for (size_t j0 = 0; j0 < np; j0 += panel) {
            const size_t j1 = j0 + panel < np ? j0 + panel : np;
            for (size_t i = 0; i < full_rows; i += 32)
                for (size_t j = j0; j < j1; j += 32) CK_BLOCK(1);
        }
    }
    if (full_rows < m) {
        const int rest = (int)(m - full_rows);
        configure(rest);
        const size_t i = full_rows;
        for (size_t j = 0; j < np; j += 32) {
            if (rest > 16) CK_BLOCK(1); else CK_BLOCK(0);
        }
    }
    _tile_release();
}

int ck_amx_linear_rows(const float *src, size_t lds, const int64_t *rows, size_t m, size_t k, const uint16_t *bp,
                       size_t np, float *c, size_t ldc) {
    // 128 rows of bf16 (at most 128 x kp x 2 bytes, 0.9 MiB for k = 3584) plus a 128-column weight panel fit in L2.
    const size_t block = 128, kp = round_up32(k);
    uint16_t *buf = (uint16_t *)malloc(block * kp * sizeof(uint16_t));
    if (!buf) return -1;
    for (size_t r0 = 0; r0 < m; r0 += block) {
        const size_t rb = m - r0 < block ? m - r0 : block;
        if (rows) {
            ck_f32_rows_to_bf16(src, lds, rows + r0, rb, k, buf, kp);
        } else {
            ck_f32_rows_to_bf16(src + r0 * lds, lds, NULL, rb, k, buf, kp);
        }
        ck_amx_gemm_bf16(buf, kp, rb, kp, bp, np, c + r0 * ldc, ldc);
    }
    free(buf);
    return 0;
}
#else
int ck_amx_linear_rows(const float *src, size_t lds, const int64_t *rows, size_t m, size_t k, const uint16_t *bp,
                       size_t np, float *c, size_t ldc) {
    (void)src; (void)lds; (void)rows; (void)m; (void)k; (void)bp; (void)np; (void)c; (void)ldc;
    __builtin_trap();  // callers check ck_has_amx_bf16() first
}

void ck_amx_gemm_bf16(const uint16_t *a, size_t lda, size_t m, size_t kp, const uint16_t *bp, size_t np,
                      float *c, size_t ldc) {
    (void)a; (void)lda; (void)m; (void)kp; (void)bp; (void)np; (void)c; (void)ldc;
    __builtin_trap();  // callers check ck_has_amx_bf16() first
}
#endif
