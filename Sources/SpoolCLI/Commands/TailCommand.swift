import ArgumentParser
import Glibc
import Spool
import SpoolFormat

/// `spool tail`: the last tasks of a queue, then (with -f) new ones as they are written.
struct TailCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tail",
        abstract: "Print the last tasks of a queue, and with -f follow new ones.",
        discussion: """
            Examples:
              spool tail --queue emails              # the last 10 tasks
              spool tail --queue emails -n 100 --json
              spool tail --queue emails -f           # then follow, like tail -f

            Read-only and lock-free: works while another process writes. With -f
            it looks for new batches every --poll-ms milliseconds (a bounded sleep)
            until interrupted.
            """)

    @OptionGroup var common: CommonOptions

    @Option(help: "Queue name.")
    var queue = "default"

    @Option(name: .short, help: "How many of the last tasks to print first.")
    var n: Int64 = 10

    @Flag(name: .short, help: "Follow: keep printing tasks as they are written.")
    var f = false

    @Option(name: .customLong("poll-ms"), help: "With -f, milliseconds between looks at the log (1-10000).")
    var pollMilliseconds: Int = 200

    @Flag(help: "Print values whole instead of cutting them at 64 bytes.")
    var full = false

    func validate() throws {
        if n < 0 { throw ValidationError("-n must be 0 or more") }
        if !(1...10_000).contains(pollMilliseconds) { throw ValidationError("--poll-ms must be 1...10000") }
        try QueueName.validate(queue)
    }

    func run() async throws {
        let directory = RootLayout(root: common.resolvedDir).queueDirectory(queue)
        let fs = PosixFileSystem()
        guard fs.fileType(directory) == .directory else {
            throw SpoolError(
                .notFound, "no queue named \(queue)", path: directory,
                hint: "check --dir and --queue; `spool stats` lists the queues")
        }
        let follower = try LogFollower(directory: directory, lastRecords: n)
        ForeignEntryWarnings.report(under: directory, command: "tail")
        let printer = RecordPrinter(json: common.json, valueLimit: full ? nil : 64)
        while true {
            let records = try follower.poll()
            printer.print(records)
            Console.flush()
            if !f && records.count < 100_000 { return }
            if records.isEmpty { usleep(UInt32(pollMilliseconds) * 1000) }
        }
    }
}
