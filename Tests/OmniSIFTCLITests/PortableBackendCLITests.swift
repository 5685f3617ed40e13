import Foundation
import OmniSIFT
import OmniTensor
import QwenOmni
import Testing

/// Without any BLAS (`OMNISIFT_BLAS=none` stands in for a machine without OpenBLAS) the portable kernel runs on
/// all the threads asked for, says so once with the fix, and gives the same masks.
@Suite(.serialized)
struct PortableBackendCLITests {
    @Test("OMNISIFT_BLAS=none: --version names the portable kernel and its threads; compress warns once, naming scripts/setup.sh, and keeps the same tokens as with OpenBLAS")
    func portable() throws {
        let env = ["OMNISIFT_BLAS": "none", "OMNISIFT_THREADS": "2"]
        let version = try CLI.run(["--version"], environment: env)
        #expect(version.status == 0)
        #expect(version.stdout.contains("BLAS: swift") && version.stdout.contains("2 threads"), "\(version.stdout)")

        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (input, _) = try CLITests.writeScene(in: dir)
        let selector = dir.appendingPathComponent("selector.safetensors").path
        try VGASSelector.randomlyInitialized(inputSize: 32, hiddenSize: 16, numHeads: 2, seed: 4).save(to: selector)
        let slow = dir.appendingPathComponent("portable.safetensors").path
        let fast = dir.appendingPathComponent("blas.safetensors").path
        let p = try CLI.run(["compress", input, "--selector", selector, "--keep", "0.3", "-o", slow], environment: env)
        #expect(p.status == 0, "\(p.stderr)")
        let warnings = p.stderr.components(separatedBy: "\n").filter { $0.hasPrefix("warning: no BLAS library found") }
        #expect(warnings.count == 1, "\(p.stderr)")
        #expect(warnings.first?.contains("scripts/setup.sh") == true)
        let b = try CLI.run(["compress", input, "--selector", selector, "--keep", "0.3", "-o", fast])
        #expect(b.status == 0, "\(b.stderr)")
        #expect(!b.stderr.contains("no BLAS library found") || BLASBackend.shared.name == "swift")
        #expect(try PrefillFile.read(path: slow).keepMask == PrefillFile.read(path: fast).keepMask)
    }
}
