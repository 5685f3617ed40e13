import CPUKernels
import OmniTensor

/// Matrix products with bf16 operands and Float32 accumulation, as a bf16 model's GEMMs compute them.
///
/// Numerics are defined as: round both operands to the nearest bf16 (ties to even), multiply in Float32 (a product
/// of two bf16 numbers is exact), accumulate in Float32. Where the CPU has AMX (`usesAMX`) the tiles
/// compute it directly; where it has AVX512-BF16 (`usesDotProduct`) the bf16 dot instruction does
/// (`ck_bf16_dot_gemm.h`, a `WeightMatrix` that rounds its activations); elsewhere the rounded operands go through the
/// Float32 BLAS. All agree up to summation order. For operands that already are bf16 values (a bf16 checkpoint, embeddings from a bf16 model) the rounding
/// changes nothing, so the product equals the Float32 one up to summation order.
public struct BF16Weight: Sendable {
    /// Output features (rows of the PyTorch Linear weight).
    public let outFeatures: Int
    /// Input features (columns of the PyTorch Linear weight).
    public let inFeatures: Int
    /// Whether products run on AMX tiles (else: rounded Float32 operands through BLAS).
    public let usesAMX: Bool
    /// AMX tile order (see `ck_pack_bf16_weight`) when `usesAMX`; else empty.
    private let packed: [UInt16]
    /// The weight rounded to bf16, kept as Float32, when neither AMX nor the dot product runs the products.
    private let rounded: Tensor?
    /// The weight as bf16 bits whose products round the activations (the AVX512-BF16 dot product), when the CPU has
    /// that instruction and not AMX.
    private let dot: WeightMatrix?

    /// Whether products run on the AVX512-BF16 dot instruction.
    public var usesDotProduct: Bool { dot != nil }

    /// Prepares `weight` [out, in] (PyTorch Linear layout). `useAMX: false` forces the portable path (tests).
    public init(_ weight: Tensor, useAMX: Bool = MatrixProducts.amxUsable,
                useDotProduct: Bool = MatrixProducts.avx512BF16Usable) {
        precondition(weight.rank == 2, "BF16Weight: a rank-2 [out, in] weight is needed, got shape \(weight.shape)")
        let (n, k) = (weight.shape[0], weight.shape[1])
        outFeatures = n
        inFeatures = k
        usesAMX = useAMX && MatrixProducts.amxUsable
        if usesAMX {
            let count = ck_packed_bf16_count(n, k)
            packed = weight.withUnsafeBufferPointer { w in
                [UInt16](unsafeUninitializedCapacity: count) { buf, initialized in
                    ck_pack_bf16_weight(w.baseAddress, n, k, buf.baseAddress)
                    initialized = count
                }
            }
            rounded = nil
            dot = nil
        } else if useDotProduct && MatrixProducts.avx512BF16Usable {
            packed = []
            rounded = nil
            dot = WeightMatrix.bf16(rounding: weight, roundingActivations: true)
        } else {
            packed = []
            rounded = weight.roundedToBF16()
            dot = nil
        }
    }

    private static func roundUp32(_ x: Int) -> Int { (x + 31) / 32 * 32 }

    /// `source[rows] · weightᵀ + bias` with bf16 operands: row r of the result is row `rows[r]` of `source` (all rows
    /// in order when `rows` is nil), projected. `source` is rank 2 with `inFeatures` columns; the result is
    /// [rows, outFeatures]. The row gather is fused into the bf16 conversion (no Float32 copy of the rows).
    public func apply(to source: Tensor, rows: [Int]? = nil, bias: Tensor? = nil) -> Tensor {
        let m = checkLinearArguments("BF16Weight", source: source, rows: rows, bias: bias, inFeatures: inFeatures,
                                     outFeatures: outFeatures)
        if let dot { return dot.linear(source, rows: rows, bias: bias) }
        var out: Tensor
        if usesAMX {
            out = amxProduct(source, rows: rows, m: m)
        } else {
            var a = rows.map { source.gatherRows($0) } ?? source
            a.roundToBF16()  // in place on the gathered rows: one Float32 copy, not two
            out = Tensor.matmul(a, rounded!, transposeB: true)
        }
        if let bias { out.add(bias) }
        return out
    }

    private func amxProduct(_ source: Tensor, rows: [Int]?, m: Int) -> Tensor {
        let n = outFeatures, k = inFeatures
        let np = Self.roundUp32(n)
        guard m > 0 else { return Tensor.zeros([0, n]) }
        let rowIndices = rows.map { $0.map(Int64.init) }
        // One contiguous run of 32-row tiles per worker; each converts and multiplies its rows block by block.
        let blocks = (m + 31) / 32
        var c = Tensor.build(shape: [m, np]) { cBase, _ in
            source.withUnsafeBufferPointer { src in
                packed.withUnsafeBufferPointer { bp in
                    withOptionalInt64Pointer(rowIndices) { idx in
                        let ptrs = UnsafeSendableBox((src.baseAddress!, bp.baseAddress!, idx, cBase))
                        parallelRanges(blocks, minChunk: 1) { range in
                            let (s, b, idx, cBase) = ptrs.value
                            let r0 = range.lowerBound * 32, r1 = min(m, range.upperBound * 32)
                            // Without indices, the run's rows start at row r0 of the source.
                            let status = ck_amx_linear_rows(idx == nil ? s + r0 * k : s, k, idx.map { $0 + r0 },
                                                            r1 - r0, k, b, np, cBase + r0 * np, np)
                            precondition(status == 0, "BF16Weight: out of memory for a 128-row bf16 block")
                        }
                    }
                }
            }
        }
        if np != n { c = c.sliceColumns(0..<n) }
        return c
    }
}

extension Tensor {
    /// Columns `range` of a rank-2 tensor, as a copy.
    func sliceColumns(_ range: Range<Int>) -> Tensor {
        let c = cols, r = rows, w = range.count
        return withUnsafeBufferPointer { src in
            Tensor.build(shape: [r, w]) { dst, _ in
                for i in 0..<r { (dst + i * w).update(from: src.baseAddress! + i * c + range.lowerBound, count: w) }
            }
        }
    }
}
