/// Index of the first NaN or infinite value, or nil. One memory-bound pass in SIMD lanes (NaN and inf turn
/// `x * 0` into NaN); the element search only runs when one was found. The one check every reader of embeddings
/// and weights uses.
public func firstNonFinite(_ values: [Float]) -> Int? {
    let found = values.withUnsafeBufferPointer { b -> Bool in
        guard let base = b.baseAddress else { return false }
        var acc = SIMD16<Float>(repeating: 0)
        var i = 0
        while i + 16 <= b.count {
            acc += UnsafeRawPointer(base + i).loadUnaligned(as: SIMD16<Float>.self) * 0
            i += 16
        }
        var tail: Float = 0
        while i < b.count { tail += b[i] * 0; i += 1 }
        return (acc.sum() + tail).isNaN
    }
    return found ? values.firstIndex(where: { !$0.isFinite }) : nil
}
