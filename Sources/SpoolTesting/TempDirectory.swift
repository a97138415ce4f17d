import Glibc
import Spool

/// Fresh directories under /tmp made with mkdtemp, removed (recursively) when the test ends,
/// whether it passed, failed or threw. Shared by every test target (SpoolTesting).
public enum TempDirectory {
    /// Creates `/tmp/<label>.XXXXXX` (mode 0700) and returns its path.
    public static func make(_ label: String = "spool-tests") throws -> String {
        var template = Array("/tmp/\(label).XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { buffer in mkdtemp(buffer.baseAddress!) }
        guard made != nil else {
            throw SpoolError(.io, "mkdtemp failed", path: "/tmp", errno: errno)
        }
        return String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Removes `path` and everything below it (symlinks removed, never followed; bounded as
    /// ``PowerCut``'s tree removal, which it is); missing paths are ignored.
    public static func remove(_ path: String) {
        _ = PowerCut.removeTree(path)
    }
}

/// Runs `body` with a fresh temporary directory and removes it afterwards.
public func withTemporaryDirectory<T>(_ body: (String) async throws -> T) async throws -> T {
    let directory = try TempDirectory.make()
    defer { TempDirectory.remove(directory) }
    return try await body(directory)
}

/// Synchronous variant of ``withTemporaryDirectory(_:)``.
public func withTemporaryDirectorySync<T>(_ body: (String) throws -> T) throws -> T {
    let directory = try TempDirectory.make()
    defer { TempDirectory.remove(directory) }
    return try body(directory)
}

/// Small file helpers on Glibc (the engine itself has no Foundation; neither do these).
public enum Files {
    /// Names in a directory without "." and "..", sorted; empty when it cannot be read.
    public static func list(_ path: String) -> [String] {
        guard let dir = opendir(path) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: Int(NAME_MAX) + 1) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    public static func exists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }

    public static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFDIR
    }

    /// Size in bytes; -1 when missing.
    public static func size(_ path: String) -> Int64 {
        var info = stat()
        return stat(path, &info) == 0 ? Int64(info.st_size) : -1
    }

    /// Permission bits (mode & 0o7777); nil when missing.
    public static func mode(_ path: String) -> mode_t? {
        var info = stat()
        return stat(path, &info) == 0 ? info.st_mode & 0o7777 : nil
    }

    public static func read(_ path: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SpoolError(.io, "open for reading failed", path: path, errno: errno) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw SpoolError(.io, "fstat failed", path: path, errno: errno) }
        var bytes = [UInt8](repeating: 0, count: Int(info.st_size))
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeMutableBytes { raw in
                pread(fd, raw.baseAddress! + done, raw.count - done, off_t(done))
            }
            if n < 0 { throw SpoolError(.io, "pread failed", path: path, errno: errno) }
            if n == 0 { break }
            done += n
        }
        return Array(bytes[0..<done])
    }

    public static func write(_ path: String, _ bytes: [UInt8], mode: mode_t = 0o600) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard fd >= 0 else { throw SpoolError(.io, "open for writing failed", path: path, errno: errno) }
        defer { close(fd) }
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { raw in pwrite(fd, raw.baseAddress! + done, raw.count - done, off_t(done)) }
            if n < 0 { throw SpoolError(.io, "pwrite failed", path: path, errno: errno) }
            done += n
        }
    }

    public static func makeDirectory(_ path: String) throws {
        if mkdir(path, 0o700) != 0 && errno != EEXIST {
            throw SpoolError(.io, "mkdir failed", path: path, errno: errno)
        }
    }

    /// Copies every regular file of `source` into `destination` (created when missing): the
    /// bytes as the page cache holds them right now, which is what a process crash leaves.
    public static func copyFiles(from source: String, to destination: String) throws {
        try makeDirectory(destination)
        for name in list(source) {
            var info = stat()
            guard stat(source + "/" + name, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { continue }
            try write(destination + "/" + name, try read(source + "/" + name))
        }
    }
}
