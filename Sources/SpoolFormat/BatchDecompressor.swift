internal import CLZ4
internal import CZstd

/// Decompresses a batch's records section (FORMAT.md, "Compression"): gzip, snappy (raw or
/// xerial-framed), lz4 frame or zstd frame, without ever holding more than `limit + 1` output
/// bytes, so a decompression bomb is refused before it can exhaust memory.
///
/// The output buffer starts at the size the frame header declares (when it declares one and it
/// is within the limit; for snappy, the sum of its blocks' declared lengths, checked before any
/// is decompressed) or at a guess, and doubles up to `limit + 1` bytes; producing more than
/// `limit` bytes throws. zstd's window is capped too (FORMAT.md, "Compression"), so the library's
/// own allocation stays bounded. Truncated, corrupt or trailing-garbage input throws.
///
/// Each call creates and frees its own library context, so calls are independent and safe from
/// any number of threads at once.
public enum BatchDecompressor {
    /// The initial output guess for frames that do not declare their size: this many times
    /// the input, at least 64 KiB, never above the limit.
    static let growthGuessFactor = 4
    static let minimumInitialCapacity = 64 << 10
    /// zstd windows up to 2^23 bytes (8 MiB) are accepted even under a smaller limit, so frames
    /// from streaming compressors (window 2^21 at level 3) decode under small limits too.
    /// FORMAT.md, "Compression".
    static let zstdMinimumWindowLog = 23
    /// zstd's largest window on 64-bit systems (ZSTD_WINDOWLOG_MAX_64). FORMAT.md, "Compression".
    static let zstdMaximumWindowLog = 31

    /// Decompresses `input` (a whole records section) and returns the records bytes.
    ///
    /// `.none` returns a copy of `input` (after checking it against `limit`).
    ///
    /// - Throws: `FormatError.limitExceeded` when the frame declares or produces more than
    ///   `limit` bytes, `FormatError.decompressionFailed` with the library's error name for
    ///   corrupt, truncated or trailing-garbage input.
    public static func decompress(
        _ input: UnsafeRawBufferPointer, codec: CompressionCodec, limit: Int
    ) throws(FormatError) -> [UInt8] {
        try withDecompressed(input, codec: codec, limit: limit) { bytes throws(FormatError) in Array(bytes) }
    }

    /// Decompresses `input` into a temporary buffer and passes it to `body`; the buffer is freed
    /// when `body` returns. This is how the batch decoder reads records without another copy.
    static func withDecompressed<R>(
        _ input: UnsafeRawBufferPointer, codec: CompressionCodec, limit: Int,
        context: DecompressionContext? = nil,
        _ body: (UnsafeRawBufferPointer) throws(FormatError) -> R
    ) throws(FormatError) -> R {
        switch codec {
        case .none:
            guard input.count <= limit else {
                throw .limitExceeded(what: "decompressed records section bytes", value: input.count, limit: limit)
            }
            return try body(input)
        case .gzip, .snappy, .lz4, .zstd:
            break
        }
        guard let context else {
            let temporary = DecompressionContext()
            return try withDecompressed(input, codec: codec, limit: limit, context: temporary, body)
        }
        context.output.reset(limit: limit)
        defer { context.output.trim(keepingAtMost: DecompressionContext.outputKeptMax) }
        switch codec {
        case .gzip: try context.gzipStream().decompress(input, into: &context.output)
        case .snappy: try SnappyCodec.decompress(input, into: &context.output)
        case .lz4: try decompressLZ4(input, into: &context.output, dctx: try context.lz4Context())
        case .zstd:
            try decompressZstd(
                input, into: &context.output, dctx: try context.zstdContext(), dictionaries: context.dictionaries)
        case .none: preconditionFailure("codec none returns before a context is used")
        }
        context.batchesDecompressed += 1
        return try body(context.output.bytes)
    }

    // MARK: zstd

    private static func decompressZstd(
        _ input: UnsafeRawBufferPointer, into output: inout OutputBuffer, dctx context: OpaquePointer,
        dictionaries: (UInt32) -> ZstdDictionary?
    ) throws(FormatError) {
        guard !input.isEmpty, let source = input.baseAddress else {
            throw .decompressionFailed(.zstd, reason: "the compressed records section is empty")
        }
        let declared = ZSTD_getFrameContentSize(source, input.count)
        if declared == CZSTD_CONTENTSIZE_ERROR {
            throw .decompressionFailed(.zstd, reason: "not a zstd frame, or its frame header is truncated or corrupt")
        }
        if declared != CZSTD_CONTENTSIZE_UNKNOWN {
            guard declared <= UInt64(output.limit) else {
                throw .limitExceeded(
                    what: "decompressed records section bytes (declared by the zstd frame)",
                    value: Int(clamping: declared), limit: output.limit)
            }
        }
        let guess = declared != CZSTD_CONTENTSIZE_UNKNOWN ? Int(declared) : initialGuess(input.count)
        try output.grow(toAtLeast: max(guess, 1))

        ZSTD_DCtx_reset(context, ZSTD_reset_session_only)
        let windowLog = min(max(bitsNeeded(output.limit), zstdMinimumWindowLog), zstdMaximumWindowLog)
        let set = ZSTD_DCtx_setParameter(context, ZSTD_d_windowLogMax, Int32(windowLog))
        if ZSTD_isError(set) != 0 {
            throw .decompressionFailed(.zstd, reason: String(cString: ZSTD_getErrorName(set)))
        }
        // A frame made with a trained dictionary names it (FORMAT.md, "Zstd dictionaries").
        let dictionaryID = ZSTD_getDictID_fromFrame(source, input.count)
        var dictionary: ZstdDictionary? = nil
        if dictionaryID != 0 {
            guard let found = dictionaries(dictionaryID), found.id == dictionaryID else {
                throw .dictionaryMissing(id: dictionaryID)
            }
            dictionary = found
        }
        let referenced = ZSTD_DCtx_refDDict(context, dictionary?.ddict)
        if ZSTD_isError(referenced) != 0 {
            throw .decompressionFailed(.zstd, reason: String(cString: ZSTD_getErrorName(referenced)))
        }
        // The DDict must outlive the decompression that references it.
        defer { withExtendedLifetime(dictionary) {} }

        var inBuffer = ZSTD_inBuffer(src: source, size: input.count, pos: 0)
        while true {
            if output.isFull { try output.grow() }
            let before = (input: inBuffer.pos, output: output.count)
            var outBuffer = ZSTD_outBuffer(dst: output.freeSpace, size: output.freeCount, pos: 0)
            let hint = ZSTD_decompressStream(context, &outBuffer, &inBuffer)
            if ZSTD_isError(hint) != 0 {
                throw .decompressionFailed(.zstd, reason: String(cString: ZSTD_getErrorName(hint)))
            }
            try output.didWrite(outBuffer.pos)
            let inputDone = inBuffer.pos == inBuffer.size
            if hint == 0 && inputDone { return }
            if inputDone && !output.isFull {
                throw .decompressionFailed(.zstd, reason: "the zstd frame is truncated")
            }
            if inBuffer.pos == before.input && output.count == before.output && !output.isFull {
                throw .decompressionFailed(.zstd, reason: "the decoder made no progress")
            }
        }
    }

    // MARK: LZ4 frame

    private static func decompressLZ4(
        _ input: UnsafeRawBufferPointer, into output: inout OutputBuffer, dctx context: OpaquePointer
    ) throws(FormatError) {
        guard !input.isEmpty, let source = input.baseAddress else {
            throw .decompressionFailed(.lz4, reason: "the compressed records section is empty")
        }
        LZ4F_resetDecompressionContext(context)

        // Read the frame header first: it may declare the content size, which sizes the buffer
        // exactly and lets a bomb be refused before decoding anything.
        var info = LZ4F_frameInfo_t()
        var consumed = input.count
        let headerResult = LZ4F_getFrameInfo(context, &info, source, &consumed)
        if LZ4F_isError(headerResult) != 0 {
            throw .decompressionFailed(.lz4, reason: String(cString: LZ4F_getErrorName(headerResult)))
        }
        if info.contentSize > UInt64(output.limit) {
            throw .limitExceeded(
                what: "decompressed records section bytes (declared by the lz4 frame)",
                value: Int(clamping: info.contentSize), limit: output.limit)
        }
        let guess = info.contentSize != 0 ? Int(info.contentSize) : initialGuess(input.count)
        try output.grow(toAtLeast: max(guess, 1))

        var position = consumed
        var hint = headerResult
        while true {
            if hint == 0 && position == input.count { return }
            if output.isFull { try output.grow() }
            var produced = output.freeCount
            var taken = input.count - position
            hint = LZ4F_decompress(context, output.freeSpace, &produced, source + position, &taken, nil)
            if LZ4F_isError(hint) != 0 {
                throw .decompressionFailed(.lz4, reason: String(cString: LZ4F_getErrorName(hint)))
            }
            position += taken
            try output.didWrite(produced)
            let inputDone = position == input.count
            if hint == 0 && inputDone { return }
            if hint != 0 && inputDone && !output.isFull {
                throw .decompressionFailed(.lz4, reason: "the lz4 frame is truncated")
            }
            if taken == 0 && produced == 0 && !output.isFull {
                throw .decompressionFailed(.lz4, reason: "the decoder made no progress")
            }
        }
    }

    // MARK: Helpers

    static func initialGuess(_ inputCount: Int) -> Int {
        let (scaled, overflow) = inputCount.multipliedReportingOverflow(by: growthGuessFactor)
        return max(overflow ? Int.max : scaled, minimumInitialCapacity)
    }

    /// The number of bits needed to represent `value` (its base-2 logarithm, rounded up).
    private static func bitsNeeded(_ value: Int) -> Int {
        value <= 1 ? 0 : Int.bitWidth - (value - 1).leadingZeroBitCount
    }

    /// A growable output allocation capped at `limit + 1` bytes: reaching the extra byte proves
    /// the output is larger than the limit. Owned by one ``DecompressionContext`` and reused
    /// from batch to batch.
    struct OutputBuffer {
        private(set) var limit: Int
        private(set) var base: UnsafeMutableRawPointer?
        private(set) var capacity = 0
        private(set) var count = 0

        init(limit: Int) {
            self.limit = max(limit, 0)
        }

        /// Empties the buffer for the next batch, keeping its memory.
        mutating func reset(limit: Int) {
            self.limit = max(limit, 0)
            count = 0
        }

        /// Frees the memory when it grew past `bytes`, so one huge batch does not pin it.
        mutating func trim(keepingAtMost bytes: Int) {
            if capacity > bytes { free() }
        }

        var isFull: Bool { count == capacity }
        var freeSpace: UnsafeMutableRawPointer? { base.map { $0 + count } }
        var freeCount: Int { capacity - count }
        var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

        /// Grows to at least `minimum` bytes, or doubles when no minimum is given; never beyond
        /// `limit + 1`.
        ///
        /// - Throws: `.limitExceeded` when the buffer is already at `limit + 1`.
        mutating func grow(toAtLeast minimum: Int = 0) throws(FormatError) {
            if minimum > 0 && capacity >= minimum { return }
            let ceiling = limit == Int.max ? limit : limit + 1
            guard capacity < ceiling else {
                throw .limitExceeded(what: "decompressed records section bytes", value: count, limit: limit)
            }
            let doubled = capacity > ceiling / 2 ? ceiling : max(capacity * 2, 1)
            let target = min(max(minimum, doubled), ceiling)
            let grown = UnsafeMutableRawPointer.allocate(byteCount: target, alignment: 16)
            if let base {
                grown.copyMemory(from: base, byteCount: count)
                base.deallocate()
            }
            base = grown
            capacity = target
        }

        /// Records `written` new bytes at `freeSpace`.
        ///
        /// - Throws: `.limitExceeded` once more than `limit` bytes have been produced.
        mutating func didWrite(_ written: Int) throws(FormatError) {
            precondition(written >= 0 && written <= freeCount, "decompressor wrote outside its buffer")
            count += written
            guard count <= limit else {
                throw .limitExceeded(what: "decompressed records section bytes", value: count, limit: limit)
            }
        }

        mutating func free() {
            base?.deallocate()
            base = nil
            capacity = 0
            count = 0
        }
    }
}
