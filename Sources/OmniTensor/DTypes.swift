import CPUKernels
// Conversions between Float32 and the 16-bit float formats stored in checkpoints:
// bfloat16 (1 sign, 8 exponent, 7 mantissa bits: the top half of a Float32) and IEEE binary16 "half"
// (1 sign, 5 exponent, 10 mantissa bits).
//
// The scalar functions are the definitions; the `convert…` array loops compute the same bits with branch-free
// kernels the optimiser vectorises. Sources may be unaligned (they often point into a memory-mapped file).

// MARK: - bfloat16

/// The Float32 value of bfloat16 bits (exact: bf16 is the top half of a Float32).
@inlinable
public func bf16ToFloat(_ bits: UInt16) -> Float {
    Float(bitPattern: UInt32(bits) << 16)
}

/// bfloat16 bits of `x`, rounded to nearest with ties to even.
///
/// Values beyond the largest finite bf16 round to infinity (as IEEE rounding does); a NaN stays a NaN, with its
/// sign and top payload bits kept and the quiet bit set (plain truncation could turn a NaN into infinity).
@inlinable
public func floatToBF16(_ x: Float) -> UInt16 {
    let u = x.bitPattern
    if u & 0x7FFF_FFFF > 0x7F80_0000 { return UInt16(truncatingIfNeeded: u >> 16) | 0x0040 }
    let lsb = (u >> 16) & 1
    return UInt16(truncatingIfNeeded: (u &+ 0x7FFF &+ lsb) >> 16)
}

// MARK: - IEEE half (binary16)

/// The Float32 value of IEEE binary16 bits (exact for every input: normals, subnormals, ±0, ±inf, NaN payloads).
@inlinable
public func f16ToFloat(_ bits: UInt16) -> Float {
    let h = UInt32(bits)
    let sign = (h & 0x8000) << 16
    let exp = (h >> 10) & 0x1F
    let mant = h & 0x3FF
    if exp == 0x1F {  // inf / NaN: keep the payload, widened.
        return Float(bitPattern: sign | 0x7F80_0000 | (mant << 13))
    }
    if exp == 0 {  // zero / subnormal: mant · 2^-24, exact in Float32.
        let magnitude = Float(mant) * 0x1p-24
        return Float(bitPattern: sign | magnitude.bitPattern)
    }
    return Float(bitPattern: sign | ((exp + 112) << 23) | (mant << 13))
}

/// IEEE binary16 bits of `x`, rounded to nearest with ties to even.
///
/// Magnitudes at or above 65520 become infinity, magnitudes below the smallest half subnormal (2^-25, ties to
/// even) become a signed zero, values in between the subnormal range round correctly; NaN stays NaN (quiet bit
/// set, sign and top payload bits kept).
@inlinable
public func floatToF16(_ x: Float) -> UInt16 {
    let u = x.bitPattern
    let sign = UInt16(truncatingIfNeeded: (u >> 16) & 0x8000)
    let a = u & 0x7FFF_FFFF
    if a > 0x7F80_0000 {  // NaN
        return sign | 0x7E00 | UInt16(truncatingIfNeeded: (a >> 13) & 0x3FF)
    }
    if a >= 0x4780_0000 {  // >= 65536: inf (values in [65520, 65536) round up below)
        return sign | 0x7C00
    }
    if a < 0x3880_0000 {  // below 2^-14: half subnormal or zero; let the FPU do the rounding.
        let f = Float(bitPattern: a) + Float(bitPattern: F16Magic.denormMagic)
        return sign | UInt16(truncatingIfNeeded: f.bitPattern &- F16Magic.denormMagic)
    }
    let mantOdd = (a >> 13) & 1
    let r = (a &+ F16Magic.rebias &+ 0xFFF &+ mantOdd) >> 13
    return sign | UInt16(truncatingIfNeeded: r)
}

@usableFromInline
enum F16Magic {
    /// (127 - 15 + 23 - 10 + 1) << 23: adding this float shifts a small magnitude so its half-subnormal bits land
    /// at the bottom of the mantissa, rounded to nearest even by the FPU.
    @inlinable static var denormMagic: UInt32 { (127 - 15 + 23 - 10 + 1) << 23 }
    /// Re-biases the exponent from Float32 (127) to half (15), as a two's-complement addend.
    @inlinable static var rebias: UInt32 { UInt32(bitPattern: Int32(15 - 127) << 23) }
}

// MARK: - Vectorised array conversions
//
// The loops below apply branch-free per-element kernels (every case computed, the right one selected), which the
// optimiser turns into SIMD code: the `select`s become vector blends. (Swift's generic SIMD types with masks were
// measured 10-20x slower here than these auto-vectorised loops.)

@inline(__always)
private func bf16BitsToFloatBits(_ h: UInt16) -> UInt32 { UInt32(h) << 16 }

@inline(__always)
private func floatBitsToBF16Bits(_ u: UInt32) -> UInt16 {
    let rounded = (u &+ 0x7FFF &+ ((u >> 16) & 1)) >> 16
    let nan = (u >> 16) | 0x0040
    return UInt16(truncatingIfNeeded: (u & 0x7FFF_FFFF) > 0x7F80_0000 ? nan : rounded)
}

@inline(__always)
private func f16BitsToFloatBits(_ h16: UInt16) -> UInt32 {
    let h = UInt32(h16)
    let sign = (h & 0x8000) << 16
    let em = h & 0x7FFF
    let normal = (em << 13) &+ (112 << 23)          // re-bias the exponent by 127 - 15
    let special = (em << 13) | 0x7F80_0000          // inf / NaN, payload widened
    let sub = (Float(Int32(bitPattern: em)) * 0x1p-24).bitPattern  // zero / subnormal (em = mantissa there)
    var r = em >= 0x7C00 ? special : normal
    r = em < 0x0400 ? sub : r
    return r | sign
}

@inline(__always)
private func floatBitsToF16Bits(_ u: UInt32) -> UInt16 {
    let sign = (u >> 16) & 0x8000
    let a = u & 0x7FFF_FFFF
    let normal = (a &+ F16Magic.rebias &+ 0xFFF &+ ((a >> 13) & 1)) >> 13
    let shifted = Float(bitPattern: a) + Float(bitPattern: F16Magic.denormMagic)
    let sub = shifted.bitPattern &- F16Magic.denormMagic
    let nan = 0x7E00 | ((a >> 13) & 0x3FF)
    var r = a < 0x3880_0000 ? sub : normal
    r = a >= 0x4780_0000 ? 0x7C00 : r
    r = a > 0x7F80_0000 ? nan : r
    return UInt16(truncatingIfNeeded: r | sign)
}

/// Widens `count` bfloat16 values at `src` (any alignment) to Float32 at `dst`.
public func convertBF16ToFloat(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, count: Int) {
    precondition(count >= 0, "convertBF16ToFloat: negative count \(count)")
    let out = UnsafeMutableRawPointer(dst)
    for i in 0..<count {
        let h = src.loadUnaligned(fromByteOffset: i &* 2, as: UInt16.self)
        out.storeBytes(of: bf16BitsToFloatBits(h), toByteOffset: i &* 4, as: UInt32.self)
    }
}

/// Widens `count` IEEE half values at `src` (any alignment) to Float32 at `dst`.
public func convertF16ToFloat(_ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, count: Int) {
    precondition(count >= 0, "convertF16ToFloat: negative count \(count)")
    let out = UnsafeMutableRawPointer(dst)
    for i in 0..<count {
        let h = src.loadUnaligned(fromByteOffset: i &* 2, as: UInt16.self)
        out.storeBytes(of: f16BitsToFloatBits(h), toByteOffset: i &* 4, as: UInt32.self)
    }
}

/// Narrows `count` Float32 values to bfloat16 at `dst` (any alignment), round to nearest even.
public func convertFloatToBF16(_ src: UnsafePointer<Float>, _ dst: UnsafeMutableRawPointer, count: Int) {
    precondition(count >= 0, "convertFloatToBF16: negative count \(count)")
    let input = UnsafeRawPointer(src)
    for i in 0..<count {
        let u = input.load(fromByteOffset: i &* 4, as: UInt32.self)
        dst.storeBytes(of: floatBitsToBF16Bits(u), toByteOffset: i &* 2, as: UInt16.self)
    }
}

/// Narrows `count` Float32 values to IEEE half at `dst` (any alignment), round to nearest even.
public func convertFloatToF16(_ src: UnsafePointer<Float>, _ dst: UnsafeMutableRawPointer, count: Int) {
    precondition(count >= 0, "convertFloatToF16: negative count \(count)")
    let input = UnsafeRawPointer(src)
    for i in 0..<count {
        let u = input.load(fromByteOffset: i &* 4, as: UInt32.self)
        dst.storeBytes(of: floatBitsToF16Bits(u), toByteOffset: i &* 2, as: UInt16.self)
    }
}

extension Tensor {
    /// Every scalar rounded to the nearest bf16 value (ties to even; NaN stays NaN), kept as Float32.
    public func roundedToBF16() -> Tensor {
        var r = self
        r.roundToBF16()
        return r
    }

    /// Rounds every scalar to the nearest bf16 value in place (no copy when the storage is not shared).
    public mutating func roundToBF16() {
        withUnsafeMutableBufferPointer { ck_round_to_bf16($0.baseAddress, $0.count) }
    }
}
