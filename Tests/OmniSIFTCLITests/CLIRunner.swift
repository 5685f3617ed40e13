import Foundation

/// Runs the `omnisift` executable that SwiftPM built next to the test bundle, capturing its output.
enum CLI {
    struct Output {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// The built `omnisift` binary: beside the test bundle in the products folder.
    static var binary: URL {
        var dir = Bundle.main.bundleURL
        // On Linux the runner is `<products>/<Package>PackageTests.xctest`; on macOS a bundle inside the folder.
        if dir.pathExtension == "xctest" { dir = dir.deletingLastPathComponent() }
        for candidate in [dir, dir.deletingLastPathComponent()] {
            let url = candidate.appendingPathComponent("omnisift")
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        // Fall back to the products folder of the test bundle itself.
        for bundle in Bundle.allBundles where bundle.bundleURL.pathExtension == "xctest" {
            let url = bundle.bundleURL.deletingLastPathComponent().appendingPathComponent("omnisift")
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        return dir.appendingPathComponent("omnisift")
    }

    /// Runs `omnisift args...` to completion (one thread unless `environment` says otherwise; its entries are added
    /// to this process's environment).
    static func run(_ args: [String], environment extra: [String: String] = [:]) throws -> Output {
        let p = Process()
        p.executableURL = binary
        p.arguments = args
        var env = ProcessInfo.processInfo.environment
        env["OMNISIFT_THREADS"] = "1"
        env.merge(extra) { _, new in new }
        p.environment = env
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        // Read both pipes to the end before waiting, so a large output cannot block the child.
        let group = DispatchGroup()
        nonisolated(unsafe) var errData = Data()
        group.enter()
        DispatchQueue.global().async {
            errData = err.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        p.waitUntilExit()
        return Output(status: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData, as: UTF8.self))
    }

    /// Parses stdout as a JSON object.
    static func json(_ output: Output) throws -> [String: Any] {
        guard let obj = try JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any] else {
            throw CocoaError(.propertyListReadCorrupt)
        }
        return obj
    }

    /// A fresh temporary folder, removed by the caller.
    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("omnisift-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}
