import Glibc
import Spool
import SpoolTesting

/// A `spool` child process started by `spool drill`: the running binary itself
/// (/proc/self/exe), with stdin from /dev/null and its output in files, so it can be killed
/// with SIGKILL at any moment and its exit inspected.
///
/// Not thread-safe: one drill thread starts, polls and kills it.
final class DrillChild {
    let pid: pid_t
    let stderrPath: String
    private(set) var ended: (status: Int32?, signal: Int32?)?

    /// Starts `spool arguments...`, adding `environment` to this process's environment.
    /// - Throws: ``SpoolError`` when the binary cannot be found or started.
    init(_ arguments: [String], environment extra: [String: String], output: String) throws {
        let binary = try ChildProcess.executable()
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output + ".out", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, output + ".err", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        stderrPath = output + ".err"
        let argv: [UnsafeMutablePointer<CChar>?] = ([binary] + arguments).map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        var environment: [String] = []
        var e = environ
        while let entry = e.pointee {
            let text = String(cString: entry)
            let name = text.split(separator: "=", maxSplits: 1).first.map(String.init) ?? ""
            if extra[name] == nil && name != DrillEnvironment.powerCutJournalVariable { environment.append(text) }
            e += 1
        }
        environment += extra.map { "\($0.key)=\($0.value)" }
        let envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup($0) } + [nil]
        defer { for p in envp { free(p) } }
        var pid = pid_t()
        let rc = posix_spawn(&pid, binary, &actions, nil, argv, envp)
        guard rc == 0 else { throw SpoolError(.io, "cannot start a spool child process", path: binary, errno: rc) }
        self.pid = pid
    }

    /// Whether it has ended (reaping it).
    @discardableResult
    func poll() -> Bool {
        if ended != nil { return true }
        var status: Int32 = 0
        guard waitpid(pid, &status, WNOHANG) == pid else { return false }
        let signal = status & 0x7f
        ended = signal == 0 ? ((status >> 8) & 0xff, nil) : (nil, signal)
        return true
    }

    /// SIGKILL, then waits for it to end. Returns whether the kill ended it (false: it had
    /// already exited).
    @discardableResult
    func kill() -> Bool {
        if poll() { return false }
        _ = Glibc.kill(pid, SIGKILL)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let signal = status & 0x7f
        ended = signal == 0 ? ((status >> 8) & 0xff, nil) : (nil, signal)
        return signal == SIGKILL
    }

    /// What it printed on standard error (the first 4 KiB).
    func errorOutput() -> String {
        String(decoding: DrillFiles.read(stderrPath, limit: 4096), as: UTF8.self)
    }
}

/// Small whole-file helpers for the drill's own files.
enum DrillFiles {
    static func read(_ path: String, limit: Int) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: limit)
        let n = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, limit) }
        return n > 0 ? Array(bytes[0..<n]) : []
    }

    static func size(_ path: String) -> Int64 {
        var info = stat()
        return stat(path, &info) == 0 ? Int64(info.st_size) : -1
    }
}

extension DrillFiles {
    /// Copies the tree at `from` to `to` (which must not exist): regular files and directories.
    /// - Throws: ``SpoolError`` on an I/O error.
    static func copyTree(_ from: String, to: String, depth: Int = 0) throws {
        let fs = PosixFileSystem()
        guard depth < 16 else { return }
        try fs.makeDirectory(to, mode: 0o700)
        for name in try fs.listDirectory(from) {
            switch fs.fileType(from + "/" + name) {
            case .directory: try copyTree(from + "/" + name, to: to + "/" + name, depth: depth + 1)
            case .regular: try copyFile(from + "/" + name, to: to + "/" + name)
            default: continue
            }
        }
    }

    static func copyFile(_ from: String, to: String) throws {
        let input = open(from, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw SpoolError(.io, "cannot open", path: from, errno: errno) }
        defer { close(input) }
        let output = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard output >= 0 else { throw SpoolError(.io, "cannot create", path: to, errno: errno) }
        defer { close(output) }
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var position: Int64 = 0
        let fs = PosixFileSystem()
        // Bounded by the file's size: each pass copies at least one byte or stops.
        while true {
            let n = try buffer.withUnsafeMutableBytes { try fs.read(input, into: $0, at: position) }
            if n == 0 { break }
            try buffer.withUnsafeBytes {
                try fs.write(output, from: UnsafeRawBufferPointer(rebasing: $0[0..<n]), at: position)
            }
            position += Int64(n)
        }
    }

    /// Removes the tree at `path` (no error when it is missing). A symbolic link is removed,
    /// never followed (the plant fault links to directories outside the root). The removal is
    /// SpoolTesting's, the one the power-cut model and the tests use.
    static func removeTree(_ path: String) {
        TempDirectory.remove(path)
    }
}
