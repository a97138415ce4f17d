import SpoolFormat
import Synchronization

/// The compression contexts of one queue, lent to producers while they encode a batch (each
/// producer encodes on its own thread) and to the writer when it encodes lingered records.
///
/// A zstd context costs about a megabyte and far more time to build than a small batch takes
/// to compress, so contexts are kept and reused; at most ``keptMax`` are kept, and a producer
/// that finds none free makes one of its own for that batch. Thread-safe.
final class CompressorPool: Sendable {
    let codec: CompressionCodec
    private let level: Int?
    private let dictionary: ZstdDictionary?
    private let free = Mutex<[CompressionContext]>([])
    /// Contexts kept between batches: one per core is plenty, a few more for bursts.
    static let keptMax = 8

    init(codec: CompressionCodec, level: Int?, dictionary: ZstdDictionary?) {
        self.codec = codec
        self.level = level
        self.dictionary = dictionary
    }

    /// Runs `body` with a context of its own.
    /// - Throws: what `body` throws, or `.io` when the library cannot make a context.
    @discardableResult
    func withContext<R>(_ body: (CompressionContext) throws -> R) throws -> R {
        let context = try free.withLock { $0.popLast() } ?? make()
        defer { free.withLock { if $0.count < Self.keptMax { $0.append(context) } } }
        return try body(context)
    }

    private func make() throws -> CompressionContext {
        do {
            return try CompressionContext(codec: codec, level: level, dictionary: dictionary)
        } catch {
            throw SpoolError(.io, "could not make a \(codec) compression context: \(error)", cause: error)
        }
    }
}
