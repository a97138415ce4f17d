import Foundation
import SpoolFormat
import Testing

/// Pins the exact bytes of a codec-none batch, so any change to the encoder's output is seen in
/// review. Regenerate with SPOOL_UPDATE_GOLDEN=1 (fixtures/format/README.md).
struct GoldenBytesTests {
    static let path = "fixtures/format/batch-none.bin"

    /// Fixed inputs covering every field kind: a key, a null key, a null and an empty value,
    /// headers with and without values, a unicode header name, timestamps before and after the
    /// first.
    static let inputs: [RecordInput] = [
        RecordInput(
            value: Array(#"{"task":"email","to":"a@example.com"}"#.utf8), key: Array("user-1".utf8),
            headers: [RecordHeader(name: "spool.attempt", value: Array("1".utf8))], timestamp: 1_763_900_000_000),
        RecordInput(value: nil, key: nil, timestamp: 1_763_899_999_000),
        RecordInput(
            value: [], key: Array("user-2".utf8),
            headers: [
                RecordHeader(name: "spool.lane", value: Array("network".utf8)),
                RecordHeader(name: "trace-ключ", value: nil),
            ],
            timestamp: 1_763_900_000_500),
    ]
    static let baseOffset: Int64 = 42

    /// The golden file's bytes; with SPOOL_UPDATE_GOLDEN=1 it is first rewritten (atomically, as
    /// both tests may do it at once) from the current encoder.
    static func golden() throws -> [UInt8] {
        if ProcessInfo.processInfo.environment["SPOOL_UPDATE_GOLDEN"] == "1" {
            let encoded = try Samples.batch(inputs, baseOffset: baseOffset, codec: .none)
            try Data(encoded).write(to: Fixtures.url(path), options: .atomic)
        }
        return try Fixtures.bytes(path)
    }

    @Test("a fixed batch encoded with codec none equals fixtures/format/batch-none.bin")
    func goldenBatch() throws {
        let encoded = try Samples.batch(Self.inputs, baseOffset: Self.baseOffset, codec: .none)
        let golden = try Self.golden()
        #expect(encoded == golden, "the encoder's bytes changed; if intended, regenerate with SPOOL_UPDATE_GOLDEN=1")
    }

    @Test("the golden batch decodes to its inputs and its fixed fields sit where FORMAT.md puts them")
    func goldenDecodes() throws {
        let golden = try Self.golden()
        let batch = try Samples.decode(golden)
        #expect(batch.records == Samples.expected(Self.inputs, baseOffset: Self.baseOffset))
        #expect(golden.count == batch.header.totalBytes)
        // Spot checks against the table in FORMAT.md, "Batch header".
        #expect(Array(golden[0..<8]) == [0, 0, 0, 0, 0, 0, 0, 42])
        #expect(golden[16] == 2)
        #expect(Array(golden[21..<23]) == [0, 0])
        #expect(Array(golden[23..<27]) == [0, 0, 0, 2])
        #expect(Array(golden[43..<51]) == [UInt8](repeating: 0xFF, count: 8))
        #expect(Array(golden[57..<61]) == [0, 0, 0, 3])
        #expect(batch.header.baseTimestamp == 1_763_900_000_000)
        #expect(batch.header.maxTimestamp == 1_763_900_000_500)
        // The second record: timestampDelta -1000 zigzags to 1999 (CF 0F), null key and value.
        var position = RecordBatchHeader.size
        let firstLength = try golden.withUnsafeBytes { try Varint.decodeInt32($0, at: &position) }
        let secondStart = position + Int(firstLength)
        #expect(Array(golden[secondStart..<(secondStart + 8)]) == [0x0E, 0x00, 0xCF, 0x0F, 0x02, 0x01, 0x01, 0x00])
    }
}
