import Foundation
import Testing
import OmniTensor
@testable import SafeTensors

/// Sharded checkpoints through `model.safetensors.index.json`, single files and folders, and their errors.
@Suite struct CheckpointTests {
    /// Two shards + an index in a fresh folder; returns the folder.
    func makeSharded(weightMap: [String: String]? = nil, extraIndex: String? = nil) throws -> TempDir {
        let dir = try TempDir()
        var s1 = SafeTensorsWriter(metadata: ["format": "pt"])
        try s1.add("model.layers.0.w", Tensor(shape: [2, 2], scalars: [1, 2, 3, 4]), dtype: .bf16)
        try s1.add("model.embed", Tensor(shape: [3], scalars: [5, 6, 7]))
        try s1.write(to: dir.file("model-00001-of-00002.safetensors"))
        var s2 = SafeTensorsWriter(metadata: ["format": "pt", "shard": "2"])
        try s2.add("model.layers.1.w", Tensor(shape: [1, 2], scalars: [8, 9]), dtype: .f16)
        try s2.add("unlisted", int64s: [1], shape: [1])
        try s2.write(to: dir.file("model-00002-of-00002.safetensors"))
        let map = weightMap ?? [
            "model.layers.0.w": "model-00001-of-00002.safetensors",
            "model.embed": "model-00001-of-00002.safetensors",
            "model.layers.1.w": "model-00002-of-00002.safetensors",
        ]
        let entries = map.keys.sorted().map { "\"\($0)\": \"\(map[$0]!)\"" }.joined(separator: ",\n    ")
        let index = extraIndex ?? """
        {
          "metadata": {"total_size": 24},
          "weight_map": {
            \(entries)
          }
        }
        """
        try index.write(toFile: dir.file("model.safetensors.index.json"), atomically: true, encoding: .utf8)
        return dir
    }

    func checkpointError(_ path: String) throws -> SafeTensorsError {
        try #require(throws: SafeTensorsError.self) { try SafeTensorsCheckpoint(path: path) }
    }

    @Test func shardedFolderAndIndexFile() throws {
        let dir = try makeSharded()
        defer { dir.cleanup() }
        // A corrupt, unreferenced shard in the folder is never opened.
        try writeBytes([1, 2, 3], to: dir.file("model-00003-of-00002.safetensors"))
        for path in [dir.path, dir.file("model.safetensors.index.json")] {
            let c = try SafeTensorsCheckpoint(path: path)
            #expect(c.indexPath == dir.file("model.safetensors.index.json"))
            #expect(c.files.count == 2)
            #expect(c.names == ["model.embed", "model.layers.0.w", "model.layers.1.w"])
            #expect(try c.floatTensor("model.layers.0.w") == Tensor(shape: [2, 2], scalars: [1, 2, 3, 4]))
            #expect(try c.floatTensor("model.layers.1.w") == Tensor(shape: [1, 2], scalars: [8, 9]))
            #expect(try c.floatTensor("model.embed").scalars == [5, 6, 7])
            #expect(c.file(containing: "model.layers.1.w")?.path == dir.file("model-00002-of-00002.safetensors"))
            #expect(c.entry("model.layers.0.w")?.dtype == .bf16)
            #expect(try c.rawBytes("model.layers.1.w").count == 4)
            #expect(!c.contains("unlisted"))  // in a shard but not in the index
            #expect(c.metadata["total_size"] == "24")
            #expect(c.metadata["format"] == "pt" && c.metadata["shard"] == "2")
            let e = try #require(throws: SafeTensorsError.self) { try c.floatTensor("nope") }
            #expect(e.problem == "no tensor named 'nope'")
        }
    }

    @Test func singleFileAndFolderWithModelSafetensors() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        var w = SafeTensorsWriter(metadata: ["a": "b"])
        try w.add("x", Tensor(shape: [2], scalars: [1, 2]))
        try w.add("b", int64s: [3], shape: [1])
        try w.write(to: dir.file("model.safetensors"))
        for path in [dir.path, dir.path + "/", dir.file("model.safetensors")] {
            let c = try SafeTensorsCheckpoint(path: path)
            #expect(c.indexPath == nil)
            #expect(c.names == ["b", "x"])
            #expect(c.metadata == ["a": "b"])
            #expect(try c.floatTensor("x").scalars == [1, 2])
        }
    }

    @Test func missingShardIsNamed() throws {
        let dir = try makeSharded(weightMap: [
            "model.embed": "model-00001-of-00002.safetensors",
            "model.layers.9.w": "model-00009-of-00009.safetensors",
        ])
        defer { dir.cleanup() }
        let e = try checkpointError(dir.path)
        #expect(e.file == dir.file("model.safetensors.index.json"))
        #expect(e.problem.hasPrefix("shard model-00009-of-00009.safetensors does not exist"))
        #expect(e.problem.contains("'model.layers.9.w'"))
    }

    @Test func keyMissingFromItsShard() throws {
        let dir = try makeSharded(weightMap: [
            "model.embed": "model-00002-of-00002.safetensors",
        ])
        defer { dir.cleanup() }
        let e = try checkpointError(dir.path)
        #expect(e.problem == "the index maps tensor 'model.embed' to shard model-00002-of-00002.safetensors, "
            + "which does not contain it")
    }

    @Test func malformedIndex() throws {
        let cases: [(String, String)] = [
            (#"{"weight_map": {"a": "x.safetensors",}}"#, "index is not valid JSON"),
            (#"["weight_map"]"#, "index JSON is an array, expected an object"),
            (#"{"metadata": {}}"#, #"index has no "weight_map""#),
            (#"{"weight_map": ["a"]}"#, #""weight_map" is an array, expected an object"#),
            (#"{"weight_map": {"a": 3}}"#, "weight_map entry 'a' is a number, expected a shard file name"),
            (#"{"weight_map": {"a": "../up.safetensors"}}"#, "not a file name inside the index's folder"),
            (#"{"weight_map": {"a": "/abs.safetensors"}}"#, "not a file name inside the index's folder"),
            (#"{"metadata": 5, "weight_map": {}}"#, #""metadata" is a number, expected an object"#),
        ]
        for (json, expected) in cases {
            let dir = try makeSharded(extraIndex: json)
            defer { dir.cleanup() }
            let e = try checkpointError(dir.file("model.safetensors.index.json"))
            #expect(e.problem.contains(expected), "index \(json) gave: \(e.problem)")
        }
    }

    @Test func brokenShardReportsTheShard() throws {
        let dir = try makeSharded()
        defer { dir.cleanup() }
        try writeBytes([9, 9], to: dir.file("model-00002-of-00002.safetensors"))
        let e = try checkpointError(dir.path)
        #expect(e.file == dir.file("model-00002-of-00002.safetensors"))
        #expect(e.problem.contains("shorter than the 8-byte"))
    }

    @Test func folderProblems() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        #expect(try checkpointError(dir.path).problem
            == "folder holds no model.safetensors.index.json and no .safetensors file")
        var w = SafeTensorsWriter()
        try w.add("x", int64s: [1], shape: [1])
        try w.write(to: dir.file("a.safetensors"))
        #expect(try SafeTensorsCheckpoint(path: dir.path).names == ["x"])  // the only file
        try w.write(to: dir.file("b.safetensors"))
        #expect(try checkpointError(dir.path).problem.contains("holds 2 .safetensors files"))
        #expect(try checkpointError(dir.file("none")).problem.hasPrefix("cannot open"))
    }
}
