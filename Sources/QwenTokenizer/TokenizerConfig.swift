import Foundation

/// The fields of `tokenizer_config.json` the tokenizer uses. Token fields may be a string, null, or an
/// `AddedToken` object (`{"content": ...}`) as older files write them.
struct TokenizerConfig: Decodable, Sendable {
    /// An added token as `added_tokens_decoder` (keyed by id) and tokenizer.json's `added_tokens` (with "id")
    /// write it.
    struct AddedTokenEntry: Decodable, Sendable {
        var id: Int?
        var content: String
        var special: Bool?
        var lstrip: Bool?
        var rstrip: Bool?
        var singleWord: Bool?
        var normalized: Bool?

        enum CodingKeys: String, CodingKey {
            case id, content, special, lstrip, rstrip, normalized
            case singleWord = "single_word"
        }
    }

    /// A token given as a string or as an object with "content".
    struct TokenName: Decodable, Sendable {
        var content: String
        enum CodingKeys: String, CodingKey { case content }
        init(from decoder: Decoder) throws {
            if let s = try? decoder.singleValueContainer().decode(String.self) {
                content = s
            } else {
                content = try decoder.container(keyedBy: CodingKeys.self).decode(String.self, forKey: .content)
            }
        }
    }

    /// `chat_template`: one string, or a list of named templates (the one named "default" is used).
    struct ChatTemplateField: Decodable, Sendable {
        var template: String?
        struct Named: Decodable { var name: String; var template: String }
        init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let s = try? c.decode(String.self) {
                template = s
            } else {
                let list = try c.decode([Named].self)
                template = list.first { $0.name == "default" }?.template
            }
        }
    }

    var addedTokensDecoder: [String: AddedTokenEntry]?
    var eosToken: TokenName?
    var padToken: TokenName?
    var bosToken: TokenName?
    var chatTemplate: ChatTemplateField?
    var tokenizerClass: String?

    enum CodingKeys: String, CodingKey {
        case addedTokensDecoder = "added_tokens_decoder"
        case eosToken = "eos_token"
        case padToken = "pad_token"
        case bosToken = "bos_token"
        case chatTemplate = "chat_template"
        case tokenizerClass = "tokenizer_class"
    }

    /// Reads `path`; errors name the file and the JSON path of the bad field.
    static func read(path: String) throws -> TokenizerConfig {
        let data = try readFile(path)
        do {
            return try JSONDecoder().decode(TokenizerConfig.self, from: data)
        } catch let e as DecodingError {
            throw TokenizerError("\(path): \(describe(e))")
        }
    }
}

/// `chat_template.json` of a processor folder.
struct ChatTemplateFile: Decodable {
    var chatTemplate: String
    enum CodingKeys: String, CodingKey { case chatTemplate = "chat_template" }
}

func readFile(_ path: String) throws -> Data {
    guard FileManager.default.fileExists(atPath: path) else { throw TokenizerError("\(path): no such file") }
    do {
        return try Data(contentsOf: URL(fileURLWithPath: path), options: .mappedIfSafe)
    } catch {
        throw TokenizerError("\(path): cannot read: \(error.localizedDescription)")
    }
}

/// A `DecodingError` as "field a.b[2].c: what".
func describe(_ e: DecodingError) -> String {
    func path(_ keys: [CodingKey]) -> String {
        var s = ""
        for k in keys {
            if let i = k.intValue { s += "[\(i)]" } else { s += s.isEmpty ? k.stringValue : ".\(k.stringValue)" }
        }
        return s.isEmpty ? "(top level)" : s
    }
    switch e {
    case .typeMismatch(let t, let c): return "\(path(c.codingPath)): expected \(t): \(c.debugDescription)"
    case .valueNotFound(let t, let c): return "\(path(c.codingPath)): missing \(t) value"
    case .keyNotFound(let k, let c): return "\(path(c.codingPath + [k])): missing field"
    case .dataCorrupted(let c):
        let under = (c.underlyingError as NSError?)?.userInfo[NSDebugDescriptionErrorKey] as? String
        return "\(path(c.codingPath)): malformed JSON: \(under ?? c.debugDescription)"
    @unknown default: return "\(e)"
    }
}
