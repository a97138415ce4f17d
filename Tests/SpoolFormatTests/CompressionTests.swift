import CLZ4
import CZstd
import SpoolFormat
import SpoolTesting
import Testing

/// lz4 and zstd sections: bounded decompression, truncation, checksums and frames built by hand
/// with the libraries' own options.
struct CompressionTests {
    static let mebibyte = 1 << 20

    private func decompressError(_ input: [UInt8], codec: CompressionCodec, limit: Int) -> FormatError? {
        do {
            _ = try input.withUnsafeBytes { buffer in
                Result { () throws(FormatError) in try BatchDecompressor.decompress(buffer, codec: codec, limit: limit) }
            }.get()
            return nil
        } catch {
            return error
        }
    }

    private func decompress(_ input: [UInt8], codec: CompressionCodec, limit: Int = 64 << 20) throws -> [UInt8] {
        try input.withUnsafeBytes { buffer in
            Result { () throws(FormatError) in try BatchDecompressor.decompress(buffer, codec: codec, limit: limit) }
        }.get()
    }

    private func compress(_ input: [UInt8], codec: CompressionCodec) throws -> [UInt8] {
        var out: [UInt8] = []
        try input.withUnsafeBytes { buffer in
            Result { () throws(FormatError) in try BatchCompressor.compress(buffer, codec: codec, into: &out) }
        }.get()
        return out
    }

    /// A zstd frame made with the streaming API so that it does not declare its content size.
    private func zstdFrameWithoutSize(_ input: [UInt8], windowLog: Int32? = nil) throws -> [UInt8] {
        let context = try #require(ZSTD_createCCtx())
        defer { ZSTD_freeCCtx(context) }
        if let windowLog {
            #expect(ZSTD_isError(ZSTD_CCtx_setParameter(context, ZSTD_c_windowLog, windowLog)) == 0)
        }
        var output = [UInt8](repeating: 0, count: ZSTD_compressBound(input.count) + 1_024)
        var written = 0
        input.withUnsafeBytes { source in
            output.withUnsafeMutableBytes { destination in
                var inBuffer = ZSTD_inBuffer(src: source.baseAddress, size: source.count, pos: 0)
                var outBuffer = ZSTD_outBuffer(dst: destination.baseAddress, size: destination.count, pos: 0)
                // Feeding with "continue" first keeps the size out of the frame header.
                _ = ZSTD_compressStream2(context, &outBuffer, &inBuffer, ZSTD_e_continue)
                var empty = ZSTD_inBuffer(src: nil, size: 0, pos: 0)
                while ZSTD_compressStream2(context, &outBuffer, &empty, ZSTD_e_end) != 0 {}
                written = outBuffer.pos
            }
        }
        let frame = Array(output.prefix(written))
        #expect(frame.withUnsafeBytes { ZSTD_getFrameContentSize($0.baseAddress, $0.count) } == CZSTD_CONTENTSIZE_UNKNOWN)
        return frame
    }

    /// An LZ4 frame with the given options, built with LZ4F preferences.
    private func lz4Frame(
        _ input: [UInt8], contentSize: Bool = true, blockChecksum: Bool = false, contentChecksum: Bool = false
    ) throws -> [UInt8] {
        var prefs = LZ4F_preferences_t()
        prefs.frameInfo.blockSizeID = LZ4F_max64KB
        prefs.frameInfo.blockMode = LZ4F_blockIndependent
        prefs.frameInfo.contentSize = contentSize ? UInt64(input.count) : 0
        prefs.frameInfo.blockChecksumFlag = blockChecksum ? LZ4F_blockChecksumEnabled : LZ4F_noBlockChecksum
        prefs.frameInfo.contentChecksumFlag = contentChecksum ? LZ4F_contentChecksumEnabled : LZ4F_noContentChecksum
        let bound = LZ4F_compressFrameBound(input.count, &prefs)
        var output = [UInt8](repeating: 0, count: bound)
        let written = input.withUnsafeBytes { source in
            output.withUnsafeMutableBytes { LZ4F_compressFrame($0.baseAddress, bound, source.baseAddress, source.count, &prefs) }
        }
        try #require(LZ4F_isError(written) == 0)
        return Array(output.prefix(written))
    }

    /// The uncompressed records section of a valid batch, its record count, and the records it
    /// decodes to inside a batch made by `wrap`.
    private func plainSection(count: Int = 20) throws -> ([UInt8], Int32, [Record]) {
        let inputs = Samples.records(count: count)
        let bytes = try Samples.batch(inputs)
        return (Array(bytes[RecordBatchHeader.size...]), Int32(count), Samples.expected(inputs, baseOffset: 0))
    }

    /// A batch around a (compressed) records section from `plainSection`, with the same base
    /// timestamp as the batch it came from, so timestamps decode unchanged.
    private func wrap(_ section: [UInt8], count: Int32, codec: CompressionCodec) -> [UInt8] {
        let base = Samples.records(count: 1)[0].timestamp
        return Samples.rawBatch(
            section: section, recordCount: count, attributes: Int16(codec.rawValue),
            baseTimestamp: base, maxTimestamp: base)
    }

    // MARK: Decompression bombs

    @Test("a zstd frame declaring more than decompressedBytesMax is refused before anything is decoded")
    func zstdDeclaredBomb() throws {
        let frame = try compress([UInt8](repeating: 0, count: 2 * Self.mebibyte), codec: .zstd)
        #expect(frame.count < 1_000)
        #expect(decompressError(frame, codec: .zstd, limit: Self.mebibyte) == .limitExceeded(
            what: "decompressed records section bytes (declared by the zstd frame)", value: 2 * Self.mebibyte, limit: Self.mebibyte))
        let batch = Samples.rawBatch(section: frame, recordCount: 1, attributes: 4)
        guard case .limitExceeded = decodeError(batch, limits: FormatLimits(decompressedBytesMax: Self.mebibyte)) else {
            Issue.record("the batch decoder must refuse the bomb with limitExceeded")
            return
        }
    }

    @Test("a zstd frame that does not declare its size is stopped one byte past decompressedBytesMax")
    func zstdStreamingBomb() throws {
        let frame = try zstdFrameWithoutSize([UInt8](repeating: 0, count: 8 * Self.mebibyte))
        #expect(decompressError(frame, codec: .zstd, limit: Self.mebibyte) == .limitExceeded(
            what: "decompressed records section bytes", value: Self.mebibyte + 1, limit: Self.mebibyte))
        // Under a large enough limit the same frame decodes in full.
        #expect(try decompress(frame, codec: .zstd, limit: 8 * Self.mebibyte).count == 8 * Self.mebibyte)
    }

    @Test("a zstd frame asking for a window far beyond the limit is refused instead of allocated")
    func zstdHugeWindow() throws {
        let frame = try zstdFrameWithoutSize(Array("small".utf8), windowLog: 30)
        guard case .decompressionFailed(.zstd, let reason) = decompressError(frame, codec: .zstd, limit: 64 << 20) else {
            Issue.record("expected zstd to refuse the window")
            return
        }
        #expect(reason.lowercased().contains("memory"))
    }

    @Test("an lz4 frame declaring more than decompressedBytesMax is refused before anything is decoded")
    func lz4DeclaredBomb() throws {
        let frame = try compress([UInt8](repeating: 0, count: 2 * Self.mebibyte), codec: .lz4)
        #expect(decompressError(frame, codec: .lz4, limit: Self.mebibyte) == .limitExceeded(
            what: "decompressed records section bytes (declared by the lz4 frame)", value: 2 * Self.mebibyte, limit: Self.mebibyte))
    }

    @Test("an lz4 frame that does not declare its size is stopped one byte past decompressedBytesMax")
    func lz4StreamingBomb() throws {
        let frame = try lz4Frame([UInt8](repeating: 0, count: 4 * Self.mebibyte), contentSize: false)
        #expect(decompressError(frame, codec: .lz4, limit: Self.mebibyte) == .limitExceeded(
            what: "decompressed records section bytes", value: Self.mebibyte + 1, limit: Self.mebibyte))
        #expect(try decompress(frame, codec: .lz4).count == 4 * Self.mebibyte)
    }

    @Test("output exactly at decompressedBytesMax is accepted", arguments: [CompressionCodec.lz4, .zstd])
    func exactlyAtLimit(codec: CompressionCodec) throws {
        let input = [UInt8](repeating: 9, count: 100_000)
        #expect(try decompress(try compress(input, codec: codec), codec: codec, limit: 100_000) == input)
        let unsized = codec == .lz4 ? try lz4Frame(input, contentSize: false) : try zstdFrameWithoutSize(input)
        #expect(try decompress(unsized, codec: codec, limit: 100_000) == input)
        #expect(decompressError(unsized, codec: codec, limit: 99_999) != nil)
    }

    // MARK: Truncation and corruption

    @Test("every truncation of an lz4 or zstd records section gives decompressionFailed", arguments: [CompressionCodec.lz4, .zstd])
    func truncatedSections(codec: CompressionCodec) throws {
        let (section, count, _) = try plainSection()
        let frame = try compress(section, codec: codec)
        for cut in 0..<frame.count {
            let batch = wrap(Array(frame.prefix(cut)), count: count, codec: codec)
            guard case .decompressionFailed(codec, _) = decodeError(batch) else {
                Issue.record("cut at \(cut) of \(frame.count): \(String(describing: decodeError(batch)))")
                continue
            }
        }
    }

    @Test("an lz4 frame with block and content checksums decodes, and a flipped checksum byte is caught")
    func lz4Checksums() throws {
        let (section, count, expected) = try plainSection()
        let frame = try lz4Frame(section, blockChecksum: true, contentChecksum: true)
        #expect(try Samples.decode(wrap(frame, count: count, codec: .lz4)).records == expected)

        // Layout: 4 magic, FLG, BD, 8 content size, HC = 15 bytes; then one block: 4-byte size
        // (little-endian, high bit = stored uncompressed), data, 4-byte block checksum; then the
        // 4-byte end mark and the 4-byte content checksum.
        let headerBytes = 15
        let blockSize = Int(frame[headerBytes..<(headerBytes + 4)].reversed().reduce(0) { $0 << 8 | UInt32($1) } & 0x7FFF_FFFF)
        let blockChecksumAt = headerBytes + 4 + blockSize
        try #require(blockChecksumAt + 4 + 4 + 4 == frame.count, "expected a single block")

        let badBlockChecksum = ByteMutator.flipBit(frame, at: blockChecksumAt + 1, bit: 2)
        guard case .decompressionFailed(.lz4, let reason) = decodeError(wrap(badBlockChecksum, count: count, codec: .lz4))
        else {
            Issue.record("a bad block checksum must fail")
            return
        }
        #expect(reason.contains("blockChecksum"))

        let badContentChecksum = ByteMutator.flipBit(frame, at: frame.count - 2, bit: 5)
        guard case .decompressionFailed(.lz4, let contentReason) = decompressError(badContentChecksum, codec: .lz4, limit: 1 << 20) else {
            Issue.record("a bad content checksum must fail")
            return
        }
        #expect(contentReason.contains("contentChecksum"))

        let badData = ByteMutator.flipBit(frame, at: headerBytes + 4 + blockSize / 2, bit: 0)
        guard case .decompressionFailed(.lz4, _) = decompressError(badData, codec: .lz4, limit: 1 << 20) else {
            Issue.record("corrupt block data under a block checksum must fail")
            return
        }
    }

    @Test("bytes after the last frame are refused", arguments: [CompressionCodec.lz4, .zstd])
    func trailingGarbage(codec: CompressionCodec) throws {
        let frame = try compress(Array("hello".utf8), codec: codec)
        guard case .decompressionFailed(codec, _) = decompressError(frame + [1, 2, 3, 4, 5, 6, 7, 8], codec: codec, limit: 1_000) else {
            Issue.record("trailing garbage must fail")
            return
        }
    }

    @Test("random bytes are not a frame", arguments: [CompressionCodec.lz4, .zstd])
    func notAFrame(codec: CompressionCodec) {
        var random = SplitMix64(seed: 5)
        for _ in 0..<200 {
            let bytes = (0..<random.below(200)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            guard case .decompressionFailed(codec, _) = decompressError(bytes, codec: codec, limit: 1 << 20) else {
                Issue.record("random bytes decoded as \(codec)")
                continue
            }
        }
    }

    // MARK: Frames from other writers

    @Test("two concatenated frames are read as one records section, as a streaming writer may produce", arguments: [CompressionCodec.lz4, .zstd])
    func concatenatedFrames(codec: CompressionCodec) throws {
        let (section, count, expected) = try plainSection()
        let middle = section.count / 2
        let frames = try compress(Array(section[..<middle]), codec: codec) + compress(Array(section[middle...]), codec: codec)
        #expect(try Samples.decode(wrap(frames, count: count, codec: codec)).records == expected)
    }

    @Test("frames without a declared size decode inside a batch", arguments: [CompressionCodec.lz4, .zstd])
    func unsizedFramesInBatch(codec: CompressionCodec) throws {
        let (section, count, expected) = try plainSection(count: 200)
        let frame = codec == .lz4 ? try lz4Frame(section, contentSize: false) : try zstdFrameWithoutSize(section)
        #expect(try Samples.decode(wrap(frame, count: count, codec: codec)).records == expected)
    }

    @Test("empty input compresses to a frame that decompresses to nothing, while an empty section is refused",
          arguments: [CompressionCodec.lz4, .zstd])
    func emptyInput(codec: CompressionCodec) throws {
        let frame = try compress([], codec: codec)
        #expect(!frame.isEmpty)
        #expect(try decompress(frame, codec: codec) == [])
        guard case .decompressionFailed(codec, _) = decompressError([], codec: codec, limit: 100) else {
            Issue.record("an empty compressed section must fail")
            return
        }
    }

    @Test("the none codec passes bytes through within the limit")
    func noneCodec() throws {
        #expect(try compress([1, 2, 3], codec: .none) == [1, 2, 3])
        #expect(try decompress([1, 2, 3], codec: .none) == [1, 2, 3])
        #expect(decompressError([1, 2, 3], codec: .none, limit: 2) == .limitExceeded(
            what: "decompressed records section bytes", value: 3, limit: 2))
    }

    private func decodeError(_ bytes: [UInt8], limits: FormatLimits = .default) -> FormatError? {
        do {
            _ = try Samples.decode(bytes, limits: limits)
            return nil
        } catch {
            return error
        }
    }
}
