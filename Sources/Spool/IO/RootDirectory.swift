import CSpoolSys
import Glibc

/// A root's directory, held open so that every path below it is resolved relative to this
/// descriptor with openat2(2) and `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS`:
/// a directory inside the root swapped for a symlink (or a `..` escape) after the root was
/// opened is refused by the kernel, not followed. The root itself was opened by path, so a root
/// given as a symlink keeps working. Thread-safe: immutable; the descriptor closes on deinit.
final class RootDirectory: Sendable {
    /// The root's path as the engine spells it, without a trailing slash.
    let path: String
    let fd: Int32

    static let resolve = UInt64(CSPOOL_RESOLVE_BENEATH | CSPOOL_RESOLVE_NO_SYMLINKS | CSPOOL_RESOLVE_NO_MAGICLINKS)

    /// Opens `path` (following a symlink there: the operator's choice) and checks that the
    /// kernel has openat2. Returns nil on a kernel without it (ENOSYS), or where a seccomp
    /// filter refuses the call (EPERM, as older container profiles do: an O_PATH open of "."
    /// needs no permission), so callers keep resolving by path.
    /// - Throws: errno errors naming `path` when it cannot be opened as a directory.
    init?(path: String) throws {
        var path = path
        while path.count > 1 && path.hasSuffix("/") { path.removeLast() }
        let fd = Glibc.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw SpoolError.system("open", errno: errno, path: path) }
        let probe = cspool_openat2(fd, ".", UInt64(Int32(CSPOOL_O_PATH) | O_DIRECTORY | O_CLOEXEC), 0, Self.resolve)
        guard probe >= 0 else {
            let code = errno
            _ = Glibc.close(fd)
            if code == ENOSYS || code == EPERM { return nil }
            throw SpoolError.system("openat2", errno: code, path: path)
        }
        _ = Glibc.close(probe)
        self.path = path
        self.fd = fd
    }

    deinit { _ = Glibc.close(fd) }

    /// The part of `path` below the root, or nil when `path` is the root itself or is not
    /// spelled under it (such paths are resolved by path, as before).
    func relative(_ path: String) -> String? {
        let prefix = self.path == "/" ? "/" : self.path + "/"
        guard path.hasPrefix(prefix) else { return nil }
        var rest = Substring(path.dropFirst(prefix.count))
        while rest.hasPrefix("/") { rest.removeFirst() }
        while rest.hasSuffix("/") { rest.removeLast() }
        return rest.isEmpty ? nil : String(rest)
    }

    /// openat2 of `relative` below the root. Returns the descriptor, or -1 with errno set.
    /// The mode is passed only with O_CREAT: openat2, unlike open, refuses (EINVAL) a mode
    /// without it.
    func open(_ relative: String, flags: Int32, mode: mode_t) -> Int32 {
        let mode = flags & O_CREAT != 0 ? UInt64(mode) : 0
        return cspool_openat2(fd, relative, UInt64(UInt32(bitPattern: flags)), mode, Self.resolve)
    }

    /// Calls `body` with a descriptor of the directory holding `relative` (resolved beneath
    /// the root, no links) and the last name in it, for the `*at` calls.
    /// - Throws: the refusal, naming `fullPath`, when the parent cannot be resolved.
    func withParent<T>(of relative: String, fullPath: String, _ body: (Int32, String) throws -> T) throws -> T {
        guard let slash = relative.lastIndex(of: "/") else { return try body(fd, relative) }
        let parent = String(relative[..<slash])
        let name = String(relative[relative.index(after: slash)...])
        let dir = open(parent, flags: Int32(CSPOOL_O_PATH) | O_DIRECTORY | O_CLOEXEC, mode: 0)
        guard dir >= 0 else { throw refusal(errno, path: fullPath, call: "openat2") }
        defer { _ = Glibc.close(dir) }
        return try body(dir, name)
    }

    /// fstatat of `relative` (following a link at its last name only), its parent resolved
    /// beneath the root. Returns 0, or the errno of the resolution or the stat.
    func stat(_ relative: String, into info: inout Glibc.stat) -> Int32 {
        guard let slash = relative.lastIndex(of: "/") else { return fstatat(fd, relative, &info, 0) == 0 ? 0 : errno }
        let dir = open(String(relative[..<slash]), flags: Int32(CSPOOL_O_PATH) | O_DIRECTORY | O_CLOEXEC, mode: 0)
        guard dir >= 0 else { return errno }
        defer { _ = Glibc.close(dir) }
        return fstatat(dir, String(relative[relative.index(after: slash)...]), &info, 0) == 0 ? 0 : errno
    }

    /// The error for a failed resolution below the root: a refused link or escape is said
    /// plainly, naming the path; anything else is the errno error.
    func refusal(_ code: Int32, path: String, call: String) -> SpoolError {
        switch code {
        case ELOOP where PosixFileSystem.isSymlink(path):
            return SpoolError(
                .invalidArgument, "is a symbolic link; Spool does not follow links inside a root", path: path,
                errno: code,
                hint: "replace the link with the file or directory itself, or move it out of the root")
        case ELOOP:
            return SpoolError(
                .invalidArgument,
                "has a symbolic link on the way to it inside the root \(self.path); refused, Spool does not follow links inside a root",
                path: path, errno: code,
                hint: "replace the linked directory with a real one, or move the link out of the root")
        case EXDEV:
            return SpoolError(
                .invalidArgument, "escapes the root \(self.path) (through '..' or an absolute link); refused",
                path: path, errno: code,
                hint: "name a path inside the root")
        default:
            return SpoolError.system(call, errno: code, path: path)
        }
    }
}
