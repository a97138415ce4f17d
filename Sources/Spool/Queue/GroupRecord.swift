import SpoolFormat

/// What a consumer group writes to its own log (FORMAT.md, "Group log"): the value of each
/// record is one of these, encoded with zigzag varints.
///
/// - `ack`: kind 1, then a count and that many (start delta, length) pairs of acknowledged
///   offset ranges, each start relative to the previous range's end.
/// - `attempt`: kind 2, then the task's offset, its attempt count so far, and the time (ms)
///   before which it must not be delivered again.
enum GroupRecord: Equatable, Sendable {
    case ack([Range<Int64>])
    case attempt(offset: Int64, attempts: Int, notBefore: Int64)

    static let ackKind: UInt8 = 1
    static let attemptKind: UInt8 = 2
    /// Bound on ranges in one record, so a damaged count cannot make decoding loop long.
    static let rangesMax = 1 << 20

    func encoded() -> [UInt8] {
        var out: [UInt8] = []
        switch self {
        case .ack(let ranges):
            out.append(Self.ackKind)
            Varint.encode(Int64(ranges.count), into: &out)
            var previous: Int64 = 0
            for range in ranges {
                Varint.encode(range.lowerBound - previous, into: &out)
                Varint.encode(range.upperBound - range.lowerBound, into: &out)
                previous = range.upperBound
            }
        case .attempt(let offset, let attempts, let notBefore):
            out.append(Self.attemptKind)
            Varint.encode(offset, into: &out)
            Varint.encode(Int64(attempts), into: &out)
            Varint.encode(notBefore, into: &out)
        }
        return out
    }

    /// Decodes a record value; nil when it is not a group record this version understands.
    init?(decoding bytes: [UInt8]) {
        guard let kind = bytes.first else { return nil }
        let parsed: GroupRecord? = bytes.withUnsafeBytes { raw in
            var at = 1
            func next() -> Int64? {
                try? Varint.decodeInt64(raw, at: &at)
            }
            switch kind {
            case Self.ackKind:
                guard let count = next(), count >= 0, count <= Int64(Self.rangesMax) else { return nil }
                var ranges: [Range<Int64>] = []
                var previous: Int64 = 0
                for _ in 0..<count {
                    guard let delta = next(), let length = next(), delta >= 0, length > 0 else { return nil }
                    let (start, o1) = previous.addingReportingOverflow(delta)
                    let (end, o2) = start.addingReportingOverflow(length)
                    guard !o1, !o2 else { return nil }
                    ranges.append(start..<end)
                    previous = end
                }
                return at == raw.count ? .ack(ranges) : nil
            case Self.attemptKind:
                guard let offset = next(), let attempts = next(), let notBefore = next(),
                    offset >= 0, attempts >= 0, attempts <= Int64(Int32.max), at == raw.count
                else { return nil }
                return .attempt(offset: offset, attempts: Int(attempts), notBefore: notBefore)
            default:
                return nil
            }
        }
        guard let parsed else { return nil }
        self = parsed
    }
}
