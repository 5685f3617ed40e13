import Testing
@testable import OmniSIFTViz

/// Positions read from a file may hold any Int64: the mosaic layout reports them instead of trapping.
struct BadInputTests {
    @Test("a frame whose heights span Int64.min...Int64.max is an error, not an overflow trap")
    func extremeSpans() throws {
        let t: [Int64] = [5, 5, 5, 5]
        let isVideo = [true, true, true, true], isAudio = [false, false, false, false], keep = [true, false, true, true]
        let ok: [Int64] = [0, 0, 1, 1], okW: [Int64] = [0, 1, 0, 1]
        let chunks = try MaskMosaic.chunks(temporal: t, height: ok, width: okW, isVideo: isVideo, isAudio: isAudio, keep: keep)
        #expect(chunks.first?.frames.first?.keptCount == 3)
        for (h, w) in [([Int64.min, 0, Int64.max, 1], okW), (ok, [0, Int64.max, Int64.min, 1]),
                       ([0, 0, 4096, 4096], okW)] {
            let error = #expect(throws: MosaicError.self) {
                try MaskMosaic.chunks(temporal: t, height: h, width: w, isVideo: isVideo, isAudio: isAudio, keep: keep)
            }
            #expect(error?.description.contains("more than 4096 grid cells on a side") == true, "\(String(describing: error))")
        }
        // A span of exactly 4096 cells (4095 apart) is still drawn.
        _ = try MaskMosaic.chunks(temporal: t, height: [0, 0, 4095, 4095], width: okW, isVideo: isVideo,
                                  isAudio: isAudio, keep: keep)
    }
}
