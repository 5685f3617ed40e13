/// An 8-bit RGB colour.
public struct RGBColor: Sendable, Equatable, Hashable {
    public var r: UInt8
    public var g: UInt8
    public var b: UInt8

    public init(_ r: UInt8, _ g: UInt8, _ b: UInt8) {
        self.r = r
        self.g = g
        self.b = b
    }

    public static let black = RGBColor(0, 0, 0)
    public static let white = RGBColor(255, 255, 255)

    /// `#rrggbb`, as SVG and CSS write colours.
    public var hex: String {
        let digits = Array("0123456789abcdef")
        var s = "#"
        for v in [r, g, b] { s.append(digits[Int(v >> 4)]); s.append(digits[Int(v & 15)]) }
        return s
    }

    /// Linear interpolation from `self` (t = 0) to `other` (t = 1); t is clamped to [0, 1].
    public func mixed(with other: RGBColor, _ t: Double) -> RGBColor {
        let u = t.isNaN ? 0 : min(1, max(0, t))
        func m(_ a: UInt8, _ b: UInt8) -> UInt8 { UInt8((Double(a) + (Double(b) - Double(a)) * u).rounded()) }
        return RGBColor(m(r, other.r), m(g, other.g), m(b, other.b))
    }
}

/// A colour scale for values in [0, 1]: dark blue -> teal -> green -> yellow (perceptually ordered,
/// readable on a dark background). Values outside are clamped; NaN maps to the low end.
public enum ColorScale {
    static let stops: [RGBColor] = [
        RGBColor(59, 40, 120), RGBColor(40, 110, 150), RGBColor(35, 160, 130),
        RGBColor(120, 200, 80), RGBColor(250, 225, 40),
    ]

    /// The colour of `t` in [0, 1].
    public static func color(_ t: Double) -> RGBColor {
        let u = t.isNaN ? 0 : min(1, max(0, t))
        let x = u * Double(stops.count - 1)
        let i = min(stops.count - 2, Int(x))
        return stops[i].mixed(with: stops[i + 1], x - Double(i))
    }
}

/// A simple RGB raster with clipped drawing: filled and outlined rectangles, lines and text in a built-in
/// 5 x 7 pixel font (`BitmapFont`). Convert to a PNG with `pngImage` / `writePNG(to:)`.
public struct Canvas: Sendable, Equatable {
    /// Width in pixels.
    public let width: Int
    /// Height in pixels.
    public let height: Int
    /// RGB bytes, row-major, top row first.
    public private(set) var pixels: [UInt8]

    /// A canvas filled with `background`. Sizes must be positive (a programmer error otherwise; callers that size
    /// canvases from user data check first, e.g. `MaskMosaic`).
    public init(width: Int, height: Int, background: RGBColor = .white) {
        precondition(width > 0 && height > 0, "Canvas: size \(width) x \(height) must be positive")
        self.width = width
        self.height = height
        var p = [UInt8](repeating: 0, count: width * height * 3)
        for i in 0..<(width * height) {
            p[3 * i] = background.r; p[3 * i + 1] = background.g; p[3 * i + 2] = background.b
        }
        self.pixels = p
    }

    /// The colour at (x, y); nil outside the canvas.
    public func color(x: Int, y: Int) -> RGBColor? {
        guard x >= 0, y >= 0, x < width, y < height else { return nil }
        let o = 3 * (y * width + x)
        return RGBColor(pixels[o], pixels[o + 1], pixels[o + 2])
    }

    /// Sets one pixel; ignored outside the canvas.
    public mutating func set(x: Int, y: Int, _ c: RGBColor) {
        guard x >= 0, y >= 0, x < width, y < height else { return }
        let o = 3 * (y * width + x)
        pixels[o] = c.r; pixels[o + 1] = c.g; pixels[o + 2] = c.b
    }

    /// Fills the rectangle [x, x + w) x [y, y + h), clipped to the canvas.
    public mutating func fillRect(x: Int, y: Int, width w: Int, height h: Int, _ c: RGBColor) {
        let x0 = max(0, x), y0 = max(0, y)
        let x1 = min(width, x + w), y1 = min(height, y + h)
        guard x0 < x1, y0 < y1 else { return }
        pixels.withUnsafeMutableBufferPointer { p in
            for yy in y0..<y1 {
                var o = 3 * (yy * width + x0)
                for _ in x0..<x1 {
                    p[o] = c.r; p[o + 1] = c.g; p[o + 2] = c.b
                    o += 3
                }
            }
        }
    }

    /// Draws the 1-pixel outline of the rectangle [x, x + w) x [y, y + h).
    public mutating func strokeRect(x: Int, y: Int, width w: Int, height h: Int, _ c: RGBColor) {
        guard w > 0, h > 0 else { return }
        fillRect(x: x, y: y, width: w, height: 1, c)
        fillRect(x: x, y: y + h - 1, width: w, height: 1, c)
        fillRect(x: x, y: y, width: 1, height: h, c)
        fillRect(x: x + w - 1, y: y, width: 1, height: h, c)
    }

    /// Draws a 1-pixel line from (x0, y0) to (x1, y1), both ends included (Bresenham).
    public mutating func drawLine(x0: Int, y0: Int, x1: Int, y1: Int, _ c: RGBColor) {
        var x = x0, y = y0
        let dx = abs(x1 - x0), dy = -abs(y1 - y0)
        let sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1
        var err = dx + dy
        while true {
            set(x: x, y: y, c)
            if x == x1 && y == y1 { break }
            let e2 = 2 * err
            if e2 >= dy { err += dy; x += sx }
            if e2 <= dx { err += dx; y += sy }
        }
    }

    /// Draws `text` with its top-left corner at (x, y) in the 5 x 7 font, each font pixel a `scale` x `scale`
    /// square, 1 font pixel between characters. Lower-case letters draw as capitals; characters without a
    /// glyph draw as a hollow box. Returns the x just after the text.
    @discardableResult
    public mutating func drawText(_ text: String, x: Int, y: Int, _ c: RGBColor, scale: Int = 1) -> Int {
        let s = max(1, scale)
        var cx = x
        for ch in text {
            let rows = BitmapFont.glyph(ch)
            for (ry, bits) in rows.enumerated() {
                for rx in 0..<BitmapFont.glyphWidth where bits & (1 << (BitmapFont.glyphWidth - 1 - rx)) != 0 {
                    fillRect(x: cx + rx * s, y: y + ry * s, width: s, height: s, c)
                }
            }
            cx += BitmapFont.advance * s
        }
        return cx
    }

    /// The image as 8-bit RGB pixels, for `PNGEncoder`.
    public var pngImage: PNGImage {
        // Sizes are positive and the byte count matches by construction.
        try! PNGImage(width: width, height: height, channels: 3, pixels: pixels)
    }

    /// The canvas as PNG file bytes.
    public func pngData(compression: PNGCompression = .fixedHuffman) -> [UInt8] {
        PNGEncoder.encode(pngImage, compression: compression)
    }

    /// Writes the canvas as a PNG file.
    public func writePNG(to path: String, compression: PNGCompression = .fixedHuffman) throws {
        try PNGEncoder.write(pngImage, to: path, compression: compression)
    }
}

/// The project's 5 x 7 pixel font: digits, capital letters and common punctuation. Each glyph is 7 rows of
/// 5 bits, the most significant of the 5 bits the leftmost pixel.
public enum BitmapFont {
    public static let glyphWidth = 5
    public static let glyphHeight = 7
    /// Horizontal distance from one character to the next, in font pixels (glyph plus a 1-pixel gap).
    public static let advance = 6

    /// Width in pixels of `text` drawn at `scale` (without the gap after the last character).
    public static func width(of text: String, scale: Int = 1) -> Int {
        let n = text.count
        return n == 0 ? 0 : (n * advance - 1) * max(1, scale)
    }

    /// Whether `ch` has its own glyph (after mapping lower case to upper case).
    public static func hasGlyph(_ ch: Character) -> Bool {
        glyphs[Character(ch.uppercased())] != nil
    }

    /// The 7 rows of `ch`; a hollow box for characters without a glyph.
    public static func glyph(_ ch: Character) -> [UInt8] {
        glyphs[Character(ch.uppercased())] ?? missing
    }

    static let missing: [UInt8] = [0b11111, 0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b11111]

    static let glyphs: [Character: [UInt8]] = [
        " ": [0, 0, 0, 0, 0, 0, 0],
        "0": [0b01110, 0b10001, 0b10011, 0b10101, 0b11001, 0b10001, 0b01110],
        "1": [0b00100, 0b01100, 0b00100, 0b00100, 0b00100, 0b00100, 0b01110],
        "2": [0b01110, 0b10001, 0b00001, 0b00010, 0b00100, 0b01000, 0b11111],
        "3": [0b11111, 0b00010, 0b00100, 0b00010, 0b00001, 0b10001, 0b01110],
        "4": [0b00010, 0b00110, 0b01010, 0b10010, 0b11111, 0b00010, 0b00010],
        "5": [0b11111, 0b10000, 0b11110, 0b00001, 0b00001, 0b10001, 0b01110],
        "6": [0b00110, 0b01000, 0b10000, 0b11110, 0b10001, 0b10001, 0b01110],
        "7": [0b11111, 0b00001, 0b00010, 0b00100, 0b01000, 0b01000, 0b01000],
        "8": [0b01110, 0b10001, 0b10001, 0b01110, 0b10001, 0b10001, 0b01110],
        "9": [0b01110, 0b10001, 0b10001, 0b01111, 0b00001, 0b00010, 0b01100],
        "A": [0b01110, 0b10001, 0b10001, 0b11111, 0b10001, 0b10001, 0b10001],
        "B": [0b11110, 0b10001, 0b10001, 0b11110, 0b10001, 0b10001, 0b11110],
        "C": [0b01110, 0b10001, 0b10000, 0b10000, 0b10000, 0b10001, 0b01110],
        "D": [0b11100, 0b10010, 0b10001, 0b10001, 0b10001, 0b10010, 0b11100],
        "E": [0b11111, 0b10000, 0b10000, 0b11110, 0b10000, 0b10000, 0b11111],
        "F": [0b11111, 0b10000, 0b10000, 0b11110, 0b10000, 0b10000, 0b10000],
        "G": [0b01110, 0b10001, 0b10000, 0b10111, 0b10001, 0b10001, 0b01111],
        "H": [0b10001, 0b10001, 0b10001, 0b11111, 0b10001, 0b10001, 0b10001],
        "I": [0b01110, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100, 0b01110],
        "J": [0b00111, 0b00010, 0b00010, 0b00010, 0b00010, 0b10010, 0b01100],
        "K": [0b10001, 0b10010, 0b10100, 0b11000, 0b10100, 0b10010, 0b10001],
        "L": [0b10000, 0b10000, 0b10000, 0b10000, 0b10000, 0b10000, 0b11111],
        "M": [0b10001, 0b11011, 0b10101, 0b10101, 0b10001, 0b10001, 0b10001],
        "N": [0b10001, 0b10001, 0b11001, 0b10101, 0b10011, 0b10001, 0b10001],
        "O": [0b01110, 0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b01110],
        "P": [0b11110, 0b10001, 0b10001, 0b11110, 0b10000, 0b10000, 0b10000],
        "Q": [0b01110, 0b10001, 0b10001, 0b10001, 0b10101, 0b10010, 0b01101],
        "R": [0b11110, 0b10001, 0b10001, 0b11110, 0b10100, 0b10010, 0b10001],
        "S": [0b01111, 0b10000, 0b10000, 0b01110, 0b00001, 0b00001, 0b11110],
        "T": [0b11111, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100],
        "U": [0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b01110],
        "V": [0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b01010, 0b00100],
        "W": [0b10001, 0b10001, 0b10001, 0b10101, 0b10101, 0b10101, 0b01010],
        "X": [0b10001, 0b10001, 0b01010, 0b00100, 0b01010, 0b10001, 0b10001],
        "Y": [0b10001, 0b10001, 0b10001, 0b01010, 0b00100, 0b00100, 0b00100],
        "Z": [0b11111, 0b00001, 0b00010, 0b00100, 0b01000, 0b10000, 0b11111],
        ".": [0, 0, 0, 0, 0, 0b01100, 0b01100],
        ",": [0, 0, 0, 0, 0b01100, 0b00100, 0b01000],
        ":": [0, 0b01100, 0b01100, 0, 0b01100, 0b01100, 0],
        ";": [0, 0b01100, 0b01100, 0, 0b01100, 0b00100, 0b01000],
        "-": [0, 0, 0, 0b11111, 0, 0, 0],
        "+": [0, 0b00100, 0b00100, 0b11111, 0b00100, 0b00100, 0],
        "=": [0, 0, 0b11111, 0, 0b11111, 0, 0],
        "%": [0b11000, 0b11001, 0b00010, 0b00100, 0b01000, 0b10011, 0b00011],
        "/": [0, 0b00001, 0b00010, 0b00100, 0b01000, 0b10000, 0],
        "(": [0b00010, 0b00100, 0b01000, 0b01000, 0b01000, 0b00100, 0b00010],
        ")": [0b01000, 0b00100, 0b00010, 0b00010, 0b00010, 0b00100, 0b01000],
        "[": [0b01110, 0b01000, 0b01000, 0b01000, 0b01000, 0b01000, 0b01110],
        "]": [0b01110, 0b00010, 0b00010, 0b00010, 0b00010, 0b00010, 0b01110],
        "<": [0b00010, 0b00100, 0b01000, 0b10000, 0b01000, 0b00100, 0b00010],
        ">": [0b01000, 0b00100, 0b00010, 0b00001, 0b00010, 0b00100, 0b01000],
        "_": [0, 0, 0, 0, 0, 0, 0b11111],
        "?": [0b01110, 0b10001, 0b00001, 0b00010, 0b00100, 0, 0b00100],
        "!": [0b00100, 0b00100, 0b00100, 0b00100, 0b00100, 0, 0b00100],
        "#": [0b01010, 0b01010, 0b11111, 0b01010, 0b11111, 0b01010, 0b01010],
        "*": [0, 0b00100, 0b10101, 0b01110, 0b10101, 0b00100, 0],
        "'": [0b00100, 0b00100, 0b01000, 0, 0, 0, 0],
        "@": [0b01110, 0b10001, 0b10111, 0b10101, 0b10111, 0b10000, 0b01110],
        "&": [0b01100, 0b10010, 0b10100, 0b01000, 0b10101, 0b10010, 0b01101],
        "|": [0b00100, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100, 0b00100],
    ]
}
