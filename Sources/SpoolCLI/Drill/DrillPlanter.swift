import Glibc
import Spool

/// The drill's damage beyond bytes: foreign files planted in a root (`plant`: symlinks to
/// files and directories outside it, FIFOs named like its files) and damage to a group's
/// state (`groupstate`: its checkpoint or its log). Each injection goes into the checked root,
/// which the runner restores from a copy afterwards (DRILLS.md, "Foreign files and group
/// state").
///
/// Not thread-safe; the drill thread uses it between child runs.
enum DrillPlanter {
    struct Injection: CustomStringConvertible {
        var kind: String
        var path: String
        /// Outside the root: what a symlink points at; it must not change.
        var outside: String?
        var description: String { "\(kind) at \(path)" }
    }

    static let plantings = [
        "fifo-segment", "fifo-recovery-point", "fifo-checkpoint", "fifo-lock",
        "symlink-active-segment", "symlink-lock", "symlink-groups",
    ]
    static let groupDamages = [
        "delete-checkpoint", "bitflip-checkpoint", "truncate-checkpoint", "bitflip-group-log",
        "truncate-group-log", "delete-group-log-recovery-point",
    ]

    /// Plants one foreign file; nil when its place does not exist yet (no queue, no group).
    /// - Throws: ``SpoolError`` on an I/O error.
    static func plant(root: String, scratch: String, random: inout DrillRandom) throws -> Injection? {
        let queue = root + "/queues/" + DrillChecker.queue
        let group = queue + "/groups/" + DrillChecker.group
        guard DrillFiles.size(group) >= 0 else { return nil }
        let kind = plantings[Int.random(in: 0..<plantings.count, using: &random)]
        let segments = ((try? PosixFileSystem().listDirectory(queue)) ?? []).filter { $0.hasSuffix(".log") }.sorted()
        let outside = scratch + "/outside"
        DrillFiles.removeTree(outside)
        func fifo(_ path: String) throws -> Injection {
            unlink(path)
            guard mkfifo(path, 0o600) == 0 else { throw SpoolError(.io, "mkfifo failed", path: path, errno: errno) }
            return Injection(kind: kind, path: path, outside: nil)
        }
        func link(_ path: String, toCopyOf source: String?) throws -> Injection {
            if let source {
                if PosixFileSystem().fileType(source) == .directory {
                    try DrillFiles.copyTree(source, to: outside)
                } else {
                    try DrillFiles.copyFile(source, to: outside)
                }
            } else {
                try PosixFileSystem().makeDirectory(outside, mode: 0o700)
            }
            DrillFiles.removeTree(path)
            guard symlink(outside, path) == 0 else { throw SpoolError(.io, "symlink failed", path: path, errno: errno) }
            return Injection(kind: kind, path: path, outside: outside)
        }
        switch kind {
        case "fifo-segment": return try fifo(queue + "/99999999999999999000.log")
        case "fifo-recovery-point": return try fifo(queue + "/recovery-point")
        case "fifo-checkpoint": return try fifo(group + "/checkpoint")
        case "fifo-lock": return try fifo(root + "/spool.lock")
        case "symlink-active-segment":
            guard let last = segments.last else { return nil }
            return try link(queue + "/" + last, toCopyOf: queue + "/" + last)
        case "symlink-lock": return try link(root + "/spool.lock", toCopyOf: root + "/spool.lock")
        default: return try link(queue + "/groups", toCopyOf: queue + "/groups")
        }
    }

    /// Damages the group's checkpoint or log; nil when the file to damage does not exist.
    static func damageGroupState(root: String, random: inout DrillRandom) throws -> Injection? {
        let group = root + "/queues/" + DrillChecker.queue + "/groups/" + DrillChecker.group
        let kind = groupDamages[Int.random(in: 0..<groupDamages.count, using: &random)]
        let logs = ((try? PosixFileSystem().listDirectory(group)) ?? []).filter { $0.hasSuffix(".log") }.sorted().map {
            group + "/" + $0
        }
        let target: String?
        switch kind {
        case "delete-checkpoint", "bitflip-checkpoint", "truncate-checkpoint": target = group + "/checkpoint"
        case "delete-group-log-recovery-point": target = group + "/recovery-point"
        default: target = logs.filter { DrillFiles.size($0) > 0 }.last
        }
        guard let path = target, DrillFiles.size(path) > 0 else { return nil }
        let size = DrillFiles.size(path)
        let fs = PosixFileSystem()
        if kind.hasPrefix("delete") {
            unlink(path)
        } else {
            let fd = open(path, O_RDWR | O_CLOEXEC)
            guard fd >= 0 else { throw SpoolError(.io, "cannot open a file to damage", path: path, errno: errno) }
            defer { close(fd) }
            if kind.hasPrefix("truncate") {
                try fs.truncate(fd, to: Int64.random(in: 0..<size, using: &random))
            } else {
                let position = Int64.random(in: 0..<size, using: &random)
                var byte: [UInt8] = [0]
                _ = try byte.withUnsafeMutableBytes { try fs.read(fd, into: $0, at: position) }
                byte[0] ^= UInt8(1) << UInt8.random(in: 0..<8, using: &random)
                try byte.withUnsafeBytes { try fs.write(fd, from: $0, at: position) }
            }
        }
        return Injection(kind: kind, path: path, outside: nil)
    }

    /// The bytes (or, for a directory, names and sizes) at `path`, to see that it did not change.
    static func snapshot(_ path: String) -> [String] {
        let fs = PosixFileSystem()
        switch fs.fileType(path) {
        case .directory:
            return ((try? fs.listDirectory(path)) ?? []).sorted().flatMap { ["\($0)"] + snapshot(path + "/" + $0) }
        case .regular:
            return [String(decoding: DrillFiles.read(path, limit: 64 << 20), as: UTF8.self)]
        default:
            return []
        }
    }
}
