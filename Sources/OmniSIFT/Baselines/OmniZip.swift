import Foundation
import OmniTensor

/// OmniZip (SPEC 4; Tao et al., arXiv 2511.14582), training-free and audio-guided, under the shared budget.
///
/// Audio:
/// 1. saliency: `audio_saliency` of the prefill file (mean attention received in the audio encoder's last layer);
///    without it, the fallback `fallbackSaliency` (mean cosine similarity to the other audio tokens);
/// 2. keep the `round((1 - rho_audio) · Na)` most salient tokens (round half to even);
/// 3. of the rest (ascending), keep C = `round(anchorRatio · Na)` anchors, every `max(1, rest / C)`-th;
/// 4. every other dropped token is assigned to its most similar anchor (cosine with OmniZip's `x / (‖x‖ + 1e-6)`
///    normalisation; equal similarity: the first anchor); each anchor merges up to `g` of its tokens, those with the
///    highest max-cosine to any video token (to any anchor when there is no video), weighted by the softmax of that
///    score: anchor ← (anchor + Σ w_k a_k) / (1 + Σ w_k). The kept anchor rows carry the merged embeddings.
///
/// Video, per window (the SPEC 3.1 groups: two frames and the audio in their time range):
/// 5. S(i) = kept fraction of the window's audio; base(i) = clip(0.75 - 0.4 · S(i), 0.35, 0.75); a window without
///    audio gets the nominal ratio 1 - Tv / Nv;
/// 6. budget: the video target Tv is the budget's total kept count minus the audio actually kept (the anchors are
///    on top of the dominant tokens), clamped to [0, Nv]. Rescaling: one factor s for all windows,
///    rho(i) = min(1, s · base(i)), frame keep count `Int(n · (1 - rho(i)))`; s is the smallest (bisection, 100
///    steps) whose total is at most Tv, and the shortfall is handed out one token per frame in order;
/// 7. ISTC: a window's even frames keep the tokens with the largest density · delta of density-peak clustering
///    (cosine distance, k = 5 nearest neighbours, density = exp(-mean kNN distance), delta = distance to the
///    nearest denser token, or the largest distance for the densest); odd frames keep the tokens least similar to
///    the same position of the previous frame (density peaks when the sizes differ).
public struct OmniZipCompressor: TokenCompressor {
    /// Tokens merged into each anchor at most.
    public let g: Int
    /// Anchors as a fraction of the audio tokens.
    public let anchorRatio: Double
    /// Neighbours of the density estimate.
    public let neighbours: Int

    public var name: String { "omnizip" }

    public init(g: Int = 3, anchorRatio: Double = 0.05, neighbours: Int = 5) throws {
        guard g >= 0 else { throw OmniSIFTError("OmniZip g = \(g): the number of tokens merged per anchor must be >= 0") }
        guard anchorRatio.isFinite, anchorRatio >= 0, anchorRatio <= 1 else {
            throw OmniSIFTError("OmniZip anchor ratio = \(anchorRatio) must be in [0, 1]")
        }
        guard neighbours >= 1 else { throw OmniSIFTError("OmniZip neighbours = \(neighbours) must be >= 1") }
        self.g = g
        self.anchorRatio = anchorRatio
        self.neighbours = neighbours
    }

    /// Whether `compress` will use the fallback saliency on this input (no `audio_saliency`).
    public static func usesFallbackSaliency(_ input: CompressionInput) -> Bool {
        input.audioSaliency == nil && input.groups.counts.audio > 0
    }

    /// The fallback saliency: each audio token's mean cosine similarity to the other audio tokens, a stand-in for
    /// the attention it receives in the encoder (tokens like many others receive much attention).
    public static func fallbackSaliency(_ input: CompressionInput) -> [Double] {
        let rows = EmbeddingRows(input.embeddings)
        let idx = input.groups.audioIndices
        let n = idx.count
        guard n >= 2 else { return [Double](repeating: 0, count: n) }
        let d = rows.width
        var units: [[Double]] = idx.map { i in
            let r = rows.row(i)
            let nrm = max(r.reduce(0) { $0 + $1 * $1 }.squareRoot(), 1e-8)
            return r.map { $0 / nrm }
        }
        var sum = [Double](repeating: 0, count: d)
        for u in units { for j in 0..<d { sum[j] += u[j] } }
        var out = [Double](repeating: 0, count: n)
        for k in 0..<n {
            var s = 0.0, self_ = 0.0
            for j in 0..<d { s += units[k][j] * sum[j]; self_ += units[k][j] * units[k][j] }
            out[k] = (s - self_) / Double(n - 1)
        }
        units.removeAll()
        return out
    }

    /// Which audio tokens OmniZip keeps and how anchors merge: local indices into the audio tokens.
    public struct AudioPlan: Sendable, Equatable {
        public var keep: [Bool]
        /// Anchor (local index) -> merged tokens (local indices), best score first.
        public var merges: [Int: [Int]]
        /// Anchor -> the merge scores of its tokens (max cosine to the video, or to the anchors without video).
        public var scores: [Int: [Double]]
    }

    public func compress(_ input: CompressionInput, budget: CompressionBudget) throws -> CompressionResult {
        let groups = input.groups
        let audio = groups.audioIndices, video = groups.videoIndices
        let nv = video.count
        let rows = EmbeddingRows(input.embeddings)
        var timings: [StageTiming] = []

        // Audio.
        var clock = ContinuousClock.now
        let saliency = input.audioSaliency.map { $0.map(Double.init) } ?? Self.fallbackSaliency(input)
        let planned = keptCounts(groups: groups, budget: budget)
        let dominant = planned.dominant, anchors = planned.audio - planned.dominant, tv = planned.video
        let plan = audioPlan(rows: rows, audio: audio, video: video, saliency: saliency, dominant: dominant,
                             anchorCount: anchors)
        var keep = [Bool](repeating: true, count: input.tokenCount)
        for (k, i) in audio.enumerated() { keep[i] = plan.keep[k] }
        var embeddings = input.embeddings
        if !plan.merges.isEmpty {
            let d = rows.width
            for (anchor, members) in plan.merges where !members.isEmpty {
                let scores = plan.scores[anchor]!
                let top = scores.max()!
                var w = scores.map { exp($0 - top) }
                let ws = w.reduce(0, +)
                w = w.map { $0 / ws }
                var acc = rows.row(audio[anchor])
                for (k, m) in members.enumerated() {
                    let r = rows.row(audio[m])
                    for j in 0..<d { acc[j] += w[k] * r[j] }
                }
                let denom = 1 + w.reduce(0, +)
                let base = audio[anchor] * d
                for j in 0..<d { embeddings.scalars[base + j] = Float(acc[j] / denom) }
            }
        }
        timings.append(StageTiming(stage: "audio", milliseconds: millisecondsSince(clock)))

        // Video.
        clock = ContinuousClock.now
        let nominalRho = nv > 0 ? 1 - Double(tv) / Double(nv) : 0
        var base: [Double] = []
        for group in groups.groups {
            if group.audioIndices.isEmpty {
                base.append(nominalRho)
            } else {
                let kept = group.audioIndices.reduce(0) { $0 + (keep[$1] ? 1 : 0) }
                let s = Double(kept) / Double(group.audioIndices.count)
                base.append(min(0.75, max(0.35, 0.75 - 0.4 * s)))
            }
        }
        let sizes = groups.groups.map { $0.frames.map(\.tokenIndices.count) }
        let counts = Self.scaledFrameCounts(sizes: sizes, base: base, target: tv)
        for (gi, group) in groups.groups.enumerated() {
            for (t, frame) in group.frames.enumerated() {
                let f = frame.tokenIndices
                let c = counts[gi][t]
                let kept: [Int]
                if t % 2 == 1 && group.frames[t - 1].tokenIndices.count == f.count {
                    kept = rows.leastSimilarToReference(f, group.frames[t - 1].tokenIndices, count: c)
                } else {
                    kept = densityPeakKeep(rows: rows, frame: f, count: c)
                }
                for p in f { keep[p] = false }
                for p in kept { keep[f[p]] = true }
            }
        }
        timings.append(StageTiming(stage: "istc", milliseconds: millisecondsSince(clock)))
        return try .baseline(method: name, input: input, budget: budget, keepMask: keep,
                             embeddings: plan.merges.isEmpty ? nil : embeddings, timings: timings)
    }

    /// What `compress` keeps for `budget` (steps 2 and 6): `dominant` = round((1 - rho_audio) · Na) audio tokens,
    /// plus C = round(anchorRatio · Na) anchors (at most the rest), `audio` = both; video keeps the budget's total
    /// (`BaselineRules.keptCounts`) minus that audio, clamped to [0, Nv].
    public func keptCounts(groups: TokenGroups, budget: CompressionBudget) -> (video: Int, audio: Int, dominant: Int) {
        let na = groups.counts.audio, nv = groups.counts.video
        let nominal = BaselineRules.keptCounts(groups: groups, budget: budget)
        let dominant = min(BaselineRules.roundHalfEven((1 - budget.rhoAudio) * Double(na)), na)
        let anchors = min(BaselineRules.roundHalfEven(anchorRatio * Double(na)), na - dominant)
        return (min(max(nominal.video + nominal.audio - dominant - anchors, 0), nv), dominant + anchors, dominant)
    }

    /// OmniZip's budget for retained ratio `keep` (`RatioPlanner.search` over `keptCounts`). The anchors come on
    /// top of the dominant audio, so on audio-heavy layouts the planner lowers the dominant share (raises
    /// `rho_audio`) until video can take the rest, and says so in the plan.
    public func plan(groups: TokenGroups, keep: Double, rhoAudio: Double? = nil) throws -> RatioPlanner.Plan {
        let na = groups.counts.audio, nv = groups.counts.video
        // Audio ratios: one per dominant count d (round((1 - r) · Na) = d; d = 0 at r = 1 - 0.25 / Na), and every
        // step of the nominal audio count (it moves the video target).
        var audio: [Double] = []
        if na > 0 {
            audio = RatioPlanner.ratioSteps(sizes: [na])
            audio += (1...na).map { 1 - Double($0) / Double(na) } + [1 - 0.25 / Double(na)]
            audio = Array(Set(audio.filter { $0 >= 0 && $0 < 1 })).sorted()
        }
        let model = RatioPlanner.CountModel(totalVideo: nv, totalAudio: na, videoRatios: RatioPlanner.ratioSteps(sizes: [nv]),
                                            audioRatios: audio) { rv, ra in
            let c = keptCounts(groups: groups, budget: try! CompressionBudget(rhoVideo: rv, rhoAudio: ra))
            return (c.video, c.audio)
        }
        return try RatioPlanner.search(model, target: keep, rhoAudio: rhoAudio, method: name)
    }

    /// Steps 2-4 (selection and the merge plan), on local audio indices.
    func audioPlan(rows: EmbeddingRows, audio: [Int], video: [Int], saliency: [Double], dominant: Int,
                   anchorCount: Int) -> AudioPlan {
        let n = audio.count
        var keep = [Bool](repeating: false, count: n)
        for k in BaselineRules.topK(saliency, k: dominant) { keep[k] = true }
        let rest = (0..<n).filter { !keep[$0] }
        let c = min(anchorCount, rest.count)
        var merges: [Int: [Int]] = [:]
        var mergeScores: [Int: [Double]] = [:]
        guard c > 0 else { return AudioPlan(keep: keep, merges: merges, scores: mergeScores) }
        let step = max(1, rest.count / c)
        let anchorPositions = Array(stride(from: 0, to: rest.count, by: step).prefix(c))
        let anchors = anchorPositions.map { rest[$0] }
        for a in anchors { keep[a] = true; merges[a] = [] }
        let anchorSet = Set(anchorPositions)
        let pool = rest.indices.filter { !anchorSet.contains($0) }.map { rest[$0] }
        guard !pool.isEmpty, g > 0 else { return AudioPlan(keep: keep, merges: merges, scores: mergeScores) }
        let unit = Self.epsNormalised(rows: rows, indices: audio)
        let videoScores = video.isEmpty ? nil : Self.maxVideoCosine(rows: rows, audio: pool.map { audio[$0] }, video: video)
        var assign = [Int](repeating: 0, count: pool.count)
        var scores = [Double](repeating: 0, count: pool.count)
        for (p, m) in pool.enumerated() {
            var best = -Double.infinity, bestIndex = 0
            for (ci, a) in anchors.enumerated() {
                let s = Self.dot(unit[m], unit[a])
                if s > best { best = s; bestIndex = ci }
            }
            assign[p] = bestIndex
            scores[p] = videoScores?[p] ?? best
        }
        for (ci, a) in anchors.enumerated() {
            let members = pool.indices.filter { assign[$0] == ci }
            guard !members.isEmpty else { continue }
            let sel = BaselineRules.topK(members.map { scores[$0] }, k: min(g, members.count))
            merges[a] = sel.map { pool[members[$0]] }
            mergeScores[a] = sel.map { scores[members[$0]] }
        }
        return AudioPlan(keep: keep, merges: merges, scores: mergeScores)
    }

    /// Rows divided by (‖row‖ + 1e-6), OmniZip's normalisation of its audio similarities.
    static func epsNormalised(rows: EmbeddingRows, indices: [Int]) -> [[Double]] {
        indices.map { i in
            let r = rows.row(i)
            let nrm = r.reduce(0) { $0 + $1 * $1 }.squareRoot() + 1e-6
            return r.map { $0 / nrm }
        }
    }

    static func dot(_ a: [Double], _ b: [Double]) -> Double {
        var s = 0.0
        for j in a.indices { s += a[j] * b[j] }
        return s
    }

    /// For each sequence row of `audio`, the largest cosine (OmniZip normalisation) to any row of `video`.
    /// Small problems (audio · video · D <= 5e7) are computed in Double; larger ones through BLAS in Float32,
    /// 2048 video rows at a time.
    static func maxVideoCosine(rows: EmbeddingRows, audio: [Int], video: [Int]) -> [Double] {
        let d = rows.width
        if audio.count * video.count * d <= 50_000_000 {
            let a = epsNormalised(rows: rows, indices: audio)
            let v = epsNormalised(rows: rows, indices: video)
            return a.map { x in v.reduce(-Double.infinity) { max($0, dot(x, $1)) } }
        }
        func unitTensor(_ idx: ArraySlice<Int>) -> Tensor {
            var t = Tensor.zeros([idx.count, d])
            for (k, i) in idx.enumerated() {
                let r = rows.row(i)
                let nrm = r.reduce(0) { $0 + $1 * $1 }.squareRoot() + 1e-6
                for j in 0..<d { t.scalars[k * d + j] = Float(r[j] / nrm) }
            }
            return t
        }
        let a = unitTensor(audio[...])
        var best = [Double](repeating: -Double.infinity, count: audio.count)
        var start = 0
        while start < video.count {
            let end = min(start + 2048, video.count)
            let v = unitTensor(video[start..<end])
            let s = Tensor.matmul(a, v, transposeB: true)
            let w = end - start
            for r in 0..<audio.count {
                for c in 0..<w { best[r] = max(best[r], Double(s.scalars[r * w + c])) }
            }
            start = end
        }
        return best
    }

    /// Per-window frame keep counts (step 6): `sizes[i]` are window i's frame sizes, `base[i]` its drop ratio.
    static func scaledFrameCounts(sizes: [[Int]], base: [Double], target: Int) -> [[Int]] {
        func counts(_ s: Double) -> [[Int]] {
            zip(sizes, base).map { frameSizes, b in
                frameSizes.map { Int(Double($0) * (1.0 - min(1.0, s * b))) }
            }
        }
        func total(_ c: [[Int]]) -> Int { c.reduce(0) { $0 + $1.reduce(0, +) } }
        let full = counts(0)
        if total(full) <= target { return full }
        let bmin = base.filter { $0 > 0 }.min() ?? 1
        var lo = 0.0, hi = 1.0 / bmin
        for _ in 0..<100 {
            let mid = 0.5 * (lo + hi)
            if total(counts(mid)) <= target { hi = mid } else { lo = mid }
        }
        var c = counts(hi)
        var left = target - total(c)
        for wi in sizes.indices {
            for fi in sizes[wi].indices where left > 0 && c[wi][fi] < sizes[wi][fi] {
                c[wi][fi] += 1
                left -= 1
            }
        }
        return c
    }

    /// Positions (into `frame`) of the `count` tokens with the largest density · delta (step 7, even frames).
    func densityPeakKeep(rows: EmbeddingRows, frame: [Int], count: Int) -> [Int] {
        let m = frame.count
        if count >= m { return Array(0..<m) }
        if count <= 0 { return [] }
        let d = rows.width
        // Unit rows (norm clamped to 1e-12), Gram matrix through BLAS.
        var unit = Tensor.zeros([m, d])
        for (k, i) in frame.enumerated() {
            let r = rows.row(i)
            let nrm = max(r.reduce(0) { $0 + $1 * $1 }.squareRoot(), 1e-12)
            for j in 0..<d { unit.scalars[k * d + j] = Float(r[j] / nrm) }
        }
        let gram = Tensor.matmul(unit, unit, transposeB: true)
        var dist = [Double](repeating: 0, count: m * m)
        for i in 0..<(m * m) { dist[i] = 1.0 - Double(gram.scalars[i]) }
        let kk = min(neighbours, m - 1)
        var rho = [Double](repeating: 0, count: m)
        for i in 0..<m {
            var others: [Double] = []
            others.reserveCapacity(m - 1)
            for j in 0..<m where j != i { others.append(dist[i * m + j]) }
            others.sort()
            var s = 0.0
            for j in 0..<kk { s += others[j] }
            rho[i] = exp(-(s / Double(kk)))
        }
        var score = [Double](repeating: 0, count: m)
        for i in 0..<m {
            var delta = Double.infinity
            for j in 0..<m where rho[j] > rho[i] { delta = min(delta, dist[i * m + j]) }
            if delta == .infinity {
                delta = 0
                for j in 0..<m where j != i { delta = max(delta, dist[i * m + j]) }
            }
            score[i] = delta * rho[i]
        }
        return BaselineRules.topK(score, k: count)
    }
}
