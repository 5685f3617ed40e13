import ArgumentParser
import Foundation
import QwenTokenizer

/// `omnisift detokenize`: ids to text.
struct DetokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detokenize",
        abstract: "Decode token ids with a Qwen2 tokenizer folder (exact to Hugging Face tokenizers).",
        discussion: """
            Concatenates the tokens' bytes and reads them as UTF-8 (ill-formed sequences become U+FFFD). With \
            --skip-special, special added tokens (<|im_end|>, <|VIDEO|>, ...) are left out. An id that is not a \
            token of DIR is an error. Prints the text, or with --json {"text": "..."}.
            """
    )

    @Option(help: "Tokenizer folder.") var tokenizer: String
    @Flag(help: "Leave out special tokens.") var skipSpecial = false
    @Flag(help: "Print {\"text\": \"...\"}.") var json = false
    @Argument(parsing: .allUnrecognized, help: "Token ids.") var ids: [String] = []

    func run() throws {
        var values: [Int] = []
        for s in ids where s != "--" {
            guard let v = Int(s) else { throw TokenizerError("'\(s)' is not a token id (an integer)") }
            values.append(v)
        }
        let t = try TokenizerCLI.load(tokenizer)
        let text = try t.decode(values, skipSpecialTokens: skipSpecial)
        if json {
            try JSONOutput.print(["text": text])
        } else {
            print(text)
        }
    }
}
