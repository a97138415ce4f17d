import Glibc
import Spool
import SpoolTesting

/// The `spool` executable built beside this test bundle (`<scratch>/debug/spool`), run as a
/// real child process with posix_spawn: for SIGKILL drills and for the cross-process lock.
enum SpoolBinary {
    /// The binary's path, found by walking up from the running test executable; nil when the
    /// build did not produce it (run `swift build --build-tests` first).
    static let path: String? = locate()

    private static func locate() -> String? {
        var starts: [String] = []
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        if n > 0 { starts.append(String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)) }
        if let first = CommandLine.arguments.first { starts.append(first) }
        for start in starts {
            var directory = parent(of: start)
            for _ in 0..<6 {
                for candidate in [directory + "/spool", directory + "/debug/spool"] where isExecutable(candidate) {
                    return candidate
                }
                directory = parent(of: directory)
            }
        }
        return nil
    }

    private static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    private static func isExecutable(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFREG && access(path, X_OK) == 0
    }

    /// The binary, or a thrown error that says how to build it.
    static func require() throws -> String {
        guard let path else {
            throw SpoolError(.notFound, "the spool executable was not found next to the test bundle",
                             hint: "build everything first: swift build --build-tests")
        }
        return path
    }

    /// Starts `spool arguments...` with stdin from /dev/null and stdout/stderr to files.
    static func spawn(_ arguments: [String], stdout: String, stderr: String) throws -> ChildProcess {
        let binary = try require()
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdout, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, stderr, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let argv: [UnsafeMutablePointer<CChar>?] = ([binary] + arguments).map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        // The child must not read SPOOL_DIR from the environment of whoever runs the tests.
        var environment = [String]()
        var e = environ
        while let entry = e.pointee {
            let text = String(cString: entry)
            if !text.hasPrefix("SPOOL_DIR=") { environment.append(text) }
            e += 1
        }
        let envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup($0) } + [nil]
        defer { for p in envp { free(p) } }
        var pid = pid_t()
        let rc = posix_spawn(&pid, binary, &actions, nil, argv, envp)
        guard rc == 0 else { throw SpoolError(.io, "posix_spawn failed", path: binary, errno: rc) }
        return ChildProcess(pid: pid, stdoutPath: stdout, stderrPath: stderr)
    }

    /// Runs `spool arguments...` to completion (killing it after `timeoutSeconds`) and returns
    /// how it ended and what it printed.
    ///
    /// A root this test process closed a moment ago can still look locked by this process to the
    /// child: another test's child, between its fork and its exec, shares every open file
    /// description of this process, the lock's included. Only that refusal is retried, for at
    /// most 2 s (`retryOwnLock` false for tests that expect it).
    static func run(_ arguments: [String], in scratch: String, timeoutSeconds: Double = 60,
                    retryOwnLock: Bool = true) async throws -> ChildProcess.Outcome {
        let deadline = SystemClock().monotonicNanoseconds() + 2_000_000_000
        while true {
            let tag = String(UInt64.random(in: 0...UInt64.max), radix: 36)
            let child = try spawn(arguments, stdout: scratch + "/out-\(tag).txt", stderr: scratch + "/err-\(tag).txt")
            let outcome = try await child.wait(timeoutSeconds: timeoutSeconds)
            unlink(child.stdoutPath)
            unlink(child.stderrPath)
            if retryOwnLock && lockedByThisProcess(outcome) && SystemClock().monotonicNanoseconds() < deadline {
                try await Task.sleep(nanoseconds: 5_000_000)
                continue
            }
            return outcome
        }
    }

    /// Whether a child was refused because the root looked locked by this test process.
    static func lockedByThisProcess(_ outcome: ChildProcess.Outcome) -> Bool {
        outcome.status == 2 && outcome.stderr.contains("locked by process \(getpid()),")
    }
}

/// A child process started by ``SpoolBinary/spawn(_:stdout:stderr:)``.
final class ChildProcess: Sendable {
    struct Outcome: CustomStringConvertible {
        /// Exit status when it exited; nil when a signal ended it.
        var status: Int32?
        /// The signal that ended it, if any.
        var signal: Int32?
        var stdout: String
        var stderr: String
        var description: String {
            "status \(status.map(String.init) ?? "-") signal \(signal.map(String.init) ?? "-")\nstdout: \(stdout)\nstderr: \(stderr)"
        }
    }

    let pid: pid_t
    let stdoutPath: String
    let stderrPath: String

    init(pid: pid_t, stdoutPath: String, stderrPath: String) {
        self.pid = pid
        self.stdoutPath = stdoutPath
        self.stderrPath = stderrPath
    }

    func kill(_ signal: Int32) {
        _ = Glibc.kill(pid, signal)
    }

    /// Whether it has exited (reaps it when it has); `outcome` is then set.
    func poll() -> (Int32?, Int32?)? {
        var status: Int32 = 0
        let r = waitpid(pid, &status, WNOHANG)
        guard r == pid else { return nil }
        return Self.decode(status)
    }

    /// Waits for the exit; after `timeoutSeconds` it is killed with SIGKILL and this throws.
    func wait(timeoutSeconds: Double) async throws -> Outcome {
        let deadline = SystemClock().monotonicNanoseconds() + UInt64(timeoutSeconds * 1e9)
        while true {
            if let (status, signal) = poll() { return finish(status, signal) }
            if SystemClock().monotonicNanoseconds() > deadline {
                kill(SIGKILL)
                var status: Int32 = 0
                _ = waitpid(pid, &status, 0)
                throw SpoolError(.io, "spool did not exit within \(timeoutSeconds) s: \(finish(nil, SIGKILL))")
            }
            try await Task.sleep(nanoseconds: 2_000_000)
        }
    }

    /// Output so far.
    func output() -> (stdout: String, stderr: String) {
        (String(decoding: (try? Files.read(stdoutPath)) ?? [], as: UTF8.self),
         String(decoding: (try? Files.read(stderrPath)) ?? [], as: UTF8.self))
    }

    private func finish(_ status: Int32?, _ signal: Int32?) -> Outcome {
        let (out, err) = output()
        return Outcome(status: status, signal: signal, stdout: out, stderr: err)
    }

    /// (exit status, terminating signal) from a waitpid status word.
    private static func decode(_ status: Int32) -> (Int32?, Int32?) {
        let signal = status & 0x7f
        if signal == 0 { return ((status >> 8) & 0xff, nil) }
        return (nil, signal)
    }
}
