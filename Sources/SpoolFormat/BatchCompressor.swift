internal import CLZ4
internal import CZstd

/// Compresses a batch's records section as Kafka clients do (FORMAT.md, "Compression"): a gzip
/// stream (codec 1), xerial-framed snappy (codec 2), an LZ4 frame (codec 3) or a zstd frame
/// (codec 4).
///
/// Each call creates and frees its own library context, so calls are independent and safe from
/// any number of threads at once. (Reusing contexts per writer is a possible later optimisation.)
public enum BatchCompressor {
    /// zstd level used when the caller gives none: zstd's own default (FORMAT.md, "Compression").
    public static let defaultZstdLevel = 3
    /// LZ4 level used when the caller gives none: 0, the fast (non-HC) compressor.
    public static let defaultLZ4Level = 0
    /// gzip level used when the caller gives none: 6, zlib's and Java's `GZIPOutputStream`'s default.
    public static let defaultGzipLevel = GzipStream.defaultLevel

    /// Options of the LZ4 frame written for codec 3. The defaults match what Kafka clients write:
    /// independent 64 KiB blocks, the content size in the frame header, no checksums (the batch
    /// CRC already covers the compressed bytes).
    struct LZ4FrameOptions {
        var blockChecksums = false
        var contentChecksum = false
    }

    /// Appends `input` compressed with `codec` to `out`; `.none` appends it unchanged.
    ///
    /// `level` is clamped to the library's range (gzip 1-9); nil means the codec's default;
    /// snappy ignores it.
    ///
    /// - Throws: `FormatError.unsupportedCodec` for a codec this build cannot handle,
    ///   `FormatError.decompressionFailed` (naming the codec and the library's error, with a
    ///   reason starting "compression failed") if the library fails, which for valid input means
    ///   it ran out of memory. `out` is unchanged when it throws.
    public static func compress(
        _ input: UnsafeRawBufferPointer, codec: CompressionCodec, level: Int? = nil, into out: inout [UInt8]
    ) throws(FormatError) {
        switch codec {
        case .none:
            out.append(contentsOf: input)
        case .gzip:
            try GzipStream(.deflate(level: level ?? defaultGzipLevel)).compress(input, into: &out)
        case .snappy:
            try SnappyCodec.compress(input, into: &out)
        case .lz4:
            try compressLZ4(input, level: level ?? defaultLZ4Level, options: LZ4FrameOptions(), into: &out)
        case .zstd:
            try compressZstd(input, level: level ?? defaultZstdLevel, into: &out)
        }
    }

    static func compressLZ4(
        _ input: UnsafeRawBufferPointer, level: Int, options: LZ4FrameOptions, into out: inout [UInt8]
    ) throws(FormatError) {
        var prefs = LZ4F_preferences_t()
        prefs.frameInfo.blockSizeID = LZ4F_max64KB
        prefs.frameInfo.blockMode = LZ4F_blockIndependent
        prefs.frameInfo.contentChecksumFlag =
            options.contentChecksum ? LZ4F_contentChecksumEnabled : LZ4F_noContentChecksum
        prefs.frameInfo.blockChecksumFlag = options.blockChecksums ? LZ4F_blockChecksumEnabled : LZ4F_noBlockChecksum
        prefs.frameInfo.contentSize = UInt64(input.count)
        prefs.compressionLevel = Int32(clamping: level)
        let bound = LZ4F_compressFrameBound(input.count, &prefs)
        let start = out.count
        out.append(contentsOf: repeatElement(0, count: bound))
        let written = out.withUnsafeMutableBytes { buffer in
            LZ4F_compressFrame(buffer.baseAddress! + start, bound, input.baseAddress, input.count, &prefs)
        }
        if LZ4F_isError(written) != 0 {
            out.removeSubrange(start...)
            throw .decompressionFailed(
                .lz4, reason: "compression failed: " + String(cString: LZ4F_getErrorName(written)))
        }
        out.removeLast(bound - written)
    }

    static func compressZstd(_ input: UnsafeRawBufferPointer, level: Int, into out: inout [UInt8]) throws(FormatError) {
        let clamped = min(max(level, Int(ZSTD_minCLevel())), Int(ZSTD_maxCLevel()))
        let bound = ZSTD_compressBound(input.count)
        let start = out.count
        out.append(contentsOf: repeatElement(0, count: bound))
        let written = out.withUnsafeMutableBytes { buffer in
            ZSTD_compress(buffer.baseAddress! + start, bound, input.baseAddress, input.count, Int32(clamped))
        }
        if ZSTD_isError(written) != 0 {
            out.removeSubrange(start...)
            throw .decompressionFailed(
                .zstd, reason: "compression failed: " + String(cString: ZSTD_getErrorName(written)))
        }
        out.removeLast(bound - written)
    }
}
