import Glibc

/// The real file system, through POSIX calls. Thread-safe: it holds no state.
public struct PosixFileSystem: FileSystem {
    public init() {}

    public func open(_ path: String, flags: Int32, mode: mode_t) throws -> Int32 {
        let fd = Glibc.open(path, flags | O_CLOEXEC, mode)
        if fd < 0 { throw SpoolError.system("open", errno: errno, path: path) }
        return fd
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
        if ftruncate(fd, off_t(length)) != 0 { throw SpoolError.system("ftruncate", errno: errno).with(position: length) }
    }

    public func size(_ fd: Int32) throws -> Int64 {
        var info = stat()
        if fstat(fd, &info) != 0 { throw SpoolError.system("fstat", errno: errno) }
        return Int64(info.st_size)
    }

    public func rename(_ from: String, to: String) throws {
        if Glibc.rename(from, to) != 0 { throw SpoolError.system("rename to \(to)", errno: errno, path: from) }
    }

    public func unlink(_ path: String) throws {
        if Glibc.unlink(path) != 0 { throw SpoolError.system("unlink", errno: errno, path: path) }
    }

    public func makeDirectory(_ path: String, mode: mode_t) throws {
        if mkdir(path, mode) != 0 && errno != EEXIST {
            throw SpoolError.system("mkdir", errno: errno, path: path)
        }
    }

    public func listDirectory(_ path: String) throws -> [String] {
        guard let dir = opendir(path) else { throw SpoolError.system("opendir", errno: errno, path: path) }
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

    public func fileType(_ path: String) -> FileType {
        var info = stat()
        if stat(path, &info) != 0 { return .missing }
        switch info.st_mode & S_IFMT {
        case S_IFREG: return .regular
        case S_IFDIR: return .directory
        default: return .other
        }
    }
}
