import Foundation
import OmniSIFT
import OmniTensor
import QwenOmni
import SafeTensors

/// One optimiser step's numbers, for the progress bar and `train_log.jsonl`.
public struct StepReport: Codable, Sendable {
    public var step: Int
    public var totalSteps: Int
    /// Mean cross-entropy over the step's answer tokens.
    public var loss: Double
    public var lr: Double
    /// The global gradient norm before clipping.
    public var gradNorm: Double
    public var tokens: Int
    public var answerTokens: Int
    /// Mean retained audio+video fraction of the step's items (1 without compression).
    public var retained: Double
    public var seconds: Double
    public var tokensPerSecond: Double
    /// Estimated seconds left.
    public var eta: Double
    public var evalLoss: Double?

    enum CodingKeys: String, CodingKey {
        case step, totalSteps = "total_steps", loss, lr, gradNorm = "grad_norm", tokens, answerTokens = "answer_tokens"
        case retained, seconds, tokensPerSecond = "tokens_per_second", eta = "eta_seconds", evalLoss = "eval_loss"
    }
}

/// The state saved with every checkpoint (`trainer_state.json`).
public struct TrainerState: Codable, Sendable, Equatable {
    public var step: Int
    public var configuration: TrainConfiguration
    public var optimizer: AdamW
    public var items: [String]
    enum CodingKeys: String, CodingKey { case step, configuration, optimizer, items }
}

/// Runs the optimisation: item order, gradient accumulation, clipping, AdamW with the cosine schedule, logging,
/// checkpoints, `--resume`, evaluation.
///
/// Output folder:
///   - `train_log.jsonl`: one `StepReport` per line (and the eval losses);
///   - `checkpoint-<step>/`: the latest checkpoint (older ones are removed once a newer one is complete):
///     `selector.safetensors` (selector modes; `thinker.compressor.*`), `model/` (thinker modes: `config.json` +
///     `model.safetensors` with `thinker.model.*`, `thinker.lm_head.*` and, in `selector+llm`,
///     `thinker.compressor.*`), `optimizer.safetensors` (both moments of every trained tensor), `trainer_state.json`;
///   - at the end, `selector.safetensors` and/or `model/` at the top level.
/// All weights are written as Float32 (the master weights), so a resumed run continues bit for bit.
public final class Trainer {
    public let model: OmniSIFTTrainingModel
    public let configuration: TrainConfiguration
    public let items: [String]
    public let evalItems: [String]
    public let output: String
    public let thinkerConfig: ThinkerConfig
    /// `config.json` bytes for the model folders.
    public let configJSON: Data
    /// Tensors copied unchanged into the final model folder (the encoders of the source checkpoint).
    public let passthrough: SafeTensorsCheckpoint?
    /// Files written unchanged into every `model/` folder beside `config.json` (the source folder's tokenizer and
    /// generation config, `companionFiles(of:)`), so the trained folder is complete on its own.
    public var companions: [(name: String, data: Data)] = []
    /// `--train selector` with `--export-model`: at the end also write `model/`, the source checkpoint's tensors
    /// with the trained selector inside (`thinker.compressor.*`), as an OmniSIFT checkpoint holds it.
    public var exportModelWithSelector = false

    /// The files of a model folder that `model/` folders copy: tokenizer, chat template, generation config.
    public static let companionFileNames = [
        "tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt", "special_tokens_map.json",
        "chat_template.json", "chat_template.jinja", "preprocessor_config.json", "generation_config.json",
    ]

    /// The companion files present in `folder`.
    public static func companionFiles(of folder: String) throws -> [(name: String, data: Data)] {
        try companionFileNames.compactMap { name in
            let p = (folder as NSString).appendingPathComponent(name)
            guard FileManager.default.fileExists(atPath: p) else { return nil }
            guard let d = FileManager.default.contents(atPath: p) else { throw TrainError("\(p): cannot be read") }
            return (name, d)
        }
    }
    /// Items kept in memory up to this many bytes of embeddings.
    public var cacheBytes = 2 << 30

    private var optimizer: AdamW
    private var moments: [String: ([Float], [Float])] = [:]
    public private(set) var step = 0
    private var cache: [String: TrainingItem] = [:]
    private var cachedBytes = 0
    private var lastCheckpoint: String?

    public init(model: OmniSIFTTrainingModel, configuration: TrainConfiguration, items: [String], evalItems: [String] = [],
                output: String, thinkerConfig: ThinkerConfig, configJSON: Data, passthrough: SafeTensorsCheckpoint? = nil) throws {
        try configuration.validate()
        guard !items.isEmpty else { throw TrainError("no training items") }
        self.model = model
        self.configuration = configuration
        self.items = items
        self.evalItems = evalItems
        self.output = output
        self.thinkerConfig = thinkerConfig
        self.configJSON = configJSON
        self.passthrough = passthrough
        optimizer = AdamW(beta1: configuration.beta1, beta2: configuration.beta2, eps: configuration.eps,
                          weightDecay: configuration.weightDecay)
        try Self.prepareOutput(output)
    }

    static func prepareOutput(_ path: String) throws {
        let fm = FileManager.default
        do { try fm.createDirectory(atPath: path, withIntermediateDirectories: true) } catch {
            throw TrainError("-o \(path): cannot create the output folder (\(error.localizedDescription))")
        }
        let probe = (path as NSString).appendingPathComponent(".write-test")
        guard fm.createFile(atPath: probe, contents: Data()) else {
            throw TrainError("-o \(path): the output folder is not writable")
        }
        try? fm.removeItem(atPath: probe)
    }

    // MARK: - Items

    /// The item at position `k` of the stream: epoch `k / count`, a seeded permutation per epoch.
    public func itemPath(at k: Int) -> String {
        let n = items.count
        let epoch = k / n
        var order = Array(0..<n)
        var rng = SeededGenerator(seed: configuration.seed &+ 0x5EED &+ UInt64(epoch) &* 0x9E37_79B9)
        if n > 1 {
            for i in stride(from: n - 1, to: 0, by: -1) {
                let j = Int(rng.next() % UInt64(i + 1))
                order.swapAt(i, j)
            }
        }
        return items[order[k % n]]
    }

    func load(_ path: String) throws -> TrainingItem {
        if let item = cache[path] { return item }
        let item = try TrainingItem.load(path: path, config: thinkerConfig, mode: model.mode)
        let bytes = 4 * (item.embeddings?.count ?? 0)
        if cachedBytes + bytes <= cacheBytes {
            cache[path] = item
            cachedBytes += bytes
        }
        return item
    }

    /// Loads every item once, so that bad data fails before the first step (the message names the file).
    public func checkItems() throws {
        for p in items { _ = try load(p) }
        for p in evalItems { _ = try TrainingItem.load(path: p, config: thinkerConfig, mode: model.mode) }
    }

    // MARK: - Running

    /// Runs from the current step to `configuration.totalSteps` (or at most `maxSteps` steps of it; the final export
    /// happens only when the run reaches its last step), calling `onStep` after every step.
    public func run(maxSteps: Int? = nil, onStep: (StepReport) -> Void = { _ in }) throws {
        let params = model.trainableParameters
        let schedule = configuration.schedule
        let logPath = (output as NSString).appendingPathComponent("train_log.jsonl")
        let start = Date()
        let firstStep = step
        var tokensSoFar = 0
        let stop = min(configuration.totalSteps, maxSteps.map { step + $0 } ?? Int.max)
        while step < stop {
            let t0 = Date()
            for p in params { p.zeroGrad() }
            let compressor = try model.makeCompressor()
            var lossSum = 0.0, answer = 0, tokens = 0, retained = 0.0
            var names: [String] = []
            for b in 0..<configuration.batch {
                let path = itemPath(at: step * configuration.batch + b)
                names.append(path)
                let r = try model.run(try load(path), compressor: compressor)
                if !r.lossSum.isFinite {
                    throw TrainError("non-finite loss (\(r.lossSum)) on item \(path) at step \(step + 1); training stopped, "
                                     + "the last good checkpoint is \(lastCheckpoint ?? "none (no checkpoint was written yet)")")
                }
                lossSum += r.lossSum; answer += r.answerTokens; tokens += r.tokens; retained += r.retained
            }
            let scale = Float(1 / Double(max(answer, 1)))
            for p in params { p.grad.withUnsafeMutableBufferPointer { g in for i in g.indices { g[i] *= scale } } }
            let norm = clipGradientNorm(params, maxNorm: configuration.maxGradNorm)
            if !norm.isFinite {
                throw TrainError("non-finite gradient norm at step \(step + 1) (items \(names.joined(separator: ", "))); "
                                 + "training stopped, the last good checkpoint is \(lastCheckpoint ?? "none")")
            }
            let lr = schedule.learningRate(at: step)
            optimizer.update(params, moments: &moments, lr: lr)
            step += 1
            tokensSoFar += tokens
            let seconds = Date().timeIntervalSince(t0)
            let elapsed = Date().timeIntervalSince(start)
            let perStep = elapsed / Double(step - firstStep)
            var report = StepReport(step: step, totalSteps: configuration.totalSteps, loss: lossSum / Double(max(answer, 1)),
                                    lr: lr, gradNorm: norm, tokens: tokens, answerTokens: answer,
                                    retained: retained / Double(configuration.batch), seconds: seconds,
                                    tokensPerSecond: Double(tokensSoFar) / max(elapsed, 1e-9),
                                    eta: perStep * Double(configuration.totalSteps - step), evalLoss: nil)
            let save = step == configuration.totalSteps || (saveEvery > 0 && step % saveEvery == 0)
            if save && !evalItems.isEmpty { report.evalLoss = try evaluate() }
            try appendLog(report, to: logPath)
            if save { try saveCheckpoint() }
            onStep(report)
        }
        if step == configuration.totalSteps { try exportFinal() }
    }

    /// Steps between checkpoints (0: only at the end).
    public var saveEvery = 0

    /// Mean loss over the eval items' answer tokens, with the current weights (no gradients).
    public func evaluate() throws -> Double {
        let compressor = try model.makeCompressor()
        var loss = 0.0, count = 0
        for p in evalItems {
            let item = try TrainingItem.load(path: p, config: thinkerConfig, mode: model.mode)
            let r = try model.run(item, compressor: compressor, lossOnly: true)
            loss += r.lossSum; count += r.answerTokens
        }
        return loss / Double(max(count, 1))
    }

    private func appendLog(_ report: StepReport, to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var line = try encoder.encode(report)
        line.append(0x0A)
        if let h = FileHandle(forWritingAtPath: path) {
            defer { try? h.close() }
            h.seekToEndOfFile()
            h.write(line)
        } else if !FileManager.default.createFile(atPath: path, contents: line) {
            throw TrainError("\(path): cannot write the training log")
        }
    }

    // MARK: - Checkpoints

    private func path(_ parts: String...) -> String {
        parts.reduce(output) { ($0 as NSString).appendingPathComponent($1) }
    }

    /// Writes the selector (official names, Float32) and/or the model folder into `dir`.
    private func writeWeights(into dir: String, final: Bool) throws {
        let fm = FileManager.default
        try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
        if let selector = model.selector {
            try selector.snapshot().save(to: (dir as NSString).appendingPathComponent("selector.safetensors"))
        }
        let exportsSelectorModel = final && exportModelWithSelector && !model.mode.trainsThinker && model.selector != nil
        if model.mode.trainsThinker || exportsSelectorModel {
            let folder = (dir as NSString).appendingPathComponent("model")
            try fm.createDirectory(atPath: folder, withIntermediateDirectories: true)
            try configJSON.write(to: URL(fileURLWithPath: (folder as NSString).appendingPathComponent("config.json")))
            for c in companions {
                try c.data.write(to: URL(fileURLWithPath: (folder as NSString).appendingPathComponent(c.name)))
            }
            var w = SafeTensorsWriter(metadata: ["format": "pt"])
            for p in model.thinker.parameters { try w.add(p.name, float32s: p.value, shape: p.shape) }
            if let selector = model.selector {
                for p in selector.parameters { try w.add(p.name, float32s: p.value, shape: p.shape) }
                w.metadata["num_heads"] = String(selector.numHeads)
            }
            if final, let passthrough {
                let trained = Set(w.tensorNames)
                for name in passthrough.names where !trained.contains(name) && !name.hasPrefix(VGASSelector.officialPrefix)
                    && (name.hasPrefix("thinker.audio_tower.") || name.hasPrefix("thinker.visual.")) {
                    let e = passthrough.entry(name)!
                    guard e.dtype.isFloatingPoint else { continue }
                    try w.add(name, try passthrough.floatTensor(name), dtype: e.dtype)
                }
            }
            try w.write(to: (folder as NSString).appendingPathComponent("model.safetensors"))
        }
    }

    public func saveCheckpoint() throws {
        let fm = FileManager.default
        let name = "checkpoint-\(step)"
        let tmp = path(".tmp-" + name)
        try? fm.removeItem(atPath: tmp)
        do {
            try writeWeights(into: tmp, final: false)
            var w = SafeTensorsWriter(metadata: ["step": String(optimizer.step)])
            for p in model.trainableParameters {
                let (m, v) = moments[p.name] ?? ([Float](repeating: 0, count: p.count), [Float](repeating: 0, count: p.count))
                try w.add(p.name + ".exp_avg", float32s: m, shape: p.shape)
                try w.add(p.name + ".exp_avg_sq", float32s: v, shape: p.shape)
            }
            try w.write(to: (tmp as NSString).appendingPathComponent("optimizer.safetensors"))
            let state = TrainerState(step: step, configuration: configuration, optimizer: optimizer, items: items)
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            try enc.encode(state).write(to: URL(fileURLWithPath: (tmp as NSString).appendingPathComponent("trainer_state.json")))
            let final = path(name)
            try? fm.removeItem(atPath: final)
            try fm.moveItem(atPath: tmp, toPath: final)
        } catch let e as TrainError {
            throw e
        } catch {
            throw TrainError("\(tmp): cannot write the checkpoint (\(error))")
        }
        // Older checkpoints go once the new one is complete.
        for old in Self.checkpoints(in: output) where old.step != step {
            try? fm.removeItem(atPath: path(old.name))
        }
        lastCheckpoint = path(name)
    }

    private func exportFinal() throws {
        let fm = FileManager.default
        let tmp = path(".tmp-final")
        try? fm.removeItem(atPath: tmp)
        try writeWeights(into: tmp, final: true)
        for entry in try fm.contentsOfDirectory(atPath: tmp) {
            let dst = path(entry)
            try? fm.removeItem(atPath: dst)
            try fm.moveItem(atPath: (tmp as NSString).appendingPathComponent(entry), toPath: dst)
        }
        try? fm.removeItem(atPath: tmp)
    }

    /// The `checkpoint-<step>` folders in `dir`, by step.
    public static func checkpoints(in dir: String) -> [(name: String, step: Int)] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        return names.compactMap { n in
            guard n.hasPrefix("checkpoint-"), let s = Int(n.dropFirst("checkpoint-".count)) else { return nil }
            return (n, s)
        }.sorted { $0.step < $1.step }
    }

    /// Continues from the latest checkpoint in the output folder: weights, both moments, the optimiser's step
    /// count and the position in the item stream. The configuration and the item list must be the same.
    public func resume() throws {
        guard let last = Self.checkpoints(in: output).last else {
            throw TrainError("--resume: no checkpoint-<step> folder in \(output)")
        }
        let dir = path(last.name)
        let stateURL = URL(fileURLWithPath: (dir as NSString).appendingPathComponent("trainer_state.json"))
        let state: TrainerState
        do { state = try JSONDecoder().decode(TrainerState.self, from: Data(contentsOf: stateURL)) } catch {
            throw TrainError("\(stateURL.path): cannot read the trainer state (\(error))")
        }
        if state.configuration != configuration {
            throw TrainError("--resume: \(dir) was trained with another configuration (\(state.configuration)); "
                             + "this run has \(configuration)")
        }
        if state.items != items {
            throw TrainError("--resume: \(dir) was trained on another item list (\(state.items.count) items, this run has \(items.count))")
        }
        var weights: [String: SafeTensorsCheckpoint] = [:]
        if model.selector != nil {
            weights["selector"] = try SafeTensorsCheckpoint(path: (dir as NSString).appendingPathComponent("selector.safetensors"))
        }
        if model.mode.trainsThinker {
            weights["model"] = try SafeTensorsCheckpoint(path: (dir as NSString).appendingPathComponent("model"))
        }
        let opt = try SafeTensorsCheckpoint(path: (dir as NSString).appendingPathComponent("optimizer.safetensors"))
        for p in model.trainableParameters {
            let source = p.name.hasPrefix(VGASSelector.officialPrefix) && model.selector != nil ? weights["selector"]! : weights["model"]!
            guard source.contains(p.name) else { throw TrainError("\(source.path): no tensor \(p.name) to resume from") }
            let v = try source.floatTensor(p.name)
            guard v.shape == p.shape else { throw TrainError("\(source.path): \(p.name) has shape \(v.shape), expected \(p.shape)") }
            p.value = v.scalars
            moments[p.name] = (try opt.floatTensor(p.name + ".exp_avg").scalars, try opt.floatTensor(p.name + ".exp_avg_sq").scalars)
        }
        optimizer = state.optimizer
        step = state.step
        lastCheckpoint = dir
    }
}
