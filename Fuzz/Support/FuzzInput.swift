#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The fuzz input written to one scratch file per process, for readers that take a path (the safetensors
/// reader maps its file). The file lives in /dev/shm when present (no disk I/O per execution).
public enum FuzzInput {
    /// Path of this process's scratch file.
    public static let path: String = {
        let dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp"
        return "\(dir)/omnisift-fuzz-\(getpid()).bin"
    }()

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
