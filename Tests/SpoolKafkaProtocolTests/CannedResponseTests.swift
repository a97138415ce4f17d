import Foundation
import SpoolKafkaProtocol
import Testing

/// The responses the capture script serves are exactly this codec's output, and they read back.
struct CannedResponseTests {
    static let directory = "fixtures/kafka-protocol/responses"

    @Test("the canned responses served to real clients are the codec's output, byte for byte")
    func cannedResponsesAreTheCodecsOutput() throws {
        let write = ProcessInfo.processInfo.environment["SPOOL_KAFKA_WRITE_CANNED"] == "1"
        if write { try FileManager.default.createDirectory(at: Fixtures.url(Self.directory), withIntermediateDirectories: true) }
        let canned = try CannedResponses.all()
        for (name, _, version, body) in canned {
            let frame = try CannedResponses.frame(body, version: version)
            if write {
                try Data(frame).write(to: Fixtures.url("\(Self.directory)/\(name)"))
            } else {
                #expect(try Fixtures.bytes("\(Self.directory)/\(name)") == frame, "\(name) differs from the codec's output")
            }
        }
        #expect(try Fixtures.files(in: Self.directory).filter { $0.hasSuffix(".bin") } == canned.map(\.name).sorted())
    }

    @Test("every canned response frame decodes back to the response it was made from")
    func cannedResponsesDecodeBack() throws {
        for (name, api, version, body) in try CannedResponses.all() {
            let frame = try CannedResponses.frame(body, version: version)
            let split = try #require(try KafkaFrame.next(in: frame[...]))
            #expect(split.consumed == frame.count)
            let response = try KafkaResponse.decode(frame: split.frame, apiKey: api, version: version)
            #expect(response.header.correlationId == CannedResponses.correlationPlaceholder, "\(name)")
            #expect(response.body == body, "\(name)")
        }
    }
}
