import Foundation
import OmniTensor
import QwenOmni

/// What an audio token of a synthetic item carries.
public enum SyntheticAudioRole: UInt8, Sendable, Equatable, Codable {
    /// A sound of the visible object: the tokens the answer depends on.
    case target
    /// A sound of one of the other (invisible) sources.
    case distractor
    /// The ambient hum (only when `distractors` < 1).
    case ambient
}

/// One item of the synthetic audio-visual benchmark.
///
/// A clip of `seconds` s in the real Qwen2.5-Omni layout of a video with its sound track (SPEC 2.1), 2 fps, grid
/// seconds x 12 x 12 (36 tokens per frame), 25 audio tokens per second:
/// - audio: cut into events of `eventTokens` tokens (random phase). A share `distractors` of the events (all by
///   default) belong to K = `objects` sources of distinct classes, assigned uniformly at random (every source
///   has at least one event); each source has its own pitch. Token = normalize(sound[class] + 0.5 pitch[p] +
///   noise), so every audio token has norm 1;
/// - video: a static background (two colours + a fixed per-patch detail) with a static 2 x 2-token object of
///   the visible class: normalize(appearance[class] + 0.5 texture + noise). The frames repeat up to fresh noise;
/// - the visible class is drawn uniformly among the K sources AFTER the audio track: given the audio, every
///   source is equally likely to be the visible one, so no audio-only statistic can tell its tokens;
/// - the question asks the pitch of the visible object's sound; the options are the four pitches in fixed
///   order, so the answer letter is the pitch (balanced over A-D by the generator).
public struct SyntheticBenchItem: Sendable {
    public let id: String
    /// The prompt as the evaluation harness reads it (no answer, no labels).
    public let prompt: PrefillFile
    /// The prompt + answer letter + `<|im_end|>`, with `labels` on those two tokens (-100 elsewhere).
    public let training: PrefillFile
    /// 0-3: A-D, the pitch of the visible object's sound.
    public let answer: Int
    public let visibleClass: Int
    /// The K source classes (the visible one among them) and their pitches.
    public let sourceClasses: [Int]
    public let sourcePitches: [Int]
    /// Sequence indices (into `prompt`) of the audio tokens, in temporal order, with their roles and classes
    /// (-1 for ambient).
    public let audioIndices: [Int]
    public let audioRoles: [SyntheticAudioRole]
    public let audioClasses: [Int]
    /// Sequence indices of the video tokens showing the object.
    public let objectIndices: [Int]

    /// Sequence indices of the target audio tokens.
    public var targetIndices: [Int] { zip(audioIndices, audioRoles).filter { $0.1 == .target }.map(\.0) }

    /// Builds item `index` of `config` with the answer `answer`. `rng` is the item's own generator.
    static func build(index: Int, answer: Int, config c: SyntheticBenchConfig, world: SyntheticBenchWorld,
                      rng: inout SeededGenerator) throws -> SyntheticBenchItem {
        let d = c.dim
        let noise = Float(c.noise)
        let vocabulary = SyntheticBenchVocabulary(c.vocab)
        let g = SyntheticBenchConfig.gridSize
        let grid = VisionGrid(t: c.seconds, h: g, w: g)
        let layout = try PromptLayout.build(
            [.video(grid, secondsPerGrid: 1.0, audioMelFrames: QwenOmniAudio.melFrames(seconds: Double(c.seconds))),
             .text(vocabulary.questionIds)],
            chat: vocabulary.chat)
        let rope = try layout.ropeIndex()
        let n = layout.inputIds.count

        func below(_ k: Int) -> Int { Int(rng.next() % UInt64(k)) }

        // Sources: K distinct classes, each with a pitch.
        var classes = Array(0..<SyntheticBenchConfig.classes)
        classes.shuffle(using: &rng)
        let sources = Array(classes.prefix(c.objects))
        var pitches = sources.map { _ in below(SyntheticBenchConfig.pitches) }

        // Audio track: events of eventTokens tokens from a random phase; `distractors` of them are source events.
        let audioIdx = (0..<n).filter { rope.annotations[$0].modality == .audio }
        let la = audioIdx.count
        let e = c.eventTokens
        let phase = below(e)
        var segments: [Range<Int>] = []
        var s = 0
        if phase > 0 { segments.append(0..<phase); s = phase }
        while s < la { segments.append(s..<min(la, s + e)); s += e }
        let eventCount = max(c.objects, Int((c.distractors * Double(segments.count)).rounded()))
        var order = Array(segments.indices)
        order.shuffle(using: &rng)
        let eventSegments = Set(order.prefix(eventCount))
        // Source of each event: every source once, the rest uniform; then shuffled.
        var owners = Array(0..<c.objects) + (0..<(eventCount - c.objects)).map { _ in below(c.objects) }
        owners.shuffle(using: &rng)
        var segmentOwner = [Int](repeating: -1, count: segments.count)
        for (k, seg) in eventSegments.sorted().enumerated() { segmentOwner[seg] = owners[k] }

        // The visible source: uniform among the K, drawn after the audio; its pitch is the answer.
        let visibleSource = below(c.objects)
        pitches[visibleSource] = answer
        let visibleClass = sources[visibleSource]
        let ambient = world.ambient[below(world.ambient.count)]

        var emb = [Float](repeating: 0, count: n * d)
        func put(_ i: Int, _ v: [Float]) { for j in 0..<d { emb[i * d + j] = v[j] } }
        var roles = [SyntheticAudioRole](repeating: .ambient, count: la)
        var audioClasses = [Int](repeating: -1, count: la)
        for (k, seg) in segments.enumerated() {
            let owner = segmentOwner[k]
            for a in seg {
                if owner >= 0 {
                    roles[a] = owner == visibleSource ? .target : .distractor
                    audioClasses[a] = sources[owner]
                    put(audioIdx[a], SyntheticBenchWorld.mix(
                        [(1, world.sound[sources[owner]]), (0.5, world.pitch[pitches[owner]])], noise: noise, &rng))
                } else {
                    put(audioIdx[a], SyntheticBenchWorld.mix([(1, ambient)], noise: noise, &rng))
                }
            }
        }

        // Video: static background and object; each frame adds fresh noise.
        let side = g / 2, o = SyntheticBenchConfig.objectTokens
        let top = world.background[below(world.background.count)]
        let bottom = world.background[below(world.background.count)]
        let detail = (0..<(side * side)).map { _ in SyntheticBenchWorld.unitVector(d, &rng) }
        let texture = (0..<(o * o)).map { _ in SyntheticBenchWorld.unitVector(d, &rng) }
        let objRow = below(side - o + 1), objCol = below(side - o + 1)
        var objectIndices: [Int] = []
        for i in 0..<n {
            let a = rope.annotations[i]
            switch a.modality {
            case .video:
                let r = a.row - objRow, col = a.column - objCol
                if r >= 0, r < o, col >= 0, col < o {
                    objectIndices.append(i)
                    put(i, SyntheticBenchWorld.mix([(1, world.appearance[visibleClass]), (0.5, texture[r * o + col])],
                                                   noise: noise, &rng))
                } else {
                    put(i, SyntheticBenchWorld.mix([(1, a.row < side / 2 ? top : bottom),
                                                    (0.5, detail[a.row * side + a.column])], noise: noise, &rng))
                }
            case .audio:
                break
            case .text, .special, .image:
                put(i, world.tokenVector(layout.inputIds[i]))
            }
        }

        let id = "synth-s\(c.seed)-\(String(format: "%05d", index))"
        var prompt = PrefillFile(layout: layout)
        prompt.embeddings = Tensor(shape: [n, d], scalars: emb)
        prompt.positionIds = rope.positionIds
        prompt.ropeDeltas = [rope.ropeDelta]
        prompt.metadata = [
            "synthetic": "true", "synth_bench_id": id, "synth_bench_vocab": c.vocab.rawValue,
            "synth_bench_answer": SyntheticBenchVocabulary.letters[answer],
        ]

        // Training sequence: + answer letter + <|im_end|>; labels on those two.
        let answerIds = [vocabulary.id(SyntheticBenchVocabulary.letters[answer]), QwenOmniTokens.imEnd]
        var train = prompt
        train.inputIds += answerIds
        let trainRope = try train.ropeIndex()
        train.positionIds = trainRope.positionIds
        train.ropeDeltas = [trainRope.ropeDelta]
        var trainEmb = emb
        for t in answerIds { trainEmb += world.tokenVector(t) }
        train.embeddings = Tensor(shape: [n + 2, d], scalars: trainEmb)
        train.labels = [Int64](repeating: -100, count: n) + [answerIds[0], vocabulary.imEndLabel]

        return SyntheticBenchItem(id: id, prompt: prompt, training: train, answer: answer, visibleClass: visibleClass,
                                  sourceClasses: sources, sourcePitches: pitches, audioIndices: audioIdx,
                                  audioRoles: roles, audioClasses: audioClasses, objectIndices: objectIndices)
    }
}
