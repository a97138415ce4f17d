import Glibc

/// Whether output goes to a terminal, and colour for people there only.
enum Terminal {
    static func isTerminal(_ fd: Int32) -> Bool { isatty(fd) == 1 }

    /// Colour is on when standard output is a terminal and NO_COLOR is unset.
    static var colourOut: Bool { isTerminal(1) && getenv("NO_COLOR") == nil }

    enum Colour: String {
        case red = "31", yellow = "33", green = "32", dim = "2", bold = "1"
    }

    static func paint(_ text: String, _ colour: Colour, enabled: Bool = colourOut) -> String {
        enabled ? "\u{1B}[\(colour.rawValue)m\(text)\u{1B}[0m" : text
    }

    /// Characters shown, without ANSI escape sequences.
    static func visibleWidth(_ text: String) -> Int {
        var width = 0
        var escaping = false
        for scalar in text.unicodeScalars {
            if escaping {
                if scalar == "m" { escaping = false }
                continue
            }
            if scalar == "\u{1B}" {
                escaping = true
                continue
            }
            width += 1
        }
        return width
    }
}
