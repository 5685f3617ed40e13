import Foundation
import Testing
import OmniTensor
@testable import SafeTensors

/// Hand-built broken files: each must fail on open with its own message naming the file (checked in `openError`)
/// and the problem, never crash or read past the end.
@Suite struct MalformedHeaderTests {
    /// A one-tensor header for a 4-element F32 tensor named "t" with the given fields spliced in.
    func entry(_ fields: String) -> String { #"{"t":{"# + fields + "}}" }

    func problem(_ header: String, data: [UInt8] = [UInt8](repeating: 0, count: 16),
                 length: UInt64? = nil) throws -> String {
        let e = try #require(try openError(rawSafetensors(header: header, data: data, lengthOverride: length)),
                             "expected an error for header \(header)")
        return e.problem
    }

    @Test func truncatedFile() throws {
        let e = try #require(try openError([1, 0, 0, 0, 0]))
        #expect(e.problem == "file is 5 bytes, shorter than the 8-byte header length prefix")
        let empty = try #require(try openError([]))
        #expect(empty.problem.contains("file is 0 bytes"))
    }

    @Test func headerLengthBeyondFile() throws {
        let p = try problem(#"{}"#, data: [], length: 1000)
        #expect(p == "header length 1000 is beyond the end of the file (2 bytes follow the 8-byte prefix)")
    }

    @Test func headerTooShortForAnObject() throws {
        #expect(try problem("", data: [0, 0, 0, 0]) == "header length 0 is too small for a JSON object")
    }

    @Test func hugeHeaderLength() throws {
        let p = try problem(#"{}"#, data: [], length: UInt64.max)
        #expect(p == "header length 18446744073709551615 is above the 100000000-byte cap")
        let p2 = try problem(#"{}"#, data: [], length: 100_000_001)
        #expect(p2.contains("above the 100000000-byte cap"))
    }

    @Test func badJSON() throws {
        let p = try problem(#"{"t": {"dtype": "F32",}}"#)
        #expect(p.hasPrefix("header is not valid JSON: "))
        #expect(p.contains("at header byte"))
        let trailing = try problem(#"{} x"#)
        #expect(trailing.contains("unexpected data after the JSON value"))
        let deep = try problem(String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000))
        #expect(deep.contains("nesting deeper than"))
    }

    @Test func notUTF8() throws {
        var bytes = rawSafetensors(header: #"{"\#u{e9}": 1}"#)
        bytes[10] = 0xFF  // break the 2-byte sequence of é
        let e = try #require(try openError(bytes))
        #expect(e.problem == "header is not valid UTF-8")
    }

    @Test func notAnObject() throws {
        #expect(try problem(#"[1, 2]"#) == "header JSON is an array, expected an object")
    }

    @Test func duplicateKey() throws {
        let one = #"{"dtype":"U8","shape":[1],"data_offsets":[0,1]}"#
        #expect(try problem("{\"t\":\(one),\"t\":\(one)}").contains("duplicate key 't'"))
    }

    @Test func missingAndMistypedFields() throws {
        #expect(try problem(entry(#""shape":[4],"data_offsets":[0,16]"#)) == #"tensor 't': missing "dtype""#)
        #expect(try problem(entry(#""dtype":"F32","data_offsets":[0,16]"#)) == #"tensor 't': missing "shape""#)
        #expect(try problem(entry(#""dtype":"F32","shape":[4]"#)) == #"tensor 't': missing "data_offsets""#)
        #expect(try problem(entry(#""dtype":7,"shape":[4],"data_offsets":[0,16]"#))
            == #"tensor 't': "dtype" is a number, expected a string"#)
        #expect(try problem(entry(#""dtype":"F32","shape":"4","data_offsets":[0,16]"#))
            == #"tensor 't': "shape" is a string, expected an array of integers"#)
        #expect(try problem(entry(#""dtype":"F32","shape":[4.0],"data_offsets":[0,16]"#))
            == #"tensor 't': "shape" holds 4.0, expected integers"#)
        #expect(try problem(entry(#""dtype":"F32","shape":[true],"data_offsets":[0,16]"#))
            .contains(#""shape" holds a boolean"#))
        #expect(try problem(#"{"t": [1]}"#).contains("tensor 't': entry is an array, expected an object"))
    }

    @Test func negativeDimension() throws {
        #expect(try problem(entry(#""dtype":"F32","shape":[2,-2],"data_offsets":[0,16]"#))
            == "tensor 't': negative dimension -2 in shape [2, -2]")
    }

    @Test func unsupportedDType() throws {
        #expect(try problem(entry(#""dtype":"F64","shape":[2],"data_offsets":[0,16]"#))
            == "unsupported dtype F64 for tensor t")
        #expect(try problem(entry(#""dtype":"f32","shape":[4],"data_offsets":[0,16]"#))
            == "unsupported dtype f32 for tensor t")
    }

    @Test func badOffsets() throws {
        #expect(try problem(entry(#""dtype":"F32","shape":[4],"data_offsets":[0]"#))
            == #"tensor 't': "data_offsets" must be [begin, end] with two integers, got [0]"#)
        #expect(try problem(entry(#""dtype":"F32","shape":[4],"data_offsets":[0,16,32]"#)).contains("two integers"))
        #expect(try problem(entry(#""dtype":"F32","shape":[4],"data_offsets":["0",16]"#)).contains("two integers"))
        #expect(try problem(entry(#""dtype":"F32","shape":[0],"data_offsets":[16,0]"#))
            == "tensor 't': data_offsets [16, 0] must satisfy 0 <= begin <= end")
        #expect(try problem(entry(#""dtype":"F32","shape":[4],"data_offsets":[-16,0]"#)).contains("0 <= begin"))
        #expect(try problem(entry(#""dtype":"F32","shape":[4],"data_offsets":[0,99999999999999999999999]"#))
            .contains("two integers"))
    }

    @Test func offsetsOutOfRange() throws {
        #expect(try problem(entry(#""dtype":"F32","shape":[8],"data_offsets":[0,32]"#))
            == "tensor 't': data_offsets end 32 is beyond the data area of 16 bytes")
        #expect(try problem(entry(#""dtype":"F32","shape":[4],"data_offsets":[8,24]"#))
            .contains("end 24 is beyond the data area of 16 bytes"))
    }

    @Test func wrongByteSize() throws {
        #expect(try problem(entry(#""dtype":"F32","shape":[3],"data_offsets":[0,16]"#))
            == "tensor 't': data_offsets [0, 16] span 16 bytes, but shape [3] x F32 (4 bytes) needs 3 x 4 = 12 bytes")
        #expect(try problem(entry(#""dtype":"BF16","shape":[],"data_offsets":[0,4]"#))
            .contains("shape [] x BF16 (2 bytes) needs 1 x 2 = 2 bytes"))
    }

    @Test func shapeProductOverflow() throws {
        // 2^31 x 2^31 elements fit in Int, the byte size (x 4) does not; 2^31 x 2^31 x 4 overflows the product.
        #expect(try problem(entry(#""dtype":"F32","shape":[2147483648,2147483648],"data_offsets":[0,16]"#))
            .contains("has more elements than can be addressed"))
        #expect(try problem(entry(#""dtype":"U8","shape":[2147483648,2147483648,4],"data_offsets":[0,0]"#))
            .contains("has more elements than can be addressed"))
        // A zero dimension makes any shape empty, however large the others.
        let zero = entry(#""dtype":"U8","shape":[1099511627776,1099511627776,0],"data_offsets":[0,0]"#)
        #expect(try openError(rawSafetensors(header: zero, data: [])) == nil)
        let dir = try TempDir()
        defer { dir.cleanup() }
        try writeBytes(rawSafetensors(header: zero.replacingOccurrences(of: "U8", with: "F32"), data: []),
                       to: dir.file("z.safetensors"))
        let f = try SafeTensorsFile(path: dir.file("z.safetensors"))
        #expect(f.entry("t")?.elementCount == 0)
        #expect(try f.float32s("t") == [])
        let e = try #require(throws: SafeTensorsError.self) { try f.floatTensor("t") }
        #expect(e.problem.contains("too large for a Tensor"))
        // A product that wraps to a small number must not pass: 2^62 x 4 x 4 bytes.
        #expect(try problem(entry(#""dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,16]"#))
            .contains("more elements than can be addressed"))
    }

    @Test func overlappingTensors() throws {
        let h = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#
        #expect(try problem(h) == "tensors 'a' [0, 8) and 'b' [4, 12) overlap")
        // Nested inside a bigger one.
        let h2 = #"{"big":{"dtype":"U8","shape":[16],"data_offsets":[0,16]},"in":{"dtype":"U8","shape":[2],"data_offsets":[10,12]}}"#
        #expect(try problem(h2) == "tensors 'big' [0, 16) and 'in' [10, 12) overlap")
        // Zero-size tensors never overlap, and gaps are tolerated.
        let ok = #"{"e":{"dtype":"F32","shape":[0],"data_offsets":[4,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"g":{"dtype":"U8","shape":[2],"data_offsets":[10,12]}}"#
        #expect(try openError(rawSafetensors(header: ok, data: [UInt8](repeating: 0, count: 16))) == nil)
    }

    @Test func metadataMustBeStrings() throws {
        #expect(try problem(#"{"__metadata__":{"a":"x","n":3}}"#)
            == "__metadata__ value for key 'n' is a number, expected a string")
        #expect(try problem(#"{"__metadata__":["a"]}"#)
            == "__metadata__ is an array, expected an object of string -> string")
    }

    @Test func openingMissingFileOrFolder() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let e = try #require(throws: SafeTensorsError.self) { try SafeTensorsFile(path: dir.file("none.safetensors")) }
        #expect(e.problem.hasPrefix("cannot open"))
        let d = try #require(throws: SafeTensorsError.self) { try SafeTensorsFile(path: dir.path) }
        #expect(d.problem == "is a directory, expected a .safetensors file")
    }

    /// Every truncation and many random byte flips of a valid file either open cleanly (and then every tensor reads
    /// within bounds) or throw; none crashes.
    @Test func truncationsAndBitFlipsNeverCrash() throws {
        var w = SafeTensorsWriter(metadata: ["k": "v"])
        try w.add("a", Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6]), dtype: .bf16)
        try w.add("b", int64s: [1, 2], shape: [2])
        try w.add("c", uint8s: [1], shape: [], dtype: .bool)
        let good = w.serialized()
        var cases: [[UInt8]] = (0..<good.count).map { Array(good[0..<$0]) }
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<120 {
            var b = good
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                b[Int.random(in: 0..<b.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            }
            cases.append(b)
        }
        let dir = try TempDir()
        defer { dir.cleanup() }
        var opened = 0
        for (i, bytes) in cases.enumerated() {
            let path = dir.file("f\(i % 4).safetensors")
            try writeBytes(bytes, to: path)
            guard let f = try? SafeTensorsFile(path: path) else { continue }
            opened += 1
            for e in f.entries {
                let raw = try f.rawBytes(e.name)
                #expect(f.dataAreaOffset + e.byteOffset + raw.count <= bytes.count)
                if e.dtype.isFloatingPoint { #expect(try f.float32s(e.name).count == e.elementCount) }
                else { #expect(try f.int64s(e.name).count == e.elementCount) }
            }
        }
        #expect(opened >= 1)  // the untruncated-length flips that only hit data still open
    }
}
