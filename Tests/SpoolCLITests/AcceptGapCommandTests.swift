import Foundation
import Spool
import SpoolFormat
import Testing

/// Issue 14, "Unclear errors": gap errors point to a command, and `spool repair --accept-gap`
/// records the operator's decision so that readers and verify move past the gap.
@Suite("repair --accept-gap")
struct AcceptGapCommandTests {
    @Test("a deleted middle segment: consume stops naming --accept-gap, plain repair leaves the gap, repair --accept-gap records it and consume reads past it")
    func acceptGapLetsReadersMovePastDeletedSegment() async throws {
        let dir = ScratchDirectory()
        let root = dir.path + "/root"
        var r = try await SpoolProcess.run(["enqueue", "--dir", root, "--queue", "q", "--count", "900", "--payload-size", "200",
                                            "--batch", "10", "--segment-bytes", "65536"])
        #expect(r.status == 0, "\(r.stderr)")
        let queue = root + "/queues/q"
        let logs = try FileManager.default.contentsOfDirectory(atPath: queue).filter { $0.hasSuffix(".log") }.sorted()
        try #require(logs.count >= 3)
        let stem = String(logs[1].dropLast(4))
        let gapStart = Int64(stem)!, gapEnd = Int64(String(logs[2].dropLast(4)))!
        for suffix in [".log", ".index", ".timeindex"] { try? FileManager.default.removeItem(atPath: queue + "/" + stem + suffix) }

        r = try await SpoolProcess.run(["consume", "--dir", root, "--queue", "q", "--group", "g", "--max", "1000", "--ack"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("spool repair --accept-gap"), "\(r.stderr)")
        r = try await SpoolProcess.run(["verify", "--dir", root])
        #expect(r.status == 1)
        #expect(r.stdout.contains("--accept-gap"), "\(r.stdout)")
        r = try await SpoolProcess.run(["repair", "--dir", root])
        #expect(r.status == 1)
        #expect(r.stdout.contains("left alone"), "\(r.stdout)")
        r = try await SpoolProcess.run(["repair", "--dir", root, "--accept-gap", "--dry-run"])
        #expect(r.stdout.contains("would write \(queue)/\(stem).accepted-gap"), "\(r.stdout)")
        #expect(!FileManager.default.fileExists(atPath: queue + "/" + stem + ".accepted-gap"))
        r = try await SpoolProcess.run(["repair", "--dir", root, "--accept-gap"])
        #expect(r.status == 0, "\(r.stdout) \(r.stderr)")
        let recorded = try String(contentsOfFile: queue + "/" + stem + ".accepted-gap", encoding: .utf8)
        #expect(recorded.contains("offsets \(gapStart)-\(gapEnd - 1) (\(gapEnd - gapStart) records) accepted as lost"))
        r = try await SpoolProcess.run(["verify", "--dir", root])
        #expect(r.status == 0, "\(r.stdout)")
        #expect(r.stdout.contains("their loss was accepted"), "\(r.stdout)")
        r = try await SpoolProcess.run(["consume", "--dir", root, "--queue", "q", "--group", "g", "--max", "1000", "--ack", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let delivered = r.stdout.split(separator: "\n").filter { $0.contains(#""offset":"#) }.count
        #expect(delivered == 900 - Int(gapEnd - gapStart), "\(r.stdout.suffix(400))")
    }

    @Test("a record over the limit on the command line gets a hint in the command's terms, not SpoolOptions or FormatLimits")
    func hintsNameCommandRemediesNotLibraryOptions() async throws {
        let dir = ScratchDirectory()
        var input = [UInt8](repeating: 0x61, count: FormatLimits.default.recordBytesMax + 100)
        input.append(0x0A)
        let r = try await SpoolProcess.run(["enqueue", "--dir", dir.path + "/root", "--queue", "q", "--stdin"], inputBytes: input)
        #expect(r.status == 2)
        #expect(r.stderr.contains("split the payload: the spool command writes records of at most \(FormatLimits.default.recordBytesMax >> 20) MiB"), "\(r.stderr.prefix(600))")
        #expect(!r.stderr.contains("SpoolOptions") && !r.stderr.contains("FormatLimits") && !r.stderr.contains(".salvage"), "\(r.stderr)")
    }
}

/// Issue 14, "Unclear errors": files in a queue directory that are not what their names say
/// are blamed themselves.
@Suite("misnamed files in a queue")
struct MisnamedFileCommandTests {
    /// A root whose queue q has segments 0, 300 and 600 (900 tasks, 64 KiB segments).
    static func threeSegments(_ root: String) async throws {
        let r = try await SpoolProcess.run(["enqueue", "--dir", root, "--queue", "q", "--count", "900", "--payload-size", "200",
                                            "--batch", "10", "--segment-bytes", "65536"])
        #expect(r.status == 0, "\(r.stderr)")
        let logs = try FileManager.default.contentsOfDirectory(atPath: root + "/queues/q").filter { $0.hasSuffix(".log") }.sorted()
        try #require(logs == ["00000000000000000000.log", "00000000000000000300.log", "00000000000000000600.log"])
    }

    @Test("a directory named like a segment is reported as a directory by open and verify, not as an offset gap")
    func directoryNamedLikeSegmentIsReportedAsSuch() async throws {
        let dir = ScratchDirectory()
        let root = dir.path + "/root"
        try await Self.threeSegments(root)
        let stray = root + "/queues/q/00000000000000000500.log"
        try FileManager.default.createDirectory(atPath: stray, withIntermediateDirectories: false)
        var r = try await SpoolProcess.run(["consume", "--dir", root, "--queue", "q", "--group", "g", "--max", "1000", "--ack"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("a directory is named like a segment") && r.stderr.contains(stray), "\(r.stderr)")
        #expect(!r.stderr.contains("missing"))
        r = try await SpoolProcess.run(["verify", "--dir", root])
        #expect(r.status == 1)
        #expect(r.stdout.contains("a directory named like a segment"), "\(r.stdout)")
        #expect(!r.stdout.contains("are missing"), "\(r.stdout)")
    }

    @Test("a stray file named inside the log's range is blamed by verify, not the intact segment after it")
    func strayFileInsideLogRangeIsBlamed() async throws {
        let dir = ScratchDirectory()
        let root = dir.path + "/root"
        try await Self.threeSegments(root)
        let stray = root + "/queues/q/00000000000000000450.log"
        var garbage = SystemRandomNumberGenerator()
        try Data((0..<5000).map { _ in UInt8.random(in: 0...255, using: &garbage) }).write(to: URL(fileURLWithPath: stray))
        let r = try await SpoolProcess.run(["verify", "--dir", root, "--json"])
        #expect(r.status == 1)
        let problems = r.stdout.split(separator: "\n").filter { $0.contains(#""type":"problem""#) }
        #expect(!problems.isEmpty)
        #expect(problems.allSatisfy { $0.contains(stray) }, "\(problems)")
        #expect(problems.contains { $0.contains("stray or misnamed file") }, "\(problems)")
    }
}
