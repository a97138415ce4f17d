import SpoolFormat

/// Writes a record's JSON line straight into bytes: the same text as building it with
/// ``JSONLine`` (keys in the same order, the same escapes), without intermediate strings, so
/// that `spool dump --json` and `tail --json` print well over a million records a second.
/// Room for the whole line is reserved once (escaping at most sextuples a byte), then every
/// piece is stored through a raw pointer. Stateless.
enum RecordJSON {
    private static let hexDigits = Array("0123456789abcdef".utf8)
    private static let recordStart = Array(#"{"type":"record","#.utf8)
    private static let fileKey = Array(#""file":"#.utf8)
    private static let offsetKey = Array(#""offset":"#.utf8)
    private static let timestampKey = Array(#","timestamp":"#.utf8)
    private static let keyKey = Array(#","key":"#.utf8)
    private static let valueKey = Array(#","value":"#.utf8)
    private static let valueBytesKey = Array(#","value_bytes":"#.utf8)
    private static let headersKey = Array(#","headers":"#.utf8)
    private static let null = Array("null".utf8)
    private static let noHeaders = Array("[]}\n".utf8)
    private static let end = Array("}\n".utf8)

    /// `{"type":"record",["file":…,]"offset":…,"timestamp":…,"key":…,"value":…|"value_bytes":…,"headers":[…]}` and a
    /// newline.
    static func append(_ record: Record, file: String?, values: Bool, into out: inout [UInt8]) {
        let buffer = ByteBuffer()
        append(record, fileField: file.map(fileField), values: values, into: buffer)
        out += buffer.bytes
    }

    /// `"file":"…",` once for many records of one file.
    static func fileField(_ file: String) -> [UInt8] {
        let buffer = ByteBuffer()
        buffer.reserve(fileKey.count + 1)
        buffer.put(fileKey)
        quote(Array(file.utf8), into: buffer)
        buffer.reserve(1)
        buffer.put(UInt8(ascii: ","))
        return Array(buffer.bytes)
    }

    static func append(_ record: Record, fileField: [UInt8]?, values: Bool, into out: ByteBuffer) {
        let headers: [UInt8]? = record.headers.isEmpty ? nil : Array(JSONLine.headers(record.headers).utf8)
        out.reserve(160 + (fileField?.count ?? 0) + (headers?.count ?? 0))
        out.put(recordStart)
        if let fileField { out.put(fileField) }
        out.put(offsetKey)
        decimal(record.offset, into: out)
        out.put(timestampKey)
        decimal(record.timestamp, into: out)
        bytesField(keyKey, "key", record.key, into: out)
        if values {
            bytesField(valueKey, "value", record.value, into: out)
        } else {
            out.reserve(valueBytesKey.count + 20)
            out.put(valueBytesKey)
            if let value = record.value { decimal(Int64(value.count), into: out) } else { out.put(null) }
        }
        out.reserve(headersKey.count + noHeaders.count + (headers?.count ?? 0))
        out.put(headersKey)
        if let headers {
            out.put(headers)
            out.put(end)
        } else {
            out.put(noHeaders)
        }
    }

    /// `,"name":"text"` for UTF-8 bytes, `,"name":null,"name_hex":"…"` otherwise, `,"name":null` for nil.
    private static func bytesField(_ key: [UInt8], _ name: String, _ bytes: [UInt8]?, into out: ByteBuffer) {
        out.reserve(key.count + 4)
        out.put(key)
        guard let bytes else {
            out.put(null)
            return
        }
        let mark = out.count
        // Quote first; bytes outside ASCII are then checked to be UTF-8 (rare in practice).
        if !quote(bytes, into: out) || String(validating: bytes, as: UTF8.self) != nil { return }
        out.truncate(to: mark)
        let hexKey = Array(",\"\(name)_hex\":\"".utf8)
        out.reserve(null.count + hexKey.count + bytes.count * 2 + 1)
        out.put(null)
        out.put(hexKey)
        for b in bytes {
            out.put(hexDigits[Int(b >> 4)])
            out.put(hexDigits[Int(b & 15)])
        }
        out.put(UInt8(ascii: "\""))
    }

    /// A JSON string of valid UTF-8 bytes, escaped as ``JSONLine/quote(_:)`` does; returns
    /// whether any byte was outside ASCII.
    @discardableResult
    private static func quote(_ bytes: [UInt8], into out: ByteBuffer) -> Bool {
        out.reserve(bytes.count * 6 + 2)
        var high: UInt8 = 0
        bytes.withUnsafeBufferPointer { p in
            out.put(0x22)
            for b in p {
                high |= b
                if b >= 0x20 && b != 0x22 && b != 0x5C {
                    out.put(b)
                    continue
                }
                out.put(0x5C)
                switch b {
                case 0x22, 0x5C: out.put(b)
                case 0x0A: out.put(UInt8(ascii: "n"))
                case 0x0D: out.put(UInt8(ascii: "r"))
                case 0x09: out.put(UInt8(ascii: "t"))
                default:
                    out.put(UInt8(ascii: "u"))
                    out.put(0x30)
                    out.put(0x30)
                    out.put(hexDigit(b >> 4))
                    out.put(hexDigit(b & 15))
                }
            }
            out.put(0x22)
        }
        return high >= 0x80
    }

    @inline(__always) private static func hexDigit(_ v: UInt8) -> UInt8 { v < 10 ? 0x30 + v : 0x57 + v }

    /// Decimal digits of `value` (room for 20 reserved by the caller's reservation).
    private static func decimal(_ value: Int64, into out: ByteBuffer) {
        out.reserve(20)
        if value < 0 { out.put(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        var divisor: UInt64 = 1
        while divisor <= magnitude / 10 { divisor *= 10 }
        repeat {
            out.put(UInt8(ascii: "0") + UInt8(magnitude / divisor))
            magnitude %= divisor
            divisor /= 10
        } while divisor > 0
    }
}
