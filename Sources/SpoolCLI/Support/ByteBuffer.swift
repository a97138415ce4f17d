import Glibc

/// A growable run of bytes written through a raw pointer: callers ``reserve(_:)`` room for
/// what they are about to write, then ``put(_:)`` without further checks. For output paths
/// that write millions of small pieces (`dump --json`). Not thread-safe.
final class ByteBuffer {
    private(set) var base: UnsafeMutablePointer<UInt8>
    private(set) var count = 0
    private var capacity: Int

    init(capacity: Int = 64 << 10) {
        self.capacity = max(capacity, 64)
        base = .allocate(capacity: self.capacity)
    }

    deinit { base.deallocate() }

    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    func clear() { count = 0 }

    /// Makes room for `n` more bytes.
    @inline(__always) func reserve(_ n: Int) {
        if count + n > capacity { grow(to: count + n) }
    }

    private func grow(to needed: Int) {
        var newCapacity = capacity * 2
        while newCapacity < needed { newCapacity *= 2 }
        let new = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        new.update(from: base, count: count)
        base.deallocate()
        base = new
        capacity = newCapacity
    }

    /// One byte, within reserved room.
    @inline(__always) func put(_ byte: UInt8) {
        base[count] = byte
        count += 1
    }

    /// Bytes, within reserved room.
    @inline(__always) func put(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard let source = bytes.baseAddress, !bytes.isEmpty else { return }
        (base + count).update(from: source, count: bytes.count)
        count += bytes.count
    }

    @inline(__always) func put(_ bytes: [UInt8]) { bytes.withUnsafeBufferPointer { put($0) } }

    /// Drops the bytes from `mark` on (to rewrite them another way).
    func truncate(to mark: Int) {
        precondition(mark >= 0 && mark <= count)
        count = mark
    }
}
