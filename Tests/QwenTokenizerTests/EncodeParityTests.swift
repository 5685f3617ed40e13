import Foundation
import Testing

@testable import QwenTokenizer

@Suite("QwenTokenizer parity with Hugging Face tokenizers")
struct EncodeParityTests {
    @Test("loads the Omni folder: 151,643 vocabulary tokens, 151,387 merges, the 22 Omni added tokens")
    func loadsFolder() throws {
        let t = OmniFixture.tokenizer
        #expect(t.vocabularySize == 151_665)
        #expect(t.mergeCount == 151_387)
        #expect(t.addedTokens.count == 22)
        #expect(t.id(of: "<|VIDEO|>") == 151656)
        #expect(t.id(of: "<|AUDIO|>") == 151646)
        #expect(t.id(of: "<|IMAGE|>") == 151655)
        #expect(t.id(of: "<|object_ref_start|>") == nil)
        #expect(t.eosToken == "<|im_end|>")
        #expect(t.padToken == "<|endoftext|>")
        #expect(t.isSpecial(151645) && !t.isSpecial(151657) && !t.isSpecial(9707))
        let ids = try OmniTokenIds(t)
        #expect(ids.video == 151656 && ids.visionBOS == 151652 && ids.audioEOS == 151648 && ids.imEnd == 151645)
    }

    @Test("every fixture text encodes to the ids of tokenizers (>= 3,000 pairs)")
    func encodeFixtures() throws {
        let f = try OmniFixture.json("encode_cases", as: EncodeCases.self)
        #expect(f.cases.count >= 3000)
        let t = OmniFixture.tokenizer
        var wrong: [String] = []
        for c in f.cases {
            let got = t.encode(c.text)
            if got != c.ids { wrong.append("\(c.text.debugDescription): \(got) vs \(c.ids)") }
        }
        #expect(wrong.isEmpty, "\(wrong.count) of \(f.cases.count) differ; first: \(wrong.prefix(5).joined(separator: "\n"))")
    }

    @Test("every fixture id list decodes to the text of tokenizers, with and without skip_special_tokens")
    func decodeFixtures() throws {
        let f = try OmniFixture.json("decode_cases", as: DecodeCases.self)
        #expect(f.cases.count >= 1000)
        let t = OmniFixture.tokenizer
        var wrong: [String] = []
        for c in f.cases {
            let got = try t.decode(c.ids, skipSpecialTokens: c.skip_special)
            if got != c.text { wrong.append("\(c.ids) skip \(c.skip_special): \(got.debugDescription) vs \(c.text.debugDescription)") }
        }
        #expect(wrong.isEmpty, "\(wrong.count) differ; first: \(wrong.prefix(5).joined(separator: "\n"))")
    }

    @Test("streamed decoding never emits a broken character and concatenates to decode()")
    func streaming() throws {
        let f = try OmniFixture.json("decode_cases", as: DecodeCases.self)
        let t = OmniFixture.tokenizer
        // "😀" is 4 bytes split over byte tokens: nothing is printed until the last one arrives
        var d = StreamingDecoder(tokenizer: t)
        var partial: [String] = []
        for id in Array("😀".utf8).map({ t.id(of: ByteLevel.text(of: [$0]))! }) { partial.append(try d.append(id)) }
        #expect(partial == ["", "", "", "😀"])
        #expect(d.finish() == "")
        for c in f.cases {
            var s = StreamingDecoder(tokenizer: t, skipSpecialTokens: c.skip_special)
            var text = ""
            for id in c.ids {
                let piece = try s.append(id)
                #expect(!piece.unicodeScalars.contains("\u{FFFD}") || c.text.contains("\u{FFFD}"))
                text += piece
            }
            text += s.finish()
            #expect(text == c.text, "\(c.ids)")
        }
    }

    @Test("vocab.json + merges.txt + tokenizer_config.json (no tokenizer.json) give the same ids")
    func slowFilesAgree() throws {
        let dir = try OmniFixture.scratch()
        defer { try? FileManager.default.removeItem(at: dir) }
        for name in ["vocab.json", "merges.txt", "tokenizer_config.json"] {
            try FileManager.default.copyItem(atPath: OmniFixture.folder + "/" + name, toPath: dir.appendingPathComponent(name).path)
        }
        let slow = try QwenTokenizer.load(folder: dir.path)
        #expect(slow.vocabularySize == OmniFixture.tokenizer.vocabularySize)
        #expect(slow.addedTokens == OmniFixture.tokenizer.addedTokens)
        let f = try OmniFixture.json("encode_cases", as: EncodeCases.self)
        for c in f.cases.prefix(600) { #expect(slow.encode(c.text) == c.ids, "\(c.text.debugDescription)") }
    }

    @Test("a piece longer than 64 bytes (heap BPE) encodes like the short-piece scan on the same bytes")
    func longPieces() throws {
        let t = OmniFixture.tokenizer
        let f = try OmniFixture.json("encode_cases", as: EncodeCases.self)
        // the fixtures hold long pieces ("a" x 500, CJK runs); check each long one also round-trips
        var checked = 0
        for c in f.cases where c.text.utf8.count > 64 {
            #expect(try t.decode(t.encode(c.text)) == c.text.precomposedStringWithCanonicalMapping || c.text.contains("<|"))
            checked += 1
        }
        #expect(checked > 50)
        // the same letters as one long piece and split into short pieces by spaces share their merges
        var rng = SystemRandomNumberGenerator()
        let letters = Array("abcdefghijklmnopqrstuvwxyz")
        for _ in 0..<50 {
            let word = String((0..<Int.random(in: 65...300, using: &rng)).map { _ in letters.randomElement(using: &rng)! })
            let ids = t.encode(word)
            #expect(try t.decode(ids) == word)
            // the heap and the scan must agree on the same bytes
            var heapOut: [Int32] = [], scanOut: [Int32] = []
            let bytes = Array(word.utf8)
            bytes.withUnsafeBufferPointer { t.bpe.encode($0, into: &heapOut) }
            bytes.withUnsafeBufferPointer { t.bpe.encodeScanForTesting($0, into: &scanOut) }
            #expect(heapOut == scanOut, "\(word)")
        }
    }
}
