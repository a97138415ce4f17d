import SpoolFormat

/// The check an already-encoded append passes before the writer takes it (a Kafka Produce's
/// records, for `spool serve`): whole RecordBatch v2 batches back to back, each with a sound
/// header and CRC, records that decode within the root's limits, and none transactional or a
/// control batch (Spool does not write transactions: FORMAT.md, "Control batches and
/// transactions"). Their base offsets are not checked: the writer stamps them.
///
/// Stateless; thread-safe.
enum EncodedBatches {
    /// Checks `bytes`; returns the number of batches and of offsets they take.
    /// - Throws: `.invalidArgument` for no bytes, a transactional or control batch, or bytes
    ///   after the last whole batch; `.corruption`-coded errors from the decoder (bad header,
    ///   CRC, records), with the position in `bytes`; `.limitExceeded` above the root's limits
    ///   or a segment's size. Each error names `directory`.
    static func validate(
        _ bytes: [UInt8], limits: FormatLimits, segmentBytes: Int, directory: String
    ) throws -> (batches: Int, offsets: Int64) {
        guard !bytes.isEmpty else {
            throw SpoolError(.invalidArgument, "an append needs at least one batch", path: directory)
        }
        guard bytes.count <= segmentBytes else {
            throw SpoolError(
                .limitExceeded, "an append of \(bytes.count) bytes does not fit in one segment of \(segmentBytes)",
                path: directory)
        }
        var position = 0
        var batches = 0
        var offsets: Int64 = 0
        let context = DecompressionContext()
        try bytes.withUnsafeBytes { raw in
            while position < raw.count {  // bounded: each pass takes a whole batch or throws
                let rest = UnsafeRawBufferPointer(rebasing: raw[position...])
                do {
                    let header = try RecordBatchHeader.decode(rest, limits: limits)
                    guard !header.isTransactional && !header.isControlBatch else {
                        throw SpoolError(
                            .invalidArgument,
                            "a transactional or control batch cannot be appended: Spool does not write transactions",
                            path: directory, position: Int64(position),
                            hint: "produce without transactions (no transactional.id)")
                    }
                    guard header.totalBytes <= rest.count else {
                        throw SpoolError(
                            .invalidArgument,
                            "the last batch runs past the bytes given (\(header.totalBytes) bytes, \(rest.count) left)",
                            path: directory, position: Int64(position))
                    }
                    _ = try RecordBatchDecoder.decode(
                        UnsafeRawBufferPointer(rebasing: rest[..<header.totalBytes]), limits: limits, context: context)
                    position += header.totalBytes
                    batches += 1
                    offsets += Int64(header.lastOffsetDelta) + 1
                } catch let error as SpoolError {
                    throw error
                } catch {
                    throw SpoolError.corruption(
                        error, path: directory, segment: nil, position: Int64(position), offset: nil)
                }
            }
        }
        return (batches, offsets)
    }
}
