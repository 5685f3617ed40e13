import Foundation

/// The folder `file:` media may come from (`--media-root`). A path resolves only to a regular file inside it:
/// no `..` component, no absolute path elsewhere, no symbolic link (anywhere on the path) leading out of it.
/// Without a media root every `file:` URL is refused.
public struct MediaRoot: Sendable {
    /// The root as given and with its symbolic links resolved.
    public let path: String
    public let realPath: String

    /// Fails when `path` is not an existing folder.
    public init(path: String) throws {
        let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        guard let real = Self.realpath(absolute) else {
            throw APIError.internal("--media-root \(path): no such folder")
        }
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: real, isDirectory: &isDir), isDir.boolValue else {
            throw APIError.internal("--media-root \(path) is not a folder")
        }
        self.path = Self.normalized(absolute)
        realPath = real
    }

    /// The file a `file:` URL's rest (after `file:`) names, as a real path inside the root; `param` names the
    /// request field in the error.
    public func resolve(_ rest: String, param: String) throws -> String {
        func refuse(_ why: String) -> APIError {
            APIError.invalid("\(param): \(why)", param: param, code: "media_path_refused")
        }
        var p = rest
        if p.hasPrefix("//") {
            // file://host/path: only an empty host or localhost
            let afterSlashes = p.dropFirst(2)
            let host = afterSlashes.prefix { $0 != "/" }
            guard host.isEmpty || host.lowercased() == "localhost" else { throw refuse("file URLs with a host ('\(ChatRequestDecoder.clip(String(host)))') are refused") }
            p = String(afterSlashes.dropFirst(host.count))
        }
        guard let decoded = p.removingPercentEncoding else { throw refuse("the file URL's percent-encoding is invalid") }
        if decoded.isEmpty { throw refuse("the file URL names no file") }
        if decoded.contains("\0") { throw refuse("the file path holds a NUL byte") }
        if decoded.split(separator: "/", omittingEmptySubsequences: true).contains("..") {
            throw refuse("'..' is not allowed in media paths")
        }
        let candidate: String
        if decoded.hasPrefix("/") {
            let n = Self.normalized(decoded)
            guard Self.isInside(n, root: path) || Self.isInside(n, root: realPath) else {
                throw refuse("absolute paths outside the server's --media-root are refused")
            }
            candidate = n
        } else {
            candidate = path + "/" + decoded
        }
        guard let real = Self.realpath(candidate) else { throw refuse("no such file under the server's --media-root") }
        guard Self.isInside(real, root: realPath) else {
            throw refuse("the path leads outside the server's --media-root (through a symbolic link)")
        }
        var st = stat()
        guard stat(real, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
            throw refuse("not a regular file under the server's --media-root")
        }
        return real
    }

    static func isInside(_ p: String, root: String) -> Bool {
        root == "/" ? p.hasPrefix("/") : p.hasPrefix(root + "/")
    }

    /// `p` without `.` components, repeated or trailing slashes (no file system access; `..` is refused earlier).
    static func normalized(_ p: String) -> String {
        let parts = p.split(separator: "/", omittingEmptySubsequences: true).filter { $0 != "." }
        return "/" + parts.joined(separator: "/")
    }

    static func realpath(_ p: String) -> String? {
        guard let r = Foundation.realpath(p, nil) else { return nil }
        defer { free(r) }
        return String(cString: r)
    }
}
