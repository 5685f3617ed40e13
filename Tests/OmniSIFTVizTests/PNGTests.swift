import Foundation
import OmniSIFTTestSupport
import Testing
@testable import OmniSIFTViz

// Generator of the PNGs below (Python 3, standard library only):
//   import zlib, struct, base64
//   def px(x, y, ch):
//       v = [(x*37 + y*11) % 256, (x*y*5) % 256, ((x ^ y)*9) % 256, (255 - x*7) % 256]
//       return v[:ch]
//   def paeth(a, b, c):
//       p = a + b - c; pa, pb, pc = abs(p-a), abs(p-b), abs(p-c)
//       return a if pa <= pb and pa <= pc else (b if pb <= pc else c)
//   def png(w, h, ch, level, strategy):
//       raw = bytearray(); prev = [0]*(w*ch)
//       for y in range(h):
//           row = sum((px(x, y, ch) for x in range(w)), []); f = y % 5; raw.append(f)
//           for i, v in enumerate(row):
//               a = row[i-ch] if i >= ch else 0; b = prev[i]; c = prev[i-ch] if i >= ch else 0
//               pred = [0, a, b, (a+b)//2, paeth(a, b, c)][f]; raw.append((v - pred) % 256)
//           prev = row
//       co = zlib.compressobj(level, zlib.DEFLATED, 15, 9, strategy); z = co.compress(bytes(raw)) + co.flush()
//       chunk = lambda t, d: struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d))
//       ihdr = struct.pack('>IIBBBBB', w, h, 8, 6 if ch == 4 else 2, 0, 0, 0)
//       print('btype', (z[2] >> 1) & 3, len(z))
//       return b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', ihdr) + chunk(b'tEXt', b'Comment\x00python zlib') + chunk(b'IDAT', z[:len(z)//2]) + chunk(b'IDAT', z[len(z)//2:]) + chunk(b'IEND', b'')
//   for name, args in [('rgbDynamic', (24, 16, 3, 9, zlib.Z_DEFAULT_STRATEGY)), ('rgbaFixed', (9, 7, 4, 9, zlib.Z_FIXED)), ('rgbStored', (5, 4, 3, 0, zlib.Z_DEFAULT_STRATEGY))]:
//       b = png(*args); print(name, len(b)); print(base64.b64encode(b).decode())
// and of the palette / grey16 / grey+alpha files further down:
//   import zlib, struct, base64
//   def chunk(t, d): return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d))
//   def png(w, h, depth, ct, rows, extra=b''):
//       raw = b''.join(b'\x00' + r for r in rows)
//       return b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, depth, ct, 0, 0, 0)) + extra + chunk(b'IDAT', zlib.compress(raw, 9)) + chunk(b'IEND', b'')
//   # palette 4x3: index (x + y) % 3; palette red, green, blue; tRNS alpha 255, 128 (blue has none -> 255)
//   pal = chunk(b'PLTE', bytes([255,0,0, 0,255,0, 0,0,255])) + chunk(b'tRNS', bytes([255, 128]))
//   p1 = png(4, 3, 8, 3, [bytes((x + y) % 3 for x in range(4)) for y in range(3)], pal)
//   # grey 16-bit 3x2: value (x*20000 + y*7000), high byte kept
//   p2 = png(3, 2, 16, 0, [b''.join(struct.pack('>H', x*20000 + y*7000) for x in range(3)) for y in range(2)])
//   # grey + alpha 8-bit 2x2: grey 10*(x+2y), alpha 255-50*x
//   p3 = png(2, 2, 8, 4, [b''.join(bytes([10*(x+2*y), 255-50*x]) for x in range(2)) for y in range(2)])
//   for n, b in [('palette', p1), ('grey16', p2), ('greyAlpha', p3)]: print(n, base64.b64encode(b).decode())
// PNG files written by Python (zlib + struct, not by this project), committed as base64. Each has a tEXt chunk,
// its zlib stream split over two IDAT chunks, and row filters cycling 0, 1, 2, 3, 4 (row y uses y % 5).
// Pixel (x, y) = [(x*37 + y*11) % 256, (x*y*5) % 256, ((x ^ y)*9) % 256, (255 - x*7) % 256][..<channels].
// Generated with: zlib.compressobj(level, DEFLATED, 15, 9, strategy), strategies below.
enum PythonPNGs {
    /// 24 x 16 RGB, level 9, default strategy: one dynamic-Huffman block (BTYPE 2).
    static let rgbDynamic = [
        "iVBORw0KGgoAAAANSUhEUgAAABgAAAAQCAIAAACDRijCAAAAE3RFWHRDb21tZW50AHB5dGhvbiB6bGliioQk5AAAAX5JREFUeNql",
        "k19IU2EYxl/NRZ8vNvha7Z0nRuGZWvOEDNpIFqeFjdW0nBLICKW2LoJhZA3pokEkjbqyP9iMroqiMLIL6a8m80JMqRUjELJo1CC6",
        "WJHWF9VF23Er+3cRweHh4bk4/L7nez4AAAuwLcD3gnQa5NugPAf7AlCrwdMIvk7wn4HAEIRSEF4IEStEm6AnDH1n4fwI9L+CQQbD",
        "a2CsBRJFCMyiExad9J9anP0R6iQsTaNeoIGhSUJzGisEVjNUJLSl0SHQydAloTuNXoFNDLdL6E9ju8Agwz0SdqRxv1iwDDiVCioD",
        "0gviMhkEGSFmErRcJrOglUAVgiplqhZkBVIE1cpkE7QW6KagOzINCRoBiosSjYhjKUM9Q0M8B2VgFk3RwDFv4gVTyP2/5uAAZYdJ",
        "PmxTL3ntk0H27hAs7ZXqBnj7eLg7FbryOfpwSWSmxkebPOvbAru6/NGe4atXBh+PJj4+HZNm+zaU9eyu7D+uni/aCHaLmVnM6d80",
        "/E/5XD87338AAAF+SURBVNlCO9pc2QLNrFC2QBsrlC3QzQpli9zR8mUL7GC5sm2wioycTJLWrhJbaacKlSo9VH2QrBOkJKl2OmZL",
        "09pMrt06IKePVE4uKVYvk1uh+3byjtDW8ZICEdeIuEbEcyxzRArPq+u7n5cH5xIpq9AB/lO2wK2g51mvr3g8UvU52lAT2tcW7u3h",
        "d0elF7Ogq2SrW+3bjqsHhuS+jHJvxZuXzTOLuqeUG6nm14u7yo3nGr7GI7qigxCwOEThU+f5gb/kiT/m35etoF7N7cKU/HnZCjpU",
        "dMbRlfx52Qq2qxiM455kftmNoGrb5dntxqwZbbtc226GHNl2OTkFqRlyCarn5Ba0OUKTgraepCZBLR30RFArJ/+PZWffmjZoE9eI",
        "mEbEtbfGchfv4jmirMkSuaW8z16/O5/DRYhOeCNve8OGVGhdTaCty39k1He5zPOgVX1/wW7MKM518s5u6WiC95ezR7vhw3Vj+ZfF",
        "qlsXPPH12PTMtao3yc7Up+Gpb+3qUJLt6fcTAAAAAElFTkSuQmCC",
    ].joined()
    /// 9 x 7 RGBA, Z_FIXED: a fixed-Huffman block (BTYPE 1).
    static let rgbaFixed = [
        "iVBORw0KGgoAAAANSUhEUgAAAAkAAAAHCAYAAADam2dgAAAAE3RFWHRDb21tZW50AHB5dGhvbiB6bGliioQk5AAAAGVJREFUeAFj",
        "YGBg+K/KwPnDi0HoYz6D9KspDCqPdzLo3rnHYHaVmcH+nAaDx3FGbgbO/6qs33+qskr/xEUzARUxcLNKM3BzPWXg5v/OwC0C5EsC",
        "+XJAvjKQr8HJwCzGINQgwfX9rwQvw18xBIImAAAAZUlEQVQJfiAtpPJXQgRIizP8nSEJpGVU/rJATBICmgSk+YFY5CDENCBWhdIM",
        "5gy6/2MkVX40Gtl/XOZt9up0CufjD7UMd0SnSV+1Wi90Lv5E6XFGJwaz/6pynD9V5Z7+xE6X/gQA9exQYRCMwdQAAAAASUVORK5C",
        "YII=",
    ].joined()
    /// 5 x 4 RGB, level 0: a stored block (BTYPE 0).
    static let rgbStored = [
        "iVBORw0KGgoAAAANSUhEUgAAAAUAAAAECAIAAADJUWIXAAAAE3RFWHRDb21tZW50AHB5dGhvbiB6bGliioQk5AAAACVJREFUeAEB",
        "QAC//wAAAAAlAAlKABJvABuUACQBCwAJJQX3JQUbJQX3JelUBj8AAAAmSURBVAUbAgsACQsFGwsK5QsP9wsUCQMWABIYCvcYDQAY",
        "D/cYEiQbMgn3mBUCNgAAAABJRU5ErkJggg==",
    ].joined()

    static func expectedPixel(x: Int, y: Int, channels: Int) -> [UInt8] {
        let v = [(x * 37 + y * 11) % 256, (x * y * 5) % 256, ((x ^ y) * 9) % 256, (255 - x * 7 + 256) % 256]
        return v[0..<channels].map { UInt8($0) }
    }
}

func bytes(base64 s: String) throws -> [UInt8] {
    [UInt8](try #require(Data(base64Encoded: s)))
}

/// A test image with smooth and noisy parts (so every filter and both literal and match codes get used).
func testImage(width: Int, height: Int, channels: Int, seed: UInt64) throws -> PNGImage {
    var state = seed
    var px = [UInt8](repeating: 0, count: width * height * channels)
    for y in 0..<height {
        for x in 0..<width {
            for c in 0..<channels {
                state = state &* 6364136223846793005 &+ 1442695040888963407
                let noise = UInt8(truncatingIfNeeded: state >> 56)
                px[(y * width + x) * channels + c] = x < width / 2 ? UInt8((x * 3 + y * 2 + c * 50) % 256) : noise
            }
        }
    }
    return try PNGImage(width: width, height: height, channels: channels, pixels: px)
}

@Test func crcAndAdlerKnownValues() {
    #expect(CRC32.checksum(Array("IEND".utf8)) == 0xAE42_6082)
    #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
    #expect(Adler32.checksum(Array("Wikipedia".utf8)) == 0x11E6_0398)
    #expect(Adler32.checksum([UInt8]()) == 1)
    // Long input: the modulo reduction every 5552 bytes must keep the result exact.
    let long = [UInt8](repeating: 255, count: 100_000)
    var a: UInt64 = 1, b: UInt64 = 0
    for x in long { a = (a + UInt64(x)) % 65521; b = (b + a) % 65521 }
    #expect(Adler32.checksum(long) == UInt32((b << 16) | a))
}

@Test(arguments: [3, 4])
func encodeDecodeRoundTripIsPixelExact(channels: Int) throws {
    let image = try testImage(width: 37, height: 23, channels: channels, seed: UInt64(channels))
    for compression in [PNGCompression.stored, .fixedHuffman] {
        let png = PNGEncoder.encode(image, compression: compression)
        let back = try PNGDecoder.decode(png)
        #expect(back == image)
    }
}

@Test func fixedHuffmanCompressesRepetitiveImagesAndRoundTrips() throws {
    // 200 x 150 canvas of flat rectangles: LZ77 must shrink it well below the stored size.
    var canvas = Canvas(width: 200, height: 150, background: RGBColor(10, 20, 30))
    canvas.fillRect(x: 20, y: 10, width: 80, height: 60, RGBColor(200, 100, 50))
    canvas.drawText("OMNISIFT 35%", x: 5, y: 100, .white, scale: 2)
    let stored = canvas.pngData(compression: .stored)
    let packed = canvas.pngData(compression: .fixedHuffman)
    #expect(packed.count * 10 < stored.count)
    #expect(try PNGDecoder.decode(packed) == canvas.pngImage)
    #expect(try PNGDecoder.decode(stored) == canvas.pngImage)
}

@Test func zlibRoundTripWithLongDistanceMatches() throws {
    // A 40 KiB random block repeated: matches reach back up to the 32 KiB window limit.
    var state: UInt64 = 7
    var block = [UInt8]()
    for _ in 0..<20_000 {
        state = state &* 6364136223846793005 &+ 1
        block.append(UInt8(truncatingIfNeeded: state >> 40))
    }
    let data = block + block + Array(block[0..<5000]) + [UInt8](repeating: 9, count: 1000)
    for compression in [PNGCompression.stored, .fixedHuffman] {
        let z = ZlibWriter.compress(data, compression: compression)
        #expect(try Inflate.zlib(z) == data)
    }
    #expect(ZlibWriter.compress(data, compression: .fixedHuffman).count < 30_000)
}

@Test(arguments: [
    ("rgbDynamic", 24, 16, 3), ("rgbaFixed", 9, 7, 4), ("rgbStored", 5, 4, 3),
])
func decodesPNGsWrittenByPython(name: String, width: Int, height: Int, channels: Int) throws {
    let b64 = ["rgbDynamic": PythonPNGs.rgbDynamic, "rgbaFixed": PythonPNGs.rgbaFixed,
               "rgbStored": PythonPNGs.rgbStored][name]!
    let png = try bytes(base64: b64)
    let image = try PNGDecoder.decode(png)
    #expect(image.width == width && image.height == height && image.channels == channels)
    var mismatches = 0
    for y in 0..<height {
        for x in 0..<width where image.pixel(x: x, y: y) != PythonPNGs.expectedPixel(x: x, y: y, channels: channels) {
            mismatches += 1
        }
    }
    #expect(mismatches == 0)
    // Re-encoding what was read and decoding it again gives the same pixels.
    #expect(try PNGDecoder.decode(PNGEncoder.encode(image)) == image)
}

/// Builds a PNG from chunks with correct CRCs, for malformed-file tests.
func pngFile(_ chunks: [(String, [UInt8])]) -> [UInt8] {
    var out = PNGEncoder.signature
    for (t, d) in chunks { PNGEncoder.appendChunk(&out, t, d) }
    return out
}

func ihdr(_ w: Int, _ h: Int, depth: UInt8 = 8, colorType: UInt8 = 2, interlace: UInt8 = 0) -> [UInt8] {
    var d = [UInt8]()
    PNGEncoder.appendBE32(&d, UInt32(w))
    PNGEncoder.appendBE32(&d, UInt32(h))
    return d + [depth, colorType, 0, 0, interlace]
}

func expectPNGError(_ bytes: [UInt8], mentioning words: [String], sourceLocation: SourceLocation = #_sourceLocation) {
    do {
        _ = try PNGDecoder.decode(bytes)
        Issue.record("decoding succeeded; expected an error mentioning \(words)", sourceLocation: sourceLocation)
    } catch let e as PNGError {
        for w in words {
            #expect(e.description.contains(w), "error '\(e.description)' should mention '\(w)'", sourceLocation: sourceLocation)
        }
    } catch {
        Issue.record("unexpected error type \(error)", sourceLocation: sourceLocation)
    }
}

@Test func malformedPNGsGiveClearErrors() throws {
    let good = PNGEncoder.encode(try testImage(width: 4, height: 3, channels: 3, seed: 1))
    #expect(try PNGDecoder.decode(good).width == 4)

    expectPNGError(Array("GIF89a not a png".utf8), mentioning: ["signature"])
    expectPNGError(Array(good[0..<(good.count - 12)]), mentioning: ["IEND"])          // IEND cut off
    expectPNGError(Array(good[0..<30]), mentioning: ["chunk"])                       // cut inside a chunk
    var flipped = good
    flipped[40] ^= 0x55                                                                // inside the IDAT data
    expectPNGError(flipped, mentioning: ["CRC"])

    // Valid chunks around bad contents.
    let row: [UInt8] = [5, 1, 2, 3]  // filter type 5 does not exist
    expectPNGError(pngFile([("IHDR", ihdr(1, 1)), ("IDAT", ZlibWriter.compress(row, compression: .stored)), ("IEND", [])]),
                   mentioning: ["filter type 5"])
    var badAdler = ZlibWriter.compress([0, 1, 2, 3], compression: .fixedHuffman)
    badAdler[badAdler.count - 1] ^= 1
    expectPNGError(pngFile([("IHDR", ihdr(1, 1)), ("IDAT", badAdler), ("IEND", [])]), mentioning: ["Adler-32"])
    expectPNGError(pngFile([("IHDR", ihdr(1, 1)), ("IDAT", ZlibWriter.compress([0, 1, 2], compression: .stored)), ("IEND", [])]),
                   mentioning: ["3 bytes", "expected 1 rows of 1 + 3"])
    for compression in [PNGCompression.stored, .fixedHuffman] {  // far more data than a 1 x 1 image holds
        expectPNGError(pngFile([("IHDR", ihdr(1, 1)), ("IDAT", ZlibWriter.compress([UInt8](repeating: 0, count: 5000), compression: compression)), ("IEND", [])]),
                       mentioning: ["exceeds 4 bytes"])
    }
    expectPNGError(pngFile([("IHDR", ihdr(1, 1, interlace: 1)), ("IEND", [])]), mentioning: ["interlaced"])
    expectPNGError(pngFile([("IHDR", ihdr(1, 1, depth: 4, colorType: 2)), ("IEND", [])]), mentioning: ["bit depth 4"])
    expectPNGError(pngFile([("IHDR", ihdr(0, 5)), ("IEND", [])]), mentioning: ["0 x 5"])
    expectPNGError(pngFile([("IDAT", [1, 2, 3]), ("IEND", [])]), mentioning: ["expected IHDR"])
    expectPNGError(pngFile([("IHDR", ihdr(1, 1)), ("IEND", [])]), mentioning: ["no IDAT"])
    expectPNGError(pngFile([("IHDR", ihdr(1, 1)), ("IDAT", [0x78, 0x01, 0xFF, 0xFF, 0, 0, 0, 1]), ("IEND", [])]),
                   mentioning: ["reserved"])  // first block header bits: BFINAL 1, BTYPE 3
    expectPNGError(pngFile([("IHDR", ihdr(1, 1)), ("AbCD", []), ("IDAT", ZlibWriter.compress([0, 1, 2, 3], compression: .stored)), ("IEND", [])]),
                   mentioning: ["unknown critical chunk AbCD"])
}

@Test func pngImageValidatesItsBytes() {
    #expect(throws: PNGError.self) { try PNGImage(width: 2, height: 2, channels: 3, pixels: [UInt8](repeating: 0, count: 11)) }
    #expect(throws: PNGError.self) { try PNGImage(width: 2, height: 2, channels: 2, pixels: [UInt8](repeating: 0, count: 8)) }
    #expect(throws: PNGError.self) { try PNGImage(width: 0, height: 2, channels: 3, pixels: []) }
}

// Other colour types, written by Python (zlib.compress level 9, filter 0):
// palette 4 x 3, index (x + y) % 3 into red, green, blue, tRNS alphas [255, 128] (blue: none, so 255);
// grey 16-bit 3 x 2, value x*20000 + y*7000 (the decoder keeps the high byte);
// grey + alpha 8-bit 2 x 2, grey 10*(x + 2y), alpha 255 - 50x.
@Test func decodesPaletteGrey16AndGreyAlpha() throws {
    let palette = try PNGDecoder.decode(try bytes(base64: "iVBORw0KGgoAAAANSUhEUgAAAAQAAAADCAMAAACDKl70AAAACVBMVEX/AAAA/wAAAP8tSs2KAAAAAnRSTlP/gAgPs2oAAAATSURBVHjaY2BgZGIAYUYGIGYCAABfAA1Hu/pvAAAAAElFTkSuQmCC"))
    #expect(palette.width == 4 && palette.height == 3 && palette.channels == 4)
    let colors: [[UInt8]] = [[255, 0, 0, 255], [0, 255, 0, 128], [0, 0, 255, 255]]
    for y in 0..<3 { for x in 0..<4 { #expect(palette.pixel(x: x, y: y) == colors[(x + y) % 3]) } }

    let grey16 = try PNGDecoder.decode(try bytes(base64: "iVBORw0KGgoAAAANSUhEUgAAAAMAAAACEAAAAADoj+WFAAAAFklEQVR42mNgYPBTmOPAIB2RWbF9BgATkAPuozzv4AAAAABJRU5ErkJggg=="))
    #expect(grey16.channels == 3)
    for y in 0..<2 {
        for x in 0..<3 {
            let g = UInt8((x * 20000 + y * 7000) >> 8)
            #expect(grey16.pixel(x: x, y: y) == [g, g, g])
        }
    }

    let ga = try PNGDecoder.decode(try bytes(base64: "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAQAAADYv8WvAAAAEklEQVR42mNg+M91lkHkv9xZABFsA9VEY6dmAAAAAElFTkSuQmCC"))
    #expect(ga.channels == 4)
    for y in 0..<2 {
        for x in 0..<2 {
            let g = UInt8(10 * (x + 2 * y))
            #expect(ga.pixel(x: x, y: y) == [g, g, g, UInt8(255 - 50 * x)])
        }
    }
}
