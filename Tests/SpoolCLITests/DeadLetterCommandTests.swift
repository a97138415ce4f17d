import Foundation
import Spool
import Testing

@Suite("spool dlq")
struct DeadLetterCommandTests {
    @Test("dlq list shows the reason and source of each dead letter, and dlq replay moves them back once")
    func listAndReplay() async throws {
        let dir = ScratchDirectory()
        do {
            let root = try SpoolRoot.open(at: dir.path)
            defer { root.close() }
            try await root.queue("jobs").append(Array("poison pill".utf8))
            var options = GroupOptions()
            options.retry.maxAttempts = 1
            let group = try root.group("workers", on: "jobs", options: options)
            let task = try await group.claim(max: 1).tasks[0]
            try await group.nack(task, reason: "parse error at byte 7")
        }
        var r = try await SpoolProcess.run(["dlq", "list", "--dir", dir.path, "--queue", "jobs"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("offset 0  from jobs@0 group workers  attempts 1  reason \"parse error at byte 7\""))
        #expect(r.stdout.contains("1 dead letter(s) in jobs.dlq"))
        r = try await SpoolProcess.run(["dlq", "replay", "--dir", dir.path, "--queue", "jobs", "--json"])
        #expect(r.stdout.contains(#""replayed":1"#))
        r = try await SpoolProcess.run(["dlq", "replay", "--dir", dir.path, "--queue", "jobs", "--json"])
        #expect(r.stdout.contains(#""replayed":0"#))
        r = try await SpoolProcess.run(["dlq", "list", "--dir", dir.path, "--queue", "jobs", "--json"])
        #expect(r.stdout.contains(#""replayed":true"#))
        r = try await SpoolProcess.run(["consume", "--dir", dir.path, "--queue", "jobs", "--group", "workers", "--json"])
        #expect(r.stdout.contains(#""offset":1"#) && r.stdout.contains(#""payload":"poison pill""#))
    }
}
