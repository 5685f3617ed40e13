import Foundation
import Testing
import OmniTensor
@testable import SafeTensors

@Suite struct RoundTripTests {
    @Test func float32RoundTripWithMetadata() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let path = dir.file("a.safetensors")
        var w = SafeTensorsWriter(metadata: ["format": "pt", "note": "quote \" and \\ and é"])
        let t = Tensor(shape: [2, 3], scalars: [1, -2, 3.5, .infinity, -0.0, 1e-30])
        try w.add("w", t)
        try w.write(to: path)
        let f = try SafeTensorsFile(path: path)
        #expect(f.metadata == ["format": "pt", "note": "quote \" and \\ and é"])
        #expect(try f.floatTensor("w") == t)
        #expect(f.entry("w")?.dtype == .f32)
        #expect(f.entry("w")?.shape == [2, 3])
    }
}
