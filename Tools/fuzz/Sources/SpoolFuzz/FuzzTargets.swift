import Glibc
@testable import Spool
import SpoolFormat

/// libFuzzer entry point. The target is chosen by SPOOL_FUZZ_TARGET (batch, index, recovery),
/// so one binary serves the three corpora (Tools/fuzz/README.md). A crash, a trap, an ASan
/// report or an oracle failure (`fuzzCheck`) is a finding; a thrown error is the right answer
/// to bad bytes.
@_cdecl("LLVMFuzzerTestOneInput")
public func spoolFuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let input = UnsafeRawBufferPointer(start: data, count: size)
    switch FuzzTarget.current {
    case .batch: BatchTarget.run(input)
    case .index: IndexTarget.shared.run(input)
    case .recovery: RecoveryTarget.shared.run(input)
    }
    return 0
}

enum FuzzTarget: String {
    case batch, index, recovery

    static let current: FuzzTarget = {
        guard let value = getenv("SPOOL_FUZZ_TARGET"), let target = FuzzTarget(rawValue: String(cString: value)) else {
            say("set SPOOL_FUZZ_TARGET to batch, index or recovery\n")
            exit(2)
        }
        return target
    }()
}

/// An oracle failure: abort, so libFuzzer saves the input.
func fuzzCheck(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition {
        say("oracle failed: \(message())\n")
        abort()
    }
}

/// The batch decoder: the input as it is, then with its CRC made right, so that the records
/// section and the decompressors are reached too. Small limits make the limit paths reachable.
enum BatchTarget {
    static let limits = FormatLimits(recordBytesMax: 64 << 10, batchBytesMax: 1 << 20, recordsPerBatchMax: 10_000,
                                     decompressedBytesMax: 1 << 20, headersPerRecordMax: 16)

    static func run(_ input: UnsafeRawBufferPointer) {
        decode(input)
        guard input.count >= RecordBatchHeader.size else { return }
        var patched = Array(input)
        patched.withUnsafeMutableBytes { raw in
            let end = min(raw.count, 12 + Int(max(0, raw.loadBigEndianInt32(at: 8))))
            guard end > 21 else { return }
            let crc = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[21..<end]))
            for i in 0..<4 { raw[17 + i] = UInt8(truncatingIfNeeded: crc >> (24 - 8 * UInt32(i))) }
        }
        patched.withUnsafeBytes { decode($0) }
    }

    private static func decode(_ bytes: UnsafeRawBufferPointer) {
        guard let batch = try? RecordBatchDecoder.decode(bytes, limits: limits) else { return }
        fuzzCheck(batch.records.count == Int(batch.header.recordCount), "decoded \(batch.records.count) records, header says \(batch.header.recordCount)")
        var previous: Int64 = -1
        for record in batch.records {
            fuzzCheck(record.offset > previous && record.offset <= batch.header.lastOffset, "record offset \(record.offset) out of order or range")
            previous = record.offset
        }
    }
}

extension UnsafeMutableRawBufferPointer {
    func loadBigEndianInt32(at i: Int) -> Int32 {
        Int32(bitPattern: UInt32(self[i]) << 24 | UInt32(self[i + 1]) << 16 | UInt32(self[i + 2]) << 8 | UInt32(self[i + 3]))
    }
}

/// A fixture root copied once to a scratch directory; each input replaces one of its files,
/// and the root is reopened. The root comes from SPOOL_FUZZ_FIXTURE (default
/// fixtures/recovery/golden-none/root, from the repository's top).
final class FixtureRoot: @unchecked Sendable {
    let pristine: String
    let scratch: String
    var queue: String { scratch + "/queues/q" }
    let records: Int

    init() {
        let fixture = getenv("SPOOL_FUZZ_FIXTURE").map { String(cString: $0) } ?? "fixtures/recovery/golden-none/root"
        var template = Array("/tmp/spool-fuzz-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { say("mkdtemp failed\n"); exit(2) }
        pristine = String(cString: made) + "/pristine"
        scratch = String(cString: made) + "/root"
        guard system("cp -R '\(fixture)' '\(pristine)'") == 0 else {
            say("cannot copy the fixture \(fixture): run from the repository's top or set SPOOL_FUZZ_FIXTURE\n")
            exit(2)
        }
        records = 300
    }

    /// Puts the pristine root back (files only: the fixture is small).
    func reset() {
        _ = system("rm -rf '\(scratch)' && cp -R '\(pristine)' '\(scratch)'")
    }

    static func write(_ bytes: UnsafeRawBufferPointer, to path: String) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { return }
        _ = Glibc.write(fd, bytes.baseAddress, bytes.count)
        close(fd)
    }

    static func options() -> SpoolOptions {
        var options = SpoolOptions()
        options.createIfMissing = false
        options.logger.logLevel = .critical
        return options
    }
}

/// The index readers: the input replaces the sealed segment's .index and .timeindex. Indexes are
/// derived data, so whatever they hold, reads by offset and by time must give the log's records.
final class IndexTarget: @unchecked Sendable {
    static let shared = IndexTarget()
    let root = FixtureRoot()

    func run(_ input: UnsafeRawBufferPointer) {
        root.reset()
        FixtureRoot.write(input, to: root.queue + "/00000000000000000000.index")
        FixtureRoot.write(input, to: root.queue + "/00000000000000000000.timeindex")
        _ = try? OffsetIndex.lastEntry(atOrBelow: Int64.max, path: root.queue + "/00000000000000000000.index", fileSystem: PosixFileSystem())
        do {
            let spool = try SpoolRoot.open(at: root.scratch, options: FixtureRoot.options())
            defer { spool.close() }
            let log = try spool.queue("q")
            for offset: Int64 in [0, 1, 55, 120, 200, 239, 240, 299] {
                var reader = log.reader(from: offset)
                let first = try reader.read(max: 1).first?.offset
                fuzzCheck(first == offset, "reading from offset \(offset) gave \(String(describing: first)) with a fuzzed index")
            }
            var reader = log.reader(from: 0)
            try reader.seek(toTimestamp: FixtureTimes.first + 150)
            let first = try reader.read(max: 1).first?.offset
            fuzzCheck(first == 150, "seeking to the time of offset 150 gave \(String(describing: first)) with a fuzzed time index")
        } catch {
            fuzzCheck(false, "a fuzzed index made a read fail: \(error)")
        }
    }
}

/// The golden fixture's timestamps (Sources/SpoolCLI/Fixtures/FixtureGenerator.swift).
enum FixtureTimes {
    static let first: Int64 = 1_767_225_600_000
}

/// The recovery scan: the input replaces the active segment (which the recovery point names);
/// open must recover or throw a SpoolError, and then reading must return records or throw.
final class RecoveryTarget: @unchecked Sendable {
    static let shared = RecoveryTarget()
    let root = FixtureRoot()

    func run(_ input: UnsafeRawBufferPointer) {
        root.reset()
        FixtureRoot.write(input, to: root.queue + "/00000000000000000240.log")
        do {
            let spool = try SpoolRoot.open(at: root.scratch, options: FixtureRoot.options())
            defer { spool.close() }
            let log = try spool.queue("q")
            var reader = log.reader(from: 240)
            var count = 0
            while count < 1_000_000 {
                let records = try reader.read(max: 1000)
                if records.isEmpty { break }
                count += records.count
            }
            fuzzCheck(reader.nextOffset <= log.committed.nextOffset, "read past the committed end")
        } catch is SpoolError {
            return
        } catch {
            fuzzCheck(false, "not a SpoolError: \(error)")
        }
    }
}

/// A line on standard error, through write(2) (Swift 6 refuses the global `stderr`).
func say(_ text: String) {
    let bytes = Array(text.utf8)
    _ = bytes.withUnsafeBytes { Glibc.write(2, $0.baseAddress, $0.count) }
}
