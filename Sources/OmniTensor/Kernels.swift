import CPUKernels
// Pointer-level inner loops shared by the tensor ops. Reductions use explicit SIMD accumulators (the optimiser may
// not reassociate float sums on its own, so a plain loop would stay scalar); loads are unaligned-safe.

@usableFromInline
enum Kernels {
    @usableFromInline typealias V = SIMD16<Float>

    @inline(__always) @usableFromInline
    static func load(_ p: UnsafePointer<Float>, _ i: Int) -> V {
        UnsafeRawPointer(p).loadUnaligned(fromByteOffset: i &* 4, as: V.self)
    }

    /// Σ a[i]·b[i] (`ck_dot`: 16 partial sums, AVX-512 when available).
    @usableFromInline
    static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
        ck_dot(a, b, n)
    }

    /// Σ a[i]².
    @usableFromInline
    static func sumSquares(_ a: UnsafePointer<Float>, _ n: Int) -> Float { dot(a, a, n) }

    /// Σ a[i].
    @usableFromInline
    static func sum(_ a: UnsafePointer<Float>, _ n: Int) -> Float {
        var acc0 = V(), acc1 = V()
        var i = 0
        while i + 32 <= n {
            acc0 += load(a, i)
            acc1 += load(a, i + 16)
            i += 32
        }
        if i + 16 <= n {
            acc0 += load(a, i)
            i += 16
        }
        var s = (acc0 + acc1).sum()
        while i < n { s += a[i]; i += 1 }
        return s
    }
}

/// Buffers of at least this many scalars (8 MiB) ask for transparent huge pages before their first write: the
/// 4 KiB page faults of a fresh 80 MB buffer otherwise cost about as much as copying it twice.
@usableFromInline let largeScalarCount = 2 << 20

/// See `ck_advise_huge_pages`.
@usableFromInline func adviseHugePages(_ p: UnsafeMutablePointer<Float>, count: Int) {
    ck_advise_huge_pages(p, count * MemoryLayout<Float>.stride)
}

extension Tensor {
    /// Product of the dimensions after the first: the length of one "row" along axis 0.
    @inlinable
    var rowStride: Int { shape.count <= 1 ? 1 : shape.dropFirst().reduce(1, *) }

    /// A tensor of `shape` whose scalars are written by `body` into uninitialised storage (every element must be
    /// written).
    @inlinable
    public static func build(shape: [Int], _ body: (UnsafeMutablePointer<Float>, Int) -> Void) -> Tensor {
        let n = shape.reduce(1, *)
        let scalars = [Float](unsafeUninitializedCapacity: n) { buf, initialized in
            if n >= largeScalarCount { adviseHugePages(buf.baseAddress!, count: n) }
            if n > 0 { body(buf.baseAddress!, n) }
            initialized = n
        }
        return Tensor(shape: shape, scalars: scalars)
    }

    /// Applies `f` to every scalar.
    @inlinable
    func mapScalars(_ f: (Float) -> Float) -> Tensor {
        withUnsafeBufferPointer { src in
            Tensor.build(shape: shape) { dst, n in
                let s = src.baseAddress!
                for i in 0..<n { dst[i] = f(s[i]) }
            }
        }
    }
}
