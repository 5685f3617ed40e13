import CPUKernels
import OmniTensor

/// GELU (exact erf form, `ck_gelu_erf`) in place over `count` values, split over the BLAS threads: the audio
/// tower's convolutions and FFN, the vision merger (SPEC 8).
public func geluInPlace(_ x: UnsafeMutablePointer<Float>, count: Int) {
    let box = UnsafeSendableBox(x)
    parallelRanges(count, minChunk: 1 << 15) { r in
        ck_gelu_erf(box.value + r.lowerBound, r.count)
    }
}
