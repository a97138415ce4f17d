import Glibc
@testable import Spool
import SpoolTesting
import Testing

/// The power-cut seam of `spool drill`: ``PowerCutFileSystem`` journals undo records, and
/// ``PowerCut`` applies them after the writer is gone.
@Suite("Power cut model")
struct PowerCutTests {
    /// A generator that always returns `value`: 1 makes every `random(in:)` choice its smallest
    /// (nothing unsynced kept), .max its largest (everything kept).
    struct Fixed: RandomNumberGenerator {
        var value: UInt64
        mutating func next() -> UInt64 { value }
    }

    /// Writes through the seam: `a` created and synced with "hello" (directory synced), then
    /// unsynced "XX" at 0 and "world" at 5; `t` created, written "new", fsynced and renamed over
    /// `rp` (which held "old") without a directory sync. Returns the directory.
    static func scenario(_ dir: String) throws -> String {
        let data = dir + "/data"
        try PosixFileSystem().makeDirectory(data, mode: 0o700)
        try Self.write(data + "/rp", "old")
        let fs = try PowerCutFileSystem(journalPath: dir + "/undo")
        let a = try fs.open(data + "/a", flags: O_RDWR | O_CREAT, mode: 0o600)
        try Self.write(fs, a, "hello", at: 0)
        try fs.fdatasync(a)
        try fs.syncDirectory(data)
        try Self.write(fs, a, "XX", at: 0)
        try Self.write(fs, a, "world", at: 5)
        fs.close(a)
        let t = try fs.open(data + "/t", flags: O_WRONLY | O_CREAT | O_TRUNC, mode: 0o600)
        try Self.write(fs, t, "new", at: 0)
        try fs.fsync(t)
        fs.close(t)
        try fs.rename(data + "/t", to: data + "/rp")
        return data
    }

    @Test("a power cut that keeps nothing unsynced puts back the synced bytes and the replaced file, and removes the unsynced new file")
    func keepsNothingUnsynced() throws {
        try withTemporaryDirectorySync { dir in
            let data = try Self.scenario(dir)
            var random = Fixed(value: 1)
            let outcome = try PowerCut.apply(journal: dir + "/undo", random: &random)
            #expect(try Self.read(data + "/a") == "hello")
            #expect(try Self.read(data + "/rp") == "old")
            #expect(access(data + "/t", F_OK) != 0, "the unsynced create of t was not undone")
            #expect(outcome.writesUndone == 2)
            #expect(outcome.entriesUndone == 2)
            #expect(outcome.entriesKept == 0)
        }
    }

    @Test("a power cut that keeps everything it may keeps the last unsynced write whole, reverts the earlier one, and keeps the rename")
    func keepsWhatItMay() throws {
        try withTemporaryDirectorySync { dir in
            let data = try Self.scenario(dir)
            var random = Fixed(value: .max)
            let outcome = try PowerCut.apply(journal: dir + "/undo", random: &random)
            // "XX" was not the last unsynced write of a: always reverted. "world" is torn to its full length.
            #expect(try Self.read(data + "/a") == "helloworld")
            #expect(try Self.read(data + "/rp") == "new")
            #expect(access(data + "/t", F_OK) != 0)
            #expect(outcome.tornWrites == 1)
            #expect(outcome.bytesKeptByTears == 5)
            #expect(outcome.entriesKept == 2)
        }
    }

    @Test("a torn write keeps a prefix of the new bytes over the old ones, at every length the generator picks")
    func tornWriteKeepsAPrefix() throws {
        for draw in [UInt64(1) << 62, UInt64(1) << 63, UInt64.max / 4 * 3] {
            try withTemporaryDirectorySync { dir in
                let path = dir + "/f"
                try Self.write(path, "0123456789")
                let fs = try PowerCutFileSystem(journalPath: dir + "/undo")
                let fd = try fs.open(path, flags: O_RDWR, mode: 0)
                try Self.write(fs, fd, "abcdefghijklmno", at: 2)
                fs.close(fd)
                var random = Fixed(value: draw)
                let outcome = try PowerCut.apply(journal: dir + "/undo", random: &random)
                let kept = Int(outcome.bytesKeptByTears)
                let expected = "01" + String("abcdefghijklmno".prefix(kept)) + String("23456789".dropFirst(kept))
                #expect(try Self.read(path) == expected, "kept \(kept)")
                #expect(kept > 0 && kept < 15)
            }
        }
    }

    @Test("a journal record cut short by the kill is ignored, and a malformed one is an error naming the journal")
    func truncatedJournal() throws {
        try withTemporaryDirectorySync { dir in
            let path = dir + "/f"
            let fs = try PowerCutFileSystem(journalPath: dir + "/undo")
            let fd = try fs.open(path, flags: O_RDWR | O_CREAT, mode: 0o600)
            try Self.write(fs, fd, "abc", at: 0)
            fs.close(fd)
            let size = Int64(try Self.read(dir + "/undo").utf8.count)
            try ByteMutator.truncate(dir + "/undo", to: size - 2)
            var random = Fixed(value: 1)
            let outcome = try PowerCut.apply(journal: dir + "/undo", random: &random)
            #expect(outcome.records == 1)  // the create; the write's record was cut short
            try ByteMutator.overwrite(dir + "/undo", at: 0, with: [9])
            let error = #expect(throws: SpoolError.self) { try PowerCut.apply(journal: dir + "/undo", random: &random) }
            #expect(error?.path == dir + "/undo")
            #expect(error?.position == 0)
        }
    }

    @Test("a directory made without a sync of its parent is lost in a power cut, with the synced files inside it")
    func unsyncedDirectoryIsLostWithItsContents() throws {
        try withTemporaryDirectorySync { dir in
            let fs = try PowerCutFileSystem(journalPath: dir + "/undo")
            try fs.makeDirectory(dir + "/d", mode: 0o700)
            let fd = try fs.open(dir + "/d/f", flags: O_RDWR | O_CREAT, mode: 0o600)
            try Self.write(fs, fd, "synced", at: 0)
            try fs.fsync(fd)
            fs.close(fd)
            try fs.syncDirectory(dir + "/d")  // f's entry is durable in d, but d's is not in dir
            var random = Fixed(value: 1)
            let outcome = try PowerCut.apply(journal: dir + "/undo", random: &random)
            #expect(!Files.exists(dir + "/d"), "the directory whose parent was never synced survived the cut")
            #expect(outcome.entriesUndone == 1)
        }
    }

    @Test("a directory made durable in its parent keeps its synced files through a power cut")
    func durableDirectoryKeepsItsContents() throws {
        try withTemporaryDirectorySync { dir in
            let fs = try PowerCutFileSystem(journalPath: dir + "/undo")
            try fs.makeDurableDirectory(dir + "/d")
            let fd = try fs.open(dir + "/d/f", flags: O_RDWR | O_CREAT, mode: 0o600)
            try Self.write(fs, fd, "synced", at: 0)
            try fs.fsync(fd)
            fs.close(fd)
            try fs.syncDirectory(dir + "/d")
            var random = Fixed(value: 1)
            _ = try PowerCut.apply(journal: dir + "/undo", random: &random)
            #expect(try Self.read(dir + "/d/f") == "synced")
        }
    }

    @Test("a fresh root created through the power-cut seam keeps every acknowledged task and ack after a cut that keeps nothing unsynced")
    func freshRootKeepsAcknowledgedTasks() async throws {
        try await withTemporaryDirectory { dir in
            let rootPath = dir + "/missing/root"
            try PosixFileSystem().makeDirectory(dir + "/missing", mode: 0o700)
            var options = SpoolOptions()
            options.fileSystem = try PowerCutFileSystem(journalPath: dir + "/undo")
            do {
                let root = try SpoolRoot.open(at: rootPath, options: options)
                let log = try root.queue("q")
                for i in 0..<20 { try await log.append(Array("task \(i)".utf8)) }
                let group = try root.group("g", on: "q")
                let batch = try await group.claim(max: 5)
                #expect(batch.tasks.count == 5)
                _ = try await group.ack(batch)
                // Simulates the kill: the root is closed only so its lock goes; closing syncs
                // no directory the engine had not synced before acknowledging.
                root.close()
            }
            var random = Fixed(value: 1)
            _ = try PowerCut.apply(journal: dir + "/undo", random: &random)
            #expect(Files.exists(rootPath + "/queues/q/groups/g"), "the cut took a directory holding acknowledged data")
            let root = try SpoolRoot.open(at: rootPath)
            defer { root.close() }
            let records = try readAll(try root.queue("q"))
            #expect(records.map(\.offset) == Array(0..<20))
            let next = try await root.group("g", on: "q").claim(max: 100)
            #expect(next.tasks.map(\.offset) == Array(5..<20), "acked tasks came back or tasks were lost")
        }
    }

    static func write(_ fs: PowerCutFileSystem, _ fd: Int32, _ text: String, at position: Int64) throws {
        try Array(text.utf8).withUnsafeBytes { try fs.write(fd, from: $0, at: position) }
    }

    static func write(_ path: String, _ text: String) throws {
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        try #require(fd >= 0)
        defer { Glibc.close(fd) }
        try Array(text.utf8).withUnsafeBytes { try PosixFileSystem().write(fd, from: $0, at: 0) }
    }

    static func read(_ path: String) throws -> String {
        String(decoding: try ByteMutator.read(path, 0..<4096), as: UTF8.self)
    }
}
