internal import CLZ4
internal import CZstd

/// What a reader keeps from batch to batch so that decompressing costs no allocation: the lz4,
/// zstd and zlib (gzip) library contexts, the output buffer (bounded by the caller's
/// `decompressedBytesMax`), and where to find trained zstd dictionaries by id.
///
/// Not thread-safe: one decode at a time (each `LogReader` owns one). `@unchecked Sendable` so
/// a reader can move between threads.
public final class DecompressionContext: @unchecked Sendable {
    /// Returns the dictionary with the given id, or nil when there is none (the batch then
    /// fails with `FormatError.dictionaryMissing`). Called only for frames that name one.
    public let dictionaries: @Sendable (UInt32) -> ZstdDictionary?
    /// Batches this context has decompressed: lets a test prove a batch is decompressed once.
    public internal(set) var batchesDecompressed = 0
    var output = BatchDecompressor.OutputBuffer(limit: 0)
    private var zstd: OpaquePointer? = nil
    private var lz4: OpaquePointer? = nil
    private var gzip: GzipStream? = nil
    /// Output memory kept between batches; a larger batch's buffer is freed after it.
    static let outputKeptMax = 8 << 20

    public init(dictionaries: @escaping @Sendable (UInt32) -> ZstdDictionary? = { _ in nil }) {
        self.dictionaries = dictionaries
    }

    deinit {
        output.free()
        if let zstd { ZSTD_freeDCtx(zstd) }
        if let lz4 { LZ4F_freeDecompressionContext(lz4) }
    }

    /// The zstd context, made on first use.
    /// - Throws: `.decompressionFailed(.zstd, …)` when zstd cannot allocate it.
    func zstdContext() throws(FormatError) -> OpaquePointer {
        if let zstd { return zstd }
        guard let made = ZSTD_createDCtx() else {
            throw .decompressionFailed(.zstd, reason: "out of memory creating a decompression context")
        }
        zstd = made
        return made
    }

    /// The zlib inflate stream for gzip, made on first use.
    /// - Throws: `.decompressionFailed(.gzip, …)` when zlib cannot allocate it.
    func gzipStream() throws(FormatError) -> GzipStream {
        if let gzip { return gzip }
        let made = try GzipStream(.inflate)
        gzip = made
        return made
    }

    /// The lz4 frame context, made on first use.
    /// - Throws: `.decompressionFailed(.lz4, …)` when lz4 cannot allocate it.
    func lz4Context() throws(FormatError) -> OpaquePointer {
        if let lz4 { return lz4 }
        var made: OpaquePointer?
        let created = LZ4F_createDecompressionContext(&made, UInt32(LZ4F_VERSION))
        guard LZ4F_isError(created) == 0, let made else {
            throw .decompressionFailed(.lz4, reason: "out of memory creating a decompression context")
        }
        lz4 = made
        return made
    }
}
