import Foundation
import FuzzSupport
import OmniTensor
import QwenOmni
import SafeTensors

/// `config.json` bytes through what `layout --config`, `positions --config`, `forward` and `generate` run on
/// them: `QwenOmniConfig.decode` with its validation, the loader's expected parameter table and the memory
/// plan, a prompt laid out with the config's token ids and merge size (text, image, video with interleaved
/// audio, audio) and its TMRoPE positions, and the strict load of the tiny thinker checkpoint against it (a
/// prefill pass when it matches). Thrown errors are the expected outcome; traps, sanitizer reports and hangs
/// are findings.
let checkpoint = FuzzFixtures.require("the tiny thinker checkpoint") {
    try SafeTensorsCheckpoint(path: FuzzFixtures.thinkerCheckpoint)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfig(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = data.map { Data(bytes: $0, count: size) } ?? Data()
    guard let config = try? QwenOmniConfig.decode(bytes, source: "fuzz") else { return 0 }
    let thinker = config.thinker
    let text = thinker.textConfig
    _ = ThinkerLoader.expectedParameters(text)
    _ = ThinkerMemory.weightBytes(text, bytesPerParameter: 2, tiedLMHead: thinker.lmHeadTiedToEmbeddings)
    _ = ThinkerMemory.kvCacheBytes(text, tokens: 16_650)
    _ = ThinkerMemory.prefillActivationBytes(text, tokens: 16_650)

    let m = thinker.visionConfig.spatialMergeSize
    let (side, overflow) = m.multipliedReportingOverflow(by: 2)
    if !overflow {
        let items: [PromptItem] = [
            .text([5, 6, 7]), .image(VisionGrid(t: 1, h: side, w: side)),
            .video(VisionGrid(t: 3, h: side, w: side), secondsPerGrid: 2.0 / 3, audioMelFrames: 300),
            .video(VisionGrid(t: 2, h: side, w: side), secondsPerGrid: 1.0, audioMelFrames: nil),
            .audio(melFrames: 250), .text([8]),
        ]
        for chat in [nil, ChatTemplateIds.qwen2] {
            if let layout = try? PromptLayout.build(items, chat: chat, config: thinker) {
                _ = try? layout.ropeIndex(config: thinker)
            }
        }
    }
    if let model = try? ThinkerLoader.load(checkpoint: checkpoint, config: thinker, storage: .float32),
       let layout = try? PromptLayout.build(Array(items(merge: m).prefix(3)), chat: nil, config: thinker),
       let r = try? layout.ropeIndex(config: thinker),
       let e = try? model.embed(layout.inputIds.map { Int($0) })
    {
        var state = model.makeState(ropeDelta: r.ropeDelta, capacity: e.rows)
        if let h = try? model.forward(embeddings: e, positions: r.positionIds, state: &state) {
            _ = model.logits(hidden: h, lastRowOnly: true)
        }
    }
    return 0
}

/// A short prompt for the tiny model: text, then an image of 2x2 merged tokens.
func items(merge m: Int) -> [PromptItem] {
    [.text([5, 6, 7]), .image(VisionGrid(t: 1, h: 2 * min(m, 1 << 20), w: 2 * min(m, 1 << 20))), .text([8])]
}
