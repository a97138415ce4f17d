import Glibc
@testable import Spool
import SpoolFormat
import SpoolKafkaProtocol

/// libFuzzer entry point. The target is chosen by SPOOL_FUZZ_TARGET (batch, index, recovery,
/// kafka), so one binary serves the four corpora (Tools/fuzz/README.md). A crash, a trap, an ASan
/// report or an oracle failure (`fuzzCheck`) is a finding; a thrown error is the right answer
/// to bad bytes.
@_cdecl("LLVMFuzzerTestOneInput")
public func spoolFuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let input = UnsafeRawBufferPointer(start: data, count: size)
    switch FuzzTarget.current {
    case .batch: BatchTarget.run(input)
    case .index: IndexTarget.shared.run(input)
    case .recovery: RecoveryTarget.shared.run(input)
    case .kafka: KafkaTarget.run(input)
    }
    return 0
}

enum FuzzTarget: String {
    case batch, index, recovery, kafka

    static let current: FuzzTarget = {
        guard let value = getenv("SPOOL_FUZZ_TARGET"), let target = FuzzTarget(rawValue: String(cString: value)) else {
            say("set SPOOL_FUZZ_TARGET to batch, index, recovery or kafka\n")
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

/// A fixture root held in memory; each input resets a scratch copy of it (in-process, no
/// `cp`), replaces one of its files, and reopens it. The root comes from SPOOL_FUZZ_FIXTURE
/// (default fixtures/recovery/golden-none/root, from the repository's top).
final class FixtureRoot: @unchecked Sendable {
    let scratch: String
    var queue: String { scratch + "/queues/q" }
    /// Relative path -> bytes, and the directories, of the pristine root.
    private var files: [(String, [UInt8])] = []
    private var directories: [String] = []

    init() {
        let fixture = getenv("SPOOL_FUZZ_FIXTURE").map { String(cString: $0) } ?? "fixtures/recovery/golden-none/root"
        var template = Array("/tmp/spool-fuzz-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { say("mkdtemp failed\n"); exit(2) }
        scratch = String(cString: made) + "/root"
        load(fixture, relative: "")
        if files.isEmpty {
            say("no fixture at \(fixture): run from the repository's top or set SPOOL_FUZZ_FIXTURE\n")
            exit(2)
        }
    }

    private func load(_ path: String, relative: String) {
        let fs = PosixFileSystem()
        for name in ((try? fs.listDirectory(path)) ?? []).sorted() {
            let full = path + "/" + name, rel = relative.isEmpty ? name : relative + "/" + name
            switch fs.fileType(full) {
            case .directory: directories.append(rel); load(full, relative: rel)
            case .regular: files.append((rel, Self.read(full)))
            default: continue
            }
        }
    }

    private static func read(_ path: String) -> [UInt8] {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            out += chunk[0..<n]
        }
        return out
    }

    /// Puts the pristine root back: removes what an open added, rewrites every file.
    func reset() {
        let fs = PosixFileSystem()
        for directory in [""] + directories {
            let full = directory.isEmpty ? scratch : scratch + "/" + directory
            for name in (try? fs.listDirectory(full)) ?? [] where fs.fileType(full + "/" + name) == .regular {
                unlink(full + "/" + name)
            }
        }
        mkdir(scratch, 0o700)
        for directory in directories { mkdir(scratch + "/" + directory, 0o700) }
        for (rel, bytes) in files { bytes.withUnsafeBytes { Self.write($0, to: scratch + "/" + rel) } }
    }

    static func write(_ bytes: UnsafeRawBufferPointer, to path: String) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { return }
        _ = Glibc.write(fd, bytes.baseAddress, bytes.count)
        close(fd)
    }

    /// The fuzz targets test what is read, not durability: syncs are skipped to go faster.
    static func options() -> SpoolOptions {
        var options = SpoolOptions()
        options.createIfMissing = false
        options.logger.logLevel = .critical
        options.fileSystem = NoSyncFileSystem()
        return options
    }
}

/// The real file system without fsync and fdatasync (fuzzing only).
struct NoSyncFileSystem: FileSystem {
    let base = PosixFileSystem()
    func open(_ path: String, flags: Int32, mode: mode_t) throws -> Int32 { try base.open(path, flags: flags, mode: mode) }
    func close(_ fd: Int32) { base.close(fd) }
    func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at position: Int64) throws -> Int { try base.read(fd, into: buffer, at: position) }
    func write(_ fd: Int32, from buffer: UnsafeRawBufferPointer, at position: Int64) throws { try base.write(fd, from: buffer, at: position) }
    func fdatasync(_ fd: Int32) throws {}
    func fsync(_ fd: Int32) throws {}
    func truncate(_ fd: Int32, to length: Int64) throws { try base.truncate(fd, to: length) }
    func size(_ fd: Int32) throws -> Int64 { try base.size(fd) }
    func rename(_ from: String, to: String) throws { try base.rename(from, to: to) }
    func unlink(_ path: String) throws { try base.unlink(path) }
    func makeDirectory(_ path: String, mode: mode_t) throws { try base.makeDirectory(path, mode: mode) }
    func listDirectory(_ path: String) throws -> [String] { try base.listDirectory(path) }
    func fileType(_ path: String) -> FileType { base.fileType(path) }
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

/// The Kafka protocol codec. Byte 0 picks the reading: even, the rest is a request frame (without
/// its size prefix); odd, bytes 1-2 are an API key and 3-4 a version and the rest is a response
/// frame to such a request. Whatever decodes must encode, and decode again to the same message.
enum KafkaTarget {
    static let limits = KafkaDecodeLimits(maxFrameBytes: 1 << 20, maxArrayCount: 10_000, maxTaggedFields: 64)

    static func run(_ input: UnsafeRawBufferPointer) {
        let bytes = Array(input)
        guard let mode = bytes.first else { return }
        if mode & 1 == 0 {
            request(Array(bytes.dropFirst()))
        } else if bytes.count >= 5 {
            let key = Int16(bitPattern: UInt16(bytes[1]) << 8 | UInt16(bytes[2]))
            let version = Int16(bitPattern: UInt16(bytes[3]) << 8 | UInt16(bytes[4]))
            guard let api = KafkaAPIKey(rawValue: key) else { return }
            response(Array(bytes.dropFirst(5)), api: api, version: version)
        }
        _ = try? KafkaFrame.next(in: bytes[...], limits: limits)
    }

    private static func request(_ frame: [UInt8]) {
        _ = try? KafkaRequest.decodeHeader(frame: frame, limits: limits)
        guard let decoded = try? KafkaRequest.decode(frame: frame, limits: limits) else { return }
        do {
            let again = try KafkaRequest.decode(frame: Array(try decoded.encodedFrame().dropFirst(4)), limits: limits)
            fuzzCheck(again == decoded, "request \(decoded.body.apiKey) v\(decoded.apiVersion) changed through encode and decode")
        } catch {
            fuzzCheck(false, "a decoded request did not survive encode and decode: \(error)")
        }
    }

    private static func response(_ frame: [UInt8], api: KafkaAPIKey, version: Int16) {
        guard let decoded = try? KafkaResponse.decode(frame: frame, apiKey: api, version: version, limits: limits) else { return }
        do {
            let encoded = Array(try decoded.encodedFrame(version: version).dropFirst(4))
            let again = try KafkaResponse.decode(frame: encoded, apiKey: api, version: version, limits: limits)
            fuzzCheck(again == decoded, "response \(api) v\(version) changed through encode and decode")
        } catch {
            fuzzCheck(false, "a decoded \(api) v\(version) response did not survive encode and decode: \(error)")
        }
    }
}
