import Glibc

/// Parses times given on the command line: milliseconds since the epoch, or ISO 8601 UTC
/// ("2026-11-27T07:00:00Z", with optional ".123" milliseconds). A date or time field out of
/// range (month 13, day 45, hour 99, February 30) is refused, not carried over.
enum TimeArgument {
    static func parse(_ text: String) -> Int64? {
        if let ms = Int64(text) { return ms }
        let chars = Array(text.utf8)
        func number(_ from: Int, _ count: Int) -> Int32? {
            guard from + count <= chars.count else { return nil }
            var n: Int32 = 0
            for c in chars[from..<from + count] {
                guard c >= 48 && c <= 57 else { return nil }
                n = n * 10 + Int32(c - 48)
            }
            return n
        }
        guard chars.count >= 20, chars[4] == 45, chars[7] == 45, chars[10] == 84, chars[13] == 58, chars[16] == 58,
            let year = number(0, 4), let month = number(5, 2), let day = number(8, 2),
            let hour = number(11, 2), let minute = number(14, 2), let second = number(17, 2)
        else { return nil }
        var millis: Int64 = 0
        var rest = 19
        if chars.count > 20 && chars[19] == 46 {
            guard let ms = number(20, 3) else { return nil }
            millis = Int64(ms)
            rest = 23
        }
        guard rest == chars.count - 1, chars[rest] == 90 else { return nil }
        // timegm would carry "2026-13-45T99:99:99Z" over into 2027: refuse fields out of range.
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let days: [Int32] = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        guard (1...12).contains(month), (1...days[Int(month) - 1]).contains(day),
            (0...23).contains(hour), (0...59).contains(minute), (0...59).contains(second)
        else { return nil }
        var parts = tm()
        parts.tm_year = year - 1900
        parts.tm_mon = month - 1
        parts.tm_mday = day
        parts.tm_hour = hour
        parts.tm_min = minute
        parts.tm_sec = second
        return Int64(timegm(&parts)) * 1000 + millis
    }
}

extension Human {
    /// "350 ms", "12.0 s", "3.5 min", "2.1 h", "4.0 d"
    static func age(milliseconds ms: Int64) -> String {
        let s = Double(ms) / 1000
        if ms < 1000 { return "\(ms) ms" }
        if s < 60 { return JSONLine.fixed(s, decimals: 1) + " s" }
        if s < 3600 { return JSONLine.fixed(s / 60, decimals: 1) + " min" }
        if s < 86_400 { return JSONLine.fixed(s / 3600, decimals: 1) + " h" }
        return JSONLine.fixed(s / 86_400, decimals: 1) + " d"
    }
}
