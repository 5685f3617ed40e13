import Testing
@testable import omnisift

struct SupportTests {
    @Test("TextTable pads columns, right-aligns numeric columns and draws a rule under the header")
    func textTable() {
        var t = TextTable(columns: ["method", "ms"])
        t.addRow("omnisift", "12.5")
        t.addRow("random", "3.25 ± 0.10")
        let lines = t.render().split(separator: "\n").map(String.init)
        #expect(lines.count == 4)
        #expect(lines[0].hasPrefix("method"))
        #expect(lines[1].allSatisfy { $0 == "-" || $0 == " " })
        // All lines as wide as the widest; numbers end at the same column.
        #expect(lines[2].hasSuffix("12.5"))
        #expect(lines[3].hasSuffix("3.25 ± 0.10"))
        #expect(lines[2].count == lines[3].count)
        #expect(lines[2].hasPrefix("omnisift"))
    }

    @Test("BenchStats: mean, sample standard deviation, min, max and the 'mean ± std' text")
    func benchStats() {
        let s = BenchStats(samples: [2, 4, 4, 4, 5, 5, 7, 9])
        #expect(s.mean == 5)
        #expect(abs(s.std - 2.138089935) < 1e-6)
        #expect(s.min == 2 && s.max == 9 && s.count == 8)
        #expect(BenchStats(samples: []).mean == 0)
        #expect(BenchStats.format(12.34, 0.56).contains("±"))
        let rate = BenchStats(samples: [1000, 1000]).rate(work: 5)
        #expect(rate.mean == 5 && rate.std == 0)
    }
}
