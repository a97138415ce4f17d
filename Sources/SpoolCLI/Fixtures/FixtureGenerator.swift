import Glibc
import Spool
import SpoolFormat

/// Writes fixtures/recovery/: golden roots of each codec and one damaged root per defect kind,
/// each with `expected.json`, the outcome a reopen must have. The damage is made by byte
/// mutations at positions this generator computes from the batches it wrote, and the expected
/// outcome comes from that knowledge, not from running the recovery it tests.
///
/// Deterministic for a given liblz4/libzstd: fixed timestamps and a fixed clock.
/// Not thread-safe; run once.
struct FixtureGenerator {
    static let tasks = 300
    static let payloadSize = 250
    static let segmentBytes = 64 << 10
    static let ackedTasks = 100
    static let timestamp: Int64 = 1_767_225_600_000  // 2026-01-01T00:00:00Z

    let output: String

    /// Wall time that never moves (group records and segment ages are the same on every run);
    /// the monotonic clock is the real one, for the writer's waits.
    struct FixedClock: SpoolClock {
        func wallMilliseconds() -> Int64 { FixtureGenerator.timestamp }
        func monotonicNanoseconds() -> UInt64 { SystemClock().monotonicNanoseconds() }
    }

    static func options(_ compression: Compression) -> SpoolOptions {
        var options = SpoolOptions()
        options.segmentBytes = segmentBytes
        options.clock = FixedClock()
        options.compression = compression
        options.logger.logLevel = .critical
        return options
    }

    /// Generates every case. Returns the case names.
    /// - Throws: ``SpoolError`` on an I/O error.
    func generate() async throws -> [String] {
        DrillFiles.removeTree(output)
        try PosixFileSystem().makeDirectory(output, mode: 0o755)
        var names: [String] = []
        for (name, codec) in [
            ("golden-none", Compression.none), ("golden-lz4", .lz4), ("golden-zstd", .zstd(level: 3)),
        ] {
            try await writeGolden(output + "/" + name + "/root", compression: codec)
            try FixtureCase(directory: output + "/" + name, defect: "none", codec: "\(codec)").writeExpected(
                .ok, read: .ok(records: Self.tasks))
            names.append(name)
        }
        for defect in FixtureDefect.allCases {
            let directory = output + "/corrupt-" + defect.rawValue
            try DrillFiles.copyTree(output + "/golden-none", to: directory)
            unlink(directory + "/expected.json")
            var fixture = FixtureCase(directory: directory, defect: defect.rawValue, codec: "none")
            try defect.apply(to: &fixture)
            names.append("corrupt-" + defect.rawValue)
        }
        return names
    }

    /// 300 tasks, 10 per append, in 64 KiB segments; group g acks the first 100; closed.
    private func writeGolden(_ root: String, compression: Compression) async throws {
        try PosixFileSystem().makeDirectory(String(root.dropLast("/root".count)), mode: 0o755)
        let spool = try SpoolRoot.open(at: root, options: Self.options(compression))
        let log = try spool.queue(DrillChecker.queue)
        for first in stride(from: 0, to: Self.tasks, by: 10) {
            let records = (first..<(first + 10)).map {
                RecordInput(
                    value: Payload.make(id: UInt64($0 + 1), size: Self.payloadSize),
                    timestamp: Self.timestamp + Int64($0))
            }
            _ = try await log.append(batch: records)
        }
        let group = try spool.group(DrillChecker.group, on: DrillChecker.queue)
        var acked = 0
        while acked < Self.ackedTasks {
            let batch = try await group.claim(max: min(25, Self.ackedTasks - acked))
            if batch.isEmpty { break }
            _ = try await group.ack(batch)
            acked += batch.count
        }
        spool.close()
        // The lock file holds the writer's process id: not part of the fixture.
        unlink(root + "/spool.lock")
    }
}
