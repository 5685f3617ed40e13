import Foundation
#if canImport(Accelerate)
import Accelerate
#endif

/// Single-precision BLAS, chosen and loaded once per process.
///
/// On Linux the library is opened at run time with `dlopen` rather than linked. This is deliberate:
/// Debian's OpenBLAS picks its kernels in a load-time constructor from cpuid, and on the virtual CPUs we run on it
/// sees a "Prescott" and falls back to kernels 4x slower than the machine allows. Opening it ourselves lets us
/// read the CPU's real features first and set `OPENBLAS_CORETYPE` (SkylakeX with AVX-512, Haswell with AVX2)
/// before the constructor runs. A user-set `OPENBLAS_CORETYPE` is respected, and `OMNISIFT_BLAS_NO_CORETYPE=1`
/// turns the choice off (OpenBLAS then detects the core itself). The thread count follows
/// `OMNISIFT_THREADS`, then `OPENBLAS_NUM_THREADS`, then the number of active cores.
///
/// On Apple platforms Accelerate is used. Without any BLAS (or with `OMNISIFT_BLAS=none`), a portable Swift kernel
/// runs on all cores (`threads`), and the first product prints `portableWarning` (one line, with the fix).
public final class BLASBackend: @unchecked Sendable {
    public typealias SgemmFn = @convention(c) (
        Int32, Int32, Int32, Int32, Int32, Int32, Float,
        UnsafePointer<Float>?, Int32, UnsafePointer<Float>?, Int32, Float, UnsafeMutablePointer<Float>?, Int32
    ) -> Void
    public typealias SgemvFn = @convention(c) (
        Int32, Int32, Int32, Int32, Float, UnsafePointer<Float>?, Int32,
        UnsafePointer<Float>?, Int32, Float, UnsafeMutablePointer<Float>?, Int32
    ) -> Void

    /// "openblas", "accelerate" or "swift" (the built-in fallback).
    public let name: String
    /// The library file that was opened, when one was.
    public let libraryPath: String?
    /// The kernel family the library runs (OpenBLAS's `openblas_get_corename`), e.g. "SkylakeX".
    public let coreName: String
    /// Whether this process chose the core type (true) or the environment / library did.
    public let coreTypeChosenByUs: Bool
    /// Why the core type is what it is, for `--version` (e.g. "chosen by omnisift: AuthenticAMD CPU with AVX2 +
    /// FMA and no AVX-512").
    public let coreTypeReason: String
    /// Threads the library uses.
    public let threads: Int
    /// OpenBLAS's build configuration string, when available.
    public let config: String?

    private let sgemmFn: SgemmFn?
    private let sgemvFn: SgemvFn?
    /// OpenBLAS's `openblas_set_num_threads`, when the library has it.
    private let setThreadsFn: (@convention(c) (Int32) -> Void)?
    private let threadLock = NSLock()

    private init(name: String, libraryPath: String?, coreName: String, chosen: Bool, reason: String = "", threads: Int,
                 config: String?, sgemm: SgemmFn?, sgemv: SgemvFn?,
                 setThreads: (@convention(c) (Int32) -> Void)? = nil) {
        self.name = name
        self.libraryPath = libraryPath
        self.coreName = coreName
        self.coreTypeChosenByUs = chosen
        self.coreTypeReason = reason
        self.threads = threads
        self.config = config
        self.sgemmFn = sgemm
        self.sgemvFn = sgemv
        self.setThreadsFn = setThreads
    }

    /// Runs `body` with the library limited to `count` threads, then restores `threads`.
    ///
    /// For code that runs its own workers (e.g. `DispatchQueue.concurrentPerform` over attention heads), each calling
    /// the BLAS: with 1 thread every call runs on its caller's thread, so the workers do not fight the library's own
    /// threads for the cores. The limit is process-wide; calls are serialised by a lock, so do not nest them and do
    /// not call BLAS from other threads that expect the full thread count meanwhile. Libraries without a thread
    /// setter (Accelerate, reference BLAS) just run `body`.
    public func withThreads<R>(_ count: Int, _ body: () throws -> R) rethrows -> R {
        guard let setThreadsFn, count != threads else { return try body() }
        threadLock.lock()
        setThreadsFn(Int32(max(1, count)))
        defer {
            setThreadsFn(Int32(threads))
            threadLock.unlock()
        }
        return try body()
    }

    /// The process-wide backend, loaded on first use.
    public static let shared: BLASBackend = load()

    /// One line for `--version` and benchmark headers, e.g. "openblas 0.3.21 (SkylakeX kernels, 2 threads)".
    public var description: String {
        var s = name
        if let config, let version = config.split(separator: " ").dropFirst().first { s += " \(version)" }
        s += " (\(coreName) kernels, \(threads) thread\(threads == 1 ? "" : "s")"
        if coreTypeChosenByUs { s += ", core type chosen from CPU features" }
        s += ")"
        return s
    }

    private static func requestedThreads() -> Int {
        let env = ProcessInfo.processInfo.environment
        for key in ["OMNISIFT_THREADS", "OPENBLAS_NUM_THREADS"] {
            if let v = env[key], let n = Int(v), n > 0 { return n }
        }
        return max(1, ProcessInfo.processInfo.activeProcessorCount)
    }

    /// Name of the environment variable that, set to anything but "" or "0", stops this process from choosing
    /// the OpenBLAS core type, so the library's own detection runs (used by `omnisift bench gemm
    /// --compare-default-core` to measure the default in a child process).
    public static let disableCoreTypeChoiceVariable = "OMNISIFT_BLAS_NO_CORETYPE"

    private static var coreTypeChoiceDisabled: Bool {
        guard let v = ProcessInfo.processInfo.environment[disableCoreTypeChoiceVariable] else { return false }
        return !v.isEmpty && v != "0"
    }

    private static func load() -> BLASBackend {
        #if canImport(Accelerate)
        return BLASBackend(name: "accelerate", libraryPath: nil, coreName: "Accelerate", chosen: false,
                           threads: requestedThreads(), config: nil,
                           sgemm: { o, ta, tb, m, n, k, al, a, lda, b, ldb, be, c, ldc in
                               cblas_sgemm(CBLAS_ORDER(rawValue: UInt32(o))!, CBLAS_TRANSPOSE(rawValue: UInt32(ta))!,
                                           CBLAS_TRANSPOSE(rawValue: UInt32(tb))!, m, n, k, al, a, lda, b, ldb, be, c, ldc)
                           },
                           sgemv: { o, t, m, n, al, a, lda, x, incx, be, y, incy in
                               cblas_sgemv(CBLAS_ORDER(rawValue: UInt32(o))!, CBLAS_TRANSPOSE(rawValue: UInt32(t))!,
                                           m, n, al, a, lda, x, incx, be, y, incy)
                           })
        #elseif os(Linux)
        var chosen = false
        var reason: String
        let cpu = CPUFeatures.current
        if let user = getenv("OPENBLAS_CORETYPE").map({ String(cString: $0) }) {
            reason = "OPENBLAS_CORETYPE=\(user) set in the environment"
        } else if coreTypeChoiceDisabled {
            reason = "OpenBLAS's own detection (\(disableCoreTypeChoiceVariable) is set)"
        } else if let choice = cpu.openBLASCoreChoice {
            setenv("OPENBLAS_CORETYPE", choice.core, 0)
            chosen = true
            reason = "chosen by omnisift: \(choice.reason)"
                + (CPUFeatures.avx512Disabled ? " (AVX-512 hidden by \(CPUFeatures.avx512DisabledVariable))" : "")
        } else {
            reason = "OpenBLAS's own detection (no AVX2 + FMA seen)"
        }
        let threads = requestedThreads()
        // OpenBLAS reads its thread count at load time too; set it so no extra threads are spawned.
        if getenv("OPENBLAS_NUM_THREADS") == nil { setenv("OPENBLAS_NUM_THREADS", String(threads), 0) }
        // Idle OpenBLAS threads spin for 2^28 cycles by default, stealing the cores from our own parallel loops
        // (attention, SiLU, STVP) between BLAS calls; 2^4 lets them sleep at once. The user's value wins.
        setenv("OPENBLAS_THREAD_TIMEOUT", "4", 0)
        // OMNISIFT_BLAS=none: no library, the portable kernel (for testing it on a machine that has OpenBLAS).
        let requested = ProcessInfo.processInfo.environment["OMNISIFT_BLAS"]
        let candidates = requested == "none" ? [] : [
            requested,
            "libopenblas.so.0", "libopenblas.so",
            "/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0",
            "/usr/lib/aarch64-linux-gnu/openblas-pthread/libopenblas.so.0",
            "libblas.so.3",
        ].compactMap { $0 }
        for path in candidates {
            guard let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL) else { continue }
            guard let sgemmSym = dlsym(handle, "cblas_sgemm") else { continue }
            let sgemm = unsafeBitCast(sgemmSym, to: SgemmFn.self)
            let sgemv = dlsym(handle, "cblas_sgemv").map { unsafeBitCast($0, to: SgemvFn.self) }
            var core = "unknown"
            if let sym = dlsym(handle, "openblas_get_corename") {
                typealias F = @convention(c) () -> UnsafePointer<CChar>?
                if let p = unsafeBitCast(sym, to: F.self)() { core = String(cString: p) }
            }
            var config: String?
            if let sym = dlsym(handle, "openblas_get_config") {
                typealias F = @convention(c) () -> UnsafePointer<CChar>?
                if let p = unsafeBitCast(sym, to: F.self)() { config = String(cString: p) }
            }
            var actualThreads = threads
            var setThreads: (@convention(c) (Int32) -> Void)?
            if let sym = dlsym(handle, "openblas_set_num_threads") {
                typealias F = @convention(c) (Int32) -> Void
                setThreads = unsafeBitCast(sym, to: F.self)
                setThreads!(Int32(threads))
            }
            if let sym = dlsym(handle, "openblas_get_num_threads") {
                typealias F = @convention(c) () -> Int32
                actualThreads = Int(unsafeBitCast(sym, to: F.self)())
            }
            let isOpenBLAS = config != nil
            return BLASBackend(name: isOpenBLAS ? "openblas" : "blas", libraryPath: path,
                               coreName: isOpenBLAS ? core : "generic", chosen: chosen && isOpenBLAS,
                               reason: isOpenBLAS ? reason : "not OpenBLAS",
                               threads: isOpenBLAS ? actualThreads : 1, config: config, sgemm: sgemm, sgemv: sgemv,
                               setThreads: isOpenBLAS ? setThreads : nil)
        }
        return BLASBackend(name: "swift", libraryPath: nil, coreName: "portable Swift (no BLAS found: install libopenblas0)",
                           chosen: false, threads: threads, config: nil, sgemm: nil, sgemv: nil)
        #else
        return BLASBackend(name: "swift", libraryPath: nil, coreName: "portable Swift", chosen: false,
                           threads: requestedThreads(), config: nil, sgemm: nil, sgemv: nil)
        #endif
    }

    /// C = alpha * op(A) * op(B) + beta * C, row-major. op(A) is m x k, op(B) is k x n, C is m x n.
    /// `lda`, `ldb`, `ldc` are the row strides of A, B, C as stored (A is k x m when `transA`).
    public func sgemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1,
                      a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                      beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
        if m == 0 || n == 0 { return }
        if let sgemmFn, m <= Int(Int32.max), n <= Int(Int32.max), k <= Int(Int32.max) {
            if k == 0 {  // BLAS leaves C untouched for k = 0 only when beta = 1; be explicit.
                for i in 0..<m { for j in 0..<n { c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j] } }
                return
            }
            sgemmFn(101, transA ? 112 : 111, transB ? 112 : 111, Int32(m), Int32(n), Int32(k), alpha,
                    a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
        } else {
            warnPortableOnce()
            parallelPortableSgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                                  b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
        }
    }

    /// The one-line warning printed (to standard error, once per process) when a product runs without a BLAS.
    public static let portableWarning = "warning: no BLAS library found: matrix products run on the portable Swift "
        + "kernel (all cores, but 10-50x slower than OpenBLAS); run scripts/setup.sh or `apt-get install libopenblas0`"

    private let warnLock = NSLock()
    private var warned = false

    private func warnPortableOnce() {
        warnLock.lock()
        defer { warnLock.unlock() }
        guard !warned else { return }
        warned = true
        FileHandle.standardError.write(Data((Self.portableWarning + "\n").utf8))
    }

    /// `portableSgemm` split over `threads` workers: by rows of C when there are enough, else by columns (one
    /// row: a matrix-vector product).
    private func parallelPortableSgemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                                       a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                                       beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        let work = m * n * max(k, 1)
        guard threads > 1, work >= 1 << 16 else {
            portableSgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                          b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
            return
        }
        if m >= threads {
            parallelRanges(m, minChunk: 1) { r in
                portableSgemm(transA: transA, transB: transB, m: r.count, n: n, k: k, alpha: alpha,
                              a: transA ? a + r.lowerBound : a + r.lowerBound * lda, lda: lda, b: b, ldb: ldb,
                              beta: beta, c: c + r.lowerBound * ldc, ldc: ldc)
            }
        } else {
            parallelRanges(n, minChunk: 1) { r in
                portableSgemm(transA: transA, transB: transB, m: m, n: r.count, k: k, alpha: alpha, a: a, lda: lda,
                              b: transB ? b + r.lowerBound * ldb : b + r.lowerBound, ldb: ldb,
                              beta: beta, c: c + r.lowerBound, ldc: ldc)
            }
        }
    }

    /// y = alpha * op(A) * x + beta * y, row-major A of `rows` x `cols` with row stride `lda`.
    public func sgemv(transA: Bool, rows: Int, cols: Int, alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                      x: UnsafePointer<Float>, beta: Float = 0, y: UnsafeMutablePointer<Float>) {
        if let sgemvFn, rows > 0, cols > 0 {
            sgemvFn(101, transA ? 112 : 111, Int32(rows), Int32(cols), alpha, a, Int32(lda), x, 1, beta, y, 1)
        } else {
            // Treat as a gemm with one column.
            warnPortableOnce()
            if transA {
                parallelPortableSgemm(transA: true, transB: false, m: cols, n: 1, k: rows, alpha: alpha, a: a, lda: lda,
                                      b: x, ldb: 1, beta: beta, c: y, ldc: 1)
            } else {
                parallelPortableSgemm(transA: false, transB: false, m: rows, n: 1, k: cols, alpha: alpha, a: a, lda: lda,
                                      b: x, ldb: 1, beta: beta, c: y, ldc: 1)
            }
        }
    }
}

/// Reference-quality row-major GEMM in plain Swift: the fallback when no BLAS library can be opened, and the
/// oracle the tests compare BLAS against. Accumulates in Float: contiguous dot products for A·Bᵀ, else i-k-j loop order.
public func portableSgemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1,
                          a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                          beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
    if transB && !transA {
        // Rows of A against rows of B: contiguous dot products.
        for i in 0..<m {
            let aRow = a + i * lda, cRow = c + i * ldc
            for j in 0..<n {
                let bRow = b + j * ldb
                var s0: Float = 0, s1: Float = 0, s2: Float = 0, s3: Float = 0
                var p = 0
                while p + 4 <= k {
                    s0 += aRow[p] * bRow[p]; s1 += aRow[p + 1] * bRow[p + 1]
                    s2 += aRow[p + 2] * bRow[p + 2]; s3 += aRow[p + 3] * bRow[p + 3]
                    p += 4
                }
                while p < k { s0 += aRow[p] * bRow[p]; p += 1 }
                let v = alpha * ((s0 + s1) + (s2 + s3))
                cRow[j] = beta == 0 ? v : v + beta * cRow[j]
            }
        }
        return
    }
    let row = UnsafeMutableBufferPointer<Float>.allocate(capacity: max(n, 1))
    defer { row.deallocate() }
    for i in 0..<m {
        row.initialize(repeating: 0)
        for p in 0..<k {
            let av = transA ? a[p * lda + i] : a[i * lda + p]
            if av == 0 { continue }
            if transB {
                for j in 0..<n { row[j] += av * b[j * ldb + p] }
            } else {
                let bRow = b + p * ldb
                for j in 0..<n { row[j] += av * bRow[j] }
            }
        }
        let cRow = c + i * ldc
        if beta == 0 {
            for j in 0..<n { cRow[j] = alpha * row[j] }
        } else {
            for j in 0..<n { cRow[j] = alpha * row[j] + beta * cRow[j] }
        }
    }
}
