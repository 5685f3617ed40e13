/// The window layout of one temporal slice of the vision tower (SPEC 8.1): the merged grid (H/m x W/m units of
/// m x m patches) is cut into windows of `unitsPerWindow` x `unitsPerWindow` units (112 px / 28 px = 4), padded
/// right and bottom, windows in raster order and units in raster order inside each; empty windows are dropped.
/// The hidden states run in this window order (in groups of m·m patch rows) through the blocks, and the merged
/// rows are put back in raster order at the end.
public struct VisionSliceWindows: Sendable, Equatable {
    /// Patch rows and columns of the slice (H, W of the grid).
    public let height, width: Int
    /// Spatial merge size m (2).
    public let merge: Int
    /// `unitOrder[j]` = the raster index of the merged unit at window-order position j.
    public let unitOrder: [Int]
    /// Window boundaries in patch rows of the permuted slice: [0, ..., H·W] (cu_window_seqlens of one slice).
    public let boundaries: [Int]

    public init(height: Int, width: Int, merge: Int, unitsPerWindow: Int) {
        precondition(height % merge == 0 && width % merge == 0 && unitsPerWindow > 0,
                     "VisionSliceWindows: grid \(height)x\(width) with merge \(merge), window \(unitsPerWindow)")
        self.height = height
        self.width = width
        self.merge = merge
        let (mh, mw, u) = (height / merge, width / merge, unitsPerWindow)
        var order = [Int]()
        order.reserveCapacity(mh * mw)
        var bounds = [0]
        for wy in 0..<((mh + u - 1) / u) {
            for wx in 0..<((mw + u - 1) / u) {
                var count = 0
                for y in (wy * u)..<min(mh, (wy + 1) * u) {
                    for x in (wx * u)..<min(mw, (wx + 1) * u) {
                        order.append(y * mw + x)
                        count += 1
                    }
                }
                if count > 0 { bounds.append(bounds.last! + count * merge * merge) }
            }
        }
        unitOrder = order
        boundaries = bounds
    }

    /// Patches per merged unit (m·m).
    public var unit: Int { merge * merge }

    /// The slice's patch row (in the input's merge-block order) at permuted row `r`.
    @inline(__always) public func sourceRow(_ r: Int) -> Int { unitOrder[r / unit] * unit + r % unit }

    /// Patch coordinates (row, column) of permuted row `r`, the rotary positions.
    @inline(__always) public func patchPosition(_ r: Int) -> (row: Int, col: Int) {
        let u = unitOrder[r / unit], s = r % unit
        let mw = width / merge
        return ((u / mw) * merge + s / merge, (u % mw) * merge + s % merge)
    }
}
