import Foundation
import FuzzSupport
import OmniServerAPI

/// `POST /v1/chat/completions` bodies through what `omnisift serve` runs on them before the model: the JSON
/// decoding and validation (`ChatRequestDecoder`), the error object of a refusal, the `file:` media paths resolved
/// under a media root (a scratch folder with one file, a subfolder and a symbolic link out of it), and the stop
/// sequences applied to the request's own text. Refusals are the expected outcome; traps, sanitizer reports,
/// hangs and a path resolved outside the root are findings.
let root: MediaRoot = FuzzFixtures.require("a scratch media root") {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("omnisift-fuzz-root-\(getpid())")
    try? FileManager.default.removeItem(at: dir)
    try FileManager.default.createDirectory(at: dir.appendingPathComponent("sub"), withIntermediateDirectories: true)
    try Data([0]).write(to: dir.appendingPathComponent("clip.mp4"))
    try Data([0]).write(to: dir.appendingPathComponent("sub/pic.png"))
    try? FileManager.default.createSymbolicLink(atPath: dir.appendingPathComponent("out").path, withDestinationPath: "/etc")
    return try MediaRoot(path: dir.path)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzServerRequest(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = data.map { Data(bytes: $0, count: size) } ?? Data()
    switch ChatRequestDecoder.decode(bytes) {
    case .failure(let e):
        precondition(e.status == 400, "a decoding refusal must be a 400: \(e)")
        _ = e.json
    case .success(let r):
        for part in r.media {
            if case .file(let rest) = part.source, let path = try? root.resolve(rest, param: part.param) {
                precondition(path.hasPrefix(root.realPath + "/"), "resolved outside the media root: \(path)")
            }
        }
        var matcher = StopMatcher(stops: r.stop)
        var out = ""
        for ch in r.prompt.prefix(4096) { out += matcher.feed(String(ch)) }
        out += matcher.finish()
        if !matcher.matched { precondition(out == String(r.prompt.prefix(4096)), "the stop matcher lost text") }
    }
    return 0
}
