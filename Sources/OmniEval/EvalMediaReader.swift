import Foundation
import OmniFeatures
import OmniMedia
import OmniSIFT
import OmniSIFTPipeline
import OmniTensor
import QwenOmni

/// A media item (SPEC 11 `video_path`) -> its uncompressed prompt, on the pipeline's media path: `MediaPrompt` with
/// the `ModelFolder`, exactly what `omnisift run` and `omnisift prepare` do (streams checked, SPEC 7 preprocessing at
/// the evaluation's defaults: 2 fps, at most 256 frames, `max_pixels = 256*28*28`, the sound track interleaved when
/// the clip has one; the chat template's default system message; the item's MCQ prompt of SPEC 5 as the user text;
/// the context checked against `maxNewTokens`; the towers; the scatter into the thinker's token embeddings).
///
/// The towers are loaded ONCE (`load`) and kept for the whole run; each item is decoded, preprocessed and encoded
/// once (`mediaPrompts` counts it), and the harness answers every method x ratio from the result.
///
/// Errors become per-item `EvalIssue`s: a missing file `missing_media`; a file that cannot be decoded (not media,
/// truncated, a broken stream) `bad_media`; media the model cannot take (no video stream, a prompt past the
/// context) `unsupported_media`.
public final class EvalMediaReader {
    public let folder: ModelFolder
    public let encoders: OmniEncoders
    public let maxNewTokens: Int
    let embed: ([Int]) throws -> Tensor
    /// Media prompts built so far (each one decoded, preprocessed and ran the towers once).
    public private(set) var mediaPrompts = 0

    public init(folder: ModelFolder, encoders: OmniEncoders, maxNewTokens: Int, embed: @escaping ([Int]) throws -> Tensor) {
        self.folder = folder
        self.encoders = encoders
        self.maxNewTokens = maxNewTokens
        self.embed = embed
    }

    /// Checks what media items need before the first item (fatal when missing): the FFmpeg / soxr libraries, the
    /// vision and audio towers (`folder` was opened with both checked), and loads the towers.
    public static func load(folder: ModelFolder, maxNewTokens: Int, embed: @escaping ([Int]) throws -> Tensor) throws -> EvalMediaReader {
        let media = MediaFile.availability()
        if !media.available {
            throw EvalSetupError("the benchmark has video_path items but the media libraries cannot be loaded: \(media.reason ?? "unknown reason")")
        }
        let encoders: OmniEncoders
        do {
            encoders = try OmniEncoders.load(path: folder.path, vision: true, audio: true)
        } catch {
            throw EvalSetupError("the benchmark has video_path items but the towers of \(folder.path) do not load: \(error)")
        }
        return EvalMediaReader(folder: folder, encoders: encoders, maxNewTokens: maxNewTokens, embed: embed)
    }

    /// The request of an item: its video, then its prompt (the MCQ text of SPEC 5, or the item's own `prompt`).
    public static func request(_ item: EvalItem, path: String) -> MediaPromptRequest {
        MediaPromptRequest(media: [.video(path)], prompt: item.promptText)
    }

    /// Builds the item's prompt (prefill file in memory, with embeddings and positions) and its stage times.
    public func read(_ item: EvalItem, path: String) throws -> (file: PrefillFile, times: MediaPromptTimings) {
        func fail(_ kind: EvalIssue.Kind, _ m: String) -> EvalIssue {
            EvalIssue(line: item.line, item: item.id, kind: kind, message: m)
        }
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw fail(.missingMedia, "\(path): no such media file")
        }
        if isDir.boolValue { throw fail(.missingMedia, "\(path) is a folder, not a media file") }
        let prompt: MediaPrompt
        do {
            prompt = try MediaPrompt(request: Self.request(item, path: path), folder: folder, maxNewTokens: maxNewTokens,
                                     encoders: encoders, embed: embed)
        } catch let e as MediaError {
            throw fail(.badMedia, "\(e)")
        } catch let e as FeatureError {
            throw fail(.badMedia, "\(e)")
        } catch let e as PipelineError {
            throw fail(.unsupportedMedia, "\(e)")
        } catch {
            throw fail(.unsupportedMedia, "\(path): \(error)")
        }
        mediaPrompts += 1
        return (prompt.file, prompt.timings)
    }
}
