/// The one error type of the command-line layer (bad output paths, option combinations found only at run time,
/// unreadable side files): the message names the file or option and the numbers; `main` prints it as
/// `Error: <message>` and exits 1.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
