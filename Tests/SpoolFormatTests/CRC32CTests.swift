import CCRC32C
import SpoolFormat
import SpoolTesting
import Testing

/// CRC-32C against published vectors, and the hardware path against the portable table.
struct CRC32CTests {
    @Test("the published check value of CRC-32C over \"123456789\" is 0xE3069283")
    func checkValue() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(crc32c_extend_portable(0, Array("123456789".utf8), 9) == 0xE306_9283)
    }

    @Test("RFC 3720 appendix B.4 vectors match on the dispatching and the portable path")
    func rfc3720Vectors() {
        let vectors: [([UInt8], UInt32)] = [
            ([UInt8](repeating: 0, count: 32), 0x8A91_36AA),
            ([UInt8](repeating: 0xFF, count: 32), 0x62A8_AB43),
            ((0..<32).map { UInt8($0) }, 0x46DD_794E),
            ((0..<32).reversed().map { UInt8($0) }, 0x113F_DB5C),
        ]
        for (bytes, expected) in vectors {
            #expect(CRC32C.checksum(bytes) == expected)
            #expect(crc32c_extend_portable(0, bytes, bytes.count) == expected)
        }
    }

    @Test("the CRC of no bytes is 0 and extending by no bytes changes nothing")
    func emptyInput() {
        #expect(CRC32C.checksum([UInt8]()) == 0)
        #expect(CRC32C.extend(0x1234_5678, UnsafeRawBufferPointer(start: nil, count: 0)) == 0x1234_5678)
    }

    @Test("the hardware path equals the portable path for lengths 0 to 4099 at unaligned starts")
    func hardwareMatchesPortable() {
        var random = SplitMix64(seed: 0x5EED_C3C3)
        let buffer = (0..<(4099 + 16)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        buffer.withUnsafeBytes { all in
            for length in 0...4099 {
                let start = Int(random.next() % 16)
                let slice = UnsafeRawBufferPointer(rebasing: all[start..<(start + length)])
                let seed = UInt32(truncatingIfNeeded: random.next())
                let fast = CRC32C.extend(seed, slice)
                let portable = crc32c_extend_portable(seed, slice.baseAddress, slice.count)
                #expect(fast == portable, "length \(length) at start \(start)")
            }
        }
    }

    @Test("large buffers that take the interleaved three-stream path match the portable path")
    func largeBuffersMatchPortable() {
        var random = SplitMix64(seed: 77)
        let buffer = (0..<(200_000 + 8)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        buffer.withUnsafeBytes { all in
            for length in [24_575, 24_576, 24_577, 49_152 + 767, 100_003, 200_000] {
                for start in [0, 3] {
                    let slice = UnsafeRawBufferPointer(rebasing: all[start..<(start + length)])
                    #expect(CRC32C.checksum(slice) == crc32c_extend_portable(0, slice.baseAddress, slice.count))
                }
            }
        }
    }

    @Test("extending the CRC of a prefix by the rest equals the CRC of the whole")
    func extendComposes() {
        var random = SplitMix64(seed: 9)
        let bytes = (0..<3000).map { _ in UInt8(truncatingIfNeeded: random.next()) }
        let whole = CRC32C.checksum(bytes)
        bytes.withUnsafeBytes { all in
            for split in [0, 1, 7, 8, 255, 1024, 2999, 3000] {
                let head = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: all[..<split]))
                #expect(CRC32C.extend(head, UnsafeRawBufferPointer(rebasing: all[split...])) == whole)
            }
        }
    }

    @Test("the machine reports whether CRC-32C runs on CPU instructions, consistently on both sides")
    func hardwareFlag() {
        #expect(CRC32C.isHardwareAccelerated == (crc32c_hardware_available() != 0))
    }
}
