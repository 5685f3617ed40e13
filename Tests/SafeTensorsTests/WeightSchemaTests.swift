import Foundation
import OmniTensor
import Testing
@testable import SafeTensors

/// The strict weight schema: every missing, unused, mis-shaped and mis-typed key in one error, from the header alone.
@Suite struct WeightSchemaTests {
    static let schema = WeightSchema(
        subject: "tower weights", against: "the config", prefix: "m.",
        specs: [.init("a.weight", [4, 3]), .init("a.bias", [4]), .init("b.weight", [2, 4]), .init("ids", [2], dtypes: [.i64])])

    @Test func everyProblemIsListedBeforeAnyDataIsRead() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        var w = SafeTensorsWriter()
        try w.add("m.a.weight", Tensor.zeros([4, 3]))         // fine
        try w.add("m.b.weight", Tensor.zeros([4, 2]))         // transposed
        try w.add("m.ids", Tensor.zeros([2]))                 // F32 where I64 is required
        try w.add("m.extra", Tensor.zeros([1]))               // not in the schema
        try w.add("other.x", Tensor.zeros([1]))               // outside the prefix: ignored
        let path = dir.file("w.safetensors")
        try w.write(to: path)
        let checkpoint = try SafeTensorsCheckpoint(path: path)
        do {
            try Self.schema.validate(checkpoint)
            Issue.record("a wrong checkpoint was accepted")
        } catch {
            #expect(error.missing == ["m.a.bias"])
            #expect(error.unused == ["m.extra"])
            #expect(error.badShapes.count == 2)
            #expect(error.badShapes.contains("m.b.weight [4, 2] (expected [2, 4])"))
            #expect(error.badShapes.contains { $0.hasPrefix("m.ids: dtype F32") && $0.contains("I64") })
            #expect(error.description.contains("tower weights in \(path) do not match the config"))
            #expect(error.description.contains("missing keys (1)") && error.description.contains("unused keys (1)"))
            #expect(error.summary == "missing: m.a.bias | unexpected: m.extra | mis-shaped: "
                + error.badShapes.joined(separator: "; "))
        }
    }

    @Test func aMatchingCheckpointPasses() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        var w = SafeTensorsWriter()
        try w.add("m.a.weight", Tensor.zeros([4, 3]))
        try w.add("m.a.bias", Tensor.zeros([4]), dtype: .bf16)
        try w.add("m.b.weight", Tensor.zeros([2, 4]), dtype: .f16)
        try w.add("m.ids", int64s: [0, 1], shape: [2])
        let path = dir.file("ok.safetensors")
        try w.write(to: path)
        try Self.schema.validate(try SafeTensorsCheckpoint(path: path))
    }
}
