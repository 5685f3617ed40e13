import Foundation

/// What a Hugging Face tokenizer folder holds, read and checked: `tokenizer.json` when present, else
/// `vocab.json` + `merges.txt` (the Qwen2 pipeline is then implied, as transformers' `Qwen2Tokenizer` implies it),
/// plus `tokenizer_config.json` (added tokens when there is no `tokenizer.json`, eos/pad/bos, the chat template)
/// and a processor's `chat_template.json` / `chat_template.jinja`.
struct TokenizerFolder {
    var vocab: [String: Int] = [:]
    var merges: [(String, String)] = []
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

    private mutating func readTokenizerJSON(path: String) throws {
        let data = try readFile(path)
        let root: [String: Any]
        do {
            guard let r = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw TokenizerError("\(path): the top level is not a JSON object")
            }
            root = r
        } catch let e as TokenizerError {
            throw e
        } catch {
            throw TokenizerError("\(path): malformed JSON: \((error as NSError).userInfo[NSDebugDescriptionErrorKey] ?? error.localizedDescription)")
        }
        func fail(_ field: String, _ what: String) -> TokenizerError { TokenizerError("\(path): \(field): \(what)") }
        func object(_ v: Any?, _ field: String) throws -> [String: Any] {
            guard let o = v as? [String: Any] else { throw fail(field, "expected an object, got \(kind(v))") }
            return o
        }
        func string(_ v: Any?, _ field: String) throws -> String {
            guard let s = v as? String else { throw fail(field, "expected a string, got \(kind(v))") }
            return s
        }
        func isNull(_ v: Any?) -> Bool { v == nil || v is NSNull }

        // model
        let model = try object(root["model"], "model")
        if let type = model["type"] {
            let t = try string(type, "model.type")
            guard t == "BPE" else { throw fail("model.type", "\"\(t)\" is not implemented; only \"BPE\" (byte-level) is") }
        }
        if let d = model["dropout"], !isNull(d), (d as? Double ?? 1) != 0 {
            throw fail("model.dropout", "\(d): BPE dropout is not implemented (encoding would be random)")
        }
        for key in ["continuing_subword_prefix", "end_of_word_suffix"] {
            if let v = model[key], !isNull(v), try string(v, "model.\(key)") != "" {
                throw fail("model.\(key)", "\"\(v)\" is not implemented; only \"\" (byte-level BPE)")
            }
        }
        if let v = model["byte_fallback"], (v as? Bool) == true {
            throw fail("model.byte_fallback", "true is not implemented")
        }
        if let v = model["ignore_merges"], !isNull(v) {
            guard let b = v as? Bool else { throw fail("model.ignore_merges", "expected a boolean, got \(kind(v))") }
            ignoreMerges = b
        }
        let vocabObject = try object(model["vocab"], "model.vocab")
        vocab.reserveCapacity(vocabObject.count)
        for (k, v) in vocabObject {
            guard let id = intValue(v), id >= 0 else {
                throw fail("model.vocab[\"\(k)\"]", "expected a non-negative integer id, got \(kind(v)) \(v)")
            }
            vocab[k] = id
        }
        guard let mergeList = model["merges"] as? [Any] else {
            throw fail("model.merges", "expected an array, got \(kind(model["merges"]))")
        }
        merges.reserveCapacity(mergeList.count)
        for (i, m) in mergeList.enumerated() {
            if let pair = m as? [Any], pair.count == 2, let a = pair[0] as? String, let b = pair[1] as? String {
                merges.append((a, b))
            } else if let s = m as? String, let pair = Self.splitMerge(s) {
                merges.append(pair)
            } else {
                throw fail("model.merges[\(i)]", "expected [\"a\", \"b\"] or \"a b\", got \(kind(m)) \(String(describing: m).prefix(60))")
            }
        }

        // normalizer
        let normalizer = root["normalizer"]
        if isNull(normalizer) {
            nfc = false
        } else {
            let n = try object(normalizer, "normalizer")
            let t = try string(n["type"], "normalizer.type")
            if t == "NFC" {
                nfc = true
            } else if t == "Sequence", let list = n["normalizers"] as? [Any],
                      list.count == 1, let one = list[0] as? [String: Any], one["type"] as? String == "NFC" {
                nfc = true
            } else {
                throw fail("normalizer", "type \"\(t)\" is not implemented; only NFC (or none) is")
            }
        }

        // pre-tokenizer: Split(Qwen2 regex, Isolated) then ByteLevel without its own regex
        let pre = try object(root["pre_tokenizer"], "pre_tokenizer")
        let preType = try string(pre["type"], "pre_tokenizer.type")
        guard preType == "Sequence", let steps = pre["pretokenizers"] as? [Any], steps.count == 2 else {
            throw fail("pre_tokenizer", "type \"\(preType)\" is not implemented; only the Qwen2 Sequence [Split, ByteLevel] is")
        }
        let split = try object(steps[0], "pre_tokenizer.pretokenizers[0]")
        guard split["type"] as? String == "Split" else {
            throw fail("pre_tokenizer.pretokenizers[0].type", "\"\(split["type"] ?? "null")\" is not implemented; expected \"Split\"")
        }
        let pattern = try object(split["pattern"], "pre_tokenizer.pretokenizers[0].pattern")
        let regex = try string(pattern["Regex"], "pre_tokenizer.pretokenizers[0].pattern.Regex")
        guard regex == Self.qwen2Pattern else {
            throw fail("pre_tokenizer.pretokenizers[0].pattern.Regex", "\(regex.prefix(80)) is not implemented; only the Qwen2 split regex (SPEC 9) is")
        }
        guard split["behavior"] as? String == "Isolated", (split["invert"] as? Bool ?? false) == false else {
            throw fail("pre_tokenizer.pretokenizers[0]", "behavior \(split["behavior"] ?? "null") / invert \(split["invert"] ?? "null") is not implemented; only Isolated, invert false")
        }
        let bl = try object(steps[1], "pre_tokenizer.pretokenizers[1]")
        guard bl["type"] as? String == "ByteLevel", (bl["add_prefix_space"] as? Bool ?? false) == false,
              (bl["use_regex"] as? Bool ?? true) == false else {
            throw fail("pre_tokenizer.pretokenizers[1]", "only ByteLevel with add_prefix_space false and use_regex false is implemented")
        }

        // decoder and post-processor
        let decoder = try object(root["decoder"], "decoder")
        guard decoder["type"] as? String == "ByteLevel" else {
            throw fail("decoder.type", "\"\(decoder["type"] ?? "null")\" is not implemented; only \"ByteLevel\" is")
        }
        if let post = root["post_processor"], !isNull(post) {
            let p = try object(post, "post_processor")
            guard p["type"] as? String == "ByteLevel" else {
                throw fail("post_processor.type", "\"\(p["type"] ?? "null")\" is not implemented (it could add tokens); only \"ByteLevel\" or null is")
            }
        }

        // added tokens
        if let list = root["added_tokens"], !isNull(list) {
            guard let items = list as? [Any] else { throw fail("added_tokens", "expected an array, got \(kind(list))") }
            for (i, item) in items.enumerated() {
                let field = "added_tokens[\(i)]"
                let o = try object(item, field)
                guard let id = intValue(o["id"]), id >= 0 else { throw fail("\(field).id", "expected a non-negative integer, got \(kind(o["id"]))") }
                let content = try string(o["content"], "\(field).content")
                try Self.checkFlags(o["lstrip"] as? Bool, o["rstrip"] as? Bool, o["single_word"] as? Bool,
                                    o["normalized"] as? Bool, special: o["special"] as? Bool ?? false, where: "\(path): \(field) (\(content))")
                added.append(AddedToken(id: id, content: content, special: o["special"] as? Bool ?? false))
            }
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

    /// "a b" -> ("a", "b"): the old merges format, split at the one space (token texts have no raw spaces).
    static func splitMerge(_ s: some StringProtocol) -> (String, String)? {
        let parts = s.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { return nil }
        return (String(parts[0]), String(parts[1]))
    }

    // MARK: vocab.json + merges.txt

    private mutating func readVocabJSON(path: String) throws {
        let data = try readFile(path)
        do {
            vocab = try JSONDecoder().decode([String: Int].self, from: data)
        } catch let e as DecodingError {
            throw TokenizerError("\(path): \(describe(e)) (expected an object of token -> id)")
        }
        if let bad = vocab.first(where: { $0.value < 0 }) {
            throw TokenizerError("\(path): [\"\(bad.key)\"]: id \(bad.value) is negative")
        }
    }

    private mutating func readMergesTxt(path: String) throws {
        let data = try readFile(path)
        // split on LF bytes (a Swift Character would keep "\r\n" together), dropping a CR before it
        var lineNumber = 0
        for raw in data.split(separator: 0x0A, omittingEmptySubsequences: false) {
            lineNumber += 1
            let bytes = raw.last == 0x0D ? raw.dropLast() : raw
            guard let l = String(bytes: bytes, encoding: .utf8) else {
                throw TokenizerError("\(path): line \(lineNumber): not valid UTF-8")
            }
            if l.isEmpty || (lineNumber == 1 && l.hasPrefix("#version")) { continue }
            guard let pair = Self.splitMerge(l) else {
                throw TokenizerError("\(path): line \(lineNumber): expected two tokens separated by one space, got \"\(l.prefix(60))\"")
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

private func intValue(_ v: Any?) -> Int? {
    if let i = v as? Int { return i }
    if let n = v as? NSNumber {
        // reject non-integers
        let d = n.doubleValue
        guard d == d.rounded(), abs(d) < 1e15 else { return nil }
        return n.intValue
    }
    return nil
}

private func kind(_ v: Any?) -> String {
    switch v {
    case nil, is NSNull: return "null"
    case is String: return "a string"
    case is [Any]: return "an array"
    case is [String: Any]: return "an object"
    case is NSNumber: return "a number or boolean"
    default: return "\(type(of: v!))"
    }
}
