/// Turns a target retained ratio (`--keep F`) into a budget (`rho_video`, `rho_audio`) for one method on one
/// layout (SPEC 3.5).
///
/// Retained ratio = (kept audio + kept video) / (all audio + all video). Every method describes how its budget
/// becomes kept counts with a `CountModel` (OmniSIFT: per group, `plan(groups:...)`; OmniZip: dominant audio plus
/// anchors; the other baselines: whole-modality counts, `BaselinePlanner`), and `search` finds the budget:
///
/// 1. **Reference balance.** `rho_audio` is the user's, or the reference balance: interpolated linearly between the
///    published pairs (0.7, 0.3) at about 34 % retained and (0.77, 0.5) at about 25.5 %, clamped to [0.3, 0.5].
///    The video ratio is then the one whose exact kept count gives the retained ratio closest to F (on equal
///    distance the smaller ratio, more tokens kept, wins). Within half a percentage point of F, that is the plan.
/// 2. **Leaving the balance.** Otherwise (say 257 audio tokens beside 72 video: even with every video token but one
///    per frame dropped, `rho_audio` = 0.5 keeps 41 %), and only when the user did not fix `--rho-audio`, every
///    audio ratio at which the method's audio count changes is tried, each with its best video ratio: of those
///    within half a point, the one whose `rho_audio` is closest to the reference wins; if none is, the closest to F.
///    The plan then says it left the balance (`audioChoice == .leftReference`, and `note`). A plan that keeps no
///    token of a modality the layout has is taken only when nothing else reaches F.
/// 3. **Unreachable.** A plan further than one percentage point from F is an error that names the range of
///    retained ratios the method can reach on this layout.
public enum RatioPlanner {
    /// Where the plan's `rho_audio` came from.
    public enum AudioChoice: String, Sendable, Equatable, Codable {
        /// The user's `--rho-audio`.
        case user
        /// The reference balance for the target.
        case reference
        /// Another ratio: the reference balance could not reach the target on this layout.
        case leftReference = "left-reference"
    }

    /// A plan and what it reaches.
    public struct Plan: Sendable, Equatable, Codable {
        public let budget: CompressionBudget
        public let targetRetained: Double
        /// The retained ratio the plan actually gives on this layout.
        public let reachedRetained: Double
        public let keptVideo: Int
        public let keptAudio: Int
        public let totalVideo: Int
        public let totalAudio: Int
        /// The reference balance of `rho_audio` for the target.
        public let referenceRhoAudio: Double
        public let audioChoice: AudioChoice
        /// Why the plan left the reference balance (or the user's audio ratio), for the output; nil when it did not.
        public let note: String?

        enum CodingKeys: String, CodingKey {
            case budget, targetRetained, reachedRetained, keptVideo, keptAudio, totalVideo, totalAudio
            case referenceRhoAudio, audioChoice, note
        }

        /// Whether `rho_audio` is the reference balance.
        public var audioRatioFromReference: Bool { audioChoice == .reference }
    }

    /// How a method turns a budget into kept counts on one layout: what `search` explores.
    public struct CountModel: Sendable {
        public let totalVideo: Int
        public let totalAudio: Int
        /// The video removal ratios at which the method's kept count can change, ascending, starting at 0. The
        /// kept total must not grow with `rho_video`.
        public let videoRatios: [Double]
        /// The same for audio; empty when the audio ratio changes nothing (no audio, or audio never pruned).
        public let audioRatios: [Double]
        /// Kept (video, audio) counts for (rho_video, rho_audio), exactly as the method's `compress` keeps them.
        public let keptCounts: @Sendable (_ rhoVideo: Double, _ rhoAudio: Double) -> (video: Int, audio: Int)

        public init(totalVideo: Int, totalAudio: Int, videoRatios: [Double], audioRatios: [Double],
                    keptCounts: @escaping @Sendable (_ rhoVideo: Double, _ rhoAudio: Double) -> (video: Int, audio: Int)) {
            self.totalVideo = totalVideo
            self.totalAudio = totalAudio
            self.videoRatios = videoRatios
            self.audioRatios = audioRatios
            self.keptCounts = keptCounts
        }
    }

    /// Distance to the target within which the reference balance (or a closer-to-reference ratio) is kept.
    public static let balanceTolerance = 0.005
    /// Distance to the target beyond which `--keep` is an error.
    public static let reachTolerance = 0.01

    /// The reference balance of `rho_audio` for a target retained ratio.
    public static func referenceAudioRatio(forRetained f: Double) -> Double {
        let (f1, r1) = (0.34, 0.3), (f2, r2) = (0.255, 0.5)
        let r = r1 + (f1 - f) / (f1 - f2) * (r2 - r1)
        return min(max(r, 0.3), 0.5)
    }

    /// Every removal ratio in [0, 1) at which `Int(Double(n) * rho)` changes for one of `sizes`, ascending, with 0:
    /// for each n and j in 1..<n, the smallest double r >= j / n with `Int(Double(n) * r) >= j`.
    public static func ratioSteps<S: Sequence>(sizes: S) -> [Double] where S.Element == Int {
        var steps: Set<Double> = [0]
        for n in Set(sizes) where n > 1 {
            for j in 1..<n {
                var r = Double(j) / Double(n)
                while CompressionBudget.dropCount(n, r) < j { r = r.nextUp }
                if r < 1 { steps.insert(r) }
            }
        }
        return steps.sorted()
    }

    /// Kept (video, audio) counts the OmniSIFT compressor gives on `groups` with these ratios. `audioDropped` is
    /// false when audio is not pruned (the keep-all fallback).
    public static func keptCounts(groups: TokenGroups, rhoVideo: Double, rhoAudio: Double,
                                  audioDropped: Bool = true) -> (video: Int, audio: Int) {
        var video = groups.counts.video
        var audio = groups.counts.audio
        for g in groups.groups {
            guard let f1 = g.frames.first else { continue }
            let n = f1.tokenIndices.count
            let k = CompressionBudget.dropCount(n, rhoVideo)
            let prunedFrames = g.frames.count > 1 && g.frames[1].tokenIndices.count == n ? 2 : 1
            video -= k * prunedFrames
            let la = g.audioIndices.count
            if audioDropped && la > 1 && g.videoCount - k * prunedFrames > 0 {
                audio -= CompressionBudget.dropCount(la, rhoAudio)
            }
        }
        return (video, audio)
    }

    /// OmniSIFT's count model: per group, `Int(n · rho_video)` dropped from F1 and from F2 (when it has n tokens),
    /// `Int(La · rho_audio)` from the group's audio when it keeps video and has more than one audio token.
    public static func countModel(groups: TokenGroups, audioDropped: Bool = true) -> CountModel {
        let firstFrames = groups.groups.compactMap { $0.frames.first?.tokenIndices.count }
        let prunedAudio = groups.groups.filter { !$0.frames.isEmpty && $0.audioIndices.count > 1 }.map(\.audioIndices.count)
        return CountModel(totalVideo: groups.counts.video, totalAudio: groups.counts.audio,
                          videoRatios: ratioSteps(sizes: firstFrames),
                          audioRatios: audioDropped && !prunedAudio.isEmpty ? ratioSteps(sizes: prunedAudio) : []) { rv, ra in
            keptCounts(groups: groups, rhoVideo: rv, rhoAudio: ra, audioDropped: audioDropped)
        }
    }

    /// OmniSIFT's plan for target retained ratio `target` in (0, 1]. Throws when the layout has no audio or video,
    /// or when no budget comes within one percentage point (the error gives the reachable range).
    public static func plan(groups: TokenGroups, targetRetained target: Double, rhoAudio: Double? = nil,
                            audioDropped: Bool = true) throws -> Plan {
        try search(countModel(groups: groups, audioDropped: audioDropped), target: target, rhoAudio: rhoAudio,
                   method: "omnisift")
    }

    /// The budget of `model` for `target` (the rules in the type's documentation). `method` names the method in
    /// errors and notes.
    public static func search(_ model: CountModel, target: Double, rhoAudio: Double? = nil,
                              method: String) throws -> Plan {
        guard target.isFinite, target > 0, target <= 1 else {
            throw OmniSIFTError("--keep \(target) is out of range: the retained ratio must be in (0, 1]")
        }
        let total = model.totalVideo + model.totalAudio
        guard total > 0 else { throw OmniSIFTError("--keep \(target): the sequence has no audio or video tokens to compress") }
        let reference = referenceAudioRatio(forRetained: target)
        let first = rhoAudio ?? reference
        try CompressionBudget.validate(first, name: "rho_audio")

        struct Candidate {
            let rv: Double, ra: Double, video: Int, audio: Int, retained: Double, error: Double
        }
        func candidate(_ rv: Double, _ ra: Double) -> Candidate {
            let c = model.keptCounts(rv, ra)
            let r = Double(c.video + c.audio) / Double(total)
            return Candidate(rv: rv, ra: ra, video: c.video, audio: c.audio, retained: r, error: abs(r - target))
        }
        // The kept total does not grow with rho_video: binary search for the first ratio at or below the target,
        // then compare with the plateau just above it (its smallest ratio, found the same way).
        func bestVideo(_ ra: Double) -> Candidate {
            let v = model.videoRatios
            func firstAtOrBelow(_ x: Double) -> Int {
                var lo = 0, hi = v.count
                while lo < hi {
                    let mid = (lo + hi) / 2
                    if candidate(v[mid], ra).retained <= x { hi = mid } else { lo = mid + 1 }
                }
                return lo
            }
            let lo = firstAtOrBelow(target)
            var best: Candidate? = lo < v.count ? candidate(v[lo], ra) : nil
            if lo > 0 {
                let above = candidate(v[firstAtOrBelow(candidate(v[lo - 1], ra).retained)], ra)
                if best == nil || above.error <= best!.error + 1e-12 { best = above }
            }
            return best!
        }
        func range(_ audioRatios: [Double]) -> (Double, Double) {
            let vMax = model.videoRatios.last ?? 0
            let lo = audioRatios.map { candidate(vMax, $0).retained }.min()!
            let hi = audioRatios.map { candidate(0, $0).retained }.max()!
            return (lo, hi)
        }
        func plan(_ c: Candidate, _ choice: AudioChoice, note: String?) throws -> Plan {
            Plan(budget: try CompressionBudget(rhoVideo: c.rv, rhoAudio: c.ra), targetRetained: target,
                 reachedRetained: c.retained, keptVideo: c.video, keptAudio: c.audio, totalVideo: model.totalVideo,
                 totalAudio: model.totalAudio, referenceRhoAudio: reference, audioChoice: choice, note: note)
        }

        // A plan that keeps no token of a modality the layout has (OmniZip's video target can fall to 0) is taken
        // only when nothing else reaches the target.
        func starves(_ c: Candidate) -> Bool {
            (model.totalVideo > 0 && c.video == 0) || (model.totalAudio > 0 && c.audio == 0)
        }
        let atFirst = bestVideo(first)
        if atFirst.error <= balanceTolerance && (!starves(atFirst) || rhoAudio != nil || model.audioRatios.isEmpty) {
            return try plan(atFirst, rhoAudio == nil ? .reference : .user, note: nil)
        }
        let firstRange = range([first])
        let firstWhat = rhoAudio == nil ? "the reference balance rho_audio = \(fmt(first))" : "--rho-audio \(fmt(first))"
        let firstReach = "\(firstWhat) reaches \(fmt(firstRange.0)) to \(fmt(firstRange.1)) on this layout"
        if rhoAudio != nil || model.audioRatios.isEmpty {
            if atFirst.error <= reachTolerance { return try plan(atFirst, rhoAudio == nil ? .reference : .user, note: nil) }
            if rhoAudio != nil && !model.audioRatios.isEmpty {
                let all = range(model.audioRatios + [first])
                throw OmniSIFTError("\(method): --keep \(target) cannot be reached with --rho-audio \(fmt(first)): "
                    + "on this layout the retained ratio then ranges from \(fmt(firstRange.0)) to \(fmt(firstRange.1)) (closest: \(fmt(atFirst.retained)) at "
                    + "rho_video = \(fmt(atFirst.rv))); without --rho-audio the planner may move the audio ratio "
                    + "(reachable: \(fmt(all.0)) to \(fmt(all.1)))")
            }
            throw OmniSIFTError("\(method): --keep \(target) cannot be reached on this layout: the retained ratio ranges "
                + "from \(fmt(firstRange.0)) to \(fmt(firstRange.1)) (closest: \(fmt(atFirst.retained)) at rho_video = "
                + "\(fmt(atFirst.rv)); the audio ratio changes nothing here)")
        }
        let all = (model.audioRatios + [first]).map(bestVideo)
        let reaching = all.filter { $0.error <= balanceTolerance }
        let within = reaching.contains { !starves($0) } ? reaching.filter { !starves($0) } : reaching
        let chosen: Candidate
        if !within.isEmpty {
            chosen = within.min { a, b in
                let da = abs(a.ra - reference), db = abs(b.ra - reference)
                return da != db ? da < db : a.error < b.error
            }!
        } else {
            chosen = all.min { a, b in
                a.error != b.error ? a.error < b.error : abs(a.ra - reference) < abs(b.ra - reference)
            }!
        }
        guard chosen.error <= reachTolerance else {
            let r = range(model.audioRatios + [first])
            throw OmniSIFTError("\(method): --keep \(target) cannot be reached on this layout by any rho_video and "
                + "rho_audio in [0, 1): the retained ratio ranges from \(fmt(r.0)) to \(fmt(r.1)) (closest: "
                + "\(fmt(chosen.retained)) at rho_video = \(fmt(chosen.rv)), rho_audio = \(fmt(chosen.ra)))")
        }
        if chosen.ra == first { return try plan(chosen, .reference, note: nil) }
        return try plan(chosen, .leftReference,
                        note: "\(method): \(firstReach), not \(fmt(target)); left the balance for rho_audio = \(fmt(chosen.ra))")
    }

    static func fmt(_ x: Double) -> String {
        let v = (x * 10000).rounded() / 10000
        return "\(v)"
    }
}
