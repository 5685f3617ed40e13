/// The multiple-choice prompt of the OmniSIFT evaluation (SPEC 5): the instruction, then the question, then the
/// options, one per line. It is the user text that follows the media items of the chat template (SPEC 9).
public enum MCQPrompt {
    public static let instruction = "Select the best answer to the following multiple-choice question based on the "
        + "video. Respond with only the letter (A, B, C, or D) of the correct option."

    /// `instruction \n question \n A. ... \n B. ...` (options omitted when empty: the question already shows them).
    public static func text(question: String, options: [String]) -> String {
        ([instruction, question.trimmingCharacters(in: .whitespacesAndNewlines)] + options).joined(separator: "\n")
    }
}
