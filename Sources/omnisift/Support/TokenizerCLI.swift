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

    /// The user turn the commands build: video, audio, image, then the text (SPEC 9 order).
    static func messages(system: String?, video: Bool, audio: Bool, image: Bool, prompt: String) -> [ChatMessage] {
        var items: [ChatItem] = []
        if video { items.append(.video) }
        if audio { items.append(.audio) }
        if image { items.append(.image) }
        items.append(.text(prompt))
        return (system.map { [ChatMessage.system($0)] } ?? []) + [.user(items)]
    }

    /// The text of a UTF-8 file; invalid UTF-8 is an error naming the byte offset.
    static func readText(_ path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TokenizerError("\(path): cannot read the file")
        }
        var offset = 0
        var parser = Unicode.UTF8.ForwardParser()
        var it = data.makeIterator()
        while true {
            switch parser.parseScalar(from: &it) {
            case .valid(let s): offset += s.count
            case .emptyInput: return String(decoding: data, as: UTF8.self)
            case .error(let length):
                let bad = data[data.startIndex + offset ..< data.startIndex + offset + length].map { String(format: "0x%02X", $0) }
                throw TokenizerError("\(path): not valid UTF-8 at byte \(offset) (\(bad.joined(separator: " ")))")
            }
        }
    }
}
