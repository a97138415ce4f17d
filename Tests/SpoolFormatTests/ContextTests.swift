import SpoolFormat
import Testing

/// Compression and decompression contexts reused across batches, frames that lie about their
/// size, and trained zstd dictionaries at the format level.
struct ContextTests {
    static func decode(_ bytes: [UInt8], context: DecompressionContext?) throws(FormatError) -> RecordBatch {
        try bytes.withUnsafeBytes { buffer in
            Result { () throws(FormatError) in try RecordBatchDecoder.decode(buffer, context: context) }
        }.get()
    }

    static func encode(_ records: [RecordInput], context: CompressionContext, baseOffset: Int64 = 0) throws -> [UInt8] {
        var out: [UInt8] = []
        try RecordBatchEncoder.encode(records, baseOffset: baseOffset, context: context, into: &out)
        return out
    }

    /// Recomputes a batch's CRC-32C after a test changed bytes it covers.
    static func reseal(_ batch: inout [UInt8]) {
        let crc = batch.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[RecordBatchHeader.crcCoverageStart...])) }
        for i in 0..<4 { batch[17 + i] = UInt8(truncatingIfNeeded: crc >> (24 - 8 * UInt32(i))) }
    }

    @Test("one compression context and one decompression context reused over many batches, sizes and codecs give the records back",
          arguments: [CompressionCodec.lz4, .zstd])
    func contextsReused(codec: CompressionCodec) throws {
        let compressor = try CompressionContext(codec: codec)
        let decompressor = DecompressionContext()
        for (round, count) in [1, 50, 3, 400, 2, 1_000, 7].enumerated() {
            let records = Samples.records(count: count, valueBytes: 40 + round * 30, seed: UInt64(round + 1))
            let bytes = try Self.encode(records, context: compressor, baseOffset: Int64(round) * 10_000)
            let batch = try Self.decode(bytes, context: decompressor)
            #expect(batch.records == Samples.expected(records, baseOffset: Int64(round) * 10_000))
            #expect(try Self.decode(bytes, context: nil).records == batch.records)
            #expect(batch.storedRecordsBytes == bytes.count - RecordBatchHeader.size)
            let plain = try Samples.batch(records, baseOffset: Int64(round) * 10_000)
            #expect(batch.recordsBytes == plain.count - RecordBatchHeader.size)
        }
        #expect(decompressor.batchesDecompressed == 7)
    }

    @Test("a decompression context that met a corrupt frame decodes the next good batch", arguments: [CompressionCodec.lz4, .zstd])
    func contextSurvivesErrors(codec: CompressionCodec) throws {
        let context = DecompressionContext()
        let good = try Samples.batch(Samples.records(count: 100), codec: codec)
        var bad = good
        for i in RecordBatchHeader.size + 8..<min(bad.count, RecordBatchHeader.size + 40) { bad[i] ^= 0x5A }
        Self.reseal(&bad)
        #expect(throws: FormatError.self) { try Self.decode(bad, context: context) }
        #expect(try Self.decode(good, context: context).records.count == 100)
    }

    @Test("a zstd frame whose header declares one byte more or less than it holds is refused as corrupt", arguments: [1, -1])
    func zstdContentSizeLie(delta: Int) throws {
        var batch = try Samples.batch(Samples.records(count: 30), codec: .zstd)
        let frame = RecordBatchHeader.size
        let descriptor = batch[frame + 4]
        let singleSegment = (descriptor >> 5) & 1 == 1
        let dictionaryBytes = [0, 1, 2, 4][Int(descriptor & 3)]
        let sizeBytes = [singleSegment ? 1 : 0, 2, 4, 8][Int(descriptor >> 6)]
        try #require(sizeBytes > 0, "the frame must declare its size")
        let at = frame + 5 + (singleSegment ? 0 : 1) + dictionaryBytes
        var declared = 0
        for i in 0..<sizeBytes { declared |= Int(batch[at + i]) << (8 * i) }
        declared += delta
        for i in 0..<sizeBytes { batch[at + i] = UInt8(truncatingIfNeeded: declared >> (8 * i)) }
        Self.reseal(&batch)
        #expect {
            try Self.decode(batch, context: DecompressionContext())
        } throws: { error in
            guard case .decompressionFailed(.zstd, _) = error as? FormatError else { return false }
            return true
        }
    }

    @Test("a frame made with a dictionary fails with dictionaryMissing and its id when the reader lacks it")
    func dictionaryMissing() throws {
        let samples = (0..<2_000).map { Array("{\"id\":\($0),\"type\":\"email\",\"to\":\"user\($0 % 97)@example.com\"}".utf8) }
        let dictionary = try ZstdDictionary.train(samples: samples, capacityBytes: 8_192)
        let records = (0..<5).map { RecordInput(value: samples[$0], timestamp: 1) }
        let bytes = try Self.encode(records, context: CompressionContext(codec: .zstd, dictionary: dictionary))
        #expect(throws: FormatError.dictionaryMissing(id: dictionary.id)) { try Self.decode(bytes, context: nil) }
        #expect(throws: FormatError.dictionaryMissing(id: dictionary.id)) { try Self.decode(bytes, context: DecompressionContext()) }
        let found = DecompressionContext { $0 == dictionary.id ? dictionary : nil }
        #expect(try Self.decode(bytes, context: found).records.map(\.value) == records.map(\.value))
        // The same context then reads a frame without a dictionary.
        let plain = try Self.encode(records, context: CompressionContext(codec: .zstd))
        #expect(try Self.decode(plain, context: found).records.count == 5)
    }

    @Test("bytes that are not a zstd dictionary are refused, and training needs samples")
    func dictionaryBadInput() throws {
        #expect(throws: FormatError.self) { try ZstdDictionary(bytes: [UInt8](repeating: 7, count: 1_000)) }
        #expect(throws: FormatError.self) { try ZstdDictionary(bytes: [1, 2, 3]) }
        #expect(throws: FormatError.self) { try ZstdDictionary.train(samples: [[1, 2, 3]]) }
        #expect(throws: FormatError.self) { try ZstdDictionary.train(samples: Array(repeating: [1, 2], count: 10), capacityBytes: 10) }
    }
}
