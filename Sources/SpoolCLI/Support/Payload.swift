/// The benchmark task of WORKLOAD.md: exactly `size` bytes of JSON-like text, different for
/// each id, padded with 'x' (the same bytes as `make_payload()` in the peers' qbench.c).
/// Built byte by byte: benchmarks call it for every task, so it must not cost more than the
/// enqueue it feeds.
public enum Payload {
    private static let prefix = Array("{\"id\":".utf8)
    private static let middle = Array(",\"type\":\"email\",\"to\":\"user".utf8)
    private static let suffix = Array("@example.com\",\"attempt\":0,\"pad\":\"".utf8)

    public static func make(id: UInt64, size: Int) -> [UInt8] {
        precondition(size >= 2)
        var out = [UInt8]()
        out.reserveCapacity(max(size, 96))
        out += prefix
        appendDecimal(id, to: &out)
        out += middle
        appendDecimal(id % 100_000, to: &out)
        out += suffix
        if out.count > size - 2 { out.removeLast(out.count - (size - 2)) }
        if out.count < size - 2 {
            out.append(contentsOf: repeatElement(UInt8(ascii: "x"), count: size - 2 - out.count))
        }
        out.append(UInt8(ascii: "\""))
        out.append(UInt8(ascii: "}"))
        return out
    }

    private static func appendDecimal(_ value: UInt64, to out: inout [UInt8]) {
        var digits: (UInt64, Int) = (1, 1)
        while digits.0 <= value / 10 {
            digits.0 *= 10
            digits.1 += 1
        }
        var rest = value
        var divisor = digits.0
        for _ in 0..<digits.1 {
            out.append(UInt8(ascii: "0") + UInt8(rest / divisor))
            rest %= divisor
            divisor /= 10
        }
    }
}

/// Latency benchmarks (W9, W11) carry the monotonic time of the enqueue call in a payload's
/// first 8 bytes, so the consumer can tell how long the task took to reach it.
enum StampedPayload {
    static func stamp(_ payload: inout [UInt8], nanoseconds: UInt64) {
        precondition(payload.count >= 8)
        payload.withUnsafeMutableBytes { $0.storeBytes(of: nanoseconds, as: UInt64.self) }
    }

    /// The stamp, or nil for a payload that carries none (too short, or null).
    static func stamp(of payload: [UInt8]?) -> UInt64? {
        guard let payload, payload.count >= 8 else { return nil }
        return payload.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
    }
}
