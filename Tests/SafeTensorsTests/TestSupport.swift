import Foundation
import Testing
@testable import SafeTensors

/// A fresh temporary folder per test, removed by `cleanup()`.
struct TempDir {
    let path: String
    init() throws {
        path = NSTemporaryDirectory() + "/safetensors-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    func file(_ name: String) -> String { path + "/" + name }
    func cleanup() { try? FileManager.default.removeItem(atPath: path) }
}

/// Writes raw bytes to `path`.
func writeBytes(_ bytes: [UInt8], to path: String) throws {
    try Data(bytes).write(to: URL(fileURLWithPath: path))
}

/// A safetensors file from a literal header string and data bytes; `lengthOverride` replaces the length prefix.
func rawSafetensors(header: String, data: [UInt8] = [], lengthOverride: UInt64? = nil) -> [UInt8] {
    let h = Array(header.utf8)
    let n = lengthOverride ?? UInt64(h.count)
    var out: [UInt8] = (0..<8).map { UInt8(truncatingIfNeeded: n >> (8 * UInt64($0))) }
    out += h
    out += data
    return out
}

/// Opens `bytes` written to a temp file and returns the thrown `SafeTensorsError` (nil when it opened fine).
func openError(_ bytes: [UInt8], name: String = "bad.safetensors") throws -> SafeTensorsError? {
    let dir = try TempDir()
    defer { dir.cleanup() }
    let path = dir.file(name)
    try writeBytes(bytes, to: path)
    do {
        _ = try SafeTensorsFile(path: path)
        return nil
    } catch let e as SafeTensorsError {
        #expect(e.file == path)
        return e
    }
}
