import Testing
import SafeTensors
@testable import omnisift

@Suite struct TensorGroupTests {
    @Test func groupKeys() {
        #expect(TensorGroup.key(of: "thinker.model.layers.7.mlp.up_proj.weight", depth: 3) == "thinker.model.layers.*")
        #expect(TensorGroup.key(of: "thinker.model.norm.weight", depth: 3) == "thinker.model.norm")
        #expect(TensorGroup.key(of: "lm_head.weight", depth: 3) == "lm_head.weight")
        #expect(TensorGroup.key(of: "thinker.model.layers.7.mlp.up_proj.weight", depth: 2) == "thinker.model")
        #expect(TensorGroup.key(of: "blocks.12.attn", depth: 3) == "blocks.*")
        #expect(TensorGroup.key(of: "a.b1.c", depth: 5) == "a.b1.c")  // only all-digit parts become *
    }

    @Test func groupingSumsCountsDTypesParamsAndBytes() {
        var entries: [TensorEntry] = []
        var offset = 0
        func add(_ name: String, _ dtype: SafeTensorsDType, _ shape: [Int]) {
            let bytes = shape.reduce(1, *) * dtype.byteSize
            entries.append(TensorEntry(name: name, dtype: dtype, shape: shape, byteOffset: offset, byteCount: bytes))
            offset += bytes
        }
        add("m.embed.weight", .bf16, [10, 4])
        for i in 0..<3 {
            add("m.layers.\(i).w", .bf16, [4, 4])
            add("m.layers.\(i).b", .f32, [4])
        }
        add("m.norm.weight", .f32, [4])
        let g = TensorGroup.group(entries, depth: 2)
        #expect(g.map(\.key) == ["m.embed.weight", "m.layers.*", "m.norm.weight"])
        #expect(g[1] == TensorGroup(key: "m.layers.*", count: 6, dtypes: [.bf16, .f32], parameters: 3 * 20,
                                    bytes: 3 * (32 + 16)))
        #expect(g.map(\.parameters).reduce(0, +) == entries.map(\.elementCount).reduce(0, +))
        #expect(g[0].count == 1 && g[0].bytes == 80)
    }
}
