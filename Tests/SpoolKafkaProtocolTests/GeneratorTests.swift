import Foundation
import Testing

/// The committed Swift is what the generator makes from the committed spec.
struct GeneratorTests {
    @Test("the generated codecs and samples match kafka-protocol.spec (Tools/kafka-codegen/generate.py --check)")
    func generatedSwiftMatchesTheSpec() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", Fixtures.url("Tools/kafka-codegen/generate.py").path, "--check"]
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        process.waitUntilExit()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 0, "\(message)")
    }
}
