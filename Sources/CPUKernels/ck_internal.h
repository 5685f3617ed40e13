// Shared by the kernel files; not part of the public headers.
#ifndef CK_INTERNAL_H
#define CK_INTERNAL_H

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#define CK_X86 1
#include <immintrin.h>
// Functions compiled for AVX-512 (F, BW, VL, DQ) whatever the target-wide flags; call only after ck_has_avx512().
#define CK_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma")))
// The same plus AVX512-BF16 conversions and AMX tiles; call only after ck_has_amx_bf16().
// Functions compiled for AVX2 + FMA (and F16C for half conversions); call only after ck_has_avx2_fma().
#define CK_AVX2 __attribute__((target("avx2,fma,f16c")))
#define CK_AMX __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma,avx512bf16,amx-tile,amx-bf16")))

#include <stddef.h>
#include <stdint.h>
// The mask of the first min(n, 16) lanes (a row's tail step).
static inline __mmask16 ck_lanes_mask16(size_t n) { return n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1); }

// The sum of the eight lanes (AVX2 kernels' horizontal reduction).
CK_AVX2 static inline float ck_hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

// c[0..3] (+)= the lane sums of four accumulators (the GEMV kernels' four weight rows of one output row).
CK_AVX512 static inline void ck_store_sums4(float *c, __m512 s0, __m512 s1, __m512 s2, __m512 s3, int accumulate) {
    const float r[4] = {_mm512_reduce_add_ps(s0), _mm512_reduce_add_ps(s1), _mm512_reduce_add_ps(s2),
                        _mm512_reduce_add_ps(s3)};
    for (int q = 0; q < 4; q++) c[q] = accumulate ? c[q] + r[q] : r[q];
}

// The 64-byte operand of LDTILECFG (palette 1): bytes per row and rows of each of the eight tiles.
typedef struct {
    uint8_t palette;
    uint8_t start_row;
    uint8_t reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} __attribute__((packed)) ck_tile_config;
#else
#define CK_X86 0
#endif

#endif
