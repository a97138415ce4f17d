import Spool

/// One undo record of ``PowerCutFileSystem``'s journal. Encoded as a kind byte, a u32 length
/// of the rest, then the fields (u64/i64 little-endian, strings and byte strings as a u32
/// length and the bytes; a missing pre-image as length 0xFFFFFFFF). Only `spool drill` reads it,
/// on the machine that wrote it: it is a drill artefact, not part of the on-disk format.
enum PowerCutRecord: Equatable {
    /// `length` bytes were written at `position`; `before` held the overwritten bytes (the part
    /// below `oldSize`), nil when too big to keep.
    case write(sequence: UInt64, path: String, position: Int64, oldSize: Int64, length: Int64, before: [UInt8]?)
    /// The file went from `oldSize` to `newSize` bytes; `cut` held the bytes removed.
    case truncate(sequence: UInt64, path: String, oldSize: Int64, newSize: Int64, cut: [UInt8]?)
    /// fdatasync/fsync of `path` returned: records before `coversBefore` on it are durable.
    case sync(sequence: UInt64, path: String, directory: Bool, coversBefore: UInt64)
    case create(sequence: UInt64, path: String)
    /// `from` was renamed over `to`, which held `replaced` (nil: there was no file).
    case rename(sequence: UInt64, from: String, to: String, replaced: [UInt8]?)
    case unlink(sequence: UInt64, path: String, bytes: [UInt8]?)
    case makeDirectory(sequence: UInt64, path: String)

    var sequence: UInt64 {
        switch self {
        case .write(let s, _, _, _, _, _), .truncate(let s, _, _, _, _), .sync(let s, _, _, _), .create(let s, _),
            .rename(let s, _, _, _), .unlink(let s, _, _), .makeDirectory(let s, _):
            return s
        }
    }

    func encoded() -> [UInt8] {
        var body = Encoder()
        let kind: UInt8
        switch self {
        case .write(let s, let path, let position, let oldSize, let length, let before):
            kind = 1
            body.u64(s)
            body.string(path)
            body.i64(position)
            body.i64(oldSize)
            body.i64(length)
            body.bytes(before)
        case .truncate(let s, let path, let oldSize, let newSize, let cut):
            kind = 2
            body.u64(s)
            body.string(path)
            body.i64(oldSize)
            body.i64(newSize)
            body.bytes(cut)
        case .sync(let s, let path, let directory, let covers):
            kind = 3
            body.u64(s)
            body.string(path)
            body.out.append(directory ? 1 : 0)
            body.u64(covers)
        case .create(let s, let path):
            kind = 4
            body.u64(s)
            body.string(path)
        case .rename(let s, let from, let to, let replaced):
            kind = 5
            body.u64(s)
            body.string(from)
            body.string(to)
            body.bytes(replaced)
        case .unlink(let s, let path, let bytes):
            kind = 6
            body.u64(s)
            body.string(path)
            body.bytes(bytes)
        case .makeDirectory(let s, let path):
            kind = 7
            body.u64(s)
            body.string(path)
        }
        var out: [UInt8] = [kind]
        withUnsafeBytes(of: UInt32(body.out.count).littleEndian) { out.append(contentsOf: $0) }
        return out + body.out
    }

    /// Decodes a journal; a record cut short at the end (the process died while writing it, so
    /// the call it describes never started) is dropped.
    /// - Throws: ``SpoolError/Code/corruption`` for a malformed record before the end.
    static func decodeAll(_ bytes: [UInt8], path: String) throws -> [PowerCutRecord] {
        var records: [PowerCutRecord] = []
        var at = 0
        while at + 5 <= bytes.count {
            let length = Int(
                UInt32(bytes[at + 1]) | UInt32(bytes[at + 2]) << 8 | UInt32(bytes[at + 3]) << 16 | UInt32(bytes[at + 4])
                    << 24)
            guard at + 5 + length <= bytes.count else { break }
            var d = Decoder(bytes: bytes[(at + 5)..<(at + 5 + length)])
            guard let record = d.record(kind: bytes[at]), d.at == at + 5 + length else {
                throw SpoolError(.corruption, "malformed power-cut journal record", path: path, position: Int64(at))
            }
            records.append(record)
            at += 5 + length
        }
        return records
    }

    private struct Encoder {
        var out: [UInt8] = []
        mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        mutating func i64(_ v: Int64) { u64(UInt64(bitPattern: v)) }
        mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        mutating func string(_ s: String) { bytes(Array(s.utf8)) }
        mutating func bytes(_ b: [UInt8]?) {
            guard let b else {
                u32(.max)
                return
            }
            u32(UInt32(b.count))
            out.append(contentsOf: b)
        }
    }

    private struct Decoder {
        let bytes: ArraySlice<UInt8>
        var at: Int
        init(bytes: ArraySlice<UInt8>) {
            self.bytes = bytes
            at = bytes.startIndex
        }

        mutating func u64() -> UInt64? {
            guard at + 8 <= bytes.endIndex else { return nil }
            var v: UInt64 = 0
            for i in 0..<8 { v |= UInt64(bytes[at + i]) << (8 * UInt64(i)) }
            at += 8
            return v
        }
        mutating func i64() -> Int64? { u64().map { Int64(bitPattern: $0) } }
        mutating func u32() -> UInt32? {
            guard at + 4 <= bytes.endIndex else { return nil }
            var v: UInt32 = 0
            for i in 0..<4 { v |= UInt32(bytes[at + i]) << (8 * UInt32(i)) }
            at += 4
            return v
        }
        /// .some(nil) for a missing pre-image; nil when malformed.
        mutating func bytesField() -> [UInt8]?? {
            guard let n = u32() else { return nil }
            if n == .max { return .some(nil) }
            guard at + Int(n) <= bytes.endIndex else { return nil }
            defer { at += Int(n) }
            return .some(Array(bytes[at..<(at + Int(n))]))
        }
        mutating func string() -> String? {
            guard case .some(.some(let b)) = bytesField() else { return nil }
            return String(decoding: b, as: UTF8.self)
        }
        mutating func flag() -> Bool? {
            guard at < bytes.endIndex else { return nil }
            defer { at += 1 }
            return bytes[at] != 0
        }

        mutating func record(kind: UInt8) -> PowerCutRecord? {
            guard let s = u64() else { return nil }
            switch kind {
            case 1:
                guard let p = string(), let pos = i64(), let old = i64(), let len = i64(), let b = bytesField() else {
                    return nil
                }
                return .write(sequence: s, path: p, position: pos, oldSize: old, length: len, before: b)
            case 2:
                guard let p = string(), let old = i64(), let new = i64(), let b = bytesField() else { return nil }
                return .truncate(sequence: s, path: p, oldSize: old, newSize: new, cut: b)
            case 3:
                guard let p = string(), let dir = flag(), let c = u64() else { return nil }
                return .sync(sequence: s, path: p, directory: dir, coversBefore: c)
            case 4:
                guard let p = string() else { return nil }
                return .create(sequence: s, path: p)
            case 5:
                guard let f = string(), let t = string(), let b = bytesField() else { return nil }
                return .rename(sequence: s, from: f, to: t, replaced: b)
            case 6:
                guard let p = string(), let b = bytesField() else { return nil }
                return .unlink(sequence: s, path: p, bytes: b)
            case 7:
                guard let p = string() else { return nil }
                return .makeDirectory(sequence: s, path: p)
            default:
                return nil
            }
        }
    }
}
