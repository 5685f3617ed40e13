import Dispatch
import OmniNN
import OmniTensor
import SafeTensors

/// What the audio tower gives for a batch of audios.
public struct AudioEncoding: Sendable {
    /// [Σ tokens, output_dim], audio after audio.
    public var embeddings: Tensor
    /// OmniZip's saliency per output token (see `AudioSaliency`), audio after audio.
    public var saliency: [Float]
    /// Output tokens of each audio.
    public var tokens: [Int]
}

/// The Qwen2.5-Omni audio tower (`thinker.audio_tower.*`, Whisper-like with 2-second windows; SPEC 8.2) on the
/// CPU.
///
/// Per audio of L mel frames: windows of 200 frames (the last one shorter), each through GELU(conv1, k3 p1) and
/// GELU(conv2, k3 s2 p1) with zero padding at the window's ends, plus the sinusoid table from position 0 in every
/// window; all windows of all audios then run together through the pre-LN layers, the attention restricted to each
/// window (segments x heads in parallel, never a mask over the whole audio); then per audio AvgPool1d(2), ln_post,
/// proj. The last layer's queries and keys also give OmniZip's saliency over each whole audio (`AudioSaliency`).
public final class AudioTower: @unchecked Sendable {
    public let config: AudioEncoderConfig
    let weights: AudioTowerWeights
    let sinusoids: AudioSinusoids

    init(config: AudioEncoderConfig, weights: AudioTowerWeights) {
        self.config = config
        self.weights = weights
        sinusoids = AudioSinusoids(rows: config.nWindow, channels: config.dModel)
    }

    /// Loads `thinker.audio_tower.*` with the strict schema (see `VisionTower.load`).
    public static func load(checkpoint: SafeTensorsCheckpoint, config: AudioEncoderConfig) throws -> AudioTower {
        try config.validate()
        try config.validateForTower()
        return AudioTower(config: config, weights: try AudioTowerWeights.load(checkpoint: checkpoint, config: config))
    }

    /// Bytes of the weights (mapped bf16 or owned f32).
    public var weightBytes: Int {
        let w = weights
        return w.layers.reduce(0) { s, l in s + [l.q, l.k, l.v, l.out, l.fc1, l.fc2].reduce(0) { $0 + $1.weight.byteCount } }
            + w.conv1.linear.weight.byteCount + w.conv2.linear.weight.byteCount + w.proj.weight.byteCount
    }

    /// The product path the layers' matrices take for `rows` frames.
    public func productPath(rows: Int) -> String { weights.layers[0].q.weight.productPath(rows: rows).rawValue }

    /// Encodes audios given as `features` [A, bins, Lmax] (row-major, mel bins by frames) with `lengths[a]` valid
    /// frames each (frames past a length are ignored). `saliency: false` skips the saliency (then all zeros).
    public func encode(features: Tensor, lengths: [Int], saliency: Bool = true,
                       timings: inout EncoderTimings) throws -> AudioEncoding {
        let c = config
        let (bins, d) = (c.numMelBins, c.dModel)
        guard features.rank == 3, features.shape[0] == lengths.count, features.shape[1] == bins else {
            throw EncoderError("input_features is \(features.shape); the audio tower takes [\(lengths.count), \(bins), Lmax] "
                + "(\(lengths.count) audios, num_mel_bins \(bins))")
        }
        let lmax = features.shape[2]
        for (a, l) in lengths.enumerated() where l < 1 || l > lmax {
            throw EncoderError("audio \(a) has \(l) valid mel frames; it must lie in 1...\(lmax) (input_features' Lmax)")
        }
        var t0 = DispatchTime.now().uptimeNanoseconds
        let windows = lengths.map { AudioWindows(melFrames: $0, nWindow: c.nWindow) }
        let melTotal = lengths.reduce(0, +)
        let frames = windows.reduce(0) { $0 + $1.encodedFrames }
        // Mel frames time-major, audio after audio; the window sequences for conv1 / conv2.
        let mel = allocateFloats(melTotal * bins)
        let conv1Out = allocateFloats(melTotal * d)
        defer { mel.deallocate(); conv1Out.deallocate() }
        var sequences = [(start: Int, length: Int)]()
        var melStart = 0
        features.withUnsafeBufferPointer { src in
            let base = src.baseAddress!
            for (a, w) in windows.enumerated() {
                let audio = base + a * bins * lmax
                for t in 0..<w.melFrames {
                    let row = mel + (melStart + t) * bins
                    for b in 0..<bins { row[b] = audio[b * lmax + t] }
                }
                var s = melStart
                for l in w.windowFrames {
                    sequences.append((s, l))
                    s += l
                }
                melStart += w.melFrames
            }
        }
        weights.conv1.apply(mel, sequences: sequences, into: conv1Out)
        geluInPlace(conv1Out, count: melTotal * d)
        let ws = AudioWorkspace(rows: frames, config: c)
        let x = allocateFloats(frames * d)
        defer { x.deallocate() }
        weights.conv2.apply(conv1Out, sequences: sequences, into: x)
        geluInPlace(x, count: frames * d)
        var boundaries = [0]
        for s in sequences { boundaries.append(boundaries.last! + weights.conv2.outputLength(s.length)) }
        sinusoids.table.withUnsafeBufferPointer { pos in
            for wi in 0..<sequences.count {
                let (s0, s1) = (boundaries[wi], boundaries[wi + 1])
                for r in s0..<s1 {
                    let row = x + r * d, p = pos.baseAddress! + (r - s0) * d
                    for j in 0..<d { row[j] += p[j] }
                }
            }
        }
        timings.frontMs += millisecondsSince(t0)
        for (i, layer) in weights.layers.enumerated() {
            t0 = DispatchTime.now().uptimeNanoseconds
            layer.forward(x, n: frames, boundaries: boundaries, config: c, ws: ws)
            timings.addLayer(i, millisecondsSince(t0))
        }
        t0 = DispatchTime.now().uptimeNanoseconds
        // Saliency from the last layer's q and k, still in the workspace.
        var sal = [Float]()
        var frameStart = 0
        let heads = c.encoderAttentionHeads
        for w in windows {
            if saliency {
                sal += AudioSaliency.pooled(q: ws.q, k: ws.k, ld: d, heads: heads, headDim: d / heads,
                                            start: frameStart, frames: w.encodedFrames)
            } else {
                sal += [Float](repeating: 0, count: w.tokens)
            }
            frameStart += w.encodedFrames
        }
        // AvgPool1d(2) per audio (pairs never cross audios or windows: full windows have 100 frames), ln_post, proj.
        let tokens = windows.map(\.tokens)
        let total = tokens.reduce(0, +)
        frameStart = 0
        var t = 0
        for w in windows {
            for i in 0..<w.tokens {
                let a = x + (frameStart + 2 * i) * d, b = a + d, dst = ws.h + (t + i) * d
                for j in 0..<d { dst[j] = (a[j] + b[j]) / 2 }
            }
            frameStart += w.encodedFrames
            t += w.tokens
        }
        weights.lnPost.apply(ws.h, rows: total, into: ws.attn)
        var out = Tensor.zeros([total, c.outputDim])
        out.withUnsafeMutableBufferPointer { o in
            weights.proj.apply(ws.attn, n: total, into: o.baseAddress!, ldOut: c.outputDim)
        }
        timings.headMs += millisecondsSince(t0)
        return AudioEncoding(embeddings: out, saliency: sal, tokens: tokens)
    }
}

extension AudioEncoderConfig {
    /// The rules the tower itself needs beyond `validate()`: GELU, an even d_model (sinusoids), n_window within
    /// the position table.
    public func validateForTower() throws {
        let p = "thinker_config.audio_config."
        if activationFunction != "gelu" {
            throw QwenOmniConfigError(key: p + "activation_function", problem: "\"\(activationFunction)\"; the audio tower implements \"gelu\"")
        }
        if dModel % 2 != 0 || dModel < 4 {
            throw QwenOmniConfigError(key: p + "d_model", problem: "\(dModel) must be even and at least 4 (sinusoid table)")
        }
        if nWindow < 1 || nWindow > maxSourcePositions {
            throw QwenOmniConfigError(key: p + "n_window", problem: "\(nWindow) must lie in 1...max_source_positions (\(maxSourcePositions))")
        }
        if encoderFfnDim <= 0 {
            throw QwenOmniConfigError(key: p + "encoder_ffn_dim", problem: "must be positive, got \(encoderFfnDim)")
        }
    }
}
