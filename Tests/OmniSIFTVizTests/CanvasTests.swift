import Testing
@testable import OmniSIFTViz

func count(_ c: Canvas, _ color: RGBColor) -> Int {
    var n = 0
    for y in 0..<c.height { for x in 0..<c.width where c.color(x: x, y: y) == color { n += 1 } }
    return n
}

@Test func textDrawsExactlyTheGlyphBits() {
    var c = Canvas(width: 20, height: 12, background: .black)
    let end = c.drawText("1", x: 2, y: 3, .white)
    #expect(end == 2 + BitmapFont.advance)
    let glyph = BitmapFont.glyph("1")
    for gy in 0..<7 {
        for gx in 0..<5 {
            let on = glyph[gy] & (1 << (4 - gx)) != 0
            #expect(c.color(x: 2 + gx, y: 3 + gy) == (on ? .white : .black))
        }
    }
    let bits = glyph.reduce(0) { $0 + $1.nonzeroBitCount }
    #expect(count(c, .white) == bits)
    // Scale 2: every font pixel becomes 2 x 2.
    var c2 = Canvas(width: 30, height: 20, background: .black)
    c2.drawText("1", x: 0, y: 0, .white, scale: 2)
    #expect(count(c2, .white) == 4 * bits)
    // Lower case draws as upper case.
    var a = Canvas(width: 40, height: 9, background: .black), b = a
    a.drawText("kept", x: 1, y: 1, .white)
    b.drawText("KEPT", x: 1, y: 1, .white)
    #expect(a == b)
}

@Test func fontGlyphsAreWellFormedAndDistinct() {
    let chars = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ.,:;-+=%/()[]<>_?!#*'|@&")
    var seen = [[UInt8]: Character]()
    for ch in chars {
        #expect(BitmapFont.hasGlyph(ch), "\(ch) has no glyph")
        let g = BitmapFont.glyph(ch)
        #expect(g.count == 7 && g.allSatisfy { $0 < 32 }, "\(ch) is not 7 rows of 5 bits")
        #expect(seen[g] == nil, "\(ch) looks the same as \(seen[g].map(String.init) ?? "")")
        seen[g] = ch
    }
    #expect(!BitmapFont.hasGlyph("€"))
    #expect(BitmapFont.glyph("€") == BitmapFont.missing)
    #expect(BitmapFont.width(of: "ABC") == 17)
    #expect(BitmapFont.width(of: "ABC", scale: 2) == 34)
    #expect(BitmapFont.width(of: "") == 0)
}

@Test func rectanglesAreClippedToTheCanvas() {
    var c = Canvas(width: 10, height: 8, background: .black)
    let red = RGBColor(255, 0, 0)
    c.fillRect(x: -3, y: 5, width: 6, height: 10, red)  // covers x 0..<3, y 5..<8
    #expect(count(c, red) == 9)
    c.fillRect(x: 20, y: 0, width: 5, height: 5, red)   // fully outside
    #expect(count(c, red) == 9)
    var s = Canvas(width: 10, height: 10, background: .black)
    s.strokeRect(x: 1, y: 1, width: 5, height: 4, red)
    #expect(count(s, red) == 2 * 5 + 2 * 2)
    #expect(s.color(x: 3, y: 2) == .black)
}

@Test func linesIncludeBothEndsAndFollowTheSlope() {
    let c0 = RGBColor(0, 255, 0)
    var c = Canvas(width: 12, height: 12, background: .black)
    c.drawLine(x0: 0, y0: 0, x1: 9, y1: 9, c0)
    #expect(count(c, c0) == 10)
    for i in 0...9 { #expect(c.color(x: i, y: i) == c0) }
    var h = Canvas(width: 12, height: 12, background: .black)
    h.drawLine(x0: 10, y0: 4, x1: 2, y1: 4, c0)
    #expect(count(h, c0) == 9)
    var steep = Canvas(width: 12, height: 12, background: .black)
    steep.drawLine(x0: 1, y0: 0, x1: 3, y1: 11, c0)
    #expect(count(steep, c0) == 12)  // one pixel per row
    #expect(steep.color(x: 1, y: 0) == c0 && steep.color(x: 3, y: 11) == c0)
}

@Test func colorHelpers() {
    #expect(RGBColor(255, 16, 1).hex == "#ff1001")
    #expect(RGBColor.black.mixed(with: .white, 0.5) == RGBColor(128, 128, 128))
    #expect(ColorScale.color(0) == ColorScale.stops.first)
    #expect(ColorScale.color(1) == ColorScale.stops.last)
    #expect(ColorScale.color(7) == ColorScale.stops.last)
    #expect(ColorScale.color(.nan) == ColorScale.stops.first)
}
