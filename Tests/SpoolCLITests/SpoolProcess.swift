import Foundation
import SpoolTesting

/// Runs the built `spool` executable as a real process and captures its output: CLI tests
/// check what a user sees, exit codes included.
struct SpoolProcess {
    struct Outcome {
        var status: Int32
        var stdout: String
        var stderr: String
        /// The process died of a signal (`status` is then the signal's number).
        var signalled = false
    }

    /// The `spool` binary beside the test bundle (`<scratch>/debug/spool`).
    static var binary: String {
        var url = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        for _ in 0..<6 {
            url.deleteLastPathComponent()
            let candidate = url.appendingPathComponent("spool").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return repositoryRoot + "/.build/debug/spool"
    }

    static var repositoryRoot: String {
        String(#filePath).components(separatedBy: "/Tests/")[0]
    }

    /// Runs `spool arguments...` with `input` on standard input; waits for it to exit.
    ///
    /// The waiting happens on a thread of its own, never on Swift's cooperative pool: that pool
    /// has one thread per core (two here), and a test blocking it while a child runs for
    /// seconds would starve every async test running beside it.
    /// - Parameter executable: another program to run instead (a shell that sets a limit, then
    ///   execs ``binary``).
    static func run(_ arguments: [String], input: String? = nil, inputBytes: [UInt8]? = nil, environment: [String: String] = [:],
                    directory: String? = nil, executable: String? = nil) async throws -> Outcome {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                continuation.resume(with: Result { try runBlocking(arguments, input: inputBytes ?? input.map { Array($0.utf8) }, environment: environment,
                                                                   directory: directory, executable: executable ?? binary) })
            }
            thread.start()
        }
    }

    /// Runs the child with posix_spawn, its stdin, stdout and stderr in files of a scratch
    /// directory. Not Foundation's `Process`: on Linux its `run()` over-reads `d_name` while
    /// it lists /proc/self/fd and crashed this test binary now and then with SIGSEGV
    /// (swiftlang/swift-corelibs-foundation#5472, in Swift 6.3.1).
    private static func runBlocking(_ arguments: [String], input: [UInt8]?, environment: [String: String], directory: String?,
                                    executable: String) throws -> Outcome {
        let scratch = try TempDirectory.make("spool-child")
        defer { TempDirectory.remove(scratch) }
        let inPath = scratch + "/in", outPath = scratch + "/out", errPath = scratch + "/err"
        try Data(input ?? []).write(to: URL(fileURLWithPath: inPath))
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, inPath, O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        if let directory {
            // glibc has it since 2.29; Swift's Glibc module does not export it, so it is looked up.
            typealias AddChdir = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, UnsafePointer<CChar>?) -> Int32
            guard let symbol = dlsym(nil, "posix_spawn_file_actions_addchdir_np") else { throw POSIXError(.ENOSYS) }
            _ = unsafeBitCast(symbol, to: AddChdir.self)(&actions, directory)
        }
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "SPOOL_DIR")
        for (k, v) in environment { env[k] = v }
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        let envp: [UnsafeMutablePointer<CChar>?] = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for p in envp { free(p) } }
        var pid = pid_t()
        let rc = posix_spawn(&pid, executable, &actions, nil, argv, envp)
        guard rc == 0 else { throw POSIXError(POSIXErrorCode(rawValue: rc) ?? .EIO) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let signal = status & 0x7f
        let stdout = (try? Data(contentsOf: URL(fileURLWithPath: outPath))) ?? Data()
        let stderr = (try? Data(contentsOf: URL(fileURLWithPath: errPath))) ?? Data()
        return Outcome(status: signal == 0 ? (status >> 8) & 0xff : signal, stdout: String(decoding: stdout, as: UTF8.self),
                       stderr: String(decoding: stderr, as: UTF8.self), signalled: signal != 0)
    }
}

/// A fresh directory under /tmp, removed when the value is deinitialised.
final class ScratchDirectory {
    let path: String

    /// Stops the test process when /tmp has no room for a directory: no test can run then.
    init() {
        do { path = try TempDirectory.make("spool-cli") } catch { fatalError("cannot make a scratch directory: \(error)") }
    }

    deinit { TempDirectory.remove(path) }
}
