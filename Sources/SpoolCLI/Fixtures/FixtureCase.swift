import Glibc
import Spool

/// One fixture: a root under `<directory>/root` and `<directory>/expected.json`, the outcome a
/// reopen must have (checked by Tests/SpoolTests/FixtureOutcomeTests.swift).
struct FixtureCase {
    let directory: String
    let defect: String
    let codec: String
    var description = ""
    var brokenFiles: [String] = []
    var group: Outcome = .ok

    var root: String { directory + "/root" }
    var queueDirectory: String { RootLayout(root: root).queueDirectory(DrillChecker.queue) }
    var groupDirectory: String {
        RootLayout(root: root).groupDirectory(queue: DrillChecker.queue, group: DrillChecker.group)
    }

    /// What a step of the reopen gives: success, or a SpoolError with these fields (nil: any).
    enum Outcome {
        case ok
        case error(code: SpoolError.Code, file: String, position: Int64?, offset: Int64?)
    }

    /// What reading the whole queue from offset 0 gives.
    enum ReadOutcome {
        case ok(records: Int)
        case error(code: SpoolError.Code, file: String, position: Int64?, offset: Int64?)
    }

    /// The segments of a log directory, by base offset.
    static func segments(_ directory: String) throws -> [String] {
        try PosixFileSystem().listDirectory(directory).filter { $0.hasSuffix(".log") }.sorted().map {
            directory + "/" + $0
        }
    }

    /// The batches of a segment file: position, base offset, next offset, total bytes.
    /// A batch of a golden segment: where it starts, its offsets and its size.
    typealias Batch = (position: Int64, base: Int64, next: Int64, total: Int64)

    static func batches(_ path: String) throws -> [Batch] {
        let bytes = DrillFiles.read(path, limit: 1 << 30)
        var out: [(Int64, Int64, Int64, Int64)] = []
        var at = 0
        func int(_ from: Int, _ count: Int) -> Int64 {
            var v: Int64 = 0
            for i in 0..<count { v = v << 8 | Int64(bytes[from + i]) }
            return v
        }
        while at + 61 <= bytes.count, bytes[at + 16] == 2 {
            let total = 12 + int(at + 8, 4)
            let base = int(at, 8)
            let lastDelta = int(at + 23, 4)
            guard total >= 61, at + Int(total) <= bytes.count else { break }
            out.append((Int64(at), base, base + lastDelta + 1, total))
            at += Int(total)
        }
        return out
    }

    /// `path` relative to the root, as expected.json names files.
    func relative(_ path: String) -> String {
        path.hasPrefix(root + "/") ? String(path.dropFirst(root.count + 1)) : path
    }

    func writeExpected(_ open: Outcome, read: ReadOutcome) throws {
        var lines: [String] = ["{"]
        var fields: [String] = []
        fields.append("  \"defect\": \"\(defect)\"")
        fields.append("  \"codec\": \"\(codec)\"")
        if !description.isEmpty { fields.append("  \"description\": \"\(description)\"") }
        fields.append("  \"open\": \(json(open))")
        switch read {
        case .ok(let records):
            fields.append("  \"read\": {\"ok\": true, \"records\": \(records), \"next_offset\": \(records)}")
        case .error(let code, let file, let position, let offset):
            fields.append("  \"read\": \(json(.error(code: code, file: file, position: position, offset: offset)))")
        }
        fields.append("  \"group\": \(json(group, watermark: FixtureGenerator.ackedTasks))")
        fields.append("  \"broken_files\": [" + brokenFiles.map { "\"\($0)\"" }.joined(separator: ", ") + "]")
        lines.append(fields.joined(separator: ",\n"))
        lines.append("}")
        let text = Array((lines.joined(separator: "\n") + "\n").utf8)
        let fd = Glibc.open(directory + "/expected.json", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw SpoolError(.io, "cannot write expected.json", path: directory, errno: errno) }
        defer { Glibc.close(fd) }
        try text.withUnsafeBytes { try PosixFileSystem().write(fd, from: $0, at: 0) }
    }

    private func json(_ outcome: Outcome, watermark: Int? = nil) -> String {
        switch outcome {
        case .ok:
            return watermark.map { "{\"ok\": true, \"watermark\": \($0)}" } ?? "{\"ok\": true}"
        case .error(let code, let file, let position, let offset):
            var parts = ["\"ok\": false", "\"code\": \"\(code.rawValue)\"", "\"file\": \"\(relative(file))\""]
            if let position { parts.append("\"position\": \(position)") }
            if let offset { parts.append("\"offset\": \(offset)") }
            return "{" + parts.joined(separator: ", ") + "}"
        }
    }
}
