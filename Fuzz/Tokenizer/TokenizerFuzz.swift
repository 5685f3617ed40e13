import Foundation
import FuzzSupport
import QwenOmni
import QwenTokenizer

/// Tokenizer folders and text through what `tokenize`, `detokenize`, `chat-template` (and `generate --prompt`,
/// `run`) run on them. The first byte picks what the rest is (its low two bits; bits 2-4 are chat options):
///
/// - 0 `text`: a file for `tokenize --file` (`TextFile.readUTF8`: refused exactly when it is not UTF-8), encoded
///   with the real Qwen2.5-Omni vocabulary (Tests/Fixtures/qwen2.5-omni-tokenizer) and decoded back;
/// - 1 `ids`: 3-byte little-endian ids (some outside the vocabulary) for `detokenize`: `decode` with and without
///   special tokens, the streaming decoder of `generate`, then the decoded text encoded and decoded again;
/// - 2 `chat`: messages (roles, string or item contents, texts) rendered with the chat template and encoded,
///   the placeholders expanded into a prompt layout as `run`/`prepare` do (`PromptLayout.build(templateIds:)`);
/// - 3 `folder`: a tokenizer folder: sections `\n@@NAME\n` hold tokenizer.json, tokenizer_config.json,
///   chat_template.json, chat_template.jinja, vocab.json or merges.txt (the text before the first is encoded
///   with what loaded); loaded with `QwenTokenizer.load`, its template checked (`ChatTemplate.check`), the text
///   encoded and decoded, every id decoded, a chat rendered when it has the Qwen2.5-Omni tokens.
///
/// The invariant checked on every encoding: decoding the ids gives back the text, with the stretches between
/// added tokens NFC-normalised when the tokenizer normalises (as `tokenizers` does), and every id is a token.
/// Thrown errors are the expected outcome of bad input; traps, failed invariants, sanitizer reports and hangs
/// are findings.
let omni = FuzzFixtures.require("the Qwen2.5-Omni tokenizer fixture") {
    try QwenTokenizer.load(folder: FuzzFixtures.root + "/Tests/Fixtures/qwen2.5-omni-tokenizer")
}
let omniIds = FuzzFixtures.require("the Qwen2.5-Omni token ids") { try OmniTokenIds(omni) }
let folderPath = FuzzInput.path + ".tokenizer"
/// Every ASCII character, and a few two-byte ones, for the round trip of every loaded folder.
let asciiAndMore = String(decoding: Array(0..<128) + Array("é ß Ω ſ ÿ".utf8), as: UTF8.self)
let folderFiles = ["tokenizer.json", "tokenizer_config.json", "chat_template.json", "chat_template.jinja",
                   "vocab.json", "merges.txt"]

/// Loads the fixtures before the first input (libFuzzer's per-input timeout would count the load, seconds under
/// the sanitizer).
@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutablePointer<Int32>?, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>?) -> Int32 {
    _ = omni; _ = omniIds
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTokenizer(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    guard size > 0, let data else { return 0 }
    let mode = data[0]
    let rest = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    switch mode & 3 {
    case 0: fuzzText(rest)
    case 1: fuzzIds(rest)
    case 2: fuzzChat(rest, options: mode >> 2)
    default: fuzzFolder(rest, options: mode >> 2)
    }
    return 0
}

// MARK: text

func fuzzText(_ bytes: [UInt8]) {
    let path = bytes.withUnsafeBufferPointer { FuzzInput.write($0.baseAddress, $0.count) }
    let valid = String(validating: bytes, as: UTF8.self)
    do {
        let text = try TextFile.readUTF8(path)
        check(valid != nil && Array(text.utf8) == bytes, "readUTF8 accepted invalid UTF-8 or changed the bytes")
        roundTrip(omni, text)
    } catch {
        check(valid == nil, "readUTF8 refused valid UTF-8: \(error)")
        // what the lossy readers (`tokenize TEXT` from a shell, answers) hand the tokenizer
        roundTrip(omni, String(decoding: bytes, as: UTF8.self))
    }
}

// MARK: ids

func fuzzIds(_ bytes: [UInt8]) {
    var ids: [Int] = []
    var i = 0
    while i + 2 < bytes.count && ids.count < 4096 {
        let v = Int(bytes[i]) | Int(bytes[i + 1]) << 8 | Int(bytes[i + 2]) << 16
        ids.append(v % (omni.vocabularySize + 16))
        i += 3
    }
    decodeChecks(omni, ids)
}

/// `decode`, `bytes(of:)`, `skipSpecialTokens` and the streaming decoder agree on `ids`; the text round-trips.
func decodeChecks(_ t: QwenTokenizer, _ ids: [Int]) {
    let known = ids.filter(t.contains)
    if known.count != ids.count {
        check((try? t.decode(ids)) == nil, "decode accepted an id that is not a token")
    }
    for skip in [false, true] {
        guard let text = try? t.decode(known, skipSpecialTokens: skip),
              let raw = try? t.bytes(of: known, skipSpecialTokens: skip) else {
            check(false, "decode of known ids threw")
            return
        }
        check(text == String(decoding: raw, as: UTF8.self), "decode differs from bytes(of:)")
        var stream = StreamingDecoder(tokenizer: t, skipSpecialTokens: skip, skipUnknown: true)
        var streamed = ""
        for id in ids { streamed += (try? stream.append(id)) ?? "<threw>" }
        streamed += stream.finish()
        check(streamed == text, "streamed pieces differ from decode (skip special \(skip))")
        if !skip { roundTrip(t, text) }
    }
}

// MARK: chat

/// Messages from bytes: records split by 0x1E; a record's first byte picks the role (system, user, assistant,
/// or the text up to 0x1D as the role) and whether the content is a string or items; items split by 0x1F, each
/// led by a byte for its kind (text, image, audio, video).
func fuzzChat(_ bytes: [UInt8], options bits: UInt8) {
    var messages: [ChatMessage] = []
    for record in bytes.split(separator: 0x1E, omittingEmptySubsequences: false).prefix(16) {
        guard let head = record.first else { continue }
        var body = record.dropFirst()
        let role: String
        switch head & 3 {
        case 0: role = "system"
        case 1: role = "user"
        case 2: role = "assistant"
        default:
            let cut = body.firstIndex(of: 0x1D) ?? body.endIndex
            role = String(decoding: body[..<cut], as: UTF8.self)
            body = cut < body.endIndex ? body[(cut + 1)...] : body[body.endIndex...]
        }
        if head & 4 == 0 {
            messages.append(ChatMessage(role: role, content: .string(String(decoding: body, as: UTF8.self))))
        } else {
            var items: [ChatItem] = []
            for part in body.split(separator: 0x1F, omittingEmptySubsequences: false).prefix(32) {
                switch part.first.map({ $0 & 3 }) {
                case 1: items.append(.image)
                case 2: items.append(.audio)
                case 3: items.append(.video)
                default: items.append(.text(String(decoding: part.dropFirst(), as: UTF8.self)))
                }
            }
            messages.append(ChatMessage(role: role, content: .items(items)))
        }
    }
    let options = ChatTemplate.Options(addGenerationPrompt: bits & 1 != 0, addVisionId: bits & 2 != 0,
                                       addAudioId: bits & 4 != 0)
    chatChecks(omni, omniIds, messages, options: options)
    // the one-turn conversation of `chat-template` / `generate --prompt`, from the first message's text
    let prompt: String
    switch messages.first?.content {
    case .string(let s): prompt = s
    case .items(let items): prompt = items.compactMap { if case .text(let s) = $0 { return s } else { return nil } }.joined()
    case nil: prompt = ""
    }
    let system = messages.count > 1 ? messages.last.flatMap { m -> String? in
        if case .string(let s) = m.content { return s } else { return nil }
    } : nil
    chatChecks(omni, omniIds, ChatMessage.userTurn(system: system, video: bits & 1 != 0, audio: bits & 2 != 0,
                                                    image: bits & 4 != 0, prompt: prompt), options: .init())
}

/// Renders and encodes `messages`. With `strict` (the real vocabulary: its turn and placeholder tokens start with
/// "<|"), when no role or text holds "<|" (so none of those tokens can come from them), the ids hold exactly one
/// `<|im_start|>` per turn and one placeholder per medium, and the placeholders expand into a layout.
func chatChecks(_ t: QwenTokenizer, _ tok: OmniTokenIds, _ messages: [ChatMessage], options: ChatTemplate.Options,
                strict: Bool = true) {
    let (text, ids) = t.renderChat(messages, options: options)
    check(text == ChatTemplate.render(messages, options: options), "renderChat's text differs from render")
    roundTrip(t, text, ids: ids)
    var media: [ChatItem] = []
    var texts: [String] = []
    for m in messages {
        texts.append(m.role)
        switch m.content {
        case .string(let s): texts.append(s)
        case .items(let items):
            for item in items { if case .text(let s) = item { texts.append(s) } else { media.append(item) } }
        }
    }
    // A role or text may spell out a placeholder ("<|IMAGE|>") and so add a medium, as in the reference.
    let clean = strict && !texts.contains { $0.contains("<|") }
    let count = { (id: Int) in ids.reduce(0) { $0 + ($1 == id ? 1 : 0) } }
    if clean {
        let turns = messages.count + (messages.first.map { $0.role != "system" ? 1 : 0 } ?? 0)
            + (options.addGenerationPrompt ? 1 : 0)
        check(count(tok.imStart) == turns, "\(count(tok.imStart)) <|im_start|> for \(turns) turns")
        check(count(tok.image) == media.filter { $0 == .image }.count, "image placeholders")
        check(count(tok.audio) == media.filter { $0 == .audio }.count, "audio placeholders")
        check(count(tok.video) == media.filter { $0 == .video }.count, "video placeholders")
    }
    // what `run` and `prepare` do with the ids: one medium per placeholder, of small sizes
    let items: [PromptItem] = media.map {
        switch $0 {
        case .image: return .image(VisionGrid(t: 1, h: 2, w: 4))
        case .audio: return .audio(melFrames: 100)
        default: return .video(VisionGrid(t: 2, h: 2, w: 2), secondsPerGrid: 1, audioMelFrames: nil)
        }
    }
    do {
        let layout = try PromptLayout.build(templateIds: ids.map(Int64.init), media: items)
        _ = try layout.ropeIndex()
    } catch {
        check(!clean, "a clean chat did not lay out: \(error)")
    }
}

// MARK: folder

func fuzzFolder(_ bytes: [UInt8], options bits: UInt8) {
    let fm = FileManager.default
    try? fm.removeItem(atPath: folderPath)
    FuzzFixtures.require("the scratch tokenizer folder") { try fm.createDirectory(atPath: folderPath, withIntermediateDirectories: true) }
    // sections: "\n@@NAME\n"
    var text: [UInt8] = []
    var current: String?
    var content: [UInt8] = []
    func flush() {
        if let name = current {
            _ = content.withUnsafeBufferPointer { FuzzInput.write($0.baseAddress, $0.count, to: folderPath + "/" + name) }
        } else {
            text = content
        }
        content = []
    }
    var i = 0
    let marker: [UInt8] = Array("\n@@".utf8)
    outer: while i < bytes.count {
        if bytes[i] == 0x0A && bytes[i...].starts(with: marker) {
            for (k, name) in folderFiles.enumerated() {
                let header = marker + Array(name.utf8) + [0x0A]
                if bytes[i...].starts(with: header) {
                    flush()
                    current = folderFiles[k]
                    i += header.count
                    continue outer
                }
            }
        }
        content.append(bytes[i])
        i += 1
    }
    flush()

    let t: QwenTokenizer
    do { t = try QwenTokenizer.load(folder: folderPath) } catch {
        if FuzzInput.verbose { print("fuzz-tokenizer: folder refused: \(error)") }
        return
    }
    check(t.vocabularySize > 0 && t.vocabularySize <= 16_000_000, "vocabulary size \(t.vocabularySize)")
    _ = try? ChatTemplate.check(t, force: bits & 1 != 0)
    let s = String(decoding: text, as: UTF8.self)
    roundTrip(t, s)
    roundTrip(t, asciiAndMore)
    var every: [Int] = []
    for id in 0..<min(t.vocabularySize, 1024) where t.contains(id) {
        every.append(id)
        check(t.tokenText(id) != nil, "token \(id) has no text")
        if let text = t.tokenText(id), t.addedTokens.contains(where: { $0.id == id }) {
            check(t.id(of: text) != nil, "added token \(id) cannot be looked up by its content")
        }
    }
    decodeChecks(t, every)
    if let tok = try? OmniTokenIds(t) {
        chatChecks(t, tok, ChatMessage.userTurn(system: nil, video: true, audio: true, image: true, prompt: s), options: .init(),
                   strict: false)
    }
}

// MARK: the round-trip invariant

/// `decode(encode(text))` is `text` with the stretches between added tokens (matched leftmost, longest first, in
/// the raw text) NFC-normalised when `t` normalises, and every added token as its decoded bytes.
func roundTrip(_ t: QwenTokenizer, _ text: String, ids given: [Int]? = nil) {
    let ids = given ?? t.encode(text)
    check(ids.allSatisfy(t.contains), "encode produced an id that is not a token")
    check(t.encode(text) == ids, "encoding is not deterministic")
    guard let decoded = try? t.bytes(of: ids) else { return check(false, "decode of encoded ids threw") }
    let expected = expectedBytes(t, text)
    if decoded != expected {
        let show = { (b: [UInt8]) in String(decoding: b.prefix(200), as: UTF8.self).debugDescription }
        check(false, "round trip: decode(encode(s)) = \(show(decoded)), expected \(show(expected)) (ids \(ids.prefix(40)))")
    }
}

/// The bytes the round trip must give (an independent reading of the added-token split).
func expectedBytes(_ t: QwenTokenizer, _ text: String) -> [UInt8] {
    let u = Array(text.utf8)
    let added = t.addedTokens.filter { !$0.content.isEmpty }.map { (bytes: Array($0.content.utf8), id: $0.id) }
    var out: [UInt8] = []
    var segment: [UInt8] = []
    func flush() {
        guard !segment.isEmpty else { return }
        let s = String(decoding: segment, as: UTF8.self)
        out += Array((t.normalizesNFC ? s.precomposedStringWithCanonicalMapping : s).utf8)
        segment = []
    }
    var i = 0
    while i < u.count {
        var best: (bytes: [UInt8], id: Int)?
        for a in added where a.bytes.count > (best?.bytes.count ?? 0) && u[i...].starts(with: a.bytes) { best = a }
        if let best {
            flush()
            // the added token's own text as the tokenizer decodes it (its id may be any of equal contents)
            out += (try? t.bytes(of: [t.id(of: String(decoding: best.bytes, as: UTF8.self)) ?? best.id])) ?? []
            i += best.bytes.count
        } else {
            segment.append(u[i])
            i += 1
        }
    }
    flush()
    return out
}

func check(_ ok: Bool, _ what: @autoclosure () -> String) {
    if !ok {
        FileHandle.standardError.write(Data("fuzz-tokenizer: invariant failed: \(what())\n".utf8))
        abort()
    }
}
