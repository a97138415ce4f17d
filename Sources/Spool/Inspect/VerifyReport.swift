/// One problem `spool verify` found: what kind, in which file, where, and what it means.
public struct VerifyProblem: Sendable, Equatable {
    public enum Kind: String, Sendable, Equatable, CaseIterable {
        /// Damage at the end of a log's last segment past its recovery point: what a crash
        /// leaves, and what opening the queue (or `spool repair`) cuts and keeps as `.broken`.
        case tornTail = "torn tail"
        /// Damage in data that was synced (at or below the recovery point, or in a sealed
        /// segment), or state that contradicts the data: open refuses it.
        case corruption
        /// An `.index` or `.timeindex` entry that disagrees with the log, or a missing index:
        /// derived data, rebuilt by open or `spool repair`.
        case indexMismatch = "index mismatch"
        /// A file an interrupted operation left (`*.tmp`, `*.cleaned`, `*.swap`), or a `.log`
        /// whose name is not a segment name.
        case leftoverFile = "leftover file"
        /// A batch whose CRC is right but whose codec this build cannot decode
        /// (`FormatError.unsupportedCodec`). Not damage: a build that supports the codec reads
        /// it, so `spool repair` leaves it alone. (Codec bits 5-7 name no codec: corruption.)
        case unsupported
    }

    public var kind: Kind
    /// The file the problem is in.
    public var file: String
    /// The segment file it concerns, when there is one (an index's segment, for instance).
    public var segmentFile: String?
    /// Byte position in `file`.
    public var position: Int64?
    /// Record offset involved.
    public var offset: Int64?
    public var message: String
    /// What the problem is about, for ``Repairer``: the bytes of a batch, the recovery point,
    /// a gap or overlap between two segments, a consumer group's state (checkpoint, acks), or
    /// a group's acks lost below its log's start (at that offset).
    enum Subject: Sendable, Equatable { case data, recoveryPoint, segmentOrder, groupState, groupAcksLost }
    var subject: Subject = .data
    /// For a gap between two segments (`.segmentOrder`): the first offset after it.
    var gapEnd: Int64? = nil

    public init(
        kind: Kind, file: String, segmentFile: String? = nil, position: Int64? = nil, offset: Int64? = nil,
        message: String
    ) {
        self.kind = kind
        self.file = file
        self.segmentFile = segmentFile
        self.position = position
        self.offset = offset
        self.message = message
    }
}

extension VerifyProblem.Kind {
    /// The finding for a batch whose CRC matched but whose records did not decode: a codec this
    /// build cannot handle (`SpoolError.Code.unsupported`) is `.unsupported`; anything else is
    /// `.corruption`, since the writer wrote those bytes whole.
    init(decodeFailure error: SpoolError) {
        self = error.code == .unsupported ? .unsupported : .corruption
    }
}

/// What a verification covered and found.
public struct VerifyReport: Sendable, Equatable {
    public var problems: [VerifyProblem] = []
    /// Facts worth a line that are not damage (`.broken` copies kept by recovery, bytes past
    /// the recovery point that a live writer is still writing, an unreadable recovery point).
    public var notes: [String] = []
    /// Segments whose indexes are missing or short: not damage (a reader rebuilds them from
    /// the log on first use, and `spool repair` rebuilds them now), each also in `notes`.
    public var indexRebuilds: [String] = []
    public var logs = 0
    public var segments = 0
    public var batches: Int64 = 0
    public var records: Int64 = 0
    /// Bytes of batch data checked (CRC computed over them).
    public var bytesChecked: Int64 = 0
    /// Whether a writer held the root's lock while it ran (the tail of each log was then
    /// being written: bytes past the recovery point are not reported as torn).
    public var writerActive = false

    public init() {}

    public var isClean: Bool { problems.isEmpty }

    /// Problems of each kind.
    public func count(_ kind: VerifyProblem.Kind) -> Int { problems.filter { $0.kind == kind }.count }
}

/// How far a verification has got: for a progress bar.
public struct VerifyProgress: Sendable, Equatable {
    public var bytesDone: Int64
    public var bytesTotal: Int64
    public var file: String

    public init(bytesDone: Int64, bytesTotal: Int64, file: String) {
        self.bytesDone = bytesDone
        self.bytesTotal = bytesTotal
        self.file = file
    }
}
