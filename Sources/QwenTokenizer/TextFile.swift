import Foundation

/// Text files the tokenizer commands read (`tokenize --file`, `bench tokenize --text-file`): UTF-8 only.
public enum TextFile {
    /// The text of a UTF-8 file; invalid UTF-8 is an error naming the byte offset and the bad bytes.
    public static func readUTF8(_ path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TokenizerError("\(path): cannot read the file")
        }
        var offset = 0
        var parser = Unicode.UTF8.ForwardParser()
        var it = data.makeIterator()
        while true {
            switch parser.parseScalar(from: &it) {
            case .valid(let s): offset += s.count
            case .emptyInput: return String(decoding: data, as: UTF8.self)
            case .error(let length):
                let bad = data[data.startIndex + offset ..< data.startIndex + offset + length].map { String(format: "0x%02X", $0) }
                throw TokenizerError("\(path): not valid UTF-8 at byte \(offset) (\(bad.joined(separator: " ")))")
            }
        }
    }
}
