import Foundation
import Testing

/// A reader that goes away (`spool dump … | head`) ends the command quietly with status 0
/// (issue: the README's first command died of SIGPIPE under `set -o pipefail`).
@Suite("A closed pipe")
struct ClosedPipeTests {
    /// Runs `script` with bash (`set -o pipefail`) on a thread of its own; returns the status
    /// and standard error.
    static func bash(_ script: String) async throws -> (status: Int32, stderr: String) {
        try await withCheckedThrowingContinuation { continuation in
            Thread {
                continuation.resume(with: Result {
                    let process = Process()
                    process.executableURL = URL(fileURLWithPath: "/bin/bash")
                    process.arguments = ["-c", "set -o pipefail; " + script]
                    let err = Pipe()
                    process.standardError = err
                    // A /dev/null of its own: the shared FileHandle.nullDevice is not safe to hand to
                    // processes started from several threads at once (a crash seen in Process.run).
                    process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
                    try process.run()
                    let stderr = err.fileHandleForReading.readDataToEndOfFile()
                    process.waitUntilExit()
                    return (process.terminationStatus, String(decoding: stderr, as: UTF8.self))
                })
            }.start()
        }
    }

    @Test("spool dump piped into head, which exits after one line, ends with status 0 and says nothing")
    func dumpIntoHeadExitsZero() async throws {
        let scratch = ScratchDirectory()
        let root = scratch.path + "/root"
        let filled = try await SpoolProcess.run(["enqueue", "--dir", root, "--queue", "q", "--count", "20000", "--batch", "100"])
        try #require(filled.status == 0, "\(filled.stderr)")
        let segment = root + "/queues/q/00000000000000000000.log"
        // Far more output than a pipe buffer holds, so dump is still writing when head leaves.
        let piped = try await Self.bash("'\(SpoolProcess.binary)' dump '\(segment)' --payloads --full | head -n 1")
        #expect(piped.status == 0, "the pipeline failed: \(piped.stderr)")
        #expect(piped.stderr.isEmpty, "\(piped.stderr)")
        let json = try await Self.bash("'\(SpoolProcess.binary)' dump '\(root)' --json | head -c 100")
        #expect(json.status == 0, "the pipeline failed: \(json.stderr)")
    }
}
