/// Token ids of Qwen2.5-Omni's special and placeholder tokens (SPEC 2). The same for the 3B and 7B models.
public enum QwenOmniTokens {
    public static let audio: Int64 = 151646        // <|AUDIO|>
    public static let audioBOS: Int64 = 151647     // <|audio_bos|>
    public static let audioEOS: Int64 = 151648     // <|audio_eos|>
    public static let visionBOS: Int64 = 151652    // <|vision_bos|>
    public static let visionEOS: Int64 = 151653    // <|vision_eos|>
    public static let image: Int64 = 151655        // <|IMAGE|>
    public static let video: Int64 = 151656        // <|VIDEO|>
    public static let pad: Int64 = 151643          // <|endoftext|>
    public static let imStart: Int64 = 151644      // <|im_start|>
    public static let imEnd: Int64 = 151645        // <|im_end|>

    /// The special (neither text nor placeholder) token ids with the given bos/eos ids (a config may set those):
    /// audio and vision bos/eos, `<|im_start|>`, `<|im_end|>` and pad.
    public static func specialIds(audioBOS: Int64 = audioBOS, audioEOS: Int64 = audioEOS,
                                  visionBOS: Int64 = visionBOS, visionEOS: Int64 = visionEOS) -> Set<Int64> {
        [audioBOS, audioEOS, visionBOS, visionEOS, imStart, imEnd, pad]
    }

    /// The special token ids of Qwen2.5-Omni (`specialIds()` with the standard ids).
    public static let special: Set<Int64> = specialIds()
}
