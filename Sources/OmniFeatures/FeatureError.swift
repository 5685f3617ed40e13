/// Why preprocessing refused its input: names what was wrong and the numbers.
public struct FeatureError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
