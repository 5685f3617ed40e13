import Foundation
import Testing

@testable import QwenTokenizer

@Suite("Qwen2.5-Omni chat template")
struct ChatTemplateTests {
    static func messages(_ c: ChatCases.Case) -> [ChatMessage] {
        c.messages.map { m in
            switch m.content {
            case .string(let s): return ChatMessage(role: m.role, content: .string(s))
            case .items(let items):
                return ChatMessage(role: m.role, content: .items(items.map { it in
                    switch it.type {
                    case "image": return .image
                    case "audio": return .audio
                    case "video": return .video
                    default: return .text(it.text ?? "")
                    }
                }))
            }
        }
    }

    @Test("the built-in template string is the one the fixtures were rendered with")
    func templateString() throws {
        let f = try OmniFixture.json("chat_cases", as: ChatCases.self)
        #expect(f.chat_template == ChatTemplate.qwen25OmniSource)
    }

    @Test("rendered text and ids equal transformers' renderer + tokenizers for every message shape (>= 8)")
    func shapes() throws {
        let f = try OmniFixture.json("chat_cases", as: ChatCases.self)
        #expect(f.cases.count >= 8)
        for c in f.cases {
            let options = ChatTemplate.Options(addGenerationPrompt: c.add_generation_prompt,
                                               addVisionId: c.add_vision_id, addAudioId: c.add_audio_id)
            let r = OmniFixture.tokenizer.renderChat(Self.messages(c), options: options)
            #expect(r.text == c.text, "\(c.name)")
            #expect(r.ids == c.ids, "\(c.name)")
        }
    }

    @Test("the evaluation prompt (no system, video then text) holds one <|VIDEO|> between vision bos/eos")
    func evaluationPrompt() throws {
        let t = OmniFixture.tokenizer
        let r = t.renderChat([.user([.video, .text("What happens?")])])
        #expect(r.text.hasPrefix("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n<|vision_bos|><|VIDEO|><|vision_eos|>What happens?"))
        let ids = try OmniTokenIds(t)
        let at = try #require(r.ids.firstIndex(of: ids.video))
        #expect(r.ids[at - 1] == ids.visionBOS && r.ids[at + 1] == ids.visionEOS)
        #expect(r.ids.filter { $0 == ids.video }.count == 1)
        #expect(Array(r.ids.suffix(3)) == [ids.imStart, t.id(of: "assistant")!, t.id(of: "Ċ")!])
    }

    @Test("the fixture folder's template passes the check; another template is refused unless forced")
    func check() throws {
        try ChatTemplate.check(OmniFixture.tokenizer, force: false)
        let dir = try OmniFixture.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        for name in ["vocab.json", "merges.txt"] {
            try FileManager.default.copyItem(atPath: OmniFixture.folder + "/" + name, toPath: dir.appendingPathComponent(name).path)
        }
        // no template at all
        let bare = try QwenTokenizer.load(folder: dir.path)
        #expect(throws: TokenizerError.self) { try ChatTemplate.check(bare, force: false) }
        try ChatTemplate.check(bare, force: true)
        // a different (Qwen2-style) template
        let other = #"{"chat_template": "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}"}"#
        try Data(other.utf8).write(to: dir.appendingPathComponent("chat_template.json"))
        let t = try QwenTokenizer.load(folder: dir.path)
        do {
            try ChatTemplate.check(t, force: false)
            Issue.record("a different template was accepted")
        } catch let e as TokenizerError {
            #expect(e.message.contains("chat_template.json") && e.message.contains("differs at character 3"))
            #expect(e.message.contains("--template qwen2.5-omni"))
        }
    }
}
