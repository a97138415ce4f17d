import Glibc

/// The writer lock of a root: `flock(LOCK_EX | LOCK_NB)` on `<root>/spool.lock`, holding the
/// owner's pid as text so that the error a second writer gets can name it (FORMAT.md,
/// "spool.lock"). The kernel releases the lock when the process dies, even by SIGKILL.
///
/// Not thread-safe; owned by one ``SpoolRoot``.
final class DirectoryLock {
    let path: String
    private var fd: Int32

    /// Takes the lock.
    /// - Throws: `.locked` with the holder's pid when another process holds it; `.io`/`.notFound`
    ///   when the file cannot be created.
    init(root: String, fileSystem fs: any FileSystem) throws {
        path = RootLayout.path(root, RootLayout.lockFileName)
        fd = try fs.open(path, flags: O_RDWR | O_CREAT, mode: 0o600)
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let code = errno
            let holder =
                (try? AtomicFile.read(path, limit: 32, fileSystem: fs)).flatMap { String(decoding: $0, as: UTF8.self) }
                ?? ""
            fs.close(fd)
            // The object is fully initialised, so deinit runs after this throw: it must not
            // close the descriptor again (by then the number may belong to another file).
            fd = -1
            if code == EWOULDBLOCK {
                let who = holder.isEmpty ? "another process" : "process \(holder.trimmingCharacters())"
                throw SpoolError(
                    .locked, "the root is locked by \(who), which is writing to it", path: path,
                    hint:
                        "stop that writer first, or use the read-only commands (dump, verify, stats) which need no lock"
                )
            }
            throw SpoolError.system("flock", errno: code, path: path)
        }
        let pid = Array(String(getpid()).utf8)
        _ = ftruncate(fd, 0)
        pid.withUnsafeBytes { _ = pwrite(fd, $0.baseAddress, $0.count, 0) }
    }

    /// Releases the lock. Idempotent.
    func release(fileSystem fs: any FileSystem) {
        guard fd >= 0 else { return }
        fs.close(fd)
        fd = -1
    }

    deinit {
        if fd >= 0 { Glibc.close(fd) }
    }
}

extension String {
    /// Drops leading and trailing spaces and newlines (no Foundation in the engine).
    func trimmingCharacters() -> String {
        var s = Substring(self)
        while let c = s.first, c == " " || c == "\n" || c == "\t" || c == "\r" { s.removeFirst() }
        while let c = s.last, c == " " || c == "\n" || c == "\t" || c == "\r" { s.removeLast() }
        return String(s)
    }
}
