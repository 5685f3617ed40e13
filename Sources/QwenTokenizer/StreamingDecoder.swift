/// Streaming detokenisation: feed ids one at a time and get the text that is complete so far. Bytes that end in
/// the middle of a UTF-8 sequence are held until the sequence completes (or turns out ill-formed), so a streamed
/// answer never prints a broken character; the pieces concatenated equal `decode` of all the ids.
public struct StreamingDecoder: Sendable {
    public let tokenizer: QwenTokenizer
    public let skipSpecialTokens: Bool
    /// When true, ids that are not tokens are skipped (as `tokenizers` does); when false `append` throws.
    public let skipUnknown: Bool
    private var pending: [UInt8] = []

    public init(tokenizer: QwenTokenizer, skipSpecialTokens: Bool = false, skipUnknown: Bool = false) {
        self.tokenizer = tokenizer
        self.skipSpecialTokens = skipSpecialTokens
        self.skipUnknown = skipUnknown
    }

    /// Adds one id; returns the text that became complete (possibly empty).
    public mutating func append(_ id: Int) throws -> String {
        if !tokenizer.contains(id) {
            if skipUnknown { return "" }
            throw TokenizerError("id \(id) is not a token of this tokenizer (ids 0..<\(tokenizer.vocabularySize))")
        }
        if skipSpecialTokens && tokenizer.isSpecial(id) { return "" }
        tokenizer.appendBytes(of: id, to: &pending)
        let keep = Self.incompleteSuffixLength(pending)
        let ready = pending.count - keep
        if ready == 0 { return "" }
        let text = String(decoding: pending[..<ready], as: UTF8.self)
        pending.removeFirst(ready)
        return text
    }

    /// The rest: held bytes of an unfinished sequence, as U+FFFD.
    public mutating func finish() -> String {
        defer { pending.removeAll() }
        return String(decoding: pending, as: UTF8.self)
    }

    /// Length of the trailing bytes that form a proper prefix of a well-formed UTF-8 sequence (0 to 3): those
    /// bytes may still become a character. Anything before them decodes the same whatever comes next.
    static func incompleteSuffixLength(_ b: [UInt8]) -> Int {
        let n = b.count
        var k = 1
        while k <= min(3, n) {
            let lead = b[n - k]
            if lead & 0xC0 == 0x80 { k += 1; continue }   // continuation byte: look further back
            let need: Int
            switch lead {
            case 0xC2...0xDF: need = 2
            case 0xE0...0xEF: need = 3
            case 0xF0...0xF4: need = 4
            default: return 0                              // ASCII or a byte that never starts a sequence
            }
            guard k < need else { return 0 }               // complete (or too long): nothing to hold
            // the continuation bytes present must be valid for this lead (second-byte ranges of E0, ED, F0, F4)
            if k >= 2 {
                let second = b[n - k + 1]
                let ok: Bool
                switch lead {
                case 0xE0: ok = (0xA0...0xBF).contains(second)
                case 0xED: ok = (0x80...0x9F).contains(second)
                case 0xF0: ok = (0x90...0xBF).contains(second)
                case 0xF4: ok = (0x80...0x8F).contains(second)
                default: ok = true
                }
                if !ok { return 0 }
            }
            return k
        }
        return 0
    }
}
