import SpoolFormat
import Testing

/// Error messages are what an operator reads in `spool verify`: one clear sentence with the
/// values and a hint.
struct FormatErrorTests {
    static let all: [FormatError] = [
        .truncated(needed: 61, available: 12),
        .badMagic(0),
        .badBatchLength(7),
        .badRecordCount(-3),
        .crcMismatch(stored: 0x1234_ABCD, computed: 0xBEEF),
        .unsupportedCodec(.gzip),
        .unsupportedCodec(.snappy),
        .invalidCodec(6),
        .malformedRecord(index: 4, position: 130, reason: "varint longer than 5 bytes"),
        .malformedRecord(index: -1, position: 0, reason: "baseOffset -1 is negative"),
        .recordCountMismatch(declared: 10, found: 9),
        .limitExceeded(what: "headers on record 0", value: 65, limit: 64),
        .decompressionFailed(.lz4, reason: "ERROR_blockChecksum_invalid"),
    ]

    @Test("every error describes itself in one distinct sentence that carries its values")
    func descriptions() {
        let descriptions = Self.all.map(\.description)
        #expect(Set(descriptions).count == descriptions.count)
        for text in descriptions {
            #expect(!text.isEmpty)
            #expect(!text.contains("\n"))
        }
        #expect(descriptions[0].contains("61") && descriptions[0].contains("12"))
        #expect(descriptions[4].hasPrefix("CRC-32C mismatch: stored 0x1234abcd, computed 0x0000beef"))
        #expect(descriptions[5].contains("unsupported codec gzip"))
        #expect(descriptions[6].contains("unsupported codec snappy"))
        #expect(descriptions[8].contains("record 4") && descriptions[8].contains("position 130"))
        #expect(descriptions[9].contains("malformed batch"))
        #expect(descriptions[12].contains("lz4") && descriptions[12].contains("ERROR_blockChecksum_invalid"))
    }

    @Test("codec names are the lower-case names used in errors and fixtures")
    func codecNames() {
        #expect(CompressionCodec.allCases.map(\.description) == ["none", "gzip", "snappy", "lz4", "zstd"])
        #expect(CompressionCodec.allCases.map(\.rawValue) == [0, 1, 2, 3, 4])
        #expect(CompressionCodec.allCases.filter(\.isSupported) == [.none, .lz4, .zstd])
    }

    @Test("the default limits are the ones FORMAT.md lists")
    func defaultLimits() {
        let limits = FormatLimits.default
        #expect(limits.recordBytesMax == 16 << 20)
        #expect(limits.batchBytesMax == 16 << 20)
        #expect(limits.recordsPerBatchMax == 1_000_000)
        #expect(limits.decompressedBytesMax == 64 << 20)
        #expect(limits.headersPerRecordMax == 32 << 20)
        #expect(limits == FormatLimits())
    }
}
