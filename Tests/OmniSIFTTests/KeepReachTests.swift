import Foundation
import OmniSIFT
import OmniTensor
import QwenOmni
import Testing

/// `--keep F` on layouts far from the 7B evaluation's balance: every method reaches every F that some budget it
/// accepts can reach, within one percentage point, and only a truly unreachable F is an error naming the range.
@Suite("Every --keep reachable")
struct KeepReachTests {
    /// The layouts: the issue's audio-heavy check (grid 6x6x8 at 2 s per grid step, 10.3 s of audio: 72 video vs
    /// 257 audio tokens), a video-heavy clip (8x16x20 at 2 fps with 8 s of audio: 640 vs 200), a video without
    /// audio and an audio clip alone.
    enum Layout: String, CaseIterable, CustomTestStringConvertible {
        case audioHeavy, videoHeavy, videoOnly, audioOnly
        var testDescription: String { rawValue }

        var items: [PromptItem] {
            switch self {
            case .audioHeavy:
                [.video(VisionGrid(t: 6, h: 6, w: 8), secondsPerGrid: 2, audioMelFrames: QwenOmniAudio.melFrames(seconds: 10.3))]
            case .videoHeavy:
                [.video(VisionGrid(t: 8, h: 16, w: 20), secondsPerGrid: 1, audioMelFrames: QwenOmniAudio.melFrames(seconds: 8))]
            case .videoOnly:
                [.video(VisionGrid(t: 8, h: 12, w: 16), secondsPerGrid: 1, audioMelFrames: nil)]
            case .audioOnly:
                [.audio(melFrames: QwenOmniAudio.melFrames(seconds: 10))]
            }
        }

        /// The layout with text around it and random embeddings (D = 8).
        func input(seed: UInt64 = 1) throws -> CompressionInput {
            let layout = try PromptLayout.build([.text([220, 220, 220])] + items + [.text([220, 220])], chat: .qwen2)
            let rope = try layout.ropeIndex()
            var rng = SeededGenerator(seed: seed)
            let n = layout.inputIds.count, d = 8
            let emb = (0..<n * d).map { _ in Float(rng.nextUnit() * 2 - 1) }
            let saliency = (0..<layout.inputIds.filter { $0 == QwenOmniTokens.audio }.count).map { _ in Float(rng.nextUnit()) }
            return try CompressionInput(inputIds: layout.inputIds, positionIds: rope.positionIds,
                                        embeddings: Tensor(shape: [n, d], scalars: emb), audioSaliency: saliency)
        }
    }

    static let keeps = [0.1, 0.25, 0.35, 0.5]

    /// The methods with a budget (`none` keeps everything; DTD with its budget-chosen threshold). OmniSIFT runs
    /// with the uniform audio stand-in: its audio counts are the selector's.
    static let methods = CompressorRegistry.names.filter { $0 != "none" }

    static func options() -> CompressorOptions {
        var o = CompressorOptions()
        o.audioFallback = .uniform
        return o
    }

    @Test("the issue's layouts have the token counts they are named for")
    func layoutCounts() throws {
        let heavy = try Layout.audioHeavy.input().groups.counts
        #expect(heavy.video == 72 && heavy.audio == 257)
        let video = try Layout.videoHeavy.input().groups.counts
        #expect(video.video == 640 && video.audio == 200)
        let only = try Layout.videoOnly.input().groups.counts
        #expect(only.video == 384 && only.audio == 0)
        let audio = try Layout.audioOnly.input().groups.counts
        #expect(audio.video == 0 && audio.audio == 250)
    }

    @Test("every method reaches --keep within one point on every layout, as planned; OmniSIFT on audio alone is the one unreachable case",
          arguments: Layout.allCases)
    func everyMethodReaches(layout: Layout) throws {
        let input = try layout.input()
        let options = Self.options()
        for name in Self.methods {
            let method = try CompressorRegistry.make(name, options: options)
            for keep in Self.keeps {
                if layout == .audioOnly && name == "omnisift" {
                    // OmniSIFT prunes audio only beside kept video (SPEC 3.3): audio alone is all kept.
                    #expect { try CompressorRegistry.plan(for: name, input: input, keep: keep, options: options) } throws: {
                        let m = ($0 as? OmniSIFTError)?.message ?? ""
                        return m.contains("cannot be reached") && m.contains("from 1.0 to 1.0")
                    }
                    continue
                }
                let plan = try CompressorRegistry.plan(for: name, input: input, keep: keep, options: options)
                let r = try method.compress(input, budget: plan.budget)
                #expect(abs(r.retainedRatio - keep) <= 0.01, "\(name) on \(layout): retained \(r.retainedRatio) for --keep \(keep)")
                #expect(r.after.video == plan.keptVideo && r.after.audio == plan.keptAudio,
                        "\(name) on \(layout) keep \(keep): planned \(plan.keptVideo)+\(plan.keptAudio), kept \(r.after.video)+\(r.after.audio)")
                #expect(abs(r.retainedRatio - plan.reachedRetained) < 1e-12)
                #expect(r.after.text == r.before.text)
                // Every modality present keeps at least one token.
                #expect(r.before.video == 0 || r.after.video > 0, "\(name) on \(layout) keep \(keep) keeps no video")
                #expect(r.before.audio == 0 || r.after.audio > 0, "\(name) on \(layout) keep \(keep) keeps no audio")
                // The plan says when it left the balance, and only then carries a note.
                #expect((plan.audioChoice == .leftReference) == (plan.note != nil))
            }
        }
    }

    @Test("audio-heavy (72 video vs 257 audio): 25 % needs more audio dropped than the reference balance; the plan says so")
    func audioHeavyLeavesBalance() throws {
        let input = try Layout.audioHeavy.input()
        let options = Self.options()
        for name in ["omnisift", "omnizip", "random"] {
            let plan = try CompressorRegistry.plan(for: name, input: input, keep: 0.25, options: options)
            #expect(plan.referenceRhoAudio == 0.5)
            #expect(plan.audioChoice == .leftReference, "\(name)")
            #expect(plan.budget.rhoAudio > 0.5, "\(name): rho_audio \(plan.budget.rhoAudio)")
            #expect(plan.note?.contains("left the balance") == true, "\(name): \(plan.note ?? "no note")")
            #expect(abs(plan.reachedRetained - 0.25) <= 0.005, "\(name): \(plan.reachedRetained)")
        }
        // OmniSIFT moves the audio ratio as little as it must: the next lower audio step cannot reach 25 %
        // within half a point whatever the video ratio.
        let plan = try RatioPlanner.plan(groups: input.groups, targetRetained: 0.25)
        let lower = RatioPlanner.ratioSteps(sizes: [100, 57]).filter { $0 >= 0.5 && $0 < plan.budget.rhoAudio }
        for ra in lower {
            let fixed = try? RatioPlanner.plan(groups: input.groups, targetRetained: 0.25, rhoAudio: ra)
            #expect(fixed == nil || abs(fixed!.reachedRetained - 0.25) > RatioPlanner.balanceTolerance, "rho_audio \(ra)")
        }
    }

    @Test("the reference balance is kept where it reaches the target, and the user's --rho-audio is never moved by OmniSIFT")
    func balanceKeptWhenPossible() throws {
        let input = try Layout.videoHeavy.input()
        let plan = try RatioPlanner.plan(groups: input.groups, targetRetained: 0.35)
        #expect(plan.audioChoice == .reference && plan.note == nil)
        #expect(plan.budget.rhoAudio == RatioPlanner.referenceAudioRatio(forRetained: 0.35))
        // With --rho-audio 0.5 fixed, 25 % on the audio-heavy layout is out of reach: an error naming the range it
        // gives and the range without the fixed ratio.
        let heavy = try Layout.audioHeavy.input()
        #expect { try RatioPlanner.plan(groups: heavy.groups, targetRetained: 0.25, rhoAudio: 0.5) } throws: {
            let m = ($0 as? OmniSIFTError)?.message ?? ""
            return m.contains("--rho-audio 0.5") && m.contains("from 0.4103 to 0.6109") && m.contains("without --rho-audio")
        }
    }

    @Test("truly unreachable targets are errors naming the range: keep-all audio on the audio-heavy layout")
    func unreachable() throws {
        let input = try Layout.audioHeavy.input()
        var options = Self.options()
        options.audioFallback = .keepAll
        // All 257 audio tokens stay: at least 257 + 6 of 329 = 79.9 %.
        #expect { try CompressorRegistry.plan(for: "omnisift", input: input, keep: 0.5, options: options) } throws: {
            let m = ($0 as? OmniSIFTError)?.message ?? ""
            return m.contains("cannot be reached") && m.contains("from 0.7994 to 1.0")
        }
        let plan = try CompressorRegistry.plan(for: "omnisift", input: input, keep: 0.85, options: options)
        #expect(abs(plan.reachedRetained - 0.85) <= 0.01)
        #expect(plan.keptAudio == 257)
    }

    @Test("each compressor plans with its own count model, also through `any TokenCompressor`")
    func compressorsPlanTheirOwnBudget() throws {
        let input = try Layout.audioHeavy.input()
        let groups = input.groups
        var keepAll = Self.options()
        keepAll.audioFallback = .keepAll
        for keep in [0.35, 0.85] {
            // The per-method models the plans must come from (keep-all audio reaches only 0.7994 and up here).
            let omnisift = try RatioPlanner.plan(groups: groups, targetRetained: keep)
            let omnizip = try OmniZipCompressor(g: 3, anchorRatio: 0.05).plan(groups: groups, keep: keep)
            let dycoke = try BaselinePlanner.retainedPlan(groups: groups, keep: keep, method: "dycoke")
            var expected: [(any TokenCompressor, RatioPlanner.Plan)] = [
                (OmniSIFTCompressor(audioFallback: .uniform), omnisift),
                (try CompressorRegistry.make("omnizip"), omnizip),
                (try CompressorRegistry.make("dycoke"), dycoke),
            ]
            if keep == 0.85 {
                let audioKept = try RatioPlanner.plan(groups: groups, targetRetained: keep, audioDropped: false)
                #expect(audioKept.keptAudio == 257 && omnisift.keptAudio < 257)
                expected += [(OmniSIFTCompressor(audioFallback: .keepAll), audioKept),
                             (try CompressorRegistry.make("omnisift", options: keepAll), audioKept)]
            } else {
                // The three models differ on this layout, so the comparisons tell them apart.
                #expect(omnisift.budget != omnizip.budget && omnizip.budget != dycoke.budget && omnisift.budget != dycoke.budget)
            }
            for (compressor, plan) in expected {
                #expect(try compressor.plan(for: input, keep: keep) == plan, "\(compressor.name) at \(keep)")
            }
            let none = try NoCompression().plan(for: input, keep: keep)
            #expect(none.reachedRetained == 1 && none.keptAudio == 257 && none.keptVideo == 72)
            // The registry's plan is the compressor's.
            for name in CompressorRegistry.names {
                let options = Self.options()
                #expect(try CompressorRegistry.plan(for: name, input: input, keep: keep, options: options)
                        == CompressorRegistry.make(name, options: options).plan(for: input, keep: keep))
            }
        }
        #expect(throws: OmniSIFTError.self) { try CompressorRegistry.plan(for: "nope", input: input, keep: 0.3) }
    }
}
