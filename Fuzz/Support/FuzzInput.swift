import Foundation

/// The fuzz input written to one scratch file per process, for readers that take a path (the safetensors
/// reader maps its file). The file lives in /dev/shm when present (no disk I/O per execution).
public enum FuzzInput {
    /// Path of this process's scratch file.
    public static let path: String = {
        let dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp"
        return "\(dir)/omnisift-fuzz-\(getpid()).bin"
    }()

    /// `OMNISIFT_FUZZ_VERBOSE=1`: targets print why an input was refused (to check that seeds get past loading).
    public static let verbose = ProcessInfo.processInfo.environment["OMNISIFT_FUZZ_VERBOSE"] == "1"

    /// Writes `count` bytes at `data` to `path` (replacing it) and returns the path.
    public static func write(_ data: UnsafePointer<UInt8>?, _ count: Int, to path: String = FuzzInput.path) -> String {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        precondition(fd >= 0, "fuzz: cannot open \(path)")
        var done = 0
        while done < count, let data {
            let r = Glibc.write(fd, data + done, count - done)
            precondition(r > 0, "fuzz: cannot write \(path)")
            done += r
        }
        close(fd)
        return path
    }
}

/// Committed test fixtures the targets load once (a tiny thinker checkpoint, a VGAS selector), found from the
/// repository root: `OMNISIFT_REPO` when set, else the working directory (scripts/fuzz.sh runs from the root).
public enum FuzzFixtures {
    public static let root: String =
        ProcessInfo.processInfo.environment["OMNISIFT_REPO"] ?? FileManager.default.currentDirectoryPath

    /// The tiny random Qwen2.5-Omni checkpoint of the thinker tests (hidden 64, vocab 256, 2 layers).
    public static var thinkerCheckpoint: String { root + "/Tests/QwenOmniTests/Fixtures/thinker/checkpoint" }
    /// A VGAS selector for D = 64 embeddings (hidden 32, 4 heads).
    public static var selector: String { root + "/Tests/OmniSIFTTests/Fixtures/selector_small_gap.safetensors" }

    /// Stops the process with a message when a fixture cannot be loaded (a setup error, not a finding).
    public static func require<T>(_ what: String, _ body: () throws -> T) -> T {
        do { return try body() } catch {
            FileHandle.standardError.write(
                Data("fuzz: cannot load \(what) (run from the repository root or set OMNISIFT_REPO): \(error)\n".utf8))
            exit(2)
        }
    }
}
