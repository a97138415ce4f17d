import Glibc
import SpoolFormat

/// Segment recycling (FORMAT.md, "Recycled segments"): a segment the compactor deletes keeps
/// its file as a spare, `<base>.log.spare`, and the writer's next roll renames it into place as
/// the new segment. Its blocks are already written, so syncs of appends into it overwrite
/// blocks instead of allocating them, and nothing is zero-filled ahead of the tail.
///
/// The spare still holds the old segment's batches. They are never read as records:
/// - every write into a recycled segment ends with an **end marker** (below) right after its
///   data, in the same `write` and under the same `fdatasync`: a scan stops there exactly as at
///   zero-filled space (its first 12 bytes are zero), and the marker says that what follows is
///   recycled space, not damage;
/// - a second marker, the **fence**, is kept durable at least one preallocation step past the
///   data: a torn write that destroyed the end marker is bounded by the fence, so recovery
///   cuts only up to it;
/// - and the old batches' offsets are all below the new segment's base offset, so offset
///   continuity refuses any of them even where no marker stands.
///
/// Not thread-safe by itself: the writer thread and recovery use it on files they own.
enum RecycledSpace {
    /// Bytes of a marker: 12 zero bytes, "SPRS", a 0 where a batch has its magic, the
    /// segment's base offset, the marker's own position, and a CRC-32C of bytes 12..<33.
    static let markerSize = 37
    static let magic: [UInt8] = Array("SPRS".utf8)

    /// The marker for segment `base` at `position`.
    static func marker(base: Int64, position: Int64) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: 12)
        bytes += magic
        bytes.append(0)
        bytes.appendBigEndian(base)
        bytes.appendBigEndian(position)
        let crc = bytes[12..<33].withUnsafeBytes { CRC32C.checksum($0) }
        bytes.appendBigEndian(crc)
        return bytes
    }

    /// Whether `bytes` (at least ``markerSize``) are the marker of segment `base` at `position`.
    static func isMarker(_ bytes: UnsafeRawBufferPointer, base: Int64, position: Int64) -> Bool {
        guard bytes.count >= markerSize else { return false }
        for i in 0..<12 where bytes[i] != 0 { return false }
        for i in 0..<4 where bytes[12 + i] != magic[i] { return false }
        guard bytes[16] == 0, bytes.loadBigEndian(at: 17, as: Int64.self) == base,
            bytes.loadBigEndian(at: 25, as: Int64.self) == position
        else { return false }
        return bytes.loadBigEndian(at: 33, as: UInt32.self)
            == CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[12..<33]))
    }

    /// Whether the file holds the marker of segment `base` at `position`.
    /// - Throws: I/O errors reading it.
    static func hasMarker(fd: Int32, at position: Int64, base: Int64, fileSystem fs: any FileSystem) throws -> Bool {
        var bytes = [UInt8](repeating: 0, count: markerSize)
        let got = try bytes.withUnsafeMutableBytes { try fs.read(fd, into: $0, at: position) }
        return got == markerSize && bytes.withUnsafeBytes { isMarker($0, base: base, position: position) }
    }

    /// The position of the first marker of segment `base` in [from, to), or nil. Reads the
    /// range in 1 MiB chunks (bounded by `to`).
    /// - Throws: I/O errors reading it.
    static func firstMarker(
        fd: Int32, from: Int64, to: Int64, base: Int64, fileSystem fs: any FileSystem
    ) throws -> Int64? {
        let chunk = 1 << 20
        var buffer = [UInt8](repeating: 0, count: chunk + markerSize)
        var start = max(from, 0)
        while start < to {
            let want = Int(min(Int64(buffer.count), to - start))
            let got = try buffer.withUnsafeMutableBytes { raw in
                try fs.read(fd, into: UnsafeMutableRawBufferPointer(rebasing: raw[0..<want]), at: start)
            }
            if got < markerSize { return nil }
            let found: Int? = buffer.withUnsafeBytes { raw in
                var i = 0
                // A marker starts 12 bytes before its "SPRS".
                while i + markerSize <= got {
                    if raw[i + 12] == magic[0]
                        && isMarker(
                            UnsafeRawBufferPointer(rebasing: raw[i..<got]), base: base, position: start + Int64(i))
                    {
                        return i
                    }
                    i += 1
                }
                return nil
            }
            if let found { return start + Int64(found) }
            if got < want { return nil }
            start += Int64(got - markerSize + 1)
        }
        return nil
    }
}
