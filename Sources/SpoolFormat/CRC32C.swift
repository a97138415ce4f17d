internal import CCRC32C

/// CRC-32C (Castagnoli), the checksum Kafka RecordBatch v2 stores in every batch header
/// (FORMAT.md, "CRC").
///
/// The work is done by the C target `CCRC32C`, which picks SSE4.2 or ARMv8 CRC instructions at
/// run time and falls back to a table, so callers never choose a path. Every function is pure
/// and safe to call from any thread; none of them throws.
public enum CRC32C {
    /// The CRC-32C of `bytes`. An empty buffer gives 0.
    public static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        extend(0, bytes)
    }

    /// Extends a finished CRC over more bytes, so a checksum can be computed piece by piece:
    /// `extend(checksum(a), b) == checksum(a + b)`. Pass 0 to start.
    public static func extend(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return crc }
        return crc32c_extend(crc, base, bytes.count)
    }

    /// The CRC-32C of an array of bytes.
    public static func checksum(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0) }
    }

    /// True when this machine computes CRCs with CPU instructions rather than the table.
    /// Useful in diagnostics (`spool stats`) and benchmarks; results are identical either way.
    public static var isHardwareAccelerated: Bool {
        crc32c_hardware_available() != 0
    }
}
