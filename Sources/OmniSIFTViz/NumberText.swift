extension String {
    /// `value` with a fixed number of decimals, without Foundation's locale-dependent formatting.
    public init(_ value: Double, decimals: Int) {
        guard value.isFinite else { self = "\(value)"; return }
        var p = 1.0
        for _ in 0..<decimals { p *= 10 }
        let r = (abs(value) * p).rounded()
        let whole = Int(r / p)
        let frac = Int(r - Double(whole) * p)
        var s = (value < 0 && r != 0 ? "-" : "") + String(whole)
        if decimals > 0 {
            let f = String(frac)
            s += "." + String(repeating: "0", count: decimals - f.count) + f
        }
        self = s
    }

    public init(_ value: Float, decimals: Int) { self.init(Double(value), decimals: decimals) }
}
