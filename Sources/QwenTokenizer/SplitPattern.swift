/// The Qwen2 pre-tokenizer regex (SPEC 9), matched by hand on Unicode scalars:
///
///     (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
///
/// with the semantics of the Oniguruma engine `tokenizers` runs it on: alternatives tried in order at each
/// position (leftmost-first), greedy quantifiers with backtracking, `\s` the Unicode White_Space property,
/// `\p{L}` the letter categories (Lu Ll Lt Lm Lo), `\p{N}` the number categories (Nd Nl No), and `(?i)` case
/// folding (so `'s` also matches `'S` and `'ſ`, U+017F). Every position matches some alternative, so the
/// matches (kept "isolated") tile the text.
enum SplitPattern {
    /// Scalar classes.
    static let other: UInt8 = 0
    static let letter: UInt8 = 1
    static let number: UInt8 = 2
    static let space: UInt8 = 3      // White_Space other than CR and LF
    static let newline: UInt8 = 4    // CR or LF

    /// Classes of the Basic Multilingual Plane, computed once.
    private static let bmp: [UInt8] = (0..<0x10000).map { v in
        guard let s = Unicode.Scalar(UInt32(v)) else { return other }  // surrogates never occur in a String
        return computeClass(s)
    }

    static func computeClass(_ s: Unicode.Scalar) -> UInt8 {
        if s == "\r" || s == "\n" { return newline }
        let p = s.properties
        if p.isWhitespace { return space }
        switch p.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return letter
        case .decimalNumber, .letterNumber, .otherNumber: return number
        default: return other
        }
    }

    @inline(__always) static func classOf(_ v: UInt32) -> UInt8 {
        if v < 0x10000 { return bmp[Int(v)] }
        return computeClass(Unicode.Scalar(v)!)
    }

    /// Splits `scalars` (with their classes `cls`) into the regex's matches; calls `emit(start, end)` with scalar
    /// index ranges, in order, covering the whole input.
    static func split(scalars: UnsafeBufferPointer<UInt32>, classes cls: UnsafeBufferPointer<UInt8>,
                      emit: (Int, Int) -> Void) {
        let n = scalars.count
        var i = 0
        while i < n {
            let end = matchEnd(at: i, scalars: scalars, classes: cls, count: n)
            emit(i, end)
            i = end
        }
    }

    @inline(__always) private static func isWS(_ c: UInt8) -> Bool { c == space || c == newline }

    @inline(__always) private static func lower(_ v: UInt32) -> UInt32 {
        // ASCII case folding plus the two non-ASCII characters that fold onto the letters used: U+017F (long s)
        // folds to s; U+212A (Kelvin sign) folds to k, which no alternative uses.
        if v >= 65 && v <= 90 { return v + 32 }
        if v == 0x17F { return 115 }
        return v
    }

    /// End (exclusive) of the match starting at `i`.
    @inline(__always)
    private static func matchEnd(at i: Int, scalars s: UnsafeBufferPointer<UInt32>, classes cls: UnsafeBufferPointer<UInt8>,
                                 count n: Int) -> Int {
        let c = cls[i]
        // 1. contractions
        if s[i] == 39 /* ' */ && i + 1 < n {
            let a = lower(s[i + 1])
            if a == 115 || a == 116 || a == 109 || a == 100 { return i + 2 }          // 's 't 'm 'd
            if i + 2 < n {
                let b = lower(s[i + 2])
                if (a == 114 || a == 118) && b == 101 { return i + 3 }               // 're 've
                if a == 108 && b == 108 { return i + 3 }                              // 'll
            }
        }
        // 2. [^\r\n\p{L}\p{N}]?\p{L}+
        if c == letter {
            var j = i + 1
            while j < n && cls[j] == letter { j += 1 }
            return j
        }
        if c != newline && c != number && i + 1 < n && cls[i + 1] == letter {
            var j = i + 2
            while j < n && cls[j] == letter { j += 1 }
            return j
        }
        // 3. \p{N}
        if c == number { return i + 1 }
        // 4.  ?[^\s\p{L}\p{N}]+[\r\n]*
        var start = -1
        if c == other {
            start = i
        } else if s[i] == 32 && i + 1 < n && cls[i + 1] == other {
            start = i + 1
        }
        if start >= 0 {
            var j = start + 1
            while j < n && cls[j] == other { j += 1 }
            while j < n && cls[j] == newline { j += 1 }
            return j
        }
        // Only whitespace is left here (c is space or newline).
        var j = i + 1
        var lastNewline = c == newline ? i : -1
        while j < n && isWS(cls[j]) {
            if cls[j] == newline { lastNewline = j }
            j += 1
        }
        // 5. \s*[\r\n]+
        if lastNewline >= 0 { return lastNewline + 1 }
        // 6. \s+(?!\S)
        if j == n { return j }
        if j - 1 > i { return j - 1 }
        // 7. \s+
        return j
    }
}
