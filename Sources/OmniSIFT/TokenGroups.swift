import OmniTensor
import QwenOmni

/// One temporal frame of video: all video tokens sharing one temporal position value, in sequence order.
public struct VideoFrame: Sendable, Equatable {
    /// The temporal (t) position shared by the frame's tokens.
    public let temporalValue: Int64
    /// Sequence indices of the frame's tokens, ascending.
    public let tokenIndices: [Int]

    public init(temporalValue: Int64, tokenIndices: [Int]) {
        self.temporalValue = temporalValue
        self.tokenIndices = tokenIndices
    }
}

/// A group of SPEC 3.1: up to two consecutive frames and the audio tokens whose temporal value lies in
/// `[tStart, tEnd)`. At 2 fps a group is one 2-second chunk (2 frames + 50 audio tokens).
public struct TokenGroup: Sendable, Equatable {
    public let index: Int
    /// Temporal value of the group's first frame.
    public let tStart: Int64
    /// First frame value of the next group, or 1 + the largest temporal value of the sequence for the last group.
    public let tEnd: Int64
    /// The group's frames in temporal order (1 or `framesPerGroup`).
    public let frames: [VideoFrame]
    /// Sequence indices of the group's audio tokens, ascending.
    public let audioIndices: [Int]

    public init(index: Int, tStart: Int64, tEnd: Int64, frames: [VideoFrame], audioIndices: [Int]) {
        self.index = index
        self.tStart = tStart
        self.tEnd = tEnd
        self.frames = frames
        self.audioIndices = audioIndices
    }

    /// All video tokens of the group in sequence order.
    public var videoIndices: [Int] {
        frames.count == 1 ? frames[0].tokenIndices : frames.flatMap(\.tokenIndices).sorted()
    }

    public var videoCount: Int { frames.reduce(0) { $0 + $1.tokenIndices.count } }
}

/// Per-modality token counts; `text` counts text and special tokens together.
public struct ModalityCounts: Sendable, Equatable, Codable {
    public var video = 0
    public var audio = 0
    public var image = 0
    public var text = 0

    public init(video: Int = 0, audio: Int = 0, image: Int = 0, text: Int = 0) {
        self.video = video
        self.audio = audio
        self.image = image
        self.text = text
    }

    /// Counts the modalities of `ids`, optionally only where `mask` is true.
    public init(inputIds ids: [Int64], mask: [Bool]? = nil) {
        for (i, id) in ids.enumerated() where mask?[i] ?? true {
            switch TokenModality.of(tokenId: id) {
            case .video: video += 1
            case .audio: audio += 1
            case .image: image += 1
            case .text, .special: text += 1
            }
        }
    }

    public var total: Int { video + audio + image + text }
    /// Audio + video: the denominator of the retained ratio (SPEC 3.5).
    public var audioVideo: Int { video + audio }
}

/// The frame and group structure of a prefill sequence, derived only from token ids and temporal positions, so it
/// does not depend on how the layout was produced. Shared by OmniSIFT and the baseline compressors.
public struct TokenGroups: Sendable {
    /// Number of tokens in the sequence.
    public let tokenCount: Int
    /// Modality of every token (from its id).
    public let modalities: [TokenModality]
    /// Every video frame (distinct temporal values of video tokens, ascending).
    public let frames: [VideoFrame]
    /// Groups of `framesPerGroup` frames (SPEC 3.1).
    public let groups: [TokenGroup]
    /// Audio tokens that fall in no group (temporal value before the first frame, or no video at all). Always kept.
    public let ungroupedAudioIndices: [Int]
    /// Sequence indices of all audio tokens, ascending.
    public let audioIndices: [Int]
    /// Sequence indices of all video tokens, ascending.
    public let videoIndices: [Int]
    /// Counts per modality.
    public let counts: ModalityCounts
    public let framesPerGroup: Int

    /// Analyses a sequence. `temporalPositions` is row t of the position ids (one value per token).
    public init(inputIds: [Int64], temporalPositions t: [Int64], framesPerGroup: Int = 2) throws {
        guard inputIds.count == t.count else {
            throw OmniSIFTError("token groups: \(inputIds.count) input ids but \(t.count) temporal positions")
        }
        precondition(framesPerGroup >= 1, "TokenGroups: framesPerGroup must be >= 1")
        self.framesPerGroup = framesPerGroup
        tokenCount = inputIds.count
        let modalities = inputIds.map(TokenModality.of(tokenId:))
        self.modalities = modalities
        counts = ModalityCounts(inputIds: inputIds)

        var video: [Int] = []
        var audio: [Int] = []
        for (i, m) in modalities.enumerated() {
            if m == .video { video.append(i) } else if m == .audio { audio.append(i) }
        }
        videoIndices = video
        audioIndices = audio

        // Frames: video tokens grouped by temporal value; a stable sort keeps sequence order inside a frame.
        let byValue = video.sorted { (t[$0], $0) < (t[$1], $1) }
        var frames: [VideoFrame] = []
        var start = 0
        while start < byValue.count {
            let value = t[byValue[start]]
            var end = start
            while end < byValue.count && t[byValue[end]] == value { end += 1 }
            frames.append(VideoFrame(temporalValue: value, tokenIndices: Array(byValue[start..<end])))
            start = end
        }
        self.frames = frames

        guard !frames.isEmpty else {
            groups = []
            ungroupedAudioIndices = audio
            return
        }
        let maxT = t.max() ?? 0
        guard maxT < Int64.max else {
            let i = t.firstIndex(of: maxT)!
            throw OmniSIFTError("token groups: temporal position \(maxT) at token \(i) is Int64.max; the last group's end (1 + the largest value) cannot be represented")
        }
        let lastEnd = maxT + 1
        var starts: [Int64] = []
        var ends: [Int64] = []
        var frameLists: [[VideoFrame]] = []
        var g = 0
        while g < frames.count {
            let chunk = Array(frames[g..<min(g + framesPerGroup, frames.count)])
            starts.append(chunk[0].temporalValue)
            ends.append(g + framesPerGroup < frames.count ? frames[g + framesPerGroup].temporalValue : lastEnd)
            frameLists.append(chunk)
            g += framesPerGroup
        }
        // Audio: binary search of the group whose [tStart, tEnd) holds the token's value.
        var audioPerGroup = [[Int]](repeating: [], count: starts.count)
        var ungrouped: [Int] = []
        for i in audio {
            let v = t[i]
            var lo = 0, hi = starts.count  // first group with start > v
            while lo < hi {
                let mid = (lo + hi) / 2
                if starts[mid] <= v { lo = mid + 1 } else { hi = mid }
            }
            let gi = lo - 1
            if gi >= 0 && v < ends[gi] { audioPerGroup[gi].append(i) } else { ungrouped.append(i) }
        }
        groups = (0..<starts.count).map {
            TokenGroup(index: $0, tStart: starts[$0], tEnd: ends[$0], frames: frameLists[$0], audioIndices: audioPerGroup[$0])
        }
        ungroupedAudioIndices = ungrouped
    }
}
