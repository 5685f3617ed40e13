// CPU feature checks for the hand-written kernels of this target. Every kernel has a portable C version and, on
// x86-64, an AVX-512 (and for GEMM an AMX; for the GEMV and the attention rows also an AVX2 + FMA) version compiled with a per-function `target` attribute, so the package
// still builds for baseline x86-64 and picks the fast path at run time.
#ifndef CK_FEATURES_H
#define CK_FEATURES_H

#ifdef __cplusplus
extern "C" {
#endif

/// 1 when the CPU and the OS support AVX-512 F, BW, VL and DQ (cpuid + XCR0), else 0. Cached after the first call.
int ck_has_avx512(void);

/// 1 when AMX tiles with BF16 are usable by this process: the CPU has AMX-TILE and AMX-BF16 and the kernel granted
/// the tile-data permission (Linux `arch_prctl(ARCH_REQ_XCOMP_PERM)`). Cached after the first call; 0 elsewhere.
int ck_has_amx_bf16(void);

/// 1 when AVX-512 is usable (as ck_has_avx512) and the CPU has AVX512-BF16 (cpuid 7.1 EAX bit 5: VDPBF16PS, the
/// bf16 dot product of ck_bf16_dot_gemm.h). Cached; 0 while the AVX-512 paths are switched off.
int ck_has_avx512_bf16(void);

/// 1 when the CPU and the OS support AVX2 and FMA (cpuid + XCR0), else 0. Cached after the first call. The AVX2
/// kernels (bf16 GEMV, attention rows) run where this holds and AVX-512 does not (or is switched off).
int ck_has_avx2_fma(void);

/// 1 when the environment variable OMNISIFT_DISABLE_AVX512 is set to anything but "" or "0": ck_has_avx512 and
/// ck_has_amx_bf16 then answer 0 for the whole process, which runs as on an AVX2-only CPU. Read once.
int ck_avx512_disabled_by_env(void);

/// 1 when OMNISIFT_DISABLE_AVX2 is set to anything but "" or "0": ck_has_avx2_fma then answers 0 and our AVX2
/// kernels stay off (with OMNISIFT_DISABLE_AVX512 too, the process runs as before they existed; to measure them).
int ck_avx2_disabled_by_env(void);

/// Switches the AVX-512 and AMX paths off (0) or back on (1) for the calling thread only; the AVX2 (or portable)
/// versions then run. For tests comparing the AVX2 kernels with the others on one machine.
void ck_set_avx512_enabled(int enabled);

/// Switches the fast paths off (0) or back on (1) for the calling thread only, so that a test can compare both
/// while other threads keep the fast ones. The portable versions then run; results agree with the fast ones up to
/// summation order. Work that a kernel's caller splits over other threads follows those threads' setting.
void ck_set_fast_paths_enabled(int enabled);

#ifdef __cplusplus
}
#endif

#endif
