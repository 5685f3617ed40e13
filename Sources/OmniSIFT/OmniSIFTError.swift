/// An error from the compressors: bad ratios, shapes, counts or selector files. The message names the item and
/// the numbers.
public struct OmniSIFTError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
