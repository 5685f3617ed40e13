import Foundation
import OmniTensor
import QwenOmni
import SafeTensors
import Testing
@testable import OmniSIFT

/// Parity with tools/baselines_reference.py (an independent NumPy re-implementation of SPEC 4), through the
/// fixtures of tools/gen_baseline_fixtures.py: keep masks identical, OmniZip's merged audio rows within 1e-4.
struct BaselinesParityTests {
    static let cases = ["omnizip_keep035", "omnizip_fallback", "omnizip_keep025"]

    static func load(_ name: String) throws -> (SafeTensorsFile, CompressionInput, CompressionBudget) {
        let url = try #require(Bundle.module.url(forResource: name, withExtension: "safetensors",
                                                 subdirectory: "Fixtures/baselines"),
                               "fixture baselines/\(name).safetensors missing")
        let file = try SafeTensorsFile(path: url.path)
        let saliency = file.contains("audio_saliency") ? try file.float32s("audio_saliency") : nil
        let input = try CompressionInput(inputIds: try file.int64s("input_ids"),
                                         positionIds: PositionIds(flattened: try file.int64s("position_ids")),
                                         embeddings: try file.floatTensor("inputs_embeds"), audioSaliency: saliency)
        return (file, input, try CompressionBudget(rhoVideo: try number(file, "rho_video"),
                                                   rhoAudio: try number(file, "rho_audio")))
    }

    /// A number from the fixture's metadata.
    static func number(_ file: SafeTensorsFile, _ key: String) throws -> Double {
        let text = try #require(file.metadata[key], "metadata \(key) missing")
        return try #require(Double(text), "metadata \(key) = \(text) is not a number")
    }

    static func expectedMask(_ file: SafeTensorsFile, _ key: String) throws -> [Bool] {
        try file.uint8s(key).map { $0 != 0 }
    }

    static func mismatches(_ a: [Bool], _ b: [Bool]) -> Int {
        zip(a, b).reduce(0) { $0 + ($1.0 != $1.1 ? 1 : 0) }
    }

    @Test("the Python planner's ratios are what BaselinePlanner gives for the fixture's --keep", arguments: cases)
    func plannerParity(name: String) throws {
        let (file, input, budget) = try Self.load(name)
        let keep = try Self.number(file, "keep")
        let requested = try Self.number(file, "rho_audio_requested")
        let planned = try BaselinePlanner.plan(groups: input.groups, keep: keep, rhoAudio: requested)
        #expect(planned == budget)
    }

    @Test("OmniZip: keep mask identical to the Python reference, merged audio rows within 1e-4", arguments: cases)
    func omnizipParity(name: String) throws {
        let (file, input, budget) = try Self.load(name)
        let g = Int(try Self.number(file, "omnizip_g"))
        let anchors = try Self.number(file, "omnizip_anchor_ratio")
        let result = try OmniZipCompressor(g: g, anchorRatio: anchors).compress(input, budget: budget)
        let expected = try Self.expectedMask(file, "omnizip_mask")
        #expect(Self.mismatches(result.keepMask, expected) == 0)
        #expect(OmniZipCompressor.usesFallbackSaliency(input) == !file.contains("audio_saliency"))

        // Kept audio rows of the result against the reference's merged rows.
        let merged = try file.floatTensor("omnizip_audio")
        let d = input.hiddenSize
        var keptRow = 0
        var worst: Float = 0
        var mergedAnchors = 0
        for (i, k) in result.keepMask.enumerated() where k {
            defer { keptRow += 1 }
            guard input.inputIds[i] == QwenOmniTokens.audio else { continue }
            let local = try #require(input.groups.audioIndices.firstIndex(of: i))
            var changed = false
            for j in 0..<d {
                let got = result.embeddings.scalars[keptRow * d + j]
                let want = merged.scalars[local * d + j]
                worst = max(worst, abs(got - want))
                if want != input.embeddings.scalars[i * d + j] { changed = true }
            }
            if changed { mergedAnchors += 1 }
        }
        #expect(worst <= 1e-4)
        #expect(mergedAnchors > 0, "the fixture should exercise anchor merging")
    }

    @Test("DyCoke, VidCom2, DTD, uniform: keep masks identical to the Python reference", arguments: cases)
    func frameMethodsParity(name: String) throws {
        let (file, input, budget) = try Self.load(name)
        let methods: [(String, any TokenCompressor)] = [
            ("dycoke", try DyCokeCompressor()), ("vidcom2", try VidCom2Compressor()),
            ("dtd", try TimeChatDTDCompressor()), ("uniform", UniformStrideCompressor()),
        ]
        for (key, method) in methods {
            let result = try method.compress(input, budget: budget)
            let expected = try Self.expectedMask(file, "\(key)_mask")
            #expect(Self.mismatches(result.keepMask, expected) == 0, "\(key) on \(name)")
        }
    }
}
