import Foundation
import OmniNN
import OmniTensor
import SafeTensors
import Testing

@testable import QwenOmni

/// Parity of the Swift thinker decoder with Hugging Face transformers on a tiny random Qwen2.5-Omni thinker
/// (fixtures from `tools/gen_thinker_fixtures.py`: hidden 64, 2 layers, 4 heads / 2 kv heads, head_dim 16,
/// mrope_section [2, 3, 3], vocab 256, bf16 weights under the real key names in a 2-shard checkpoint).
///
/// Logit tolerance: max |swift - torch| <= 1e-4 x max |torch logit| over the whole matrix (relative to the
/// largest logit, not elementwise), and the same for hidden states.
@Suite struct ThinkerTests {
    static let dir: URL = Bundle.module.url(forResource: "thinker", withExtension: nil, subdirectory: "Fixtures")!
    static var checkpointPath: String { dir.appendingPathComponent("checkpoint").path }

    static func file(_ name: String) throws -> SafeTensorsFile {
        try SafeTensorsFile(path: dir.appendingPathComponent(name).path)
    }

    static func loadModel(_ storage: ThinkerWeightStorage = .float32) throws -> ThinkerModel {
        try ThinkerLoader.load(path: checkpointPath, storage: storage).model
    }

    struct Prefill {
        var embeddings: Tensor
        var positions: PositionIds
        var ropeDelta: Int64
    }

    static func prefill(_ name: String) throws -> Prefill {
        let f = try file(name)
        return Prefill(embeddings: try f.floatTensor("inputs_embeds"),
                       positions: PositionIds(flattened: try f.int64s("position_ids")),
                       ropeDelta: try f.int64s("rope_deltas")[0])
    }

    /// max |a - b| / max |b|.
    static func relativeError(_ a: Tensor, _ b: Tensor) -> Float {
        precondition(a.shape == b.shape, "shapes \(a.shape) vs \(b.shape)")
        var diff: Float = 0, scale: Float = 0
        for i in 0..<a.count {
            diff = max(diff, abs(a.scalars[i] - b.scalars[i]))
            scale = max(scale, abs(b.scalars[i]))
        }
        let rel = diff / max(scale, 1e-12)
        if ProcessInfo.processInfo.environment["THINKER_TEST_VERBOSE"] != nil { print("relative error \(rel)") }
        return rel
    }

    @Test(arguments: [ThinkerWeightStorage.float32, .bf16])
    func fullSequenceLogitsMatchTransformers(storage: ThinkerWeightStorage) throws {
        let model = try Self.loadModel(storage)
        let p = try Self.prefill("full_prefill.safetensors")
        let expected = try Self.file("expected.safetensors")
        var state = model.makeState(ropeDelta: p.ropeDelta)
        let hidden = try model.forward(embeddings: p.embeddings, positions: p.positions, state: &state)
        let logits = model.logits(hidden: hidden)
        #expect(Self.relativeError(logits, try expected.floatTensor("full_logits")) <= 1e-4)
        #expect(Self.relativeError(hidden, try expected.floatTensor("full_last_hidden_state")) <= 1e-4)
        #expect(state.cache.length == p.embeddings.shape[0])
        // The positions really are 3-D (t, h, w differ somewhere), so M-RoPE sections matter.
        #expect(p.positions.t != p.positions.h)
    }

    /// `--storage bf16-matmul`: the activations are rounded to bf16 before every projection (the AVX512-BF16 dot
    /// product on a CPU that has it and no AMX), so the logits leave the Float32 reference by about bf16's
    /// precision, not by Float32 summation noise: within 2 % of the largest logit, and more than 1e-4 away.
    @Test func bf16MatmulLogitsStayWithinBF16PrecisionOfTransformers() throws {
        let model = try Self.loadModel(.bf16Matmul)
        let p = try Self.prefill("full_prefill.safetensors")
        let expected = try Self.file("expected.safetensors")
        var state = model.makeState(ropeDelta: p.ropeDelta)
        let logits = model.logits(hidden: try model.forward(embeddings: p.embeddings, positions: p.positions,
                                                             state: &state))
        let err = Self.relativeError(logits, try expected.floatTensor("full_logits"))
        #expect(err <= 2e-2 && err > 1e-4, "relative error \(err)")
        #expect(model.layers[0].qProj.roundsActivations)
        // The prompt is long enough for the prefill product path (the dot product where the CPU has it).
        #expect(p.embeddings.shape[0] >= MatrixProducts.splitMinRows)
    }

    /// Both storages: float32 (BLAS) and bf16 (AMX split products for the prefill where the CPU has AMX).
    @Test(arguments: [ThinkerWeightStorage.float32, .bf16])
    func compressedSequenceLogitsMatchTransformers(storage: ThinkerWeightStorage) throws {
        let model = try Self.loadModel(storage)
        let p = try Self.prefill("compressed_prefill.safetensors")
        let expected = try Self.file("expected.safetensors")
        var state = model.makeState(ropeDelta: p.ropeDelta)
        let logits = model.logits(hidden: try model.forward(embeddings: p.embeddings, positions: p.positions,
                                                             state: &state))
        let ref = try expected.floatTensor("compressed_logits")
        #expect(Self.relativeError(logits, ref) <= 1e-4)
        // Gaps in the kept positions: consecutive kept tokens whose positions jump by more than one.
        #expect(zip(p.positions.t.dropFirst(), p.positions.t).contains { $0 - $1 > 1 })
        // The compressed logits differ from the full ones at the same (kept) rows: the pruning changes attention.
        let full = try expected.floatTensor("full_logits")
        let kept = try expected.int64s("kept_rows").map(Int.init)
        let lastFull = Tensor(shape: [1, full.cols], scalars: full.row(kept.last!))
        let lastComp = Tensor(shape: [1, ref.cols], scalars: ref.row(ref.rows - 1))
        #expect(Self.relativeError(lastComp, lastFull) > 1e-3)
    }

    @Test func textOnlyIdsMatchTransformers() throws {
        let model = try Self.loadModel(.bf16)
        let expected = try Self.file("expected.safetensors")
        let ids = try expected.int64s("text_ids").map(Int.init)
        var state = model.makeState()
        let logits = model.logits(hidden: try model.forward(embeddings: try model.embed(ids),
                                                             positions: PositionIds(sequential: ids.count),
                                                             state: &state))
        #expect(Self.relativeError(logits, try expected.floatTensor("text_logits")) <= 1e-4)
    }

    /// Both storages: bf16 decode steps read the weights with the AVX-512 GEMV where present.
    @Test(arguments: ["full", "compressed"], [ThinkerWeightStorage.float32, .bf16])
    func greedyContinuationMatchesTransformers(which: String, storage: ThinkerWeightStorage) throws {
        let model = try Self.loadModel(storage)
        let p = try Self.prefill("\(which)_prefill.safetensors")
        let expected = try Self.file("expected.safetensors")
        let uncompressed = Int(expected.metadata["tokens"]!)!
        var sampler = TokenSampler.greedy
        let (tokens, state) = try model.generate(embeddings: p.embeddings, positions: p.positions,
                                                 ropeDelta: p.ropeDelta, uncompressedLength: uncompressed,
                                                 maxNewTokens: 8, sampler: &sampler)
        let ref = try expected.int64s("\(which)_greedy").map(Int.init)
        #expect(tokens == ref)
        // 8 tokens: the prefill gives the first, 7 decode steps the rest; the cache position counts the
        // uncompressed prompt, so the next token would sit at max(prompt positions) + 1 + 7.
        #expect(state.timings.decodeSteps == 7)
        #expect(state.cache.length == p.embeddings.shape[0] + 7)
        #expect(state.nextPosition == Int64(uncompressed) + 7 + p.ropeDelta)
        #expect(Int64(uncompressed) + p.ropeDelta == p.positions.maximum + 1 || which == "compressed")
    }

    @Test func kvCacheDecodeEqualsFullRecompute() throws {
        let model = try Self.loadModel()
        let p = try Self.prefill("full_prefill.safetensors")
        let n = p.embeddings.shape[0]
        var fullState = model.makeState()
        let fullHidden = try model.forward(embeddings: p.embeddings, positions: p.positions, state: &fullState)
        // Prefill the first n - 5 rows, then feed the last 5 one at a time through the cache.
        let split = n - 5
        var state = model.makeState()
        var rows = [Float]()
        let head = try model.forward(embeddings: p.embeddings.gatherRows(Array(0..<split)),
                                     positions: p.positions.gathered(mask: (0..<n).map { $0 < split }), state: &state)
        rows += head.scalars
        for i in split..<n {
            let one = try model.forward(
                embeddings: p.embeddings.gatherRows([i]),
                positions: PositionIds(t: [p.positions.t[i]], h: [p.positions.h[i]], w: [p.positions.w[i]]),
                state: &state)
            rows += one.scalars
        }
        #expect(state.cache.length == n)
        #expect(Self.relativeError(Tensor(shape: fullHidden.shape, scalars: rows), fullHidden) <= 1e-5)
    }

    @Test func smallChunksAndAttentionBlocksGiveTheSameLogits() throws {
        let model = try Self.loadModel()
        let p = try Self.prefill("full_prefill.safetensors")
        var s1 = model.makeState()
        let big = try model.forward(embeddings: p.embeddings, positions: p.positions, state: &s1)
        // Chunks of 7 rows, query blocks of 5, key blocks of 16: many partial and fully masked blocks.
        let small = model.withBlocking(chunkRows: 7, queryBlock: 5, keyBlock: 16)
        var s2 = small.makeState()
        let blocked = try small.forward(embeddings: p.embeddings, positions: p.positions, state: &s2)
        #expect(Self.relativeError(blocked, big) <= 1e-5)
    }

    // MARK: - Loader

    /// Writes the fixture checkpoint as one file with `edit` applied to the tensor list, plus its config.json.
    static func editedCheckpoint(dtype: (String) -> SafeTensorsDType = { _ in .bf16 },
                                 _ edit: (inout [(String, Tensor)]) -> Void) throws -> String {
        let src = try SafeTensorsCheckpoint(path: checkpointPath)
        var tensors = try src.names.map { ($0, try src.floatTensor($0)) }
        edit(&tensors)
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("thinker-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        var w = SafeTensorsWriter()
        for (name, t) in tensors { try w.add(name, t, dtype: dtype(name)) }
        try w.write(to: tmp.appendingPathComponent("model.safetensors").path)
        try FileManager.default.copyItem(atPath: dir.appendingPathComponent("checkpoint/config.json").path,
                                         toPath: tmp.appendingPathComponent("config.json").path)
        return tmp.path
    }

    @Test func loaderReadsOnlyThinkerKeysAndReportsProgress() throws {
        var seen = [String]()
        let (model, config) = try ThinkerLoader.load(path: Self.checkpointPath, storage: .bf16) { seen.append($0.key) }
        #expect(config.thinker.textConfig.mropeSection == [2, 3, 3])
        #expect(model.embedTokens.isBF16)
        let ckpt = try SafeTensorsCheckpoint(path: Self.checkpointPath)
        let skipped = ckpt.names.filter { !seen.contains($0) }
        // Audio tower, vision tower, talker and token2wav keys exist in the checkpoint and are not read.
        #expect(skipped.contains { $0.hasPrefix("talker.") })
        #expect(skipped.contains { $0.hasPrefix("token2wav.") })
        #expect(skipped.contains { $0.hasPrefix("thinker.audio_tower.") })
        #expect(skipped.allSatisfy { !$0.hasPrefix("thinker.model.") && !$0.hasPrefix("thinker.lm_head.") })
        #expect(seen.count == 2 + 12 * 2 + 1)
    }

    @Test func loaderListsMissingUnusedAndWrongShapeKeys() throws {
        let path = try Self.editedCheckpoint { t in
            t.removeAll { $0.0 == "thinker.model.layers.1.mlp.up_proj.weight" }
            t.append(("thinker.model.layers.2.mlp.up_proj.weight", Tensor.zeros([4, 4])))
            if let i = t.firstIndex(where: { $0.0 == "thinker.model.layers.0.self_attn.k_proj.bias" }) {
                t[i].1 = Tensor.zeros([31])
            }
        }
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            _ = try ThinkerLoader.load(path: path)
            Issue.record("loading a broken checkpoint succeeded")
        } catch let e as ThinkerLoadError {
            #expect(e.missing == ["thinker.model.layers.1.mlp.up_proj.weight"])
            #expect(e.unused == ["thinker.model.layers.2.mlp.up_proj.weight"])
            #expect(e.badShapes.count == 1 && e.badShapes[0].contains("k_proj.bias") && e.badShapes[0].contains("[31]"))
            #expect(e.description.contains("missing keys (1)"))
        }
    }

    /// `.auto` keeps an all-BF16 checkpoint as bf16 where AMX runs its products (lossless and fastest); one F32
    /// matrix (rounding it would lose bits) makes it widen everything to Float32 (the tiny model fits in memory).
    @Test func autoStorageFollowsTheCheckpointDTypeAndAMX() throws {
        let auto = try ThinkerLoader.load(path: Self.checkpointPath, storage: .auto).model
        let matrices = [auto.embedTokens, auto.lmHead] + auto.layers.flatMap { [$0.qProj, $0.kProj, $0.vProj, $0.oProj, $0.gateProj, $0.upProj, $0.downProj] }
        #expect(matrices.allSatisfy { $0.isBF16 == MatrixProducts.amxUsable })
        let path = try Self.editedCheckpoint(dtype: { $0.hasSuffix("layers.1.mlp.up_proj.weight") ? .f32 : .bf16 }) { _ in }
        defer { try? FileManager.default.removeItem(atPath: path) }
        let mixed = try ThinkerLoader.load(path: path, storage: .auto).model
        #expect(!mixed.embedTokens.isBF16 && !mixed.layers[0].qProj.isBF16)
    }

    @Test func loaderAcceptsSingleFileCheckpointWithoutSkippedKeys() throws {
        let path = try Self.editedCheckpoint { t in t.removeAll { !$0.0.hasPrefix("thinker.model.") && !$0.0.hasPrefix("thinker.lm_head.") } }
        defer { try? FileManager.default.removeItem(atPath: path) }
        let model = try ThinkerLoader.load(path: path, storage: .float32).model
        #expect(!model.embedTokens.isBF16)
        #expect(model.layers.count == 2)
    }

    // MARK: - Sampling

    @Test func samplingIsSeededAndTopPNarrowsToTheBest() throws {
        let logits: [Float] = [0.1, 2.0, 1.9, -1, 0.5, 1.95]
        #expect(TokenSampler.argmax(logits) == 1)
        #expect(TokenSampler.argmax([1, 3, 3]) == 1)
        var a = try TokenSampler(mode: .sample(temperature: 1, topP: 1), seed: 42)
        var b = try TokenSampler(mode: .sample(temperature: 1, topP: 1), seed: 42)
        let da = (0..<50).map { _ in a.next(logits: logits) }
        let db = (0..<50).map { _ in b.next(logits: logits) }
        #expect(da == db)
        #expect(Set(da).count > 2)  // really samples
        var tiny = try TokenSampler(mode: .sample(temperature: 0.7, topP: 0.01), seed: 1)
        #expect((0..<20).allSatisfy { _ in tiny.next(logits: logits) == 1 })
        #expect(throws: ThinkerError.self) { try TokenSampler(mode: .sample(temperature: 0, topP: 0.9)) }
        #expect(throws: ThinkerError.self) { try TokenSampler(mode: .sample(temperature: 1, topP: 1.5)) }
    }

    @Test func badInputsThrowClearErrors() throws {
        let model = try Self.loadModel()
        var state = model.makeState()
        #expect(throws: ThinkerError.self) {
            try model.forward(embeddings: Tensor.zeros([3, 63]), positions: PositionIds(sequential: 3), state: &state)
        }
        #expect(throws: ThinkerError.self) {
            try model.forward(embeddings: Tensor.zeros([3, 64]), positions: PositionIds(sequential: 4), state: &state)
        }
        #expect(throws: ThinkerError.self) { try model.embed([256]) }
        // Positions that would leave the int32 range while decoding, and absurd reservations, are errors up front
        // (not an overflow trap or an allocation failure mid-way).
        let e = Tensor.zeros([3, 64])
        #expect(throws: ThinkerError.self) {
            try model.prefill(embeddings: e, positions: PositionIds(sequential: 3), ropeDelta: Int64.max)
        }
        #expect(throws: ThinkerError.self) {
            try model.prefill(embeddings: e, positions: PositionIds(sequential: 3), ropeDelta: 0, reserve: Int.max - 1)
        }
        let ok = try model.prefill(embeddings: e, positions: PositionIds(sequential: 3), ropeDelta: -2, reserve: 4)
        #expect(ok.state.nextPosition == 1)
    }

    // MARK: - Kernels and memory plan

    @Test func memoryPlanCountsTheLoaderParameters() {
        for c in [ThinkerTextConfig.qwen25Omni7B, .qwen25Omni3B] {
            let fromLoader = ThinkerLoader.expectedParameters(c).reduce(0) { $0 + $1.1.reduce(1, *) }
            #expect(ThinkerMemory.parameterCount(c) == fromLoader)
        }
        // 7B: about 7.6 billion parameters; bf16 weights + a 60 s full-clip KV cache fit in 24 GB, f32 weights do not.
        let p7 = ThinkerMemory.parameterCount(.qwen25Omni7B)
        #expect(p7 > 7_600_000_000 && p7 < 7_650_000_000)
        let gb = 1_000_000_000
        #expect(ThinkerMemory.weightBytes(.qwen25Omni7B, bytesPerParameter: 4) > 24 * gb)
        #expect(ThinkerMemory.weightBytes(.qwen25Omni7B, bytesPerParameter: 2)
                + ThinkerMemory.kvCacheBytes(.qwen25Omni7B, tokens: 16_650) < 20 * gb)
        #expect(ThinkerMemory.weightBytes(.qwen25Omni3B, bytesPerParameter: 4) < 14 * gb)
        #expect(ThinkerMemory.peakResidentBytes().map { $0 > 0 } ?? true)
    }
}
