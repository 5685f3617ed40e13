// The exp shared by the kernels (softmax, online softmax, SiLU): scalar, eight- and sixteen-lane versions of one
// algorithm, so the portable, AVX2 and AVX-512 paths agree to rounding. Internal: not part of the public headers.
#ifndef CK_EXP_H
#define CK_EXP_H

#include "ck_internal.h"

#include <stdint.h>
#include <string.h>

// exp: clamp to [-87.3, 88.3]; n = round(x·log2 e) with the 1.5·2^23 trick (the integer lands in the low mantissa
// bits); r = x - n·ln2 in two steps (ln2 = C1 - C2, C1 exact in few bits); e^r = 1 + r + r²·P(r); times 2^n built
// in the exponent bits (n in [-126, 127] after the clamp, so no overflow or subnormal scale).
#define CK_EXP_LO (-87.3f)
#define CK_EXP_HI 88.3f
#define CK_LOG2E 1.44269504088896341f
#define CK_MAGIC 12582912.0f
#define CK_LN2_C1 0.693359375f
#define CK_LN2_C2 (-2.12194440e-4f)
#define CK_P0 1.9875691500e-4f
#define CK_P1 1.3981999507e-3f
#define CK_P2 8.3334519073e-3f
#define CK_P3 4.1665795894e-2f
#define CK_P4 1.6666665459e-1f
#define CK_P5 5.0000001201e-1f

static inline float bits_to_float(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static inline int32_t float_to_bits(float f) {
    int32_t u;
    memcpy(&u, &f, 4);
    return u;
}

// Branch-free (selects only), so loops over it vectorise with the target-wide flags. NaN stays NaN: the
// comparisons are false for it and every later step propagates it.
static inline float exp_portable(float x) {
    float xc = x < CK_EXP_LO ? CK_EXP_LO : x;
    xc = xc > CK_EXP_HI ? CK_EXP_HI : xc;
    const float shifted = xc * CK_LOG2E + CK_MAGIC;
    const float n = shifted - CK_MAGIC;
    const int32_t ni = float_to_bits(shifted) - float_to_bits(CK_MAGIC);
    float r = xc - n * CK_LN2_C1;
    r = r - n * CK_LN2_C2;
    float p = CK_P0;
    p = p * r + CK_P1;
    p = p * r + CK_P2;
    p = p * r + CK_P3;
    p = p * r + CK_P4;
    p = p * r + CK_P5;
    const float er = p * r * r + r + 1.0f;
    return er * bits_to_float((uint32_t)(ni + 127) << 23);
}

#if CK_X86
// The same steps on sixteen lanes, with FMA. max/min take the clamp bound first: for a NaN lane vmaxps/vminps
// return the second operand, so NaN goes through (and propagates) as in exp_portable.
CK_AVX512 static inline __m512 exp16(__m512 x) {
    __m512 xc = _mm512_max_ps(_mm512_set1_ps(CK_EXP_LO), x);
    xc = _mm512_min_ps(_mm512_set1_ps(CK_EXP_HI), xc);
    const __m512 magic = _mm512_set1_ps(CK_MAGIC);
    const __m512 shifted = _mm512_fmadd_ps(xc, _mm512_set1_ps(CK_LOG2E), magic);
    const __m512 n = _mm512_sub_ps(shifted, magic);
    const __m512i ni = _mm512_sub_epi32(_mm512_castps_si512(shifted), _mm512_castps_si512(magic));
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(CK_LN2_C1), xc);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(CK_LN2_C2), r);
    __m512 p = _mm512_set1_ps(CK_P0);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(CK_P1));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(CK_P2));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(CK_P3));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(CK_P4));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(CK_P5));
    const __m512 er = _mm512_add_ps(_mm512_fmadd_ps(_mm512_mul_ps(p, r), r, r), _mm512_set1_ps(1.0f));
    const __m512i scale = _mm512_slli_epi32(_mm512_add_epi32(ni, _mm512_set1_epi32(127)), 23);
    return _mm512_mul_ps(er, _mm512_castsi512_ps(scale));
}

// The same steps on eight lanes (AVX2 + FMA).
CK_AVX2 static inline __m256 exp8(__m256 x) {
    __m256 xc = _mm256_max_ps(_mm256_set1_ps(CK_EXP_LO), x);
    xc = _mm256_min_ps(_mm256_set1_ps(CK_EXP_HI), xc);
    const __m256 magic = _mm256_set1_ps(CK_MAGIC);
    const __m256 shifted = _mm256_fmadd_ps(xc, _mm256_set1_ps(CK_LOG2E), magic);
    const __m256 n = _mm256_sub_ps(shifted, magic);
    const __m256i ni = _mm256_sub_epi32(_mm256_castps_si256(shifted), _mm256_castps_si256(magic));
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(CK_LN2_C1), xc);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(CK_LN2_C2), r);
    __m256 p = _mm256_set1_ps(CK_P0);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(CK_P1));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(CK_P2));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(CK_P3));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(CK_P4));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(CK_P5));
    const __m256 er = _mm256_add_ps(_mm256_fmadd_ps(_mm256_mul_ps(p, r), r, r), _mm256_set1_ps(1.0f));
    const __m256i scale = _mm256_slli_epi32(_mm256_add_epi32(ni, _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(er, _mm256_castsi256_ps(scale));
}
#endif

#endif
