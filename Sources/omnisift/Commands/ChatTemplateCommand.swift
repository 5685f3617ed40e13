import ArgumentParser
import Foundation
import QwenTokenizer

/// `omnisift chat-template`: a prompt rendered with the Qwen2.5-Omni chat template, and its ids.
struct ChatTemplateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chat-template",
        abstract: "Render a prompt with the Qwen2.5-Omni chat template and encode it (before placeholder expansion).",
        discussion: """
            The template is written in Swift (no Jinja engine): DIR's template (chat_template.json, \
            chat_template.jinja or tokenizer_config.json) must be the Qwen2.5-Omni one, or --template \
            qwen2.5-omni forces it. Without --system the template's default system message ("You are a helpful \
            assistant.") is used. The user turn holds, in this order, one <|VIDEO|> (--video), one <|AUDIO|> \
            (--audio), one <|IMAGE|> (--image) placeholder between their bos/eos tokens, then the prompt; the \
            assistant header follows. Prints the text and the ids, or with --json {"text", "ids", "count"}.
            """
    )

    @Option(help: "Tokenizer folder.") var tokenizer: String
    @Option(help: "System message (default: the template's).") var system: String?
    @Flag(help: "A video placeholder.") var video = false
    @Flag(help: "An audio placeholder.") var audio = false
    @Flag(help: "An image placeholder.") var image = false
    @Option(help: "The user's text.") var prompt: String
    @Option(help: "Force the built-in template on a folder whose template differs: qwen2.5-omni.") var template: TokenizerCLI.TemplateChoice?
    @Flag(help: "Print {\"text\": ..., \"ids\": [...], \"count\": n}.") var json = false

    struct Report: Encodable { var text: String; var ids: [Int]; var count: Int }

    func run() throws {
        let t = try TokenizerCLI.loadForChat(tokenizer, template: template)
        let r = t.renderChat(TokenizerCLI.messages(system: system, video: video, audio: audio, image: image, prompt: prompt))
        if json {
            try JSONOutput.print(Report(text: r.text, ids: r.ids, count: r.ids.count))
        } else {
            print(r.text)
            print(r.ids.map(String.init).joined(separator: " "))
            print("\(r.ids.count) tokens")
        }
    }
}
