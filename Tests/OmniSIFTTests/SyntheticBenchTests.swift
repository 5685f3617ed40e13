import Foundation
import OmniTensor
import QwenOmni
import Testing
@testable import OmniSIFT

/// The synthetic audio-visual benchmark's generator (issue 17, part 1): layout, labels, determinism, balance, and
/// the properties that make it a test of audio-visual selection (no audio-only, video-only or uniform shortcut).
struct SyntheticBenchTests {
    /// Small and fast: 8 s (4 chunks), D = 64.
    static let config = SyntheticBenchConfig(items: 24, seconds: 8, dim: 64, seed: 7)

    static func items(_ c: SyntheticBenchConfig = config) throws -> [SyntheticBenchItem] {
        let world = SyntheticBenchWorld(dim: c.dim, worldSeed: c.worldSeed)
        let answers = SyntheticBench.answers(c)
        return try (0..<c.items).map { try SyntheticBench.item($0, config: c, world: world, answers: answers) }
    }

    static func row(_ f: PrefillFile, _ i: Int) -> ArraySlice<Float> {
        let d = f.embeddings!.cols
        return f.embeddings!.scalars[(i * d)..<((i + 1) * d)]
    }

    static func cosine(_ a: ArraySlice<Float>, _ b: ArraySlice<Float>) -> Double {
        var dot = 0.0, na = 0.0, nb = 0.0
        for (x, y) in zip(a, b) { dot += Double(x * y); na += Double(x * x); nb += Double(y * y) }
        return dot / max((na * nb).squareRoot(), 1e-12)
    }

    @Test func realLayoutPositionsAndLabels() throws {
        let item = try SyntheticBench.item(3, config: Self.config)
        let p = item.prompt, t = item.training
        // Real SPEC 2 ids and the layout of a video with its audio: 8 frames x 36 + 200 audio tokens.
        #expect(p.inputIds.filter { $0 == QwenOmniTokens.video }.count == 8 * 36)
        #expect(p.inputIds.filter { $0 == QwenOmniTokens.audio }.count == 200)
        #expect(p.inputIds.first == QwenOmniTokens.imStart)
        #expect(p.inputIds.contains(QwenOmniTokens.visionBOS) && p.inputIds.contains(QwenOmniTokens.audioEOS))
        #expect(p.videoGrids == [[8, 12, 12]] && p.useAudioInVideo)
        let rope = try p.ropeIndex()
        #expect(p.positionIds == rope.positionIds && p.ropeDeltas == [rope.ropeDelta])
        // Chunk 0 = 72 video tokens then 50 audio tokens.
        let start = p.inputIds.firstIndex(of: QwenOmniTokens.audioBOS)! + 1
        #expect(p.inputIds[start..<(start + 72)].allSatisfy { $0 == QwenOmniTokens.video })
        #expect(p.inputIds[(start + 72)..<(start + 122)].allSatisfy { $0 == QwenOmniTokens.audio })
        // Training file: the prompt + letter + <|im_end|>, labels on those two only (tiny ids), same rows.
        let n = p.count
        let letter = SyntheticBenchVocabulary(.tiny).id(SyntheticBenchVocabulary.letters[item.answer])
        #expect(t.inputIds == p.inputIds + [letter, QwenOmniTokens.imEnd])
        #expect(t.labels! == [Int64](repeating: -100, count: n) + [letter, 205])
        #expect(t.labels!.allSatisfy { $0 == -100 || (0..<256).contains($0) })
        #expect(Array(t.embeddings!.scalars.prefix(n * 64)) == p.embeddings!.scalars)
        #expect(p.labels == nil)
        // Word ids of the tiny vocabulary are 1-24, below the special ids 200+.
        let words = p.inputIds.filter { TokenModality.of(tokenId: $0) == .text }
        #expect(words.allSatisfy { (1...24).contains($0) })
        // qwen vocabulary: Qwen2 letter ids and the real <|im_end|> label.
        var q = Self.config
        q.vocab = .qwen
        let qi = try SyntheticBench.item(3, config: q)
        #expect(qi.training.labels!.suffix(2) == [32 + Int64(qi.answer), QwenOmniTokens.imEnd])
    }

    @Test func deterministicPerSeedAndHeldOutSplit() throws {
        let c = SyntheticBenchConfig(items: 3, seconds: 4, dim: 64, seed: 11)
        let fm = FileManager.default
        let base = fm.temporaryDirectory.appendingPathComponent("synth-bench-\(UInt64.random(in: 0...UInt64.max))").path
        defer { try? fm.removeItem(atPath: base) }
        _ = try SyntheticBench.write(c, to: base + "/a")
        _ = try SyntheticBench.write(c, to: base + "/b")
        let files = try fm.subpathsOfDirectory(atPath: base + "/a").filter { $0.contains(".") }.sorted()
        #expect(files.count == 3 + 2 * 3 + SyntheticBenchModelTemplate.companionFiles.count + 1)  // + model-template/
        for f in files {
            #expect(fm.contents(atPath: base + "/a/" + f) == fm.contents(atPath: base + "/b/" + f), "\(f) differs")
        }
        // Another seed: other items (ids, embeddings), the same world.
        var other = c
        other.seed = 12
        let a = try SyntheticBench.item(0, config: c), b = try SyntheticBench.item(0, config: other)
        #expect(a.id != b.id && a.prompt.embeddings!.scalars != b.prompt.embeddings!.scalars)
        #expect(SyntheticBenchWorld(dim: 64, worldSeed: c.worldSeed) == SyntheticBenchWorld(dim: 64, worldSeed: other.worldSeed))
        // The bench.jsonl lines are the harness's item format.
        let text = String(decoding: fm.contents(atPath: base + "/a/bench.jsonl")!, as: UTF8.self)
        let lines = text.split(separator: "\n")
        #expect(lines.count == 3)
        let obj = try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as! [String: Any]
        #expect(obj["prefill_path"] as? String == "items/synth-s11-00000.safetensors")
        #expect(obj["options"] as? [String] == ["A. low", "B. middle", "C. high", "D. very high"])
        #expect(["A", "B", "C", "D"].contains(obj["answer"] as? String ?? "") && obj["task"] as? String == "synthetic-av-pitch")
        #expect(fm.fileExists(atPath: base + "/a/" + (obj["prefill_path"] as! String)))
    }

    @Test func answersBalanced() {
        var c = Self.config
        c.items = 40
        let a = SyntheticBench.answers(c)
        #expect((0..<4).map { k in a.filter { $0 == k }.count } == [10, 10, 10, 10])
        c.items = 10
        #expect((0..<4).map { k in SyntheticBench.answers(c).filter { $0 == k }.count } == [3, 3, 2, 2])
        // Not in a fixed cycle.
        #expect(SyntheticBench.answers(Self.config) != (0..<24).map { $0 % 4 })
    }

    @Test func audioIsDenseMixedAndTheTargetIsFew() throws {
        var shares: [Double] = []
        for item in try Self.items() {
            #expect(!item.audioRoles.contains(.ambient))
            #expect(Set(item.audioClasses) == Set(item.sourceClasses) && item.sourceClasses.count == 8)
            #expect(item.sourceClasses.contains(item.visibleClass))
            // The visible object's pitch is the answer.
            #expect(item.sourcePitches[item.sourceClasses.firstIndex(of: item.visibleClass)!] == item.answer)
            // Every 2-s chunk (50 audio tokens) mixes at least 3 classes.
            for k in 0..<4 { #expect(Set(item.audioClasses[(50 * k)..<(50 * (k + 1))]).count >= 3) }
            shares.append(Double(item.targetIndices.count) / 200)
        }
        let mean = shares.reduce(0, +) / Double(shares.count)
        #expect(mean > 0.05 && mean < 0.25, "target share \(mean)")
        // An ambient hum only when asked for.
        var c = Self.config
        c.distractors = 0.5
        c.items = 2
        let hum = try Self.items(c)[0]
        let ambientShare = Double(hum.audioRoles.filter { $0 == .ambient }.count) / 200
        #expect(ambientShare > 0.4 && ambientShare < 0.6)
    }

    /// Norm, temporal position and similarity to the rest of the audio (OmniZip's fallback saliency) do not tell
    /// the target tokens from the other sources' tokens.
    @Test func noAudioOnlyStatisticShortcut() throws {
        var c = Self.config
        c.items = 96
        var tPos = 0.0, tCount = 0.0
        var diffs: [Double] = []  // per item: mean fallback saliency of target tokens - of the other tokens
        for item in try Self.items(c) {
            let f = item.prompt
            for i in item.audioIndices {
                let r = Self.row(f, i)
                let norm = r.reduce(0.0) { $0 + Double($1 * $1) }.squareRoot()
                #expect(abs(norm - 1) < 1e-4)
            }
            let sal = OmniZipCompressor.fallbackSaliency(
                try CompressionInput(inputIds: f.inputIds, positionIds: f.positionIds!, embeddings: f.embeddings!))
            var ts = 0.0, tn = 0.0, ds = 0.0, dn = 0.0
            for (k, role) in item.audioRoles.enumerated() {
                if role == .target { tPos += Double(k) / 199; tCount += 1; ts += sal[k]; tn += 1 } else { ds += sal[k]; dn += 1 }
            }
            diffs.append(ts / tn - ds / dn)
        }
        let pos = tPos / tCount
        #expect(pos > 0.4 && pos < 0.6, "mean relative position of the target \(pos)")
        // The saliency difference is zero up to sampling error (3 standard errors over the items).
        let m = diffs.reduce(0, +) / Double(diffs.count)
        let sd = (diffs.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(diffs.count - 1)).squareRoot()
        let se = sd / Double(diffs.count).squareRoot()
        #expect(abs(m) < 3 * se && abs(m) < 0.03, "fallback saliency target - others: \(m) (standard error \(se))")
    }

    /// Each baseline keeps the target audio at the rate it keeps audio (chance), while a selector that knows the
    /// object-sound pairing (the thing VGAS has to learn) keeps all of it: the relevant tokens are identifiable,
    /// but only through the audio-visual correspondence.
    @Test func baselinesHitTheTargetAtChanceAndTheCorrespondenceFindsIt() throws {
        let budget = try CompressionBudget(rhoVideo: 0.77, rhoAudio: 0.5)
        var options = CompressorOptions()
        options.seed = 5
        let selector = try VGASSelector.randomlyInitialized(inputSize: 64, seed: 9)
        let methods: [(String, any TokenCompressor)] = [
            ("random", try CompressorRegistry.make("random", options: options)),
            ("uniform", try CompressorRegistry.make("uniform", options: options)),
            ("omnizip", try CompressorRegistry.make("omnizip", options: options)),
            ("dycoke", try CompressorRegistry.make("dycoke", options: options)),
            ("omnisift video-similarity", OmniSIFTCompressor(audioFallback: .videoSimilarity)),
            ("omnisift uniform", OmniSIFTCompressor(audioFallback: .uniform)),
            ("omnisift untrained VGAS", OmniSIFTCompressor(selector: selector)),
        ]
        let items = try Self.items()
        let world = SyntheticBenchWorld(dim: 64, worldSeed: Self.config.worldSeed)
        for (name, m) in methods {
            var targetKept = 0, target = 0, audioKept = 0, audio = 0
            for item in items {
                let f = item.prompt
                let input = try CompressionInput(inputIds: f.inputIds, positionIds: f.positionIds!, embeddings: f.embeddings!)
                let mask = try m.compress(input, budget: budget).keepMask
                for (k, i) in item.audioIndices.enumerated() {
                    audio += 1; audioKept += mask[i] ? 1 : 0
                    if item.audioRoles[k] == .target { target += 1; targetKept += mask[i] ? 1 : 0 }
                }
            }
            let rate = Double(audioKept) / Double(audio), hit = Double(targetKept) / Double(target)
            #expect(abs(hit - rate) < 0.1, "\(name): target kept \(hit) vs audio kept \(rate)")
        }
        // Oracle: per chunk, keep the half of the audio most similar to the visible class's sound.
        var hits = 0, total = 0
        for item in items {
            let snd = world.sound[item.visibleClass][...]
            for k in 0..<4 {
                let chunk = Array(item.audioIndices[(50 * k)..<(50 * (k + 1))])
                let kept = Set(chunk.sorted { Self.cosine(Self.row(item.prompt, $0), snd) > Self.cosine(Self.row(item.prompt, $1), snd) }.prefix(25))
                for i in chunk where item.targetIndices.contains(i) { total += 1; hits += kept.contains(i) ? 1 : 0 }
            }
        }
        #expect(Double(hits) / Double(total) > 0.99)
        // No cosine between an object (or the background) and any sound or pitch gives the pairing away.
        for v in world.appearance + world.background {
            for a in world.sound + world.pitch + world.ambient { #expect(abs(Self.cosine(v[...], a[...])) < 1e-5) }
        }
    }

    /// The video has what STVP removes: repeated frames (temporal) and a static, self-similar background (spatial),
    /// and STVP keeps the object over the background.
    @Test func videoHasRedundancyForSTVP() throws {
        var repeatCos = 0.0, pairs = 0.0
        var objKept = 0, obj = 0, bgKept = 0, bg = 0
        for item in try Self.items().prefix(8) {
            let f = item.prompt
            let rope = try f.ropeIndex()
            var byFrame: [Int: Int] = [:]
            for (i, a) in rope.annotations.enumerated() where a.modality == .video {
                byFrame[a.frameIndex * 100 + a.row * 6 + a.column] = i
            }
            for t in stride(from: 0, to: 8, by: 2) {
                for p in 0..<36 { repeatCos += Self.cosine(Self.row(f, byFrame[t * 100 + p]!), Self.row(f, byFrame[(t + 1) * 100 + p]!)); pairs += 1 }
            }
            let input = try CompressionInput(inputIds: f.inputIds, positionIds: f.positionIds!, embeddings: f.embeddings!)
            let mask = try OmniSIFTCompressor(audioFallback: .keepAll)
                .compress(input, budget: try CompressionBudget(rhoVideo: 0.77, rhoAudio: 0)).keepMask
            let objects = Set(item.objectIndices)
            for (i, a) in rope.annotations.enumerated() where a.modality == .video && a.frameIndex % 2 == 0 {
                if objects.contains(i) { obj += 1; objKept += mask[i] ? 1 : 0 } else { bg += 1; bgKept += mask[i] ? 1 : 0 }
            }
        }
        #expect(repeatCos / pairs > 0.9)
        #expect(Double(objKept) / Double(obj) > 0.95)
        #expect(Double(bgKept) / Double(bg) < 0.25)
    }

    @Test func badKnobsNameTheValue() {
        func message(_ c: SyntheticBenchConfig) -> String {
            do { try c.validate(); return "" } catch { return "\(error)" }
        }
        var c = Self.config
        c.objects = 17
        #expect(message(c).contains("--objects 17"))
        c = Self.config
        c.dim = 100
        #expect(message(c).contains("--dim 100"))
        c = Self.config
        c.distractors = 0
        #expect(message(c).contains("--distractors 0"))
        c = Self.config
        c.seconds = 2
        c.eventTokens = 25
        c.objects = 8
        #expect(message(c).contains("fewer than the 8 needed"))
        #expect(throws: OmniSIFTError.self) { try SyntheticBench.item(24, config: Self.config) }
    }
}
