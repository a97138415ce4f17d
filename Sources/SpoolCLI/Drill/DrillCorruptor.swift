import Glibc
import Spool

/// Damages one file of a drilled root with a byte mutator: a flipped bit, a truncation, a
/// zeroed 4 KiB page or appended garbage, in a chosen kind of file.
enum DrillCorruptor {
    enum Mutation: String, CaseIterable {
        case bitflip, truncate, zero, garbage
    }

    /// Which file is damaged. `recoveryPoint` stands in for snapshots: this branch has no group
    /// checkpoints yet (the compactor writes them), and the recovery point is the one
    /// snapshot-like file a queue and a group log keep.
    enum Target: String, CaseIterable {
        case sealedSegment = "sealed-segment"
        case activeSegment = "active-segment"
        case index
        case groupLog = "group-log"
        case recoveryPoint = "recovery-point"
    }

    struct Injection: CustomStringConvertible {
        var mutation: Mutation
        var target: Target
        var path: String
        var position: Int64
        var length: Int64
        /// The damage lies in log bytes that were synced (a segment of the queue or a group log,
        /// below its end), so it must be detected and reported.
        var syncedData: Bool {
            mutation != .garbage && [.sealedSegment, .activeSegment, .groupLog].contains(target)
        }
        var description: String {
            "\(mutation) of \(length) byte(s) at position \(position) of \(path) (\(target.rawValue))"
        }
    }

    /// Files of `root` that `target` names (non-empty ones only).
    static func candidates(_ target: Target, root: String) -> [String] {
        let queue = root + "/queues/" + DrillChecker.queue
        let groupDir = queue + "/groups/" + DrillChecker.group
        func files(_ dir: String, _ suffix: String) -> [String] {
            ((try? PosixFileSystem().listDirectory(dir)) ?? []).filter { $0.hasSuffix(suffix) }.sorted().map {
                dir + "/" + $0
            }
            .filter { DrillFiles.size($0) > 0 }
        }
        switch target {
        case .sealedSegment: return Array(files(queue, ".log").dropLast())
        case .activeSegment: return files(queue, ".log").suffix(1)
        case .index: return files(queue, ".index") + files(queue, ".timeindex")
        case .groupLog: return files(groupDir, ".log")
        case .recoveryPoint:
            return [queue + "/recovery-point", groupDir + "/recovery-point"].filter { DrillFiles.size($0) > 0 }
        }
    }

    /// Applies `mutation` to a random file of `target`; nil when there is no such file.
    /// - Throws: ``SpoolError`` on an I/O error.
    static func inject(
        _ mutation: Mutation, into target: Target, root: String, random: inout DrillRandom
    ) throws -> Injection? {
        let files = candidates(target, root: root)
        guard !files.isEmpty else { return nil }
        let path = files[Int.random(in: 0..<files.count, using: &random)]
        let size = DrillFiles.size(path)
        let fd = open(path, O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { throw SpoolError(.io, "cannot open a file to damage", path: path, errno: errno) }
        defer { close(fd) }
        let fs = PosixFileSystem()
        switch mutation {
        case .bitflip:
            let position = Int64.random(in: 0..<size, using: &random)
            var byte: [UInt8] = [0]
            _ = try byte.withUnsafeMutableBytes { try fs.read(fd, into: $0, at: position) }
            byte[0] ^= UInt8(1) << UInt8.random(in: 0..<8, using: &random)
            try byte.withUnsafeBytes { try fs.write(fd, from: $0, at: position) }
            return Injection(mutation: mutation, target: target, path: path, position: position, length: 1)
        case .truncate:
            let length = Int64.random(in: 0..<size, using: &random)
            try fs.truncate(fd, to: length)
            return Injection(mutation: mutation, target: target, path: path, position: length, length: size - length)
        case .zero:
            // A page that holds something other than zeros, so the zeroing changes the file.
            let pages = (size + 4095) / 4096
            for _ in 0..<64 {
                let position = Int64.random(in: 0..<pages, using: &random) * 4096
                let count = Int(min(4096, size - position))
                var page = [UInt8](repeating: 0, count: count)
                _ = try page.withUnsafeMutableBytes { try fs.read(fd, into: $0, at: position) }
                guard page.contains(where: { $0 != 0 }) else { continue }
                let zeros = [UInt8](repeating: 0, count: count)
                try zeros.withUnsafeBytes { try fs.write(fd, from: $0, at: position) }
                return Injection(
                    mutation: mutation, target: target, path: path, position: position, length: Int64(count))
            }
            return nil
        case .garbage:
            let count = Int.random(in: 1...4096, using: &random)
            let bytes = (0..<count).map { _ in UInt8.random(in: 1...255, using: &random) }
            try bytes.withUnsafeBytes { try fs.write(fd, from: $0, at: size) }
            return Injection(mutation: mutation, target: target, path: path, position: size, length: Int64(count))
        }
    }
}

/// The drill's seeded generator, so a seed replays the same choices.
typealias DrillRandom = SplitMix64
