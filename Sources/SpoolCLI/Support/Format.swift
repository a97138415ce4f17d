import Glibc
import Synchronization

/// Human renderings for terminal output: sizes, counts, durations, timestamps, payloads.
enum Human {
    /// "1,234,567"
    static func count(_ n: Int64) -> String {
        let digits = String(n.magnitude)
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out += "," }
            out.append(c)
        }
        return (n < 0 ? "-" : "") + out
    }

    static func count(_ n: Int) -> String { count(Int64(n)) }

    /// "13.5 KiB", "128 B"
    static func bytes(_ n: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(n)
        var unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(n) B" : JSONLine.fixed(value, decimals: 1) + " " + units[unit]
    }

    /// "2.1 ms", "350 µs", "1.20 s"
    static func seconds(_ s: Double) -> String {
        if s >= 1 { return JSONLine.fixed(s, decimals: 2) + " s" }
        if s >= 0.001 { return JSONLine.fixed(s * 1000, decimals: 1) + " ms" }
        return JSONLine.fixed(s * 1_000_000, decimals: 0) + " µs"
    }

    /// ISO 8601 UTC with milliseconds, e.g. "2026-11-27T07:00:00.123Z".
    static func timestamp(_ ms: Int64) -> String {
        var seconds = time_t(ms >= 0 ? ms / 1000 : (ms - 999) / 1000)
        let millis = ((ms % 1000) + 1000) % 1000
        var parts = tm()
        guard gmtime_r(&seconds, &parts) != nil else { return String(ms) }
        func pad(_ v: Int32, _ width: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(Int32(millis), 3))Z"
    }

    /// Printable UTF-8 as text, anything else as hex; cut at `limit` bytes with a marker.
    static func payload(_ bytes: [UInt8]?, limit: Int?) -> String {
        guard let bytes else { return "null" }
        let shown = limit.map { Array(bytes.prefix($0)) } ?? bytes
        let more = shown.count < bytes.count ? " … (\(bytes.count - shown.count) more bytes; --full shows all)" : ""
        if let text = String(validating: shown, as: UTF8.self),
            text.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7f || $0 == "\t" })
        {
            return JSONLine.quote(text) + more
        }
        return "0x" + hex(shown) + more
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func crc(_ value: UInt32) -> String {
        let h = String(value, radix: 16)
        return "0x" + String(repeating: "0", count: 8 - h.count) + h
    }
}

/// Standard output and error through write(2), with a 64 KiB buffer for standard output so
/// that large dumps are fast; `flush()` empties it (the command runner calls it before exit,
/// and `bench --crash` before it kills itself). Thread-safe behind a mutex.
public enum Console {
    private static let buffer = Mutex<[UInt8]>([])
    private static let bufferBytes = 64 << 10

    static func out(_ line: String) {
        buffer.withLock { bytes in
            bytes.append(contentsOf: line.utf8)
            bytes.append(10)
            if bytes.count >= bufferBytes {
                writeAll(1, bytes)
                bytes.removeAll(keepingCapacity: true)
            }
        }
    }

    /// Appends bytes that already end in a newline (a fast path for many lines at once).
    static func out(bytes: UnsafeRawBufferPointer) {
        buffer.withLock { buffered in
            buffered += bytes
            if buffered.count >= bufferBytes {
                writeAll(1, buffered)
                buffered.removeAll(keepingCapacity: true)
            }
        }
    }

    static func err(_ line: String) {
        flush()
        writeAll(2, Array((line + "\n").utf8))
    }

    public static func flush() {
        buffer.withLock { bytes in
            writeAll(1, bytes)
            bytes.removeAll(keepingCapacity: true)
        }
    }

    /// Writes all of `bytes`. When standard output's reader has gone away (EPIPE: the `spool`
    /// executable ignores SIGPIPE), nobody wants the rest: the process ends at once with status
    /// 0, as `cat` stops when `head` is done, instead of working on for nobody.
    private static func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
        bytes.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let n = write(fd, raw.baseAddress! + done, raw.count - done)
                if n < 0 && errno == EPIPE && fd == 1 { _exit(0) }
                if n < 0 {
                    if errno == EINTR { continue }
                    return
                }
                done += n
            }
        }
    }
}
