import OmniServerAPI
import Foundation

/// One request's media as files the decoder can open: data: parts written into a private temporary folder
/// (removed by `remove`), `file:` parts resolved under the media root.
final class MediaStaging: @unchecked Sendable {
    let paths: [String]
    private let folder: URL?

    init(_ parts: [MediaPart], root: MediaRoot?) throws {
        var folder: URL?
        var paths: [String] = []
        do {
            for (i, part) in parts.enumerated() {
                switch part.source {
                case .file(let rest):
                    guard let root else {
                        throw APIError.invalid("\(part.param): file: media are refused: the server was started without --media-root",
                                               param: part.param, code: "media_path_refused")
                    }
                    paths.append(try root.resolve(rest, param: part.param))
                case .data(let bytes, let ext):
                    if folder == nil {
                        let f = FileManager.default.temporaryDirectory.appendingPathComponent("omnisift-serve-\(UUID().uuidString)")
                        try FileManager.default.createDirectory(at: f, withIntermediateDirectories: false,
                                                                attributes: [.posixPermissions: 0o700])
                        folder = f
                    }
                    let file = folder!.appendingPathComponent("part\(i).\(ext)")
                    try Data(bytes).write(to: file)
                    paths.append(file.path)
                }
            }
        } catch {
            if let folder { try? FileManager.default.removeItem(at: folder) }
            if error is APIError { throw error }
            throw APIError.internal("could not store the request's media: \(error)")
        }
        self.paths = paths
        self.folder = folder
    }

    func remove() {
        if let folder { try? FileManager.default.removeItem(at: folder) }
    }
}
