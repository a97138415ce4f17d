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

    private static func runBlocking(_ arguments: [String], input: [UInt8]?, environment: [String: String], directory: String?,
                                    executable: String) throws -> Outcome {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "SPOOL_DIR")
        for (k, v) in environment { env[k] = v }
        process.environment = env
        let out = Pipe(), err = Pipe(), inPipe = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = inPipe
        try process.run()
        if let input { inPipe.fileHandleForWriting.write(Data(input)) }
        try inPipe.fileHandleForWriting.close()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Outcome(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                       stderr: String(decoding: stderr, as: UTF8.self), signalled: process.terminationReason == .uncaughtSignal)
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
