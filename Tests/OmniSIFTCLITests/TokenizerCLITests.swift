import Foundation
import QwenOmni
import Testing

/// `omnisift tokenize`, `detokenize`, `chat-template` and `generate --tokenizer` on the real Qwen2.5-Omni
/// vocabulary (Tests/Fixtures/qwen2.5-omni-tokenizer), checked against the fixtures of
/// tools/gen_tokenizer_fixtures.py (Hugging Face tokenizers and transformers' chat-template renderer).
@Suite("CLI tokenizer commands")
struct TokenizerCLITests {
    static let tests = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    static let folder = tests.appendingPathComponent("Fixtures/qwen2.5-omni-tokenizer").path

    static func fixture(_ name: String) throws -> [String: Any] {
        let url = tests.appendingPathComponent("QwenTokenizerTests/Fixtures/\(name).json")
        return try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
    }

    @Test("tokenize --json and --file give the ids of Hugging Face tokenizers; detokenize --json gives the text back")
    func tokenizeDetokenize() throws {
        let cases = try Self.fixture("encode_cases")["cases"] as! [[String: Any]]
        // one text with CJK, emoji, CRLF and a special token inline
        let c = try #require(cases.first { ($0["text"] as! String).contains("\r\n") && ($0["text"] as! String).contains("<|im_") })
        let text = c["text"] as! String, ids = c["ids"] as! [Int]
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("text.txt")
        try Data(text.utf8).write(to: file)
        let out = try CLI.run(["tokenize", "--tokenizer", Self.folder, "--json", "--file", file.path])
        #expect(out.status == 0, "\(out.stderr)")
        let report = try CLI.json(out)
        #expect(report["ids"] as? [Int] == ids)
        #expect(report["count"] as? Int == ids.count)
        let arg = try CLI.run(["tokenize", "--tokenizer", Self.folder, "--json", "Hello world"])
        #expect(try CLI.json(arg)["ids"] as? [Int] == [9707, 1879])

        let back = try CLI.run(["detokenize", "--tokenizer", Self.folder, "--json"] + ids.map(String.init))
        #expect(try CLI.json(back)["text"] as? String == text.precomposedStringWithCanonicalMapping)
        let skipped = try CLI.run(["detokenize", "--tokenizer", Self.folder, "--skip-special", "--json", "9707", "151645", "1879"])
        #expect(try CLI.json(skipped)["text"] as? String == "Hello world")
    }

    @Test("chat-template --video --prompt renders the text and ids of transformers' renderer")
    func chatTemplate() throws {
        let cases = try Self.fixture("chat_cases")["cases"] as! [[String: Any]]
        let c = try #require(cases.first { ($0["name"] as! String).hasPrefix("video + text, no system") })
        let out = try CLI.run(["chat-template", "--tokenizer", Self.folder, "--video", "--prompt", "What happens in the video?", "--json"])
        #expect(out.status == 0, "\(out.stderr)")
        let r = try CLI.json(out)
        #expect(r["text"] as? String == c["text"] as? String)
        #expect(r["ids"] as? [Int] == c["ids"] as? [Int])
        #expect(r["count"] as? Int == (c["ids"] as! [Int]).count)
        let sys = try CLI.run(["chat-template", "--tokenizer", Self.folder, "--system", "Be brief.", "--audio", "--image",
                               "--prompt", "Hi", "--json"])
        #expect(try CLI.json(sys)["text"] as? String
            == "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\n<|audio_bos|><|AUDIO|><|audio_eos|><|vision_bos|><|IMAGE|><|vision_eos|>Hi<|im_end|>\n<|im_start|>assistant\n")
    }

    @Test("a folder with another chat template is refused (exit 1) unless --template qwen2.5-omni")
    func templateRefused() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        for name in ["vocab.json", "merges.txt"] {
            try FileManager.default.copyItem(atPath: Self.folder + "/" + name, toPath: dir.appendingPathComponent(name).path)
        }
        try Data(#"{"chat_template": "{{ messages }}"}"#.utf8).write(to: dir.appendingPathComponent("chat_template.json"))
        let refused = try CLI.run(["chat-template", "--tokenizer", dir.path, "--prompt", "x"])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("chat_template.json") && refused.stderr.contains("--template qwen2.5-omni"), "\(refused.stderr)")
        let forced = try CLI.run(["chat-template", "--tokenizer", dir.path, "--prompt", "x", "--template", "qwen2.5-omni", "--json"])
        #expect(forced.status == 0, "\(forced.stderr)")
        #expect((try CLI.json(forced)["text"] as? String)?.hasSuffix("x<|im_end|>\n<|im_start|>assistant\n") == true)
    }

    @Test("bad input: missing folder, malformed tokenizer.json, invalid UTF-8 file, ids outside the vocabulary -> exit 1 naming it")
    func badInput() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data("{\"model\": {\"type\": \"Unigram\"}}".utf8).write(to: dir.appendingPathComponent("tokenizer.json"))
        let bad = dir.appendingPathComponent("bad.txt")
        try Data([0x6F, 0x6B, 0xC3, 0x28]).write(to: bad)
        let cases: [([String], String)] = [
            (["tokenize", "--tokenizer", "/nonexistent/tok", "x"], "/nonexistent/tok"),
            (["tokenize", "--tokenizer", dir.path, "x"], "model.type: \"Unigram\" is not implemented"),
            (["tokenize", "--tokenizer", Self.folder, "--file", bad.path], "not valid UTF-8 at byte 2"),
            (["detokenize", "--tokenizer", Self.folder, "9707", "151665"], "id 151665 (position 1)"),
            (["detokenize", "--tokenizer", Self.folder, "12x"], "'12x' is not a token id"),
        ]
        for (args, needle) in cases {
            let out = try CLI.run(args)
            #expect(out.status == 1, "\(args): status \(out.status)")
            #expect(out.stderr.contains(needle), "\(args): \(out.stderr)")
            #expect(!out.stderr.contains("Fatal error"))
        }
    }

    @Test("generate --tokenizer prints the new tokens as text; the JSON gains \"text\"")
    func generateText() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = dir.appendingPathComponent("text.safetensors").path
        try PrefillFile(inputIds: [72, 101, 108, 108]).write(to: input)
        let model = Self.tests.appendingPathComponent("QwenOmniTests/Fixtures/thinker/checkpoint").path
        let out = try CLI.run(["generate", "--model", model, input, "--tokenizer", Self.folder, "--max-new-tokens", "4",
                               "--json", "--quiet"])
        #expect(out.status == 0, "\(out.stderr)")
        let r = try CLI.json(out)
        let tokens = try #require(r["tokens"] as? [Int])
        #expect(tokens.count == 4)
        // the tiny model's ids (< 256) are the byte tokens: the text is their bytes read as UTF-8
        let detok = try CLI.run(["detokenize", "--tokenizer", Self.folder, "--json"] + tokens.map(String.init))
        #expect(r["text"] as? String == (try CLI.json(detok)["text"] as? String))
        let plain = try CLI.run(["generate", "--model", model, input, "--tokenizer", Self.folder, "--max-new-tokens", "4", "--quiet"])
        #expect(plain.stdout.contains("text: "))
        // --prompt renders the chat template: the tiny model (256 ids) cannot embed <|im_start|>, which is said clearly
        let prompt = try CLI.run(["generate", "--model", model, "--tokenizer", Self.folder, "--prompt", "Hi", "--quiet"])
        #expect(prompt.status == 1 && prompt.stderr.contains("151644"), "\(prompt.stderr)")
        let noTok = try CLI.run(["generate", "--model", model, "--prompt", "Hi"])
        #expect(noTok.status != 0 && noTok.stderr.contains("--prompt needs --tokenizer"))
    }
}
