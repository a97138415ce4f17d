import SpoolFormat

/// A consumer group's state as of an offset of its own log: every group record below
/// `logOffset` is applied, so opening the group replays only the records from `logOffset` on
/// (FORMAT.md, "Group checkpoint"). Written by the compactor, read when a group opens.
///
/// A value type; thread-safe to share.
struct GroupCheckpoint: Equatable, Sendable {
    static let magic: [UInt8] = Array("SPGC".utf8)
    static let version: UInt32 = 1
    /// Bound on ranges and on retries in one file, so a damaged count cannot make reading loop long.
    static let entriesMax = 1 << 20

    /// The group log's offset up to which this state is complete.
    var logOffset: Int64
    var acked: OffsetRanges
    var retries: [Int64: ConsumerGroup.Retry]

    /// The state before any group record: nothing acked below `queueStart` is known, and the
    /// records below it are gone from the queue anyway.
    static func empty(logOffset: Int64, queueStart: Int64) -> GroupCheckpoint {
        GroupCheckpoint(logOffset: logOffset, acked: OffsetRanges(watermark: queueStart), retries: [:])
    }

    /// Applies one group record (FORMAT.md, "Group log").
    mutating func apply(_ record: GroupRecord) {
        switch record {
        case .ack(let ranges):
            for range in ranges { acked.insert(range) }
        case .attempt(let offset, let attempts, let notBefore):
            retries[offset] = ConsumerGroup.Retry(attempts: attempts, notBefore: notBefore)
        }
    }

    /// Forgets retries of acked offsets and of offsets below the queue's start.
    mutating func tidy(queueStart: Int64) {
        acked.insert(0..<max(queueStart, 0))
        retries = retries.filter { !acked.contains($0.key) }
    }

    func encoded() -> [UInt8] {
        var out = Self.magic
        out.appendBigEndian(Self.version)
        out.appendBigEndian(logOffset)
        out.appendBigEndian(acked.watermark)
        out.appendBigEndian(UInt32(acked.ranges.count))
        for range in acked.ranges {
            out.appendBigEndian(range.lowerBound)
            out.appendBigEndian(range.upperBound)
        }
        out.appendBigEndian(UInt32(retries.count))
        for (offset, retry) in retries.sorted(by: { $0.key < $1.key }) {
            out.appendBigEndian(offset)
            out.appendBigEndian(Int32(clamping: retry.attempts))
            out.appendBigEndian(retry.notBefore)
        }
        out.appendBigEndian(CRC32C.checksum(out))
        return out
    }

    /// Why bytes are not a checkpoint, for the open report.
    enum DecodeFailure: Error, Equatable, CustomStringConvertible {
        case truncated(Int)
        case badMagic
        case badVersion(UInt32)
        case badChecksum
        case inconsistent(String)

        var description: String {
            switch self {
            case .truncated(let n): return "truncated (\(n) bytes)"
            case .badMagic: return "not a group checkpoint (bad magic)"
            case .badVersion(let v): return "unknown version \(v)"
            case .badChecksum: return "bad checksum"
            case .inconsistent(let why): return "inconsistent: \(why)"
            }
        }
    }

    /// The largest file a checkpoint can be, given ``entriesMax``.
    static let encodedBytesMax = 4 + 4 + 8 + 8 + 4 + entriesMax * 16 + 4 + entriesMax * 20 + 4

    static func decode(_ bytes: [UInt8]) throws(DecodeFailure) -> GroupCheckpoint {
        guard bytes.count >= 36 else { throw .truncated(bytes.count) }
        guard Array(bytes[0..<4]) == magic else { throw .badMagic }
        let stored = bytes.withUnsafeBytes { $0.loadBigEndian(at: bytes.count - 4, as: UInt32.self) }
        guard CRC32C.checksum(Array(bytes[0..<(bytes.count - 4)])) == stored else {
            // A short file fails here too; say which when the counts show it.
            throw .badChecksum
        }
        var reader = FieldReader(bytes: bytes, end: bytes.count - 4)
        let version = UInt32(truncatingIfNeeded: try reader.next(4))
        guard version == Self.version else { throw .badVersion(version) }
        let logOffset = try reader.next(8)
        let watermark = try reader.next(8)
        guard logOffset >= 0, watermark >= 0 else { throw .inconsistent("negative offset") }
        var acked = OffsetRanges(watermark: watermark)
        let rangeCount = Int(try reader.next(4))
        guard rangeCount <= entriesMax else { throw .inconsistent("\(rangeCount) ranges") }
        var previous = watermark
        for _ in 0..<rangeCount {
            let lower = try reader.next(8)
            let upper = try reader.next(8)
            guard lower > previous, upper > lower else { throw .inconsistent("ranges out of order at \(lower)") }
            acked.insert(lower..<upper)
            previous = upper
        }
        let retryCount = Int(try reader.next(4))
        guard retryCount <= entriesMax else { throw .inconsistent("\(retryCount) retries") }
        var retries: [Int64: ConsumerGroup.Retry] = [:]
        for _ in 0..<retryCount {
            let offset = try reader.next(8)
            let attempts = Int(Int32(truncatingIfNeeded: try reader.next(4)))
            let notBefore = try reader.next(8)
            guard offset >= 0, attempts >= 0 else { throw .inconsistent("retry of offset \(offset)") }
            retries[offset] = ConsumerGroup.Retry(attempts: attempts, notBefore: notBefore)
        }
        guard reader.at == reader.end else { throw .inconsistent("\(reader.end - reader.at) trailing bytes") }
        return GroupCheckpoint(logOffset: logOffset, acked: acked, retries: retries)
    }

    /// Reads big-endian fields of 4 or 8 bytes, up to `end`.
    private struct FieldReader {
        let bytes: [UInt8]
        let end: Int
        var at = 4

        init(bytes: [UInt8], end: Int) {
            self.bytes = bytes
            self.end = end
        }

        /// The next `width`-byte field (4: u32, 8: i64) as an Int64.
        mutating func next(_ width: Int) throws(DecodeFailure) -> Int64 {
            guard at + width <= end else { throw .truncated(bytes.count) }
            var value: UInt64 = 0
            for i in at..<(at + width) { value = value << 8 | UInt64(bytes[i]) }
            at += width
            return width == 8 ? Int64(bitPattern: value) : Int64(value)
        }
    }
}
