internal import CZlib

/// gzip (Kafka codec 1) through zlib (FORMAT.md, "Compression"): a records section is a gzip
/// stream, one member or several concatenated, as Java's `GZIPOutputStream` and kafka-python
/// write it.
///
/// A `GzipStream` owns one zlib stream (inflate or deflate) and is reset between batches, so a
/// reader or a writer pays zlib's setup once. Not thread-safe: one batch at a time.
final class GzipStream {
    /// zlib's windowBits for the gzip wrapper alone: a 2^15-byte window, plus 16 for gzip
    /// (no zlib or raw deflate streams).
    static let gzipWindowBits: Int32 = 15 + 16
    /// The level `GZIPOutputStream` uses and zlib means by Z_DEFAULT_COMPRESSION.
    static let defaultLevel = 6
    static let levels = 1...9
    /// Deflate's worst ratio is about 1032:1: a declared size (ISIZE) beyond this many times
    /// the input is a lie, and is not used to size the output.
    static let maximumRatio = 1_032

    enum Mode {
        case inflate
        case deflate(level: Int)
    }

    let stream: UnsafeMutablePointer<z_stream>
    private let mode: Mode

    /// - Throws: `.decompressionFailed(.gzip, …)` when zlib cannot set up the stream (out of
    ///   memory); the reason starts "compression failed" for a deflate stream.
    init(_ mode: Mode) throws(FormatError) {
        stream = try Self.makeStream(mode)
        self.mode = mode
    }

    /// A z_stream set up for `mode`, or freed again when zlib refuses.
    private static func makeStream(_ mode: Mode) throws(FormatError) -> UnsafeMutablePointer<z_stream> {
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        let code: Int32
        switch mode {
        case .inflate: code = czlib_inflateInit2(stream, gzipWindowBits)
        case .deflate(let level): code = czlib_deflateInit2(stream, Int32(clamped(level)), gzipWindowBits)
        }
        guard code == Z_OK else {
            let reason = describe(code, stream)
            stream.deallocate()
            if case .deflate = mode { throw .decompressionFailed(.gzip, reason: "compression failed: " + reason) }
            throw .decompressionFailed(.gzip, reason: reason)
        }
        return stream
    }

    deinit {
        switch mode {
        case .inflate: inflateEnd(stream)
        case .deflate: deflateEnd(stream)
        }
        stream.deallocate()
    }

    static func clamped(_ level: Int) -> Int { min(max(level, levels.lowerBound), levels.upperBound) }

    /// zlib's message for a failed call, with the code's name: "invalid block type (Z_DATA_ERROR)".
    static func describe(_ code: Int32, _ stream: UnsafeMutablePointer<z_stream>) -> String {
        let message = stream.pointee.msg.map { String(cString: $0) } ?? String(cString: zError(code))
        let names: [Int32: String] = [
            Z_NEED_DICT: "Z_NEED_DICT", Z_ERRNO: "Z_ERRNO", Z_STREAM_ERROR: "Z_STREAM_ERROR",
            Z_DATA_ERROR: "Z_DATA_ERROR", Z_MEM_ERROR: "Z_MEM_ERROR", Z_BUF_ERROR: "Z_BUF_ERROR",
            Z_VERSION_ERROR: "Z_VERSION_ERROR",
        ]
        return "zlib: \(message) (\(names[code] ?? "code \(code)"))"
    }

    // MARK: Compressing

    /// Appends `input` as one gzip member to `out` (deflate, this stream's level).
    ///
    /// - Throws: `.decompressionFailed(.gzip, …)` with a reason starting "compression failed"
    ///   when zlib fails (out of memory) or the input exceeds 4 GiB. `out` is unchanged then.
    func compress(_ input: UnsafeRawBufferPointer, into out: inout [UInt8]) throws(FormatError) {
        guard input.count <= Int(UInt32.max) else {
            throw .decompressionFailed(
                .gzip, reason: "compression failed: \(input.count) bytes exceed zlib's 4 GiB per call")
        }
        let reset = deflateReset(stream)
        guard reset == Z_OK else {
            throw .decompressionFailed(.gzip, reason: "compression failed: " + Self.describe(reset, stream))
        }
        let bound = Int(deflateBound(stream, uLong(input.count)))
        let start = out.count
        out.append(contentsOf: repeatElement(0, count: bound))
        let stream = self.stream
        let (code, left) = out.withUnsafeMutableBytes { buffer -> (Int32, Int) in
            stream.pointee.next_in = UnsafeMutablePointer(
                mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
            stream.pointee.avail_in = uInt(input.count)
            stream.pointee.next_out = (buffer.baseAddress! + start).assumingMemoryBound(to: Bytef.self)
            stream.pointee.avail_out = uInt(bound)
            // With deflateBound's room, one Z_FINISH call writes the whole member.
            let code = deflate(stream, Z_FINISH)
            return (code, Int(stream.pointee.avail_out))
        }
        guard code == Z_STREAM_END else {
            out.removeSubrange(start...)
            throw .decompressionFailed(.gzip, reason: "compression failed: " + Self.describe(code, stream))
        }
        out.removeLast(left)
    }

    // MARK: Decompressing

    /// Inflates the gzip members in `input` into `output`, which never grows past its
    /// `limit + 1` bytes.
    ///
    /// - Throws: `.limitExceeded` past the limit; `.decompressionFailed(.gzip, …)` naming zlib's
    ///   error for an empty, truncated or corrupt stream (bad header, bad data, a CRC-32 or
    ///   length in a member's trailer that disagrees) and for bytes after the last member that
    ///   are not another member.
    func decompress(
        _ input: UnsafeRawBufferPointer, into output: inout BatchDecompressor.OutputBuffer
    ) throws(FormatError) {
        guard !input.isEmpty, let source = input.baseAddress else {
            throw .decompressionFailed(.gzip, reason: "the compressed records section is empty")
        }
        guard input.count <= Int(UInt32.max) else {
            throw .decompressionFailed(.gzip, reason: "\(input.count) bytes exceed zlib's 4 GiB per call")
        }
        try output.grow(toAtLeast: max(Self.sizeGuess(input, limit: output.limit), 1))
        var position = 0
        var member = 0
        // Each pass of the outer loop consumes at least a member's header, or throws.
        while position < input.count {
            if member > 0 && !Self.startsMember(input, at: position) {
                throw .decompressionFailed(
                    .gzip,
                    reason:
                        "\(input.count - position) bytes after the last gzip member (at byte \(position) of the section) are not another member"
                )
            }
            let reset = inflateReset(stream)
            guard reset == Z_OK else { throw .decompressionFailed(.gzip, reason: Self.describe(reset, stream)) }
            stream.pointee.next_in = UnsafeMutablePointer(
                mutating: (source + position).assumingMemoryBound(to: Bytef.self))
            stream.pointee.avail_in = uInt(input.count - position)
            try inflateMember(member: member, at: position, into: &output)
            position = input.count - Int(stream.pointee.avail_in)
            member += 1
        }
    }

    /// Inflates one member from the stream's current input up to its trailer.
    private func inflateMember(
        member: Int, at position: Int, into output: inout BatchDecompressor.OutputBuffer
    ) throws(FormatError) {
        let whose = member == 0 ? "" : "member \(member + 1) (at byte \(position) of the section): "
        // Every pass produces output, consumes input or ends; the output is bounded by the limit.
        while true {
            if output.isFull { try output.grow() }
            let room = min(output.freeCount, Int(UInt32.max))
            let inputBefore = stream.pointee.avail_in
            stream.pointee.next_out = output.freeSpace!.assumingMemoryBound(to: Bytef.self)
            stream.pointee.avail_out = uInt(room)
            let code = inflate(stream, Z_NO_FLUSH)
            let produced = room - Int(stream.pointee.avail_out)
            try output.didWrite(produced)
            switch code {
            case Z_STREAM_END:
                return
            case Z_OK, Z_BUF_ERROR:
                let roomLeft = stream.pointee.avail_out > 0
                if stream.pointee.avail_in == 0 && roomLeft {
                    throw .decompressionFailed(
                        .gzip, reason: whose + "the gzip stream is truncated (zlib: it needs more input)")
                }
                if produced == 0 && stream.pointee.avail_in == inputBefore && roomLeft {
                    throw .decompressionFailed(
                        .gzip, reason: whose + "the decoder made no progress; " + Self.describe(code, stream))
                }
            default:
                throw .decompressionFailed(.gzip, reason: whose + Self.describe(code, stream))
            }
        }
    }

    /// Whether the bytes at `position` begin a gzip member (ID1 0x1f, ID2 0x8b).
    static func startsMember(_ input: UnsafeRawBufferPointer, at position: Int) -> Bool {
        input.count - position >= 2 && input[position] == 0x1f && input[position + 1] == 0x8b
    }

    /// The output size to start from: a single member's ISIZE trailer (its length modulo 2^32)
    /// when it is plausible and within the limit, else the usual guess.
    static func sizeGuess(_ input: UnsafeRawBufferPointer, limit: Int) -> Int {
        let fallback = min(BatchDecompressor.initialGuess(input.count), limit)
        guard input.count >= 18 else { return fallback }
        let end = input.count
        let size = (0..<4).reduce(0) { $0 | Int(input[end - 4 + $1]) << (8 * $1) }
        guard size > 0, size <= limit, size / maximumRatio <= input.count else { return fallback }
        return size
    }
}
