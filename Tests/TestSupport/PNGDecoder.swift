import Foundation
import OmniSIFTViz

/// Reads PNG files: 8-bit (and 16-bit, reduced to 8) greyscale, grey+alpha, RGB, RGBA, and 8-bit palette
/// images, not interlaced. The zlib data may use stored, fixed-Huffman or dynamic-Huffman deflate blocks, so
/// files written by other tools read too. Every chunk CRC and the zlib Adler-32 are checked.
///
/// Output is always RGB (greyscale and palette) or RGBA (with alpha, or a palette with a `tRNS` chunk).
public enum PNGDecoder {
    /// Largest image accepted, in pixels (guards against absurd headers).
    public static let maxPixels = 1 << 28

    /// Decodes PNG file bytes.
    public static func decode(_ bytes: [UInt8]) throws -> PNGImage {
        guard bytes.count >= 8, Array(bytes[0..<8]) == PNGEncoder.signature else {
            throw PNGError("not a PNG file: the 8-byte signature is missing")
        }
        var pos = 8
        var header: (width: Int, height: Int, depth: Int, colorType: Int)?
        var palette: [UInt8] = []
        var transparency: [UInt8] = []
        var idat: [UInt8] = []
        var sawEnd = false
        while pos < bytes.count {
            guard pos + 12 <= bytes.count else {
                throw PNGError("truncated chunk header at byte \(pos) of \(bytes.count)")
            }
            let length = Int(be32(bytes, pos))
            let typeBytes = Array(bytes[(pos + 4)..<(pos + 8)])
            let type = String(decoding: typeBytes, as: UTF8.self)
            guard length <= bytes.count - pos - 12 else {
                throw PNGError("chunk \(type) at byte \(pos) declares \(length) bytes but only \(bytes.count - pos - 12) remain")
            }
            let data = bytes[(pos + 8)..<(pos + 8 + length)]
            let stored = be32(bytes, pos + 8 + length)
            let computed = CRC32.update(CRC32.checksum(typeBytes), data)
            guard stored == computed else {
                throw PNGError(String(format: "chunk %@ at byte %d: CRC 0x%08X does not match the data (0x%08X)",
                                      type, pos, stored, computed))
            }
            pos += 12 + length
            if header == nil && type != "IHDR" {
                throw PNGError("first chunk is \(type), expected IHDR")
            }
            switch type {
            case "IHDR":
                guard header == nil else { throw PNGError("more than one IHDR chunk") }
                guard length == 13 else { throw PNGError("IHDR has \(length) bytes, expected 13") }
                let d = Array(data)
                let w = Int(be32(d, 0)), h = Int(be32(d, 4))
                let depth = Int(d[8]), ct = Int(d[9])
                guard w > 0, h > 0, w <= 1 << 24, h <= 1 << 24, w * h <= maxPixels else {
                    throw PNGError("image size \(w) x \(h) is empty or larger than \(maxPixels) pixels")
                }
                switch (ct, depth) {
                case (0, 8), (0, 16), (2, 8), (2, 16), (4, 8), (4, 16), (6, 8), (6, 16), (3, 8): break
                default:
                    throw PNGError("colour type \(ct) with bit depth \(depth) is not supported (8 or 16 bits; palette 8 bits)")
                }
                guard d[10] == 0 else { throw PNGError("compression method \(d[10]) is not deflate (0)") }
                guard d[11] == 0 else { throw PNGError("filter method \(d[11]) is not 0") }
                guard d[12] == 0 else { throw PNGError("interlaced (Adam7) PNGs are not supported") }
                header = (w, h, depth, ct)
            case "PLTE":
                guard length % 3 == 0, length > 0, length <= 768 else {
                    throw PNGError("PLTE has \(length) bytes, not a multiple of 3 up to 768")
                }
                palette = Array(data)
            case "tRNS":
                transparency = Array(data)
            case "IDAT":
                idat += data
            case "IEND":
                sawEnd = true
            default:
                // Ancillary chunks (lower-case first letter) are skipped; unknown critical ones are an error.
                if typeBytes[0] & 0x20 == 0 {
                    throw PNGError("unknown critical chunk \(type)")
                }
            }
            if sawEnd { break }
        }
        guard let hd = header else { throw PNGError("no IHDR chunk") }
        guard sawEnd else { throw PNGError("no IEND chunk: the file is truncated") }
        guard !idat.isEmpty else { throw PNGError("no IDAT chunk: the image has no data") }
        if hd.colorType == 3 && palette.isEmpty { throw PNGError("palette image without a PLTE chunk") }

        let samples = [0: 1, 2: 3, 3: 1, 4: 2, 6: 4][hd.colorType]!
        let bytesPerSample = hd.depth / 8
        let bpp = samples * bytesPerSample
        let stride = hd.width * bpp
        // The limit stops a corrupt or hostile stream from inflating far past the image size.
        let raw = try Inflate.zlib(idat, expectedSize: (stride + 1) * hd.height, limit: (stride + 1) * hd.height)
        guard raw.count == (stride + 1) * hd.height else {
            throw PNGError("image data inflates to \(raw.count) bytes, expected \(hd.height) rows of 1 + \(stride)")
        }
        let rows = try unfilter(raw, height: hd.height, stride: stride, bpp: bpp)

        // Convert to 8-bit RGB / RGBA.
        let hasAlpha = hd.colorType == 4 || hd.colorType == 6 || (hd.colorType == 3 && !transparency.isEmpty)
        let outChannels = hasAlpha ? 4 : 3
        var out = [UInt8](repeating: 0, count: hd.width * hd.height * outChannels)
        let n = hd.width * hd.height
        for p in 0..<n {
            let s = p * bpp
            @inline(__always) func sample(_ k: Int) -> UInt8 { rows[s + k * bytesPerSample] }  // high byte for 16-bit
            let o = p * outChannels
            switch hd.colorType {
            case 0:
                let g = sample(0); out[o] = g; out[o + 1] = g; out[o + 2] = g
            case 4:
                let g = sample(0); out[o] = g; out[o + 1] = g; out[o + 2] = g; out[o + 3] = sample(1)
            case 2:
                out[o] = sample(0); out[o + 1] = sample(1); out[o + 2] = sample(2)
            case 6:
                out[o] = sample(0); out[o + 1] = sample(1); out[o + 2] = sample(2); out[o + 3] = sample(3)
            default:  // palette
                let idx = Int(rows[s])
                guard idx * 3 + 2 < palette.count else {
                    throw PNGError("pixel \(p) uses palette index \(idx) but the palette has \(palette.count / 3) entries")
                }
                out[o] = palette[idx * 3]; out[o + 1] = palette[idx * 3 + 1]; out[o + 2] = palette[idx * 3 + 2]
                if hasAlpha { out[o + 3] = idx < transparency.count ? transparency[idx] : 255 }
            }
        }
        return try PNGImage(width: hd.width, height: hd.height, channels: outChannels, pixels: out)
    }

    /// Reads and decodes a PNG file.
    public static func read(path: String) throws -> PNGImage {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw PNGError("cannot read \(path)")
        }
        do {
            return try decode([UInt8](data))
        } catch let e as PNGError {
            throw PNGError("\(path): \(e.description)")
        }
    }

    static func be32<C: Collection>(_ b: C, _ i: Int) -> UInt32 where C.Element == UInt8, C.Index == Int {
        (UInt32(b[i]) << 24) | (UInt32(b[i + 1]) << 16) | (UInt32(b[i + 2]) << 8) | UInt32(b[i + 3])
    }

    /// Undoes the per-row filters 0 (none), 1 (sub), 2 (up), 3 (average) and 4 (Paeth).
    static func unfilter(_ raw: [UInt8], height: Int, stride: Int, bpp: Int) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: stride * height)
        for y in 0..<height {
            let f = raw[y * (stride + 1)]
            let src = y * (stride + 1) + 1
            let dst = y * stride
            for i in 0..<stride {
                let x = Int(raw[src + i])
                let a = i >= bpp ? Int(out[dst + i - bpp]) : 0
                let b = y > 0 ? Int(out[dst - stride + i]) : 0
                let c = (i >= bpp && y > 0) ? Int(out[dst - stride + i - bpp]) : 0
                let pred: Int
                switch f {
                case 0: pred = 0
                case 1: pred = a
                case 2: pred = b
                case 3: pred = (a + b) >> 1
                case 4: pred = PNGEncoder.paeth(a, b, c)
                default: throw PNGError("row \(y) uses filter type \(f); only 0-4 exist")
                }
                out[dst + i] = UInt8(truncatingIfNeeded: x + pred)
            }
        }
        return out
    }
}

/// A zlib / deflate decompressor (RFC 1950 / 1951): stored, fixed-Huffman and dynamic-Huffman blocks.
public enum Inflate {
    /// Decompresses a zlib stream and checks its header and Adler-32. `expectedSize` only reserves memory;
    /// output larger than `limit` bytes is an error.
    public static func zlib(_ data: [UInt8], expectedSize: Int = 0, limit: Int = 1 << 31) throws -> [UInt8] {
        guard data.count >= 6 else { throw PNGError("zlib stream of \(data.count) bytes is too short") }
        let cmf = Int(data[0]), flg = Int(data[1])
        guard cmf & 0x0F == 8, cmf >> 4 <= 7 else {
            throw PNGError(String(format: "zlib header 0x%02X: not deflate with a window up to 32 KiB", cmf))
        }
        guard (cmf * 256 + flg) % 31 == 0 else { throw PNGError("zlib header check bits are wrong") }
        guard flg & 0x20 == 0 else { throw PNGError("zlib stream needs a preset dictionary (not supported)") }
        var reader = BitReader(data: data, position: 2)
        let out = try deflate(&reader, expectedSize: expectedSize, limit: limit)
        reader.alignToByte()
        let p = reader.position
        guard p + 4 <= data.count else { throw PNGError("zlib stream ends before its Adler-32 checksum") }
        let stored = PNGDecoder.be32(data, p)
        let computed = Adler32.checksum(out)
        guard stored == computed else {
            throw PNGError(String(format: "zlib Adler-32 0x%08X does not match the data (0x%08X)", stored, computed))
        }
        return out
    }

    /// Decompresses raw deflate blocks until the final one.
    static func deflate(_ r: inout BitReader, expectedSize: Int, limit: Int) throws -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(max(0, min(expectedSize, limit)))
        var final = false
        while !final {
            final = try r.bits(1) == 1
            let type = try r.bits(2)
            switch type {
            case 0:
                r.alignToByte()
                let len = try r.bits(16), nlen = try r.bits(16)
                guard len == (~nlen & 0xFFFF) else {
                    throw PNGError("stored deflate block: length \(len) does not match its complement")
                }
                guard r.position + len <= r.data.count else {
                    throw PNGError("stored deflate block of \(len) bytes runs past the end of the data")
                }
                out += r.data[r.position..<(r.position + len)]
                r.position += len
            case 1:
                try codes(&r, &out, lit: fixedLiteral, dist: fixedDistance, limit: limit)
            case 2:
                let (lit, dist) = try dynamicTables(&r)
                try codes(&r, &out, lit: lit, dist: dist, limit: limit)
            default:
                throw PNGError("deflate block type 3 is reserved (corrupt data)")
            }
            if out.count > limit { throw PNGError("inflated data exceeds \(limit) bytes") }
        }
        return out
    }

    static let fixedLiteral = try! Huffman(lengths: DeflateTables.fixedLiteralLengths)
    static let fixedDistance = try! Huffman(lengths: [Int](repeating: 5, count: 30))

    static func dynamicTables(_ r: inout BitReader) throws -> (Huffman, Huffman) {
        let nlen = try r.bits(5) + 257, ndist = try r.bits(5) + 1, ncode = try r.bits(4) + 4
        guard nlen <= 286, ndist <= 30 else {
            throw PNGError("dynamic deflate block declares \(nlen) literal and \(ndist) distance codes (max 286, 30)")
        }
        var clen = [Int](repeating: 0, count: 19)
        for i in 0..<ncode { clen[DeflateTables.codeLengthOrder[i]] = try r.bits(3) }
        let lencode = try Huffman(lengths: clen)
        var lengths = [Int]()
        lengths.reserveCapacity(nlen + ndist)
        while lengths.count < nlen + ndist {
            let sym = try lencode.decode(&r)
            switch sym {
            case 0...15: lengths.append(sym)
            case 16:
                guard let last = lengths.last else {
                    throw PNGError("dynamic deflate block repeats a code length before the first one")
                }
                lengths += [Int](repeating: last, count: 3 + (try r.bits(2)))
            case 17: lengths += [Int](repeating: 0, count: 3 + (try r.bits(3)))
            default: lengths += [Int](repeating: 0, count: 11 + (try r.bits(7)))
            }
        }
        guard lengths.count == nlen + ndist else {
            throw PNGError("dynamic deflate block: code lengths overrun (\(lengths.count) for \(nlen + ndist))")
        }
        guard lengths[256] > 0 else { throw PNGError("dynamic deflate block has no end-of-block code") }
        return (try Huffman(lengths: Array(lengths[0..<nlen])), try Huffman(lengths: Array(lengths[nlen...])))
    }

    static func codes(_ r: inout BitReader, _ out: inout [UInt8], lit: Huffman, dist: Huffman, limit: Int) throws {
        while true {
            let sym = try lit.decode(&r)
            if sym < 256 {
                out.append(UInt8(sym))
            } else if sym == 256 {
                return
            } else {
                let li = sym - 257
                guard li < 29 else { throw PNGError("invalid deflate length symbol \(sym)") }
                let len = DeflateTables.lengthBase[li] + (try r.bits(DeflateTables.lengthExtra[li]))
                let dc = try dist.decode(&r)
                guard dc < 30 else { throw PNGError("invalid deflate distance symbol \(dc)") }
                let d = DeflateTables.distBase[dc] + (try r.bits(DeflateTables.distExtra[dc]))
                guard d <= out.count else {
                    throw PNGError("deflate distance \(d) reaches before the start of the output (\(out.count) bytes)")
                }
                let start = out.count - d
                for k in 0..<len { out.append(out[start + k]) }
                if out.count > limit { throw PNGError("inflated data exceeds \(limit) bytes") }
            }
        }
    }
}

/// LSB-first bit reader over a byte array.
struct BitReader {
    let data: [UInt8]
    var position: Int
    var acc: UInt64 = 0
    var count = 0

    init(data: [UInt8], position: Int) {
        self.data = data
        self.position = position
    }

    @inline(__always)
    mutating func bits(_ n: Int) throws -> Int {
        if n == 0 { return 0 }
        while count < n {
            guard position < data.count else { throw PNGError("deflate data ends unexpectedly") }
            acc |= UInt64(data[position]) << UInt64(count)
            position += 1
            count += 8
        }
        let v = Int(acc & ((1 << UInt64(n)) - 1))
        acc >>= UInt64(n)
        count -= n
        return v
    }

    /// Drops the bits left in the current byte (whole unread bytes already loaded are given back).
    mutating func alignToByte() {
        let whole = count / 8
        position -= whole
        acc = 0
        count = 0
    }
}

/// A canonical Huffman decoding table built from code lengths (RFC 1951 section 3.2.2).
struct Huffman: Sendable {
    /// Number of codes of each length 0...15.
    var counts = [Int](repeating: 0, count: 16)
    /// Symbols ordered by code (length, then symbol value).
    var symbols: [Int] = []

    init(lengths: [Int]) throws {
        for l in lengths { counts[l] += 1 }
        counts[0] = 0
        var left = 1
        for len in 1...15 {
            left <<= 1
            left -= counts[len]
            if left < 0 { throw PNGError("over-subscribed Huffman code lengths (corrupt deflate data)") }
        }
        var offsets = [Int](repeating: 0, count: 16)
        for len in 1..<15 { offsets[len + 1] = offsets[len] + counts[len] }
        symbols = [Int](repeating: 0, count: lengths.count)
        for (s, l) in lengths.enumerated() where l != 0 {
            symbols[offsets[l]] = s
            offsets[l] += 1
        }
    }

    /// Reads one symbol, one bit at a time: the first `count[len]` codes of each length start at `first`.
    @inline(__always)
    func decode(_ r: inout BitReader) throws -> Int {
        var code = 0, first = 0, index = 0
        for len in 1...15 {
            code |= try r.bits(1)
            let c = counts[len]
            if code - first < c { return symbols[index + code - first] }
            index += c
            first = (first + c) << 1
            code <<= 1
        }
        throw PNGError("invalid Huffman code in deflate data")
    }
}
