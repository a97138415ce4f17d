import SpoolFormat

/// The last place in a queue's log known to be synced: a segment's base offset, a byte
/// position in it, and the offset of the next record. Open scans only past it.
///
/// Stored in `<queue>/recovery-point` as 36 bytes (FORMAT.md, "Recovery point"): magic "SPRP",
/// u32 version, i64 segment, i64 position, i64 next offset, u32 CRC-32C of the 32 bytes before.
/// Version 2 also says that the queue's indexes have Kafka's meaning; a version 1 file is read
/// the same way, and its queue's indexes are rebuilt once (FORMAT.md, "Recovery point").
struct RecoveryPoint: Equatable, Sendable {
    static let magic: [UInt8] = Array("SPRP".utf8)
    /// The version written. FORMAT.md, "Recovery point".
    static let version: UInt32 = 2
    /// The version before Kafka's index meaning was adopted: still read.
    static let versionBeforeKafkaIndexes: UInt32 = 1
    static let encodedSize = 36

    var segment: Int64
    var position: Int64
    var nextOffset: Int64
    /// The version the file had when read (``version`` for one made here). Not compared.
    private(set) var storedVersion: UInt32 = RecoveryPoint.version

    /// True when the file predates Kafka's index meaning: the queue's indexes need a rebuild.
    var indexesPredateKafkaMeaning: Bool { storedVersion == Self.versionBeforeKafkaIndexes }

    static func == (a: RecoveryPoint, b: RecoveryPoint) -> Bool {
        a.segment == b.segment && a.position == b.position && a.nextOffset == b.nextOffset
    }

    func encoded() -> [UInt8] {
        var bytes = Self.magic
        bytes.reserveCapacity(Self.encodedSize)
        bytes.appendBigEndian(Self.version)
        bytes.appendBigEndian(segment)
        bytes.appendBigEndian(position)
        bytes.appendBigEndian(nextOffset)
        bytes.appendBigEndian(CRC32C.checksum(bytes))
        return bytes
    }

    /// Decodes the file's bytes; nil when they are short, of another version, or fail the CRC
    /// (then the previous checkpoint was lost and open scans the whole active segment).
    init?(decoding bytes: [UInt8]) {
        guard bytes.count == Self.encodedSize, Array(bytes[0..<4]) == Self.magic else { return nil }
        let fields = bytes.withUnsafeBytes { raw in
            (
                raw.loadBigEndian(at: 4, as: UInt32.self), raw.loadBigEndian(at: 8, as: Int64.self),
                raw.loadBigEndian(at: 16, as: Int64.self), raw.loadBigEndian(at: 24, as: Int64.self),
                raw.loadBigEndian(at: 32, as: UInt32.self)
            )
        }
        guard fields.0 == Self.version || fields.0 == Self.versionBeforeKafkaIndexes,
            fields.4 == CRC32C.checksum(Array(bytes[0..<32]))
        else { return nil }
        guard fields.1 >= 0, fields.2 >= 0, fields.3 >= fields.1 else { return nil }
        self.init(segment: fields.1, position: fields.2, nextOffset: fields.3)
        storedVersion = fields.0
    }

    init(segment: Int64, position: Int64, nextOffset: Int64) {
        self.segment = segment
        self.position = position
        self.nextOffset = nextOffset
    }

    /// Replaces `<directory>/recovery-point` atomically; `durable` adds the fsyncs (at seals and
    /// close; between them a lost update only means a longer scan).
    func write(in directory: String, durable: Bool, fileSystem fs: any FileSystem) throws {
        try AtomicFile.write(
            encoded(), to: RootLayout.path(directory, RootLayout.recoveryPointFileName), directory: directory,
            durable: durable, fileSystem: fs)
    }

    /// The point stored in `directory`; nil when missing or unreadable.
    static func read(in directory: String, fileSystem fs: any FileSystem) throws -> RecoveryPoint? {
        try AtomicFile.read(
            RootLayout.path(directory, RootLayout.recoveryPointFileName), limit: encodedSize + 1, fileSystem: fs
        ).flatMap(RecoveryPoint.init(decoding:))
    }
}
