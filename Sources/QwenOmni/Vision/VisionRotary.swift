import Foundation

/// The vision tower's 2-D rotary embedding (SPEC 8.1): with q = head_dim / 4 frequencies inv[k] = 1 / θ^(2k /
/// (head_dim/2)) (θ = 10000), a patch at (row, col) turns frequency pair j of the first half by row · inv[j] for
/// j < q and by col · inv[j - q] for q <= j < 2q; rotate-half over head_dim splits (head_dim/2) | (head_dim/2).
/// Products in Float32 as PyTorch forms them; cos and sin in Double, rounded.
struct VisionRotary {
    let headDim: Int
    let invFreq: [Float]
    static let theta: Float = 10000

    init(headDim: Int) {
        self.headDim = headDim
        let half = headDim / 2
        invFreq = (0..<(headDim / 4)).map { k in
            1 / powf(Self.theta, Float(2 * k) / Float(half))
        }
    }

    /// Half the head dimension: the cos / sin values per row.
    var half: Int { headDim / 2 }

    /// Writes row i's cos and sin (`half` values each) for the patch positions `positions(i)`, i < rows.
    func fill(rows: Int, cos cosT: UnsafeMutablePointer<Float>, sin sinT: UnsafeMutablePointer<Float>,
              positions: (Int) -> (row: Int, col: Int)) {
        let q = invFreq.count, half = self.half
        for i in 0..<rows {
            let p = positions(i)
            for j in 0..<q {
                let a = Float(p.row) * invFreq[j], b = Float(p.col) * invFreq[j]
                cosT[i * half + j] = Float(Foundation.cos(Double(a)))
                sinT[i * half + j] = Float(Foundation.sin(Double(a)))
                cosT[i * half + q + j] = Float(Foundation.cos(Double(b)))
                sinT[i * half + q + j] = Float(Foundation.sin(Double(b)))
            }
        }
    }
}
