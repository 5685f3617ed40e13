import Foundation
import Testing
import OmniTensor
@testable import SafeTensors

/// Written then read back: every dtype, odd shapes, metadata, the converters on the F16/BF16 path, layout rules.
@Suite struct RoundTripTests {
    @Test func float32RoundTripWithMetadata() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let path = dir.file("a.safetensors")
        let meta = ["format": "pt", "note": "quote \" and \\ and é\n\u{1}", "empty": ""]
        var w = SafeTensorsWriter(metadata: meta)
        let t = Tensor(shape: [2, 3], scalars: [1, -2, 3.5, .infinity, -0.0, 1e-30])
        try w.add("w", t)
        try w.write(to: path)
        let f = try SafeTensorsFile(path: path)
        #expect(f.metadata == meta)
        let back = try f.floatTensor("w")
        #expect(back.shape == [2, 3])
        #expect(back.scalars.map(\.bitPattern) == t.scalars.map(\.bitPattern))  // -0.0 kept
        #expect(f.entry("w")?.dtype == .f32)
        #expect(try f.float32s("w") == t.scalars)
    }

    @Test func everyDTypeAndShape() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let path = dir.file("all.safetensors")
        var w = SafeTensorsWriter()
        let f32 = Tensor(shape: [3, 2], scalars: [0.1, -7, 1e20, -1e-20, .greatestFiniteMagnitude, 42])
        let scalar = Tensor(shape: [], scalars: [2.75])
        let empty = Tensor(shape: [0, 4], scalars: [])
        let exact16 = Tensor(shape: [2, 2], scalars: [1, -0.5, 1024, 0.000061035156])  // exact in f16 and bf16
        try w.add("f32", f32)
        try w.add("f32.scalar", scalar)
        try w.add("f32.empty", empty)
        try w.add("f16", exact16, dtype: .f16)
        try w.add("bf16", exact16, dtype: .bf16)
        try w.add("bf16.scalar", scalar, dtype: .bf16)
        try w.add("f16.empty", Tensor(shape: [3, 0, 2], scalars: []), dtype: .f16)
        try w.add("i64", int64s: [Int64.min, -1, 0, Int64.max, 151646, 7], shape: [2, 3])
        try w.add("i64.scalar", int64s: [-100], shape: [])
        try w.add("i32", int32s: [Int32.min, Int32.max, -5], shape: [3])
        try w.add("u8", uint8s: [0, 1, 255, 128], shape: [2, 2])
        try w.add("bool", uint8s: [1, 0, 1], shape: [3], dtype: .bool)
        try w.add("u8.empty", uint8s: [], shape: [0])
        try w.add("flat", float32s: [1, 2, 3, 4], shape: [4, 1])
        try w.write(to: path)

        let f = try SafeTensorsFile(path: path)
        #expect(f.metadata.isEmpty)
        #expect(Set(f.names) == Set(w.tensorNames))
        #expect(try f.floatTensor("f32") == f32)
        #expect(try f.floatTensor("f32.scalar") == scalar)
        #expect(try f.floatTensor("f32.empty") == empty)
        #expect(try f.floatTensor("f16") == exact16)
        #expect(try f.floatTensor("bf16") == exact16)
        #expect(try f.floatTensor("bf16.scalar") == scalar)
        #expect(try f.floatTensor("f16.empty").shape == [3, 0, 2])
        #expect(try f.int64s("i64") == [Int64.min, -1, 0, Int64.max, 151646, 7])
        #expect(f.entry("i64")?.shape == [2, 3])
        #expect(try f.int64s("i64.scalar") == [-100])
        #expect(f.entry("i64.scalar")?.shape == [])
        #expect(try f.int64s("i32") == [Int64(Int32.min), Int64(Int32.max), -5])
        #expect(try f.uint8s("u8") == [0, 1, 255, 128])
        #expect(try f.int64s("u8") == [0, 1, 255, 128])
        #expect(try f.uint8s("bool") == [1, 0, 1])
        #expect(f.entry("bool")?.dtype == .bool)
        #expect(try f.uint8s("u8.empty") == [])
        #expect(try f.floatTensor("flat").shape == [4, 1])
        for dtype in SafeTensorsDType.allCases {
            #expect(f.entries.contains { $0.dtype == dtype }, "dtype \(dtype) not covered")
        }
    }

    /// Values that are not representable go through the OmniTensor converters (round to nearest even) and come back
    /// exactly as the scalar converters define.
    @Test func halfPrecisionGoesThroughConverters() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let path = dir.file("half.safetensors")
        var rng = SystemRandomNumberGenerator()
        var values = (0..<1000).map { _ in Float.random(in: -300...300, using: &rng) }
        values += [1 + 0x1p-8, 1 + 0x1p-11, 65519, 70000, 0x1p-20, -0x1p-25, .nan, -.infinity]
        let t = Tensor(shape: [values.count], scalars: values)
        var w = SafeTensorsWriter()
        try w.add("h", t, dtype: .f16)
        try w.add("b", t, dtype: .bf16)
        try w.write(to: path)
        let f = try SafeTensorsFile(path: path)
        let h = try f.float32s("h"), b = try f.float32s("b")
        for (i, x) in values.enumerated() {
            let eh = f16ToFloat(floatToF16(x)), eb = bf16ToFloat(floatToBF16(x))
            #expect(h[i].bitPattern == eh.bitPattern || (h[i].isNaN && eh.isNaN), "f16 of \(x)")
            #expect(b[i].bitPattern == eb.bitPattern || (b[i].isNaN && eb.isNaN), "bf16 of \(x)")
        }
        #expect(h[values.count - 2].isNaN && b[values.count - 2].isNaN)
        #expect(h[values.count - 5] == .infinity)  // 70000 overflows f16
        // The raw bytes are the converters' bits, little-endian.
        let raw = try f.rawBytes("b")
        #expect(raw.count == values.count * 2)
        #expect(raw.loadUnaligned(fromByteOffset: 0, as: UInt16.self) == floatToBF16(values[0]))
    }

    @Test func layoutIsContiguousAlignedAndPadded() throws {
        var w = SafeTensorsWriter(metadata: ["k": "v"])
        try w.add("z.byte", uint8s: [1, 2, 3], shape: [3])
        try w.add("a.half", Tensor(shape: [3], scalars: [1, 2, 3]), dtype: .bf16)
        try w.add("m.long", int64s: [5], shape: [1])
        try w.add("b.float", Tensor(shape: [1], scalars: [1]))
        let bytes = w.serialized()
        let n = bytes[0..<8].enumerated().reduce(0) { $0 | (Int($1.element) << (8 * $1.offset)) }
        #expect(n % 8 == 0)
        #expect(bytes.count == 8 + n + 3 + 6 + 8 + 4)
        let dir = try TempDir()
        defer { dir.cleanup() }
        try writeBytes(bytes, to: dir.file("l.safetensors"))
        let f = try SafeTensorsFile(path: dir.file("l.safetensors"))
        #expect(f.dataAreaOffset % 8 == 0)
        var cursor = 0
        for e in f.entries {  // data-offset order, no gaps, each aligned to its element size
            #expect(e.byteOffset == cursor)
            #expect(e.byteOffset % e.dtype.byteSize == 0)
            cursor += e.byteCount
        }
        #expect(f.entries.map(\.name) == ["m.long", "b.float", "a.half", "z.byte"])
    }

    @Test func writeReplacesAtomicallyAndLeavesNoTempFile() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let path = dir.file("x.safetensors")
        var w1 = SafeTensorsWriter()
        try w1.add("a", int64s: [1], shape: [1])
        try w1.write(to: path)
        var w2 = SafeTensorsWriter()
        try w2.add("b", int64s: [2, 3], shape: [2])
        try w2.write(to: path)
        let f = try SafeTensorsFile(path: path)
        #expect(f.names == ["b"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["x.safetensors"])
        // Writing into a folder that does not exist fails with the path named.
        let bad = dir.file("missing/y.safetensors")
        let e = try #require(throws: SafeTensorsError.self) { try w2.write(to: bad) }
        #expect(e.file == bad && e.problem.contains("cannot create"))
    }

    @Test func writerRejectsBadInput() throws {
        var w = SafeTensorsWriter()
        try w.add("a", int64s: [1, 2], shape: [2])
        let dup = try #require(throws: SafeTensorsError.self) { try w.add("a", int64s: [1], shape: [1]) }
        #expect(dup.problem == "tensor 'a' added twice")
        let count = try #require(throws: SafeTensorsError.self) { try w.add("c", int64s: [1, 2, 3], shape: [2, 2]) }
        #expect(count.problem.contains("shape [2, 2] needs 4 elements, got 3"))
        let neg = try #require(throws: SafeTensorsError.self) { try w.add("n", uint8s: [], shape: [-1, 0]) }
        #expect(neg.problem.contains("negative dimension -1"))
        let bool = try #require(throws: SafeTensorsError.self) { try w.add("b", uint8s: [0, 2], shape: [2], dtype: .bool) }
        #expect(bool.problem.contains("BOOL value 2 at index 1"))
        let kind = try #require(throws: SafeTensorsError.self) { try w.add("f", Tensor(shape: [1], scalars: [1]), dtype: .i64) }
        #expect(kind.problem.contains("cannot be stored as I64"))
        let reserved = try #require(throws: SafeTensorsError.self) { try w.add("__metadata__", int64s: [1], shape: [1]) }
        #expect(reserved.problem.contains("reserved"))
        #expect(w.tensorNames == ["a"])
    }

    @Test func wrongAccessorAndMissingNameAreErrors() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let path = dir.file("acc.safetensors")
        var w = SafeTensorsWriter()
        try w.add("w", Tensor(shape: [2], scalars: [1, 2]))
        try w.add("ids", int64s: [1, 2], shape: [2])
        try w.write(to: path)
        let f = try SafeTensorsFile(path: path)
        let e1 = try #require(throws: SafeTensorsError.self) { try f.int64s("w") }
        #expect(e1 == SafeTensorsError(file: path, problem: "tensor 'w' has dtype F32; int64s reads I64, I32, U8 or BOOL"))
        let e2 = try #require(throws: SafeTensorsError.self) { try f.floatTensor("ids") }
        #expect(e2.problem == "tensor 'ids' has dtype I64; floatTensor reads F32, F16 or BF16")
        let e3 = try #require(throws: SafeTensorsError.self) { try f.uint8s("ids") }
        #expect(e3.problem.contains("uint8s reads U8 or BOOL"))
        let e4 = try #require(throws: SafeTensorsError.self) { try f.rawBytes("nope") }
        #expect(e4.problem == "no tensor named 'nope'")
        #expect(!f.contains("nope") && f.contains("w"))
        #expect(e1.description == "\(path): tensor 'w' has dtype F32; int64s reads I64, I32, U8 or BOOL")
    }

    /// Bytes written by Python's `safetensors` 0.x (`safetensors.torch.save_file`), pasted as a literal:
    /// a = arange(6, f32).reshape(2, 3), b = [1, 2] i64, c = 1.5 bf16 scalar, d = zeros(0, 4) f16, e = [True, False].
    @Test func readsFileWrittenByPythonSafetensors() throws {
        let header = #"{"__metadata__":{"format":"pt"},"b":{"dtype":"I64","shape":[2],"data_offsets":[0,16]},"#
            + #""a":{"dtype":"F32","shape":[2,3],"data_offsets":[16,40]},"c":{"dtype":"BF16","shape":[],"#
            + #""data_offsets":[40,42]},"d":{"dtype":"F16","shape":[0,4],"data_offsets":[42,42]},"e":{"dtype":"BOOL","#
            + #""shape":[2],"data_offsets":[42,44]}} "#
        #expect(header.utf8.count == 312)
        let dataHex = "01000000000000000200000000000000000000000000803f0000004000004040000080400000a040c03f0100"
        let data: [UInt8] = stride(from: 0, to: dataHex.count, by: 2).map {
            let i = dataHex.index(dataHex.startIndex, offsetBy: $0)
            return UInt8(dataHex[i..<dataHex.index(i, offsetBy: 2)], radix: 16)!
        }
        let dir = try TempDir()
        defer { dir.cleanup() }
        try writeBytes(rawSafetensors(header: header, data: data), to: dir.file("py.safetensors"))
        let f = try SafeTensorsFile(path: dir.file("py.safetensors"))
        #expect(f.metadata == ["format": "pt"])
        #expect(f.names == ["b", "a", "c", "d", "e"])
        #expect(try f.floatTensor("a") == Tensor(shape: [2, 3], scalars: [0, 1, 2, 3, 4, 5]))
        #expect(try f.int64s("b") == [1, 2])
        #expect(try f.floatTensor("c") == Tensor(shape: [], scalars: [1.5]))
        #expect(try f.floatTensor("d").shape == [0, 4])
        #expect(try f.uint8s("e") == [1, 0])
        #expect(f.entry("a") == TensorEntry(name: "a", dtype: .f32, shape: [2, 3], byteOffset: 16, byteCount: 24))
    }
}

/// The reader maps instead of copying, and handles offsets past 4 GiB.
@Suite struct MappingTests {
    @Test func rawBytesPointIntoOneMapping() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        var w = SafeTensorsWriter()
        try w.add("a", Tensor(shape: [4], scalars: [1, 2, 3, 4]))
        try w.add("b", Tensor(shape: [2], scalars: [5, 6]))
        try w.write(to: dir.file("m.safetensors"))
        let f = try SafeTensorsFile(path: dir.file("m.safetensors"))
        let a1 = try f.rawBytes("a"), a2 = try f.rawBytes("a"), b = try f.rawBytes("b")
        #expect(a1.baseAddress == a2.baseAddress)  // no copy per call
        let ea = try #require(f.entry("a")), eb = try #require(f.entry("b"))
        #expect(b.baseAddress! - a1.baseAddress! == eb.byteOffset - ea.byteOffset)
        #expect(a1.loadUnaligned(fromByteOffset: 12, as: Float.self) == 4)
    }

    /// A sparse 5 GiB file (no disk used): a BF16 tensor that starts past 4 GiB reads correctly.
    @Test func offsetsBeyondFourGiB() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let big = 5 << 30  // bytes of padding tensor "pad" (U8)
        let header = #"{"pad":{"dtype":"U8","shape":[\#(big)],"data_offsets":[0,\#(big)]},"#
            + #""tail":{"dtype":"BF16","shape":[2],"data_offsets":[\#(big),\#(big + 4)]}}"#
        let path = dir.file("sparse.safetensors")
        try writeBytes(rawSafetensors(header: header), to: path)
        let handle = try #require(FileHandle(forUpdatingAtPath: path))
        let dataStart = UInt64(8 + header.utf8.count)
        try handle.truncate(atOffset: dataStart + UInt64(big) + 4)
        try handle.seek(toOffset: dataStart + UInt64(big))
        handle.write(Data([0x80, 0x3F, 0x40, 0xC0]))  // bf16 1.0, -3.0
        try handle.close()
        let f = try SafeTensorsFile(path: path)
        #expect(try f.float32s("tail") == [1, -3])
        #expect(f.entry("pad")?.byteCount == big)
        #expect(try f.rawBytes("pad").count == big)
    }
}
