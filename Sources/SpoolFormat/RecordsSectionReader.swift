/// Reads and checks the records section of one batch (FORMAT.md, "Records" and "Checks a reader
/// makes"): every length, varint and count, with each read bounded by the section and by the
/// enclosing record's declared length.
///
/// Used by `RecordBatchDecoder` after the header and CRC are checked and the section is
/// decompressed. A value type over borrowed memory, used by one thread for one batch.
struct RecordsSectionReader {
    /// The smallest record body: attributes, timestampDelta, offsetDelta, keyLength,
    /// valueLength and headerCount, one byte each. FORMAT.md, "Records".
    static let minimumBodyBytes = 6
    /// The smallest whole record: a one-byte length varint plus the smallest body.
    static let minimumRecordBytes = 1 + minimumBodyBytes

    private var reader: ByteReader
    private let header: RecordBatchHeader
    private let limits: FormatLimits
    /// Added to positions in the section to make them relative to the batch start (61 for an
    /// uncompressed section, 0 for a decompressed one).
    private let positionBase: Int
    private let compressed: Bool
    /// The record being read, for error messages.
    private var index = 0

    private init(
        _ section: UnsafeRawBufferPointer, header: RecordBatchHeader, limits: FormatLimits, positionBase: Int,
        compressed: Bool
    ) {
        self.reader = ByteReader(section, from: 0, to: section.count)
        self.header = header
        self.limits = limits
        self.positionBase = positionBase
        self.compressed = compressed
    }

    /// Reads exactly `header.recordCount` records from `section`, which must hold nothing else.
    ///
    /// - Throws: `.recordCountMismatch` when the section ends early or holds further whole
    ///   records, `.malformedRecord` for any broken record or trailing bytes, `.limitExceeded`
    ///   for a record above `limits.recordBytesMax` or with more than
    ///   `limits.headersPerRecordMax` headers.
    static func read(
        _ section: UnsafeRawBufferPointer, header: RecordBatchHeader, limits: FormatLimits,
        positionBase: Int, compressed: Bool
    ) throws(FormatError) -> [Record] {
        var state = RecordsSectionReader(
            section, header: header, limits: limits, positionBase: positionBase, compressed: compressed)
        return try state.readAll()
    }

    private mutating func readAll() throws(FormatError) -> [Record] {
        let declared = Int(header.recordCount)
        var records: [Record] = []
        // Never reserve more than the section could possibly hold.
        records.reserveCapacity(min(declared, reader.remaining / Self.minimumRecordBytes))
        var previousDelta: Int32 = -1
        while index < declared {
            if reader.isAtEnd {
                throw .recordCountMismatch(declared: header.recordCount, found: index)
            }
            records.append(try readRecord(previousDelta: &previousDelta))
            index += 1
        }
        if !reader.isAtEnd {
            throw trailingBytesError()
        }
        return records
    }

    private mutating func readRecord(previousDelta: inout Int32) throws(FormatError) -> Record {
        let start = reader.position
        let length = try varint32(.recordLength)
        guard length >= Self.minimumBodyBytes else {
            throw malformed(at: start, "record length \(length) is below the minimum of \(Self.minimumBodyBytes)")
        }
        guard Int(length) <= limits.recordBytesMax else {
            throw .limitExceeded(what: "bytes of record \(index)", value: Int(length), limit: limits.recordBytesMax)
        }
        let outerEnd: Int
        do throws(ByteReader.Failure) {
            outerEnd = try reader.limit(to: Int(length))
        } catch {
            throw malformed(
                at: start,
                "record length \(length) runs past the end of the records section (\(reader.remaining) bytes left)")
        }

        _ = try uint8(.attributes)
        let deltaPosition = reader.position
        let timestampDelta = try varint64(.timestampDelta)
        let offsetDelta = try varint32(.offsetDelta)
        guard offsetDelta > previousDelta, offsetDelta <= header.lastOffsetDelta else {
            throw malformed(
                at: deltaPosition,
                "offsetDelta \(offsetDelta) must be above the previous record's (\(previousDelta)) and at most lastOffsetDelta (\(header.lastOffsetDelta))"
            )
        }
        previousDelta = offsetDelta
        let timestamp: Int64
        if header.isLogAppendTime {
            timestamp = header.maxTimestamp
        } else {
            let (sum, overflow) = header.baseTimestamp.addingReportingOverflow(timestampDelta)
            guard !overflow else {
                throw malformed(at: deltaPosition, "baseTimestamp + timestampDelta \(timestampDelta) overflows Int64")
            }
            timestamp = sum
        }
        let key = try nullableBytes(.key)
        let value = try nullableBytes(.value)

        let countPosition = reader.position
        let headerCount = try varint32(.headerCount)
        guard headerCount >= 0 else {
            throw malformed(at: countPosition, "header count \(headerCount) is negative")
        }
        guard Int(headerCount) <= limits.headersPerRecordMax else {
            throw .limitExceeded(
                what: "headers on record \(index)", value: Int(headerCount), limit: limits.headersPerRecordMax)
        }
        var headers: [RecordHeader] = []
        if headerCount > 0 {
            // Each header takes at least two bytes (two length varints).
            headers.reserveCapacity(min(Int(headerCount), reader.remaining / 2))
            for _ in 0..<headerCount {
                headers.append(try recordHeader())
            }
        }

        guard reader.isAtEnd else {
            throw malformed(
                at: start,
                "record length \(length) leaves \(reader.remaining) bytes after the last header")
        }
        reader.restore(end: outerEnd)
        return Record(
            offset: header.baseOffset + Int64(offsetDelta), timestamp: timestamp,
            key: key.map { Array($0) }, value: value.map { Array($0) }, headers: headers)
    }

    private mutating func recordHeader() throws(FormatError) -> RecordHeader {
        let namePosition = reader.position
        let nameLength = try varint32(.headerNameLength)
        guard nameLength >= 0 else {
            throw malformed(
                at: namePosition, "header name length \(nameLength) is negative (header names cannot be null)")
        }
        let nameBytes = try bytes(Int(nameLength), .headerName)
        guard let name = Self.string(nameBytes) else {
            throw malformed(at: namePosition, "header name is not valid UTF-8")
        }
        let value = try nullableBytes(.headerValue)
        return RecordHeader(name: name, value: value.map { Array($0) })
    }

    /// The UTF-8 string in `bytes`, or nil when they are not valid UTF-8. Header names are
    /// nearly always ASCII, which needs no validation beyond the high bit, so that common case
    /// skips the general validator.
    private static func string(_ bytes: UnsafeRawBufferPointer) -> String? {
        if bytes.allSatisfy({ $0 < 0x80 }) {
            return String(decoding: bytes, as: UTF8.self)
        }
        return String(validating: bytes, as: UTF8.self)
    }

    /// Length varint (-1 = null) and the bytes it counts, as a view into the section.
    private mutating func nullableBytes(_ field: Field) throws(FormatError) -> UnsafeRawBufferPointer? {
        let position = reader.position
        let length = try varint32(field, isLength: true)
        if length == -1 { return nil }
        guard length >= 0 else {
            throw malformed(at: position, "\(field.rawValue) length \(length) is below -1")
        }
        return try bytes(Int(length), field)
    }

    // MARK: Reads that turn ByteReader failures into errors naming the record and field

    /// The fields of a record, named in error messages. An enum rather than strings so that
    /// the happy path builds no text.
    private enum Field: String {
        case recordLength = "record length"
        case attributes
        case timestampDelta
        case offsetDelta
        case key
        case value
        case headerCount = "header count"
        case headerNameLength = "header name length"
        case headerName = "header name"
        case headerValue = "header value"
    }

    private mutating func varint32(_ field: Field, isLength: Bool = false) throws(FormatError) -> Int32 {
        do throws(ByteReader.Failure) {
            return try reader.readVarint32()
        } catch {
            throw mapped(error, field, isLength ? " length" : "")
        }
    }

    private mutating func varint64(_ field: Field) throws(FormatError) -> Int64 {
        do throws(ByteReader.Failure) {
            return try reader.readVarint64()
        } catch {
            throw mapped(error, field)
        }
    }

    private mutating func uint8(_ field: Field) throws(FormatError) -> UInt8 {
        do throws(ByteReader.Failure) {
            return try reader.readUInt8()
        } catch {
            throw mapped(error, field)
        }
    }

    private mutating func bytes(_ count: Int, _ field: Field) throws(FormatError) -> UnsafeRawBufferPointer {
        do throws(ByteReader.Failure) {
            return try reader.readBytes(count)
        } catch {
            throw mapped(error, field)
        }
    }

    private func mapped(_ failure: ByteReader.Failure, _ field: Field, _ suffix: String = "") -> FormatError {
        failure.formatError(
            recordIndex: index, positionBase: positionBase, available: reader.bytes.count,
            context: " in the \(field.rawValue)\(suffix)\(sectionNote)")
    }

    private func malformed(at position: Int, _ reason: String) -> FormatError {
        .malformedRecord(index: index, position: positionBase + position, reason: reason + sectionNote)
    }

    private var sectionNote: String {
        compressed ? " (position within the decompressed records section)" : ""
    }

    /// After the declared records, decides between "more whole records than declared" and
    /// "garbage after the last record". Bounded: each step consumes at least one record length.
    private func trailingBytesError() -> FormatError {
        var probe = reader
        var extra = 0
        let leftover = probe.remaining
        while !probe.isAtEnd {
            guard let length = try? probe.readVarint32(), length >= Self.minimumBodyBytes,
                (try? probe.skip(Int(length))) != nil
            else {
                return .malformedRecord(
                    index: index, position: positionBase + reader.position,
                    reason: "\(leftover) bytes are left over after the last declared record" + sectionNote)
            }
            extra += 1
        }
        return .recordCountMismatch(declared: header.recordCount, found: Int(header.recordCount) + extra)
    }
}
