import ArgumentParser
import Foundation
import OmniFeatures
import OmniMedia
import OmniTensor

/// `omnisift bench preprocess`: media preprocessing (decode, sample, resize, patchify, audio decode, resample, mel)
/// on a 60 s 1280x720 30 fps h264 + aac clip, against qwen-omni-utils + the processor on the same file.
struct BenchPreprocessCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "preprocess",
        abstract: "Time media preprocessing per stage against qwen-omni-utils + the Qwen2.5-Omni processor.",
        discussion: """
        Makes the clip with the ffmpeg command line (testsrc2 + a sine, --seconds long, 1280x720 at 30 fps, h264 \
        + aac, written to --clip when it does not exist), runs `omnisift preprocess`'s pipeline on it with \
        use_audio_in_video (OmniSIFT's settings: 2 fps, max_pixels 256*28*28, max_frames 256) and, in the same \
        run, tools/bench_preprocess_torch.py (qwen-omni-utils 0.0.9 with its video reader, librosa, the Qwen2-VL \
        video processor, WhisperFeatureExtractor). Reports ms per stage (fastest repetition), the speed-up end to \
        end, and whether the grids, frame indices and token counts are identical.
        """
    )

    @Option(help: "The clip (made with ffmpeg when missing).") var clip = "/tmp/omnisift_bench_720p30.mp4"
    @Option(help: "Clip length in seconds when it is made.") var seconds = 60
    @Option(help: "Timed repetitions.") var repetitions = 2
    @Option(help: "Untimed warm-up runs.") var warmup = 0
    @Option(help: "Python interpreter for the reference.") var python = "python3"
    @Option(help: "Path of bench_preprocess_torch.py.") var torchScript = "tools/bench_preprocess_torch.py"
    @Flag(help: "Skip the reference.") var noTorch = false
    @Flag(help: "Print a JSON report.") var json = false

    func makeClip() throws {
        if FileManager.default.fileExists(atPath: clip) { return }
        let args = ["-v", "error", "-y", "-nostdin", "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30",
                    "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100", "-t", "\(seconds)",
                    "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "96k",
                    "-ac", "2", clip]
        if case .failure(let why) = BenchCompressCommand.runProcess("ffmpeg", args) { throw MediaError("making \(clip): \(why)") }
    }

    struct Report: Encodable {
        var clip: String
        var cpu: String
        var threads: Int
        var omnisift: PreprocessRun.Report
        var referenceTotalMs: Double?
        var referenceStagesMs: [String: Double]?
        var referenceBackend: String?
        var speedup: Double?
        var identicalGridsAndCounts: Bool?
        var referenceNote: String?
        enum CodingKeys: String, CodingKey {
            case clip, cpu, threads, omnisift, speedup
            case referenceTotalMs = "reference_total_ms", referenceStagesMs = "reference_stages_ms"
            case referenceBackend = "reference_backend", identicalGridsAndCounts = "identical_grids_and_counts"
            case referenceNote = "reference_note"
        }
    }

    struct Reference {
        var stages: [String: Double] = [:]
        var total: Double = 0
        var result: [String: Any] = [:]
        var backend = ""
    }

    func reference() -> (Reference?, String?) {
        let (obj, note) = TorchChild.run(python: python, script: torchScript, arguments: [
            clip, "--repetitions", "\(repetitions)", "--warmup", "\(warmup)", "--threads", "\(BLASBackend.shared.threads)",
        ])
        guard let obj else { return (nil, note) }
        guard let runs = obj["runs"] as? [[String: Double]], !runs.isEmpty, let result = obj["result"] as? [String: Any] else {
            return (nil, "the reference printed no runs / result")
        }
        let best = runs.min { ($0["total"] ?? .infinity) < ($1["total"] ?? .infinity) }!
        var r = Reference()
        r.total = best["total"] ?? 0
        r.stages = best.filter { $0.key != "total" }
        r.result = result
        r.backend = obj["backend"] as? String ?? "?"
        return (r, nil)
    }

    func run() throws {
        let available = MediaFile.availability()
        guard available.available else { throw MediaError("cannot read media: \(available.reason ?? "?")") }
        try makeClip()
        var best: PreprocessRun?
        let options = PreprocessOptions()
        for i in 0..<(max(0, warmup) + max(1, repetitions)) {
            let r = try PreprocessRun.run(video: clip, audio: nil, images: [], useAudioInVideo: true, options: options,
                                          progress: SilentProgress())
            if i >= warmup, best.map({ r.timings.total < $0.timings.total }) ?? true { best = r }
        }
        let ours = best!
        let (ref, note) = noTorch ? (nil, "skipped (--no-torch)") : reference()
        var same: Bool?
        if let ref, let v = ours.video, let a = ours.audios.first {
            same = (ref.result["grid_thw"] as? [Int]) == v.grid
                && (ref.result["frame_indices"] as? [Int]) == v.frameIndices
                && (ref.result["total_frames"] as? Int) == v.totalFrames
                && (ref.result["mel_frames"] as? Int) == a.frames
                && (ref.result["video_tokens"] as? Int) == v.tokens
                && (ref.result["audio_tokens"] as? Int) == a.tokens
        }
        let speedup = ref.map { $0.total / ours.timings.total }
        let cpu = CPUFeatures.current
        if json {
            try JSONOutput.print(Report(clip: clip, cpu: cpu.modelName, threads: BLASBackend.shared.threads,
                                        omnisift: ours.report(), referenceTotalMs: ref?.total,
                                        referenceStagesMs: ref?.stages, referenceBackend: ref?.backend,
                                        speedup: speedup, identicalGridsAndCounts: same, referenceNote: note))
            return
        }
        print("clip \(clip) on \(cpu.modelName), \(BLASBackend.shared.threads) threads; fastest of \(max(1, repetitions))")
        var table = TextTable(columns: ["stage", "omnisift ms"])
        for s in ours.timings.stages { table.addRow(s.name, String(format: "%.1f", s.milliseconds)) }
        table.addRow("total", String(format: "%.1f", ours.timings.total))
        print(table.render())
        print(ours.text())
        if let ref {
            var t = TextTable(columns: ["reference stage", "ms"])
            for (k, v) in ref.stages.sorted(by: { $0.key < $1.key }) { t.addRow(k, String(format: "%.1f", v)) }
            t.addRow("total", String(format: "%.1f", ref.total))
            print(t.render())
            print(String(format: "speed-up end to end: %.2fx (reference %.0f ms, omnisift %.0f ms); reader %@", speedup!,
                         ref.total, ours.timings.total, ref.backend))
            print("grids, frame indices and token counts identical: \(same == true ? "yes" : "NO")")
        }
        if let note { print("reference: \(note)") }
    }
}
