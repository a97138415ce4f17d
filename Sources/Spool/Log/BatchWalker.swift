import SpoolFormat

/// The one walk over the batches of a segment file (FORMAT.md, "Segment files"): it reads
/// `[start, limit)` with pread in chunks, frames each batch by its header, hands it to the
/// caller whole, and says why framing ended (``Stop``).
///
/// It judges nothing past framing. Whether a CRC failure, an offset gap or the stop itself is
/// the normal end, a torn tail or corruption is for ``DamageRule``; what to do about it is the
/// caller's policy: recovery and index rebuilds (``SegmentScanner``), dump, verify and tail
/// (``SegmentFile``), stats (``LogEnd``).
///
/// Reads with pread, never mmap: a writer may truncate the file under a mapping (SIGBUS).
/// Not thread-safe: it owns its buffer; make one per walk.
struct BatchWalker {
    /// Why framing ended.
    enum Stop: Equatable, Sendable {
        /// The data ended exactly after a batch.
        case endOfData
        /// Zeros where the next batch would start (its length field, or all of fewer bytes
        /// than a header): preallocated space, or a recycled segment's end marker.
        case zeros
        /// Fewer bytes than a batch header are left, and not all of them are zero.
        case shortHeader(available: Int)
        /// The header there cannot be decoded (bad magic, length, count).
        case badHeader(String)
        /// The header's length takes the batch past `limit`.
        case runsPastEnd(batchBytes: Int)
        /// The file returned fewer bytes than its size promised: it shrank while it was read.
        case shrank
        /// The caller's body declined the batch at the walk's end position.
        case declined

        /// The stop in words, for findings and logs (`limit` is where the data ends).
        func reason(limit: Int64) -> String {
            switch self {
            case .endOfData: return "the data ends"
            case .zeros: return "zero bytes where a batch would start"
            case .shortHeader(let available): return "\(available) bytes at the end are too short for a batch header"
            case .badHeader(let why): return why
            case .runsPastEnd(let total): return "batch of \(total) bytes runs past the end of the data at \(limit)"
            case .shrank: return "the file shrank while it was read"
            case .declined: return "the walk was stopped"
            }
        }
    }

    /// One framed batch. `bytes` (the whole batch) is valid only inside the body.
    struct Batch {
        var position: Int64
        var header: RecordBatchHeader
        var bytes: UnsafeRawBufferPointer

        var end: Int64 { position + Int64(header.totalBytes) }
        /// CRC-32C over the covered bytes (compare with `header.crc`).
        var computedCRC: UInt32 {
            CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[RecordBatchHeader.crcCoverageStart...]))
        }
        var crcOK: Bool { computedCRC == header.crc }
    }

    /// Where the walk ended: the position of the first byte not framed as a batch (or of the
    /// declined batch), and why.
    struct Outcome: Equatable, Sendable {
        var end: Int64
        var stop: Stop
    }

    let fileSystem: any FileSystem
    let fd: Int32
    /// The path, for errors only.
    let path: String
    /// Bytes read at a time.
    var chunkBytes = 1 << 20
    /// Reads only each batch's header, one pread of its 61 bytes, not its records: for the
    /// summary of a sealed segment, where reading every record would be wasted I/O. `Batch.bytes`
    /// then holds the header alone, so the caller checks no CRC.
    var headersOnly = false
    /// The bounds a header is decoded against.
    var headerLimits: FormatLimits

    init(fileSystem: any FileSystem, fd: Int32, path: String, headerLimits: FormatLimits) {
        self.fileSystem = fileSystem
        self.fd = fd
        self.path = path
        self.headerLimits = headerLimits
    }

    /// Walks from `start` (a batch boundary) to `limit`, calling `body` for each framed batch
    /// until it returns false (the walk then ends at that batch's position, `.declined`).
    /// Bounded: each step advances by a whole batch, at least a header's bytes, or returns.
    /// - Throws: I/O errors (naming the path and position), and whatever `body` throws.
    func walk(from start: Int64, limit: Int64, _ body: (Batch) throws -> Bool) throws -> Outcome {
        let chunk = headersOnly ? 0 : Int(min(Int64(chunkBytes), max(limit - start, 0)))
        var buffer = [UInt8](repeating: 0, count: chunk + RecordBatchHeader.size)
        var bufferStart = start
        var bufferCount = 0
        var position = start
        while position < limit {
            if position + Int64(RecordBatchHeader.size) > bufferStart + Int64(bufferCount) {
                try fill(&buffer, &bufferStart, &bufferCount, from: position, limit: limit)
            }
            let local = Int(position - bufferStart)
            let available = Int(bufferStart + Int64(bufferCount) - position)
            if let stop = headerStop(buffer, local: local, available: available, left: limit - position) {
                return Outcome(end: position, stop: stop)
            }
            let header: RecordBatchHeader
            do {
                header = try buffer.withUnsafeBytes { raw in
                    try RecordBatchHeader.decode(
                        UnsafeRawBufferPointer(rebasing: raw[local..<local + RecordBatchHeader.size]),
                        limits: headerLimits)
                }
            } catch {
                let zero = buffer[local..<local + RecordBatchHeader.lengthFieldEnd].allSatisfy { $0 == 0 }
                return Outcome(end: position, stop: zero ? .zeros : .badHeader("\(error)"))
            }
            let total = header.totalBytes
            guard position + Int64(total) <= limit else {
                return Outcome(end: position, stop: .runsPastEnd(batchBytes: total))
            }
            let shown = headersOnly ? RecordBatchHeader.size : total
            var start = local
            if !headersOnly && position + Int64(total) > bufferStart + Int64(bufferCount) {
                if total > buffer.count { buffer = [UInt8](repeating: 0, count: total + RecordBatchHeader.size) }
                try fill(&buffer, &bufferStart, &bufferCount, from: position, limit: limit)
                start = 0
                guard bufferCount >= total else { return Outcome(end: position, stop: .shrank) }
            }
            let taken = try buffer.withUnsafeBytes { raw in
                try body(
                    Batch(
                        position: position, header: header,
                        bytes: UnsafeRawBufferPointer(rebasing: raw[start..<start + shown])))
            }
            guard taken else { return Outcome(end: position, stop: .declined) }
            position += Int64(total)
        }
        return Outcome(end: position, stop: .endOfData)
    }

    /// The stop when fewer bytes than a header are in the buffer: zeros, a short header, or a
    /// file that shrank (fewer bytes than `left` promised). Nil when a whole header is there.
    private func headerStop(_ buffer: [UInt8], local: Int, available: Int, left: Int64) -> Stop? {
        guard available < RecordBatchHeader.size else { return nil }
        if Int64(available) < min(left, Int64(RecordBatchHeader.size)) { return .shrank }
        return buffer[local..<local + available].allSatisfy { $0 == 0 } ? .zeros : .shortHeader(available: available)
    }

    /// Refills the buffer from `position`, as far as it holds and the data goes.
    private func fill(
        _ buffer: inout [UInt8], _ bufferStart: inout Int64, _ bufferCount: inout Int,
        from position: Int64, limit: Int64
    ) throws {
        let want = Int(min(Int64(buffer.count), limit - position))
        bufferCount = try buffer.withUnsafeMutableBytes { raw in
            do {
                return try fileSystem.read(
                    fd, into: UnsafeMutableRawBufferPointer(rebasing: raw[0..<want]), at: position)
            } catch {
                throw error.with(path: path, position: position)
            }
        }
        bufferStart = position
    }

    /// The position just after the last non-zero byte in `[from, to)`; nil when all are zero
    /// (the preallocated space past the tail). Bounded by `to - from`.
    /// - Throws: I/O errors naming the path.
    func lastNonZero(from: Int64, to: Int64) throws -> Int64? {
        var buffer = [UInt8](repeating: 0, count: Int(min(Int64(chunkBytes), max(to - from, 1))))
        var position = from
        var last: Int64? = nil
        while position < to {
            let want = Int(min(Int64(buffer.count), to - position))
            let got = try buffer.withUnsafeMutableBytes { raw in
                do {
                    return try fileSystem.read(
                        fd, into: UnsafeMutableRawBufferPointer(rebasing: raw[0..<want]), at: position)
                } catch {
                    throw error.with(path: path, position: position)
                }
            }
            if got == 0 { break }
            if let i = buffer[0..<got].lastIndex(where: { $0 != 0 }) { last = position + Int64(i) + 1 }
            position += Int64(got)
        }
        return last
    }
}
