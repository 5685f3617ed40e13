/// One item of a message's content, in order.
public enum ChatItem: Sendable, Equatable {
    case text(String)
    case image
    case audio
    case video
}

/// One message of a conversation: a role ("system", "user", "assistant") and its content, a plain string or a
/// list of items.
public struct ChatMessage: Sendable, Equatable {
    public enum Content: Sendable, Equatable {
        case string(String)
        case items([ChatItem])
    }
    public var role: String
    public var content: Content

    public init(role: String, content: Content) {
        self.role = role
        self.content = content
    }

    public static func system(_ text: String) -> ChatMessage { ChatMessage(role: "system", content: .string(text)) }
    public static func user(_ items: [ChatItem]) -> ChatMessage { ChatMessage(role: "user", content: .items(items)) }
    public static func assistant(_ text: String) -> ChatMessage { ChatMessage(role: "assistant", content: .string(text)) }

    /// The conversation `chat-template` and `generate --prompt` build: an optional system message, then one
    /// user turn holding, in this order, a video, an audio and an image placeholder (each when asked for) and the
    /// text (SPEC 9 order).
    public static func userTurn(system: String?, video: Bool, audio: Bool, image: Bool, prompt: String) -> [ChatMessage] {
        var items: [ChatItem] = []
        if video { items.append(.video) }
        if audio { items.append(.audio) }
        if image { items.append(.image) }
        items.append(.text(prompt))
        return (system.map { [ChatMessage.system($0)] } ?? []) + [.user(items)]
    }
}

/// The Qwen2.5-Omni chat template (SPEC 9), written out in Swift instead of run by a Jinja engine: this template
/// only loops over messages and items, so its output is fixed by these rules:
///
/// - if the first message is not a system message, `<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n`;
/// - each message: `<|im_start|>ROLE\n`, then its string content, or its items in order without separators
///   (image `<|vision_bos|><|IMAGE|><|vision_eos|>`, audio `<|audio_bos|><|AUDIO|><|audio_eos|>`, video
///   `<|vision_bos|><|VIDEO|><|vision_eos|>`, text as is; with `addVisionId` / `addAudioId` each medium is preceded
///   by "Picture n: " / "Video n: " / "Audio n: ", numbered across the conversation), then `<|im_end|>\n`;
/// - with `addGenerationPrompt`, `<|im_start|>assistant\n`.
///
/// A folder whose template is another string is refused by `ChatTemplate.check` unless the caller forces this one.
public enum ChatTemplate {
    /// The template string of the Qwen2.5-Omni checkpoints (`chat_template.json`), which these rules implement.
    public static let qwen25OmniSource =
        "{% set audio_count = namespace(value=0) %}{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}"
        + "{% for message in messages %}{% if loop.first and message['role'] != 'system' %}<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
        + "<|im_start|>{{ message['role'] }}\n{% if message['content'] is string %}{{ message['content'] }}<|im_end|>\n{% else %}"
        + "{% for content in message['content'] %}{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}"
        + "{% set image_count.value = image_count.value + 1 %}{% if add_vision_id %}Picture {{ image_count.value }}: {% endif %}<|vision_bos|><|IMAGE|><|vision_eos|>"
        + "{% elif content['type'] == 'audio' or 'audio' in content or 'audio_url' in content %}{% set audio_count.value = audio_count.value + 1 %}"
        + "{% if add_audio_id %}Audio {{ audio_count.value }}: {% endif %}<|audio_bos|><|AUDIO|><|audio_eos|>"
        + "{% elif content['type'] == 'video' or 'video' in content %}{% set video_count.value = video_count.value + 1 %}"
        + "{% if add_vision_id %}Video {{ video_count.value }}: {% endif %}<|vision_bos|><|VIDEO|><|vision_eos|>"
        + "{% elif 'text' in content %}{{ content['text'] }}{% endif %}{% endfor %}<|im_end|>\n{% endif %}{% endfor %}"
        + "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"

    /// The name `--template` takes to force this template.
    public static let qwen25OmniName = "qwen2.5-omni"

    /// The default system message the template inserts.
    public static let defaultSystem = "You are a helpful assistant."

    public struct Options: Sendable, Equatable {
        public var addGenerationPrompt = true
        public var addVisionId = false
        public var addAudioId = false
        public init(addGenerationPrompt: Bool = true, addVisionId: Bool = false, addAudioId: Bool = false) {
            self.addGenerationPrompt = addGenerationPrompt
            self.addVisionId = addVisionId
            self.addAudioId = addAudioId
        }
    }

    /// The rendered text of `messages`.
    public static func render(_ messages: [ChatMessage], options: Options = Options()) -> String {
        var out = ""
        var images = 0, audios = 0, videos = 0
        for (i, m) in messages.enumerated() {
            if i == 0 && m.role != "system" {
                out += "<|im_start|>system\n\(defaultSystem)<|im_end|>\n"
            }
            out += "<|im_start|>\(m.role)\n"
            switch m.content {
            case .string(let s):
                out += s
            case .items(let items):
                for item in items {
                    switch item {
                    case .image:
                        images += 1
                        if options.addVisionId { out += "Picture \(images): " }
                        out += "<|vision_bos|><|IMAGE|><|vision_eos|>"
                    case .audio:
                        audios += 1
                        if options.addAudioId { out += "Audio \(audios): " }
                        out += "<|audio_bos|><|AUDIO|><|audio_eos|>"
                    case .video:
                        videos += 1
                        if options.addVisionId { out += "Video \(videos): " }
                        out += "<|vision_bos|><|VIDEO|><|vision_eos|>"
                    case .text(let t):
                        out += t
                    }
                }
            }
            out += "<|im_end|>\n"
        }
        if options.addGenerationPrompt { out += "<|im_start|>assistant\n" }
        return out
    }

    /// Checks that the folder's chat templates (if any) are the Qwen2.5-Omni template. Throws a `TokenizerError`
    /// naming the file and the first differing character otherwise, or when there is none, unless `force`.
    public static func check(_ tokenizer: QwenTokenizer, force: Bool) throws {
        if force { return }
        guard !tokenizer.chatTemplates.isEmpty else {
            throw TokenizerError(
                "the tokenizer folder has no chat template (chat_template.json, chat_template.jinja or tokenizer_config.json chat_template); "
                    + "pass --template \(qwen25OmniName) to use the built-in Qwen2.5-Omni template")
        }
        for (file, template) in tokenizer.chatTemplates where template != qwen25OmniSource {
            let a = Array(template.unicodeScalars), b = Array(qwen25OmniSource.unicodeScalars)
            var k = 0
            while k < a.count && k < b.count && a[k] == b[k] { k += 1 }
            let near = String(String.UnicodeScalarView(a[k..<min(a.count, k + 40)]))
            throw TokenizerError(
                "\(file): the chat template is not the Qwen2.5-Omni template (it differs at character \(k): \"\(near)\"; "
                    + "\(a.count) vs \(b.count) characters); only that template is implemented (no Jinja engine). "
                    + "Pass --template \(qwen25OmniName) to use it anyway")
        }
    }
}

/// The placeholder and chat token ids of a Qwen2.5-Omni tokenizer, looked up by their text, for the prompt
/// layout that expands each placeholder into the media's tokens (SPEC 2.1).
public struct OmniTokenIds: Sendable, Equatable {
    public var imStart: Int
    public var imEnd: Int
    public var endOfText: Int
    public var visionBOS: Int
    public var visionEOS: Int
    public var audioBOS: Int
    public var audioEOS: Int
    public var image: Int
    public var video: Int
    public var audio: Int

    /// Throws when the tokenizer lacks one of the Qwen2.5-Omni added tokens.
    public init(_ t: QwenTokenizer) throws {
        func id(_ s: String) throws -> Int {
            guard let i = t.id(of: s), t.addedTokens.contains(where: { $0.id == i }) else {
                throw TokenizerError("\(t.source): the added token \(s) is missing (not a Qwen2.5-Omni tokenizer)")
            }
            return i
        }
        imStart = try id("<|im_start|>")
        imEnd = try id("<|im_end|>")
        endOfText = try id("<|endoftext|>")
        visionBOS = try id("<|vision_bos|>")
        visionEOS = try id("<|vision_eos|>")
        audioBOS = try id("<|audio_bos|>")
        audioEOS = try id("<|audio_eos|>")
        image = try id("<|IMAGE|>")
        video = try id("<|VIDEO|>")
        audio = try id("<|AUDIO|>")
    }
}

extension QwenTokenizer {
    /// Renders `messages` with the Qwen2.5-Omni template and encodes the text: the ids hold one placeholder
    /// (`<|VIDEO|>`, `<|AUDIO|>`, `<|IMAGE|>` between its bos/eos) per medium, for the layout to expand.
    public func renderChat(_ messages: [ChatMessage], options: ChatTemplate.Options = .init()) -> (text: String, ids: [Int]) {
        let text = ChatTemplate.render(messages, options: options)
        return (text, encode(text))
    }
}
