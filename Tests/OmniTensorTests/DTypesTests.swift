import Testing
@testable import OmniTensor

/// Reference bf16 rounding through Double arithmetic: choose the nearer of the two bf16 neighbours, the one with
/// an even last mantissa bit on a tie. Independent of the bit trick under test.
func referenceBF16(_ x: Float) -> UInt16 {
    if x.isNaN { return 0x7FC0 }
    let u = x.bitPattern
    let down = UInt16(u >> 16)            // truncation toward zero (same sign)
    let up = down &+ 1                     // next bf16 away from zero
    let lo = Double(bf16ToFloat(down))
    let hiBits = UInt32(up) << 16
    // The value of `up`; if it is the infinity pattern use the value 2^128 it stands for when rounding.
    let hi: Double = (hiBits & 0x7F80_0000) == 0x7F80_0000
        ? (x < 0 ? -0x1p128 : 0x1p128) : Double(Float(bitPattern: hiBits))
    let v = Double(x)
    let dLo = abs(v - lo), dHi = abs(hi - v)
    if dLo < dHi { return down }
    if dHi < dLo { return up }
    return down & 1 == 0 ? down : up
}

@Suite("dtype conversions")
struct DTypesTests {
    @Test("bf16 rounding: exact, below/above half, ties to even")
    func bf16Rounding() {
        // 1.0 is exact.
        #expect(floatToBF16(1.0) == 0x3F80)
        // 1 + 2^-8 is exactly halfway between 1.0 (even mantissa) and 1 + 2^-7: ties go to even = 1.0.
        #expect(floatToBF16(Float(bitPattern: 0x3F80_8000)) == 0x3F80)
        // Halfway between 1 + 2^-7 (odd) and 1 + 2^-6 (even): rounds up to even.
        #expect(floatToBF16(Float(bitPattern: 0x3F81_8000)) == 0x3F82)
        // Just below / above halfway.
        #expect(floatToBF16(Float(bitPattern: 0x3F80_7FFF)) == 0x3F80)
        #expect(floatToBF16(Float(bitPattern: 0x3F80_8001)) == 0x3F81)
        // Round up carries into the exponent: largest mantissa below 2.0 rounds to 2.0.
        #expect(floatToBF16(Float(bitPattern: 0x3FFF_FFFF)) == 0x4000)
        #expect(bf16ToFloat(floatToBF16(Float(bitPattern: 0x3FFF_FFFF))) == 2.0)
        // Largest finite Float rounds to infinity; the largest finite bf16 stays.
        #expect(floatToBF16(Float.greatestFiniteMagnitude) == 0x7F80)
        #expect(floatToBF16(-Float.greatestFiniteMagnitude) == 0xFF80)
        #expect(floatToBF16(Float(bitPattern: 0x7F7F_0000)) == 0x7F7F)
        // Infinities, zeros.
        #expect(floatToBF16(.infinity) == 0x7F80)
        #expect(floatToBF16(-.infinity) == 0xFF80)
        #expect(floatToBF16(0) == 0x0000)
        #expect(floatToBF16(-0.0) == 0x8000)
        #expect(bf16ToFloat(0x8000).sign == .minus && bf16ToFloat(0x8000) == 0)
    }

    @Test("bf16 NaN stays NaN with the quiet bit, including NaNs whose payload lies only in the low bits")
    func bf16NaN() {
        for bits: UInt32 in [0x7FC0_0000, 0x7F80_0001, 0xFF80_0001, 0x7FFF_FFFF, 0x7F80_8000] {
            let h = floatToBF16(Float(bitPattern: bits))
            #expect(bf16ToFloat(h).isNaN, "bits \(String(bits, radix: 16)) -> \(String(h, radix: 16))")
            #expect(h & 0x0040 != 0)
            #expect((h & 0x8000 != 0) == (bits & 0x8000_0000 != 0))
        }
        #expect(bf16ToFloat(0x7FC0).isNaN)
    }

    @Test("bf16 agrees with a Double-arithmetic reference over random bit patterns")
    func bf16AgainstReference() {
        var rng = SeededGenerator(seed: 1)
        for _ in 0..<200_000 {
            let x = Float(bitPattern: UInt32.random(in: 0...UInt32.max, using: &rng))
            if x.isNaN { continue }
            #expect(floatToBF16(x) == referenceBF16(x))
        }
        // Widening every bf16 pattern and narrowing again is the identity (NaNs aside).
        for b in 0...UInt16.max {
            let f = bf16ToFloat(b)
            if f.isNaN { continue }
            #expect(floatToBF16(f) == b)
        }
    }

    @Test("f16 special values: subnormals both ways, overflow, underflow, inf, NaN, signed zero")
    func f16Specials() {
        // Smallest subnormal 2^-24, largest subnormal, smallest normal 2^-14.
        #expect(f16ToFloat(0x0001) == 0x1p-24)
        #expect(f16ToFloat(0x03FF) == 1023 * 0x1p-24)
        #expect(f16ToFloat(0x0400) == 0x1p-14)
        #expect(floatToF16(0x1p-24) == 0x0001)
        #expect(floatToF16(1023 * 0x1p-24) == 0x03FF)
        #expect(floatToF16(-0x1p-24) == 0x8001)
        // Underflow: 2^-25 is a tie between 0 and 2^-24 -> even (0); a bit more rounds up; less goes to zero.
        #expect(floatToF16(0x1p-25) == 0x0000)
        #expect(floatToF16(Float(bitPattern: 0x3300_0001)) == 0x0001)
        #expect(floatToF16(0x1p-30) == 0x0000)
        #expect(floatToF16(-0x1p-30) == 0x8000)
        // 3 · 2^-25 is a tie between 1 and 2 (units of 2^-24) -> even (2).
        #expect(floatToF16(3 * 0x1p-25) == 0x0002)
        // Largest subnormal rounding up into the first normal.
        #expect(floatToF16(1023.75 * 0x1p-24) == 0x0400)
        // Max finite 65504; 65519 rounds down to it; 65520 (tie, odd) rounds to inf; beyond is inf.
        #expect(floatToF16(65504) == 0x7BFF)
        #expect(floatToF16(65519) == 0x7BFF)
        #expect(floatToF16(65520) == 0x7C00)
        #expect(floatToF16(1e6) == 0x7C00)
        #expect(floatToF16(-1e6) == 0xFC00)
        #expect(floatToF16(.infinity) == 0x7C00)
        #expect(f16ToFloat(0x7C00) == .infinity)
        #expect(f16ToFloat(0xFC00) == -.infinity)
        // NaN both ways.
        #expect(f16ToFloat(0x7E00).isNaN)
        #expect(f16ToFloat(0x7C01).isNaN)
        let hn = floatToF16(Float(bitPattern: 0x7F80_0001))
        #expect(hn & 0x7C00 == 0x7C00 && hn & 0x03FF != 0)
        #expect(floatToF16(.nan) & 0x0200 != 0)
        // Signed zero.
        #expect(floatToF16(-0.0) == 0x8000)
        #expect(f16ToFloat(0x8000).sign == .minus)
        // Ties to even in the normal range: 1 + 2^-11 is halfway between 1 and 1 + 2^-10.
        #expect(floatToF16(1 + 0x1p-11) == 0x3C00)
        #expect(floatToF16(1 + 3 * 0x1p-11) == 0x3C02)
    }

    #if !(os(macOS) && arch(x86_64))
    @Test("f16 agrees with Swift's Float16 on all half patterns and on random Float32s")
    func f16AgainstFloat16() {
        for b in 0...UInt16.max {
            let mine = f16ToFloat(b)
            let ref = Float(Float16(bitPattern: b))
            if ref.isNaN { #expect(mine.isNaN); continue }
            #expect(mine.bitPattern == ref.bitPattern)
            #expect(floatToF16(mine) == b)
        }
        var rng = SeededGenerator(seed: 2)
        for _ in 0..<200_000 {
            // Bias exponents toward the half range so subnormal and overflow boundaries are well covered.
            let exp = UInt32.random(in: 97...145, using: &rng)
            let bits = (UInt32.random(in: 0...1, using: &rng) << 31) | (exp << 23)
                | UInt32.random(in: 0..<(1 << 23), using: &rng)
            let x = Float(bitPattern: bits)
            #expect(floatToF16(x) == Float16(x).bitPattern)
        }
    }
    #endif

    @Test("vectorised converters equal the scalar ones, at unaligned offsets and odd counts")
    func vectorisedEqualsScalar() {
        var rng = SeededGenerator(seed: 3)
        let count = 4099
        // Float -> 16-bit, from random bit patterns (NaNs, infs, subnormals included).
        var floats = (0..<count).map { _ in Float(bitPattern: UInt32.random(in: 0...UInt32.max, using: &rng)) }
        // Half the values in the f16-relevant range.
        for i in stride(from: 0, to: count, by: 2) {
            floats[i] = Float(bitPattern: (UInt32.random(in: 0...1, using: &rng) << 31)
                | (UInt32.random(in: 97...145, using: &rng) << 23) | UInt32.random(in: 0..<(1 << 23), using: &rng))
        }
        // Edge cases at the front: bf16 and f16 ties, carries, overflow, subnormals, NaNs, infinities, zeros.
        let edges: [UInt32] = [0x3F80_8000, 0x3F81_8000, 0x3FFF_FFFF, 0x7F7F_FFFF, 0xFF7F_FFFF, 0x7F80_0001,
                               0xFFC0_0000, 0x7F80_0000, 0x8000_0000, 0x0000_0001, 0x3300_0000, 0x3300_0001,
                               0x3380_0000, 0x387F_E000, 0x477F_E000, 0x477F_F000, 0x4780_0000, 0x3F80_1000,
                               0x3F80_3000]
        for (i, e) in edges.enumerated() { floats[i] = Float(bitPattern: e) }
        var raw = [UInt8](repeating: 0, count: 2 * count + 1)
        floats.withUnsafeBufferPointer { src in
            raw.withUnsafeMutableBytes { bytes in
                let dst = bytes.baseAddress! + 1  // deliberately misaligned
                convertFloatToBF16(src.baseAddress!, dst, count: count)
                for i in 0..<count {
                    #expect(dst.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self) == floatToBF16(src[i]))
                }
                convertFloatToF16(src.baseAddress!, dst, count: count)
                for i in 0..<count {
                    #expect(dst.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self) == floatToF16(src[i]))
                }
            }
        }
        // 16-bit -> Float from random bit patterns, misaligned source.
        let halves = (0..<count).map { _ in UInt16.random(in: 0...UInt16.max, using: &rng) }
        var bytes = [UInt8](repeating: 0, count: 2 * count + 1)
        bytes.withUnsafeMutableBytes { b in
            for i in 0..<count { b.storeBytes(of: halves[i], toByteOffset: 1 + 2 * i, as: UInt16.self) }
        }
        var out = [Float](repeating: 0, count: count)
        bytes.withUnsafeBytes { b in
            out.withUnsafeMutableBufferPointer { o in
                convertBF16ToFloat(b.baseAddress! + 1, o.baseAddress!, count: count)
                for i in 0..<count { #expect(o[i].bitPattern == bf16ToFloat(halves[i]).bitPattern) }
                convertF16ToFloat(b.baseAddress! + 1, o.baseAddress!, count: count)
                for i in 0..<count { #expect(o[i].bitPattern == f16ToFloat(halves[i]).bitPattern) }
            }
        }
    }
}
