import Dispatch

/// Runs `body` over `0..<count` split into contiguous ranges, one per BLAS thread, in parallel (plain Swift work
/// between BLAS calls would otherwise run on one core). Ranges shorter than `minChunk` are not split.
public func parallelRanges(_ count: Int, minChunk: Int, _ body: (Range<Int>) -> Void) {
    let workers = min(BLASBackend.shared.threads, max(1, count / max(minChunk, 1)))
    if workers <= 1 {
        body(0..<count)
        return
    }
    let per = (count + workers - 1) / workers
    withoutActuallyEscaping(body) { body in
        let box = UnsafeSendableBox(body)
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            let start = w * per
            let end = min(count, start + per)
            if start < end { box.value(start..<end) }
        }
    }
}
