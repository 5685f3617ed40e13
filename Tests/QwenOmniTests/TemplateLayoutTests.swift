import Testing

@testable import QwenOmni

@Suite("PromptLayout from chat-template ids")
struct TemplateLayoutTests {
    // ids of "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n" and the turns around one video, as
    // the Qwen2 tokenizer writes them (omnisift chat-template --video --prompt "What happens?")
    static let system: [Int64] = [151644, 8948, 198, 2610, 525, 264, 10950, 17847, 13, 151645, 198]
    static let user: [Int64] = [151644, 872, 198]
    static let question: [Int64] = [3838, 8573, 30]
    static let tail: [Int64] = [151645, 198, 151644, 77091, 198]
    static let video = PromptItem.video(VisionGrid(t: 4, h: 8, w: 12), secondsPerGrid: 1.0, audioMelFrames: 400)

    @Test("a video placeholder expands exactly as build(items, chat:) with the same turns")
    func video() throws {
        let template = Self.system + Self.user + [151652, 151656, 151653] + Self.question + Self.tail
        let got = try PromptLayout.build(templateIds: template, media: [Self.video])
        let chat = ChatTemplateIds(user: [872, 198], assistant: [77091, 198], newline: [198],
                                   system: [8948, 198, 2610, 525, 264, 10950, 17847, 13])
        let want = try PromptLayout.build([Self.video, .text(Self.question)], chat: chat)
        #expect(got == want)
        #expect(got.useAudioInVideo && got.videoGrids == [[4, 8, 12]] && got.audioFeatureLengths == [400])
    }

    @Test("video, audio and image placeholders take the media in order")
    func mixed() throws {
        let template = Self.user + [151652, 151656, 151653, 151647, 151646, 151648, 151652, 151655, 151653] + Self.question + Self.tail
        let v = PromptItem.video(VisionGrid(t: 2, h: 4, w: 4), secondsPerGrid: 1.0, audioMelFrames: nil)
        let got = try PromptLayout.build(templateIds: template, media: [v, .audio(melFrames: 300), .image(VisionGrid(t: 1, h: 4, w: 6))])
        let want = try PromptLayout.build([.text(Self.user), v, .audio(melFrames: 300), .image(VisionGrid(t: 1, h: 4, w: 6)),
                                           .text(Self.question + Self.tail)])
        #expect(got == want)
        #expect(got.inputIds.filter { $0 == 151656 }.count == 8 && got.inputIds.filter { $0 == 151655 }.count == 6)
    }

    @Test("placeholders and media that do not correspond are errors naming the placeholder")
    func mismatches() throws {
        let one = Self.user + [151652, 151656, 151653] + Self.tail
        #expect(throws: QwenOmniLayoutError.self) { try PromptLayout.build(templateIds: one, media: []) }
        #expect(throws: QwenOmniLayoutError.self) { try PromptLayout.build(templateIds: one, media: [.audio(melFrames: 100)]) }
        #expect(throws: QwenOmniLayoutError.self) { try PromptLayout.build(templateIds: one, media: [Self.video, Self.video]) }
        #expect(throws: QwenOmniLayoutError.self) { try PromptLayout.build(templateIds: Self.user + [151656] + Self.tail, media: [Self.video]) }
        do {
            _ = try PromptLayout.build(templateIds: one, media: [.image(VisionGrid(t: 1, h: 2, w: 2))])
        } catch let e as QwenOmniLayoutError {
            #expect(e.message.contains("placeholder 0") && e.message.contains("a video") && e.message.contains("an image"))
        }
    }
}
