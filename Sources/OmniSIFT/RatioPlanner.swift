/// Chooses `rho_video` for a target retained ratio (`--keep F`), from the layout alone (SPEC 3.5).
///
/// Retained ratio = (kept audio + kept video) / (all audio + all video). The audio ratio is the user's, or the
/// reference balance: `rho_audio` interpolated linearly between the published pairs (0.7, 0.3) at about 34 %
/// retained and (0.77, 0.5) at about 25.5 %, clamped to [0.3, 0.5]. The video ratio is then the one whose exact
/// kept count (same per-group rules as the compressor) gives the retained ratio closest to F; on equal distance
/// the smaller ratio (more tokens kept) wins.
public enum RatioPlanner {
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
        /// Whether `rho_audio` came from the reference balance rather than the user.
        public let audioRatioFromReference: Bool
    }

    /// The reference balance of `rho_audio` for a target retained ratio.
    public static func referenceAudioRatio(forRetained f: Double) -> Double {
        let (f1, r1) = (0.34, 0.3), (f2, r2) = (0.255, 0.5)
        let r = r1 + (f1 - f) / (f1 - f2) * (r2 - r1)
        return min(max(r, 0.3), 0.5)
    }

    /// Kept (video, audio) counts the compressor gives on `groups` with these ratios. `audioDropped` is false when
    /// audio is not pruned (the keep-all fallback).
    public static func keptCounts(groups: TokenGroups, rhoVideo: Double, rhoAudio: Double,
                                  audioDropped: Bool = true) -> (video: Int, audio: Int) {
        var video = groups.counts.video
        var audio = groups.counts.audio
        for g in groups.groups {
            guard let f1 = g.frames.first else { continue }
            let n = f1.tokenIndices.count
            let k = CompressionBudget.dropCount(n, rhoVideo)
            video -= k
            if g.frames.count > 1 && g.frames[1].tokenIndices.count == n { video -= k }
            let keptVideo = g.videoCount - k * (g.frames.count > 1 && g.frames[1].tokenIndices.count == n ? 2 : 1)
            let la = g.audioIndices.count
            if audioDropped && la > 1 && keptVideo > 0 { audio -= CompressionBudget.dropCount(la, rhoAudio) }
        }
        return (video, audio)
    }

    /// Plans ratios for target retained ratio `target` in (0, 1]. Throws when the layout has no audio or video,
    /// or when no video ratio in [0, 1) comes within half a percentage point of the target (the error gives the
    /// reachable range).
    public static func plan(groups: TokenGroups, targetRetained target: Double, rhoAudio: Double? = nil,
                            audioDropped: Bool = true) throws -> Plan {
        guard target.isFinite, target > 0, target <= 1 else {
            throw OmniSIFTError("--keep \(target) is out of range: the retained ratio must be in (0, 1]")
        }
        let total = groups.counts.audioVideo
        guard total > 0 else { throw OmniSIFTError("--keep \(target): the sequence has no audio or video tokens to compress") }
        let ra = rhoAudio ?? referenceAudioRatio(forRetained: target)
        try CompressionBudget.validate(ra, name: "rho_audio")
        // Candidate video ratios: every j / n at which some group's drop count changes.
        var candidates: Set<Double> = [0]
        for g in groups.groups {
            let n = g.frames.first?.tokenIndices.count ?? 0
            guard n > 0 else { continue }
            for j in 1..<n {
                var r = Double(j) / Double(n)
                while CompressionBudget.dropCount(n, r) < j { r = r.nextUp }
                if r < 1 { candidates.insert(r) }
            }
        }
        var best: (rho: Double, retained: Double, counts: (video: Int, audio: Int))?
        for r in candidates.sorted() {
            let c = keptCounts(groups: groups, rhoVideo: r, rhoAudio: ra, audioDropped: audioDropped)
            let retained = Double(c.video + c.audio) / Double(total)
            if best == nil || abs(retained - target) < abs(best!.retained - target) - 1e-12 {
                best = (r, retained, c)
            }
        }
        let b = best!
        if abs(b.retained - target) > 0.005 {
            let lo = keptCounts(groups: groups, rhoVideo: candidates.max()!, rhoAudio: ra, audioDropped: audioDropped)
            let hi = keptCounts(groups: groups, rhoVideo: 0, rhoAudio: ra, audioDropped: audioDropped)
            let range = (Double(lo.video + lo.audio) / Double(total), Double(hi.video + hi.audio) / Double(total))
            throw OmniSIFTError("--keep \(target) cannot be reached with rho_audio = \(ra): on this layout the retained ratio "
                + "ranges from \(fmt(range.0)) to \(fmt(range.1)) (closest: \(fmt(b.retained)) at rho_video = \(fmt(b.rho)))")
        }
        return Plan(budget: try CompressionBudget(rhoVideo: b.rho, rhoAudio: ra), targetRetained: target,
                    reachedRetained: b.retained, keptVideo: b.counts.video, keptAudio: b.counts.audio,
                    totalVideo: groups.counts.video, totalAudio: groups.counts.audio,
                    audioRatioFromReference: rhoAudio == nil)
    }

    private static func fmt(_ x: Double) -> String {
        let v = (x * 10000).rounded() / 10000
        return "\(v)"
    }
}
