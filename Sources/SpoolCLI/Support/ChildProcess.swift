import Glibc
import Spool

/// Runs a child process and collects its standard output, exit status and peak memory: what
/// `spool bench all` needs to run each workload in a fresh process, as the peers' harness does.
enum ChildProcess {
    struct Outcome {
        var status: Int32
        var signaled: Bool
        var stdout: String
        /// Peak resident set of the child (ru_maxrss), KiB.
        var maxResidentKiB: Int
    }

    /// Output kept from a child: bench children print one JSON line (W11's carries its samples).
    static let outputBytesMax = 64 << 20

    /// The running executable (/proc/self/exe), for re-running `spool` itself.
    /// - Throws: `.io` when the link cannot be read.
    static func executable() throws -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard n > 0 else {
            throw SpoolError(.io, "cannot find the running spool binary", path: "/proc/self/exe", errno: errno)
        }
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Runs `executable` with `arguments`; its standard error goes to ours.
    /// - Throws: `.io` when the child cannot be started or its output cannot be read.
    static func run(_ executable: String, _ arguments: [String]) throws -> Outcome {
        var pipeFDs: [Int32] = [0, 0]
        guard pipe(&pipeFDs) == 0 else { throw SpoolError(.io, "pipe failed", errno: errno) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, pipeFDs[1], 1)
        posix_spawn_file_actions_addclose(&actions, pipeFDs[0])
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, executable, &actions, nil, argv, environ)
        close(pipeFDs[1])
        guard spawned == 0 else {
            close(pipeFDs[0])
            throw SpoolError(.io, "could not start the child process", path: executable, errno: spawned)
        }
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(pipeFDs[0], $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            if output.count < outputBytesMax { output += chunk[0..<n] }
        }
        close(pipeFDs[0])
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) < 0 && errno == EINTR {}
        let exited = (status & 0x7f) == 0
        return Outcome(
            status: exited ? (status >> 8) & 0xff : status & 0x7f, signaled: !exited,
            stdout: String(decoding: output, as: UTF8.self), maxResidentKiB: usage.ru_maxrss)
    }
}
