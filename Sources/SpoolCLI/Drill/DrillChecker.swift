import Glibc
import Spool
import SpoolFormat

/// Opens a drilled root as a restarting application would, times the recovery, and checks the
/// invariants against the side journals that the killed children wrote:
/// every acknowledged enqueue is present with its bytes, no acknowledged ack is delivered
/// again, no task appears that no writer run enqueued, and offsets are unique and contiguous.
///
/// Not thread-safe; one drill thread uses it between child runs.
struct DrillChecker {
    static let queue = "q"
    static let group = "g"
    static let payloadSize = 100

    /// The ids each writer run of the epoch was given: `first ..< first + count`.
    var writerRuns: [Range<UInt64>] = []
    let enqueueJournal: String
    let ackJournal: String

    struct Result {
        /// nil when the root could not be opened or read (see `error`).
        var recoverySeconds: Double?
        var error: SpoolError?
        var acknowledgedEnqueues = 0
        var acknowledgedAcks = 0
        var records = 0
        var lost: [Int64] = []
        var redelivered: [Int64] = []
        var phantoms: [Int64] = []
        var offsetProblems: [String] = []

        var violations: Int { lost.count + redelivered.count + phantoms.count + offsetProblems.count }
        var summary: String {
            if let error { return "error: \(error)" }
            var parts: [String] = []
            if !lost.isEmpty { parts.append("\(lost.count) acknowledged tasks lost, first at offset \(lost[0])") }
            if !redelivered.isEmpty {
                parts.append("\(redelivered.count) acked tasks delivered again, first offset \(redelivered[0])")
            }
            if !phantoms.isEmpty {
                parts.append("\(phantoms.count) tasks never enqueued, first at offset \(phantoms[0])")
            }
            parts += offsetProblems.prefix(3)
            return parts.isEmpty ? "ok" : parts.joined(separator: "; ")
        }
    }

    func check(root path: String) -> Result {
        var result = Result()
        let started = SystemClock().monotonicNanoseconds()
        if PosixFileSystem().fileType(path) == .missing {
            // No writer run got as far as creating the root, or a power cut took it away:
            // every acknowledged enqueue or ack is then lost.
            result.recoverySeconds = 0
            do {
                try checkJournals(present: [:], result: &result)
                let acked = try Self.readAckJournal(ackJournal)
                result.acknowledgedAcks = acked.count
                result.lost += acked.sorted()
            } catch {
                result.error = error.asDrillError
            }
            return result
        }
        let root: SpoolRoot
        do {
            var options = SpoolOptions()
            options.createIfMissing = false
            // Torn tails and rebuilt indexes are what a drill expects; the checks report the rest.
            options.logger.logLevel = .critical
            root = try SpoolRoot.open(at: path, options: options)
        } catch {
            result.error = error.asDrillError
            return result
        }
        defer { root.close() }
        do {
            guard try root.queueNames().contains(Self.queue) else {
                // No writer run got as far as creating the queue.
                result.recoverySeconds = Double(SystemClock().monotonicNanoseconds() - started) / 1e9
                try checkJournals(present: [:], result: &result)
                return result
            }
            let log = try root.queue(Self.queue)
            let group = try root.group(Self.group, on: Self.queue)
            result.recoverySeconds = Double(SystemClock().monotonicNanoseconds() - started) / 1e9
            // Compaction (the groupstate fault runs it) removes only tasks every group acked:
            // those may be missing from the log, nothing else may.
            // (The group's own state decides: an ack can be durable before the killed consumer
            // journaled it.)
            let end = log.committed.nextOffset
            let acked = Set((0..<end).filter { group.isAcknowledged($0) })
            let ids = try readAll(log, compacted: acked, result: &result)
            try checkJournals(present: ids, compacted: acked, result: &result)
            try checkRedelivery(group, log: log, result: &result)
        } catch {
            result.error = error.asDrillError
        }
        return result
    }

    /// Reads the whole log: offsets contiguous from the first, each payload one a writer run
    /// made, no id twice. Returns offset -> id.
    private func readAll(_ log: QueueLog, compacted acked: Set<Int64>, result: inout Result) throws -> [Int64: UInt64] {
        var reader = log.reader(from: log.firstOffset)
        var expected = log.firstOffset
        let end = log.committed.nextOffset
        var ids: [Int64: UInt64] = [:]
        var seen: Set<UInt64> = []
        // Bounded: each read advances the reader; the log ends at `end`.
        while expected < end {
            let records = try reader.read(max: 10_000)
            if records.isEmpty { break }
            for record in records {
                if record.offset != expected
                    && !(record.offset > expected && (expected..<record.offset).allSatisfy(acked.contains))
                {
                    result.offsetProblems.append("offset \(record.offset) where \(expected) was expected")
                }
                expected = record.offset + 1
                result.records += 1
                guard let id = Self.id(of: record.value), Payload.make(id: id, size: Self.payloadSize) == record.value,
                    writerRuns.contains(where: { $0.contains(id) }), seen.insert(id).inserted
                else {
                    result.phantoms.append(record.offset)
                    continue
                }
                ids[record.offset] = id
            }
        }
        if expected != end {
            result.offsetProblems.append("the log reads to offset \(expected) but says it ends at \(end)")
        }
        return ids
    }

    private func checkJournals(
        present ids: [Int64: UInt64], compacted acked: Set<Int64> = [], result: inout Result
    ) throws {
        if access(enqueueJournal, F_OK) == 0 {
            for entry in try JournalReader.read(path: enqueueJournal) {
                for j in 0..<entry.count {
                    result.acknowledgedEnqueues += 1
                    let offset = entry.offset + Int64(j)
                    if ids[offset] != entry.firstID + UInt64(j) && !(ids[offset] == nil && acked.contains(offset)) {
                        result.lost.append(offset)
                    }
                }
            }
        }
    }

    /// Claims everything the group would deliver now (without acking: the leases end with the
    /// root) and compares it with the acks the consumers saw acknowledged.
    private func checkRedelivery(_ group: ConsumerGroup, log: QueueLog, result: inout Result) throws {
        let acked = try Self.readAckJournal(ackJournal)
        result.acknowledgedAcks = acked.count
        let end = log.committed.nextOffset
        for offset in acked where offset >= end { result.lost.append(offset) }
        // Bounded: every claim takes at least one task of a finite log, or ends the loop.
        for _ in 0...(Int(end) / 1000 + 1) {
            let batch = try group.claimBlocking(max: 1000)
            if batch.isEmpty { break }
            for task in batch.tasks where acked.contains(task.offset) { result.redelivered.append(task.offset) }
        }
    }

    /// Lines "<first offset> <count>" of `spool consume --journal`.
    static func readAckJournal(_ path: String) throws -> Set<Int64> {
        guard access(path, F_OK) == 0 else { return [] }
        var acked = Set<Int64>()
        let text = String(decoding: DrillFiles.read(path, limit: 64 << 20), as: UTF8.self)
        for (number, line) in text.split(separator: "\n").enumerated() {
            let fields = line.split(separator: " ").compactMap { Int64($0) }
            guard fields.count == 2, fields[0] >= 0, (1...1_000_000).contains(fields[1]) else {
                throw SpoolError(
                    .invalidArgument, "ack journal line \(number + 1) is not \"<offset> <count>\": \(line)", path: path)
            }
            for offset in fields[0]..<(fields[0] + fields[1]) { acked.insert(offset) }
        }
        return acked
    }

    /// The id in a payload made by ``Payload/make(id:size:)``: `{"id":<decimal>,...`.
    static func id(of value: [UInt8]?) -> UInt64? {
        guard let value, value.count > 7, value.starts(with: Array("{\"id\":".utf8)) else { return nil }
        var id: UInt64 = 0
        for byte in value[6...].prefix(20) {
            if byte == UInt8(ascii: ",") { return id }
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
            let (m, o1) = id.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
            if o1 || o2 { return nil }
            id = a
        }
        return nil
    }
}

extension Error {
    /// Any error as a SpoolError (non-Spool errors keep their description).
    var asDrillError: SpoolError {
        (self as? SpoolError) ?? SpoolError(.io, "\(self)")
    }
}
