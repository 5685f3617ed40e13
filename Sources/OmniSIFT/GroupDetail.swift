/// What a compressor did to one group (SPEC 3.1), for reports and tests. Indices are sequence indices.
public struct GroupDetail: Sendable, Equatable {
    public let index: Int
    public let tStart: Int64
    public let tEnd: Int64
    /// Token count of each frame of the group.
    public let frameSizes: [Int]
    /// Video tokens dropped (F1 spatial first, then F2 temporal; each best-scored first).
    public var droppedVideo: [Int]
    /// STVP spatial score (cosine to the frame mean) of each F1 token, when computed.
    public var spatialScores: [Float]?
    /// STVP temporal score (cosine to the same patch of F1) of each F2 token, when computed.
    public var temporalScores: [Float]?
    /// The group's audio tokens.
    public let audioIndices: [Int]
    /// Selector (or fallback) score of each audio token of the group, when one ran.
    public var audioScores: [Float]?
    /// Audio tokens dropped, ascending.
    public var droppedAudio: [Int]

    public init(group: TokenGroup) {
        index = group.index
        tStart = group.tStart
        tEnd = group.tEnd
        frameSizes = group.frames.map(\.tokenIndices.count)
        droppedVideo = []
        audioIndices = group.audioIndices
        droppedAudio = []
    }
}
