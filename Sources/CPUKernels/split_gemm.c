#include "ck_split_gemm.h"
#include "ck_features.h"
#include "ck_internal.h"

#include <stdlib.h>
#include <string.h>

// One split step on raw bits: the top 16 bits of x, and the exact remainder x - top. Non-finite x: the top half,
// quiet if NaN (a NaN whose payload sits in the low half would otherwise truncate to infinity), remainder 0.
static inline uint16_t split_step(float x, float *rest) {
    uint32_t u;
    memcpy(&u, &x, 4);
    if ((u & 0x7F800000u) == 0x7F800000u) {
        *rest = 0;
        return (uint16_t)(((u & 0x7FFFFFFFu) > 0x7F800000u ? (u | 0x00400000u) : u) >> 16);
    }
    const uint32_t top = u & 0xFFFF0000u;
    float t;
    memcpy(&t, &top, 4);
    *rest = x - t;
    return (uint16_t)(top >> 16);
}

void ck_split_f32_bf16x3(const float *x, size_t count, uint16_t *hi, uint16_t *mid, uint16_t *lo) {
    for (size_t i = 0; i < count; i++) {
        float r1, r2, r3;
        hi[i] = split_step(x[i], &r1);
        mid[i] = split_step(r1, &r2);
        lo[i] = split_step(r2, &r3);
    }
}

#if CK_X86
// Blocking (BLIS order): a panel of NC weight rows x KC inputs is packed once (4 MiB) and reused by every block of MC
// activation rows, whose three split parts (MC x KC x 3 bf16, 384 KiB, L2) are reused by every 32-column sliver of
// the panel. The micro-kernel holds a 32 x 32 Float32 block of C in four tiles. Chosen by measurement on a
// 2-core Sapphire Rapids VM (7B shapes): a long KC halves the passes over C (each pass loads and stores every C
// block: the main cost next to the tiles' own work), a wide NC splits the activations fewer times; 512/1024/128 was
// ~12 % slower.
enum { KC = 1024, NC = 2048, MC = 64, TILE = 512 /* bf16 entries of one 16 x 32 tile */ };

static size_t round_up32(size_t x) { return (x + 31) / 32 * 32; }

static inline __mmask32 mask32(size_t n) { return n >= 32 ? (__mmask32)0xFFFFFFFFu : (__mmask32)((1u << n) - 1); }

// The 16 x 16 transpose of 32-bit words: out[i] holds word i of every row (in row order).
CK_AVX512 static void transpose16(const __m512i r[16], __m512i out[16]) {
    __m512i t[16], u[16], v[16];
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_epi32(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_epi32(r[2 * i], r[2 * i + 1]);
    }
    // u[4g + q]: words q, q + 4, q + 8, q + 12 (one per 128-bit lane) of rows 4g ... 4g + 3.
    for (int g = 0; g < 4; g++) {
        u[4 * g] = _mm512_unpacklo_epi64(t[4 * g], t[4 * g + 2]);
        u[4 * g + 1] = _mm512_unpackhi_epi64(t[4 * g], t[4 * g + 2]);
        u[4 * g + 2] = _mm512_unpacklo_epi64(t[4 * g + 1], t[4 * g + 3]);
        u[4 * g + 3] = _mm512_unpackhi_epi64(t[4 * g + 1], t[4 * g + 3]);
    }
    // v: lanes of rows 0-7 (v[q], v[q + 4]) and rows 8-15 (v[q + 8], v[q + 12]) for words {q, q + 8}, {q + 4, q + 12}.
    for (int q = 0; q < 4; q++) {
        v[q] = _mm512_shuffle_i32x4(u[q], u[4 + q], 0x88);
        v[q + 4] = _mm512_shuffle_i32x4(u[q], u[4 + q], 0xDD);
        v[q + 8] = _mm512_shuffle_i32x4(u[8 + q], u[12 + q], 0x88);
        v[q + 12] = _mm512_shuffle_i32x4(u[8 + q], u[12 + q], 0xDD);
    }
    for (int q = 0; q < 4; q++) {
        out[q] = _mm512_shuffle_i32x4(v[q], v[q + 8], 0x88);
        out[q + 8] = _mm512_shuffle_i32x4(v[q], v[q + 8], 0xDD);
        out[q + 4] = _mm512_shuffle_i32x4(v[q + 4], v[q + 12], 0x88);
        out[q + 12] = _mm512_shuffle_i32x4(v[q + 4], v[q + 12], 0xDD);
    }
}

// Packs weight rows [j0, j0 + nj) x inputs [p0, p0 + kc) into B tiles: for each 16 rows and 32 inputs, one tile of
// 16 pair-rows, pair-row i holding (w[j][2i], w[j][2i + 1]) for the 16 j. Rows past nj and inputs past kc are 0.
CK_AVX512 static void pack_weights(const uint16_t *w, size_t ldw, size_t nj, size_t p0, size_t kc, uint16_t *dst) {
    const size_t kb_count = round_up32(kc) / 32, jb_count = round_up32(nj) / 16;
    for (size_t jb = 0; jb < jb_count; jb++) {
        for (size_t kb = 0; kb < kb_count; kb++) {
            const __mmask32 m = mask32(kc - kb * 32);
            __m512i r[16], out[16];
            for (int rr = 0; rr < 16; rr++) {
                const size_t j = jb * 16 + (size_t)rr;
                r[rr] = j < nj ? _mm512_maskz_loadu_epi16(m, w + j * ldw + p0 + kb * 32) : _mm512_setzero_si512();
            }
            transpose16(r, out);
            uint16_t *tile = dst + (jb * kb_count + kb) * TILE;
            for (int i = 0; i < 16; i++) _mm512_store_si512((void *)(tile + i * 32), out[i]);
        }
    }
}

// Sixteen lanes of split_step: the top halves as bf16 bits, the remainders in *rest.
CK_AVX512 static inline __m256i split16(__m512 x, __m512 *rest) {
    const __m512i u = _mm512_castps_si512(x);
    const __m512i exp_mask = _mm512_set1_epi32(0x7F800000);
    const __mmask16 special = _mm512_cmpeq_epi32_mask(_mm512_and_si512(u, exp_mask), exp_mask);
    const __mmask16 nan = _mm512_cmpgt_epu32_mask(_mm512_and_si512(u, _mm512_set1_epi32(0x7FFFFFFF)), exp_mask);
    const __m512i top = _mm512_and_si512(u, _mm512_set1_epi32((int)0xFFFF0000u));
    *rest = _mm512_maskz_sub_ps((__mmask16)~special, x, _mm512_castsi512_ps(top));
    const __m512i kept = _mm512_mask_or_epi32(top, nan, top, _mm512_set1_epi32(0x00400000));
    return _mm512_cvtepi32_epi16(_mm512_srli_epi32(kept, 16));
}

// Splits activation rows [0, rows) x inputs [p0, p0 + kc) into three sets of A tiles (part-major): for each part,
// 16 rows and 32 inputs, one tile of 16 rows x 32 bf16. Row r is row index[r] of `a` (row r when index is NULL).
// Rows from `rows` up to the padded block and inputs past kc are 0.
CK_AVX512 static void split_activations(const float *a, size_t lda, const int64_t *index, size_t rows, size_t p0,
                                        size_t kc, uint16_t *dst) {
    const size_t kb_count = round_up32(kc) / 32, mp = round_up32(rows);
    const size_t part_stride = (mp / 16) * kb_count * TILE;
    for (size_t r = 0; r < mp; r++) {
        // Padding rows read nothing (all-zero masks).
        const float *src = r < rows ? a + (size_t)(index ? index[r] : (int64_t)r) * lda + p0 : a;
        if (r + 2 < rows) {  // rows are far apart: fetch two ahead (measured: a fifth off the split's time)
            const char *ahead = (const char *)(a + (size_t)(index ? index[r + 2] : (int64_t)(r + 2)) * lda + p0);
            for (size_t off = 0; off < kc * sizeof(float); off += 64) _mm_prefetch(ahead + off, _MM_HINT_T0);
        }
        for (size_t kb = 0; kb < kb_count; kb++) {
            uint16_t *d = dst + ((r / 16) * kb_count + kb) * TILE + (r % 16) * 32;
            for (int half = 0; half < 2; half++) {
                const size_t c = kb * 32 + (size_t)half * 16;
                const size_t left = r < rows && c < kc ? kc - c : 0;
                const __mmask16 m = ck_lanes_mask16(left);
                __m512 x = _mm512_maskz_loadu_ps(m, src + c), r1, r2, r3;
                _mm256_store_si256((__m256i *)(d + half * 16), split16(x, &r1));
                _mm256_store_si256((__m256i *)(d + part_stride + half * 16), split16(r1, &r2));
                _mm256_store_si256((__m256i *)(d + 2 * part_stride + half * 16), split16(r2, &r3));
            }
        }
    }
}

CK_AMX static void configure_tiles(void) {
    ck_tile_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.palette = 1;
    for (int t = 0; t < 8; t++) {
        cfg.colsb[t] = 64;
        cfg.rows[t] = 16;
    }
    _tile_loadconfig(&cfg);
}

// C block (32 x 32, row stride ldc) (+)= A sliver · B sliver over kb_count steps of 32 inputs. Tiles: 0-3 C, 4-5 A
// (rows 0-15, 16-31 of one part), 6-7 B (columns 0-15, 16-31).
CK_AMX static void micro_kernel(const uint16_t *a_tiles, size_t part_stride, const uint16_t *b_tiles, size_t kb_count,
                                float *c, size_t ldc, int load_c) {
    const long cs = (long)(ldc * sizeof(float));
    if (load_c) {
        _tile_loadd(0, c, cs);
        _tile_loadd(1, c + 16, cs);
        _tile_loadd(2, c + 16 * ldc, cs);
        _tile_loadd(3, c + 16 * ldc + 16, cs);
    } else {
        _tile_zero(0);
        _tile_zero(1);
        _tile_zero(2);
        _tile_zero(3);
    }
    const size_t row_block = kb_count * TILE;  // from rows 0-15 to rows 16-31, and from columns 0-15 to 16-31
    for (size_t kb = 0; kb < kb_count; kb++) {
        _tile_loadd(6, b_tiles + kb * TILE, 64);
        _tile_loadd(7, b_tiles + row_block + kb * TILE, 64);
        for (size_t p = 0; p < 3; p++) {
            const uint16_t *ap = a_tiles + p * part_stride + kb * TILE;
            _tile_loadd(4, ap, 64);
            _tile_loadd(5, ap + row_block, 64);
            _tile_dpbf16ps(0, 4, 6);
            _tile_dpbf16ps(1, 4, 7);
            _tile_dpbf16ps(2, 5, 6);
            _tile_dpbf16ps(3, 5, 7);
        }
    }
    _tile_stored(0, c, cs);
    _tile_stored(1, c + 16, cs);
    _tile_stored(2, c + 16 * ldc, cs);
    _tile_stored(3, c + 16 * ldc + 16, cs);
}

CK_AMX int ck_amx_gemm_f32_bf16w_rows(const float *a, size_t lda, const int64_t *rows, size_t m, size_t k,
                                      const uint16_t *w, size_t ldw, size_t n, float *c, size_t ldc, int accumulate) {
    if (m == 0 || n == 0) return 0;
    if (k == 0) {
        if (!accumulate)
            for (size_t i = 0; i < m; i++) memset(c + i * ldc, 0, n * sizeof(float));
        return 0;
    }
    // Scratch sized to the problem (at most one full panel and block; 64-byte multiples for aligned_alloc).
    const size_t np = round_up32(n < NC ? n : NC), kp = round_up32(k < KC ? k : KC), mp = round_up32(m < MC ? m : MC);
    uint16_t *b_panel = aligned_alloc(64, np * kp * sizeof(uint16_t));
    uint16_t *a_block = aligned_alloc(64, 3 * mp * kp * sizeof(uint16_t));
    if (!b_panel || !a_block) {
        free(b_panel);
        free(a_block);
        return -1;
    }
    float edge[32 * 32];  // C blocks that overhang m or n go through here
    configure_tiles();
    for (size_t jc = 0; jc < n; jc += NC) {
        const size_t nj = n - jc < NC ? n - jc : NC;
        for (size_t pc = 0; pc < k; pc += KC) {
            const size_t kc = k - pc < KC ? k - pc : KC, kb_count = round_up32(kc) / 32;
            const int load_c = accumulate || pc > 0;
            pack_weights(w + jc * ldw, ldw, nj, pc, kc, b_panel);
            for (size_t ic = 0; ic < m; ic += MC) {
                const size_t mi = m - ic < MC ? m - ic : MC;
                const size_t part_stride = (round_up32(mi) / 16) * kb_count * TILE;
                if (rows) {
                    split_activations(a, lda, rows + ic, mi, pc, kc, a_block);
                } else {
                    split_activations(a + ic * lda, lda, NULL, mi, pc, kc, a_block);
                }
                for (size_t jr = 0; jr < nj; jr += 32) {
                    const uint16_t *b_tiles = b_panel + (jr / 16) * kb_count * TILE;
                    const size_t cols = nj - jr < 32 ? nj - jr : 32;
                    for (size_t ir = 0; ir < mi; ir += 32) {
                        const uint16_t *a_tiles = a_block + (ir / 16) * kb_count * TILE;
                        const size_t mr = mi - ir < 32 ? mi - ir : 32;
                        float *cb = c + (ic + ir) * ldc + jc + jr;
                        if (mr == 32 && cols == 32) {
                            micro_kernel(a_tiles, part_stride, b_tiles, kb_count, cb, ldc, load_c);
                            continue;
                        }
                        if (load_c) {
                            memset(edge, 0, sizeof edge);
                            for (size_t i = 0; i < mr; i++) memcpy(edge + i * 32, cb + i * ldc, cols * sizeof(float));
                        }
                        micro_kernel(a_tiles, part_stride, b_tiles, kb_count, edge, 32, load_c);
                        for (size_t i = 0; i < mr; i++) memcpy(cb + i * ldc, edge + i * 32, cols * sizeof(float));
                    }
                }
            }
        }
    }
    _tile_release();
    free(b_panel);
    free(a_block);
    return 0;
}
#else
int ck_amx_gemm_f32_bf16w_rows(const float *a, size_t lda, const int64_t *rows, size_t m, size_t k,
                               const uint16_t *w, size_t ldw, size_t n, float *c, size_t ldc, int accumulate) {
    (void)a; (void)lda; (void)rows; (void)m; (void)k; (void)w; (void)ldw; (void)n; (void)c; (void)ldc;
    (void)accumulate;
    __builtin_trap();  // callers check ck_has_amx_bf16() first
}
#endif

int ck_amx_gemm_f32_bf16w(const float *a, size_t lda, size_t m, size_t k, const uint16_t *w, size_t ldw, size_t n,
                          float *c, size_t ldc, int accumulate) {
    return ck_amx_gemm_f32_bf16w_rows(a, lda, NULL, m, k, w, ldw, n, c, ldc, accumulate);
}
