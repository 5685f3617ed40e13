import Foundation
import OmniTensor
import SafeTensors

/// A problem with the encoders' inputs or checkpoint that is not a key/shape mismatch: a checkpoint without a
/// tower, features whose shapes disagree with their grids, wrong bin counts. The message names the file, the
/// tensor and the numbers.
public struct EncoderError: Error, CustomStringConvertible, Equatable, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// One expected tensor of a tower: key suffix under the tower's prefix and its shape; `required: false` for
/// tensors a checkpoint stores but the tower does not use (accepted when present with the right shape).
struct TowerTensor {
    let suffix: String
    let shape: [Int]
    var required = true
}

/// Reads one tower's tensors (`thinker.visual.*` or `thinker.audio_tower.*`) from a checkpoint after checking
/// the whole key set against the schema the config implies: every missing, unused and mis-shaped key is listed in
/// one `ThinkerLoadError` before any data is read. BF16 matrices stay bf16, referencing the checkpoint's memory
/// mapping (pages are read when first used); F32 stays F32; F16 is widened to F32.
struct TowerWeightReader {
    let checkpoint: SafeTensorsCheckpoint
    let prefix: String
    /// "vision tower" / "audio tower", for messages.
    let part: String

    init(checkpoint: SafeTensorsCheckpoint, prefix: String, part: String, schema: [TowerTensor]) throws {
        self.checkpoint = checkpoint
        self.prefix = prefix
        self.part = part
        guard checkpoint.names.contains(where: { $0.hasPrefix(prefix) }) else {
            throw EncoderError("\(checkpoint.path) holds no \(prefix)* tensors: the checkpoint has no \(part) "
                + "(expected \(schema.filter(\.required).count) tensors such as '\(prefix)\(schema[0].suffix)')")
        }
        var missing = [String](), badShapes = [String]()
        for t in schema {
            let key = prefix + t.suffix
            guard let e = checkpoint.entry(key) else {
                if t.required { missing.append(key) }
                continue
            }
            if e.shape != t.shape {
                badShapes.append("\(key): shape \(e.shape), expected \(t.shape)")
            } else if ![.f32, .f16, .bf16].contains(e.dtype) {
                badShapes.append("\(key): dtype \(e.dtype.rawValue), expected F32, F16 or BF16")
            }
        }
        let known = Set(schema.map { prefix + $0.suffix })
        let unused = checkpoint.names.filter { $0.hasPrefix(prefix) && !known.contains($0) }
        if !missing.isEmpty || !unused.isEmpty || !badShapes.isEmpty {
            throw ThinkerLoadError(checkpoint: checkpoint.path, missing: missing, unused: unused, badShapes: badShapes,
                                   part: part)
        }
    }

    /// A weight matrix `[shape[0], product of the rest]` (conv kernels flattened in their stored order).
    func matrix(_ suffix: String) throws -> ThinkerMatrix {
        let key = prefix + suffix
        let e = checkpoint.entry(key)!
        let rows = e.shape[0], cols = e.shape.dropFirst().reduce(1, *)
        if e.dtype == .bf16, let file = checkpoint.file(containing: key) {
            return ThinkerMatrix(rows: rows, cols: cols, bf16: try file.rawBytes(key).baseAddress!, owner: file)
        }
        return ThinkerMatrix(rows: rows, cols: cols, float32: try checkpoint.floatTensor(key).scalars)
    }

    /// A Float32 vector (biases, norm weights).
    func vector(_ suffix: String) throws -> [Float] { try checkpoint.floatTensor(prefix + suffix).scalars }

    /// `name.weight` and, with `bias`, `name.bias`.
    func linear(_ name: String, bias: Bool = true) throws -> LinearLayer {
        LinearLayer(weight: try matrix(name + ".weight"), bias: bias ? try vector(name + ".bias") : nil)
    }

    /// A Conv1d `[out, in, kernel]` weight reordered to `[out, kernel, in]` (see `Conv1DLayer`), bf16 kept bf16.
    func conv1d(_ name: String, stride: Int, padding: Int) throws -> Conv1DLayer {
        let key = prefix + name + ".weight"
        let e = checkpoint.entry(key)!
        let (out, inC, k) = (e.shape[0], e.shape[1], e.shape[2])
        let weight: ThinkerMatrix
        if e.dtype == .bf16 {
            let raw = try checkpoint.rawBytes(key)
            let buffer = OwnedBytes(count: out * inC * k * 2)
            let dst = buffer.pointer.assumingMemoryBound(to: UInt16.self)
            for o in 0..<out {
                for c in 0..<inC {
                    for t in 0..<k {
                        let v = raw.loadUnaligned(fromByteOffset: 2 * ((o * inC + c) * k + t), as: UInt16.self)
                        dst[(o * k + t) * inC + c] = v
                    }
                }
            }
            weight = ThinkerMatrix(rows: out, cols: k * inC, bf16: UnsafeRawPointer(buffer.pointer), owner: buffer)
        } else {
            let src = try checkpoint.floatTensor(key).scalars
            var dst = [Float](repeating: 0, count: src.count)
            for o in 0..<out { for c in 0..<inC { for t in 0..<k { dst[(o * k + t) * inC + c] = src[(o * inC + c) * k + t] } } }
            weight = ThinkerMatrix(rows: out, cols: k * inC, float32: dst)
        }
        return Conv1DLayer(linear: LinearLayer(weight: weight, bias: try vector(name + ".bias")), inChannels: inC,
                           kernel: k, stride: stride, padding: padding)
    }
}
