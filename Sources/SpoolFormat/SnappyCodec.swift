internal import CSnappy

/// snappy (Kafka codec 2) through libsnappy's C API (FORMAT.md, "Compression").
///
/// Kafka clients write the records section in the **xerial framing** of snappy-java's
/// `SnappyOutputStream`: the 8-byte magic `82 53 4E 41 50 50 59 00`, a version and a
/// compatible version (int32 big-endian, both 1), then blocks, each an int32 big-endian length
/// and one raw snappy block of at most 32 KiB uncompressed. Some writers put one raw snappy block
/// there instead; readers (snappy-java, kafka-python, librdkafka) tell them apart by the magic,
/// and so does this one. Stateless: safe from any thread.
enum SnappyCodec {
    static let xerialMagic: [UInt8] = [0x82, 0x53, 0x4E, 0x41, 0x50, 0x50, 0x59, 0x00]
    /// Magic, version, compatible version.
    static let xerialHeaderBytes = 16
    /// What Spool writes in both version fields, as snappy-java does; a stream whose compatible
    /// version is above this is refused.
    static let xerialVersion: Int32 = 1
    /// Uncompressed bytes per block Spool writes: snappy-java's default block size, which
    /// is what Kafka's Java producer uses.
    static let xerialBlockBytes = 32 << 10

    // MARK: Compressing

    /// Appends `input` to `out` in the xerial framing, one block per 32 KiB (an empty input
    /// becomes the 16-byte header alone, which every xerial reader takes as empty).
    ///
    /// - Throws: `.decompressionFailed(.snappy, …)` with a reason starting "compression
    ///   failed" if libsnappy fails (it does not for a buffer of `snappy_max_compressed_length`).
    ///   `out` is unchanged then.
    static func compress(_ input: UnsafeRawBufferPointer, into out: inout [UInt8]) throws(FormatError) {
        let start = out.count
        out.append(contentsOf: xerialMagic)
        appendBigEndian(xerialVersion, to: &out)
        appendBigEndian(xerialVersion, to: &out)
        var position = 0
        while position < input.count {
            let count = min(xerialBlockBytes, input.count - position)
            let bound = snappy_max_compressed_length(count)
            let lengthAt = out.count
            out.append(contentsOf: repeatElement(0, count: 4 + bound))
            var written = bound
            let status = out.withUnsafeMutableBytes { buffer in
                snappy_compress(
                    (input.baseAddress! + position).assumingMemoryBound(to: CChar.self), count,
                    (buffer.baseAddress! + lengthAt + 4).assumingMemoryBound(to: CChar.self), &written)
            }
            guard status == SNAPPY_OK, written <= bound, written <= Int(Int32.max) else {
                out.removeSubrange(start...)
                throw .decompressionFailed(.snappy, reason: "compression failed: " + describe(status))
            }
            out.removeLast(bound - written)
            for i in 0..<4 { out[lengthAt + i] = UInt8(truncatingIfNeeded: written >> (24 - 8 * i)) }
            position += count
        }
    }

    private static func appendBigEndian(_ value: Int32, to out: inout [UInt8]) {
        let bits = UInt32(bitPattern: value)
        for shift in stride(from: 24, through: 0, by: -8) {
            out.append(UInt8(truncatingIfNeeded: bits >> UInt32(shift)))
        }
    }

    // MARK: Decompressing

    /// Decompresses a records section, xerial-framed (when it starts with the magic) or one raw
    /// snappy block, into `output`. Every block's declared length is checked first, so nothing
    /// is decompressed, nor allocated beyond `limit + 1`, when the total exceeds the limit.
    ///
    /// - Throws: `.limitExceeded` when the blocks declare more than the limit;
    ///   `.decompressionFailed(.snappy, …)` for an empty section, a truncated header or block,
    ///   a negative block length, an unknown compatible version, or a block libsnappy refuses
    ///   (`SNAPPY_INVALID_INPUT`).
    static func decompress(
        _ input: UnsafeRawBufferPointer, into output: inout BatchDecompressor.OutputBuffer
    ) throws(FormatError) {
        guard !input.isEmpty else {
            throw .decompressionFailed(.snappy, reason: "the compressed records section is empty")
        }
        let xerial = hasXerialMagic(input, at: 0)
        // Pass 1: framing and declared lengths only.
        var total = 0
        try forEachBlock(input, xerial: xerial) { (block, name) throws(FormatError) in
            let length = try uncompressedLength(block, name: name)
            guard length <= output.limit - total else {
                throw .limitExceeded(
                    what: "decompressed records section bytes (declared by the snappy blocks)",
                    value: total.addingReportingOverflow(length).overflow ? Int.max : total + length,
                    limit: output.limit)
            }
            total += length
        }
        try output.grow(toAtLeast: max(total, 1))
        // Pass 2: decompress into the buffer sized for all of them.
        try forEachBlock(input, xerial: xerial) { (block, name) throws(FormatError) in
            let declared = try uncompressedLength(block, name: name)
            var produced = declared
            let status = snappy_uncompress(
                block.baseAddress!.assumingMemoryBound(to: CChar.self), block.count,
                output.freeSpace!.assumingMemoryBound(to: CChar.self), &produced)
            guard status == SNAPPY_OK, produced == declared else {
                throw .decompressionFailed(.snappy, reason: name + describe(status))
            }
            try output.didWrite(produced)
        }
    }

    /// The length a raw snappy block declares in its preamble.
    private static func uncompressedLength(_ block: UnsafeRawBufferPointer, name: String) throws(FormatError) -> Int {
        var length = 0
        let status =
            block.isEmpty
            ? SNAPPY_INVALID_INPUT
            : snappy_uncompressed_length(block.baseAddress!.assumingMemoryBound(to: CChar.self), block.count, &length)
        guard status == SNAPPY_OK else {
            throw .decompressionFailed(.snappy, reason: name + "no valid length preamble: " + describe(status))
        }
        return length
    }

    /// Calls `body` with each raw snappy block of the section and a name for errors ("" for a
    /// raw section, "xerial block N at byte P: " in a xerial stream). In a xerial stream, a
    /// second header where a block length is expected starts a concatenated stream, as
    /// snappy-java reads it.
    private static func forEachBlock(
        _ input: UnsafeRawBufferPointer, xerial: Bool,
        _ body: (UnsafeRawBufferPointer, String) throws(FormatError) -> Void
    ) throws(FormatError) {
        guard xerial else { return try body(input, "") }
        var position = 0
        var index = 0
        // Each pass consumes a header or a block of at least 4 bytes, or throws.
        while position < input.count {
            if hasXerialMagic(input, at: position) {
                try checkXerialHeader(input, at: position)
                position += xerialHeaderBytes
                continue
            }
            index += 1
            let name = "xerial block \(index) at byte \(position): "
            guard input.count - position >= 4 else {
                throw .decompressionFailed(
                    .snappy, reason: name + "its length field is truncated (\(input.count - position) of 4 bytes)")
            }
            let length = Int(loadInt32(input, at: position))
            let available = input.count - position - 4
            guard length >= 0, length <= available else {
                throw .decompressionFailed(
                    .snappy,
                    reason: name + "declares \(length) bytes, but "
                        + (length < 0 ? "a length cannot be negative" : "only \(available) follow (truncated)"))
            }
            try body(UnsafeRawBufferPointer(rebasing: input[position + 4..<position + 4 + length]), name)
            position += 4 + length
        }
    }

    private static func checkXerialHeader(_ input: UnsafeRawBufferPointer, at position: Int) throws(FormatError) {
        guard input.count - position >= xerialHeaderBytes else {
            throw .decompressionFailed(.snappy, reason: "the xerial header at byte \(position) is truncated")
        }
        let compatible = loadInt32(input, at: position + 12)
        guard compatible <= xerialVersion else {
            throw .decompressionFailed(
                .snappy,
                reason:
                    "the xerial stream needs a reader of framing version \(compatible); this one reads version \(xerialVersion)"
            )
        }
    }

    static func hasXerialMagic(_ input: UnsafeRawBufferPointer, at position: Int) -> Bool {
        input.count - position >= xerialMagic.count
            && xerialMagic.indices.allSatisfy { input[position + $0] == xerialMagic[$0] }
    }

    private static func loadInt32(_ input: UnsafeRawBufferPointer, at position: Int) -> Int32 {
        Int32(bitPattern: (0..<4).reduce(UInt32(0)) { $0 << 8 | UInt32(input[position + $1]) })
    }

    private static func describe(_ status: snappy_status) -> String {
        switch status {
        case SNAPPY_OK: "the block's length differs from its preamble (SNAPPY_OK)"
        case SNAPPY_INVALID_INPUT: "libsnappy: invalid input (SNAPPY_INVALID_INPUT)"
        case SNAPPY_BUFFER_TOO_SMALL: "libsnappy: buffer too small (SNAPPY_BUFFER_TOO_SMALL)"
        default: "libsnappy: status \(status.rawValue)"
        }
    }
}
