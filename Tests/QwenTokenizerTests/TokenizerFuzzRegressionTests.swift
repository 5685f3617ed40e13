import Foundation
import Testing

@testable import QwenTokenizer

/// Tokenizer folders the tokenizer fuzz target (Fuzz/Tokenizer, README "Fuzzing") found breaking its round-trip
/// invariant (`decode(encode(s)) == s`), kept under Fixtures/fuzz/: each must now be refused, naming the ids.
@Suite("Fuzz regressions (tokenizer folders)")
struct TokenizerFuzzRegressionTests {
    static func fixture(_ name: String) throws -> String {
        try #require(Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures/fuzz")).path
    }

    static func loadError(folder: String) -> String {
        do {
            _ = try QwenTokenizer.load(folder: folder)
            return "(loaded)"
        } catch {
            return "\(error)"
        }
    }

    @Test("two vocabulary tokens with id 20 (fuzz-tokenizer: \"5\" decoded as \"J\") are refused")
    func duplicateVocabularyId() throws {
        let message = Self.loadError(folder: try Self.fixture("duplicate_vocab_id"))
        #expect(message.contains("id 20 is given to two vocabulary tokens (\"5\" and \"J\")"), "\(message)")
    }

    /// The same checks on the other ways one id or one byte string could get two meanings (written by hand from
    /// the small valid tokenizer of the bad-input tests).
    @Test("an added token on a vocabulary token's id, and two ids for the same bytes, are refused")
    func otherDoubleMeanings() throws {
        let clash = try TokenizerBadInputTests.tokenizerJSON { root in
            root["added_tokens"] = [["id": 97, "content": "<|x|>", "special": true]]
        }
        let message = try TokenizerBadInputTests.loadError(["tokenizer.json": clash])
        #expect(message.contains("added token \"<|x|>\" has id 97, which is already the token \"a\""), "\(message)")

        // " " is outside the byte map, so the key reads as the byte 0x20, which "Ġ" (id 32) already stands for
        let sameBytes = try TokenizerBadInputTests.tokenizerJSON { root in
            var model = root["model"] as! [String: Any]
            var vocab = model["vocab"] as! [String: Int]
            vocab[" "] = 300
            model["vocab"] = vocab
            root["model"] = model
        }
        let m2 = try TokenizerBadInputTests.loadError(["tokenizer.json": sameBytes])
        #expect(m2.contains("stand for the same bytes (\"Ġ\")"), "\(m2)")
        #expect(m2.contains("32") && m2.contains("300"), "\(m2)")

        // The same added token listed twice with one id stays accepted, as an added token that is a vocabulary
        // token with the same bytes.
        let twice = try TokenizerBadInputTests.tokenizerJSON { root in
            let x: [String: Any] = ["id": 257, "content": "<|x|>", "special": true]
            root["added_tokens"] = [x, x, ["id": 256, "content": "ab", "special": false]]
        }
        #expect(try TokenizerBadInputTests.loadError(["tokenizer.json": twice]) == "(loaded)")
    }
}

/// Found reading the loader while writing the fuzz target (the round trip cannot see it: both readings decode
/// the same): a merge listed twice.
@Suite("Tokenizer duplicate merges")
struct TokenizerDuplicateEntryTests {
    @Test("a merge listed twice takes its last rank, as tokenizers 0.23.3 (tools/check_duplicate_merges.py: [256, 99])")
    func duplicateMergeTakesItsLastRank() throws {
        let json = try TokenizerBadInputTests.tokenizerJSON { root in
            var model = root["model"] as! [String: Any]
            var vocab = model["vocab"] as! [String: Int]
            vocab["bc"] = 258
            model["vocab"] = vocab
            model["merges"] = [["b", "c"], ["a", "b"], ["b", "c"]]
            root["model"] = model
        }
        let dir = try OmniFixture.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data(json.utf8).write(to: dir.appendingPathComponent("tokenizer.json"))
        let t = try QwenTokenizer.load(folder: dir.path)
        #expect(t.encode("abc") == [256, 99])
        #expect(t.mergeCount == 3)
    }
}
