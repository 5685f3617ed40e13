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
    /// cpuid's vendor string ("GenuineIntel", "AuthenticAMD", "HygonGenuine"), "unknown" when absent.
    public var vendor: String = "unknown"

    /// Features of the current machine. On Linux they come from `/proc/cpuinfo` (the kernel's view of cpuid,
    /// which is what a virtual CPU really offers); elsewhere they are reported as absent.
    /// With `OMNISIFT_DISABLE_AVX512=1` (see `avx512DisabledVariable`) AVX-512 and AMX are reported absent, so the
    /// process behaves as on an AVX2-only CPU (the OpenBLAS core type follows).
    public static let current: CPUFeatures = {
        var f = CPUFeatures(avx2: false, fma: false, avx512f: false, avx512bw: false, avx512vl: false,
                            avx512bf16: false, amx: false, modelName: "unknown")
        #if os(Linux)
        if let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) { f = parse(cpuinfo: text) }
        #endif
        return avx512Disabled ? f.withoutAVX512 : f
    }()

    /// The environment variable that, set to anything but "" or "0", makes this process run as on an AVX2-only
    /// CPU: our AVX-512 and AMX kernels stay off (CPUKernels reads it too) and `current` reports neither, so the
    /// OpenBLAS core type is chosen for AVX2. For measuring and testing the AVX2 paths on an AVX-512 machine.
    public static let avx512DisabledVariable = "OMNISIFT_DISABLE_AVX512"

    /// Whether `avx512DisabledVariable` is set for this process.
    public static var avx512Disabled: Bool { ck_avx512_disabled_by_env() != 0 }

    /// These features less AVX-512 and AMX.
    public var withoutAVX512: CPUFeatures {
        var f = self
        (f.avx512f, f.avx512bw, f.avx512vl, f.avx512bf16, f.amx) = (false, false, false, false, false)
        return f
    }

    /// Parses the first processor block of a `/proc/cpuinfo` text.
    public static func parse(cpuinfo text: String) -> CPUFeatures {
        var flags = Set<Substring>()
        var model = "unknown"
        var vendor = "unknown"
        for line in text.split(separator: "\n") {
            if flags.isEmpty, line.hasPrefix("flags") || line.hasPrefix("Features") {
                if let colon = line.firstIndex(of: ":") {
                    flags = Set(line[line.index(after: colon)...].split(separator: " "))
                }
            } else if model == "unknown", line.hasPrefix("model name"), let colon = line.firstIndex(of: ":") {
                model = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            } else if vendor == "unknown", line.hasPrefix("vendor_id"), let colon = line.firstIndex(of: ":") {
                vendor = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
            if !flags.isEmpty && model != "unknown" && vendor != "unknown" { break }
        }
        return CPUFeatures(
            avx2: flags.contains("avx2"), fma: flags.contains("fma"),
            avx512f: flags.contains("avx512f"), avx512bw: flags.contains("avx512bw"),
            avx512vl: flags.contains("avx512vl"), avx512bf16: flags.contains("avx512_bf16"),
            amx: flags.contains("amx_tile"), modelName: model, vendor: vendor)
    }

    /// Whether cpuid names AMD (or Hygon, whose cores are Zen).
    public var isAMD: Bool { vendor == "AuthenticAMD" || vendor == "HygonGenuine" }

    /// The OpenBLAS core type whose kernels suit these features best, and why:
    /// - AVX-512 F/BW/VL (Intel Skylake-SP and later, AMD Zen 4 and later): "SkylakeX", its AVX-512 kernels;
    /// - AMD (or Hygon) with AVX2 + FMA and no AVX-512 (Zen 1-3): "Zen", tuned for those cores (on an EPYC VM its
    ///   sgemm ran 67 GFLOP/s against 46-49 with Haswell's);
    /// - any other CPU with AVX2 + FMA: "Haswell";
    /// - otherwise nil: OpenBLAS decides.
    public var openBLASCoreChoice: (core: String, reason: String)? {
        if avx512f && avx512bw && avx512vl { return ("SkylakeX", "AVX-512 F/BW/VL present") }
        if avx2 && fma && isAMD { return ("Zen", "\(vendor) CPU with AVX2 + FMA and no AVX-512") }
        if avx2 && fma { return ("Haswell", "\(vendor == "unknown" ? "CPU" : vendor) with AVX2 + FMA and no AVX-512") }
        return nil
    }

    /// `openBLASCoreChoice`'s core type.
    public var preferredOpenBLASCoreType: String? { openBLASCoreChoice?.core }

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
        "AVX-512 \(ck_has_avx512() != 0 ? "yes" : "no"), AVX2+FMA \(ck_has_avx2_fma() != 0 ? "yes" : "no"), "
            + "AMX bf16 \(ck_has_amx_bf16() != 0 ? "yes" : "no")"
            + (avx512Disabled ? " (AVX-512 and AMX off: \(avx512DisabledVariable) is set)" : "")
    }
}
