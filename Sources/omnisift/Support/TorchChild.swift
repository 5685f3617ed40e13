import Foundation

/// The PyTorch side of a benchmark: a script under `tools/` run as a child process (`python script args...`)
/// that prints one JSON object on stdout.
enum TorchChild {
    /// The parsed object, or nil and a note saying why (script missing, Python not startable, non-zero status with
    /// the tail of stderr, output that is not a JSON object).
    static func run(python: String, script: String, arguments: [String]) -> (json: [String: Any]?, note: String?) {
        guard FileManager.default.fileExists(atPath: script) else {
            return (nil, "\(script) not found (run from the repository root or pass --torch-script)")
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [python, script] + arguments
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        do { try p.run() } catch { return (nil, "cannot start \(python): \(error)") }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0, let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            let tail = String(decoding: errData.suffix(300), as: UTF8.self)
            return (nil, "PyTorch run failed (status \(p.terminationStatus)): \(tail)")
        }
        return (obj, nil)
    }
}
