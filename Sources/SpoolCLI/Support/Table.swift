/// Rows printed in aligned columns for people: each column as wide as its widest cell, two
/// spaces apart, numbers right-aligned. Colour codes in cells do not count towards widths.
struct Table {
    var header: [String]
    var rightAligned: Set<Int> = []
    var rows: [[String]] = []

    init(_ header: [String], rightAligned: Set<Int> = []) {
        self.header = header
        self.rightAligned = rightAligned
    }

    mutating func add(_ row: [String]) { rows.append(row) }

    var lines: [String] {
        let all = [header] + rows
        var widths = [Int](repeating: 0, count: header.count)
        for row in all {
            for (i, cell) in row.enumerated() where i < widths.count {
                widths[i] = max(widths[i], Terminal.visibleWidth(cell))
            }
        }
        return all.map { row in
            var line = ""
            for (i, cell) in row.enumerated() {
                let pad = String(
                    repeating: " ", count: max(0, (i < widths.count ? widths[i] : 0) - Terminal.visibleWidth(cell)))
                let last = i == row.count - 1
                if i > 0 { line += "  " }
                line += rightAligned.contains(i) ? pad + cell : (last ? cell : cell + pad)
            }
            return line
        }
    }
}
