import Foundation

/// A model folder's `generation_config.json` (Hugging Face): the ids generation stops at (`eos_token_id`, one id or
/// a list). A folder without the file gives nil (the defaults then apply: `<|im_end|>` and `<|endoftext|>` when
/// inside the vocabulary); a file that is there but unreadable, or whose ids are not non-negative integers, is an
/// error naming it, so a model never silently decodes past its stop token.
public struct GenerationConfigFile: Sendable, Equatable {
    public var eosTokenIds: [Int]

    public init(eosTokenIds: [Int]) { self.eosTokenIds = eosTokenIds }

    public static let fileName = "generation_config.json"

    /// The file in `folder` (a model folder; a path to a file is taken as its folder's), nil when there is none.
    public static func load(modelPath: String) throws -> GenerationConfigFile? {
        var isDir: ObjCBool = false
        let fm = FileManager.default
        guard fm.fileExists(atPath: modelPath, isDirectory: &isDir) else { return nil }
        let folder = isDir.boolValue ? modelPath : (modelPath as NSString).deletingLastPathComponent
        let path = (folder as NSString).appendingPathComponent(fileName)
        guard fm.fileExists(atPath: path) else { return nil }
        guard let data = fm.contents(atPath: path) else { throw PipelineError("\(path): cannot be read") }
        let file: FileContents
        do { file = try JSONDecoder().decode(FileContents.self, from: data) } catch {
            throw PipelineError("\(path): eos_token_id must be a non-negative integer id or a list of them (\(error))")
        }
        let ids = file.eos?.ids ?? []
        if let bad = ids.first(where: { $0 < 0 }) {
            throw PipelineError("\(path): eos_token_id holds \(bad); token ids are non-negative")
        }
        return GenerationConfigFile(eosTokenIds: ids)
    }

    /// The part of the file read here.
    struct FileContents: Decodable {
        enum IDs: Decodable {
            case one(Int), many([Int])
            init(from decoder: Decoder) throws {
                let c = try decoder.singleValueContainer()
                if let v = try? c.decode(Int.self) { self = .one(v) } else { self = .many(try c.decode([Int].self)) }
            }
            var ids: [Int] { switch self { case .one(let v): [v]; case .many(let v): v } }
        }
        var eos: IDs?
        enum CodingKeys: String, CodingKey { case eos = "eos_token_id" }
    }

    /// The stop ids `generate`, `eval` and `run` use for the model at `modelPath`: the folder's `eos_token_id`
    /// when it gives any, else none (empty: `GenerationSettings`' defaults).
    public static func stopTokens(modelPath: String) throws -> [Int] {
        try load(modelPath: modelPath)?.eosTokenIds ?? []
    }
}
