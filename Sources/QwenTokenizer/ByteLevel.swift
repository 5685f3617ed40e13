/// The GPT-2 byte-to-unicode map of byte-level BPE: every byte gets a printable character, so a token's text is a
/// string of these characters. Printable ASCII `!`...`~` and Latin-1 `¡`...`¬`, `®`...`ÿ` map to themselves; the
/// other 68 bytes (controls, space, DEL, NBSP, soft hyphen) map to U+0100 upwards, in byte order.
enum ByteLevel {
    /// Character of each byte.
    static let byteToScalar: [Unicode.Scalar] = {
        var table = [Unicode.Scalar](repeating: "\0", count: 256)
        var next: UInt32 = 256
        for b in 0..<256 {
            let kept = (33...126).contains(b) || (161...172).contains(b) || (174...255).contains(b)
            if kept {
                table[b] = Unicode.Scalar(UInt32(b))!
            } else {
                table[b] = Unicode.Scalar(next)!
                next += 1
            }
        }
        return table
    }()

    /// Byte of a character, or nil when the character is not in the map.
    static func byte(of scalar: Unicode.Scalar) -> UInt8? {
        let v = scalar.value
        if v < 256 {
            let b = Int(v)
            let kept = (33...126).contains(b) || (161...172).contains(b) || (174...255).contains(b)
            return kept ? UInt8(v) : nil
        }
        if v < 256 + 68 { return unmappedBytes[Int(v - 256)] }
        return nil
    }

    /// The bytes that are not kept, in order: character U+0100 + i stands for `unmappedBytes[i]`.
    private static let unmappedBytes: [UInt8] = (0..<256).compactMap { b in
        let kept = (33...126).contains(b) || (161...172).contains(b) || (174...255).contains(b)
        return kept ? nil : UInt8(b)
    }

    /// The bytes a token's text stands for, as the byte-level decoder of `tokenizers` reads it: each character
    /// through the map, or, when some character is not in the map (an added token such as "a b"), the text's own
    /// UTF-8 bytes.
    static func bytes(ofTokenText text: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        for s in text.unicodeScalars {
            guard let b = byte(of: s) else { return Array(text.utf8) }
            out.append(b)
        }
        return out
    }

    /// `bytes(ofTokenText:)` for a text given as UTF-8 (valid: it came from a decoded JSON string or a file that
    /// was checked), without building a String.
    static func bytes(ofTokenUTF8 u: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(u.count)
        var i = 0
        while i < u.count {
            let b0 = u[i]
            if b0 < 0x80 {
                guard (33...126).contains(b0) else { return u }
                out.append(b0)
                i += 1
            } else if b0 >= 0xC2 && b0 < 0xE0 && i + 1 < u.count {
                let v = UInt32(b0 & 0x1F) << 6 | UInt32(u[i + 1] & 0x3F)
                guard let b = byte(of: Unicode.Scalar(v)!) else { return u }
                out.append(b)
                i += 2
            } else {
                return u  // three- and four-byte characters are outside the byte map
            }
        }
        return out
    }

    /// The token text of some bytes (each byte's character).
    static func text(of bytes: some Sequence<UInt8>) -> String {
        var s = String.UnicodeScalarView()
        for b in bytes { s.append(byteToScalar[Int(b)]) }
        return String(s)
    }
}
