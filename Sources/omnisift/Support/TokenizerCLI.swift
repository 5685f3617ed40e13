import ArgumentParser
import Foundation
import QwenTokenizer

/// What the tokenizer commands share: loading a folder, the `--template` choice, reading text files.
enum TokenizerCLI {
    /// `--template`: the only template rendered is Qwen2.5-Omni's; naming it forces it on a folder whose
    /// template differs or is missing.
    enum TemplateChoice: String, ExpressibleByArgument, CaseIterable {
        case qwen25Omni = "qwen2.5-omni"
    }

    static func load(_ folder: String) throws -> QwenTokenizer {
        try QwenTokenizer.load(folder: folder)
    }

    /// Loads the tokenizer and checks its chat template (unless forced).
    static func loadForChat(_ folder: String, template: TemplateChoice?) throws -> QwenTokenizer {
        let t = try load(folder)
        try ChatTemplate.check(t, force: template != nil)
        return t
    }

    /// The user turn the commands build (`ChatMessage.userTurn`).
    static func messages(system: String?, video: Bool, audio: Bool, image: Bool, prompt: String) -> [ChatMessage] {
        ChatMessage.userTurn(system: system, video: video, audio: audio, image: image, prompt: prompt)
    }

    /// The text of a UTF-8 file (`TextFile.readUTF8`).
    static func readText(_ path: String) throws -> String { try TextFile.readUTF8(path) }
}
