import SpoolFormat

/// Trains a zstd dictionary from a queue's own tasks and installs it beside the queue
/// (`spool train-dict`; FORMAT.md, "Zstd dictionaries").
///
/// It reads the newest segments read-only (no lock: it may run beside a live writer), takes
/// the payloads of up to `samplesMax` tasks, newest first, trains, and installs the dictionary
/// with the atomic-file protocol. Queues opened with ``Compression/zstdDictionary(level:)``
/// afterwards compress against it; queues already open keep what they opened with.
public enum DictionaryTrainer {
    /// What a training produced.
    public struct Outcome: Sendable {
        public var dictionary: ZstdDictionary
        public var samples: Int
        public var sampleBytes: Int
        public var path: String
    }

    /// Bounds: samples read, and bytes of samples held in memory while training.
    public static let samplesMaxLimit = 1_000_000
    public static let sampleBytesMax = 64 << 20

    /// - Throws: `.notFound` when the queue directory has no segments; `.invalidArgument` when
    ///   it has too few tasks (zstd needs at least 8, and in practice hundreds); `.io` or
    ///   `.corruption` naming the file for unreadable segments or a failed install.
    public static func train(
        queueDirectory: String, samplesMax: Int = 10_000, capacityBytes: Int = 16 << 10,
        fileSystem: any FileSystem = PosixFileSystem()
    ) throws -> Outcome {
        guard (8...samplesMaxLimit).contains(samplesMax) else {
            throw SpoolError(.invalidArgument, "samples must be 8...\(samplesMaxLimit), not \(samplesMax)")
        }
        let samples = try collect(queueDirectory: queueDirectory, samplesMax: samplesMax, fileSystem: fileSystem)
        let dictionary: ZstdDictionary
        do {
            dictionary = try ZstdDictionary.train(samples: samples, capacityBytes: capacityBytes)
        } catch {
            throw SpoolError(
                .invalidArgument, "could not train a dictionary from \(samples.count) tasks: \(error)",
                path: queueDirectory,
                hint: "train once the queue holds a few thousand typical tasks", cause: error)
        }
        let store = DictionaryStore(queueDirectory: queueDirectory, fileSystem: fileSystem)
        try store.install(dictionary)
        return Outcome(
            dictionary: dictionary, samples: samples.count, sampleBytes: samples.reduce(0) { $0 + $1.count },
            path: store.path(of: dictionary.id))
    }

    /// Payloads of the newest tasks, newest segment first, bounded by count and bytes.
    private static func collect(queueDirectory: String, samplesMax: Int, fileSystem: any FileSystem) throws -> [[UInt8]]
    {
        let segments = try SpoolLayout.log(
            queueDirectory, kind: .queue, name: queueDirectory, queue: nil, group: nil, root: nil,
            fileSystem: fileSystem
        ).segments
        guard !segments.isEmpty else {
            throw SpoolError(.notFound, "the queue has no segments to learn from", path: queueDirectory)
        }
        var samples: [[UInt8]] = []
        var bytes = 0
        for segment in segments.reversed() where samples.count < samplesMax && bytes < sampleBytesMax {
            let file = try SegmentFile(path: segment.path, fileSystem: fileSystem)
            var found: [[UInt8]] = []
            try file.forEachBatch { entry in
                if case .success(let batch) = entry.batch {
                    for record in batch.records { if let value = record.value, !value.isEmpty { found.append(value) } }
                }
                return true
            }
            // Newest first, within the bounds.
            for value in found.reversed() where samples.count < samplesMax && bytes + value.count <= sampleBytesMax {
                samples.append(value)
                bytes += value.count
            }
        }
        return samples
    }
}
