import CMedia

/// libsoxr's "HQ" resampling of mono Float32, sized as python-soxr (librosa's default resampler) sizes it:
/// round(input · out / in) samples.
public enum Resampler {
    public static func soxrHQ(_ input: [Float], from inRate: Int, to outRate: Int) throws -> [Float] {
        guard inRate > 0, outRate > 0 else { throw MediaError("cannot resample \(inRate) Hz to \(outRate) Hz") }
        if inRate == outRate { return input }
        let length = Int(Double(input.count) * Double(outRate) / Double(inRate) + 0.5)  // python-soxr's size
        var output = [Float](repeating: 0, count: length)
        var written = 0
        var error = [CChar](repeating: 0, count: Int(CM_ERROR_CAPACITY))
        let status = input.withUnsafeBufferPointer { x in
            output.withUnsafeMutableBufferPointer { y in
                cm_soxr_resample(x.baseAddress, x.count, Double(inRate), Double(outRate), y.baseAddress, length,
                                 &written, &error)
            }
        }
        guard status == 0 else { throw MediaError(errorText(error)) }
        return Array(output.prefix(written))
    }
}
