import FuzzSupport
import OmniSIFT
import OmniTensor
import SafeTensors

/// The safetensors reader on arbitrary bytes: the 8-byte length prefix, the JSON header, the tensor table and
/// its checks, then every accessor a command uses on every listed tensor (what `inspect`, the prefill reader and
/// the checkpoint loader call), the single-file checkpoint view and the VGAS selector loader (`compress
/// --selector FILE`: name prefixes, shapes, `num_heads` metadata). Any thrown `SafeTensorsError` is the expected outcome for bad input; a trap,
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
    if let c = try? SafeTensorsCheckpoint(path: path) {
        precondition(c.names.count == file.entries.count, "checkpoint view lists \(c.names.count) of \(file.entries.count) tensors")
    }
    if let s = try? VGASSelector.load(path: path) {
        let d = s.inputSize
        if d > 0, d <= 256 {  // score a tiny group of 2 video and 3 audio tokens with the loaded weights
            let video = Tensor(shape: [2, d], scalars: (0..<(2 * d)).map { Float($0 % 7) / 7 - 0.5 })
            let audio = Tensor(shape: [3, d], scalars: (0..<(3 * d)).map { Float($0 % 5) / 5 - 0.4 })
            precondition(s.scores(video: video, audio: audio).count == 3, "VGAS gave a score count other than 3")
        }
    }
    return 0
}
