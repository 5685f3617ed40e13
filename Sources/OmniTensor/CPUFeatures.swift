import CPUKernels
import Foundation

/// The vector features of the CPU this process runs on, as far as they matter for picking a BLAS kernel.
public struct CPUFeatures: Sendable, Equatable {
    public var avx2: Bool
    public var fma: Bool
    public var avx512f: Bool
    public var avx512bw: Bool
    public var avx512vl: Bool
    public var avx512bf16: Bool
    public var amx: Bool
    public var modelName: String

    /// Features of the current machine. On Linux they come from `/proc/cpuinfo` (the kernel's view of cpuid,
    /// which is what a virtual CPU really offers); elsewhere they are reported as absent.
    public static let current: CPUFeatures = {
        #if os(Linux)
        if let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) {
            return parse(cpuinfo: text)
        }
        #endif
        return CPUFeatures(avx2: false, fma: false, avx512f: false, avx512bw: false, avx512vl: false,
                           avx512bf16: false, amx: false, modelName: "unknown")
    }()

    /// Parses the first processor block of a `/proc/cpuinfo` text.
    public static func parse(cpuinfo text: String) -> CPUFeatures {
        var flags = Set<Substring>()
        var model = "unknown"
        for line in text.split(separator: "\n") {
            if flags.isEmpty, line.hasPrefix("flags") || line.hasPrefix("Features") {
                if let colon = line.firstIndex(of: ":") {
                    flags = Set(line[line.index(after: colon)...].split(separator: " "))
                }
            } else if model == "unknown", line.hasPrefix("model name"), let colon = line.firstIndex(of: ":") {
                model = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
            if !flags.isEmpty && model != "unknown" { break }
        }
        return CPUFeatures(
            avx2: flags.contains("avx2"), fma: flags.contains("fma"),
            avx512f: flags.contains("avx512f"), avx512bw: flags.contains("avx512bw"),
            avx512vl: flags.contains("avx512vl"), avx512bf16: flags.contains("avx512_bf16"),
            amx: flags.contains("amx_tile"), modelName: model)
    }

    /// The OpenBLAS core type whose kernels suit these features best: "SkylakeX" with AVX-512 (F, BW, VL),
    /// "Haswell" with AVX2 + FMA, nil otherwise (let OpenBLAS decide).
    public var preferredOpenBLASCoreType: String? {
        if avx512f && avx512bw && avx512vl { return "SkylakeX" }
        if avx2 && fma { return "Haswell" }
        return nil
    }

    /// A short human-readable list, e.g. "AVX2 FMA AVX-512 AVX512-BF16 AMX".
    public var summary: String {
        var parts: [String] = []
        if avx2 { parts.append("AVX2") }
        if fma { parts.append("FMA") }
        if avx512f { parts.append("AVX-512") }
        if avx512bf16 { parts.append("AVX512-BF16") }
        if amx { parts.append("AMX") }
        return parts.isEmpty ? "baseline" : parts.joined(separator: " ")
    }

    /// Which hand-written kernel families this process runs (CPUKernels, decided from cpuid and, for AMX, the OS's
    /// permission), e.g. "AVX-512 yes, AMX bf16 yes".
    public static var kernelSummary: String {
        "AVX-512 \(ck_has_avx512() != 0 ? "yes" : "no"), AMX bf16 \(ck_has_amx_bf16() != 0 ? "yes" : "no")"
    }
}
