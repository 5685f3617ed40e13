import Foundation

/// The one JSON printer of the CLI: every `--json` report is an `Encodable` value printed pretty, with sorted keys
/// (`compact`: one line, slashes unescaped, for `inspect`'s possibly long listings).
enum JSONOutput {
    static func string<T: Encodable>(_ value: T, compact: Bool = false) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = compact ? [.sortedKeys, .withoutEscapingSlashes] : [.prettyPrinted, .sortedKeys]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    /// Prints `value` as JSON on stdout.
    static func print<T: Encodable>(_ value: T) throws {
        Swift.print(try string(value))
    }
}
