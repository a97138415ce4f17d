@testable import Spool
import SpoolFormat
import Testing

@Suite("Batch filter")
struct BatchFilterTests {
    @Test("filtering a batch keeps the live records at their offsets, for every codec, and the result decodes with a valid CRC", arguments: [CompressionCodec.none, .lz4, .zstd])
    func filterKeepsOffsets(codec: CompressionCodec) throws {
        let records = (0..<10).map { RecordInput(value: TestPayload.make(Int64($0), size: 300), key: [UInt8($0)], timestamp: TestPayload.timestamp(Int64($0))) }
        var bytes: [UInt8] = []
        try RecordBatchEncoder.encode(records, baseOffset: 1000, codec: codec, into: &bytes)
        let header = try bytes.withUnsafeBytes { try RecordBatchHeader.decode($0) }
        let section = try bytes.withUnsafeBytes { try BatchFilter.section(of: $0, header: header, limits: .default) }
        #expect(try BatchFilter.recordOffsets(section, header: header) == Array(1000..<1010))
        let keep = (0..<10).map { $0 % 3 == 0 }
        let filtered = try bytes.withUnsafeBytes { try BatchFilter.filter($0, header: header, section: section, keep: keep) }
        let batch = try filtered.withUnsafeBytes { try RecordBatchDecoder.decode($0) }
        #expect(batch.records.map(\.offset) == [1000, 1003, 1006, 1009])
        #expect(batch.records.allSatisfy { $0.value == TestPayload.make($0.offset - 1000, size: 300) && $0.timestamp == TestPayload.timestamp($0.offset - 1000) })
        #expect(batch.header.baseOffset == 1000 && batch.header.nextOffset == 1010 && batch.header.codecBits == Int(codec.rawValue))
        #expect(batch.header.maxTimestamp == header.maxTimestamp)
    }

    @Test("an empty batch stands for a run of removed offsets: it decodes with no records and the run's next offset")
    func emptyBatch() throws {
        let bytes = BatchFilter.emptyBatch(first: 500, last: 799, maxTimestamp: 42)
        #expect(bytes.count == RecordBatchHeader.size)
        let batch = try bytes.withUnsafeBytes { try RecordBatchDecoder.decode($0) }
        #expect(batch.records.isEmpty)
        #expect(batch.header.baseOffset == 500 && batch.header.nextOffset == 800 && batch.header.maxTimestamp == 42)
    }
}
