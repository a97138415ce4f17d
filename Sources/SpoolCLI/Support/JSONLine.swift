import SpoolFormat

/// Builds one JSON object with keys in insertion order, so that `--json` output is stable and
/// golden tests can pin it. Values: strings, integers, doubles, booleans, null, nested objects
/// and arrays. Not thread-safe (a value type).
public struct JSONLine: Sendable {
    private var parts: [String] = []

    public init() {}

    public mutating func add(_ key: String, _ value: String?) {
        parts.append(Self.quote(key) + ":" + (value.map(Self.quote) ?? "null"))
    }

    public mutating func add(_ key: String, _ value: Int64?) {
        parts.append(Self.quote(key) + ":" + (value.map { String($0) } ?? "null"))
    }

    public mutating func add(_ key: String, _ value: Int) { add(key, Int64(value)) }

    public mutating func add(_ key: String, _ value: Bool) {
        parts.append(Self.quote(key) + ":" + (value ? "true" : "false"))
    }

    /// Adds a double with a fixed number of decimals (as C's `%.Nf`).
    public mutating func add(_ key: String, _ value: Double, decimals: Int) {
        parts.append(Self.quote(key) + ":" + Self.fixed(value, decimals: decimals))
    }

    /// Adds already-encoded JSON (an object or array built elsewhere).
    public mutating func addRaw(_ key: String, _ json: String) {
        parts.append(Self.quote(key) + ":" + json)
    }

    public var text: String { "{" + parts.joined(separator: ",") + "}" }

    public static func array(_ items: [String]) -> String { "[" + items.joined(separator: ",") + "]" }

    /// Record headers as `[[name, value], ...]`, values as UTF-8 text (null stays null).
    public static func headers(_ headers: [RecordHeader]) -> String {
        array(
            headers.map { h in
                array([quote(h.name), h.value.map { quote(String(decoding: $0, as: UTF8.self)) } ?? "null"])
            })
    }

    public static func quote(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    /// `value` with `decimals` digits after the point, rounded half away from zero.
    public static func fixed(_ value: Double, decimals: Int) -> String {
        guard value.isFinite else { return "0" }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let scaled = (abs(value) * scale).rounded()
        let whole = Int64(scaled / scale)
        let fraction = Int64(scaled - Double(whole) * scale)
        var text = (value < 0 && scaled != 0 ? "-" : "") + String(whole)
        if decimals > 0 {
            let digits = String(fraction)
            text += "." + String(repeating: "0", count: max(0, decimals - digits.count)) + digits
        }
        return text
    }
}
