import Foundation

/// An 8-bit RGB or RGBA image, row-major, top row first: the pixel data a PNG holds.
public struct PNGImage: Sendable, Equatable {
    /// Width in pixels (> 0).
    public let width: Int
    /// Height in pixels (> 0).
    public let height: Int
    /// 3 (RGB) or 4 (RGBA).
    public let channels: Int
    /// `width * height * channels` bytes.
    public var pixels: [UInt8]

    /// Wraps pixel bytes; throws `PNGError` when the byte count or the channel count does not fit.
    public init(width: Int, height: Int, channels: Int, pixels: [UInt8]) throws {
        guard width > 0, height > 0 else {
            throw PNGError("image size \(width) x \(height): both sides must be positive")
        }
        guard channels == 3 || channels == 4 else {
            throw PNGError("\(channels) channels: only 3 (RGB) and 4 (RGBA) are supported")
        }
        let (wh, o1) = width.multipliedReportingOverflow(by: height)
        let (n, o2) = wh.multipliedReportingOverflow(by: channels)
        guard !o1, !o2, pixels.count == n else {
            throw PNGError("\(pixels.count) pixel bytes for a \(width) x \(height) image with \(channels) channels (expected \(o1 || o2 ? "too many" : String(n)))")
        }
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
    }

    /// The pixel at (x, y) as its channel bytes.
    public func pixel(x: Int, y: Int) -> [UInt8] {
        let o = (y * width + x) * channels
        return Array(pixels[o..<o + channels])
    }
}

/// A malformed or unsupported PNG, or an image that cannot be encoded. `description` names the problem.
public struct PNGError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// CRC-32 (ISO 3309 / ITU-T V.42, polynomial 0xEDB88320 reflected), as PNG chunks and zip use it.
public enum CRC32 {
    /// The 256-entry byte table.
    static let table: [UInt32] = (0..<256).map { n -> UInt32 in
        var c = UInt32(n)
        for _ in 0..<8 { c = (c & 1) != 0 ? (0xEDB8_8320 ^ (c >> 1)) : (c >> 1) }
        return c
    }

    /// Continues a running CRC (start with 0) over `bytes`.
    public static func update<C: Collection>(_ crc: UInt32, _ bytes: C) -> UInt32 where C.Element == UInt8 {
        var c = ~crc
        table.withUnsafeBufferPointer { t in
            for b in bytes { c = t[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        }
        return ~c
    }

    /// The CRC-32 of `bytes`.
    public static func checksum<C: Collection>(_ bytes: C) -> UInt32 where C.Element == UInt8 {
        update(0, bytes)
    }
}

/// Adler-32 (RFC 1950), the checksum that ends a zlib stream.
public enum Adler32 {
    /// The Adler-32 of `bytes` (1 for no bytes).
    public static func checksum<C: Collection>(_ bytes: C) -> UInt32 where C.Element == UInt8 {
        var a: UInt32 = 1, b: UInt32 = 0
        var n = 0
        for x in bytes {
            a &+= UInt32(x)
            b &+= a
            n += 1
            if n == 5552 {  // largest run before b can overflow 32 bits
                a %= 65521; b %= 65521; n = 0
            }
        }
        a %= 65521; b %= 65521
        return (b << 16) | a
    }
}

/// How the PNG encoder compresses the image data.
public enum PNGCompression: Sendable {
    /// Deflate "stored" blocks: no compression, fastest, largest.
    case stored
    /// LZ77 with hash chains and the fixed Huffman code of RFC 1951; rows get the adaptive PNG filter.
    case fixedHuffman
}

/// Writes 8-bit RGB / RGBA PNG files (signature, IHDR, one IDAT holding a zlib stream, IEND), without
/// external libraries.
public enum PNGEncoder {
    /// The 8-byte PNG signature.
    public static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    /// The complete PNG file bytes for `image`.
    public static func encode(_ image: PNGImage, compression: PNGCompression = .fixedHuffman) -> [UInt8] {
        var out = signature
        var ihdr = [UInt8]()
        appendBE32(&ihdr, UInt32(image.width))
        appendBE32(&ihdr, UInt32(image.height))
        ihdr += [8, image.channels == 4 ? 6 : 2, 0, 0, 0]  // depth 8, colour type, deflate, filter set 0, no interlace
        appendChunk(&out, "IHDR", ihdr)
        let raw = filteredRows(image, adaptive: compression == .fixedHuffman)
        appendChunk(&out, "IDAT", ZlibWriter.compress(raw, compression: compression))
        appendChunk(&out, "IEND", [])
        return out
    }

    /// Encodes `image` and writes it to `path` (replacing the file). Throws `PNGError` naming the path.
    public static func write(_ image: PNGImage, to path: String, compression: PNGCompression = .fixedHuffman) throws {
        let bytes = encode(image, compression: compression)
        do {
            try Data(bytes).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw PNGError("cannot write \(path): \(error.localizedDescription)")
        }
    }

    static func appendBE32(_ a: inout [UInt8], _ v: UInt32) {
        a += [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)]
    }

    static func appendChunk(_ out: inout [UInt8], _ type: String, _ data: [UInt8]) {
        appendBE32(&out, UInt32(data.count))
        let typeBytes = Array(type.utf8)
        out += typeBytes
        out += data
        appendBE32(&out, CRC32.update(CRC32.checksum(typeBytes), data))
    }

    /// The scanlines, each preceded by its filter byte. Adaptive: per row the filter (0-4) whose output has
    /// the smallest sum of absolute values as signed bytes (the usual heuristic); otherwise filter 0.
    static func filteredRows(_ image: PNGImage, adaptive: Bool) -> [UInt8] {
        let bpp = image.channels
        let stride = image.width * bpp
        var out = [UInt8]()
        out.reserveCapacity((stride + 1) * image.height)
        var candidate = [UInt8](repeating: 0, count: stride)
        var best = [UInt8](repeating: 0, count: stride)
        let zeroRow = [UInt8](repeating: 0, count: stride)
        image.pixels.withUnsafeBufferPointer { px in
            for y in 0..<image.height {
                let row = UnsafeBufferPointer(rebasing: px[(y * stride)..<((y + 1) * stride)])
                if !adaptive {
                    out.append(0)
                    out += row
                    continue
                }
                zeroRow.withUnsafeBufferPointer { zr in
                    let prev = y > 0 ? UnsafeBufferPointer(rebasing: px[((y - 1) * stride)..<(y * stride)]) : zr
                    var bestFilter: UInt8 = 0
                    var bestCost = Int.max
                    for f: UInt8 in 0...4 {
                        var cost = 0
                        for i in 0..<stride {
                            let a = i >= bpp ? Int(row[i - bpp]) : 0
                            let b = Int(prev[i])
                            let c = i >= bpp ? Int(prev[i - bpp]) : 0
                            let pred: Int
                            switch f {
                            case 0: pred = 0
                            case 1: pred = a
                            case 2: pred = b
                            case 3: pred = (a + b) >> 1
                            default: pred = paeth(a, b, c)
                            }
                            let v = UInt8(truncatingIfNeeded: Int(row[i]) - pred)
                            candidate[i] = v
                            cost += v < 128 ? Int(v) : 256 - Int(v)
                        }
                        if cost < bestCost {
                            bestCost = cost
                            bestFilter = f
                            swap(&best, &candidate)
                        }
                    }
                    out.append(bestFilter)
                    out += best
                }
            }
        }
        return out
    }

    /// The Paeth predictor of the PNG specification.
    @inline(__always)
    public static func paeth(_ a: Int, _ b: Int, _ c: Int) -> Int {
        let p = a + b - c
        let pa = abs(p - a), pb = abs(p - b), pc = abs(p - c)
        if pa <= pb && pa <= pc { return a }
        return pb <= pc ? b : c
    }
}

/// Deflate tables shared by the writer and the reader (RFC 1951 section 3.2.5).
public enum DeflateTables {
    public static let lengthBase: [Int] = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31,
                                    35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258]
    public static let lengthExtra: [Int] = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2,
                                     3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]
    public static let distBase: [Int] = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193,
                                  257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577]
    public static let distExtra: [Int] = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6,
                                   7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13]
    /// Order in which a dynamic block sends the code-length code lengths.
    public static let codeLengthOrder: [Int] = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]

    /// Code lengths of the fixed literal/length code (288 symbols).
    public static let fixedLiteralLengths: [Int] = (0..<288).map { s in
        s < 144 ? 8 : s < 256 ? 9 : s < 280 ? 7 : 8
    }

    /// Length code index (0...28, symbol 257 + index) for a match length 3...258.
    static let lengthCodeIndex: [UInt8] = {
        var t = [UInt8](repeating: 0, count: 259)
        for i in 0..<29 {
            let hi = i == 28 ? 258 : min(258, lengthBase[i] + (1 << lengthExtra[i]) - 1)
            if lengthBase[i] <= hi { for l in lengthBase[i]...hi { t[l] = UInt8(i) } }
        }
        t[258] = 28
        return t
    }()

    /// Distance code (0...29) for a distance 1...32768.
    @inline(__always)
    static func distanceCode(_ d: Int) -> Int {
        var lo = 0, hi = 29
        while lo < hi {  // largest code whose base <= d
            let mid = (lo + hi + 1) >> 1
            if distBase[mid] <= d { lo = mid } else { hi = mid - 1 }
        }
        return lo
    }
}

/// LSB-first bit writer for deflate.
struct BitWriter {
    var bytes: [UInt8] = []
    var acc: UInt64 = 0
    var count = 0

    @inline(__always)
    mutating func write(_ value: Int, bits: Int) {
        acc |= UInt64(value) << UInt64(count)
        count += bits
        while count >= 8 {
            bytes.append(UInt8(acc & 0xFF))
            acc >>= 8
            count -= 8
        }
    }

    /// Writes a Huffman code, which deflate sends most significant bit first.
    @inline(__always)
    mutating func writeCode(_ code: Int, length: Int) {
        var r = 0, c = code
        for _ in 0..<length { r = (r << 1) | (c & 1); c >>= 1 }
        write(r, bits: length)
    }

    mutating func alignToByte() {
        if count > 0 { write(0, bits: 8 - count) }
    }
}

/// zlib (RFC 1950) stream writer around a deflate (RFC 1951) compressor.
enum ZlibWriter {
    static func compress(_ data: [UInt8], compression: PNGCompression) -> [UInt8] {
        var out: [UInt8] = [0x78, 0x01]  // deflate, 32 KiB window, no dictionary; 0x7801 % 31 == 0
        switch compression {
        case .stored: out += storedBlocks(data)
        case .fixedHuffman: out += fixedHuffman(data)
        }
        PNGEncoder.appendBE32(&out, Adler32.checksum(data))
        return out
    }

    static func storedBlocks(_ data: [UInt8]) -> [UInt8] {
        var out = [UInt8]()
        var start = 0
        repeat {
            let n = min(65535, data.count - start)
            let last = start + n == data.count
            out.append(last ? 1 : 0)  // BFINAL, BTYPE 00, then byte alignment
            out += [UInt8(n & 0xFF), UInt8(n >> 8), UInt8(~n & 0xFF), UInt8((~n >> 8) & 0xFF)]
            out += data[start..<start + n]
            start += n
        } while start < data.count
        return out
    }

    /// Fixed literal/length codes: (code, length) per symbol 0...287.
    static let fixedCodes: [(Int, Int)] = (0..<288).map { s in
        if s < 144 { return (0x30 + s, 8) }
        if s < 256 { return (0x190 + s - 144, 9) }
        if s < 280 { return (s - 256, 7) }
        return (0xC0 + s - 280, 8)
    }

    /// One final fixed-Huffman block; greedy LZ77 over a 32 KiB window with 3-byte hash chains.
    static func fixedHuffman(_ data: [UInt8]) -> [UInt8] {
        var w = BitWriter()
        w.bytes.reserveCapacity(data.count / 2 + 64)
        w.write(1, bits: 1)  // BFINAL
        w.write(1, bits: 2)  // BTYPE 01 fixed
        let n = data.count
        let windowSize = 32768, windowMask = windowSize - 1
        let hashBits = 15, hashSize = 1 << hashBits
        let maxChain = 48
        var head = [Int32](repeating: -1, count: hashSize)
        var prev = [Int32](repeating: -1, count: windowSize)
        data.withUnsafeBufferPointer { d in
            @inline(__always) func hash(_ i: Int) -> Int {
                let v = (Int(d[i]) << 16) | (Int(d[i + 1]) << 8) | Int(d[i + 2])
                return ((v &* 0x9E37_79B1) >> (32 - hashBits)) & (hashSize - 1)
            }
            @inline(__always) func insert(_ i: Int) {
                guard i + 2 < n else { return }
                let h = hash(i)
                prev[i & windowMask] = head[h]
                head[h] = Int32(i)
            }
            var i = 0
            while i < n {
                var bestLen = 0, bestDist = 0
                if i + 2 < n {
                    var cand = Int(head[hash(i)])
                    var chain = 0
                    let maxLen = min(258, n - i)
                    while cand >= 0 && i - cand <= windowSize && chain < maxChain {
                        if d[cand + bestLen] == d[i + bestLen] || bestLen == 0 {
                            var l = 0
                            while l < maxLen && d[cand + l] == d[i + l] { l += 1 }
                            if l > bestLen {
                                bestLen = l
                                bestDist = i - cand
                                if l == maxLen { break }
                            }
                        }
                        let p = Int(prev[cand & windowMask])
                        if p >= cand { break }  // stale entry from an older window position
                        cand = p
                        chain += 1
                    }
                }
                if bestLen >= 3 {
                    let li = Int(DeflateTables.lengthCodeIndex[bestLen])
                    let (code, len) = fixedCodes[257 + li]
                    w.writeCode(code, length: len)
                    if DeflateTables.lengthExtra[li] > 0 {
                        w.write(bestLen - DeflateTables.lengthBase[li], bits: DeflateTables.lengthExtra[li])
                    }
                    let dc = DeflateTables.distanceCode(bestDist)
                    w.writeCode(dc, length: 5)
                    if DeflateTables.distExtra[dc] > 0 {
                        w.write(bestDist - DeflateTables.distBase[dc], bits: DeflateTables.distExtra[dc])
                    }
                    for k in 0..<bestLen { insert(i + k) }
                    i += bestLen
                } else {
                    let (code, len) = fixedCodes[Int(d[i])]
                    w.writeCode(code, length: len)
                    insert(i)
                    i += 1
                }
            }
        }
        let (code, len) = fixedCodes[256]
        w.writeCode(code, length: len)
        w.alignToByte()
        return w.bytes
    }
}
