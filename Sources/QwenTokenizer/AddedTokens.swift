/// One added token (special or not) of a tokenizer folder.
public struct AddedToken: Sendable, Equatable {
    public var id: Int
    public var content: String
    /// Special tokens are dropped by `decode(skipSpecialTokens: true)`.
    public var special: Bool

    public init(id: Int, content: String, special: Bool) {
        self.id = id
        self.content = content
        self.special = special
    }
}

/// Finds added tokens in raw text, leftmost first and, at one position, longest first (the Aho-Corasick
/// leftmost-longest rule of `tokenizers`). Works on UTF-8 bytes; a token can only start where its first byte is.
struct AddedTokenMatcher: Sendable {
    private let tokens: [(bytes: [UInt8], id: Int32)]
    /// Per first byte, the indexes into `tokens`, longest first.
    private let byFirstByte: [[Int]]

    init(_ added: [AddedToken]) {
        let list = added.filter { !$0.content.isEmpty }.map { (bytes: Array($0.content.utf8), id: Int32($0.id)) }
        var table = [[Int]](repeating: [], count: 256)
        for (i, t) in list.enumerated() { table[Int(t.bytes[0])].append(i) }
        for b in 0..<256 { table[b].sort { list[$0].bytes.count > list[$1].bytes.count } }
        tokens = list
        byFirstByte = table
    }

    var isEmpty: Bool { tokens.isEmpty }

    /// Calls `text(range)` for each stretch without added tokens and `token(id)` for each added token, in order.
    func split(_ bytes: UnsafeBufferPointer<UInt8>, text: (Range<Int>) -> Void, token: (Int32) -> Void) {
        let n = bytes.count
        var start = 0
        var i = 0
        outer: while i < n {
            let candidates = byFirstByte[Int(bytes[i])]
            if !candidates.isEmpty {
                for c in candidates {
                    let t = tokens[c].bytes
                    if i + t.count <= n && t.withUnsafeBufferPointer({ tp in
                        var k = 1
                        while k < tp.count && tp[k] == bytes[i + k] { k += 1 }
                        return k == tp.count
                    }) {
                        if start < i { text(start..<i) }
                        token(tokens[c].id)
                        i += t.count
                        start = i
                        continue outer
                    }
                }
            }
            i += 1
        }
        if start < n { text(start..<n) }
    }
}
