import ArgumentParser
import Foundation
import QwenTokenizer

/// `omnisift tokenize`: text to ids.
struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Encode text with a Qwen2 tokenizer folder (exact to Hugging Face tokenizers).",
        discussion: """
            DIR is a Hugging Face tokenizer folder (tokenizer.json, or vocab.json + merges.txt, and \
            tokenizer_config.json), e.g. the model folder. Added tokens such as <|im_start|> in the text are \
            matched first and become their ids. Prints the ids, or with --json {"ids": [...], "count": n}.
            """
    )

    @Option(help: "Tokenizer folder.") var tokenizer: String
    @Option(help: "Read the text from this UTF-8 file instead of TEXT.") var file: String?
    @Flag(help: "Print {\"ids\": [...], \"count\": n}.") var json = false
    @Argument(help: "The text.") var text: String?

    struct Report: Encodable { var ids: [Int]; var count: Int }

    func validate() throws {
        if file != nil && text != nil { throw ValidationError("give TEXT or --file F, not both") }
        if file == nil && text == nil { throw ValidationError("give the TEXT to encode or --file F") }
    }

    func run() throws {
        let t = try TokenizerCLI.load(tokenizer)
        let input = try file.map(TokenizerCLI.readText) ?? text!
        let ids = t.encode(input)
        if json {
            try JSONOutput.print(Report(ids: ids, count: ids.count))
        } else {
            print(ids.map(String.init).joined(separator: " "))
            print("\(ids.count) tokens")
        }
    }
}
