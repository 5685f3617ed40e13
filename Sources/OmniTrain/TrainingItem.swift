import Foundation
import OmniSIFT
import OmniTensor
import QwenOmni

/// One training sequence: a prefill file (SPEC 6) with `labels`.
public struct TrainingItem: Sendable {
    /// The file it came from (named in errors and in the NaN report).
    public let path: String
    public let inputIds: [Int64]
    public let positions: PositionIds
    /// `[N, D]` rows after the encoders were scattered in, used as they are (as the Hugging Face forward uses
    /// `inputs_embeds`). nil for a text-only item, which is then embedded with `embed_tokens`.
    public let embeddings: Tensor?
    public let labels: [Int64]
    public var answerTokens: Int { TrainOps.answerTargets(labels: labels).count }

    /// An item from parts (benchmarks, tests); `load` is the checked way from a file.
    public init(path: String, inputIds: [Int64], positions: PositionIds, embeddings: Tensor?, labels: [Int64]) {
        self.path = path
        self.inputIds = inputIds
        self.positions = positions
        self.embeddings = embeddings
        self.labels = labels
    }

    /// Reads and checks a prefill file for `mode`: labels required (at least one answer token); embeddings of width
    /// `hiddenSize` required when the sequence has media; the selector modes need audio and video; positions are
    /// computed from the grids when the file has none.
    public static func load(path: String, config: ThinkerConfig, mode: TrainMode) throws -> TrainingItem {
        var file = try PrefillFile.read(path: path)
        if file.keepMask != nil {
            throw TrainError("\(path): this prefill file is already compressed (it has keep_mask); train on the uncompressed file")
        }
        guard let labels = file.labels else {
            throw TrainError("\(path): no 'labels' tensor; training items need labels [N] (I64, -100 = ignored), e.g. from 'omnisift prepare'")
        }
        if file.positionIds == nil { file = try file.withComputedPositions(config: config) }
        let isMedia = file.inputIds.map { id -> Bool in
            switch TokenModality.of(tokenId: id) {
            case .audio, .video, .image: return true
            default: return false
            }
        }
        let d = config.textConfig.hiddenSize
        if isMedia.contains(true) && file.embeddings == nil {
            throw TrainError("\(path): the sequence has audio/video/image tokens but no 'inputs_embeds'")
        }
        if let e = file.embeddings, e.cols != d {
            throw TrainError("\(path): inputs_embeds has width D = \(e.cols), the model's hidden_size is \(d)")
        }
        if mode != .llm {
            let audio = file.inputIds.filter { $0 == QwenOmniTokens.audio }.count
            let video = file.inputIds.filter { $0 == QwenOmniTokens.video }.count
            if audio == 0 || video == 0 {
                throw TrainError("\(path): --train \(mode.rawValue) needs audio and video tokens (the selector scores audio "
                                 + "against the video), found \(audio) audio and \(video) video tokens")
            }
        }
        let item = TrainingItem(path: path, inputIds: file.inputIds, positions: file.positionIds!,
                                embeddings: file.embeddings, labels: labels)
        if item.answerTokens == 0 {
            throw TrainError("\(path): labels hold no answer token (every label after the first is -100)")
        }
        return item
    }

    /// The item files listed by `path`: a folder (its `*.safetensors`, sorted by name), a JSON-lines file whose
    /// lines hold `prefill_path` (or `path`), relative to the file's folder, or one `.safetensors` file.
    public static func list(_ path: String) throws -> [String] {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw TrainError("\(path): no such file or folder")
        }
        if isDir.boolValue {
            let names = try FileManager.default.contentsOfDirectory(atPath: path).filter { $0.hasSuffix(".safetensors") }.sorted()
            if names.isEmpty { throw TrainError("\(path): the folder holds no .safetensors prefill files") }
            return names.map { (path as NSString).appendingPathComponent($0) }
        }
        if path.hasSuffix(".safetensors") { return [path] }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw TrainError("\(path): cannot read the file as UTF-8 text")
        }
        let base = (path as NSString).deletingLastPathComponent
        var out: [String] = []
        for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let t = line.trimmingCharacters(in: .whitespaces)
            if t.isEmpty { continue }
            guard let obj = try? JSONSerialization.jsonObject(with: Data(t.utf8)) as? [String: Any] else {
                throw TrainError("\(path):\(i + 1): not a JSON object")
            }
            guard let p = (obj["prefill_path"] ?? obj["path"]) as? String else {
                throw TrainError("\(path):\(i + 1): no 'prefill_path' (or 'path') string")
            }
            out.append(p.hasPrefix("/") ? p : (base as NSString).appendingPathComponent(p))
        }
        if out.isEmpty { throw TrainError("\(path): no items") }
        return out
    }
}

/// What trains (issue: `--train`).
public enum TrainMode: String, Sendable, Codable, CaseIterable {
    /// VGAS only; the thinker is frozen (gradients flow through it to the audio rows, none for its weights).
    case selector
    /// The reference recipe: VGAS and the thinker's weights (encoders frozen).
    case selectorAndLLM = "selector+llm"
    /// The thinker alone, without compression.
    case llm

    public var trainsThinker: Bool { self != .selector }
    public var usesSelector: Bool { self != .llm }
}
