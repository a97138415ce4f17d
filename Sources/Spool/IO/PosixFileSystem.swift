import Glibc

/// The real file system, through POSIX calls. Thread-safe: its only state is immutable.
///
/// Once confined to a root (``confined(toRoot:)``, which `SpoolRoot.open` calls), paths below
/// the root are resolved relative to the root's directory descriptor with openat2(2), refusing
/// every symlink and `..` escape on the way (the `*at` calls on a parent resolved that way for
/// mkdir, unlink, rename and stat); paths outside the root, and kernels without openat2, are
/// resolved by path as before.
public struct PosixFileSystem: FileSystem {
    let root: RootDirectory?

    public init() { root = nil }

    init(root: RootDirectory?) { self.root = root }

    /// This file system with paths below `path` resolved beneath its directory descriptor.
    /// - Throws: errno errors naming `path` when it cannot be opened as a directory.
    public func confined(toRoot path: String) throws -> any FileSystem {
        PosixFileSystem(root: try RootDirectory(path: path))
    }

    /// open(2) that never follows a symbolic link at `path` (O_NOFOLLOW) and never blocks on,
    /// or hands back, anything but a regular file (or a directory when `O_DIRECTORY` is asked
    /// for): a FIFO planted where a segment, recovery point or checkpoint belongs would hang a
    /// reader, and a symlink would send writes outside the root. It opens with O_NONBLOCK,
    /// checks with fstat, then clears O_NONBLOCK.
    /// - Throws: `.invalidArgument` naming a symlink or a non-regular file; errno errors.
    public func open(_ path: String, flags: Int32, mode: mode_t) throws -> Int32 {
        // A directory is opened only to fsync it, and a root given as a symlink to a directory
        // is the operator's choice; directories inside a root are checked when made.
        let noFollow = flags & O_DIRECTORY == 0 ? O_NOFOLLOW : 0
        let all = flags | O_CLOEXEC | noFollow | O_NONBLOCK
        let relative = root?.relative(path)
        let fd =
            if let root, let relative { root.open(relative, flags: all, mode: mode) } else {
                Glibc.open(path, all, mode)
            }
        if fd < 0 {
            let code = errno
            if let root, relative != nil, code == ELOOP || code == EXDEV {
                throw root.refusal(code, path: path, call: "openat2")
            }
            if code == ELOOP, Self.isSymlink(path) {
                throw SpoolError(
                    .invalidArgument, "is a symbolic link; Spool does not follow links inside a root", path: path,
                    errno: code,
                    hint: "replace the link with the file or directory itself, or move it out of the root")
            }
            var info = stat()
            if code == ENXIO, lstat(path, &info) == 0, info.st_mode & S_IFMT != S_IFREG {
                // A FIFO with no reader, opened for writing without blocking.
                throw SpoolError(
                    .invalidArgument, "is \(Self.describe(info.st_mode & S_IFMT)), not a regular file", path: path,
                    errno: code,
                    hint: "something else was placed where Spool keeps a file; move it out of the root")
            }
            throw SpoolError.system("open", errno: code, path: path)
        }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let code = errno
            _ = Glibc.close(fd)
            throw SpoolError.system("fstat", errno: code, path: path)
        }
        let type = info.st_mode & S_IFMT
        guard type == S_IFREG || (type == S_IFDIR && flags & O_DIRECTORY != 0) else {
            _ = Glibc.close(fd)
            throw SpoolError(
                .invalidArgument, "is \(Self.describe(type)), not a regular file", path: path,
                hint: "something else was placed where Spool keeps a file; move it out of the root")
        }
        if flags & O_NONBLOCK == 0 { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) }
        return fd
    }

    static func isSymlink(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFLNK
    }

    static func describe(_ type: mode_t) -> String {
        switch type {
        case S_IFIFO: return "a FIFO (named pipe)"
        case S_IFDIR: return "a directory"
        case S_IFSOCK: return "a socket"
        case S_IFCHR: return "a character device"
        case S_IFBLK: return "a block device"
        case S_IFLNK: return "a symbolic link"
        default: return "not a regular file"
        }
    }

    public func close(_ fd: Int32) {
        _ = Glibc.close(fd)
    }

    public func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, at position: Int64) throws -> Int {
        var done = 0
        while done < buffer.count {
            let n = pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(position) + off_t(done))
            if n < 0 {
                if errno == EINTR { continue }
                throw SpoolError.system("pread", errno: errno).with(position: position + Int64(done))
            }
            if n == 0 { break }
            done += n
        }
        return done
    }

    public func write(_ fd: Int32, from buffer: UnsafeRawBufferPointer, at position: Int64) throws {
        var done = 0
        while done < buffer.count {
            let n = pwrite(fd, buffer.baseAddress! + done, buffer.count - done, off_t(position) + off_t(done))
            if n < 0 {
                if errno == EINTR { continue }
                throw SpoolError.system("pwrite", errno: errno).with(position: position + Int64(done))
            }
            done += n
        }
    }

    public func fdatasync(_ fd: Int32) throws {
        if Glibc.fdatasync(fd) != 0 { throw SpoolError.system("fdatasync", errno: errno) }
    }

    public func fsync(_ fd: Int32) throws {
        if Glibc.fsync(fd) != 0 { throw SpoolError.system("fsync", errno: errno) }
    }

    public func truncate(_ fd: Int32, to length: Int64) throws {
        if ftruncate(fd, off_t(length)) != 0 {
            throw SpoolError.system("ftruncate", errno: errno).with(position: length)
        }
    }

    public func size(_ fd: Int32) throws -> Int64 {
        var info = stat()
        if fstat(fd, &info) != 0 { throw SpoolError.system("fstat", errno: errno) }
        return Int64(info.st_size)
    }

    public func rename(_ from: String, to: String) throws {
        if let root, let source = root.relative(from), let target = root.relative(to) {
            try root.withParent(of: source, fullPath: from) { sourceDir, sourceName in
                try root.withParent(of: target, fullPath: to) { targetDir, targetName in
                    if renameat(sourceDir, sourceName, targetDir, targetName) != 0 {
                        throw SpoolError.system("rename to \(to)", errno: errno, path: from)
                    }
                }
            }
            return
        }
        if Glibc.rename(from, to) != 0 { throw SpoolError.system("rename to \(to)", errno: errno, path: from) }
    }

    public func unlink(_ path: String) throws {
        if let root, let relative = root.relative(path) {
            try root.withParent(of: relative, fullPath: path) { dir, name in
                if unlinkat(dir, name, 0) != 0 { throw SpoolError.system("unlink", errno: errno, path: path) }
            }
            return
        }
        if Glibc.unlink(path) != 0 { throw SpoolError.system("unlink", errno: errno, path: path) }
    }

    /// mkdir(2); an existing directory is fine, but a symbolic link (even to a directory) or
    /// any other file at `path` is refused: Spool creates nothing outside its root.
    public func makeDirectory(_ path: String, mode: mode_t) throws {
        if let root, let relative = root.relative(path) {
            try root.withParent(of: relative, fullPath: path) { dir, name in
                guard mkdirat(dir, name, mode) != 0 else { return }
                let code = errno
                guard code == EEXIST else { throw SpoolError.system("mkdir", errno: code, path: path) }
                var info = stat()
                guard fstatat(dir, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else {
                    throw SpoolError.system("lstat", errno: errno, path: path)
                }
                try Self.checkExistingDirectory(info.st_mode & S_IFMT, path: path)
            }
            return
        }
        guard mkdir(path, mode) != 0 else { return }
        let code = errno
        guard code == EEXIST else { throw SpoolError.system("mkdir", errno: code, path: path) }
        var info = stat()
        guard lstat(path, &info) == 0 else { throw SpoolError.system("lstat", errno: errno, path: path) }
        try Self.checkExistingDirectory(info.st_mode & S_IFMT, path: path)
    }

    /// Refuses what already stands where Spool makes a directory, unless it is one.
    static func checkExistingDirectory(_ type: mode_t, path: String) throws {
        if type == S_IFLNK {
            throw SpoolError(
                .invalidArgument,
                "is a symbolic link where Spool keeps a directory; Spool does not follow links inside a root",
                path: path, hint: "replace the link with a real directory, or move it out of the root")
        }
        if type != S_IFDIR {
            throw SpoolError(
                .invalidArgument, "is \(Self.describe(type)) where Spool keeps a directory", path: path,
                hint: "move it out of the root")
        }
    }

    public func listDirectory(_ path: String) throws -> [String] {
        let dir: OpaquePointer?
        if let root, let relative = root.relative(path) {
            let fd = root.open(relative, flags: O_RDONLY | O_DIRECTORY | O_CLOEXEC, mode: 0)
            guard fd >= 0 else { throw root.refusal(errno, path: path, call: "opendir") }
            dir = fdopendir(fd)
            if dir == nil { _ = Glibc.close(fd) }
        } else {
            dir = opendir(path)
        }
        guard let dir else { throw SpoolError.system("opendir", errno: errno, path: path) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: Int(NAME_MAX) + 1) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// What is at `path`, following a symlink at its last name (opens refuse one with a clear
    /// error). Below a confined root, a link or escape on the way to it reads as `.other`.
    public func fileType(_ path: String) -> FileType {
        var info = stat()
        if let root, let relative = root.relative(path) {
            let code = root.stat(relative, into: &info)
            if code == ENOENT || code == ENOTDIR { return .missing }
            if code != 0 { return .other }
        } else if stat(path, &info) != 0 {
            return .missing
        }
        switch info.st_mode & S_IFMT {
        case S_IFREG: return .regular
        case S_IFDIR: return .directory
        default: return .other
        }
    }
}
