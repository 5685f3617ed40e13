/// The prediction of a raw answer (SPEC 11): a leading "X", "X.", "X:", "X)" or "(X)"; otherwise the first option
/// letter found standing alone (not inside a word). Letters are upper case only: a lower-case "a" is the English
/// article far more often than an option, so "a" alone gives no prediction (as VideoMME's extractor does).
/// Only the item's option letters count ("E" is no prediction for an A-D item).
///
///     "B" -> B, "B." -> B, "(C) because ..." -> C, "The answer is D" -> D, "a" -> nil, "none" -> nil
public enum AnswerParser {
    public static func prediction(_ raw: String, letters: [Character] = EvalItemParser.allLetters) -> Character? {
        let s = Array(raw.unicodeScalars)
        func isLetterOrDigit(_ i: Int) -> Bool {
            i >= 0 && i < s.count && (s[i].properties.isAlphabetic || ("0"..."9").contains(s[i]))
        }
        func option(_ i: Int) -> Character? {
            guard i >= 0, i < s.count else { return nil }
            let c = Character(s[i])
            return letters.contains(c) ? c : nil
        }
        // Leading form, after white space: X | X. | X: | X) | (X) followed by the end or a non-letter.
        var i = 0
        while i < s.count && s[i].properties.isWhitespace { i += 1 }
        let open = i < s.count && s[i] == "("
        let li = open ? i + 1 : i
        if let c = option(li), !isLetterOrDigit(li + 1) {
            if !open || (li + 1 < s.count && s[li + 1] == ")") { return c }
        }
        // First standalone option letter anywhere.
        for k in 0..<s.count where !isLetterOrDigit(k - 1) && !isLetterOrDigit(k + 1) {
            if let c = option(k) { return c }
        }
        return nil
    }
}
