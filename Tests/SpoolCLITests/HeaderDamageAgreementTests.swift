import Foundation
import SpoolFormat
import Testing

/// `verify`, `consume`, `dump` and `repair --dry-run` agree on whether a flipped bit in each
/// batch header field is damage, including the fields the CRC does not cover (FORMAT.md,
/// "CRC"): before this, a flip in partitionLeaderEpoch stopped `consume` while `verify` called
/// the log clean.
@Suite("Header damage: every command agrees")
struct HeaderDamageAgreementTests {
    struct Verdicts: CustomStringConvertible {
        var verify: Int32, consume: Int32, dump: Int32, repair: Int32, repairOutput: String
        var repairSeesDamage: Bool { repair != 0 || repairOutput.contains("would ") }
        var description: String { "verify \(verify), consume \(consume), dump \(dump), repair --dry-run \(repair): \(repairOutput)" }
    }

    /// A root whose first segment is sealed, with the 20th batch's header bit flipped.
    static func damagedRoot(field position: Int, bit: UInt8) async throws -> (ScratchDirectory, String) {
        let scratch = ScratchDirectory()
        let root = scratch.path + "/root"
        let filled = try await SpoolProcess.run(["enqueue", "--dir", root, "--queue", "q", "--count", "2000", "--batch", "10", "--segment-bytes", "65536"])
        try #require(filled.status == 0, "\(filled.stderr)")
        let path = root + "/queues/q/00000000000000000000.log"
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        var batchStart = 0
        for _ in 0..<19 {
            let header = try bytes.withUnsafeBytes { try RecordBatchHeader.decode(UnsafeRawBufferPointer(rebasing: $0[batchStart...])) }
            batchStart += header.totalBytes
        }
        bytes[batchStart + position] ^= bit
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return (scratch, root)
    }

    static func verdicts(_ root: String) async throws -> Verdicts {
        let verify = try await SpoolProcess.run(["verify", "--dir", root])
        let dump = try await SpoolProcess.run(["dump", root + "/queues/q/00000000000000000000.log"])
        let repair = try await SpoolProcess.run(["repair", "--dir", root, "--dry-run"])
        let consume = try await SpoolProcess.run(["consume", "--dir", root, "--queue", "q", "--group", "g", "--max", "5000", "--ack"])
        return Verdicts(verify: verify.status, consume: consume.status, dump: dump.status, repair: repair.status, repairOutput: repair.stdout + repair.stderr)
    }

    static let damagingFlips: [(String, Int, UInt8)] = [
        ("baseOffset", RecordBatchHeader.baseOffsetPosition + 7, 0x01),
        ("batchLength", RecordBatchHeader.batchLengthPosition + 3, 0x04),
        ("magic", RecordBatchHeader.magicPosition, 0x01),
        ("crc", RecordBatchHeader.crcPosition + 3, 0x01),
        ("attributes", RecordBatchHeader.attributesPosition + 1, 0x08),
        ("lastOffsetDelta", RecordBatchHeader.lastOffsetDeltaPosition + 3, 0x02),
        ("recordCount", RecordBatchHeader.recordCountPosition + 3, 0x02),
    ]

    @Test("a flipped bit in baseOffset, batchLength, magic, crc, attributes, lastOffsetDelta or recordCount is damage to verify, consume, dump and repair alike",
          arguments: damagingFlips.map(\.0))
    func everyCommandSeesHeaderDamage(field: String) async throws {
        let (_, position, bit) = Self.damagingFlips.first { $0.0 == field }!
        let (scratch, root) = try await Self.damagedRoot(field: position, bit: bit)
        defer { withExtendedLifetime(scratch) {} }
        let v = try await Self.verdicts(root)
        #expect(v.verify != 0, "verify: \(v)")
        #expect(v.consume != 0, "consume: \(v)")
        #expect(v.dump != 0, "dump: \(v)")
        #expect(v.repairSeesDamage, "repair: \(v)")
    }

    @Test("a partitionLeaderEpoch of 1 (outside the CRC, any value valid in Kafka) is damage to none of verify, consume, dump and repair")
    func noCommandCallsAnEpochDamage() async throws {
        let (scratch, root) = try await Self.damagedRoot(field: RecordBatchHeader.partitionLeaderEpochPosition + 3, bit: 0x01)
        defer { withExtendedLifetime(scratch) {} }
        let v = try await Self.verdicts(root)
        #expect(v.verify == 0 && v.consume == 0 && v.dump == 0 && !v.repairSeesDamage, "\(v)")
    }
}
