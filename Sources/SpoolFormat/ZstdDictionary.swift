internal import CZstd

/// A zstd dictionary trained from a queue's own records (FORMAT.md, "Zstd dictionaries").
///
/// Small batches of similar tasks compress far better against a dictionary. The dictionary's
/// id is written into every zstd frame made with it, so a reader can tell which one a batch
/// needs; Kafka decoders cannot read such batches without it. Immutable once made: safe to
/// share between threads (the decompression dictionary it builds is read-only).
public final class ZstdDictionary: Sendable {
    /// The id zstd stores in the dictionary's header and in every frame compressed with it.
    public let id: UInt32
    /// The dictionary, as `ZDICT_trainFromBuffer` wrote it.
    public let bytes: [UInt8]
    /// The digested form for decompression, made once.
    private let digested: DigestedDictionary

    /// Smallest and largest dictionary this accepts: zstd's own floor, and a bound on what a
    /// reader loads into memory.
    public static let bytesMin = 256
    public static let bytesMax = 1 << 20

    /// Wraps dictionary bytes read back from a file.
    ///
    /// - Throws: `.limitExceeded` outside 256 B...1 MiB; `.decompressionFailed(.zstd, …)` when
    ///   the bytes are not a zstd dictionary (no id in their header) or zstd cannot load them.
    public init(bytes: [UInt8]) throws(FormatError) {
        guard (Self.bytesMin...Self.bytesMax).contains(bytes.count) else {
            throw .limitExceeded(what: "zstd dictionary bytes", value: bytes.count, limit: Self.bytesMax)
        }
        let id = bytes.withUnsafeBytes { ZSTD_getDictID_fromDict($0.baseAddress, $0.count) }
        guard id != 0 else {
            throw .decompressionFailed(
                .zstd, reason: "the bytes are not a zstd dictionary (no dictionary id in the header)")
        }
        guard let ddict = bytes.withUnsafeBytes({ ZSTD_createDDict($0.baseAddress, $0.count) }) else {
            throw .decompressionFailed(.zstd, reason: "zstd could not load dictionary \(id)")
        }
        self.id = id
        self.bytes = bytes
        self.digested = DigestedDictionary(ddict)
    }

    /// Trains a dictionary of at most `capacityBytes` from `samples` (each sample one task, as
    /// it appears in a batch's records section).
    ///
    /// - Throws: `.limitExceeded` for a capacity outside 256 B...1 MiB or fewer than 8 samples;
    ///   `.decompressionFailed(.zstd, reason: "training failed: …")` when zstd cannot make a
    ///   dictionary of them (too few or too uniform samples).
    public static func train(samples: [[UInt8]], capacityBytes: Int = 64 << 10) throws(FormatError) -> ZstdDictionary {
        guard (bytesMin...bytesMax).contains(capacityBytes) else {
            throw .limitExceeded(what: "zstd dictionary capacity", value: capacityBytes, limit: bytesMax)
        }
        guard samples.count >= 8 else {
            throw .limitExceeded(
                what: "samples to train a dictionary (at least 8 are needed)", value: samples.count, limit: 8)
        }
        var joined: [UInt8] = []
        joined.reserveCapacity(samples.reduce(0) { $0 + $1.count })
        var sizes: [Int] = []
        sizes.reserveCapacity(samples.count)
        for sample in samples {
            joined += sample
            sizes.append(sample.count)
        }
        var out = [UInt8](repeating: 0, count: capacityBytes)
        let written = out.withUnsafeMutableBytes { dictionary in
            joined.withUnsafeBytes { source in
                ZDICT_trainFromBuffer(
                    dictionary.baseAddress, dictionary.count, source.baseAddress, sizes, UInt32(sizes.count))
            }
        }
        if ZDICT_isError(written) != 0 {
            throw .decompressionFailed(
                .zstd, reason: "training failed: " + String(cString: ZDICT_getErrorName(written)))
        }
        out.removeLast(out.count - written)
        return try ZstdDictionary(bytes: out)
    }

    /// The decompression dictionary, for a DCtx to reference.
    var ddict: OpaquePointer { digested.pointer }
}

/// Owns a `ZSTD_DDict`. A DDict is read-only once made and may be referenced by any number of
/// decompression contexts on any threads.
private final class DigestedDictionary: @unchecked Sendable {
    let pointer: OpaquePointer
    init(_ pointer: OpaquePointer) { self.pointer = pointer }
    deinit { ZSTD_freeDDict(pointer) }
}
