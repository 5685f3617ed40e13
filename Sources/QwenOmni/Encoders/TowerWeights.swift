import Foundation
import OmniNN
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

/// Reads one tower's tensors (`thinker.visual.*` or `thinker.audio_tower.*`) from a checkpoint after checking
/// the whole key set against the tower's `WeightSchema` (the shapes the config implies): every missing, unused and
/// mis-shaped key is listed in one `WeightSchemaError` before any data is read. BF16 matrices stay bf16,
/// referencing the checkpoint's memory mapping (pages are read when first used); F32 stays F32; F16 is widened.
struct TowerWeightReader {
    let checkpoint: SafeTensorsCheckpoint
    let prefix: String

    /// `part` names the tower in messages ("vision tower").
    init(checkpoint: SafeTensorsCheckpoint, prefix: String, part: String, specs: [WeightSchema.Spec]) throws {
        self.checkpoint = checkpoint
        self.prefix = prefix
        guard checkpoint.names.contains(where: { $0.hasPrefix(prefix) }) else {
            throw EncoderError("\(checkpoint.path) holds no \(prefix)* tensors: the checkpoint has no \(part) "
                + "(expected \(specs.count) tensors such as '\(prefix)\(specs[0].key)')")
        }
        try WeightSchema(subject: "\(part) weights", against: "the config", prefix: prefix, specs: specs)
            .validate(checkpoint)
    }

    /// A weight matrix `[shape[0], product of the rest]` (conv kernels flattened in their stored order).
    func matrix(_ suffix: String) throws -> WeightMatrix {
        let key = prefix + suffix
        let e = checkpoint.entry(key)!
        let rows = e.shape[0], cols = e.shape.dropFirst().reduce(1, *)
        if e.dtype == .bf16, let file = checkpoint.file(containing: key) {
            return WeightMatrix(rows: rows, cols: cols, bf16: try file.rawBytes(key).baseAddress!, owner: file)
        }
        return WeightMatrix(rows: rows, cols: cols, float32: try checkpoint.floatTensor(key).scalars)
    }

    /// A Float32 vector (biases, norm weights).
    func vector(_ suffix: String) throws -> [Float] { try checkpoint.floatTensor(prefix + suffix).scalars }

    /// `name.weight` and, with `bias`, `name.bias`.
    func linear(_ name: String, bias: Bool = true) throws -> Linear {
        Linear(weight: try matrix(name + ".weight"), bias: bias ? try checkpoint.floatTensor(prefix + name + ".bias") : nil)
    }

    func rmsNorm(_ suffix: String, eps: Float) throws -> RMSNorm { RMSNorm(weight: try vector(suffix), eps: eps) }

    func layerNorm(_ name: String, eps: Float) throws -> LayerNorm {
        LayerNorm(weight: try checkpoint.floatTensor(prefix + name + ".weight"),
                  bias: try checkpoint.floatTensor(prefix + name + ".bias"), eps: eps)
    }

    /// A Conv1d `[out, in, kernel]` weight reordered to `[out, kernel, in]` (see `Conv1DLayer`); a BF16 weight stays
    /// bf16 (its values are bf16, so rounding the reordered copy is exact).
    func conv1d(_ name: String, stride: Int, padding: Int) throws -> Conv1DLayer {
        let key = prefix + name + ".weight"
        let e = checkpoint.entry(key)!
        let (out, inC, k) = (e.shape[0], e.shape[1], e.shape[2])
        let src = try checkpoint.floatTensor(key).scalars
        var dst = [Float](repeating: 0, count: src.count)
        for o in 0..<out { for c in 0..<inC { for t in 0..<k { dst[(o * k + t) * inC + c] = src[(o * inC + c) * k + t] } } }
        let reordered = Tensor(shape: [out, k * inC], scalars: dst)
        let weight = e.dtype == .bf16 ? WeightMatrix.bf16(rounding: reordered)
            : WeightMatrix(rows: out, cols: k * inC, float32: dst)
        return Conv1DLayer(linear: Linear(weight: weight, bias: try checkpoint.floatTensor(prefix + name + ".bias")),
                           inChannels: inC, kernel: k, stride: stride, padding: padding)
    }
}
