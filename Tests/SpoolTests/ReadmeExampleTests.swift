import Foundation
import Glibc
import Spool
import SpoolFormat
import Testing

// The README's embedding example, verbatim between the markers; a test below checks that the
// README holds exactly these lines, so the example there always compiles and runs.
// README-EXAMPLE-BEGIN
func embeddingExample(directory: String) async throws -> [String] {
    // Open (or create) a data directory; this process becomes its only writer.
    let root = try SpoolRoot.open(at: directory)
    defer { root.close() }
    let emails = try root.queue("emails")

    // Append durably: each call returns once an fdatasync covers it (group commit).
    try await emails.append(Array(#"{"to":"ada@example.com"}"#.utf8), key: Array("ada".utf8))
    try await emails.append(batch: [
        RecordInput(value: Array(#"{"to":"bob@example.com"}"#.utf8), timestamp: 1_764_000_000_000),
        RecordInput(value: Array(#"{"to":"eve@example.com"}"#.utf8), timestamp: 1_764_000_000_001),
    ])

    // Read back from any offset, batch by batch.
    var reader = emails.reader(from: 0)
    var seen: [String] = []
    while let batch = try reader.nextBatch() {
        for record in batch.records {
            seen.append("\(record.offset): \(String(decoding: record.value ?? [], as: UTF8.self))")
        }
    }

    // Or consume as a group: claim under a lease, then ack (durably) what was done.
    let senders = try root.group("senders", on: "emails")
    let claimed = try await senders.claim(max: 10)
    let result = try await senders.ack(claimed)
    seen.append("acked \(result.acked)")
    return seen
}
// README-EXAMPLE-END

@Suite("README")
struct ReadmeExampleTests {
    @Test("the README's embedding example runs and reads back what it appended")
    func exampleRuns() async throws {
        let lines = try await withTemporaryDirectory { base in try await embeddingExample(directory: base + "/spool") }
        #expect(lines == [
            #"0: {"to":"ada@example.com"}"#,
            #"1: {"to":"bob@example.com"}"#,
            #"2: {"to":"eve@example.com"}"#,
            "acked 3",
        ])
    }

    @Test("the README shows the embedding example exactly as this test file compiles it")
    func readmeMatchesCompiledExample() throws {
        let here = String(#filePath)
        let source = try String(contentsOfFile: here, encoding: .utf8)
        let repo = here.components(separatedBy: "/Tests/")[0]
        let readme = try String(contentsOfFile: repo + "/README.md", encoding: .utf8)
        let example = source.components(separatedBy: "// README-EXAMPLE-BEGIN\n")[1].components(separatedBy: "// README-EXAMPLE-END")[0]
        #expect(readme.contains("```swift\nimport Spool\nimport SpoolFormat\n\n" + example + "```"))
    }
}
