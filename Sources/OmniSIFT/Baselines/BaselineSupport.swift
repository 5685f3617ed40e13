import OmniTensor
import QwenOmni

/// Shared rules of the baseline compressors (SPEC 4), mirrored exactly by `tools/baselines_reference.py`.
///
/// - Budget: every baseline receives the same `CompressionBudget` as OmniSIFT and keeps
///   `n - Int(Double(n) * rho)` tokens of each modality over the whole sequence (OmniZip keeps the same total;
///   see `OmniZipCompressor`). `BaselinePlanner` turns a retained ratio (`--keep F`) into such a budget.
/// - Frames: `TokenGroups.frames` (video tokens sharing one temporal position). Audio "frames" (chunks) are the
///   maximal runs of consecutive audio tokens in the sequence, cut into pieces of at most 50 tokens (one 2-second
///   chunk at 25 tokens/s); this is how the frame-based video methods are applied to audio.
/// - Scores are computed in Double from the Float32 embeddings; cosine similarity follows PyTorch's rule with each
///   norm clamped to 1e-8. Every top-k breaks ties by the lower index first.
/// - Rounding: `round()` of the methods is round-half-to-even; per-frame counts are `distribute`d.
public enum BaselineRules {
    /// Audio tokens per audio chunk (2 s at 25 tokens/s).
    public static let audioChunkLength = 50

    /// Kept (video, audio) counts of a budget: `n - Int(Double(n) * rho)` per modality.
    public static func keptCounts(groups: TokenGroups, budget: CompressionBudget) -> (video: Int, audio: Int) {
        let nv = groups.counts.video, na = groups.counts.audio
        return (nv - CompressionBudget.dropCount(nv, budget.rhoVideo), na - CompressionBudget.dropCount(na, budget.rhoAudio))
    }

    /// Maximal runs of consecutive audio tokens, each cut into pieces of at most `audioChunkLength` tokens.
    public static func audioChunks(_ groups: TokenGroups) -> [[Int]] {
        var chunks: [[Int]] = []
        var run: [Int] = []
        func flush() {
            var s = 0
            while s < run.count {
                chunks.append(Array(run[s..<min(s + audioChunkLength, run.count)]))
                s += audioChunkLength
            }
            run = []
        }
        for i in groups.audioIndices {
            if let last = run.last, i != last + 1 { flush() }
            run.append(i)
        }
        flush()
        return chunks
    }

    /// Round half to even (Python's `round`).
    public static func roundHalfEven(_ x: Double) -> Int { Int(x.rounded(.toNearestOrEven)) }

    /// Per-frame counts summing to `target` (clamped to [0, sum]): `Int(n_f * target / sum)`, then the shortfall
    /// handed out one token each to the first frames, in order, that still have room.
    public static func distribute(sizes: [Int], target: Int) -> [Int] {
        let total = sizes.reduce(0, +)
        guard total > 0 else { return sizes.map { _ in 0 } }
        let t = min(max(target, 0), total)
        var c = sizes.map { Int(Double($0) * Double(t) / Double(total)) }
        var left = t - c.reduce(0, +)
        for i in sizes.indices where left > 0 && c[i] < sizes[i] {
            c[i] += 1
            left -= 1
        }
        return c
    }

    /// Indices of the `k` best values, best first; equal values: lower index first.
    public static func topK(_ values: [Double], k: Int, largest: Bool = true) -> [Int] {
        let k = min(max(k, 0), values.count)
        if k == 0 { return [] }
        let order = values.indices.sorted { a, b in
            let va = values[a], vb = values[b]
            if va != vb { return largest ? va > vb : va < vb }
            return a < b
        }
        return Array(order.prefix(k))
    }
}

/// Row access in Double to a rank-2 embedding tensor, for the baselines' scores.
struct EmbeddingRows {
    let tensor: Tensor
    var width: Int { tensor.cols }

    init(_ t: Tensor) { tensor = t }

    func row(_ r: Int) -> [Double] {
        let d = width
        return tensor.scalars.withUnsafeBufferPointer { p in
            [Double](unsafeUninitializedCapacity: d) { buf, n in
                for j in 0..<d { buf[j] = Double(p[r * d + j]) }
                n = d
            }
        }
    }

    func dot(_ a: Int, _ b: Int) -> Double {
        let d = width
        return tensor.scalars.withUnsafeBufferPointer { p in
            var s = 0.0
            let oa = a * d, ob = b * d
            for j in 0..<d { s += Double(p[oa + j]) * Double(p[ob + j]) }
            return s
        }
    }

    func norm(_ a: Int) -> Double { dot(a, a).squareRoot() }

    /// Mean of the rows `rows`.
    func mean(_ rows: [Int]) -> [Double] {
        var m = [Double](repeating: 0, count: width)
        guard !rows.isEmpty else { return m }
        let d = width
        tensor.scalars.withUnsafeBufferPointer { p in
            m.withUnsafeMutableBufferPointer { acc in
                for r in rows {
                    let o = r * d
                    for j in 0..<d { acc[j] += Double(p[o + j]) }
                }
            }
        }
        let inv = 1.0 / Double(rows.count)
        return m.map { $0 * inv }
    }

    /// cos(row a[i], row b[i]) with each norm clamped to 1e-8 (PyTorch's rule).
    func pairCosines(_ a: [Int], _ b: [Int]) -> [Double] {
        let d = width
        return tensor.scalars.withUnsafeBufferPointer { p in
            zip(a, b).map { x, y in
                var s = 0.0, nx = 0.0, ny = 0.0
                let ox = x * d, oy = y * d
                for j in 0..<d {
                    let u = Double(p[ox + j]), v = Double(p[oy + j])
                    s += u * v
                    nx += u * u
                    ny += v * v
                }
                return s / (max(nx.squareRoot(), 1e-8) * max(ny.squareRoot(), 1e-8))
            }
        }
    }

    /// cos(row r, v) for each r of `rows`.
    func cosines(_ rows: [Int], to v: [Double]) -> [Double] {
        let nv = max(v.reduce(0) { $0 + $1 * $1 }.squareRoot(), 1e-8)
        let d = width
        return tensor.scalars.withUnsafeBufferPointer { p in
            v.withUnsafeBufferPointer { vb in
                rows.map { r in
                    var s = 0.0, n = 0.0
                    let o = r * d
                    for j in 0..<d {
                        let x = Double(p[o + j])
                        s += x * vb[j]
                        n += x * x
                    }
                    return s / (max(n.squareRoot(), 1e-8) * nv)
                }
            }
        }
    }

    /// Positions (into `frame`) of the `count` tokens least cosine-similar to the frame's mean.
    func leastSimilarToMean(_ frame: [Int], count: Int) -> [Int] {
        BaselineRules.topK(cosines(frame, to: mean(frame)), k: count, largest: false)
    }

    /// Positions of the `count` tokens of `frame` least similar to the same position in `reference`.
    func leastSimilarToReference(_ frame: [Int], _ reference: [Int], count: Int) -> [Int] {
        BaselineRules.topK(pairCosines(frame, reference), k: count, largest: false)
    }
}

/// Turns a retained ratio (`--keep F`) into the per-modality removal ratios every baseline uses, mirroring
/// `plan_keep` of `tools/baselines_reference.py`:
/// total = round(F · (Na + Nv)); audio keeps `Na - Int(Na · rho_audio)` (rho_audio: the user's, or the same
/// reference balance OmniSIFT's `RatioPlanner` uses); video keeps the rest, clamped to [min(1, Nv), Nv], and
/// audio then takes the remainder, clamped to [min(1, Na), Na]. A count c out of n becomes
/// rho = (n - c + 0.5) / n, which gives back exactly n - c dropped under `Int(Double(n) * rho)` (0 when c = n).
public enum BaselinePlanner {
    /// The budget for retained ratio `keep` in (0, 1] on this layout.
    public static func plan(groups: TokenGroups, keep: Double, rhoAudio: Double? = nil) throws -> CompressionBudget {
        guard keep.isFinite, keep > 0, keep <= 1 else {
            throw OmniSIFTError("--keep \(keep) is out of range: the retained ratio must be in (0, 1]")
        }
        let nv = groups.counts.video, na = groups.counts.audio
        guard nv + na > 0 else {
            throw OmniSIFTError("--keep \(keep): the sequence has no audio or video tokens to compress")
        }
        let ra = rhoAudio ?? RatioPlanner.referenceAudioRatio(forRetained: keep)
        try CompressionBudget.validate(ra, name: "rho_audio")
        let total = BaselineRules.roundHalfEven(keep * Double(nv + na))
        var ta = na - CompressionBudget.dropCount(na, ra)
        let tv = min(max(total - ta, min(1, nv)), nv)
        ta = min(max(total - tv, min(1, na)), na)
        func rho(_ n: Int, _ c: Int) -> Double { c >= n ? 0 : (Double(n - c) + 0.5) / Double(n) }
        return try CompressionBudget(rhoVideo: rho(nv, tv), rhoAudio: rho(na, ta))
    }

    /// `plan` with what it reaches, for the whole-modality baselines (`method` names them in errors and notes).
    /// The audio count leaves the reference balance (or the user's `--rho-audio`) only when video alone cannot
    /// absorb the difference (the clamp above); the plan then says so. A target more than one percentage point
    /// from every reachable count is an error naming the range.
    public static func retainedPlan(groups: TokenGroups, keep: Double, rhoAudio: Double? = nil,
                                    method: String) throws -> RatioPlanner.Plan {
        let budget = try plan(groups: groups, keep: keep, rhoAudio: rhoAudio)
        let nv = groups.counts.video, na = groups.counts.audio
        let kept = BaselineRules.keptCounts(groups: groups, budget: budget)
        let reached = Double(kept.video + kept.audio) / Double(nv + na)
        let reference = RatioPlanner.referenceAudioRatio(forRetained: keep)
        let requested = rhoAudio ?? reference
        if abs(reached - keep) > RatioPlanner.reachTolerance {
            let lo = Double(min(1, nv) + min(1, na)) / Double(nv + na)
            throw OmniSIFTError("\(method): --keep \(keep) cannot be reached on this layout: it keeps at least one token of "
                + "each modality present, so the retained ratio ranges from \(RatioPlanner.fmt(lo)) to 1.0")
        }
        let balancedAudio = na - CompressionBudget.dropCount(na, requested)
        let choice: RatioPlanner.AudioChoice = kept.audio != balancedAudio ? .leftReference : (rhoAudio == nil ? .reference : .user)
        var note: String?
        if choice == .leftReference {
            let what = rhoAudio == nil ? "the reference balance rho_audio = \(RatioPlanner.fmt(requested))" : "--rho-audio \(RatioPlanner.fmt(requested))"
            let why = kept.audio < balancedAudio ? "more than --keep \(keep) allows beside \(nv) video tokens"
                                                 : "too few for --keep \(keep) even with all \(nv) video tokens"
            note = "\(method): \(what) keeps \(balancedAudio) of \(na) audio tokens, \(why); left the balance: audio keeps "
                + "\(kept.audio) (rho_audio = \(RatioPlanner.fmt(budget.rhoAudio))), video \(kept.video)"
        }
        return RatioPlanner.Plan(
            budget: budget, targetRetained: keep, reachedRetained: reached, keptVideo: kept.video, keptAudio: kept.audio,
            totalVideo: nv, totalAudio: na, referenceRhoAudio: reference, audioChoice: choice, note: note)
    }
}

extension CompressionResult {
    /// A result whose kept embedding rows may differ from the input's (OmniZip writes merged audio anchors):
    /// `embeddings` is the full [N, D] sequence after the method's changes; rows of dropped tokens are ignored.
    /// `CompressionResult` itself gathers from its input, so this builds an input carrying the changed rows.
    static func baseline(method: String, input: CompressionInput, budget: CompressionBudget, keepMask: [Bool],
                         embeddings: Tensor? = nil, timings: [StageTiming]) throws -> CompressionResult {
        var details = input.groups.groups.map(GroupDetail.init(group:))
        for (g, group) in input.groups.groups.enumerated() {
            details[g].droppedVideo = group.videoIndices.filter { !keepMask[$0] }
            details[g].droppedAudio = group.audioIndices.filter { !keepMask[$0] }
        }
        var source = input
        if let embeddings {
            source = try CompressionInput(inputIds: input.inputIds, positionIds: input.positionIds, embeddings: embeddings,
                                          labels: input.labels, audioSaliency: input.audioSaliency)
        }
        return CompressionResult(method: method, input: source, budget: budget, keepMask: keepMask, groups: details,
                                 timings: [StageTiming(stage: "groups", milliseconds: input.analysisMilliseconds)] + timings)
    }
}

/// A baseline that selects tokens frame by frame with one rule: over the video frames, then the same way over the
/// audio cut into chunks treated as frames (`BaselineRules.audioChunks`). DyCoke, VidCom2 and DTD are such methods;
/// they only say which positions of each frame they keep, and share `compress`.
protocol FrameSelectingCompressor: TokenCompressor {
    /// The kept positions (indices into each frame) of every frame, keeping `target` tokens over all frames.
    func select(rows: EmbeddingRows, frames: [[Int]], target: Int) -> [[Int]]
}

extension FrameSelectingCompressor {
    public func compress(_ input: CompressionInput, budget: CompressionBudget) throws -> CompressionResult {
        let clock = ContinuousClock.now
        let rows = EmbeddingRows(input.embeddings)
        let targets = BaselineRules.keptCounts(groups: input.groups, budget: budget)
        var keep = [Bool](repeating: true, count: input.tokenCount)
        let videoFrames = input.groups.frames.map(\.tokenIndices)
        applyFrameKeep(select(rows: rows, frames: videoFrames, target: targets.video), frames: videoFrames, to: &keep)
        let chunks = BaselineRules.audioChunks(input.groups)
        applyFrameKeep(select(rows: rows, frames: chunks, target: targets.audio), frames: chunks, to: &keep)
        return try .baseline(method: name, input: input, budget: budget, keepMask: keep,
                             timings: [StageTiming(stage: name, milliseconds: millisecondsSince(clock))])
    }
}

/// Sets `keep` for every token of `frames`: true exactly at the kept positions.
func applyFrameKeep(_ kept: [[Int]], frames: [[Int]], to keep: inout [Bool]) {
    for (f, frame) in frames.enumerated() {
        for p in frame { keep[p] = false }
        for p in kept[f] { keep[frame[p]] = true }
    }
}

/// Milliseconds since `start`.
func millisecondsSince(_ start: ContinuousClock.Instant) -> Double {
    start.duration(to: .now).milliseconds
}
