import Foundation
import Glibc
@testable import Spool
import SpoolTesting
import Testing

/// Issue 15: recovery and repair cut a segment through one routine, `TailCutter`.
@Suite("tail cutter")
struct TailCutterTests {
    static func pattern(_ count: Int) -> [UInt8] { (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) } }

    @Test("a cut keeps exactly the bytes from the cut on in .broken, then truncates the segment there")
    func cutKeepsThenTruncates() throws {
        try withTemporaryDirectorySync { dir in
            let fs = PosixFileSystem()
            let log = dir + "/00000000000000000000.log"
            let bytes = Self.pattern(3 * TailCutter.copyChunkBytes + 123)  // more than one copy chunk
            try Data(bytes).write(to: URL(fileURLWithPath: log))
            let fd = try fs.open(log, flags: O_RDWR, mode: 0)
            defer { fs.close(fd) }
            let position: Int64 = 1_000
            let broken = TailCutter.brokenPath(of: log, at: position, fileSystem: fs)
            #expect(broken == dir + "/00000000000000000000.1000.broken")
            let kept = try TailCutter.cut(fd: fd, logPath: log, directory: dir, at: position, through: Int64(bytes.count),
                                          keepingIn: broken, fileSystem: fs)
            #expect(kept == Int64(bytes.count) - position)
            #expect(try fs.size(fd) == position)
            #expect([UInt8](try Data(contentsOf: URL(fileURLWithPath: broken))) == Array(bytes[Int(position)...]))
            #expect(fs.fileType(broken + RootLayout.temporarySuffix) == .missing, "no temporary file is left")
        }
    }

    @Test("a second cut at the same position gets a new .broken name and never overwrites the first")
    func secondCutAtSamePositionKeepsBoth() throws {
        try withTemporaryDirectorySync { dir in
            let fs = PosixFileSystem()
            let log = dir + "/00000000000000000000.log"
            for round in 0..<2 {
                try Data(Self.pattern(200 + round)).write(to: URL(fileURLWithPath: log))
                let fd = try fs.open(log, flags: O_RDWR, mode: 0)
                defer { fs.close(fd) }
                let broken = TailCutter.brokenPath(of: log, at: 100, fileSystem: fs)
                #expect(broken.hasSuffix(round == 0 ? ".100.broken" : ".100.1.broken"))
                try TailCutter.cut(fd: fd, logPath: log, directory: dir, at: 100, through: Int64(200 + round), keepingIn: broken, fileSystem: fs)
            }
            #expect(try Data(contentsOf: URL(fileURLWithPath: dir + "/00000000000000000000.100.broken")).count == 100)
            #expect(try Data(contentsOf: URL(fileURLWithPath: dir + "/00000000000000000000.100.1.broken")).count == 101)
        }
    }
}
