import CPUKernels
import Foundation

/// Asks for transparent huge pages for `count` floats at `p` when they span at least one 2 MiB page (see
/// `ck_advise_huge_pages`): fresh prefill buffers (MLP intermediates of tens of MB, KV cache) then fault once per
/// 2 MiB instead of once per 4 KiB. Call before the first write.
public func adviseHugePages(_ p: UnsafeMutableRawPointer, count: Int) {
    if count >= 1 << 19 { ck_advise_huge_pages(p, count * MemoryLayout<Float>.stride) }
}

/// `count` uninitialised floats; from 4 MiB on aligned to 2 MiB and advised for huge pages. Free with `deallocate()`.
public func allocateFloats(_ count: Int) -> UnsafeMutablePointer<Float> {
    if count < 1 << 20 { return .allocate(capacity: count) }
    let p = UnsafeMutableRawPointer.allocate(byteCount: count * MemoryLayout<Float>.stride, alignment: 2 << 20)
    adviseHugePages(p, count: count)
    return p.bindMemory(to: Float.self, capacity: count)
}

/// A shared counter that hands out work item numbers 0, 1, 2, ... to parallel workers.
public final class WorkCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    public init() {}
    public func take() -> Int {
        lock.lock()
        defer { lock.unlock() }
        value += 1
        return value - 1
    }
}
