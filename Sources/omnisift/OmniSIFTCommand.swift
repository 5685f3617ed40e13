import ArgumentParser
import OmniTensor

@main
struct OmniSIFTCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "omnisift",
        abstract: "Prune Qwen2.5-Omni audio-video tokens before the LLM prefill (OmniSIFT and baselines).",
        version: OmniSIFTVersion.long,
        subcommands: [
            BenchCommand.self,
            ChatTemplateCommand.self,
            CompareCommand.self,
            CompressCommand.self,
            DemoCommand.self,
            DetokenizeCommand.self,
            EncodeCommand.self,
            EvalCommand.self,
            EvalMergeCommand.self,
            ForwardCommand.self,
            GenerateCommand.self,
            InspectCommand.self,
            LayoutCommand.self,
            PositionsCommand.self,
            PrepareCommand.self,
            PreprocessCommand.self,
            RenderCommand.self,
            RunCommand.self,
            ServeCommand.self,
            SynthBenchCommand.self,
            TokenizeCommand.self,
            TrainCommand.self,
        ]
    )
}

enum OmniSIFTVersion {
    static let number = "0.1.0"
    static var long: String {
        let blas = BLASBackend.shared
        let cpu = CPUFeatures.current
        return """
        omnisift \(number)
        BLAS: \(blas.description)\(blas.libraryPath.map { " from \($0)" } ?? "")
        OpenBLAS core type: \(blas.coreName) (\(blas.coreTypeReason.isEmpty ? "no OpenBLAS" : blas.coreTypeReason))
        CPU: \(cpu.modelName) [\(cpu.summary)]
        Kernels: \(CPUFeatures.kernelSummary)
        """
    }
}

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks (mean ± std over repetitions).",
        subcommands: [BenchCompressCommand.self, BenchEncodersCommand.self, BenchGemmCommand.self, BenchPrefillCommand.self,
                      BenchPreprocessCommand.self, BenchRunCommand.self, BenchTokenizeCommand.self, BenchTrainCommand.self]
    )
}
