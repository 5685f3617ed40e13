import Foundation
import QwenTokenizer

/// Answer ids -> text with the model's tokenizer (special tokens skipped, as the reference decodes answers). An id
/// the tokenizer does not know gives nil: the row is `undecoded`, never scored on a guess.
public struct TokenizerTextDecoder: AnswerTextDecoding {
    public let tokenizer: QwenTokenizer

    public init(tokenizer: QwenTokenizer) { self.tokenizer = tokenizer }

    public func text(_ tokens: [Int]) -> String? {
        guard tokens.allSatisfy(tokenizer.contains) else { return nil }
        return try? tokenizer.decode(tokens, skipSpecialTokens: true)
    }

    /// The tokenizer of a model folder (`tokenizer.json`, or `vocab.json` + `merges.txt`), nil when it has none.
    /// A tokenizer that is there but cannot be loaded throws (a setup error: answers must not silently go unscored).
    public static func forModel(folder: String) throws -> TokenizerTextDecoder? {
        let fm = FileManager.default
        let has = ["tokenizer.json", "vocab.json"].contains {
            fm.fileExists(atPath: URL(fileURLWithPath: folder).appendingPathComponent($0).path)
        }
        guard has else { return nil }
        do {
            return TokenizerTextDecoder(tokenizer: try QwenTokenizer.load(folder: folder))
        } catch {
            throw EvalSetupError("\(folder): its tokenizer cannot be loaded: \(error)")
        }
    }
}
