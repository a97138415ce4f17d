import SpoolFormat
import SpoolTesting
import Testing

/// Kafka's zigzag varints and varlongs, and their bounded decoding.
struct VarintTests {
    private func encoded(_ value: Int32) -> [UInt8] {
        var out: [UInt8] = []
        Varint.encode(value, into: &out)
        return out
    }

    private func encoded(_ value: Int64) -> [UInt8] {
        var out: [UInt8] = []
        Varint.encode(value, into: &out)
        return out
    }

    private func decode32(_ bytes: [UInt8], at start: Int = 0) throws(FormatError) -> (Int32, Int) {
        var index = start
        let value = try bytes.withUnsafeBytes { buffer in
            Result { () throws(FormatError) in try Varint.decodeInt32(buffer, at: &index) }
        }.get()
        return (value, index)
    }

    private func decode64(_ bytes: [UInt8], at start: Int = 0) throws(FormatError) -> (Int64, Int) {
        var index = start
        let value = try bytes.withUnsafeBytes { buffer in
            Result { () throws(FormatError) in try Varint.decodeInt64(buffer, at: &index) }
        }.get()
        return (value, index)
    }

    @Test("varints encode boundary values as Kafka does")
    func kafkaEncodings32() throws {
        let cases: [(Int32, [UInt8])] = [
            (0, [0x00]), (-1, [0x01]), (1, [0x02]), (63, [0x7E]), (-64, [0x7F]), (64, [0x80, 0x01]),
            (300, [0xD8, 0x04]), (Int32.max, [0xFE, 0xFF, 0xFF, 0xFF, 0x0F]), (Int32.min, [0xFF, 0xFF, 0xFF, 0xFF, 0x0F]),
        ]
        for (value, bytes) in cases {
            #expect(encoded(value) == bytes, "\(value)")
            #expect(Varint.encodedSize(value) == bytes.count)
            #expect(try decode32(bytes) == (value, bytes.count))
        }
    }

    @Test("varlongs encode boundary values as Kafka does")
    func kafkaEncodings64() throws {
        let cases: [(Int64, [UInt8])] = [
            (0, [0x00]), (-1, [0x01]), (1_000, [0xD0, 0x0F]), (-1_000, [0xCF, 0x0F]),
            (Int64.max, [0xFE] + [UInt8](repeating: 0xFF, count: 8) + [0x01]),
            (Int64.min, [UInt8](repeating: 0xFF, count: 9) + [0x01]),
        ]
        for (value, bytes) in cases {
            #expect(encoded(value) == bytes, "\(value)")
            #expect(Varint.encodedSize(value) == bytes.count)
            #expect(try decode64(bytes) == (value, bytes.count))
        }
    }

    @Test("random values read back unchanged, the index advances by the encoded size")
    func randomRoundTrip() throws {
        var random = SplitMix64(seed: 11)
        var stream: [UInt8] = []
        var values32: [Int32] = []
        var values64: [Int64] = []
        for _ in 0..<2_000 {
            let shift = random.below(64)
            let v64 = Int64(bitPattern: random.next()) >> shift
            let v32 = Int32(truncatingIfNeeded: v64)
            values32.append(v32)
            values64.append(v64)
            Varint.encode(v32, into: &stream)
            Varint.encode(v64, into: &stream)
        }
        var index = 0
        for (v32, v64) in zip(values32, values64) {
            let (a, next) = try decode32(stream, at: index)
            #expect(a == v32)
            #expect(next - index == Varint.encodedSize(v32))
            let (b, after) = try decode64(stream, at: next)
            #expect(b == v64)
            #expect(after - next == Varint.encodedSize(v64))
            index = after
        }
        #expect(index == stream.count)
    }

    @Test("a varint longer than 5 bytes is refused as malformed")
    func overlong32() {
        #expect(throws: FormatError.self) { try decode32([0x80, 0x80, 0x80, 0x80, 0x80, 0x00]) }
        do {
            _ = try decode32([0x80, 0x80, 0x80, 0x80, 0x80, 0x00])
        } catch {
            guard case .malformedRecord(index: -1, position: 0, let reason) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(reason.contains("longer than 5 bytes"))
        }
    }

    @Test("a varlong longer than 10 bytes is refused as malformed")
    func overlong64() {
        let bytes = [UInt8](repeating: 0x80, count: 10) + [0x00]
        #expect(throws: FormatError.self) { try decode64(bytes) }
    }

    @Test("bits beyond the type in the last byte are refused")
    func overflowingLastByte() {
        #expect(throws: FormatError.self) { try decode32([0xFF, 0xFF, 0xFF, 0xFF, 0x1F]) }
        #expect(throws: FormatError.self) { try decode64([UInt8](repeating: 0xFF, count: 9) + [0x02]) }
    }

    @Test("non-minimal encodings within the maximum length are accepted, as Kafka accepts them")
    func nonMinimal() throws {
        #expect(try decode32([0x80, 0x00]) == (0, 2))
        #expect(try decode32([0x81, 0x80, 0x80, 0x80, 0x00]) == (-1, 5))
    }

    @Test("a varint cut short, or read at the end of the buffer, gives truncated")
    func truncatedVarint() {
        #expect(throws: FormatError.truncated(needed: 3, available: 2)) { try decode32([0x80, 0x80]) }
        #expect(throws: FormatError.truncated(needed: 3, available: 2)) { try decode64([0x01, 0x02], at: 2) }
        #expect(throws: FormatError.truncated(needed: 1, available: 0)) { try decode32([]) }
    }

    @Test("a negative index is refused, and a failed read leaves the index where it was")
    func badIndex() {
        var index = -1
        #expect(throws: FormatError.self) {
            try [UInt8]([0]).withUnsafeBytes { _ = try Varint.decodeInt32($0, at: &index) }
        }
        #expect(index == -1)
        index = 0
        #expect(throws: FormatError.self) {
            try [UInt8]([0x80]).withUnsafeBytes { _ = try Varint.decodeInt64($0, at: &index) }
        }
        #expect(index == 0)
    }
}
