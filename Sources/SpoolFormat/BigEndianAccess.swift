/// Big-endian loads and stores at arbitrary (unaligned) byte positions, the only integer
/// encoding the fixed-width fields of the format use (FORMAT.md, "Batch header").
///
/// Callers check bounds before calling; these helpers only assert them in debug builds.
/// They touch only the buffer passed in, so they are as thread-safe as that buffer.
extension UnsafeRawBufferPointer {
    @inline(__always)
    func bigEndian<T: FixedWidthInteger>(_: T.Type, at position: Int) -> T {
        assert(position >= 0 && position + MemoryLayout<T>.size <= count, "big-endian load out of bounds")
        return T(bigEndian: loadUnaligned(fromByteOffset: position, as: T.self))
    }
}

extension UnsafeMutableRawBufferPointer {
    @inline(__always)
    func storeBigEndian<T: FixedWidthInteger>(_ value: T, at position: Int) {
        assert(position >= 0 && position + MemoryLayout<T>.size <= count, "big-endian store out of bounds")
        storeBytes(of: value.bigEndian, toByteOffset: position, as: T.self)
    }
}
