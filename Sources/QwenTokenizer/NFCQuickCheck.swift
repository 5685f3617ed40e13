import Foundation

/// Which scalars can make a text change under NFC: a text without any of them is already NFC, so only text with
/// one goes through Foundation's normalisation. A scalar is flagged when it
/// - has a non-zero canonical combining class (it may reorder or compose with what precedes it),
/// - is a starter that composes with a preceding starter (the "Maybe" starters of NFC_Quick_Check: Indic vowel
///   signs such as U+0BBE, Hangul medial vowels U+1161-U+1175 and final consonants U+11A8-U+11C2), or
/// - is not itself NFC (NFC_Quick_Check = No: singletons such as U+2126 OHM SIGN, CJK compatibility ideographs),
///   found by normalising the scalar alone with Foundation once.
/// Outside the Basic Multilingual Plane only the emoji and CJK extension blocks are taken as unflagged; every
/// other supplementary scalar is flagged (normalised), which is slower but never wrong.
enum NFCQuickCheck {
    /// The starters (combining class 0) that compose with a preceding starter, from the Unicode data (primary
    /// composites whose second part is a starter), besides the Hangul jamo ranges.
    static let composingStarters: Set<UInt32> = [
        0x09BE, 0x09D7, 0x0B3E, 0x0B56, 0x0B57, 0x0BBE, 0x0BD7, 0x0CC2, 0x0CD5, 0x0CD6, 0x0D3E, 0x0D57, 0x0DCF,
        0x0DDF, 0x102E, 0x1B35, 0x11127, 0x1133E, 0x11357, 0x114B0, 0x114BA, 0x114BD, 0x115AF, 0x11930,
    ]

    private static let bmp: [Bool] = {
        var table = [Bool](repeating: false, count: 0x10000)
        for v in 0x300..<0x10000 {
            // CJK unified ideographs and Hangul syllables: starters, NFC, composing with nothing that follows
            // except through a flagged scalar
            if (0x4E00...0x9FFF).contains(v) || (0xAC00...0xD7A3).contains(v) { continue }
            guard let s = Unicode.Scalar(UInt32(v)) else { continue }
            table[v] = flagged(s)
        }
        return table
    }()

    private static func flagged(_ s: Unicode.Scalar) -> Bool {
        let v = s.value
        if s.properties.canonicalCombiningClass.rawValue != 0 { return true }
        if composingStarters.contains(v) || (0x1161...0x1175).contains(v) || (0x11A8...0x11C2).contains(v) { return true }
        let alone = String(String.UnicodeScalarView([s]))
        let n = alone.precomposedStringWithCanonicalMapping.unicodeScalars
        return !(n.count == 1 && n.first == s)
    }

    @inline(__always) static func isFlagged(_ v: UInt32) -> Bool {
        if v < 0x300 { return false }
        if v < 0x10000 { return bmp[Int(v)] }
        // emoji blocks and CJK extensions B-H (the compatibility ideographs U+2F800-U+2FA1F are not NFC)
        if (0x1F000...0x1FAFF).contains(v) { return false }
        if (0x20000...0x3FFFF).contains(v) && !(0x2F800...0x2FA1F).contains(v) { return false }
        return true
    }
}
