import CPUKernels

/// How a `WeightMatrix` product is computed, and THE predicate that picks the path (every report, benchmark and
/// test asks here instead of restating the AMX / AVX-512 / alignment conditions).
///
/// Paths: Float32 weights on the BLAS sgemm; bf16 weights on AMX tiles with the Float32 activations split exactly
/// into three bf16 parts (`ck_split_gemm.h`: the Float32 product up to summation order) from `splitMinRows` rows;
/// fewer rows (decode steps) reading the bf16 weights directly with AVX-512 or AVX2 + FMA (`ck_bf16_gemv.h`); otherwise the bf16
/// weights widened to Float32 tile by tile before the sgemm. Matrices that round their activations to bf16 (opt-in,
/// `ThinkerWeightStorage.bf16Matmul`) also have the AVX512-BF16 dot product (`ck_bf16_dot_gemm.h`: a GEMM for
/// prefill chunks, a GEMV for decode steps), and on every other path get their input rounded first, so all paths
/// compute the same values up to summation order.
public enum MatrixProducts {
    /// Rows from which a bf16 product runs on AMX tiles by default (prefill chunks). Fewer rows (decode steps,
    /// memory-bound) run the bf16 GEMV (AVX-512, else AVX2 + FMA).
    public static let splitMinRows = 32

    /// Whether AMX bf16 tiles are usable on the calling thread (CPU support, the kernel's permission on Linux, and
    /// the fast paths not switched off for this thread). The one spelling of "AMX usable".
    public static var amxUsable: Bool { ck_has_amx_bf16() != 0 }

    /// Whether the AVX-512 kernels are usable on the calling thread.
    public static var avx512Usable: Bool { ck_has_avx512() != 0 }

    /// Whether the AVX512-BF16 dot product (VDPBF16PS, `ck_bf16_dot_gemm.h`) is usable on the calling thread.
    public static var avx512BF16Usable: Bool { ck_has_avx512_bf16() != 0 }

    /// Whether the AVX2 + FMA kernels are usable on the calling thread (used where AVX-512 is not).
    public static var avx2Usable: Bool { ck_has_avx2_fma() != 0 }

    /// How a product runs; the raw value names it in reports.
    public enum Path: String, Sendable {
        case float32BLAS = "Float32 BLAS"
        case amxSplit = "AMX, exact 3-way bf16 split"
        case bf16GEMV = "AVX-512 bf16 GEMV"
        case bf16GEMVAVX2 = "AVX2 bf16 GEMV"
        case widenedBLAS = "bf16 widened per tile + BLAS"
        case bf16Dot = "AVX512-BF16 dot, activations rounded to bf16"

        /// The name for reports of a product on this path by a matrix that does (or does not) round its
        /// activations: the rounding is named where the path's own name does not say it.
        public func name(roundingActivations: Bool) -> String {
            roundingActivations && self != .bf16Dot ? rawValue + " (activations rounded to bf16)" : rawValue
        }
    }

    /// The path of a product over `n` rows for a matrix holding Float32 values (`float32`), bf16 bits (`bf16`, at
    /// an even address or not: the C kernels need `uint16_t` alignment), or both, on this CPU as the calling thread
    /// sees it. bf16 bits go to AMX from `amxMinRows` rows; a matrix that also holds Float32 values otherwise uses
    /// them on BLAS; a bf16-only matrix takes the GEMV below `splitMinRows` rows, else the widening path. A matrix
    /// that `roundsActivations` (`ThinkerWeightStorage.bf16Matmul`) takes the AVX512-BF16 dot product wherever
    /// AMX does not run it (AMX, where present, is faster even on the exact split): its GEMM from `splitMinRows`
    /// rows, its GEMV below (decode steps).
    public static func path(float32: Bool, bf16: Bool, aligned: Bool = true, rows n: Int,
                            amxMinRows: Int = splitMinRows, roundsActivations: Bool = false) -> Path {
        if bf16 && aligned && n >= amxMinRows && amxUsable { return .amxSplit }
        if roundsActivations && bf16 && aligned && avx512BF16Usable { return .bf16Dot }
        if float32 || !bf16 { return .float32BLAS }
        if aligned && n < splitMinRows && avx512Usable { return .bf16GEMV }
        if aligned && n < splitMinRows && avx2Usable { return .bf16GEMVAVX2 }
        return .widenedBLAS
    }
}
