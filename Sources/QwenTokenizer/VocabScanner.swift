/// A byte-level reader for the two big members of a tokenizer file, the vocabulary object (`{"token": id, ...}`)
/// and the merges array (`["a b", ...]` or `[["a", "b"], ...]`), and for finding them in `tokenizer.json`.
/// Everything else of the file is small and goes through `JSONDecoder`; these hold 151k entries each, which
/// `JSONDecoder` and `String`-keyed dictionaries take seconds to build. Token texts are turned straight into
/// the bytes they stand for (`ByteLevel`).
struct VocabScanner {
    let b: UnsafeBufferPointer<UInt8>
    var i = 0
    /// Names the file in errors.
    let file: String

    init(_ bytes: UnsafeBufferPointer<UInt8>, file: String) {
        b = bytes
        self.file = file
    }

    func fail(_ field: String, _ what: String) -> TokenizerError {
        TokenizerError("\(file): \(field): \(what) (byte \(i))")
    }

    mutating func skipWhitespace() {
        while i < b.count, b[i] == 0x20 || b[i] == 0x0A || b[i] == 0x0D || b[i] == 0x09 { i += 1 }
    }

    mutating func expect(_ c: UInt8, _ field: String) throws {
        skipWhitespace()
        guard i < b.count, b[i] == c else {
            throw fail(field, "expected '\(Character(Unicode.Scalar(c)))', found \(i < b.count ? "'\(Character(Unicode.Scalar(b[i])))'" : "the end of the file")")
        }
        i += 1
    }

    /// Peeks the next non-space byte.
    mutating func peek() -> UInt8? {
        skipWhitespace()
        return i < b.count ? b[i] : nil
    }

    /// A JSON string, as its UTF-8 bytes (escapes decoded).
    mutating func string(_ field: String) throws -> [UInt8] {
        try expect(0x22, field)
        var out: [UInt8] = []
        while i < b.count {
            let c = b[i]
            if c == 0x22 { i += 1; return out }
            if c == 0x5C {
                i += 1
                guard i < b.count else { break }
                let e = b[i]
                i += 1
                switch e {
                case 0x22, 0x5C, 0x2F: out.append(e)
                case 0x62: out.append(0x08)
                case 0x66: out.append(0x0C)
                case 0x6E: out.append(0x0A)
                case 0x72: out.append(0x0D)
                case 0x74: out.append(0x09)
                case 0x75:
                    var v = try hex4(field)
                    if (0xD800...0xDBFF).contains(v) {
                        guard i + 1 < b.count, b[i] == 0x5C, b[i + 1] == 0x75 else { throw fail(field, "unpaired surrogate \\u\(String(v, radix: 16))") }
                        i += 2
                        let lo = try hex4(field)
                        guard (0xDC00...0xDFFF).contains(lo) else { throw fail(field, "unpaired surrogate \\u\(String(v, radix: 16))") }
                        v = 0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00)
                    } else if (0xDC00...0xDFFF).contains(v) {
                        throw fail(field, "unpaired surrogate \\u\(String(v, radix: 16))")
                    }
                    out.append(contentsOf: String(Unicode.Scalar(v)!).utf8)
                default: throw fail(field, "bad escape \\\(Character(Unicode.Scalar(e)))")
                }
            } else {
                if c < 0x20 { throw fail(field, "control character 0x\(String(c, radix: 16)) in a string") }
                out.append(c)
                i += 1
            }
        }
        throw fail(field, "unterminated string")
    }

    private mutating func hex4(_ field: String) throws -> UInt32 {
        guard i + 4 <= b.count else { throw fail(field, "truncated \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = b[i]
            let d: UInt32
            switch c {
            case 0x30...0x39: d = UInt32(c - 0x30)
            case 0x41...0x46: d = UInt32(c - 0x41 + 10)
            case 0x61...0x66: d = UInt32(c - 0x61 + 10)
            default: throw fail(field, "bad hex digit in a \\u escape")
            }
            v = v * 16 + d
            i += 1
        }
        return v
    }

    /// A non-negative integer.
    mutating func id(_ field: String) throws -> Int {
        skipWhitespace()
        var v = 0
        let start = i
        while i < b.count, (0x30...0x39).contains(b[i]) {
            v = v * 10 + Int(b[i] - 0x30)
            if v > Int(Int32.max) { throw fail(field, "id is too large") }
            i += 1
        }
        if i == start || (i < b.count && (b[i] == 0x2E || b[i] == 0x65 || b[i] == 0x45)) {
            throw fail(field, "expected a non-negative integer id")
        }
        return v
    }

    /// Skips any JSON value (nesting bounded).
    mutating func skipValue(_ field: String, depth: Int = 0) throws {
        guard depth < 128 else { throw fail(field, "nested too deeply") }
        switch peek() {
        case 0x22: _ = try string(field)
        case 0x7B:
            i += 1
            if peek() == 0x7D { i += 1; return }
            while true {
                _ = try string(field)
                try expect(0x3A, field)
                try skipValue(field, depth: depth + 1)
                if peek() == 0x2C { i += 1; continue }
                try expect(0x7D, field)
                return
            }
        case 0x5B:
            i += 1
            if peek() == 0x5D { i += 1; return }
            while true {
                try skipValue(field, depth: depth + 1)
                if peek() == 0x2C { i += 1; continue }
                try expect(0x5D, field)
                return
            }
        case nil: throw fail(field, "unexpected end of the file")
        default:
            // number, true, false, null
            let start = i
            while i < b.count, !(b[i] == 0x2C || b[i] == 0x7D || b[i] == 0x5D || b[i] == 0x20 || b[i] == 0x0A
                                  || b[i] == 0x0D || b[i] == 0x09) { i += 1 }
            if i == start { throw fail(field, "expected a value") }
        }
    }

    /// Calls `member(key)` for each member of an object; `member` must consume the value.
    mutating func object(_ field: String, member: (inout VocabScanner, [UInt8]) throws -> Void) throws {
        try expect(0x7B, field)
        if peek() == 0x7D { i += 1; return }
        while true {
            let key = try string(field)
            try expect(0x3A, field)
            try member(&self, key)
            if peek() == 0x2C { i += 1; continue }
            try expect(0x7D, field)
            return
        }
    }

    /// The vocabulary object: (token bytes, id) per entry.
    mutating func vocab(_ field: String) throws -> [(bytes: [UInt8], id: Int)] {
        var out: [(bytes: [UInt8], id: Int)] = []
        out.reserveCapacity(160_000)
        try object(field) { s, key in
            let id = try s.id("\(field)[\"\(String(decoding: key, as: UTF8.self))\"]")
            out.append((ByteLevel.bytes(ofTokenUTF8: key), id))
        }
        return out
    }

    /// The merges array: pairs of token bytes.
    mutating func merges(_ field: String) throws -> [([UInt8], [UInt8])] {
        var out: [([UInt8], [UInt8])] = []
        out.reserveCapacity(160_000)
        try expect(0x5B, field)
        if peek() == 0x5D { i += 1; return out }
        while true {
            let f = "\(field)[\(out.count)]"
            if peek() == 0x5B {
                i += 1
                let a = try string(f)
                try expect(0x2C, f)
                let c = try string(f)
                try expect(0x5D, f)
                out.append((ByteLevel.bytes(ofTokenUTF8: a), ByteLevel.bytes(ofTokenUTF8: c)))
            } else if peek() == 0x22 {
                let s = try string(f)
                guard let pair = Self.splitMerge(s) else {
                    throw fail(f, "expected \"a b\" (two tokens and one space), got \"\(String(decoding: s.prefix(60), as: UTF8.self))\"")
                }
                out.append(pair)
            } else {
                throw fail(f, "expected [\"a\", \"b\"] or \"a b\"")
            }
            if peek() == 0x2C { i += 1; continue }
            try expect(0x5D, field)
            return out
        }
    }

    /// "a b" (UTF-8 token texts) -> the two tokens' bytes; nil unless exactly one space splits two non-empty texts.
    static func splitMerge(_ s: some Collection<UInt8>) -> ([UInt8], [UInt8])? {
        guard let space = s.firstIndex(of: 0x20) else { return nil }
        let a = s[s.startIndex..<space], c = s[s.index(after: space)...]
        guard !a.isEmpty, !c.isEmpty, !c.contains(0x20) else { return nil }
        return (ByteLevel.bytes(ofTokenUTF8: Array(a)), ByteLevel.bytes(ofTokenUTF8: Array(c)))
    }
}
