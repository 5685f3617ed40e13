// CPU feature checks for the hand-written kernels of this target. Every kernel has a portable C version and, on
// x86-64, an AVX-512 (and for GEMM an AMX) version compiled with a per-function `target` attribute, so the package
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

/// Switches the fast paths off (0) or back on (1) for the calling thread only, so that a test can compare both
/// while other threads keep the fast ones. The portable versions then run; results agree with the fast ones up to
/// summation order. Work that a kernel's caller splits over other threads follows those threads' setting.
void ck_set_fast_paths_enabled(int enabled);

#ifdef __cplusplus
}
#endif

#endif
