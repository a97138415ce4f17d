import SpoolFormat

/// Writes a record's JSON line straight into bytes: the same text as building it with
/// ``JSONLine`` (keys in the same order, the same escapes), without the intermediate strings,
/// so that `spool dump --json` and `tail --json` print over a million records a second.
/// A value type; not thread-safe.
struct RecordJSON {
    private static let nullBytes = Array("null".utf8)
    private static let hexDigits = Array("0123456789abcdef".utf8)
    private static let recordStart = Array(#"{"type":"record","#.utf8)
    private static let fileKey = Array(#""file":"#.utf8)
    private static let offsetKey = Array(#""offset":"#.utf8)
    private static let timestampKey = Array(#","timestamp":"#.utf8)
    private static let valueBytesKey = Array(#""value_bytes":"#.utf8)
    private static let headersKey = Array(#","headers":"#.utf8)

    /// `{"type":"record",["file":…,]"offset":…,"timestamp":…,"key":…,"value":…|"value_bytes":…,"headers":[…]}` and a newline.
    static func append(_ record: Record, file: String?, values: Bool, into out: inout [UInt8]) {
        append(record, fileField: file.map(fileField), values: values, into: &out)
    }

    /// `"file":"…",` once for many records of one file.
    static func fileField(_ file: String) -> [UInt8] {
        var out = fileKey
        _ = quote(Array(file.utf8), into: &out)
        out.append(UInt8(ascii: ","))
        return out
    }

    static func append(_ record: Record, fileField: [UInt8]?, values: Bool, into out: inout [UInt8]) {
        out += Self.recordStart
        if let fileField { out += fileField }
        out += Self.offsetKey
        decimal(record.offset, into: &out)
        out += Self.timestampKey
        decimal(record.timestamp, into: &out)
        out.append(UInt8(ascii: ","))
        bytesField("key", record.key, into: &out)
        out.append(UInt8(ascii: ","))
        if values {
            bytesField("value", record.value, into: &out)
        } else {
            out += Self.valueBytesKey
            if let value = record.value { decimal(Int64(value.count), into: &out) } else { out += "null".utf8 }
        }
        out += Self.headersKey
        if record.headers.isEmpty { out += "[]".utf8 } else { out += JSONLine.headers(record.headers).utf8 }
        out += "}\n".utf8
    }

    /// `"name":"text"` for UTF-8 bytes, `"name":null,"name_hex":"…"` otherwise, `"name":null` for nil.
    private static func bytesField(_ name: String, _ bytes: [UInt8]?, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        out += name.utf8
        out += "\":".utf8
        guard let bytes else { out += nullBytes; return }
        let mark = out.count
        // Quote first; bytes outside ASCII are then checked to be UTF-8 (rare in practice).
        if !quote(bytes, into: &out) || String(validating: bytes, as: UTF8.self) != nil {
            return
        } else {
            out.removeLast(out.count - mark)
            out += "null,\"".utf8
            out += name.utf8
            out += "_hex\":\"".utf8
            for b in bytes { out.append(hexDigits[Int(b >> 4)]); out.append(hexDigits[Int(b & 15)]) }
            out.append(UInt8(ascii: "\""))
        }
    }

    /// A JSON string of valid UTF-8 bytes, escaped as ``JSONLine/quote(_:)`` does. Runs of
    /// bytes that need no escape are copied at once.
    /// Returns whether any byte was outside ASCII.
    @discardableResult
    private static func quote(_ bytes: [UInt8], into out: inout [UInt8]) -> Bool {
        out.append(UInt8(ascii: "\""))
        var high: UInt8 = 0
        bytes.withUnsafeBufferPointer { p in
            var runStart = 0
            for i in 0..<p.count {
                let b = p[i]
                high |= b
                if b >= 0x20 && b != 0x22 && b != 0x5C { continue }
                if i > runStart { out.append(contentsOf: UnsafeBufferPointer(rebasing: p[runStart..<i])) }
                runStart = i + 1
                switch b {
                case 0x22: out.append(0x5C); out.append(0x22)
                case 0x5C: out.append(0x5C); out.append(0x5C)
                case 0x0A: out.append(0x5C); out.append(UInt8(ascii: "n"))
                case 0x0D: out.append(0x5C); out.append(UInt8(ascii: "r"))
                case 0x09: out.append(0x5C); out.append(UInt8(ascii: "t"))
                default:
                    out.append(contentsOf: unicodePrefix)
                    out.append(hexDigits[Int(b >> 4)])
                    out.append(hexDigits[Int(b & 15)])
                }
            }
            if p.count > runStart { out.append(contentsOf: UnsafeBufferPointer(rebasing: p[runStart..<p.count])) }
        }
        out.append(UInt8(ascii: "\""))
        return high >= 0x80
    }

    private static let unicodePrefix = Array(#"\u00"#.utf8)

    private static func decimal(_ value: Int64, into out: inout [UInt8]) {
        if value < 0 { out.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        withUnsafeMutableBytes(of: &digits) { raw in
            repeat {
                raw[count] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
                count += 1
            } while magnitude > 0
            for i in stride(from: count - 1, through: 0, by: -1) { out.append(raw[i]) }
        }
    }
}
