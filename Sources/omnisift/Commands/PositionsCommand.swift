import ArgumentParser
import Foundation
import QwenOmni
import SafeTensors

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

        With --check, compares the computed positions with the ones already in IN (e.g. exported from \
        PyTorch) and exits with status 1 when they differ; -o is then optional.
        """
    )

    @Argument(help: "Input prefill file (.safetensors).")
    var input: String

    @Option(name: .shortAndLong, help: "Output prefill file (may equal the input).")
    var output: String?

    @Flag(help: "Compare with the position_ids / rope_deltas stored in the input; exit 1 on a difference.")
    var check = false

    @Option(help: "A Qwen2.5-Omni config.json (or checkpoint folder) for token ids and timing constants (default: the 7B values).")
    var config: String?

    @Flag(help: "Print a JSON summary instead of text.")
    var json = false

    func validate() throws {
        if output == nil && !check { throw ValidationError("give -o OUT (or --check to only compare)") }
    }

    func run() throws {
        var mismatch: String?
        do {
            let thinker = try config.map { try QwenOmniConfig.load(path: $0).thinker } ?? .qwen25Omni7B
            let file = try PrefillFile.read(path: input)
            if file.keepMask != nil {
                throw PrefillFileError(
                    file: input,
                    problem: "has a keep_mask (a compressed sequence): its position_ids are the original positions and cannot be recomputed")
            }
            let r = try file.ropeIndex(config: thinker)
            if check {
                mismatch = Self.compare(stored: file, computed: r)
            }
            if let output {
                // PrefillFile carries only the format's tensors: never drop others silently, and never by
                // rewriting the input in place.
                let extras = try SafeTensorsFile(path: input).names.filter { !PrefillFile.Key.tensors.contains($0) }
                if !extras.isEmpty {
                    if OutputPath.sameFile(output, input) {
                        throw CLIError(
                            "\(input): holds tensors that are not part of the prefill format (\(extras.joined(separator: ", "))); "
                                + "rewriting it in place (-o \(output)) would drop them. Give another output path")
                    }
                    FileHandle.standardError.write(Data(
                        "note: \(output) does not carry \(input)'s non-prefill tensors: \(extras.joined(separator: ", "))\n".utf8))
                }
                var out = file
                out.positionIds = r.positionIds
                out.ropeDeltas = [r.ropeDelta]
                try out.write(to: output, embeddingDType: try LayoutSummary.embeddingDType(of: input))
            }
            let summary = LayoutSummary(result: r, inputIds: file.inputIds)
            if json {
                var report = summary.report()
                report.input = input
                report.output = output
                if check { report.check = mismatch ?? "match" }
                try JSONOutput.print(report)
            } else {
                if let output { print("\(input) -> \(output)") }
                print(summary.text())
                if check { print("check: \(mismatch ?? "stored positions and rope delta match")") }
            }
        } catch let e as QwenOmniLayoutError {
            throw CLIError("\(input): \(e.message)")
        } catch let e as PrefillFileError {
            throw CLIError(e.description)
        } catch let e as QwenOmniConfigError {
            throw CLIError(e.description)
        } catch let e as CLIError {
            throw e
        } catch {
            throw CLIError("\(error)")
        }
        if mismatch != nil { throw ExitCode(1) }
    }

    /// A description of the first difference between stored and computed positions, or nil when equal.
    static func compare(stored f: PrefillFile, computed r: RopeIndexResult) -> String? {
        guard let p = f.positionIds else { return "the input has no position_ids to compare" }
        let rows: [(String, [Int64], [Int64])] = [
            ("t", p.t, r.positionIds.t), ("h", p.h, r.positionIds.h), ("w", p.w, r.positionIds.w),
        ]
        for (name, a, b) in rows {
            if let i = zip(a, b).enumerated().first(where: { $0.element.0 != $0.element.1 })?.offset {
                let n = zip(a, b).filter { $0 != $1 }.count
                return "position_ids row \(name) differs at \(n) token(s); first at index \(i): stored \(a[i]), computed \(b[i])"
            }
        }
        if let d = f.ropeDeltas, d != [r.ropeDelta] {
            return "rope_deltas differ: stored \(d), computed \(r.ropeDelta)"
        }
        return nil
    }
}
