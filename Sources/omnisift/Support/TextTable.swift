/// A plain-text table for terminal output: a header row, a rule under it, then the rows, columns padded to
/// their widest cell. Columns whose cells all look like numbers ("12.5", "-3", "1.2 ± 0.1", "45%", "3.1x") are
/// right-aligned; others are left-aligned, unless an alignment is given.
///
///     var t = TextTable(columns: ["shape", "GFLOP/s", "ms"])
///     t.addRow("512x512x512", "120.4 ± 3.0", "2.23 ± 0.05")
///     print(t.render())
struct TextTable {
    enum Alignment: Sendable { case left, right, auto }

    struct Column: Sendable, ExpressibleByStringLiteral {
        var title: String
        var alignment: Alignment
        init(_ title: String, alignment: Alignment = .auto) {
            self.title = title
            self.alignment = alignment
        }
        init(stringLiteral value: String) { self.init(value) }
    }

    private(set) var columns: [Column]
    /// Rows of cells; `nil` marks a separator rule.
    private(set) var rows: [[String]?] = []
    /// Spaces between columns.
    var gap = 2

    init(columns: [Column]) {
        precondition(!columns.isEmpty, "TextTable: at least one column")
        self.columns = columns
    }

    init(columns: [String]) {
        self.init(columns: columns.map { Column($0) })
    }

    /// Appends a row; it must have one cell per column.
    mutating func addRow(_ cells: [String]) {
        precondition(cells.count == columns.count,
                     "TextTable.addRow: \(cells.count) cells for \(columns.count) columns (\(columns.map(\.title)))")
        rows.append(cells)
    }

    mutating func addRow(_ cells: String...) { addRow(cells) }

    /// Appends a horizontal rule between rows.
    mutating func addSeparator() { rows.append(nil) }

    var isEmpty: Bool { rows.isEmpty }

    /// The table as lines joined by newlines (no trailing newline); trailing spaces are trimmed.
    func render() -> String {
        let n = columns.count
        var widths = columns.map { $0.title.count }
        for case let row? in rows {
            for i in 0..<n { widths[i] = max(widths[i], row[i].count) }
        }
        let rightAligned: [Bool] = (0..<n).map { i in
            switch columns[i].alignment {
            case .left: return false
            case .right: return true
            case .auto:
                let cells = rows.compactMap { $0?[i] }.filter { !$0.isEmpty }
                return !cells.isEmpty && cells.allSatisfy(TextTable.looksNumeric)
            }
        }
        let spacer = String(repeating: " ", count: gap)
        func line(_ cells: [String]) -> String {
            var parts: [String] = []
            for i in 0..<n {
                let pad = String(repeating: " ", count: widths[i] - cells[i].count)
                parts.append(rightAligned[i] ? pad + cells[i] : cells[i] + pad)
            }
            var s = parts.joined(separator: spacer)
            while s.last == " " { s.removeLast() }
            return s
        }
        let rule = widths.map { String(repeating: "-", count: $0) }.joined(separator: spacer)
        var out = [line(columns.map(\.title)), rule]
        for row in rows { out.append(row.map(line) ?? rule) }
        return out.joined(separator: "\n")
    }

    /// Whether a cell reads as a number: its first word, without a trailing "%", "x" or "×", parses as a Double
    /// (so "12.3 ± 0.4", "-1e-3", "85.2%" and "3.4x" count; "2048x3584" and "n/a" do not).
    static func looksNumeric(_ cell: String) -> Bool {
        guard var word = cell.split(separator: " ").first.map(String.init) else { return false }
        if let last = word.last, "%x×".contains(last) { word.removeLast() }
        guard let first = word.first, first.isNumber || first == "-" || first == "+" || first == "." else {
            return false
        }
        return Double(word) != nil
    }
}
