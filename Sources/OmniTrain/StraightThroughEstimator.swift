/// The straight-through estimator of SPEC 3.4: the kept audio rows enter the LLM multiplied by
/// `m~ = m + (s - stopgrad(s))`, whose value is exactly `m` = 1 in Float32 (s - s is exactly 0), and whose gradient
/// with respect to the score is the gradient of the row: `dL/ds_i = <dL/de'_i, e_i>`. Dropped tokens leave the
/// sequence and get no gradient; the hard top-k itself is not differentiated.
public enum StraightThroughEstimator {
    /// The forward multiplier of a kept token with score `s`: `1 + (s - s)`, exactly 1 for every finite s.
    @inline(__always) public static func multiplier(score s: Float) -> Float { 1 + (s - s) }

    /// `<dL/de'_i, e_i>` for one kept row of width `d`.
    @inline(__always)
    public static func scoreGradient(rowGradient: UnsafePointer<Float>, row: UnsafePointer<Float>, d: Int) -> Float {
        TrainOps.dot(rowGradient, row, d)
    }
}
