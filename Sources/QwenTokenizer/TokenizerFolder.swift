import Foundation

/// What a Hugging Face tokenizer folder holds, read and checked: `tokenizer.json` when present, else
/// `vocab.json` + `merges.txt` (the Qwen2 pipeline is then implied, as transformers' `Qwen2Tokenizer` implies it),
/// plus `tokenizer_config.json` (added tokens when there is no `tokenizer.json`, eos/pad/bos, the chat template)
/// and a processor's `chat_template.json` / `chat_template.jinja`.
struct TokenizerFolder {
    /// (token bytes, id) per vocabulary entry.
    var vocab: [(bytes: [UInt8], id: Int)] = []
    /// Merges in rank order, as token bytes.
    var merges: [([UInt8], [UInt8])] = []
    var added: [AddedToken] = []
    var nfc = true
    var ignoreMerges = false
    var config: TokenizerConfig?
    /// (file, template) of every chat template the folder holds, processor files first.
    var chatTemplates: [(file: String, template: String)] = []
    /// The file the vocabulary came from.
    var source = ""

    /// The split regex of the Qwen2 pre-tokenizer (SPEC 9), the only one implemented.
    static let qwen2Pattern =
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

    static func read(folder: String) throws -> TokenizerFolder {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDir), isDir.boolValue else {
            throw TokenizerError("\(folder): no such folder (a tokenizer folder holds tokenizer.json or vocab.json + merges.txt)")
        }
        let dir = URL(fileURLWithPath: folder)
        func file(_ name: String) -> String { dir.appendingPathComponent(name).path }
        func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: file(name)) }

        var f = TokenizerFolder()
        if exists("tokenizer_config.json") {
            f.config = try TokenizerConfig.read(path: file("tokenizer_config.json"))
        }
        if exists("tokenizer.json") {
            f.source = file("tokenizer.json")
            try f.readTokenizerJSON(path: f.source)
        } else if exists("vocab.json") && exists("merges.txt") {
            f.source = file("vocab.json")
            try f.readVocabJSON(path: file("vocab.json"))
            try f.readMergesTxt(path: file("merges.txt"))
            try f.readAddedFromConfig(path: file("tokenizer_config.json"))
        } else {
            let missing = exists("vocab.json") ? "merges.txt" : (exists("merges.txt") ? "vocab.json" : "tokenizer.json (or vocab.json + merges.txt)")
            throw TokenizerError("\(folder): no tokenizer: \(missing) is missing")
        }
        if exists("chat_template.jinja") {
            let data = try readFile(file("chat_template.jinja"))
            guard let s = String(data: data, encoding: .utf8) else {
                throw TokenizerError("\(file("chat_template.jinja")): not valid UTF-8")
            }
            f.chatTemplates.append((file("chat_template.jinja"), s))
        }
        if exists("chat_template.json") {
            let path = file("chat_template.json")
            do {
                let t = try JSONDecoder().decode(ChatTemplateFile.self, from: try readFile(path))
                f.chatTemplates.append((path, t.chatTemplate))
            } catch let e as DecodingError {
                throw TokenizerError("\(path): \(describe(e))")
            }
        }
        if let t = f.config?.chatTemplate?.template {
            f.chatTemplates.append((file("tokenizer_config.json") + " (chat_template)", t))
        }
        return f
    }

    // MARK: tokenizer.json

    /// The small part of `tokenizer.json` (everything but `model.vocab` and `model.merges`).
    struct TokenizerJSON: Decodable {
        struct Model: Decodable {
            var type: String?
            var dropout: Double?
            var continuingSubwordPrefix: String?
            var endOfWordSuffix: String?
            var byteFallback: Bool?
            var ignoreMerges: Bool?
            enum CodingKeys: String, CodingKey {
                case type, dropout
                case continuingSubwordPrefix = "continuing_subword_prefix"
                case endOfWordSuffix = "end_of_word_suffix"
                case byteFallback = "byte_fallback"
                case ignoreMerges = "ignore_merges"
            }
        }
        struct Pattern: Decodable {
            var regex: String?
            var string: String?
            enum CodingKeys: String, CodingKey { case regex = "Regex", string = "String" }
        }
        /// A normalizer, pre-tokenizer, decoder or post-processor step.
        struct Step: Decodable {
            var type: String
            var pattern: Pattern?
            var behavior: String?
            var invert: Bool?
            var addPrefixSpace: Bool?
            var useRegex: Bool?
            var pretokenizers: [Step]?
            var normalizers: [Step]?
            enum CodingKeys: String, CodingKey {
                case type, pattern, behavior, invert, pretokenizers, normalizers
                case addPrefixSpace = "add_prefix_space"
                case useRegex = "use_regex"
            }
        }
        var normalizer: Step?
        var preTokenizer: Step?
        var decoder: Step?
        var postProcessor: Step?
        /// Entries of `added_tokens` (with their "id"), the same fields as `added_tokens_decoder`.
        var addedTokens: [TokenizerConfig.AddedTokenEntry]?
        var model: Model
        enum CodingKeys: String, CodingKey {
            case normalizer, decoder, model
            case preTokenizer = "pre_tokenizer"
            case postProcessor = "post_processor"
            case addedTokens = "added_tokens"
        }
    }

    private mutating func readTokenizerJSON(path: String) throws {
        let data = try readFile(path)
        // 1. model.vocab and model.merges, read by the byte scanner; their spans are blanked for step 2
        var blanks: [(range: Range<Int>, with: String)] = []
        var gotVocab = false, gotMerges = false
        var vocab: [(bytes: [UInt8], id: Int)] = []
        var merges: [([UInt8], [UInt8])] = []
        try data.withUnsafeBytes { raw in
            var sc = VocabScanner(raw.bindMemory(to: UInt8.self), file: path)
            try sc.object("(top level)") { sc, key in
                guard key == Array("model".utf8) else { return try sc.skipValue(String(decoding: key, as: UTF8.self)) }
                guard sc.peek() == 0x7B else { throw sc.fail("model", "expected an object") }
                try sc.object("model") { sc, k in
                    if k == Array("vocab".utf8) {
                        guard sc.peek() == 0x7B else { throw sc.fail("model.vocab", "expected an object of token -> id") }
                        let start = sc.i
                        vocab = try sc.vocab("model.vocab")
                        blanks.append((start..<sc.i, "{}"))
                        gotVocab = true
                    } else if k == Array("merges".utf8) {
                        guard sc.peek() == 0x5B else { throw sc.fail("model.merges", "expected an array") }
                        let start = sc.i
                        merges = try sc.merges("model.merges")
                        blanks.append((start..<sc.i, "[]"))
                        gotMerges = true
                    } else {
                        try sc.skipValue("model.\(String(decoding: k, as: UTF8.self))")
                    }
                }
            }
            sc.skipWhitespace()
            if sc.i != raw.count { throw sc.fail("(top level)", "unexpected data after the JSON object") }
        }
        self.vocab = vocab
        self.merges = merges
        // 2. the rest through JSONDecoder
        var small = Data()
        var at = 0
        for blank in blanks.sorted(by: { $0.range.lowerBound < $1.range.lowerBound }) {
            small += data[data.startIndex + at ..< data.startIndex + blank.range.lowerBound]
            small += Data(blank.with.utf8)
            at = blank.range.upperBound
        }
        small += data[(data.startIndex + at)...]
        let t: TokenizerJSON
        do {
            t = try JSONDecoder().decode(TokenizerJSON.self, from: small)
        } catch let e as DecodingError {
            throw TokenizerError("\(path): \(describe(e))")
        }
        func fail(_ field: String, _ what: String) -> TokenizerError { TokenizerError("\(path): \(field): \(what)") }

        // model
        let m = t.model
        if let type = m.type, type != "BPE" {
            throw fail("model.type", "\"\(type)\" is not implemented; only \"BPE\" (byte-level) is")
        }
        if let d = m.dropout, d != 0 {
            throw fail("model.dropout", "\(d): BPE dropout is not implemented (encoding would be random)")
        }
        if let p = m.continuingSubwordPrefix, !p.isEmpty {
            throw fail("model.continuing_subword_prefix", "\"\(p)\" is not implemented; only \"\" (byte-level BPE)")
        }
        if let p = m.endOfWordSuffix, !p.isEmpty {
            throw fail("model.end_of_word_suffix", "\"\(p)\" is not implemented; only \"\" (byte-level BPE)")
        }
        if m.byteFallback == true { throw fail("model.byte_fallback", "true is not implemented") }
        guard gotVocab else { throw fail("model.vocab", "missing field") }
        guard gotMerges else { throw fail("model.merges", "missing field") }
        ignoreMerges = m.ignoreMerges ?? false

        // normalizer
        if let n = t.normalizer {
            if n.type == "NFC" || (n.type == "Sequence" && n.normalizers?.count == 1 && n.normalizers?[0].type == "NFC") {
                nfc = true
            } else {
                throw fail("normalizer", "type \"\(n.type)\" is not implemented; only NFC (or none) is")
            }
        } else {
            nfc = false
        }

        // pre-tokenizer: Split(Qwen2 regex, Isolated) then ByteLevel without its own regex
        guard let pre = t.preTokenizer else { throw fail("pre_tokenizer", "missing; only the Qwen2 Sequence [Split, ByteLevel] is implemented") }
        guard pre.type == "Sequence", let steps = pre.pretokenizers, steps.count == 2 else {
            throw fail("pre_tokenizer", "type \"\(pre.type)\" is not implemented; only the Qwen2 Sequence [Split, ByteLevel] is")
        }
        let split = steps[0]
        guard split.type == "Split" else {
            throw fail("pre_tokenizer.pretokenizers[0].type", "\"\(split.type)\" is not implemented; expected \"Split\"")
        }
        guard let regex = split.pattern?.regex else {
            throw fail("pre_tokenizer.pretokenizers[0].pattern.Regex", "missing (a String pattern is not implemented)")
        }
        guard regex == Self.qwen2Pattern else {
            throw fail("pre_tokenizer.pretokenizers[0].pattern.Regex", "\(regex.prefix(80)) is not implemented; only the Qwen2 split regex (SPEC 9) is")
        }
        guard split.behavior == "Isolated", split.invert ?? false == false else {
            throw fail("pre_tokenizer.pretokenizers[0]", "behavior \(split.behavior ?? "null") / invert \(split.invert ?? false) is not implemented; only Isolated, invert false")
        }
        let bl = steps[1]
        guard bl.type == "ByteLevel", bl.addPrefixSpace ?? false == false, bl.useRegex ?? true == false else {
            throw fail("pre_tokenizer.pretokenizers[1]", "only ByteLevel with add_prefix_space false and use_regex false is implemented")
        }

        // decoder and post-processor
        guard let decoder = t.decoder else { throw fail("decoder", "missing; only \"ByteLevel\" is implemented") }
        guard decoder.type == "ByteLevel" else {
            throw fail("decoder.type", "\"\(decoder.type)\" is not implemented; only \"ByteLevel\" is")
        }
        if let p = t.postProcessor, p.type != "ByteLevel" {
            throw fail("post_processor.type", "\"\(p.type)\" is not implemented (it could add tokens); only \"ByteLevel\" or null is")
        }

        // added tokens
        for (i, a) in (t.addedTokens ?? []).enumerated() {
            guard let id = a.id else { throw fail("added_tokens[\(i)].id", "missing field") }
            guard id >= 0 else { throw fail("added_tokens[\(i)].id", "\(id) is negative") }
            try Self.checkFlags(a.lstrip, a.rstrip, a.singleWord, a.normalized, special: a.special ?? false,
                                where: "\(path): added_tokens[\(i)] (\(a.content))")
            added.append(AddedToken(id: id, content: a.content, special: a.special ?? false))
        }
    }

    static func checkFlags(_ lstrip: Bool?, _ rstrip: Bool?, _ singleWord: Bool?, _ normalized: Bool?, special: Bool,
                           where place: String) throws {
        if lstrip == true || rstrip == true || singleWord == true {
            throw TokenizerError("\(place): lstrip / rstrip / single_word are not implemented (only false)")
        }
        if normalized == true {
            throw TokenizerError("\(place): normalized true (matching after normalisation) is not implemented")
        }
    }

    // MARK: vocab.json + merges.txt

    private mutating func readVocabJSON(path: String) throws {
        let data = try readFile(path)
        vocab = try data.withUnsafeBytes { raw in
            var sc = VocabScanner(raw.bindMemory(to: UInt8.self), file: path)
            guard sc.peek() == 0x7B else { throw sc.fail("(top level)", "expected an object of token -> id") }
            let v = try sc.vocab("(top level)")
            sc.skipWhitespace()
            if sc.i != raw.count { throw sc.fail("(top level)", "unexpected data after the JSON object") }
            return v
        }
    }

    private mutating func readMergesTxt(path: String) throws {
        let data = try readFile(path)
        // split on LF bytes (a Swift Character would keep "\r\n" together), dropping a CR before it
        var lineNumber = 0
        for raw in data.split(separator: 0x0A, omittingEmptySubsequences: false) {
            lineNumber += 1
            let line = raw.last == 0x0D ? raw.dropLast() : raw
            if line.isEmpty || (lineNumber == 1 && line.starts(with: Array("#version".utf8))) { continue }
            guard String(bytes: line, encoding: .utf8) != nil else {
                throw TokenizerError("\(path): line \(lineNumber): not valid UTF-8")
            }
            guard let pair = VocabScanner.splitMerge(line) else {
                throw TokenizerError("\(path): line \(lineNumber): expected two tokens separated by one space, got \"\(String(decoding: line.prefix(60), as: UTF8.self))\"")
            }
            merges.append(pair)
        }
    }

    private mutating func readAddedFromConfig(path: String) throws {
        guard let entries = config?.addedTokensDecoder else { return }
        for (key, e) in entries {
            guard let id = Int(key), id >= 0 else {
                throw TokenizerError("\(path): added_tokens_decoder[\"\(key)\"]: the key is not a non-negative integer id")
            }
            try Self.checkFlags(e.lstrip, e.rstrip, e.singleWord, e.normalized, special: e.special ?? false,
                                where: "\(path): added_tokens_decoder[\"\(key)\"] (\(e.content))")
            added.append(AddedToken(id: id, content: e.content, special: e.special ?? false))
        }
        added.sort { $0.id < $1.id }
    }
}
