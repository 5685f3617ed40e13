import ArgumentParser
import Foundation
import QwenOmni

/// `omnisift positions IN -o OUT`: computes TMRoPE position ids and the rope delta of a prefill file.
struct PositionsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "positions",
        abstract: "Compute TMRoPE position_ids [3, N] and rope_deltas [1] of a prefill file (SPEC 2.2, 6).",
        discussion: """
        Reads IN (a prefill .safetensors file with input_ids and the side inputs video_grid_thw, \
        image_grid_thw, audio_feature_lengths, video_second_per_grid and the use_audio_in_video metadata), \
        computes the positions exactly as transformers' Qwen2.5-Omni get_rope_index does, checks that the \
        placeholder tokens match the grids and audio lengths, and writes OUT: the same tensors plus \
        position_ids (I64 [3, N]) and rope_deltas (I64 [1]); existing ones are replaced. Embeddings keep their \
        dtype. A compressed file (with keep_mask) is refused: its positions must stay the original ones.
        """
    )

    @Argument(help: "Input prefill file (.safetensors).")
    var input: String

    @Option(name: .shortAndLong, help: "Output prefill file (may equal the input).")
    var output: String

    @Option(help: "A Qwen2.5-Omni config.json (or checkpoint folder) for token ids and timing constants (default: the 7B values).")
    var config: String?

    @Flag(help: "Print a JSON summary instead of text.")
    var json = false

    func run() throws {
        do {
            let thinker = try config.map { try QwenOmniConfig.load(path: $0).thinker } ?? .qwen25Omni7B
            let file = try PrefillFile.read(path: input)
            if file.keepMask != nil {
                throw PrefillFileError(
                    file: input,
                    problem: "has a keep_mask (a compressed sequence): its position_ids are the original positions and cannot be recomputed")
            }
            let r = try file.ropeIndex(config: thinker)
            var out = file
            out.positionIds = r.positionIds
            out.ropeDeltas = [r.ropeDelta]
            let dtype = try LayoutSummary.embeddingDType(of: input)
            try out.write(to: output, embeddingDType: dtype)
            let summary = LayoutSummary(result: r, inputIds: file.inputIds)
            if json {
                var obj = summary.jsonObject()
                obj["input"] = input
                obj["output"] = output
                print(try LayoutSummary.json(obj))
            } else {
                print("\(input) -> \(output)")
                print(summary.text())
            }
        } catch let e as QwenOmniLayoutError {
            throw LayoutCommandError("\(input): \(e.message)")
        } catch let e as PrefillFileError {
            throw LayoutCommandError(e.description)
        } catch let e as QwenOmniConfigError {
            throw LayoutCommandError(e.description)
        } catch let e as LayoutCommandError {
            throw e
        } catch {
            throw LayoutCommandError("\(error)")
        }
    }
}
