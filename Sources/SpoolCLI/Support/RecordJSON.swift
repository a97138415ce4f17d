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

    /// A JSON string of valid UTF-8 bytes, escaped as ``JSONLine/quote(_:)`` does; returns
    /// whether any byte was outside ASCII. Measures the escaped length first, then writes in
    /// place, so that a payload full of quotes costs no more than two passes over it.
    @discardableResult
    private static func quote(_ bytes: [UInt8], into out: inout [UInt8]) -> Bool {
        var length = bytes.count + 2
        var high: UInt8 = 0
        for b in bytes {
            high |= b
            if b >= 0x20 && b != 0x22 && b != 0x5C { continue }
            length += (b == 0x22 || b == 0x5C || b == 0x0A || b == 0x0D || b == 0x09) ? 1 : 5
        }
        let mark = out.count
        out.append(contentsOf: repeatElement(0, count: length))
        out.withUnsafeMutableBufferPointer { o in
            bytes.withUnsafeBufferPointer { p in
                var w = mark
                o[w] = 0x22; w += 1
                for b in p {
                    if b >= 0x20 && b != 0x22 && b != 0x5C { o[w] = b; w += 1; continue }
                    o[w] = 0x5C
                    switch b {
                    case 0x22, 0x5C: o[w + 1] = b; w += 2
                    case 0x0A: o[w + 1] = UInt8(ascii: "n"); w += 2
                    case 0x0D: o[w + 1] = UInt8(ascii: "r"); w += 2
                    case 0x09: o[w + 1] = UInt8(ascii: "t"); w += 2
                    default:
                        o[w + 1] = UInt8(ascii: "u"); o[w + 2] = 0x30; o[w + 3] = 0x30
                        o[w + 4] = hexDigit(b >> 4); o[w + 5] = hexDigit(b & 15)
                        w += 6
                    }
                }
                o[w] = 0x22
            }
        }
        return high >= 0x80
    }

    @inline(__always) private static func hexDigit(_ v: UInt8) -> UInt8 { v < 10 ? 0x30 + v : 0x57 + v }

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
