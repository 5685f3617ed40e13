import ArgumentParser
import Foundation
import OmniSIFT
import OmniTrain
import QwenOmni
import SafeTensors

/// `omnisift train`: trains VGAS (and/or the thinker) end to end through the LLM with the straight-through
/// estimator (SPEC 3.4, 10).
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train the OmniSIFT selector (and/or the thinker LLM) end to end with the straight-through estimator.",
        discussion: """
            Items are prefill files (SPEC 6) with `labels` (-100 = ignored), listed in a JSON-lines file (one \
            {"prefill_path": ...} per line, relative to the file) or given as a folder of .safetensors files. The \
            loss is the next-token cross-entropy on the answer tokens, the mean over all answer tokens of a global \
            batch (--batch items, gradients accumulated one item at a time).

            Modes: selector (VGAS only; the thinker is frozen and gradients flow through it to the kept audio \
            rows), selector+llm (the reference recipe: VGAS and the thinker's weights), llm (the thinker alone, \
            without compression; --init-random CONFIG starts from a random model with that config.json). \
            Compression is the OmniSIFT compressor's (STVP, groups, hard top-k) at --rho-video/--rho-audio or \
            --keep F; the kept audio rows carry the STE multiplier m + (s - stopgrad(s)) = 1.

            Optimiser: AdamW (betas 0.9/0.999, eps 1e-8, --weight-decay 0) on Float32 master weights, cosine \
            schedule with 0.47 cycles after a linear warm-up of --warmup of the steps (the first step has lr 0, as \
            the Hugging Face Trainer), gradient clipping at --max-grad-norm 1. Defaults: lr 1e-5, batch 128, warm-up \
            0.05, 1 epoch (SPEC 10).

            OUT_DIR gets train_log.jsonl (one line per step), checkpoint-<step>/ (the latest: weights, \
            optimizer.safetensors, trainer_state.json; --resume continues from it bit for bit) and, at the end, \
            selector.safetensors (thinker.compressor.*, loads with `compress --selector`) and, when the thinker \
            trains (or with --export-model in selector mode), model/ (config.json + model.safetensors, a Hugging Face \
            style folder, plus the source folder's tokenizer and generation_config.json; with selector+llm or \
            --export-model the selector is inside too, as thinker.compressor.*).
            """
    )

    @Option(help: "Qwen2.5-Omni checkpoint folder (config.json + safetensors). Not needed with --init-random.")
    var model: String?

    @Option(help: "Training items: a .jsonl file (prefill_path per line) or a folder of prefill .safetensors files.")
    var data: String

    @Option(help: "Selector to start from (.safetensors or checkpoint folder with thinker.compressor.*); default: the reference initialisation.")
    var `init`: String?

    @Option(name: .customLong("init-random"), help: "A config.json: train a randomly initialised thinker of that shape (--train llm or selector+llm).")
    var initRandom: String?

    @Option(help: "What trains: selector, selector+llm or llm.")
    var train: String = "selector"

    @Option(name: .customLong("rho-video"), help: "Fraction of video tokens removed (default 0.7).")
    var rhoVideo: Double?

    @Option(name: .customLong("rho-audio"), help: "Fraction of audio tokens removed (default 0.3).")
    var rhoAudio: Double?

    @Option(help: "Target retained audio+video fraction, planned per item (instead of --rho-video).")
    var keep: Double?

    @Option(help: "Optimiser steps (instead of --epochs); 0 with --train selector writes the initial selector untrained (a baseline).")
    var steps: Int?

    @Option(help: "Epochs over the items (default 1): steps = ceil(epochs x items / batch).")
    var epochs: Double?

    @Option(help: "Peak learning rate.")
    var lr: Double = 1e-5

    @Option(help: "Items per optimiser step (global batch; gradients are accumulated).")
    var batch: Int = 128

    @Option(help: "Warm-up fraction of the steps.")
    var warmup: Double = 0.05

    @Option(name: .customLong("eval-data"), help: "Held-out items (.jsonl or folder): mean loss at every checkpoint and at the end.")
    var evalData: String?

    @Option(name: .customLong("save-every"), help: "Write a checkpoint every K steps (always at the end).")
    var saveEvery: Int = 0

    @Option(name: [.short, .customLong("output")], help: "Output folder.")
    var output: String

    @Flag(help: "Continue from the latest checkpoint in the output folder.")
    var resume = false

    @Option(name: .customLong("weight-decay"), help: "AdamW weight decay.")
    var weightDecay: Double = 0

    @Option(name: .customLong("max-grad-norm"), help: "Gradient clipping norm.")
    var maxGradNorm: Double = 1

    @Option(help: "Seed of the item order and of the initialisations.")
    var seed: UInt64 = 0

    @Option(name: .customLong("selector-hidden"), help: "Hidden width of a freshly initialised selector.")
    var selectorHidden: Int = 512

    @Option(name: .customLong("selector-heads"), help: "Heads of a freshly initialised selector (or of --init without num_heads metadata).")
    var selectorHeads: Int?

    @Option(name: .customLong("activation-memory-gb"), help: "Keep all layers' activations when they fit in this many GB, else recompute layer by layer in the backward.")
    var activationMemoryGB: Double = 4

    @Flag(name: .customLong("export-model"), help: "With --train selector: at the end also write model/, the --model checkpoint with the trained selector inside (thinker.compressor.*), a folder eval --model and run take as it is.")
    var exportModel = false

    @Flag(help: "Print a JSON report.")
    var json = false

    @Flag(help: "No progress line.")
    var quiet = false

    struct Report: Encodable {
        let mode: String
        let steps: Int
        let items: Int
        let finalLoss: Double
        let firstLoss: Double
        let evalLoss: Double?
        let seconds: Double
        let tokensPerSecond: Double
        let peakRSSBytes: Int
        let output: String
        let selector: String?
        let modelFolder: String?
        enum CodingKeys: String, CodingKey {
            case mode, steps, items, finalLoss = "final_loss", firstLoss = "first_loss", evalLoss = "eval_loss"
            case seconds, tokensPerSecond = "tokens_per_second", peakRSSBytes = "peak_rss_bytes", output, selector
            case modelFolder = "model_folder"
        }
    }

    func run() throws {
        guard let mode = TrainMode(rawValue: train) else {
            throw ValidationError("--train \(train): expected selector, selector+llm or llm")
        }
        if steps != nil && epochs != nil { throw ValidationError("give --steps or --epochs, not both") }
        if keep != nil && rhoVideo != nil { throw ValidationError("give --keep or --rho-video, not both") }
        if initRandom != nil && model != nil { throw ValidationError("give --model or --init-random, not both") }
        if initRandom != nil && mode == .selector {
            throw ValidationError("--init-random makes a random thinker; with --train selector it would stay random (use llm or selector+llm)")
        }
        if initRandom == nil && model == nil { throw ValidationError("--model DIR is required (or --init-random CONFIG)") }
        if saveEvery < 0 { throw ValidationError("--save-every \(saveEvery) must be >= 0") }
        if exportModel && mode != .selector {
            throw ValidationError("--export-model is for --train selector (the thinker modes always write model/)")
        }

        // The thinker.
        let thinker: TrainableThinker, qwen: QwenOmniConfig, configJSON: Data
        var passthrough: SafeTensorsCheckpoint?
        if let initRandom {
            qwen = try QwenOmniConfig.load(path: initRandom)
            configJSON = try Data(contentsOf: URL(fileURLWithPath: initRandom))
            thinker = try TrainableThinker.randomlyInitialized(config: qwen.thinker, seed: seed)
        } else {
            let dir = model!
            qwen = try QwenOmniConfig.load(path: dir)
            var isDir: ObjCBool = false
            let isFolder = FileManager.default.fileExists(atPath: dir, isDirectory: &isDir) && isDir.boolValue
            configJSON = try Data(contentsOf: URL(fileURLWithPath: isFolder ? (dir as NSString).appendingPathComponent("config.json") : dir))
            let checkpoint = try SafeTensorsCheckpoint(path: dir)
            thinker = try TrainableThinker.load(checkpoint: checkpoint, config: qwen.thinker)
            passthrough = checkpoint
        }
        thinker.activationBudgetBytes = Int(activationMemoryGB * 1e9)
        // The selector.
        var selector: TrainableSelector?
        if mode.usesSelector {
            if let path = `init` {
                selector = TrainableSelector(try VGASSelector.load(path: path, numHeads: selectorHeads))
            } else {
                selector = try TrainableSelector.referenceInitialized(
                    inputSize: qwen.thinker.textConfig.hiddenSize, hiddenSize: selectorHidden,
                    numHeads: selectorHeads ?? VGASSelector.defaultHeads, seed: seed)
            }
        }
        if steps == 0 {
            // The untrained baseline: the initial weights, written without a step.
            guard mode == .selector, let selector else {
                throw ValidationError("--steps 0 writes the initial selector (the untrained baseline); it needs --train selector")
            }
            try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
            let path = (output as NSString).appendingPathComponent("selector.safetensors")
            try selector.snapshot().save(to: path)
            print("untrained selector (initialisation, seed \(seed), 0 steps) written to \(path)")
            return
        }
        let budget: TrainingBudget
        if let keep {
            budget = .keep(keep, rhoAudio: rhoAudio)
        } else {
            let b = try CompressionBudget(rhoVideo: rhoVideo ?? 0.7, rhoAudio: rhoAudio ?? 0.3)
            budget = .ratios(rhoVideo: b.rhoVideo, rhoAudio: b.rhoAudio)
        }
        let trainingModel = try OmniSIFTTrainingModel(mode: mode, thinker: thinker, selector: selector, budget: budget)
        let items = try TrainingItem.list(data)
        let evalItems = try evalData.map(TrainingItem.list) ?? []

        var config = TrainConfiguration()
        config.mode = mode
        config.learningRate = lr
        config.batch = batch
        config.totalSteps = steps ?? Int((Double(items.count) * (epochs ?? 1) / Double(max(batch, 1))).rounded(.up))
        config.warmupRatio = warmup
        config.maxGradNorm = maxGradNorm
        config.weightDecay = weightDecay
        config.seed = seed
        config.budget = budget
        let trainer = try Trainer(model: trainingModel, configuration: config, items: items, evalItems: evalItems,
                                  output: output, thinkerConfig: qwen.thinker, configJSON: configJSON,
                                  passthrough: passthrough)
        trainer.saveEvery = saveEvery
        trainer.exportModelWithSelector = exportModel
        // The source folder's tokenizer and generation config go into every model/ folder.
        let source = initRandom.map { ($0 as NSString).deletingLastPathComponent } ?? model!
        var sourceIsDir: ObjCBool = false
        _ = FileManager.default.fileExists(atPath: source.isEmpty ? "." : source, isDirectory: &sourceIsDir)
        trainer.companions = try Trainer.companionFiles(
            of: sourceIsDir.boolValue ? (source.isEmpty ? "." : source) : (source as NSString).deletingLastPathComponent)
        try trainer.checkItems()
        if resume { try trainer.resume() }

        let showLine = !quiet && !json && ProgressDisplay.stderrIsTerminal
        let start = Date()
        var first: StepReport?, last: StepReport?
        try trainer.run { r in
            if first == nil { first = r }
            last = r
            if showLine {
                let width = 20, done = Int(Double(width) * Double(r.step) / Double(r.totalSteps))
                let bar = String(repeating: "#", count: done) + String(repeating: ".", count: width - done)
                let line = String(format: "\r\u{1B}[Ktrain [%@] %d/%d  loss %.4f  lr %.2e  %.0f tok/s  ETA %@",
                                  bar, r.step, r.totalSteps, r.loss, r.lr, r.tokensPerSecond, Self.duration(r.eta))
                FileHandle.standardError.write(Data(line.utf8))
            } else if !quiet && !json {
                FileHandle.standardError.write(Data(String(format: "step %d/%d loss %.4f lr %.2e %.0f tok/s ETA %@\n",
                                                           r.step, r.totalSteps, r.loss, r.lr, r.tokensPerSecond,
                                                           Self.duration(r.eta)).utf8))
            }
        }
        if showLine { FileHandle.standardError.write(Data("\n".utf8)) }
        let seconds = Date().timeIntervalSince(start)
        let selectorPath = mode.usesSelector ? (output as NSString).appendingPathComponent("selector.safetensors") : nil
        let modelPath = mode.trainsThinker || exportModel ? (output as NSString).appendingPathComponent("model") : nil
        let report = Report(mode: mode.rawValue, steps: trainer.step, items: items.count,
                            finalLoss: last?.loss ?? .nan, firstLoss: first?.loss ?? .nan, evalLoss: last?.evalLoss,
                            seconds: seconds, tokensPerSecond: last?.tokensPerSecond ?? 0,
                            peakRSSBytes: ThinkerMemory.peakResidentBytes() ?? -1, output: output,
                            selector: selectorPath, modelFolder: modelPath)
        if json {
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try enc.encode(report), as: UTF8.self))
        } else {
            var t = TextTable(columns: ["item", "value"])
            t.addRow("mode", mode.rawValue)
            t.addRow("steps", "\(trainer.step) (batch \(batch), \(items.count) items)")
            if let first, let last { t.addRow("loss", String(format: "%.4f -> %.4f", first.loss, last.loss)) }
            if let e = last?.evalLoss { t.addRow("eval loss", String(format: "%.4f", e)) }
            t.addRow("time", String(format: "%.1f s", seconds))
            t.addRow("peak RSS", ByteCount.format(report.peakRSSBytes))
            if let selectorPath { t.addRow("selector", selectorPath) }
            if let modelPath { t.addRow("model", modelPath) }
            print(t.render())
        }
    }

    static func duration(_ s: Double) -> String {
        guard s.isFinite else { return "?" }
        let t = Int(s.rounded())
        return t >= 3600 ? String(format: "%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60) : String(format: "%d:%02d", t / 60, t % 60)
    }
}
