import FuzzSupport
import SafeTensors

/// The safetensors reader on arbitrary bytes: the 8-byte length prefix, the JSON header, the tensor table and
/// its checks, then every accessor a command uses on every listed tensor (what `inspect`, the prefill reader and
/// the checkpoint loader call). Any thrown `SafeTensorsError` is the expected outcome for bad input; a trap,
/// sanitizer report or hang is a finding.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafeTensors(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let path = FuzzInput.write(data, size)
    guard let file = try? SafeTensorsFile(path: path) else { return 0 }
    _ = file.metadata.count
    for e in file.entries {
        precondition(file.entry(e.name) == e && file.contains(e.name))
        let raw = try? file.rawBytes(e.name)
        precondition(raw?.count == e.byteCount, "rawBytes size differs from the entry's byteCount")
        if let t = try? file.floatTensor(e.name) { precondition(t.scalars.count == e.elementCount) }
        if let v = try? file.float32s(e.name) { precondition(v.count == e.elementCount) }
        if let v = try? file.int64s(e.name) { precondition(v.count == e.elementCount) }
        if let v = try? file.uint8s(e.name) { precondition(v.count == e.elementCount) }
    }
    return 0
}
