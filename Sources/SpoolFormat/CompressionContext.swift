internal import CZstd

/// What a writer compresses batches with, and the state it reuses from batch to batch: a zstd
/// compression context or a zlib deflate stream (whose tables cost far more to build than a
/// small batch costs to compress), the scratch space the records section is laid out in, and an optional trained
/// dictionary.
///
/// Not thread-safe: one encode at a time. Writers keep a few in a pool, one per concurrent
/// producer. `@unchecked Sendable` so a pool can hand it from thread to thread.
public final class CompressionContext: @unchecked Sendable {
    public let codec: CompressionCodec
    /// The level in use: zstd's, gzip's or lz4's, clamped to the library's range (0 for snappy).
    public let level: Int
    /// The dictionary every zstd frame is compressed against, when there is one.
    public let dictionary: ZstdDictionary?
    private var zstd: OpaquePointer? = nil
    private var gzip: GzipStream? = nil
    private(set) var scratch = UnsafeMutableRawBufferPointer(start: nil, count: 0)
    /// Scratch space kept between batches; larger sections get a buffer of their own size that
    /// is freed again, so an occasional huge batch does not pin memory.
    static let scratchKeptMax = 4 << 20

    /// - Parameters:
    ///   - level: nil means the codec's default (gzip 6, zstd 3, lz4 fast); snappy has none.
    ///   - dictionary: only with `.zstd`.
    /// - Throws: `.unsupportedCodec` for a codec this build cannot handle;
    ///   `.decompressionFailed(.zstd or .gzip, …)` when zstd or zlib cannot make a context or
    ///   zstd cannot load the dictionary (out of memory).
    public init(codec: CompressionCodec, level: Int? = nil, dictionary: ZstdDictionary? = nil) throws(FormatError) {
        guard codec.isSupported else { throw .unsupportedCodec(codec) }
        precondition(dictionary == nil || codec == .zstd, "a dictionary is for zstd only")
        self.codec = codec
        self.dictionary = dictionary
        switch codec {
        case .zstd:
            let wanted = level ?? BatchCompressor.defaultZstdLevel
            self.level = min(max(wanted, Int(ZSTD_minCLevel())), Int(ZSTD_maxCLevel()))
            guard let context = ZSTD_createCCtx() else {
                throw .decompressionFailed(.zstd, reason: "compression failed: out of memory creating a context")
            }
            zstd = context
            try check(ZSTD_CCtx_setParameter(context, ZSTD_c_compressionLevel, Int32(self.level)))
            // The frame header carries the content size, as in Kafka's frames; the batch CRC
            // already covers the bytes, so no frame checksum.
            try check(ZSTD_CCtx_setParameter(context, ZSTD_c_contentSizeFlag, 1))
            if let dictionary {
                try check(
                    dictionary.bytes.withUnsafeBytes { ZSTD_CCtx_loadDictionary(context, $0.baseAddress, $0.count) })
            }
        case .gzip:
            self.level = GzipStream.clamped(level ?? BatchCompressor.defaultGzipLevel)
            gzip = try GzipStream(.deflate(level: self.level))
        case .snappy, .none:
            self.level = 0
        case .lz4:
            self.level = level ?? BatchCompressor.defaultLZ4Level
        }
    }

    deinit {
        if let zstd { ZSTD_freeCCtx(zstd) }
        scratch.deallocate()
    }

    private func check(_ result: Int) throws(FormatError) {
        if ZSTD_isError(result) != 0 {
            throw .decompressionFailed(
                .zstd, reason: "compression failed: " + String(cString: ZSTD_getErrorName(result)))
        }
    }

    /// Scratch space of at least `count` bytes, valid until the next call.
    func scratch(count: Int) -> UnsafeMutableRawBufferPointer {
        if scratch.count >= count { return UnsafeMutableRawBufferPointer(rebasing: scratch[0..<count]) }
        scratch.deallocate()
        scratch = .allocate(byteCount: max(count, 64 << 10), alignment: 16)
        return UnsafeMutableRawBufferPointer(rebasing: scratch[0..<count])
    }

    /// Gives back an outsized scratch buffer after a batch.
    func trimScratch() {
        if scratch.count > Self.scratchKeptMax {
            scratch.deallocate()
            scratch = UnsafeMutableRawBufferPointer(start: nil, count: 0)
        }
    }

    /// Appends `input` compressed to `out`.
    ///
    /// - Throws: as ``BatchCompressor/compress(_:codec:level:into:)``. `out` is unchanged when it throws.
    func compress(_ input: UnsafeRawBufferPointer, into out: inout [UInt8]) throws(FormatError) {
        if let gzip {
            try gzip.compress(input, into: &out)
            return
        }
        guard codec == .zstd, let zstd else {
            try BatchCompressor.compress(input, codec: codec, level: level, into: &out)
            return
        }
        let bound = ZSTD_compressBound(input.count)
        let start = out.count
        out.append(contentsOf: repeatElement(0, count: bound))
        let written = out.withUnsafeMutableBytes { buffer in
            ZSTD_compress2(zstd, buffer.baseAddress! + start, bound, input.baseAddress, input.count)
        }
        if ZSTD_isError(written) != 0 {
            out.removeSubrange(start...)
            throw .decompressionFailed(
                .zstd, reason: "compression failed: " + String(cString: ZSTD_getErrorName(written)))
        }
        out.removeLast(bound - written)
    }
}
