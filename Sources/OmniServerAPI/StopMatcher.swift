/// The `stop` sequences on streamed text: `feed` returns the text that can be sent now, holding back a tail that
/// could still begin a stop sequence; once one matches, the text before it is released and the rest dropped.
public struct StopMatcher: Sendable {
    public let stops: [String]
    private var pending = ""
    public private(set) var matched = false

    public init(stops: [String]) { self.stops = stops.filter { !$0.isEmpty } }

    /// The text safe to emit after appending `piece` (empty after a match).
    public mutating func feed(_ piece: String) -> String {
        if matched { return "" }
        if stops.isEmpty { return piece }
        pending += piece
        // the stop sequence that completes first ends the text (as if the text had come one character at a time)
        var first: Range<String.Index>?
        for s in stops {
            if let r = pending.range(of: s) {
                if first == nil || r.upperBound < first!.upperBound
                    || (r.upperBound == first!.upperBound && r.lowerBound < first!.lowerBound) { first = r }
            }
        }
        if let cut = first?.lowerBound {
            matched = true
            let out = String(pending[..<cut])
            pending = ""
            return out
        }
        // hold back the longest suffix that is a prefix of a stop sequence
        var hold = 0
        let chars = Array(pending)
        for s in stops {
            let sc = Array(s)
            var k = min(sc.count - 1, chars.count)
            while k > hold {
                if Array(chars[(chars.count - k)...]) == Array(sc[..<k]) { hold = k; break }
                k -= 1
            }
        }
        let out = String(chars[..<(chars.count - hold)])
        pending = String(chars[(chars.count - hold)...])
        return out
    }

    /// What is still held back when the generation ends without a match.
    public mutating func finish() -> String {
        if matched { return "" }
        let out = pending
        pending = ""
        return out
    }
}
