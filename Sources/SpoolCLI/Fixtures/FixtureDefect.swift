import Glibc
import Spool

/// One kind of damage to a copy of the golden root (codec none), and the outcome it must have.
/// Positions and offsets come from the batches the generator finds in the files it damages.
enum FixtureDefect: String, CaseIterable {
    case tornTail = "torn-tail"
    case crcMismatchSealed = "crc-mismatch-sealed"
    case crcMismatchBelowRecoveryPoint = "crc-mismatch-below-recovery-point"
    case zeroedPageSealed = "zeroed-page-sealed"
    case truncatedSealedMidBatch = "truncated-sealed-mid-batch"
    case truncatedActiveBelowRecoveryPoint = "truncated-active-below-recovery-point"
    case baseOffsetBackwards = "base-offset-backwards"
    case garbageAfterSealed = "garbage-after-sealed"
    case garbageIndex = "garbage-index"
    case badRecoveryPoint = "bad-recovery-point"
    case missingActiveSegment = "missing-active-segment"
    case strayLogName = "stray-log-name"
    case groupLogCRCMismatch = "group-log-crc-mismatch"

    /// Damages `fixture`'s root and writes its expected outcome.
    /// - Throws: ``SpoolError`` on an I/O error, or when the golden root is not as expected.
    func apply(to fixture: inout FixtureCase) throws {
        let segments = try FixtureCase.segments(fixture.queueDirectory)
        guard segments.count >= 2 else {
            throw SpoolError(
                .invalidArgument, "the golden root should have 2 or more segments", path: fixture.queueDirectory)
        }
        let sealed = segments[0]
        let active = segments[segments.count - 1]
        let sealedBatches = try FixtureCase.batches(sealed)
        let activeBatches = try FixtureCase.batches(active)
        let total = FixtureGenerator.tasks
        switch self {
        case .garbageIndex, .badRecoveryPoint, .missingActiveSegment, .strayLogName, .groupLogCRCMismatch:
            try damageOtherFile(of: &fixture, sealed: sealed, active: active, total: total)
        default:
            try damageSegment(
                of: &fixture, sealed: sealed, active: active, sealedBatches: sealedBatches,
                activeBatches: activeBatches, total: total)
        }
    }

    /// The defects in a segment's bytes.
    private func damageSegment(
        of fixture: inout FixtureCase, sealed: String, active: String, sealedBatches: [FixtureCase.Batch],
        activeBatches: [FixtureCase.Batch], total: Int
    ) throws {
        let m = FixtureMutator.self
        switch self {
        case .tornTail:
            // The first 200 bytes of a copy of the last batch, as a write torn by a power cut.
            let last = activeBatches.last!
            let size = DrillFiles.size(active)
            let torn = Array(DrillFiles.read(active, limit: Int(size)).dropFirst(Int(last.position)).prefix(200))
            try m.write(active, at: size, torn)
            fixture.description =
                "200 bytes of a batch after the last one of the active segment, past the recovery point"
            fixture.brokenFiles = [fixture.relative(active).replacingSuffix(".log", with: ".\(size).broken")]
            try fixture.writeExpected(.ok, read: .ok(records: total))
        case .crcMismatchSealed:
            let b = sealedBatches[5]
            try m.flip(sealed, at: b.position + 61 + 100)
            fixture.description = "one bit flipped in a record of the 6th batch of a sealed segment"
            try fixture.writeExpected(
                .ok, read: .error(code: .corruption, file: sealed, position: b.position, offset: b.base))
        case .crcMismatchBelowRecoveryPoint:
            let b = activeBatches.last!
            try m.flip(active, at: b.position + 61 + 100)
            fixture.description = "one bit flipped in the last batch of the active segment, below the recovery point"
            try fixture.writeExpected(
                .error(code: .corruption, file: active, position: b.position, offset: b.base),
                read: .error(code: .corruption, file: active, position: b.position, offset: b.base))
        case .zeroedPageSealed:
            let page: Int64 = 4096
            let b = sealedBatches.first { $0.position <= page && page < $0.position + $0.total }!
            try m.write(sealed, at: page, [UInt8](repeating: 0, count: 4096))
            fixture.description = "the second 4 KiB page of a sealed segment zeroed"
            try fixture.writeExpected(
                .ok, read: .error(code: .corruption, file: sealed, position: b.position, offset: b.base))
        case .truncatedSealedMidBatch:
            let b = sealedBatches[3]
            try m.truncate(sealed, to: b.position + 100)
            fixture.description = "a sealed segment cut 100 bytes into its 4th batch"
            try fixture.writeExpected(
                .ok, read: .error(code: .corruption, file: sealed, position: b.position, offset: b.base))
        case .truncatedActiveBelowRecoveryPoint:
            let b = activeBatches.last!
            try m.truncate(active, to: b.position)
            fixture.description =
                "the active segment cut before its last batch, which the recovery point says is synced"
            let error = FixtureCase.Outcome.error(
                code: .corruption, file: active, position: b.position, offset: Int64(total))
            try fixture.writeExpected(
                error, read: .error(code: .corruption, file: active, position: b.position, offset: Int64(total)))
        case .baseOffsetBackwards:
            let b = sealedBatches[4]
            let earlier = sealedBatches[2]
            try m.write(sealed, at: b.position, bigEndian(earlier.base))
            fixture.description = "the 5th batch of a sealed segment claims the base offset of the 3rd"
            try fixture.writeExpected(
                .ok, read: .error(code: .corruption, file: sealed, position: b.position, offset: earlier.base))
        case .garbageAfterSealed:
            let size = DrillFiles.size(sealed)
            try m.write(sealed, at: size, [UInt8](repeating: 0xAB, count: 64))
            // Readers go to the next segment once they pass the last offset of this one, so the
            // appended bytes are never read as records: every task reads back.
            fixture.description =
                "64 bytes of 0xAB after the last batch of a sealed segment (at position \(size)): no record is affected"
            try fixture.writeExpected(.ok, read: .ok(records: total))
        default:
            preconditionFailure("\(self) is not a segment defect")
        }
    }

    /// The defects in files beside the segments: indexes, the recovery point, stray names, a group's log.
    private func damageOtherFile(of fixture: inout FixtureCase, sealed: String, active: String, total: Int) throws {
        let m = FixtureMutator.self
        switch self {
        case .garbageIndex:
            let index = sealed.replacingSuffix(".log", with: ".index")
            try m.write(index, at: 0, [UInt8](repeating: 0xFF, count: Int(max(DrillFiles.size(index), 64))))
            fixture.description =
                "a sealed segment's offset index overwritten with 0xFF bytes: derived data, rebuilt from the log"
            try fixture.writeExpected(.ok, read: .ok(records: total))
        case .badRecoveryPoint:
            try m.flip(fixture.queueDirectory + "/recovery-point", at: 20)
            fixture.description =
                "a bit flipped in the queue's recovery point: its CRC fails, so recovery scans the active segment from its start"
            try fixture.writeExpected(.ok, read: .ok(records: total))
        case .missingActiveSegment:
            for suffix in [".log", ".index", ".timeindex"] { unlink(active.replacingSuffix(".log", with: suffix)) }
            fixture.description = "the active segment, named by the recovery point, deleted"
            let error = FixtureCase.Outcome.error(
                code: .corruption, file: fixture.queueDirectory + "/recovery-point", position: nil, offset: Int64(total)
            )
            try fixture.writeExpected(
                error,
                read: .error(
                    code: .corruption, file: fixture.queueDirectory + "/recovery-point", position: nil,
                    offset: Int64(total)))
        case .strayLogName:
            let stray = fixture.queueDirectory + "/backup.log"
            try m.write(stray, at: 0, Array("not a segment".utf8))
            fixture.description = "a .log file whose name is not a 20-digit base offset in the queue directory"
            let error = FixtureCase.Outcome.error(code: .invalidArgument, file: stray, position: nil, offset: nil)
            try fixture.writeExpected(
                error, read: .error(code: .invalidArgument, file: stray, position: nil, offset: nil))
        case .groupLogCRCMismatch:
            let log = try FixtureCase.segments(fixture.groupDirectory).last!
            let b = try FixtureCase.batches(log).last!
            try m.flip(log, at: b.position + b.total - 1)
            fixture.description =
                "one bit flipped in the last batch of the consumer group's log, below its recovery point"
            fixture.group = .error(code: .corruption, file: log, position: b.position, offset: b.base)
            try fixture.writeExpected(.ok, read: .ok(records: total))
        default:
            preconditionFailure("\(self) is not a defect of another file")
        }
    }

    private func bigEndian(_ value: Int64) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: value >> (56 - 8 * $0)) }
    }
}

/// Byte mutators for the fixture generator.
enum FixtureMutator {
    static func write(_ path: String, at position: Int64, _ bytes: [UInt8]) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw SpoolError(.io, "cannot open a fixture file", path: path, errno: errno) }
        defer { close(fd) }
        try bytes.withUnsafeBytes { try PosixFileSystem().write(fd, from: $0, at: position) }
    }

    static func flip(_ path: String, at position: Int64, bit: Int = 2) throws {
        let byte = DrillFiles.read(path, limit: Int(position) + 1)
        guard byte.count > position else {
            throw SpoolError(.invalidArgument, "position past the file", path: path, position: position)
        }
        try write(path, at: position, [byte[Int(position)] ^ UInt8(1 << bit)])
    }

    static func truncate(_ path: String, to length: Int64) throws {
        if Glibc.truncate(path, off_t(length)) != 0 {
            throw SpoolError(.io, "cannot truncate a fixture file", path: path, errno: errno)
        }
    }
}

extension String {
    func replacingSuffix(_ suffix: String, with other: String) -> String {
        hasSuffix(suffix) ? String(dropLast(suffix.count)) + other : self
    }
}
