/// The key of a record in a Kafka control batch (attributes bit 5; FORMAT.md, "Control
/// batches"): a transaction marker that ends a producer's transaction. Control records are
/// never tasks: readers skip them, and use a marker to decide whether the producer's
/// transactional records before it are delivered (COMMIT) or not (ABORT).
///
/// A plain value type, safe to share between threads.
public enum ControlRecordType: Int16, Sendable, Equatable {
    case abort = 0
    case commit = 1

    /// Bytes of a control record key: version (int16, 0) and type (int16), big-endian.
    public static let keySize = 4

    /// Reads a control record's key.
    ///
    /// - Returns: the marker type; nil for a type Kafka defines but that ends no transaction
    ///   (such records are skipped like any control record).
    /// - Throws: `.malformedRecord` when the key is null or shorter than 4 bytes.
    public static func decode(key: [UInt8]?) throws(FormatError) -> ControlRecordType? {
        guard let key, key.count >= keySize else {
            throw .malformedRecord(
                index: 0, position: 0,
                reason:
                    "a control record's key must hold a version and a type (4 bytes), found \(key.map { "\($0.count) bytes" } ?? "null")"
            )
        }
        let type = Int16(bitPattern: UInt16(key[2]) << 8 | UInt16(key[3]))
        return ControlRecordType(rawValue: type)
    }
}
