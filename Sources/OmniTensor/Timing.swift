extension Duration {
    /// The duration in milliseconds, as a Double: the one conversion every stage timing and benchmark uses.
    public var milliseconds: Double {
        let c = components
        return Double(c.seconds) * 1000 + Double(c.attoseconds) / 1e15
    }
}
