import CPUKernels
import Foundation
import OmniNN
import OmniTensor
import QwenOmni
import SafeTensors
import Testing
@testable import OmniSIFT

/// Parity with tools/omnisift_reference.py (an independent PyTorch re-implementation of SPEC 3.1-3.3): fixtures
/// from tools/gen_compress_fixtures.py. Keep masks must be identical; scores within 1e-4 relative.
struct FixtureParityTests {
    static let cases = ["small_odd", "small_gap", "d3584"]

    static func fixture(_ name: String) throws -> String {
        let url = try #require(Bundle.module.url(forResource: name, withExtension: "safetensors", subdirectory: "Fixtures"),
                               "fixture \(name).safetensors missing")
        return url.path
    }

    static func load(_ name: String) throws -> (SafeTensorsFile, CompressionInput, VGASSelector, [(Double, Double)]) {
        let file = try SafeTensorsFile(path: fixture("compress_\(name)"))
        let input = try CompressionInput(inputIds: try file.int64s("input_ids"),
                                         positionIds: PositionIds(flattened: try file.int64s("position_ids")),
                                         embeddings: try file.floatTensor("inputs_embeds"))
        let selectorName = try #require(file.metadata["selector"]).replacingOccurrences(of: ".safetensors", with: "")
        let selector = try VGASSelector.load(path: fixture(selectorName))
        let pairs = try #require(file.metadata["pairs"]).split(separator: ";").map { p in
            let v = p.split(separator: ",").map { Double($0)! }
            return (v[0], v[1])
        }
        return (file, input, selector, pairs)
    }

    static func close(_ a: Float, _ b: Float, floor: Float) -> Bool {
        abs(a - b) <= 1e-4 * max(abs(b), floor)
    }

    @Test("selector shapes and heads come from the fixture files", arguments: cases)
    func selectorMetadata(name: String) throws {
        let (file, input, selector, _) = try Self.load(name)
        #expect(selector.inputSize == input.hiddenSize)
        #expect(String(selector.numHeads) == file.metadata["num_heads"])
        #expect(selector.hiddenSize == (name == "d3584" ? 64 : 32))
    }

    @Test("STVP scores match the reference", arguments: cases)
    func stvpScores(name: String) throws {
        let (file, input, selector, _) = try Self.load(name)
        let result = try OmniSIFTCompressor(selector: selector).compress(input, budget: .referenceDefault)
        let spatial = result.groups.compactMap(\.spatialScores).flatMap { $0 }
        let temporal = result.groups.compactMap(\.temporalScores).flatMap { $0 }
        let expSpatial = try file.float32s("expected.spatial_scores")
        let expTemporal = try file.float32s("expected.temporal_scores")
        try #require(spatial.count == expSpatial.count && temporal.count == expTemporal.count)
        // Which tokens were scored: F1 of each group, F2 of groups with a same-size second frame.
        let f1 = input.groups.groups.map { $0.frames[0].tokenIndices }.flatMap { $0 }
        #expect(f1.map(Int64.init) == (try file.int64s("expected.spatial_index")))
        let f2 = input.groups.groups.filter { $0.frames.count > 1 }.map { $0.frames[1].tokenIndices }.flatMap { $0 }
        #expect(f2.map(Int64.init) == (try file.int64s("expected.temporal_index")))
        for (a, b) in zip(spatial, expSpatial) { #expect(Self.close(a, b, floor: 1e-2), "spatial \(a) vs \(b)") }
        for (a, b) in zip(temporal, expTemporal) { #expect(Self.close(a, b, floor: 1e-2), "temporal \(a) vs \(b)") }
    }

    @Test("keep masks identical and selector scores within 1e-4 for every ratio pair", arguments: cases)
    func masksAndScores(name: String) throws {
        let (file, input, selector, pairs) = try Self.load(name)
        #expect(pairs.count >= 2)
        for (p, pair) in pairs.enumerated() {
            let budget = try CompressionBudget(rhoVideo: pair.0, rhoAudio: pair.1)
            let result = try OmniSIFTCompressor(selector: selector).compress(input, budget: budget)
            let expectedMask = try file.uint8s("expected.p\(p).keep_mask").map { $0 != 0 }
            #expect(result.keepMask == expectedMask, "\(name) pair \(pair): masks differ")
            let scored = result.groups.filter { $0.audioScores != nil }
            let indices = scored.flatMap(\.audioIndices).map(Int64.init)
            #expect(indices == (try file.int64s("expected.p\(p).audio_index")), "\(name) pair \(pair): scored audio differs")
            let scores = scored.flatMap { $0.audioScores! }
            let expected = try file.float32s("expected.p\(p).audio_scores")
            try #require(scores.count == expected.count)
            var worst: Float = 0
            for (a, b) in zip(scores, expected) { worst = max(worst, abs(a - b) / max(abs(b), 1e-6)) }
            #expect(worst <= 1e-4, "\(name) pair \(pair): worst relative score error \(worst)")
            // The kept rows are the masked rows of the input, positions unchanged.
            #expect(result.inputIds.count == expectedMask.filter { $0 }.count)
            #expect(result.positionIds == input.positionIds.gathered(mask: expectedMask))
            #expect(result.embeddings.shape == [result.inputIds.count, input.hiddenSize])
            #expect(result.after.text == result.before.text)
        }
    }

    /// A bf16 checkpoint's selector (every weight a bf16 value): the fp32 path runs its projections on AMX with the
    /// inputs split exactly (`BF16ValuedWeight`); scores match the same selector on Float32 BLAS (built with the fast
    /// paths off) to Float32 summation noise, masks identical.
    @Test("fp32 precision with bf16-valued selector weights: AMX projections give the BLAS path's scores and masks",
          .enabled(if: MatrixProducts.amxUsable), arguments: cases)
    func fp32OnBF16ValuedWeights(name: String) throws {
        let (_, input, selector, pairs) = try Self.load(name)
        let rounded = selector.parameters.mapValues { $0.roundedToBF16() }
        let onAMX = try VGASSelector(parameters: rounded, numHeads: selector.numHeads)
        ck_set_fast_paths_enabled(0)
        let onBLAS = try VGASSelector(parameters: rounded, numHeads: selector.numHeads)
        ck_set_fast_paths_enabled(1)
        #expect(onAMX.float32ProjectionsOnAMX && !onBLAS.float32ProjectionsOnAMX)
        #expect(!selector.float32ProjectionsOnAMX)  // the fixture's own weights are not bf16 values
        for pair in pairs {
            let budget = try CompressionBudget(rhoVideo: pair.0, rhoAudio: pair.1)
            let a = try OmniSIFTCompressor(selector: onAMX).compress(input, budget: budget)
            let b = try OmniSIFTCompressor(selector: onBLAS).compress(input, budget: budget)
            #expect(a.keepMask == b.keepMask, "\(name) pair \(pair): masks differ")
            let (sa, sb) = (a.groups.compactMap(\.audioScores).flatMap { $0 }, b.groups.compactMap(\.audioScores).flatMap { $0 })
            try #require(sa.count == sb.count)
            let worst = zip(sa, sb).map { abs($0 - $1) / max(abs($1), 1e-6) }.max() ?? 0
            #expect(worst <= 1e-5, "\(name) pair \(pair): worst relative score difference \(worst)")
        }
    }

    @Test("bf16 precision: scores within 1e-4 of the reference on bf16-rounded operands; masks identical (AMX or not)",
          arguments: cases)
    func bf16ScoresAndMasks(name: String) throws {
        let (file, input, selector, pairs) = try Self.load(name)
        for (p, pair) in pairs.enumerated() {
            let budget = try CompressionBudget(rhoVideo: pair.0, rhoAudio: pair.1)
            let result = try OmniSIFTCompressor(selector: selector, precision: .bfloat16).compress(input, budget: budget)
            let scores = result.groups.filter { $0.audioScores != nil }.flatMap { $0.audioScores! }
            let expected = try file.float32s("expected.p\(p).bf16.audio_scores")
            let fp32 = try file.float32s("expected.p\(p).audio_scores")
            try #require(scores.count == expected.count)
            var worst: Float = 0, worstVsFP32: Float = 0
            for (a, b) in zip(scores, expected) { worst = max(worst, abs(a - b) / max(abs(b), 1e-6)) }
            for (a, b) in zip(scores, fp32) { worstVsFP32 = max(worstVsFP32, abs(a - b) / max(abs(b), 1e-6)) }
            #expect(worst <= 1e-4, "\(name) pair \(pair): worst relative bf16 score error \(worst) (AMX: \(MatrixProducts.amxUsable))")
            // The rounding is visible: bf16 scores are not the fp32 ones (so this test cannot pass on the fp32 path).
            if !scores.isEmpty { #expect(worstVsFP32 > 1e-4, "\(name) pair \(pair): bf16 scores equal the fp32 ones") }
            if try file.uint8s("expected.p\(p).bf16.mask_exact") == [1] {
                let mask = try file.uint8s("expected.p\(p).bf16.keep_mask").map { $0 != 0 }
                #expect(result.keepMask == mask, "\(name) pair \(pair): bf16 masks differ")
            }
        }
    }
}
