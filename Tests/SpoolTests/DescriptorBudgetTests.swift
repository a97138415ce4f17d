import Glibc
@testable import Spool
import SpoolTesting
import Testing

/// A log's sealed segments share a ``DescriptorBudget``: reads reopen what it closed, and it
/// never closes a pinned descriptor (writer, recovery, retired segments).
@Suite("Descriptor budget for sealed segments")
struct DescriptorBudgetTests {
    @Test("reading ten sealed segments through a budget of 3 keeps at most 3 open, and every read (after a reopen too) returns the file's bytes")
    func readingMoreSegmentsThanTheBudgetReopensTheLeastRecentlyUsed() async throws {
        try await withTemporaryDirectory { dir in
            let budget = DescriptorBudget(limit: 3)
            var segments: [Segment] = []
            for base in 0..<10 {
                try Files.write(dir + "/" + SegmentName.stem(Int64(base)) + RootLayout.logSuffix, [UInt8](repeating: UInt8(base), count: 16))
                segments.append(try Segment(directory: dir, baseOffset: Int64(base), writable: false, create: false,
                                            fileSystem: PosixFileSystem(), descriptors: budget))
            }
            for round in 0..<2 {
                for (index, segment) in segments.enumerated() {
                    var bytes = [UInt8](repeating: 0xAA, count: 16)
                    let got = try bytes.withUnsafeMutableBytes { try segment.read(into: $0, at: 0) }
                    #expect(got == 16 && bytes == [UInt8](repeating: UInt8(index), count: 16), "round \(round), segment \(index)")
                    #expect(budget.openCount <= 3)
                }
            }
        }
    }

    @Test("a retired segment's descriptor is never closed by the budget: a reader finishes on the deleted file")
    func retiredSegmentKeepsItsDescriptorAfterItsFileIsDeleted() async throws {
        try await withTemporaryDirectory { dir in
            let budget = DescriptorBudget(limit: 1)
            let path = dir + "/" + SegmentName.stem(0) + RootLayout.logSuffix
            try Files.write(path, Array("retired".utf8))
            let retired = try Segment(directory: dir, baseOffset: 0, writable: false, create: false, fileSystem: PosixFileSystem(), descriptors: budget)
            _ = try retired.fd  // what the compactor does before it deletes the file
            retired.retire()
            unlink(path)
            for base in 1..<5 {
                try Files.write(dir + "/" + SegmentName.stem(Int64(base)) + RootLayout.logSuffix, [1])
                let other = try Segment(directory: dir, baseOffset: Int64(base), writable: false, create: false, fileSystem: PosixFileSystem(), descriptors: budget)
                var one = [UInt8](repeating: 0, count: 1)
                _ = try one.withUnsafeMutableBytes { try other.read(into: $0, at: 0) }
            }
            var bytes = [UInt8](repeating: 0, count: 7)
            let got = try bytes.withUnsafeMutableBytes { try retired.read(into: $0, at: 0) }
            #expect(got == 7 && bytes == Array("retired".utf8))
        }
    }
}
