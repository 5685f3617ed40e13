import Foundation

/// One benchmark item (SPEC 11): a multiple-choice question about a video (or about a prompt already exported as
/// a prefill file), with its options and the correct letter.
public struct EvalItem: Sendable, Equatable {
    /// Where the model input comes from.
    public enum Source: Sendable, Equatable {
        /// A prefill file (SPEC 6) holding the whole prompt with its embeddings; the question is already inside.
        case prefill(path: String)
        /// A media file; the MCQ prompt of SPEC 5 is built from `question` and `options`.
        case video(path: String)
    }

    /// 1-based line number in the jsonl file.
    public let line: Int
    /// 0-based ordinal among the non-blank lines of the file (what `--limit` and `--shard` count).
    public let ordinal: Int
    /// The item's `id`, or `line-N` when it has none.
    public let id: String
    public let task: String?
    public let duration: Double?
    public let question: String
    /// The options as given ("A. a dog", ...), in letter order; empty for a prefill item that lists none.
    public let options: [String]
    /// The letters a prediction may take: the options' letters, or A-D when the item lists no options.
    public let letters: [Character]
    /// The correct letter.
    public let answer: Character
    public let source: Source
    /// An explicit prompt text from the item (`prompt`), used instead of the built MCQ prompt for media items.
    public let prompt: String?
    /// Whether the options were read from "A. ..." lines of the question (then the question already shows them).
    public let optionsInQuestion: Bool

    public init(line: Int, ordinal: Int, id: String, task: String?, duration: Double?, question: String,
                options: [String], letters: [Character], answer: Character, source: Source, prompt: String?,
                optionsInQuestion: Bool = false) {
        self.optionsInQuestion = optionsInQuestion
        self.line = line
        self.ordinal = ordinal
        self.id = id
        self.task = task
        self.duration = duration
        self.question = question
        self.options = options
        self.letters = letters
        self.answer = answer
        self.source = source
        self.prompt = prompt
    }

    /// The user text for a media item: the item's `prompt` when given, else the MCQ prompt of SPEC 5.
    public var promptText: String {
        prompt ?? MCQPrompt.text(question: question, options: optionsInQuestion ? [] : options)
    }
}

/// A problem with one item, or with one (item, method, ratio) run: written to `errors.jsonl`, counted in the
/// summary, never a crash of the run.
public struct EvalIssue: Error, Sendable, Equatable, Codable, CustomStringConvertible {
    public enum Kind: String, Sendable, Codable, CaseIterable {
        case malformedLine = "malformed_line"
        case missingField = "missing_field"
        case badOptions = "bad_options"
        case badAnswer = "bad_answer"
        case duplicateID = "duplicate_id"
        case missingMedia = "missing_media"
        /// A media file that exists but cannot be decoded (not media, truncated, a broken stream).
        case badMedia = "bad_media"
        /// Media the model cannot take (no video stream, a prompt past the context), or a run without towers.
        case unsupportedMedia = "unsupported_media"
        case badPrefill = "bad_prefill"
        case compression
        case generation
    }

    public let line: Int
    public let item: String?
    public let kind: Kind
    /// Set when the problem belongs to one method x ratio run only.
    public let method: String?
    public let keep: Double?
    public let message: String

    public init(line: Int, item: String?, kind: Kind, method: String? = nil, keep: Double? = nil, message: String) {
        self.line = line
        self.item = item
        self.kind = kind
        self.method = method
        self.keep = keep
        self.message = message
    }

    enum CodingKeys: String, CodingKey {
        case line, item, kind, method, keep, message
    }

    public var description: String {
        var where_ = "line \(line)"
        if let item { where_ += " (item \(item))" }
        if let method { where_ += " [\(method)\(keep.map { " keep \(EvalRunKey.keepLabel($0))" } ?? "")]" }
        return "\(where_): \(kind.rawValue): \(message)"
    }

    /// The key an issue is deduplicated by on `--resume`.
    var dedupKey: String { "\(line)\t\(item ?? "")\t\(method ?? "")\t\(keep.map(EvalRunKey.keepLabel) ?? "")\t\(kind.rawValue)" }
}

/// The benchmark file: items and the lines that could not be read.
public struct BenchmarkFile: Sendable {
    public let path: String
    public let items: [EvalItem]
    /// The lines that are not items, each with its ordinal (so `--limit` and `--shard` select them like items).
    public let issues: [(ordinal: Int, issue: EvalIssue)]
    /// Non-blank lines in the file (items + malformed ones).
    public let lineCount: Int
    /// A 64-bit FNV-1a digest of the file's bytes (hex): resumed and merged runs check they read the same data.
    public let digest: String

    /// Reads `path`; media and prefill paths are resolved against the file's folder. Throws only when the file
    /// itself cannot be read (a fatal setup error); bad lines become `issues`.
    public static func read(path: String) throws -> BenchmarkFile {
        guard let data = FileManager.default.contents(atPath: path) else {
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDir) {
                throw EvalSetupError(isDir.boolValue ? "--data \(path) is a folder; give the benchmark's .jsonl file"
                                                     : "--data \(path) cannot be read")
            }
            throw EvalSetupError("--data \(path): no such file")
        }
        return parse(data: data, path: path)
    }

    /// Parses jsonl bytes as if read from `path`.
    public static func parse(data: Data, path: String) -> BenchmarkFile {
        let base = URL(fileURLWithPath: path).deletingLastPathComponent().path
        var items: [EvalItem] = []
        var issues: [(ordinal: Int, issue: EvalIssue)] = []
        var ids = Set<String>()
        var ordinal = 0
        let bytes = [UInt8](data)
        var lineNo = 0
        var start = 0
        while start < bytes.count {
            var end = start
            while end < bytes.count && bytes[end] != 0x0A { end += 1 }
            lineNo += 1
            let slice = bytes[start..<end]
            start = end + 1
            if slice.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
            defer { ordinal += 1 }
            do {
                let item = try EvalItemParser.parse(Data(slice), line: lineNo, ordinal: ordinal, baseDirectory: base)
                if ids.contains(item.id) {
                    throw EvalIssue(line: lineNo, item: item.id, kind: .duplicateID,
                                    message: "id '\(item.id)' was already used by an earlier line; ids must be unique")
                }
                ids.insert(item.id)
                items.append(item)
            } catch let issue as EvalIssue {
                issues.append((ordinal, issue))
            } catch {
                issues.append((ordinal, EvalIssue(line: lineNo, item: nil, kind: .malformedLine, message: "\(error)")))
            }
        }
        return BenchmarkFile(path: path, items: items, issues: issues, lineCount: ordinal, digest: fnv1a64(bytes))
    }

    static func fnv1a64(_ bytes: [UInt8]) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return String(h, radix: 16)
    }
}

/// A problem that stops the run before the first item (no model, unreadable data, a results folder in use).
public struct EvalSetupError: Error, Sendable, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// One jsonl line -> `EvalItem`, or an `EvalIssue` naming the line and the field.
public enum EvalItemParser {
    /// Option letters accepted (SPEC 11's benchmarks are four-way multiple choice).
    public static let allLetters: [Character] = ["A", "B", "C", "D"]

    public static func parse(_ line: Data, line no: Int, ordinal: Int, baseDirectory: String) throws -> EvalItem {
        func issue(_ kind: EvalIssue.Kind, _ message: String, id: String? = nil) -> EvalIssue {
            EvalIssue(line: no, item: id, kind: kind, message: message)
        }
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: line, options: [.fragmentsAllowed])
        } catch {
            let text = String(decoding: line.prefix(80), as: UTF8.self)
            throw issue(.malformedLine, "not valid JSON: '\(text)\(line.count > 80 ? "..." : "")'")
        }
        guard let dict = object as? [String: Any] else {
            throw issue(.malformedLine, "a line must hold one JSON object, found \(type(of: object))")
        }
        // id: string or integer; default line-N.
        var id = "line-\(no)"
        if let raw = dict["id"], !(raw is NSNull) {
            if let s = raw as? String, !s.isEmpty { id = s }
            else if let n = raw as? Int { id = String(n) }
            else { throw issue(.missingField, "'id' must be a non-empty string or a number") }
        }
        func string(_ key: String) throws -> String? {
            guard let raw = dict[key], !(raw is NSNull) else { return nil }
            guard let s = raw as? String else { throw issue(.missingField, "'\(key)' must be a string", id: id) }
            return s
        }
        let task = try string("task")
        var duration: Double?
        // duration: seconds, as a number or a numeric string; a label such as VideoMME's "short" is not a length
        // and is left out (the field is informational).
        if let raw = dict["duration"], !(raw is NSNull) {
            if let s = raw as? String {
                duration = Double(s.trimmingCharacters(in: .whitespaces)).flatMap { $0.isFinite ? $0 : nil }
            } else if let n = raw as? NSNumber, n.doubleValue.isFinite {
                duration = n.doubleValue
            } else {
                throw issue(.missingField, "'duration' must be a number of seconds", id: id)
            }
        }
        let prefillPath = try string("prefill_path")
        let videoPath = try string("video_path")
        let question = try string("question") ?? ""
        let prompt = try string("prompt")

        let source: EvalItem.Source
        // An absolute path is kept as it is; a relative one is joined to the jsonl's folder as text (URL's
        // appendingPathComponent would percent-encode some characters, so the harness would open another name).
        // A NUL cannot be in a file name: the C call would stop at it and open a shorter path.
        func resolve(_ p: String, _ key: String) throws -> String {
            if p.unicodeScalars.contains("\0") {
                throw issue(.missingField, "'\(key)' holds a NUL character (\\u0000); no file name can contain it", id: id)
            }
            if p.hasPrefix("/") { return p }
            return baseDirectory.hasSuffix("/") ? baseDirectory + p : baseDirectory + "/" + p
        }
        if let p = prefillPath, !p.isEmpty {
            source = .prefill(path: try resolve(p, "prefill_path"))
        } else if let v = videoPath, !v.isEmpty {
            source = .video(path: try resolve(v, "video_path"))
            if question.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty && prompt == nil {
                throw issue(.missingField, "a video_path item needs a 'question'", id: id)
            }
        } else {
            throw issue(.missingField, "no 'video_path' and no 'prefill_path': the item has no model input", id: id)
        }

        // Options: a list, or "A. ..." lines inside the question.
        var options: [String] = []
        var inQuestion = false
        if let raw = dict["options"], !(raw is NSNull) {
            guard let list = raw as? [Any], list.allSatisfy({ $0 is String }) else {
                throw issue(.badOptions, "'options' must be a list of strings such as \"A. a dog\"", id: id)
            }
            options = list.map { ($0 as! String).trimmingCharacters(in: .whitespaces) }
        } else {
            options = question.split(omittingEmptySubsequences: true, whereSeparator: \.isNewline)
                .map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { optionLetter($0) != nil }
            inQuestion = !options.isEmpty
        }
        var letters: [Character] = []
        for (k, o) in options.enumerated() {
            guard let letter = optionLetter(o) else {
                throw issue(.badOptions, "option \(k + 1) '\(o.prefix(40))' does not start with a letter A-D (\"A. ...\")", id: id)
            }
            guard k < allLetters.count, letter == allLetters[k] else {
                let expected = k < allLetters.count ? "\(allLetters[k])" : "at most \(allLetters.count) options (A-D)"
                throw issue(.badOptions, "option \(k + 1) has letter \(letter); expected \(expected)", id: id)
            }
            letters.append(letter)
        }
        if options.count == 1 { throw issue(.badOptions, "only one option (A); a question needs at least two", id: id) }
        if options.isEmpty {
            if case .video = source {
                throw issue(.badOptions, "no options: give 'options' [\"A. ...\", ...] or put \"A. ...\" lines in the question", id: id)
            }
            letters = allLetters  // a prefill item's prompt carries its options; predictions may be A-D
        }

        // Answer: one letter ("B", also "B." or "(B)"), among the options.
        guard let rawAnswer = dict["answer"], !(rawAnswer is NSNull) else {
            throw issue(.badAnswer, "no 'answer' (the correct letter)", id: id)
        }
        guard let answerText = rawAnswer as? String, let answer = answerLetter(answerText) else {
            throw issue(.badAnswer, "'answer' \(rawAnswer) is not an option letter A-D", id: id)
        }
        guard letters.contains(answer) else {
            throw issue(.badAnswer, "answer \(answer) is not one of the options \(String(letters))", id: id)
        }
        return EvalItem(line: no, ordinal: ordinal, id: id, task: task, duration: duration, question: question,
                        options: options, letters: letters, answer: answer, source: source, prompt: prompt,
                        optionsInQuestion: inQuestion)
    }

    /// The letter of an option line "A. x", "A) x", "A: x", "(A) x" (A-Z), or nil.
    static func optionLetter(_ s: String) -> Character? {
        var scalars = Array(s.unicodeScalars)
        if scalars.first == "(" { scalars.removeFirst() }
        guard scalars.count >= 2, let first = scalars.first, ("A"..."Z").contains(first) else { return nil }
        return [".", ")", ":"].contains(scalars[1]) ? Character(first) : nil
    }

    /// The letter of an answer field: "B", "b", "B.", "(B)", "B. text".
    static func answerLetter(_ s: String) -> Character? {
        let t = s.trimmingCharacters(in: .whitespaces).uppercased()
        if t.count == 1, let c = t.first, ("A"..."Z").contains(c) { return c }
        return optionLetter(t)
    }
}
