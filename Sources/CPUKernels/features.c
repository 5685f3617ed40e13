#include "ck_features.h"
#include "ck_internal.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#if CK_X86
#include <cpuid.h>
#include <unistd.h>
#include <sys/syscall.h>
#endif

// Per thread, so a test can compare both paths while other threads keep the fast ones.
static _Thread_local int fast_paths_enabled = 1;

void ck_set_fast_paths_enabled(int enabled) { fast_paths_enabled = enabled ? 1 : 0; }

#if CK_X86
static unsigned long long read_xcr0(void) {
    unsigned int eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((unsigned long long)edx << 32) | eax;
}

static int detect_avx512(void) {
    unsigned int a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    if (!(c & (1u << 27))) return 0;  // OSXSAVE
    unsigned long long xcr0 = read_xcr0();
    // SSE, AVX, opmask, ZMM_Hi256, Hi16_ZMM state enabled by the OS.
    if ((xcr0 & 0xE6) != 0xE6) return 0;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    const unsigned int f = 1u << 16, dq = 1u << 17, bw = 1u << 30, vl = 1u << 31;
    return (b & f) && (b & dq) && (b & bw) && (b & vl);
}

static int detect_avx2_fma(void) {
    unsigned int a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    const unsigned int fma = 1u << 12, osxsave = 1u << 27, avx = 1u << 28;
    if (!(c & fma) || !(c & osxsave) || !(c & avx)) return 0;
    if ((read_xcr0() & 0x6) != 0x6) return 0;  // SSE and AVX state enabled by the OS
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    return (b & (1u << 5)) != 0;  // AVX2
}

static int detect_avx512_bf16(void) {
    if (!detect_avx512()) return 0;
    unsigned int a, b, c, d;
    if (!__get_cpuid_count(7, 1, &a, &b, &c, &d)) return 0;
    return (a & (1u << 5)) != 0;  // AVX512_BF16
}

static int detect_amx_bf16(void) {
    if (!detect_avx512()) return 0;
    unsigned int a, b, c, d;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    const unsigned int amx_bf16 = 1u << 22, amx_tile = 1u << 24;
    if (!(d & amx_bf16) || !(d & amx_tile)) return 0;
#if defined(__linux__)
    // The kernel hands out the 8 KiB tile state only on request (Linux 5.16+).
    const long arch_req_xcomp_perm = 0x1023, xfeature_xtiledata = 18;
    if (syscall(SYS_arch_prctl, arch_req_xcomp_perm, xfeature_xtiledata) != 0) return 0;
    // XCR0 bits 17 (XTILECFG) and 18 (XTILEDATA).
    return (read_xcr0() & (3ull << 17)) == (3ull << 17);
#else
    return 0;
#endif
}
#endif

#if !CK_X86
static int detect_avx512(void) { return 0; }
static int detect_avx2_fma(void) { return 0; }
static int detect_amx_bf16(void) { return 0; }
static int detect_avx512_bf16(void) { return 0; }
#endif

// Per thread too: a test can run the AVX2 versions on an AVX-512 machine while other threads keep AVX-512.
static _Thread_local int avx512_enabled = 1;

void ck_set_avx512_enabled(int enabled) { avx512_enabled = enabled ? 1 : 0; }

// 1 when environment variable `name` is set to anything but "" or "0"; read once into `state`.
static int env_flag(atomic_int *state, const char *name) {
    int s = atomic_load(state);
    if (s < 0) {
        const char *v = getenv(name);
        s = (v != NULL && v[0] != '\0' && strcmp(v, "0") != 0) ? 1 : 0;
        atomic_store(state, s);
    }
    return s;
}

static atomic_int avx512_env = -1, avx2_env = -1;

int ck_avx512_disabled_by_env(void) { return env_flag(&avx512_env, "OMNISIFT_DISABLE_AVX512"); }

int ck_avx2_disabled_by_env(void) { return env_flag(&avx2_env, "OMNISIFT_DISABLE_AVX2"); }

// Runs `detect` once and keeps its answer in `state` (-1: not yet detected); 0 while the fast paths are disabled.
static int cached(atomic_int *state, int (*detect)(void)) {
    if (!fast_paths_enabled) return 0;
    int s = atomic_load(state);
    if (s < 0) {
        s = detect();
        atomic_store(state, s);
    }
    return s;
}

static atomic_int avx512_state = -1;
static atomic_int amx_state = -1;

static atomic_int avx2_state = -1;
static atomic_int avx512_bf16_state = -1;

int ck_has_avx512(void) {
    if (!avx512_enabled || ck_avx512_disabled_by_env()) return 0;
    return cached(&avx512_state, detect_avx512);
}

int ck_has_avx2_fma(void) { return ck_avx2_disabled_by_env() ? 0 : cached(&avx2_state, detect_avx2_fma); }

int ck_has_amx_bf16(void) {
    if (!avx512_enabled || ck_avx512_disabled_by_env()) return 0;
    return cached(&amx_state, detect_amx_bf16);
}

int ck_has_avx512_bf16(void) {
    if (!avx512_enabled || ck_avx512_disabled_by_env()) return 0;
    return cached(&avx512_bf16_state, detect_avx512_bf16);
}
