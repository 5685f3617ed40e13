/// The fractions of video and audio tokens a compressor REMOVES (SPEC 3.5), each in [0, 1).
public struct CompressionBudget: Sendable, Equatable, Codable {
    public let rhoVideo: Double
    public let rhoAudio: Double

    /// The reference defaults (0.7, 0.3): about 34 % of the audio-video tokens retained.
    public static let referenceDefault = try! CompressionBudget(rhoVideo: 0.7, rhoAudio: 0.3)

    /// Validates both ratios to [0, 1) and throws an error naming the bad one otherwise.
    public init(rhoVideo: Double, rhoAudio: Double) throws {
        try Self.validate(rhoVideo, name: "rho_video")
        try Self.validate(rhoAudio, name: "rho_audio")
        self.rhoVideo = rhoVideo
        self.rhoAudio = rhoAudio
    }

    public static func validate(_ rho: Double, name: String) throws {
        guard rho.isFinite, rho >= 0, rho < 1 else {
            throw OmniSIFTError("\(name) = \(rho) is out of range: it is the fraction of tokens removed and must be in [0, 1)")
        }
    }

    /// Tokens dropped out of `n` at ratio `rho`, exactly as the reference computes it: `Int(Double(n) * rho)`
    /// (so 90 x 0.7 gives 62, not 63).
    public static func dropCount(_ n: Int, _ rho: Double) -> Int { Int(Double(n) * rho) }
}
