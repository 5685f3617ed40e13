/// A tokenizer folder or input that cannot be used: the message names the file, the JSON path of the field and
/// the numbers (e.g. `tokenizer.json: model.type is "WordPiece"; only "BPE" is implemented`).
public struct TokenizerError: Error, CustomStringConvertible, Equatable, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
