import Foundation
import Testing

/// `spool dump` names Kafka's transactional and control batches, which readers treat apart
/// (FORMAT.md, "Control batches and transactions").
@Suite("dump of Kafka transactions")
struct DumpTransactionTests {
    @Test("dump marks a transactional batch with its producer and a control batch as a COMMIT that is never a task, in text and JSON")
    func dumpNamesTransactionAndMarker() async throws {
        let file = SpoolProcess.repositoryRoot + "/fixtures/interop/transaction-with-commit-marker.bin"
        let text = try await SpoolProcess.run(["dump", file])
        #expect(text.status == 0, "\(text.stderr)")
        let lines = text.stdout.split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.hasPrefix("batch offsets 5000–5002") && $0.hasSuffix("transactional (producer 4242)") }, "\(text.stdout)")
        #expect(lines.contains { $0.hasPrefix("batch offsets 5003–5003") && $0.hasSuffix("control COMMIT (producer 4242; never a task)") }, "\(text.stdout)")
        let json = try await SpoolProcess.run(["dump", file, "--json"])
        #expect(json.stdout.contains(#""producer_id":4242,"transactional":true"#), "\(json.stdout)")
        #expect(json.stdout.contains(#""control":"COMMIT""#), "\(json.stdout)")
    }
}
