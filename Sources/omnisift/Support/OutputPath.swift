import Foundation

/// Checks on the output path of a command that reads one file and writes another, so that a mistyped `-o` can
/// never replace the input (the project rule: bad input loses nothing).
enum OutputPath {
    /// Whether `a` and `b` name the same existing file: same device and inode (hard links, `./x` vs `x`,
    /// symbolic links), or the same standardized path when either does not exist yet.
    static func sameFile(_ a: String, _ b: String) -> Bool {
        var sa = stat(), sb = stat()
        if stat(a, &sa) == 0, stat(b, &sb) == 0 {
            return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino
        }
        let ua = URL(fileURLWithPath: a).standardizedFileURL.resolvingSymlinksInPath().path
        let ub = URL(fileURLWithPath: b).standardizedFileURL.resolvingSymlinksInPath().path
        return ua == ub
    }

    /// Throws `CLIError` (a run-time error, printed without the usage text) when `output` is the same
    /// file as `input`: the command would replace the file it reads with a different file.
    static func requireDistinct(output: String, input: String, option: String = "-o", inputRole: String = "the input",
                                writes what: String) throws {
        if sameFile(output, input) {
            throw CLIError(
                "\(option) \(output) is \(inputRole) (\(input)); writing \(what) there would replace it. Give another output path")
        }
    }
}

