/// Wall time of one stage of a compression.
public struct StageTiming: Sendable, Equatable, Codable {
    public let stage: String
    public let milliseconds: Double
    public init(stage: String, milliseconds: Double) {
        self.stage = stage
        self.milliseconds = milliseconds
    }
}
