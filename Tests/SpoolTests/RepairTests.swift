import Glibc
@testable import Spool
import SpoolFormat
import SpoolTesting
import Testing

/// `spool repair` never makes the log give an offset out twice, and says what it dropped.
@Suite("Repair")
struct RepairTests {
    enum Loss: String, CaseIterable { case deleted, truncated }

    @Test("after the active segment is deleted or truncated, repair names the lost offsets and count, and new tasks get offsets no group acked",
          arguments: Loss.allCases)
    func offsetsNeverReusedAfterRepair(loss: Loss) async throws {
        try await withTemporaryDirectory { dir in
            let root = dir + "/root"
            let options = try await InspectTests.writeRoot(root, count: 200, acked: 200)
            let directory = QueueFiles.directory(root, "q")
            let segments = QueueFiles.segments(directory)
            try #require(segments.count >= 2)
            let active = directory + "/" + segments.last!
            switch loss {
            case .deleted:
                for suffix in [".log", ".index", ".timeindex"] { unlink(String(active.dropLast(4)) + suffix) }
            case .truncated:
                try ByteMutator.truncate(active, to: Files.size(active) / 2)
            }
            let report = try Repairer(options: options).repair(path: root, dryRun: false)
            let skip = try #require(report.actions.first { $0.kind == .skipLostOffsets }, "\(report.actions.map(\.detail))")
            let lostFrom = try #require(skip.offset)
            #expect(skip.detail.contains("offsets \(lostFrom)–199 (\(200 - lostFrom) tasks) are lost"), "\(skip.detail)")
            #expect(try Verifier().verify(path: root).isClean)

            let reopened = try openRoot(at: root, options: options)
            defer { reopened.close() }
            let log = try reopened.queue("q")
            let offset = try await log.append(Array("after repair".utf8))
            #expect(offset == 200, "a new task reused offset \(offset), which group g had acked")
            let claimed = try await reopened.group("g", on: "q").claim(max: 10)
            #expect(claimed.tasks.map(\.offset) == [200], "the task enqueued after repair is not delivered")
            let fresh = try await reopened.group("fresh", on: "q").claim(max: 1000)
            #expect(fresh.tasks.last?.offset == 200 && fresh.tasks.count == Int(lostFrom) + 1, "a new group reads across the recorded gap")
        }
    }

    @Test("one flipped byte in a sealed segment: repair drops only the damaged batch and the intact batches after it stay readable")
    func repairDropsOnlyTheDamagedBatch() async throws {
        try await withTemporaryDirectory { dir in
            let root = dir + "/root"
            let options = try await InspectTests.writeRoot(root, count: 200)
            let directory = QueueFiles.directory(root, "q")
            let first = directory + "/" + QueueFiles.segments(directory)[0]
            let (found, _) = try batches(in: first)
            try #require(found.count > 30)
            let victim = found[20]
            let byte = try ByteMutator.read(first, (victim.position + 100)..<(victim.position + 101))[0]
            try ByteMutator.overwrite(first, at: victim.position + 100, with: [byte ^ 0x40])
            let report = try Repairer(options: options).repair(path: root, dryRun: false)
            let drop = try #require(report.actions.first { $0.kind == .truncate }, "\(report.actions.map(\.detail))")
            #expect(drop.detail.contains("offsets \(victim.baseOffset)–\(victim.nextOffset - 1) (\(victim.nextOffset - victim.baseOffset) tasks) leave the log"), "\(drop.detail)")
            let verified = try Verifier().verify(path: root)
            #expect(verified.isClean, "\(verified.problems)")
            let reopened = try openRoot(at: root, options: options)
            defer { reopened.close() }
            let offsets = try readAll(try reopened.queue("q")).map(\.offset)
            #expect(offsets == (0..<200).filter { !(victim.baseOffset..<victim.nextOffset).contains($0) }, "intact batches left the log")
        }
    }

    @Test("an intact sealed segment renamed to a wrong base is renamed back by repair, not quarantined as unreadable")
    func repairRenamesAnIntactMisnamedSegmentBack() async throws {
        try await withTemporaryDirectory { dir in
            let root = dir + "/root"
            let options = try await InspectTests.writeRoot(root, count: 200)
            let directory = QueueFiles.directory(root, "q")
            let names = QueueFiles.segments(directory)
            try #require(names.count >= 3)
            let base = try #require(SegmentName.parseLog(names[1]))
            let wrong = QueueFiles.logPath(directory, base - 5)
            rename(directory + "/" + names[1], wrong)
            let report = try Repairer(options: options).repair(path: root, dryRun: false)
            #expect(report.actions.contains { $0.kind == .rename && $0.path == wrong }, "\(report.actions.map(\.detail))")
            #expect(!report.actions.contains { $0.kind == .quarantine })
            #expect(Files.exists(directory + "/" + names[1]))
            #expect(try Verifier().verify(path: root).isClean)
            let reopened = try openRoot(at: root, options: options)
            defer { reopened.close() }
            #expect(try readAll(try reopened.queue("q")).map(\.offset) == Array(0..<200))
        }
    }

    @Test("random bytes named like a segment past the log's end are quarantined by repair, not adopted as the tail; new tasks continue the log")
    func repairDoesNotAdoptGarbagePastTheEnd() async throws {
        try await withTemporaryDirectory { dir in
            let root = dir + "/root"
            let options = try await InspectTests.writeRoot(root, count: 200)
            let directory = QueueFiles.directory(root, "q")
            let garbage = QueueFiles.logPath(directory, 500)
            var random = SplitMix64(seed: 5)
            try Files.write(garbage, (0..<5000).map { _ in UInt8(truncatingIfNeeded: random.next()) })
            let report = try Repairer(options: options).repair(path: root, dryRun: false)
            #expect(report.actions.contains { $0.kind == .quarantine && $0.path == garbage }, "\(report.actions.map(\.detail))")
            #expect(!report.actions.contains { $0.kind == .truncate && $0.path == garbage })
            #expect(try Verifier().verify(path: root).isClean)
            let reopened = try openRoot(at: root, options: options)
            defer { reopened.close() }
            let log = try reopened.queue("q")
            #expect(try await log.append(Array("next".utf8)) == 200, "the log did not continue at its real end")
            #expect(try readAll(log).map(\.offset) == Array(0..<201))
        }
    }
}
