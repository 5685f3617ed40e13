import OmniTensor

/// A 1-D convolution over time-major rows (`[length, inChannels]` in, `[outLength, outChannels]` out) with zero
/// padding at both ends of every sequence, as one GEMM over im2col rows: the weight is held as `[out, kernel, in]`
/// (PyTorch's `[out, in, kernel]` reordered at load), so an im2col row is just `kernel` consecutive input rows.
/// Several independent sequences (the audio tower's windows) are packed into the same GEMMs.
public struct Conv1DLayer: Sendable {
    /// Weight `[out, kernel · in]` in (tap, channel) order, and the bias.
    public let linear: Linear
    public let inChannels, kernel, stride, padding: Int

    public init(linear: Linear, inChannels: Int, kernel: Int, stride: Int, padding: Int) {
        precondition(linear.inFeatures == inChannels * kernel, "Conv1DLayer: weight \(linear.inFeatures) columns for \(inChannels) x \(kernel)")
        self.linear = linear
        self.inChannels = inChannels
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
    }

    public var outChannels: Int { linear.outFeatures }

    /// Output frames for `length` input frames (PyTorch's formula).
    public func outputLength(_ length: Int) -> Int { (length + 2 * padding - kernel) / stride + 1 }

    /// Convolves each sequence `(start, length)` of `input` (rows of `inChannels`) into consecutive output rows
    /// (rows of `outChannels`), sequence after sequence. im2col buffers are filled for at most `chunkRows` output
    /// rows at a time.
    public func apply(_ input: UnsafePointer<Float>, sequences: [(start: Int, length: Int)],
                      into out: UnsafeMutablePointer<Float>, chunkRows: Int = 1024) {
        let width = kernel * inChannels
        // (input start, input length, output row in the sequence) of every output row, chunk by chunk.
        var jobs = [(seqStart: Int, seqLength: Int, t: Int)]()
        for s in sequences { for t in 0..<outputLength(s.length) { jobs.append((s.start, s.length, t)) } }
        let cols = UnsafeMutablePointer<Float>.allocate(capacity: max(1, min(chunkRows, jobs.count)) * width)
        defer { cols.deallocate() }
        var r0 = 0
        while r0 < jobs.count {
            let m = min(chunkRows, jobs.count - r0)
            let args = UnsafeSendableBox((input, cols))
            let (c, k, st, pad) = (inChannels, kernel, stride, padding)
            parallelRanges(m, minChunk: 16) { rows in
                let (input, cols) = args.value
                for i in rows {
                    let job = jobs[r0 + i]
                    let dst = cols + i * width
                    for tap in 0..<k {
                        let src = job.t * st - pad + tap
                        if src >= 0 && src < job.seqLength {
                            (dst + tap * c).update(from: input + (job.seqStart + src) * c, count: c)
                        } else {
                            (dst + tap * c).update(repeating: 0, count: c)
                        }
                    }
                }
            }
            linear.apply(cols, n: m, into: out + r0 * outChannels, ldOut: outChannels)
            r0 += m
        }
    }
}
