import Foundation

/// The Qwen2 byte-level BPE tokenizer (Qwen2, Qwen2.5, Qwen2.5-Omni, Qwen3 vocabularies), exact to Hugging Face
/// `tokenizers` (SPEC 9): added tokens matched first in the raw text (leftmost, longest) and never normalised;
/// the text between them NFC-normalised, split by the Qwen2 regex on Unicode scalars, mapped to bytes and merged
/// by rank. Decoding concatenates the tokens' bytes and replaces ill-formed UTF-8 with U+FFFD.
///
/// Immutable after loading, so one instance may be shared between threads.
public final class QwenTokenizer: Sendable {
    /// Largest token id + 1 (vocabulary and added tokens).
    public let vocabularySize: Int
    /// Number of merges.
    public let mergeCount: Int
    /// The added tokens, by id.
    public let addedTokens: [AddedToken]
    /// `eos_token` / `pad_token` / `bos_token` of `tokenizer_config.json`, when given.
    public let eosToken: String?
    public let padToken: String?
    public let bosToken: String?
    /// The chat templates the folder holds: (file, template), processor files first.
    public let chatTemplates: [(file: String, template: String)]
    /// The file the vocabulary came from (`tokenizer.json` or `vocab.json`).
    public let source: String
    /// Seconds `load(folder:)` took.
    public let loadSeconds: Double

    let bpe: BPE
    let matcher: AddedTokenMatcher
    let nfc: Bool
    /// `ignore_merges`: a piece that is itself a vocabulary token is taken whole.
    let ignoreMerges: Bool
    /// Bytes of every token, `tokenBytes[tokenStart[id] ..< tokenStart[id] + tokenLength[id]]`; `tokenStart[id]`
    /// is -1 for an id that is not assigned.
    let tokenBytes: [UInt8]
    let tokenStart: [Int32]
    let tokenLength: [Int32]
    let special: [Bool]
    /// Vocabulary ids by token bytes; added tokens by content.
    let vocabIds: BytesMap
    let addedIds: [String: Int]

    /// Loads a tokenizer folder (see `TokenizerFolder`). Throws `TokenizerError` naming the file and field.
    public static func load(folder: String) throws -> QwenTokenizer {
        let clock = ContinuousClock.now
        let f = try TokenizerFolder.read(folder: folder)
        return try QwenTokenizer(f, started: clock)
    }

    private init(_ f: TokenizerFolder, started: ContinuousClock.Instant) throws {
        let src = f.source
        var ids = BytesMap(capacity: f.vocab.count + f.added.count)
        var maxId = -1
        for (bytes, v) in f.vocab {
            guard v < Int(Int32.max) else { throw TokenizerError("\(src): token \"\(ByteLevel.text(of: bytes))\": id \(v) is too large") }
            // Two entries for the same bytes (a key such as " " outside the byte map reads as the bytes of "Ġ"):
            // encoding could give either id.
            if let other = ids.insert(bytes, Int32(v)), Int(other) != v {
                throw TokenizerError("\(src): vocabulary ids \(other) and \(v) stand for the same bytes (\"\(ByteLevel.text(of: bytes))\"); each token's bytes must have one id")
            }
            maxId = max(maxId, v)
        }
        for a in f.added {
            guard a.id < Int(Int32.max) else { throw TokenizerError("\(src): added token \(a.content): id \(a.id) is too large") }
            maxId = max(maxId, a.id)
        }
        let size = maxId + 1
        guard size <= 16_000_000 else { throw TokenizerError("\(src): largest id \(maxId) is absurdly large") }

        // one-byte tokens
        var byteIds = [Int32](repeating: 0, count: 256)
        for b in 0..<256 {
            guard let id = ids.lookup([UInt8(b)]) else {
                throw TokenizerError("\(src): the vocabulary has no token for byte 0x\(String(b, radix: 16)) (\"\(ByteLevel.text(of: [UInt8(b)]))\"); a byte-level BPE vocabulary needs all 256")
            }
            byteIds[b] = id
        }
        // merges
        var table = MergeTable(capacity: f.merges.count)
        for (rank, (a, b)) in f.merges.enumerated() {
            guard let ia = ids.lookup(a), let ib = ids.lookup(b) else {
                let missing = ids.lookup(a) == nil ? a : b
                throw TokenizerError("\(src): merge \(rank) (\"\(ByteLevel.text(of: a))\" \"\(ByteLevel.text(of: b))\"): \"\(ByteLevel.text(of: missing))\" is not in the vocabulary")
            }
            guard let im = ids.lookup(a + b) else {
                throw TokenizerError("\(src): merge \(rank) (\"\(ByteLevel.text(of: a))\" \"\(ByteLevel.text(of: b))\"): the merged token \"\(ByteLevel.text(of: a + b))\" is not in the vocabulary")
            }
            _ = table.insert(ia, ib, rank: Int32(rank), merged: im)
        }

        // token bytes for decoding: vocabulary entries in id order, then added tokens (an added token that is
        // also a vocabulary token keeps the vocabulary's id, as in `tokenizers`)
        var start = [Int32](repeating: -1, count: size + 1)
        var length = [Int32](repeating: 0, count: size)
        var special = [Bool](repeating: false, count: size)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(f.vocab.count * 7)
        // One id stands for one token: a second vocabulary entry or a different added token with the same id would
        // make decoding give other bytes than were encoded.
        func text(of id: Int) -> String {
            ByteLevel.text(of: bytes[Int(start[id]) ..< Int(start[id]) + Int(length[id])])
        }
        for (b, v) in f.vocab {
            if start[v] >= 0 {
                guard Array(bytes[Int(start[v]) ..< Int(start[v]) + Int(length[v])]) == b else {
                    throw TokenizerError("\(src): id \(v) is given to two vocabulary tokens (\"\(text(of: v))\" and \"\(ByteLevel.text(of: b))\")")
                }
                continue
            }
            start[v] = Int32(bytes.count)
            length[v] = Int32(b.count)
            bytes += b
        }
        var addedIds: [String: Int] = [:]
        for a in f.added {
            let b = ByteLevel.bytes(ofTokenText: a.content)
            if start[a.id] >= 0 {
                guard Array(bytes[Int(start[a.id]) ..< Int(start[a.id]) + Int(length[a.id])]) == b else {
                    throw TokenizerError("\(src): added token \(a.content.debugDescription) has id \(a.id), which is already the token \"\(text(of: a.id))\"")
                }
            }
            start[a.id] = Int32(bytes.count)
            length[a.id] = Int32(b.count)
            bytes += b
            special[a.id] = a.special
            addedIds[a.content] = a.id
        }

        vocabularySize = size
        mergeCount = f.merges.count
        addedTokens = f.added.sorted { $0.id < $1.id }
        eosToken = f.config?.eosToken?.content
        padToken = f.config?.padToken?.content
        bosToken = f.config?.bosToken?.content
        chatTemplates = f.chatTemplates
        source = src
        bpe = BPE(merges: table, byteIds: byteIds)
        matcher = AddedTokenMatcher(f.added)
        nfc = f.nfc
        ignoreMerges = f.ignoreMerges
        tokenBytes = bytes
        tokenStart = start
        tokenLength = length
        self.special = special
        vocabIds = ids
        self.addedIds = addedIds
        loadSeconds = Double(started.duration(to: .now).components.attoseconds) / 1e18
            + Double(started.duration(to: .now).components.seconds)
    }

    // MARK: lookup

    /// Id of a token given by its text (an added token's content, or a vocabulary token's byte-level text).
    public func id(of token: String) -> Int? {
        if let a = addedIds[token] { return a }
        return vocabIds.lookup(ByteLevel.bytes(ofTokenText: token)).map(Int.init)
    }

    /// Whether the text between added tokens is NFC-normalised before splitting (`normalizer` NFC).
    public var normalizesNFC: Bool { nfc }

    /// True when `id` is a token of this tokenizer.
    public func contains(_ id: Int) -> Bool { id >= 0 && id < vocabularySize && tokenStart[id] >= 0 }

    /// True when `id` is a special added token (dropped by `skipSpecialTokens`).
    public func isSpecial(_ id: Int) -> Bool { contains(id) && special[id] }

    // MARK: encoding

    /// The token ids of `text` (no tokens added around it: the Qwen2 post-processor adds none).
    public func encode(_ text: String) -> [Int] {
        encodeIds(text).map(Int.init)
    }

    /// `encode` as Int32.
    public func encodeIds(_ text: String) -> [Int32] {
        var utf8 = Array(text.utf8)
        var out: [Int32] = []
        out.reserveCapacity(utf8.count / 3 + 4)
        var state = EncodeState()
        utf8.withUnsafeMutableBufferPointer { raw in
            let all = UnsafeBufferPointer(raw)
            if matcher.isEmpty {
                encodeSegment(UnsafeBufferPointer(rebasing: all[...]), into: &out, state: &state)
            } else {
                matcher.split(all, text: { r in
                    encodeSegment(UnsafeBufferPointer(rebasing: all[r]), into: &out, state: &state)
                }, token: { id in out.append(id) })
            }
        }
        return out
    }

    /// Scratch space reused across the segments of one `encode` call, with its word cache.
    struct EncodeState {
        var scalars: [UInt32] = []
        var classes: [UInt8] = []
        var offsets: [Int32] = []
        var cache = WordCache()
    }

    private func encodeSegment(_ segment: UnsafeBufferPointer<UInt8>, into out: inout [Int32], state: inout EncodeState) {
        // NFC: a text without a scalar that NFC could change or compose (`NFCQuickCheck`) is already NFC; only
        // other segments go through Foundation.
        let flagged = decodeScalars(segment, state: &state)
        if nfc && flagged {
            let s = String(decoding: segment, as: UTF8.self).precomposedStringWithCanonicalMapping
            var normalized = Array(s.utf8)
            normalized.withUnsafeMutableBufferPointer { p in
                let bytes = UnsafeBufferPointer(p)
                _ = decodeScalars(bytes, state: &state)
                splitAndMerge(bytes, into: &out, state: &state)
            }
        } else {
            splitAndMerge(segment, into: &out, state: &state)
        }
    }

    /// Fills the state's scalars, classes and byte offsets for `bytes` (valid UTF-8: it came from a String);
    /// returns whether some scalar is flagged by `NFCQuickCheck`.
    private func decodeScalars(_ bytes: UnsafeBufferPointer<UInt8>, state: inout EncodeState) -> Bool {
        state.scalars.removeAll(keepingCapacity: true)
        state.classes.removeAll(keepingCapacity: true)
        state.offsets.removeAll(keepingCapacity: true)
        var flagged = false
        var i = 0
        let n = bytes.count
        while i < n {
            let b0 = UInt32(bytes[i])
            var v: UInt32
            var len: Int
            if b0 < 0x80 { v = b0; len = 1 }
            else if b0 < 0xE0 { v = (b0 & 0x1F) << 6 | UInt32(bytes[i + 1] & 0x3F); len = 2 }
            else if b0 < 0xF0 { v = (b0 & 0x0F) << 12 | UInt32(bytes[i + 1] & 0x3F) << 6 | UInt32(bytes[i + 2] & 0x3F); len = 3 }
            else {
                v = (b0 & 0x07) << 18 | UInt32(bytes[i + 1] & 0x3F) << 12 | UInt32(bytes[i + 2] & 0x3F) << 6
                    | UInt32(bytes[i + 3] & 0x3F)
                len = 4
            }
            if v >= 0x300 && !flagged { flagged = NFCQuickCheck.isFlagged(v) }
            state.scalars.append(v)
            state.classes.append(SplitPattern.classOf(v))
            state.offsets.append(Int32(i))
            i += len
        }
        state.offsets.append(Int32(n))
        return flagged
    }

    /// Splits the decoded scalars by the regex and encodes each piece.
    private func splitAndMerge(_ bytes: UnsafeBufferPointer<UInt8>, into out: inout [Int32], state: inout EncodeState) {
        let offsets = state.offsets
        state.scalars.withUnsafeBufferPointer { sp in
            state.classes.withUnsafeBufferPointer { cp in
                SplitPattern.split(scalars: sp, classes: cp) { a, b in
                    let piece = UnsafeBufferPointer(rebasing: bytes[Int(offsets[a])..<Int(offsets[b])])
                    encodePiece(piece, into: &out, cache: &state.cache)
                }
            }
        }
    }

    @inline(__always)
    private func encodePiece(_ piece: UnsafeBufferPointer<UInt8>, into out: inout [Int32], cache: inout WordCache) {
        if piece.count == 1 { out.append(bpe.byteIds[Int(piece[0])]); return }
        if ignoreMerges, let id = vocabIds.lookup(piece) {
            out.append(id)
            return
        }
        if cache.lookup(piece, into: &out) { return }
        let before = out.count
        bpe.encode(piece, into: &out)
        cache.insert(piece, ids: out[before...])
    }

    // MARK: decoding

    /// The text of `ids`, as `tokenizers`' `decode`: the tokens' bytes concatenated and read as UTF-8 with
    /// U+FFFD for ill-formed sequences; with `skipSpecialTokens`, special added tokens are left out.
    /// Throws for an id that is not a token of this tokenizer.
    public func decode(_ ids: [Int], skipSpecialTokens: Bool = false) throws -> String {
        String(decoding: try bytes(of: ids, skipSpecialTokens: skipSpecialTokens), as: UTF8.self)
    }

    /// The bytes `ids` stand for (see `decode`).
    public func bytes(of ids: [Int], skipSpecialTokens: Bool = false) throws -> [UInt8] {
        var out: [UInt8] = []
        for (i, id) in ids.enumerated() {
            guard contains(id) else {
                throw TokenizerError("id \(id) (position \(i)) is not a token of this tokenizer (ids 0..<\(vocabularySize)\(id >= 0 && id < vocabularySize ? "; this one is unassigned" : ""))")
            }
            if skipSpecialTokens && special[id] { continue }
            appendBytes(of: id, to: &out)
        }
        return out
    }

    @inline(__always) func appendBytes(of id: Int, to out: inout [UInt8]) {
        let s = Int(tokenStart[id])
        out += tokenBytes[s..<(s + Int(tokenLength[id]))]
    }

    /// The token's text as stored (byte-level characters for vocabulary tokens, the content for added ones).
    public func tokenText(_ id: Int) -> String? {
        guard contains(id) else { return nil }
        if let a = addedTokens.first(where: { $0.id == id }) { return a.content }
        let s = Int(tokenStart[id])
        return ByteLevel.text(of: tokenBytes[s..<(s + Int(tokenLength[id]))])
    }
}
