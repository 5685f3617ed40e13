import ArgumentParser
import Foundation
import OmniSIFT
import OmniTensor
import QwenOmni

/// `omnisift demo`: the whole pipeline on a built-in SYNTHETIC scene, in one command.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Compress a built-in SYNTHETIC audio-video scene with every method and time the prefill.",
        discussion: """
            Builds a synthetic scene with the real Qwen2.5-Omni-7B prompt layout (default 20 s at 2 fps: grid \
            20x24x42, 252 video tokens per frame, 25 audio tokens per second, text before and after) and made-up \
            embeddings with real structure: a static background, a moving object, and sound events whose audio \
            tokens share the object's direction, silence otherwise (SyntheticScene). No real media is involved.

            Every method (omnisift, omnizip, dycoke, random, vidcom2, dtd, uniform) compresses it to 35 % and 25 % \
            of the audio + video tokens. OmniSIFT runs with an UNTRAINED, seeded random VGAS selector (it shows the \
            mechanics and the cost, not accuracy), and once more with the video-similarity audio stand-in. A small \
            decoder with RANDOM weights (--layers layers, hidden = --dim) then prefills the full sequence and each \
            compressed one. The report gives the kept tokens per modality, compression and prefill times, the \
            speedup over the full prefill, and the structure signal: the share of the moving object's patches and \
            of the background each method kept (and of the audio during events vs silence).

            Times are the fastest of --repetitions runs (default 2). --out DIR also writes DIR/scene.safetensors and the OmniSIFT outputs (omnisift-35.safetensors, \
            omnisift-25.safetensors, with audio_scores) for omnisift render. Progress goes to stderr on a terminal; \
            --quiet and --json keep it silent.
            """
    )

    @OptionGroup var reporting: ReportOptions
    var json: Bool { reporting.json }
    var quiet: Bool { reporting.quiet }

    @Option(help: "Scene length in seconds (1-120).")
    var seconds: Int = 20

    @Option(help: "Embedding width D of the scene and the decoder (a multiple of 64, 64-4096).")
    var dim: Int = 256

    @Option(help: "Seed of the scene, the random selector and the random decoder.")
    var seed: UInt64 = 0

    @Option(help: "Decoder layers (1-8).")
    var layers: Int = 2

    @Option(help: "Timed runs of each compression and prefill; the fastest is reported (1-10).")
    var repetitions: Int = 2

    @Option(help: "Folder to write the scene and the OmniSIFT-compressed files into (created if missing).")
    var out: String?



    static let keeps = [0.35, 0.25]

    func validate() throws {
        guard (1...120).contains(seconds) else { throw ValidationError("--seconds \(seconds) must be between 1 and 120") }
        guard (64...4096).contains(dim), dim % 64 == 0 else {
            throw ValidationError("--dim \(dim) must be a multiple of 64 between 64 and 4096 (decoder heads of 64)")
        }
        guard (1...8).contains(layers) else { throw ValidationError("--layers \(layers) must be between 1 and 8") }
        guard (1...10).contains(repetitions) else { throw ValidationError("--repetitions \(repetitions) must be between 1 and 10") }
        if let out {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: out, isDirectory: &isDirectory), !isDirectory.boolValue {
                throw ValidationError("--out \(out) is a file; give a folder (it is created when missing) so no file is replaced")
            }
        }
    }

    func run() throws {
        let wall = ContinuousClock.now
        let progress = ProgressDisplay.reporter(quiet: quiet, json: json)
        func ms(since t: ContinuousClock.Instant) -> Double { t.duration(to: .now).milliseconds }

        // Scene.
        progress.begin("building the synthetic scene", total: nil, unit: "it")
        var t = ContinuousClock.now
        let scene = try SyntheticScene.build(SyntheticSceneConfig(seconds: seconds, hiddenSize: dim, seed: seed))
        let sceneMs = ms(since: t)
        let file = scene.file
        let input = try CompressionInput(inputIds: file.inputIds, positionIds: file.positionIds!,
                                         embeddings: file.embeddings!)
        progress.end()

        // Methods: OmniSIFT with a random selector, OmniSIFT with the video-similarity stand-in, the baselines.
        t = ContinuousClock.now
        let selector = try VGASSelector.randomlyInitialized(inputSize: dim, seed: seed)
        var options = CompressorOptions()
        options.seed = seed
        var methods: [any TokenCompressor] = [
            OmniSIFTCompressor(selector: selector),
            OmniSIFTCompressor(audioFallback: .videoSimilarity),
        ]
        for name in CompressorRegistry.names where name != "omnisift" && name != "none" {
            methods.append(try CompressorRegistry.make(name, options: options))
        }
        let model = try DemoDecoder.randomModel(hidden: dim, layers: layers, seed: seed &+ 1)
        let setupMs = ms(since: t)

        if let out {
            do {
                try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            } catch {
                throw CLIError("--out \(out): cannot create the folder: \((error as NSError).localizedDescription)")
            }
            try file.write(to: (out as NSString).appendingPathComponent("scene.safetensors"))
        }

        let runs = 2 + methods.count * Self.keeps.count
        progress.begin("compress + prefill", total: runs, unit: "runs")
        // Warm-up (thread pool, page faults), untimed.
        let warm = min(256, file.count)
        _ = try model.prefill(embeddings: file.embeddings!.gatherRows(Array(0..<warm)),
                              positions: PositionIds(sequential: warm), ropeDelta: 0)
        let ropeDelta = file.ropeDeltas?.first ?? 0
        /// Fastest of `repetitions` prefills, in ms (the shared machine's noise only ever adds time).
        func prefillMs(_ e: Tensor, _ p: PositionIds) throws -> Double {
            var best = Double.infinity
            for _ in 0..<repetitions {
                let r = try model.prefill(embeddings: e, positions: p, ropeDelta: ropeDelta, uncompressedLength: file.count)
                best = min(best, r.state.timings.prefillSeconds * 1000)
            }
            return best
        }
        let fullBefore = try prefillMs(file.embeddings!, file.positionIds!)
        progress.advance()

        var measured: [(result: CompressionResult, keep: Double, compressMs: Double, prefillMs: Double,
                        shares: SceneKeepShares)] = []
        var written: [String] = []
        for keep in Self.keeps {
            for compressor in methods {
                let budget = try compressor.plan(for: input, keep: keep).budget
                var first: CompressionResult?
                var compressMs = Double.infinity
                for _ in 0..<repetitions {
                    t = ContinuousClock.now
                    let r = try compressor.compress(input, budget: budget)
                    compressMs = min(compressMs, ms(since: t))
                    if first == nil { first = r }
                }
                let result = first!
                let prefillMs = try prefillMs(result.embeddings, result.positionIds)
                let shares = try scene.keptShares(keepMask: result.keepMask)
                measured.append((result, keep, compressMs, prefillMs, shares))
                if let out, let omni = compressor as? OmniSIFTCompressor, case .selector = omni.audioSelection {
                    let path = (out as NSString).appendingPathComponent("omnisift-\(Int((keep * 100).rounded())).safetensors")
                    var f = result.prefillFile(original: file)
                    f.metadata["compress_ms"] = String(format: "%.3f", compressMs)
                    f.metadata["target_keep"] = "\(keep)"
                    f.metadata["selector"] = "UNTRAINED random init (seed \(seed))"
                    if f.audioScores != nil { f.metadata["audio_scores_source"] = omni.audioScoreSource }
                    try f.write(to: path)
                    written.append(path)
                }
                progress.advance()
            }
        }
        // The full prefill once more at the end: a burst of load on the shared machine during only one of the
        // two measurements does not inflate every speedup.
        let fullMs = min(fullBefore, try prefillMs(file.embeddings!, file.positionIds!))
        progress.advance()
        progress.end()
        let rows = measured.map {
            DemoReport.Row(result: $0.result, targetKeep: $0.keep, compressMs: $0.compressMs, prefillMs: $0.prefillMs,
                           fullPrefillMs: fullMs, shares: $0.shares)
        }

        let c = model.config
        let counts = input.groups.counts
        let objects = scene.indices(of: .object).count, events = scene.indices(of: .audioEvent).count
        let report = DemoReport(
            scene: scene.description, seconds: seconds, grid: file.videoGrids.first ?? [],
            tokensPerFrame: scene.tokensPerFrame, videoTokens: counts.video, audioTokens: counts.audio,
            otherTokens: file.count - counts.audioVideo, totalTokens: file.count, dim: dim,
            objectTokens: objects, eventAudioTokens: events, soundEvents: scene.events.count,
            decoder: "RANDOM weights, \(c.numHiddenLayers) layers, hidden \(c.hiddenSize), \(c.numAttentionHeads)/\(c.numKeyValueHeads) heads of \(c.headDim), MLP \(c.intermediateSize)",
            sceneMs: sceneMs, setupMs: setupMs, fullPrefillMs: fullMs, methods: rows,
            notes: [
                "the scene is SYNTHETIC: made-up embeddings with a planted structure, not real audio or video",
                "omnisift: the VGAS selector is UNTRAINED (seeded random init, seed \(seed)): it shows the mechanics and the cost, not accuracy; omnisift-stvp+video-similarity uses the parameter-free audio stand-in instead",
                "the decoder has RANDOM weights: prefill times show the cost of each sequence length, its outputs mean nothing; in this small decoder attention (quadratic in length) is a larger share of the cost than in the 7B model, whose linear layers dominate at these lengths, so speedups run higher here than a 7B would see (omnisift bench prefill times 7B-shaped layers)",
            ] + (OmniZipCompressor.usesFallbackSaliency(input)
                 ? ["omnizip: the scene has no audio_saliency (no audio encoder); it used its fallback saliency"] : [])
              + ["times: fastest of \(repetitions) run(s) each (the full prefill: \(repetitions) at the start and \(repetitions) at the end), after one untimed warm-up prefill; the machine may be shared, compare times only within a run"],
            written: written, wallMs: ms(since: wall))
        if json {
            try JSONOutput.print(report)
        } else {
            print(report.text())
        }
    }
}

/// The machine-readable report of `omnisift demo --json`.
struct DemoReport: Codable {
    struct Row: Codable {
        var method: String
        var targetKeep: Double
        var rhoVideo: Double
        var rhoAudio: Double
        var videoKept: Int
        var audioKept: Int
        var retainedRatio: Double
        var tokensAfter: Int
        var compressMs: Double
        var prefillMs: Double
        /// Full prefill time / this prefill time.
        var prefillSpeedup: Double
        /// Full prefill time / (compression + this prefill).
        var endToEndSpeedup: Double
        /// Shares kept of the object's patches, the background's, the audio during events and the silence.
        var shares: SceneKeepShares

        init(result r: CompressionResult, targetKeep: Double, compressMs: Double, prefillMs: Double,
             fullPrefillMs: Double, shares: SceneKeepShares) {
            method = r.method
            self.targetKeep = targetKeep
            rhoVideo = r.budget.rhoVideo
            rhoAudio = r.budget.rhoAudio
            videoKept = r.after.video
            audioKept = r.after.audio
            retainedRatio = r.retainedRatio
            tokensAfter = r.after.total
            self.compressMs = compressMs
            self.prefillMs = prefillMs
            prefillSpeedup = prefillMs > 0 ? fullPrefillMs / prefillMs : 0
            endToEndSpeedup = compressMs + prefillMs > 0 ? fullPrefillMs / (compressMs + prefillMs) : 0
            self.shares = shares
        }
    }
    var scene: String
    var seconds: Int
    var grid: [Int]
    var tokensPerFrame: Int
    var videoTokens: Int
    var audioTokens: Int
    var otherTokens: Int
    var totalTokens: Int
    var dim: Int
    var objectTokens: Int
    var eventAudioTokens: Int
    var soundEvents: Int
    var decoder: String
    var sceneMs: Double
    var setupMs: Double
    var fullPrefillMs: Double
    var methods: [Row]
    var notes: [String]
    var written: [String]
    var wallMs: Double

    func text() -> String {
        func pct(_ x: Double) -> String { String(format: "%.1f%%", 100 * x) }
        func share(_ k: Int, _ n: Int) -> String { n == 0 ? "\(k)/0" : "\(k)/\(n) (" + pct(Double(k) / Double(n)) + ")" }
        var lines: [String] = []
        lines.append("omnisift demo: \(scene)")
        lines.append("scene: \(seconds) s, 2 fps, grid \(grid.map(String.init).joined(separator: "x")) -> \(tokensPerFrame) tokens/frame; "
                     + "\(videoTokens) video + \(audioTokens) audio + \(otherTokens) text/special = \(totalTokens) tokens, D = \(dim)")
        lines.append("       moving object: \(objectTokens) of \(videoTokens) video tokens (" + pct(Double(objectTokens) / Double(max(videoTokens, 1)))
                     + "); \(soundEvents) sound events: \(eventAudioTokens) of \(audioTokens) audio tokens")
        lines.append("decoder: \(decoder)")
        lines.append(String(format: "full prefill: %d tokens in %.1f ms", totalTokens, fullPrefillMs))
        lines.append("")

        var t = TextTable(columns: ["keep", "method", "video kept", "audio kept", "retained", "compress ms",
                                    "prefill ms", "speedup", "e2e speedup"])
        var lastKeep: Double?
        for r in methods {
            if let k = lastKeep, k != r.targetKeep { t.addSeparator() }
            lastKeep = r.targetKeep
            t.addRow(pct(r.targetKeep), r.method, share(r.videoKept, videoTokens), share(r.audioKept, audioTokens),
                     String(format: "%.2f%%", 100 * r.retainedRatio), String(format: "%.2f", r.compressMs),
                     String(format: "%.1f", r.prefillMs), String(format: "%.2fx", r.prefillSpeedup),
                     String(format: "%.2fx", r.endToEndSpeedup))
        }
        lines.append(t.render())
        lines.append("")
        lines.append("structure check (what each method kept of the planted structure; higher object than background share = it found the moving object):")
        var s = TextTable(columns: ["keep", "method", "object kept", "background kept", "event audio kept", "silent audio kept"])
        lastKeep = nil
        for r in methods {
            if let k = lastKeep, k != r.targetKeep { s.addSeparator() }
            lastKeep = r.targetKeep
            s.addRow(pct(r.targetKeep), r.method, pct(r.shares.object), pct(r.shares.background),
                     pct(r.shares.eventAudio), pct(r.shares.silentAudio))
        }
        lines.append(s.render())
        lines.append("")
        lines.append(String(format: "stages: scene %.0f ms, selector + decoder init %.0f ms; total wall %.1f s", sceneMs, setupMs, wallMs / 1000))
        lines += notes.map { "note: \($0)" }
        if !written.isEmpty {
            lines.append("wrote the scene and: " + written.joined(separator: ", "))
            if let first = written.first {
                let dir = (first as NSString).deletingLastPathComponent
                lines.append("draw one: omnisift render \((dir as NSString).appendingPathComponent("scene.safetensors")) --mask \(written.last!) -o \((dir as NSString).appendingPathComponent("mask.png"))")
            }
        }
        return lines.joined(separator: "\n")
    }
}

