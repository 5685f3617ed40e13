import Foundation

@testable import QwenTokenizer

/// The shared Qwen2.5-Omni tokenizer folder (Tests/Fixtures/qwen2.5-omni-tokenizer), found by path so that any
/// test target can use the one copy.
enum OmniFixture {
    static let folder: String = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/qwen2.5-omni-tokenizer").path

    /// Loaded once for the whole suite.
    static let tokenizer: QwenTokenizer = try! QwenTokenizer.load(folder: folder)

    static func json<T: Decodable>(_ name: String, as: T.Type) throws -> T {
        let url = Bundle.module.url(forResource: name, withExtension: "json", subdirectory: "Fixtures")!
        return try JSONDecoder().decode(T.self, from: Data(contentsOf: url))
    }

    /// A scratch folder, removed by the caller.
    static func scratch() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("qwentok-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }
}

struct EncodeCases: Decodable {
    struct Case: Decodable { var text: String; var ids: [Int] }
    var tokenizers_version: String
    var cases: [Case]
}

struct DecodeCases: Decodable {
    struct Case: Decodable { var ids: [Int]; var skip_special: Bool; var text: String }
    var cases: [Case]
}

struct ChatCases: Decodable {
    struct Item: Decodable {
        var type: String
        var text: String?
    }
    struct Message: Decodable {
        var role: String
        var content: Content
        enum Content: Decodable {
            case string(String)
            case items([Item])
            init(from decoder: Decoder) throws {
                let c = try decoder.singleValueContainer()
                if let s = try? c.decode(String.self) { self = .string(s) } else { self = .items(try c.decode([Item].self)) }
            }
        }
    }
    struct Case: Decodable {
        var name: String
        var messages: [Message]
        var add_generation_prompt: Bool
        var add_vision_id: Bool
        var add_audio_id: Bool
        var text: String
        var ids: [Int]
    }
    var chat_template: String
    var cases: [Case]
}
