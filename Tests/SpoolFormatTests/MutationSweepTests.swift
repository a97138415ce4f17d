import SpoolFormat
import SpoolTesting
import Testing

/// A seeded sweep of random damage over valid batches of every codec: whatever the bytes, decode
/// returns or throws, and whatever it returns is a well-formed batch.
struct MutationSweepTests {
    static let mutations = 20_000

    /// Valid batches to damage: small and larger, every supported codec.
    static func originals() throws -> [[UInt8]] {
        var batches: [[UInt8]] = []
        for codec in Samples.supportedCodecs {
            batches.append(try Samples.batch(Samples.records(count: 3, valueBytes: 8, seed: 1), baseOffset: 5, codec: codec))
            batches.append(try Samples.batch(Samples.records(count: 30, valueBytes: 40, seed: 2), baseOffset: 900, codec: codec))
        }
        return batches
    }

    /// Values that tend to reach deep paths when written over a header field or a varint.
    static let interestingBytes: [UInt8] = [0x00, 0x01, 0x02, 0x7F, 0x80, 0xFF]

    static func mutate(_ bytes: [UInt8], _ random: inout SplitMix64) -> [UInt8] {
        guard !bytes.isEmpty else { return [UInt8(truncatingIfNeeded: random.next())] }
        switch random.below(6) {
        case 0:
            return ByteMutator.flipBit(bytes, at: random.below(bytes.count), bit: random.below(8))
        case 1:
            let position = random.below(bytes.count)
            let count = min(1 + random.below(8), bytes.count - position)
            return ByteMutator.overwrite(bytes, at: position, with: (0..<count).map { _ in UInt8(truncatingIfNeeded: random.next()) })
        case 2:
            let position = random.below(bytes.count)
            return ByteMutator.overwrite(bytes, at: position, with: [interestingBytes[random.below(interestingBytes.count)]])
        case 3:
            return ByteMutator.truncate(bytes, to: random.below(bytes.count))
        case 4:
            return ByteMutator.extend(bytes, with: (0..<(1 + random.below(64))).map { _ in UInt8(truncatingIfNeeded: random.next()) })
        default:
            // A header field set to a boundary value.
            let fields: [(Int, Int)] = [(8, 4), (23, 4), (27, 8), (35, 8), (57, 4), (21, 2)]
            let (position, size) = fields[random.below(fields.count)]
            guard position + size <= bytes.count else { return bytes }
            let fill = interestingBytes[random.below(interestingBytes.count)]
            var value = [UInt8](repeating: fill, count: size)
            value[size - 1] = UInt8(truncatingIfNeeded: random.next() % 4)
            return ByteMutator.overwrite(bytes, at: position, with: value)
        }
    }

    /// What "well-formed" means for a batch decode returned.
    static func checkWellFormed(_ batch: RecordBatch, from bytes: [UInt8]) throws {
        let header = batch.header
        #expect(header.magic == 2)
        #expect(header.batchLength >= 49 && header.totalBytes <= bytes.count)
        #expect(try header.codec().isSupported)
        let crc = bytes.withUnsafeBytes {
            CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[RecordBatchHeader.crcCoverageStart..<header.totalBytes]))
        }
        #expect(crc == header.crc, "a decoded batch must have an intact CRC")
        #expect(batch.records.count == Int(header.recordCount))
        let offsets = batch.records.map(\.offset)
        #expect(zip(offsets, offsets.dropFirst()).allSatisfy { $0 < $1 })
        #expect(offsets.allSatisfy { $0 >= header.baseOffset && $0 <= header.lastOffset })
        for record in batch.records {
            #expect(record.headers.count <= FormatLimits.default.headersPerRecordMax)
            #expect((record.key?.count ?? 0) + (record.value?.count ?? 0) <= FormatLimits.default.recordBytesMax)
        }
        // Whatever decodes can be written again and reads back the same.
        if !batch.records.isEmpty, offsets == (0..<offsets.count).map({ header.baseOffset + Int64($0) }), !header.isLogAppendTime {
            let inputs = batch.records.map {
                RecordInput(value: $0.value, key: $0.key, headers: $0.headers, timestamp: $0.timestamp)
            }
            let again = try Samples.decode(try Samples.batch(inputs, baseOffset: header.baseOffset, codec: header.codec()))
            #expect(again.records == batch.records)
        }
    }

    @Test("20,000 seeded mutations of valid batches never crash, and every batch that still decodes is well-formed")
    func sweep() throws {
        let originals = try Self.originals()
        var random = SplitMix64(seed: 0x5B00_1F0A)
        var decoded = 0
        var refused = 0
        for iteration in 0..<Self.mutations {
            let original = originals[iteration % originals.count]
            var bytes = original
            for _ in 0...random.below(3) {
                bytes = Self.mutate(bytes, &random)
            }
            // Half the time the CRC is recomputed, so the damage reaches the checks behind it.
            let resealed = random.below(2) == 0
            if resealed {
                bytes = ByteMutator.reseal(bytes)
            }
            do {
                let batch = try Samples.decode(bytes)
                try Self.checkWellFormed(batch, from: bytes)
                decoded += 1
                if !resealed {
                    // Without a new CRC, only damage outside the CRC's reach can decode.
                    let covered = RecordBatchHeader.crcPosition..<original.count
                    #expect(bytes.count >= original.count && bytes[covered] == original[covered],
                            "mutation \(iteration) changed CRC-covered bytes yet decoded")
                }
            } catch {
                refused += 1
            }
        }
        #expect(decoded + refused == Self.mutations)
        #expect(decoded > 0, "some mutations (outside the CRC, or resealed harmless ones) must still decode")
        #expect(refused > Self.mutations / 2)
    }

    @Test("the header decoder alone survives every mutation, and what it accepts passes its documented checks")
    func headerSweep() throws {
        let originals = try Self.originals()
        var random = SplitMix64(seed: 0xEAD)
        for iteration in 0..<Self.mutations {
            var bytes = originals[iteration % originals.count]
            for _ in 0...random.below(3) {
                bytes = Self.mutate(bytes, &random)
            }
            guard let header = try? Samples.header(bytes) else { continue }
            #expect(header.magic == 2)
            #expect(header.batchLength >= 49 && header.totalBytes <= FormatLimits.default.batchBytesMax)
            #expect(header.recordCount >= 0 && header.lastOffsetDelta >= header.recordCount - 1)
            #expect(header.baseOffset >= 0 && header.nextOffset > header.baseOffset)
        }
    }
}
