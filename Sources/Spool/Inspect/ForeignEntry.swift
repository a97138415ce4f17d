import Glibc

/// Something inside a root that Spool neither follows nor reads: a symbolic link, or a FIFO,
/// socket or device where a root keeps files. ``SpoolLayout`` never lists one as a segment;
/// `verify` reports each as a problem, and `stats`, `dump` and `tail` warn about each and go on
/// with the rest. ``message(command:)`` is the one place that words it, for all of them.
///
/// Thread-safety: a value type.
public struct ForeignEntry: Sendable, Equatable {
    public var path: String
    /// What it is, as ``PosixFileSystem`` names it ("a symbolic link", "a FIFO (named pipe)").
    public var what: String
    public var isSymbolicLink: Bool

    /// What it is, what Spool does with it, that `command` ("verify", "stats") did not look at
    /// it, and what to do.
    public func message(command: String) -> String {
        if isSymbolicLink {
            return
                "a symbolic link inside the root: Spool does not follow it (open refuses it), and \(command) did not check what it points to; replace it with the file or directory itself, or move it out of the root"
        }
        return
            "\(what) inside the root, not a regular file: Spool does not read it (open refuses it), and \(command) did not check it; move it out of the root"
    }
}

extension SpoolLayout {
    /// Symbolic links, FIFOs, sockets and devices inside the root, queue or group directory at
    /// `path` (not `path` itself, which is the operator's choice), in path order. Only real
    /// directories are descended, at most four levels (root, queues, a queue, its groups, a
    /// group) and at most `limit` entries in all. Read-only (lstat); thread-safe.
    public static func foreignEntries(under path: String, limit: Int = 1_000_000) -> [ForeignEntry] {
        var path = path
        while path.count > 1 && path.hasSuffix("/") { path.removeLast() }
        var found: [ForeignEntry] = []
        var pending: [(String, Int)] = [(path, 0)]
        var visited = 0
        // Bounded: at most `limit` entries are looked at, and directories 4 levels deep.
        while let (directory, depth) = pending.popLast(), visited < limit {
            let names = ((try? PosixFileSystem().listDirectory(directory)) ?? []).sorted()
            for name in names where visited < limit {
                visited += 1
                let child = RootLayout.path(directory, name)
                var info = stat()
                guard lstat(child, &info) == 0 else { continue }
                let type = info.st_mode & S_IFMT
                if type == S_IFDIR {
                    if depth < 4 { pending.append((child, depth + 1)) }
                } else if type != S_IFREG {
                    found.append(
                        ForeignEntry(path: child, what: PosixFileSystem.describe(type), isSymbolicLink: type == S_IFLNK)
                    )
                }
            }
        }
        return found.sorted { $0.path < $1.path }
    }

    /// Whether `path` is there and is neither a regular file nor a directory (lstat): a link,
    /// FIFO, socket or device, which is never a segment.
    static func isForeign(_ path: String) -> Bool {
        var info = stat()
        guard lstat(path, &info) == 0 else { return false }
        let type = info.st_mode & S_IFMT
        return type != S_IFREG && type != S_IFDIR
    }
}
