import CSnappy
import SpoolFormat
import SpoolTesting
import Testing

/// gzip (codec 1, zlib) and snappy (codec 2, xerial framing or raw): round trips, streams from
/// other writers, bounded decompression, truncation and corruption (FORMAT.md, "Compression").
struct GzipSnappyTests {
    static let mebibyte = 1 << 20
    static let xerialHeader: [UInt8] = [0x82, 0x53, 0x4E, 0x41, 0x50, 0x50, 0x59, 0x00, 0, 0, 0, 1, 0, 0, 0, 1]

    // MARK: Helpers

    private func compress(_ input: [UInt8], codec: CompressionCodec, level: Int? = nil) throws -> [UInt8] {
        var out: [UInt8] = []
        try input.withUnsafeBytes { buffer in
            Result { () throws(FormatError) in try BatchCompressor.compress(buffer, codec: codec, level: level, into: &out) }
        }.get()
        return out
    }

    private func decompress(_ input: [UInt8], codec: CompressionCodec, limit: Int = 64 << 20) throws(FormatError) -> [UInt8] {
        try input.withUnsafeBytes { buffer in
            Result { () throws(FormatError) in try BatchDecompressor.decompress(buffer, codec: codec, limit: limit) }
        }.get()
    }

    private func decompressError(_ input: [UInt8], codec: CompressionCodec, limit: Int = 64 << 20) -> FormatError? {
        do {
            _ = try decompress(input, codec: codec, limit: limit)
            return nil
        } catch {
            return error
        }
    }

    private func decodeError(_ bytes: [UInt8], limits: FormatLimits = .default) -> FormatError? {
        do {
            _ = try Samples.decode(bytes, limits: limits)
            return nil
        } catch {
            return error
        }
    }

    /// One raw snappy block, made with libsnappy directly (what some non-Java clients write).
    private func rawSnappy(_ input: [UInt8]) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: snappy_max_compressed_length(input.count))
        var written = out.count
        let status = input.withUnsafeBytes { source in
            out.withUnsafeMutableBytes { destination in
                snappy_compress(
                    source.baseAddress?.assumingMemoryBound(to: CChar.self), source.count,
                    destination.baseAddress!.assumingMemoryBound(to: CChar.self), &written)
            }
        }
        try #require(status == SNAPPY_OK)
        return Array(out.prefix(written))
    }

    /// The (offset, length) of each block of a xerial stream with one header.
    private func xerialBlocks(_ stream: [UInt8]) -> [(offset: Int, length: Int)] {
        var blocks: [(Int, Int)] = []
        var position = 16
        while position + 4 <= stream.count {
            let length = stream[position..<position + 4].reduce(0) { $0 << 8 | Int($1) }
            blocks.append((position + 4, length))
            position += 4 + length
        }
        return blocks
    }

    /// An uncompressed records section of `count` sample records, and what it decodes to.
    private func plainSection(count: Int = 20) throws -> ([UInt8], Int32, [Record]) {
        let inputs = Samples.records(count: count)
        let bytes = try Samples.batch(inputs)
        return (Array(bytes[RecordBatchHeader.size...]), Int32(count), Samples.expected(inputs, baseOffset: 0))
    }

    private func wrap(_ section: [UInt8], count: Int32, codec: CompressionCodec) -> [UInt8] {
        let base = Samples.records(count: 1)[0].timestamp
        return Samples.rawBatch(
            section: section, recordCount: count, attributes: Int16(codec.rawValue), baseTimestamp: base, maxTimestamp: base)
    }

    private static func incompressible(_ count: Int, seed: UInt64) -> [UInt8] {
        var random = SplitMix64(seed: seed)
        return (0..<count).map { _ in UInt8(truncatingIfNeeded: random.next()) }
    }

    // MARK: Round trips

    @Test("empty, small, large and incompressible inputs round-trip through gzip and snappy",
          arguments: [CompressionCodec.gzip, .snappy])
    func roundTrips(codec: CompressionCodec) throws {
        let text = Array(String(repeating: "the quick brown fox jumps over the lazy dog; ", count: 40_000).utf8)
        for input in [[], [7], Array("hello".utf8), text, Self.incompressible(300_000, seed: 3)] {
            let compressed = try compress(input, codec: codec)
            #expect(try decompress(compressed, codec: codec) == input, "\(input.count) bytes")
        }
        #expect(try compress(text, codec: codec).count < text.count / 10)
    }

    @Test("batches of every size round-trip through the encoder and decoder with gzip and snappy, also with a reused context",
          arguments: [CompressionCodec.gzip, .snappy])
    func batchRoundTrips(codec: CompressionCodec) throws {
        let context = try CompressionContext(codec: codec)
        for (count, valueBytes) in [(1, 0), (3, 8), (500, 64), (5_000, 200)] {
            let inputs = Samples.records(count: count, valueBytes: valueBytes, seed: UInt64(count))
            for useContext in [false, true] {
                var out: [UInt8] = []
                if useContext {
                    try RecordBatchEncoder.encode(inputs, baseOffset: 77, context: context, into: &out)
                } else {
                    try RecordBatchEncoder.encode(inputs, baseOffset: 77, codec: codec, into: &out)
                }
                let batch = try Samples.decode(out)
                #expect(try batch.header.codec() == codec)
                #expect(batch.records == Samples.expected(inputs, baseOffset: 77), "\(count) records, context \(useContext)")
            }
        }
        let incompressible = [RecordInput(value: Self.incompressible(200_000, seed: 9), timestamp: 5)]
        var out: [UInt8] = []
        try RecordBatchEncoder.encode(incompressible, baseOffset: 0, context: context, into: &out)
        #expect(try Samples.decode(out).records.first?.value == incompressible[0].value)
    }

    @Test("gzip writes one gzip member at level 6 unless asked; levels 1 and 9 both read back")
    func gzipLevels() throws {
        let input = Array(String(repeating: "spool gzip level test ", count: 20_000).utf8) + Self.incompressible(50_000, seed: 1)
        let standard = try compress(input, codec: .gzip)
        #expect(Array(standard.prefix(3)) == [0x1F, 0x8B, 0x08])
        #expect(try compress(input, codec: .gzip, level: 6) == standard)
        let fastest = try compress(input, codec: .gzip, level: 1)
        let smallest = try compress(input, codec: .gzip, level: 9)
        #expect(fastest != standard)
        #expect(smallest.count <= standard.count && standard.count < fastest.count)
        for stream in [fastest, smallest] { #expect(try decompress(stream, codec: .gzip) == input) }
        #expect(try CompressionContext(codec: .gzip).level == 6)
        #expect(try CompressionContext(codec: .gzip, level: 42).level == 9)
    }

    @Test("snappy writes the xerial framing in blocks of at most 32 KiB uncompressed, as Java clients do")
    func snappyWritesXerialBlocks() throws {
        let input = Self.incompressible(100_000, seed: 4)
        let stream = try compress(input, codec: .snappy)
        #expect(Array(stream.prefix(16)) == Self.xerialHeader)
        let blocks = xerialBlocks(stream)
        #expect(blocks.count == 4)
        #expect(blocks.last.map { $0.offset + $0.length } == stream.count)
        var joined: [UInt8] = []
        for block in blocks {
            let raw = Array(stream[block.offset..<block.offset + block.length])
            let plain = try decompress(raw, codec: .snappy)
            #expect(plain.count <= 32 << 10)
            joined += plain
        }
        #expect(joined == input)
        #expect(try compress([], codec: .snappy) == Self.xerialHeader)
    }

    // MARK: Streams from other writers

    @Test("a raw snappy block and a xerial stream of the same section both decode inside a batch")
    func rawAndXerialSnappy() throws {
        let (section, count, expected) = try plainSection(count: 200)
        let raw = try rawSnappy(section)
        #expect(Array(raw.prefix(8)) != Array(Self.xerialHeader.prefix(8)))
        #expect(try Samples.decode(wrap(raw, count: count, codec: .snappy)).records == expected)
        let xerial = try compress(section, codec: .snappy)
        #expect(try Samples.decode(wrap(xerial, count: count, codec: .snappy)).records == expected)
    }

    @Test("concatenated xerial streams, and blocks of any size, decode as one section, as snappy-java reads them")
    func concatenatedXerialStreams() throws {
        let (section, count, expected) = try plainSection(count: 200)
        let middle = section.count / 3
        let twoStreams = try compress(Array(section[..<middle]), codec: .snappy) + compress(Array(section[middle...]), codec: .snappy)
        #expect(try Samples.decode(wrap(twoStreams, count: count, codec: .snappy)).records == expected)
        // One xerial block holding the whole section (larger than 32 KiB is allowed on read).
        let big = Samples.records(count: 2_000, valueBytes: 100)
        let bigSection = Array(try Samples.batch(big)[RecordBatchHeader.size...])
        let block = try rawSnappy(bigSection)
        let length = ByteMutator.setBigEndian([0, 0, 0, 0], at: 0, Int32(block.count))
        let oneBlock = Self.xerialHeader + length + block
        #expect(try Samples.decode(wrap(oneBlock, count: 2_000, codec: .snappy)).records == Samples.expected(big, baseOffset: 0))
    }

    @Test("a xerial stream whose compatible version is above 1 is refused naming the version")
    func xerialFutureVersion() throws {
        let stream = ByteMutator.setBigEndian(try compress(Array("hello".utf8), codec: .snappy), at: 12, Int32(2))
        guard case .decompressionFailed(.snappy, let reason)? = decompressError(stream, codec: .snappy) else {
            Issue.record("a version-2 stream must be refused")
            return
        }
        #expect(reason.contains("version 2"))
    }

    @Test("concatenated gzip members and members with a file name in the header decode as one section")
    func gzipMembers() throws {
        let (section, count, expected) = try plainSection(count: 200)
        let middle = section.count / 2
        let members = try compress(Array(section[..<middle]), codec: .gzip) + compress(Array(section[middle...]), codec: .gzip)
        #expect(try Samples.decode(wrap(members, count: count, codec: .gzip)).records == expected)
        // FLG.FNAME (bit 3): a zero-terminated name after the 10-byte header, as gzip(1) writes.
        var named = try compress(section, codec: .gzip)
        named[3] |= 0x08
        named.insert(contentsOf: Array("records.bin".utf8) + [0], at: 10)
        #expect(try Samples.decode(wrap(named, count: count, codec: .gzip)).records == expected)
    }

    // MARK: Decompression bombs

    @Test("a gzip stream inflating past decompressedBytesMax is stopped one byte past the limit")
    func gzipBomb() throws {
        let stream = try compress([UInt8](repeating: 0, count: 8 * Self.mebibyte), codec: .gzip)
        #expect(stream.count < 10_000)
        #expect(decompressError(stream, codec: .gzip, limit: Self.mebibyte) == .limitExceeded(
            what: "decompressed records section bytes", value: Self.mebibyte + 1, limit: Self.mebibyte))
        let batch = Samples.rawBatch(section: stream, recordCount: 1, attributes: 1)
        guard case .limitExceeded? = decodeError(batch, limits: FormatLimits(decompressedBytesMax: Self.mebibyte)) else {
            Issue.record("the batch decoder must refuse the gzip bomb with limitExceeded")
            return
        }
        // A lying ISIZE trailer (4 GiB - 1) changes nothing.
        var lying = stream
        for i in 1...4 { lying[lying.count - i] = 0xFF }
        guard case .limitExceeded? = decompressError(lying, codec: .gzip, limit: Self.mebibyte) else {
            Issue.record("a lying ISIZE must not get past the limit")
            return
        }
    }

    @Test("snappy blocks declaring more than decompressedBytesMax in total are refused before any is decompressed")
    func snappyBomb() throws {
        let stream = try compress([UInt8](repeating: 0, count: 2 * Self.mebibyte), codec: .snappy)
        #expect(stream.count < 200_000)
        #expect(decompressError(stream, codec: .snappy, limit: Self.mebibyte) == .limitExceeded(
            what: "decompressed records section bytes (declared by the snappy blocks)", value: Self.mebibyte + 32 << 10, limit: Self.mebibyte))
        let batch = Samples.rawBatch(section: stream, recordCount: 1, attributes: 2)
        guard case .limitExceeded? = decodeError(batch, limits: FormatLimits(decompressedBytesMax: Self.mebibyte)) else {
            Issue.record("the batch decoder must refuse the snappy bomb with limitExceeded")
            return
        }
        // A raw block whose preamble claims 1 GiB behind 3 bytes of data is refused from the
        // preamble alone, raw or framed.
        let liar: [UInt8] = [0x80, 0x80, 0x80, 0x80, 0x04, 0x00, 0x41, 0x42]
        #expect(decompressError(liar, codec: .snappy, limit: Self.mebibyte) == .limitExceeded(
            what: "decompressed records section bytes (declared by the snappy blocks)", value: 1 << 30, limit: Self.mebibyte))
        let framed = Self.xerialHeader + [0, 0, 0, UInt8(liar.count)] + liar
        guard case .limitExceeded? = decompressError(framed, codec: .snappy, limit: Self.mebibyte) else {
            Issue.record("a framed lying block must be refused")
            return
        }
    }

    @Test("output exactly at decompressedBytesMax is accepted and one byte less refused", arguments: [CompressionCodec.gzip, .snappy])
    func exactlyAtLimit(codec: CompressionCodec) throws {
        let input = [UInt8](repeating: 9, count: 100_000)
        let stream = try compress(input, codec: codec)
        #expect(try decompress(stream, codec: codec, limit: 100_000) == input)
        guard case .limitExceeded? = decompressError(stream, codec: codec, limit: 99_999) else {
            Issue.record("one byte over the limit must be refused")
            return
        }
    }

    // MARK: Truncation, corruption, trailing bytes

    @Test("every truncation of a gzip records section gives decompressionFailed")
    func gzipTruncations() throws {
        let (section, count, _) = try plainSection()
        let stream = try compress(section, codec: .gzip)
        for cut in 0..<stream.count {
            guard case .decompressionFailed(.gzip, _)? = decodeError(wrap(Array(stream.prefix(cut)), count: count, codec: .gzip)) else {
                Issue.record("cut at \(cut) of \(stream.count)")
                continue
            }
        }
    }

    @Test("every truncation of a xerial snappy section fails: decompressionFailed, or too few records when cut after the header")
    func snappyTruncations() throws {
        let (section, count, _) = try plainSection()
        let stream = try compress(section, codec: .snappy)
        try #require(xerialBlocks(stream).count == 1)
        for cut in 0..<stream.count {
            let error = decodeError(wrap(Array(stream.prefix(cut)), count: count, codec: .snappy))
            if cut == 16 {
                #expect(error == .recordCountMismatch(declared: count, found: 0))
            } else if case .decompressionFailed(.snappy, _)? = error {
            } else {
                Issue.record("cut at \(cut) of \(stream.count): \(String(describing: error))")
            }
        }
    }

    @Test("a flipped bit in the gzip header, deflate data or trailer gives decompressionFailed naming zlib's error, or changes nothing")
    func gzipCorruption() throws {
        let (section, count, expected) = try plainSection()
        let stream = try compress(section, codec: .gzip)
        var harmless: [Int] = []
        // Bytes 4-9 (modification time, XFL, OS) are informational: gzip readers ignore them.
        for position in Array(0..<4) + Array(10..<stream.count) {
            let damaged = wrap(ByteMutator.flipBit(stream, at: position, bit: position % 8), count: count, codec: .gzip)
            if let batch = try? Samples.decode(damaged) {
                // Only the padding bits after the last deflate block are unused by every reader.
                #expect(batch.records == expected, "flip at \(position) changed the records")
                harmless.append(position)
                continue
            }
            guard case .decompressionFailed(.gzip, let reason)? = decodeError(damaged) else {
                Issue.record("flip at \(position) of \(stream.count): \(String(describing: decodeError(damaged)))")
                continue
            }
            #expect(reason.contains("zlib: "), "\(reason)")
        }
        #expect(harmless.allSatisfy { $0 == stream.count - 9 }, "only the deflate stream's last byte holds padding: \(harmless)")
        guard case .decompressionFailed(.gzip, let reason)? = decompressError(ByteMutator.flipBit(stream, at: stream.count - 6, bit: 1), codec: .gzip) else {
            Issue.record("a bad CRC-32 trailer must fail")
            return
        }
        #expect(reason.contains("incorrect data check") && reason.contains("Z_DATA_ERROR"))
    }

    @Test("a flipped bit in a xerial block length gives decompressionFailed")
    func snappyBlockLengthCorruption() throws {
        let (section, count, _) = try plainSection(count: 500)
        let stream = try compress(section, codec: .snappy)
        let blocks = xerialBlocks(stream)
        try #require(blocks.count > 1)
        for block in blocks {
            for bit in 0..<32 {
                let at = block.offset - 4 + bit / 8
                let damaged = ByteMutator.flipBit(stream, at: at, bit: bit % 8)
                guard case .decompressionFailed(.snappy, _)? = decodeError(wrap(damaged, count: count, codec: .snappy)) else {
                    Issue.record("flip of bit \(bit) of the length of the block at \(block.offset)")
                    continue
                }
            }
        }
    }

    @Test("random bytes are neither gzip nor snappy: refused as corrupt, or for what a snappy preamble claims",
          arguments: [CompressionCodec.gzip, .snappy])
    func randomBytes(codec: CompressionCodec) {
        var random = SplitMix64(seed: 11)
        for _ in 0..<300 {
            let bytes = (0..<2 + random.below(300)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            switch decompressError(bytes, codec: codec, limit: Self.mebibyte) {
            case .decompressionFailed(codec, _)?: continue
            case .limitExceeded?: #expect(codec == .snappy, "only a snappy preamble declares a size up front")
            default: Issue.record("\(bytes.count) random bytes decoded as \(codec)")
            }
        }
    }

    @Test("bytes after the last gzip member or xerial block are refused", arguments: [CompressionCodec.gzip, .snappy])
    func trailingGarbage(codec: CompressionCodec) throws {
        let stream = try compress(Array("hello".utf8), codec: codec)
        guard case .decompressionFailed(codec, let reason)? = decompressError(stream + [1, 2, 3], codec: codec) else {
            Issue.record("trailing garbage must fail")
            return
        }
        #expect(reason.contains(codec == .gzip ? "not another member" : "truncated"), "\(reason)")
        guard case .decompressionFailed(.snappy, _)? = decompressError(try rawSnappy(Array("hello".utf8)) + [1, 2, 3], codec: .snappy) else {
            Issue.record("trailing garbage after a raw snappy block must fail")
            return
        }
    }

    @Test("an empty gzip or snappy section is refused, while an empty input written by Spool decodes to nothing",
          arguments: [CompressionCodec.gzip, .snappy])
    func emptySection(codec: CompressionCodec) throws {
        guard case .decompressionFailed(codec, let reason)? = decompressError([], codec: codec) else {
            Issue.record("an empty section must fail")
            return
        }
        #expect(reason.contains("empty"))
        #expect(try decompress(try compress([], codec: codec), codec: codec) == [])
    }
}
